//! Evaluations (reviews): create, save, submit, read, list.

use super::{PageParams, parse_id, parse_time};
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use plumbline_domain::access::{Permission, VendorScope, Viewer};
use plumbline_domain::evaluation::{Answer, Evaluation, EvaluationKind, EvaluationStatus};
use plumbline_domain::org::Role;
use plumbline_domain::{ConversationId, EvaluationId, ScorecardVersionId};
use plumbline_store::{EvaluationEdit, EvaluationFilter, EvaluationVisibility, GraderVendor, NewEvaluation, Page};
use serde::{Deserialize, Serialize};

/// An evaluation with its revision: send the revision back when saving, so two editors never
/// overwrite each other silently.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EvaluationView {
    #[serde(flatten)]
    pub evaluation: Evaluation,
    pub revision: i64,
}

/// Which evaluations a viewer may list, decided from the domain's rules.
fn visibility(viewer: &Viewer) -> EvaluationVisibility {
    let calibration_tasks_of_others = (!viewer.may(Permission::Calibrate)).then_some(viewer.user_id);
    let (vendor, author, agent) = match viewer.role {
        Role::Admin | Role::QaLead | Role::VendorLead => (viewer.vendor_scope(), None, None),
        Role::Reviewer => (VendorScope::All, Some(viewer.user_id), None),
        Role::Agent => (viewer.vendor_scope(), None, Some(viewer.agent_id.unwrap_or_default())),
    };
    EvaluationVisibility { vendor, author, agent, calibration_tasks_of_others }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvaluationQuery {
    pub vendor_id: Option<String>,
    pub team_id: Option<String>,
    pub agent_id: Option<String>,
    pub reviewer_id: Option<String>,
    pub conversation_id: Option<String>,
    pub kind: Option<EvaluationKind>,
    pub status: Option<EvaluationStatus>,
    /// Created on or after: YYYY-MM-DD or Unix ms.
    pub from: Option<String>,
    /// Created before: YYYY-MM-DD or Unix ms.
    pub to: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Evaluations you may see, newest first: your own as a reviewer, your vendor's as a
/// vendor_lead, your conversations' submitted reviews as an agent.
#[utoipa::path(get, path = "/api/v1/evaluations", tag = "evaluations", params(EvaluationQuery),
    responses((status = 200, body = Page<Evaluation>), (status = 422, body = Problem)))]
