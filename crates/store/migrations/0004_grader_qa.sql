-- Grade-the-grader: programs, their draws (with the seed of each), audits (the original review,
-- the benchmark's blind re-grade, alignment on completion) and appeals with their history.

CREATE TABLE audit_programs (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    name TEXT NOT NULL,
    sample TEXT NOT NULL,
    period_days BIGINT NOT NULL,
    filter TEXT NOT NULL,
    benchmarks TEXT NOT NULL,
    hide_agent_name BIGINT NOT NULL,
    adaptive TEXT,
    seed TEXT NOT NULL,
    active BIGINT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_programs_workspace ON audit_programs (workspace_id, id);

CREATE TABLE audit_draws (
    program_id TEXT NOT NULL REFERENCES audit_programs (id),
    number BIGINT NOT NULL,
    seed TEXT NOT NULL,
    candidates BIGINT NOT NULL,
    drawn BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (program_id, number)
);

CREATE TABLE audits (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    program_id TEXT NOT NULL REFERENCES audit_programs (id),
    draw_number BIGINT NOT NULL,
    original_id TEXT NOT NULL REFERENCES evaluations (id),
    audit_evaluation_id TEXT NOT NULL REFERENCES evaluations (id),
    original_reviewer_id TEXT NOT NULL REFERENCES users (id),
    benchmark_id TEXT NOT NULL REFERENCES users (id),
    grader_vendor_id TEXT NOT NULL REFERENCES vendors (id),
    conversation_vendor_id TEXT NOT NULL REFERENCES vendors (id),
    status TEXT NOT NULL,
    alignment DOUBLE PRECISION,
    na_disagreements BIGINT,
    critical_disagreements BIGINT,
    score_delta DOUBLE PRECISION,
    criteria TEXT,
    created_at BIGINT NOT NULL,
    completed_at BIGINT
);
-- A review is audited at most once; an audit evaluation belongs to one audit.
CREATE UNIQUE INDEX audits_original ON audits (original_id);
CREATE UNIQUE INDEX audits_evaluation ON audits (audit_evaluation_id);
CREATE INDEX audits_workspace ON audits (workspace_id, status, completed_at);
CREATE INDEX audits_benchmark ON audits (benchmark_id, status);

CREATE TABLE audit_appeals (
    id TEXT PRIMARY KEY,
    audit_id TEXT NOT NULL REFERENCES audits (id),
    criterion_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    decided_by TEXT REFERENCES users (id),
    decision_note TEXT,
    alignment_before DOUBLE PRECISION,
    alignment_after DOUBLE PRECISION,
    created_at BIGINT NOT NULL,
    decided_at BIGINT
);
CREATE INDEX audit_appeals_audit ON audit_appeals (audit_id, id);
