//! Evaluations: drafts, saves (with optimistic concurrency), submission with scoring, reads.
//! An evaluation and its answers are written in one transaction: never half an evaluation.

use crate::sql::BindFloat;
use crate::sql::{self, AnyQuery, Select, Value};
use crate::{Page, PageRequest, Result, Store, StoreError, now_millis, page_of};
use plumbline_domain::access::VendorScope;
use plumbline_domain::calibration::SessionStatus;
use plumbline_domain::evaluation::{Answer, Choice, Evaluation, EvaluationKind, EvaluationStatus, check_answers};
use plumbline_domain::scorecard::{FieldError, VersionStatus};
use plumbline_domain::scoring::{EvaluationScore, ScoringPolicy, score_evaluation};
use plumbline_domain::{
    AgentId, ConversationId, EvaluationId, Millis, ScorecardVersionId, TeamId, UserId, VendorId, WorkspaceId,
};
use sqlx::any::AnyRow;

/// A new evaluation (a draft until submitted).
#[derive(Clone, Debug)]
pub struct NewEvaluation {
    pub conversation_id: ConversationId,
    pub scorecard_version_id: ScorecardVersionId,
    pub reviewer_id: UserId,
    pub kind: EvaluationKind,
    pub answers: Vec<Answer>,
    pub overall_feedback: String,
}

/// Which evaluations a viewer may list (built from the viewer by the server's access layer).
#[derive(Clone, Debug)]
pub struct EvaluationVisibility {
    pub vendor: VendorScope,
    /// Only evaluations written by this user (reviewers).
    pub author: Option<UserId>,
    /// Only submitted, IQS-counting evaluations of this agent's conversations (agents).
    pub agent: Option<AgentId>,
    /// Other people's calibration tasks are listed only for calibrators (admins, qa_leads);
    /// everyone else sees their own and none of anyone else's.
    pub calibration_tasks_of_others: Option<UserId>,
}

/// Filters for the evaluation list.
#[derive(Clone, Debug, Default)]
pub struct EvaluationFilter {
    pub vendor_id: Option<VendorId>,
    pub team_id: Option<TeamId>,
    pub agent_id: Option<AgentId>,
    pub reviewer_id: Option<UserId>,
    pub conversation_id: Option<ConversationId>,
    pub kind: Option<EvaluationKind>,
    pub status: Option<EvaluationStatus>,
    /// created_at >= from
    pub from: Option<Millis>,
    /// created_at < to
    pub to: Option<Millis>,
}

/// What a save changes: the answers and feedback, based on the revision the editor loaded
/// (`None`: whatever is current).
#[derive(Clone, Copy, Debug)]
pub struct EvaluationEdit<'a> {
    pub answers: &'a [Answer],
    pub overall_feedback: &'a str,
    pub expected_revision: Option<i64>,
}

pub const MAX_FEEDBACK: usize = 50_000;

const EVALUATION_COLUMNS: &str = "id, conversation_id, scorecard_version_id, reviewer_id, kind, status, overall_feedback, \
     vendor_id, team_id, agent_id, score, earned, possible, critical_failed, critical_failures, revision, created_at, \
     updated_at, submitted_at, calibration_session_id, active_seconds, \
     (SELECT a.benchmark_id FROM audits a WHERE a.original_id = evaluations.id AND a.status = 'assigned') AS blind_to";

fn evaluation_of(row: &AnyRow, answers: Vec<Answer>) -> Result<(Evaluation, i64)> {
    let kind = sql::text(row, "kind")?;
    let status = sql::text(row, "status")?;
    let possible = sql::opt_float(row, "possible")?;
    let result = match possible {
        None => None,
        Some(possible) => Some(EvaluationScore {
            score: sql::opt_float(row, "score")?,
            earned: sql::opt_float(row, "earned")?.unwrap_or(0.0),
            possible,
            critical_failed: sql::opt_int(row, "critical_failed")?.unwrap_or(0) != 0,
            critical_failures: match sql::opt_text(row, "critical_failures")? {
                Some(s) => serde_json::from_str(&s).map_err(|e| StoreError::Database(e.to_string()))?,
                None => Vec::new(),
            },
        }),
    };
    Ok((
        Evaluation {
            id: sql::id(row, "id")?,
            conversation_id: sql::id(row, "conversation_id")?,
            scorecard_version_id: sql::id(row, "scorecard_version_id")?,
            reviewer_id: sql::id(row, "reviewer_id")?,
            kind: EvaluationKind::parse(&kind).ok_or_else(|| StoreError::Database(format!("unknown kind {kind:?}")))?,
            status: EvaluationStatus::parse(&status)
                .ok_or_else(|| StoreError::Database(format!("unknown status {status:?}")))?,
            answers,
            overall_feedback: sql::text(row, "overall_feedback")?,
            vendor_id: sql::id(row, "vendor_id")?,
            team_id: sql::opt_id(row, "team_id")?,
            agent_id: sql::opt_id(row, "agent_id")?,
            result,
            created_at: sql::int(row, "created_at")?,
            updated_at: sql::int(row, "updated_at")?,
            submitted_at: sql::opt_int(row, "submitted_at")?,
            calibration_session_id: sql::opt_id(row, "calibration_session_id")?,
            blind_to: sql::opt_id(row, "blind_to")?,
            active_seconds: sql::int(row, "active_seconds")?,
        },
        sql::int(row, "revision")?,
    ))
}

