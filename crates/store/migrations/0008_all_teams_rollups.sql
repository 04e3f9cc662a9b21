-- Segment and criterion rollups gain rows for all of a vendor's teams together (team_id '*'),
-- which reports without a team filter read: about a hundred rows a day instead of one per team.
-- Rebuild every workspace's rollups on the next start, which adds them.
DELETE FROM rollup_state;
