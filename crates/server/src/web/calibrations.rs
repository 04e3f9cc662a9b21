//! Calibration pages: the session list, the create/schedule form, the session page for
//! participants (their tasks; the others' scores only when the blind rules allow), the
//! facilitator's view with tabs (Overview, Scoring, Decisions and actions), save with conflict
//! detection, reveal, submit, cancel, and the session's report.
//!
//! Every page starts from the same shared functions the JSON API uses
//! ([`crate::calibration_views`]): `access` decides who relates how to the session, `session_view`
//! applies the blind rules, `build_matrix` is shown only when `sees_others_work` says so.

use super::ui::{
    choice_short, choice_text, datetime, datetime_input, distribution_bars, heat_class, parse_choice, parse_datetime,
    percent, score, status_badge,
};
use super::{Fields, Nav, PageError, PageResult, calibrates, csrf_field, layout};
use crate::AppState;
use crate::calibration_views::{
    ConversationMatrix, SessionView, access, build_matrix, facilitate, people_who_may_not_see, session_report,
    session_view,
};
use crate::extract::PageAuth;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use plumbline_domain::access::{Permission, SessionRole, VendorScope};
use plumbline_domain::calibration::{
    ActionItem, ActionKind, Attendance, AttendanceEntry, CalibratedConversation, Decision, Facilitation,
    ParticipantFeedback, SessionMode, SessionStatus,
};
use plumbline_domain::conversation::{Channel, Conversation};
use plumbline_domain::evaluation::{Answer, Choice};
use plumbline_domain::org::{Role, User};
use plumbline_domain::scorecard::{FieldError, ScorecardDefinition, VersionStatus};
use plumbline_domain::{ConversationId, Millis, PlanId, ScorecardVersionId, UserId};
use plumbline_store::{
    ConversationFilter, NewSession, PageRequest, SessionPatch, SessionRecord, SessionVisibility, StoreError,
    UserFilter, now_millis,
};
use serde::Deserialize;

// ---------------------------------------------------------------------------------------------
// The list

#[derive(Deserialize)]
pub struct ListQuery {
    status: Option<String>,
}

