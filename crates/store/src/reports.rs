//! Aggregates for reports, read from the rollups (migration 0006, `rollups.rs`) rather than
//! from the evaluations: a date range becomes whole months from month rows plus leftover days
//! from day rows (`domain::reports::split_period`). The formulas (IQS as a ratio of sums, its
//! interval, correlation, bands) live in the domain; the database only adds up.

use crate::rollups::{CriterionSums, OutcomeSums, score_sums_of};
use crate::sql::{self, Columns, Select, Value};
use crate::{Backend, Result, Store, StoreError};
use plumbline_domain::access::VendorScope;
use plumbline_domain::org::{Band, Bands};
use plumbline_domain::reports::{Grain, Interval, PairSums, ScoreSums, month_start, next_month_start, split_period};
use plumbline_domain::scorecard::FieldError;
use plumbline_domain::time::DAY_MS;
use plumbline_domain::{AgentId, Millis, ScorecardId, TeamId, VendorId, WorkspaceId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Agent ids bound in one query of [`Store::agent_sums_of`]: well under SQLite's 32,766 and
/// PostgreSQL's 65,535 bound values.
const AGENT_IDS_PER_QUERY: usize = 1000;

/// What to group the IQS by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IqsGrouping {
    Agent,
    Team,
    Vendor,
    Channel,
    Scorecard,
    /// A scorecard's group (section) of criteria.
    Group,
    Criterion,
}

impl IqsGrouping {
    pub fn as_str(self) -> &'static str {
        match self {
            IqsGrouping::Agent => "agent",
            IqsGrouping::Team => "team",
            IqsGrouping::Vendor => "vendor",
            IqsGrouping::Channel => "channel",
            IqsGrouping::Scorecard => "scorecard",
            IqsGrouping::Group => "group",
            IqsGrouping::Criterion => "criterion",
        }
    }
}

/// Filters every report takes. Dates count whole UTC days: `from` rounds down to its day,
/// `to` up.
#[derive(Clone, Debug, Default)]
pub struct IqsFilter {
    pub vendor_id: Option<VendorId>,
    pub team_id: Option<TeamId>,
    pub agent_id: Option<AgentId>,
    pub scorecard_id: Option<ScorecardId>,
    pub channel: Option<String>,
    /// submitted_at >= from
    pub from: Option<Millis>,
    /// submitted_at < to
    pub to: Option<Millis>,
}

/// The last day the reports reach: 9999-12-31.
const LAST_DAY: i64 = 2_932_896;

impl IqsFilter {
    /// The half-open day range `[from, to)`; without bounds, 1970-01-01 up to tomorrow.
    pub fn days(&self, today: i64) -> (i64, i64) {
        let from = self.from.map(|f| f.div_euclid(DAY_MS)).unwrap_or(0).clamp(0, LAST_DAY);
        let to =
            self.to.map(|t| t.saturating_add(DAY_MS - 1).div_euclid(DAY_MS)).unwrap_or(today + 1).clamp(0, LAST_DAY);
        (from, to)
    }
}

/// The rollup a report reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rollup {
    /// rollup_agent: vendor, team, agent, scorecard.
    Agent,
    /// rollup_segment: vendor, team, channel, scorecard, grader_class.
    Segment,
    /// rollup_criteria: vendor, team, scorecard, and each criterion's sums in one text.
    Criterion,
}

