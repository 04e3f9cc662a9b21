//! The JSON API under `/api/v1`. Every handler is registered with its OpenAPI description, so
//! the document at `/api/openapi.json` is generated from the code and cannot drift from it.

mod calibrations;
mod conversations;
pub mod dashboards;
mod evaluations;
pub(crate) mod grader_qa;
pub(crate) mod habits;
mod integrity;
mod org;
pub mod reports;
pub(crate) mod review_plans;
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
    components(schemas(Problem, plumbline_store::IqsGrouping)),
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

/// The API's routes and its OpenAPI document, with the error responses every operation can
/// give written into the document (see [`document_errors`]).
pub fn split() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = router().split_for_parts();
    document_errors(&mut document);
    (router, document)
}

/// Every error is an RFC 9457 problem document (`application/problem+json`), and some can come
/// from any operation: 400 (a body or query that is not even well-formed), 401 (no or bad
/// credentials), 403 (the role may not), 404 for operations on a path id, for operations with
/// a body 413 (too large), 415 (not JSON) and 422 (invalid), and for every write 409 and 422. This writes them all into
/// the document, so that it describes every response the server sends.
fn document_errors(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let problem = || ContentBuilder::new().schema(Some(RefOr::Ref(Ref::from_schema_name("Problem")))).build();
    let reason = |status: &str| match status {
        "400" => "the request is not well-formed",
        "401" => "not signed in: send a bearer token or the session cookie",
        "403" => "your role may not do this",
        "404" => "no such resource, or you may not see it",
        "409" => "a conflict with the current state",
        "413" => "the body is too large",
        "415" => "send Content-Type: application/json",
        "422" => "invalid input: each bad field is named",
        "429" => "too many attempts; retry later",
        _ => "an error",
    };
    for (path, item) in document.paths.paths.iter_mut() {
        let operations = [
            (false, item.get.as_mut()),
            (true, item.put.as_mut()),
            (true, item.post.as_mut()),
            (true, item.delete.as_mut()),
            (true, item.patch.as_mut()),
        ];
        for (is_write, operation) in operations {
            let Some(operation) = operation else { continue };
            let public = path == "/api/v1/login";
            let mut statuses = vec!["400"];
            if !public {
                statuses.extend(["401", "403"]);
            }
            if path.contains('{') {
                statuses.push("404");
            }
            let has_query = operation.parameters.as_ref().is_some_and(|p| {
                p.iter()
                    .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == utoipa::openapi::path::ParameterIn::Query))
            });
            if has_query {
                statuses.push("422");
            }
            if operation.request_body.is_some() {
                statuses.extend(["413", "415", "422"]);
            }
            // Any write can meet invalid state (a deactivated user, a missing calibrated answer)
            // or a conflict (a concurrent change).
            if is_write {
                statuses.extend(["409", "422"]);
            }
            let responses = &mut operation.responses.responses;
            for status in statuses {
                responses
                    .entry(status.to_string())
                    .or_insert_with(|| RefOr::T(ResponseBuilder::new().description(reason(status)).build()));
            }
            for (status, response) in responses.iter_mut() {
                if !status.starts_with('4') && !status.starts_with('5') {
                    continue;
                }
                if let RefOr::T(response) = response {
                    response.content.clear();
                    response.content.insert("application/problem+json".to_string(), RefOr::T(problem()));
                }
            }
        }
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
        .routes(routes!(dashboards::iqs_trend))
        .routes(routes!(dashboards::vendor_report))
        .routes(routes!(dashboards::csat_report))
        .routes(routes!(dashboards::self_assessment))
        .routes(routes!(dashboards::leaderboard))
        .routes(routes!(dashboards::list_targets, dashboards::create_target))
        .routes(routes!(dashboards::get_target, dashboards::update_target, dashboards::delete_target))
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
        .routes(routes!(grader_qa::list_programs, grader_qa::create_program))
        .routes(routes!(grader_qa::get_program))
        .routes(routes!(grader_qa::draw))
        .routes(routes!(grader_qa::list_audits))
        .routes(routes!(grader_qa::get_audit))
        .routes(routes!(grader_qa::appeal))
        .routes(routes!(grader_qa::decide_appeal))
        .routes(routes!(grader_qa::report))
        .routes(routes!(integrity::sample_check))
        .routes(routes!(review_plans::list_plans, review_plans::create_plan))
        .routes(routes!(review_plans::get_plan, review_plans::update_plan))
        .routes(routes!(review_plans::draw))
        .routes(routes!(review_plans::progress))
        .routes(routes!(review_plans::plan_assignments))
        .routes(routes!(review_plans::my_queue))
        .routes(routes!(review_plans::start))
        .routes(routes!(habits::report))
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
