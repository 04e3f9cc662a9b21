//! Reports as JSON, or CSV with `?format=csv`.

use super::{parse_id, parse_time};
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiQuery, Auth};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use plumbline_domain::access::Permission;
use plumbline_store::{IqsFilter, IqsGrouping, IqsRow};
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IqsQuery {
    /// agent (default), team or vendor.
    pub group_by: Option<IqsGrouping>,
    pub vendor_id: Option<String>,
    pub team_id: Option<String>,
    /// Submitted on or after: YYYY-MM-DD or Unix ms.
    pub from: Option<String>,
    /// Submitted before: YYYY-MM-DD or Unix ms.
    pub to: Option<String>,
    /// json (default) or csv.
    pub format: Option<String>,
}

/// IQS (100 × Σ earned / Σ possible, the IQS guide's formula) with the plain mean of scores
/// (Zendesk QA's definition) and the band, by agent, team or vendor. Counts submitted reviews
/// and published calibrated results. A vendor_lead sees their own vendor only.
#[utoipa::path(get, path = "/api/v1/reports/iqs", tag = "reports", params(IqsQuery),
    responses((status = 200, body = Vec<IqsRow>), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn iqs_report(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<IqsQuery>,
) -> ApiResult<Response> {
    let viewer = auth.require(Permission::ReadReports)?;
    let filter = IqsFilter {
        vendor_id: parse_id("vendor_id", &q.vendor_id)?,
        team_id: parse_id("team_id", &q.team_id)?,
        from: parse_time("from", &q.from)?,
        to: parse_time("to", &q.to)?,
    };
    let settings = state.store.get_workspace(viewer.workspace_id).await?.settings;
    let rows = state
        .store
        .iqs_report(
            viewer.workspace_id,
            viewer.vendor_scope(),
            q.group_by.unwrap_or(IqsGrouping::Agent),
            &filter,
            &settings.bands,
        )
        .await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(rows).into_response()),
        Some("csv") => {
            let mut out = String::from("id,name,evaluations,iqs,mean_score,band\n");
            let num = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_default();
            for r in &rows {
                let band = r
                    .band
                    .map(|b| {
                        serde_json::to_value(b).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
                    })
                    .unwrap_or_default();
                out.push_str(&format!(
                    "{},{},{},{},{},{}\n",
                    r.id.as_deref().unwrap_or(""),
                    csv_field(&r.name),
                    r.evaluations,
                    num(r.iqs),
                    num(r.mean_score),
                    band
                ));
            }
            Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
        }
        Some(_) => Err(ApiError::field("format", "must be json or csv")),
    }
}

/// Quotes a CSV field, and defuses spreadsheet formulas (a leading =, +, - or @).
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_string() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}
