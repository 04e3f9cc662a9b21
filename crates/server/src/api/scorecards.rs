//! Scorecards and their versions.

use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Auth};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use plumbline_domain::access::Permission;
use plumbline_domain::scorecard::{
    DefinitionInput, Scale, ScalePreset, Scorecard, ScorecardDefinition, ScorecardVersion,
};
use plumbline_domain::{ScorecardId, ScorecardVersionId};
use serde::{Deserialize, Serialize};

fn definition(input: DefinitionInput) -> ApiResult<ScorecardDefinition> {
    ScorecardDefinition::parse(input).map_err(|errors| {
        ApiError::invalid(
            errors
                .into_iter()
                .map(|mut e| {
                    e.field = format!("definition.{}", e.field);
                    e
                })
                .collect(),
        )
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Preset {
    pub preset: ScalePreset,
    pub scale: Scale,
}

/// The scale presets (binary, 3-point, 4-point, 5-point, 1-to-5).
#[utoipa::path(get, path = "/api/v1/scale-presets", tag = "scorecards", responses((status = 200, body = Vec<Preset>)))]
pub async fn list_presets(_auth: Auth) -> Json<Vec<Preset>> {
    Json(ScalePreset::ALL.into_iter().map(|preset| Preset { preset, scale: preset.scale() }).collect())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ScorecardWithVersions {
    #[serde(flatten)]
    pub scorecard: Scorecard,
    pub versions: Vec<ScorecardVersion>,
}

/// Scorecards.
#[utoipa::path(get, path = "/api/v1/scorecards", tag = "scorecards", responses((status = 200, body = Vec<Scorecard>)))]
pub async fn list_scorecards(State(state): State<AppState>, Auth(viewer): Auth) -> ApiResult<Json<Vec<Scorecard>>> {
    Ok(Json(state.store.list_scorecards(viewer.workspace_id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateScorecard {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub definition: DefinitionInput,
}

/// Creates a scorecard; its first version is a draft until activated (admin, qa_lead).
#[utoipa::path(post, path = "/api/v1/scorecards", tag = "scorecards", request_body = CreateScorecard,
    responses((status = 201, body = ScorecardWithVersions), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_scorecard(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateScorecard>,
) -> ApiResult<(StatusCode, Json<ScorecardWithVersions>)> {
    let viewer = auth.require(Permission::ManageScorecards)?;
    let n = body.name.trim().chars().count();
    if n == 0 || n > 200 {
        return Err(ApiError::field("name", "must be 1 to 200 characters"));
    }
    if body.description.chars().count() > 10_000 {
        return Err(ApiError::field("description", "must be at most 10000 characters"));
    }
    let definition = definition(body.definition)?;
    let (scorecard, version) =
        state.store.create_scorecard(viewer.workspace_id, &body.name, &body.description, &definition).await?;
    Ok((StatusCode::CREATED, Json(ScorecardWithVersions { scorecard, versions: vec![version] })))
}

/// A scorecard with all its versions.
#[utoipa::path(get, path = "/api/v1/scorecards/{id}", tag = "scorecards", params(("id" = String, Path)),
    responses((status = 200, body = ScorecardWithVersions), (status = 404, body = Problem)))]
pub async fn get_scorecard(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<ScorecardWithVersions>> {
    let scorecard = state.store.get_scorecard(viewer.workspace_id, path_id(&raw)?).await?;
    let versions = state.store.list_versions(viewer.workspace_id, scorecard.id).await?;
    Ok(Json(ScorecardWithVersions { scorecard, versions }))
}

/// A scorecard's versions, oldest first.
#[utoipa::path(get, path = "/api/v1/scorecards/{id}/versions", tag = "scorecards", params(("id" = String, Path)),
    responses((status = 200, body = Vec<ScorecardVersion>), (status = 404, body = Problem)))]
pub async fn list_versions(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<Vec<ScorecardVersion>>> {
    let scorecard = state.store.get_scorecard(viewer.workspace_id, path_id(&raw)?).await?;
    Ok(Json(state.store.list_versions(viewer.workspace_id, scorecard.id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct VersionBody {
    pub definition: DefinitionInput,
}

/// Starts a new draft version (admin, qa_lead). Marked major when it changes how answers score.
#[utoipa::path(post, path = "/api/v1/scorecards/{id}/versions", tag = "scorecards", params(("id" = String, Path)), request_body = VersionBody,
    responses((status = 201, body = ScorecardVersion), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_version(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<VersionBody>,
) -> ApiResult<(StatusCode, Json<ScorecardVersion>)> {
    let viewer = auth.require(Permission::ManageScorecards)?;
    let scorecard: ScorecardId = path_id(&raw)?;
    let definition = definition(body.definition)?;
    Ok((StatusCode::CREATED, Json(state.store.create_version(viewer.workspace_id, scorecard, &definition).await?)))
}

async fn version_of(state: &AppState, auth: &Auth, scorecard: &str, version: &str) -> ApiResult<ScorecardVersion> {
    let scorecard: ScorecardId = path_id(scorecard)?;
    let version = state.store.get_version(auth.0.workspace_id, path_id::<ScorecardVersionId>(version)?).await?;
    if version.scorecard_id != scorecard {
        return Err(ApiError::not_found());
    }
    Ok(version)
}

/// One version.
#[utoipa::path(get, path = "/api/v1/scorecards/{id}/versions/{version_id}", tag = "scorecards",
    params(("id" = String, Path), ("version_id" = String, Path)),
    responses((status = 200, body = ScorecardVersion), (status = 404, body = Problem)))]
pub async fn get_version(
    State(state): State<AppState>,
    auth: Auth,
    Path((sc, v)): Path<(String, String)>,
) -> ApiResult<Json<ScorecardVersion>> {
    Ok(Json(version_of(&state, &auth, &sc, &v).await?))
}

/// Edits a draft version (admin, qa_lead). Active and retired versions never change: 409.
#[utoipa::path(put, path = "/api/v1/scorecards/{id}/versions/{version_id}", tag = "scorecards",
    params(("id" = String, Path), ("version_id" = String, Path)), request_body = VersionBody,
    responses((status = 200, body = ScorecardVersion), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_version(
    State(state): State<AppState>,
    auth: Auth,
    Path((sc, v)): Path<(String, String)>,
    ApiJson(body): ApiJson<VersionBody>,
) -> ApiResult<Json<ScorecardVersion>> {
    auth.require(Permission::ManageScorecards)?;
    let version = version_of(&state, &auth, &sc, &v).await?;
    let definition = definition(body.definition)?;
    Ok(Json(state.store.update_draft_version(auth.0.workspace_id, version.id, &definition).await?))
}

/// An activated version, with warnings worth reading.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Activated {
    #[serde(flatten)]
    pub version: ScorecardVersion,
    /// E.g. the version's latest form calibration agreed less than the workspace threshold.
    pub warnings: Vec<String>,
}

/// Activates a draft version; the scorecard's previously active version is retired (admin,
/// qa_lead). Warns when the version's latest form calibration (a session on it while it was a
/// draft) agreed with the calibrated answer less than the workspace's threshold, or when it
/// was never form-calibrated.
#[utoipa::path(post, path = "/api/v1/scorecards/{id}/versions/{version_id}/activate", tag = "scorecards",
    params(("id" = String, Path), ("version_id" = String, Path)),
    responses((status = 200, body = Activated), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn activate_version(
    State(state): State<AppState>,
    auth: Auth,
    Path((sc, v)): Path<(String, String)>,
) -> ApiResult<Json<Activated>> {
    auth.require(Permission::ManageScorecards)?;
    let ws = auth.0.workspace_id;
    let version = version_of(&state, &auth, &sc, &v).await?;
    let warnings = crate::calibration_views::form_calibration_warnings(&state, ws, version.id).await?;
    let version = state.store.activate_version(ws, version.id).await?;
    Ok(Json(Activated { version, warnings }))
}
