-- SQLite's per-agent report walk visits a workspace's agents one by one and seeks each one's
-- rollup rows, whose key is (workspace, grain, agent, period, ...). Walked in (vendor, name)
-- order, consecutive seeks land anywhere in the rollup table; walked in id order, they move
-- through it in key order and reuse the pages the previous agent's seeks read. With the name,
-- the walk reads this index alone. Measured at a million reviews with random agent names: one
-- of the two walk statements of a 30-day leaderboard took 61-65 ms in name order, 56-57 in id
-- order.
CREATE INDEX agents_by_id ON agents (workspace_id, id, name);