fn check_feedback(feedback: &str) -> Vec<FieldError> {
    if feedback.chars().count() > MAX_FEEDBACK {
        vec![FieldError::new("overall_feedback", format!("must be at most {MAX_FEEDBACK} characters"))]
    } else {
        Vec::new()
    }
}

pub(crate) async fn write_answers(tx: &mut crate::WriteTx, id: EvaluationId, answers: &[Answer]) -> Result<()> {
    sqlx::query("DELETE FROM evaluation_answers WHERE evaluation_id = $1")
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    insert_answers(tx, id, answers).await
}

/// Writes the answers of an evaluation that has none yet.
async fn insert_answers(tx: &mut crate::WriteTx, id: EvaluationId, answers: &[Answer]) -> Result<()> {
    if answers.is_empty() {
        return Ok(());
    }
    // One statement for all of them: each statement is a round trip to SQLite's worker thread
    // while the writers' turn is held.
    let sql =
        crate::sql::insert_values(crate::sql::positional(tx), "evaluation_answers", ANSWER_COLUMNS, answers.len());
    bind_answers(sqlx::query(sqlx::AssertSqlSafe(sql)), id, answers).execute(&mut **tx).await?;
    Ok(())
}

const ANSWER_COLUMNS: &[&str] = &["evaluation_id", "criterion_id", "position", "option_index", "comment"];

/// Binds the values of [`ANSWER_COLUMNS`] for every answer, in order.
fn bind_answers<'q>(mut query: AnyQuery<'q>, id: EvaluationId, answers: &'q [Answer]) -> AnyQuery<'q> {
    let id = id.to_string();
    for (position, a) in answers.iter().enumerate() {
        let option = match a.choice {
            Choice::Option(o) => Some(o as i64),
            Choice::NotApplicable => None,
        };
        query =
            query.bind(id.clone()).bind(a.criterion_id.to_string()).bind(position as i64).bind(option).bind(&a.comment);
    }
    query
}

/// The answers of `ids` in their scorecard order, one list per id (empty when none), read on
/// `conn` (a pool connection, or a transaction that must see its own writes).
pub(crate) async fn answers_in(conn: &mut sqlx::AnyConnection, ids: &[EvaluationId]) -> Result<Vec<Vec<Answer>>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = (1..=ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT evaluation_id, criterion_id, option_index, comment FROM evaluation_answers
         WHERE evaluation_id IN ({placeholders}) ORDER BY evaluation_id, position"
    )));
    for id in ids {
        query = query.bind(id.to_string());
    }
    let rows = query.fetch_all(conn).await?;
    let mut by_id: std::collections::HashMap<String, Vec<Answer>> = std::collections::HashMap::new();
    for row in &rows {
        let option = sql::opt_int(row, "option_index")?;
        by_id.entry(sql::text(row, "evaluation_id")?).or_default().push(Answer {
            criterion_id: sql::id(row, "criterion_id")?,
            choice: match option {
                Some(o) => Choice::Option(o as usize),
                None => Choice::NotApplicable,
            },
            comment: sql::text(row, "comment")?,
        });
    }
    Ok(ids.iter().map(|id| by_id.remove(&id.to_string()).unwrap_or_default()).collect())
}

/// Why a hidden calibration task can no longer change (or be started): the words any closed
/// review would get, so they give nothing away.
pub(crate) const CLOSED_REVIEW: &str = "this review was closed and can no longer change";

