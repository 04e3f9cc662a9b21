//! Calibration sessions: setup, participants and their tasks, the facilitation document (saved
//! whole with optimistic concurrency), reveal, submit with results and publishing, decisions,
//! action items, follow-ups and the append-only audit trail.
//!
//! State changes are conditional UPDATEs (`WHERE status = ... AND revision = ...`), so two
//! concurrent requests can never both win; every multi-row write is one transaction.

use crate::sql::BindFloat;
use crate::sql::{self, Select, Value};
use crate::{Page, PageRequest, Result, Store, StoreError, now_millis, page_of};
use plumbline_domain::access::{Permission, VendorScope};
use plumbline_domain::calibration::{
    ActionKind, CalibrationSession, Change, Facilitation, Participant, SessionMode, SessionResults, SessionStatus,
    SubmittedScore, facilitation_changes, session_results,
};
use plumbline_domain::calibration_report::{CriterionRow, ResultRow};
use plumbline_domain::conversation::Conversation;
use plumbline_domain::evaluation::{Evaluation, EvaluationKind, EvaluationStatus};
use plumbline_domain::review_plans::due_at;
use plumbline_domain::scorecard::{FieldError, VersionStatus};
use plumbline_domain::scoring::score_evaluation;
use plumbline_domain::{
    ActionItemId, AssignmentId, CalibrationId, ConversationId, CriterionId, DecisionId, EvaluationId, Millis, PlanId,
    ScorecardId, ScorecardVersionId, UserId, WorkspaceId,
};
use serde::Serialize;
use sqlx::any::AnyRow;

pub const MAX_SESSION_CONVERSATIONS: usize = 50;
pub const MAX_SESSION_PARTICIPANTS: usize = 200;

/// Why a hidden session cannot hide the agent's name.
const HIDDEN_SHOWS_AGENT: &str = "a hidden session must look like an ordinary review, which shows the agent; \
     hiding the name would give the session away (use blind mode to hide the agent)";

/// A new session (status `scoring`: participants see their tasks at once).
#[derive(Clone, Debug)]
pub struct NewSession {
    pub title: String,
    pub goals: String,
    pub scorecard_version_id: ScorecardVersionId,
    pub facilitator_id: UserId,
    pub mode: SessionMode,
    pub hide_agent_name: bool,
    pub scheduled_at: Option<Millis>,
    pub scoring_deadline: Option<Millis>,
    pub conversation_ids: Vec<ConversationId>,
    pub participant_ids: Vec<UserId>,
    /// Hidden mode only: put the tasks in the participants' queues of this review plan.
    pub review_plan_id: Option<PlanId>,
    pub created_by: UserId,
}

/// Setup changes; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct SessionPatch {
    pub title: Option<String>,
    pub goals: Option<String>,
    pub facilitator_id: Option<UserId>,
    pub hide_agent_name: Option<bool>,
    pub scheduled_at: Option<Option<Millis>>,
    pub scoring_deadline: Option<Option<Millis>>,
}

/// A session with everything stored about it.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRecord {
    pub session: CalibrationSession,
    pub participants: Vec<Participant>,
    pub facilitation: Facilitation,
    pub revision: i64,
    pub updated_by: Option<UserId>,
    pub updated_at: Millis,
    pub results: Option<SessionResults>,
}

impl SessionRecord {
    pub fn active_participants(&self) -> Vec<UserId> {
        self.participants.iter().filter(|p| p.is_active()).map(|p| p.user_id).collect()
    }
    pub fn is_participant(&self, user: UserId) -> bool {
        self.participants.iter().any(|p| p.user_id == user && p.is_active())
    }
}

/// Which sessions a viewer may list.
#[derive(Clone, Copy, Debug)]
pub enum SessionVisibility {
    /// Admins and qa_leads.
    All,
    /// Sessions this user facilitates or takes part in (hidden sessions excluded).
    Involving(UserId),
}

/// Whether the calibrated result may be published as `calibrated` evaluations.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Publishing {
    pub available: bool,
    /// Why not, when it is not.
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub at: Millis,
    pub user_id: UserId,
    pub user_name: String,
    #[serde(flatten)]
    pub change: Change,
}

