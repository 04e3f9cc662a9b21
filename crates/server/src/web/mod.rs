//! The web pages: server-rendered with maud (which escapes every value it is given; no HTML is
//! ever built with `format!`), htmx for the few live parts, both served by this binary and
//! nothing loaded from outside. Every POST form carries the session's CSRF token and is checked
//! here. Errors render as friendly pages, never JSON or a stack trace.
//!
//! Who may see what is never decided here: pages ask the domain's `Viewer` and the shared
//! access functions in [`crate::calibration_views`], exactly as the API does.

mod admin;
mod calibrations;
mod conversations;
mod dashboards;
mod evaluations;
mod grader_qa;
mod home;
mod reports;
mod review_plans;
mod scorecards;
mod series;
mod ui;

use crate::AppState;
use crate::auth::{self, LOGIN_CSRF_COOKIE, SESSION_COOKIE, SESSION_TTL_MS};
use crate::error::ApiError;
use crate::extract::PageAuth;
use axum::Form;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};
use plumbline_domain::access::Permission;
use plumbline_domain::scorecard::FieldError;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/static/{file}", get(static_file))
        .route("/reviews", post(evaluations::start_review))
        .route("/evaluations/{id}", get(evaluations::page).post(evaluations::save))
        .route("/evaluations/{id}/score", post(evaluations::live_score))
        .route("/calibrations", get(calibrations::list).post(calibrations::create))
        .route("/calibrations/new", get(calibrations::new_form))
        .route("/calibrations/new/conversations", get(calibrations::conversation_choices))
        .route("/calibrations/{id}", get(calibrations::session_page))
        .route("/calibrations/{id}/facilitation", post(calibrations::save_facilitation))
        .route("/calibrations/{id}/setup", post(calibrations::update_setup))
        .route("/calibrations/{id}/participants", post(calibrations::add_participant))
        .route("/calibrations/{id}/participants/{user}/remove", post(calibrations::remove_participant))
        .route("/calibrations/{id}/reveal", post(calibrations::reveal))
        .route("/calibrations/{id}/submit", post(calibrations::submit))
        .route("/calibrations/{id}/cancel", post(calibrations::cancel))
        .route("/calibrations/{id}/report", get(calibrations::report))
        .route("/calibration-series", get(series::list).post(series::create))
        .route("/calibration-series/new", get(series::new_form))
        .route("/calibration-series/{id}", get(series::detail))
        .route("/calibration-series/{id}/schedule", post(series::schedule))
        .route("/calibration-series/{id}/active", post(series::set_active))
        .route("/conversations", get(conversations::list))
        .route("/conversations/import", get(conversations::import_page).post(conversations::import_upload))
        .route("/conversations/{id}", get(conversations::detail))
        .route("/scorecards", get(scorecards::list).post(scorecards::create_scorecard))
        .route("/scorecards/new", get(scorecards::new_scorecard))
        .route("/scorecards/{id}", get(scorecards::scorecard))
        .route("/scorecards/{id}/versions", post(scorecards::create_version))
        .route("/scorecards/{id}/versions/new", get(scorecards::new_version))
        .route("/scorecards/{id}/versions/{version}", get(scorecards::version))
        .route("/scorecards/{id}/versions/{version}/edit", get(scorecards::edit_draft).post(scorecards::save_draft))
        .route("/scorecards/{id}/versions/{version}/activate", post(scorecards::activate))
        .route("/admin", get(admin::page))
        .route("/admin/users", post(admin::create_user))
        .route("/admin/users/{id}", post(admin::update_user))
        .route("/admin/users/{id}/password", post(admin::set_password))
        .route("/admin/vendors", post(admin::create_vendor))
        .route("/admin/teams", post(admin::create_team))
        .route("/admin/settings", post(admin::update_settings))
        .route("/account", get(admin::account))
        .route("/account/tokens", post(admin::create_token))
        .route("/account/tokens/{id}/revoke", post(admin::revoke_token))
        .route("/account/password", post(admin::change_password))
        .route("/reports/iqs", get(reports::iqs))
        .route("/reports/calibration", get(reports::calibration))
        .route("/reports/trend", get(dashboards::trend))
        .route("/reports/vendors", get(dashboards::vendors))
        .route("/reports/csat", get(dashboards::csat))
        .route("/reports/csat/calibration", post(dashboards::create_session))
        .route("/reports/self-assessment", get(dashboards::self_assessment))
        .route("/reports/leaderboard", get(dashboards::leaderboard))
        .route("/reports/targets", get(dashboards::targets).post(dashboards::create_target))
        .route("/reports/targets/{id}/delete", post(dashboards::delete_target))
        .route("/queue", get(review_plans::queue))
        .route("/queue/{id}/start", post(review_plans::start))
        .route("/review-plans", get(review_plans::list).post(review_plans::create))
        .route("/review-plans/new", get(review_plans::new_form))
        .route("/review-plans/{id}", get(review_plans::detail))
        .route("/review-plans/{id}/draws", post(review_plans::draw))
        .route("/review-plans/{id}/active", post(review_plans::set_active))
        .route("/grader-qa", get(grader_qa::overview))
        .route("/grader-qa/programs", post(grader_qa::create_program))
        .route("/grader-qa/programs/new", get(grader_qa::new_program))
        .route("/grader-qa/programs/{id}/draws", post(grader_qa::draw))
        .route("/grader-qa/audits/{id}", get(grader_qa::audit))
        .route("/grader-qa/audits/{id}/appeals", post(grader_qa::appeal))
        .route("/grader-qa/appeals/{id}/decision", post(grader_qa::decide))
        .route("/reports/grader-qa", get(grader_qa::report))
        .route("/reports/grading-habits", get(grader_qa::habits))
        .route("/calibration-actions/{id}/done", post(home::action_done))
        .route("/calibration-followups/{session}/{user}/resolve", post(home::resolve_followup))
        .fallback(not_found)
}

