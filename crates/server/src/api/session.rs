//! Signing in and out, the current user, API tokens.

use crate::AppState;
use crate::auth::{self, LOGIN_WINDOW_MS, MAX_FAILED_LOGINS, SESSION_COOKIE, SESSION_TTL_MS};
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Auth};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plumbline_domain::TokenId;
use plumbline_domain::org::User;
use plumbline_store::{ApiToken, now_millis};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub user: User,
    /// Send as `X-CSRF-Token` on every request that changes data while using the cookie.
    pub csrf_token: String,
}

/// Sign in: sets an HttpOnly, SameSite=Lax session cookie.
#[utoipa::path(post, path = "/api/v1/login", tag = "session", security(()),
    request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let (user, csrf, session) = sign_in(&state, &body.email, &body.password).await?;
    let cookie = auth::set_cookie(
        SESSION_COOKIE,
        &session,
        SESSION_TTL_MS / 1000,
        auth::is_tls(&headers, state.config.secure_cookies),
    );
    Ok(([(header::SET_COOKIE, cookie)], Json(LoginResponse { user, csrf_token: csrf })).into_response())
}

/// Checks a password (with the failed-attempt limit) and opens a session. Returns the user,
/// the session's CSRF token and the session secret for the cookie. Shared with the login page.
pub async fn sign_in(state: &AppState, email: &str, password: &str) -> ApiResult<(User, String, String)> {
    let since = now_millis() - LOGIN_WINDOW_MS;
    if state.store.failed_logins_since(email, since).await? >= MAX_FAILED_LOGINS {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "too many failed sign-ins for this email; wait 15 minutes",
        );
        e.retry_after = Some((LOGIN_WINDOW_MS / 1000) as u64);
        return Err(e);
    }
    let found = state.store.find_user_by_email(email).await?;
    let verified = match &found {
        Some((user, hash)) => user.active && auth::verify_password_for_request(password, hash).await,
        None => {
            // Spend the same time as a real check, so timing does not tell who has an account.
            let _ = auth::verify_password_for_request(
                password,
                "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A",
            )
            .await;
            false
        }
    };
    let Some((user, _)) = found.filter(|_| verified) else {
        state.store.record_failed_login(email, since).await?;
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "Sign-in failed", "wrong email or password"));
    };
    state.store.clear_failed_logins(email).await?;
    let session = auth::new_secret();
    let csrf = auth::new_secret();
    state.store.create_session(user.id, &auth::digest(&session), &csrf, SESSION_TTL_MS).await?;
    Ok((user, csrf, session))
}

/// Sign out: ends the session and clears the cookie.
#[utoipa::path(post, path = "/api/v1/logout", tag = "session", responses((status = 204)))]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap, _auth: Auth) -> ApiResult<Response> {
    if let Some(session) = auth::cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&auth::digest(&session)).await?;
    }
    let cookie = auth::set_cookie(SESSION_COOKIE, "", 0, auth::is_tls(&headers, state.config.secure_cookies));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// The signed-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "session", responses((status = 200, body = User), (status = 401, body = Problem)))]
pub async fn me(State(state): State<AppState>, Auth(viewer): Auth) -> ApiResult<Json<User>> {
    Ok(Json(state.store.get_user(viewer.workspace_id, viewer.user_id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    /// What the token is for ("nightly import").
    pub name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// The secret, shown once: send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// Your API tokens.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "session", responses((status = 200, body = Vec<ApiToken>)))]
pub async fn list_tokens(State(state): State<AppState>, Auth(viewer): Auth) -> ApiResult<Json<Vec<ApiToken>>> {
    Ok(Json(state.store.list_tokens(viewer.user_id).await?))
}

/// Creates an API token acting as you. The secret is shown once.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "session", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = Problem)))]
pub async fn create_token(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    ApiJson(body): ApiJson<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::field("name", "give the token a name of 1 to 200 characters"));
    }
    let secret = format!("pl_{}", auth::new_secret());
    let token = state.store.create_token(viewer.user_id, name, &auth::digest(&secret)).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, secret })))
}

/// Revokes one of your tokens.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "session", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id: TokenId = super::path_id(&id)?;
    state.store.revoke_token(viewer.user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
