//! Users, vendors, teams, agents and workspace settings.

use super::{PageParams, parse_id, path_id};
use crate::AppState;
use crate::auth;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use plumbline_domain::access::{Permission, VendorScope};
use plumbline_domain::org::{Agent, Role, Team, User, Vendor, WorkspaceSettings};
use plumbline_domain::{AgentId, TeamId, UserId, VendorId};
use plumbline_store::{AgentFilter, NewUser, Page, UserFilter};
use serde::Deserialize;

fn check_name(field: &str, value: &str) -> ApiResult<()> {
    let n = value.trim().chars().count();
    if n == 0 || n > 200 { Err(ApiError::field(field, "must be 1 to 200 characters")) } else { Ok(()) }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub vendor_id: Option<String>,
    pub role: Option<Role>,
}

/// Users (admins and qa_leads see all; a vendor_lead sees their vendor's).
#[utoipa::path(get, path = "/api/v1/users", tag = "organisation", params(UserQuery),
    responses((status = 200, body = Vec<User>), (status = 403, body = Problem)))]
pub async fn list_users(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<Vec<User>>> {
    let viewer = auth.require(Permission::ListUsers)?;
    let filter = UserFilter { vendor_id: parse_id("vendor_id", &q.vendor_id)?, role: q.role };
    Ok(Json(state.store.list_users(viewer.workspace_id, viewer.vendor_scope(), &filter).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateUser {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password: String,
    /// Defaults to the internal vendor.
    pub vendor_id: Option<VendorId>,
    /// For role agent: the agent record they are.
    pub agent_id: Option<AgentId>,
}

/// Creates a user (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "organisation", request_body = CreateUser,
    responses((status = 201, body = User), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let viewer = auth.require(Permission::Administer)?;
    check_name("name", &body.name)?;
    let email = body.email.trim();
    if !email.contains('@') || email.len() > 254 || email.contains(char::is_whitespace) {
        return Err(ApiError::field("email", "must be an email address"));
    }
    check_password(&body.password)?;
    let vendor_id = match body.vendor_id {
        Some(v) => v,
        None => state.store.internal_vendor(viewer.workspace_id).await?.id,
    };
    let user = state
        .store
        .create_user(
            viewer.workspace_id,
            NewUser {
                vendor_id,
                email: email.to_string(),
                name: body.name,
                role: body.role,
                password_hash: auth::hash_password_for_request(&body.password).await,
                agent_id: body.agent_id,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

pub fn check_password(password: &str) -> ApiResult<()> {
    let n = password.chars().count();
    if !(10..=200).contains(&n) {
        return Err(ApiError::field("password", "must be 10 to 200 characters"));
    }
    Ok(())
}

async fn visible_user(state: &AppState, auth: &Auth, raw: &str) -> ApiResult<User> {
    let viewer = &auth.0;
    let user = state.store.get_user(viewer.workspace_id, path_id::<UserId>(raw)?).await?;
    let visible = user.id == viewer.user_id
        || (viewer.may(Permission::ListUsers) && viewer.vendor_scope().allows(user.vendor_id));
    if visible { Ok(user) } else { Err(ApiError::not_found()) }
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "organisation", params(("id" = String, Path)),
    responses((status = 200, body = User), (status = 404, body = Problem)))]
pub async fn get_user(State(state): State<AppState>, auth: Auth, Path(raw): Path<String>) -> ApiResult<Json<User>> {
    Ok(Json(visible_user(&state, &auth, &raw).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateUser {
    pub role: Option<Role>,
    pub active: Option<bool>,
}

/// Changes a user's role or deactivates them (admin). Deactivation ends their sessions and tokens.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "organisation", params(("id" = String, Path)), request_body = UpdateUser,
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn update_user(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<UpdateUser>,
) -> ApiResult<Json<User>> {
    let viewer = auth.require(Permission::Administer)?;
    let user = state.store.get_user(viewer.workspace_id, path_id(&raw)?).await?;
    if user.id == viewer.user_id && (body.active == Some(false) || body.role.is_some_and(|r| r != Role::Admin)) {
        return Err(ApiError::conflict("you cannot demote or deactivate yourself; ask another admin"));
    }
    let updated = state
        .store
        .update_user(viewer.workspace_id, user.id, body.role.unwrap_or(user.role), body.active.unwrap_or(user.active))
        .await?;
    Ok(Json(updated))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SetPassword {
    pub password: String,
}

/// Sets a password (your own, or anyone's as admin). Ends the user's sessions.
#[utoipa::path(put, path = "/api/v1/users/{id}/password", tag = "organisation", params(("id" = String, Path)), request_body = SetPassword,
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_password(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<SetPassword>,
) -> ApiResult<StatusCode> {
    let user = visible_user(&state, &auth, &raw).await?;
    if user.id != auth.0.user_id && !auth.0.may(Permission::Administer) {
        return Err(ApiError::forbidden("only an admin may set another user's password"));
    }
    check_password(&body.password)?;
    state
        .store
        .set_password(auth.0.workspace_id, user.id, &auth::hash_password_for_request(&body.password).await)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Vendors you may see: the internal one and BPO partners (a BPO's users see only their own).
#[utoipa::path(get, path = "/api/v1/vendors", tag = "organisation", responses((status = 200, body = Vec<Vendor>)))]
pub async fn list_vendors(State(state): State<AppState>, Auth(viewer): Auth) -> ApiResult<Json<Vec<Vendor>>> {
    Ok(Json(state.store.list_vendors(viewer.workspace_id, viewer.vendor_scope()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateNamed {
    pub name: String,
}

/// Adds a BPO vendor (admin).
#[utoipa::path(post, path = "/api/v1/vendors", tag = "organisation", request_body = CreateNamed,
    responses((status = 201, body = Vendor), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn create_vendor(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateNamed>,
) -> ApiResult<(StatusCode, Json<Vendor>)> {
    let viewer = auth.require(Permission::Administer)?;
    check_name("name", &body.name)?;
    Ok((StatusCode::CREATED, Json(state.store.create_vendor(viewer.workspace_id, &body.name).await?)))
}

/// One vendor.
#[utoipa::path(get, path = "/api/v1/vendors/{id}", tag = "organisation", params(("id" = String, Path)),
    responses((status = 200, body = Vendor), (status = 404, body = Problem)))]
pub async fn get_vendor(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<Vendor>> {
    let vendor_id: VendorId = path_id(&raw)?;
    if !viewer.vendor_scope().allows(vendor_id) {
        return Err(ApiError::not_found());
    }
    Ok(Json(state.store.get_vendor(viewer.workspace_id, vendor_id).await?))
}

/// Teams you may see.
#[utoipa::path(get, path = "/api/v1/teams", tag = "organisation", responses((status = 200, body = Vec<Team>)))]
pub async fn list_teams(State(state): State<AppState>, Auth(viewer): Auth) -> ApiResult<Json<Vec<Team>>> {
    Ok(Json(state.store.list_teams(viewer.workspace_id, viewer.vendor_scope()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateTeam {
    pub name: String,
    pub vendor_id: Option<VendorId>,
}

/// Adds a team (admin). Defaults to the internal vendor.
#[utoipa::path(post, path = "/api/v1/teams", tag = "organisation", request_body = CreateTeam,
    responses((status = 201, body = Team), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_team(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateTeam>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    let viewer = auth.require(Permission::Administer)?;
    check_name("name", &body.name)?;
    let vendor = match body.vendor_id {
        Some(v) => v,
        None => state.store.internal_vendor(viewer.workspace_id).await?.id,
    };
    Ok((StatusCode::CREATED, Json(state.store.create_team(viewer.workspace_id, vendor, &body.name).await?)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgentQuery {
    pub vendor_id: Option<String>,
    pub team_id: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

fn agents_visible(auth: &Auth) -> ApiResult<VendorScope> {
    if auth.0.role == Role::Agent {
        return Err(ApiError::forbidden("agents see their own evaluations, not the agent list"));
    }
    Ok(auth.0.vendor_scope())
}

/// Agents you may see.
#[utoipa::path(get, path = "/api/v1/agents", tag = "organisation", params(AgentQuery),
    responses((status = 200, body = Page<Agent>), (status = 403, body = Problem)))]
pub async fn list_agents(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<AgentQuery>,
) -> ApiResult<Json<Page<Agent>>> {
    let scope = agents_visible(&auth)?;
    let filter =
        AgentFilter { vendor_id: parse_id("vendor_id", &q.vendor_id)?, team_id: parse_id("team_id", &q.team_id)? };
    let page = PageParams { cursor: q.cursor, limit: q.limit }.request();
    Ok(Json(state.store.list_agents(auth.0.workspace_id, scope, &filter, &page).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateAgent {
    pub name: String,
    pub email: Option<String>,
    pub vendor_id: Option<VendorId>,
    pub team_id: Option<TeamId>,
}

/// Adds an agent (admin, qa_lead).
#[utoipa::path(post, path = "/api/v1/agents", tag = "organisation", request_body = CreateAgent,
    responses((status = 201, body = Agent), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_agent(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateAgent>,
) -> ApiResult<(StatusCode, Json<Agent>)> {
    let viewer = auth.require(Permission::ManageConversations)?;
    check_name("name", &body.name)?;
    let vendor = match body.vendor_id {
        Some(v) => v,
        None => state.store.internal_vendor(viewer.workspace_id).await?.id,
    };
    let agent =
        state.store.create_agent(viewer.workspace_id, vendor, body.team_id, &body.name, body.email.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(agent)))
}

/// One agent.
#[utoipa::path(get, path = "/api/v1/agents/{id}", tag = "organisation", params(("id" = String, Path)),
    responses((status = 200, body = Agent), (status = 404, body = Problem)))]
pub async fn get_agent(State(state): State<AppState>, auth: Auth, Path(raw): Path<String>) -> ApiResult<Json<Agent>> {
    let agent_id: AgentId = path_id(&raw)?;
    // An agent sees only their own record.
    if auth.0.role == Role::Agent && auth.0.agent_id != Some(agent_id) {
        return Err(ApiError::not_found());
    }
    Ok(Json(state.store.get_agent(auth.0.workspace_id, auth.0.vendor_scope(), agent_id).await?))
}

/// Workspace settings: N/A and auto-fail policies, bands, calibration tolerance.
#[utoipa::path(get, path = "/api/v1/settings", tag = "organisation", responses((status = 200, body = WorkspaceSettings)))]
pub async fn get_settings(State(state): State<AppState>, Auth(viewer): Auth) -> ApiResult<Json<WorkspaceSettings>> {
    Ok(Json(state.store.get_workspace(viewer.workspace_id).await?.settings))
}

/// Changes workspace settings (admin).
#[utoipa::path(put, path = "/api/v1/settings", tag = "organisation", request_body = WorkspaceSettings,
    responses((status = 200, body = WorkspaceSettings), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_settings(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<WorkspaceSettings>,
) -> ApiResult<Json<WorkspaceSettings>> {
    let viewer = auth.require(Permission::Administer)?;
    let valid = |v: f64| v.is_finite() && (0.0..=100.0).contains(&v);
    if !valid(body.bands.excellent) || !valid(body.bands.good) || body.bands.good > body.bands.excellent {
        return Err(ApiError::field("bands", "thresholds must be from 0 to 100, with good <= excellent"));
    }
    if !valid(body.tolerance_points) {
        return Err(ApiError::field("tolerance_points", "must be from 0 to 100"));
    }
    if !(body.form_calibration_threshold.is_finite() && (0.0..=1.0).contains(&body.form_calibration_threshold)) {
        return Err(ApiError::field("form_calibration_threshold", "must be from 0 to 1"));
    }
    state.store.update_settings(viewer.workspace_id, &body).await?;
    Ok(Json(body))
}
