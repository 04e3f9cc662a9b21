//! Grade-the-grader pages: programs (list, create with the adaptive rule explained, draw) for
//! qa_leads and admins; the audits a viewer may see (re-grades to do, completed audits of their
//! own reviews); an audit's side-by-side comparison after submission with appeals and their
//! decisions; the grader-QA report (alignment per grader over time with its interval, strictest
//! and most lenient, option confusion, internal vs BPO) and the grading-habits report.
//! Access is the API's (`api::grader_qa::audit_access`, `blind`, `visibility`).

use super::ui::{date, percent, score};
use super::{Fields, Nav, PageError, PageResult, csrf_field, layout};
use crate::AppState;
use crate::api::grader_qa::{audit_access, blind, build_report, visibility};
use crate::extract::PageAuth;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use plumbline_domain::access::{Permission, VendorScope};
use plumbline_domain::grader_qa::{AdaptiveRule, AuditFilter, GraderAlignment, MonthPoint, Sample};
use plumbline_domain::org::Role;
use plumbline_domain::scorecard::FieldError;
use plumbline_domain::{AppealId, ProgramId, UserId};
use plumbline_store::{AppealDecision, AppealStatus, AuditStatus, NewProgram, UserFilter};
use serde::Deserialize;
use std::collections::HashMap;

fn require_calibrator(page: &PageAuth) -> PageResult<()> {
    if page.viewer.may(Permission::Calibrate) { Ok(()) } else { Err(PageError::NotFound) }
}

async fn user_names(state: &AppState, page: &PageAuth) -> PageResult<HashMap<UserId, String>> {
    let scope = if page.viewer.may(Permission::Calibrate) { VendorScope::All } else { page.viewer.vendor_scope() };
    let users =
        state.store.list_users(page.viewer.workspace_id, scope, &UserFilter { vendor_id: None, role: None }).await?;
    Ok(users.into_iter().map(|u| (u.id, u.name)).collect())
}

#[derive(Deserialize)]
pub struct Notice {
    drawn: Option<usize>,
}

/// Programs (calibrators) and the audits the viewer may see.
pub async fn overview(
    State(state): State<AppState>,
    page: PageAuth,
    Query(notice): Query<Notice>,
) -> PageResult<Markup> {
    if !page.viewer.may(Permission::Evaluate) {
        return Err(PageError::NotFound);
    }
    let ws = page.viewer.workspace_id;
    let calibrator = page.viewer.may(Permission::Calibrate);
    let programs = if calibrator { state.store.list_programs(ws).await? } else { Vec::new() };
    let mut audits = state.store.list_audits(ws, visibility(&page.viewer)).await?;
    for audit in &mut audits {
        blind(audit, &page.viewer);
    }
    let names = user_names(&state, &page).await?;
    let name = |id: &UserId| names.get(id).cloned().unwrap_or_else(|| "–".into());
    let me = page.viewer.user_id;
    let (todo, others): (Vec<_>, Vec<_>) =
        audits.iter().partition(|a| a.status == AuditStatus::Assigned && a.benchmark_id == me);
    Ok(layout(
        &page,
        "Grade the grader",
        Nav::GraderQa,
        html! {
            h1 { "Grade the grader" }
            @if let Some(n) = notice.drawn { p class="notice" role="status" { "Drawn: " (n) " reviews go to benchmark graders for a blind re-grade." } }
            p class="muted" { "A sample of submitted reviews is re-graded blind by a benchmark grader; the alignment of the original with the re-grade shows how graders score every day. "
                @if page.viewer.may(Permission::ReadReports) { a href="/reports/grader-qa" { "The grader-QA report" } } }
            @if calibrator {
                section {
                    h2 { "Programs" }
                    div class="actions" { a class="button" href="/grader-qa/programs/new" { "New program" } }
                    @if programs.is_empty() { p class="muted" { "No programs yet." } }
                    @else {
                        table {
                            thead { tr { th { "Program" } th { "Sample" } th { "Every" } th { "Benchmarks" } th { "Adaptive rule" } th { span class="sr-only" { "Draw" } } } }
                            tbody { @for p in &programs { tr {
                                td { (p.name) @if !p.active { " " span class="badge cancelled" { "stopped" } } }
                                td { @match p.sample { Sample::Percent(x) => { (x) "% of reviews" } Sample::PerGrader(n) => { (n) " per grader" } } }
                                td { (p.period_days) " days" }
                                td { (p.benchmark_ids.iter().map(&name).collect::<Vec<_>>().join(", ")) }
                                td class="small" { (p.adaptive_rule.clone().unwrap_or_else(|| "none".into())) }
                                td { @if p.active {
                                    form method="post" action={ "/grader-qa/programs/" (p.id) "/draws" } { (csrf_field(&page)) button type="submit" class="small" { "Draw now" } }
                                } }
                            } } }
                        }
                    }
                }
            }
            section {
                h2 { "Your re-grades to do" }
                @if todo.is_empty() { p class="muted" { "No blind re-grades waiting for you." } }
                @else { ul { @for a in &todo { li {
                    a href={ "/evaluations/" (a.audit_evaluation_id) } { "Re-grade blind" } " · assigned " (date(a.created_at)) " · "
                    a href={ "/grader-qa/audits/" (a.id) } { "audit" }
                } } } }
            }
            section {
                h2 { "Audits" }
                @if others.is_empty() { p class="muted" { "No audits to show." } }
                @else {
                    table {
                        thead { tr { th { "Audit" } th { "Grader" } th { "Benchmark" } th { "Status" } th class="num" { "Alignment" } th class="num" { "Score delta" } } }
                        tbody { @for a in &others { tr {
                            td { a href={ "/grader-qa/audits/" (a.id) } { (date(a.created_at)) } }
                            td { (name(&a.original_reviewer_id)) }
                            td { (name(&a.benchmark_id)) }
                            td { @if a.status == AuditStatus::Completed { "completed" } @else { "waiting for the re-grade" } }
                            td class="num" { (percent(a.alignment)) }
                            td class="num" { (score(a.score_delta)) }
                        } } }
                    }
                }
            }
        },
    ))
}

