-- Recurring calibration series: a cadence from a first date, the people, a conversation filter
-- and a recorded random seed; each occurrence records the session it created and the seed of
-- its draw, so the draw can be reproduced.

CREATE TABLE calibration_series (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    title TEXT NOT NULL,
    goals TEXT NOT NULL,
    scorecard_id TEXT NOT NULL REFERENCES scorecards (id),
    cadence TEXT NOT NULL,
    first_date TEXT NOT NULL,
    start_minute BIGINT NOT NULL,
    duration_minutes BIGINT NOT NULL,
    facilitator_id TEXT NOT NULL REFERENCES users (id),
    participants TEXT NOT NULL,
    mode TEXT NOT NULL,
    hide_agent_name BIGINT NOT NULL,
    filter TEXT NOT NULL,
    conversations_per_occurrence BIGINT NOT NULL,
    seed TEXT NOT NULL,
    active BIGINT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX calibration_series_workspace ON calibration_series (workspace_id, id);

CREATE TABLE calibration_occurrences (
    series_id TEXT NOT NULL REFERENCES calibration_series (id),
    number BIGINT NOT NULL,
    session_id TEXT NOT NULL REFERENCES calibration_sessions (id),
    occurs_on TEXT NOT NULL,
    seed TEXT NOT NULL,
    candidates BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (series_id, number)
);
