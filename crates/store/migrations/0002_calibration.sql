-- Calibration sessions (DESIGN §4): setup, participants, the facilitation document (JSON, saved
-- whole with a revision), results at submit, decisions, action items, follow-ups and the audit
-- trail. Portable SQL: flags BIGINT 0/1, times BIGINT Unix ms, ids and JSON TEXT.

CREATE TABLE calibration_sessions (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    title TEXT NOT NULL,
    goals TEXT NOT NULL,
    scorecard_version_id TEXT NOT NULL REFERENCES scorecard_versions (id),
    facilitator_id TEXT NOT NULL REFERENCES users (id),
    mode TEXT NOT NULL,
    hide_agent_name BIGINT NOT NULL,
    scheduled_at BIGINT,
    scoring_deadline BIGINT,
    status TEXT NOT NULL,
    facilitation TEXT NOT NULL,
    revision BIGINT NOT NULL,
    updated_by TEXT REFERENCES users (id),
    updated_at BIGINT NOT NULL,
    results TEXT,
    published BIGINT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    revealed_at BIGINT,
    submitted_at BIGINT
);
CREATE INDEX calibration_sessions_workspace ON calibration_sessions (workspace_id, id);

CREATE TABLE calibration_conversations (
    session_id TEXT NOT NULL REFERENCES calibration_sessions (id),
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    position BIGINT NOT NULL,
    PRIMARY KEY (session_id, conversation_id)
);

CREATE TABLE calibration_participants (
    session_id TEXT NOT NULL REFERENCES calibration_sessions (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    added_at BIGINT NOT NULL,
    removed_at BIGINT,
    removal_reason TEXT,
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX calibration_participants_user ON calibration_participants (user_id, session_id);

-- Each participant's task per conversation is an evaluation that points at its session.
ALTER TABLE evaluations ADD COLUMN calibration_session_id TEXT REFERENCES calibration_sessions (id);
CREATE UNIQUE INDEX evaluations_calibration_task ON evaluations (calibration_session_id, reviewer_id, conversation_id);

-- One row per participant and conversation of a submitted session, for the Calibration
-- Performance Report.
CREATE TABLE calibration_results (
    session_id TEXT NOT NULL REFERENCES calibration_sessions (id),
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    vendor_id TEXT NOT NULL REFERENCES vendors (id),
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    scorecard_version_id TEXT NOT NULL REFERENCES scorecard_versions (id),
    scored BIGINT NOT NULL,
    score DOUBLE PRECISION,
    calibrated_score DOUBLE PRECISION,
    score_delta DOUBLE PRECISION,
    within_tolerance BIGINT,
    alignment DOUBLE PRECISION,
    na_disagreements BIGINT NOT NULL,
    critical_disagreements BIGINT NOT NULL,
    submitted_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, user_id, conversation_id)
);
CREATE INDEX calibration_results_workspace ON calibration_results (workspace_id, submitted_at);

-- One row per criterion and conversation of a submitted session.
CREATE TABLE calibration_criterion_results (
    session_id TEXT NOT NULL REFERENCES calibration_sessions (id),
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    criterion_id TEXT NOT NULL,
    scorecard_version_id TEXT NOT NULL REFERENCES scorecard_versions (id),
    agreement_with_calibrated DOUBLE PRECISION,
    percent_agreement DOUBLE PRECISION,
    spread DOUBLE PRECISION,
    answered BIGINT NOT NULL,
    submitted_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, conversation_id, criterion_id)
);
CREATE INDEX calibration_criterion_results_workspace ON calibration_criterion_results (workspace_id, submitted_at);

CREATE TABLE calibration_decisions (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    session_id TEXT NOT NULL REFERENCES calibration_sessions (id),
    scorecard_id TEXT NOT NULL REFERENCES scorecards (id),
    criterion_id TEXT,
    text TEXT NOT NULL,
    decided_at BIGINT NOT NULL
);
CREATE INDEX calibration_decisions_scorecard ON calibration_decisions (scorecard_id, decided_at);

CREATE TABLE calibration_actions (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    session_id TEXT NOT NULL REFERENCES calibration_sessions (id),
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    owner_id TEXT REFERENCES users (id),
    due_on TEXT,
    done BIGINT NOT NULL,
    done_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX calibration_actions_open ON calibration_actions (workspace_id, done, id);

CREATE TABLE calibration_followups (
    session_id TEXT NOT NULL REFERENCES calibration_sessions (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    resolved_at BIGINT,
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX calibration_followups_open ON calibration_followups (workspace_id, resolved_at);

CREATE TABLE calibration_audit (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES calibration_sessions (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    at BIGINT NOT NULL,
    what TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT
);
CREATE INDEX calibration_audit_session ON calibration_audit (session_id, id);
