//! Conversations: the list with filters and paging, one conversation with its transcript and the
//! evaluations the viewer may read, and the import page.
//!
//! The list and the detail use the same vendor scope and `Viewer::may_read_conversation` as
//! `/api/v1/conversations`; each evaluation is shown only when `Viewer::may_read_evaluation`
//! says so. The import streams the uploaded file through the same parser and the same
//! all-or-nothing store import as `POST /api/v1/conversations/import`.

use super::ui::{date, datetime, parse_datetime, score, url_encode};
use super::{Nav, PageError, PageResult, check_csrf, csrf_field, layout};
use crate::AppState;
use crate::extract::PageAuth;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::TryStreamExt;
use maud::{Markup, html};
use plumbline_domain::access::{Permission, VendorScope};
use plumbline_domain::conversation::{AuthorRole, Channel};
use plumbline_domain::org::Role;
use plumbline_domain::scorecard::VersionStatus;
use plumbline_domain::{AgentId, ConversationId};
use plumbline_ingest::Format;
use plumbline_store::{
    AgentFilter, ConversationFilter, EvaluationFilter, EvaluationVisibility, ImportError, PageRequest, UserFilter,
};
use serde::Deserialize;
use std::collections::HashMap;

const PAGE_SIZE: u32 = 50;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    vendor_id: String,
    #[serde(default)]
    team_id: String,
    #[serde(default)]
    agent_id: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    cursor: String,
}

/// An agent's own view: only their conversations (an agent without an agent record sees none).
fn only_agent(page: &PageAuth) -> Option<AgentId> {
    (page.viewer.role == Role::Agent).then(|| page.viewer.agent_id.unwrap_or_default())
}

