-- Review assignments: plans (a filter, a sample rule, a seed, the graders), their draws (with
-- the seed and window of each, so a draw can be reproduced) and the items of each grader's
-- queue. An item is done when the review started from it is submitted (derived, never stored
-- twice). Grading habits: the active time spent on each evaluation.

ALTER TABLE evaluations ADD COLUMN active_seconds BIGINT NOT NULL DEFAULT 0;

CREATE TABLE review_plans (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    name TEXT NOT NULL,
    scorecard_id TEXT NOT NULL REFERENCES scorecards (id),
    sample TEXT NOT NULL,
    period_days BIGINT NOT NULL,
    filter TEXT NOT NULL,
    due_in_days BIGINT NOT NULL,
    seed TEXT NOT NULL,
    active BIGINT NOT NULL,
    created_by TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX review_plans_workspace ON review_plans (workspace_id, id);

CREATE TABLE review_plan_graders (
    plan_id TEXT NOT NULL REFERENCES review_plans (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    position BIGINT NOT NULL,
    PRIMARY KEY (plan_id, user_id)
);
CREATE INDEX review_plan_graders_user ON review_plan_graders (user_id);

CREATE TABLE review_plan_draws (
    plan_id TEXT NOT NULL REFERENCES review_plans (id),
    number BIGINT NOT NULL,
    seed TEXT NOT NULL,
    window_from BIGINT NOT NULL,
    window_to BIGINT NOT NULL,
    candidates BIGINT NOT NULL,
    drawn BIGINT NOT NULL,
    assigned BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (plan_id, number)
);

CREATE TABLE review_assignments (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    plan_id TEXT NOT NULL REFERENCES review_plans (id),
    draw_number BIGINT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    grader_id TEXT NOT NULL REFERENCES users (id),
    grader_vendor_id TEXT NOT NULL REFERENCES vendors (id),
    conversation_vendor_id TEXT NOT NULL REFERENCES vendors (id),
    due_at BIGINT NOT NULL,
    -- The review started from this item; a deleted draft puts the item back to "not started".
    evaluation_id TEXT REFERENCES evaluations (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);
-- A plan assigns a conversation once.
CREATE UNIQUE INDEX review_assignments_plan_conversation ON review_assignments (plan_id, conversation_id);
CREATE INDEX review_assignments_grader ON review_assignments (grader_id, due_at);
CREATE INDEX review_assignments_evaluation ON review_assignments (evaluation_id);
