//! Report rollups (migration 0006): sums of the evaluations that count in IQS by day and by
//! calendar month, kept up to date in the same transaction as each submission, and rebuilt
//! from the evaluations when a database predates them. Reports read these instead of the
//! evaluations (see ARCHITECTURE.md, "Reports at scale").

use crate::sql::{self, AnyQuery, Value};
use crate::{Result, Store, StoreError, now_millis};
use plumbline_domain::conversation::ConversationMetrics;
use plumbline_domain::evaluation::Answer;
use plumbline_domain::reports::{Grain, PairSums, ScoreSums, month_start};
use plumbline_domain::scorecard::ScorecardDefinition;
use plumbline_domain::scoring::{EvaluationScore, criterion_outcomes};
use plumbline_domain::time::DAY_MS;
use plumbline_domain::{EvaluationId, Millis, ScorecardVersionId, WorkspaceId};
use sqlx::AnyConnection;
use std::collections::HashMap;

/// Who graded an evaluation, relative to the conversation's vendor.
pub const GRADER_INTERNAL: &str = "internal";
pub const GRADER_OWN: &str = "own";
pub const GRADER_OTHER: &str = "other";

/// The team of the segment and criterion rows that hold all of a vendor's teams together.
pub const ALL_TEAMS: &str = "*";

/// What one counted evaluation adds to the rollups.
#[derive(Clone, Debug)]
pub struct EvaluationFacts {
    pub workspace_id: String,
    /// Days since 1970-01-01 of the submission (UTC).
    pub day: i64,
    pub vendor_id: String,
    pub team_id: String,
    pub agent_id: String,
    pub scorecard_id: String,
    pub channel: String,
    pub grader_class: &'static str,
    pub score: Option<f64>,
    pub sums: ScoreSums,
    pub metrics: ConversationMetrics,
    /// (criterion id, weight, fraction or None for N/A, failed)
    pub criteria: Vec<(String, f64, Option<f64>, bool)>,
}

/// Where an evaluation was graded and of what: what the facts need beyond the evaluation.
#[derive(Clone, Debug)]
pub struct EvaluationContext {
    pub channel: String,
    pub metrics: ConversationMetrics,
    pub grader_vendor_id: String,
    pub grader_internal: bool,
    pub scorecard_id: String,
}

impl EvaluationContext {
    /// What [`Store::evaluation_context`] reads, from what a caller already holds: the
    /// conversation, the grader's vendor and its kind, and the scorecard.
    pub(crate) fn of(
        conversation: &plumbline_domain::conversation::Conversation,
        grader: crate::GraderVendor,
        scorecard_id: plumbline_domain::ScorecardId,
    ) -> Self {
        EvaluationContext {
            channel: conversation.channel.as_str().to_string(),
            metrics: conversation.metrics.clone(),
            grader_vendor_id: grader.id.to_string(),
            grader_internal: grader.is_internal,
            scorecard_id: scorecard_id.to_string(),
        }
    }
}

/// The parts of an evaluation the facts are made of.
pub struct Counted<'a> {
    pub workspace_id: WorkspaceId,
    pub submitted_at: Millis,
    pub vendor_id: String,
    pub team_id: Option<String>,
    pub agent_id: Option<String>,
    pub score: &'a EvaluationScore,
    pub answers: &'a [Answer],
    pub definition: &'a ScorecardDefinition,
}

impl EvaluationFacts {
    pub fn new(e: Counted<'_>, context: EvaluationContext) -> Self {
        let grader_class = if context.grader_internal {
            GRADER_INTERNAL
        } else if context.grader_vendor_id == e.vendor_id {
            GRADER_OWN
        } else {
            GRADER_OTHER
        };
        let criteria = criterion_outcomes(e.definition, e.answers)
            .into_iter()
            .map(|o| (o.criterion_id.to_string(), o.weight, o.fraction, o.failed))
            .collect();
        EvaluationFacts {
            workspace_id: e.workspace_id.to_string(),
            day: e.submitted_at.div_euclid(DAY_MS),
            vendor_id: e.vendor_id,
            team_id: e.team_id.unwrap_or_default(),
            agent_id: e.agent_id.unwrap_or_default(),
            scorecard_id: context.scorecard_id,
            channel: context.channel,
            grader_class,
            score: e.score.score,
            sums: ScoreSums::one(e.score.score, e.score.earned, e.score.possible, e.score.critical_failed),
            metrics: context.metrics,
            criteria,
        }
    }
}

/// Outcome sums beside the score sums.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct OutcomeSums {
    pub fcr_n: i64,
    pub fcr_yes: i64,
    pub handle_n: i64,
    pub handle_sum: f64,
    /// (IQS score, CSAT) pairs.
    pub csat: PairSums,
    /// (IQS score, NPS) pairs.
    pub nps: PairSums,
}

impl OutcomeSums {
    fn of(score: Option<f64>, m: &ConversationMetrics) -> Self {
        let mut s = OutcomeSums::default();
        if let Some(fcr) = m.fcr {
            s.fcr_n = 1;
            s.fcr_yes = i64::from(fcr);
        }
        if let Some(h) = m.handle_time_seconds {
            s.handle_n = 1;
            s.handle_sum = h as f64;
        }
        if let Some(score) = score {
            if let Some(c) = m.csat {
                s.csat = PairSums::one(score, c as f64);
            }
            if let Some(n) = m.nps {
                s.nps = PairSums::one(score, n as f64);
            }
        }
        s
    }

    fn negated(&self) -> OutcomeSums {
        let pair = |p: &PairSums| PairSums { n: -p.n, x: -p.x, y: -p.y, xx: -p.xx, yy: -p.yy, xy: -p.xy };
        OutcomeSums {
            fcr_n: -self.fcr_n,
            fcr_yes: -self.fcr_yes,
            handle_n: -self.handle_n,
            handle_sum: -self.handle_sum,
            csat: pair(&self.csat),
            nps: pair(&self.nps),
        }
    }

    pub fn add(&mut self, o: &OutcomeSums) {
        self.fcr_n += o.fcr_n;
        self.fcr_yes += o.fcr_yes;
        self.handle_n += o.handle_n;
        self.handle_sum += o.handle_sum;
        self.csat.add(&o.csat);
        self.nps.add(&o.nps);
    }
}

fn negated(s: &ScoreSums) -> ScoreSums {
    ScoreSums {
        evaluations: -s.evaluations,
        scored: -s.scored,
        earned: -s.earned,
        possible: -s.possible,
        earned_sq: -s.earned_sq,
        possible_sq: -s.possible_sq,
        earned_possible: -s.earned_possible,
        score_sum: -s.score_sum,
        score_sq: -s.score_sq,
        critical_failed: -s.critical_failed,
    }
}