pub async fn list(State(state): State<AppState>, page: PageAuth, Query(q): Query<ListQuery>) -> PageResult<Markup> {
    let viewer = &page.viewer;
    let ws = viewer.workspace_id;
    let scope = viewer.vendor_scope();
    let mut errors = Vec::new();
    fn id<T: std::str::FromStr>(errors: &mut Vec<String>, label: &str, text: &str) -> Option<T> {
        match text.trim() {
            "" => None,
            t => t.parse().map_err(|_| errors.push(format!("{label}: not one of the choices"))).ok(),
        }
    }
    let vendor_id = id(&mut errors, "Vendor", &q.vendor_id);
    let team_id = id(&mut errors, "Team", &q.team_id);
    let agent_id = id(&mut errors, "Agent", &q.agent_id);
    let mut when =
        |label: &str, text: &str| parse_datetime(text).map_err(|e| errors.push(format!("{label}: {e}"))).ok().flatten();
    let from = when("Started from", &q.from);
    let to = when("Started before", &q.to);
    let channel = Channel::ALL.into_iter().find(|c| c.as_str() == q.channel);
    let filter = ConversationFilter { vendor_id, team_id, agent_id, channel, from, to };
    let cursor = (!q.cursor.is_empty()).then(|| q.cursor.clone());
    let mut list = state
        .store
        .list_conversations(ws, scope, only_agent(&page), &filter, &PageRequest { cursor, limit: Some(PAGE_SIZE) })
        .await?;
    crate::calibration_views::redact_hidden_agents(&state, &page.viewer, &mut list.items).await?;
    let vendors = state.store.list_vendors(ws, scope).await?;
    let teams = state.store.list_teams(ws, scope).await?;
    let agents = state
        .store
        .list_agents(
            ws,
            scope,
            &AgentFilter::default(),
            &PageRequest { cursor: None, limit: Some(PageRequest::MAX_LIMIT) },
        )
        .await?
        .items;
    let vendor_name: HashMap<_, _> = vendors.iter().map(|v| (v.id, v.name.as_str())).collect();
    let team_name: HashMap<_, _> = teams.iter().map(|t| (t.id, t.name.as_str())).collect();
    let agent_name: HashMap<_, _> = agents.iter().map(|a| (a.id, a.name.as_str())).collect();
    // The next page keeps the filters; every value goes through the URL encoder.
    let next = list.next_cursor.as_ref().map(|cursor| {
        let pairs = [
            ("vendor_id", q.vendor_id.as_str()),
            ("team_id", q.team_id.as_str()),
            ("agent_id", q.agent_id.as_str()),
            ("channel", q.channel.as_str()),
            ("from", q.from.as_str()),
            ("to", q.to.as_str()),
            ("cursor", cursor.as_str()),
        ];
        let query: Vec<String> =
            pairs.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k}={}", url_encode(v))).collect();
        format!("/conversations?{}", query.join("&"))
    });
    let manage = viewer.may(Permission::ManageConversations);
    Ok(layout(
        &page,
        "Conversations",
        Nav::Conversations,
        html! {
            div class="actions" style="justify-content:space-between" {
                h1 { "Conversations" }
                @if manage { a class="button" href="/conversations/import" { "Import" } }
            }
            form method="get" action="/conversations" class="filters" {
                @if page.viewer.vendor_scope() == VendorScope::All {
                    div { label for="vendor_id" { "Vendor" }
                        select id="vendor_id" name="vendor_id" { option value="" { "any" }
                            @for v in &vendors { option value=(v.id) selected[q.vendor_id == v.id.to_string()] { (v.name) } } } }
                }
                div { label for="team_id" { "Team" }
                    select id="team_id" name="team_id" { option value="" { "any" }
                        @for t in &teams { option value=(t.id) selected[q.team_id == t.id.to_string()] { (t.name) } } } }
                @if only_agent(&page).is_none() {
                    div { label for="agent_id" { "Agent" }
                        select id="agent_id" name="agent_id" { option value="" { "any" }
                            @for a in &agents { option value=(a.id) selected[q.agent_id == a.id.to_string()] { (a.name) } } } }
                }
                div { label for="channel" { "Channel" }
                    select id="channel" name="channel" { option value="" { "any" }
                        @for c in Channel::ALL { option value=(c.as_str()) selected[q.channel == c.as_str()] { (c.as_str()) } } } }
                div { label for="from" { "Started from" } input type="date" id="from" name="from" value=(q.from); }
                div { label for="to" { "Started before" } input type="date" id="to" name="to" value=(q.to); }
                div { button type="submit" { "Filter" } }
            }
            @if !errors.is_empty() { div class="error" role="alert" { ul { @for e in &errors { li { (e) } } } } }
            section {
                @if list.items.is_empty() { p class="muted" { "No conversations match." } }
                @else {
                    table {
                        thead { tr { th { "Started" } th { "Subject" } th { "Channel" } th { "Agent" } th { "Team" } th { "Vendor" } th class="num" { "CSAT" } } }
                        tbody { @for c in &list.items { tr {
                            td { (datetime(c.started_at)) }
                            td { a href={ "/conversations/" (c.id) } { (c.subject) } " " span class="muted small" { (c.external_id) } }
                            td { (c.channel.as_str()) }
                            td { (c.agent_id.and_then(|a| agent_name.get(&a).copied()).unwrap_or("")) }
                            td { (c.team_id.and_then(|t| team_name.get(&t).copied()).unwrap_or("")) }
                            td { (vendor_name.get(&c.vendor_id).copied().unwrap_or("")) }
                            td class="num" { (c.metrics.csat.map(|v| v.to_string()).unwrap_or_default()) }
                        } } }
                    }
                }
                div class="actions" {
                    @if !q.cursor.is_empty() { a class="button secondary" href="/conversations" { "First page" } }
                    @if let Some(next) = &next { a class="button secondary" href=(next) rel="next" { "Next page" } }
                }
            }
        },
    ))
}

