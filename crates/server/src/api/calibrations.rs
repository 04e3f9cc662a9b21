//! Calibration sessions: setup, participants, the scoring matrix, facilitation, reveal, submit,
//! the session report and audit trail; action items, follow-ups and the scorecard decisions.
//!
//! Who sees what is decided once, in [`crate::calibration_views`] (shared with the pages):
//! facilitators see everything; participants their own work, and the others' only when the
//! blind rules allow; anyone else gets 404.

use super::{parse_time, path_id};
use crate::AppState;
use crate::calibration_views::{
    ConversationMatrix, SessionReport, SessionView, access, build_matrix, facilitate, people_who_may_not_see,
    session_report, session_view, submitted_all,
};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use plumbline_domain::access::{Permission, SessionRole, Viewer};
use plumbline_domain::calibration::{CalibrationSession, Facilitation, SessionMode, SessionStatus};
use plumbline_domain::conversation::Conversation;
use plumbline_domain::{ConversationId, Millis, PlanId, ScorecardVersionId, UserId};
use plumbline_store::{
    ActionRecord, AuditEntry, DecisionNote, FollowUp, NewSession, Page, PageRequest, SessionPatch, SessionRecord,
    SessionVisibility,
};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// List, create, read, change

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    pub status: Option<SessionStatus>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Sessions you may see, newest first: all of them for admins and qa_leads; otherwise those
/// you facilitate or take part in (a hidden session never shows to its participants).
#[utoipa::path(get, path = "/api/v1/calibrations", tag = "calibrations", params(SessionQuery),
    responses((status = 200, body = Page<CalibrationSession>), (status = 422, body = Problem)))]
