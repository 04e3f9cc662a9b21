-- The IQS vs CSAT report lists the newest reviews whose score and CSAT disagree (high score with
-- CSAT at most 2, low score with CSAT 5). Unfiltered, each list walked the workspace's counted
-- reviews newest first and joined each one's conversation to read its CSAT: where mismatches
-- are rare it read the whole 90-day range (0.6 s warm and 3.4 s cold per list at a million
-- reviews on SQLite). By the CSAT each review counted with (kept equal to its conversation's by
-- every re-import), then submission time, a list reads only its CSAT values' reviews, newest
-- first, and tests the score on the index entry before it reads the review.
CREATE INDEX evaluations_csat ON evaluations (workspace_id, rollup_csat, submitted_at, score)
    WHERE rollup_csat IS NOT NULL;
