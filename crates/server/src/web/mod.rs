//! The web pages: server-rendered with maud (which escapes every value it is given), served by
//! the same binary, nothing loaded from outside. Forms carry a CSRF token. Errors render as
//! friendly pages, never JSON or a stack trace.

use crate::AppState;
use crate::auth::{self, LOGIN_CSRF_COOKIE, SESSION_COOKIE, SESSION_TTL_MS};
use crate::extract::PageAuth;
use axum::Form;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};
use plumbline_domain::access::Permission;
use plumbline_domain::evaluation::EvaluationStatus;
use plumbline_domain::org::Role;
use plumbline_store::{
    ConversationFilter, EvaluationFilter, EvaluationVisibility, IqsFilter, IqsGrouping, PageRequest,
};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", axum::routing::post(logout))
        .fallback(not_found)
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum PageError {
    SignIn,
    NotFound,
    Server(String),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => Redirect::to("/login").into_response(),
            PageError::NotFound => {
                (StatusCode::NOT_FOUND, layout("Not found", None, html! { h1 { "Not found" } p { "There is no such page, or you may not see it." } p { a href="/" { "Back to your work" } } })).into_response()
            }
            PageError::Server(cause) => {
                tracing::error!(%cause, "page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, layout("Something went wrong", None, html! { h1 { "Something went wrong" } p { "It is logged. Try again in a moment." } })).into_response()
            }
        }
    }
}

