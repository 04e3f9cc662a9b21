//! Administration (admins): users (create, role, deactivate, set a password), vendors, teams and
//! the workspace's scoring and calibration settings;
//! and for everyone, their own account: API tokens (the secret shown once) and their password.
//! The same store calls and the same input rules as the API's organisation and token endpoints.

use super::ui::{date, datetime};
use super::{Fields, Nav, PageError, PageResult, csrf_field, layout};
use crate::AppState;
use crate::auth;
use crate::extract::PageAuth;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use plumbline_domain::access::{Permission, VendorScope};
use plumbline_domain::org::{AutoFailPolicy, Bands, NaPolicy, Role, WorkspaceSettings};
use plumbline_domain::{TokenId, UserId, VendorId};
use plumbline_store::{NewUser, StoreError, UserFilter};
use serde::Deserialize;

fn require_admin(page: &PageAuth) -> PageResult<()> {
    if page.viewer.may(Permission::Administer) { Ok(()) } else { Err(PageError::NotFound) }
}

/// The API's rule for a name: 1 to 200 characters.
fn name_problem(label: &str, value: &str) -> Option<String> {
    let n = value.trim().chars().count();
    (n == 0 || n > 200).then(|| format!("{label} must be 1 to 200 characters"))
}

/// The API's rule for a password: 10 to 200 characters.
fn password_problem(password: &str) -> Option<String> {
    let n = password.chars().count();
    (!(10..=200).contains(&n)).then(|| "the password must be 10 to 200 characters".to_string())
}

fn role_text(role: Role) -> String {
    role.to_string()
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The settings form as typed.
#[derive(Clone)]
struct SettingsDraft {
    excellent: String,
    good: String,
    tolerance_points: String,
    form_calibration_percent: String,
    na_policy: String,
    auto_fail_policy: String,
}

impl SettingsDraft {
    fn of(settings: &WorkspaceSettings) -> SettingsDraft {
        let number = |v: f64| if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v}") };
        SettingsDraft {
            excellent: number(settings.bands.excellent),
            good: number(settings.bands.good),
            tolerance_points: number(settings.tolerance_points),
            form_calibration_percent: number((settings.form_calibration_threshold * 1000.0).round() / 10.0),
            na_policy: if settings.na_policy == NaPolicy::CountAsPass { "count_as_pass" } else { "exclude" }.into(),
            auto_fail_policy: if settings.auto_fail_policy == AutoFailPolicy::Flag { "flag" } else { "zero" }.into(),
        }
    }
}

/// The create-user form as typed (never the password).
#[derive(Default)]
struct NewUserDraft {
    name: String,
    email: String,
    role: String,
    vendor_id: String,
}

pub async fn page(State(state): State<AppState>, page: PageAuth, Query(q): Query<DoneQuery>) -> PageResult<Markup> {
    require_admin(&page)?;
    let notice = match q.done.as_deref() {
        Some("user") => Some("User created."),
        Some("updated") => Some("User updated."),
        Some("password") => Some("Password set; the user's sessions were ended."),
        Some("vendor") => Some("Vendor created."),
        Some("team") => Some("Team created."),
        Some("settings") => Some("Settings saved."),
        _ => None,
    };
    admin_page(&state, &page, notice, &[], &NewUserDraft { role: "reviewer".into(), ..Default::default() }, None).await
}

