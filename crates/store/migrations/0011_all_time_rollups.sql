-- All-time rows (grain 2, period 0) in the agent and segment rollups: an "all time" report
-- reads one row per key instead of a row per month. Built here from the month rows, which hold
-- every counted evaluation; submissions keep them up to date from now on (rollups.rs).
INSERT INTO rollup_agent (workspace_id, grain, period, vendor_id, team_id, agent_id, scorecard_id, evaluations, scored, earned, possible, earned_sq, possible_sq, earned_possible, score_sum, score_sq, critical_failed, fcr_n, fcr_yes, handle_n, handle_sum, csat_n, csat_sum)
SELECT workspace_id, 2, 0, vendor_id, team_id, agent_id, scorecard_id,
    SUM(evaluations), SUM(scored), SUM(earned), SUM(possible), SUM(earned_sq), SUM(possible_sq), SUM(earned_possible), SUM(score_sum), SUM(score_sq), SUM(critical_failed), SUM(fcr_n), SUM(fcr_yes), SUM(handle_n), SUM(handle_sum), SUM(csat_n), SUM(csat_sum)
FROM rollup_agent WHERE grain = 1
GROUP BY workspace_id, vendor_id, team_id, agent_id, scorecard_id;

INSERT INTO rollup_segment (workspace_id, grain, period, vendor_id, team_id, channel, scorecard_id, grader_class, evaluations, scored, earned, possible, earned_sq, possible_sq, earned_possible, score_sum, score_sq, critical_failed, fcr_n, fcr_yes, handle_n, handle_sum, csat_n, csat_x, csat_y, csat_xx, csat_yy, csat_xy, nps_n, nps_x, nps_y, nps_xx, nps_yy, nps_xy)
SELECT workspace_id, 2, 0, vendor_id, team_id, channel, scorecard_id, grader_class,
    SUM(evaluations), SUM(scored), SUM(earned), SUM(possible), SUM(earned_sq), SUM(possible_sq), SUM(earned_possible), SUM(score_sum), SUM(score_sq), SUM(critical_failed), SUM(fcr_n), SUM(fcr_yes), SUM(handle_n), SUM(handle_sum), SUM(csat_n), SUM(csat_x), SUM(csat_y), SUM(csat_xx), SUM(csat_yy), SUM(csat_xy), SUM(nps_n), SUM(nps_x), SUM(nps_y), SUM(nps_xx), SUM(nps_yy), SUM(nps_xy)
FROM rollup_segment WHERE grain = 1
GROUP BY workspace_id, vendor_id, team_id, channel, scorecard_id, grader_class;
