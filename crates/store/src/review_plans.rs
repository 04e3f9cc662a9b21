//! Review assignments: plans, their seeded draws (sampling and the even spread are the
//! domain's), each grader's queue, starting the review from a queue item, and progress. An item
//! is done when its review is submitted: the status is read from the evaluation, so the submit
//! path needs no second write.
//!
//! A hidden calibration session may name a plan: its tasks then wait in the participants'
//! queues as items of that plan (`calibration_session_id` set, never serialised), and starting
//! one creates the session's task (`calibrations.rs`). Such items are listed only where asked
//! for ([`AssignmentQuery::with_hidden_calibration`]: a grader's own queue, a qa_lead's plan
//! page); a plan's progress and the spread of its draws count the plan's drawn items only.

use crate::sql::{self, Select, Value};
use crate::{Result, Store, StoreError, now_millis};
use plumbline_domain::access::{Permission, Viewer};
use plumbline_domain::evaluation::{Evaluation, EvaluationKind};
use plumbline_domain::review_plans::{
    AssignmentState, AssignmentStatus, GraderScope, PlanCandidate, PlanFilter, PlanProgress, PlanSample, ReviewPlan,
    due_at, progress, sample_conversations, spread,
};
use plumbline_domain::scorecard::FieldError;
use plumbline_domain::series::occurrence_seed;
use plumbline_domain::{
    AssignmentId, CalibrationId, ConversationId, EvaluationId, Millis, PlanId, ScorecardId, UserId, VendorId,
    WorkspaceId,
};
use serde::Serialize;
use sqlx::any::AnyRow;
use std::collections::HashMap;

/// At most this many graders on a plan.
pub const MAX_PLAN_GRADERS: usize = 200;

#[derive(Clone, Debug)]
pub struct NewReviewPlan {
    pub name: String,
    pub scorecard_id: ScorecardId,
    pub sample: PlanSample,
    pub period_days: u32,
    pub filter: PlanFilter,
    pub grader_ids: Vec<UserId>,
    pub due_in_days: u32,
    pub seed: Option<u64>,
    pub created_by: UserId,
}

/// An item of a grader's queue.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Assignment {
    pub id: AssignmentId,
    pub plan_id: PlanId,
    pub plan_name: String,
    pub draw_number: u32,
    pub conversation_id: ConversationId,
    pub conversation_external_id: String,
    pub subject: String,
    pub channel: String,
    pub grader_id: UserId,
    pub grader_name: String,
    pub due_at: Millis,
    pub status: AssignmentStatus,
    /// The review started from this item.
    pub evaluation_id: Option<EvaluationId>,
    pub submitted_at: Option<Millis>,
    pub created_at: Millis,
    /// The hidden calibration session this item is a task of. Never serialised: the item must
    /// look exactly like a drawn one to its grader (a qa_lead's view adds it on its own).
    #[serde(skip)]
    pub calibration_session_id: Option<CalibrationId>,
}

/// What a draw did.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlanDraw {
    pub number: u32,
    /// The seed of this draw (decimal text): the same candidates and seed give the same sample.
    pub seed: String,
    /// The window of conversation start times sampled, `[window_from, window_to)` Unix ms.
    pub window_from: Millis,
    pub window_to: Millis,
    /// Conversations that matched the filter in the window (and were not in the plan yet).
    pub candidates: u64,
    /// The sample's conversations, sorted.
    pub drawn: Vec<ConversationId>,
    pub assignments: Vec<Assignment>,
    /// Drawn conversations none of the graders may review (another vendor's, for BPO graders).
    pub unassigned: Vec<ConversationId>,
}

/// Which items to list.
#[derive(Clone, Debug, Default)]
pub struct AssignmentQuery {
    pub plan_id: Option<PlanId>,
    pub grader_id: Option<UserId>,
    /// Only items of graders of this vendor (a vendor lead's view).
    pub grader_vendor_id: Option<VendorId>,
    /// Not done yet.
    pub open_only: bool,
    /// Also the items that are hidden calibration tasks (a grader's own queue, where they look
    /// like any other; a qa_lead's list of a plan's items). Left out by default.
    pub with_hidden_calibration: bool,
}

const PLAN_COLUMNS: &str = "id, name, scorecard_id, sample, period_days, filter, due_in_days, seed, active, created_at";

