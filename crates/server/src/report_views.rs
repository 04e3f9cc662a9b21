//! Reports assembled once for the API and the pages: the store's rows, the domain's
//! aggregation, names resolved, limited to what the viewer's vendor scope allows.

use crate::AppState;
use crate::error::ApiResult;
use plumbline_domain::access::{VendorScope, Viewer};
use plumbline_domain::calibration_report::CalibrationReport;
use plumbline_domain::{Millis, ScorecardVersionId};
use std::collections::HashMap;

/// The Calibration Performance Report for sessions submitted in [from, to). A vendor-scoped
/// viewer gets their vendor's graders only and no criterion section (it mixes every vendor's
/// answers). The caller checks the viewer may read reports.
pub async fn calibration_report(
    state: &AppState,
    viewer: &Viewer,
    from: Option<Millis>,
    to: Option<Millis>,
) -> ApiResult<CalibrationReport> {
    let ws = viewer.workspace_id;
    let scope = viewer.vendor_scope();
    let results = state.store.calibration_result_rows(ws, scope, from, to).await?;
    let criteria = match scope {
        VendorScope::All => state.store.calibration_criterion_rows(ws, from, to).await?,
        VendorScope::Only(_) => Vec::new(),
    };
    let mut versions: Vec<ScorecardVersionId> = results.iter().map(|r| r.scorecard_version_id).collect();
    versions.extend(criteria.iter().map(|c| c.scorecard_version_id));
    versions.sort();
    versions.dedup();
    let (mut titles, mut labels) = (HashMap::new(), HashMap::new());
    for id in versions {
        let version = state.store.get_version(ws, id).await?;
        let card = state.store.get_scorecard(ws, version.scorecard_id).await?;
        labels.insert(id, format!("{} v{}", card.name, version.number));
        for c in &version.definition.criteria {
            titles.insert(c.id, c.title.clone());
        }
    }
    let mut report = plumbline_domain::calibration_report::calibration_report(&results, &criteria, &titles, &labels);
    // Each session's reliability comes from its stored results: a vendor-scoped viewer gets none,
    // since it is computed over every participant's answers.
    if scope == VendorScope::All {
        for line in &mut report.sessions {
            let record = state.store.get_calibration(ws, line.session_id).await?;
            line.reliability = record
                .results
                .map(|r| {
                    r.reliability_criteria
                        .into_iter()
                        .filter(|s| matches!(s.name.as_str(), "krippendorff_alpha" | "gwet_ac1"))
                        .collect()
                })
                .unwrap_or_default();
        }
    }
    Ok(report)
}