/// Why a page could not be shown. Each renders as a page a person can act on.
#[derive(Debug)]
pub enum PageError {
    SignIn,
    NotFound,
    /// The form's CSRF token does not match the session's.
    Expired,
    Forbidden(String),
    /// A refusal from the rules (409, 422...): a title, what happened, and the fields.
    Refused {
        status: StatusCode,
        title: String,
        detail: String,
        errors: Vec<FieldError>,
    },
    Server(String),
}

impl PageError {
    fn refused(status: StatusCode, title: &str, detail: impl Into<String>) -> Self {
        PageError::Refused { status, title: title.into(), detail: detail.into(), errors: Vec::new() }
    }
}

fn error_page(status: StatusCode, title: &str, body: Markup) -> Response {
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Plumbline" } link rel="stylesheet" href="/static/plumbline.css"; }
            body {
                header class="top" { a class="brand" href="/" { "Plumbline" } }
                main class="narrow" { section { h1 { (title) } (body) p { a href="/" { "Back to your work" } } } }
            }
        }
    };
    (status, page).into_response()
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => Redirect::to("/login").into_response(),
            PageError::NotFound => error_page(
                StatusCode::NOT_FOUND,
                "Not found",
                html! { p { "There is no such page, or you may not see it." } },
            ),
            PageError::Expired => error_page(
                StatusCode::FORBIDDEN,
                "The form expired",
                html! { p { "Go back, reload the page and try again. Nothing was changed." } },
            ),
            PageError::Forbidden(why) => error_page(StatusCode::FORBIDDEN, "Not allowed", html! { p { (why) } }),
            PageError::Refused { status, title, detail, errors } => error_page(
                status,
                &title,
                html! {
                    p { (detail) }
                    @if !errors.is_empty() { ul { @for e in &errors { li { code { (e.field) } ": " (e.reason) } } } }
                    p { "Nothing was changed. Go back to the previous page to correct it." }
                },
            ),
            PageError::Server(cause) => {
                tracing::error!(%cause, "page failed");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    html! { p { "It is logged. Try again in a moment." } },
                )
            }
        }
    }
}