/// Records on the evaluation what its conversation contributed to the rollups (see migration
/// 0007), so a later re-import can take exactly that back out.
pub(crate) async fn write_snapshot(
    conn: &mut AnyConnection,
    evaluation: EvaluationId,
    c: &EvaluationContext,
) -> Result<()> {
    let query = sqlx::query(
        "UPDATE evaluations SET rollup_snapshot = $1, rollup_channel = $2, rollup_csat = $3, rollup_nps = $4,
             rollup_fcr = $5, rollup_handle = $6
         WHERE id = $7",
    );
    bind_snapshot(query, Some(c)).bind(evaluation.to_string()).execute(conn).await?;
    Ok(())
}

/// The snapshot columns, in order: `rollup_snapshot`, `rollup_channel`, `rollup_csat`,
/// `rollup_nps`, `rollup_fcr`, `rollup_handle`.
pub(crate) const SNAPSHOT_COLUMNS: &str =
    "rollup_snapshot, rollup_channel, rollup_csat, rollup_nps, rollup_fcr, rollup_handle";

/// Binds the values of [`SNAPSHOT_COLUMNS`] for an evaluation counted with context `c` (all
/// NULL for one that does not count).
pub(crate) fn bind_snapshot<'q>(query: sql::AnyQuery<'q>, c: Option<&EvaluationContext>) -> sql::AnyQuery<'q> {
    query
        .bind(c.map(|_| 1i64))
        .bind(c.map(|c| c.channel.clone()))
        .bind(c.and_then(|c| c.metrics.csat))
        .bind(c.and_then(|c| c.metrics.nps))
        .bind(c.and_then(|c| c.metrics.fcr.map(i64::from)))
        .bind(c.and_then(|c| c.metrics.handle_time_seconds))
}

/// After conversations were re-imported (updated at or after `since`), moves the rollup
/// contributions of their counted evaluations from the outcomes recorded at the time to the
/// conversations' current ones (a late CSAT, a corrected channel), in the caller's transaction.
/// Returns how many evaluations moved.
pub(crate) async fn refresh_outcomes(conn: &mut AnyConnection, workspace: WorkspaceId, since: Millis) -> Result<u64> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT e.id, e.vendor_id, e.team_id, e.agent_id, e.score, e.earned, e.possible, e.critical_failed,
                e.submitted_at, e.rollup_snapshot, e.rollup_channel, e.rollup_csat, e.rollup_nps, e.rollup_fcr,
                e.rollup_handle, c.channel, c.csat, c.nps, c.fcr, c.handle_time_seconds,
                u.vendor_id AS grader_vendor, gv.is_internal AS grader_internal, sv.scorecard_id
         FROM conversations c
         JOIN evaluations e ON e.conversation_id = c.id
         JOIN users u ON u.id = e.reviewer_id
         JOIN vendors gv ON gv.id = u.vendor_id
         JOIN scorecard_versions sv ON sv.id = e.scorecard_version_id
         WHERE c.workspace_id = $1 AND c.updated_at >= $2 AND {COUNTED}"
    )))
    .bind(workspace.to_string())
    .bind(since)
    .fetch_all(&mut *conn)
    .await?;
    let mut batch = RollupBatch::new(workspace);
    let mut moved = Vec::new();
    for row in &rows {
        let current = context_of(row)?;
        if sql::opt_int(row, "rollup_snapshot")?.is_none() {
            tracing::warn!(evaluation = %sql::text(row, "id")?, "an evaluation without its rollup snapshot; rebuild the rollups");
            continue;
        }
        let before = EvaluationContext {
            channel: sql::opt_text(row, "rollup_channel")?.unwrap_or_default(),
            metrics: ConversationMetrics {
                csat: sql::opt_int(row, "rollup_csat")?,
                nps: sql::opt_int(row, "rollup_nps")?,
                fcr: sql::opt_int(row, "rollup_fcr")?.map(|v| v != 0),
                handle_time_seconds: sql::opt_int(row, "rollup_handle")?,
            },
            ..current.clone()
        };
        if before.channel == current.channel && before.metrics == current.metrics {
            continue;
        }
        let score = score_of(row)?;
        let empty = ScorecardDefinition { groups: Vec::new(), criteria: Vec::new() };
        let facts = |context: EvaluationContext| -> Result<EvaluationFacts> {
            Ok(EvaluationFacts::new(
                Counted {
                    workspace_id: workspace,
                    submitted_at: sql::opt_int(row, "submitted_at")?.unwrap_or(0),
                    vendor_id: sql::text(row, "vendor_id")?,
                    team_id: sql::opt_text(row, "team_id")?,
                    agent_id: sql::opt_text(row, "agent_id")?,
                    score: &score,
                    answers: &[],
                    definition: &empty,
                },
                context,
            ))
        };
        batch.remove(&facts(before)?);
        batch.add(&facts(current.clone())?);
        moved.push((sql::id::<EvaluationId>(row, "id")?, current));
    }
    batch.flush(&mut *conn).await?;
    for (id, context) in &moved {
        write_snapshot(&mut *conn, *id, context).await?;
    }
    Ok(moved.len() as u64)
}

/// Per-criterion sums.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CriterionSums {
    pub answered: i64,
    pub not_applicable: i64,
    pub failed: i64,
    pub earned: f64,
    pub possible: f64,
}

impl CriterionSums {
    pub fn add(&mut self, o: &CriterionSums) {
        self.answered += o.answered;
        self.not_applicable += o.not_applicable;
        self.failed += o.failed;
        self.earned += o.earned;
        self.possible += o.possible;
    }

    /// 100 × Σ weight × fraction / Σ weight over answers that are not N/A.
    pub fn iqs(&self) -> Option<f64> {
        (self.possible > 0.0).then(|| 100.0 * self.earned / self.possible)
    }
}