pub async fn list(State(state): State<AppState>, page: PageAuth, Query(q): Query<ListQuery>) -> PageResult<Markup> {
    let viewer = &page.viewer;
    // The same visibility as GET /api/v1/calibrations.
    let visibility = if viewer.may(Permission::Calibrate) {
        SessionVisibility::All
    } else {
        SessionVisibility::Involving(viewer.user_id)
    };
    let status = q.status.as_deref().and_then(SessionStatus::parse);
    let sessions = state
        .store
        .list_calibrations(viewer.workspace_id, visibility, status, &PageRequest { cursor: None, limit: Some(200) })
        .await?
        .items;
    let now = now_millis();
    Ok(layout(
        &page,
        "Calibration sessions",
        Nav::Calibrations,
        html! {
            div class="actions" style="justify-content:space-between" {
                h1 { "Calibration sessions" }
                @if calibrates(&page) { div class="actions" {
                    a class="button secondary" href="/calibration-series" { "Recurring series" }
                    a class="button" href="/calibrations/new" { "New session" } } }
            }
            form method="get" action="/calibrations" class="actions" {
                label for="status" class="inline" { "Status" }
                select id="status" name="status" style="max-width:12rem" {
                    option value="" { "any" }
                    @for s in SessionStatus::ALL { option value=(s.as_str()) selected[status == Some(*s)] { (s.as_str()) } }
                }
                button type="submit" class="secondary small" { "Filter" }
            }
            section {
                @if sessions.is_empty() { p class="muted" { "No sessions yet." } }
                @else {
                    table {
                        thead { tr { th { "Session" } th { "Status" } th { "Mode" } th { "Scheduled" } th { "Scoring deadline" } th class="num" { "Conversations" } } }
                        tbody { @for s in &sessions { tr {
                            td { a href={ "/calibrations/" (s.id) } { (s.title) } }
                            td { (status_badge(s.status)) }
                            td { (s.mode.as_str()) }
                            td { (s.scheduled_at.map(datetime).unwrap_or_default()) }
                            td { @if let Some(d) = s.scoring_deadline {
                                span class=[(d < now && s.status == SessionStatus::Scoring).then_some("overdue")] { (datetime(d)) } } }
                            td class="num" { (s.conversation_ids.len()) }
                        } } }
                    }
                }
            }
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Create and schedule

/// What the create form holds, so that a refused form comes back as it was typed.
#[derive(Default)]
struct Draft {
    title: String,
    goals: String,
    scorecard_version_id: String,
    conversation_ids: Vec<String>,
    participant_ids: Vec<String>,
    facilitator_id: String,
    mode: String,
    hide_agent_name: bool,
    scheduled_at: String,
    scoring_deadline: String,
    /// Hidden mode: the review plan whose queues hold the tasks ("" for the work list).
    review_plan_id: String,
    filter: ChoiceQuery,
}

#[derive(Default, Deserialize, Clone)]
pub struct ChoiceQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    vendor_id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// Pick this many at random from what the filter finds.
    #[serde(default)]
    pick: String,
    /// Conversations already ticked (kept when the filter changes).
    #[serde(default)]
    conversation_ids: Vec<String>,
}

pub async fn new_form(State(state): State<AppState>, page: PageAuth) -> PageResult<Markup> {
    if !calibrates(&page) {
        return Err(PageError::Forbidden("only qa_leads and admins create calibration sessions".into()));
    }
    let draft = Draft { mode: "blind".into(), facilitator_id: page.viewer.user_id.to_string(), ..Default::default() };
    create_form(&state, &page, &draft, &[]).await
}

async fn create_form(state: &AppState, page: &PageAuth, draft: &Draft, errors: &[FieldError]) -> PageResult<Markup> {
    let ws = page.viewer.workspace_id;
    let mut versions = Vec::new();
    for card in state.store.list_scorecards(ws).await? {
        for v in state.store.list_versions(ws, card.id).await? {
            if v.status == VersionStatus::Active {
                versions.push((v.id, format!("{} · version {}", card.name, v.number)));
            }
        }
    }
    let users: Vec<User> = state
        .store
        .list_users(ws, VendorScope::All, &UserFilter { vendor_id: None, role: None })
        .await?
        .into_iter()
        .filter(|u| u.active)
        .collect();
    let vendors = state.store.list_vendors(ws, VendorScope::All).await?;
    let plans = state.store.list_review_plans(ws, None).await?;
    let choices = conversation_choices_markup(state, page, &draft.filter, &draft.conversation_ids).await?;
    let field_error = |field: &str| {
        errors
            .iter()
            .filter(|e| e.field == field || e.field.starts_with(&format!("{field}[")))
            .map(|e| e.reason.clone())
            .collect::<Vec<_>>()
    };
    Ok(layout(
        page,
        "New calibration session",
        Nav::Calibrations,
        html! {
            h1 { "New calibration session" }
            @if !errors.is_empty() {
                div class="error" role="alert" { p { "The session was not created:" } ul { @for e in errors { li { (e.reason) } } } }
            }
            form method="post" action="/calibrations" id="create-session" {
                (csrf_field(page))
                section {
                    h2 { "Setup" }
                    label for="title" { "Title" }
                    input id="title" name="title" type="text" required maxlength="200" value=(draft.title);
                    @for e in field_error("title") { p class="error" { (e) } }
                    label for="goals" { "Goals" }
                    textarea id="goals" name="goals" rows="2" placeholder="Find misaligned graders, hard criteria..." { (draft.goals) }
                    label for="scorecard_version_id" { "Scorecard version" }
                    select id="scorecard_version_id" name="scorecard_version_id" required {
                        @for (id, name) in &versions { option value=(id) selected[draft.scorecard_version_id == id.to_string()] { (name) } }
                    }
                    @for e in field_error("scorecard_version_id") { p class="error" { (e) } }
                    fieldset {
                        legend { "Mode" }
                        @for (value, label, help) in [("blind", "Blind", "each grader sees only their own scores until they submitted and you revealed"), ("open", "Open", "graders see each other's scores at any time"), ("hidden", "Hidden", "graders receive what looks like an ordinary review and are never told")] {
                            div class="choice" {
                                input type="radio" name="mode" id={ "mode-" (value) } value=(value) checked[draft.mode == value];
                                label for={ "mode-" (value) } { (label) }
                                span class="guideline" { (help) }
                            }
                        }
                    }
                    @if !plans.is_empty() {
                        label for="review_plan_id" { "Hidden mode: where the tasks wait" }
                        select id="review_plan_id" name="review_plan_id" {
                            option value="" { "each participant's work list, as a draft review" }
                            @for plan in &plans {
                                option value=(plan.id) selected[draft.review_plan_id == plan.id.to_string()] { "their queue of review plan " (plan.name) }
                            }
                        }
                        p class="muted small" { "In a plan's queue a task looks like the plan's other items; calibrate the active version of the plan's scorecard." }
                        @for e in field_error("review_plan_id") { p class="error" { (e) } }
                    }
                    div class="choice" {
                        input type="checkbox" name="hide_agent_name" id="hide_agent_name" value="1" checked[draft.hide_agent_name];
                        label for="hide_agent_name" { "Hide the agent's name from participants" }
                    }
                    div class="grid2" {
                        div { label for="scheduled_at" { "Discussion scheduled at (UTC)" }
                            input id="scheduled_at" name="scheduled_at" type="datetime-local" value=(draft.scheduled_at); }
                        div { label for="scoring_deadline" { "Scoring deadline (UTC)" }
                            input id="scoring_deadline" name="scoring_deadline" type="datetime-local" value=(draft.scoring_deadline); }
                    }
                    @for e in field_error("scheduled_at").into_iter().chain(field_error("scoring_deadline")) { p class="error" { (e) } }
                }
                section {
                    h2 { "Conversations" }
                    p class="muted small" { "Search or filter, then tick the conversations to calibrate on, or let Plumbline pick some at random from what the filter finds." }
                    div class="grid2" id="filters" {
                        div { label for="q" { "Search subject or id" } input id="q" name="q" type="search" value=(draft.filter.q); }
                        div { label for="channel" { "Channel" }
                            select id="channel" name="channel" { option value="" { "any" }
                                @for ch in Channel::ALL { option value=(ch.as_str()) selected[draft.filter.channel == ch.as_str()] { (ch.as_str()) } } } }
                        div { label for="vendor_id" { "Vendor" }
                            select id="vendor_id" name="vendor_id" { option value="" { "any" }
                                @for v in &vendors { option value=(v.id) selected[draft.filter.vendor_id == v.id.to_string()] { (v.name) } } } }
                        div { label for="from" { "Started from" } input id="from" name="from" type="date" value=(draft.filter.from); }
                        div { label for="to" { "Started before" } input id="to" name="to" type="date" value=(draft.filter.to); }
                        div { label for="pick" { "How many to pick at random" } input id="pick" name="pick" type="number" min="1" max="50" value=(draft.filter.pick); }
                    }
                    div class="actions" {
                        button type="button" class="secondary" hx-get="/calibrations/new/conversations" hx-include="#create-session"
                            hx-target="#conversation-choices" hx-vals=r#"{"pick": ""}"# { "Search" }
                        button type="button" class="secondary" hx-get="/calibrations/new/conversations" hx-include="#create-session"
                            hx-target="#conversation-choices" { "Pick at random" }
                    }
                    @for e in field_error("conversation_ids") { p class="error" { (e) } }
                    div id="conversation-choices" aria-live="polite" { (choices) }
                }
                section {
                    h2 { "People" }
                    label for="facilitator_id" { "Facilitator" }
                    select id="facilitator_id" name="facilitator_id" {
                        @for u in users.iter().filter(|u| matches!(u.role, Role::Admin | Role::QaLead)) {
                            option value=(u.id) selected[draft.facilitator_id == u.id.to_string()] { (u.name) " (" (u.role.to_string()) ")" }
                        }
                    }
                    fieldset {
                        legend { "Participants" }
                        p class="muted small" { "Graders, leads, managers and agents may all take part." }
                        div class="grid2" {
                            @for u in &users {
                                div class="choice" {
                                    input type="checkbox" name="participant_ids" id={ "p-" (u.id) } value=(u.id) checked[draft.participant_ids.contains(&u.id.to_string())];
                                    label for={ "p-" (u.id) } { (u.name) " " span class="muted small" { (u.role.to_string()) " · " (u.email) } }
                                }
                            }
                        }
                    }
                    @for e in field_error("participant_ids").into_iter().chain(field_error("facilitator_id")) { p class="error" { (e) } }
                }
                button type="submit" { "Create session" }
            }
        },
    ))
}

/// The conversation checkboxes: the ones already ticked first, then what the filter finds (or
/// `pick` of them at random, ticked).
pub async fn conversation_choices(
    State(state): State<AppState>,
    page: PageAuth,
    axum_extra_query: RawQuery,
) -> PageResult<Markup> {
    if !calibrates(&page) {
        return Err(PageError::NotFound);
    }
    let query = axum_extra_query.0;
    let ticked = query.conversation_ids.clone();
    conversation_choices_markup(&state, &page, &query, &ticked).await
}

/// A query string with repeated keys (`conversation_ids=a&conversation_ids=b`).
pub struct RawQuery(ChoiceQuery);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RawQuery {
    type Rejection = PageError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, PageError> {
        let pairs: Vec<(String, String)> =
            axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map(|q| q.0).unwrap_or_default();
        let mut q = ChoiceQuery::default();
        for (k, v) in pairs {
            match k.as_str() {
                "q" => q.q = v,
                "channel" => q.channel = v,
                "vendor_id" => q.vendor_id = v,
                "from" => q.from = v,
                "to" => q.to = v,
                "pick" => q.pick = v,
                "conversation_ids" => q.conversation_ids.push(v),
                _ => {}
            }
        }
        Ok(RawQuery(q))
    }
}

async fn conversation_choices_markup(
    state: &AppState,
    page: &PageAuth,
    query: &ChoiceQuery,
    ticked: &[String],
) -> PageResult<Markup> {
    let viewer = &page.viewer;
    let ws = viewer.workspace_id;
    let filter = ConversationFilter {
        vendor_id: query.vendor_id.parse().ok(),
        team_id: None,
        agent_id: None,
        channel: Channel::ALL.into_iter().find(|c| c.as_str() == query.channel),
        from: parse_datetime(&query.from).ok().flatten(),
        to: parse_datetime(&query.to).ok().flatten(),
    };
    let needle = query.q.trim().to_lowercase();
    let mut found: Vec<Conversation> = Vec::new();
    let mut cursor = None;
    // The newest matches; a text search scans up to 2,000 of the filtered conversations.
    for _ in 0..4 {
        let batch = state
            .store
            .list_conversations(
                ws,
                viewer.vendor_scope(),
                None,
                &filter,
                &PageRequest { cursor: cursor.clone(), limit: Some(500) },
            )
            .await?;
        found.extend(batch.items.into_iter().filter(|c| {
            needle.is_empty()
                || c.subject.to_lowercase().contains(&needle)
                || c.external_id.to_lowercase().contains(&needle)
        }));
        cursor = batch.next_cursor;
        if cursor.is_none() || (needle.is_empty() && found.len() >= 500) {
            break;
        }
    }
    let pick: usize = query.pick.trim().parse().unwrap_or(0).min(50);
    let mut checked: Vec<String> = ticked.to_vec();
    if pick > 0 {
        let mut pool: Vec<&Conversation> = found.iter().filter(|c| !checked.contains(&c.id.to_string())).collect();
        // Fisher-Yates with the operating system's randomness.
        for i in (1..pool.len()).rev() {
            let j = (rand::random::<u64>() % (i as u64 + 1)) as usize;
            pool.swap(i, j);
        }
        checked.extend(pool.into_iter().take(pick).map(|c| c.id.to_string()));
    }
    let mut shown: Vec<Conversation> = Vec::new();
    for id in &checked {
        if let Ok(id) = id.parse::<ConversationId>()
            && let Ok(c) = state.store.get_conversation(ws, viewer.vendor_scope(), id).await
        {
            shown.push(c);
        }
    }
    let total = found.len();
    shown.extend(found.into_iter().filter(|c| !checked.contains(&c.id.to_string())).take(25));
    Ok(html! {
        p class="muted small" { (total) " conversations match; " (checked.len()) " ticked." }
        @if shown.is_empty() { p class="muted" { "Nothing matches this filter." } }
        @else {
            table {
                thead { tr { th { "Pick" } th { "Conversation" } th { "Channel" } th { "Started" } th class="num" { "CSAT" } } }
                tbody { @for c in &shown { tr {
                    td { input type="checkbox" name="conversation_ids" id={ "c-" (c.id) } value=(c.id) checked[checked.contains(&c.id.to_string())]; }
                    td { label for={ "c-" (c.id) } class="inline" { (c.subject) } " " span class="muted small" { (c.external_id) } }
                    td { (c.channel.as_str()) }
                    td { (datetime(c.started_at)) }
                    td class="num" { (c.metrics.csat.map(|v| v.to_string()).unwrap_or_default()) }
                } } }
            }
        }
    })
}

pub async fn create(
    State(state): State<AppState>,
    page: PageAuth,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    if !calibrates(&page) {
        return Err(PageError::Forbidden("only qa_leads and admins create calibration sessions".into()));
    }
    let ws = page.viewer.workspace_id;
    let draft = Draft {
        title: fields.text("title"),
        goals: fields.text("goals"),
        scorecard_version_id: fields.text("scorecard_version_id"),
        conversation_ids: fields.all("conversation_ids").into_iter().map(str::to_string).collect(),
        participant_ids: fields.all("participant_ids").into_iter().map(str::to_string).collect(),
        facilitator_id: fields.text("facilitator_id"),
        mode: fields.text("mode"),
        hide_agent_name: fields.get("hide_agent_name").is_some(),
        scheduled_at: fields.text("scheduled_at"),
        scoring_deadline: fields.text("scoring_deadline"),
        review_plan_id: fields.text("review_plan_id"),
        filter: ChoiceQuery {
            q: fields.text("q"),
            channel: fields.text("channel"),
            vendor_id: fields.text("vendor_id"),
            from: fields.text("from"),
            to: fields.text("to"),
            pick: String::new(),
            conversation_ids: Vec::new(),
        },
    };
    let mut errors = Vec::new();
    if draft.title.trim().is_empty() {
        errors.push(FieldError::new("title", "Give the session a title."));
    }
    let version: Option<ScorecardVersionId> = draft.scorecard_version_id.parse().ok();
    if version.is_none() {
        errors.push(FieldError::new("scorecard_version_id", "Choose a scorecard version."));
    }
    let conversations: Vec<ConversationId> = draft.conversation_ids.iter().filter_map(|c| c.parse().ok()).collect();
    if conversations.is_empty() {
        errors.push(FieldError::new("conversation_ids", "Tick at least one conversation."));
    }
    let participants: Vec<UserId> = draft.participant_ids.iter().filter_map(|c| c.parse().ok()).collect();
    if participants.is_empty() {
        errors.push(FieldError::new("participant_ids", "Tick at least one participant."));
    }
    let facilitator: UserId = draft.facilitator_id.parse().unwrap_or(page.viewer.user_id);
    let mode = SessionMode::parse(&draft.mode).unwrap_or(SessionMode::Blind);
    let mut time = |field: &str, text: &str| match parse_datetime(text) {
        Ok(t) => t,
        Err(reason) => {
            errors.push(FieldError::new(field, reason));
            None
        }
    };
    let scheduled_at = time("scheduled_at", &draft.scheduled_at);
    let scoring_deadline = time("scoring_deadline", &draft.scoring_deadline);
    let review_plan_id: Option<PlanId> = match draft.review_plan_id.trim() {
        "" => None,
        text => text.parse().ok().or_else(|| {
            errors.push(FieldError::new("review_plan_id", "Choose a review plan from the list."));
            None
        }),
    };
    let mut people: Vec<(String, UserId)> =
        participants.iter().enumerate().map(|(i, u)| (format!("participant_ids[{i}]"), *u)).collect();
    people.push(("facilitator_id".into(), facilitator));
    errors.extend(people_who_may_not_see(&state, ws, &people, &conversations).await?);
    let Some(version) = version.filter(|_| errors.is_empty()) else {
        return refused(&state, &page, &draft, errors).await;
    };
    let created = state
        .store
        .create_calibration(
            ws,
            NewSession {
                title: draft.title.trim().to_string(),
                goals: draft.goals.clone(),
                scorecard_version_id: version,
                facilitator_id: facilitator,
                mode,
                hide_agent_name: draft.hide_agent_name,
                scheduled_at,
                scoring_deadline,
                conversation_ids: conversations,
                participant_ids: participants,
                review_plan_id,
                created_by: page.viewer.user_id,
            },
        )
        .await;
    match created {
        Ok(record) => Ok(Redirect::to(&format!("/calibrations/{}", record.session.id)).into_response()),
        Err(StoreError::Invalid(errors)) => refused(&state, &page, &draft, errors).await,
        Err(StoreError::Conflict(why)) => refused(&state, &page, &draft, vec![FieldError::new("session", why)]).await,
        Err(e) => Err(e.into()),
    }
}

/// The create form again, as typed, with what was wrong.
async fn refused(state: &AppState, page: &PageAuth, draft: &Draft, errors: Vec<FieldError>) -> PageResult<Response> {
    let markup = create_form(state, page, draft, &errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, markup).into_response())
}

// ---------------------------------------------------------------------------------------------
// The session page

#[derive(Deserialize)]
pub struct TabQuery {
    tab: Option<String>,
    done: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Overview,
    Scoring,
    Decisions,
    /// Title, goals, times, facilitator, the agent's name; adding and removing participants.
    Setup,
}

impl Tab {
    fn parse(text: Option<&str>) -> Tab {
        match text {
            Some("scoring") => Tab::Scoring,
            Some("decisions") => Tab::Decisions,
            Some("setup") => Tab::Setup,
            _ => Tab::Overview,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Tab::Overview => "overview",
            Tab::Scoring => "scoring",
            Tab::Decisions => "decisions",
            Tab::Setup => "setup",
        }
    }
}

pub async fn session_page(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    Query(q): Query<TabQuery>,
) -> PageResult<Markup> {
    let (record, role) = access(&state, &page.viewer, &raw).await?;
    let view = session_view(&state, &page.viewer, &record, role).await?;
    if role == SessionRole::Facilitator {
        let notice = match q.done.as_deref() {
            Some("saved") => Some("Saved."),
            Some("revealed") => Some("Scores revealed: the session is in discussion."),
            Some("created") => Some("Session created."),
            Some("setup") => Some("Setup saved."),
            Some("added") => Some("Participant added: their tasks are on their work list."),
            Some("removed") => Some("Participant removed; the reason is kept in the audit trail."),
            _ => None,
        };
        let tab = Tab::parse(q.tab.as_deref());
        let facilitation = record.facilitation.clone();
        facilitator_page(
            &state,
            &page,
            &record,
            &view,
            tab,
            &facilitation,
            record.revision,
            record.updated_at,
            notice,
            &[],
            None,
        )
        .await
    } else {
        participant_page(&state, &page, &record, &view, role).await
    }
}

fn session_header(view: &SessionView) -> Markup {
    let s = &view.session;
    html! {
        h1 { (s.title) " " (status_badge(s.status)) }
        p class="muted" {
            "Mode: " (s.mode.as_str())
            @if s.hide_agent_name { " · agent names hidden from participants" }
            @if let Some(at) = s.scheduled_at { " · discussion " (datetime(at)) }
            @if let Some(d) = s.scoring_deadline { " · scoring deadline " (datetime(d)) }
        }
        @if !s.goals.is_empty() { p { "Goals: " (s.goals) } }
    }
}

async fn participant_page(
    state: &AppState,
    page: &PageAuth,
    record: &SessionRecord,
    view: &SessionView,
    role: SessionRole,
) -> PageResult<Markup> {
    let matrix = if view.others_visible {
        let tasks = state.store.calibration_tasks(page.viewer.workspace_id, record.session.id).await?;
        Some(build_matrix(state, &page.viewer, record, &tasks).await?)
    } else {
        None
    };
    let definition =
        state.store.get_version(page.viewer.workspace_id, record.session.scorecard_version_id).await?.definition;
    debug_assert_eq!(role, SessionRole::Participant);
    Ok(layout(
        page,
        &view.session.title,
        Nav::Calibrations,
        html! {
            (session_header(view))
            section aria-labelledby="tasks" {
                h2 id="tasks" { "Your scores" }
                table {
                    thead { tr { th { "Conversation" } th { "Agent" } th { "Status" } th class="num" { "Your score" } th { span class="skip" { "Actions" } } } }
                    tbody { @for t in &view.my_tasks {
                        @let c = view.conversations.iter().find(|c| c.id == t.conversation_id);
                        tr {
                            td { (c.map(|c| c.subject.as_str()).unwrap_or("")) }
                            td { @match c.and_then(|c| c.agent_name.as_deref()) { Some(name) => (name), None => span class="muted" { "hidden" } } }
                            td { (t.status.as_str()) }
                            td class="num" { (score(t.score)) }
                            td { a class="button small" href={ "/evaluations/" (t.evaluation_id) } {
                                @if t.status == plumbline_domain::evaluation::EvaluationStatus::Draft { "Score" } @else { "Open" } } }
                        }
                    } }
                }
                @if view.session.mode == SessionMode::Blind && !view.others_visible {
                    p class="muted small" { "This session is blind: the other participants' scores are shown once you submitted yours and the facilitator revealed them." }
                }
            }
            section aria-labelledby="people" {
                h2 id="people" { "Participants" }
                ul { @for p in &view.participants { li { (p.name) @if let Some(n) = p.submitted { span class="muted" { " · " (n) " submitted" } } } } }
            }
            @if let Some(matrix) = &matrix {
                section aria-labelledby="everyone" {
                    h2 id="everyone" { "Everyone's scores" }
                    @for m in matrix { (matrix_table(&definition, m, view, false)) }
                }
            }
            @if view.session.status == SessionStatus::Submitted {
                p { a class="button" href={ "/calibrations/" (view.session.id) "/report" } { "See the session's results" } }
            }
        },
    ))
}

/// The matrix of one conversation: criteria x participants, each cell coloured by its distance
/// from the suggested answer (the heat map of disagreement), the distribution as SVG bars, the
/// agreement and the suggestion. With `picker`, a calibrated-answer select per criterion.
fn matrix_table(definition: &ScorecardDefinition, m: &ConversationMatrix, view: &SessionView, picker: bool) -> Markup {
    matrix_table_with(definition, m, view, picker, &|_| None)
}

fn matrix_table_with(
    definition: &ScorecardDefinition,
    m: &ConversationMatrix,
    view: &SessionView,
    picker: bool,
    calibrated: &dyn Fn(plumbline_domain::CriterionId) -> Option<Choice>,
) -> Markup {
    let conversation = view.conversations.iter().find(|c| c.id == m.conversation_id);
    let columns: Vec<_> = m.scores.iter().filter(|s| s.submitted).collect();
    html! {
        h3 { (conversation.map(|c| c.subject.as_str()).unwrap_or("Conversation")) " "
            span class="muted small" { (conversation.map(|c| c.external_id.as_str()).unwrap_or("")) } }
        @if columns.is_empty() { p class="muted" { "Nobody has submitted a score of this conversation yet." } }
        div style="overflow-x:auto" {
            table class="matrix" {
                thead { tr {
                    th scope="col" { "Criterion" }
                    @for s in &columns { th scope="col" { (s.name) } }
                    th scope="col" { "Answers" } th scope="col" { "Agreement" } th scope="col" { "Suggested" }
                    @if picker { th scope="col" { "Calibrated answer" } }
                } }
                tbody {
                    @for row in &m.criteria {
                        @let Some(criterion) = definition.criterion(row.criterion_id) else { continue };
                        tr {
                            th scope="row" { (row.title) }
                            @for s in &columns {
                                @match row.cells.iter().find(|c| c.user_id == s.user_id) {
                                    Some(cell) => td class=(heat_class(criterion, cell.choice, row.summary.suggested)) title=(choice_text(criterion, cell.choice)) {
                                        (choice_short(criterion, cell.choice))
                                        @if !cell.comment.is_empty() { sup class="muted" title="has a comment" { "c" } } },
                                    None => td class="heat-na" { "–" },
                                }
                            }
                            td { (distribution_bars(criterion, &row.summary)) }
                            td { (percent(row.summary.percent_agreement))
                                @if let Some(spread) = row.summary.spread { br; span class="muted small" { "spread " (spread) } } }
                            td { (row.summary.suggested.map(|c| choice_text(criterion, c)).unwrap_or_else(|| "–".into())) }
                            @if picker {
                                @let name = format!("calibrated.{}.{}", m.conversation_id, criterion.id);
                                @let current = calibrated(criterion.id);
                                td {
                                    label class="skip" for=(name) { "Calibrated answer for " (row.title) }
                                    select id=(name) name=(name) style="min-width:9rem" {
                                        option value="" { "–" }
                                        @for (i, o) in criterion.scale.options.iter().enumerate() {
                                            option value=(i) selected[current == Some(Choice::Option(i))] { (o.label) " (" (o.points) ")" }
                                        }
                                        @if criterion.na_allowed { option value="na" selected[current == Some(Choice::NotApplicable)] { "N/A" } }
                                    }
                                }
                            }
                        }
                    }
                    tr {
                        th scope="row" { "Score" }
                        @for s in &columns { td { strong { (score(s.score)) } } }
                        td {} td {} td {} @if picker { td {} }
                    }
                }
            }
        }
        p class="legend small muted" { "Distance from the suggested answer: "
            span class="heat-0" { "same" } span class="heat-1" { "one step" } span class="heat-2" { "two steps" } span class="heat-3" { "further or N/A vs an answer" } }
    }
}

#[allow(clippy::too_many_arguments)]
async fn facilitator_page(
    state: &AppState,
    page: &PageAuth,
    record: &SessionRecord,
    view: &SessionView,
    tab: Tab,
    facilitation: &Facilitation,
    revision: i64,
    loaded_at: Millis,
    notice: Option<&str>,
    errors: &[FieldError],
    setup: Option<&SetupDraft>,
) -> PageResult<Markup> {
    let ws = page.viewer.workspace_id;
    let s = &view.session;
    let version = state.store.get_version(ws, s.scorecard_version_id).await?;
    let definition = &version.definition;
    let open = !s.status.is_final();
    let base = format!("/calibrations/{}", s.id);
    let tab_link = |t: Tab, label: &str| {
        html! { a href={ (base) "?tab=" (t.as_str()) } aria-current=[(t == tab).then_some("page")] { (label) } }
    };
    let body = match tab {
        Tab::Overview => overview_tab(view, facilitation, open),
        Tab::Scoring => {
            let tasks = state.store.calibration_tasks(ws, s.id).await?;
            let matrix = build_matrix(state, &page.viewer, record, &tasks).await?;
            scoring_tab(definition, view, &matrix, facilitation, open)
        }
        Tab::Decisions => {
            let users: Vec<User> = state
                .store
                .list_users(ws, VendorScope::All, &UserFilter { vendor_id: None, role: None })
                .await?
                .into_iter()
                .filter(|u| u.active)
                .collect();
            decisions_tab(definition, facilitation, &users, open)
        }
        Tab::Setup => {
            let users = active_users(state, ws).await?;
            let draft = setup.cloned().unwrap_or_else(|| SetupDraft::of(&record.session));
            setup_tab(page, view, &users, &draft, errors)
        }
    };
    Ok(layout(
        page,
        &s.title,
        Nav::Calibrations,
        html! {
            (session_header(view))
            @if let Some(n) = notice { p class="notice" role="status" { (n) } }
            @if !errors.is_empty() {
                div class="error" role="alert" { p { "Nothing was saved:" } ul { @for e in errors { li { code { (e.field) } ": " (e.reason) } } } }
            }
            div class="actions" style="margin-bottom:1rem" {
                @if s.status == SessionStatus::Scoring {
                    form method="post" action={ (base) "/reveal" } {
                        (csrf_field(page))
                        button type="submit" { "Reveal scores" }
                    }
                }
                @if s.status == SessionStatus::Submitted {
                    a class="button" href={ (base) "/report" } { "Session report" }
                }
            }
            nav class="tabs" aria-label="Session sections" {
                (tab_link(Tab::Overview, "Overview"))
                (tab_link(Tab::Scoring, "Scoring"))
                (tab_link(Tab::Decisions, "Decisions and actions"))
                (tab_link(Tab::Setup, "Setup and people"))
            }
            @if tab == Tab::Setup { (body) } @else {
            form method="post" action={ (base) "/facilitation" } {
                (csrf_field(page))
                input type="hidden" name="tab" value=(tab.as_str());
                input type="hidden" name="revision" value=(revision);
                input type="hidden" name="loaded_at" value=(loaded_at);
                (body)
                @if open { div class="sticky-actions actions" { button type="submit" name="action" value="save" { "Save" }
                    @if tab == Tab::Scoring { button type="submit" name="action" value="suggest" class="secondary" { "Use the suggested answers where none is picked" } } } }
            }
            }
            @if s.status == SessionStatus::Discussion || s.status == SessionStatus::Scoring {
                section aria-labelledby="finish" {
                    h2 id="finish" { "Finish" }
                    @if s.status == SessionStatus::Discussion {
                        form method="post" action={ (base) "/submit" } {
                            (csrf_field(page))
                            input type="hidden" name="revision" value=(revision);
                            @if let Some(p) = &view.publishing {
                                @if p.available {
                                    div class="choice" {
                                        input type="checkbox" id="publish" name="publish" value="1";
                                        label for="publish" { "Publish the calibrated result as an evaluation that counts in IQS" }
                                    }
                                } @else if let Some(why) = &p.reason {
                                    p class="muted small" { "Publishing is not offered: " (why) "." }
                                }
                            }
                            p class="small muted" { "Submitting needs a calibrated answer for every criterion. It freezes the session and writes its report." }
                            button type="submit" { "Submit the session" }
                        }
                    } @else {
                        p class="muted" { "Reveal the scores to discuss them; the session can be submitted after that." }
                    }
                    form method="post" action={ (base) "/cancel" } class="actions" {
                        (csrf_field(page))
                        label for="reason" class="inline" { "Reason to cancel" }
                        input type="text" id="reason" name="reason" style="max-width:20rem";
                        button type="submit" class="danger small" { "Cancel session" }
                    }
                }
            }
        },
    ))
}

fn overview_tab(view: &SessionView, facilitation: &Facilitation, open: bool) -> Markup {
    let attendance = |user: UserId| facilitation.attendance.iter().find(|a| a.user_id == user).map(|a| a.attendance);
    html! {
        section aria-labelledby="conversations" {
            h2 id="conversations" { "Conversations" }
            table { thead { tr { th { "Conversation" } th { "Channel" } th { "Agent" } th { "Started" } } }
                tbody { @for c in &view.conversations { tr {
                    td { (c.subject) " " span class="muted small" { (c.external_id) } }
                    td { (c.channel.as_str()) }
                    td { (c.agent_name.clone().unwrap_or_default()) }
                    td { (datetime(c.started_at)) }
                } } } }
        }
        section aria-labelledby="participants" {
            h2 id="participants" { "Participants and attendance" }
            table { thead { tr { th { "Participant" } th { "Scores submitted" } th { "Attendance" } } }
                tbody { @for p in view.participants.iter().filter(|p| p.active) {
                    @let id = format!("attendance.{}", p.user_id);
                    tr {
                        td { (p.name) }
                        td { (p.submitted.unwrap_or(0)) " of " (view.conversations.len()) }
                        td {
                            label class="skip" for=(id) { "Attendance of " (p.name) }
                            select id=(id) name=(id) disabled[!open] style="max-width:10rem" {
                                option value="" { "not recorded" }
                                @for a in Attendance::ALL { option value=(a.as_str()) selected[attendance(p.user_id) == Some(*a)] { (a.as_str()) } }
                            }
                        }
                    }
                } } }
            @let removed: Vec<_> = view.participants.iter().filter(|p| !p.active).collect();
            @if !removed.is_empty() {
                p class="muted small" { "Removed: " @for p in removed { (p.name) @if let Some(r) = &p.removal_reason { " (" (r) ")" } "; " } }
            }
        }
        section {
            label for="notes" { "Notes" }
            textarea id="notes" name="notes" rows="6" disabled[!open] { (facilitation.notes) }
        }
    }
}

fn scoring_tab(
    definition: &ScorecardDefinition,
    view: &SessionView,
    matrix: &[ConversationMatrix],
    facilitation: &Facilitation,
    open: bool,
) -> Markup {
    html! {
        @for m in matrix {
            @let calibrated = facilitation.calibrated_for(m.conversation_id);
            @let current = |criterion: plumbline_domain::CriterionId| calibrated.and_then(|c| c.answers.iter().find(|a| a.criterion_id == criterion)).map(|a| a.choice);
            section {
                (matrix_table_with(definition, m, view, open, &current))
                div class="grid2" {
                    div {
                        @let id = format!("feedback.{}", m.conversation_id);
                        label for=(id) { "Calibrated feedback" }
                        @let text = calibrated.map(|c| c.feedback.clone()).filter(|f| !f.is_empty()).unwrap_or_else(|| m.feedback_prefill.clone());
                        textarea id=(id) name=(id) rows="8" disabled[!open] { (text) }
                    }
                    div class="comments" {
                        h3 { "The participants' comments" }
                        @for row in &m.criteria {
                            @for cell in row.cells.iter().filter(|c| !c.comment.trim().is_empty()) {
                                p { strong { (name_of(view, cell.user_id)) " on " (row.title) ": " } (cell.comment) }
                            }
                        }
                        @for s in m.scores.iter().filter(|s| s.overall_feedback.as_deref().is_some_and(|f| !f.trim().is_empty())) {
                            p { strong { (s.name) " overall: " } (s.overall_feedback.clone().unwrap_or_default()) }
                        }
                        @if m.criteria.iter().all(|r| r.cells.iter().all(|c| c.comment.trim().is_empty())) && m.scores.iter().all(|s| s.overall_feedback.as_deref().is_none_or(|f| f.trim().is_empty())) {
                            p class="muted" { "No comments yet." }
                        }
                    }
                }
            }
        }
        section aria-labelledby="feedback-to" {
            h2 id="feedback-to" { "Feedback to each participant" }
            @for p in view.participants.iter().filter(|p| p.active) {
                @let id = format!("pfeedback.{}", p.user_id);
                label for=(id) { "To " (p.name) }
                textarea id=(id) name=(id) rows="2" disabled[!open] {
                    (facilitation.participant_feedback.iter().find(|f| f.user_id == p.user_id).map(|f| f.feedback.as_str()).unwrap_or(""))
                }
            }
        }
    }
}

fn name_of(view: &SessionView, user: UserId) -> String {
    view.participants.iter().find(|p| p.user_id == user).map(|p| p.name.clone()).unwrap_or_else(|| "someone".into())
}

fn decisions_tab(definition: &ScorecardDefinition, facilitation: &Facilitation, users: &[User], open: bool) -> Markup {
    let criterion_select = |name: String, current: Option<plumbline_domain::CriterionId>| {
        html! {
            select id=(name) name=(name) disabled[!open] {
                option value="" { "the whole scorecard" }
                @for c in &definition.criteria { option value=(c.id) selected[current == Some(c.id)] { (c.title) } }
            }
        }
    };
    let n = facilitation.decisions.len();
    let k = facilitation.actions.len();
    html! {
        section aria-labelledby="decisions" {
            h2 id="decisions" { "Decisions" }
            p class="muted small" { "A decision attached to a criterion joins that criterion's guidelines, dated, once the session is submitted." }
            @for (i, d) in facilitation.decisions.iter().enumerate().map(|(i, d)| (i, Some(d))).chain(open.then_some((n, None))) {
                fieldset {
                    legend { @if d.is_some() { "Decision " (i + 1) } @else { "New decision" } }
                    @if let Some(d) = d { input type="hidden" name={ "decision." (i) ".id" } value=(d.id.0); }
                    label for={ "decision." (i) ".text" } { "Decision" }
                    textarea id={ "decision." (i) ".text" } name={ "decision." (i) ".text" } rows="2" disabled[!open] { (d.map(|d| d.text.as_str()).unwrap_or("")) }
                    label for={ "decision." (i) ".criterion" } { "Attached to" }
                    (criterion_select(format!("decision.{i}.criterion"), d.and_then(|d| d.criterion_id)))
                    @if d.is_some() && open {
                        div class="choice" { input type="checkbox" id={ "decision." (i) ".remove" } name={ "decision." (i) ".remove" } value="1";
                            label for={ "decision." (i) ".remove" } { "Remove this decision" } }
                    }
                }
            }
        }
        section aria-labelledby="action-items" {
            h2 id="action-items" { "Action items" }
            @for (i, a) in facilitation.actions.iter().enumerate().map(|(i, a)| (i, Some(a))).chain(open.then_some((k, None))) {
                fieldset {
                    legend { @if a.is_some() { "Action " (i + 1) } @else { "New action item" } }
                    @if let Some(a) = a { input type="hidden" name={ "action." (i) ".id" } value=(a.id.0); }
                    div class="grid2" {
                        div {
                            label for={ "action." (i) ".kind" } { "Kind" }
                            select id={ "action." (i) ".kind" } name={ "action." (i) ".kind" } disabled[!open] {
                                @for kind in ActionKind::ALL { option value=(kind.as_str()) selected[a.is_some_and(|a| a.kind == *kind)] { (kind.as_str()) } }
                            }
                        }
                        div {
                            label for={ "action." (i) ".owner" } { "Owner" }
                            select id={ "action." (i) ".owner" } name={ "action." (i) ".owner" } disabled[!open] {
                                option value="" { "nobody yet" }
                                @for u in users { option value=(u.id) selected[a.and_then(|a| a.owner_id) == Some(u.id)] { (u.name) } }
                            }
                        }
                        div {
                            label for={ "action." (i) ".due" } { "Due on" }
                            input type="date" id={ "action." (i) ".due" } name={ "action." (i) ".due" } disabled[!open] value=(a.and_then(|a| a.due_on.clone()).unwrap_or_default());
                        }
                    }
                    label for={ "action." (i) ".text" } { "What needs doing" }
                    textarea id={ "action." (i) ".text" } name={ "action." (i) ".text" } rows="2" disabled[!open] { (a.map(|a| a.text.as_str()).unwrap_or("")) }
                    @if a.is_some() && open {
                        div class="choice" { input type="checkbox" id={ "action." (i) ".remove" } name={ "action." (i) ".remove" } value="1";
                            label for={ "action." (i) ".remove" } { "Remove this action item" } }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Save, reveal, submit, cancel

/// Applies one tab's fields to the facilitation document; the other tabs' parts stay as loaded.
fn apply_tab(
    tab: Tab,
    fields: &Fields,
    definition: &ScorecardDefinition,
    record: &SessionRecord,
    matrix: Option<&[ConversationMatrix]>,
    facilitation: &mut Facilitation,
) {
    let active = record.active_participants();
    match tab {
        // The setup has its own forms; it never posts the facilitation document.
        Tab::Setup => {}
        Tab::Overview => {
            facilitation.notes = fields.text("notes");
            facilitation.attendance = active
                .iter()
                .filter_map(|u| {
                    let value = fields.get(&format!("attendance.{u}"))?;
                    Attendance::parse(value).map(|attendance| AttendanceEntry { user_id: *u, attendance })
                })
                .collect();
        }
        Tab::Scoring => {
            let suggest = fields.get("action") == Some("suggest");
            let mut calibrated = Vec::new();
            for conversation in &record.session.conversation_ids {
                let previous = facilitation.calibrated_for(*conversation);
                let mut answers = Vec::new();
                for criterion in &definition.criteria {
                    let picked =
                        fields.get(&format!("calibrated.{conversation}.{}", criterion.id)).and_then(parse_choice);
                    let suggested = || {
                        matrix?
                            .iter()
                            .find(|m| m.conversation_id == *conversation)?
                            .criteria
                            .iter()
                            .find(|c| c.criterion_id == criterion.id)?
                            .summary
                            .suggested
                    };
                    let choice = picked.or_else(|| if suggest { suggested() } else { None });
                    if let Some(choice) = choice {
                        let comment = previous
                            .and_then(|p| p.answers.iter().find(|a| a.criterion_id == criterion.id))
                            .map(|a| a.comment.clone())
                            .unwrap_or_default();
                        answers.push(Answer { criterion_id: criterion.id, choice, comment });
                    }
                }
                let feedback = fields.text(&format!("feedback.{conversation}"));
                if !answers.is_empty() || !feedback.trim().is_empty() {
                    calibrated.push(CalibratedConversation { conversation_id: *conversation, answers, feedback });
                }
            }
            facilitation.calibrated = calibrated;
            facilitation.participant_feedback = active
                .iter()
                .filter_map(|u| {
                    let feedback = fields.text(&format!("pfeedback.{u}"));
                    (!feedback.trim().is_empty()).then_some(ParticipantFeedback { user_id: *u, feedback })
                })
                .collect();
        }
        Tab::Decisions => {
            let mut decisions = Vec::new();
            for i in 0.. {
                let Some(text) = fields.get(&format!("decision.{i}.text")) else { break };
                let id = fields.get(&format!("decision.{i}.id")).and_then(|id| id.parse().ok());
                let removed = fields.get(&format!("decision.{i}.remove")).is_some();
                // An empty new row is no decision; an emptied existing one is refused by the domain.
                if removed || (id.is_none() && text.trim().is_empty()) {
                    continue;
                }
                decisions.push(Decision {
                    id: id.map(plumbline_domain::DecisionId).unwrap_or_default(),
                    text: text.to_string(),
                    criterion_id: fields.get(&format!("decision.{i}.criterion")).and_then(|c| c.parse().ok()),
                });
            }
            facilitation.decisions = decisions;
            let mut actions = Vec::new();
            for i in 0.. {
                let Some(text) = fields.get(&format!("action.{i}.text")) else { break };
                let id = fields.get(&format!("action.{i}.id")).and_then(|id| id.parse().ok());
                let removed = fields.get(&format!("action.{i}.remove")).is_some();
                if removed || (id.is_none() && text.trim().is_empty()) {
                    continue;
                }
                let previous = facilitation.actions.iter().find(|a| Some(a.id.0) == id);
                actions.push(ActionItem {
                    id: id.map(plumbline_domain::ActionItemId).unwrap_or_default(),
                    kind: fields
                        .get(&format!("action.{i}.kind"))
                        .and_then(ActionKind::parse)
                        .unwrap_or(ActionKind::Process),
                    text: text.to_string(),
                    owner_id: fields.get(&format!("action.{i}.owner")).and_then(|o| o.parse().ok()),
                    due_on: fields
                        .get(&format!("action.{i}.due"))
                        .map(str::trim)
                        .filter(|d| !d.is_empty())
                        .map(str::to_string),
                    done: previous.is_some_and(|p| p.done),
                });
            }
            facilitation.actions = actions;
        }
    }
}

pub async fn save_facilitation(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    let record = facilitate(&state, &page.viewer, &raw).await?;
    let ws = page.viewer.workspace_id;
    let tab = Tab::parse(fields.get("tab"));
    let revision: i64 = fields.get("revision").and_then(|r| r.parse().ok()).unwrap_or(record.revision);
    let loaded_at: Millis = fields.get("loaded_at").and_then(|r| r.parse().ok()).unwrap_or(record.updated_at);
    let version = state.store.get_version(ws, record.session.scorecard_version_id).await?;
    let matrix = if tab == Tab::Scoring {
        let tasks = state.store.calibration_tasks(ws, record.session.id).await?;
        Some(build_matrix(&state, &page.viewer, &record, &tasks).await?)
    } else {
        None
    };
    let mut facilitation = record.facilitation.clone();
    apply_tab(tab, &fields, &version.definition, &record, matrix.as_deref(), &mut facilitation);
    let id = record.session.id;
    match state.store.save_facilitation(ws, id, revision, facilitation.clone(), page.viewer.user_id).await {
        Ok(_) => Ok(Redirect::to(&format!("/calibrations/{id}?tab={}&done=saved", tab.as_str())).into_response()),
        Err(StoreError::Invalid(errors)) => {
            let view = session_view(&state, &page.viewer, &record, SessionRole::Facilitator).await?;
            let markup = facilitator_page(
                &state,
                &page,
                &record,
                &view,
                tab,
                &facilitation,
                revision,
                loaded_at,
                None,
                &errors,
                None,
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, markup).into_response())
        }
        Err(StoreError::Stale { current_revision, updated_by, updated_at }) => {
            let changes: Vec<_> =
                state.store.calibration_audit(ws, id).await?.into_iter().filter(|a| a.at > loaded_at).collect();
            let who = updated_by.unwrap_or_else(|| "Someone".into());
            let markup = layout(
                &page,
                "Saved by someone else",
                Nav::Calibrations,
                html! {
                    h1 { "Someone else saved this session first" }
                    section {
                        p class="error" role="alert" {
                            (who) " saved revision " (current_revision) " at " (datetime(updated_at))
                            ", after you opened the page. Nothing of yours was saved and nothing of theirs was overwritten."
                        }
                        @if !changes.is_empty() {
                            h2 { "What changed since you opened it" }
                            table { thead { tr { th { "When" } th { "Who" } th { "What" } th { "Before" } th { "After" } } }
                                tbody { @for c in &changes { tr {
                                    td { (datetime(c.at)) } td { (c.user_name) } td { (c.change.what) }
                                    td { (c.change.old.clone().unwrap_or_default()) } td { (c.change.new.clone().unwrap_or_default()) }
                                } } } }
                        }
                        p { a class="button" href={ "/calibrations/" (id) "?tab=" (tab.as_str()) } { "Reload the session" }
                            " and apply your change again." }
                    }
                },
            );
            Ok((StatusCode::CONFLICT, markup).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn reveal(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Redirect> {
    Fields::checked(&page, form)?;
    let record = facilitate(&state, &page.viewer, &raw).await?;
    state.store.reveal_calibration(page.viewer.workspace_id, record.session.id, page.viewer.user_id).await?;
    Ok(Redirect::to(&format!("/calibrations/{}?tab=scoring&done=revealed", record.session.id)))
}

pub async fn submit(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Redirect> {
    let fields = Fields::checked(&page, form)?;
    let record = facilitate(&state, &page.viewer, &raw).await?;
    let ws = page.viewer.workspace_id;
    let revision = fields.get("revision").and_then(|r| r.parse().ok());
    let publish = fields.get("publish").is_some();
    match state.store.submit_calibration(ws, record.session.id, revision, publish, page.viewer.user_id).await {
        Ok(_) => Ok(Redirect::to(&format!("/calibrations/{}/report", record.session.id))),
        Err(StoreError::Invalid(errors)) => Err(PageError::Refused {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "The session cannot be submitted yet".into(),
            detail: "Every criterion of every conversation needs a calibrated answer (Scoring tab).".into(),
            errors,
        }),
        Err(e) => Err(e.into()),
    }
}

pub async fn cancel(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Redirect> {
    let fields = Fields::checked(&page, form)?;
    let record = facilitate(&state, &page.viewer, &raw).await?;
    let reason = fields.text("reason");
    if reason.trim().is_empty() {
        return Err(PageError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Say why",
            "Give a reason to cancel the session.",
        ));
    }
    state
        .store
        .cancel_calibration(page.viewer.workspace_id, record.session.id, reason.trim(), page.viewer.user_id)
        .await?;
    Ok(Redirect::to(&format!("/calibrations/{}", record.session.id)))
}

// ---------------------------------------------------------------------------------------------
// The report

pub async fn report(State(state): State<AppState>, page: PageAuth, Path(raw): Path<String>) -> PageResult<Markup> {
    let (record, role) = access(&state, &page.viewer, &raw).await?;
    if record.session.status != SessionStatus::Submitted {
        return Err(PageError::refused(
            StatusCode::CONFLICT,
            "No report yet",
            "The session's report exists once the facilitator submitted it.",
        ));
    }
    let ws = page.viewer.workspace_id;
    let report = session_report(&record, role, page.viewer.user_id);
    let view = session_view(&state, &page.viewer, &record, role).await?;
    let definition = state.store.get_version(ws, record.session.scorecard_version_id).await?.definition;
    let name = |user: UserId| {
        record
            .participants
            .iter()
            .find(|p| p.user_id == user)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| "someone".into())
    };
    let subject = |c: ConversationId| {
        view.conversations.iter().find(|x| x.id == c).map(|x| x.subject.clone()).unwrap_or_default()
    };
    let facilitator = role == SessionRole::Facilitator;
    Ok(layout(
        &page,
        &format!("Report: {}", record.session.title),
        Nav::Calibrations,
        html! {
            p { a href={ "/calibrations/" (record.session.id) } { "← Back to the session" } }
            h1 { "Report: " (record.session.title) }
            p class="muted" { "Submitted " (record.session.submitted_at.map(datetime).unwrap_or_default())
                @if record.session.published { " · the calibrated result is published and counts in IQS" } }
            section aria-labelledby="graders" {
                h2 id="graders" { @if facilitator { "Participants against the calibrated answer" } @else { "Your scores against the calibrated answer" } }
                table {
                    thead { tr { th { "Participant" } th { "Conversation" } th class="num" { "Score" } th class="num" { "Calibrated" }
                        th class="num" { "Delta" } th { "Within tolerance" } th class="num" { "Alignment" } th class="num" { "N/A disagreements" } th class="num" { "Critical disagreements" } } }
                    tbody { @for p in &report.results.participants { tr {
                        td { (name(p.user_id)) } td { (subject(p.conversation_id)) }
                        td class="num" { (score(p.score)) } td class="num" { (score(p.calibrated_score)) }
                        td class="num" { (p.score_delta.map(|d| format!("{d:+.1}")).unwrap_or_else(|| "–".into())) }
                        td { @match p.within_tolerance { Some(true) => "yes", Some(false) => strong class="overdue" { "no" }, None => "–" } }
                        td class="num" { (percent(p.alignment)) }
                        td class="num" { (p.na_disagreements) } td class="num" { (p.critical_disagreements) }
                    } } }
                }
                p class="small" { a href="/api/v1/reports/calibration?format=csv" { "Download the Calibration Performance Report as CSV" } }
            }
            section aria-labelledby="criteria" {
                h2 id="criteria" { "Criteria" }
                table {
                    thead { tr { th { "Conversation" } th { "Criterion" } th { "Calibrated answer" } th { "Answers" } th class="num" { "Gave the calibrated answer" } th class="num" { "Agreement" } } }
                    tbody { @for c in &report.results.criteria {
                        @let Some(criterion) = definition.criterion(c.summary.criterion_id) else { continue };
                        tr {
                            td { (subject(c.conversation_id)) } td { (criterion.title) }
                            td { (choice_text(criterion, c.calibrated)) }
                            td { (distribution_bars(criterion, &c.summary)) }
                            td class="num" { (percent(c.agreement_with_calibrated)) }
                            td class="num" { (percent(c.summary.percent_agreement)) }
                        }
                    } }
                }
            }
            section aria-labelledby="reliability" {
                h2 id="reliability" { "Reliability" }
                p class="muted small" { "Chance-corrected agreement with 95% intervals; small sessions give wide intervals." }
                div class="grid2" {
                    @for (title, stats) in [("Answers to criteria", &report.results.reliability_criteria), ("Evaluation scores", &report.results.reliability_scores)] {
                        div { h3 { (title) }
                            table { thead { tr { th { "Statistic" } th class="num" { "Value" } th { "95% interval" } th { "Note" } } }
                                tbody { @for s in stats.iter() { tr {
                                    td { (s.name) } td class="num" { (s.value.map(|v| format!("{v:.3}")).unwrap_or_else(|| "–".into())) }
                                    td { (s.ci95.map(|[a, b]| format!("{a:.2} to {b:.2}")).unwrap_or_else(|| "–".into())) }
                                    td class="small" { (s.interpretation.clone().unwrap_or_default()) @if !s.note.is_empty() { " " span class="muted" { (s.note) } } }
                                } } } }
                        }
                    }
                }
            }
            section aria-labelledby="calibrated" {
                h2 id="calibrated" { "Calibrated feedback" }
                @for c in &report.facilitation.calibrated { h3 { (subject(c.conversation_id)) } p style="white-space:pre-wrap" { (c.feedback) } }
                @for f in &report.facilitation.participant_feedback { p { strong { "To " (name(f.user_id)) ": " } (f.feedback) } }
            }
            @if !report.facilitation.decisions.is_empty() || !report.facilitation.actions.is_empty() {
                section aria-labelledby="decided" {
                    h2 id="decided" { "Decisions and action items" }
                    ul { @for d in &report.facilitation.decisions { li { (d.text)
                        @if let Some(c) = d.criterion_id.and_then(|c| definition.criterion(c)) { span class="muted" { " (" (c.title) ")" } } } } }
                    ul { @for a in &report.facilitation.actions { li { span class="badge" { (a.kind.as_str()) } " " (a.text)
                        @if let Some(due) = &a.due_on { span class="muted" { " · due " (due) } } } } }
                }
            }
            @if facilitator && !report.facilitation.notes.is_empty() {
                section { h2 { "Notes" } p style="white-space:pre-wrap" { (report.facilitation.notes) } }
            }
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Setup and people (facilitators): the same store calls and checks as PATCH
// /api/v1/calibrations/{id} and its participants endpoints.

async fn active_users(state: &AppState, ws: plumbline_domain::WorkspaceId) -> PageResult<Vec<User>> {
    Ok(state
        .store
        .list_users(ws, VendorScope::All, &UserFilter { vendor_id: None, role: None })
        .await?
        .into_iter()
        .filter(|u| u.active)
        .collect())
}

/// The setup form as typed, so a refused form comes back unchanged.
#[derive(Clone)]
struct SetupDraft {
    title: String,
    goals: String,
    facilitator_id: String,
    hide_agent_name: bool,
    scheduled_at: String,
    scoring_deadline: String,
}

impl SetupDraft {
    fn of(session: &plumbline_domain::calibration::CalibrationSession) -> SetupDraft {
        SetupDraft {
            title: session.title.clone(),
            goals: session.goals.clone(),
            facilitator_id: session.facilitator_id.to_string(),
            hide_agent_name: session.hide_agent_name,
            scheduled_at: session.scheduled_at.map(datetime_input).unwrap_or_default(),
            scoring_deadline: session.scoring_deadline.map(datetime_input).unwrap_or_default(),
        }
    }

    fn typed(fields: &Fields) -> SetupDraft {
        SetupDraft {
            title: fields.text("title"),
            goals: fields.text("goals"),
            facilitator_id: fields.text("facilitator_id"),
            hide_agent_name: fields.get("hide_agent_name").is_some(),
            scheduled_at: fields.text("scheduled_at"),
            scoring_deadline: fields.text("scoring_deadline"),
        }
    }
}

fn setup_tab(page: &PageAuth, view: &SessionView, users: &[User], draft: &SetupDraft, errors: &[FieldError]) -> Markup {
    let s = &view.session;
    let base = format!("/calibrations/{}", s.id);
    let open = !s.status.is_final();
    let field_error = |field: &str| -> Markup {
        html! { @for e in errors.iter().filter(|e| e.field == field) { p class="error" { (e.reason) } } }
    };
    let active: Vec<_> = view.participants.iter().filter(|p| p.active).collect();
    let addable: Vec<&User> = users.iter().filter(|u| !active.iter().any(|p| p.user_id == u.id)).collect();
    html! {
        section aria-labelledby="setup" {
            h2 id="setup" { "Setup" }
            form method="post" action={ (base) "/setup" } {
                (csrf_field(page))
                label for="title" { "Title" }
                input id="title" name="title" type="text" required maxlength="200" value=(draft.title) disabled[!open];
                (field_error("title"))
                label for="goals" { "Goals" }
                textarea id="goals" name="goals" rows="2" disabled[!open] { (draft.goals) }
                (field_error("goals"))
                div class="grid2" {
                    div { label for="scheduled_at" { "Discussion scheduled at (UTC)" }
                        input id="scheduled_at" name="scheduled_at" type="datetime-local" value=(draft.scheduled_at) disabled[!open];
                        (field_error("scheduled_at")) }
                    div { label for="scoring_deadline" { "Scoring deadline (UTC)" }
                        input id="scoring_deadline" name="scoring_deadline" type="datetime-local" value=(draft.scoring_deadline) disabled[!open];
                        (field_error("scoring_deadline")) }
                }
                label for="facilitator_id" { "Facilitator" }
                select id="facilitator_id" name="facilitator_id" disabled[!open] {
                    @for u in users.iter().filter(|u| matches!(u.role, Role::Admin | Role::QaLead)) {
                        option value=(u.id) selected[draft.facilitator_id == u.id.to_string()] { (u.name) " (" (u.role.to_string()) ")" }
                    }
                }
                (field_error("facilitator_id"))
                @if s.mode == SessionMode::Hidden {
                    p class="muted small" { "A hidden session shows the agent's name, as an ordinary review does." }
                    @if let Some(plan) = s.review_plan_id {
                        p class="muted small" { "The tasks wait in the participants' queues of " a href={ "/review-plans/" (plan) } { "a review plan" } ", as ordinary items; a participant added later gets theirs there too." }
                    }
                } @else {
                    div class="choice" {
                        input type="checkbox" name="hide_agent_name" id="hide_agent_name" value="1" checked[draft.hide_agent_name] disabled[!open];
                        label for="hide_agent_name" { "Hide the agent's name from participants" }
                    }
                }
                (field_error("hide_agent_name"))
                @if open { button type="submit" { "Save setup" } }
            }
        }
        section aria-labelledby="people" {
            h2 id="people" { "Participants" }
            table { thead { tr { th { "Participant" } th { "Scores submitted" } th { "Remove" } } }
                tbody { @for p in &active {
                    @let reason_id = format!("reason-{}", p.user_id);
                    tr {
                        td { (p.name) }
                        td { (p.submitted.unwrap_or(0)) " of " (view.conversations.len()) }
                        td { @if open {
                            form method="post" action={ (base) "/participants/" (p.user_id) "/remove" } class="actions" {
                                (csrf_field(page))
                                label for=(reason_id) class="skip" { "Why remove " (p.name) }
                                input type="text" id=(reason_id) name="reason" required maxlength="2000" placeholder="Why (kept in the audit trail)" style="max-width:18rem";
                                button type="submit" class="small danger" { "Remove " (p.name) }
                            }
                        } }
                    }
                } } }
            (field_error("reason"))
            @let removed: Vec<_> = view.participants.iter().filter(|p| !p.active).collect();
            @if !removed.is_empty() {
                h3 { "Removed" }
                ul { @for p in removed { li { (p.name) @if let Some(r) = &p.removal_reason { ": " (r) } } } }
            }
            @if s.status == SessionStatus::Scoring {
                form method="post" action={ (base) "/participants" } class="actions" {
                    (csrf_field(page))
                    div {
                        label for="user_id" { "Add a participant" }
                        select id="user_id" name="user_id" required {
                            option value="" { "choose a person" }
                            @for u in &addable { option value=(u.id) { (u.name) " (" (u.role.to_string()) ")" } }
                        }
                    }
                    div { button type="submit" { "Add participant" } }
                }
                (field_error("user_id"))
            } @else {
                p class="muted small" { "Participants can be added while the session is scoring." }
            }
        }
    }
}

/// Re-renders the setup tab with the reasons and what was typed (422, or 409 for a state that
/// forbids the change).
async fn setup_refused(
    state: &AppState,
    page: &PageAuth,
    record: &SessionRecord,
    errors: Vec<FieldError>,
    draft: Option<&SetupDraft>,
    status: StatusCode,
) -> PageResult<Response> {
    let view = session_view(state, &page.viewer, record, SessionRole::Facilitator).await?;
    let markup = facilitator_page(
        state,
        page,
        record,
        &view,
        Tab::Setup,
        &record.facilitation,
        record.revision,
        record.updated_at,
        None,
        &errors,
        draft,
    )
    .await?;
    Ok((status, markup).into_response())
}

fn setup_done(id: plumbline_domain::CalibrationId, done: &str) -> Response {
    Redirect::to(&format!("/calibrations/{id}?tab=setup&done={done}")).into_response()
}

pub async fn update_setup(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    let record = facilitate(&state, &page.viewer, &raw).await?;
    let draft = SetupDraft::typed(&fields);
    let mut errors = Vec::new();
    let mut time = |field: &str, text: &str| match parse_datetime(text) {
        Ok(t) => Some(t),
        Err(reason) => {
            errors.push(FieldError::new(field, reason));
            None
        }
    };
    let scheduled_at = time("scheduled_at", &draft.scheduled_at);
    let scoring_deadline = time("scoring_deadline", &draft.scoring_deadline);
    let facilitator_id = match draft.facilitator_id.parse() {
        Ok(id) => Some(id),
        Err(_) => {
            errors.push(FieldError::new("facilitator_id", "choose the facilitator"));
            None
        }
    };
    if !errors.is_empty() {
        return setup_refused(&state, &page, &record, errors, Some(&draft), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let patch = SessionPatch {
        title: Some(draft.title.clone()),
        goals: Some(draft.goals.clone()),
        facilitator_id,
        // A hidden session's form has no such box: leave it as it is.
        hide_agent_name: (record.session.mode != SessionMode::Hidden).then_some(draft.hide_agent_name),
        scheduled_at,
        scoring_deadline,
    };
    let id = record.session.id;
    match state.store.update_calibration(page.viewer.workspace_id, id, patch, page.viewer.user_id).await {
        Ok(_) => Ok(setup_done(id, "setup")),
        Err(e) => store_refusal(&state, &page, &record, e, Some(&draft)).await,
    }
}

/// A refusal from the store shown on the setup tab; anything else is an error page.
async fn store_refusal(
    state: &AppState,
    page: &PageAuth,
    record: &SessionRecord,
    error: StoreError,
    draft: Option<&SetupDraft>,
) -> PageResult<Response> {
    match error {
        StoreError::Invalid(errors) => {
            setup_refused(state, page, record, errors, draft, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        StoreError::Conflict(why) => {
            setup_refused(state, page, record, vec![FieldError::new("session", why)], draft, StatusCode::CONFLICT).await
        }
        e => Err(e.into()),
    }
}

pub async fn add_participant(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    let record = facilitate(&state, &page.viewer, &raw).await?;
    let ws = page.viewer.workspace_id;
    let refuse = |reason: &str| vec![FieldError::new("user_id", reason)];
    let Some(user) = fields.get("user_id").and_then(|u| u.parse::<UserId>().ok()) else {
        return setup_refused(
            &state,
            &page,
            &record,
            refuse("choose a person to add"),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    if state.store.get_user(ws, user).await.is_err() {
        return setup_refused(
            &state,
            &page,
            &record,
            refuse("there is no such user"),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let errors =
        people_who_may_not_see(&state, ws, &[("user_id".into(), user)], &record.session.conversation_ids).await?;
    if !errors.is_empty() {
        return setup_refused(&state, &page, &record, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    match state.store.add_participant(ws, record.session.id, user, page.viewer.user_id).await {
        Ok(_) => Ok(setup_done(record.session.id, "added")),
        Err(e) => store_refusal(&state, &page, &record, e, None).await,
    }
}

pub async fn remove_participant(
    State(state): State<AppState>,
    page: PageAuth,
    Path((raw, user)): Path<(String, String)>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    let record = facilitate(&state, &page.viewer, &raw).await?;
    let user: UserId = crate::api::path_id(&user)?;
    let reason = fields.text("reason");
    let ws = page.viewer.workspace_id;
    match state.store.remove_participant(ws, record.session.id, user, &reason, page.viewer.user_id).await {
        Ok(_) => Ok(setup_done(record.session.id, "removed")),
        Err(e) => store_refusal(&state, &page, &record, e, None).await,
    }
}