#[derive(Default)]
struct Draft {
    name: String,
    sample_kind: String,
    sample_value: String,
    period_days: String,
    benchmark_ids: Vec<String>,
    hide_agent_name: bool,
    adaptive: bool,
    alignment_below: String,
    min_audits: String,
    factor: String,
    budget: String,
    seed: String,
}

impl Draft {
    fn of(fields: &Fields) -> Draft {
        Draft {
            name: fields.text("name"),
            sample_kind: fields.text("sample_kind"),
            sample_value: fields.text("sample_value"),
            period_days: fields.text("period_days"),
            benchmark_ids: fields.all("benchmark_ids").into_iter().map(str::to_string).collect(),
            hide_agent_name: fields.get("hide_agent_name").is_some(),
            adaptive: fields.get("adaptive").is_some(),
            alignment_below: fields.text("alignment_below"),
            min_audits: fields.text("min_audits"),
            factor: fields.text("factor"),
            budget: fields.text("budget"),
            seed: fields.text("seed"),
        }
    }
}

pub async fn new_program(State(state): State<AppState>, page: PageAuth) -> PageResult<Markup> {
    require_calibrator(&page)?;
    let draft = Draft {
        sample_kind: "per_grader".into(),
        sample_value: "3".into(),
        period_days: "7".into(),
        alignment_below: "85".into(),
        min_audits: "5".into(),
        factor: "2".into(),
        budget: "50".into(),
        ..Default::default()
    };
    program_form(&state, &page, &draft, &[]).await
}