/// A decision of a submitted session, shown with its criterion's guidelines.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DecisionNote {
    pub id: DecisionId,
    pub session_id: CalibrationId,
    pub session_title: String,
    pub criterion_id: Option<CriterionId>,
    pub text: String,
    pub decided_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ActionRecord {
    pub id: ActionItemId,
    pub session_id: CalibrationId,
    pub session_title: String,
    pub kind: ActionKind,
    pub text: String,
    pub owner_id: Option<UserId>,
    pub due_on: Option<String>,
    pub done: bool,
    pub done_at: Option<Millis>,
    pub created_at: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FollowUp {
    pub session_id: CalibrationId,
    pub session_title: String,
    pub user_id: UserId,
    pub user_name: String,
    pub reason: String,
    pub created_at: Millis,
    pub resolved_at: Option<Millis>,
}

const SESSION_COLUMNS: &str = "id, title, goals, scorecard_version_id, facilitator_id, mode, hide_agent_name, \
     scheduled_at, scoring_deadline, status, facilitation, revision, updated_by, updated_at, results, published, \
     created_by, created_at, revealed_at, submitted_at, review_plan_id";

fn bad(field: &str, reason: impl Into<String>) -> StoreError {
    StoreError::Invalid(vec![FieldError::new(field, reason)])
}

/// A session row; conversations and participants are filled in by the caller.
fn session_of(row: &AnyRow) -> Result<SessionRecord> {
    let mode = sql::text(row, "mode")?;
    let status = sql::text(row, "status")?;
    let results: Option<SessionResults> = match sql::opt_text(row, "results")? {
        Some(text) => Some(serde_json::from_str(&text).map_err(|e| StoreError::Database(e.to_string()))?),
        None => None,
    };
    Ok(SessionRecord {
        session: CalibrationSession {
            id: sql::id(row, "id")?,
            title: sql::text(row, "title")?,
            goals: sql::text(row, "goals")?,
            scorecard_version_id: sql::id(row, "scorecard_version_id")?,
            facilitator_id: sql::id(row, "facilitator_id")?,
            mode: SessionMode::parse(&mode).ok_or_else(|| StoreError::Database(format!("unknown mode {mode:?}")))?,
            hide_agent_name: sql::flag(row, "hide_agent_name")?,
            scheduled_at: sql::opt_int(row, "scheduled_at")?,
            scoring_deadline: sql::opt_int(row, "scoring_deadline")?,
            status: SessionStatus::parse(&status)
                .ok_or_else(|| StoreError::Database(format!("unknown status {status:?}")))?,
            conversation_ids: Vec::new(),
            created_by: sql::id(row, "created_by")?,
            created_at: sql::int(row, "created_at")?,
            revealed_at: sql::opt_int(row, "revealed_at")?,
            submitted_at: sql::opt_int(row, "submitted_at")?,
            published: sql::flag(row, "published")?,
            review_plan_id: sql::opt_id(row, "review_plan_id")?,
        },
        participants: Vec::new(),
        facilitation: sql::json(row, "facilitation")?,
        revision: sql::int(row, "revision")?,
        updated_by: sql::opt_id(row, "updated_by")?,
        updated_at: sql::int(row, "updated_at")?,
        results,
    })
}

type Tx = crate::WriteTx;

async fn audit(tx: &mut Tx, session: CalibrationId, user: UserId, at: Millis, change: &Change) -> Result<()> {
    sqlx::query(
        "INSERT INTO calibration_audit (id, session_id, user_id, at, what, old_value, new_value)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(session.to_string())
    .bind(user.to_string())
    .bind(at)
    .bind(&change.what)
    .bind(change.old.as_deref())
    .bind(change.new.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Creates a participant's tasks, one per conversation. Without a review plan each task is a
/// draft evaluation at once (in hidden mode an ordinary-looking review; its session link keeps
/// it out of IQS). A hidden session with a plan puts each task in the participant's queue of
/// that plan instead ([`queue_tasks`]); the review is created when they start it.
async fn insert_tasks(
    tx: &mut Tx,
    workspace: WorkspaceId,
    session: &CalibrationSession,
    user: UserId,
    conversations: &[Conversation],
    now: Millis,
) -> Result<()> {
    if session.review_plan_id.is_some() {
        return queue_tasks(tx, workspace, session, user, conversations, now).await;
    }
    for conversation in conversations {
        insert_task(tx, workspace, session, user, conversation, now).await?;
    }
    Ok(())
}

/// One participant's task on one conversation: a draft evaluation linked to the session, kind
/// `review` in hidden mode.
async fn insert_task(
    tx: &mut Tx,
    workspace: WorkspaceId,
    session: &CalibrationSession,
    user: UserId,
    conversation: &Conversation,
    now: Millis,
) -> Result<EvaluationId> {
    let kind = if session.mode == SessionMode::Hidden { EvaluationKind::Review } else { EvaluationKind::Calibration };
    let id = EvaluationId::new();
    sqlx::query(
        "INSERT INTO evaluations (id, workspace_id, conversation_id, scorecard_version_id, reviewer_id, kind, status,
             overall_feedback, vendor_id, team_id, agent_id, revision, created_at, updated_at, calibration_session_id)
         VALUES ($1, $2, $3, $4, $5, $6, 'draft', '', $7, $8, $9, 1, $10, $10, $11)",
    )
    .bind(id.to_string())
    .bind(workspace.to_string())
    .bind(conversation.id.to_string())
    .bind(session.scorecard_version_id.to_string())
    .bind(user.to_string())
    .bind(kind.as_str())
    .bind(conversation.vendor_id.to_string())
    .bind(conversation.team_id.map(|t| t.to_string()))
    .bind(conversation.agent_id.map(|a| a.to_string()))
    .bind(now)
    .bind(session.id.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// A hidden session's tasks in the participant's queue of its plan: items like those the plan's
/// draws make (the latest draw's number; due at the scoring deadline, else the plan's
/// `due_in_days` from now), each linked to the session.
async fn queue_tasks(
    tx: &mut Tx,
    workspace: WorkspaceId,
    session: &CalibrationSession,
    user: UserId,
    conversations: &[Conversation],
    now: Millis,
) -> Result<()> {
    let Some(plan) = session.review_plan_id else { return Ok(()) };
    let (due_in_days, draws): (i64, i64) = sqlx::query_as(
        "SELECT p.due_in_days, (SELECT COUNT(*) FROM review_plan_draws d WHERE d.plan_id = p.id)
         FROM review_plans p WHERE p.id = $1",
    )
    .bind(plan.to_string())
    .fetch_one(&mut **tx)
    .await?;
    let (grader_vendor,): (String,) =
        sqlx::query_as("SELECT vendor_id FROM users WHERE id = $1").bind(user.to_string()).fetch_one(&mut **tx).await?;
    let due = session.scoring_deadline.unwrap_or_else(|| due_at(now, due_in_days as u32));
    for conversation in conversations {
        sqlx::query(
            "INSERT INTO review_assignments (id, workspace_id, plan_id, draw_number, conversation_id, grader_id,
                 grader_vendor_id, conversation_vendor_id, due_at, created_at, calibration_session_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(AssignmentId::new().to_string())
        .bind(workspace.to_string())
        .bind(plan.to_string())
        .bind((draws - 1).max(0))
        .bind(conversation.id.to_string())
        .bind(user.to_string())
        .bind(&grader_vendor)
        .bind(conversation.vendor_id.to_string())
        .bind(due)
        .bind(now)
        .bind(session.id.to_string())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Takes a hidden session's queue items that are not done out of the queues (of one
/// participant, or everyone's), with the drafts started from them: the session no longer takes
/// their scores (revealed, submitted or cancelled), or the participant left it.
async fn withdraw_queued(tx: &mut Tx, session: CalibrationId, user: Option<UserId>) -> Result<()> {
    let (drafts, items) = match user {
        Some(_) => (" AND reviewer_id = $2", " AND grader_id = $2"),
        None => ("", ""),
    };
    // Deleting a draft empties its item's evaluation_id (ON DELETE SET NULL): then the item goes.
    let statements = [
        format!(
            "DELETE FROM evaluations WHERE calibration_session_id = $1 AND status = 'draft'{drafts}
               AND id IN (SELECT evaluation_id FROM review_assignments WHERE calibration_session_id = $1)"
        ),
        format!(
            "DELETE FROM review_assignments WHERE calibration_session_id = $1{items}
               AND NOT EXISTS (SELECT 1 FROM evaluations e
                               WHERE e.id = review_assignments.evaluation_id AND e.status = 'submitted')"
        ),
    ];
    for statement in statements {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(statement)).bind(session.to_string());
        if let Some(user) = user {
            query = query.bind(user.to_string());
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Locks the session row for this transaction if its status is one of `statuses`.
async fn claim(tx: &mut Tx, session: CalibrationId, statuses: &[SessionStatus], refusal: &str) -> Result<()> {
    let list = statuses.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ");
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE calibration_sessions SET updated_at = updated_at WHERE id = $1 AND status IN ({list})"
    )))
    .bind(session.to_string())
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(refusal.to_string()));
    }
    Ok(())
}

fn check_setup_text(title: &str, goals: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if title.trim().is_empty() {
        errors.push(FieldError::new("title", "must not be empty"));
    } else if title.chars().count() > plumbline_domain::calibration::MAX_TITLE {
        errors.push(FieldError::new(
            "title",
            format!("must be at most {} characters", plumbline_domain::calibration::MAX_TITLE),
        ));
    }
    if goals.chars().count() > plumbline_domain::calibration::MAX_NOTES {
        errors.push(FieldError::new(
            "goals",
            format!("must be at most {} characters", plumbline_domain::calibration::MAX_NOTES),
        ));
    }
    errors
}

impl Store {
    /// Creates a session in status `scoring` with a task per participant and conversation.
    pub async fn create_calibration(&self, workspace: WorkspaceId, new: NewSession) -> Result<SessionRecord> {
        let mut errors = check_setup_text(&new.title, &new.goals);
        if new.conversation_ids.is_empty() {
            errors.push(FieldError::new("conversation_ids", "choose at least one conversation"));
        }
        if new.conversation_ids.len() > MAX_SESSION_CONVERSATIONS {
            errors.push(FieldError::new(
                "conversation_ids",
                format!("at most {MAX_SESSION_CONVERSATIONS} conversations per session"),
            ));
        }
        if new.participant_ids.is_empty() {
            errors.push(FieldError::new("participant_ids", "choose at least one participant"));
        }
        if new.participant_ids.len() > MAX_SESSION_PARTICIPANTS {
            errors.push(FieldError::new(
                "participant_ids",
                format!("at most {MAX_SESSION_PARTICIPANTS} participants per session"),
            ));
        }
        let mut conversations = Vec::new();
        for (i, id) in new.conversation_ids.iter().enumerate() {
            if new.conversation_ids[..i].contains(id) {
                errors.push(FieldError::new(format!("conversation_ids[{i}]"), "is listed twice"));
                continue;
            }
            match self.get_conversation(workspace, VendorScope::All, *id).await {
                Ok(c) => conversations.push(c),
                Err(StoreError::NotFound) => {
                    errors.push(FieldError::new(format!("conversation_ids[{i}]"), "there is no such conversation"))
                }
                Err(e) => return Err(e),
            }
        }
        for (i, id) in new.participant_ids.iter().enumerate() {
            if new.participant_ids[..i].contains(id) {
                errors.push(FieldError::new(format!("participant_ids[{i}]"), "is listed twice"));
            }
            match self.get_user(workspace, *id).await {
                Ok(u) if u.active => {}
                Ok(_) => errors.push(FieldError::new(format!("participant_ids[{i}]"), "the user is deactivated")),
                Err(StoreError::NotFound) => {
                    errors.push(FieldError::new(format!("participant_ids[{i}]"), "there is no such user"))
                }
                Err(e) => return Err(e),
            }
        }
        match self.get_user(workspace, new.facilitator_id).await {
            Ok(u) if u.active => {}
            Ok(_) | Err(StoreError::NotFound) => {
                errors.push(FieldError::new("facilitator_id", "there is no such active user"))
            }
            Err(e) => return Err(e),
        }
        match self.get_version(workspace, new.scorecard_version_id).await {
            Ok(v) if v.status == VersionStatus::Retired => errors.push(FieldError::new(
                "scorecard_version_id",
                format!("version {} is retired; calibrate the active version or a draft", v.number),
            )),
            Ok(_) => {}
            Err(StoreError::NotFound) => {
                errors.push(FieldError::new("scorecard_version_id", "there is no such scorecard version"))
            }
            Err(e) => return Err(e),
        }
        if let (Some(deadline), Some(scheduled)) = (new.scoring_deadline, new.scheduled_at)
            && deadline > scheduled
        {
            errors.push(FieldError::new("scoring_deadline", "must not be after the scheduled time"));
        }
        if new.mode == SessionMode::Hidden && new.hide_agent_name {
            errors.push(FieldError::new("hide_agent_name", HIDDEN_SHOWS_AGENT));
        }
        if let Some(plan) = new.review_plan_id {
            errors.extend(self.plan_refusals(workspace, plan, &new).await?);
            if errors.is_empty() {
                let people: Vec<(String, UserId)> = new
                    .participant_ids
                    .iter()
                    .enumerate()
                    .map(|(i, u)| (format!("participant_ids[{i}]"), *u))
                    .collect();
                errors.extend(self.queue_refusals(workspace, None, &people, &conversations).await?);
            }
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let now = now_millis();
        let session = CalibrationSession {
            id: CalibrationId::new(),
            title: new.title.trim().to_string(),
            goals: new.goals,
            scorecard_version_id: new.scorecard_version_id,
            facilitator_id: new.facilitator_id,
            mode: new.mode,
            hide_agent_name: new.hide_agent_name,
            scheduled_at: new.scheduled_at,
            scoring_deadline: new.scoring_deadline,
            status: SessionStatus::Scoring,
            conversation_ids: new.conversation_ids.clone(),
            created_by: new.created_by,
            created_at: now,
            revealed_at: None,
            submitted_at: None,
            published: false,
            review_plan_id: new.review_plan_id,
        };
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO calibration_sessions (id, workspace_id, title, goals, scorecard_version_id, facilitator_id, mode,
                 hide_agent_name, scheduled_at, scoring_deadline, status, facilitation, revision, updated_by, updated_at,
                 published, created_by, created_at, review_plan_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'scoring', $11, 1, $12, $13, 0, $12, $13, $14)",
        )
        .bind(session.id.to_string())
        .bind(workspace.to_string())
        .bind(&session.title)
        .bind(&session.goals)
        .bind(session.scorecard_version_id.to_string())
        .bind(session.facilitator_id.to_string())
        .bind(session.mode.as_str())
        .bind(i64::from(session.hide_agent_name))
        .bind(session.scheduled_at)
        .bind(session.scoring_deadline)
        .bind(sql::to_json(&Facilitation::default()))
        .bind(new.created_by.to_string())
        .bind(now)
        .bind(session.review_plan_id.map(|p| p.to_string()))
        .execute(&mut *tx)
        .await?;
        for (position, conversation) in conversations.iter().enumerate() {
            sqlx::query(
                "INSERT INTO calibration_conversations (session_id, conversation_id, position) VALUES ($1, $2, $3)",
            )
            .bind(session.id.to_string())
            .bind(conversation.id.to_string())
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
        }
        for user in &new.participant_ids {
            sqlx::query("INSERT INTO calibration_participants (session_id, user_id, added_at) VALUES ($1, $2, $3)")
                .bind(session.id.to_string())
                .bind(user.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            insert_tasks(&mut tx, workspace, &session, *user, &conversations, now).await?;
        }
        audit(
            &mut tx,
            session.id,
            new.created_by,
            now,
            &Change::new("session created", None, Some(session.title.clone())),
        )
        .await?;
        tx.commit().await?;
        self.get_calibration(workspace, session.id).await
    }

    /// Why a new session may not wait in `plan`'s queues: only a hidden session does, and its
    /// tasks must be reviewed with the version the plan's own items use (its scorecard's active
    /// version), or the scorecard would give the session away.
    async fn plan_refusals(&self, workspace: WorkspaceId, plan: PlanId, new: &NewSession) -> Result<Vec<FieldError>> {
        if new.mode != SessionMode::Hidden {
            return Ok(vec![FieldError::new(
                "review_plan_id",
                "only a hidden session waits in a review plan's queues; the others are listed as sessions",
            )]);
        }
        let plan = match self.get_review_plan(workspace, plan).await {
            Ok(plan) => plan,
            Err(StoreError::NotFound) => {
                return Ok(vec![FieldError::new("review_plan_id", "there is no such review plan")]);
            }
            Err(e) => return Err(e),
        };
        let active = self.active_version(workspace, plan.scorecard_id).await?;
        if active.as_ref().is_none_or(|v| v.id != new.scorecard_version_id) {
            return Ok(vec![FieldError::new(
                "review_plan_id",
                format!(
                    "the items of plan {:?} are reviewed with its scorecard's active version; calibrate that version \
                     so the task looks like the others",
                    plan.name
                ),
            )]);
        }
        Ok(Vec::new())
    }

    /// Why people cannot take part through a plan's queue: each must write reviews (a queue is a
    /// grader's), and must not have one of the conversations in their queue already outside this
    /// session (a second item on it would give the session away).
    async fn queue_refusals(
        &self,
        workspace: WorkspaceId,
        session: Option<CalibrationId>,
        people: &[(String, UserId)],
        conversations: &[Conversation],
    ) -> Result<Vec<FieldError>> {
        let mut errors = Vec::new();
        for (field, user) in people {
            if !self.grader_viewer(workspace, *user).await?.is_some_and(|v| v.may(Permission::Evaluate)) {
                errors.push(FieldError::new(
                    field,
                    "would find the task in their review queue, which only users who write reviews have",
                ));
                continue;
            }
            let queued: Vec<(String,)> = sqlx::query_as(
                "SELECT conversation_id FROM review_assignments WHERE workspace_id = $1 AND grader_id = $2
                   AND (calibration_session_id IS NULL OR calibration_session_id <> $3)",
            )
            .bind(workspace.to_string())
            .bind(user.to_string())
            .bind(session.map(|s| s.to_string()).unwrap_or_default())
            .fetch_all(self.pool())
            .await?;
            for conversation in conversations {
                if queued.iter().any(|(id,)| *id == conversation.id.to_string()) {
                    errors.push(FieldError::new(
                        field,
                        format!(
                            "already has conversation {} in their review queue; a second item on it would give \
                             the hidden session away",
                            conversation.external_id
                        ),
                    ));
                }
            }
        }
        Ok(errors)
    }

    /// A session with its conversations, participants (current and removed), facilitation
    /// document, revision and results.
    pub async fn get_calibration(&self, workspace: WorkspaceId, id: CalibrationId) -> Result<SessionRecord> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM calibration_sessions WHERE workspace_id = $1 AND id = $2"
        )))
        .bind(workspace.to_string())
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let mut record = session_of(&row)?;
        let conversations: Vec<(String,)> = sqlx::query_as(
            "SELECT conversation_id FROM calibration_conversations WHERE session_id = $1 ORDER BY position",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        record.session.conversation_ids = conversations
            .into_iter()
            .map(|(c,)| c.parse().map_err(|_| StoreError::Database(format!("bad id {c:?}"))))
            .collect::<Result<_>>()?;
        let rows = sqlx::query(
            "SELECT p.user_id, u.name, u.vendor_id, p.added_at, p.removed_at, p.removal_reason
             FROM calibration_participants p JOIN users u ON u.id = p.user_id
             WHERE p.session_id = $1 ORDER BY u.name, p.user_id",
        )
        .bind(id.to_string())
        .fetch_all(self.pool())
        .await?;
        record.participants = rows
            .iter()
            .map(|r| {
                Ok(Participant {
                    user_id: sql::id(r, "user_id")?,
                    name: sql::text(r, "name")?,
                    vendor_id: sql::id(r, "vendor_id")?,
                    added_at: sql::int(r, "added_at")?,
                    removed_at: sql::opt_int(r, "removed_at")?,
                    removal_reason: sql::opt_text(r, "removal_reason")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(record)
    }

    /// Sessions newest first.
    pub async fn list_calibrations(
        &self,
        workspace: WorkspaceId,
        visibility: SessionVisibility,
        status: Option<SessionStatus>,
        page: &PageRequest,
    ) -> Result<Page<CalibrationSession>> {
        let mut q = Select::new(&format!("SELECT {SESSION_COLUMNS} FROM calibration_sessions"));
        q.and_text("workspace_id", workspace).and_opt_text("status", status.map(SessionStatus::as_str));
        if let SessionVisibility::Involving(user) = visibility {
            // Hidden sessions never show to their participants.
            q.and_expr(
                "(facilitator_id = ? OR (mode <> 'hidden' AND id IN
                    (SELECT session_id FROM calibration_participants WHERE removed_at IS NULL AND user_id = ?)))",
                vec![Value::Text(user.to_string()), Value::Text(user.to_string())],
            );
        }
        if let Some(cursor) = &page.cursor {
            q.and("id", "<", Value::Text(cursor.clone()));
        }
        let limit = page.limit();
        let rows = q.fetch_all(self.pool(), &format!("ORDER BY id DESC LIMIT {}", limit + 1)).await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut session = session_of(row)?.session;
            let conversations: Vec<(String,)> = sqlx::query_as(
                "SELECT conversation_id FROM calibration_conversations WHERE session_id = $1 ORDER BY position",
            )
            .bind(session.id.to_string())
            .fetch_all(self.pool())
            .await?;
            session.conversation_ids = conversations.into_iter().filter_map(|(c,)| c.parse().ok()).collect();
            items.push(session);
        }
        Ok(page_of(items, limit, |s| s.id.to_string()))
    }

    /// Every participant's task in a session (drafts and submitted).
    pub async fn calibration_tasks(&self, workspace: WorkspaceId, session: CalibrationId) -> Result<Vec<Evaluation>> {
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM evaluations WHERE workspace_id = $1 AND calibration_session_id = $2 ORDER BY id",
        )
        .bind(workspace.to_string())
        .bind(session.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut tasks = Vec::with_capacity(ids.len());
        for (id,) in ids {
            let id: EvaluationId = id.parse().map_err(|_| StoreError::Database(format!("bad id {id:?}")))?;
            tasks.push(self.get_evaluation(workspace, id).await?.0);
        }
        Ok(tasks)
    }

    /// Adds a participant (or brings back a removed one) while the session is scoring.
    pub async fn add_participant(
        &self,
        workspace: WorkspaceId,
        session: CalibrationId,
        user: UserId,
        by: UserId,
    ) -> Result<SessionRecord> {
        let record = self.get_calibration(workspace, session).await?;
        let person = self.get_user(workspace, user).await.map_err(|_| bad("user_id", "there is no such user"))?;
        if !person.active {
            return Err(bad("user_id", "the user is deactivated"));
        }
        if record.is_participant(user) {
            return Err(StoreError::Conflict(format!("{} already takes part", person.name)));
        }
        let mut conversations = Vec::new();
        for id in &record.session.conversation_ids {
            conversations.push(self.get_conversation(workspace, VendorScope::All, *id).await?);
        }
        if record.session.review_plan_id.is_some() {
            let errors =
                self.queue_refusals(workspace, Some(session), &[("user_id".into(), user)], &conversations).await?;
            if !errors.is_empty() {
                return Err(StoreError::Invalid(errors));
            }
        }
        let returning = record.participants.iter().any(|p| p.user_id == user);
        let now = now_millis();
        let mut tx = self.write().await?;
        claim(
            &mut tx,
            session,
            &[SessionStatus::Scoring],
            "participants can be added only until the scores are revealed",
        )
        .await?;
        if returning {
            sqlx::query(
                "UPDATE calibration_participants SET removed_at = NULL, removal_reason = NULL, added_at = $1
                 WHERE session_id = $2 AND user_id = $3",
            )
            .bind(now)
            .bind(session.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
            // Tasks deleted at removal (drafts) come back; submitted ones were kept.
            let kept: Vec<(String,)> = sqlx::query_as(
                "SELECT conversation_id FROM evaluations WHERE calibration_session_id = $1 AND reviewer_id = $2",
            )
            .bind(session.to_string())
            .bind(user.to_string())
            .fetch_all(&mut *tx)
            .await?;
            conversations.retain(|c| !kept.iter().any(|(k,)| *k == c.id.to_string()));
        } else {
            sqlx::query("INSERT INTO calibration_participants (session_id, user_id, added_at) VALUES ($1, $2, $3)")
                .bind(session.to_string())
                .bind(user.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        insert_tasks(&mut tx, workspace, &record.session, user, &conversations, now).await?;
        audit(&mut tx, session, by, now, &Change::new("participant added", None, Some(person.name))).await?;
        tx.commit().await?;
        self.get_calibration(workspace, session).await
    }

    /// Removes a participant with a reason, until the session is submitted. Their draft tasks
    /// leave their work list; submitted scores are kept but no longer count in the results.
    pub async fn remove_participant(
        &self,
        workspace: WorkspaceId,
        session: CalibrationId,
        user: UserId,
        reason: &str,
        by: UserId,
    ) -> Result<SessionRecord> {
        if reason.trim().is_empty() {
            return Err(bad("reason", "say why the participant is removed"));
        }
        if reason.chars().count() > 2000 {
            return Err(bad("reason", "must be at most 2000 characters"));
        }
        let record = self.get_calibration(workspace, session).await?;
        let Some(person) = record.participants.iter().find(|p| p.user_id == user && p.is_active()) else {
            return Err(StoreError::NotFound);
        };
        let now = now_millis();
        let mut tx = self.write().await?;
        claim(
            &mut tx,
            session,
            &[SessionStatus::Scoring, SessionStatus::Discussion],
            "the session is submitted or cancelled; its participants are final",
        )
        .await?;
        sqlx::query(
            "UPDATE calibration_participants SET removed_at = $1, removal_reason = $2 WHERE session_id = $3 AND user_id = $4",
        )
        .bind(now)
        .bind(reason.trim())
        .bind(session.to_string())
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
        withdraw_queued(&mut tx, session, Some(user)).await?;
        sqlx::query(
            "DELETE FROM evaluations WHERE calibration_session_id = $1 AND reviewer_id = $2 AND status = 'draft'",
        )
        .bind(session.to_string())
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
        audit(
            &mut tx,
            session,
            by,
            now,
            &Change::new("participant removed", Some(person.name.clone()), Some(reason.trim().to_string())),
        )
        .await?;
        tx.commit().await?;
        self.get_calibration(workspace, session).await
    }

    /// Changes the setup (title, goals, facilitator, agent name, times) until the session is final.
    pub async fn update_calibration(
        &self,
        workspace: WorkspaceId,
        session: CalibrationId,
        patch: SessionPatch,
        by: UserId,
    ) -> Result<SessionRecord> {
        let record = self.get_calibration(workspace, session).await?;
        let old = &record.session;
        let title = patch.title.clone().unwrap_or_else(|| old.title.clone());
        let goals = patch.goals.clone().unwrap_or_else(|| old.goals.clone());
        let mut errors = check_setup_text(&title, &goals);
        if let Some(facilitator) = patch.facilitator_id
            && !self.get_user(workspace, facilitator).await.is_ok_and(|u| u.active)
        {
            errors.push(FieldError::new("facilitator_id", "there is no such active user"));
        }
        let scheduled_at = patch.scheduled_at.unwrap_or(old.scheduled_at);
        let scoring_deadline = patch.scoring_deadline.unwrap_or(old.scoring_deadline);
        if let (Some(deadline), Some(scheduled)) = (scoring_deadline, scheduled_at)
            && deadline > scheduled
        {
            errors.push(FieldError::new("scoring_deadline", "must not be after the scheduled time"));
        }
        if old.mode == SessionMode::Hidden && patch.hide_agent_name == Some(true) {
            errors.push(FieldError::new("hide_agent_name", HIDDEN_SHOWS_AGENT));
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let facilitator = patch.facilitator_id.unwrap_or(old.facilitator_id);
        let hide = patch.hide_agent_name.unwrap_or(old.hide_agent_name);
        let show = |v: Option<Millis>| v.map(|m| m.to_string());
        let mut changes = Vec::new();
        if title.trim() != old.title {
            changes.push(Change::new("title", Some(old.title.clone()), Some(title.trim().to_string())));
        }
        if goals != old.goals {
            changes.push(Change::new("goals", Some(old.goals.clone()), Some(goals.clone())));
        }
        if facilitator != old.facilitator_id {
            changes.push(Change::new(
                "facilitator",
                Some(old.facilitator_id.to_string()),
                Some(facilitator.to_string()),
            ));
        }
        if hide != old.hide_agent_name {
            changes.push(Change::new("hide agent name", Some(old.hide_agent_name.to_string()), Some(hide.to_string())));
        }
        if scheduled_at != old.scheduled_at {
            changes.push(Change::new("scheduled at", show(old.scheduled_at), show(scheduled_at)));
        }
        if scoring_deadline != old.scoring_deadline {
            changes.push(Change::new("scoring deadline", show(old.scoring_deadline), show(scoring_deadline)));
        }
        let now = now_millis();
        let mut tx = self.write().await?;
        claim(&mut tx, session, &[SessionStatus::Scoring, SessionStatus::Discussion], "the session is final").await?;
        sqlx::query(
            "UPDATE calibration_sessions SET title = $1, goals = $2, facilitator_id = $3, hide_agent_name = $4,
                 scheduled_at = $5, scoring_deadline = $6 WHERE id = $7",
        )
        .bind(title.trim())
        .bind(&goals)
        .bind(facilitator.to_string())
        .bind(i64::from(hide))
        .bind(scheduled_at)
        .bind(scoring_deadline)
        .bind(session.to_string())
        .execute(&mut *tx)
        .await?;
        for change in &changes {
            audit(&mut tx, session, by, now, change).await?;
        }
        tx.commit().await?;
        self.get_calibration(workspace, session).await
    }

    /// Saves the facilitation document. `expected_revision` is the revision the editor loaded;
    /// if someone saved since, nothing is written and [`StoreError::Stale`] says who and when.
    pub async fn save_facilitation(
        &self,
        workspace: WorkspaceId,
        session: CalibrationId,
        expected_revision: i64,
        document: Facilitation,
        by: UserId,
    ) -> Result<SessionRecord> {
        let record = self.get_calibration(workspace, session).await?;
        if record.session.status.is_final() {
            return Err(StoreError::Conflict("the session is submitted or cancelled; it can no longer change".into()));
        }
        if record.revision != expected_revision {
            return Err(self.stale(workspace, &record).await);
        }
        let version = self.get_version(workspace, record.session.scorecard_version_id).await?;
        let participants = record.active_participants();
        let mut errors = document.check(&version.definition, &record.session.conversation_ids, &participants);
        for (i, action) in document.actions.iter().enumerate() {
            if let Some(owner) = action.owner_id
                && !self.get_user(workspace, owner).await.is_ok_and(|u| u.active)
            {
                errors.push(FieldError::new(format!("actions[{i}].owner_id"), "there is no such active user"));
            }
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let changes = facilitation_changes(&version.definition, &record.facilitation, &document);
        let now = now_millis();
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE calibration_sessions SET facilitation = $1, revision = revision + 1, updated_by = $2, updated_at = $3
             WHERE id = $4 AND revision = $5 AND status IN ('scoring', 'discussion')",
        )
        .bind(sql::to_json(&document))
        .bind(by.to_string())
        .bind(now)
        .bind(session.to_string())
        .bind(expected_revision)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            drop(tx);
            let current = self.get_calibration(workspace, session).await?;
            if current.session.status.is_final() {
                return Err(StoreError::Conflict("the session was submitted meanwhile".into()));
            }
            return Err(self.stale(workspace, &current).await);
        }
        for change in &changes {
            audit(&mut tx, session, by, now, change).await?;
        }
        tx.commit().await?;
        self.get_calibration(workspace, session).await
    }

    async fn stale(&self, workspace: WorkspaceId, record: &SessionRecord) -> StoreError {
        let name = match record.updated_by {
            Some(user) => self.get_user(workspace, user).await.map(|u| u.name).ok(),
            None => None,
        };
        StoreError::Stale { current_revision: record.revision, updated_by: name, updated_at: record.updated_at }
    }

    /// Moves the session from scoring to discussion: participants who submitted see everyone's
    /// scores, and scores can no longer change.
    pub async fn reveal_calibration(
        &self,
        workspace: WorkspaceId,
        session: CalibrationId,
        by: UserId,
    ) -> Result<SessionRecord> {
        self.get_calibration(workspace, session).await?;
        let now = now_millis();
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE calibration_sessions SET status = 'discussion', revealed_at = $1, revision = revision + 1,
                 updated_by = $2, updated_at = $1 WHERE id = $3 AND status = 'scoring'",
        )
        .bind(now)
        .bind(by.to_string())
        .bind(session.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("only a session that is scoring can be revealed".into()));
        }
        withdraw_queued(&mut tx, session, None).await?;
        audit(&mut tx, session, by, now, &Change::new("status", Some("scoring".into()), Some("discussion".into())))
            .await?;
        tx.commit().await?;
        self.get_calibration(workspace, session).await
    }

    /// Cancels a session that is not final; unsubmitted drafts leave the work lists.
    pub async fn cancel_calibration(
        &self,
        workspace: WorkspaceId,
        session: CalibrationId,
        reason: &str,
        by: UserId,
    ) -> Result<SessionRecord> {
        let record = self.get_calibration(workspace, session).await?;
        let now = now_millis();
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE calibration_sessions SET status = 'cancelled', revision = revision + 1, updated_by = $1, updated_at = $2
             WHERE id = $3 AND status IN ('scoring', 'discussion')",
        )
        .bind(by.to_string())
        .bind(now)
        .bind(session.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("the session is already submitted or cancelled".into()));
        }
        withdraw_queued(&mut tx, session, None).await?;
        sqlx::query("DELETE FROM evaluations WHERE calibration_session_id = $1 AND status = 'draft'")
            .bind(session.to_string())
            .execute(&mut *tx)
            .await?;
        let change =
            Change::new("status", Some(record.session.status.as_str().into()), Some(format!("cancelled: {reason}")));
        audit(&mut tx, session, by, now, &change).await?;
        tx.commit().await?;
        self.get_calibration(workspace, session).await
    }

    /// Whether publishing is available: only when no conversation of the session had a
    /// submitted review (or an earlier published result) outside calibration.
    pub async fn publishing(&self, workspace: WorkspaceId, record: &SessionRecord) -> Result<Publishing> {
        if record.session.published {
            return Ok(Publishing { available: false, reason: Some("the result is already published".into()) });
        }
        let mut reviewed = Vec::new();
        for conversation in &record.session.conversation_ids {
            let (count,): (i64,) = sqlx::query_as(
                "SELECT COUNT(*) FROM evaluations WHERE workspace_id = $1 AND conversation_id = $2
                   AND status = 'submitted' AND kind IN ('review', 'calibrated') AND calibration_session_id IS NULL",
            )
            .bind(workspace.to_string())
            .bind(conversation.to_string())
            .fetch_one(self.pool())
            .await?;
            if count > 0 {
                reviewed.push(conversation.to_string());
            }
        }
        Ok(if reviewed.is_empty() {
            Publishing { available: true, reason: None }
        } else {
            Publishing {
                available: false,
                reason: Some(format!(
                    "conversation {} already has a submitted review; a session does not rewrite a published evaluation",
                    reviewed.join(", ")
                )),
            }
        })
    }

    /// Submits the session: every criterion of every conversation needs a calibrated answer
    /// (otherwise `Invalid` listing what is missing). Freezes the session, stores the results,
    /// decisions, action items and follow-ups, and with `publish` writes one `calibrated`
    /// evaluation per conversation, all in one transaction.
    pub async fn submit_calibration(
        &self,
        workspace: WorkspaceId,
        session: CalibrationId,
        expected_revision: Option<i64>,
        publish: bool,
        by: UserId,
    ) -> Result<SessionRecord> {
        let record = self.get_calibration(workspace, session).await?;
        if record.session.status.is_final() {
            return Err(StoreError::Conflict("the session is already submitted or cancelled".into()));
        }
        if let Some(expected) = expected_revision
            && expected != record.revision
        {
            return Err(self.stale(workspace, &record).await);
        }
        let version = self.get_version(workspace, record.session.scorecard_version_id).await?;
        let definition = &version.definition;
        let missing = record.facilitation.missing_answers(definition, &record.session.conversation_ids);
        if !missing.is_empty() {
            return Err(StoreError::Invalid(missing));
        }
        if publish {
            let publishing = self.publishing(workspace, &record).await?;
            if !publishing.available {
                return Err(StoreError::Conflict(format!(
                    "publishing is not available: {}",
                    publishing.reason.unwrap_or_default()
                )));
            }
        }
        let settings = self.get_workspace(workspace).await?.settings;
        let policy = settings.scoring();
        let participants = record.active_participants();
        let tasks = self.calibration_tasks(workspace, session).await?;
        let scores: Vec<SubmittedScore> = tasks
            .iter()
            .filter(|t| t.status == EvaluationStatus::Submitted && participants.contains(&t.reviewer_id))
            .map(|t| SubmittedScore {
                user_id: t.reviewer_id,
                conversation_id: t.conversation_id,
                answers: t.answers.clone(),
            })
            .collect();
        let results = session_results(
            definition,
            policy,
            settings.tolerance_points,
            &record.facilitation,
            &record.session.conversation_ids,
            &participants,
            &scores,
        );
        let scorecard_id: ScorecardId = version.scorecard_id;
        let now = now_millis();
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE calibration_sessions SET status = 'submitted', results = $1, published = $2, submitted_at = $3,
                 revealed_at = COALESCE(revealed_at, $3), revision = revision + 1, updated_by = $4, updated_at = $3
             WHERE id = $5 AND revision = $6 AND status IN ('scoring', 'discussion')",
        )
        .bind(sql::to_json(&results))
        .bind(i64::from(publish))
        .bind(now)
        .bind(by.to_string())
        .bind(session.to_string())
        .bind(record.revision)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("the session changed while it was being submitted; reload it".into()));
        }
        withdraw_queued(&mut tx, session, None).await?;
        let vendor_of = |user: UserId| record.participants.iter().find(|p| p.user_id == user).map(|p| p.vendor_id);
        for r in &results.participants {
            sqlx::query(
                "INSERT INTO calibration_results (session_id, workspace_id, user_id, vendor_id, conversation_id,
                     scorecard_version_id, scored, score, calibrated_score, score_delta, within_tolerance, alignment,
                     na_disagreements, critical_disagreements, submitted_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            )
            .bind(session.to_string())
            .bind(workspace.to_string())
            .bind(r.user_id.to_string())
            .bind(vendor_of(r.user_id).map(|v| v.to_string()))
            .bind(r.conversation_id.to_string())
            .bind(version.id.to_string())
            .bind(i64::from(r.scored))
            .bind_float(r.score)
            .bind_float(r.calibrated_score)
            .bind_float(r.score_delta)
            .bind(r.within_tolerance.map(i64::from))
            .bind_float(r.alignment)
            .bind(r.na_disagreements as i64)
            .bind(r.critical_disagreements as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for c in &results.criteria {
            sqlx::query(
                "INSERT INTO calibration_criterion_results (session_id, workspace_id, conversation_id, criterion_id,
                     scorecard_version_id, agreement_with_calibrated, percent_agreement, spread, answered, submitted_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(session.to_string())
            .bind(workspace.to_string())
            .bind(c.conversation_id.to_string())
            .bind(c.summary.criterion_id.to_string())
            .bind(version.id.to_string())
            .bind(c.agreement_with_calibrated)
            .bind(c.summary.percent_agreement)
            .bind(c.summary.spread)
            .bind(c.summary.answered as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for d in &record.facilitation.decisions {
            sqlx::query(
                "INSERT INTO calibration_decisions (id, workspace_id, session_id, scorecard_id, criterion_id, text, decided_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(d.id.to_string())
            .bind(workspace.to_string())
            .bind(session.to_string())
            .bind(scorecard_id.to_string())
            .bind(d.criterion_id.map(|c| c.to_string()))
            .bind(&d.text)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for a in &record.facilitation.actions {
            sqlx::query(
                "INSERT INTO calibration_actions (id, workspace_id, session_id, kind, text, owner_id, due_on, done, done_at, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(a.id.to_string())
            .bind(workspace.to_string())
            .bind(session.to_string())
            .bind(a.kind.as_str())
            .bind(&a.text)
            .bind(a.owner_id.map(|o| o.to_string()))
            .bind(a.due_on.as_deref())
            .bind(i64::from(a.done))
            .bind(a.done.then_some(now))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for user in &participants {
            let outside: Vec<String> = results
                .participants
                .iter()
                .filter(|r| r.user_id == *user && r.within_tolerance == Some(false))
                .map(|r| {
                    format!(
                        "score delta {:+.1} on conversation {} (tolerance {} points)",
                        r.score_delta.unwrap_or_default(),
                        r.conversation_id,
                        settings.tolerance_points
                    )
                })
                .collect();
            if outside.is_empty() {
                continue;
            }
            sqlx::query(
                "INSERT INTO calibration_followups (session_id, user_id, workspace_id, reason, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(session.to_string())
            .bind(user.to_string())
            .bind(workspace.to_string())
            .bind(outside.join("; "))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        if publish {
            for conversation_id in &record.session.conversation_ids {
                let conversation = self.get_conversation(workspace, VendorScope::All, *conversation_id).await?;
                let calibrated = record.facilitation.calibrated_for(*conversation_id).cloned().unwrap_or_default();
                let score = score_evaluation(definition, &calibrated.answers, policy);
                let id = EvaluationId::new();
                sqlx::query(
                    "INSERT INTO evaluations (id, workspace_id, conversation_id, scorecard_version_id, reviewer_id, kind, status,
                         overall_feedback, vendor_id, team_id, agent_id, score, earned, possible, critical_failed,
                         critical_failures, revision, created_at, updated_at, submitted_at)
                     VALUES ($1, $2, $3, $4, $5, 'calibrated', 'submitted', $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $15, $15)",
                )
                .bind(id.to_string())
                .bind(workspace.to_string())
                .bind(conversation.id.to_string())
                .bind(version.id.to_string())
                .bind(record.session.facilitator_id.to_string())
                .bind(&calibrated.feedback)
                .bind(conversation.vendor_id.to_string())
                .bind(conversation.team_id.map(|t| t.to_string()))
                .bind(conversation.agent_id.map(|a| a.to_string()))
                .bind_float(score.score)
                .bind(score.earned)
                .bind(score.possible)
                .bind(i64::from(score.critical_failed))
                .bind(sql::to_json(&score.critical_failures))
                .bind(now)
                .execute(&mut *tx)
                .await?;
                crate::evaluations::write_answers(&mut tx, id, &calibrated.answers).await?;
                crate::self_assessment::add_pairs_of(
                    &mut tx,
                    workspace,
                    &[id],
                    crate::self_assessment::PairSide::Review,
                )
                .await?;
                let context = self
                    .evaluation_context(
                        &conversation.id.to_string(),
                        &record.session.facilitator_id.to_string(),
                        version.id,
                    )
                    .await?;
                let batch = crate::rollups::RollupBatch::of_one(
                    crate::rollups::Counted {
                        workspace_id: workspace,
                        submitted_at: now,
                        vendor_id: conversation.vendor_id.to_string(),
                        team_id: conversation.team_id.map(|t| t.to_string()),
                        agent_id: conversation.agent_id.map(|a| a.to_string()),
                        score: &score,
                        answers: &calibrated.answers,
                        definition,
                    },
                    context.clone(),
                );
                tx.defer_rollups(batch);
                crate::rollups::write_snapshot(&mut tx, id, &context).await?;
            }
        }
        let status = Change::new(
            "status",
            Some(record.session.status.as_str().into()),
            Some(if publish { "submitted (published)" } else { "submitted" }.into()),
        );
        audit(&mut tx, session, by, now, &status).await?;
        tx.commit().await?;
        self.get_calibration(workspace, session).await
    }

    /// The session's audit trail, oldest first.
    pub async fn calibration_audit(&self, workspace: WorkspaceId, session: CalibrationId) -> Result<Vec<AuditEntry>> {
        self.get_calibration(workspace, session).await?;
        let rows = sqlx::query(
            "SELECT a.at, a.user_id, u.name, a.what, a.old_value, a.new_value
             FROM calibration_audit a JOIN users u ON u.id = a.user_id WHERE a.session_id = $1 ORDER BY a.at, a.id",
        )
        .bind(session.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: sql::int(r, "at")?,
                    user_id: sql::id(r, "user_id")?,
                    user_name: sql::text(r, "name")?,
                    change: Change::new(
                        sql::text(r, "what")?,
                        sql::opt_text(r, "old_value")?,
                        sql::opt_text(r, "new_value")?,
                    ),
                })
            })
            .collect()
    }

    /// Decisions of submitted sessions on a scorecard, newest first: they extend the
    /// guidelines of the criterion they are attached to.
    pub async fn scorecard_decisions(
        &self,
        workspace: WorkspaceId,
        scorecard: ScorecardId,
    ) -> Result<Vec<DecisionNote>> {
        let rows = sqlx::query(
            "SELECT d.id, d.session_id, s.title, d.criterion_id, d.text, d.decided_at
             FROM calibration_decisions d JOIN calibration_sessions s ON s.id = d.session_id
             WHERE d.workspace_id = $1 AND d.scorecard_id = $2 ORDER BY d.decided_at DESC, d.id",
        )
        .bind(workspace.to_string())
        .bind(scorecard.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DecisionNote {
                    id: sql::id(r, "id")?,
                    session_id: sql::id(r, "session_id")?,
                    session_title: sql::text(r, "title")?,
                    criterion_id: sql::opt_id(r, "criterion_id")?,
                    text: sql::text(r, "text")?,
                    decided_at: sql::int(r, "decided_at")?,
                })
            })
            .collect()
    }

    /// Action items of submitted sessions; with `open_only`, those not done.
    pub async fn list_actions(&self, workspace: WorkspaceId, open_only: bool) -> Result<Vec<ActionRecord>> {
        let mut q = Select::new(
            "SELECT a.id, a.session_id, s.title, a.kind, a.text, a.owner_id, a.due_on, a.done, a.done_at, a.created_at
             FROM calibration_actions a JOIN calibration_sessions s ON s.id = a.session_id",
        );
        q.and_text("a.workspace_id", workspace);
        if open_only {
            q.and_raw("a.done = 0");
        }
        let rows = q.fetch_all(self.pool(), "ORDER BY a.due_on, a.id").await?;
        rows.iter().map(action_of).collect()
    }

    /// Marks an action item done or not done.
    pub async fn set_action_done(&self, workspace: WorkspaceId, id: ActionItemId, done: bool) -> Result<ActionRecord> {
        let mut tx = self.write().await?;
        let changed =
            sqlx::query("UPDATE calibration_actions SET done = $1, done_at = $2 WHERE workspace_id = $3 AND id = $4")
                .bind(i64::from(done))
                .bind(done.then(now_millis))
                .bind(workspace.to_string())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        let mut q = Select::new(
            "SELECT a.id, a.session_id, s.title, a.kind, a.text, a.owner_id, a.due_on, a.done, a.done_at, a.created_at
             FROM calibration_actions a JOIN calibration_sessions s ON s.id = a.session_id",
        );
        q.and_text("a.id", id);
        q.fetch_all(self.pool(), "").await?.first().map(action_of).unwrap_or(Err(StoreError::NotFound))
    }

    /// Follow-ups for participants outside tolerance; with `open_only`, unresolved ones.
    pub async fn list_followups(&self, workspace: WorkspaceId, open_only: bool) -> Result<Vec<FollowUp>> {
        let mut q = Select::new(
            "SELECT f.session_id, s.title, f.user_id, u.name, f.reason, f.created_at, f.resolved_at
             FROM calibration_followups f JOIN calibration_sessions s ON s.id = f.session_id JOIN users u ON u.id = f.user_id",
        );
        q.and_text("f.workspace_id", workspace);
        if open_only {
            q.and_raw("f.resolved_at IS NULL");
        }
        let rows = q.fetch_all(self.pool(), "ORDER BY f.created_at DESC, f.user_id").await?;
        rows.iter()
            .map(|r| {
                Ok(FollowUp {
                    session_id: sql::id(r, "session_id")?,
                    session_title: sql::text(r, "title")?,
                    user_id: sql::id(r, "user_id")?,
                    user_name: sql::text(r, "name")?,
                    reason: sql::text(r, "reason")?,
                    created_at: sql::int(r, "created_at")?,
                    resolved_at: sql::opt_int(r, "resolved_at")?,
                })
            })
            .collect()
    }

    /// Marks a follow-up resolved.
    pub async fn resolve_followup(&self, workspace: WorkspaceId, session: CalibrationId, user: UserId) -> Result<()> {
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "UPDATE calibration_followups SET resolved_at = $1 WHERE workspace_id = $2 AND session_id = $3 AND user_id = $4
               AND resolved_at IS NULL",
        )
        .bind(now_millis())
        .bind(workspace.to_string())
        .bind(session.to_string())
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Result rows of submitted sessions in [from, to), for the Calibration Performance Report.
    /// With a vendor scope, only that vendor's graders.
    pub async fn calibration_result_rows(
        &self,
        workspace: WorkspaceId,
        scope: VendorScope,
        from: Option<Millis>,
        to: Option<Millis>,
    ) -> Result<Vec<ResultRow>> {
        let mut q = Select::new(
            "SELECT r.session_id, s.title, r.user_id, u.name AS user_name, r.vendor_id, v.name AS vendor_name,
                    v.is_internal, r.conversation_id, r.scorecard_version_id, r.scored, r.score_delta,
                    r.within_tolerance, r.alignment, r.submitted_at
             FROM calibration_results r JOIN calibration_sessions s ON s.id = r.session_id
             JOIN users u ON u.id = r.user_id JOIN vendors v ON v.id = r.vendor_id",
        );
        q.and_text("r.workspace_id", workspace).and_opt_text("r.vendor_id", scope.vendor());
        if let Some(from) = from {
            q.and("r.submitted_at", ">=", Value::Int(from));
        }
        if let Some(to) = to {
            q.and("r.submitted_at", "<", Value::Int(to));
        }
        let rows = q.fetch_all(self.pool(), "ORDER BY r.submitted_at, r.session_id, r.user_id").await?;
        rows.iter()
            .map(|r| {
                Ok(ResultRow {
                    session_id: sql::id(r, "session_id")?,
                    session_title: sql::text(r, "title")?,
                    user_id: sql::id(r, "user_id")?,
                    user_name: sql::text(r, "user_name")?,
                    vendor_id: sql::id(r, "vendor_id")?,
                    vendor_name: sql::text(r, "vendor_name")?,
                    vendor_is_internal: sql::flag(r, "is_internal")?,
                    conversation_id: sql::id(r, "conversation_id")?,
                    scorecard_version_id: sql::id(r, "scorecard_version_id")?,
                    scored: sql::flag(r, "scored")?,
                    score_delta: sql::opt_float(r, "score_delta")?,
                    within_tolerance: sql::opt_int(r, "within_tolerance")?.map(|v| v != 0),
                    alignment: sql::opt_float(r, "alignment")?,
                    submitted_at: sql::int(r, "submitted_at")?,
                })
            })
            .collect()
    }

    /// Criterion result rows of submitted sessions in [from, to).
    pub async fn calibration_criterion_rows(
        &self,
        workspace: WorkspaceId,
        from: Option<Millis>,
        to: Option<Millis>,
    ) -> Result<Vec<CriterionRow>> {
        let mut q = Select::new(
            "SELECT session_id, conversation_id, criterion_id, scorecard_version_id, agreement_with_calibrated,
                    percent_agreement, spread, submitted_at FROM calibration_criterion_results",
        );
        q.and_text("workspace_id", workspace);
        if let Some(from) = from {
            q.and("submitted_at", ">=", Value::Int(from));
        }
        if let Some(to) = to {
            q.and("submitted_at", "<", Value::Int(to));
        }
        let rows = q.fetch_all(self.pool(), "ORDER BY submitted_at, session_id").await?;
        rows.iter()
            .map(|r| {
                Ok(CriterionRow {
                    session_id: sql::id(r, "session_id")?,
                    conversation_id: sql::id(r, "conversation_id")?,
                    criterion_id: sql::id(r, "criterion_id")?,
                    scorecard_version_id: sql::id(r, "scorecard_version_id")?,
                    agreement_with_calibrated: sql::opt_float(r, "agreement_with_calibrated")?,
                    percent_agreement: sql::opt_float(r, "percent_agreement")?,
                    spread: sql::opt_float(r, "spread")?,
                    submitted_at: sql::int(r, "submitted_at")?,
                })
            })
            .collect()
    }

    /// The latest submitted session on this scorecard version and its mean agreement with the
    /// calibrated answer over criteria (`None` when nobody scored).
    pub async fn latest_version_calibration(
        &self,
        workspace: WorkspaceId,
        version: ScorecardVersionId,
    ) -> Result<Option<(CalibrationId, Option<f64>)>> {
        let row = sqlx::query(
            "SELECT id FROM calibration_sessions WHERE workspace_id = $1 AND scorecard_version_id = $2
               AND status = 'submitted' ORDER BY submitted_at DESC, id DESC LIMIT 1",
        )
        .bind(workspace.to_string())
        .bind(version.to_string())
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let session: CalibrationId = sql::id(&row, "id")?;
        let record = self.get_calibration(workspace, session).await?;
        let agreements: Vec<f64> = record
            .results
            .map(|r| r.criteria.iter().filter_map(|c| c.agreement_with_calibrated).collect())
            .unwrap_or_default();
        let mean = (!agreements.is_empty()).then(|| agreements.iter().sum::<f64>() / agreements.len() as f64);
        Ok(Some((session, mean)))
    }

    /// The population a calibration sample is picked from: the newest `limit` conversations of
    /// the filter, each with channel, CSAT, agent and its latest counted review score.
    pub async fn sample_population(
        &self,
        workspace: WorkspaceId,
        filter: &crate::ConversationFilter,
        limit: u32,
    ) -> Result<Vec<(ConversationId, plumbline_domain::integrity::PopulationUnit)>> {
        let mut q = Select::new(
            "SELECT c.id, c.channel, c.csat, c.agent_id,
                (SELECT e.score FROM evaluations e WHERE e.conversation_id = c.id AND e.status = 'submitted'
                   AND e.kind IN ('review', 'calibrated') AND e.calibration_session_id IS NULL
                 ORDER BY e.submitted_at DESC LIMIT 1) AS score
             FROM conversations c",
        );
        q.and_text("c.workspace_id", workspace)
            .and_opt_text("c.vendor_id", filter.vendor_id)
            .and_opt_text("c.team_id", filter.team_id)
            .and_opt_text("c.agent_id", filter.agent_id)
            .and_opt_text("c.channel", filter.channel.map(|c| c.as_str()));
        if let Some(from) = filter.from {
            q.and("c.started_at", ">=", Value::Int(from));
        }
        if let Some(to) = filter.to {
            q.and("c.started_at", "<", Value::Int(to));
        }
        let rows = q.fetch_all(self.pool(), &format!("ORDER BY c.id DESC LIMIT {limit}")).await?;
        rows.iter()
            .map(|r| {
                let channel = sql::text(r, "channel")?;
                Ok((
                    sql::id(r, "id")?,
                    plumbline_domain::integrity::PopulationUnit {
                        channel: channel.parse().map_err(StoreError::Database)?,
                        csat: sql::opt_int(r, "csat")?,
                        agent: sql::opt_id(r, "agent_id")?,
                        score: sql::opt_float(r, "score")?,
                    },
                ))
            })
            .collect()
    }

    /// Conversations whose agent is hidden from `user`: those of open sessions (scoring or
    /// discussion) that hide the agent's name and in which the user takes part.
    pub async fn conversations_with_hidden_agent(
        &self,
        workspace: WorkspaceId,
        user: UserId,
    ) -> Result<std::collections::HashSet<ConversationId>> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "SELECT DISTINCT cc.conversation_id FROM calibration_sessions s
             JOIN calibration_conversations cc ON cc.session_id = s.id
             JOIN calibration_participants p ON p.session_id = s.id
             WHERE s.workspace_id = $1 AND p.user_id = $2 AND p.removed_at IS NULL AND s.hide_agent_name = 1
               AND s.status IN ('scoring', 'discussion')",
        )
        .bind(workspace.to_string())
        .bind(user.to_string())
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().filter_map(|(c,)| c.parse().ok()).collect())
    }

    /// Starts a hidden task waiting in a plan's queue, as any item is started: the session's
    /// task (a draft review) is created and linked to the item in one transaction, while the
    /// session is scoring and its grader takes part. `None` when the item was started meanwhile.
    pub(crate) async fn start_queued_task(
        &self,
        workspace: WorkspaceId,
        item: &crate::Assignment,
    ) -> Result<Option<EvaluationId>> {
        let session = item.calibration_session_id.ok_or(StoreError::NotFound)?;
        let record = self.get_calibration(workspace, session).await?;
        if !record.is_participant(item.grader_id) {
            return Err(StoreError::NotFound);
        }
        let conversation = self.get_conversation(workspace, VendorScope::All, item.conversation_id).await?;
        let now = now_millis();
        let mut tx = self.write().await?;
        // Holds the session in `scoring` until this commits: a reveal waits, then withdraws it.
        claim(&mut tx, session, &[SessionStatus::Scoring], crate::evaluations::CLOSED_REVIEW).await?;
        let evaluation = insert_task(&mut tx, workspace, &record.session, item.grader_id, &conversation, now).await?;
        if !crate::review_plans::link_started(&mut tx, item, evaluation).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        tx.commit().await?;
        Ok(Some(evaluation))
    }

    /// The status of the session an evaluation is a task of, if it is one.
    pub(crate) async fn task_session_status(&self, evaluation: &Evaluation) -> Result<Option<SessionStatus>> {
        let Some(session) = evaluation.calibration_session_id else { return Ok(None) };
        let (status,): (String,) = sqlx::query_as("SELECT status FROM calibration_sessions WHERE id = $1")
            .bind(session.to_string())
            .fetch_one(self.pool())
            .await?;
        Ok(SessionStatus::parse(&status))
    }
}

fn action_of(r: &AnyRow) -> Result<ActionRecord> {
    let kind = sql::text(r, "kind")?;
    Ok(ActionRecord {
        id: sql::id(r, "id")?,
        session_id: sql::id(r, "session_id")?,
        session_title: sql::text(r, "title")?,
        kind: ActionKind::parse(&kind).ok_or_else(|| StoreError::Database(format!("unknown action kind {kind:?}")))?,
        text: sql::text(r, "text")?,
        owner_id: sql::opt_id(r, "owner_id")?,
        due_on: sql::opt_text(r, "due_on")?,
        done: sql::flag(r, "done")?,
        done_at: sql::opt_int(r, "done_at")?,
        created_at: sql::int(r, "created_at")?,
    })
}