impl Rollup {
    fn table(self) -> &'static str {
        match self {
            Rollup::Agent => "rollup_agent",
            Rollup::Segment => "rollup_segment",
            Rollup::Criterion => "rollup_criteria",
        }
    }

    fn has(self, column: &str) -> bool {
        match column {
            "vendor_id" | "team_id" | "scorecard_id" => true,
            "agent_id" => self == Rollup::Agent,
            "channel" | "grader_class" => self == Rollup::Segment,
            "criterion_id" => self == Rollup::Criterion,
            _ => false,
        }
    }

    /// `SUM(c) AS c, ...` over the value columns `sums` asks for (of the table named by `prefix`,
    /// as `r.`), read with `Select::fetch_packed`.
    fn sums(self, prefix: &str, sums: Sums, postgres: bool) -> String {
        self.value_columns(sums)
            .iter()
            .map(|c| {
                // Counts stay integers on SQLite (exact in the packed JSON, and cheaper to pack);
                // PostgreSQL would sum them as NUMERIC, which the `Any` driver cannot read and
                // which is slower than adding doubles (exact below 2^53). Sums of doubles are
                // doubles on both databases.
                if INTEGER_VALUES.contains(c) && postgres {
                    format!("SUM(CAST({prefix}{c} AS DOUBLE PRECISION)) AS {c}")
                } else if INTEGER_VALUES.contains(c) {
                    format!("SUM({prefix}{c}) AS {c}")
                } else {
                    format!("CAST(SUM({prefix}{c}) AS DOUBLE PRECISION) AS {c}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Like [`Rollup::sums`], each value multiplied by `sign` (SQLite only: an integer column,
    /// so counts stay integers) and named with `alias` before the column's name.
    fn signed_sums(self, prefix: &str, sums: Sums, sign: &str, alias: &str) -> String {
        self.value_columns(sums)
            .iter()
            .map(|c| {
                if INTEGER_VALUES.contains(c) {
                    format!("SUM({prefix}{c} * {sign}) AS {alias}{c}")
                } else {
                    format!("CAST(SUM({prefix}{c} * {sign}) AS DOUBLE PRECISION) AS {alias}{c}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The value columns a read sums.
    fn value_columns(self, sums: Sums) -> &'static [&'static str] {
        match (self, sums) {
            (Rollup::Criterion, _) => &["sums"],
            (_, Sums::Iqs) => &["scored", "earned", "possible"],
            (_, Sums::Interval) => &crate::rollups::AGENT_VALUES[..INTERVAL_COLUMNS],
            (_, Sums::Scores) => &crate::rollups::AGENT_VALUES[..SCORE_COLUMNS],
            (Rollup::Agent, Sums::Outcomes) => crate::rollups::AGENT_VALUES,
            (Rollup::Segment, Sums::Outcomes) => crate::rollups::SEGMENT_VALUES,
        }
    }

    /// The rollup that can group by `grouping` (Group reads criteria and adds them up).
    pub fn for_grouping(grouping: IqsGrouping) -> (Rollup, &'static str) {
        match grouping {
            IqsGrouping::Agent => (Rollup::Agent, "agent_id"),
            IqsGrouping::Team => (Rollup::Segment, "team_id"),
            IqsGrouping::Vendor => (Rollup::Segment, "vendor_id"),
            IqsGrouping::Channel => (Rollup::Segment, "channel"),
            IqsGrouping::Scorecard => (Rollup::Segment, "scorecard_id"),
            IqsGrouping::Group | IqsGrouping::Criterion => (Rollup::Criterion, "criterion_id"),
        }
    }
}

/// The score sums lead the value columns of the agent and segment rollups (`ScoreSums`).
const SCORE_COLUMNS: usize = 10;

/// The first of them are what IQS with its interval needs (`ScoreSums::iqs_ci95`).
const INTERVAL_COLUMNS: usize = 7;

/// The value columns that hold counts.
const INTEGER_VALUES: &[&str] = &[
    "evaluations",
    "scored",
    "critical_failed",
    "fcr_n",
    "fcr_yes",
    "handle_n",
    "csat_n",
    "nps_n",
    "answered",
    "not_applicable",
    "failed",
];

/// Which sums a read of the agent or segment rollup returns (the criterion rollup's are few and
/// always read whole).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sums {
    /// What IQS needs: scored, earned and possible (a previous period's IQS, for its change).
    Iqs,
    /// IQS with its interval, and the evaluations counted (a leaderboard): the score sums less
    /// those of the mean score and fail rate.
    Interval,
    /// The score sums (`ScoreSums`): IQS with its interval, mean score, fail rate.
    Scores,
    /// The score sums and the outcomes (FCR, handle time, CSAT, NPS).
    Outcomes,
}

/// The (grain, from, to) ranges of rollup rows that cover `[from, to)` (days) exactly once:
/// whole months from month rows and the rest from day rows.
pub(crate) fn month_and_day_ranges((from, to): (i64, i64)) -> Vec<(Grain, i64, i64)> {
    let split = split_period(from, to);
    let mut ranges: Vec<_> = split.months.map(|(a, b)| (Grain::Month, a, b)).into_iter().collect();
    ranges.extend(split.days.iter().map(|&(a, b)| (Grain::Day, a, b)));
    ranges
}

/// A range of rollup rows (grain, from, to) and the sign its sums enter the total with.
pub(crate) type SignedRange = ((Grain, i64, i64), f64);

/// Ranges of rollup rows whose sums, added (sign 1) or taken away (sign -1), cover `[from, to)`
/// (days) exactly once while reading few rows: whole months from month rows; a month the range
/// covers most of as its month row less the day rows of the days it leaves out; the rest of a
/// month from day rows. Rows are stamped with their submission day by the server's clock (the
/// generator's too), so no row lies after `today`: leaving out days after it costs nothing
/// (and the all-time rows rest on the same fact). At 1M reviews a last-30-days report per
/// agent read about 13 day rows per agent; now one or two month rows and 5 days' rows.
pub(crate) fn signed_ranges((from, to): (i64, i64), today: i64) -> Vec<SignedRange> {
    fn push(ranges: &mut Vec<(i64, i64)>, (a, b): (i64, i64)) {
        match ranges.last_mut() {
            Some(last) if last.1 == a => last.1 = b,
            _ => ranges.push((a, b)),
        }
    }
    let (mut months, mut added_days, mut taken_days) = (Vec::new(), Vec::new(), Vec::new());
    let mut month = month_start(from);
    while month < to {
        let next = next_month_start(month);
        let (a, b) = (from.max(month), to.min(next));
        // Day rows to read either way: the days in the range, or the month's other days that
        // can hold rows.
        let inside = b - a;
        let outside = (a - month) + (next.min(today + 1) - b).max(0);
        if a == month && b == next || outside < inside {
            push(&mut months, (month, next));
            if a > month {
                push(&mut taken_days, (month, a));
            }
            if b < next && b <= today {
                push(&mut taken_days, (b, next));
            }
        } else {
            push(&mut added_days, (a, b));
        }
        month = next;
    }
    let mut out: Vec<SignedRange> = months.into_iter().map(|(a, b)| ((Grain::Month, a, b), 1.0)).collect();
    out.extend(added_days.into_iter().map(|(a, b)| ((Grain::Day, a, b), 1.0)));
    out.extend(taken_days.into_iter().map(|(a, b)| ((Grain::Day, a, b), -1.0)));
    out
}

/// How many statements a walk over every agent is split into: one per core, up to four.
fn walk_parts() -> usize {
    static PARTS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PARTS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(4)))
}

/// A range of rollup rows in one walk over the agents: the sign its sums enter the period's
/// total with, and the sign they enter the previous period's (0: not in that period).
type WalkRange = ((Grain, i64, i64), i64, i64);

/// The ranges of a walk that reads the period and, when given, the previous one: a range both
/// periods read (the days the period's first month leaves out are the previous period's last)
/// is sought once, with both signs.
fn walk_ranges(current: &[SignedRange], previous: &[SignedRange]) -> Vec<WalkRange> {
    let mut out: Vec<WalkRange> = current.iter().map(|&(range, sign)| (range, sign as i64, 0)).collect();
    for &(range, sign) in previous {
        match out.iter_mut().find(|(r, _, _)| *r == range) {
            Some(found) => found.2 += sign as i64,
            None => out.push((range, 0, sign as i64)),
        }
    }
    out
}

/// The prefix of the previous period's IQS sums in a walk that reads both periods.
const PREVIOUS: &str = "prev_";

/// A row whose numbers are read with a sign (rows of a range whose sums are taken away).
struct Signed<'a, R>(&'a R, f64);

impl<R: Columns> Columns for Signed<'_, R> {
    fn opt_text(&self, column: &str) -> Result<Option<String>> {
        self.0.opt_text(column)
    }

    fn opt_float(&self, column: &str) -> Result<Option<f64>> {
        Ok(self.0.opt_float(column)?.map(|v| v * self.1))
    }
}

/// Which rows of a rollup a report reads, and how they are grouped.
struct RollupRead<'a> {
    /// Which sums to read.
    sums: Sums,
    workspace: WorkspaceId,
    scope: VendorScope,
    rollup: Rollup,
    group_by: &'a [&'a str],
    filter: &'a IqsFilter,
    /// `[from, to)`, days.
    days: (i64, i64),
    time: TimeMode,
    /// Only these agents' rows (agent rollup only), when set.
    agents: Option<&'a [String]>,
    /// The database is PostgreSQL (which plans the per-agent read differently).
    postgres: bool,
    /// The previous period (`[from, to)`, days) whose IQS sums the same walk reads
    /// ([`Store::rollup_sums_compared`], SQLite's per-agent walk only).
    previous: Option<(i64, i64)>,
}

impl RollupRead<'_> {
    /// The (grain, from, to) ranges of rows that cover the days exactly once: the all-time rows
    /// for everything up to today, else whole months from month rows and the rest from day rows;
    /// day rows only for a daily or weekly series.
    fn ranges(&self, today: i64) -> Vec<SignedRange> {
        let (from, to) = self.days;
        match self.time {
            TimeMode::Series(Interval::Day | Interval::Week) => vec![((Grain::Day, from, to), 1.0)],
            TimeMode::Total if from == 0 && to > today && self.rollup != Rollup::Criterion => {
                vec![((Grain::All, 0, 1), 1.0)]
            }
            TimeMode::Total => signed_ranges((from, to), today),
            TimeMode::Series(Interval::Month) => {
                month_and_day_ranges((from, to)).into_iter().map(|range| (range, 1.0)).collect()
            }
        }
    }

    /// Whether SQLite reads this agent by agent (see [`RollupRead::queries`]).
    fn walks_agents(&self) -> bool {
        !self.postgres
            && self.rollup == Rollup::Agent
            && (self.agents.is_some() || self.group_by == ["agent_id"] && self.time == TimeMode::Total)
    }

    /// The filters, the viewer's scope and one range of rows (when given; else the caller
    /// joins its ranges), on the columns of the rollup table named by `prefix`.
    fn conditions(&self, q: &mut Select, prefix: &str, range: Option<(Grain, i64, i64)>) {
        let column = |c: &str| format!("{prefix}{c}");
        let filter = self.filter;
        q.and_text(&column("workspace_id"), self.workspace)
            .and_opt_text(&column("vendor_id"), self.scope.vendor())
            .and_opt_text(&column("vendor_id"), filter.vendor_id)
            .and_opt_text(&column("team_id"), filter.team_id)
            .and_opt_text(&column("agent_id"), filter.agent_id)
            .and_opt_text(&column("scorecard_id"), filter.scorecard_id)
            .and_opt_text(&column("channel"), filter.channel.as_ref());
        if let Some(agents) = self.agents {
            let marks = vec!["?"; agents.len()].join(", ");
            let ids = agents.iter().map(|a| Value::Text(a.clone())).collect();
            q.and_expr(&format!("{} IN ({marks})", column("agent_id")), ids);
        }
        // Segment and criterion rows exist per team and for all teams together: read the
        // all-teams rows unless a team is asked for (never both, which would count twice).
        if self.rollup != Rollup::Agent {
            let all_teams = crate::rollups::ALL_TEAMS;
            if filter.team_id.is_none() && !self.group_by.contains(&"team_id") {
                q.and_raw(&format!("{} = '{all_teams}'", column("team_id")));
            } else {
                q.and_raw(&format!("{} <> '{all_teams}'", column("team_id")));
            }
        }
        if let Some((grain, from, to)) = range {
            q.and(&column("grain"), "=", Value::Int(grain as i64)).and(&column("period"), ">=", Value::Int(from)).and(
                &column("period"),
                "<",
                Value::Int(to),
            );
        }
    }

    /// SQLite's per-agent read: one statement walks the agents in id order (`agents_by_id`, so
    /// that consecutive seeks move through the rollup in key order) and, for each, seeks its
    /// rows in every range by the rollup's (grain, agent) key (`Store::sqlite_layout`), adding
    /// them up with the range's sign as they come instead of sorting tens of thousands of rows.
    /// One walk for all ranges: a walk costs 5,000 seeks and a packed result, whatever the
    /// range holds (the last 30 days took 62 ms as 31 days' rows, 45 ms as month rows less 5
    /// days' in one walk). A list of agents (self-assessment) seeks only those. Rows without an
    /// agent come from a second query.
    /// With a previous period, each agent's rows of both periods come from the same seeks, the
    /// previous period's IQS sums as `prev_` columns.
    fn agent_walk(&self, ranges: &[WalkRange]) -> Vec<(Select, String, Vec<String>, f64)> {
        let table = self.rollup.table();
        let compared = self.previous.is_some();
        let mut values: Vec<String> = self.rollup.value_columns(self.sums).iter().map(|c| c.to_string()).collect();
        if compared {
            values.extend(self.rollup.value_columns(Sums::Iqs).iter().map(|c| format!("{PREVIOUS}{c}")));
        }
        let columns =
            |keys: &[&str]| keys.iter().map(|c| c.to_string()).chain(values.iter().cloned()).collect::<Vec<_>>();
        // The ranges as a table of numbers this code made (nothing from the request).
        let rows = ranges
            .iter()
            .map(|((grain, from, to), sign, previous)| format!("({}, {from}, {to}, {sign}, {previous})", *grain as i64))
            .collect::<Vec<_>>()
            .join(", ");
        let with = format!("WITH g (grain, period_from, period_to, sign, previous_sign) AS (VALUES {rows}) ");
        let in_ranges = |prefix: &str| {
            format!("{prefix}grain = g.grain AND {prefix}period >= g.period_from AND {prefix}period < g.period_to")
        };
        let sums = |prefix: &str| {
            let mut sums = self.rollup.signed_sums(prefix, self.sums, "g.sign", "");
            if compared {
                sums = format!("{sums}, {}", self.rollup.signed_sums(prefix, Sums::Iqs, "g.previous_sign", PREVIOUS));
            }
            sums
        };
        let mut out = Vec::new();
        if self.agents.is_some() {
            let mut listed = Select::new(&format!(
                "{with}SELECT r.agent_id AS agent_id, a.name AS agent_name, {} FROM g CROSS JOIN {table} r JOIN agents a ON a.id = r.agent_id",
                sums("r.")
            ));
            listed.and_raw(&in_ranges("r."));
            self.conditions(&mut listed, "r.", None);
            out.push((listed, "GROUP BY r.agent_id, a.name".to_string(), columns(&["agent_id", "agent_name"]), 1.0));
            return out;
        }
        // The walk is CPU work on one connection's thread: split the agents between as many
        // statements as there are cores, run side by side (each seeks its own agents).
        let parts = walk_parts();
        for part in 0..parts {
            let mut agents = Select::new(&format!(
                "{with}SELECT a.id AS agent_id, a.name AS agent_name, {} FROM agents a CROSS JOIN g CROSS JOIN {table} r",
                sums("r.")
            ));
            // CROSS JOIN: SQLite keeps agents as the outer loop, then the ranges.
            agents.and_text("a.workspace_id", self.workspace).and_raw("r.agent_id = a.id").and_raw(&in_ranges("r."));
            if parts > 1 {
                agents.and_raw(&format!("a.rowid % {parts} = {part}"));
            }
            self.conditions(&mut agents, "r.", None);
            out.push((
                agents,
                "GROUP BY a.workspace_id, a.id, a.name".to_string(),
                columns(&["agent_id", "agent_name"]),
                1.0,
            ));
        }
        if self.filter.agent_id.is_none() {
            let mut none = Select::new(&format!(
                "{with}SELECT r.agent_id AS agent_id, {} FROM g CROSS JOIN {table} r",
                sums("r.")
            ));
            none.and_raw("r.agent_id = ''").and_raw(&in_ranges("r."));
            self.conditions(&mut none, "r.", None);
            out.push((none, "GROUP BY r.agent_id".to_string(), columns(&["agent_id"]), 1.0));
        }
        out
    }

    /// The queries to run, with their GROUP BY tails and the sign their rows enter with: one
    /// per range of rows, since SQLite plans `(range) OR (range)` over bound values as a scan of
    /// every row under the key prefix; SQLite's per-agent read is one walk ([`Self::agent_walk`]).
    fn queries(&self, today: i64) -> Vec<(Select, String, Vec<String>, f64)> {
        let ranges = self.ranges(today);
        if self.walks_agents() {
            let previous = self.previous.map(|days| signed_ranges(days, today)).unwrap_or_default();
            return self.agent_walk(&walk_ranges(&ranges, &previous));
        }
        debug_assert!(self.previous.is_none(), "only SQLite's per-agent walk reads a previous period");
        let table = self.rollup.table();
        let values = self.rollup.value_columns(self.sums).iter().map(|c| c.to_string());
        let columns = |keys: &[&str]| keys.iter().map(|c| c.to_string()).chain(values.clone()).collect::<Vec<_>>();
        let mut out = Vec::new();
        for (range, sign) in ranges {
            if self.rollup == Rollup::Criterion {
                // A row holds every criterion's sums in one text, which SQL cannot add up: the
                // rows come whole and `read_rollup` adds them up (a few hundred rows).
                let columns: Vec<String> =
                    ["vendor_id", "team_id", "scorecard_id", "period", "sums"].map(String::from).into();
                let mut q = Select::new(&format!("SELECT {} FROM {table}", columns.join(", ")));
                self.conditions(&mut q, "", Some(range));
                out.push((q, String::new(), columns, sign));
                continue;
            }
            let per_agent =
                self.rollup == Rollup::Agent && self.group_by == ["agent_id"] && self.time == TimeMode::Total;
            if per_agent {
                // PostgreSQL reads the range by its period-first key and groups by hashing; one
                // query covers the rows without an agent too (no agent name). Names are joined
                // to the 5,000 sums, not to the rows summed (twice as many in a month, 13,000 in
                // six days): 12-15% less time per range at 1M.
                let summed = self.rollup.value_columns(self.sums).iter().map(|c| format!("s.{c}")).collect::<Vec<_>>();
                let mut all = Select::new(&format!(
                    "SELECT s.agent_id, a.name AS agent_name, {} FROM (SELECT r.agent_id AS agent_id, {} FROM {table} r",
                    summed.join(", "),
                    self.rollup.sums("r.", self.sums, self.postgres)
                ));
                self.conditions(&mut all, "r.", Some(range));
                let tail = "GROUP BY r.agent_id) s LEFT JOIN agents a ON a.id = s.agent_id".to_string();
                out.push((all, tail, columns(&["agent_id", "agent_name"]), sign));
                continue;
            }
            let mut keys = self.group_by.to_vec();
            if matches!(self.time, TimeMode::Series(_)) {
                keys.push("period");
            }
            let select = keys.join(", ");
            let sums = self.rollup.sums("", self.sums, self.postgres);
            let selected = if select.is_empty() { sums } else { format!("{select}, {sums}") };
            let mut q = Select::new(&format!("SELECT {selected} FROM {table}"));
            self.conditions(&mut q, "", Some(range));
            let tail = if select.is_empty() { String::new() } else { format!("GROUP BY {select}") };
            out.push((q, tail, columns(&keys), sign));
        }
        out
    }
}

