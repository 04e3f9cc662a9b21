//! Review assignments: "My queue" (a grader's open items; starting one opens the review), the
//! review plans (list, create, a plan's progress per grader with its draws) for qa_leads and
//! admins, and a vendor lead's view of their own graders' progress. The same store calls and
//! access rules as `/api/v1/review-plans` and `/api/v1/queue`.

use super::ui::{date, datetime};
use super::{Fields, Nav, PageError, PageResult, csrf_field, layout};
use crate::AppState;
use crate::api::review_plans::PlanItem;
use crate::extract::PageAuth;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use plumbline_domain::access::{Permission, VendorScope};
use plumbline_domain::conversation::Channel;
use plumbline_domain::org::Role;
use plumbline_domain::review_plans::{AssignmentStatus, PlanFilter, PlanSample, ReviewPlan};
use plumbline_domain::scorecard::FieldError;
use plumbline_domain::{AssignmentId, PlanId};
use plumbline_store::{AssignmentQuery, NewReviewPlan, UserFilter, now_millis};
use serde::Deserialize;

fn status_text(status: AssignmentStatus) -> &'static str {
    match status {
        AssignmentStatus::Assigned => "not started",
        AssignmentStatus::InProgress => "in progress",
        AssignmentStatus::Done => "done",
    }
}

fn sample_text(sample: PlanSample, period_days: u32) -> String {
    match sample {
        PlanSample::Percent(p) => format!("{p}% of matching conversations"),
        PlanSample::PerAgent(n) => format!("{n} per agent per {period_days} days"),
    }
}

#[derive(Deserialize)]
pub struct QueueQuery {
    done: Option<String>,
}

/// My queue: open items, earliest due first, each with "Start" (or "Continue").
pub async fn queue(State(state): State<AppState>, page: PageAuth, Query(q): Query<QueueQuery>) -> PageResult<Markup> {
    if !page.viewer.may(Permission::Evaluate) {
        return Err(PageError::NotFound);
    }
    let include_done = q.done.is_some();
    // Hidden calibration tasks are among them, and look like every other item.
    let query = AssignmentQuery {
        grader_id: Some(page.viewer.user_id),
        open_only: !include_done,
        with_hidden_calibration: true,
        ..Default::default()
    };
    let items = state.store.list_assignments(page.viewer.workspace_id, &query).await?;
    let now = now_millis();
    Ok(layout(
        &page,
        "My queue",
        Nav::Queue,
        html! {
            h1 { "My queue" }
            p class="muted" { "Reviews assigned to you by a review plan, earliest due first. An item is done when you submit its review." }
            div class="actions" {
                @if include_done { a class="button secondary" href="/queue" { "Open items only" } }
                @else { a class="button secondary" href="/queue?done=1" { "Show done items too" } }
            }
            section {
                @if items.is_empty() { p class="muted" { "Nothing in your queue." } }
                @else {
                    table {
                        thead { tr { th { "Conversation" } th { "Channel" } th { "Plan" } th { "Due" } th { "Status" } th { span class="sr-only" { "Action" } } } }
                        tbody { @for item in &items {
                            @let overdue = item.status != AssignmentStatus::Done && item.due_at < now;
                            tr {
                                td { (item.conversation_external_id) @if !item.subject.is_empty() { " · " (item.subject) } }
                                td { (item.channel) }
                                td { (item.plan_name) }
                                td { (date(item.due_at)) @if overdue { " " span class="badge critical" { "overdue" } } }
                                td { (status_text(item.status)) }
                                td {
                                    @match (item.status, item.evaluation_id) {
                                        (AssignmentStatus::Done, Some(e)) => { a href={ "/evaluations/" (e) } { "View" } }
                                        _ => {
                                            form method="post" action={ "/queue/" (item.id) "/start" } {
                                                (csrf_field(&page))
                                                button type="submit" class="small" { @if item.evaluation_id.is_some() { "Continue" } @else { "Start" } }
                                            }
                                        }
                                    }
                                }
                            }
                        } }
                    }
                }
            }
        },
    ))
}