type AgentKey = (i64, i64, String, String, String, String);
type SegmentKey = (i64, i64, String, String, String, String, &'static str);
/// A rollup_criteria row: grain, period, vendor, team, scorecard.
type CriteriaKey = (i64, i64, String, String, String);

/// Each criterion's sums in a rollup_criteria row, by criterion id.
pub(crate) type CriteriaSums = SumMap<String, CriterionSums>;

/// Rollup rows to add, summed in memory first (one evaluation at submission; many in a rebuild).
#[derive(Default)]
pub struct RollupBatch {
    workspace_id: String,
    agent: SumMap<AgentKey, (ScoreSums, OutcomeSums)>,
    segment: SumMap<SegmentKey, (ScoreSums, OutcomeSums)>,
    criterion: SumMap<CriteriaKey, CriteriaSums>,
}

/// A map of rollup sums. Its keys are ids the server made, so the standard hasher's defence
/// against chosen keys buys nothing here, and it was most of the time a submission spent adding
/// its rows to its batch's (in the writers' turn): [`SumHasher`] instead.
type SumMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<SumHasher>>;

/// A fast non-cryptographic hasher (a multiply-rotate mix of 8 bytes at a time).
#[derive(Default, Clone, Copy)]
pub(crate) struct SumHasher(u64);

impl SumHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for SumHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.mix(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
        }
        let mut last = [0u8; 8];
        last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.mix(u64::from_le_bytes(last));
    }

    fn write_u64(&mut self, n: u64) {
        self.mix(n);
    }

    fn write_i64(&mut self, n: i64) {
        self.mix(n as u64);
    }

    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl RollupBatch {
    pub fn new(workspace: WorkspaceId) -> Self {
        RollupBatch { workspace_id: workspace.to_string(), ..Default::default() }
    }

    /// The rows one counted evaluation adds (a submission, a published calibrated result).
    pub fn of_one(e: Counted<'_>, context: EvaluationContext) -> Self {
        let mut batch = RollupBatch::new(e.workspace_id);
        batch.add(&EvaluationFacts::new(e, context));
        batch
    }

    pub fn is_empty(&self) -> bool {
        self.agent.is_empty() && self.segment.is_empty() && self.criterion.is_empty()
    }

    /// Rows held, a criterion's sums in a criteria row counted as one (a rebuild flushes when
    /// this grows).
    pub fn len(&self) -> usize {
        self.agent.len() + self.segment.len() + self.criterion.values().map(|c| c.len()).sum::<usize>()
    }

    pub fn add(&mut self, f: &EvaluationFacts) {
        self.add_signed(f, false);
    }

    /// Takes an evaluation's earlier contribution back out (a re-import changed its
    /// conversation's outcomes).
    pub fn remove(&mut self, f: &EvaluationFacts) {
        self.add_signed(f, true);
    }

    fn add_signed(&mut self, f: &EvaluationFacts, negative: bool) {
        debug_assert_eq!(f.workspace_id, self.workspace_id);
        let mut outcomes = OutcomeSums::of(f.score, &f.metrics);
        let mut sums = f.sums;
        if negative {
            outcomes = outcomes.negated();
            sums = negated(&sums);
        }
        // Sized once: one evaluation adds 3 agent rows, 6 segment rows and 4 criteria rows.
        self.agent.reserve(3);
        self.segment.reserve(6);
        self.criterion.reserve(4);
        let grains = [(Grain::Day, f.day), (Grain::Month, month_start(f.day)), (Grain::All, 0)];
        for (grain, period) in grains {
            let all_time = grain == Grain::All;
            let grain = grain as i64;
            let key =
                (grain, period, f.vendor_id.clone(), f.team_id.clone(), f.agent_id.clone(), f.scorecard_id.clone());
            let entry = self.agent.entry(key).or_default();
            entry.0.add(&sums);
            entry.1.add(&outcomes);
            // Segment and criterion rows are kept per team and once more for all of a vendor's
            // teams together (team ALL_TEAMS), which reports without a team read: a hundred rows
            // a day instead of one per team.
            for team in [f.team_id.as_str(), ALL_TEAMS] {
                let key = (
                    grain,
                    period,
                    f.vendor_id.clone(),
                    team.to_string(),
                    f.channel.clone(),
                    f.scorecard_id.clone(),
                    f.grader_class,
                );
                let entry = self.segment.entry(key).or_default();
                entry.0.add(&sums);
                entry.1.add(&outcomes);
                if negative || all_time {
                    // Criterion sums do not depend on the conversation's outcomes, and have no
                    // all-time rows (a criterion report reads at most a few hundred month rows).
                    continue;
                }
                let key = (grain, period, f.vendor_id.clone(), team.to_string(), f.scorecard_id.clone());
                let row = self.criterion.entry(key).or_default();
                row.reserve(f.criteria.len());
                for (criterion, weight, fraction, failed) in &f.criteria {
                    let one = match fraction {
                        Some(x) => CriterionSums {
                            answered: 1,
                            failed: i64::from(*failed),
                            earned: weight * x,
                            possible: *weight,
                            ..Default::default()
                        },
                        None => CriterionSums { not_applicable: 1, ..Default::default() },
                    };
                    add_criterion(row, criterion, &one);
                }
            }
        }
    }

    /// Makes room for the rows of `writers` more writers like the ones held, so that adding
    /// theirs does not grow the maps (and hash every key again) step by step.
    fn reserve_for(&mut self, writers: usize) {
        self.agent.reserve(self.agent.len() * writers);
        self.segment.reserve(self.segment.len() * writers);
        self.criterion.reserve(self.criterion.len() * writers);
    }

    /// Adds `other`'s rows (of the same workspace) to this batch's.
    fn merge(&mut self, other: RollupBatch) {
        debug_assert_eq!(other.workspace_id, self.workspace_id);
        for (key, (s, o)) in other.agent {
            let entry = self.agent.entry(key).or_default();
            entry.0.add(&s);
            entry.1.add(&o);
        }
        for (key, (s, o)) in other.segment {
            let entry = self.segment.entry(key).or_default();
            entry.0.add(&s);
            entry.1.add(&o);
        }
        for (key, row) in other.criterion {
            match self.criterion.entry(key) {
                std::collections::hash_map::Entry::Occupied(mut held) => add_criteria_sums(held.get_mut(), row),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(row);
                }
            }
        }
    }

    /// Adds the held rows to the tables (upserts that add), in statements of many rows, and
    /// empties the batch.
    pub async fn flush(&mut self, conn: &mut AnyConnection) -> Result<()> {
        let ws = self.workspace_id.clone();
        let positional = crate::sql::positional(conn);
        let agents = upserts(positional, "rollup_agent", AGENT_KEY, AGENT_VALUES, self.agent.drain(), |key, (s, o)| {
            let (grain, period, vendor, team, agent, card) = key;
            let mut row = key_row(&ws, *grain, *period, &[vendor, team, agent, card]);
            push_score(&mut row, s);
            row.extend([
                Value::Int(o.fcr_n),
                Value::Int(o.fcr_yes),
                Value::Int(o.handle_n),
                Value::Float(o.handle_sum),
                Value::Int(o.csat.n),
                Value::Float(o.csat.y),
            ]);
            row
        });
        let segments = self.segment.drain();
        let segments = upserts(positional, "rollup_segment", SEGMENT_KEY, SEGMENT_VALUES, segments, |key, (s, o)| {
            let (grain, period, vendor, team, channel, card, class) = key;
            let mut row = key_row(&ws, *grain, *period, &[vendor, team, channel, card, class]);
            push_score(&mut row, s);
            row.extend([
                Value::Int(o.fcr_n),
                Value::Int(o.fcr_yes),
                Value::Int(o.handle_n),
                Value::Float(o.handle_sum),
            ]);
            for p in [&o.csat, &o.nps] {
                row.extend([
                    Value::Int(p.n),
                    Value::Float(p.x),
                    Value::Float(p.y),
                    Value::Float(p.xx),
                    Value::Float(p.yy),
                    Value::Float(p.xy),
                ]);
            }
            row
        });
        run_pipelined(conn, agents.chain(segments)).await?;
        add_criteria(conn, &ws, std::mem::take(&mut self.criterion)).await
    }
}