impl Store {
    /// Creates a draft evaluation of a conversation with a scorecard version. Reviews and
    /// self-reviews need an active version; calibration kinds may use a draft (form calibration).
    pub async fn create_evaluation(&self, workspace: WorkspaceId, new: NewEvaluation) -> Result<Evaluation> {
        let conversation = self.conversation_to_evaluate(workspace, &new).await?;
        let (draft, _) = self.new_draft(workspace, &conversation, new, false, None).await?;
        let mut tx = self.write().await?;
        insert_evaluation(&mut tx, workspace, &draft, None).await?;
        tx.commit().await?;
        // What was written, without reading it back.
        Ok(draft)
    }

    /// A new draft, checked (its answers as complete as a submission needs when `complete`),
    /// with its scorecard version: what [`insert_evaluation`] writes. `seen`: the version's
    /// status as read with the conversation, when it was.
    async fn new_draft(
        &self,
        workspace: WorkspaceId,
        conversation: &plumbline_domain::conversation::Conversation,
        new: NewEvaluation,
        complete: bool,
        seen: Option<crate::scorecards::SeenVersion>,
    ) -> Result<(Evaluation, std::sync::Arc<plumbline_domain::scorecard::ScorecardVersion>)> {
        if conversation.id != new.conversation_id {
            return Err(StoreError::Invalid(vec![FieldError::new(
                "conversation_id",
                "does not match the conversation",
            )]));
        }
        let version = self.version_to_review_seen(workspace, new.scorecard_version_id, seen).await.map_err(|_| {
            StoreError::Invalid(vec![FieldError::new("scorecard_version_id", "there is no such scorecard version")])
        })?;
        let needs_active =
            matches!(new.kind, EvaluationKind::Review | EvaluationKind::SelfReview | EvaluationKind::Audit);
        if needs_active && version.status != VersionStatus::Active {
            return Err(StoreError::Invalid(vec![FieldError::new(
                "scorecard_version_id",
                format!("version {} is {}; reviews use the active version", version.number, version.status.as_str()),
            )]));
        }
        let mut errors = check_answers(&version.definition, &new.answers, complete);
        errors.extend(check_feedback(&new.overall_feedback));
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let now = now_millis();
        let draft = Evaluation {
            id: EvaluationId::new(),
            conversation_id: conversation.id,
            scorecard_version_id: version.id,
            reviewer_id: new.reviewer_id,
            kind: new.kind,
            status: EvaluationStatus::Draft,
            answers: new.answers,
            overall_feedback: new.overall_feedback,
            vendor_id: conversation.vendor_id,
            team_id: conversation.team_id,
            agent_id: conversation.agent_id,
            result: None,
            created_at: now,
            updated_at: now,
            submitted_at: None,
            calibration_session_id: None,
            blind_to: None,
            active_seconds: 0,
        };
        Ok((draft, version))
    }

    /// Creates a review and submits it at once (a form filled in one go, or an integration that
    /// grades elsewhere): one request and one transaction instead of two, ending exactly where a
    /// draft submitted later would (revision 2). Checked as a submission before anything is
    /// written. Returns the submitted evaluation and its revision.
    pub async fn create_submitted_evaluation(
        &self,
        workspace: WorkspaceId,
        new: NewEvaluation,
        policy: ScoringPolicy,
    ) -> Result<(Evaluation, i64)> {
        let conversation = self.conversation_to_evaluate(workspace, &new).await?;
        let (draft, version) = self.new_draft(workspace, &conversation, new, true, None).await?;
        self.create_submitted(workspace, draft, version, policy, None).await
    }

    /// [`Store::create_submitted_evaluation`] of a conversation the caller has already read
    /// ([`Store::conversation_to_review`], to check that its user may see it) by a grader whose
    /// vendor it knows (the signed-in user's): three reads fewer for every review submitted over
    /// the API, since the report rollups' context comes from these instead of the database and
    /// the scorecard version's status came with the conversation. `grader` must be the vendor of
    /// `new.reviewer_id`.
    pub async fn create_submitted_evaluation_of(
        &self,
        workspace: WorkspaceId,
        reviewed: &crate::ConversationToReview,
        grader: GraderVendor,
        new: NewEvaluation,
        policy: ScoringPolicy,
    ) -> Result<(Evaluation, i64)> {
        let conversation = &reviewed.conversation;
        let (draft, version) = self.new_draft(workspace, conversation, new, true, Some(reviewed.version)).await?;
        let context = crate::rollups::EvaluationContext::of(conversation, grader, version.scorecard_id);
        self.create_submitted(workspace, draft, version, policy, Some(context)).await
    }