async fn admin_page(
    state: &AppState,
    page: &PageAuth,
    notice: Option<&str>,
    errors: &[String],
    draft: &NewUserDraft,
    settings: Option<SettingsDraft>,
) -> PageResult<Markup> {
    let ws = page.viewer.workspace_id;
    let settings = match settings {
        Some(s) => s,
        None => SettingsDraft::of(&state.store.get_workspace(ws).await?.settings),
    };
    let users = state.store.list_users(ws, VendorScope::All, &UserFilter { vendor_id: None, role: None }).await?;
    let vendors = state.store.list_vendors(ws, VendorScope::All).await?;
    let teams = state.store.list_teams(ws, VendorScope::All).await?;
    let vendor_name = |id: VendorId| vendors.iter().find(|v| v.id == id).map(|v| v.name.clone()).unwrap_or_default();
    Ok(layout(
        page,
        "Administration",
        Nav::Admin,
        html! {
            h1 { "Administration" }
            @if let Some(n) = notice { p class="notice" role="status" { (n) } }
            @if !errors.is_empty() { div class="error" role="alert" { p { "Nothing was changed:" } ul { @for e in errors { li { (e) } } } } }
            section aria-labelledby="users" {
                h2 id="users" { "Users" }
                table class="admin-users" {
                    thead { tr { th { "Name" } th { "Email" } th { "Vendor" } th { "Role and status" } th { "Password" } } }
                    tbody { @for u in &users { tr {
                        td { (u.name) @if !u.active { " " span class="badge cancelled" { "deactivated" } } }
                        td { (u.email) }
                        td { (vendor_name(u.vendor_id)) }
                        td {
                            form method="post" action={ "/admin/users/" (u.id) } class="actions" {
                                (csrf_field(page))
                                label class="skip" for={ "role-" (u.id) } { "Role of " (u.name) }
                                select id={ "role-" (u.id) } name="role" style="max-width:9rem" {
                                    @for r in Role::ALL { option value=(r.as_str()) selected[r == u.role] { (role_text(r)) } }
                                }
                                input type="checkbox" id={ "active-" (u.id) } name="active" value="1" checked[u.active];
                                label class="inline" for={ "active-" (u.id) } { "active" span class="skip" { " (" (u.name) ")" } }
                                button type="submit" class="small secondary" { "Save" span class="skip" { " " (u.name) } }
                            }
                        }
                        td {
                            form method="post" action={ "/admin/users/" (u.id) "/password" } class="actions" {
                                (csrf_field(page))
                                label class="skip" for={ "password-" (u.id) } { "New password for " (u.name) }
                                input type="password" id={ "password-" (u.id) } name="password" autocomplete="new-password" minlength="10" maxlength="200" required style="max-width:11rem";
                                button type="submit" class="small secondary" { "Set" span class="skip" { " the password of " (u.name) } }
                            }
                        }
                    } } }
                }
                h3 { "Add a user" }
                form method="post" action="/admin/users" class="grid2" {
                    (csrf_field(page))
                    div { label for="new-name" { "Name" } input type="text" id="new-name" name="name" required maxlength="200" value=(draft.name); }
                    div { label for="new-email" { "Email" } input type="email" id="new-email" name="email" required value=(draft.email); }
                    div { label for="new-role" { "Role" }
                        select id="new-role" name="role" { @for r in Role::ALL { option value=(r.as_str()) selected[draft.role == r.as_str()] { (role_text(r)) } } } }
                    div { label for="new-vendor" { "Vendor" }
                        select id="new-vendor" name="vendor_id" { @for v in &vendors { option value=(v.id) selected[draft.vendor_id == v.id.to_string()] { (v.name) @if v.is_internal { " (internal)" } } } } }
                    div { label for="new-password" { "Password (10 to 200 characters)" }
                        input type="password" id="new-password" name="password" autocomplete="new-password" required; }
                    div { button type="submit" { "Add user" } }
                }
            }
            section aria-labelledby="settings" {
                h2 id="settings" { "Scoring and calibration settings" }
                form method="post" action="/admin/settings" {
                    (csrf_field(page))
                    div class="grid2" {
                        div { label for="excellent" { "Band \"excellent\" from (IQS 0-100)" }
                            input type="number" id="excellent" name="excellent" step="any" min="0" max="100" value=(settings.excellent); }
                        div { label for="good" { "Band \"good\" from (IQS 0-100)" }
                            input type="number" id="good" name="good" step="any" min="0" max="100" value=(settings.good); }
                        div { label for="tolerance_points" { "Calibration tolerance (score points)" }
                            input type="number" id="tolerance_points" name="tolerance_points" step="any" min="0" max="100" value=(settings.tolerance_points); }
                        div { label for="form_calibration_percent" { "Warn when a form calibration agrees less than (%)" }
                            input type="number" id="form_calibration_percent" name="form_calibration_percent" step="any" min="0" max="100" value=(settings.form_calibration_percent); }
                    }
                    div class="grid2" {
                        fieldset { legend { "An N/A answer" }
                            @for (value, label) in [("exclude", "leaves the score (default)"), ("count_as_pass", "counts as full points")] {
                                div class="choice" { input type="radio" name="na_policy" id={ "na-" (value) } value=(value) checked[settings.na_policy == value];
                                    label for={ "na-" (value) } { (label) } } } }
                        fieldset { legend { "A failed critical criterion" }
                            @for (value, label) in [("zero", "scores the evaluation 0 (default)"), ("flag", "keeps the score and flags the evaluation failed")] {
                                div class="choice" { input type="radio" name="auto_fail_policy" id={ "af-" (value) } value=(value) checked[settings.auto_fail_policy == value];
                                    label for={ "af-" (value) } { (label) } } } }
                    }
                    button type="submit" { "Save settings" }
                }
            }
            div class="grid2" {
                section aria-labelledby="vendors" {
                    h2 id="vendors" { "Vendors" }
                    ul { @for v in &vendors { li { (v.name) @if v.is_internal { " " span class="muted small" { "(internal)" } } } } }
                    form method="post" action="/admin/vendors" class="actions" {
                        (csrf_field(page))
                        div { label for="vendor-name" { "New vendor" } input type="text" id="vendor-name" name="name" required maxlength="200"; }
                        div { button type="submit" { "Add vendor" } }
                    }
                }
                section aria-labelledby="teams" {
                    h2 id="teams" { "Teams" }
                    table { thead { tr { th { "Team" } th { "Vendor" } } }
                        tbody { @for t in &teams { tr { td { (t.name) } td { (vendor_name(t.vendor_id)) } } } } }
                    form method="post" action="/admin/teams" class="actions" {
                        (csrf_field(page))
                        div { label for="team-name" { "New team" } input type="text" id="team-name" name="name" required maxlength="200"; }
                        div { label for="team-vendor" { "Of vendor" }
                            select id="team-vendor" name="vendor_id" { @for v in &vendors { option value=(v.id) { (v.name) } } } }
                        div { button type="submit" { "Add team" } }
                    }
                }
            }
        },
    ))
}