impl From<plumbline_store::StoreError> for PageError {
    fn from(e: plumbline_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e.status {
            StatusCode::NOT_FOUND => PageError::NotFound,
            StatusCode::UNAUTHORIZED => PageError::SignIn,
            StatusCode::FORBIDDEN => PageError::Forbidden(e.detail),
            s if s.is_server_error() => PageError::Server(e.detail),
            status => PageError::Refused { status, title: e.title.to_string(), detail: e.detail, errors: e.errors },
        }
    }
}

pub type PageResult<T> = Result<T, PageError>;

/// Checks a form's CSRF token against the signed-in session's.
fn check_csrf(page: &PageAuth, sent: &str) -> PageResult<()> {
    if auth::constant_time_eq(sent.as_bytes(), page.csrf.as_bytes()) { Ok(()) } else { Err(PageError::Expired) }
}

/// A form's fields in order, for forms whose field names depend on the data (one answer per
/// criterion...). Checks the CSRF token.
pub struct Fields(Vec<(String, String)>);

impl Fields {
    fn checked(page: &PageAuth, Form(fields): Form<Vec<(String, String)>>) -> PageResult<Fields> {
        // U+0000 cannot be stored as text (PostgreSQL) and no one types it: drop it.
        let fields = Fields(fields.into_iter().map(|(k, v)| (k, v.replace('\0', ""))).collect());
        check_csrf(page, fields.get("csrf").unwrap_or_default())?;
        Ok(fields)
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
    fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }
    fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Home,
    Calibrations,
    Conversations,
    Reports,
    Scorecards,
    Admin,
    Account,
    Queue,
    Plans,
    GraderQa,
}

/// The frame of every signed-in page: skip link, navigation, who is signed in.
fn layout(page: &PageAuth, title: &str, nav: Nav, body: Markup) -> Markup {
    let current = |n: Nav| if n == nav { Some("page") } else { None };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Plumbline" }
                link rel="stylesheet" href="/static/plumbline.css";
                script src="/static/htmx.min.js" defer {}
            }
            body {
                a class="skip" href="#content" { "Skip to content" }
                header class="top" {
                    a class="brand" href="/" { "Plumbline" }
                    nav aria-label="Main" class="actions" {
                        a href="/" aria-current=[current(Nav::Home)] { "My work" }
                        a href="/calibrations" aria-current=[current(Nav::Calibrations)] { "Calibrations" }
                        a href="/conversations" aria-current=[current(Nav::Conversations)] { "Conversations" }
                        @if page.viewer.may(Permission::Evaluate) {
                            a href="/queue" aria-current=[current(Nav::Queue)] { "Queue" }
                            a href="/grader-qa" aria-current=[current(Nav::GraderQa)] { "Grader QA" }
                        }
                        @if page.viewer.review_progress_scope().is_some() {
                            a href="/review-plans" aria-current=[current(Nav::Plans)] { "Review plans" }
                        }
                        @if page.viewer.may(Permission::ManageScorecards) {
                            a href="/scorecards" aria-current=[current(Nav::Scorecards)] { "Scorecards" }
                        }
                        @if page.viewer.may(Permission::ReadReports) {
                            a href="/reports/calibration" aria-current=[current(Nav::Reports)] { "Reports" }
                        }
                        @if page.viewer.may(Permission::Administer) {
                            a href="/admin" aria-current=[current(Nav::Admin)] { "Administration" }
                        }
                    }
                    div class="who" {
                        a href="/account" aria-current=[current(Nav::Account)] { (page.user.name) " · " (page.user.role.to_string()) }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(page.csrf);
                            button type="submit" class="secondary small" { "Sign out" }
                        }
                    }
                }
                main id="content" { (body) }
            }
        }
    }
}

