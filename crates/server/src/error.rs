//! The API's one error policy: every error is an RFC 9457 problem document
//! (`application/problem+json`) that names the bad field where there is one. Server errors log
//! their cause and show a short message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plumbline_domain::scorecard::FieldError;
use plumbline_store::{ImportError, RowProblem, StoreError};
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub title: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub rows: Vec<RowProblem>,
    pub retry_after: Option<u64>,
    /// Boxed: it is rare, and keeps every `Result<_, ApiError>` small.
    pub current: Option<Box<CurrentRevision>>,
}

/// On 409 for a stale save: the revision that is current now, who saved it and when.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CurrentRevision {
    pub revision: i64,
    pub updated_by: Option<String>,
    /// Unix milliseconds.
    pub updated_at: i64,
}

/// An RFC 9457 problem document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Each bad field, as a path into the request (`answers[2].choice`), with the reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For imports: each bad row, with line, field and reason.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<RowProblem>,
    /// For a save based on a stale revision: what is current now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<CurrentRevision>,
}

impl ApiError {
    pub fn new(status: StatusCode, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            title,
            detail: detail.into(),
            errors: Vec::new(),
            rows: Vec::new(),
            retry_after: None,
            current: None,
        }
    }
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Not signed in",
            "sign in, or send an API token as `Authorization: Bearer ...`",
        )
    }
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", "there is no such resource, or you may not see it")
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", detail)
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", detail)
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Conflict", detail)
    }
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = errors.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect::<Vec<_>>().join("; ");
        Self { errors, ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid input", detail) }
    }
    pub fn field(field: &str, reason: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError::new(field, reason)])
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "Server error", "something went wrong on our side; it is logged")
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict(detail) => ApiError::conflict(detail),
            StoreError::Duplicate(what) => ApiError::conflict(format!("{what} already exists")),
            StoreError::Invalid(errors) => ApiError::invalid(errors),
            StoreError::Stale { current_revision, updated_by, updated_at } => {
                let who = updated_by.clone().unwrap_or_else(|| "someone".into());
                Self {
                    current: Some(Box::new(CurrentRevision { revision: current_revision, updated_by, updated_at })),
                    ..ApiError::conflict(format!(
                        "{who} saved revision {current_revision} after the one you loaded; nothing was overwritten. Reload, reapply your change and save again"
                    ))
                }
            }
            StoreError::Database(_) => ApiError::internal(e),
        }
    }
}

impl From<ImportError> for ApiError {
    fn from(e: ImportError) -> Self {
        match e {
            ImportError::BadRows { problems, total } => {
                let shown = problems.len();
                let detail = if total as usize > shown {
                    format!("{total} problems (the first {shown} are listed); nothing was imported")
                } else {
                    format!("{total} problems; nothing was imported")
                };
                Self { rows: problems, ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Import refused", detail) }
            }
            ImportError::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem {
            kind: "about:blank".to_string(),
            title: self.title.to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            errors: self.errors,
            rows: self.rows,
            current: self.current.map(|c| *c),
        };
        let body = serde_json::to_value(&problem).unwrap_or_default();
        let mut response = (self.status, body.to_string()).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