/// Rollup rows a write transaction adds when it commits rather than as it goes: the rows of
/// every writer in a SQLite batch are summed first and written once, just before the batch
/// commits (see `write.rs`). Adding commutes, so the order does not matter; only a rebuild,
/// which deletes rows, must come after them (it writes alone: [`crate::Store::write_alone`]).
#[derive(Default)]
pub(crate) struct DeferredRollups(Vec<RollupBatch>);

impl std::fmt::Debug for DeferredRollups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeferredRollups({} rows)", self.0.iter().map(RollupBatch::len).sum::<usize>())
    }
}

impl DeferredRollups {
    pub fn add(&mut self, batch: RollupBatch) {
        match self.0.iter_mut().find(|held| held.workspace_id == batch.workspace_id) {
            Some(held) => held.merge(batch),
            None => self.0.push(batch),
        }
    }

    pub fn append(&mut self, other: DeferredRollups) {
        for batch in other.0 {
            self.add(batch);
        }
    }

    /// Makes room for the rows of `writers` more writers like the ones held (a SQLite batch
    /// that has taken its first writer's).
    pub fn reserve_for(&mut self, writers: usize) {
        for batch in &mut self.0 {
            batch.reserve_for(writers);
        }
    }

    /// Writes the held rows and empties the collection.
    pub async fn flush(&mut self, conn: &mut AnyConnection) -> Result<()> {
        for mut batch in std::mem::take(&mut self.0) {
            batch.flush(&mut *conn).await?;
        }
        Ok(())
    }
}

/// The columns every rollup row starts with: workspace, grain, period, then the rollup's own
/// key columns.
pub(crate) fn key_row(workspace: &str, grain: i64, period: i64, rest: &[&str]) -> Vec<Value> {
    let mut row = vec![Value::Text(workspace.to_string()), Value::Int(grain), Value::Int(period)];
    row.extend(rest.iter().map(|v| Value::Text(v.to_string())));
    row
}

/// Adds `rows` to a rollup table (upserts that add), in statements of many rows: see
/// [`upserts`].
pub(crate) async fn upsert_sorted<K: Ord, V>(
    conn: &mut AnyConnection,
    table: &'static str,
    key: &'static [&'static str],
    values: &'static [&'static str],
    rows: impl IntoIterator<Item = (K, V)>,
    to_row: impl Fn(&K, &V) -> Vec<Value>,
) -> Result<()> {
    let positional = crate::sql::positional(conn);
    run_pipelined(conn, upserts(positional, table, key, values, rows, to_row)).await
}

/// The statements that add `rows` to a rollup table (upserts that add), many rows each, built
/// as they are taken. Sorted by key first: concurrent submissions take row locks in one order
/// (PostgreSQL would otherwise abort one of two that touch the same day and month rows the other
/// way round), and SQLite finds rows in key order faster (a batch's rows took 11.4 ms sorted,
/// 12.4 ms unsorted, though the sort is a fifth of the CPU time of building the statements).
pub(crate) fn upserts<K: Ord, V>(
    positional: bool,
    table: &'static str,
    key: &'static [&'static str],
    values: &'static [&'static str],
    rows: impl IntoIterator<Item = (K, V)>,
    to_row: impl Fn(&K, &V) -> Vec<Value>,
) -> impl Iterator<Item = AnyQuery<'static>> {
    let mut rows: Vec<(K, V)> = rows.into_iter().collect();
    // Keys are unique, so an unstable sort gives the one order.
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let statements = rows.len().div_ceil(ROWS_PER_STATEMENT);
    (0..statements).map(move |i| {
        let chunk = &rows[i * ROWS_PER_STATEMENT..rows.len().min((i + 1) * ROWS_PER_STATEMENT)];
        upsert(positional, table, key, values, chunk.iter().map(|(k, v)| to_row(k, v)))
    })
}

/// Runs `statements` one after another, building each while the one before it runs on the
/// database's side (SQLite's thread): building a batch's rollup statements took about 4.6 ms
/// of CPU time, beside about 7 ms of SQLite's, in the turn every writer waits for.
pub(crate) async fn run_pipelined(
    conn: &mut AnyConnection,
    mut statements: impl Iterator<Item = AnyQuery<'static>>,
) -> Result<()> {
    let Some(mut current) = statements.next() else { return Ok(()) };
    loop {
        let (done, next) = tokio::join!(current.execute(&mut *conn), async { statements.next() });
        done?;
        let Some(next) = next else { return Ok(()) };
        current = next;
    }
}

/// Adds `sums` to the criteria of `into`.
fn add_criteria_sums(into: &mut CriteriaSums, sums: CriteriaSums) {
    for (criterion, s) in sums {
        add_criterion(into, &criterion, &s);
    }
}

/// Adds `sums` to one criterion's in `into` (its id copied only when it is new there).
fn add_criterion(into: &mut CriteriaSums, criterion: &str, sums: &CriterionSums) {
    match into.get_mut(criterion) {
        Some(held) => held.add(sums),
        None => {
            into.insert(criterion.to_string(), *sums);
        }
    }
}

/// The text a rollup_criteria row keeps its criteria's sums in (migration 0018): per criterion
/// `id,answered,not_applicable,failed,earned,possible`, `;` between, sorted by id. Numbers are
/// printed as Rust prints them, the shortest text that reads back as the same number.
pub(crate) fn encode_criteria<'a>(sums: impl IntoIterator<Item = (&'a str, &'a CriterionSums)>) -> String {
    use std::fmt::Write;
    let mut sorted: Vec<_> = sums.into_iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut text = String::with_capacity(sorted.len() * 64);
    for (i, (criterion, s)) in sorted.into_iter().enumerate() {
        debug_assert!(!criterion.contains([',', ';']), "criterion ids are UUIDs: {criterion}");
        if i > 0 {
            text.push(';');
        }
        let _ =
            write!(text, "{criterion},{},{},{},{},{}", s.answered, s.not_applicable, s.failed, s.earned, s.possible);
    }
    text
}

/// Reads what [`encode_criteria`] wrote.
pub(crate) fn decode_criteria(text: &str) -> Result<Vec<(&str, CriterionSums)>> {
    let bad = |entry: &str| StoreError::Database(format!("a criteria rollup row holds {entry:?}, not criterion sums"));
    let mut out = Vec::with_capacity(text.len() / 48 + 1);
    for entry in text.split(';').filter(|e| !e.is_empty()) {
        let mut parts = entry.split(',');
        let mut next = || parts.next().ok_or_else(|| bad(entry));
        let criterion = next()?;
        let int = |v: &str| v.parse::<i64>().map_err(|_| bad(entry));
        let float = |v: &str| v.parse::<f64>().map_err(|_| bad(entry));
        let sums = CriterionSums {
            answered: int(next()?)?,
            not_applicable: int(next()?)?,
            failed: int(next()?)?,
            earned: float(next()?)?,
            possible: float(next()?)?,
        };
        if parts.next().is_some() {
            return Err(bad(entry));
        }
        out.push((criterion, sums));
    }
    Ok(out)
}

