-- Self-assessment at scale: sums of the pairs (an agent's submitted self-review, a counted
-- review of the same conversation with the same scorecard version), kept up to date in the
-- same transaction as each submission, so the report adds up rollup rows instead of joining
-- evaluations and reading both sides' answers.
--
-- Grain and period as in 0006: the day number of the self-review's submission day (grain 0),
-- or of its month's first day (grain 1). Vendor, team and agent are the self-review's.

-- Per agent and scorecard: the agent lines (pairs, mean self score, mean review score).
CREATE TABLE rollup_self (
    workspace_id TEXT NOT NULL,
    grain BIGINT NOT NULL,
    period BIGINT NOT NULL,
    vendor_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    pairs BIGINT NOT NULL,
    self_n BIGINT NOT NULL,
    self_sum DOUBLE PRECISION NOT NULL,
    review_n BIGINT NOT NULL,
    review_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (workspace_id, grain, period, vendor_id, team_id, agent_id, scorecard_id)
);

-- Per criterion: pairs where both sides answered it (not N/A) and Σ 100 × (self fraction -
-- review fraction). Kept per agent (with their team) and once more for all of a vendor's teams
-- and agents together (team and agent '*'), which a report without a team or agent filter
-- reads (never both: that would count twice).
CREATE TABLE rollup_self_criterion (
    workspace_id TEXT NOT NULL,
    grain BIGINT NOT NULL,
    period BIGINT NOT NULL,
    vendor_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    criterion_id TEXT NOT NULL,
    pairs BIGINT NOT NULL,
    gap_sum DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (workspace_id, grain, period, vendor_id, team_id, agent_id, scorecard_id, criterion_id)
);

-- Rebuild every workspace's rollups on the next start, which fills these from the evaluations.
DELETE FROM rollup_state;
