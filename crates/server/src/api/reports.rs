//! Reports as JSON, or CSV with `?format=csv`.

use super::parse_time;
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiQuery, Auth};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use plumbline_domain::access::Permission;
use plumbline_domain::calibration_report::CalibrationReport;
use plumbline_store::{IqsGrouping, IqsRow};
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IqsQuery {
    /// agent (default), team, vendor, channel, scorecard, group or criterion.
    pub group_by: Option<IqsGrouping>,
    /// json (default) or csv.
    pub format: Option<String>,
}

/// IQS (100 × Σ earned / Σ possible, the IQS guide's formula) with its 95% interval, the plain
/// mean of scores (Zendesk QA's definition), the band and, when both `from` and `to` are given,
/// the change from the previous period of the same length; by agent, team, vendor, channel,
/// scorecard, group or criterion (for criteria and groups: the share of the maximum points
/// earned over answers that are not N/A). Counts submitted reviews and published calibrated
/// results. Filters combine; `channel` cannot be combined with agent, group or criterion. Rows
/// can be searched by name, sorted and paged (`q`, `sort`, `order`, `limit`, `offset`; the
/// `X-Total-Count` header gives how many matched). A vendor_lead sees their own vendor only.
#[utoipa::path(get, path = "/api/v1/reports/iqs", tag = "reports",
    params(crate::iqs_views::ReportQuery, IqsQuery, crate::iqs_views::RowPage),
    responses((status = 200, body = Vec<IqsRow>,
            headers(("X-Total-Count" = i64, description = "Rows that matched, before limit and offset"))),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn iqs_report(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(r): ApiQuery<crate::iqs_views::ReportQuery>,
    ApiQuery(q): ApiQuery<IqsQuery>,
    ApiQuery(page): ApiQuery<crate::iqs_views::RowPage>,
) -> ApiResult<Response> {
    let viewer = auth.require(Permission::ReadReports)?;
    let filter = r.filter()?;
    page.ordering()?;
    let grouping = q.group_by.unwrap_or(IqsGrouping::Agent);
    if filter.channel.is_some() && matches!(grouping, IqsGrouping::Agent | IqsGrouping::Group | IqsGrouping::Criterion)
    {
        return Err(ApiError::field("channel", "cannot be combined with group_by agent, group or criterion"));
    }
    if filter.agent_id.is_some() && !matches!(grouping, IqsGrouping::Agent) {
        return Err(ApiError::field("agent_id", "can only be combined with group_by agent"));
    }
    let settings = state.store.get_workspace(viewer.workspace_id).await?.settings;
    let rows =
        state.store.iqs_report(viewer.workspace_id, viewer.vendor_scope(), grouping, &filter, &settings.bands).await?;
    let (rows, total) = page.apply(rows)?;
    let total = [(header::HeaderName::from_static("x-total-count"), total.to_string())];
    match q.format.as_deref() {
        None | Some("json") => Ok((total, Json(rows)).into_response()),
        Some("csv") => {
            use super::dashboards::{csv_table, num};
            let band = |b: Option<plumbline_domain::org::Band>| {
                b.and_then(|b| serde_json::to_value(b).ok())
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            };
            let out = csv_table(
                &[
                    "id",
                    "name",
                    "evaluations",
                    "iqs",
                    "iqs_low",
                    "iqs_high",
                    "mean_score",
                    "band",
                    "fail_rate",
                    "previous_iqs",
                    "change",
                ],
                rows.iter().map(|r| {
                    vec![
                        r.id.clone().unwrap_or_default(),
                        r.name.clone(),
                        r.evaluations.to_string(),
                        num(r.iqs),
                        num(r.ci95.map(|c| c[0])),
                        num(r.ci95.map(|c| c[1])),
                        num(r.mean_score),
                        band(r.band),
                        r.fail_rate.map(|f| format!("{f:.4}")).unwrap_or_default(),
                        num(r.previous_iqs),
                        num(r.change),
                    ]
                }),
            );
            Ok((total, [(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
        }
        Some(_) => Err(ApiError::field("format", "must be json or csv")),
    }
}

/// Quotes a CSV field, and defuses spreadsheet formulas (a leading =, +, - or @).
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_string() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CalibrationReportQuery {
    /// Sessions submitted on or after: YYYY-MM-DD or Unix ms.
    pub from: Option<String>,
    /// Sessions submitted before: YYYY-MM-DD or Unix ms.
    pub to: Option<String>,
    /// json (default) or csv.
    pub format: Option<String>,
    /// For CSV: graders (default), sessions, criteria, versions or vendors.
    pub section: Option<String>,
}

/// The Calibration Performance Report: per session; per grader over time (sessions attended,
/// mean alignment, mean delta, within-tolerance rate, leniency with an interval adjusted for
/// conversation difficulty, trend); per criterion (agreement with the calibrated answer, how
/// often it was the most contested); per scorecard version; per vendor (internal graders vs
/// each BPO's). Only submitted sessions count. A vendor_lead sees their own vendor's graders
/// only, and no criterion section (it mixes every vendor's answers).
#[utoipa::path(get, path = "/api/v1/reports/calibration", tag = "reports", params(CalibrationReportQuery),
    responses((status = 200, body = CalibrationReport), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn calibration_report(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<CalibrationReportQuery>,
) -> ApiResult<Response> {
    let viewer = auth.require(Permission::ReadReports)?;
    let (from, to) = (parse_time("from", &q.from)?, parse_time("to", &q.to)?);
    let report = crate::report_views::calibration_report(&state, viewer, from, to).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(report).into_response()),
        Some("csv") => {
            let csv = calibration_csv(&report, q.section.as_deref().unwrap_or("graders"))?;
            Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response())
        }
        Some(_) => Err(ApiError::field("format", "must be json or csv")),
    }
}

/// One section of the Calibration Performance Report as CSV (the pages link to the API's CSV).
pub fn calibration_csv(report: &CalibrationReport, section: &str) -> ApiResult<String> {
    let num = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
    let mut out = String::new();
    match section {
        "graders" => {
            out.push_str("user_id,name,vendor,internal,sessions_attended,sessions_not_scored,mean_alignment,mean_delta,adjusted_delta,adjusted_delta_low,adjusted_delta_high,leniency_verdict,within_tolerance_rate,trend_slope\n");
            for g in &report.graders {
                let ci = g.adjusted_delta_ci95;
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                    g.user_id,
                    csv_field(&g.name),
                    csv_field(&g.vendor_name),
                    g.internal,
                    g.sessions_attended,
                    g.sessions_not_scored,
                    num(g.mean_alignment),
                    num(g.mean_delta),
                    num(g.adjusted_delta),
                    num(ci.map(|c| c[0])),
                    num(ci.map(|c| c[1])),
                    g.leniency_verdict,
                    num(g.within_tolerance_rate),
                    num(g.trend_slope)
                ));
            }
        }
        "sessions" => {
            out.push_str(
                "session_id,title,submitted_at,participants,scored,mean_alignment,mean_delta,within_tolerance_rate\n",
            );
            for s in &report.sessions {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{}\n",
                    s.session_id,
                    csv_field(&s.title),
                    plumbline_domain::time::Date::of(s.submitted_at),
                    s.participants,
                    s.scored,
                    num(s.mean_alignment),
                    num(s.mean_delta),
                    num(s.within_tolerance_rate)
                ));
            }
        }
        "criteria" => {
            out.push_str("criterion_id,title,sessions,mean_agreement_with_calibrated,mean_percent_agreement,mean_spread,most_contested\n");
            for c in &report.criteria {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{}\n",
                    c.criterion_id,
                    csv_field(&c.title),
                    c.sessions,
                    num(c.mean_agreement_with_calibrated),
                    num(c.mean_percent_agreement),
                    num(c.mean_spread),
                    c.most_contested
                ));
            }
        }
        "versions" => {
            out.push_str("scorecard_version_id,label,sessions,mean_alignment,within_tolerance_rate,mean_agreement_with_calibrated\n");
            for v in &report.versions {
                out.push_str(&format!(
                    "{},{},{},{},{},{}\n",
                    v.scorecard_version_id,
                    csv_field(&v.label),
                    v.sessions,
                    num(v.mean_alignment),
                    num(v.within_tolerance_rate),
                    num(v.mean_agreement_with_calibrated)
                ));
            }
        }
        "vendors" => {
            out.push_str("vendor_id,name,internal,graders,mean_alignment,mean_delta,within_tolerance_rate\n");
            for v in &report.vendors {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{}\n",
                    v.vendor_id,
                    csv_field(&v.name),
                    v.internal,
                    v.graders,
                    num(v.mean_alignment),
                    num(v.mean_delta),
                    num(v.within_tolerance_rate)
                ));
            }
        }
        _ => return Err(ApiError::field("section", "must be graders, sessions, criteria, versions or vendors")),
    }
    Ok(out)
}