/// One group of summed rollup rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RollupRow {
    /// The values of the grouping columns, in order ('' for none).
    pub key: Vec<String>,
    /// The bucket's first day, for a time series.
    pub bucket: Option<i64>,
    pub sums: ScoreSums,
    pub outcomes: OutcomeSums,
    pub criterion: CriterionSums,
    /// Σ CSAT over the evaluations with one (agent rollup only; the segment rollup has pairs).
    pub csat_sum: f64,
    /// The agent's name, when the agent rollup is summed per agent (read in the same query).
    pub name: Option<String>,
    /// The previous period's IQS sums, when a walk reads both periods (internal to
    /// [`Store::rollup_sums_compared`]).
    previous: ScoreSums,
}

impl RollupRow {
    /// Whether the row counts anything in its period (`Sums::Iqs` reads no evaluation count; a
    /// group with nothing scored shows no IQS either way).
    fn counts_any(&self) -> bool {
        let c = &self.criterion;
        self.sums.evaluations != 0 || self.sums.scored != 0 || c.answered != 0 || c.not_applicable != 0
    }

    fn add(&mut self, o: &RollupRow) {
        self.sums.add(&o.sums);
        self.outcomes.add(&o.outcomes);
        self.criterion.add(&o.criterion);
        self.csat_sum += o.csat_sum;
        self.previous.add(&o.previous);
    }
}

