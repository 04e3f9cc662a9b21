//! Recurring calibration series: the list, the create form, and a series' page with its
//! occurrences (each with the seed of its random draw), "schedule the next occurrence", stop or
//! resume, and the iCalendar feeds. The same store calls and the same people check as
//! `/api/v1/calibration-series`; qa_leads and admins only (anyone else gets the not-found page).

use super::ui::{date, datetime};
use super::{Fields, Nav, PageError, PageResult, calibrates, csrf_field, layout};
use crate::AppState;
use crate::calibration_views::series_people_who_may_not_see;
use crate::extract::PageAuth;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use plumbline_domain::access::VendorScope;
use plumbline_domain::calibration::SessionMode;
use plumbline_domain::conversation::Channel;
use plumbline_domain::org::{Role, User};
use plumbline_domain::scorecard::FieldError;
use plumbline_domain::series::{Cadence, CalibrationSeries, SeriesFilter};
use plumbline_domain::time::Date;
use plumbline_domain::{ScorecardId, SeriesId, UserId};
use plumbline_store::{MAX_CONVERSATIONS_PER_OCCURRENCE, NewSeries, UserFilter};
use serde::Deserialize;

/// How many future dates a series' page shows (as the API's view does).
const UPCOMING: u32 = 12;

fn require_calibrator(page: &PageAuth) -> PageResult<()> {
    if calibrates(page) { Ok(()) } else { Err(PageError::NotFound) }
}

pub fn cadence_text(cadence: Cadence) -> &'static str {
    match cadence {
        Cadence::Weekly => "weekly",
        Cadence::EveryTwoWeeks => "every two weeks",
        Cadence::Monthly => "monthly",
        Cadence::EveryTwoMonths => "every two months",
        Cadence::Quarterly => "quarterly",
    }
}

