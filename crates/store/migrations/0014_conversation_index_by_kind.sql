-- A review submitted looks for the agent's self-review of the same conversation (to pair them
-- for the self-assessment report), and a review plan for conversations without a review. By
-- conversation alone the index found every evaluation of the conversation and read each row to
-- learn its kind: a conversation calibrated or reviewed seventy times cost seventy random row
-- reads inside the SQLite writers' turn of every further review. With the kind in the index the
-- lookup finds only the kind it asks for.
DROP INDEX evaluations_conversation;
CREATE INDEX evaluations_conversation ON evaluations (conversation_id, kind);