impl From<plumbline_store::StoreError> for PageError {
    fn from(e: plumbline_store::StoreError) -> Self {
        match e {
            plumbline_store::StoreError::NotFound => PageError::NotFound,
            other => PageError::Server(other.to_string()),
        }
    }
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1f3a5f;color:#fff;padding:.6rem 1.5rem;display:flex;gap:1rem;align-items:center}
header a{color:#fff} header .who{margin-left:auto}
main{max-width:70rem;margin:1.5rem auto;padding:0 1.5rem}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:1rem 1.25rem;margin-bottom:1rem}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #eceff3}
label{display:block;margin:.6rem 0 .2rem;font-weight:600} input{padding:.45rem;width:100%;max-width:24rem;box-sizing:border-box}
button{margin-top:1rem;padding:.5rem 1.1rem;background:#1f3a5f;color:#fff;border:0;border-radius:4px;cursor:pointer}
button:focus,a:focus,input:focus{outline:3px solid #f0b429}
.error{color:#a61b1b;background:#fdecec;padding:.5rem .75rem;border-radius:4px}
.band-excellent{color:#17673a}.band-good{color:#7a5b00}.band-needs_attention{color:#a61b1b}
.muted{color:#5b6472}
";

fn layout(title: &str, signed_in: Option<(&str, &str, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Plumbline" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { a href="/" { "Plumbline" } }
                    @if let Some((name, role, csrf)) = signed_in {
                        span class="who" { (name) " · " (role) }
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" style="margin:0" { "Sign out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

async fn not_found() -> PageError {
    PageError::NotFound
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    csrf: String,
}

fn login_form(csrf: &str, email: &str, error: Option<&str>) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            section style="max-width:28rem" {
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
        },
    )
}

async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let csrf = auth::new_secret();
    let cookie = auth::set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, auth::is_tls(&headers, state.config.secure_cookies));
    ([(header::SET_COOKIE, cookie)], login_form(&csrf, "", None)).into_response()
}

async fn login_submit(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
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
) -> Result<Response, PageError> {
    if !auth::constant_time_eq(form.csrf.as_bytes(), page.csrf.as_bytes()) {
        return Ok((StatusCode::FORBIDDEN, "The form expired; go back and try again.").into_response());
    }
    if let Some(session) = auth::cookie(&headers, SESSION_COOKIE) {
        state.store.delete_session(&auth::digest(&session)).await?;
    }
    let cookie = auth::set_cookie(SESSION_COOKIE, "", 0, auth::is_tls(&headers, state.config.secure_cookies));
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response())
}

fn date(ms: i64) -> String {
    plumbline_domain::time::Date::of(ms).to_string()
}

/// "My work": what the signed-in user has to do.
async fn home(State(state): State<AppState>, page: PageAuth) -> Result<Markup, PageError> {
    let viewer = &page.viewer;
    let ws = viewer.workspace_id;
    let mine = EvaluationVisibility {
        vendor: plumbline_domain::access::VendorScope::All,
        author: Some(viewer.user_id),
        agent: None,
        calibration_tasks_of_others: None,
    };
    let drafts = state
        .store
        .list_evaluations(
            ws,
            &mine,
            &EvaluationFilter { status: Some(EvaluationStatus::Draft), ..Default::default() },
            &PageRequest { cursor: None, limit: Some(20) },
        )
        .await?;
    let to_review = if viewer.may(Permission::Evaluate) {
        state
            .store
            .list_conversations(
                ws,
                viewer.vendor_scope(),
                None,
                &ConversationFilter::default(),
                &PageRequest { cursor: None, limit: Some(10) },
            )
            .await?
            .items
    } else {
        Vec::new()
    };
    let iqs = if viewer.may(Permission::ReadReports) {
        let bands = state.store.get_workspace(ws).await?.settings.bands;
        state.store.iqs_report(ws, viewer.vendor_scope(), IqsGrouping::Vendor, &IqsFilter::default(), &bands).await?
    } else {
        Vec::new()
    };
    let received = if viewer.role == Role::Agent {
        let visibility = EvaluationVisibility {
            vendor: viewer.vendor_scope(),
            author: None,
            agent: Some(viewer.agent_id.unwrap_or_default()),
            calibration_tasks_of_others: Some(viewer.user_id),
        };
        state
            .store
            .list_evaluations(
                ws,
                &visibility,
                &EvaluationFilter::default(),
                &PageRequest { cursor: None, limit: Some(20) },
            )
            .await?
            .items
    } else {
        Vec::new()
    };
    let role = page.user.role.to_string();
    Ok(layout(
        "My work",
        Some((&page.user.name, &role, &page.csrf)),
        html! {
            h1 { "My work" }
            section aria-labelledby="drafts" {
                h2 id="drafts" { "Reviews to finish" }
                @if drafts.items.is_empty() { p class="muted" { "No drafts. Nice." } }
                @else {
                    table { thead { tr { th { "Started" } th { "Conversation" } th { "Answered" } } }
                        tbody { @for e in &drafts.items { tr { td { (date(e.created_at)) } td { code { (e.conversation_id) } } td { (e.answers.len()) } } } } }
                }
            }
            @if !to_review.is_empty() {
                section aria-labelledby="review" {
                    h2 id="review" { "Recent conversations to review" }
                    table { thead { tr { th { "Started" } th { "Channel" } th { "Subject" } th { "CSAT" } } }
                        tbody { @for c in &to_review { tr { td { (date(c.started_at)) } td { (c.channel.as_str()) } td { (c.subject) } td { (c.metrics.csat.map(|v| v.to_string()).unwrap_or_default()) } } } } }
                }
            }
            @if !iqs.is_empty() {
                section aria-labelledby="iqs" {
                    h2 id="iqs" { "IQS by vendor" }
                    table { thead { tr { th { "Vendor" } th { "Reviews" } th { "IQS" } th { "Mean score" } } }
                        tbody { @for r in &iqs { tr {
                            td { (r.name) } td { (r.evaluations) }
                            td class=(r.band.map(|b| format!("band-{}", serde_json::to_value(b).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())).unwrap_or_default()) { (r.iqs.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())) }
                            td { (r.mean_score.map(|v| format!("{v:.1}")).unwrap_or_else(|| "–".into())) }
                        } } } }
                    p class="muted" { a href="/api/v1/reports/iqs?group_by=vendor&format=csv" { "Download CSV" } }
                }
            }
            @if viewer.role == Role::Agent {
                section aria-labelledby="received" {
                    h2 id="received" { "Reviews of your conversations" }
                    @if received.is_empty() { p class="muted" { "None yet." } }
                    @else { table { thead { tr { th { "Submitted" } th { "Score" } th { "Feedback" } } }
                        tbody { @for e in &received { tr { td { (e.submitted_at.map(date).unwrap_or_default()) } td { (e.result.as_ref().and_then(|r| r.score).map(|s| format!("{s:.1}")).unwrap_or_else(|| "–".into())) } td { (e.overall_feedback) } } } } } }
                }
            }
        },
    ))
}