    /// Writes and submits a checked draft at once (see [`Store::create_submitted_evaluation`]);
    /// `context` is its rollup context when the caller knows it.
    async fn create_submitted(
        &self,
        workspace: WorkspaceId,
        draft: Evaluation,
        version: std::sync::Arc<plumbline_domain::scorecard::ScorecardVersion>,
        policy: ScoringPolicy,
        context: Option<crate::rollups::EvaluationContext>,
    ) -> Result<(Evaluation, i64)> {
        let now = draft.created_at;
        let mut submission = self.prepare_submission(workspace, &draft, &version, policy, context, now).await?;
        let mut tx = self.write_opened_by_first_statement().await?;
        crate::self_assessment::lock_conversation(&mut tx, &draft.conversation_id.to_string()).await?;
        // Written as submitted at once; on SQLite in one statement with the pairs it forms.
        let found = if self.backend() == crate::Backend::Sqlite {
            Some(insert_submitted_at_once(&mut tx, workspace, &draft, &submission).await?)
        } else {
            insert_evaluation(&mut tx, workspace, &draft, Some(&submission)).await?;
            None
        };
        self.record_submission(&mut tx, workspace, &draft, &mut submission, now, found).await?;
        tx.commit().await?;
        Ok((submitted(draft, submission.result, now), 2))
    }

    /// The conversation a new evaluation is of; a field error when there is none.
    async fn conversation_to_evaluate(
        &self,
        workspace: WorkspaceId,
        new: &NewEvaluation,
    ) -> Result<plumbline_domain::conversation::Conversation> {
        self.get_conversation(workspace, VendorScope::All, new.conversation_id)
            .await
            .map_err(|_| StoreError::Invalid(vec![FieldError::new("conversation_id", "there is no such conversation")]))
    }