/// Starts (or continues) a queue item's review and opens it.
pub async fn start(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Redirect> {
    Fields::checked(&page, form)?;
    let id: AssignmentId = crate::api::path_id(&raw)?;
    let (evaluation, ..) = state.store.start_assignment(page.viewer.workspace_id, id, page.viewer.user_id).await?;
    Ok(Redirect::to(&format!("/evaluations/{}", evaluation.id)))
}

fn progress_scope(page: &PageAuth) -> PageResult<VendorScope> {
    page.viewer.review_progress_scope().ok_or(PageError::NotFound)
}

/// The plans: all for qa_leads and admins, a vendor lead's plans with their graders.
pub async fn list(State(state): State<AppState>, page: PageAuth) -> PageResult<Markup> {
    let scope = progress_scope(&page)?;
    let ws = page.viewer.workspace_id;
    let plans = state.store.list_review_plans(ws, scope.vendor()).await?;
    let planner = page.viewer.may(Permission::AssignReviews);
    let mut rows = Vec::new();
    for plan in plans {
        let progress = state.store.plan_progress(ws, plan.id, scope.vendor(), now_millis()).await?;
        rows.push((plan, progress));
    }
    Ok(layout(
        &page,
        "Review plans",
        Nav::Plans,
        html! {
            h1 { "Review plans" }
            p class="muted" { "A plan samples conversations at random with a recorded seed, spreads them evenly over its graders (a BPO grader only gets their own vendor's conversations) and puts each in the grader's queue with a due date." }
            @if planner { div class="actions" { a class="button" href="/review-plans/new" { "New plan" } } }
            section {
                @if rows.is_empty() { p class="muted" { "No review plans yet." } }
                @else {
                    table {
                        thead { tr { th { "Plan" } th { "Sample" } th class="num" { "Assigned" } th class="num" { "Done" } th class="num" { "Overdue" } th { "Status" } } }
                        tbody { @for (plan, progress) in &rows { tr {
                            td { a href={ "/review-plans/" (plan.id) } { (plan.name) } }
                            td { (sample_text(plan.sample, plan.period_days)) }
                            td class="num" { (progress.assigned) }
                            td class="num" { (progress.done) }
                            td class="num" { (progress.overdue) }
                            td { @if plan.active { span class="badge scoring" { "active" } } @else { span class="badge cancelled" { "stopped" } } }
                        } } }
                    }
                }
            }
        },
    ))
}

/// What the create form holds, so that a refused form comes back as typed.
#[derive(Default)]
struct Draft {
    name: String,
    scorecard_id: String,
    sample_kind: String,
    sample_value: String,
    period_days: String,
    due_in_days: String,
    vendor_id: String,
    team_id: String,
    channel: String,
    from: String,
    to: String,
    min_csat: String,
    max_csat: String,
    include_reviewed: bool,
    grader_ids: Vec<String>,
    seed: String,
}

impl Draft {
    fn of(fields: &Fields) -> Draft {
        Draft {
            name: fields.text("name"),
            scorecard_id: fields.text("scorecard_id"),
            sample_kind: fields.text("sample_kind"),
            sample_value: fields.text("sample_value"),
            period_days: fields.text("period_days"),
            due_in_days: fields.text("due_in_days"),
            vendor_id: fields.text("vendor_id"),
            team_id: fields.text("team_id"),
            channel: fields.text("channel"),
            from: fields.text("from"),
            to: fields.text("to"),
            min_csat: fields.text("min_csat"),
            max_csat: fields.text("max_csat"),
            include_reviewed: fields.get("include_reviewed").is_some(),
            grader_ids: fields.all("grader_ids").into_iter().map(str::to_string).collect(),
            seed: fields.text("seed"),
        }
    }
}

fn require_planner(page: &PageAuth) -> PageResult<()> {
    if page.viewer.may(Permission::AssignReviews) { Ok(()) } else { Err(PageError::NotFound) }
}

pub async fn new_form(State(state): State<AppState>, page: PageAuth) -> PageResult<Markup> {
    require_planner(&page)?;
    let draft = Draft {
        sample_kind: "percent".into(),
        sample_value: "10".into(),
        period_days: "7".into(),
        due_in_days: "7".into(),
        ..Default::default()
    };
    form(&state, &page, &draft, &[]).await
}

async fn form(state: &AppState, page: &PageAuth, draft: &Draft, errors: &[FieldError]) -> PageResult<Markup> {
    let ws = page.viewer.workspace_id;
    let cards = state.store.list_scorecards(ws).await?;
    let vendors = state.store.list_vendors(ws, VendorScope::All).await?;
    let teams = state.store.list_teams(ws, VendorScope::All).await?;
    let graders: Vec<_> = state
        .store
        .list_users(ws, VendorScope::All, &UserFilter { vendor_id: None, role: None })
        .await?
        .into_iter()
        .filter(|u| u.active && u.role != Role::Agent)
        .collect();
    let vendor_name = |id| vendors.iter().find(|v| v.id == id).map(|v| v.name.clone()).unwrap_or_default();
    let errors_for = |field: &str| {
        html! { @for e in errors.iter().filter(|e| e.field == field || e.field.starts_with(&format!("{field}[")) || e.field.starts_with(&format!("{field}."))) { p class="error" { (e.reason) } } }
    };
    Ok(layout(
        page,
        "New review plan",
        Nav::Plans,
        html! {
            h1 { "New review plan" }
            @if !errors.is_empty() {
                div class="error" role="alert" { p { "The plan was not created:" } ul { @for e in errors { li { code { (e.field) } ": " (e.reason) } } } }
            }
            form method="post" action="/review-plans" {
                (csrf_field(page))
                section {
                    label for="name" { "Name" }
                    input id="name" name="name" type="text" required maxlength="200" value=(draft.name);
                    (errors_for("name"))
                    label for="scorecard_id" { "Scorecard" }
                    select id="scorecard_id" name="scorecard_id" required {
                        @for c in &cards { option value=(c.id) selected[draft.scorecard_id == c.id.to_string()] { (c.name) } }
                    }
                    p class="muted small" { "Each review uses the scorecard's version that is active when the grader starts it." }
                    (errors_for("scorecard_id"))
                }
                section {
                    h2 { "Sample" }
                    div class="grid2" {
                        div { label for="sample_kind" { "Take" }
                            select id="sample_kind" name="sample_kind" {
                                option value="percent" selected[draft.sample_kind == "percent"] { "a percentage of matching conversations" }
                                option value="per_agent" selected[draft.sample_kind == "per_agent"] { "N conversations per agent per period" }
                            } }
                        div { label for="sample_value" { "Percentage, or N" }
                            input id="sample_value" name="sample_value" type="number" step="any" min="0" value=(draft.sample_value);
                            (errors_for("sample")) }
                        div { label for="period_days" { "Period (days)" }
                            input id="period_days" name="period_days" type="number" min="1" max="366" value=(draft.period_days);
                            p class="muted small" { "Per agent per this many days; without dates a draw takes this many days before it." }
                            (errors_for("period_days")) }
                        div { label for="due_in_days" { "Due (days after the draw)" }
                            input id="due_in_days" name="due_in_days" type="number" min="0" max="366" value=(draft.due_in_days);
                            (errors_for("due_in_days")) }
                        div { label for="seed" { "Seed (optional)" }
                            input id="seed" name="seed" type="text" inputmode="numeric" value=(draft.seed);
                            p class="muted small" { "Recorded either way: the same seed and conversations give the same draw." }
                            (errors_for("seed")) }
                    }
                }
                section {
                    h2 { "Conversations" }
                    div class="grid2" {
                        div { label for="vendor_id" { "Vendor" }
                            select id="vendor_id" name="vendor_id" { option value="" { "any" }
                                @for v in &vendors { option value=(v.id) selected[draft.vendor_id == v.id.to_string()] { (v.name) } } } }
                        div { label for="team_id" { "Team" }
                            select id="team_id" name="team_id" { option value="" { "any" }
                                @for t in &teams { option value=(t.id) selected[draft.team_id == t.id.to_string()] { (t.name) " (" (vendor_name(t.vendor_id)) ")" } } } }
                        div { label for="channel" { "Channel" }
                            select id="channel" name="channel" { option value="" { "any" }
                                @for ch in Channel::ALL { option value=(ch.as_str()) selected[draft.channel == ch.as_str()] { (ch.as_str()) } } } }
                        div { label for="from" { "Started from" } input id="from" name="from" type="date" value=(draft.from); }
                        div { label for="to" { "Started until (included)" } input id="to" name="to" type="date" value=(draft.to); }
                        div { label for="min_csat" { "CSAT at least" } input id="min_csat" name="min_csat" type="number" min="1" max="5" value=(draft.min_csat); }
                        div { label for="max_csat" { "CSAT at most" } input id="max_csat" name="max_csat" type="number" min="1" max="5" value=(draft.max_csat); }
                    }
                    (errors_for("filter"))
                    div class="choice" {
                        input type="checkbox" id="include_reviewed" name="include_reviewed" value="1" checked[draft.include_reviewed];
                        label for="include_reviewed" { "Also conversations that already have a review" }
                    }
                }
                section {
                    h2 { "Graders" }
                    p class="muted small" { "The work is spread evenly; a BPO grader only ever gets their own vendor's conversations." }
                    div class="grid2" {
                        @for u in &graders {
                            div class="choice" {
                                input type="checkbox" name="grader_ids" id={ "g-" (u.id) } value=(u.id) checked[draft.grader_ids.contains(&u.id.to_string())];
                                label for={ "g-" (u.id) } { (u.name) " " span class="muted small" { (u.role.to_string()) " · " (vendor_name(u.vendor_id)) } }
                            }
                        }
                    }
                    (errors_for("grader_ids"))
                }
                button type="submit" { "Create plan" }
            }
        },
    ))
}

fn form_id<T: std::str::FromStr>(errors: &mut Vec<FieldError>, field: &str, text: &str) -> Option<T> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let parsed = text.parse().ok();
    if parsed.is_none() {
        errors.push(FieldError::new(field, "choose from the list"));
    }
    parsed
}