pub async fn list_evaluations(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    ApiQuery(q): ApiQuery<EvaluationQuery>,
) -> ApiResult<Json<Page<Evaluation>>> {
    let filter = EvaluationFilter {
        vendor_id: parse_id("vendor_id", &q.vendor_id)?,
        team_id: parse_id("team_id", &q.team_id)?,
        agent_id: parse_id("agent_id", &q.agent_id)?,
        reviewer_id: parse_id("reviewer_id", &q.reviewer_id)?,
        conversation_id: parse_id("conversation_id", &q.conversation_id)?,
        kind: q.kind,
        status: q.status,
        from: parse_time("from", &q.from)?,
        to: parse_time("to", &q.to)?,
    };
    let page = PageParams { cursor: q.cursor, limit: q.limit }.request();
    Ok(Json(state.store.list_evaluations(viewer.workspace_id, &visibility(&viewer), &filter, &page).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateEvaluation {
    pub conversation_id: ConversationId,
    pub scorecard_version_id: ScorecardVersionId,
    /// `review` (default) or, for an agent on their own conversation, `self_review`.
    pub kind: Option<EvaluationKind>,
    #[serde(default)]
    pub answers: Vec<Answer>,
    #[serde(default)]
    pub overall_feedback: String,
    /// true submits the review at once (every criterion answered, as for
    /// `POST /evaluations/{id}/submit`); the answer is then the submitted review. Default false:
    /// a draft.
    #[serde(default)]
    pub submit: bool,
}

/// Starts a review (a draft) of a conversation you may see, or with `submit: true` writes and
/// submits it in one request.
#[utoipa::path(post, path = "/api/v1/evaluations", tag = "evaluations", request_body = CreateEvaluation,
    responses((status = 201, body = EvaluationView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_evaluation(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    ApiJson(body): ApiJson<CreateEvaluation>,
) -> ApiResult<(StatusCode, Json<EvaluationView>)> {
    let kind = body.kind.unwrap_or(if viewer.role == Role::Agent {
        EvaluationKind::SelfReview
    } else {
        EvaluationKind::Review
    });
    match kind {
        EvaluationKind::Review if viewer.may(Permission::Evaluate) => {}
        EvaluationKind::SelfReview if viewer.may(Permission::SelfReview) => {}
        EvaluationKind::Review | EvaluationKind::SelfReview => {
            return Err(ApiError::forbidden(format!("your role may not write a {}", kind.as_str())));
        }
        _ => {
            return Err(ApiError::field(
                "kind",
                "calibration, calibrated and audit evaluations come from sessions and audits",
            ));
        }
    }
    // The version's status comes with the conversation (a submission then needs no read of it).
    let reviewed = state
        .store
        .conversation_to_review(
            viewer.workspace_id,
            viewer.vendor_scope(),
            body.conversation_id,
            body.scorecard_version_id,
        )
        .await;
    let Some(reviewed) =
        reviewed.ok().filter(|r| viewer.may_read_conversation(r.conversation.vendor_id, r.conversation.agent_id))
    else {
        return Err(ApiError::field("conversation_id", "there is no such conversation"));
    };
    let new = NewEvaluation {
        conversation_id: body.conversation_id,
        scorecard_version_id: body.scorecard_version_id,
        reviewer_id: viewer.user_id,
        kind,
        answers: body.answers,
        overall_feedback: body.overall_feedback,
    };
    let (evaluation, revision) = if body.submit {
        let policy = viewer.scoring;
        let grader = GraderVendor { id: viewer.vendor_id, is_internal: viewer.vendor_is_internal };
        state.store.create_submitted_evaluation_of(viewer.workspace_id, &reviewed, grader, new, policy).await?
    } else {
        (state.store.create_evaluation(viewer.workspace_id, new).await?, 1)
    };
    Ok((StatusCode::CREATED, Json(EvaluationView { evaluation, revision })))
}

async fn visible(state: &AppState, viewer: &Viewer, raw: &str) -> ApiResult<(Evaluation, i64)> {
    let id: EvaluationId = super::path_id(raw)?;
    let (evaluation, revision) = state.store.get_evaluation(viewer.workspace_id, id).await?;
    if !viewer.may_read_evaluation(&evaluation) {
        return Err(ApiError::not_found());
    }
    Ok((evaluation, revision))
}

/// One evaluation with its answers and score.
#[utoipa::path(get, path = "/api/v1/evaluations/{id}", tag = "evaluations", params(("id" = String, Path)),
    responses((status = 200, body = EvaluationView), (status = 404, body = Problem)))]
pub async fn get_evaluation(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<EvaluationView>> {
    let (evaluation, revision) = visible(&state, &viewer, &raw).await?;
    Ok(Json(EvaluationView { evaluation, revision }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SaveEvaluation {
    pub answers: Vec<Answer>,
    #[serde(default)]
    pub overall_feedback: String,
    /// The revision you loaded; a save from an older one gets 409.
    pub revision: Option<i64>,
    /// Active seconds spent since the last save (0 to 14400), added to the evaluation's
    /// `active_seconds` when the save succeeds.
    pub active_seconds: Option<i64>,
}

/// Saves a draft (its author only).
#[utoipa::path(put, path = "/api/v1/evaluations/{id}", tag = "evaluations", params(("id" = String, Path)), request_body = SaveEvaluation,
    responses((status = 200, body = EvaluationView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn save_evaluation(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<SaveEvaluation>,
) -> ApiResult<Json<EvaluationView>> {
    let (evaluation, _) = visible(&state, &viewer, &raw).await?;
    let active_seconds = checked_active_seconds(body.active_seconds)?;
    let policy = viewer.scoring;
    let (evaluation, revision) = state
        .store
        .save_evaluation(
            viewer.workspace_id,
            evaluation.id,
            viewer.user_id,
            EvaluationEdit {
                answers: &body.answers,
                overall_feedback: &body.overall_feedback,
                expected_revision: body.revision,
            },
            policy,
        )
        .await?;
    let evaluation = with_active_time(&state, &viewer, evaluation, active_seconds).await?;
    Ok(Json(EvaluationView { evaluation, revision }))
}

/// An active-time increment from a request, checked (the field is named when it is refused).
fn checked_active_seconds(seconds: Option<i64>) -> ApiResult<i64> {
    let seconds = seconds.unwrap_or(0);
    plumbline_domain::habits::check_active_seconds(seconds).map_err(|e| ApiError::field(&e.field, e.reason))?;
    Ok(seconds)
}

/// Adds the active time to an evaluation just saved or submitted, and shows it.
async fn with_active_time(
    state: &AppState,
    viewer: &Viewer,
    mut evaluation: Evaluation,
    seconds: i64,
) -> ApiResult<Evaluation> {
    if seconds > 0 {
        state.store.add_active_time(viewer.workspace_id, evaluation.id, viewer.user_id, seconds).await?;
        evaluation.active_seconds += seconds;
    }
    Ok(evaluation)
}

/// Optional body of a submit.
#[derive(Default, Deserialize, utoipa::ToSchema)]
pub struct SubmitEvaluation {
    /// Active seconds spent since the last save (0 to 14400), added to the evaluation.
    pub active_seconds: Option<i64>,
}

/// Deletes a draft (its author only).
#[utoipa::path(delete, path = "/api/v1/evaluations/{id}", tag = "evaluations", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_evaluation(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let (evaluation, _) = visible(&state, &viewer, &raw).await?;
    state.store.delete_draft_evaluation(viewer.workspace_id, evaluation.id, viewer.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Submits a draft (its author only): every criterion must be answered; the score is computed
/// with the workspace's policies. A second submit gets 409.
#[utoipa::path(post, path = "/api/v1/evaluations/{id}/submit", tag = "evaluations", params(("id" = String, Path)),
    request_body(content = Option<SubmitEvaluation>, description = "Optional: the active time since the last save.", content_type = "application/json"),
    responses((status = 200, body = EvaluationView), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn submit_evaluation(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<EvaluationView>> {
    let (evaluation, _) = visible(&state, &viewer, &raw).await?;
    // The body is optional: an empty one submits without adding time.
    let body: SubmitEvaluation =
        if body.trim_ascii().is_empty() { SubmitEvaluation::default() } else { crate::extract::parse_json(&body)? };
    let active_seconds = checked_active_seconds(body.active_seconds)?;
    let policy = viewer.scoring;
    let (evaluation, revision) =
        state.store.submit_evaluation_with_revision(viewer.workspace_id, evaluation.id, viewer.user_id, policy).await?;
    let evaluation = with_active_time(&state, &viewer, evaluation, active_seconds).await?;
    Ok(Json(EvaluationView { evaluation, revision }))
}