/// How time enters a rollup query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeMode {
    /// One total over the range.
    Total,
    /// One row per bucket: days and weeks come from day rows, months from month rows.
    Series(Interval),
}

/// One row of the IQS report.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IqsRow {
    /// The agent, team, vendor, scorecard, group or criterion id, or the channel; absent for
    /// evaluations without one.
    pub id: Option<String>,
    pub name: String,
    /// Evaluations counted (for a criterion or group: answers that are not N/A).
    pub evaluations: i64,
    /// 100 * Σ earned / Σ possible (the IQS guide's formula).
    pub iqs: Option<f64>,
    /// 95% interval of the IQS (delta method for a ratio; absent below 5 scored evaluations
    /// and for criteria and groups).
    pub ci95: Option<[f64; 2]>,
    /// The plain mean of evaluation scores (Zendesk QA's definition); absent for criteria and
    /// groups.
    pub mean_score: Option<f64>,
    pub band: Option<Band>,
    /// Share of evaluations failed on a critical criterion (for criteria and groups: share of
    /// answers with a fail outcome).
    pub fail_rate: Option<f64>,
    /// For criteria and groups: answers marked N/A.
    pub not_applicable: Option<i64>,
    /// IQS over the previous period of the same length (when the range has both ends).
    pub previous_iqs: Option<f64>,
    /// iqs - previous_iqs, in points.
    pub change: Option<f64>,
}