const ASSIGNMENT_SELECT: &str = "SELECT ra.id, ra.plan_id, p.name AS plan_name, ra.draw_number, ra.conversation_id, \
     c.external_id, c.subject, c.channel, ra.grader_id, u.name AS grader_name, ra.due_at, ra.evaluation_id, \
     e.status AS evaluation_status, e.submitted_at, ra.created_at, ra.calibration_session_id \
     FROM review_assignments ra JOIN review_plans p ON p.id = ra.plan_id \
     JOIN conversations c ON c.id = ra.conversation_id JOIN users u ON u.id = ra.grader_id \
     LEFT JOIN evaluations e ON e.id = ra.evaluation_id";

fn plan_of(row: &AnyRow, grader_ids: Vec<UserId>) -> Result<ReviewPlan> {
    let seed = sql::text(row, "seed")?;
    Ok(ReviewPlan {
        id: sql::id(row, "id")?,
        name: sql::text(row, "name")?,
        scorecard_id: sql::id(row, "scorecard_id")?,
        sample: sql::json(row, "sample")?,
        period_days: sql::int(row, "period_days")? as u32,
        filter: sql::json(row, "filter")?,
        grader_ids,
        due_in_days: sql::int(row, "due_in_days")? as u32,
        seed: seed.parse().map_err(|_| StoreError::Database(format!("bad seed {seed:?}")))?,
        active: sql::flag(row, "active")?,
        created_at: sql::int(row, "created_at")?,
    })
}

fn assignment_of(row: &AnyRow) -> Result<Assignment> {
    let status = match sql::opt_text(row, "evaluation_status")?.as_deref() {
        None => AssignmentStatus::Assigned,
        Some("submitted") => AssignmentStatus::Done,
        Some(_) => AssignmentStatus::InProgress,
    };
    Ok(Assignment {
        id: sql::id(row, "id")?,
        plan_id: sql::id(row, "plan_id")?,
        plan_name: sql::text(row, "plan_name")?,
        draw_number: sql::int(row, "draw_number")? as u32,
        conversation_id: sql::id(row, "conversation_id")?,
        conversation_external_id: sql::text(row, "external_id")?,
        subject: sql::text(row, "subject")?,
        channel: sql::text(row, "channel")?,
        grader_id: sql::id(row, "grader_id")?,
        grader_name: sql::text(row, "grader_name")?,
        due_at: sql::int(row, "due_at")?,
        status,
        evaluation_id: sql::opt_id(row, "evaluation_id")?,
        submitted_at: sql::opt_int(row, "submitted_at")?,
        created_at: sql::int(row, "created_at")?,
        calibration_session_id: sql::opt_id(row, "calibration_session_id")?,
    })
}

/// Links the review just created to its item, unless the item was started meanwhile (`false`:
/// the caller rolls back and opens that review).
pub(crate) async fn link_started(
    conn: &mut sqlx::AnyConnection,
    item: &Assignment,
    evaluation: EvaluationId,
) -> Result<bool> {
    let linked = sqlx::query(
        "UPDATE review_assignments SET evaluation_id = $1 WHERE id = $2 AND grader_id = $3 AND evaluation_id IS NULL",
    )
    .bind(evaluation.to_string())
    .bind(item.id.to_string())
    .bind(item.grader_id.to_string())
    .execute(conn)
    .await?;
    Ok(linked.rows_affected() == 1)
}

