//! The reads behind the QA program reports that are not plain rollup sums: IQS targets, the
//! conversations where IQS and CSAT disagree, and the vendor graders' alignment to internal
//! benchmarks. Every query is bounded (a date range and a
//! limit, or the few rows of a small table) and scoped to the viewer's vendor.

use crate::sql::{self, Select, Value};
use crate::{IqsFilter, Result, Store, StoreError, now_millis};
use plumbline_domain::access::VendorScope;
use plumbline_domain::conversation::CSAT_SCALE;
use plumbline_domain::reports::Milestone;
use plumbline_domain::scorecard::FieldError;
use plumbline_domain::time::{DAY_MS, Date};
use plumbline_domain::{EvaluationId, ScorecardId, TeamId, UserId, VendorId, WorkspaceId};
use serde::{Deserialize, Serialize};

/// An IQS target for the workspace, a vendor or a team (optionally one scorecard).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Target {
    #[schema(value_type = String)]
    pub id: String,
    pub name: String,
    pub vendor_id: Option<VendorId>,
    pub team_id: Option<TeamId>,
    pub scorecard_id: Option<ScorecardId>,
    /// The IQS to reach.
    pub value: f64,
    /// YYYY-MM-DD: progress is measured from this day.
    pub start: String,
    /// YYYY-MM-DD: the day the value is to be reached.
    pub due: String,
    pub milestones: Vec<Milestone>,
    pub created_by: UserId,
}

/// What a target is set with.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetInput {
    pub name: String,
    pub vendor_id: Option<VendorId>,
    pub team_id: Option<TeamId>,
    pub scorecard_id: Option<ScorecardId>,
    pub value: f64,
    pub start: String,
    pub due: String,
    #[serde(default)]
    pub milestones: Vec<Milestone>,
}

/// A conversation whose IQS and CSAT disagree.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Mismatch {
    pub evaluation_id: EvaluationId,
    #[schema(value_type = String)]
    pub conversation_id: String,
    pub external_id: String,
    pub subject: String,
    pub channel: String,
    pub agent: Option<String>,
    pub vendor: String,
    pub score: f64,
    pub csat: i64,
    pub nps: Option<i64>,
    /// YYYY-MM-DD of the review.
    pub reviewed: String,
}

