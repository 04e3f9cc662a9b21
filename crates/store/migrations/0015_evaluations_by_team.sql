-- The IQS vs CSAT report lists the newest reviews whose score and CSAT disagree. Filtered by a
-- team, that list walked every submitted review of the workspace newest first and kept the
-- team's: at a million reviews with few mismatches in the team (the common case for one team)
-- it read the whole 90-day range, about a second per list. By team, then submission time, the
-- walk reads that team's reviews only.
CREATE INDEX evaluations_team ON evaluations (workspace_id, team_id, submitted_at);