/// The hidden CSRF field every POST form carries.
fn csrf_field(page: &PageAuth) -> Markup {
    html! { input type="hidden" name="csrf" value=(page.csrf); }
}

async fn not_found() -> PageError {
    PageError::NotFound
}

/// The vendored front-end files, compiled into the binary.
async fn static_file(Path(file): Path<String>) -> Response {
    let (body, content_type): (&'static [u8], &str) = match file.as_str() {
        // htmx 2.0.11 (npm `htmx.org`, BSD-0), copied unchanged from its dist/ folder.
        "htmx.min.js" => (include_bytes!("../../static/htmx.min.js"), "text/javascript; charset=utf-8"),
        // The upload with progress of the import page.
        "plumbline.js" => (include_bytes!("../../static/plumbline.js"), "text/javascript; charset=utf-8"),
        "plumbline.css" => (include_bytes!("../../static/plumbline.css"), "text/css; charset=utf-8"),
        _ => return PageError::NotFound.into_response(),
    };
    ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "public, max-age=3600")], body).into_response()
}

// ---------------------------------------------------------------------------------------------
// Sign in and out

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    csrf: String,
}

fn login_form(csrf: &str, email: &str, error: Option<&str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Sign in · Plumbline" } link rel="stylesheet" href="/static/plumbline.css"; }
            body {
                header class="top" { span class="brand" { "Plumbline" } }
                main class="narrow" id="content" {
                    section {
                        h1 { "Sign in" }
                        @if let Some(error) = error { p class="error" role="alert" { (error) } }
                        form method="post" action="/login" {
                            input type="hidden" name="csrf" value=(csrf);
                            label for="email" { "Email" }
                            input id="email" name="email" type="email" autocomplete="username" required value=(email);
                            label for="password" { "Password" }
                            input id="password" name="password" type="password" autocomplete="current-password" required;
                            button type="submit" { "Sign in" }
                        }
                    }
                }
            }
        }
    }
}

async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let csrf = auth::new_secret();
    let cookie = auth::set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, auth::is_tls(&headers, state.config.secure_cookies));
    ([(header::SET_COOKIE, cookie)], login_form(&csrf, "", None)).into_response()
}

async fn login_submit(State(state): State<AppState>, headers: HeaderMap, Form(mut form): Form<LoginForm>) -> Response {
    form.email = form.email.replace('\0', "");
    let expected = auth::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !auth::constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return (
            StatusCode::FORBIDDEN,
            login_form(&expected, &form.email, Some("The form expired. Please sign in again.")),
        )
            .into_response();
    }
    match crate::api::sign_in(&state, &form.email, &form.password).await {
        Ok((_, _, session)) => {
            let secure = auth::is_tls(&headers, state.config.secure_cookies);
            let mut response = Redirect::to("/").into_response();
            let headers = response.headers_mut();
            for cookie in [
                auth::set_cookie(SESSION_COOKIE, &session, SESSION_TTL_MS / 1000, secure),
                auth::set_cookie(LOGIN_CSRF_COOKIE, "", 0, secure),
            ] {
                if let Ok(v) = cookie.parse() {
                    headers.append(header::SET_COOKIE, v);
                }
            }
            response
        }
        Err(e) => (e.status, login_form(&expected, &form.email, Some(&e.detail))).into_response(),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    page: PageAuth,
    Form(form): Form<CsrfForm>,
) -> PageResult<Response> {
    check_csrf(&page, &form.csrf)?;
    if let Some(session) = auth::cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&auth::digest(&session)).await?;
    }
    let cookie = auth::set_cookie(SESSION_COOKIE, "", 0, auth::is_tls(&headers, state.config.secure_cookies));
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response())
}

/// Whether the viewer may create and facilitate calibration sessions.
fn calibrates(page: &PageAuth) -> bool {
    page.viewer.may(Permission::Calibrate)
}
