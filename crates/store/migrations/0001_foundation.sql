-- Portable SQL: this one file runs on SQLite and PostgreSQL (see ARCHITECTURE.md).
-- Flags are BIGINT 0/1, times BIGINT Unix milliseconds UTC, ids and JSON TEXT, decimals DOUBLE PRECISION.

CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    settings TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE vendors (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    name TEXT NOT NULL,
    is_internal BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    vendor_id TEXT NOT NULL REFERENCES vendors (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (workspace_id, vendor_id, name)
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    vendor_id TEXT NOT NULL REFERENCES vendors (id),
    team_id TEXT REFERENCES teams (id),
    name TEXT NOT NULL,
    email TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (workspace_id, vendor_id, name)
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    vendor_id TEXT NOT NULL REFERENCES vendors (id),
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    agent_id TEXT REFERENCES agents (id),
    active BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE login_attempts (
    email TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_attempts_email ON login_attempts (email, at);

CREATE TABLE scorecards (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE scorecard_versions (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    scorecard_id TEXT NOT NULL REFERENCES scorecards (id),
    number BIGINT NOT NULL,
    status TEXT NOT NULL,
    change_kind TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    activated_at BIGINT,
    UNIQUE (scorecard_id, number)
);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    external_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    agent_id TEXT REFERENCES agents (id),
    team_id TEXT REFERENCES teams (id),
    vendor_id TEXT NOT NULL REFERENCES vendors (id),
    started_at BIGINT NOT NULL,
    subject TEXT NOT NULL,
    transcript TEXT NOT NULL,
    tags TEXT NOT NULL,
    csat BIGINT,
    nps BIGINT,
    fcr BIGINT,
    handle_time_seconds BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (workspace_id, external_id)
);
CREATE INDEX conversations_vendor ON conversations (workspace_id, vendor_id, id);
CREATE INDEX conversations_agent ON conversations (agent_id, id);

CREATE TABLE evaluations (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    scorecard_version_id TEXT NOT NULL REFERENCES scorecard_versions (id),
    reviewer_id TEXT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    overall_feedback TEXT NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors (id),
    team_id TEXT REFERENCES teams (id),
    agent_id TEXT REFERENCES agents (id),
    score DOUBLE PRECISION,
    earned DOUBLE PRECISION,
    possible DOUBLE PRECISION,
    critical_failed BIGINT,
    critical_failures TEXT,
    revision BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    submitted_at BIGINT
);
CREATE INDEX evaluations_conversation ON evaluations (conversation_id);
CREATE INDEX evaluations_reviewer ON evaluations (reviewer_id, id);
CREATE INDEX evaluations_vendor ON evaluations (workspace_id, vendor_id, id);
CREATE INDEX evaluations_submitted ON evaluations (workspace_id, status, submitted_at);

CREATE TABLE evaluation_answers (
    evaluation_id TEXT NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
    criterion_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    option_index BIGINT,
    comment TEXT NOT NULL,
    PRIMARY KEY (evaluation_id, criterion_id)
);