async fn refused(state: &AppState, page: &PageAuth, errors: Vec<String>, draft: &NewUserDraft) -> PageResult<Response> {
    Ok((StatusCode::UNPROCESSABLE_ENTITY, admin_page(state, page, None, &errors, draft, None).await?).into_response())
}

fn store_problem(e: StoreError) -> PageResult<String> {
    match e {
        StoreError::Duplicate(_) => Ok("that name or email is already taken".into()),
        StoreError::Invalid(errors) => {
            Ok(errors.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect::<Vec<_>>().join("; "))
        }
        StoreError::Conflict(why) => Ok(why),
        e => Err(e.into()),
    }
}

pub async fn create_user(
    State(state): State<AppState>,
    page: PageAuth,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    require_admin(&page)?;
    let draft = NewUserDraft {
        name: fields.text("name"),
        email: fields.text("email"),
        role: fields.text("role"),
        vendor_id: fields.text("vendor_id"),
    };
    let password = fields.text("password");
    let mut errors: Vec<String> = Vec::new();
    errors.extend(name_problem("the name", &draft.name));
    let email = draft.email.trim();
    if !email.contains('@') || email.len() > 254 || email.contains(char::is_whitespace) {
        errors.push("the email must be an email address".into());
    }
    errors.extend(password_problem(&password));
    let role = draft.role.parse::<Role>().ok();
    if role.is_none() {
        errors.push("choose a role".into());
    }
    let vendor = draft.vendor_id.parse::<VendorId>().ok();
    if vendor.is_none() {
        errors.push("choose a vendor".into());
    }
    let (Some(role), Some(vendor_id), true) = (role, vendor, errors.is_empty()) else {
        return refused(&state, &page, errors, &draft).await;
    };
    let created = state
        .store
        .create_user(
            page.viewer.workspace_id,
            NewUser {
                vendor_id,
                email: email.to_string(),
                name: draft.name.trim().to_string(),
                role,
                password_hash: auth::hash_password_for_request(&password).await,
                agent_id: None,
            },
        )
        .await;
    match created {
        Ok(_) => Ok(Redirect::to("/admin?done=user").into_response()),
        Err(e) => {
            let problem = store_problem(e)?;
            refused(&state, &page, vec![problem], &draft).await
        }
    }
}

pub async fn update_user(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    require_admin(&page)?;
    let ws = page.viewer.workspace_id;
    let user = state.store.get_user(ws, raw.parse::<UserId>().map_err(|_| PageError::NotFound)?).await?;
    let role = fields.text("role").parse::<Role>().unwrap_or(user.role);
    let active = fields.get("active").is_some();
    // The API's rule: an admin never locks themselves out.
    if user.id == page.viewer.user_id && (!active || role != Role::Admin) {
        let errors = vec!["you cannot demote or deactivate yourself; ask another admin".to_string()];
        return Ok((
            StatusCode::CONFLICT,
            admin_page(&state, &page, None, &errors, &NewUserDraft::default(), None).await?,
        )
            .into_response());
    }
    state.store.update_user(ws, user.id, role, active).await?;
    Ok(Redirect::to("/admin?done=updated").into_response())
}

