//! Review assignments: plans and their seeded draws (qa_leads and admins), progress (also a
//! vendor lead, for their own vendor's graders), and each grader's queue, from which the review
//! is started. A vendor lead sees only the plans with one of their graders, and of those only
//! what concerns their vendor.
//!
//! A hidden calibration session's tasks may wait in a plan's queues: in a grader's queue they
//! are items like any other (`Assignment` never carries the session); those who assign reviews
//! see them in a plan's items, marked ([`PlanItem`]); a plan's progress and a vendor lead's
//! views leave them out.

use super::evaluations::EvaluationView;
use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use plumbline_domain::access::{Permission, VendorScope, Viewer};
use plumbline_domain::review_plans::{PlanFilter, PlanProgress, PlanSample, ReviewPlan};
use plumbline_domain::{CalibrationId, PlanId, ScorecardId, UserId};
use plumbline_store::{Assignment, AssignmentQuery, NewReviewPlan, PlanDraw, now_millis};
use serde::{Deserialize, Serialize};

/// A plan as the viewer may see it: whole for those who assign reviews; for a vendor lead only
/// with their own vendor's graders and no filter naming another vendor or its team.
pub(crate) async fn plan_for(state: &AppState, viewer: &Viewer, mut plan: ReviewPlan) -> ApiResult<ReviewPlan> {
    let Some(VendorScope::Only(vendor)) = viewer.review_progress_scope() else { return Ok(plan) };
    let ws = viewer.workspace_id;
    let mut own = Vec::new();
    for user in &plan.grader_ids {
        if state.store.get_user(ws, *user).await.is_ok_and(|u| u.vendor_id == vendor) {
            own.push(*user);
        }
    }
    plan.grader_ids = own;
    let own_teams = state.store.list_teams(ws, VendorScope::Only(vendor)).await?;
    let filter = &mut plan.filter;
    if filter.vendor_id.is_some_and(|v| v != vendor) {
        filter.vendor_id = None;
    }
    if filter.team_id.is_some_and(|t| !own_teams.iter().any(|own| own.id == t)) {
        filter.team_id = None;
    }
    Ok(plan)
}

/// The plan at `raw` if the viewer may see it (404 otherwise), and whose items they may see.
async fn visible_plan(
    state: &AppState,
    viewer: &Viewer,
    raw: &str,
) -> ApiResult<(ReviewPlan, Option<plumbline_domain::VendorId>)> {
    let scope = viewer.review_progress_scope().ok_or_else(ApiError::not_found)?;
    let id: PlanId = path_id(raw)?;
    let plan = state.store.get_review_plan(viewer.workspace_id, id).await?;
    if let VendorScope::Only(vendor) = scope {
        let visible = state.store.list_review_plans(viewer.workspace_id, Some(vendor)).await?;
        if !visible.iter().any(|p| p.id == id) {
            return Err(ApiError::not_found());
        }
    }
    Ok((plan_for(state, viewer, plan).await?, scope.vendor()))
}

/// Review plans: all for qa_leads and admins; for a vendor lead, the plans with one of their
/// vendor's graders.
#[utoipa::path(get, path = "/api/v1/review-plans", tag = "review-plans",
    responses((status = 200, body = Vec<ReviewPlan>), (status = 403, body = Problem)))]
pub async fn list_plans(State(state): State<AppState>, Auth(viewer): Auth) -> ApiResult<Json<Vec<ReviewPlan>>> {
    let scope =
        viewer.review_progress_scope().ok_or_else(|| ApiError::forbidden("your role may not see review plans"))?;
    let plans = state.store.list_review_plans(viewer.workspace_id, scope.vendor()).await?;
    let mut out = Vec::with_capacity(plans.len());
    for plan in plans {
        out.push(plan_for(&state, &viewer, plan).await?);
    }
    Ok(Json(out))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateReviewPlan {
    pub name: String,
    /// Reviews use this scorecard's active version.
    pub scorecard_id: ScorecardId,
    /// `{"percent": 10}` or `{"per_agent": 2}` (per agent per period).
    pub sample: PlanSample,
    /// The period of "per agent per period", and a draw's window when the filter has no dates
    /// (default 7).
    pub period_days: Option<u32>,
    #[serde(default)]
    pub filter: PlanFilter,
    /// The graders the reviews are spread over; a BPO grader only ever gets their own vendor's
    /// conversations.
    pub grader_ids: Vec<UserId>,
    /// Each item is due this many days after its draw (default 7).
    pub due_in_days: Option<u32>,
    /// Decimal text; default: a fresh random seed (recorded).
    pub seed: Option<String>,
}

/// Creates a plan (qa_leads and admins).
#[utoipa::path(post, path = "/api/v1/review-plans", tag = "review-plans", request_body = CreateReviewPlan,
    responses((status = 201, body = ReviewPlan), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_plan(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateReviewPlan>,
) -> ApiResult<(StatusCode, Json<ReviewPlan>)> {
    let viewer = auth.require(Permission::AssignReviews)?;
    let seed = match body.seed.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| ApiError::field("seed", "must be a whole number"))?),
    };
    let plan = state
        .store
        .create_review_plan(
            viewer.workspace_id,
            NewReviewPlan {
                name: body.name,
                scorecard_id: body.scorecard_id,
                sample: body.sample,
                period_days: body.period_days.unwrap_or(7),
                filter: body.filter,
                grader_ids: body.grader_ids,
                due_in_days: body.due_in_days.unwrap_or(7),
                seed,
                created_by: viewer.user_id,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(plan)))
}

/// One plan (a vendor lead: only a plan with one of their graders, showing only those).
#[utoipa::path(get, path = "/api/v1/review-plans/{id}", tag = "review-plans", params(("id" = String, Path)),
    responses((status = 200, body = ReviewPlan), (status = 404, body = Problem)))]