    /// An evaluation with its answers and its revision (for optimistic concurrency).
    pub async fn get_evaluation(&self, workspace: WorkspaceId, id: EvaluationId) -> Result<(Evaluation, i64)> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EVALUATION_COLUMNS} FROM evaluations WHERE workspace_id = $1 AND id = $2"
        )))
        .bind(workspace.to_string())
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let answers = self.answers_of(&[id]).await?.pop().unwrap_or_default();
        evaluation_of(&row, answers)
    }

    pub(crate) async fn answers_of(&self, ids: &[EvaluationId]) -> Result<Vec<Vec<Answer>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        answers_in(&mut *self.pool().acquire().await?, ids).await
    }

    /// Replaces a draft's answers and feedback. Only the author may save, only while it is a
    /// draft, and only from the current revision when `expected_revision` is given.
    pub async fn save_evaluation(
        &self,
        workspace: WorkspaceId,
        id: EvaluationId,
        author: UserId,
        edit: EvaluationEdit<'_>,
        policy: ScoringPolicy,
    ) -> Result<(Evaluation, i64)> {
        let EvaluationEdit { answers, overall_feedback, expected_revision } = edit;
        let (current, revision) = self.get_evaluation(workspace, id).await?;
        if current.reviewer_id != author {
            return Err(StoreError::NotFound);
        }
        self.check_task_open(&current).await?;
        // A calibration participant may change a submitted score until the reveal.
        let resubmit = current.status == EvaluationStatus::Submitted && current.kind == EvaluationKind::Calibration;
        if current.status != EvaluationStatus::Draft && !resubmit {
            return Err(StoreError::Conflict("the evaluation is submitted and can no longer change".into()));
        }
        let version = self.get_version(workspace, current.scorecard_version_id).await?;
        let mut errors = check_answers(&version.definition, answers, resubmit);
        errors.extend(check_feedback(overall_feedback));
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let mut tx = self.write().await?;
        let expected = expected_revision.unwrap_or(revision);
        let done = if resubmit {
            let result = score_evaluation(&version.definition, answers, policy);
            sqlx::query(
                "UPDATE evaluations SET overall_feedback = $1, revision = revision + 1, updated_at = $2, score = $3,
                     earned = $4, possible = $5, critical_failed = $6, critical_failures = $7
                 WHERE id = $8 AND revision = $9",
            )
            .bind(overall_feedback)
            .bind(now_millis())
            .bind_float(result.score)
            .bind(result.earned)
            .bind(result.possible)
            .bind(i64::from(result.critical_failed))
            .bind(sql::to_json(&result.critical_failures))
            .bind(id.to_string())
            .bind(expected)
            .execute(&mut *tx)
            .await?
        } else {
            sqlx::query(
                "UPDATE evaluations SET overall_feedback = $1, revision = revision + 1, updated_at = $2
                 WHERE id = $3 AND status = 'draft' AND revision = $4",
            )
            .bind(overall_feedback)
            .bind(now_millis())
            .bind(id.to_string())
            .bind(expected)
            .execute(&mut *tx)
            .await?
        };
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "the evaluation changed since you loaded it (or was submitted); reload it".into(),
            ));
        }
        write_answers(&mut tx, id, answers).await?;
        tx.commit().await?;
        self.get_evaluation(workspace, id).await
    }

    /// A task of a calibration session changes only while the session is scoring. The refusal
    /// of a hidden-mode task reads like any closed review's.
    async fn check_task_open(&self, evaluation: &Evaluation) -> Result<()> {
        match self.task_session_status(evaluation).await? {
            None | Some(SessionStatus::Scoring) => Ok(()),
            Some(_) if evaluation.kind == EvaluationKind::Calibration => Err(StoreError::Conflict(
                "the session's scores were revealed (or the session is closed); scores can no longer change".into(),
            )),
            Some(_) => Err(StoreError::Conflict(CLOSED_REVIEW.into())),
        }
    }

    /// Submits a draft: every criterion must be answered; the score is computed and stored
    /// with it in one transaction. A second submit gets a conflict, never a second result.
    pub async fn submit_evaluation(
        &self,
        workspace: WorkspaceId,
        id: EvaluationId,
        author: UserId,
        policy: ScoringPolicy,
    ) -> Result<Evaluation> {
        self.submit_evaluation_at(workspace, id, author, policy, now_millis()).await
    }

    /// Submits a draft now and returns it with its new revision.
    pub async fn submit_evaluation_with_revision(
        &self,
        workspace: WorkspaceId,
        id: EvaluationId,
        author: UserId,
        policy: ScoringPolicy,
    ) -> Result<(Evaluation, i64)> {
        self.submit_at(workspace, id, author, policy, now_millis()).await
    }

    /// Submits a draft as of `at` (Unix ms): history brought in by the demo or a migration from
    /// another tool keeps its dates, and the report rollups count it on its own day.
    pub async fn submit_evaluation_at(
        &self,
        workspace: WorkspaceId,
        id: EvaluationId,
        author: UserId,
        policy: ScoringPolicy,
        at: Millis,
    ) -> Result<Evaluation> {
        self.submit_at(workspace, id, author, policy, at).await.map(|(e, _)| e)
    }

    async fn submit_at(
        &self,
        workspace: WorkspaceId,
        id: EvaluationId,
        author: UserId,
        policy: ScoringPolicy,
        at: Millis,
    ) -> Result<(Evaluation, i64)> {
        let (current, revision) = self.get_evaluation(workspace, id).await?;
        if current.reviewer_id != author {
            return Err(StoreError::NotFound);
        }
        if current.status != EvaluationStatus::Draft {
            return Err(StoreError::Conflict("the evaluation is already submitted".into()));
        }
        let version = self.version_to_review_with(workspace, current.scorecard_version_id).await?;
        let now = at;
        let mut submission = self.prepare_submission(workspace, &current, &version, policy, None, now).await?;
        let mut tx = self.write().await?;
        mark_submitted(&mut tx, id, revision, &submission, now).await?;
        self.record_submission(&mut tx, workspace, &current, &mut submission, now, None).await?;
        tx.commit().await?;
        if current.kind == EvaluationKind::Audit {
            return self.get_evaluation(workspace, id).await;
        }
        Ok((submitted(current, submission.result, now), revision + 1))
    }

    /// What submitting a draft needs before its transaction: the task still open, every
    /// criterion answered, the score, and for an evaluation that counts in IQS what the report
    /// rollups need to know about it (`known`, or read) and the rollup rows it adds as submitted
    /// at `now`: summed here, not in the writers' turn, which every other writer waits for.
    async fn prepare_submission(
        &self,
        workspace: WorkspaceId,
        draft: &Evaluation,
        version: &plumbline_domain::scorecard::ScorecardVersion,
        policy: ScoringPolicy,
        known: Option<crate::rollups::EvaluationContext>,
        now: Millis,
    ) -> Result<Submission> {
        self.check_task_open(draft).await?;
        let errors = check_answers(&version.definition, &draft.answers, true);
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let result = score_evaluation(&version.definition, &draft.answers, policy);
        let counted = matches!(draft.kind, EvaluationKind::Review | EvaluationKind::Calibrated)
            && draft.calibration_session_id.is_none();
        let context = match known {
            _ if !counted => None,
            Some(known) => Some(known),
            None => {
                let (conversation, reviewer) = (draft.conversation_id.to_string(), draft.reviewer_id.to_string());
                Some(self.evaluation_context(&conversation, &reviewer, draft.scorecard_version_id).await?)
            }
        };
        let rollups = context.as_ref().map(|context| {
            crate::rollups::RollupBatch::of_one(
                crate::rollups::Counted {
                    workspace_id: workspace,
                    submitted_at: now,
                    vendor_id: draft.vendor_id.to_string(),
                    team_id: draft.team_id.map(|t| t.to_string()),
                    agent_id: draft.agent_id.map(|a| a.to_string()),
                    score: &result,
                    answers: &draft.answers,
                    definition: &version.definition,
                },
                context.clone(),
            )
        });
        Ok(Submission { result, counted, context, policy, rollups })
    }

    /// What a submission changes beside the evaluation itself, in its transaction: the
    /// self-assessment pairs, the report rollups (summed before the transaction, deferred to the
    /// commit: a report never misses an acknowledged submission, nor counts one that was rolled
    /// back) and, for an audit, its completion.
    async fn record_submission(
        &self,
        tx: &mut crate::WriteTx,
        workspace: WorkspaceId,
        evaluation: &Evaluation,
        s: &mut Submission,
        now: Millis,
        found: Option<Vec<crate::self_assessment::Pair>>,
    ) -> Result<()> {
        if let Some(side) = pair_side(evaluation, s) {
            // Before the rollup rows below: every writer locks the conversation first.
            match found {
                Some(found) => {
                    crate::self_assessment::add_found_pairs(tx, workspace, evaluation.id, side, found).await?
                }
                None => crate::self_assessment::add_pairs_of(tx, workspace, &[evaluation.id], side).await?,
            }
        }
        if let Some(batch) = s.rollups.take() {
            tx.defer_rollups(batch);
        }
        if evaluation.kind == EvaluationKind::Audit {
            self.complete_audit(tx, workspace, evaluation, s.policy, now).await?;
        }
        Ok(())
    }

    /// Deletes a draft (its author only). Submitted evaluations are never deleted.
    pub async fn delete_draft_evaluation(
        &self,
        workspace: WorkspaceId,
        id: EvaluationId,
        author: UserId,
    ) -> Result<()> {
        let (current, _) = self.get_evaluation(workspace, id).await?;
        if current.reviewer_id != author {
            return Err(StoreError::NotFound);
        }
        if current.kind == EvaluationKind::Calibration {
            return Err(StoreError::Conflict(
                "a calibration task cannot be deleted; the facilitator can remove you from the session".into(),
            ));
        }
        self.check_task_open(&current).await?;
        let mut tx = self.write().await?;
        let done = sqlx::query(
            "DELETE FROM evaluations WHERE workspace_id = $1 AND id = $2 AND reviewer_id = $3 AND status = 'draft'",
        )
        .bind(workspace.to_string())
        .bind(id.to_string())
        .bind(author.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        Ok(())
    }

    /// Evaluations newest first, limited to what `visibility` allows.
    pub async fn list_evaluations(
        &self,
        workspace: WorkspaceId,
        visibility: &EvaluationVisibility,
        filter: &EvaluationFilter,
        page: &PageRequest,
    ) -> Result<Page<Evaluation>> {
        let mut q = Select::new(&format!("SELECT {EVALUATION_COLUMNS} FROM evaluations"));
        q.and_text("workspace_id", workspace)
            .and_opt_text("vendor_id", visibility.vendor.vendor())
            .and_opt_text("reviewer_id", visibility.author);
        if let Some(agent) = visibility.agent {
            q.and_text("agent_id", agent)
                .and_raw("status = 'submitted'")
                .and_raw("kind IN ('review', 'calibrated')")
                .and_raw("calibration_session_id IS NULL");
        }
        if let Some(viewer) = visibility.calibration_tasks_of_others {
            q.and_expr("(calibration_session_id IS NULL OR reviewer_id = ?)", vec![Value::Text(viewer.to_string())]);
            // Nor a review they are re-grading blind as an audit's benchmark.
            q.and_expr(
                "NOT EXISTS (SELECT 1 FROM audits a WHERE a.original_id = evaluations.id AND a.status = 'assigned' AND a.benchmark_id = ?)",
                vec![Value::Text(viewer.to_string())],
            );
        }
        q.and_opt_text("vendor_id", filter.vendor_id)
            .and_opt_text("team_id", filter.team_id)
            .and_opt_text("agent_id", filter.agent_id)
            .and_opt_text("reviewer_id", filter.reviewer_id)
            .and_opt_text("conversation_id", filter.conversation_id)
            .and_opt_text("kind", filter.kind.map(EvaluationKind::as_str))
            .and_opt_text("status", filter.status.map(EvaluationStatus::as_str));
        if let Some(from) = filter.from {
            q.and("created_at", ">=", Value::Int(from));
        }
        if let Some(to) = filter.to {
            q.and("created_at", "<", Value::Int(to));
        }
        if let Some(cursor) = &page.cursor {
            q.and("id", "<", Value::Text(cursor.clone()));
        }
        let limit = page.limit();
        let rows = q.fetch_all(self.pool(), &format!("ORDER BY id DESC LIMIT {}", limit + 1)).await?;
        let ids = rows.iter().map(|r| sql::id(r, "id")).collect::<Result<Vec<EvaluationId>>>()?;
        let answers = self.answers_of(&ids).await?;
        let items = rows
            .iter()
            .zip(answers)
            .map(|(row, answers)| evaluation_of(row, answers).map(|(e, _)| e))
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |e| e.id.to_string()))
    }
}

