//! "My work": what the signed-in user has to do. Reviews to finish (a hidden calibration task is
//! an ordinary review here, like everywhere its author looks), calibration sessions to score,
//! sessions to facilitate, and for qa_leads the open follow-ups and action items.

use super::ui::{date, datetime, score, status_badge};
use super::{Fields, Nav, PageError, PageResult, calibrates, csrf_field, layout};
use crate::AppState;
use crate::extract::PageAuth;
use axum::Form;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use plumbline_domain::access::{Permission, SessionRole, VendorScope};
use plumbline_domain::calibration::{SessionMode, SessionStatus};
use plumbline_domain::evaluation::{EvaluationKind, EvaluationStatus};
use plumbline_domain::org::Role;
use plumbline_domain::scorecard::VersionStatus;
use plumbline_domain::time::Date;
use plumbline_store::{
    ConversationFilter, DueReason, EvaluationFilter, EvaluationVisibility, IqsFilter, IqsGrouping, PageRequest,
    SessionVisibility, now_millis,
};

struct SessionToScore {
    id: plumbline_domain::CalibrationId,
    title: String,
    deadline: Option<i64>,
    submitted: usize,
    total: usize,
    next_task: Option<plumbline_domain::EvaluationId>,
}

struct Facilitated {
    id: plumbline_domain::CalibrationId,
    title: String,
    status: SessionStatus,
    scheduled_at: Option<i64>,
    deadline: Option<i64>,
}