/// Adds `rows` to rollup_criteria. A row keeps all its criteria's sums in one text, which SQL
/// cannot add to, so the rows are read, added to here and written back whole, inside the
/// writer's transaction: on SQLite no other writer runs in between (one at a time); PostgreSQL
/// first makes sure every row exists and then locks them, in key order as the other rollups'
/// upserts do, so that two writers adding to one row take turns.
async fn add_criteria(
    conn: &mut AnyConnection,
    workspace: &str,
    rows: SumMap<CriteriaKey, CriteriaSums>,
) -> Result<()> {
    let positional = crate::sql::positional(conn);
    let mut rows: Vec<(CriteriaKey, CriteriaSums)> = rows.into_iter().collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let table_key = "workspace_id, grain, period, vendor_id, team_id, scorecard_id";
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let keys: Vec<Vec<Value>> = chunk
            .iter()
            .map(|((grain, period, vendor, team, card), _)| key_row(workspace, *grain, *period, &[vendor, team, card]))
            .collect();
        let with_sums = |sums: &mut dyn FnMut(usize) -> Result<String>| -> Result<Vec<Vec<Value>>> {
            keys.iter()
                .enumerate()
                .map(|(i, key)| Ok(key.iter().cloned().chain([Value::Text(sums(i)?)]).collect()))
                .collect()
        };
        if !positional {
            let mut sql = crate::sql::insert_values(false, "rollup_criteria", CRITERIA_COLUMNS, chunk.len());
            sql.push_str(" ON CONFLICT DO NOTHING");
            bound(sql, with_sums(&mut |_| Ok(String::new()))?).execute(&mut *conn).await?;
        }
        // CROSS JOIN: SQLite keeps the keys as the outer loop and seeks each row by its key (it
        // scanned the table for each key otherwise: 200 ms a statement in a rebuild of 20,000
        // reviews). PostgreSQL locks the rows in key order (SQLite has nothing to lock).
        let lock = if positional {
            ""
        } else {
            " ORDER BY r.grain, r.period, r.vendor_id, r.team_id, r.scorecard_id FOR UPDATE OF r"
        };
        let sql = format!(
            "WITH k ({table_key}) AS (VALUES {})
             SELECT r.grain, r.period, r.vendor_id, r.team_id, r.scorecard_id, r.sums
             FROM k CROSS JOIN rollup_criteria r WHERE r.workspace_id = k.workspace_id AND r.grain = k.grain
                 AND r.period = k.period AND r.vendor_id = k.vendor_id AND r.team_id = k.team_id
                 AND r.scorecard_id = k.scorecard_id{lock}",
            crate::sql::value_rows(positional, CRITERIA_COLUMNS.len() - 1, chunk.len(), 0),
        );
        let mut held: HashMap<CriteriaKey, String> = bound(sql, keys.clone())
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| {
                let key = (
                    sql::int(r, "grain")?,
                    sql::int(r, "period")?,
                    sql::text(r, "vendor_id")?,
                    sql::text(r, "team_id")?,
                    sql::text(r, "scorecard_id")?,
                );
                Ok((key, sql::text(r, "sums")?))
            })
            .collect::<Result<_>>()?;
        let merged = with_sums(&mut |i| {
            let (key, sums) = &chunk[i];
            let mut merged: HashMap<&str, CriterionSums> = sums.iter().map(|(c, s)| (c.as_str(), *s)).collect();
            let before = held.remove(key).unwrap_or_default();
            for (criterion, s) in decode_criteria(&before)? {
                merged.entry(criterion).or_default().add(&s);
            }
            Ok(encode_criteria(merged.iter().map(|(c, s)| (*c, s))))
        })?;
        let mut sql = crate::sql::insert_values(positional, "rollup_criteria", CRITERIA_COLUMNS, chunk.len());
        sql.push_str(&format!(" ON CONFLICT ({table_key}) DO UPDATE SET sums = excluded.sums"));
        bound(sql, merged).execute(&mut *conn).await?;
    }
    Ok(())
}

/// `sql` with the values of `rows` bound, row after row.
fn bound(sql: String, rows: impl IntoIterator<Item = Vec<Value>>) -> AnyQuery<'static> {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for v in rows.into_iter().flatten() {
        query = v.bind_to(query);
    }
    query
}

/// Rows per INSERT: well under SQLite's and PostgreSQL's limits on bound values (38 × 200).
const ROWS_PER_STATEMENT: usize = 200;

const AGENT_KEY: &[&str] = &["workspace_id", "grain", "period", "vendor_id", "team_id", "agent_id", "scorecard_id"];
const SEGMENT_KEY: &[&str] =
    &["workspace_id", "grain", "period", "vendor_id", "team_id", "channel", "scorecard_id", "grader_class"];
const CRITERIA_COLUMNS: &[&str] = &["workspace_id", "grain", "period", "vendor_id", "team_id", "scorecard_id", "sums"];

/// The agent rollup's primary key on SQLite (`Store::sqlite_layout`).
const SQLITE_AGENT_KEY: &str = "PRIMARY KEY (workspace_id, grain, agent_id, period, scorecard_id, vendor_id, team_id)";

/// Earlier keys of the agent rollup: the portable one of migration 0006 (which PostgreSQL
/// keeps) and SQLite's agent-first one.
const OLD_AGENT_KEYS: [&str; 2] = [
    "PRIMARY KEY (workspace_id, grain, period, vendor_id, team_id, agent_id, scorecard_id)",
    "PRIMARY KEY (workspace_id, agent_id, grain, period, scorecard_id, vendor_id, team_id)",
];

/// The rollups SQLite keeps WITHOUT ROWID (`Store::sqlite_layout`): table, primary key, and
/// the older keys it converts from (a rowid table with the same key is converted too).
const SQLITE_LAYOUTS: [(&str, &str, &[&str]); 2] = [
    ("rollup_agent", SQLITE_AGENT_KEY, &OLD_AGENT_KEYS),
    (
        "rollup_segment",
        "PRIMARY KEY (workspace_id, grain, period, vendor_id, team_id, channel, scorecard_id, grader_class)",
        &[],
    ),
];