impl Store {
    fn check_target(input: &TargetInput) -> Result<(i64, i64)> {
        let mut errors: Vec<FieldError> =
            plumbline_domain::reports::check_target(input.value, &input.start, &input.due, &input.milestones)
                .into_iter()
                .map(|(f, r)| FieldError::new(f, r))
                .collect();
        if input.name.trim().is_empty() || input.name.chars().count() > 200 {
            errors.insert(0, FieldError::new("name", "must be 1 to 200 characters"));
        }
        if input.milestones.len() > 24 {
            errors.push(FieldError::new("milestones", "at most 24 milestones"));
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let day = |s: &str| Date::parse(s).map(Date::days).unwrap_or(0);
        Ok((day(&input.start), day(&input.due)))
    }

    /// Checks that the vendor, team and scorecard of a target exist in the workspace (and the
    /// team belongs to the vendor when both are given).
    async fn check_target_scope(&self, workspace: WorkspaceId, input: &TargetInput) -> Result<()> {
        /// A lookup's NotFound as `false`; other errors pass through.
        fn found<T>(result: Result<T>) -> Result<bool> {
            match result {
                Ok(_) => Ok(true),
                Err(StoreError::NotFound) => Ok(false),
                Err(e) => Err(e),
            }
        }
        let mut errors = Vec::new();
        if let Some(v) = input.vendor_id
            && !found(self.get_vendor(workspace, v).await)?
        {
            errors.push(FieldError::new("vendor_id", "no such vendor"));
        }
        if let Some(t) = input.team_id {
            match self.list_teams(workspace, VendorScope::All).await?.into_iter().find(|team| team.id == t) {
                None => errors.push(FieldError::new("team_id", "no such team")),
                Some(team) if input.vendor_id.is_some_and(|v| v != team.vendor_id) => {
                    errors.push(FieldError::new("team_id", "the team belongs to another vendor"))
                }
                Some(_) => {}
            }
        }
        if let Some(s) = input.scorecard_id
            && !found(self.get_scorecard(workspace, s).await)?
        {
            errors.push(FieldError::new("scorecard_id", "no such scorecard"));
        }
        if errors.is_empty() { Ok(()) } else { Err(StoreError::Invalid(errors)) }
    }

    pub async fn create_target(&self, workspace: WorkspaceId, by: UserId, input: &TargetInput) -> Result<Target> {
        let (start, due) = Self::check_target(input)?;
        self.check_target_scope(workspace, input).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = now_millis();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO iqs_targets (id, workspace_id, name, vendor_id, team_id, scorecard_id, value, start_day, due_day,
                 milestones, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        )
        .bind(&id)
        .bind(workspace.to_string())
        .bind(input.name.trim())
        .bind(input.vendor_id.map(|v| v.to_string()))
        .bind(input.team_id.map(|t| t.to_string()))
        .bind(input.scorecard_id.map(|s| s.to_string()))
        .bind(input.value)
        .bind(start)
        .bind(due)
        .bind(sql::to_json(&input.milestones))
        .bind(by.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_target(workspace, VendorScope::All, &id).await
    }

    pub async fn update_target(&self, workspace: WorkspaceId, id: &str, input: &TargetInput) -> Result<Target> {
        let (start, due) = Self::check_target(input)?;
        self.check_target_scope(workspace, input).await?;
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE iqs_targets SET name = $1, vendor_id = $2, team_id = $3, scorecard_id = $4, value = $5, start_day = $6,
                 due_day = $7, milestones = $8, updated_at = $9
             WHERE workspace_id = $10 AND id = $11",
        )
        .bind(input.name.trim())
        .bind(input.vendor_id.map(|v| v.to_string()))
        .bind(input.team_id.map(|t| t.to_string()))
        .bind(input.scorecard_id.map(|s| s.to_string()))
        .bind(input.value)
        .bind(start)
        .bind(due)
        .bind(sql::to_json(&input.milestones))
        .bind(now_millis())
        .bind(workspace.to_string())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        self.get_target(workspace, VendorScope::All, id).await
    }

    pub async fn delete_target(&self, workspace: WorkspaceId, id: &str) -> Result<()> {
        let mut tx = self.write().await?;
        let done = sqlx::query("DELETE FROM iqs_targets WHERE workspace_id = $1 AND id = $2")
            .bind(workspace.to_string())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Targets the scope may see: a vendor's own targets (its vendor, or a team of it); the
    /// workspace-wide ones only for everyone-scoped viewers.
    pub async fn list_targets(&self, workspace: WorkspaceId, scope: VendorScope) -> Result<Vec<Target>> {
        let mut q = Select::new(&format!("SELECT {TARGET_COLUMNS} FROM iqs_targets t"));
        q.and_text("t.workspace_id", workspace);
        if let Some(vendor) = scope.vendor() {
            q.and_expr(
                "(t.vendor_id = ? OR t.team_id IN (SELECT id FROM teams WHERE vendor_id = ?))",
                vec![Value::Text(vendor.to_string()), Value::Text(vendor.to_string())],
            );
        }
        q.fetch_all(self.pool(), "ORDER BY t.due_day, t.id").await?.iter().map(target_of).collect()
    }

    pub async fn get_target(&self, workspace: WorkspaceId, scope: VendorScope, id: &str) -> Result<Target> {
        self.list_targets(workspace, scope).await?.into_iter().find(|t| t.id == id).ok_or(StoreError::NotFound)
    }

    /// Reviews whose IQS and CSAT disagree, newest first: `high` = score at least `score_at_least`
    /// with CSAT at most `csat_at_most`; otherwise score below `score_below` with CSAT at least
    /// `csat_at_least`. Reads at most `limit` rows.
    #[allow(clippy::too_many_arguments)]
    pub async fn iqs_csat_mismatches(
        &self,
        workspace: WorkspaceId,
        scope: VendorScope,
        filter: &IqsFilter,
        high: bool,
        bounds: (f64, i64),
        limit: i64,
    ) -> Result<Vec<Mismatch>> {
        let (sql, values) = mismatch_query(workspace, scope, filter, high, bounds, limit);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for v in values {
            query = v.bind_to(query);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(Mismatch {
                    evaluation_id: sql::id(r, "id")?,
                    conversation_id: sql::text(r, "conversation_id")?,
                    external_id: sql::text(r, "external_id")?,
                    subject: sql::text(r, "subject")?,
                    channel: sql::text(r, "channel")?,
                    agent: sql::opt_text(r, "agent")?,
                    vendor: sql::text(r, "vendor")?,
                    score: sql::opt_float(r, "score")?.unwrap_or(0.0),
                    csat: sql::opt_int(r, "csat")?.unwrap_or(0),
                    nps: sql::opt_int(r, "nps")?,
                    reviewed: Date::of(sql::opt_int(r, "submitted_at")?.unwrap_or(0)).to_string(),
                })
            })
            .collect()
    }

    /// Per conversation vendor: completed audits of that vendor's own graders by internal
    /// benchmarks, their mean alignment and its standard deviation, in the range of completion.
    pub async fn vendor_alignment(
        &self,
        workspace: WorkspaceId,
        scope: VendorScope,
        filter: &IqsFilter,
    ) -> Result<Vec<(VendorId, i64, Option<f64>, Option<f64>)>> {
        let mut q = Select::new(
            "SELECT a.grader_vendor_id AS vendor_id, COUNT(*) AS n, AVG(a.alignment) AS mean,
                    AVG(a.alignment * a.alignment) AS mean_sq
             FROM audits a JOIN users b ON b.id = a.benchmark_id JOIN vendors bv ON bv.id = b.vendor_id",
        );
        q.and_text("a.workspace_id", workspace)
            .and_raw("a.status = 'completed' AND a.alignment IS NOT NULL AND bv.is_internal = 1")
            .and_raw("a.grader_vendor_id = a.conversation_vendor_id")
            .and_opt_text("a.grader_vendor_id", scope.vendor())
            .and_opt_text("a.grader_vendor_id", filter.vendor_id);
        if let Some(from) = filter.from {
            q.and("a.completed_at", ">=", Value::Int(from));
        }
        if let Some(to) = filter.to {
            q.and("a.completed_at", "<", Value::Int(to));
        }
        let rows = q.fetch_all(self.pool(), "GROUP BY a.grader_vendor_id").await?;
        rows.iter()
            .map(|r| {
                let n = sql::int(r, "n")?;
                let mean = sql::opt_float(r, "mean")?;
                let sd = match (mean, sql::opt_float(r, "mean_sq")?) {
                    (Some(m), Some(sq)) if n > 1 => Some(((sq - m * m).max(0.0) * n as f64 / (n - 1) as f64).sqrt()),
                    _ => None,
                };
                Ok((sql::id(r, "vendor_id")?, n, mean, sd))
            })
            .collect()
    }
}

/// The statement of [`Store::iqs_csat_mismatches`] and its values. A list filtered by team walks
/// that team's reviews newest first (`evaluations_team`, migration 0015). Otherwise it reads, for each CSAT value the list takes, that value's reviews newest first by
/// the CSAT each counted with (`evaluations_csat`, migration 0016; equal to the conversation's,
/// which every re-import keeps in step), testing the score on the index entry, and merges the
/// newest `limit`: walking every review newest first read the whole range where mismatches are
/// rare. The CSAT values are this code's own numbers (the CSAT scale), written into the text.
pub(crate) fn mismatch_query(
    workspace: WorkspaceId,
    scope: VendorScope,
    filter: &IqsFilter,
    high: bool,
    (score_bound, csat_bound): (f64, i64),
    limit: i64,
) -> (String, Vec<Value>) {
    let order = format!("ORDER BY e.submitted_at DESC, e.id DESC LIMIT {limit}");
    let select = |csat: Option<i64>| {
        let mut q = Select::new(
            "SELECT e.id, e.conversation_id, c.external_id, c.subject, c.channel, a.name AS agent, v.name AS vendor,
                    e.score, c.csat, c.nps, e.submitted_at
             FROM evaluations e
             JOIN conversations c ON c.id = e.conversation_id
             JOIN vendors v ON v.id = e.vendor_id
             LEFT JOIN agents a ON a.id = e.agent_id",
        );
        q.and_text("e.workspace_id", workspace)
            .and_raw(crate::rollups::COUNTED)
            .and_raw("e.score IS NOT NULL")
            .and_opt_text("e.vendor_id", scope.vendor())
            .and_opt_text("e.vendor_id", filter.vendor_id)
            .and_opt_text("e.team_id", filter.team_id)
            .and_opt_text("e.agent_id", filter.agent_id)
            .and_opt_text("c.channel", filter.channel.as_ref());
        if let Some(card) = filter.scorecard_id {
            q.and_expr(
                "e.scorecard_version_id IN (SELECT id FROM scorecard_versions WHERE scorecard_id = ?)",
                vec![Value::Text(card.to_string())],
            );
        }
        if let Some(from) = filter.from {
            q.and("e.submitted_at", ">=", Value::Int(from));
        }
        if let Some(to) = filter.to {
            q.and("e.submitted_at", "<", Value::Int(to));
        }
        q.and("e.score", if high { ">=" } else { "<" }, Value::Float(score_bound));
        match csat {
            Some(value) => q.and_raw(&format!("e.rollup_csat = {value}")),
            None => q.and("c.csat", if high { "<=" } else { ">=" }, Value::Int(csat_bound)),
        };
        q
    };
    // By team (or when no CSAT value is in the bounds, so nothing matches): one walk.
    let by_csat = filter.team_id.is_none();
    let csats: Vec<i64> =
        CSAT_SCALE.filter(|&c| by_csat && if high { c <= csat_bound } else { c >= csat_bound }).collect();
    match csats[..] {
        [] => select(None).finish(&order),
        [only] => select(Some(only)).finish(&order),
        _ => {
            // Every branch has the same conditions and values, bound once (`$n` names a value
            // however often it appears).
            let branches: Vec<(String, Vec<Value>)> = csats.iter().map(|&c| select(Some(c)).finish(&order)).collect();
            let union = branches
                .iter()
                .enumerate()
                .map(|(i, (sql, _))| format!("SELECT * FROM ({sql}) AS b{i}"))
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            let values = branches.into_iter().next().map(|(_, values)| values).unwrap_or_default();
            (format!("{union} ORDER BY submitted_at DESC, id DESC LIMIT {limit}"), values)
        }
    }
}

const TARGET_COLUMNS: &str =
    "t.id, t.name, t.vendor_id, t.team_id, t.scorecard_id, t.value, t.start_day, t.due_day, t.milestones, t.created_by";

fn target_of(row: &sqlx::any::AnyRow) -> Result<Target> {
    let day = |c: &str| sql::int(row, c).map(|d| Date::of(d * DAY_MS).to_string());
    Ok(Target {
        id: sql::text(row, "id")?,
        name: sql::text(row, "name")?,
        vendor_id: sql::opt_id(row, "vendor_id")?,
        team_id: sql::opt_id(row, "team_id")?,
        scorecard_id: sql::opt_id(row, "scorecard_id")?,
        value: sql::opt_float(row, "value")?.unwrap_or(0.0),
        start: day("start_day")?,
        due: day("due_day")?,
        milestones: sql::json(row, "milestones")?,
        created_by: sql::id(row, "created_by")?,
    })
}

#[cfg(test)]
mod tests {
    use super::mismatch_query;
    use crate::testing::TestDatabase;
    use crate::{Backend, IqsFilter};
    use plumbline_domain::access::VendorScope;
    use plumbline_domain::{AgentId, TeamId, WorkspaceId};
    use sqlx::{Acquire, Row};

