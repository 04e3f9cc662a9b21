-- Reports at scale (issue #7): sums of the evaluations that count in IQS, kept up to date in the
-- same transaction as each submission, so a report adds up a few thousand rows instead of
-- scanning a million evaluations and twenty million answers.
--
-- Every rollup has a grain (0 = day, 1 = calendar month) and a period: the day number (days
-- since 1970-01-01, UTC) of the day, or of the month's first day. A date range is read as whole
-- months from month rows plus the leftover days from day rows (domain::reports::split_period).
-- Missing team or agent is stored as '' (a primary key column cannot be NULL on PostgreSQL).

-- By agent (and their team and vendor) and scorecard: agent reports, leaderboards, targets.
CREATE TABLE rollup_agent (
    workspace_id TEXT NOT NULL,
    grain BIGINT NOT NULL,
    period BIGINT NOT NULL,
    vendor_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    evaluations BIGINT NOT NULL,
    scored BIGINT NOT NULL,
    earned DOUBLE PRECISION NOT NULL,
    possible DOUBLE PRECISION NOT NULL,
    earned_sq DOUBLE PRECISION NOT NULL,
    possible_sq DOUBLE PRECISION NOT NULL,
    earned_possible DOUBLE PRECISION NOT NULL,
    score_sum DOUBLE PRECISION NOT NULL,
    score_sq DOUBLE PRECISION NOT NULL,
    critical_failed BIGINT NOT NULL,
    fcr_n BIGINT NOT NULL,
    fcr_yes BIGINT NOT NULL,
    handle_n BIGINT NOT NULL,
    handle_sum DOUBLE PRECISION NOT NULL,
    csat_n BIGINT NOT NULL,
    csat_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (workspace_id, grain, period, vendor_id, team_id, agent_id, scorecard_id)
);

-- By team, channel, scorecard and who graded (internal, the vendor's own graders, other):
-- team/vendor/channel/scorecard reports, trends, the vendor view, IQS vs CSAT/NPS.
CREATE TABLE rollup_segment (
    workspace_id TEXT NOT NULL,
    grain BIGINT NOT NULL,
    period BIGINT NOT NULL,
    vendor_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    grader_class TEXT NOT NULL,
    evaluations BIGINT NOT NULL,
    scored BIGINT NOT NULL,
    earned DOUBLE PRECISION NOT NULL,
    possible DOUBLE PRECISION NOT NULL,
    earned_sq DOUBLE PRECISION NOT NULL,
    possible_sq DOUBLE PRECISION NOT NULL,
    earned_possible DOUBLE PRECISION NOT NULL,
    score_sum DOUBLE PRECISION NOT NULL,
    score_sq DOUBLE PRECISION NOT NULL,
    critical_failed BIGINT NOT NULL,
    fcr_n BIGINT NOT NULL,
    fcr_yes BIGINT NOT NULL,
    handle_n BIGINT NOT NULL,
    handle_sum DOUBLE PRECISION NOT NULL,
    csat_n BIGINT NOT NULL,
    csat_x DOUBLE PRECISION NOT NULL,
    csat_y DOUBLE PRECISION NOT NULL,
    csat_xx DOUBLE PRECISION NOT NULL,
    csat_yy DOUBLE PRECISION NOT NULL,
    csat_xy DOUBLE PRECISION NOT NULL,
    nps_n BIGINT NOT NULL,
    nps_x DOUBLE PRECISION NOT NULL,
    nps_y DOUBLE PRECISION NOT NULL,
    nps_xx DOUBLE PRECISION NOT NULL,
    nps_yy DOUBLE PRECISION NOT NULL,
    nps_xy DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (workspace_id, grain, period, vendor_id, team_id, channel, scorecard_id, grader_class)
);

-- By criterion: criterion and group reports. earned = Σ weight × fraction, possible = Σ weight
-- over answers that are not N/A.
CREATE TABLE rollup_criterion (
    workspace_id TEXT NOT NULL,
    grain BIGINT NOT NULL,
    period BIGINT NOT NULL,
    vendor_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    criterion_id TEXT NOT NULL,
    answered BIGINT NOT NULL,
    not_applicable BIGINT NOT NULL,
    failed BIGINT NOT NULL,
    earned DOUBLE PRECISION NOT NULL,
    possible DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (workspace_id, grain, period, vendor_id, team_id, scorecard_id, criterion_id)
);

-- Which workspaces have their rollups built (a database from before this migration is rebuilt
-- once, on start).
CREATE TABLE rollup_state (
    workspace_id TEXT PRIMARY KEY,
    built_at BIGINT NOT NULL
);

-- IQS targets per workspace, vendor or team, with milestones (JSON [{date, value}]).
CREATE TABLE iqs_targets (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    name TEXT NOT NULL,
    vendor_id TEXT REFERENCES vendors (id),
    team_id TEXT REFERENCES teams (id),
    scorecard_id TEXT,
    value DOUBLE PRECISION NOT NULL,
    start_day BIGINT NOT NULL,
    due_day BIGINT NOT NULL,
    milestones TEXT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX iqs_targets_workspace ON iqs_targets (workspace_id, id);

-- Self-assessment finds an agent's self-reviews, then reviews of the same conversations.
CREATE INDEX evaluations_kind ON evaluations (workspace_id, kind, status, submitted_at);