pub(crate) const AGENT_VALUES: &[&str] = &[
    "evaluations",
    "scored",
    "earned",
    "possible",
    "earned_sq",
    "possible_sq",
    "earned_possible",
    "score_sum",
    "score_sq",
    "critical_failed",
    "fcr_n",
    "fcr_yes",
    "handle_n",
    "handle_sum",
    "csat_n",
    "csat_sum",
];
pub(crate) const SEGMENT_VALUES: &[&str] = &[
    "evaluations",
    "scored",
    "earned",
    "possible",
    "earned_sq",
    "possible_sq",
    "earned_possible",
    "score_sum",
    "score_sq",
    "critical_failed",
    "fcr_n",
    "fcr_yes",
    "handle_n",
    "handle_sum",
    "csat_n",
    "csat_x",
    "csat_y",
    "csat_xx",
    "csat_yy",
    "csat_xy",
    "nps_n",
    "nps_x",
    "nps_y",
    "nps_xx",
    "nps_yy",
    "nps_xy",
];

fn push_score(row: &mut Vec<Value>, s: &ScoreSums) {
    row.extend([
        Value::Int(s.evaluations),
        Value::Int(s.scored),
        Value::Float(s.earned),
        Value::Float(s.possible),
        Value::Float(s.earned_sq),
        Value::Float(s.possible_sq),
        Value::Float(s.earned_possible),
        Value::Float(s.score_sum),
        Value::Float(s.score_sq),
        Value::Int(s.critical_failed),
    ]);
}

/// The score sums of a row that holds `columns` of them (the rest stay zero: a read of fewer
/// sums is less work).
pub(crate) fn score_sums_of(row: &impl sql::Columns, columns: &[&str]) -> Result<ScoreSums> {
    let f = |c: &str| if columns.contains(&c) { row.float_or_zero(c) } else { Ok(0.0) };
    Ok(ScoreSums {
        evaluations: f("evaluations")? as i64,
        scored: f("scored")? as i64,
        earned: f("earned")?,
        possible: f("possible")?,
        earned_sq: f("earned_sq")?,
        possible_sq: f("possible_sq")?,
        earned_possible: f("earned_possible")?,
        score_sum: f("score_sum")?,
        score_sq: f("score_sq")?,
        critical_failed: f("critical_failed")? as i64,
    })
}

fn upsert(
    positional: bool,
    table: &str,
    key: &[&str],
    values: &[&str],
    rows: impl ExactSizeIterator<Item = Vec<Value>>,
) -> AnyQuery<'static> {
    let columns: Vec<&str> = key.iter().chain(values).copied().collect();
    let mut sql = crate::sql::insert_values(positional, table, &columns, rows.len());
    sql.push_str(&format!(" ON CONFLICT ({}) DO UPDATE SET ", key.join(", ")));
    sql.push_str(&values.iter().map(|c| format!("{c} = {table}.{c} + excluded.{c}")).collect::<Vec<_>>().join(", "));
    bound(sql, rows.inspect(|row| debug_assert_eq!(row.len(), columns.len())))
}

/// [`COUNTED`] of workspace `$1`, written so that no index serves it: a rebuild pages through
/// the evaluations in id order, and with an index on these columns SQLite read every counted
/// evaluation and sorted them for each page of 500 (quadratic at a million).
const UNINDEXED_COUNTED: &str = "e.workspace_id || '' = $1 AND e.status || '' = 'submitted'
    AND e.kind || '' IN ('review', 'calibrated') AND COALESCE(e.calibration_session_id, '') = ''";

/// The evaluations that count in IQS: submitted reviews and published calibrated results,
/// never a hidden calibration task.
pub(crate) const COUNTED: &str =
    "e.status = 'submitted' AND e.kind IN ('review', 'calibrated') AND e.calibration_session_id IS NULL";

impl Store {
    /// What an evaluation's facts need beyond the evaluation: its conversation's channel and
    /// outcomes, who graded it, and the scorecard.
    pub(crate) async fn evaluation_context(
        &self,
        conversation_id: &str,
        reviewer_id: &str,
        version_id: ScorecardVersionId,
    ) -> Result<EvaluationContext> {
        let row = sqlx::query(
            "SELECT c.channel, c.csat, c.nps, c.fcr, c.handle_time_seconds, u.vendor_id AS grader_vendor,
                    gv.is_internal AS grader_internal, sv.scorecard_id
             FROM conversations c, users u, vendors gv, scorecard_versions sv
             WHERE c.id = $1 AND u.id = $2 AND gv.id = u.vendor_id AND sv.id = $3",
        )
        .bind(conversation_id)
        .bind(reviewer_id)
        .bind(version_id.to_string())
        .fetch_one(self.pool())
        .await?;
        context_of(&row)
    }