    /// The plan of the mismatch lists' own statements: unfiltered or by agent, every CSAT value's
    /// walk reads the CSAT index (and none scans the reviews); by team, the team index. PostgreSQL plans by
    /// size, so it is asked with sequential scans off: the index must be one it can use.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mismatch_lists_are_read_from_their_indexes() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let db = TestDatabase::new(backend).await;
            let mut conn = db.pool().acquire().await.unwrap();
            let mut tx = conn.begin().await.unwrap();
            if backend == Backend::Postgres {
                sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut *tx).await.unwrap();
            }
            let explain = if backend == Backend::Sqlite { "EXPLAIN QUERY PLAN" } else { "EXPLAIN" };
            let column = if backend == Backend::Sqlite { 3 } else { 0 };
            let since = IqsFilter { from: Some(0), ..Default::default() };
            let by_team = IqsFilter { team_id: Some(TeamId::new()), ..since.clone() };
            let by_agent = IqsFilter { agent_id: Some(AgentId::new()), ..since.clone() };
            for (filter, high, bounds, index, walks) in [
                (&since, true, (90.0, 2), "evaluations_csat", 2),
                (&since, false, (75.0, 5), "evaluations_csat", 1),
                (&by_agent, true, (90.0, 2), "evaluations_csat", 2),
                (&by_team, true, (90.0, 2), "evaluations_team", 1),
            ] {
                let (sql, values) = mismatch_query(WorkspaceId::new(), VendorScope::All, filter, high, bounds, 50);
                let mut query = sqlx::query(sqlx::AssertSqlSafe(format!("{explain} {sql}")));
                for v in values {
                    query = v.bind_to(query);
                }
                let rows = query.fetch_all(&mut *tx).await.unwrap();
                let plan: Vec<String> = rows.iter().map(|r| r.try_get::<String, _>(column).unwrap()).collect();
                let plan = plan.join("\n");
                let reads = plan.lines().filter(|l| l.contains(index)).count();
                assert_eq!(reads, walks, "{backend:?} {filter:?} high={high}: {plan}");
                let scans = plan.lines().filter(|l| l.contains("SCAN e") || l.contains("Seq Scan on evaluations"));
                assert_eq!(scans.count(), 0, "{backend:?}: {plan}");
            }
        }
    }
}