pub async fn list_calibrations(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    ApiQuery(q): ApiQuery<SessionQuery>,
) -> ApiResult<Json<Page<CalibrationSession>>> {
    let visibility = if viewer.may(Permission::Calibrate) {
        SessionVisibility::All
    } else {
        SessionVisibility::Involving(viewer.user_id)
    };
    let page = PageRequest { cursor: q.cursor, limit: q.limit };
    Ok(Json(state.store.list_calibrations(viewer.workspace_id, visibility, q.status, &page).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateSession {
    pub title: String,
    #[serde(default)]
    pub goals: String,
    pub scorecard_version_id: ScorecardVersionId,
    pub conversation_ids: Vec<ConversationId>,
    pub participant_ids: Vec<UserId>,
    /// Defaults to you.
    pub facilitator_id: Option<UserId>,
    /// `blind` (default), `open` or `hidden`.
    pub mode: Option<SessionMode>,
    #[serde(default)]
    pub hide_agent_name: bool,
    /// YYYY-MM-DD or Unix ms.
    pub scheduled_at: Option<String>,
    /// YYYY-MM-DD or Unix ms.
    pub scoring_deadline: Option<String>,
    /// Hidden mode only: put each participant's tasks in their queue of this review plan, as
    /// items like the plan's own (due at the scoring deadline, else the plan's due days). The
    /// session must calibrate the active version of the plan's scorecard, and every participant
    /// must write reviews and not have one of the conversations in their queue already.
    pub review_plan_id: Option<PlanId>,
}

/// Creates a session (qa_leads and admins). Each participant gets a task per conversation in
/// their work list at once (a hidden session with a review plan: an item in their queue of that
/// plan instead); every participant and the facilitator must be allowed to see every
/// conversation.
#[utoipa::path(post, path = "/api/v1/calibrations", tag = "calibrations", request_body = CreateSession,
    responses((status = 201, body = SessionView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_calibration(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    ApiJson(body): ApiJson<CreateSession>,
) -> ApiResult<(StatusCode, Json<SessionView>)> {
    if !viewer.may(Permission::Calibrate) {
        return Err(ApiError::forbidden("only qa_leads and admins create calibration sessions"));
    }
    let ws = viewer.workspace_id;
    let facilitator_id = body.facilitator_id.unwrap_or(viewer.user_id);
    let mut people: Vec<(String, UserId)> =
        body.participant_ids.iter().enumerate().map(|(i, u)| (format!("participant_ids[{i}]"), *u)).collect();
    people.push(("facilitator_id".into(), facilitator_id));
    let errors = people_who_may_not_see(&state, ws, &people, &body.conversation_ids).await?;
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let record = state
        .store
        .create_calibration(
            ws,
            NewSession {
                title: body.title,
                goals: body.goals,
                scorecard_version_id: body.scorecard_version_id,
                facilitator_id,
                mode: body.mode.unwrap_or(SessionMode::Blind),
                hide_agent_name: body.hide_agent_name,
                scheduled_at: parse_time("scheduled_at", &body.scheduled_at)?,
                scoring_deadline: parse_time("scoring_deadline", &body.scoring_deadline)?,
                conversation_ids: body.conversation_ids,
                participant_ids: body.participant_ids,
                review_plan_id: body.review_plan_id,
                created_by: viewer.user_id,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(session_view(&state, &viewer, &record, SessionRole::Facilitator).await?)))
}

/// One session as you may see it.
#[utoipa::path(get, path = "/api/v1/calibrations/{id}", tag = "calibrations", params(("id" = String, Path)),
    responses((status = 200, body = SessionView), (status = 404, body = Problem)))]
pub async fn get_calibration(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<SessionView>> {
    let (record, role) = access(&state, &viewer, &raw).await?;
    Ok(Json(session_view(&state, &viewer, &record, role).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateSession {
    pub title: Option<String>,
    pub goals: Option<String>,
    pub facilitator_id: Option<UserId>,
    pub hide_agent_name: Option<bool>,
    /// YYYY-MM-DD or Unix ms; an empty string clears it.
    pub scheduled_at: Option<String>,
    /// YYYY-MM-DD or Unix ms; an empty string clears it.
    pub scoring_deadline: Option<String>,
}

/// Changes the setup until the session is submitted (facilitators).
#[utoipa::path(patch, path = "/api/v1/calibrations/{id}", tag = "calibrations", params(("id" = String, Path)), request_body = UpdateSession,
    responses((status = 200, body = SessionView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_calibration(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<UpdateSession>,
) -> ApiResult<Json<SessionView>> {
    let record = facilitate(&state, &viewer, &raw).await?;
    let time = |field: &str, value: &Option<String>| -> ApiResult<Option<Option<Millis>>> {
        match value {
            None => Ok(None),
            Some(v) if v.trim().is_empty() => Ok(Some(None)),
            Some(_) => Ok(Some(parse_time(field, value)?)),
        }
    };
    let patch = SessionPatch {
        title: body.title,
        goals: body.goals,
        facilitator_id: body.facilitator_id,
        hide_agent_name: body.hide_agent_name,
        scheduled_at: time("scheduled_at", &body.scheduled_at)?,
        scoring_deadline: time("scoring_deadline", &body.scoring_deadline)?,
    };
    let record = state.store.update_calibration(viewer.workspace_id, record.session.id, patch, viewer.user_id).await?;
    Ok(Json(session_view(&state, &viewer, &record, SessionRole::Facilitator).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct AddParticipant {
    pub user_id: UserId,
}

/// Adds a participant while the session is scoring (facilitators).
#[utoipa::path(post, path = "/api/v1/calibrations/{id}/participants", tag = "calibrations", params(("id" = String, Path)), request_body = AddParticipant,
    responses((status = 200, body = SessionView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_participant(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<AddParticipant>,
) -> ApiResult<Json<SessionView>> {
    let record = facilitate(&state, &viewer, &raw).await?;
    let ws = viewer.workspace_id;
    let person = state
        .store
        .get_user(ws, body.user_id)
        .await
        .map_err(|_| ApiError::field("user_id", "there is no such user"))?;
    let errors =
        people_who_may_not_see(&state, ws, &[("user_id".into(), person.id)], &record.session.conversation_ids).await?;
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let record = state.store.add_participant(ws, record.session.id, body.user_id, viewer.user_id).await?;
    Ok(Json(session_view(&state, &viewer, &record, SessionRole::Facilitator).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RemovalQuery {
    /// Why the participant is removed (kept in the audit trail).
    pub reason: Option<String>,
}

/// Removes a participant with a reason, until the session is submitted (facilitators).
#[utoipa::path(delete, path = "/api/v1/calibrations/{id}/participants/{user_id}", tag = "calibrations",
    params(("id" = String, Path), ("user_id" = String, Path), RemovalQuery),
    responses((status = 200, body = SessionView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn remove_participant(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path((raw, user)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<RemovalQuery>,
) -> ApiResult<Json<SessionView>> {
    let record = facilitate(&state, &viewer, &raw).await?;
    let user: UserId = path_id(&user)?;
    let reason = q.reason.unwrap_or_default();
    let record =
        state.store.remove_participant(viewer.workspace_id, record.session.id, user, &reason, viewer.user_id).await?;
    Ok(Json(session_view(&state, &viewer, &record, SessionRole::Facilitator).await?))
}

/// A conversation of the session with its transcript, for scoring (the agent is left out when
/// the session hides the agent's name from you).
#[utoipa::path(get, path = "/api/v1/calibrations/{id}/conversations/{conversation_id}", tag = "calibrations",
    params(("id" = String, Path), ("conversation_id" = String, Path)),
    responses((status = 200, body = Conversation), (status = 404, body = Problem)))]
pub async fn session_conversation(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path((raw, conversation)): Path<(String, String)>,
) -> ApiResult<Json<Conversation>> {
    let (record, role) = access(&state, &viewer, &raw).await?;
    let conversation: ConversationId = path_id(&conversation)?;
    if !record.session.conversation_ids.contains(&conversation) {
        return Err(ApiError::not_found());
    }
    let mut c = state
        .store
        .get_conversation(viewer.workspace_id, plumbline_domain::access::VendorScope::All, conversation)
        .await?;
    if record.session.hide_agent_name && role != SessionRole::Facilitator {
        c.agent_id = None;
    }
    Ok(Json(c))
}

// ---------------------------------------------------------------------------------------------
// The scoring matrix

/// The scoring matrix (criteria x participants, submitted scores only) with each criterion's
/// distribution, percent agreement, spread and suggested calibrated answer. Facilitators always;
/// participants only when the mode and the reveal allow (otherwise 403, with no counts).
#[utoipa::path(get, path = "/api/v1/calibrations/{id}/matrix", tag = "calibrations", params(("id" = String, Path)),
    responses((status = 200, body = Vec<ConversationMatrix>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn matrix(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<Vec<ConversationMatrix>>> {
    let (record, role) = access(&state, &viewer, &raw).await?;
    let ws = viewer.workspace_id;
    let tasks = state.store.calibration_tasks(ws, record.session.id).await?;
    if !role.sees_others_work(&record.session, submitted_all(&tasks, viewer.user_id)) {
        return Err(ApiError::forbidden(
            "the other participants' scores are shown after you submitted yours and the facilitator revealed them",
        ));
    }
    Ok(Json(build_matrix(&state, &viewer, &record, &tasks).await?))
}

// ---------------------------------------------------------------------------------------------
// Facilitation, reveal, submit, cancel

#[derive(Serialize, utoipa::ToSchema)]
pub struct FacilitationView {
    pub revision: i64,
    pub updated_by: Option<UserId>,
    pub updated_at: Millis,
    pub status: SessionStatus,
    pub facilitation: Facilitation,
}

fn facilitation_view(record: &SessionRecord) -> FacilitationView {
    FacilitationView {
        revision: record.revision,
        updated_by: record.updated_by,
        updated_at: record.updated_at,
        status: record.session.status,
        facilitation: record.facilitation.clone(),
    }
}

/// The facilitation document with its revision (facilitators).
#[utoipa::path(get, path = "/api/v1/calibrations/{id}/facilitation", tag = "calibrations", params(("id" = String, Path)),
    responses((status = 200, body = FacilitationView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_facilitation(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<FacilitationView>> {
    Ok(Json(facilitation_view(&facilitate(&state, &viewer, &raw).await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SaveFacilitation {
    /// The revision you loaded. If someone saved since, you get 409 with the current revision
    /// and who saved it; nothing is overwritten.
    pub revision: i64,
    pub facilitation: Facilitation,
}

/// Saves the whole facilitation document: attendance, notes, calibrated answers and comments,
/// calibrated feedback, feedback to participants, decisions and action items (facilitators).
#[utoipa::path(put, path = "/api/v1/calibrations/{id}/facilitation", tag = "calibrations", params(("id" = String, Path)), request_body = SaveFacilitation,
    responses((status = 200, body = FacilitationView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn save_facilitation(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<SaveFacilitation>,
) -> ApiResult<Json<FacilitationView>> {
    let record = facilitate(&state, &viewer, &raw).await?;
    let record = state
        .store
        .save_facilitation(viewer.workspace_id, record.session.id, body.revision, body.facilitation, viewer.user_id)
        .await?;
    Ok(Json(facilitation_view(&record)))
}

/// Reveals the scores: the session moves to discussion; participants who submitted see
/// everyone's scores; scores can no longer change (facilitators).
#[utoipa::path(post, path = "/api/v1/calibrations/{id}/reveal", tag = "calibrations", params(("id" = String, Path)),
    responses((status = 200, body = SessionView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn reveal(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<SessionView>> {
    let record = facilitate(&state, &viewer, &raw).await?;
    let record = state.store.reveal_calibration(viewer.workspace_id, record.session.id, viewer.user_id).await?;
    Ok(Json(session_view(&state, &viewer, &record, SessionRole::Facilitator).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SubmitSession {
    /// Publish the calibrated result as `calibrated` evaluations that count in IQS. Only when
    /// no conversation of the session has an earlier submitted review (otherwise 409).
    #[serde(default)]
    pub publish: bool,
    /// The facilitation revision you reviewed; a newer one gets 409.
    pub revision: Option<i64>,
}

/// Submits the session: needs a calibrated answer for every criterion of every conversation
/// (otherwise 422 listing what is missing); freezes it and computes the results (facilitators).
#[utoipa::path(post, path = "/api/v1/calibrations/{id}/submit", tag = "calibrations", params(("id" = String, Path)), request_body = SubmitSession,
    responses((status = 200, body = SessionReport), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn submit(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<SubmitSession>,
) -> ApiResult<Json<SessionReport>> {
    let record = facilitate(&state, &viewer, &raw).await?;
    let record = state
        .store
        .submit_calibration(viewer.workspace_id, record.session.id, body.revision, body.publish, viewer.user_id)
        .await?;
    Ok(Json(session_report(&record, SessionRole::Facilitator, viewer.user_id)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CancelSession {
    pub reason: String,
}

/// Cancels a session that is not submitted (facilitators).
#[utoipa::path(post, path = "/api/v1/calibrations/{id}/cancel", tag = "calibrations", params(("id" = String, Path)), request_body = CancelSession,
    responses((status = 200, body = SessionView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn cancel(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<CancelSession>,
) -> ApiResult<Json<SessionView>> {
    let record = facilitate(&state, &viewer, &raw).await?;
    if body.reason.trim().is_empty() {
        return Err(ApiError::field("reason", "say why the session is cancelled"));
    }
    let record = state
        .store
        .cancel_calibration(viewer.workspace_id, record.session.id, body.reason.trim(), viewer.user_id)
        .await?;
    Ok(Json(session_view(&state, &viewer, &record, SessionRole::Facilitator).await?))
}

// ---------------------------------------------------------------------------------------------
// The session's report and audit trail

/// The results of a submitted session (409 before submit).
#[utoipa::path(get, path = "/api/v1/calibrations/{id}/report", tag = "calibrations", params(("id" = String, Path)),
    responses((status = 200, body = SessionReport), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn report(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<SessionReport>> {
    let (record, role) = access(&state, &viewer, &raw).await?;
    if record.session.status != SessionStatus::Submitted {
        return Err(ApiError::conflict("the session's report exists once it is submitted"));
    }
    Ok(Json(session_report(&record, role, viewer.user_id)))
}

/// Every change to the session, oldest first: who, when, what, old and new value (facilitators).
#[utoipa::path(get, path = "/api/v1/calibrations/{id}/audit", tag = "calibrations", params(("id" = String, Path)),
    responses((status = 200, body = Vec<AuditEntry>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn audit(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    let record = facilitate(&state, &viewer, &raw).await?;
    Ok(Json(state.store.calibration_audit(viewer.workspace_id, record.session.id).await?))
}

// ---------------------------------------------------------------------------------------------
// Action items, follow-ups, decisions

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OpenQuery {
    /// Only open items (default true).
    pub open: Option<bool>,
}

fn calibrator(viewer: &Viewer) -> ApiResult<()> {
    if viewer.may(Permission::Calibrate) {
        Ok(())
    } else {
        Err(ApiError::forbidden("only qa_leads and admins see this"))
    }
}

/// Action items of submitted sessions, open ones by default (qa_leads and admins).
#[utoipa::path(get, path = "/api/v1/calibration-actions", tag = "calibrations", params(OpenQuery),
    responses((status = 200, body = Vec<ActionRecord>), (status = 403, body = Problem)))]
pub async fn list_actions(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    ApiQuery(q): ApiQuery<OpenQuery>,
) -> ApiResult<Json<Vec<ActionRecord>>> {
    calibrator(&viewer)?;
    Ok(Json(state.store.list_actions(viewer.workspace_id, q.open.unwrap_or(true)).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateAction {
    pub done: bool,
}

/// Marks an action item done or open again (qa_leads and admins).
#[utoipa::path(patch, path = "/api/v1/calibration-actions/{id}", tag = "calibrations", params(("id" = String, Path)), request_body = UpdateAction,
    responses((status = 200, body = ActionRecord), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn update_action(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<UpdateAction>,
) -> ApiResult<Json<ActionRecord>> {
    calibrator(&viewer)?;
    let id = path_id(&raw)?;
    Ok(Json(state.store.set_action_done(viewer.workspace_id, id, body.done).await?))
}

/// Participants who ended outside tolerance, open ones by default (qa_leads and admins).
#[utoipa::path(get, path = "/api/v1/calibration-followups", tag = "calibrations", params(OpenQuery),
    responses((status = 200, body = Vec<FollowUp>), (status = 403, body = Problem)))]
pub async fn list_followups(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    ApiQuery(q): ApiQuery<OpenQuery>,
) -> ApiResult<Json<Vec<FollowUp>>> {
    calibrator(&viewer)?;
    Ok(Json(state.store.list_followups(viewer.workspace_id, q.open.unwrap_or(true)).await?))
}

/// Marks a participant's follow-up resolved (qa_leads and admins).
#[utoipa::path(post, path = "/api/v1/calibration-followups/{session_id}/{user_id}/resolve", tag = "calibrations",
    params(("session_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn resolve_followup(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path((session, user)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    calibrator(&viewer)?;
    state.store.resolve_followup(viewer.workspace_id, path_id(&session)?, path_id(&user)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Decisions of submitted calibration sessions on this scorecard, newest first: each extends
/// the guidelines of its criterion, dated and linked to its session.
#[utoipa::path(get, path = "/api/v1/scorecards/{id}/decisions", tag = "scorecards", params(("id" = String, Path)),
    responses((status = 200, body = Vec<DecisionNote>), (status = 404, body = Problem)))]
pub async fn scorecard_decisions(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<Vec<DecisionNote>>> {
    let id = path_id(&raw)?;
    state.store.get_scorecard(viewer.workspace_id, id).await?;
    Ok(Json(state.store.scorecard_decisions(viewer.workspace_id, id).await?))
}
