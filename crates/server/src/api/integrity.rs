//! Calibration-sample integrity: is a hand-picked set of conversations plausibly random?

use super::{parse_id, parse_time};
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Auth};
use axum::Json;
use axum::extract::State;
use plumbline_domain::ConversationId;
use plumbline_domain::access::Permission;
use plumbline_domain::conversation::Channel;
use plumbline_domain::integrity::{IntegrityReport, sample_integrity};
use plumbline_store::ConversationFilter;
use serde::Deserialize;

/// The population is capped at the newest this many conversations of the filter.
const POPULATION_LIMIT: u32 = 20_000;
const RESAMPLES: u32 = 2_000;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SampleCheck {
    /// The picked conversations.
    pub conversation_ids: Vec<ConversationId>,
    /// The population they were picked from: this filter (all optional).
    pub vendor_id: Option<String>,
    pub team_id: Option<String>,
    pub channel: Option<Channel>,
    /// Started on or after: YYYY-MM-DD or Unix ms.
    pub from: Option<String>,
    /// Started before: YYYY-MM-DD or Unix ms.
    pub to: Option<String>,
    /// Decimal seed for the random draws (default 2011); the same seed gives the same p-values.
    pub seed: Option<u64>,
}

/// Compares a hand-picked calibration sample with the population it came from (channel mix,
/// CSAT, latest review score, concentration on one agent) with a Monte Carlo randomization
/// test per feature, and flags a selection that is unlikely to be random (Bonferroni over the
/// features). Random draws (series, "pick at random") need no check (qa_leads and admins).
#[utoipa::path(post, path = "/api/v1/calibrations/sample-check", tag = "calibrations", request_body = SampleCheck,
    responses((status = 200, body = IntegrityReport), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn sample_check(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<SampleCheck>,
) -> ApiResult<Json<IntegrityReport>> {
    let viewer = auth.require(Permission::Calibrate)?;
    if body.conversation_ids.is_empty() {
        return Err(ApiError::field("conversation_ids", "pick at least one conversation"));
    }
    let filter = ConversationFilter {
        vendor_id: parse_id("vendor_id", &body.vendor_id)?,
        team_id: parse_id("team_id", &body.team_id)?,
        agent_id: None,
        channel: body.channel,
        from: parse_time("from", &body.from)?,
        to: parse_time("to", &body.to)?,
    };
    let population = state.store.sample_population(viewer.workspace_id, &filter, POPULATION_LIMIT).await?;
    let index: std::collections::HashMap<ConversationId, usize> =
        population.iter().enumerate().map(|(i, (id, _))| (*id, i)).collect();
    let mut picked = Vec::new();
    for (i, id) in body.conversation_ids.iter().enumerate() {
        match index.get(id) {
            Some(&p) if !picked.contains(&p) => picked.push(p),
            Some(_) => return Err(ApiError::field(&format!("conversation_ids[{i}]"), "is listed twice")),
            None => {
                return Err(ApiError::field(
                    &format!("conversation_ids[{i}]"),
                    "is not in the population (the filter, newest 20,000 conversations)",
                ));
            }
        }
    }
    if picked.len() >= population.len() {
        return Err(ApiError::field("conversation_ids", "the pick is the whole population: nothing to compare"));
    }
    let units: Vec<_> = population.into_iter().map(|(_, unit)| unit).collect();
    Ok(Json(sample_integrity(&picked, &units, body.seed.unwrap_or(2011), RESAMPLES)))
}
