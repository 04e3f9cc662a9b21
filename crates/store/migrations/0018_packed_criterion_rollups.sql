-- Criterion rollups packed: one row per grain, period, vendor, team and scorecard holds every
-- criterion's sums as one text (`sums`, written and read by rollups.rs: per criterion
-- `id,answered,not_applicable,failed,earned,possible`, `;` between, sorted by id). A review of a
-- 20-criterion scorecard added 80 rows to rollup_criterion (two grains, its team and all teams,
-- twenty criteria), which were 85% of a submission batch's rollup rows and most of the time
-- the writers waited for; now it adds to 4. Built by the rebuild on the next start.
CREATE TABLE rollup_criteria (
    workspace_id TEXT NOT NULL,
    grain BIGINT NOT NULL,
    period BIGINT NOT NULL,
    vendor_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    scorecard_id TEXT NOT NULL,
    sums TEXT NOT NULL,
    PRIMARY KEY (workspace_id, grain, period, vendor_id, team_id, scorecard_id)
);
DROP TABLE rollup_criterion;
DELETE FROM rollup_state;