pub async fn set_password(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    require_admin(&page)?;
    let ws = page.viewer.workspace_id;
    let user = state.store.get_user(ws, raw.parse::<UserId>().map_err(|_| PageError::NotFound)?).await?;
    let password = fields.text("password");
    if let Some(problem) = password_problem(&password) {
        return refused(&state, &page, vec![format!("{}: {problem}", user.name)], &NewUserDraft::default()).await;
    }
    state.store.set_password(ws, user.id, &auth::hash_password_for_request(&password).await).await?;
    Ok(Redirect::to("/admin?done=password").into_response())
}

pub async fn create_vendor(
    State(state): State<AppState>,
    page: PageAuth,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    require_admin(&page)?;
    let name = fields.text("name");
    if let Some(problem) = name_problem("the vendor's name", &name) {
        return refused(&state, &page, vec![problem], &NewUserDraft::default()).await;
    }
    match state.store.create_vendor(page.viewer.workspace_id, name.trim()).await {
        Ok(_) => Ok(Redirect::to("/admin?done=vendor#vendors").into_response()),
        Err(e) => {
            let problem = store_problem(e)?;
            refused(&state, &page, vec![problem], &NewUserDraft::default()).await
        }
    }
}

pub async fn create_team(
    State(state): State<AppState>,
    page: PageAuth,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    require_admin(&page)?;
    let name = fields.text("name");
    let vendor = fields.text("vendor_id").parse::<VendorId>().ok();
    let mut errors: Vec<String> = name_problem("the team's name", &name).into_iter().collect();
    if vendor.is_none() {
        errors.push("choose the team's vendor".into());
    }
    let (Some(vendor), true) = (vendor, errors.is_empty()) else {
        return refused(&state, &page, errors, &NewUserDraft::default()).await;
    };
    match state.store.create_team(page.viewer.workspace_id, vendor, name.trim()).await {
        Ok(_) => Ok(Redirect::to("/admin?done=team#teams").into_response()),
        Err(e) => {
            let problem = store_problem(e)?;
            refused(&state, &page, vec![problem], &NewUserDraft::default()).await
        }
    }
}

/// Saves the workspace settings, with the API's rules: bands from 0 to 100 with good <= excellent,
/// tolerance from 0 to 100 points, the form-calibration threshold from 0 to 100%.
pub async fn update_settings(
    State(state): State<AppState>,
    page: PageAuth,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    require_admin(&page)?;
    let draft = SettingsDraft {
        excellent: fields.text("excellent"),
        good: fields.text("good"),
        tolerance_points: fields.text("tolerance_points"),
        form_calibration_percent: fields.text("form_calibration_percent"),
        na_policy: fields.text("na_policy"),
        auto_fail_policy: fields.text("auto_fail_policy"),
    };
    let mut errors = Vec::new();
    let mut number = |label: &str, text: &str| -> f64 {
        match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() && (0.0..=100.0).contains(&v) => v,
            _ => {
                errors.push(format!("{label} must be a number from 0 to 100"));
                0.0
            }
        }
    };
    let excellent = number("the excellent band", &draft.excellent);
    let good = number("the good band", &draft.good);
    let tolerance_points = number("the tolerance", &draft.tolerance_points);
    let threshold = number("the form-calibration threshold", &draft.form_calibration_percent) / 100.0;
    if good > excellent {
        errors.push("the good band must start at or below the excellent band".into());
    }
    if !errors.is_empty() {
        let markup = admin_page(&state, &page, None, &errors, &NewUserDraft::default(), Some(draft)).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, markup).into_response());
    }
    let ws = page.viewer.workspace_id;
    let mut settings = state.store.get_workspace(ws).await?.settings;
    settings.bands = Bands { excellent, good };
    settings.tolerance_points = tolerance_points;
    settings.form_calibration_threshold = threshold;
    settings.na_policy = if draft.na_policy == "count_as_pass" { NaPolicy::CountAsPass } else { NaPolicy::Exclude };
    settings.auto_fail_policy =
        if draft.auto_fail_policy == "flag" { AutoFailPolicy::Flag } else { AutoFailPolicy::Zero };
    state.store.update_settings(ws, &settings).await?;
    Ok(Redirect::to("/admin?done=settings#settings").into_response())
}

// ---------------------------------------------------------------------------------------------
// Your account: API tokens and your password

pub async fn account(State(state): State<AppState>, page: PageAuth, Query(q): Query<DoneQuery>) -> PageResult<Markup> {
    let notice = match q.done.as_deref() {
        Some("revoked") => Some("Token revoked: it no longer works."),
        Some("password") => Some("Password changed. Sign in again on your other devices."),
        _ => None,
    };
    account_page(&state, &page, notice, None, &[], "").await
}

