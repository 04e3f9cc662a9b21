//! Calibration sessions as a viewer may see them, shared by the JSON API and the pages so the two
//! can never disagree: who relates how to a session ([`access`], [`facilitate`]), the session
//! view with the blind rules applied, the scoring matrix and the session report.
//!
//! Facilitators (the session's facilitator, admins, qa_leads) see everything; a participant sees
//! the session and their own tasks, and other participants' work only when
//! `SessionRole::sees_others_work` says so; a participant of a hidden session, like anyone else,
//! gets 404.

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use plumbline_domain::access::{SessionRole, VendorScope, Viewer};
use plumbline_domain::calibration::{
    CalibrationSession, CriterionSummary, Facilitation, SessionResults, summarize_criterion,
};
use plumbline_domain::conversation::Channel;
use plumbline_domain::evaluation::{Choice, Evaluation, EvaluationStatus};
use plumbline_domain::scorecard::FieldError;
use plumbline_domain::{CalibrationId, ConversationId, CriterionId, EvaluationId, Millis, UserId};
use plumbline_store::{Publishing, SessionRecord};
use serde::Serialize;

/// Loads a session and the viewer's relation to it; outsiders get 404.
pub async fn access(state: &AppState, viewer: &Viewer, raw: &str) -> ApiResult<(SessionRecord, SessionRole)> {
    let id: CalibrationId = crate::api::path_id(raw)?;
    let record = state.store.get_calibration(viewer.workspace_id, id).await?;
    match viewer.session_role(&record.session, record.is_participant(viewer.user_id)) {
        SessionRole::Outsider => Err(ApiError::not_found()),
        role => Ok((record, role)),
    }
}

pub async fn facilitate(state: &AppState, viewer: &Viewer, raw: &str) -> ApiResult<SessionRecord> {
    match access(state, viewer, raw).await? {
        (record, SessionRole::Facilitator) => Ok(record),
        _ => Err(ApiError::forbidden("only the facilitator and qa_leads may do this")),
    }
}

/// Whether every task of this participant is submitted.
pub fn submitted_all(tasks: &[Evaluation], user: UserId) -> bool {
    let mine: Vec<&Evaluation> = tasks.iter().filter(|t| t.reviewer_id == user).collect();
    !mine.is_empty() && mine.iter().all(|t| t.status == EvaluationStatus::Submitted)
}

// ---------------------------------------------------------------------------------------------
// Views