fn form_number<T: std::str::FromStr>(errors: &mut Vec<FieldError>, field: &str, text: &str) -> Option<T> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let parsed = text.parse().ok();
    if parsed.is_none() {
        errors.push(FieldError::new(field, format!("{text:?} is not a number")));
    }
    parsed
}

pub async fn create(
    State(state): State<AppState>,
    page: PageAuth,
    form_data: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form_data)?;
    require_planner(&page)?;
    let draft = Draft::of(&fields);
    let mut errors = Vec::new();
    let scorecard_id = form_id(&mut errors, "scorecard_id", &draft.scorecard_id);
    let value: Option<f64> = form_number(&mut errors, "sample", &draft.sample_value);
    let sample = match (draft.sample_kind.as_str(), value) {
        ("per_agent", Some(n)) if n.fract() == 0.0 && n >= 0.0 => PlanSample::PerAgent(n as u32),
        ("per_agent", _) => {
            errors.push(FieldError::new("sample", "N must be a whole number"));
            PlanSample::PerAgent(0)
        }
        (_, v) => PlanSample::Percent(v.unwrap_or(0.0)),
    };
    let filter = PlanFilter {
        vendor_id: form_id(&mut errors, "filter.vendor_id", &draft.vendor_id),
        team_id: form_id(&mut errors, "filter.team_id", &draft.team_id),
        channel: form_id(&mut errors, "filter.channel", &draft.channel),
        from: Some(draft.from.trim().to_string()).filter(|d| !d.is_empty()),
        to: Some(draft.to.trim().to_string()).filter(|d| !d.is_empty()),
        min_csat: form_number(&mut errors, "filter.min_csat", &draft.min_csat),
        max_csat: form_number(&mut errors, "filter.max_csat", &draft.max_csat),
        include_reviewed: draft.include_reviewed,
    };
    let mut grader_ids = Vec::new();
    for (i, id) in draft.grader_ids.iter().enumerate() {
        grader_ids.extend(form_id::<plumbline_domain::UserId>(&mut errors, &format!("grader_ids[{i}]"), id));
    }
    let period_days = form_number(&mut errors, "period_days", &draft.period_days).unwrap_or(7);
    let due_in_days = form_number(&mut errors, "due_in_days", &draft.due_in_days).unwrap_or(7);
    let seed = form_number(&mut errors, "seed", &draft.seed);
    let Some(scorecard_id) = scorecard_id else {
        errors.push(FieldError::new("scorecard_id", "choose a scorecard"));
        return refused(&state, &page, &draft, errors).await;
    };
    if !errors.is_empty() {
        return refused(&state, &page, &draft, errors).await;
    }
    let new = NewReviewPlan {
        name: draft.name.clone(),
        scorecard_id,
        sample,
        period_days,
        filter,
        grader_ids,
        due_in_days,
        seed,
        created_by: page.viewer.user_id,
    };
    match state.store.create_review_plan(page.viewer.workspace_id, new).await {
        Ok(plan) => Ok(Redirect::to(&format!("/review-plans/{}", plan.id)).into_response()),
        Err(plumbline_store::StoreError::Invalid(errors)) => refused(&state, &page, &draft, errors).await,
        Err(e) => Err(e.into()),
    }
}

