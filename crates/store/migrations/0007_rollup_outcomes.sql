-- What a counted evaluation added to the report rollups from its conversation (channel, CSAT,
-- NPS, first-contact resolution, handle time), so that re-importing the conversation with a
-- late CSAT can take the old contribution out and put the new one in, in the import's
-- transaction. rollup_snapshot is 1 once the columns hold what the rollups counted.
ALTER TABLE evaluations ADD COLUMN rollup_snapshot BIGINT;
ALTER TABLE evaluations ADD COLUMN rollup_channel TEXT;
ALTER TABLE evaluations ADD COLUMN rollup_csat BIGINT;
ALTER TABLE evaluations ADD COLUMN rollup_nps BIGINT;
ALTER TABLE evaluations ADD COLUMN rollup_fcr BIGINT;
ALTER TABLE evaluations ADD COLUMN rollup_handle BIGINT;

-- Imports find the reviewed conversations they changed.
CREATE INDEX conversations_updated ON conversations (workspace_id, updated_at);

-- Rebuild every workspace's rollups on the next start, which also fills the columns above.
DELETE FROM rollup_state;