pub async fn detail(State(state): State<AppState>, page: PageAuth, Path(raw): Path<String>) -> PageResult<Markup> {
    let viewer = &page.viewer;
    let ws = viewer.workspace_id;
    let id: ConversationId = raw.parse().map_err(|_| PageError::NotFound)?;
    let mut c = state.store.get_conversation(ws, viewer.vendor_scope(), id).await?;
    if !viewer.may_read_conversation(c.vendor_id, c.agent_id) {
        return Err(PageError::NotFound);
    }
    crate::calibration_views::redact_hidden_agents(&state, viewer, std::slice::from_mut(&mut c)).await?;
    // The widest list the store allows this viewer, then the domain's rule for each evaluation.
    let visibility = EvaluationVisibility {
        vendor: viewer.vendor_scope(),
        author: None,
        agent: None,
        calibration_tasks_of_others: (!viewer.may(Permission::Calibrate)).then_some(viewer.user_id),
    };
    let evaluations: Vec<_> = state
        .store
        .list_evaluations(
            ws,
            &visibility,
            &EvaluationFilter { conversation_id: Some(id), ..Default::default() },
            &PageRequest { cursor: None, limit: Some(200) },
        )
        .await?
        .items
        .into_iter()
        .filter(|e| viewer.may_read_evaluation(e))
        .collect();
    let users = state.store.list_users(ws, VendorScope::All, &UserFilter { vendor_id: None, role: None }).await?;
    let user_name: HashMap<_, _> = users.iter().map(|u| (u.id, u.name.as_str())).collect();
    let mut version_label = HashMap::new();
    for e in &evaluations {
        if let std::collections::hash_map::Entry::Vacant(slot) = version_label.entry(e.scorecard_version_id) {
            let v = state.store.get_version(ws, e.scorecard_version_id).await?;
            let card = state.store.get_scorecard(ws, v.scorecard_id).await?;
            slot.insert(format!("{} v{}", card.name, v.number));
        }
    }
    let agent = match c.agent_id {
        Some(a) => state.store.get_agent(ws, VendorScope::All, a).await.ok().map(|a| a.name),
        None => None,
    };
    let vendor = state.store.get_vendor(ws, c.vendor_id).await?;
    // Starting a review: the same choices as on My work (active versions), for roles that review.
    let mut versions = Vec::new();
    if viewer.may(Permission::Evaluate) {
        for card in state.store.list_scorecards(ws).await? {
            if let Some(v) =
                state.store.list_versions(ws, card.id).await?.into_iter().find(|v| v.status == VersionStatus::Active)
            {
                versions.push((v.id, format!("{} v{}", card.name, v.number)));
            }
        }
    }
    let m = &c.metrics;
    Ok(layout(
        &page,
        &c.subject,
        Nav::Conversations,
        html! {
            p class="small" { a href="/conversations" { "Conversations" } }
            h1 { (c.subject) }
            p class="muted" {
                (c.channel.as_str()) " · " (datetime(c.started_at)) " · " (c.external_id) " · " (vendor.name)
                @if let Some(agent) = &agent { " · Agent: " (agent) }
            }
            div class="scoring" {
                section class="transcript" aria-labelledby="transcript-title" {
                    h2 id="transcript-title" { "Transcript" }
                    @if c.transcript.is_empty() { p class="muted" { "This conversation has no transcript." } }
                    @for msg in &c.transcript {
                        @let (class, who) = match msg.author { AuthorRole::Customer => ("message customer", "Customer"), AuthorRole::Agent => ("message agent", "Agent"), AuthorRole::System => ("message system", "System") };
                        div class=(class) { span class="author" { (who) @if let Some(at) = msg.at { " · " (datetime(at)) } } (msg.text) }
                    }
                }
                div {
                    section aria-labelledby="facts" {
                        h2 id="facts" { "Details" }
                        table class="facts" { tbody {
                            tr { th { "CSAT" } td { (m.csat.map(|v| v.to_string()).unwrap_or_else(|| "–".into())) } }
                            tr { th { "NPS" } td { (m.nps.map(|v| v.to_string()).unwrap_or_else(|| "–".into())) } }
                            tr { th { "First-contact resolution" } td { (m.fcr.map(|v| if v { "yes" } else { "no" }).unwrap_or("–")) } }
                            tr { th { "Handle time" } td { (m.handle_time_seconds.map(|s| format!("{}:{:02}", s / 60, s % 60)).unwrap_or_else(|| "–".into())) } }
                            tr { th { "Tags" } td { (c.tags.join(", ")) } }
                        } }
                    }
                    section aria-labelledby="evaluations" {
                        h2 id="evaluations" { "Evaluations" }
                        @if !versions.is_empty() {
                            form method="post" action="/reviews" class="actions" {
                                (csrf_field(&page))
                                input type="hidden" name="conversation_id" value=(c.id);
                                label for="scorecard_version_id" class="inline" { "Scorecard" }
                                select id="scorecard_version_id" name="scorecard_version_id" style="max-width:16rem" {
                                    @for (id, name) in &versions { option value=(id) { (name) } }
                                }
                                button type="submit" class="small" { "Start a review" }
                            }
                        }
                        @if evaluations.is_empty() { p class="muted" { "None you may read." } }
                        @else {
                            table {
                                thead { tr { th { "Reviewer" } th { "Scorecard" } th { "Kind" } th { "Status" } th class="num" { "Score" } th { "Date" } } }
                                tbody { @for e in &evaluations { tr {
                                    td { a href={ "/evaluations/" (e.id) } { (user_name.get(&e.reviewer_id).copied().unwrap_or("someone")) } }
                                    td { (version_label.get(&e.scorecard_version_id).cloned().unwrap_or_default()) }
                                    td { (e.kind.as_str()) }
                                    td { (e.status.as_str()) }
                                    td class="num" { (score(e.result.as_ref().and_then(|r| r.score))) }
                                    td { (date(e.submitted_at.unwrap_or(e.created_at))) }
                                } } }
                            }
                        }
                    }
                }
            }
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Import

fn require_manager(page: &PageAuth) -> PageResult<()> {
    if page.viewer.may(Permission::ManageConversations) { Ok(()) } else { Err(PageError::NotFound) }
}

pub async fn import_page(page: PageAuth) -> PageResult<Markup> {
    require_manager(&page)?;
    Ok(layout(
        &page,
        "Import conversations",
        Nav::Conversations,
        html! {
            p class="small" { a href="/conversations" { "Conversations" } }
            h1 { "Import conversations" }
            section {
                p { "Upload a CSV file with a header row, or JSON Lines (one JSON object per line). Rows are matched by "
                    code { "external_id" } ": importing again updates them, never duplicates them. If any row is bad, nothing is imported and every problem is listed with its line, field and reason." }
                details {
                    summary { "Columns" }
                    p class="small" {
                        code { "external_id" } ", " code { "channel" } " (email, chat, phone, social, other), " code { "agent" } ", " code { "team" } ", "
                        code { "vendor" } " (must exist), " code { "started_at" } " (RFC 3339, YYYY-MM-DD HH:MM or Unix ms), " code { "subject" } ", "
                        code { "transcript" } " (JSON array of {author, text, at} or lines \"customer: ...\"), " code { "tags" } ", "
                        code { "csat" } " (1-5), " code { "nps" } " (0-10), " code { "fcr" } ", " code { "handle_time_seconds" } "."
                    }
                }
                form id="import-form" method="post" action="/conversations/import" data-upload="" {
                    (csrf_field(&page))
                    label for="file" { "File" }
                    input type="file" id="file" name="file" required accept=".csv,.jsonl,.ndjson,.json,text/csv,application/x-ndjson";
                    label for="format" { "Format" }
                    select id="format" name="format" style="max-width:16rem" {
                        option value="" { "from the file name" }
                        option value="csv" { "CSV" }
                        option value="jsonl" { "JSON Lines" }
                    }
                    button type="submit" { "Import" }
                    noscript { p class="error" { "The upload needs JavaScript (it streams the file and shows its progress)." } }
                }
                div id="import-progress" hidden {
                    label for="upload-bar" { "Upload" }
                    progress id="upload-bar" max="100" value="0" {}
                    span id="upload-text" class="small muted" aria-live="polite" {}
                }
            }
            div id="import-result" aria-live="polite" {}
            script src="/static/plumbline.js" defer {}
        },
    ))
}

#[derive(Deserialize)]
pub struct ImportQuery {
    format: Option<String>,
    name: Option<String>,
}

/// Receives the file as the request body (sent by /static/plumbline.js with the form's CSRF
/// token in `X-CSRF-Token`) and answers an HTML fragment: the summary, or every problem.
pub async fn import_upload(
    State(state): State<AppState>,
    page: PageAuth,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> PageResult<Response> {
    let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    check_csrf(&page, sent)?;
    require_manager(&page)?;
    let chosen = q.format.as_deref().filter(|f| !f.is_empty());
    let format = match chosen {
        Some(name) => Format::from_name(&format!(".{}", name.trim_start_matches('.'))),
        None => q.name.as_deref().and_then(Format::from_name),
    };
    let Some(format) = format else {
        let fragment = html! {
            div class="error" role="alert" {
                p { "Nothing was imported: the file's format is unknown. Name it .csv or .jsonl, or choose the format." }
            }
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, fragment).into_response());
    };
    let stream = body.into_data_stream().map_err(std::io::Error::other);
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(stream));
    let mut rows = crate::import::spawn_parser(format, reader);
    match state.store.import_conversations(page.viewer.workspace_id, &mut rows).await {
        Ok(summary) => Ok(html! {
            div class="notice" role="status" {
                p { "Imported " (summary.rows) " rows: " (summary.created) " new, " (summary.updated) " updated." }
                @if !summary.teams_created.is_empty() { p class="small" { "Teams created: " (summary.teams_created.join(", ")) } }
                @if !summary.agents_created.is_empty() { p class="small" { "Agents created: " (summary.agents_created.join(", ")) } }
                p { a href="/conversations" { "See the conversations" } }
            }
        }
        .into_response()),
        Err(ImportError::BadRows { problems, total }) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            html! {
                div class="error" role="alert" {
                    p { strong { "Nothing was imported." } " " (total) " problem" @if total != 1 { "s" } " found"
                        @if (problems.len() as u64) < total { " (the first " (problems.len()) " are listed)" } ":" }
                }
                section {
                    table class="problems" {
                        thead { tr { th class="num" { "Line" } th { "Field" } th { "Reason" } } }
                        tbody { @for p in &problems { tr { td class="num" { (p.line) } td { code { (p.field) } } td { (p.reason) } } } }
                    }
                }
            },
        )
            .into_response()),
        Err(ImportError::Store(e)) => Err(e.into()),
    }
}
