//! The JSON API under `/api/v1`. Every handler is registered with its OpenAPI description, so
//! the document at `/api/openapi.json` is generated from the code and cannot drift from it.

mod calibrations;
mod conversations;
mod evaluations;
mod org;
mod reports;
mod scorecards;
mod series;
mod session;

pub use session::sign_in;

use crate::AppState;
use crate::error::{ApiError, Problem};
use plumbline_store::PageRequest;
use serde::Deserialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Ordinary JSON bodies are small; imports stream and have their own limit.
pub const JSON_BODY_LIMIT: usize = 2 * 1024 * 1024;
pub const IMPORT_BODY_LIMIT: usize = 4 * 1024 * 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Plumbline API",
        description = "Calibration and quality assurance for customer-service teams. Authenticate with a bearer API token (POST /api/v1/tokens) or the session cookie from POST /api/v1/login (then send X-CSRF-Token on writes). Errors are RFC 9457 problem documents.",
        license(name = "Apache-2.0")
    ),
    modifiers(&Security),
    components(schemas(Problem)),
    security(("bearer" = []), ("session" = []))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))),
        );
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    let import = OpenApiRouter::new()
        .routes(routes!(conversations::import_conversations))
        .layer(axum::extract::DefaultBodyLimit::max(IMPORT_BODY_LIMIT));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(session::login))
        .routes(routes!(session::logout))
        .routes(routes!(session::me))
        .routes(routes!(session::list_tokens, session::create_token))
        .routes(routes!(session::revoke_token))
        .routes(routes!(org::list_users, org::create_user))
        .routes(routes!(org::get_user, org::update_user))
        .routes(routes!(org::set_password))
        .routes(routes!(org::list_vendors, org::create_vendor))
        .routes(routes!(org::get_vendor))
        .routes(routes!(org::list_teams, org::create_team))
        .routes(routes!(org::list_agents, org::create_agent))
        .routes(routes!(org::get_agent))
        .routes(routes!(org::get_settings, org::update_settings))
        .routes(routes!(scorecards::list_presets))
        .routes(routes!(scorecards::list_scorecards, scorecards::create_scorecard))
        .routes(routes!(scorecards::get_scorecard))
        .routes(routes!(scorecards::list_versions, scorecards::create_version))
        .routes(routes!(scorecards::get_version, scorecards::update_version))
        .routes(routes!(scorecards::activate_version))
        .routes(routes!(conversations::list_conversations, conversations::create_conversation))
        .routes(routes!(conversations::get_conversation))
        .merge(import)
        .routes(routes!(evaluations::list_evaluations, evaluations::create_evaluation))
        .routes(routes!(evaluations::get_evaluation, evaluations::save_evaluation, evaluations::delete_evaluation))
        .routes(routes!(evaluations::submit_evaluation))
        .routes(routes!(reports::iqs_report))
        .routes(routes!(reports::calibration_report))
        .routes(routes!(calibrations::list_calibrations, calibrations::create_calibration))
        .routes(routes!(calibrations::get_calibration, calibrations::update_calibration))
        .routes(routes!(calibrations::add_participant))
        .routes(routes!(calibrations::remove_participant))
        .routes(routes!(calibrations::session_conversation))
        .routes(routes!(calibrations::matrix))
        .routes(routes!(calibrations::get_facilitation, calibrations::save_facilitation))
        .routes(routes!(calibrations::reveal))
        .routes(routes!(calibrations::submit))
        .routes(routes!(calibrations::cancel))
        .routes(routes!(calibrations::report))
        .routes(routes!(calibrations::audit))
        .routes(routes!(calibrations::list_actions))
        .routes(routes!(calibrations::update_action))
        .routes(routes!(calibrations::list_followups))
        .routes(routes!(calibrations::resolve_followup))
        .routes(routes!(calibrations::scorecard_decisions))
        .routes(routes!(series::list_series, series::create_series))
        .routes(routes!(series::get_series, series::update_series))
        .routes(routes!(series::schedule_occurrence))
        .routes(routes!(series::series_calendar))
        .routes(routes!(series::my_calendar))
        .routes(routes!(series::calibration_due))
}

/// Pagination parameters shared by every list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

impl PageParams {
    pub fn request(&self) -> PageRequest {
        PageRequest { cursor: self.cursor.clone(), limit: self.limit }
    }
}

/// Parses a time filter: Unix milliseconds, or a date `YYYY-MM-DD` (midnight UTC).
pub fn parse_time(field: &str, value: &Option<String>) -> Result<Option<i64>, ApiError> {
    let Some(value) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if let Ok(ms) = value.parse::<i64>() {
        return Ok(Some(ms));
    }
    plumbline_domain::time::Date::parse(value)
        .map(|date| Some(date.millis()))
        .ok_or_else(|| ApiError::field(field, format!("{value:?} is not a date (YYYY-MM-DD) or Unix milliseconds")))
}

/// Parses an id from the path. A malformed id is just an id that does not exist: 404.
pub fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::not_found())
}

/// Parses an id from a query or path value, naming the field when it is malformed.
pub fn parse_id<T: std::str::FromStr>(field: &str, value: &Option<String>) -> Result<Option<T>, ApiError> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| ApiError::field(field, format!("{v:?} is not a valid id"))),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn dates_become_midnight_utc() {
        assert_eq!(parse_time("from", &Some("1970-01-02".into())).unwrap(), Some(86_400_000));
        assert_eq!(parse_time("from", &Some("2026-03-01".into())).unwrap(), Some(1_772_323_200_000));
        assert!(parse_time("from", &Some("2026-02-30".into())).is_err());
        assert_eq!(parse_time("from", &None).unwrap(), None);
    }
}