    /// Recomputes a workspace's rollups (the self-assessment pairs' too) from its evaluations, in
    /// one transaction, and marks them built. Used on start for a database that predates the rollups, by the demo after it
    /// backdates its history, and by `plumbline reports rebuild`. Returns the evaluations counted.
    pub async fn rebuild_rollups(&self, workspace: WorkspaceId) -> Result<u64> {
        let ws = workspace.to_string();
        let mut tx = self.write_alone().await?;
        // Alone, so the rows deferred by the writers before it were written (and committed)
        // before its deletes, not on top of the rebuilt ones, which already count them.
        for table in [
            "rollup_agent",
            "rollup_segment",
            "rollup_criteria",
            "rollup_self",
            "rollup_self_criterion",
            "rollup_state",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE workspace_id = $1")))
                .bind(&ws)
                .execute(&mut *tx)
                .await?;
        }
        let mut batch = RollupBatch::new(workspace);
        let mut definitions: HashMap<String, ScorecardDefinition> = HashMap::new();
        let mut after = String::new();
        let mut counted = 0u64;
        loop {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT e.id, e.scorecard_version_id, e.vendor_id, e.team_id, e.agent_id, e.score, e.earned, e.possible,
                        e.critical_failed, e.submitted_at, c.channel, c.csat, c.nps, c.fcr, c.handle_time_seconds,
                        u.vendor_id AS grader_vendor, gv.is_internal AS grader_internal, sv.scorecard_id
                 FROM evaluations e
                 JOIN conversations c ON c.id = e.conversation_id
                 JOIN users u ON u.id = e.reviewer_id
                 JOIN vendors gv ON gv.id = u.vendor_id
                 JOIN scorecard_versions sv ON sv.id = e.scorecard_version_id
                 WHERE e.id > $2 AND {UNINDEXED_COUNTED}
                 ORDER BY e.id LIMIT 500"
            )))
            .bind(&ws)
            .bind(&after)
            .fetch_all(&mut *tx)
            .await?;
            let Some(last) = rows.last() else { break };
            after = sql::text(last, "id")?;
            let ids: Vec<EvaluationId> = rows.iter().map(|r| sql::id(r, "id")).collect::<Result<_>>()?;
            let answers = crate::evaluations::answers_in(&mut tx, &ids).await?;
            for (row, answers) in rows.iter().zip(answers) {
                let version = sql::text(row, "scorecard_version_id")?;
                if !definitions.contains_key(&version) {
                    let definition = definition_in(&mut tx, &version).await?;
                    definitions.insert(version.clone(), definition);
                }
                let score = score_of(row)?;
                let facts = EvaluationFacts::new(
                    Counted {
                        workspace_id: workspace,
                        submitted_at: sql::opt_int(row, "submitted_at")?.unwrap_or(0),
                        vendor_id: sql::text(row, "vendor_id")?,
                        team_id: sql::opt_text(row, "team_id")?,
                        agent_id: sql::opt_text(row, "agent_id")?,
                        score: &score,
                        answers: &answers,
                        definition: &definitions[&version],
                    },
                    context_of(row)?,
                );
                batch.add(&facts);
                counted += 1;
            }
            if batch.len() > 50_000 {
                batch.flush(&mut tx).await?;
            }
        }
        batch.flush(&mut tx).await?;
        crate::self_assessment::rebuild(&mut tx, workspace).await?;
        // What each counted evaluation contributed, for later re-imports (migration 0007).
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE evaluations SET rollup_snapshot = 1,
                 rollup_channel = (SELECT c.channel FROM conversations c WHERE c.id = evaluations.conversation_id),
                 rollup_csat = (SELECT c.csat FROM conversations c WHERE c.id = evaluations.conversation_id),
                 rollup_nps = (SELECT c.nps FROM conversations c WHERE c.id = evaluations.conversation_id),
                 rollup_fcr = (SELECT c.fcr FROM conversations c WHERE c.id = evaluations.conversation_id),
                 rollup_handle = (SELECT c.handle_time_seconds FROM conversations c WHERE c.id = evaluations.conversation_id)
             WHERE workspace_id = $1 AND {}",
            COUNTED.replace("e.", "")
        )))
        .bind(&ws)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO rollup_state (workspace_id, built_at) VALUES ($1, $2)")
            .bind(&ws)
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(counted)
    }

    /// SQLite only: keeps the rollups as WITHOUT ROWID tables ([`SQLITE_LAYOUTS`]), whose rows
    /// live in their key's B-tree: a range read walks the rows themselves instead of the key
    /// index plus a lookup per row, and an upsert changes one B-tree instead of two. The agent
    /// rollup is keyed by grain, then agent ([`SQLITE_AGENT_KEY`]), so a report per agent reads
    /// each agent's rows side by side (see `RollupRead::queries`), and the month and all-time
    /// rows of every agent lie together instead of between each agent's day rows: a quarter
    /// per agent read 38 ms at 1M reviews keyed agent first, 22 ms keyed grain first; all time
    /// 25 and 13 ms (with the portable key, period first, SQLite sorted every row of the range
    /// to group it). Converts a table in an older layout in place, keeping its rows.
    /// PostgreSQL keeps the portable layout and groups by hashing.
    pub(crate) async fn sqlite_layout(&self) -> Result<()> {
        if self.backend() != crate::Backend::Sqlite {
            return Ok(());
        }
        for (table, key, older) in SQLITE_LAYOUTS {
            let created: String =
                sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1")
                    .bind(table)
                    .fetch_one(self.pool())
                    .await?;
            if created.contains(key) && created.contains("WITHOUT ROWID") {
                continue;
            }
            let Some(old_key) = std::iter::once(&key).chain(older).find(|k| created.contains(**k)) else {
                return Err(crate::StoreError::Database(format!("{table} has an unexpected layout: {created}")));
            };
            // The column definitions as they stand (SQLite keeps the CREATE statement, quoted or
            // not).
            let columns = &created[created.find('(').unwrap_or(0)..];
            let columns = columns.replace(old_key, key).replace(" WITHOUT ROWID", "");
            let create = format!("CREATE TABLE {table}_converted {columns} WITHOUT ROWID");
            let key_columns = &key["PRIMARY KEY (".len()..key.len() - 1];
            // Copied in key order, so the new table's pages are filled as it is built.
            let copy = format!("INSERT INTO {table}_converted SELECT * FROM {table} ORDER BY {key_columns}");
            let drop = format!("DROP TABLE {table}");
            let rename = format!("ALTER TABLE {table}_converted RENAME TO {table}");
            let mut tx = self.write_alone().await?;
            for statement in [&create, &copy, &drop, &rename] {
                sqlx::query(sqlx::AssertSqlSafe(statement.as_str())).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            tracing::info!(table, "rollup table converted to SQLite's layout");
        }
        Ok(())
    }

    /// Builds the rollups of every workspace that has none yet (a database from before them).
    pub async fn ensure_rollups(&self) -> Result<()> {
        let missing: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM workspaces WHERE id NOT IN (SELECT workspace_id FROM rollup_state) ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        for id in missing {
            let workspace: WorkspaceId = id.parse().map_err(|_| crate::StoreError::Database(format!("bad id {id}")))?;
            // After an upgrade that changes the rollups, every workspace is rebuilt here, before
            // the server answers: about a minute per 200,000 reviews on a 2-core machine.
            tracing::info!(workspace = %id, "building the report rollups from the evaluations");
            let counted = self.rebuild_rollups(workspace).await?;
            tracing::info!(workspace = %id, counted, "report rollups built");
        }
        Ok(())
    }
}

/// A scorecard version's definition, read on `conn` (a transaction's or a pool connection).
pub(crate) async fn definition_in(conn: &mut AnyConnection, version: &str) -> Result<ScorecardDefinition> {
    let text: String = sqlx::query_scalar("SELECT definition FROM scorecard_versions WHERE id = $1")
        .bind(version)
        .fetch_one(conn)
        .await?;
    serde_json::from_str(&text).map_err(|e| crate::StoreError::Database(e.to_string()))
}

/// A stored evaluation's score, as the rollups count it.
fn score_of(row: &sqlx::any::AnyRow) -> Result<EvaluationScore> {
    Ok(EvaluationScore {
        score: sql::opt_float(row, "score")?,
        earned: sql::opt_float(row, "earned")?.unwrap_or(0.0),
        possible: sql::opt_float(row, "possible")?.unwrap_or(0.0),
        critical_failed: sql::opt_int(row, "critical_failed")?.unwrap_or(0) != 0,
        critical_failures: Vec::new(),
    })
}