/// The vendor of a new evaluation's grader, as the caller already knows it (the signed-in
/// user's): what the evaluation's report rollups record about who graded it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GraderVendor {
    pub id: VendorId,
    pub is_internal: bool,
}

/// What [`Store::prepare_submission`] worked out for a draft's submission.
struct Submission {
    result: EvaluationScore,
    /// Whether it counts in IQS (a review or a published calibrated result).
    counted: bool,
    /// The rollups' context, when it counts.
    context: Option<crate::rollups::EvaluationContext>,
    policy: ScoringPolicy,
    /// The rollup rows it adds, when it counts (taken by [`Store::record_submission`]).
    rollups: Option<crate::rollups::RollupBatch>,
}

/// Writes a new evaluation and its answers (see [`bind_evaluation`]).
async fn insert_evaluation(
    tx: &mut crate::WriteTx,
    workspace: WorkspaceId,
    draft: &Evaluation,
    submitted: Option<&Submission>,
) -> Result<()> {
    let query = sqlx::query(sqlx::AssertSqlSafe(evaluation_insert(false)));
    bind_evaluation(query, workspace, draft, submitted).execute(&mut **tx).await?;
    insert_answers(tx, draft.id, &draft.answers).await
}

/// [`insert_evaluation`] of a review or self-review submitted at once, on SQLite, in one
/// statement that also opens the writer's savepoint and reads the pairs the evaluation forms
/// (when it counts or is a self-review: what [`Store::record_submission`] pairs): the writers'
/// turn is held for one round trip to SQLite's thread instead of four.
async fn insert_submitted_at_once(
    tx: &mut crate::WriteTx,
    workspace: WorkspaceId,
    draft: &Evaluation,
    submission: &Submission,
) -> Result<Vec<crate::self_assessment::Pair>> {
    let mut sql = format!("{}{}", tx.opening(), evaluation_insert(true));
    if !draft.answers.is_empty() {
        sql.push_str(";\n");
        sql.push_str(&crate::sql::insert_values(true, "evaluation_answers", ANSWER_COLUMNS, draft.answers.len()));
    }
    let side = pair_side(draft, submission);
    if let Some(side) = side {
        let column = if side == crate::self_assessment::PairSide::Self_ { "s.id" } else { "e.id" };
        sql.push_str(";\n");
        sql.push_str(&crate::self_assessment::pairs_sql(column, "?"));
    }
    let query = bind_evaluation(sqlx::query(sqlx::AssertSqlSafe(sql)), workspace, draft, Some(submission));
    let mut query = bind_answers(query, draft.id, &draft.answers);
    if side.is_some() {
        query = query.bind(draft.id.to_string());
    }
    crate::self_assessment::pairs_of_rows(&query.fetch_all(&mut **tx).await?)
}