async fn refused(state: &AppState, page: &PageAuth, draft: &Draft, errors: Vec<FieldError>) -> PageResult<Response> {
    Ok((StatusCode::UNPROCESSABLE_ENTITY, form(state, page, draft, &errors).await?).into_response())
}

#[derive(Deserialize)]
pub struct DetailQuery {
    drawn: Option<u32>,
}

/// A plan: its rule, progress per grader, and its items; "Draw now" and stop/resume for
/// planners. A vendor lead sees their own graders only (404 for a plan without them).
pub async fn detail(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    Query(q): Query<DetailQuery>,
) -> PageResult<Markup> {
    let scope = progress_scope(&page)?;
    let ws = page.viewer.workspace_id;
    let id: PlanId = crate::api::path_id(&raw)?;
    if let VendorScope::Only(vendor) = scope
        && !state.store.list_review_plans(ws, Some(vendor)).await?.iter().any(|p| p.id == id)
    {
        return Err(PageError::NotFound);
    }
    let plan: ReviewPlan =
        crate::api::review_plans::plan_for(&state, &page.viewer, state.store.get_review_plan(ws, id).await?).await?;
    let now = now_millis();
    let progress = state.store.plan_progress(ws, id, scope.vendor(), now).await?;
    let items = crate::api::review_plans::plan_items(&state, &page.viewer, id, scope.vendor()).await?;
    let hidden = items.iter().filter(|i| i.hidden_calibration_id.is_some()).count();
    let planner = page.viewer.may(Permission::AssignReviews);
    let card = state.store.get_scorecard(ws, plan.scorecard_id).await.map(|c| c.name).unwrap_or_default();
    let pct = |n: usize| if progress.assigned == 0 { 0.0 } else { 100.0 * n as f64 / progress.assigned as f64 };
    Ok(layout(
        &page,
        &plan.name,
        Nav::Plans,
        html! {
            p { a href="/review-plans" { "All review plans" } }
            h1 { (plan.name) }
            @if let Some(n) = q.drawn { p class="notice" role="status" { "Drawn: " (n) " reviews were given out." } }
            p {
                (sample_text(plan.sample, plan.period_days)) " · scorecard " (card) " · due " (plan.due_in_days) " days after each draw · seed " code { (plan.seed) }
                @if !plan.active { " · " span class="badge cancelled" { "stopped" } }
            }
            @if planner {
                div class="actions" {
                    @if plan.active {
                        form method="post" action={ "/review-plans/" (plan.id) "/draws" } { (csrf_field(&page)) button type="submit" { "Draw now" } }
                    }
                    form method="post" action={ "/review-plans/" (plan.id) "/active" } {
                        (csrf_field(&page))
                        input type="hidden" name="active" value=(if plan.active { "0" } else { "1" });
                        button type="submit" class="secondary" { @if plan.active { "Stop the plan" } @else { "Resume the plan" } }
                    }
                }
            }
            section {
                h2 { "Progress" }
                p { (progress.done) " of " (progress.assigned) " done · " (progress.in_progress) " in progress · " (progress.overdue) " overdue" }
                @if hidden > 0 {
                    p class="muted small" { "Not counted here: " (hidden) " hidden calibration " (if hidden == 1 { "task" } else { "tasks" }) " in the graders' queues (marked below). Their graders see ordinary items; the scores go to the session." }
                }
                @if progress.assigned > 0 {
                    svg class="dist" role="img" width="420" height="18" viewBox="0 0 420 18" {
                        title { (progress.done) " done, " (progress.in_progress) " in progress, " (progress.assigned - progress.done - progress.in_progress) " not started" }
                        rect x="0" y="2" width=(4.2 * pct(progress.done)) height="14" fill="#1f3a5f" {}
                        rect x=(4.2 * pct(progress.done)) y="2" width=(4.2 * pct(progress.in_progress)) height="14" fill="#8aa4c8" {}
                        rect x=(4.2 * (pct(progress.done) + pct(progress.in_progress))) y="2" width=(4.2 * (100.0 - pct(progress.done) - pct(progress.in_progress))) height="14" fill="#e3e8ef" {}
                    }
                }
                table {
                    thead { tr { th { "Grader" } th class="num" { "Assigned" } th class="num" { "In progress" } th class="num" { "Done" } th class="num" { "Overdue" } } }
                    tbody { @for g in &progress.graders { tr {
                        td { (g.name) } td class="num" { (g.assigned) } td class="num" { (g.in_progress) } td class="num" { (g.done) }
                        td class="num" { (g.overdue) }
                    } } }
                }
            }
            section {
                h2 { "Items" }
                @if items.is_empty() { p class="muted" { "Nothing drawn yet." } }
                @else {
                    table {
                        thead { tr { th { "Conversation" } th { "Grader" } th { "Draw" } th { "Due" } th { "Status" } } }
                        tbody { @for PlanItem { item, hidden_calibration_id } in &items { tr {
                            td { (item.conversation_external_id) }
                            td { (item.grader_name) }
                            td class="num" {
                                @if let Some(session) = hidden_calibration_id {
                                    a href={ "/calibrations/" (session) } { span class="badge scoring" { "hidden calibration" } }
                                } @else { (item.draw_number + 1) }
                            }
                            td { (date(item.due_at)) @if item.status != AssignmentStatus::Done && item.due_at < now { " " span class="badge critical" { "overdue" } } }
                            td { (status_text(item.status)) @if let Some(at) = item.submitted_at { " " span class="muted small" { (datetime(at)) } } }
                        } } }
                    }
                }
            }
        },
    ))
}

/// Draws the plan's next sample (planners).
pub async fn draw(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Redirect> {
    Fields::checked(&page, form)?;
    require_planner(&page)?;
    let id: PlanId = crate::api::path_id(&raw)?;
    let drawn = state.store.draw_review_plan(page.viewer.workspace_id, id, now_millis()).await?;
    Ok(Redirect::to(&format!("/review-plans/{id}?drawn={}", drawn.assignments.len())))
}

/// Stops or resumes a plan (planners).
pub async fn set_active(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Redirect> {
    let fields = Fields::checked(&page, form)?;
    require_planner(&page)?;
    let id: PlanId = crate::api::path_id(&raw)?;
    state.store.set_review_plan_active(page.viewer.workspace_id, id, fields.get("active") == Some("1")).await?;
    Ok(Redirect::to(&format!("/review-plans/{id}")))
}