pub async fn get_plan(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<ReviewPlan>> {
    Ok(Json(visible_plan(&state, &viewer, &raw).await?.0))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateReviewPlan {
    /// Stop (false) or resume (true) the plan's draws.
    pub active: bool,
}

/// Stops or resumes a plan (qa_leads and admins). Items already given out stay in the queues.
#[utoipa::path(patch, path = "/api/v1/review-plans/{id}", tag = "review-plans", params(("id" = String, Path)), request_body = UpdateReviewPlan,
    responses((status = 200, body = ReviewPlan), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn update_plan(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<UpdateReviewPlan>,
) -> ApiResult<Json<ReviewPlan>> {
    let viewer = auth.require(Permission::AssignReviews)?;
    Ok(Json(state.store.set_review_plan_active(viewer.workspace_id, path_id(&raw)?, body.active).await?))
}

/// Draws the plan's next sample at random (the seed and window are recorded and returned, so
/// the draw can be reproduced) and spreads it evenly over the graders, never giving a grader a
/// conversation outside their vendor scope; each item lands in its grader's queue, due
/// `due_in_days` later (qa_leads and admins). 409 when nothing matches.
#[utoipa::path(post, path = "/api/v1/review-plans/{id}/draws", tag = "review-plans", params(("id" = String, Path)),
    responses((status = 201, body = PlanDraw), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn draw(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<(StatusCode, Json<PlanDraw>)> {
    let viewer = auth.require(Permission::AssignReviews)?;
    let drawn = state.store.draw_review_plan(viewer.workspace_id, path_id(&raw)?, now_millis()).await?;
    Ok((StatusCode::CREATED, Json(drawn)))
}

/// A plan's progress: items assigned, in progress, done and overdue, in all and per grader (a
/// vendor lead: their own vendor's graders only).
#[utoipa::path(get, path = "/api/v1/review-plans/{id}/progress", tag = "review-plans", params(("id" = String, Path)),
    responses((status = 200, body = PlanProgress), (status = 404, body = Problem)))]
pub async fn progress(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<PlanProgress>> {
    let (plan, vendor) = visible_plan(&state, &viewer, &raw).await?;
    Ok(Json(state.store.plan_progress(viewer.workspace_id, plan.id, vendor, now_millis()).await?))
}

/// An item of a plan as those who assign reviews see it: the item, and the hidden calibration
/// session it is a task of, if it is one.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PlanItem {
    #[serde(flatten)]
    pub item: Assignment,
    /// The hidden calibration session this item is a task of: its grader sees an ordinary item,
    /// and its score goes to the session, not to the plan's progress.
    pub hidden_calibration_id: Option<CalibrationId>,
}

/// A plan's items, earliest due first. qa_leads and admins also see the hidden calibration tasks
/// waiting in the plan's queues, marked; a vendor lead sees their own vendor's graders' drawn
/// items only.
#[utoipa::path(get, path = "/api/v1/review-plans/{id}/assignments", tag = "review-plans", params(("id" = String, Path)),
    responses((status = 200, body = Vec<PlanItem>), (status = 404, body = Problem)))]
pub async fn plan_assignments(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<Vec<PlanItem>>> {
    let (plan, vendor) = visible_plan(&state, &viewer, &raw).await?;
    Ok(Json(plan_items(&state, &viewer, plan.id, vendor).await?))
}

/// A plan's items as the viewer may see them (the page shows the same).
pub(crate) async fn plan_items(
    state: &AppState,
    viewer: &Viewer,
    plan: PlanId,
    vendor: Option<plumbline_domain::VendorId>,
) -> ApiResult<Vec<PlanItem>> {
    let query = AssignmentQuery {
        plan_id: Some(plan),
        grader_vendor_id: vendor,
        with_hidden_calibration: viewer.may(Permission::Calibrate),
        ..Default::default()
    };
    let items = state.store.list_assignments(viewer.workspace_id, &query).await?;
    Ok(items.into_iter().map(|item| PlanItem { hidden_calibration_id: item.calibration_session_id, item }).collect())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// Also list the items already done (default: only open ones).
    pub include_done: Option<bool>,
}

/// Your queue: the reviews assigned to you that are not done yet, earliest due first.
#[utoipa::path(get, path = "/api/v1/queue", tag = "review-plans", params(QueueQuery),
    responses((status = 200, body = Vec<Assignment>), (status = 403, body = Problem)))]
pub async fn my_queue(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<Vec<Assignment>>> {
    let viewer = auth.require(Permission::Evaluate)?;
    let query = AssignmentQuery {
        grader_id: Some(viewer.user_id),
        open_only: !q.include_done.unwrap_or(false),
        // With the hidden calibration tasks, as ordinary items (deliberately not said in the doc
        // comment, which the OpenAPI document publishes).
        with_hidden_calibration: true,
        ..Default::default()
    };
    Ok(Json(state.store.list_assignments(viewer.workspace_id, &query).await?))
}

/// Starts the review of one of your queue items: a draft review with the plan's scorecard's
/// active version (201); if it was started already, that review (200). The item is done when
/// the review is submitted.
#[utoipa::path(post, path = "/api/v1/queue/{id}/start", tag = "review-plans", params(("id" = String, Path)),
    responses((status = 201, body = EvaluationView), (status = 200, body = EvaluationView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn start(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<(StatusCode, Json<EvaluationView>)> {
    let (evaluation, revision, created) =
        state.store.start_assignment(viewer.workspace_id, path_id(&raw)?, viewer.user_id).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(EvaluationView { evaluation, revision })))
}