/// Which side of a self-assessment pair a submitted evaluation is, if it can be one.
fn pair_side(evaluation: &Evaluation, s: &Submission) -> Option<crate::self_assessment::PairSide> {
    if evaluation.kind == EvaluationKind::SelfReview {
        Some(crate::self_assessment::PairSide::Self_)
    } else if s.counted {
        Some(crate::self_assessment::PairSide::Review)
    } else {
        None
    }
}

/// The INSERT of an evaluation row ([`bind_evaluation`] binds its values), with `?`
/// placeholders when `positional` (SQLite; see `sql::insert_values`).
fn evaluation_insert(positional: bool) -> String {
    let columns = format!(
        "id, workspace_id, conversation_id, scorecard_version_id, reviewer_id, kind, overall_feedback, vendor_id,
         team_id, agent_id, created_at, updated_at, status, revision, submitted_at, score, earned, possible,
         critical_failed, critical_failures, {}",
        crate::rollups::SNAPSHOT_COLUMNS
    );
    let marks = (1..=columns.split(',').count())
        .map(|i| if positional { "?".to_string() } else { format!("${i}") })
        .collect::<Vec<_>>()
        .join(", ");
    format!("INSERT INTO evaluations ({columns}) VALUES ({marks})")
}

/// Binds the values of [`evaluation_insert`]: a draft (revision 1), or with `submitted` the
/// draft as its submission at its creation time leaves it (revision 2), with the outcomes its
/// rollup rows count (see [`mark_submitted`]).
fn bind_evaluation<'q>(
    query: AnyQuery<'q>,
    workspace: WorkspaceId,
    draft: &'q Evaluation,
    submitted: Option<&Submission>,
) -> AnyQuery<'q> {
    let result = submitted.map(|s| &s.result);
    let query = query
        .bind(draft.id.to_string())
        .bind(workspace.to_string())
        .bind(draft.conversation_id.to_string())
        .bind(draft.scorecard_version_id.to_string())
        .bind(draft.reviewer_id.to_string())
        .bind(draft.kind.as_str())
        .bind(&draft.overall_feedback)
        .bind(draft.vendor_id.to_string())
        .bind(draft.team_id.map(|t| t.to_string()))
        .bind(draft.agent_id.map(|a| a.to_string()))
        .bind(draft.created_at)
        .bind(draft.created_at)
        .bind(if submitted.is_some() { "submitted" } else { "draft" })
        .bind(if submitted.is_some() { 2i64 } else { 1 })
        .bind(submitted.map(|_| draft.created_at))
        .bind_float(result.and_then(|r| r.score))
        .bind_float(result.map(|r| r.earned))
        .bind_float(result.map(|r| r.possible))
        .bind(result.map(|r| i64::from(r.critical_failed)))
        .bind(result.map(|r| sql::to_json(&r.critical_failures)));
    crate::rollups::bind_snapshot(query, submitted.and_then(|s| s.context.as_ref()))
}

