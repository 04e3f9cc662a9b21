//! The QA program reports (trend, vendor view, IQS vs CSAT/NPS, self-assessment, leaderboard)
//! and IQS targets. Each report is JSON, or CSV with `?format=csv`; all take the filters of
//! [`ReportQuery`]; a vendor_lead sees their own vendor only. The assembly lives in
//! `iqs_views` (shared with the pages).

use super::path_id;
use super::reports::csv_field;
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use crate::iqs_views::{self, CsatReport, Leaderboard, ReportQuery, SelfAssessment, TargetProgress, Trend, VendorView};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use plumbline_domain::access::Permission;
use plumbline_domain::reports::Interval;
use plumbline_store::{IqsGrouping, TargetInput};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// json (default) or csv.
    pub format: Option<String>,
}

/// Answers JSON, or the CSV the closure writes.
fn respond<T: Serialize>(format: &Option<String>, value: T, csv: impl FnOnce(&T) -> String) -> ApiResult<Response> {
    match format.as_deref() {
        None | Some("json") => Ok(Json(value).into_response()),
        Some("csv") => Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv(&value)).into_response()),
        Some(_) => Err(ApiError::field("format", "must be json or csv")),
    }
}

/// A CSV document: a header line, then one line per row.
pub fn csv_table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut out = header.join(",");
    out.push('\n');
    for row in rows {
        out.push_str(&row.iter().map(|v| csv_field(v)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

pub fn num(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}")).unwrap_or_default()
}

fn low(ci: Option<[f64; 2]>) -> String {
    num(ci.map(|c| c[0]))
}

fn high(ci: Option<[f64; 2]>) -> String {
    num(ci.map(|c| c[1]))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrendQuery {
    /// day, week or month (default).
    pub interval: Option<Interval>,
    /// One series per vendor, team, channel or scorecard (at most 12, the largest); default one
    /// series for everything selected.
    pub group_by: Option<IqsGrouping>,
    /// json (default) or csv.
    pub format: Option<String>,
}

/// IQS over time by day, week or month, with a 95% interval per point and the band. Without
/// `from`: the last 12 months (monthly), 26 weeks (weekly) or 60 days (daily).
#[utoipa::path(get, path = "/api/v1/reports/iqs/trend", tag = "reports", params(ReportQuery, TrendQuery),
    responses((status = 200, body = Trend), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn iqs_trend(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
    ApiQuery(t): ApiQuery<TrendQuery>,
) -> ApiResult<Response> {
    let viewer = auth.require(Permission::ReadReports)?;
    let trend =
        iqs_views::trend(&state, viewer, &q.filter()?, t.interval.unwrap_or(Interval::Month), t.group_by).await?;
    respond(&t.format, trend, |t| {
        csv_table(
            &["series_id", "series", "start", "evaluations", "iqs", "iqs_low", "iqs_high"],
            t.series.iter().flat_map(|s| {
                s.points.iter().map(|p| {
                    vec![
                        s.id.clone().unwrap_or_default(),
                        s.name.clone(),
                        p.start.clone(),
                        p.evaluations.to_string(),
                        num(p.iqs),
                        low(p.ci95),
                        high(p.ci95),
                    ]
                })
            }),
        )
    })
}

/// The vendor view: for each BPO vendor, IQS as graded by its own graders vs by internal graders
/// on the same vendor's conversations, the gap with its 95% interval, its graders' alignment to
/// internal benchmarks (grade-the-grader audits), the CSAT of its reviewed conversations and a
/// monthly trend. Without `from`: the last 12 months.
#[utoipa::path(get, path = "/api/v1/reports/vendors", tag = "reports", params(ReportQuery, FormatQuery),
    responses((status = 200, body = VendorView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn vendor_report(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
    ApiQuery(f): ApiQuery<FormatQuery>,
) -> ApiResult<Response> {
    let viewer = auth.require(Permission::ReadReports)?;
    let view = iqs_views::vendor_view(&state, viewer, &q.filter()?).await?;
    respond(&f.format, view, |v| {
        csv_table(
            &[
                "vendor_id",
                "vendor",
                "own_evaluations",
                "own_iqs",
                "internal_evaluations",
                "internal_iqs",
                "gap",
                "gap_low",
                "gap_high",
                "audits",
                "alignment",
                "csat",
                "csat_responses",
            ],
            v.vendors.iter().map(|l| {
                vec![
                    l.vendor_id.clone(),
                    l.name.clone(),
                    l.own.evaluations.to_string(),
                    num(l.own.iqs),
                    l.internal.evaluations.to_string(),
                    num(l.internal.iqs),
                    num(l.gap.map(|g| g.value)),
                    low(l.gap.and_then(|g| g.ci95)),
                    high(l.gap.and_then(|g| g.ci95)),
                    l.audits.to_string(),
                    num(l.alignment),
                    num(l.csat),
                    l.csat_responses.to_string(),
                ]
            }),
        )
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CsatQuery {
    /// json (default) or csv.
    pub format: Option<String>,
    /// For CSV: correlations (default), high_iqs_poor_csat or low_iqs_happy_customer.
    pub section: Option<String>,
}

/// IQS vs CSAT/NPS: Pearson's r between review scores and CSAT (and NPS) with n and a
/// Fisher-z 95% interval, overall and per vendor; and the reviewed conversations where they
/// disagree (high IQS with CSAT ≤ 2, IQS below the "good" band with CSAT 5), newest 50 each.
/// Without `from`: the last 90 days.
#[utoipa::path(get, path = "/api/v1/reports/csat", tag = "reports", params(ReportQuery, CsatQuery),
    responses((status = 200, body = CsatReport), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn csat_report(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
    ApiQuery(c): ApiQuery<CsatQuery>,
) -> ApiResult<Response> {
    let viewer = auth.require(Permission::ReadReports)?;
    let section = c.section.clone().unwrap_or_else(|| "correlations".into());
    if !matches!(section.as_str(), "correlations" | "high_iqs_poor_csat" | "low_iqs_happy_customer") {
        return Err(ApiError::field("section", "must be correlations, high_iqs_poor_csat or low_iqs_happy_customer"));
    }
    let report = iqs_views::csat_report(&state, viewer, &q.filter()?).await?;
    respond(&c.format, report, |r| match section.as_str() {
        "correlations" => csv_table(
            &[
                "vendor_id",
                "name",
                "csat_r",
                "csat_n",
                "csat_low",
                "csat_high",
                "nps_r",
                "nps_n",
                "nps_low",
                "nps_high",
            ],
            r.correlations.iter().map(|l| {
                vec![
                    l.vendor_id.clone().unwrap_or_default(),
                    l.name.clone(),
                    num(l.csat.map(|c| c.r)),
                    l.csat_pairs.to_string(),
                    low(l.csat.map(|c| c.ci95)),
                    high(l.csat.map(|c| c.ci95)),
                    num(l.nps.map(|c| c.r)),
                    l.nps_pairs.to_string(),
                    low(l.nps.map(|c| c.ci95)),
                    high(l.nps.map(|c| c.ci95)),
                ]
            }),
        ),
        name => {
            let list = if name == "high_iqs_poor_csat" { &r.high_iqs_poor_csat } else { &r.low_iqs_happy_customer };
            csv_table(
                &[
                    "evaluation_id",
                    "conversation_id",
                    "external_id",
                    "subject",
                    "channel",
                    "agent",
                    "vendor",
                    "score",
                    "csat",
                    "nps",
                    "reviewed",
                ],
                list.iter().map(|m| {
                    vec![
                        m.evaluation_id.to_string(),
                        m.conversation_id.clone(),
                        m.external_id.clone(),
                        m.subject.clone(),
                        m.channel.clone(),
                        m.agent.clone().unwrap_or_default(),
                        m.vendor.clone(),
                        num(Some(m.score)),
                        m.csat.to_string(),
                        m.nps.map(|n| n.to_string()).unwrap_or_default(),
                        m.reviewed.clone(),
                    ]
                }),
            )
        }
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SectionQuery {
    /// json (default) or csv.
    pub format: Option<String>,
    /// For CSV: agents (default) or criteria.
    pub section: Option<String>,
}

/// Self-assessment: agents' self-reviews against their reviewers' scores on the same
/// conversations, the gap per agent and per criterion, with IQS, FCR rate and handle time beside
/// it. Without `from`: the last 90 days.
#[utoipa::path(get, path = "/api/v1/reports/self-assessment", tag = "reports", params(ReportQuery, SectionQuery),
    responses((status = 200, body = SelfAssessment), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn self_assessment(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
    ApiQuery(s): ApiQuery<SectionQuery>,
) -> ApiResult<Response> {
    let viewer = auth.require(Permission::ReadReports)?;
    let section = s.section.clone().unwrap_or_else(|| "agents".into());
    if !matches!(section.as_str(), "agents" | "criteria") {
        return Err(ApiError::field("section", "must be agents or criteria"));
    }
    let report = iqs_views::self_assessment(&state, viewer, &q.filter()?).await?;
    respond(&s.format, report, |r| {
        if section == "criteria" {
            csv_table(
                &["criterion_id", "title", "pairs", "gap"],
                r.criteria
                    .iter()
                    .map(|c| vec![c.criterion_id.clone(), c.title.clone(), c.pairs.to_string(), num(c.gap)]),
            )
        } else {
            csv_table(
                &[
                    "agent_id",
                    "name",
                    "pairs",
                    "self_score",
                    "review_score",
                    "gap",
                    "iqs",
                    "fcr_rate",
                    "handle_time_seconds",
                ],
                r.agents.iter().map(|a| {
                    vec![
                        a.agent_id.clone(),
                        a.name.clone(),
                        a.pairs.to_string(),
                        num(a.self_score),
                        num(a.review_score),
                        num(a.gap),
                        num(a.iqs),
                        num(a.fcr_rate),
                        num(a.handle_time_seconds),
                    ]
                }),
            )
        }
    })
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LeaderboardQuery {
    /// json (default) or csv.
    pub format: Option<String>,
    /// For CSV: top (default) or most_improved.
    pub section: Option<String>,
}

/// Recognition: the ten agents with the highest IQS (ranked by the lower end of the 95%
/// interval, at least 5 scored reviews) and the ten most improved since the previous period of
/// the same length. Without `from`: the last 30 days.
#[utoipa::path(get, path = "/api/v1/reports/leaderboard", tag = "reports", params(ReportQuery, LeaderboardQuery),
    responses((status = 200, body = Leaderboard), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn leaderboard(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<ReportQuery>,
    ApiQuery(l): ApiQuery<LeaderboardQuery>,
) -> ApiResult<Response> {
    let viewer = auth.require(Permission::ReadReports)?;
    let section = l.section.clone().unwrap_or_else(|| "top".into());
    if !matches!(section.as_str(), "top" | "most_improved") {
        return Err(ApiError::field("section", "must be top or most_improved"));
    }
    let board = iqs_views::leaderboard(&state, viewer, &q.filter()?).await?;
    respond(&l.format, board, |b| {
        let list = if section == "top" { &b.top } else { &b.most_improved };
        csv_table(
            &["rank", "agent_id", "name", "evaluations", "iqs", "iqs_low", "iqs_high", "previous_iqs", "change"],
            list.iter().enumerate().map(|(i, a)| {
                vec![
                    (i + 1).to_string(),
                    a.agent_id.clone(),
                    a.name.clone(),
                    a.evaluations.to_string(),
                    num(a.iqs),
                    low(a.ci95),
                    high(a.ci95),
                    num(a.previous_iqs),
                    num(a.change),
                ]
            }),
        )
    })
}

/// IQS targets with their progress: the baseline (90 days before the start), the IQS since the
/// start, progress toward the value, and each milestone's status. A vendor_lead sees their own
/// vendor's and teams' targets.
#[utoipa::path(get, path = "/api/v1/targets", tag = "reports", params(FormatQuery),
    responses((status = 200, body = Vec<TargetProgress>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_targets(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(f): ApiQuery<FormatQuery>,
) -> ApiResult<Response> {
    let viewer = auth.require(Permission::ReadReports)?;
    let mut out = Vec::new();
    for target in state.store.list_targets(viewer.workspace_id, viewer.vendor_scope()).await? {
        out.push(iqs_views::target_progress(&state, viewer, target).await?);
    }
    respond(&f.format, out, |list| {
        csv_table(
            &["id", "name", "applies_to", "value", "start", "due", "baseline", "current", "progress_percent", "status"],
            list.iter().map(|t| {
                vec![
                    t.target.id.clone(),
                    t.target.name.clone(),
                    t.applies_to.clone(),
                    num(Some(t.target.value)),
                    t.target.start.clone(),
                    t.target.due.clone(),
                    num(t.baseline),
                    num(t.current),
                    num(t.progress_percent),
                    serde_json::to_value(t.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                ]
            }),
        )
    })
}

/// Sets a target for the workspace, a vendor or a team (optionally one scorecard): the IQS to
/// reach by the due date, with milestones on the way. qa_lead and admin.
#[utoipa::path(post, path = "/api/v1/targets", tag = "reports", request_body = TargetInput,
    responses((status = 201, body = TargetProgress), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_target(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<TargetInput>,
) -> ApiResult<(StatusCode, Json<TargetProgress>)> {
    let viewer = auth.require(Permission::Calibrate)?;
    let target = state.store.create_target(viewer.workspace_id, viewer.user_id, &body).await?;
    Ok((StatusCode::CREATED, Json(iqs_views::target_progress(&state, viewer, target).await?)))
}

#[utoipa::path(get, path = "/api/v1/targets/{id}", tag = "reports", params(("id" = String, Path)),
    responses((status = 200, body = TargetProgress), (status = 404, body = Problem)))]
pub async fn get_target(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<TargetProgress>> {
    let viewer = auth.require(Permission::ReadReports)?;
    let id: uuid::Uuid = path_id(&raw)?;
    let target = state.store.get_target(viewer.workspace_id, viewer.vendor_scope(), &id.to_string()).await?;
    Ok(Json(iqs_views::target_progress(&state, viewer, target).await?))
}

/// Replaces a target's name, scope, value, dates and milestones. qa_lead and admin.
#[utoipa::path(put, path = "/api/v1/targets/{id}", tag = "reports", params(("id" = String, Path)), request_body = TargetInput,
    responses((status = 200, body = TargetProgress), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_target(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<TargetInput>,
) -> ApiResult<Json<TargetProgress>> {
    let viewer = auth.require(Permission::Calibrate)?;
    let id: uuid::Uuid = path_id(&raw)?;
    let target = state.store.update_target(viewer.workspace_id, &id.to_string(), &body).await?;
    Ok(Json(iqs_views::target_progress(&state, viewer, target).await?))
}

#[utoipa::path(delete, path = "/api/v1/targets/{id}", tag = "reports", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn delete_target(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let viewer = auth.require(Permission::Calibrate)?;
    let id: uuid::Uuid = path_id(&raw)?;
    state.store.delete_target(viewer.workspace_id, &id.to_string()).await?;
    Ok(StatusCode::NO_CONTENT)
}