pub async fn home(State(state): State<AppState>, page: PageAuth) -> PageResult<Markup> {
    let viewer = &page.viewer;
    let ws = viewer.workspace_id;
    let store = &state.store;
    let all = PageRequest { cursor: None, limit: Some(50) };

    // Sessions: the ones I score (never hidden ones: those are plain reviews below) and the ones
    // I facilitate, both decided by the same session role the API uses.
    let mut to_score = Vec::new();
    let mut facilitated = Vec::new();
    let involving = store.list_calibrations(ws, SessionVisibility::Involving(viewer.user_id), None, &all).await?;
    for session in involving.items.into_iter().filter(|s| !s.status.is_final()) {
        let record = store.get_calibration(ws, session.id).await?;
        if session.facilitator_id == viewer.user_id {
            facilitated.push(Facilitated {
                id: session.id,
                title: session.title.clone(),
                status: session.status,
                scheduled_at: session.scheduled_at,
                deadline: session.scoring_deadline,
            });
        }
        let role = viewer.session_role(&session, record.is_participant(viewer.user_id));
        if session.status != SessionStatus::Scoring
            || session.mode == SessionMode::Hidden
            || !record.is_participant(viewer.user_id)
            || role == SessionRole::Outsider
        {
            continue;
        }
        let tasks = store.calibration_tasks(ws, session.id).await?;
        let mine: Vec<_> = tasks.iter().filter(|t| t.reviewer_id == viewer.user_id).collect();
        to_score.push(SessionToScore {
            id: session.id,
            title: session.title,
            deadline: session.scoring_deadline,
            submitted: mine.iter().filter(|t| t.status == EvaluationStatus::Submitted).count(),
            total: mine.len(),
            next_task: mine.iter().find(|t| t.status == EvaluationStatus::Draft).map(|t| t.id),
        });
    }

    // My drafts, except tasks of sessions I see as sessions (listed above).
    let mine = EvaluationVisibility {
        vendor: VendorScope::All,
        author: Some(viewer.user_id),
        agent: None,
        calibration_tasks_of_others: None,
    };
    let drafts = store
        .list_evaluations(
            ws,
            &mine,
            &EvaluationFilter { status: Some(EvaluationStatus::Draft), ..Default::default() },
            &all,
        )
        .await?
        .items
        .into_iter()
        .filter(|e| e.kind != EvaluationKind::Calibration);
    let mut reviews = Vec::new();
    for e in drafts {
        let conversation = store.get_conversation(ws, VendorScope::All, e.conversation_id).await?;
        reviews.push((e, conversation));
    }

    let to_review = if viewer.may(Permission::Evaluate) {
        store
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
    let mut versions = Vec::new();
    if !to_review.is_empty() {
        for card in store.list_scorecards(ws).await? {
            if let Some(v) =
                store.list_versions(ws, card.id).await?.into_iter().find(|v| v.status == VersionStatus::Active)
            {
                versions.push((v.id, format!("{} v{}", card.name, v.number)));
            }
        }
    }

    let (followups, actions, due) = if calibrates(&page) {
        (
            store.list_followups(ws, true).await?,
            store.list_actions(ws, true).await?,
            store.calibration_due(ws, Date::of(now_millis())).await?,
        )
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    let iqs = if viewer.may(Permission::ReadReports) {
        let bands = store.get_workspace(ws).await?.settings.bands;
        store.iqs_report(ws, viewer.vendor_scope(), IqsGrouping::Vendor, &IqsFilter::default(), &bands).await?
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
        store
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
    let now = now_millis();
    let overdue = |deadline: Option<i64>| deadline.is_some_and(|d| d < now);

    Ok(layout(
        &page,
        "My work",
        Nav::Home,
        html! {
            h1 { "My work" }
            @if !to_score.is_empty() || viewer.may(Permission::Evaluate) {
                section aria-labelledby="to-score" {
                    h2 id="to-score" { "Calibration sessions to score" }
                    @if to_score.is_empty() { p class="muted" { "No session is waiting for your scores." } }
                    @else {
                        table { thead { tr { th { "Session" } th { "Scoring deadline" } th { "Your scores" } th { span class="skip" { "Actions" } } } }
                            tbody { @for s in &to_score { tr {
                                td { a href={ "/calibrations/" (s.id) } { (s.title) } }
                                td { @if let Some(d) = s.deadline { span class=[overdue(Some(d)).then_some("overdue")] { (datetime(d)) @if overdue(Some(d)) { " (overdue)" } } } @else { span class="muted" { "none" } } }
                                td { (s.submitted) " of " (s.total) " submitted" }
                                td { @if let Some(task) = s.next_task { a class="button small" href={ "/evaluations/" (task) } { "Score" } } }
                            } } }
                        }
                    }
                }
            }
            section aria-labelledby="drafts" {
                h2 id="drafts" { "Reviews to finish" }
                @if reviews.is_empty() { p class="muted" { "No drafts. Nice." } }
                @else {
                    table { thead { tr { th { "Started" } th { "Conversation" } th { "Channel" } th { "Answered" } th { span class="skip" { "Actions" } } } }
                        tbody { @for (e, c) in &reviews { tr {
                            td { (date(e.created_at)) }
                            td { (c.subject) " " span class="muted small" { (c.external_id) } }
                            td { (c.channel.as_str()) }
                            td { (e.answers.len()) }
                            td { a class="button small" href={ "/evaluations/" (e.id) } { "Continue" } }
                        } } }
                    }
                }
            }
            @if !facilitated.is_empty() {
                section aria-labelledby="facilitate" {
                    h2 id="facilitate" { "Sessions you facilitate" }
                    table { thead { tr { th { "Session" } th { "Status" } th { "Scheduled" } th { "Scoring deadline" } } }
                        tbody { @for s in &facilitated { tr {
                            td { a href={ "/calibrations/" (s.id) } { (s.title) } }
                            td { (status_badge(s.status)) }
                            td { (s.scheduled_at.map(datetime).unwrap_or_default()) }
                            td { (s.deadline.map(datetime).unwrap_or_default()) }
                        } } }
                    }
                }
            }
            @if calibrates(&page) {
                section aria-labelledby="due" {
                    h2 id="due" { "Calibrations due" }
                    @if due.is_empty() { p class="muted" { "Nothing is due: every active version is calibrated, every grader has taken part, no series date is near." } }
                    @else {
                        table { thead { tr { th { "Why" } th { "What" } th { "Due" } th { span class="skip" { "Actions" } } } }
                            tbody { @for d in &due { tr {
                                td { (due_reason(d.reason)) }
                                td { (d.title) }
                                td { (d.due_on.clone().unwrap_or_default()) }
                                td { @if let Some(series) = d.series_id { a class="button small secondary" href={ "/calibration-series/" (series) } { "Open the series" } }
                                    @else { a class="button small secondary" href="/calibrations/new" { "Plan a session" } } }
                            } } }
                        }
                    }
                    p class="small" { a href="/calibration-series" { "Recurring calibrations" } " · " a href="/api/v1/calendar.ics" { "Your calendar (.ics)" } }
                }
                section aria-labelledby="followups" {
                    h2 id="followups" { "Open follow-ups" }
                    @if followups.is_empty() { p class="muted" { "Every grader is within tolerance." } }
                    @else {
                        table { thead { tr { th { "Grader" } th { "Session" } th { "Why" } th { "Since" } th { span class="skip" { "Actions" } } } }
                            tbody { @for f in &followups { tr {
                                td { (f.user_name) }
                                td { a href={ "/calibrations/" (f.session_id) "/report" } { (f.session_title) } }
                                td { (f.reason) }
                                td { (date(f.created_at)) }
                                td { form method="post" action={ "/calibration-followups/" (f.session_id) "/" (f.user_id) "/resolve" } {
                                    (csrf_field(&page)) button type="submit" class="small secondary" { "Resolved" } } }
                            } } }
                        }
                    }
                }
                section aria-labelledby="actions" {
                    h2 id="actions" { "Open action items" }
                    @if actions.is_empty() { p class="muted" { "No open action items." } }
                    @else {
                        table { thead { tr { th { "Kind" } th { "Action" } th { "Due" } th { "Session" } th { span class="skip" { "Actions" } } } }
                            tbody { @for a in &actions { tr {
                                td { (a.kind.as_str()) }
                                td { (a.text) }
                                td { (a.due_on.clone().unwrap_or_default()) }
                                td { a href={ "/calibrations/" (a.session_id) "/report" } { (a.session_title) } }
                                td { form method="post" action={ "/calibration-actions/" (a.id) "/done" } {
                                    (csrf_field(&page)) button type="submit" class="small secondary" { "Done" } } }
                            } } }
                        }
                    }
                }
            }
            @if !to_review.is_empty() {
                section aria-labelledby="review" {
                    h2 id="review" { "Recent conversations to review" }
                    table { thead { tr { th { "Started" } th { "Channel" } th { "Subject" } th { "CSAT" } th { "Start a review" } } }
                        tbody { @for c in &to_review { tr {
                            td { (date(c.started_at)) } td { (c.channel.as_str()) } td { (c.subject) }
                            td { (c.metrics.csat.map(|v| v.to_string()).unwrap_or_default()) }
                            td { @if !versions.is_empty() {
                                form method="post" action="/reviews" class="actions" {
                                    (csrf_field(&page))
                                    input type="hidden" name="conversation_id" value=(c.id);
                                    label class="skip" for={ "sc-" (c.id) } { "Scorecard for " (c.subject) }
                                    select id={ "sc-" (c.id) } name="scorecard_version_id" style="max-width:14rem" {
                                        @for (id, name) in &versions { option value=(id) { (name) } }
                                    }
                                    button type="submit" class="small" { "Review" }
                                }
                            } }
                        } } }
                    }
                }
            }
            @if !iqs.is_empty() {
                section aria-labelledby="iqs" {
                    h2 id="iqs" { "IQS by vendor" }
                    table { thead { tr { th { "Vendor" } th class="num" { "Reviews" } th class="num" { "IQS" } th class="num" { "Mean score" } } }
                        tbody { @for r in &iqs { tr {
                            td { (r.name) } td class="num" { (r.evaluations) }
                            td class={ "num " (r.band.map(band_class).unwrap_or("")) } { (score(r.iqs)) }
                            td class="num" { (score(r.mean_score)) }
                        } } } }
                    p class="muted" { a href="/api/v1/reports/iqs?group_by=vendor&format=csv" { "Download CSV" } }
                }
            }
            @if viewer.role == Role::Agent {
                section aria-labelledby="received" {
                    h2 id="received" { "Reviews of your conversations" }
                    @if received.is_empty() { p class="muted" { "None yet." } }
                    @else { table { thead { tr { th { "Submitted" } th class="num" { "Score" } th { "Feedback" } } }
                        tbody { @for e in &received { tr { td { (e.submitted_at.map(date).unwrap_or_default()) } td class="num" { (score(e.result.as_ref().and_then(|r| r.score))) } td { (e.overall_feedback) } } } } } }
                }
            }
        },
    ))
}

fn due_reason(reason: DueReason) -> &'static str {
    match reason {
        DueReason::NewScorecardVersion => "New scorecard version",
        DueReason::MajorRevision => "Major revision",
        DueReason::GraderWithoutSession => "New grader",
        DueReason::SeriesDate => "Series date",
    }
}

pub(super) fn band_class(band: plumbline_domain::org::Band) -> &'static str {
    match serde_json::to_value(band).ok().as_ref().and_then(|v| v.as_str()) {
        Some("excellent") => "band-excellent",
        Some("good") => "band-good",
        _ => "band-needs_attention",
    }
}

/// Marks an action item done (qa_leads and admins, like the API).
pub async fn action_done(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Redirect> {
    Fields::checked(&page, form)?;
    if !calibrates(&page) {
        return Err(PageError::NotFound);
    }
    let id = crate::api::path_id(&raw)?;
    state.store.set_action_done(page.viewer.workspace_id, id, true).await?;
    Ok(Redirect::to("/#actions"))
}

/// Resolves a participant's follow-up (qa_leads and admins, like the API).
pub async fn resolve_followup(
    State(state): State<AppState>,
    page: PageAuth,
    Path((session, user)): Path<(String, String)>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Redirect> {
    Fields::checked(&page, form)?;
    if !calibrates(&page) {
        return Err(PageError::NotFound);
    }
    let ws = page.viewer.workspace_id;
    state.store.resolve_followup(ws, crate::api::path_id(&session)?, crate::api::path_id(&user)?).await?;
    Ok(Redirect::to("/#followups"))
}