/// Marks a draft at `revision` submitted with its score, and for one that counts in IQS the
/// conversation outcomes its rollup rows count (so that a re-import can move them, migration
/// 0007); a conflict when it changed meanwhile.
async fn mark_submitted(
    tx: &mut crate::WriteTx,
    id: EvaluationId,
    revision: i64,
    submission: &Submission,
    now: Millis,
) -> Result<()> {
    let result = &submission.result;
    let query = sqlx::query(
        "UPDATE evaluations SET status = 'submitted', score = $1, earned = $2, possible = $3, critical_failed = $4,
             critical_failures = $5, revision = revision + 1, updated_at = $6, submitted_at = $6,
             created_at = CASE WHEN created_at > $6 THEN $6 ELSE created_at END,
             rollup_snapshot = $9, rollup_channel = $10, rollup_csat = $11, rollup_nps = $12, rollup_fcr = $13,
             rollup_handle = $14
         WHERE id = $7 AND status = 'draft' AND revision = $8",
    )
    .bind_float(result.score)
    .bind(result.earned)
    .bind(result.possible)
    .bind(i64::from(result.critical_failed))
    .bind(sql::to_json(&result.critical_failures))
    .bind(now)
    .bind(id.to_string())
    .bind(revision);
    let done = crate::rollups::bind_snapshot(query, submission.context.as_ref()).execute(&mut **tx).await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict("the evaluation changed while it was being submitted; reload it".into()));
    }
    Ok(())
}

/// A draft as its submission left it, without reading it back.
fn submitted(draft: Evaluation, result: EvaluationScore, now: Millis) -> Evaluation {
    Evaluation {
        status: EvaluationStatus::Submitted,
        result: Some(result),
        created_at: draft.created_at.min(now),
        updated_at: now,
        submitted_at: Some(now),
        ..draft
    }
}
