-- Hidden calibration in the review queue: a hidden session may name a review plan; then each
-- participant's task waits in their queue of that plan as an ordinary-looking item (one row per
-- participant and conversation, linked to the session), and its review is created when the
-- grader starts it, as for any item. The plan's own rule "a conversation once per plan" holds
-- for drawn items only: a hidden session puts one conversation in several graders' queues.

ALTER TABLE calibration_sessions ADD COLUMN review_plan_id TEXT REFERENCES review_plans (id);
ALTER TABLE review_assignments ADD COLUMN calibration_session_id TEXT REFERENCES calibration_sessions (id);

DROP INDEX review_assignments_plan_conversation;
CREATE UNIQUE INDEX review_assignments_plan_conversation ON review_assignments (plan_id, conversation_id)
    WHERE calibration_session_id IS NULL;
CREATE UNIQUE INDEX review_assignments_session_task ON review_assignments (calibration_session_id, grader_id, conversation_id)
    WHERE calibration_session_id IS NOT NULL;
