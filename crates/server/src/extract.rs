//! Request extractors: JSON bodies and query strings parsed into typed values with errors that
//! name the field, and [`Auth`], the one place where a request becomes a [`Viewer`].

use crate::AppState;
use crate::auth::{self, SESSION_COOKIE};
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, header};
use plumbline_domain::access::{Permission, Viewer};
use serde::de::DeserializeOwned;

/// A JSON body. Errors say which field and why, as a problem document.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        if !is_json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported media type",
                "send the body as JSON with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(e.status(), "Body too large", "the request body is larger than this endpoint accepts")
            } else {
                ApiError::bad_request(format!("the body could not be read: {e}"))
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Where a JSON value holds a string with U+0000 (which PostgreSQL's text cannot store), as a
/// field path; `None` when there is none.
fn nul_path(value: &serde_json::Value, path: &str) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) if s.contains('\0') => Some(if path.is_empty() { "body".into() } else { path.into() }),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| nul_path(v, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                return Some(if path.is_empty() { "body".into() } else { path.into() });
            }
            nul_path(v, &if path.is_empty() { k.clone() } else { format!("{path}.{k}") })
        }),
        _ => None,
    }
}

/// Parses JSON, naming the path of the field that failed (`answers[0].choice`). Text with
/// U+0000 is refused here, at the edge, with its path (the scan runs only when the body
/// contains the escape at all).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000"))
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes)
        && let Some(path) = nul_path(&value, "")
    {
        return Err(ApiError::field(&path, "must not contain NUL characters (U+0000)"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(format!("the body is not valid JSON: {inner}"))
        } else {
            let field = if path == "." { "body".to_string() } else { path };
            ApiError::field(&field, inner.to_string())
        }
    })?;
    deserializer.end().map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// A query string, with errors that name the parameter.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        if query.as_bytes().windows(3).any(|w| w.eq_ignore_ascii_case(b"%00")) {
            return Err(ApiError::field("query", "must not contain NUL characters (%00)"));
        }
        let deserializer = serde_urlencoded_deserializer(query);
        deserializer.map(ApiQuery)
    }
}

fn serde_urlencoded_deserializer<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{query}").parse().map_err(|_| ApiError::bad_request("bad query"))?,
    )
    .map(|q| q.0)
    .map_err(|e| {
        let text = e.body_text();
        // serde_urlencoded says "Failed to deserialize query string: <field>: <reason>"
        let reason = text.trim_start_matches("Failed to deserialize query string: ").to_string();
        let field = reason.split(':').next().unwrap_or("query").trim().to_string();
        let field = if field.contains(' ') { "query".to_string() } else { field };
        ApiError::field(&field, reason)
    })
}

/// The signed-in user. Bearer tokens are for scripts; the session cookie is for the browser,
/// and a cookie-authenticated request that changes anything must carry the session's CSRF
/// token in `X-CSRF-Token` (forms send it as a field and are checked by the web layer).
pub struct Auth(pub Viewer);

impl Auth {
    pub fn require(&self, permission: Permission) -> Result<&Viewer, ApiError> {
        if self.0.may(permission) { Ok(&self.0) } else { Err(ApiError::forbidden("your role may not do this")) }
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token =
                value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")).ok_or_else(ApiError::unauthenticated)?;
            let signed_in =
                state.store.token_user(&auth::digest(token.trim())).await?.ok_or_else(ApiError::unauthenticated)?;
            return Ok(Auth(signed_in.viewer()));
        }
        let Some(session) = auth::cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(ApiError::unauthenticated());
        };
        let (signed_in, csrf) =
            state.store.session_user(&auth::digest(&session)).await?.ok_or_else(ApiError::unauthenticated)?;
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
            if !auth::constant_time_eq(sent.as_bytes(), csrf.as_bytes()) {
                return Err(ApiError::forbidden(
                    "a signed-in browser request that changes data must send the X-CSRF-Token header",
                ));
            }
        }
        Ok(Auth(signed_in.viewer()))
    }
}

/// [`Auth`] for calendar feeds: calendar apps cannot send headers, so an API token may also come
/// as `?token=` (GET only; the URL is then a secret, like any subscription link).
pub struct FeedAuth(pub Auth);

impl FromRequestParts<AppState> for FeedAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let has_credentials =
            parts.headers.contains_key(header::AUTHORIZATION) || auth::cookie(&parts.headers, SESSION_COOKIE).is_some();
        if has_credentials {
            return Auth::from_request_parts(parts, state).await.map(FeedAuth);
        }
        let token = parts
            .uri
            .query()
            .unwrap_or_default()
            .split('&')
            .find_map(|pair| pair.strip_prefix("token="))
            .filter(|t| !t.is_empty())
            .ok_or_else(ApiError::unauthenticated)?;
        let signed_in = state.store.token_user(&auth::digest(token)).await?.ok_or_else(ApiError::unauthenticated)?;
        Ok(FeedAuth(Auth(signed_in.viewer())))
    }
}

/// The signed-in user for pages: like [`Auth`] but from the cookie only, with the CSRF token
/// for forms. Pages check form tokens themselves.
pub struct PageAuth {
    pub viewer: Viewer,
    pub user: plumbline_domain::org::User,
    pub csrf: String,
}

impl FromRequestParts<AppState> for PageAuth {
    type Rejection = crate::web::PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let session = auth::cookie(&parts.headers, SESSION_COOKIE).ok_or(crate::web::PageError::SignIn)?;
        let (signed_in, csrf) = state
            .store
            .session_user(&auth::digest(&session))
            .await
            .map_err(|e| crate::web::PageError::Server(e.to_string()))?
            .ok_or(crate::web::PageError::SignIn)?;
        Ok(PageAuth { viewer: signed_in.viewer(), user: signed_in.user, csrf })
    }
}