fn start_time_text(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

pub async fn list(State(state): State<AppState>, page: PageAuth) -> PageResult<Markup> {
    require_calibrator(&page)?;
    let ws = page.viewer.workspace_id;
    let series = state.store.list_series(ws).await?;
    let cards = state.store.list_scorecards(ws).await?;
    let card_name = |s: &CalibrationSeries| {
        cards.iter().find(|c| c.id == s.scorecard_id).map(|c| c.name.clone()).unwrap_or_default()
    };
    Ok(layout(
        &page,
        "Recurring calibrations",
        Nav::Calibrations,
        html! {
            h1 { "Recurring calibrations" }
            div class="actions" {
                a class="button" href="/calibration-series/new" { "New series" }
                a class="button secondary" href="/calibrations" { "All sessions" }
                a class="button secondary" href="/api/v1/calendar.ics" { "Your calendar (.ics)" }
            }
            section {
                @if series.is_empty() { p class="muted" { "No recurring series yet." } }
                @else {
                    table {
                        thead { tr { th { "Series" } th { "Scorecard" } th { "Cadence" } th { "First date" } th { "Starts (UTC)" } th { "Participants" } th { "Status" } } }
                        tbody { @for s in &series { tr {
                            td { a href={ "/calibration-series/" (s.id) } { (s.title) } }
                            td { (card_name(s)) }
                            td { (cadence_text(s.cadence)) }
                            td { (s.first_date) }
                            td { (start_time_text(s.start_minute)) }
                            td class="num" { (s.participant_ids.len()) }
                            td { @if s.active { span class="badge scoring" { "active" } } @else { span class="badge cancelled" { "stopped" } } }
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
    title: String,
    goals: String,
    scorecard_id: String,
    cadence: String,
    first_date: String,
    start_time: String,
    duration_minutes: String,
    facilitator_id: String,
    participant_ids: Vec<String>,
    mode: String,
    hide_agent_name: bool,
    vendor_id: String,
    team_id: String,
    channel: String,
    max_csat: String,
    within_days: String,
    conversations_per_occurrence: String,
}

impl Draft {
    fn of(fields: &Fields) -> Draft {
        Draft {
            title: fields.text("title"),
            goals: fields.text("goals"),
            scorecard_id: fields.text("scorecard_id"),
            cadence: fields.text("cadence"),
            first_date: fields.text("first_date"),
            start_time: fields.text("start_time"),
            duration_minutes: fields.text("duration_minutes"),
            facilitator_id: fields.text("facilitator_id"),
            participant_ids: fields.all("participant_ids").into_iter().map(str::to_string).collect(),
            mode: fields.text("mode"),
            hide_agent_name: fields.get("hide_agent_name").is_some(),
            vendor_id: fields.text("vendor_id"),
            team_id: fields.text("team_id"),
            channel: fields.text("channel"),
            max_csat: fields.text("max_csat"),
            within_days: fields.text("within_days"),
            conversations_per_occurrence: fields.text("conversations_per_occurrence"),
        }
    }
}

pub async fn new_form(State(state): State<AppState>, page: PageAuth) -> PageResult<Markup> {
    require_calibrator(&page)?;
    let draft = Draft {
        cadence: "monthly".into(),
        start_time: "15:00".into(),
        duration_minutes: "60".into(),
        facilitator_id: page.viewer.user_id.to_string(),
        mode: "blind".into(),
        within_days: "30".into(),
        conversations_per_occurrence: "1".into(),
        ..Default::default()
    };
    form(&state, &page, &draft, &[]).await
}

async fn form(state: &AppState, page: &PageAuth, draft: &Draft, errors: &[FieldError]) -> PageResult<Markup> {
    let ws = page.viewer.workspace_id;
    let cards = state.store.list_scorecards(ws).await?;
    let users: Vec<User> = state
        .store
        .list_users(ws, VendorScope::All, &UserFilter { vendor_id: None, role: None })
        .await?
        .into_iter()
        .filter(|u| u.active)
        .collect();
    let vendors = state.store.list_vendors(ws, VendorScope::All).await?;
    let teams = state.store.list_teams(ws, VendorScope::All).await?;
    let field_error = |field: &str| -> Vec<String> {
        errors
            .iter()
            .filter(|e| {
                e.field == field
                    || e.field.starts_with(&format!("{field}["))
                    || e.field.starts_with(&format!("{field}."))
            })
            .map(|e| e.reason.clone())
            .collect()
    };
    let errors_for = |field: &str| html! { @for e in field_error(field) { p class="error" { (e) } } };
    Ok(layout(
        page,
        "New recurring calibration",
        Nav::Calibrations,
        html! {
            h1 { "New recurring calibration" }
            @if !errors.is_empty() {
                div class="error" role="alert" { p { "The series was not created:" } ul { @for e in errors { li { (e.reason) } } } }
            }
            form method="post" action="/calibration-series" {
                (csrf_field(page))
                section {
                    h2 { "Setup" }
                    label for="title" { "Title" }
                    input id="title" name="title" type="text" required maxlength="200" value=(draft.title);
                    (errors_for("title"))
                    label for="goals" { "Goals" }
                    textarea id="goals" name="goals" rows="2" { (draft.goals) }
                    label for="scorecard_id" { "Scorecard" }
                    select id="scorecard_id" name="scorecard_id" required {
                        @for c in &cards { option value=(c.id) selected[draft.scorecard_id == c.id.to_string()] { (c.name) } }
                    }
                    p class="muted small" { "Each occurrence calibrates the scorecard's version that is active on the day." }
                    (errors_for("scorecard_id"))
                    fieldset {
                        legend { "Mode" }
                        @for (value, label) in [("blind", "Blind"), ("open", "Open"), ("hidden", "Hidden")] {
                            div class="choice" {
                                input type="radio" name="mode" id={ "mode-" (value) } value=(value) checked[draft.mode == value];
                                label for={ "mode-" (value) } { (label) }
                            }
                        }
                    }
                    div class="choice" {
                        input type="checkbox" name="hide_agent_name" id="hide_agent_name" value="1" checked[draft.hide_agent_name];
                        label for="hide_agent_name" { "Hide the agent's name from participants" }
                    }
                    (errors_for("hide_agent_name"))
                }
                section {
                    h2 { "When" }
                    div class="grid2" {
                        div { label for="cadence" { "Cadence" }
                            select id="cadence" name="cadence" {
                                @for c in Cadence::ALL { option value=(c.as_str()) selected[draft.cadence == c.as_str()] { (cadence_text(c)) } }
                            }
                            (errors_for("cadence")) }
                        div { label for="first_date" { "First date" }
                            input id="first_date" name="first_date" type="date" required value=(draft.first_date);
                            (errors_for("first_date")) }
                        div { label for="start_time" { "Start time (UTC)" }
                            input id="start_time" name="start_time" type="time" value=(draft.start_time);
                            (errors_for("start_time")) }
                        div { label for="duration_minutes" { "Duration (minutes)" }
                            input id="duration_minutes" name="duration_minutes" type="number" min="5" max="600" value=(draft.duration_minutes);
                            (errors_for("duration_minutes")) }
                    }
                }
                section {
                    h2 { "Conversations per occurrence" }
                    p class="muted small" { "Each occurrence draws its conversations at random from this filter; the seed of the draw is recorded so it can be reproduced." }
                    div class="grid2" {
                        div { label for="vendor_id" { "Vendor" }
                            select id="vendor_id" name="vendor_id" { option value="" { "any" }
                                @for v in &vendors { option value=(v.id) selected[draft.vendor_id == v.id.to_string()] { (v.name) } } } }
                        div { label for="team_id" { "Team" }
                            select id="team_id" name="team_id" { option value="" { "any" }
                                @for t in &teams { option value=(t.id) selected[draft.team_id == t.id.to_string()] { (t.name) } } } }
                        div { label for="channel" { "Channel" }
                            select id="channel" name="channel" { option value="" { "any" }
                                @for ch in Channel::ALL { option value=(ch.as_str()) selected[draft.channel == ch.as_str()] { (ch.as_str()) } } } }
                        div { label for="max_csat" { "CSAT at most (optional)" }
                            input id="max_csat" name="max_csat" type="number" min="1" max="5" value=(draft.max_csat);
                            (errors_for("filter")) }
                        div { label for="within_days" { "Started within days before the date" }
                            input id="within_days" name="within_days" type="number" min="1" max="3650" value=(draft.within_days); }
                        div { label for="conversations_per_occurrence" { "Conversations per occurrence" }
                            input id="conversations_per_occurrence" name="conversations_per_occurrence" type="number" min="1"
                                max=(MAX_CONVERSATIONS_PER_OCCURRENCE) value=(draft.conversations_per_occurrence);
                            (errors_for("conversations_per_occurrence")) }
                    }
                }
                section {
                    h2 { "People" }
                    label for="facilitator_id" { "Facilitator" }
                    select id="facilitator_id" name="facilitator_id" {
                        @for u in users.iter().filter(|u| matches!(u.role, Role::Admin | Role::QaLead)) {
                            option value=(u.id) selected[draft.facilitator_id == u.id.to_string()] { (u.name) " (" (u.role.to_string()) ")" }
                        }
                    }
                    (errors_for("facilitator_id"))
                    fieldset {
                        legend { "Participants" }
                        div class="grid2" {
                            @for u in &users {
                                div class="choice" {
                                    input type="checkbox" name="participant_ids" id={ "p-" (u.id) } value=(u.id) checked[draft.participant_ids.contains(&u.id.to_string())];
                                    label for={ "p-" (u.id) } { (u.name) " " span class="muted small" { (u.role.to_string()) " · " (u.email) } }
                                }
                            }
                        }
                    }
                    (errors_for("participant_ids"))
                }
                button type="submit" { "Create series" }
            }
        },
    ))
}

fn parse_start_time(text: &str) -> Option<u32> {
    match text.trim() {
        "" => Some(15 * 60),
        t => t
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.get(..2).unwrap_or(m).parse::<u32>().ok()?)))
            .filter(|(h, m)| *h < 24 && *m < 60)
            .map(|(h, m)| h * 60 + m),
    }
}

pub async fn create(
    State(state): State<AppState>,
    page: PageAuth,
    form_data: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form_data)?;
    require_calibrator(&page)?;
    let ws = page.viewer.workspace_id;
    let draft = Draft::of(&fields);
    let mut errors = Vec::new();
    let scorecard_id: Option<ScorecardId> = form_id(&mut errors, "scorecard_id", &draft.scorecard_id);
    let facilitator_id: Option<UserId> = form_id(&mut errors, "facilitator_id", &draft.facilitator_id);
    let vendor_id = form_id(&mut errors, "filter.vendor_id", &draft.vendor_id);
    let team_id = form_id(&mut errors, "filter.team_id", &draft.team_id);
    let mut participant_ids: Vec<UserId> = Vec::new();
    for (i, raw) in draft.participant_ids.iter().enumerate() {
        match crate::api::path_id(raw) {
            Ok(id) => participant_ids.push(id),
            Err(_) => errors.push(FieldError::new(format!("participant_ids[{i}]"), "is not one of the choices")),
        }
    }
    let cadence = Cadence::parse(&draft.cadence);
    if cadence.is_none() {
        errors.push(FieldError::new("cadence", "choose how often the series meets"));
    }
    let first_date = Date::parse(draft.first_date.trim());
    if first_date.is_none() {
        errors.push(FieldError::new("first_date", "give the first date (YYYY-MM-DD)"));
    }
    let start_minute = parse_start_time(&draft.start_time);
    if start_minute.is_none() {
        errors.push(FieldError::new("start_time", "must be HH:MM (UTC)"));
    }
    let mut number = |field: &str, text: &str, range: std::ops::RangeInclusive<i64>| -> Option<i64> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        match text.parse::<i64>() {
            Ok(n) if range.contains(&n) => Some(n),
            _ => {
                errors.push(FieldError::new(
                    field,
                    format!("must be a whole number from {} to {}", range.start(), range.end()),
                ));
                None
            }
        }
    };
    let duration = number("duration_minutes", &draft.duration_minutes, 5..=600).unwrap_or(60) as u32;
    let max_csat = number("filter.max_csat", &draft.max_csat, 1..=5);
    let within_days = number("filter.within_days", &draft.within_days, 1..=3650).map(|d| d as u32);
    let per_occurrence = number(
        "conversations_per_occurrence",
        &draft.conversations_per_occurrence,
        1..=i64::from(MAX_CONVERSATIONS_PER_OCCURRENCE),
    )
    .unwrap_or(1) as u32;
    let channel = match draft.channel.as_str() {
        "" => None,
        c => {
            let parsed = Channel::ALL.iter().copied().find(|ch| ch.as_str() == c);
            if parsed.is_none() {
                errors.push(FieldError::new("filter.channel", "is not one of the choices"));
            }
            parsed
        }
    };
    let mode = SessionMode::parse(&draft.mode).unwrap_or(SessionMode::Blind);
    let filter = SeriesFilter { vendor_id, team_id, channel, max_csat, within_days };
    let facilitator_id = facilitator_id.unwrap_or(page.viewer.user_id);
    let mut people: Vec<(String, UserId)> =
        participant_ids.iter().enumerate().map(|(i, u)| (format!("participant_ids[{i}]"), *u)).collect();
    people.push(("facilitator_id".into(), facilitator_id));
    errors.extend(series_people_who_may_not_see(&state, ws, &people, filter.vendor_id).await?);
    if scorecard_id.is_none() && !errors.iter().any(|e| e.field == "scorecard_id") {
        errors.push(FieldError::new("scorecard_id", "choose a scorecard"));
    }
    let (Some(scorecard_id), Some(cadence), Some(first_date), Some(start_minute), true) =
        (scorecard_id, cadence, first_date, start_minute, errors.is_empty())
    else {
        return refused(&state, &page, &draft, errors).await;
    };
    let created = state
        .store
        .create_series(
            ws,
            NewSeries {
                title: draft.title.clone(),
                goals: draft.goals.clone(),
                scorecard_id,
                cadence,
                first_date,
                start_minute,
                duration_minutes: duration,
                facilitator_id,
                participant_ids,
                mode,
                hide_agent_name: draft.hide_agent_name,
                filter,
                conversations_per_occurrence: per_occurrence,
                seed: None,
                created_by: page.viewer.user_id,
            },
        )
        .await;
    match created {
        Ok(series) => Ok(Redirect::to(&format!("/calibration-series/{}?done=created", series.id)).into_response()),
        Err(plumbline_store::StoreError::Invalid(errors)) => refused(&state, &page, &draft, errors).await,
        Err(e) => Err(e.into()),
    }
}

/// An id chosen in a form; a value that is not one names the field.
fn form_id<T: std::str::FromStr>(errors: &mut Vec<FieldError>, field: &str, text: &str) -> Option<T> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let parsed = text.parse().ok();
    if parsed.is_none() {
        errors.push(FieldError::new(field, "is not one of the choices"));
    }
    parsed
}

async fn refused(state: &AppState, page: &PageAuth, draft: &Draft, errors: Vec<FieldError>) -> PageResult<Response> {
    Ok((StatusCode::UNPROCESSABLE_ENTITY, form(state, page, draft, &errors).await?).into_response())
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn detail(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    Query(q): Query<DoneQuery>,
) -> PageResult<Markup> {
    require_calibrator(&page)?;
    let ws = page.viewer.workspace_id;
    let id: SeriesId = crate::api::path_id(&raw)?;
    let series = state.store.get_series(ws, id).await?;
    show(&state, &page, series, q.done.as_deref(), None).await
}

async fn show(
    state: &AppState,
    page: &PageAuth,
    series: CalibrationSeries,
    done: Option<&str>,
    problem: Option<&str>,
) -> PageResult<Markup> {
    let ws = page.viewer.workspace_id;
    let occurrences = state.store.series_occurrences(ws, &series, UPCOMING).await?;
    let card = state.store.get_scorecard(ws, series.scorecard_id).await?;
    let users = state.store.list_users(ws, VendorScope::All, &UserFilter { vendor_id: None, role: None }).await?;
    let name = |id: UserId| users.iter().find(|u| u.id == id).map(|u| u.name.clone()).unwrap_or_else(|| id.to_string());
    let vendors = state.store.list_vendors(ws, VendorScope::All).await?;
    let teams = state.store.list_teams(ws, VendorScope::All).await?;
    let f = &series.filter;
    let mut filter_text: Vec<String> = Vec::new();
    if let Some(v) = f.vendor_id.and_then(|v| vendors.iter().find(|x| x.id == v)) {
        filter_text.push(format!("vendor {}", v.name));
    }
    if let Some(t) = f.team_id.and_then(|t| teams.iter().find(|x| x.id == t)) {
        filter_text.push(format!("team {}", t.name));
    }
    if let Some(c) = f.channel {
        filter_text.push(format!("channel {}", c.as_str()));
    }
    if let Some(c) = f.max_csat {
        filter_text.push(format!("CSAT at most {c}"));
    }
    filter_text.push(format!("started within {} days before the date", f.within_days.unwrap_or(30)));
    let notice = match done {
        Some("created") => Some("Series created."),
        Some("scheduled") => Some("The next occurrence is scheduled: its session is open for scoring."),
        Some("stopped") => Some("Series stopped: no more dates."),
        Some("resumed") => Some("Series resumed."),
        _ => None,
    };
    let base = format!("/calibration-series/{}", series.id);
    Ok(layout(
        page,
        &series.title,
        Nav::Calibrations,
        html! {
            p class="small" { a href="/calibration-series" { "Recurring calibrations" } }
            h1 { (series.title) }
            p { @if series.active { span class="badge scoring" { "active" } } @else { span class="badge cancelled" { "stopped" } } }
            @if let Some(n) = notice { p class="notice" role="status" { (n) } }
            @if let Some(p) = problem { div class="error" role="alert" { p { (p) } } }
            section {
                @if !series.goals.is_empty() { p { (series.goals) } }
                table class="facts" { tbody {
                    tr { th { "Scorecard" } td { (card.name) " (the version active on each date)" } }
                    tr { th { "Cadence" } td { (cadence_text(series.cadence)) ", from " (series.first_date) " at " (start_time_text(series.start_minute)) " UTC for " (series.duration_minutes) " minutes" } }
                    tr { th { "Mode" } td { (series.mode.as_str()) @if series.hide_agent_name { ", agent's name hidden" } } }
                    tr { th { "Conversations" } td { (series.conversations_per_occurrence) " per occurrence, at random: " (filter_text.join("; ")) } }
                    tr { th { "Facilitator" } td { (name(series.facilitator_id)) } }
                    tr { th { "Participants" } td { (series.participant_ids.iter().map(|u| name(*u)).collect::<Vec<_>>().join(", ")) } }
                    tr { th { "Series seed" } td { code { (series.seed) } } }
                } }
                div class="actions" {
                    @if series.active {
                        form method="post" action={ (base) "/schedule" } {
                            (csrf_field(page))
                            button type="submit" { "Schedule the next occurrence" }
                        }
                    }
                    form method="post" action={ (base) "/active" } {
                        (csrf_field(page))
                        input type="hidden" name="active" value=(if series.active { "0" } else { "1" });
                        button type="submit" class="secondary" { @if series.active { "Stop the series" } @else { "Resume the series" } }
                    }
                    a class="button secondary" href={ "/api/v1/calibration-series/" (series.id) "/calendar.ics" } { "Calendar (.ics)" }
                }
                p class="muted small" { "Calendar apps cannot sign in: add " code { "?token=" } " and an API token to the calendar link to subscribe." }
            }
            section aria-labelledby="occurrences" {
                h2 id="occurrences" { "Occurrences" }
                table {
                    thead { tr { th class="num" { "#" } th { "Date" } th { "Starts" } th { "Session" } th class="num" { "Candidates" } th { "Seed of the draw" } } }
                    tbody { @for o in &occurrences { tr {
                        td class="num" { (o.number + 1) }
                        td { (o.occurs_on) }
                        td { (datetime(o.starts_at)) }
                        td { @if let Some(s) = o.session_id { a href={ "/calibrations/" (s) } { "session" } } @else { span class="muted" { "not scheduled yet" } } }
                        td class="num" { (o.candidates.map(|c| c.to_string()).unwrap_or_default()) }
                        td { @if let Some(seed) = o.seed { code { (seed) } } }
                    } } }
                }
                p class="muted small" { "Created " (date(series.created_at)) "." }
            }
        },
    ))
}

/// Draws the next occurrence's conversations and creates its session.
pub async fn schedule(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form_data: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    Fields::checked(&page, form_data)?;
    require_calibrator(&page)?;
    let ws = page.viewer.workspace_id;
    let id: SeriesId = crate::api::path_id(&raw)?;
    match state.store.schedule_next_occurrence(ws, id, page.viewer.user_id).await {
        Ok(_) => Ok(Redirect::to(&format!("/calibration-series/{id}?done=scheduled")).into_response()),
        // Nothing to draw, no active version, a stopped series: say so on the series' page.
        Err(plumbline_store::StoreError::Conflict(why)) => {
            let series = state.store.get_series(ws, id).await?;
            let problem = format!("Nothing was scheduled: {why}.");
            Ok((StatusCode::CONFLICT, show(&state, &page, series, None, Some(&problem)).await?).into_response())
        }
        Err(plumbline_store::StoreError::Invalid(errors)) => {
            let series = state.store.get_series(ws, id).await?;
            let problem = format!(
                "Nothing was scheduled: {}.",
                errors.iter().map(|e| e.reason.as_str()).collect::<Vec<_>>().join("; ")
            );
            Ok((StatusCode::UNPROCESSABLE_ENTITY, show(&state, &page, series, None, Some(&problem)).await?)
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn set_active(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form_data: Form<Vec<(String, String)>>,
) -> PageResult<Redirect> {
    let fields = Fields::checked(&page, form_data)?;
    require_calibrator(&page)?;
    let id: SeriesId = crate::api::path_id(&raw)?;
    let active = fields.get("active") == Some("1");
    state.store.set_series_active(page.viewer.workspace_id, id, active).await?;
    Ok(Redirect::to(&format!("/calibration-series/{id}?done={}", if active { "resumed" } else { "stopped" })))
}