async fn program_form(state: &AppState, page: &PageAuth, draft: &Draft, errors: &[FieldError]) -> PageResult<Markup> {
    let ws = page.viewer.workspace_id;
    let users: Vec<_> = state
        .store
        .list_users(ws, VendorScope::All, &UserFilter { vendor_id: None, role: None })
        .await?
        .into_iter()
        .filter(|u| u.active && u.role != Role::Agent)
        .collect();
    let example = AdaptiveRule { alignment_below: 0.85, min_audits: 5, factor: 2, budget: 50 };
    Ok(layout(
        page,
        "New grade-the-grader program",
        Nav::GraderQa,
        html! {
            p { a href="/grader-qa" { "Grade the grader" } }
            h1 { "New grade-the-grader program" }
            @if !errors.is_empty() {
                div class="error" role="alert" { p { "The program was not created:" } ul { @for e in errors { li { code { (e.field) } ": " (e.reason) } } } }
            }
            form method="post" action="/grader-qa/programs" {
                (csrf_field(page))
                section {
                    label for="name" { "Name" }
                    input id="name" name="name" type="text" required maxlength="200" value=(draft.name);
                    div class="grid2" {
                        div { label for="sample_kind" { "Sample" }
                            select id="sample_kind" name="sample_kind" {
                                option value="per_grader" selected[draft.sample_kind == "per_grader"] { "N reviews per grader" }
                                option value="percent" selected[draft.sample_kind == "percent"] { "a percentage of reviews" }
                            } }
                        div { label for="sample_value" { "N, or percentage" }
                            input id="sample_value" name="sample_value" type="number" step="any" min="0" value=(draft.sample_value); }
                        div { label for="period_days" { "Every (days)" }
                            input id="period_days" name="period_days" type="number" min="1" max="366" value=(draft.period_days);
                            p class="muted small" { "A draw takes reviews submitted in this many days before it." } }
                        div { label for="seed" { "Seed (optional)" }
                            input id="seed" name="seed" type="text" inputmode="numeric" value=(draft.seed);
                            p class="muted small" { "Each draw's seed is recorded, so the same reviews and seed give the same sample." } }
                    }
                    div class="choice" {
                        input type="checkbox" id="hide_agent_name" name="hide_agent_name" value="1" checked[draft.hide_agent_name];
                        label for="hide_agent_name" { "Hide the agent's name from the benchmark grader" }
                    }
                }
                section {
                    h2 { "Benchmark graders" }
                    p class="muted small" { "Each drawn review goes to the least loaded benchmark grader who is not its own grader; they re-grade it blind (the original answers, score and comments hidden)." }
                    div class="grid2" {
                        @for u in &users {
                            div class="choice" {
                                input type="checkbox" name="benchmark_ids" id={ "b-" (u.id) } value=(u.id) checked[draft.benchmark_ids.contains(&u.id.to_string())];
                                label for={ "b-" (u.id) } { (u.name) " " span class="muted small" { (u.role.to_string()) } }
                            }
                        }
                    }
                }
                section {
                    h2 { "Adaptive sampling" }
                    div class="choice" {
                        input type="checkbox" id="adaptive" name="adaptive" value="1" checked[draft.adaptive];
                        label for="adaptive" { "Sample graders with low or uncertain alignment more often" }
                    }
                    p class="small" { "How it works, for example: " (example.explain()) " A grader with few audits has a wide interval, so they are sampled more until it narrows." }
                    div class="grid2" {
                        div { label for="alignment_below" { "Alignment below (%)" } input id="alignment_below" name="alignment_below" type="number" min="0" max="100" value=(draft.alignment_below); }
                        div { label for="min_audits" { "Fewer completed audits than" } input id="min_audits" name="min_audits" type="number" min="0" value=(draft.min_audits); }
                        div { label for="factor" { "Sample them this many times as often" } input id="factor" name="factor" type="number" min="1" value=(draft.factor); }
                        div { label for="budget" { "At most this many reviews per draw" } input id="budget" name="budget" type="number" min="1" value=(draft.budget); }
                    }
                }
                button type="submit" { "Create program" }
            }
        },
    ))
}

fn number<T: std::str::FromStr>(errors: &mut Vec<FieldError>, field: &str, text: &str, default: T) -> T {
    match text.trim() {
        "" => default,
        t => t.parse().unwrap_or_else(|_| {
            errors.push(FieldError::new(field, format!("{t:?} is not a number")));
            default
        }),
    }
}

