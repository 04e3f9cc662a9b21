//! Bulk loading for generated workspaces (`plumbline generate`, the reports benchmark): rows
//! written straight into the tables with multi-row INSERTs, many per transaction, instead of
//! one store call per row. Nothing here checks what the ordinary operations check (answers
//! against the scorecard, a vendor's teams...): the caller builds rows that are valid.
//!
//! Each [`BulkChunk`] is one transaction: its conversations, its evaluations with their
//! answers, and the rollup rows those evaluations add (the self-assessment pairs among them
//! found by the loader). So the database holds a consistent
//! workspace after every chunk, and the rollups always equal what `rebuild_rollups` computes.

use crate::rollups::RollupBatch;
use crate::sql::BindFloat;
use crate::{Backend, Result, Store, StoreError, now_millis};
use plumbline_domain::conversation::{Channel, ConversationMetrics, Message};
use plumbline_domain::evaluation::{Answer, Choice, EvaluationKind};
use plumbline_domain::org::{Agent, Team};
use plumbline_domain::scoring::EvaluationScore;
use plumbline_domain::{
    AgentId, ConversationId, EvaluationId, Millis, ScorecardVersionId, TeamId, UserId, VendorId, WorkspaceId,
};
use sqlx::AnyConnection;

/// A conversation as the bulk loader writes it (organisation already resolved to ids).
#[derive(Clone, Debug)]
pub struct BulkConversation {
    pub id: ConversationId,
    pub external_id: String,
    pub channel: Channel,
    pub agent_id: Option<AgentId>,
    pub team_id: Option<TeamId>,
    pub vendor_id: VendorId,
    pub started_at: Millis,
    pub subject: String,
    pub transcript: Vec<Message>,
    pub tags: Vec<String>,
    pub metrics: ConversationMetrics,
}

/// A submitted evaluation with its answers and its score (computed by the caller with
/// `plumbline_domain::scoring::score_evaluation`).
#[derive(Clone, Debug)]
pub struct BulkEvaluation {
    pub id: EvaluationId,
    pub conversation_id: ConversationId,
    pub scorecard_version_id: ScorecardVersionId,
    pub reviewer_id: UserId,
    pub kind: EvaluationKind,
    pub vendor_id: VendorId,
    pub team_id: Option<TeamId>,
    pub agent_id: Option<AgentId>,
    pub answers: Vec<Answer>,
    pub overall_feedback: String,
    pub score: EvaluationScore,
    pub created_at: Millis,
    pub submitted_at: Millis,
    pub active_seconds: i64,
    /// For an evaluation that counts in IQS: the channel and outcomes its rollup rows were
    /// built with (migration 0007), so a re-import with a late CSAT can move its contribution.
    pub rollup_snapshot: Option<(Channel, ConversationMetrics)>,
}

/// A user as the bulk loader writes it; the password arrives hashed.
#[derive(Clone, Debug)]
pub struct BulkUser {
    pub id: UserId,
    pub user: crate::NewUser,
}

/// What one bulk transaction writes.
pub struct BulkChunk {
    pub conversations: Vec<BulkConversation>,
    pub evaluations: Vec<BulkEvaluation>,
    /// The rollup rows of the chunk's evaluations that count in IQS (the caller adds each one's
    /// `EvaluationFacts`).
    pub rollups: RollupBatch,
}

/// One sum per value column of each rollup table and grain (`"rollup_agent.0.earned"`...):
/// two workspaces' rollups agree when these agree.
pub type RollupTotals = Vec<(String, f64)>;

/// One bound value.
enum Cell {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    OptFloat(Option<f64>),
}

/// The most values one statement binds: SQLite's default limit is 32,766 and PostgreSQL's
/// protocol allows 65,535.
fn max_values(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 32_766,
        Backend::Postgres => 65_535,
    }
}

/// Writes rows into one table, as many per INSERT as the backend's bound-value limit allows.
/// The SQL text of a full statement is built once per call and reused.
struct TableWriter {
    backend: Backend,
    table: &'static str,
    columns: &'static [&'static str],
    rows_per_statement: usize,
    full_sql: String,
}

