-- A calibration task is unique per session, grader and conversation. The index that says so
-- held every evaluation, nearly all of them reviews under a NULL session that it never finds:
-- at a million reviews about 100 MB, and one more page to change at a random place in it for
-- every review submitted. Only calibration tasks are in it now; every lookup by a session
-- (`calibration_session_id = ...`) implies the condition, so both databases still use it.
DROP INDEX evaluations_calibration_task;
CREATE UNIQUE INDEX evaluations_calibration_task ON evaluations (calibration_session_id, reviewer_id, conversation_id)
    WHERE calibration_session_id IS NOT NULL;