pub async fn create_program(
    State(state): State<AppState>,
    page: PageAuth,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    require_calibrator(&page)?;
    let draft = Draft::of(&fields);
    let mut errors = Vec::new();
    let value: f64 = number(&mut errors, "sample", &draft.sample_value, 0.0);
    let sample =
        if draft.sample_kind == "percent" { Sample::Percent(value) } else { Sample::PerGrader(value.max(0.0) as u32) };
    let adaptive = draft.adaptive.then(|| AdaptiveRule {
        alignment_below: number(&mut errors, "adaptive.alignment_below", &draft.alignment_below, 85.0) / 100.0,
        min_audits: number(&mut errors, "adaptive.min_audits", &draft.min_audits, 5),
        factor: number(&mut errors, "adaptive.factor", &draft.factor, 2),
        budget: number(&mut errors, "adaptive.budget", &draft.budget, 50),
    });
    let mut benchmark_ids = Vec::new();
    for (i, id) in draft.benchmark_ids.iter().enumerate() {
        match id.parse() {
            Ok(id) => benchmark_ids.push(id),
            Err(_) => errors.push(FieldError::new(format!("benchmark_ids[{i}]"), "choose from the list")),
        }
    }
    let period_days = number(&mut errors, "period_days", &draft.period_days, 7);
    let seed = match draft.seed.trim() {
        "" => None,
        t => Some(number(&mut errors, "seed", t, 0u64)),
    };
    if !errors.is_empty() {
        return Ok(
            (StatusCode::UNPROCESSABLE_ENTITY, program_form(&state, &page, &draft, &errors).await?).into_response()
        );
    }
    let new = NewProgram {
        name: draft.name.clone(),
        sample,
        period_days,
        filter: AuditFilter::default(),
        benchmark_ids,
        hide_agent_name: draft.hide_agent_name,
        adaptive,
        seed,
        created_by: page.viewer.user_id,
    };
    match state.store.create_program(page.viewer.workspace_id, new).await {
        Ok(_) => Ok(Redirect::to("/grader-qa").into_response()),
        Err(plumbline_store::StoreError::Invalid(errors)) => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, program_form(&state, &page, &draft, &errors).await?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn draw(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Redirect> {
    Fields::checked(&page, form)?;
    require_calibrator(&page)?;
    let id: ProgramId = crate::api::path_id(&raw)?;
    let drawn = state.store.draw_audits(page.viewer.workspace_id, id).await?;
    Ok(Redirect::to(&format!("/grader-qa?drawn={}", drawn.audits.len())))
}

/// An audit: the benchmark's own re-grade while it is open; after submission the side by side
/// per criterion with alignment, the appeals, and the forms to appeal or decide.
pub async fn audit(State(state): State<AppState>, page: PageAuth, Path(raw): Path<String>) -> PageResult<Markup> {
    let viewer = &page.viewer;
    let ws = viewer.workspace_id;
    let (mut audit, sees_all) = audit_access(&state, viewer, &raw).await?;
    let benchmark = state.store.get_evaluation(ws, audit.audit_evaluation_id).await?.0;
    let original = if sees_all { Some(state.store.get_evaluation(ws, audit.original_id).await?.0) } else { None };
    let appeals = state.store.audit_appeals(audit.id).await?;
    let version = state.store.get_version(ws, benchmark.scorecard_version_id).await?;
    let definition = &version.definition;
    let names = user_names(&state, &page).await?;
    let name = |id: &UserId| names.get(id).cloned().unwrap_or_else(|| "–".into());
    blind(&mut audit, viewer);
    let completed = audit.status == AuditStatus::Completed;
    let is_original = audit.original_reviewer_id == viewer.user_id;
    let decides = audit.benchmark_id == viewer.user_id || viewer.may(Permission::Calibrate);
    let title = |id| definition.criterion(id).map(|c| c.title.clone()).unwrap_or_else(|| "(criterion)".into());
    let answer = |answers: &[plumbline_domain::evaluation::Answer], id| {
        let criterion = definition.criterion(id)?;
        answers.iter().find(|a| a.criterion_id == id).map(|a| super::ui::choice_text(criterion, a.choice))
    };
    let comment = |answers: &[plumbline_domain::evaluation::Answer], id| {
        answers.iter().find(|a| a.criterion_id == id).map(|a| a.comment.clone()).unwrap_or_default()
    };
    Ok(layout(
        &page,
        "Audit",
        Nav::GraderQa,
        html! {
            p { a href="/grader-qa" { "Grade the grader" } }
            h1 { "Audit of a review" }
            p {
                "Benchmark: " (name(&audit.benchmark_id))
                @if sees_all { " · original grader: " (name(&audit.original_reviewer_id)) }
                " · assigned " (date(audit.created_at))
                @if let Some(at) = audit.completed_at { " · completed " (date(at)) }
            }
            @if !completed {
                @if audit.benchmark_id == viewer.user_id {
                    p { "Re-grade the conversation blind: the original review stays hidden until you submit. "
                        a class="button" href={ "/evaluations/" (audit.audit_evaluation_id) } { "Open your re-grade" } }
                } @else { p class="muted" { "Waiting for the benchmark grader's blind re-grade." } }
            }
            @if completed && sees_all {
                section {
                    h2 { "Side by side" }
                    p { "Alignment " strong { (percent(audit.alignment)) } " · score delta (original − benchmark) " (score(audit.score_delta))
                        " · N/A disagreements " (audit.na_disagreements.unwrap_or(0)) " · critical disagreements " (audit.critical_disagreements.unwrap_or(0)) }
                    table {
                        thead { tr { th { "Criterion" } th { "Original" } th { "Benchmark" } th class="num" { "Alignment" } } }
                        tbody { @for c in &audit.criteria { tr {
                            td { (title(c.criterion_id))
                                @if c.critical_disagreement { " " span class="badge critical" { "critical disagreement" } }
                                @if c.na_disagreement { " " span class="badge" { "N/A disagreement" } } }
                            td { (original.as_ref().and_then(|o| answer(&o.answers, c.criterion_id)).unwrap_or_else(|| "–".into()))
                                @let text = original.as_ref().map(|o| comment(&o.answers, c.criterion_id)).unwrap_or_default();
                                @if !text.is_empty() { br; span class="small muted" { (text) } } }
                            td { (answer(&benchmark.answers, c.criterion_id).unwrap_or_else(|| "–".into()))
                                @let text = comment(&benchmark.answers, c.criterion_id);
                                @if !text.is_empty() { br; span class="small muted" { (text) } } }
                            td class="num" { (percent(Some(c.alignment))) }
                        } } }
                    }
                    div class="grid2" {
                        div { h3 { "Original feedback" } p { (original.as_ref().map(|o| o.overall_feedback.clone()).unwrap_or_default()) } }
                        div { h3 { "Benchmark feedback" } p { (benchmark.overall_feedback) } }
                    }
                }
            }
            @if completed {
                section {
                    h2 { "Appeals" }
                    @if appeals.is_empty() { p class="muted" { "No appeals." } }
                    @for a in &appeals {
                        div class="card" {
                            p { strong { (title(a.criterion_id)) } " · " (date(a.created_at)) " · "
                                @match a.status { AppealStatus::Open => { span class="badge discussion" { "open" } } AppealStatus::Accepted => { span class="badge submitted" { "accepted" } } AppealStatus::Rejected => { span class="badge cancelled" { "rejected" } } } }
                            p { (a.reason) }
                            @if let Some(note) = &a.decision_note { @if !note.is_empty() { p class="small" { "Decision: " (note) } } }
                            @if a.status != AppealStatus::Open { p class="small muted" { "Alignment " (percent(a.alignment_before)) " → " (percent(a.alignment_after)) } }
                            @if a.status == AppealStatus::Open && decides {
                                form method="post" action={ "/grader-qa/appeals/" (a.id) "/decision" } {
                                    (csrf_field(&page))
                                    input type="hidden" name="audit" value=(audit.id);
                                    label for={ "note-" (a.id) } { "Note" }
                                    textarea id={ "note-" (a.id) } name="note" rows="2" {}
                                    button type="submit" name="accept" value="1" { "Accept: take the original answer" }
                                    button type="submit" name="accept" value="0" class="secondary" { "Reject" }
                                }
                            }
                        }
                    }
                    @if is_original {
                        h3 { "Appeal a criterion" }
                        form method="post" action={ "/grader-qa/audits/" (audit.id) "/appeals" } {
                            (csrf_field(&page))
                            label for="criterion_id" { "Criterion" }
                            select id="criterion_id" name="criterion_id" { @for c in &audit.criteria { option value=(c.criterion_id) { (title(c.criterion_id)) } } }
                            label for="reason" { "Why your answer was right" }
                            textarea id="reason" name="reason" rows="3" required {}
                            button type="submit" { "Appeal" }
                        }
                    }
                }
            }
        },
    ))
}

pub async fn appeal(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Redirect> {
    let fields = Fields::checked(&page, form)?;
    let (audit, _) = audit_access(&state, &page.viewer, &raw).await?;
    let criterion = fields
        .text("criterion_id")
        .parse()
        .map_err(|_| PageError::from(crate::error::ApiError::field("criterion_id", "choose a criterion")))?;
    state
        .store
        .appeal(page.viewer.workspace_id, audit.id, criterion, &fields.text("reason"), page.viewer.user_id)
        .await?;
    Ok(Redirect::to(&format!("/grader-qa/audits/{}", audit.id)))
}

pub async fn decide(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Redirect> {
    let fields = Fields::checked(&page, form)?;
    let id: AppealId = crate::api::path_id(&raw)?;
    let policy = page.viewer.scoring;
    let decision = AppealDecision {
        accept: fields.get("accept") == Some("1"),
        note: &fields.text("note"),
        by: page.viewer.user_id,
        may_overrule: page.viewer.may(Permission::Calibrate),
    };
    let appeal = state.store.decide_appeal(page.viewer.workspace_id, id, decision, policy).await?;
    Ok(Redirect::to(&format!("/grader-qa/audits/{}", appeal.audit_id)))
}

#[derive(Deserialize)]
pub struct Period {
    from: Option<String>,
    to: Option<String>,
}

fn period(q: &Period) -> PageResult<(Option<i64>, Option<i64>)> {
    Ok((crate::api::parse_time("from", &q.from)?, crate::api::parse_time("to", &q.to)?))
}

fn period_form(action: &str, q: &Period) -> Markup {
    html! {
        form method="get" action=(action) class="actions" {
            label class="inline" for="from" { "From" } input id="from" name="from" type="date" value=(q.from.clone().unwrap_or_default());
            label class="inline" for="to" { "Before" } input id="to" name="to" type="date" value=(q.to.clone().unwrap_or_default());
            button type="submit" class="secondary" { "Show" }
        }
    }
}

/// Monthly alignment with the grader's 95% interval as a band (0..100%).
fn alignment_chart(grader: &GraderAlignment) -> Markup {
    let points: Vec<&MonthPoint> = grader.trend.iter().filter(|p| p.mean_alignment.is_some()).collect();
    let (w, h) = (160.0, 40.0);
    let y = |a: f64| h - 3.0 - (h - 6.0) * a.clamp(0.0, 1.0);
    let step = if points.len() > 1 { w / (points.len() - 1) as f64 } else { 0.0 };
    let coords: Vec<(f64, f64)> =
        points.iter().enumerate().map(|(i, p)| (i as f64 * step, y(p.mean_alignment.unwrap_or(0.0)))).collect();
    let line = coords.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
    let description = points
        .iter()
        .map(|p| format!("{} {:.0}%", p.month, p.mean_alignment.unwrap_or(0.0) * 100.0))
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        svg class="spark" role="img" width=(w + 4.0) height=(h) viewBox={ "-2 0 " (w + 4.0) " " (h) } {
            title { "Monthly alignment of " (grader.name) ": " (description) }
            @if let Some([low, high]) = grader.alignment_ci95 {
                rect x="-2" y=(y(high)) width=(w + 4.0) height=((y(low) - y(high)).max(1.0)) fill="#e3e8ef" {}
            }
            @if coords.len() > 1 { polyline points=(line) fill="none" stroke="#1f3a5f" stroke-width="1.5" {} }
            @for (x, y) in &coords { circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="2" fill="#1f3a5f" {} }
        }
    }
}

/// Signed leniency as a bar from the middle: right is lenient, left strict (±25 points).
fn leniency_bar(delta: Option<f64>) -> Markup {
    let (w, h) = (120.0, 14.0);
    let d = delta.unwrap_or(0.0).clamp(-25.0, 25.0);
    let x = w / 2.0 + (w / 2.0) * d.min(0.0) / 25.0;
    let width = (w / 2.0) * d.abs() / 25.0;
    html! {
        @if let Some(v) = delta {
            svg class="spark" role="img" width=(w) height=(h) viewBox={ "0 0 " (w) " " (h) } {
                title { (format!("{v:+.1}")) " points against the benchmark" }
                line x1=(w / 2.0) y1="0" x2=(w / 2.0) y2=(h) stroke="#5b6472" {}
                rect x=(x) y="3" width=(width.max(1.0)) height=(h - 6.0) fill=(if v >= 0.0 { "#7a5b00" } else { "#1a4f8b" }) {}
            }
        }
    }
}

/// The grader-QA report page.
pub async fn report(State(state): State<AppState>, page: PageAuth, Query(q): Query<Period>) -> PageResult<Markup> {
    if !page.viewer.may(Permission::ReadReports) {
        return Err(PageError::NotFound);
    }
    let (from, to) = period(&q)?;
    let report = build_report(&state, &page.viewer, from, to).await?;
    let grader = |id: &UserId| report.graders.iter().find(|g| g.user_id == *id);
    let csv = format!(
        "/api/v1/reports/grader-qa?format=csv{}{}",
        q.from.as_deref().map(|f| format!("&from={f}")).unwrap_or_default(),
        q.to.as_deref().map(|t| format!("&to={t}")).unwrap_or_default()
    );
    Ok(layout(
        &page,
        "Grader QA",
        Nav::Reports,
        html! {
            h1 { "Grader QA" }
            p class="muted" { "Blind re-grades by benchmark graders (" a href="/grader-qa" { "grade the grader" } "), compared with the original reviews. "
                a href="/reports/grading-habits" { "Grading habits" } }
            (period_form("/reports/grader-qa", &q))
            section {
                h2 { "Alignment per grader" }
                p class="small muted" { "MaestroQA alignment of each original review with its re-grade, with a 95% interval (the band) and the monthly trend; leniency is original − benchmark score, adjusted for how hard each conversation was. " a href=(csv) { "CSV" } }
                @if report.graders.is_empty() { p class="muted" { "No completed audits in this period." } }
                @else {
                    table {
                        thead { tr { th { "Grader" } th { "Vendor" } th class="num" { "Audits" } th class="num" { "Alignment" } th { "95% interval" } th { "Over time" } th class="num" { "Leniency" } th { "" } th { "Verdict" } } }
                        tbody { @for g in &report.graders { tr {
                            td { (g.name) } td { (g.vendor_name) @if !g.internal { " " span class="badge" { "BPO" } } }
                            td class="num" { (g.audits) }
                            td class="num" { (percent(g.mean_alignment)) }
                            td { @if let Some([l, h]) = g.alignment_ci95 { (percent(Some(l))) " – " (percent(Some(h))) } @else { span class="muted" { "needs 2 audits" } } }
                            td { (alignment_chart(g)) }
                            td class="num" { (g.adjusted_delta.map(|d| format!("{d:+.1}")).unwrap_or_else(|| "–".into())) }
                            td { (leniency_bar(g.adjusted_delta)) }
                            td class="small" { (g.leniency_verdict.replace('_', " ")) }
                        } } }
                    }
                }
            }
            div class="grid2" {
                section {
                    h2 { "Most lenient" }
                    @if report.most_lenient.is_empty() { p class="muted" { "Nobody is clearly more lenient than the benchmark." } }
                    ol { @for id in &report.most_lenient { @if let Some(g) = grader(id) { li { (g.name) " " span class="muted" { (g.adjusted_delta.map(|d| format!("{d:+.1}")).unwrap_or_default()) } } } } }
                }
                section {
                    h2 { "Strictest" }
                    @if report.strictest.is_empty() { p class="muted" { "Nobody is clearly stricter than the benchmark." } }
                    ol { @for id in &report.strictest { @if let Some(g) = grader(id) { li { (g.name) " " span class="muted" { (g.adjusted_delta.map(|d| format!("{d:+.1}")).unwrap_or_default()) } } } } }
                }
            }
            section {
                h2 { "Internal graders and each BPO" }
                table {
                    thead { tr { th { "Vendor" } th class="num" { "Graders" } th class="num" { "Audits" } th class="num" { "Alignment" } th class="num" { "Mean score delta" } } }
                    tbody { @for v in &report.vendors { tr {
                        td { (v.name) @if v.internal { " " span class="badge" { "internal" } } }
                        td class="num" { (v.graders) } td class="num" { (v.audits) } td class="num" { (percent(v.mean_alignment)) }
                        td class="num" { (v.mean_delta.map(|d| format!("{d:+.1}")).unwrap_or_else(|| "–".into())) }
                    } } }
                }
            }
            section {
                h2 { "Which options get confused" }
                @for c in &report.criteria {
                    h3 { (c.title) " " span class="muted small" { "agreement " (percent(c.agreement)) } }
                    table {
                        thead { tr { th { "Original chose" } th { "Benchmark chose" } th class="num" { "Times" } } }
                        tbody { @for cell in c.cells.iter().take(8) { tr {
                            td { (cell.original) } td { (cell.benchmark) @if cell.original == cell.benchmark { " " span class="muted small" { "(agreed)" } } }
                            td class="num" { (cell.count) }
                        } } }
                    }
                }
            }
        },
    ))
}

/// The grading-habits report page: time per review and copied feedback per grader.
pub async fn habits(State(state): State<AppState>, page: PageAuth, Query(q): Query<Period>) -> PageResult<Markup> {
    if !page.viewer.may(Permission::ReadReports) {
        return Err(PageError::NotFound);
    }
    let (from, to) = period(&q)?;
    let report = crate::api::habits::habits_report(&state, &page.viewer, from, to).await?;
    let csv = format!(
        "/api/v1/reports/grading-habits?format=csv{}{}",
        q.from.as_deref().map(|f| format!("&from={f}")).unwrap_or_default(),
        q.to.as_deref().map(|t| format!("&to={t}")).unwrap_or_default()
    );
    let max_minutes = report.graders.iter().filter_map(|g| g.median_active_minutes).fold(1.0_f64, f64::max);
    Ok(layout(
        &page,
        "Grading habits",
        Nav::Reports,
        html! {
            h1 { "Grading habits" }
            p class="muted" { "Coach graders toward efficient grading and personal feedback. " a href="/reports/grader-qa" { "Grader QA" } }
            (period_form("/reports/grading-habits", &q))
            section {
                p class="small" { strong { "Active time. " } (report.active_time_rule) }
                p class="small" { strong { "Copied feedback. " } (report.copied_rule) }
                p class="small" { a href=(csv) { "CSV" } }
                @if report.graders.is_empty() { p class="muted" { "No submitted reviews in this period." } }
                @else {
                    table {
                        thead { tr { th { "Grader" } th { "Vendor" } th class="num" { "Reviews" } th class="num" { "Timed" } th class="num" { "Median minutes" } th { "" } th class="num" { "Mean minutes" } th class="num" { "Copied feedback" } th { "" } } }
                        tbody { @for g in &report.graders { tr {
                            td { (g.name) } td { (g.vendor_name) @if !g.internal { " " span class="badge" { "BPO" } } }
                            td class="num" { (g.reviews) } td class="num" { (g.timed_reviews) }
                            td class="num" { (g.median_active_minutes.map(|m| format!("{m:.1}")).unwrap_or_else(|| "–".into())) }
                            td { @if let Some(m) = g.median_active_minutes {
                                svg class="spark" role="img" width="100" height="12" viewBox="0 0 100 12" {
                                    title { (format!("{m:.1}")) " minutes per review (median)" }
                                    rect x="0" y="2" width=((100.0 * m / max_minutes).max(1.0)) height="8" fill="#8aa4c8" {}
                                }
                            } }
                            td class="num" { (g.mean_active_minutes.map(|m| format!("{m:.1}")).unwrap_or_else(|| "–".into())) }
                            td class="num" { (percent(g.copied_share)) " " span class="muted small" { "(" (g.copied_pieces) " of " (g.feedback_pieces) ")" } }
                            td { @if let Some(share) = g.copied_share {
                                svg class="spark" role="img" width="100" height="12" viewBox="0 0 100 12" {
                                    title { (format!("{:.0}", share * 100.0)) "% of feedback copied" }
                                    rect x="0" y="2" width="100" height="8" fill="#e3e8ef" {}
                                    rect x="0" y="2" width=((100.0 * share).max(0.5)) height="8" fill=(if share > 0.5 { "#a61b1b" } else { "#1f3a5f" }) {}
                                }
                            } }
                        } } }
                    }
                }
            }
        },
    ))
}