impl Store {
    /// Sums rollup rows of the workspace over `[from_day, to_day)`, grouped by `group_by`
    /// (columns of the rollup), with the filters and the viewer's vendor scope. Filters a rollup
    /// does not have are refused with the field named. `sums` says which: the sums it leaves out
    /// stay zero (fewer sums are less work: a third for the segment rollup's scores only).
    #[allow(clippy::too_many_arguments)]
    pub async fn rollup_sums(
        &self,
        sums: Sums,
        workspace: WorkspaceId,
        scope: VendorScope,
        rollup: Rollup,
        group_by: &[&str],
        filter: &IqsFilter,
        days: (i64, i64),
        time: TimeMode,
    ) -> Result<Vec<RollupRow>> {
        let postgres = self.backend() == Backend::Postgres;
        let read = RollupRead {
            sums,
            workspace,
            scope,
            rollup,
            group_by,
            filter,
            days,
            time,
            agents: None,
            postgres,
            previous: None,
        };
        self.read_rollup(read).await
    }

    /// [`Store::rollup_sums`] over `days` (a total), and the IQS sums (`Sums::Iqs`) of the same
    /// groups over `previous` (for a change since then): two lists. SQLite reads a per-agent
    /// report's two periods in one walk over the agents (at 1M the leaderboard's two walks side
    /// by side took ~120 ms on 2 cores); otherwise the two reads run side by side.
    #[allow(clippy::too_many_arguments)]
    pub async fn rollup_sums_compared(
        &self,
        sums: Sums,
        workspace: WorkspaceId,
        scope: VendorScope,
        rollup: Rollup,
        group_by: &[&str],
        filter: &IqsFilter,
        days: (i64, i64),
        previous: (i64, i64),
    ) -> Result<(Vec<RollupRow>, Vec<RollupRow>)> {
        let postgres = self.backend() == Backend::Postgres;
        let time = TimeMode::Total;
        let read = RollupRead {
            sums,
            workspace,
            scope,
            rollup,
            group_by,
            filter,
            days,
            time,
            agents: None,
            postgres,
            previous: Some(previous),
        };
        if !read.walks_agents() || days.0 >= days.1 || previous.0 >= previous.1 {
            return tokio::try_join!(
                self.rollup_sums(sums, workspace, scope, rollup, group_by, filter, days, time),
                self.rollup_sums(Sums::Iqs, workspace, scope, rollup, group_by, filter, previous, time),
            );
        }
        let rows = self.read_rollup(read).await?;
        let earlier = rows
            .iter()
            .filter(|r| r.previous.scored != 0)
            .map(|r| RollupRow { key: r.key.clone(), name: r.name.clone(), sums: r.previous, ..Default::default() })
            .collect();
        let current = rows.into_iter().filter(RollupRow::counts_any).collect();
        Ok((current, earlier))
    }

    /// The agent rollup with outcomes summed per agent over `days`, every agent.
    pub(crate) async fn every_agent_outcomes(
        &self,
        workspace: WorkspaceId,
        scope: VendorScope,
        filter: &IqsFilter,
        days: (i64, i64),
    ) -> Result<Vec<RollupRow>> {
        let (agent, total) = (Rollup::Agent, TimeMode::Total);
        self.rollup_sums(Sums::Outcomes, workspace, scope, agent, &["agent_id"], filter, days, total).await
    }

    /// The agent rollup with outcomes summed per agent over `days`, for the given agents only:
    /// on SQLite a report about a few hundred agents (self-assessment) then seeks their rows
    /// instead of every agent's, in chunks of ids (so the bound values stay under the limit).
    pub async fn agent_sums_of(
        &self,
        workspace: WorkspaceId,
        scope: VendorScope,
        filter: &IqsFilter,
        days: (i64, i64),
        agents: &[String],
    ) -> Result<Vec<RollupRow>> {
        if self.backend() == Backend::Postgres {
            // PostgreSQL's rollup key leads with the period, not the agent: an agent list there
            // re-reads the period's rows once per chunk (self-assessment took a second at 1M).
            // One read of every agent, hashed, then kept for the listed ones.
            let every = self.every_agent_outcomes(workspace, scope, filter, days).await?;
            return Ok(only_agents(every, agents.iter().map(String::as_str)));
        }
        let mut out = Vec::with_capacity(agents.len());
        for chunk in agents.chunks(AGENT_IDS_PER_QUERY) {
            let read = RollupRead {
                sums: Sums::Outcomes,
                workspace,
                scope,
                rollup: Rollup::Agent,
                group_by: &["agent_id"],
                filter,
                days,
                time: TimeMode::Total,
                agents: Some(chunk),
                postgres: false,
                previous: None,
            };
            out.extend(self.read_rollup(read).await?);
        }
        Ok(out)
    }

