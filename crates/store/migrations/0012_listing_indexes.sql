-- The conversation and evaluation lists of a whole workspace (a QA lead's, an internal grader's)
-- are pages newest first: `WHERE workspace_id = ? ORDER BY id DESC LIMIT n`. No index had that
-- order, so at a million rows both databases sorted the workspace for every page (2 s for
-- conversations, 12 s cold for evaluations on SQLite). With these a page reads n index entries.
CREATE INDEX conversations_workspace ON conversations (workspace_id, id);
CREATE INDEX evaluations_workspace ON evaluations (workspace_id, id);