impl TableWriter {
    fn new(backend: Backend, table: &'static str, columns: &'static [&'static str]) -> Self {
        let rows_per_statement = max_values(backend) / columns.len();
        TableWriter {
            backend,
            table,
            columns,
            rows_per_statement,
            full_sql: insert_sql(backend, table, columns, rows_per_statement),
        }
    }

    async fn write(&self, conn: &mut AnyConnection, rows: impl IntoIterator<Item = Vec<Cell>>) -> Result<u64> {
        let mut pending: Vec<Vec<Cell>> = Vec::with_capacity(self.rows_per_statement);
        let mut written = 0;
        for row in rows {
            debug_assert_eq!(row.len(), self.columns.len());
            pending.push(row);
            if pending.len() == self.rows_per_statement {
                written += self.execute(conn, std::mem::take(&mut pending)).await?;
            }
        }
        if !pending.is_empty() {
            written += self.execute(conn, pending).await?;
        }
        Ok(written)
    }

    async fn execute(&self, conn: &mut AnyConnection, rows: Vec<Vec<Cell>>) -> Result<u64> {
        let n = rows.len() as u64;
        let sql = if rows.len() == self.rows_per_statement {
            self.full_sql.clone()
        } else {
            insert_sql(self.backend, self.table, self.columns, rows.len())
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for cell in rows.into_iter().flatten() {
            query = match cell {
                Cell::Text(v) => query.bind(v),
                Cell::OptText(v) => query.bind(v),
                Cell::Int(v) => query.bind(v),
                Cell::OptInt(v) => query.bind(v),
                Cell::OptFloat(v) => query.bind_float(v),
            };
        }
        query.execute(conn).await?;
        Ok(n)
    }
}

fn insert_sql(backend: Backend, table: &str, columns: &[&str], rows: usize) -> String {
    crate::sql::insert_values(backend == Backend::Sqlite, table, columns, rows)
}

const TEAM_COLUMNS: &[&str] = &["id", "workspace_id", "vendor_id", "name", "created_at"];
const AGENT_COLUMNS: &[&str] = &["id", "workspace_id", "vendor_id", "team_id", "name", "email", "created_at"];
const USER_COLUMNS: &[&str] =
    &["id", "workspace_id", "vendor_id", "email", "name", "role", "password_hash", "agent_id", "active", "created_at"];
const CONVERSATION_COLUMNS: &[&str] = &[
    "id",
    "workspace_id",
    "external_id",
    "channel",
    "agent_id",
    "team_id",
    "vendor_id",
    "started_at",
    "subject",
    "transcript",
    "tags",
    "csat",
    "nps",
    "fcr",
    "handle_time_seconds",
    "created_at",
    "updated_at",
];
const EVALUATION_COLUMNS: &[&str] = &[
    "id",
    "workspace_id",
    "conversation_id",
    "scorecard_version_id",
    "reviewer_id",
    "kind",
    "status",
    "overall_feedback",
    "vendor_id",
    "team_id",
    "agent_id",
    "score",
    "earned",
    "possible",
    "critical_failed",
    "critical_failures",
    "revision",
    "created_at",
    "updated_at",
    "submitted_at",
    "active_seconds",
    "rollup_snapshot",
    "rollup_channel",
    "rollup_csat",
    "rollup_nps",
    "rollup_fcr",
    "rollup_handle",
];
const ANSWER_COLUMNS: &[&str] = &["evaluation_id", "criterion_id", "position", "option_index", "comment"];

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain values serialise")
}

impl Store {
    /// Adds teams in one transaction.
    pub async fn bulk_insert_teams(&self, workspace: WorkspaceId, teams: &[Team]) -> Result<u64> {
        let (ws, now) = (workspace.to_string(), now_millis());
        let rows = teams.iter().map(|t| {
            vec![
                Cell::Text(t.id.to_string()),
                Cell::Text(ws.clone()),
                Cell::Text(t.vendor_id.to_string()),
                Cell::Text(t.name.clone()),
                Cell::Int(now),
            ]
        });
        let mut tx = self.write_alone().await?;
        let n = TableWriter::new(self.backend(), "teams", TEAM_COLUMNS).write(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Adds agents in one transaction.
    pub async fn bulk_insert_agents(&self, workspace: WorkspaceId, agents: &[Agent]) -> Result<u64> {
        let (ws, now) = (workspace.to_string(), now_millis());
        let rows = agents.iter().map(|a| {
            vec![
                Cell::Text(a.id.to_string()),
                Cell::Text(ws.clone()),
                Cell::Text(a.vendor_id.to_string()),
                Cell::OptText(a.team_id.map(|t| t.to_string())),
                Cell::Text(a.name.clone()),
                Cell::OptText(a.email.clone()),
                Cell::Int(now),
            ]
        });
        let mut tx = self.write_alone().await?;
        let n = TableWriter::new(self.backend(), "agents", AGENT_COLUMNS).write(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Adds users in one transaction.
    pub async fn bulk_insert_users(&self, workspace: WorkspaceId, users: &[BulkUser]) -> Result<u64> {
        let (ws, now) = (workspace.to_string(), now_millis());
        let rows = users.iter().map(|u| {
            vec![
                Cell::Text(u.id.to_string()),
                Cell::Text(ws.clone()),
                Cell::Text(u.user.vendor_id.to_string()),
                Cell::Text(u.user.email.clone()),
                Cell::Text(u.user.name.clone()),
                Cell::Text(u.user.role.as_str().to_string()),
                Cell::Text(u.user.password_hash.clone()),
                Cell::OptText(u.user.agent_id.map(|a| a.to_string())),
                Cell::Int(1),
                Cell::Int(now),
            ]
        });
        let mut tx = self.write_alone().await?;
        let n = TableWriter::new(self.backend(), "users", USER_COLUMNS).write(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Writes a chunk (conversations, then evaluations and their answers, then the rollup
    /// rows) in one transaction. Returns the number of answer rows written.
    pub async fn bulk_insert(&self, workspace: WorkspaceId, chunk: BulkChunk) -> Result<u64> {
        let BulkChunk { conversations, evaluations, mut rollups } = chunk;
        let ws = workspace.to_string();
        let backend = self.backend();
        let mut tx = self.write_alone().await?;
        if backend == Backend::Sqlite {
            // SQLite's default page cache (2 MB) spills a large transaction's pages to the WAL
            // over and over while the indexes and rollups are updated in key order; 256 MB
            // keeps a chunk in memory until its commit. (The pooled connection keeps it.)
            sqlx::query("PRAGMA cache_size = -262144").execute(&mut *tx).await?;
        }
        let now = now_millis();
        let rows = conversations.into_iter().map(|c| {
            vec![
                Cell::Text(c.id.to_string()),
                Cell::Text(ws.clone()),
                Cell::Text(c.external_id),
                Cell::Text(c.channel.as_str().to_string()),
                Cell::OptText(c.agent_id.map(|a| a.to_string())),
                Cell::OptText(c.team_id.map(|t| t.to_string())),
                Cell::Text(c.vendor_id.to_string()),
                Cell::Int(c.started_at),
                Cell::Text(c.subject),
                Cell::Text(json(&c.transcript)),
                Cell::Text(json(&c.tags)),
                Cell::OptInt(c.metrics.csat),
                Cell::OptInt(c.metrics.nps),
                Cell::OptInt(c.metrics.fcr.map(i64::from)),
                Cell::OptInt(c.metrics.handle_time_seconds),
                Cell::Int(now),
                Cell::Int(now),
            ]
        });
        TableWriter::new(backend, "conversations", CONVERSATION_COLUMNS).write(&mut tx, rows).await?;

        // Rows are made one statement at a time from the chunk: memory holds the chunk and one
        // statement, never every answer's values at once.
        let rows = evaluations.iter().map(|e| {
            let snapshot = e.rollup_snapshot.as_ref();
            vec![
                Cell::Text(e.id.to_string()),
                Cell::Text(ws.clone()),
                Cell::Text(e.conversation_id.to_string()),
                Cell::Text(e.scorecard_version_id.to_string()),
                Cell::Text(e.reviewer_id.to_string()),
                Cell::Text(e.kind.as_str().to_string()),
                Cell::Text("submitted".to_string()),
                Cell::Text(e.overall_feedback.clone()),
                Cell::Text(e.vendor_id.to_string()),
                Cell::OptText(e.team_id.map(|t| t.to_string())),
                Cell::OptText(e.agent_id.map(|a| a.to_string())),
                Cell::OptFloat(e.score.score),
                Cell::OptFloat(Some(e.score.earned)),
                Cell::OptFloat(Some(e.score.possible)),
                Cell::Int(i64::from(e.score.critical_failed)),
                Cell::Text(json(&e.score.critical_failures)),
                // Created (1), then submitted (2): what the ordinary path leaves.
                Cell::Int(2),
                Cell::Int(e.created_at),
                Cell::Int(e.submitted_at),
                Cell::Int(e.submitted_at),
                Cell::Int(e.active_seconds),
                Cell::OptInt(snapshot.map(|_| 1)),
                Cell::OptText(snapshot.map(|(channel, _)| channel.as_str().to_string())),
                Cell::OptInt(snapshot.and_then(|(_, m)| m.csat)),
                Cell::OptInt(snapshot.and_then(|(_, m)| m.nps)),
                Cell::OptInt(snapshot.and_then(|(_, m)| m.fcr.map(i64::from))),
                Cell::OptInt(snapshot.and_then(|(_, m)| m.handle_time_seconds)),
            ]
        });
        TableWriter::new(backend, "evaluations", EVALUATION_COLUMNS).write(&mut tx, rows).await?;
        let answers = evaluations.iter().flat_map(|e| {
            let id = e.id.to_string();
            e.answers.iter().enumerate().map(move |(position, a)| {
                vec![
                    Cell::Text(id.clone()),
                    Cell::Text(a.criterion_id.to_string()),
                    Cell::Int(position as i64),
                    Cell::OptInt(match a.choice {
                        Choice::Option(o) => Some(o as i64),
                        Choice::NotApplicable => None,
                    }),
                    Cell::Text(a.comment.clone()),
                ]
            })
        });
        let answered = TableWriter::new(backend, "evaluation_answers", ANSWER_COLUMNS).write(&mut tx, answers).await?;
        // Self-assessment pairs may reach outside the chunk (a self-review of a conversation
        // reviewed earlier), so the loader finds them itself instead of taking them from the caller.
        let ids: Vec<EvaluationId> = evaluations.iter().map(|e| e.id).collect();
        crate::self_assessment::add_pairs_of(&mut tx, workspace, &ids, crate::self_assessment::PairSide::Both).await?;
        rollups.flush(&mut tx).await?;
        tx.commit().await?;
        Ok(answered)
    }

    /// Refreshes PostgreSQL's statistics on the tables a load grows, part way through it. Each
    /// chunk looks up the answers of the self-assessment pairs it forms; with statistics from
    /// an empty table the planner chose a parallel scan of every answer for those few ids, so
    /// each chunk took longer than the one before (seen with autovacuum off: one second per
    /// chunk at 600k reviews, and still climbing). The loader calls it as the tables double.
    pub async fn analyze_during_bulk_load(&self) -> Result<()> {
        if self.backend() == Backend::Postgres {
            sqlx::query("ANALYZE conversations, evaluations, evaluation_answers").execute(self.pool()).await?;
        }
        Ok(())
    }

    /// Refreshes the planner's statistics after a bulk load (PostgreSQL's autovacuum would do
    /// it a little later; SQLite keeps none unless asked, and a running server never asks, so
    /// it is left as a server would find it).
    pub async fn analyze_after_bulk_load(&self) -> Result<()> {
        if self.backend() == Backend::Postgres {
            sqlx::query("VACUUM ANALYZE").execute(self.pool()).await?;
        }
        Ok(())
    }

    /// The sums of every value column of the rollup tables, by table and grain: what a test
    /// compares before and after `rebuild_rollups`.
    pub async fn rollup_totals(&self, workspace: WorkspaceId) -> Result<RollupTotals> {
        let tables: [(&str, &[&str]); 4] = [
            (
                "rollup_agent",
                &[
                    "evaluations",
                    "scored",
                    "earned",
                    "possible",
                    "score_sum",
                    "critical_failed",
                    "fcr_yes",
                    "handle_sum",
                    "csat_n",
                    "csat_sum",
                ],
            ),
            (
                "rollup_segment",
                &[
                    "evaluations",
                    "scored",
                    "earned",
                    "possible",
                    "earned_sq",
                    "score_sq",
                    "csat_n",
                    "csat_xy",
                    "nps_n",
                    "nps_xy",
                ],
            ),
            crate::self_assessment::SELF_TABLES[0],
            crate::self_assessment::SELF_TABLES[1],
        ];
        let mut totals = Vec::new();
        for (table, columns) in tables {
            let sums: Vec<String> =
                columns.iter().map(|c| format!("CAST(COALESCE(SUM({c}), 0) AS DOUBLE PRECISION) AS {c}")).collect();
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT grain, COUNT(*) AS row_count, {} FROM {table} WHERE workspace_id = $1 GROUP BY grain ORDER BY grain",
                sums.join(", ")
            )))
            .bind(workspace.to_string())
            .fetch_all(self.pool())
            .await?;
            for row in &rows {
                let grain = crate::sql::int(row, "grain")?;
                let count = crate::sql::int(row, "row_count")?;
                totals.push((format!("{table}.{grain}.rows"), count as f64));
                for c in columns.iter() {
                    let v = crate::sql::opt_float(row, c)?
                        .ok_or_else(|| StoreError::Database(format!("{table}.{c} has no sum")))?;
                    totals.push((format!("{table}.{grain}.{c}"), v));
                }
            }
        }
        // The criteria rollup keeps its sums in a text per row: added up here.
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT grain, sums FROM rollup_criteria WHERE workspace_id = $1 ORDER BY grain")
                .bind(workspace.to_string())
                .fetch_all(self.pool())
                .await?;
        let mut by_grain: std::collections::BTreeMap<i64, [f64; 7]> = Default::default();
        for (grain, text) in &rows {
            let t = by_grain.entry(*grain).or_default();
            t[0] += 1.0;
            for (_, s) in crate::rollups::decode_criteria(text)? {
                let values = [1.0, s.answered as f64, s.not_applicable as f64, s.failed as f64, s.earned, s.possible];
                for (total, v) in t[1..].iter_mut().zip(values) {
                    *total += v;
                }
            }
        }
        for (grain, t) in by_grain {
            let names = ["rows", "criteria", "answered", "not_applicable", "failed", "earned", "possible"];
            totals.extend(names.iter().zip(t).map(|(name, v)| (format!("rollup_criteria.{grain}.{name}"), v)));
        }
        Ok(totals)
    }
}
