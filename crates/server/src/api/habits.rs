//! The grading-habits report: per grader, reviews, active minutes per review (median and mean)
//! and the share of feedback copied word for word from their own earlier reviews (the rules
//! are the domain's `habits` module and are returned with the report).

use super::parse_time;
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiQuery, Auth};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use plumbline_domain::access::{Permission, Viewer};
use plumbline_domain::habits::{GradingHabitsReport, grading_habits};
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HabitsQuery {
    /// Reviews submitted on or after: YYYY-MM-DD or Unix ms.
    pub from: Option<String>,
    /// Reviews submitted before: YYYY-MM-DD or Unix ms.
    pub to: Option<String>,
    /// json (default) or csv.
    pub format: Option<String>,
}

/// The report for a viewer who may read reports (a vendor lead: their vendor's graders).
pub(crate) async fn habits_report(
    state: &AppState,
    viewer: &Viewer,
    from: Option<i64>,
    to: Option<i64>,
) -> ApiResult<GradingHabitsReport> {
    let reviews = state.store.habit_reviews(viewer.workspace_id, viewer.vendor_scope(), to).await?;
    Ok(grading_habits(&reviews, from))
}

/// Grading habits per grader: submitted reviews, median and mean active minutes per review
/// (reviews with recorded time; idle time is not counted), and the share of their feedback
/// copied word for word from their own earlier reviews (a piece of at least 20 characters,
/// identical ignoring case and whitespace). qa_leads and admins see every grader; a vendor
/// lead their own vendor's.
#[utoipa::path(get, path = "/api/v1/reports/grading-habits", tag = "reports", params(HabitsQuery),
    responses((status = 200, body = GradingHabitsReport), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn report(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<HabitsQuery>,
) -> ApiResult<Response> {
    let viewer = auth.require(Permission::ReadReports)?;
    let (from, to) = (parse_time("from", &q.from)?, parse_time("to", &q.to)?);
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "csv") {
        return Err(ApiError::field("format", "must be json or csv"));
    }
    let report = habits_report(&state, viewer, from, to).await?;
    if format == "json" {
        return Ok(Json(report).into_response());
    }
    let num = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    let mut out = String::from(
        "user_id,name,vendor,internal,reviews,timed_reviews,median_active_minutes,mean_active_minutes,feedback_pieces,copied_pieces,copied_share\n",
    );
    for g in &report.graders {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            g.user_id,
            super::reports::csv_field(&g.name),
            super::reports::csv_field(&g.vendor_name),
            g.internal,
            g.reviews,
            g.timed_reviews,
            num(g.median_active_minutes),
            num(g.mean_active_minutes),
            g.feedback_pieces,
            g.copied_pieces,
            num(g.copied_share)
        ));
    }
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
}