#[derive(Serialize, utoipa::ToSchema)]
pub struct ParticipantView {
    pub user_id: UserId,
    pub name: String,
    pub active: bool,
    pub removed_at: Option<Millis>,
    /// Facilitators only.
    pub removal_reason: Option<String>,
    /// How many of their tasks are submitted; shown to facilitators and to those who may see
    /// the others' work.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted: Option<usize>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionConversation {
    pub id: ConversationId,
    pub external_id: String,
    pub channel: Channel,
    pub subject: String,
    pub started_at: Millis,
    /// `None` when the session hides the agent's name from you.
    pub agent_name: Option<String>,
    pub agent_hidden: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Task {
    pub conversation_id: ConversationId,
    pub evaluation_id: EvaluationId,
    pub status: EvaluationStatus,
    pub score: Option<f64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionView {
    #[serde(flatten)]
    pub session: CalibrationSession,
    /// `facilitator` or `participant`.
    pub your_role: String,
    pub scorecard_id: plumbline_domain::ScorecardId,
    pub participants: Vec<ParticipantView>,
    pub conversations: Vec<SessionConversation>,
    /// Your own tasks (a draft or submitted evaluation per conversation).
    pub my_tasks: Vec<Task>,
    /// Whether you may see the other participants' scores now.
    pub others_visible: bool,
    /// Facilitators: the facilitation document's revision and whether publishing is possible.
    pub revision: Option<i64>,
    pub publishing: Option<Publishing>,
}

pub async fn session_view(
    state: &AppState,
    viewer: &Viewer,
    record: &SessionRecord,
    role: SessionRole,
) -> ApiResult<SessionView> {
    let ws = viewer.workspace_id;
    let tasks = state.store.calibration_tasks(ws, record.session.id).await?;
    let facilitator = role == SessionRole::Facilitator;
    let others_visible = role.sees_others_work(&record.session, submitted_all(&tasks, viewer.user_id));
    let participants = record
        .participants
        .iter()
        .filter(|p| facilitator || p.is_active())
        .map(|p| ParticipantView {
            user_id: p.user_id,
            name: p.name.clone(),
            active: p.is_active(),
            removed_at: p.removed_at,
            removal_reason: if facilitator { p.removal_reason.clone() } else { None },
            submitted: others_visible.then(|| {
                tasks.iter().filter(|t| t.reviewer_id == p.user_id && t.status == EvaluationStatus::Submitted).count()
            }),
        })
        .collect();
    let hide_agent = record.session.hide_agent_name && !facilitator;
    let mut conversations = Vec::new();
    for id in &record.session.conversation_ids {
        let c = state.store.get_conversation(ws, plumbline_domain::access::VendorScope::All, *id).await?;
        let agent_name = match (hide_agent, c.agent_id) {
            (false, Some(agent)) => {
                state.store.get_agent(ws, plumbline_domain::access::VendorScope::All, agent).await.ok().map(|a| a.name)
            }
            _ => None,
        };
        conversations.push(SessionConversation {
            id: c.id,
            external_id: c.external_id,
            channel: c.channel,
            subject: c.subject,
            started_at: c.started_at,
            agent_name,
            agent_hidden: hide_agent,
        });
    }
    let my_tasks = tasks
        .iter()
        .filter(|t| t.reviewer_id == viewer.user_id)
        .map(|t| Task {
            conversation_id: t.conversation_id,
            evaluation_id: t.id,
            status: t.status,
            score: t.result.as_ref().and_then(|r| r.score),
        })
        .collect();
    let version = state.store.get_version(ws, record.session.scorecard_version_id).await?;
    let publishing = if facilitator { Some(state.store.publishing(ws, record).await?) } else { None };
    Ok(SessionView {
        session: record.session.clone(),
        your_role: if facilitator { "facilitator" } else { "participant" }.into(),
        scorecard_id: version.scorecard_id,
        participants,
        conversations,
        my_tasks,
        others_visible,
        revision: facilitator.then_some(record.revision),
        publishing,
    })
}

/// Everyone involved in a session must be allowed to see every conversation of it: a session
/// never shows one vendor's conversation to another vendor's grader. One error per person and
/// conversation, on the field that named the person (`participant_ids[2]`, `facilitator_id`).
pub async fn people_who_may_not_see(
    state: &AppState,
    ws: plumbline_domain::WorkspaceId,
    people: &[(String, UserId)],
    conversations: &[ConversationId],
) -> ApiResult<Vec<FieldError>> {
    let mut errors = Vec::new();
    for (field, user) in people {
        let Some(person) = state.store.user_as_signed_in(ws, *user).await? else { continue };
        let person_viewer = person.viewer();
        for conversation in conversations {
            if let Ok(c) = state.store.get_conversation(ws, VendorScope::All, *conversation).await
                && !person_viewer.vendor_scope().allows(c.vendor_id)
            {
                errors.push(FieldError::new(
                    field,
                    format!("{} may not see conversation {} (another vendor's)", person.user.name, c.external_id),
                ));
            }
        }
    }
    Ok(errors)
}

/// Everyone in a recurring series must be allowed to see every conversation it may draw: a user
/// limited to one vendor needs the series' filter to name that vendor. One error per person, on
/// the field that named them.
pub async fn series_people_who_may_not_see(
    state: &AppState,
    ws: plumbline_domain::WorkspaceId,
    people: &[(String, UserId)],
    filter_vendor: Option<plumbline_domain::VendorId>,
) -> ApiResult<Vec<FieldError>> {
    let mut errors = Vec::new();
    for (field, user) in people {
        let Some(person) = state.store.user_as_signed_in(ws, *user).await? else { continue };
        if let Some(vendor) = person.viewer().vendor_scope().vendor()
            && filter_vendor != Some(vendor)
        {
            errors.push(FieldError::new(
                field,
                format!(
                    "{} sees only their vendor's conversations: set filter.vendor_id to their vendor",
                    person.user.name
                ),
            ));
        }
    }
    Ok(errors)
}

// ---------------------------------------------------------------------------------------------
// The scoring matrix

#[derive(Serialize, utoipa::ToSchema)]
pub struct MatrixCell {
    pub user_id: UserId,
    pub choice: Choice,
    pub points: Option<f64>,
    pub comment: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MatrixCriterion {
    pub criterion_id: CriterionId,
    pub title: String,
    /// One cell per participant who submitted and answered.
    pub cells: Vec<MatrixCell>,
    pub summary: CriterionSummary,
    /// The facilitator's calibrated answer so far.
    pub calibrated: Option<Choice>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MatrixScore {
    pub user_id: UserId,
    pub name: String,
    pub submitted: bool,
    pub score: Option<f64>,
    pub overall_feedback: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConversationMatrix {
    pub conversation_id: ConversationId,
    pub criteria: Vec<MatrixCriterion>,
    pub scores: Vec<MatrixScore>,
    /// The participants' comments, one paragraph each: a starting point for calibrated feedback.
    pub feedback_prefill: String,
}

/// The scoring matrix of every conversation of the session: criteria x active participants,
/// submitted scores only. Callers decide first whether the viewer may see it
/// (`SessionRole::sees_others_work`).
pub async fn build_matrix(
    state: &AppState,
    viewer: &Viewer,
    record: &SessionRecord,
    tasks: &[Evaluation],
) -> ApiResult<Vec<ConversationMatrix>> {
    let ws = viewer.workspace_id;
    let version = state.store.get_version(ws, record.session.scorecard_version_id).await?;
    let active: Vec<&plumbline_domain::calibration::Participant> =
        record.participants.iter().filter(|p| p.is_active()).collect();
    let mut out = Vec::new();
    for &conversation in &record.session.conversation_ids {
        let submitted: Vec<&Evaluation> = tasks
            .iter()
            .filter(|t| {
                t.conversation_id == conversation
                    && t.status == EvaluationStatus::Submitted
                    && active.iter().any(|p| p.user_id == t.reviewer_id)
            })
            .collect();
        let calibrated = record.facilitation.calibrated_for(conversation);
        let criteria = version
            .definition
            .criteria
            .iter()
            .map(|criterion| {
                let cells: Vec<MatrixCell> = submitted
                    .iter()
                    .filter_map(|t| {
                        let answer = t.answers.iter().find(|a| a.criterion_id == criterion.id)?;
                        let points = match answer.choice {
                            Choice::Option(o) => criterion.scale.options.get(o).map(|x| x.points),
                            Choice::NotApplicable => None,
                        };
                        Some(MatrixCell {
                            user_id: t.reviewer_id,
                            choice: answer.choice,
                            points,
                            comment: answer.comment.clone(),
                        })
                    })
                    .collect();
                let choices: Vec<Choice> = cells.iter().map(|c| c.choice).collect();
                MatrixCriterion {
                    criterion_id: criterion.id,
                    title: criterion.title.clone(),
                    summary: summarize_criterion(criterion, &choices),
                    cells,
                    calibrated: calibrated
                        .and_then(|c| c.answers.iter().find(|a| a.criterion_id == criterion.id))
                        .map(|a| a.choice),
                }
            })
            .collect();
        let scores: Vec<MatrixScore> = active
            .iter()
            .map(|p| {
                let task = submitted.iter().find(|t| t.reviewer_id == p.user_id);
                MatrixScore {
                    user_id: p.user_id,
                    name: p.name.clone(),
                    submitted: task.is_some(),
                    score: task.and_then(|t| t.result.as_ref()).and_then(|r| r.score),
                    overall_feedback: task.map(|t| t.overall_feedback.clone()),
                }
            })
            .collect();
        let feedback_prefill = submitted
            .iter()
            .filter(|t| !t.overall_feedback.trim().is_empty())
            .map(|t| t.overall_feedback.trim().to_string())
            .collect::<Vec<_>>()
            .join("\n\n");
        out.push(ConversationMatrix { conversation_id: conversation, criteria, scores, feedback_prefill });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The session's report

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionReport {
    pub session: CalibrationSession,
    /// Facilitators: everything; participants: their own rows, the criteria and the
    /// reliability statistics (after submit, the calibrated answer is public to participants).
    pub results: SessionResults,
    /// The calibrated answers and feedback.
    pub facilitation: Facilitation,
}

pub fn session_report(record: &SessionRecord, role: SessionRole, me: UserId) -> SessionReport {
    let mut results = record.results.clone().unwrap_or(SessionResults {
        participants: Vec::new(),
        criteria: Vec::new(),
        reliability_criteria: Vec::new(),
        reliability_scores: Vec::new(),
    });
    let mut facilitation = record.facilitation.clone();
    if role != SessionRole::Facilitator {
        results.participants.retain(|p| p.user_id == me);
        facilitation.participant_feedback.retain(|f| f.user_id == me);
        facilitation.attendance.retain(|a| a.user_id == me);
        facilitation.notes.clear();
    }
    SessionReport { session: record.session.clone(), results, facilitation }
}

// ---------------------------------------------------------------------------------------------
// Form calibration

/// What to say before a scorecard version goes live: whether its latest form calibration (a
/// submitted session on it while it was a draft) agreed with the calibrated answer at least
/// the workspace's threshold, or whether it was never form-calibrated. The same words as
/// `POST /api/v1/scorecards/{id}/versions/{version_id}/activate`.
pub async fn form_calibration_warnings(
    state: &AppState,
    ws: plumbline_domain::WorkspaceId,
    version: plumbline_domain::ScorecardVersionId,
) -> ApiResult<Vec<String>> {
    let threshold = state.store.get_workspace(ws).await?.settings.form_calibration_threshold;
    let mut warnings = Vec::new();
    match state.store.latest_version_calibration(ws, version).await? {
        None => warnings.push("this version was not form-calibrated: no submitted calibration session used it".into()),
        Some((session, Some(agreement))) if agreement < threshold => warnings.push(format!(
            "its latest form calibration (session {session}) agreed with the calibrated answer {:.0}% of the time, below the workspace threshold of {:.0}%",
            agreement * 100.0,
            threshold * 100.0
        )),
        Some((session, None)) => warnings.push(format!("its latest form calibration (session {session}) has no scores")),
        Some(_) => {}
    }
    Ok(warnings)
}

/// Leaves the agent out of conversations a participant is calibrating in a session that hides
/// the agent's name (facilitators and qa_leads keep it). Used by every conversation API and page.
pub async fn redact_hidden_agents(
    state: &AppState,
    viewer: &Viewer,
    conversations: &mut [plumbline_domain::conversation::Conversation],
) -> ApiResult<()> {
    if viewer.may(plumbline_domain::access::Permission::Calibrate) || conversations.is_empty() {
        return Ok(());
    }
    let hidden = state.store.conversations_with_hidden_agent(viewer.workspace_id, viewer.user_id).await?;
    for c in conversations.iter_mut().filter(|c| hidden.contains(&c.id)) {
        c.agent_id = None;
    }
    Ok(())
}