fn context_of(row: &sqlx::any::AnyRow) -> Result<EvaluationContext> {
    Ok(EvaluationContext {
        channel: sql::text(row, "channel")?,
        metrics: ConversationMetrics {
            csat: sql::opt_int(row, "csat")?,
            nps: sql::opt_int(row, "nps")?,
            fcr: sql::opt_int(row, "fcr")?.map(|v| v != 0),
            handle_time_seconds: sql::opt_int(row, "handle_time_seconds")?,
        },
        grader_vendor_id: sql::text(row, "grader_vendor")?,
        grader_internal: sql::flag(row, "grader_internal")?,
        scorecard_id: sql::text(row, "scorecard_id")?,
    })
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use crate::Backend;
    use crate::testing::TestDatabase;
    use sqlx::Executor;

    /// A criteria row's text reads back exactly: every double as it was, criteria sorted by id;
    /// a text that is not criterion sums is refused with the entry named.
    #[test]
    fn criteria_sums_read_back_exactly() {
        let sums = [
            (
                "b",
                super::CriterionSums { answered: 3, not_applicable: 1, failed: 2, earned: 0.1 + 0.2, possible: 1e-7 },
            ),
            (
                "a",
                super::CriterionSums {
                    answered: 1 << 40,
                    not_applicable: 0,
                    failed: 0,
                    earned: 1.0 / 3.0,
                    possible: 6e22,
                },
            ),
        ];
        let text = super::encode_criteria(sums.iter().map(|(c, s)| (*c, s)));
        assert!(text.starts_with("a,1099511627776,0,0,"), "{text}");
        let back = super::decode_criteria(&text).unwrap();
        assert_eq!(back, vec![sums[1], sums[0]]);
        assert_eq!(super::decode_criteria("").unwrap(), vec![]);
        for bad in ["a,1,0,0,1.5", "a,1,0,0,1.5,2,9", "a,x,0,0,1,2", "a,1,0,0,1,2;b"] {
            let error = super::decode_criteria(bad).unwrap_err().to_string();
            assert!(error.contains("not criterion sums"), "{bad}: {error}");
        }
    }

    /// A database whose agent rollup has an older layout (the portable one every database made
    /// before the SQLite layout had, or the agent-first one) is converted on the next start,
    /// keeping its rows; the submission upsert then finds its conflict key in the new primary key.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_converts_the_agent_rollup_and_keeps_its_rows() {
        let db = TestDatabase::new(Backend::Sqlite).await;
        let pool = db.store.pool();
        let layout = || async {
            sqlx::query_scalar::<_, String>(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'rollup_agent'",
            )
            .fetch_one(pool)
            .await
            .unwrap()
        };
        let created = layout().await;
        assert!(created.contains(super::SQLITE_AGENT_KEY) && created.contains("WITHOUT ROWID"), "{created}");
        for (table, key, _) in super::SQLITE_LAYOUTS {
            let sql: String = sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1")
                .bind(table)
                .fetch_one(pool)
                .await
                .unwrap();
            assert!(sql.contains(key) && sql.contains("WITHOUT ROWID"), "{sql}");
        }
        let values = vec!["1"; super::AGENT_VALUES.len()].join(", ");
        for (old_key, rowid) in [(super::OLD_AGENT_KEYS[0], true), (super::OLD_AGENT_KEYS[1], false)] {
            let mut old = created.replace(super::SQLITE_AGENT_KEY, old_key);
            if rowid {
                old = old.replace(" WITHOUT ROWID", "");
            }
            let mut conn = pool.acquire().await.unwrap();
            conn.execute(sqlx::AssertSqlSafe(format!(
                "DROP TABLE rollup_agent; {old}; INSERT INTO rollup_agent VALUES ('w', 1, 20454, 'v', 't', 'a', 's', {values})"
            )))
            .await
            .unwrap();
            drop(conn);

            db.store.migrate().await.unwrap();
            let converted = layout().await;
            assert!(
                converted.contains(super::SQLITE_AGENT_KEY) && converted.contains("WITHOUT ROWID"),
                "{old_key}: {converted}"
            );
            let upsert = format!(
                "INSERT INTO rollup_agent VALUES ('w', 1, 20454, 'v', 't', 'a', 's', {values})
                 ON CONFLICT (workspace_id, grain, period, vendor_id, team_id, agent_id, scorecard_id)
                 DO UPDATE SET evaluations = rollup_agent.evaluations + excluded.evaluations"
            );
            pool.execute(sqlx::AssertSqlSafe(upsert)).await.unwrap();
            let kept: (i64, i64) =
                sqlx::query_as("SELECT COUNT(*), SUM(evaluations) FROM rollup_agent").fetch_one(pool).await.unwrap();
            assert_eq!(kept, (1, 2), "{old_key}");
        }
    }

    /// A batch with more rows than one statement takes is written in several, built while the
    /// one before runs; a second batch adds to the same rows instead of adding rows (the
    /// criteria rows too, whose sums are added up here rather than by the database).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_large_batch_is_written_in_several_statements_and_adds_up() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let db = TestDatabase::new(backend).await;
            let ws = plumbline_domain::WorkspaceId::new();
            // 130 days, 3 criteria: criteria rows for each day and month, of the team and of all
            // teams (more than 260), agent and segment rows for each day, month and all time.
            let criteria: Vec<_> = (0..3).map(|i| (format!("c{i}"), 2.0, Some(0.25), i == 0)).collect();
            let facts = |day: i64| super::EvaluationFacts {
                workspace_id: ws.to_string(),
                day,
                vendor_id: "v".into(),
                team_id: "t".into(),
                agent_id: "a".into(),
                scorecard_id: "s".into(),
                channel: "chat".into(),
                grader_class: super::GRADER_INTERNAL,
                score: Some(25.0),
                sums: plumbline_domain::reports::ScoreSums::one(Some(25.0), 1.5, 6.0, false),
                metrics: Default::default(),
                criteria: criteria.clone(),
            };
            let mut conn = db.store.pool().acquire().await.unwrap();
            for _ in 0..2 {
                let mut batch = super::RollupBatch::new(ws);
                for day in 20_000..20_130 {
                    batch.add(&facts(day));
                }
                assert!(batch.criterion.len() > super::ROWS_PER_STATEMENT, "{}", batch.criterion.len());
                batch.flush(&mut conn).await.unwrap();
                assert!(batch.is_empty());
            }
            let rows: Vec<(i64, String)> =
                sqlx::query_as("SELECT grain, sums FROM rollup_criteria").fetch_all(&mut *conn).await.unwrap();
            let day_rows = rows.iter().filter(|(grain, _)| *grain == 0).count();
            assert_eq!(day_rows, 2 * 130, "{backend:?}");
            let mut totals = super::CriterionSums::default();
            for (grain, text) in &rows {
                for (criterion, s) in super::decode_criteria(text).unwrap() {
                    assert!(criterion.starts_with('c'), "{text}");
                    if *grain == 0 {
                        totals.add(&s);
                    }
                }
            }
            // Each day: 3 criteria, twice (the team's row and all teams'), in two batches.
            let expected = super::CriterionSums {
                answered: 130 * 12,
                not_applicable: 0,
                failed: 130 * 4,
                earned: 130.0 * 6.0,
                possible: 130.0 * 24.0,
            };
            assert_eq!(totals, expected, "{backend:?}");
            let (agent_rows, evaluations): (i64, i64) =
                sqlx::query_as("SELECT COUNT(*), CAST(SUM(evaluations) AS BIGINT) FROM rollup_agent WHERE grain = 0")
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap();
            assert_eq!((agent_rows, evaluations), (130, 260), "{backend:?}");
            drop(conn);
            db.store.close().await;
        }
    }
}