async fn account_page(
    state: &AppState,
    page: &PageAuth,
    notice: Option<&str>,
    secret: Option<&str>,
    errors: &[String],
    token_name: &str,
) -> PageResult<Markup> {
    let tokens = state.store.list_tokens(page.viewer.user_id).await?;
    Ok(layout(
        page,
        "Your account",
        Nav::Account,
        html! {
            h1 { "Your account" }
            p class="muted" { (page.user.name) " · " (page.user.email) " · " (page.user.role.to_string()) }
            @if let Some(n) = notice { p class="notice" role="status" { (n) } }
            @if !errors.is_empty() { div class="error" role="alert" { ul { @for e in errors { li { (e) } } } } }
            @if let Some(secret) = secret {
                div class="notice" role="status" {
                    p { strong { "Your new token. Copy it now: it is shown only once." } }
                    p { label for="secret" { "Secret" } input type="text" id="secret" readonly value=(secret) style="max-width:none; font-family:monospace"; }
                    p class="small" { "Send it as " code { "Authorization: Bearer <secret>" } ", or add " code { "?token=<secret>" } " to a calendar link." }
                }
            }
            section aria-labelledby="tokens" {
                h2 id="tokens" { "API tokens" }
                p class="muted small" { "A token acts as you for scripts and calendar apps." }
                @if tokens.is_empty() { p class="muted" { "No tokens." } }
                @else {
                    table {
                        thead { tr { th { "Name" } th { "Created" } th { "Last used" } th { "Status" } th { span class="skip" { "Actions" } } } }
                        tbody { @for t in &tokens { tr {
                            td { (t.name) }
                            td { (date(t.created_at)) }
                            td { (t.last_used_at.map(datetime).unwrap_or_else(|| "never".into())) }
                            td { @if let Some(at) = t.revoked_at { "revoked " (date(at)) } @else { "active" } }
                            td { @if t.revoked_at.is_none() {
                                form method="post" action={ "/account/tokens/" (t.id) "/revoke" } {
                                    (csrf_field(page))
                                    button type="submit" class="small danger" { "Revoke" span class="skip" { " " (t.name) } }
                                }
                            } }
                        } } }
                    }
                }
                form method="post" action="/account/tokens" class="actions" {
                    (csrf_field(page))
                    div { label for="token-name" { "New token's name" } input type="text" id="token-name" name="name" required maxlength="200" placeholder="nightly import" value=(token_name); }
                    div { button type="submit" { "Create token" } }
                }
            }
            section aria-labelledby="password" {
                h2 id="password" { "Change your password" }
                form method="post" action="/account/password" class="actions" {
                    (csrf_field(page))
                    div { label for="new-password" { "New password (10 to 200 characters)" }
                        input type="password" id="new-password" name="password" autocomplete="new-password" required minlength="10" maxlength="200"; }
                    div { button type="submit" { "Change password" } }
                }
            }
        },
    ))
}

pub async fn create_token(
    State(state): State<AppState>,
    page: PageAuth,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    let typed = fields.text("name");
    let name = typed.trim();
    if name.is_empty() || name.chars().count() > 200 {
        let errors = vec!["give the token a name of 1 to 200 characters".to_string()];
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, account_page(&state, &page, None, None, &errors, &typed).await?)
            .into_response());
    }
    let secret = format!("pl_{}", auth::new_secret());
    state.store.create_token(page.viewer.user_id, name, &auth::digest(&secret)).await?;
    // Shown in this answer only; a reload does not show it again.
    Ok((
        [(axum::http::header::CACHE_CONTROL, "no-store")],
        account_page(&state, &page, Some("Token created."), Some(&secret), &[], "").await?,
    )
        .into_response())
}

pub async fn revoke_token(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Redirect> {
    Fields::checked(&page, form)?;
    let id: TokenId = raw.parse().map_err(|_| PageError::NotFound)?;
    state.store.revoke_token(page.viewer.user_id, id).await?;
    Ok(Redirect::to("/account?done=revoked"))
}

pub async fn change_password(
    State(state): State<AppState>,
    page: PageAuth,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    let password = fields.text("password");
    if let Some(problem) = password_problem(&password) {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, account_page(&state, &page, None, None, &[problem], "").await?)
            .into_response());
    }
    state
        .store
        .set_password(page.viewer.workspace_id, page.viewer.user_id, &auth::hash_password_for_request(&password).await)
        .await?;
    // Setting a password ends the user's sessions, this one too.
    Ok(Redirect::to("/login").into_response())
}