    async fn read_rollup(&self, read: RollupRead<'_>) -> Result<Vec<RollupRow>> {
        let RollupRead { rollup, group_by, filter, days: (from_day, to_day), time, .. } = read;
        for (field, column, given) in
            [("agent_id", "agent_id", filter.agent_id.is_some()), ("channel", "channel", filter.channel.is_some())]
        {
            if given && !rollup.has(column) {
                return Err(StoreError::Invalid(vec![FieldError::new(
                    field,
                    "this report cannot be filtered by it; remove the filter or group by something else",
                )]));
            }
        }
        debug_assert!(group_by.iter().all(|c| rollup.has(c)));
        if from_day >= to_day {
            return Ok(Vec::new());
        }
        let postgres = self.backend() == Backend::Postgres;
        // The ranges' queries run side by side, each on its own connection (a 90-day range is
        // three: leftover days, whole months, leftover days).
        let today = crate::now_millis().div_euclid(DAY_MS);
        let (queries, signs): (Vec<_>, Vec<_>) =
            read.queries(today).into_iter().map(|(q, tail, columns, sign)| ((q, tail, columns), sign)).unzip();
        let packs = sql::fetch_packed_side_by_side(self.pool(), postgres, queries).await?;
        // Rows summed to nothing can come from ranges taken away, or from a previous period read
        // in the same walk.
        let subtracted = read.previous.is_some() || read.ranges(today).iter().any(|(_, sign)| *sign < 0.0);
        let mut out: Vec<RollupRow> = Vec::with_capacity(packs.iter().map(|p| p.len()).sum());
        let mut index: HashMap<(Vec<String>, Option<i64>), usize> = HashMap::new();
        let f = |row: &Signed<sql::PackedRow>, c: &str| row.float_or_zero(c);
        let mut add = |item: RollupRow| match index.get(&(item.key.clone(), item.bucket)) {
            // Rows of the same group and bucket (a month row and day rows of one week, or
            // several days of one week) add up.
            Some(&i) => out[i].add(&item),
            None => {
                index.insert((item.key.clone(), item.bucket), out.len());
                out.push(item);
            }
        };
        for (row, sign) in packs.iter().zip(&signs).flat_map(|(p, sign)| p.iter().map(move |row| (row, *sign))) {
            let row = &Signed(&row, sign);
            let bucket = match time {
                TimeMode::Series(interval) => Some(interval.bucket(f(row, "period")? as i64)),
                TimeMode::Total => None,
            };
            if rollup == Rollup::Criterion {
                let sums = row.opt_text("sums")?.unwrap_or_default();
                for (criterion, s) in crate::rollups::decode_criteria(&sums)? {
                    let key = group_by
                        .iter()
                        .map(|&c| match c {
                            "criterion_id" => Ok(criterion.to_string()),
                            c => row.opt_text(c).map(Option::unwrap_or_default),
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let criterion = CriterionSums {
                        answered: s.answered * sign as i64,
                        not_applicable: s.not_applicable * sign as i64,
                        failed: s.failed * sign as i64,
                        earned: s.earned * sign,
                        possible: s.possible * sign,
                    };
                    add(RollupRow { key, bucket, criterion, ..Default::default() });
                }
                continue;
            }
            let key =
                group_by.iter().map(|c| row.opt_text(c).map(Option::unwrap_or_default)).collect::<Result<Vec<_>>>()?;
            let name = if row.0.has("agent_name") { row.opt_text("agent_name")? } else { None };
            let mut item = RollupRow { key, bucket, name, ..Default::default() };
            if read.previous.is_some() {
                item.previous = ScoreSums {
                    scored: f(row, "prev_scored")? as i64,
                    earned: f(row, "prev_earned")?,
                    possible: f(row, "prev_possible")?,
                    ..Default::default()
                };
            }
            item.sums = score_sums_of(row, rollup.value_columns(read.sums))?;
            if read.sums == Sums::Outcomes {
                item.outcomes.fcr_n = f(row, "fcr_n")? as i64;
                item.outcomes.fcr_yes = f(row, "fcr_yes")? as i64;
                item.outcomes.handle_n = f(row, "handle_n")? as i64;
                item.outcomes.handle_sum = f(row, "handle_sum")?;
                if rollup == Rollup::Agent {
                    item.outcomes.csat.n = f(row, "csat_n")? as i64;
                    item.csat_sum = f(row, "csat_sum")?;
                } else {
                    for (prefix, pair) in [("csat", &mut item.outcomes.csat), ("nps", &mut item.outcomes.nps)] {
                        *pair = PairSums {
                            n: f(row, &format!("{prefix}_n"))? as i64,
                            x: f(row, &format!("{prefix}_x"))?,
                            y: f(row, &format!("{prefix}_y"))?,
                            xx: f(row, &format!("{prefix}_xx"))?,
                            yy: f(row, &format!("{prefix}_yy"))?,
                            xy: f(row, &format!("{prefix}_xy"))?,
                        };
                    }
                    item.csat_sum = item.outcomes.csat.y;
                }
            }
            add(item);
        }
        if subtracted {
            // A group whose rows were all taken away again (evaluated only on days the range
            // leaves out) is not in the range, unless the previous period has it.
            out.retain(|r| r.counts_any() || r.previous.scored != 0);
        }
        Ok(out)
    }

    /// IQS of submitted reviews and published calibrated results, grouped, with the interval,
    /// band and, when the range has both ends, the change from the previous period of the same
    /// length.
    pub async fn iqs_report(
        &self,
        workspace: WorkspaceId,
        scope: VendorScope,
        grouping: IqsGrouping,
        filter: &IqsFilter,
        bands: &Bands,
    ) -> Result<Vec<IqsRow>> {
        let today = crate::now_millis().div_euclid(DAY_MS);
        let (from, to) = filter.days(today);
        // The period, the previous one and the names are read side by side, each on its own
        // connection.
        let compared = filter.from.is_some() && filter.to.is_some() && from < to;
        let previous_days = ((from - (to - from)).max(0), if compared { from } else { 0 });
        let ((current, previous), names) =
            tokio::try_join!(self.iqs_rows(workspace, scope, grouping, filter, (from, to), previous_days), async {
                // Agents' names come with their rows.
                if grouping == IqsGrouping::Agent {
                    Ok(HashMap::new())
                } else {
                    self.group_names(workspace, grouping).await
                }
            },)?;
        let previous: HashMap<_, _> = previous.into_iter().map(|(k, v, _)| (k, v.iqs())).collect();
        let mut out: Vec<IqsRow> = current
            .into_iter()
            .map(|(key, sums, name)| {
                let iqs = sums.iqs();
                let previous_iqs = previous.get(&key).copied().flatten();
                let name = name
                    .or_else(|| names.get(&key).cloned())
                    .unwrap_or_else(|| if key.is_empty() { "(none)".into() } else { key.clone() });
                IqsRow {
                    id: (!key.is_empty()).then_some(key),
                    name,
                    evaluations: sums.evaluations(),
                    iqs,
                    ci95: sums.ci95(),
                    mean_score: sums.mean_score(),
                    band: iqs.map(|v| bands.classify(v)),
                    fail_rate: sums.fail_rate(),
                    not_applicable: sums.not_applicable(),
                    previous_iqs,
                    change: iqs.zip(previous_iqs).map(|(a, b)| a - b),
                }
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    /// Summed rows per group key for the IQS report: the score sums over `days` and, of the
    /// previous period, only what its IQS needs.
    async fn iqs_rows(
        &self,
        workspace: WorkspaceId,
        scope: VendorScope,
        grouping: IqsGrouping,
        filter: &IqsFilter,
        days: (i64, i64),
        previous: (i64, i64),
    ) -> Result<(Vec<KeyedSums>, Vec<KeyedSums>)> {
        let (rollup, column) = Rollup::for_grouping(grouping);
        let group_by: &[&str] =
            if grouping == IqsGrouping::Group { &["scorecard_id", "criterion_id"] } else { &[column] };
        let (rows, earlier) =
            self.rollup_sums_compared(Sums::Scores, workspace, scope, rollup, group_by, filter, days, previous).await?;
        if grouping != IqsGrouping::Group {
            let keyed = |rows: Vec<RollupRow>| {
                rows.into_iter()
                    .map(|r| {
                        let sums = if rollup == Rollup::Criterion {
                            GroupSums::Criterion(r.criterion)
                        } else {
                            GroupSums::Score(r.sums)
                        };
                        (r.key.into_iter().next().unwrap_or_default(), sums, r.name)
                    })
                    .collect()
            };
            return Ok((keyed(rows), keyed(earlier)));
        }
        // Criteria add up into their group (as the latest version of their scorecard has it).
        let groups = self.criterion_groups(workspace).await?;
        let by_group = |rows: Vec<RollupRow>| {
            let mut by_group: HashMap<String, CriterionSums> = HashMap::new();
            for r in rows {
                let group = groups.get(&r.key[1]).map(|(g, _)| g.clone()).unwrap_or_default();
                by_group.entry(group).or_default().add(&r.criterion);
            }
            by_group.into_iter().map(|(k, v)| (k, GroupSums::Criterion(v), None)).collect()
        };
        Ok((by_group(rows), by_group(earlier)))
    }

    /// Every scorecard version's definition in the workspace, oldest first.
    async fn definitions(
        &self,
        workspace: WorkspaceId,
    ) -> Result<Vec<plumbline_domain::scorecard::ScorecardDefinition>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT definition FROM scorecard_versions WHERE workspace_id = $1 ORDER BY created_at, id")
                .bind(workspace.to_string())
                .fetch_all(self.pool())
                .await?;
        rows.into_iter()
            .map(|(text,)| serde_json::from_str(&text).map_err(|e| StoreError::Database(e.to_string())))
            .collect()
    }

    /// Each criterion's group id ('' for none) and title, from the newest version that has it.
    pub async fn criterion_groups(&self, workspace: WorkspaceId) -> Result<HashMap<String, (String, String)>> {
        let mut out = HashMap::new();
        for definition in self.definitions(workspace).await? {
            for c in &definition.criteria {
                out.insert(c.id.to_string(), (c.group_id.map(|g| g.to_string()).unwrap_or_default(), c.title.clone()));
            }
        }
        Ok(out)
    }

    /// Display names of the groups of a grouping, by id.
    pub async fn group_names(&self, workspace: WorkspaceId, grouping: IqsGrouping) -> Result<HashMap<String, String>> {
        let names_sql = match grouping {
            IqsGrouping::Agent => "SELECT id, name FROM agents WHERE workspace_id = $1",
            IqsGrouping::Team => "SELECT id, name FROM teams WHERE workspace_id = $1",
            IqsGrouping::Vendor => "SELECT id, name FROM vendors WHERE workspace_id = $1",
            IqsGrouping::Scorecard => "SELECT id, name FROM scorecards WHERE workspace_id = $1",
            IqsGrouping::Channel => return Ok(HashMap::new()),
            IqsGrouping::Criterion => {
                return Ok(self
                    .criterion_groups(workspace)
                    .await?
                    .into_iter()
                    .map(|(id, (_, title))| (id, title))
                    .collect());
            }
            IqsGrouping::Group => {
                let mut out: HashMap<String, String> = self
                    .definitions(workspace)
                    .await?
                    .into_iter()
                    .flat_map(|d| d.groups)
                    .map(|g| (g.id.to_string(), g.title))
                    .collect();
                out.insert(String::new(), "(no group)".to_string());
                return Ok(out);
            }
        };
        Ok(sqlx::query_as::<_, (String, String)>(names_sql)
            .bind(workspace.to_string())
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .collect())
    }
}

/// A group's key, its sums and (agents only) its name.
type KeyedSums = (String, GroupSums, Option<String>);

/// Score sums of evaluations, or answer sums of criteria.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GroupSums {
    Score(ScoreSums),
    Criterion(CriterionSums),
}

impl GroupSums {
    pub fn iqs(&self) -> Option<f64> {
        match self {
            GroupSums::Score(s) => s.iqs(),
            GroupSums::Criterion(c) => c.iqs(),
        }
    }
    fn evaluations(&self) -> i64 {
        match self {
            GroupSums::Score(s) => s.evaluations,
            GroupSums::Criterion(c) => c.answered,
        }
    }
    fn ci95(&self) -> Option<[f64; 2]> {
        match self {
            GroupSums::Score(s) => s.iqs_ci95(),
            GroupSums::Criterion(_) => None,
        }
    }
    fn mean_score(&self) -> Option<f64> {
        match self {
            GroupSums::Score(s) => s.mean_score(),
            GroupSums::Criterion(_) => None,
        }
    }
    fn fail_rate(&self) -> Option<f64> {
        match self {
            GroupSums::Score(s) => (s.evaluations > 0).then(|| s.critical_failed as f64 / s.evaluations as f64),
            GroupSums::Criterion(c) => (c.answered > 0).then(|| c.failed as f64 / c.answered as f64),
        }
    }
    fn not_applicable(&self) -> Option<i64> {
        match self {
            GroupSums::Score(_) => None,
            GroupSums::Criterion(c) => Some(c.not_applicable),
        }
    }
}

/// The rows of `rows` (one per agent) whose agent is one of `agents`.
pub(crate) fn only_agents<'a>(rows: Vec<RollupRow>, agents: impl IntoIterator<Item = &'a str>) -> Vec<RollupRow> {
    let listed: std::collections::HashSet<&str> = agents.into_iter().collect();
    rows.into_iter().filter(|r| r.key.first().is_some_and(|a| listed.contains(a.as_str()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many times the ranges count `day`, with their signs.
    fn coverage(ranges: &[SignedRange], day: i64) -> f64 {
        ranges
            .iter()
            .filter(|((grain, from, to), _)| match grain {
                Grain::Month => month_start(day) >= *from && month_start(day) < *to,
                Grain::Day => day >= *from && day < *to,
                Grain::All => true,
            })
            .map(|(_, sign)| sign)
            .sum()
    }

    /// Every day up to today is counted once if the range holds it and not at all otherwise,
    /// for ranges of every length and position around month ends (2024-01-01 is day 19723).
    #[test]
    fn signed_ranges_count_each_day_of_the_range_once() {
        let today = 19_723 + 400;
        for from in (19_723 - 40..19_723 + 420).step_by(3) {
            for length in [1, 2, 5, 27, 28, 30, 31, 45, 62, 90, 91, 200, 400] {
                let to = from + length;
                let ranges = signed_ranges((from, to), today);
                for day in from - 70..(to + 70).min(today + 1) {
                    let expected = if day >= from && day < to { 1.0 } else { 0.0 };
                    assert_eq!(coverage(&ranges, day), expected, "day {day} of [{from}, {to}): {ranges:?}");
                }
                for ((grain, a, b), _) in &ranges {
                    assert!(a < b, "{ranges:?}");
                    if *grain == Grain::Month {
                        assert!(month_start(*a) == *a && month_start(*b) == *b, "{ranges:?}");
                    }
                }
            }
        }
    }

    /// The last 30 days read the month rows and the few days the range leaves out of its first
    /// month; nothing after today.
    #[test]
    fn a_recent_range_reads_month_rows_less_the_days_left_out() {
        // Today 2026-12-06 (day 20793); the range 2026-11-06 to 2026-12-07.
        let ranges = signed_ranges((20_763, 20_794), 20_793);
        let (nov, jan) = (20_758, 20_819);
        assert_eq!(ranges, vec![((Grain::Month, nov, jan), 1.0), ((Grain::Day, nov, 20_763), -1.0)]);
        // A range that covers little of its months reads day rows as before.
        assert_eq!(signed_ranges((20_770, 20_775), 20_793), vec![((Grain::Day, 20_770, 20_775), 1.0)]);
    }
}

#[cfg(all(test, feature = "testing"))]
mod plan_tests {
    use super::{Rollup, RollupRead, Sums, TimeMode, walk_parts};
    use crate::testing::TestDatabase;
    use crate::{Backend, IqsFilter};
    use plumbline_domain::WorkspaceId;
    use plumbline_domain::access::VendorScope;
    use plumbline_domain::time::DAY_MS;
    use sqlx::Row;

    /// SQLite's per-agent walk (a leaderboard: 30 days and the 30 before) reads the agents in
    /// id order from one covering index, groups them as it walks (no sort) and seeks each
    /// agent's rollup rows by key.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_agent_walk_reads_agents_in_id_order_from_an_index() {
        let db = TestDatabase::new(Backend::Sqlite).await;
        let filter = IqsFilter::default();
        let today = crate::now_millis().div_euclid(DAY_MS);
        let read = RollupRead {
            sums: Sums::Interval,
            workspace: WorkspaceId::new(),
            scope: VendorScope::All,
            rollup: Rollup::Agent,
            group_by: &["agent_id"],
            filter: &filter,
            days: (today - 30, today + 1),
            time: TimeMode::Total,
            agents: None,
            postgres: false,
            previous: Some((today - 61, today - 30)),
        };
        let queries = read.queries(today);
        let walks: Vec<_> = queries.iter().filter(|(q, tail, ..)| q.finish(tail).0.contains("FROM agents a")).collect();
        assert_eq!(walks.len(), walk_parts());
        for (q, tail, ..) in walks {
            let (sql, values) = q.finish(tail);
            let mut query = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
            for v in values {
                query = v.bind_to(query);
            }
            let rows = query.fetch_all(db.pool()).await.unwrap();
            let plan = rows.iter().map(|r| r.try_get::<String, _>(3).unwrap()).collect::<Vec<_>>().join("\n");
            assert!(plan.contains("SEARCH a USING COVERING INDEX agents_by_id (workspace_id=?)"), "{plan}");
            assert!(plan.contains("SEARCH r USING PRIMARY KEY (workspace_id=? AND grain=? AND agent_id=?"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }
}