impl Store {
    /// Creates a plan. Graders must be active users whose role may write reviews.
    pub async fn create_review_plan(&self, workspace: WorkspaceId, new: NewReviewPlan) -> Result<ReviewPlan> {
        let mut errors = Vec::new();
        if new.name.trim().is_empty() || new.name.chars().count() > 200 {
            errors.push(FieldError::new("name", "must be 1 to 200 characters"));
        }
        if self.get_scorecard(workspace, new.scorecard_id).await.is_err() {
            errors.push(FieldError::new("scorecard_id", "there is no such scorecard"));
        }
        match new.sample {
            PlanSample::Percent(p) if !(p.is_finite() && p > 0.0 && p <= 100.0) => {
                errors.push(FieldError::new("sample.percent", "must be more than 0 and at most 100"))
            }
            PlanSample::PerAgent(n) if !(1..=1000).contains(&n) => {
                errors.push(FieldError::new("sample.per_agent", "must be 1 to 1000"))
            }
            _ => {}
        }
        if !(1..=366).contains(&new.period_days) {
            errors.push(FieldError::new("period_days", "must be 1 to 366"));
        }
        if new.due_in_days > 366 {
            errors.push(FieldError::new("due_in_days", "must be 0 to 366"));
        }
        errors.extend(new.filter.check());
        if let Some(vendor) = new.filter.vendor_id
            && self.get_vendor(workspace, vendor).await.is_err()
        {
            errors.push(FieldError::new("filter.vendor_id", "there is no such vendor"));
        }
        if let Some(team) = new.filter.team_id {
            let teams = self.list_teams(workspace, plumbline_domain::access::VendorScope::All).await?;
            match teams.iter().find(|t| t.id == team) {
                None => errors.push(FieldError::new("filter.team_id", "there is no such team")),
                Some(t) if new.filter.vendor_id.is_some_and(|v| v != t.vendor_id) => {
                    errors.push(FieldError::new("filter.team_id", "the team belongs to another vendor"))
                }
                Some(_) => {}
            }
        }
        if new.grader_ids.is_empty() || new.grader_ids.len() > MAX_PLAN_GRADERS {
            errors.push(FieldError::new("grader_ids", format!("choose 1 to {MAX_PLAN_GRADERS} graders")));
        }
        for (i, user) in new.grader_ids.iter().enumerate() {
            if new.grader_ids[..i].contains(user) {
                errors.push(FieldError::new(format!("grader_ids[{i}]"), "is listed twice"));
            } else if !self.grader_viewer(workspace, *user).await?.is_some_and(|v| v.may(Permission::Evaluate)) {
                errors.push(FieldError::new(
                    format!("grader_ids[{i}]"),
                    "there is no such active user who writes reviews",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let id = PlanId::new();
        let seed = new.seed.unwrap_or_else(|| uuid::Uuid::new_v4().as_u128() as u64);
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO review_plans (id, workspace_id, name, scorecard_id, sample, period_days, filter, due_in_days, seed,
                 active, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11)",
        )
        .bind(id.to_string())
        .bind(workspace.to_string())
        .bind(new.name.trim())
        .bind(new.scorecard_id.to_string())
        .bind(sql::to_json(&new.sample))
        .bind(i64::from(new.period_days))
        .bind(sql::to_json(&new.filter))
        .bind(i64::from(new.due_in_days))
        .bind(seed.to_string())
        .bind(new.created_by.to_string())
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        for (position, user) in new.grader_ids.iter().enumerate() {
            sqlx::query("INSERT INTO review_plan_graders (plan_id, user_id, position) VALUES ($1, $2, $3)")
                .bind(id.to_string())
                .bind(user.to_string())
                .bind(position as i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.get_review_plan(workspace, id).await
    }

    /// A grader as the access rules see them (`None`: no such active user).
    pub(crate) async fn grader_viewer(&self, workspace: WorkspaceId, user: UserId) -> Result<Option<Viewer>> {
        let signed_in = self.user_as_signed_in(workspace, user).await?;
        Ok(signed_in.filter(|s| s.user.active).map(|s| s.viewer()))
    }

    async fn plan_graders(&self, plan: PlanId) -> Result<Vec<UserId>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT user_id FROM review_plan_graders WHERE plan_id = $1 ORDER BY position")
                .bind(plan.to_string())
                .fetch_all(self.pool())
                .await?;
        rows.into_iter()
            .map(|(id,)| id.parse().map_err(|_| StoreError::Database(format!("malformed user id {id:?}"))))
            .collect()
    }

    pub async fn get_review_plan(&self, workspace: WorkspaceId, id: PlanId) -> Result<ReviewPlan> {
        let mut q = Select::new(&format!("SELECT {PLAN_COLUMNS} FROM review_plans"));
        q.and_text("workspace_id", workspace).and_text("id", id);
        let rows = q.fetch_all(self.pool(), "").await?;
        let row = rows.first().ok_or(StoreError::NotFound)?;
        plan_of(row, self.plan_graders(id).await?)
    }

    /// Plans newest first; with `grader_vendor`, only plans with a grader of that vendor.
    pub async fn list_review_plans(
        &self,
        workspace: WorkspaceId,
        grader_vendor: Option<VendorId>,
    ) -> Result<Vec<ReviewPlan>> {
        let mut q = Select::new(&format!("SELECT {PLAN_COLUMNS} FROM review_plans"));
        q.and_text("workspace_id", workspace);
        if let Some(vendor) = grader_vendor {
            q.and_expr(
                "EXISTS (SELECT 1 FROM review_plan_graders g JOIN users u ON u.id = g.user_id
                         WHERE g.plan_id = review_plans.id AND u.vendor_id = ?)",
                vec![Value::Text(vendor.to_string())],
            );
        }
        let rows = q.fetch_all(self.pool(), "ORDER BY id DESC LIMIT 500").await?;
        let mut plans = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: PlanId = sql::id(row, "id")?;
            plans.push(plan_of(row, self.plan_graders(id).await?)?);
        }
        Ok(plans)
    }

    /// Stops or resumes a plan's draws.
    pub async fn set_review_plan_active(&self, workspace: WorkspaceId, id: PlanId, active: bool) -> Result<ReviewPlan> {
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE review_plans SET active = $1 WHERE workspace_id = $2 AND id = $3")
            .bind(i64::from(active))
            .bind(workspace.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        self.get_review_plan(workspace, id).await
    }

    /// The conversations a draw over `[from, to)` may take: the plan's filter, not yet in the
    /// plan, and (unless the filter includes reviewed ones) without a review.
    pub async fn plan_candidates(
        &self,
        workspace: WorkspaceId,
        plan: &ReviewPlan,
        (from, to): (Millis, Millis),
    ) -> Result<Vec<PlanCandidate>> {
        let filter = &plan.filter;
        let mut q = Select::new("SELECT c.id, c.agent_id, c.vendor_id, c.started_at FROM conversations c");
        q.and_text("c.workspace_id", workspace)
            .and_opt_text("c.vendor_id", filter.vendor_id)
            .and_opt_text("c.team_id", filter.team_id)
            .and_opt_text("c.channel", filter.channel.map(|c| c.as_str()))
            .and("c.started_at", ">=", Value::Int(from))
            .and("c.started_at", "<", Value::Int(to));
        if let Some(min) = filter.min_csat {
            q.and("c.csat", ">=", Value::Int(min));
        }
        if let Some(max) = filter.max_csat {
            q.and("c.csat", "<=", Value::Int(max));
        }
        q.and_expr(
            "c.id NOT IN (SELECT conversation_id FROM review_assignments WHERE plan_id = ?)",
            vec![Value::Text(plan.id.to_string())],
        );
        if !filter.include_reviewed {
            q.and_raw("NOT EXISTS (SELECT 1 FROM evaluations e WHERE e.conversation_id = c.id AND e.kind = 'review')");
        }
        let rows = q.fetch_all(self.pool(), "ORDER BY c.id").await?;
        rows.iter()
            .map(|r| {
                Ok(PlanCandidate {
                    conversation_id: sql::id(r, "id")?,
                    agent_id: sql::opt_id(r, "agent_id")?,
                    vendor_id: sql::id(r, "vendor_id")?,
                    started_at: sql::int(r, "started_at")?,
                })
            })
            .collect()
    }

    /// Draws the plan's next sample (seed `occurrence_seed(plan seed, n)`, recorded with the
    /// window) and spreads it evenly over the graders within their vendor scope, each item due
    /// `due_in_days` later. Nothing matching is a conflict, and nothing is recorded.
    pub async fn draw_review_plan(&self, workspace: WorkspaceId, id: PlanId, now: Millis) -> Result<PlanDraw> {
        let plan = self.get_review_plan(workspace, id).await?;
        if !plan.active {
            return Err(StoreError::Conflict("the plan is stopped".into()));
        }
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM review_plan_draws WHERE plan_id = $1")
            .bind(id.to_string())
            .fetch_one(self.pool())
            .await?;
        let number = count as u32;
        let seed = occurrence_seed(plan.seed, number);
        let window = plan.filter.window(now, plan.period_days);
        let candidates = self.plan_candidates(workspace, &plan, window).await?;
        if candidates.is_empty() {
            return Err(StoreError::Conflict(
                "no conversation matches the plan's filter in its window (or all are in the plan already)".into(),
            ));
        }
        let drawn = sample_conversations(&candidates, plan.sample, window.0, plan.period_days, seed);
        let vendor_of: HashMap<ConversationId, VendorId> =
            candidates.iter().map(|c| (c.conversation_id, c.vendor_id)).collect();
        let mut graders = Vec::new();
        let mut grader_vendor = HashMap::new();
        for user in &plan.grader_ids {
            if let Some(viewer) = self.grader_viewer(workspace, *user).await?
                && viewer.may(Permission::Evaluate)
            {
                graders.push(GraderScope { user_id: *user, scope: viewer.vendor_scope() });
                grader_vendor.insert(*user, viewer.vendor_id);
            }
        }
        let open: Vec<(String, i64)> = sqlx::query_as(
            "SELECT ra.grader_id, COUNT(*) FROM review_assignments ra LEFT JOIN evaluations e ON e.id = ra.evaluation_id
             WHERE ra.plan_id = $1 AND ra.calibration_session_id IS NULL AND (e.status IS NULL OR e.status <> 'submitted')
             GROUP BY ra.grader_id",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        let load: HashMap<UserId, usize> =
            open.into_iter().filter_map(|(g, n)| g.parse().ok().map(|g| (g, n as usize))).collect();
        let pairs: Vec<(ConversationId, VendorId)> = drawn.iter().map(|c| (*c, vendor_of[c])).collect();
        let given = spread(&pairs, &graders, &load);

        let mut tx = self.write().await?;
        let inserted = sqlx::query(
            "INSERT INTO review_plan_draws (plan_id, number, seed, window_from, window_to, candidates, drawn, assigned, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.to_string())
        .bind(i64::from(number))
        .bind(seed.to_string())
        .bind(window.0)
        .bind(window.1)
        .bind(candidates.len() as i64)
        .bind(drawn.len() as i64)
        .bind(given.assigned.len() as i64)
        .bind(now)
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            return Err(match StoreError::from(e) {
                StoreError::Duplicate(_) => StoreError::Conflict("this draw was just made by someone else".into()),
                other => other,
            });
        }
        let due = due_at(now, plan.due_in_days);
        let mut ids = Vec::with_capacity(given.assigned.len());
        for (conversation, grader) in &given.assigned {
            let item = AssignmentId::new();
            sqlx::query(
                "INSERT INTO review_assignments (id, workspace_id, plan_id, draw_number, conversation_id, grader_id,
                     grader_vendor_id, conversation_vendor_id, due_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(item.to_string())
            .bind(workspace.to_string())
            .bind(id.to_string())
            .bind(i64::from(number))
            .bind(conversation.to_string())
            .bind(grader.to_string())
            .bind(grader_vendor[grader].to_string())
            .bind(vendor_of[conversation].to_string())
            .bind(due)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            ids.push(item);
        }
        tx.commit().await?;
        let mut assignments =
            self.list_assignments(workspace, &AssignmentQuery { plan_id: Some(id), ..Default::default() }).await?;
        assignments.retain(|a| ids.contains(&a.id));
        Ok(PlanDraw {
            number,
            seed: seed.to_string(),
            window_from: window.0,
            window_to: window.1,
            candidates: candidates.len() as u64,
            drawn,
            assignments,
            unassigned: given.unassigned,
        })
    }

    /// Queue items, earliest due first.
    pub async fn list_assignments(&self, workspace: WorkspaceId, query: &AssignmentQuery) -> Result<Vec<Assignment>> {
        let mut q = Select::new(ASSIGNMENT_SELECT);
        q.and_text("ra.workspace_id", workspace)
            .and_opt_text("ra.plan_id", query.plan_id)
            .and_opt_text("ra.grader_id", query.grader_id)
            .and_opt_text("ra.grader_vendor_id", query.grader_vendor_id);
        if query.open_only {
            q.and_raw("(e.status IS NULL OR e.status <> 'submitted')");
        }
        if !query.with_hidden_calibration {
            q.and_raw("ra.calibration_session_id IS NULL");
        }
        let rows = q.fetch_all(self.pool(), "ORDER BY ra.due_at, ra.id LIMIT 5000").await?;
        rows.iter().map(assignment_of).collect()
    }

    pub async fn get_assignment(&self, workspace: WorkspaceId, id: AssignmentId) -> Result<Assignment> {
        let mut q = Select::new(ASSIGNMENT_SELECT);
        q.and_text("ra.workspace_id", workspace).and_text("ra.id", id);
        q.fetch_all(self.pool(), "").await?.first().map(assignment_of).unwrap_or(Err(StoreError::NotFound))
    }

    /// Starts the review of a queue item (its grader only): a draft `review` with the plan's
    /// scorecard's active version, linked to the item in the same transaction; for a hidden
    /// calibration task, the session's task ([`Store::start_queued_task`]), started the same
    /// way. Starting again opens the same review. `true` when this call created it.
    pub async fn start_assignment(
        &self,
        workspace: WorkspaceId,
        id: AssignmentId,
        grader: UserId,
    ) -> Result<(Evaluation, i64, bool)> {
        let item = self.get_assignment(workspace, id).await?;
        if item.grader_id != grader {
            return Err(StoreError::NotFound);
        }
        if let Some(existing) = item.evaluation_id {
            let (evaluation, revision) = self.get_evaluation(workspace, existing).await?;
            return Ok((evaluation, revision, false));
        }
        let started = match item.calibration_session_id {
            Some(_) => self.start_queued_task(workspace, &item).await?,
            None => self.start_plan_review(workspace, &item).await?,
        };
        let Some(evaluation) = started else {
            // Started meanwhile (another tab): open that review instead.
            let started = self.get_assignment(workspace, id).await?.evaluation_id.ok_or(StoreError::NotFound)?;
            let (evaluation, revision) = self.get_evaluation(workspace, started).await?;
            return Ok((evaluation, revision, false));
        };
        let (evaluation, revision) = self.get_evaluation(workspace, evaluation).await?;
        Ok((evaluation, revision, true))
    }

    /// The draft review of a drawn item, linked to it; `None` when it was started meanwhile.
    async fn start_plan_review(&self, workspace: WorkspaceId, item: &Assignment) -> Result<Option<EvaluationId>> {
        let plan = self.get_review_plan(workspace, item.plan_id).await?;
        let version = self.active_version(workspace, plan.scorecard_id).await?.ok_or_else(|| {
            StoreError::Conflict("the plan's scorecard has no active version; ask a QA lead to activate one".into())
        })?;
        let conversation =
            self.get_conversation(workspace, plumbline_domain::access::VendorScope::All, item.conversation_id).await?;
        let evaluation = EvaluationId::new();
        let now = now_millis();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO evaluations (id, workspace_id, conversation_id, scorecard_version_id, reviewer_id, kind, status,
                 overall_feedback, vendor_id, team_id, agent_id, revision, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'draft', '', $7, $8, $9, 1, $10, $10)",
        )
        .bind(evaluation.to_string())
        .bind(workspace.to_string())
        .bind(conversation.id.to_string())
        .bind(version.id.to_string())
        .bind(item.grader_id.to_string())
        .bind(EvaluationKind::Review.as_str())
        .bind(conversation.vendor_id.to_string())
        .bind(conversation.team_id.map(|t| t.to_string()))
        .bind(conversation.agent_id.map(|a| a.to_string()))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if !link_started(&mut tx, item, evaluation).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(evaluation))
    }

    /// A plan's progress at `now`; with `grader_vendor`, only the items of that vendor's graders.
    pub async fn plan_progress(
        &self,
        workspace: WorkspaceId,
        plan: PlanId,
        grader_vendor: Option<VendorId>,
        now: Millis,
    ) -> Result<PlanProgress> {
        let items = self
            .list_assignments(
                workspace,
                &AssignmentQuery { plan_id: Some(plan), grader_vendor_id: grader_vendor, ..Default::default() },
            )
            .await?;
        let states: Vec<AssignmentState> = items
            .into_iter()
            .map(|a| AssignmentState {
                grader_id: a.grader_id,
                grader_name: a.grader_name,
                status: a.status,
                due_at: a.due_at,
            })
            .collect();
        Ok(progress(&states, now))
    }
}
