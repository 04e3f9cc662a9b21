//! The scoring view: the transcript beside the scorecard. Each option shows its guideline, N/A
//! where the criterion allows it, a comment per criterion, overall feedback; the score updates
//! as you answer (htmx posts the form to a fragment computed by the domain's scoring); save a
//! draft or submit.
//!
//! Blind and hidden rules: the page shows one evaluation, read with the domain's
//! `may_read_evaluation` like the API; it never shows anyone else's answers. A hidden session's
//! task is an ordinary review to its author: this page looks only at the session when the viewer
//! relates to it as a (non-hidden) participant, which the domain never says of a hidden one.

use super::ui::{datetime, score};
use super::{Fields, Nav, PageError, PageResult, csrf_field, layout};
use crate::AppState;
use crate::extract::PageAuth;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use plumbline_domain::EvaluationId;
use plumbline_domain::access::{Permission, SessionRole, VendorScope};
use plumbline_domain::calibration::CalibrationSession;
use plumbline_domain::conversation::{AuthorRole, Conversation};
use plumbline_domain::evaluation::{Answer, Choice, Evaluation, EvaluationKind, EvaluationStatus};
use plumbline_domain::scorecard::{Criterion, FieldError, ScorecardDefinition, ScorecardVersion};
use plumbline_domain::scoring::{ScoringPolicy, score_evaluation};
use plumbline_store::{DecisionNote, EvaluationEdit, NewEvaluation, StoreError};
use serde::Deserialize;

/// Everything the scoring view shows, loaded once.
struct Scoring {
    evaluation: Evaluation,
    revision: i64,
    version: ScorecardVersion,
    conversation: Conversation,
    agent_name: Option<String>,
    /// The session, when the viewer takes part in it as a (non-hidden) participant.
    session: Option<CalibrationSession>,
    decisions: Vec<DecisionNote>,
    editable: bool,
    policy: ScoringPolicy,
}

async fn load(state: &AppState, page: &PageAuth, raw: &str) -> PageResult<Scoring> {
    let viewer = &page.viewer;
    let ws = viewer.workspace_id;
    let id: EvaluationId = crate::api::path_id(raw)?;
    let (evaluation, revision) = state.store.get_evaluation(ws, id).await?;
    if !viewer.may_read_evaluation(&evaluation) {
        return Err(PageError::NotFound);
    }
    let version = state.store.get_version(ws, evaluation.scorecard_version_id).await?;
    let conversation = state.store.get_conversation(ws, VendorScope::All, evaluation.conversation_id).await?;
    let mut session = None;
    let mut hide_agent = false;
    let mut session_open = true;
    if let Some(session_id) = evaluation.calibration_session_id {
        let record = state.store.get_calibration(ws, session_id).await?;
        session_open = record.session.status == plumbline_domain::calibration::SessionStatus::Scoring;
        if viewer.session_role(&record.session, record.is_participant(viewer.user_id)) == SessionRole::Participant {
            hide_agent = record.session.hide_agent_name;
            session = Some(record.session);
        }
    }
    let agent_name = match (hide_agent, conversation.agent_id) {
        (false, Some(agent)) => state.store.get_agent(ws, VendorScope::All, agent).await.ok().map(|a| a.name),
        _ => None,
    };
    let mine = evaluation.reviewer_id == viewer.user_id;
    // A calibration participant may change a submitted score until the reveal (the store says so
    // too); everything else is editable while it is a draft.
    let editable = mine
        && session_open
        && (evaluation.status == EvaluationStatus::Draft || evaluation.kind == EvaluationKind::Calibration);
    let decisions = state.store.scorecard_decisions(ws, version.scorecard_id).await.unwrap_or_default();
    let policy = viewer.scoring;
    Ok(Scoring { evaluation, revision, version, conversation, agent_name, session, decisions, editable, policy })
}

#[derive(Deserialize)]
pub struct Notice {
    done: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    Query(notice): Query<Notice>,
) -> PageResult<Markup> {
    let scoring = load(&state, &page, &raw).await?;
    let notice = match notice.done.as_deref() {
        Some("saved") => Some("Draft saved."),
        Some("submitted") => Some("Submitted. Thank you."),
        _ => None,
    };
    let form = FormState {
        answers: &scoring.evaluation.answers,
        pending: &[],
        feedback: &scoring.evaluation.overall_feedback,
        revision: scoring.revision,
    };
    Ok(render(&page, &scoring, form, notice, &[], None))
}

fn title_of(scoring: &Scoring) -> String {
    match scoring.evaluation.kind {
        EvaluationKind::Calibration => "Calibration score".into(),
        EvaluationKind::SelfReview => "Self-review".into(),
        EvaluationKind::Calibrated => "Calibrated result".into(),
        EvaluationKind::Audit => "Audit".into(),
        EvaluationKind::Review => "Review".into(),
    }
}

/// What the form shows: the stored evaluation, or what was typed when a save was refused.
struct FormState<'a> {
    answers: &'a [Answer],
    pending: &'a [(plumbline_domain::CriterionId, String)],
    feedback: &'a str,
    revision: i64,
}

fn render(
    page: &PageAuth,
    scoring: &Scoring,
    form: FormState<'_>,
    notice: Option<&str>,
    errors: &[FieldError],
    conflict: Option<&str>,
) -> Markup {
    let FormState { answers, pending, feedback, revision } = form;
    let e = &scoring.evaluation;
    let c = &scoring.conversation;
    let definition = &scoring.version.definition;
    let title = format!("{}: {}", title_of(scoring), c.subject);
    let live = score_evaluation(definition, answers, scoring.policy);
    layout(
        page,
        &title,
        Nav::Home,
        html! {
            @if let Some(session) = &scoring.session {
                p class="muted" { "Part of the calibration session " a href={ "/calibrations/" (session.id) } { (session.title) } "." }
            }
            h1 { (title_of(scoring)) ": " (c.subject) }
            @if let Some(n) = notice { p class="notice" role="status" { (n) } }
            @if let Some(why) = conflict { div class="error" role="alert" { p { (why) } } }
            @if !errors.is_empty() {
                div class="error" role="alert" { p { "Please check these answers:" }
                    ul { @for err in errors { li { (describe_error(definition, err)) } } } }
            }
            div class="scoring" {
                section class="transcript" aria-labelledby="transcript-title" {
                    h2 id="transcript-title" { "Conversation" }
                    p class="small muted" {
                        (c.channel.as_str()) " · " (datetime(c.started_at)) " · " (c.external_id)
                        @if let Some(agent) = &scoring.agent_name { " · Agent: " (agent) }
                    }
                    @if c.transcript.is_empty() { p class="muted" { "This conversation has no transcript." } }
                    @for m in &c.transcript {
                        @let (class, who) = match m.author { AuthorRole::Customer => ("message customer", "Customer"), AuthorRole::Agent => ("message agent", "Agent"), AuthorRole::System => ("message system", "System") };
                        div class=(class) { span class="author" { (who) @if let Some(at) = m.at { " · " (datetime(at)) } } (m.text) }
                    }
                }
                section aria-labelledby="scorecard-title" {
                    h2 id="scorecard-title" { "Scorecard" }
                    div id="live-score" aria-live="polite" { (score_summary(definition, answers, &live)) }
                    @if scoring.editable {
                        script src="/static/plumbline.js" defer {}
                        form method="post" action={ "/evaluations/" (e.id) } hx-post={ "/evaluations/" (e.id) "/score" }
                            hx-trigger="change" hx-target="#live-score" hx-swap="innerHTML" data-active-time {
                            (csrf_field(page))
                            input type="hidden" name="revision" value=(revision);
                            // Filled in by plumbline.js: active seconds since the page loaded.
                            input type="hidden" name="active_seconds" value="0";
                            (criteria_inputs(definition, answers, pending, &scoring.decisions))
                            label for="overall_feedback" { "Overall feedback" }
                            textarea id="overall_feedback" name="overall_feedback" rows="4" { (feedback) }
                            div class="sticky-actions actions" {
                                button type="submit" name="action" value="save" class="secondary" { "Save draft" }
                                button type="submit" name="action" value="submit" {
                                    @if e.status == EvaluationStatus::Submitted { "Save changes" } @else { "Submit" }
                                }
                            }
                        }
                    } @else {
                        p class="muted" {
                            @if e.status == EvaluationStatus::Submitted { "Submitted " (e.submitted_at.map(datetime).unwrap_or_default()) "." }
                            @else { "This draft can no longer change." }
                        }
                        (criteria_read_only(definition, answers))
                        h3 { "Overall feedback" }
                        p { @if feedback.is_empty() { span class="muted" { "none" } } @else { (feedback) } }
                    }
                }
            }
        },
    )
}

fn describe_error(definition: &ScorecardDefinition, e: &FieldError) -> String {
    // "answers[2].choice" is the API's path; a person wants the criterion's title.
    if let Some(rest) = e.field.strip_prefix("answers[")
        && let Some((index, _)) = rest.split_once(']')
        && let Ok(i) = index.parse::<usize>()
        && let Some(criterion) = definition.criteria.get(i)
    {
        return format!("{}: {}", criterion.title, e.reason);
    }
    e.reason.clone()
}

fn score_summary(
    definition: &ScorecardDefinition,
    answers: &[Answer],
    live: &plumbline_domain::scoring::EvaluationScore,
) -> Markup {
    let answered = definition.criteria.iter().filter(|c| answers.iter().any(|a| a.criterion_id == c.id)).count();
    html! {
        p {
            span class="live-score" { "Score: " (score(live.score)) }
            span class="muted" { " · " (answered) " of " (definition.criteria.len()) " answered" }
            @if live.critical_failed { " " span class="badge critical" { "critical failure" } }
        }
    }
}

fn criteria_inputs(
    definition: &ScorecardDefinition,
    answers: &[Answer],
    pending: &[(plumbline_domain::CriterionId, String)],
    decisions: &[DecisionNote],
) -> Markup {
    let comment = |c: &Criterion| {
        answers
            .iter()
            .find(|a| a.criterion_id == c.id)
            .map(|a| a.comment.as_str())
            .or_else(|| pending.iter().find(|(id, _)| *id == c.id).map(|(_, text)| text.as_str()))
            .unwrap_or("")
    };
    let answer = |c: &Criterion| answers.iter().find(|a| a.criterion_id == c.id);
    let groups: Vec<(Option<&str>, bool, Vec<&Criterion>)> = grouped(definition);
    html! {
        @for (group, critical, criteria) in &groups {
            @if let Some(g) = group { h3 { (g) @if *critical { " " span class="badge critical" { "critical group" } } } }
            @for c in criteria {
                @let current = answer(c);
                @let name = format!("answer.{}", c.id);
                fieldset {
                    legend { (c.title) @if c.critical { " " span class="badge critical" { "critical" } }
                        @if c.weight != 1.0 { " " span class="badge" { "weight " (c.weight) } } }
                    @if !c.description.is_empty() { p class="small" { (c.description) } }
                    @if !c.guidelines.is_empty() { p class="small muted" { (c.guidelines) } }
                    @for d in decisions.iter().filter(|d| d.criterion_id == Some(c.id)) {
                        p class="small muted" { "Calibration decision " (super::ui::date(d.decided_at)) " (" (d.session_title) "): " (d.text) }
                    }
                    @for (i, option) in c.scale.options.iter().enumerate() {
                        @let id = format!("{}-{}", c.id, i);
                        div class="choice" {
                            input type="radio" name=(name) id=(id) value=(i)
                                checked[current.is_some_and(|a| a.choice == Choice::Option(i))]
                                aria-describedby=[(!option.guideline.is_empty()).then(|| format!("{id}-g"))];
                            label for=(id) { (option.label) " · " (option.points) " points" }
                            @if !option.guideline.is_empty() { span class="guideline" id={ (id) "-g" } { (option.guideline) } }
                        }
                    }
                    @if c.na_allowed {
                        @let id = format!("{}-na", c.id);
                        div class="choice" {
                            input type="radio" name=(name) id=(id) value="na" checked[current.is_some_and(|a| a.choice == Choice::NotApplicable)];
                            label for=(id) { "N/A" }
                            span class="guideline" { "Does not apply to this conversation." }
                        }
                    }
                    label for={ "comment-" (c.id) } class="small" { "Comment on " (c.title) }
                    textarea id={ "comment-" (c.id) } name={ "comment." (c.id) } rows="2" { (comment(c)) }
                }
            }
        }
    }
}

fn criteria_read_only(definition: &ScorecardDefinition, answers: &[Answer]) -> Markup {
    html! {
        table {
            thead { tr { th { "Criterion" } th { "Answer" } th { "Comment" } } }
            tbody { @for c in &definition.criteria {
                @let a = answers.iter().find(|a| a.criterion_id == c.id);
                tr { td { (c.title) } td { (a.map(|a| super::ui::choice_text(c, a.choice)).unwrap_or_else(|| "–".into())) } td { (a.map(|a| a.comment.as_str()).unwrap_or("")) } }
            } }
        }
    }
}

/// Criteria in scorecard order, under their groups.
fn grouped(definition: &ScorecardDefinition) -> Vec<(Option<&str>, bool, Vec<&Criterion>)> {
    let mut out: Vec<(Option<&str>, bool, Vec<&Criterion>)> = Vec::new();
    for c in &definition.criteria {
        let group = c.group_id.and_then(|g| definition.group(g));
        let key = group.map(|g| g.title.as_str());
        match out.last_mut() {
            Some((k, _, list)) if *k == key => list.push(c),
            _ => out.push((key, group.is_some_and(|g| g.critical), vec![c])),
        }
    }
    out
}

/// The answers a scoring form carries. A comment without an answer cannot be stored (an
/// answer needs a choice), so it is reported instead of silently dropped, and kept in
/// `pending` so the form comes back with it.
fn answers_from(definition: &ScorecardDefinition, fields: &Fields) -> (Vec<Answer>, Vec<FieldError>, Pending) {
    let mut answers = Vec::new();
    let mut errors = Vec::new();
    let mut pending = Vec::new();
    for c in &definition.criteria {
        let comment = fields.text(&format!("comment.{}", c.id));
        match fields.get(&format!("answer.{}", c.id)).and_then(super::ui::parse_choice) {
            Some(choice) => answers.push(Answer { criterion_id: c.id, choice, comment }),
            None if !comment.trim().is_empty() => {
                errors.push(FieldError::new(
                    format!("comment.{}", c.id),
                    format!("{}: choose an answer so that its comment can be saved", c.title),
                ));
                pending.push((c.id, comment));
            }
            None => {}
        }
    }
    (answers, errors, pending)
}

/// Comments typed for criteria that have no answer yet.
type Pending = Vec<(plumbline_domain::CriterionId, String)>;

/// The live score: the same domain function that scores on submit.
pub async fn live_score(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Markup> {
    let fields = Fields::checked(&page, form)?;
    let scoring = load(&state, &page, &raw).await?;
    let (answers, _, _) = answers_from(&scoring.version.definition, &fields);
    let live = score_evaluation(&scoring.version.definition, &answers, scoring.policy);
    Ok(score_summary(&scoring.version.definition, &answers, &live))
}

/// Saves a draft, or saves and submits.
pub async fn save(
    State(state): State<AppState>,
    page: PageAuth,
    Path(raw): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    let scoring = load(&state, &page, &raw).await?;
    let definition = &scoring.version.definition;
    let (answers, mut errors, pending) = answers_from(definition, &fields);
    let feedback = fields.text("overall_feedback");
    let revision = fields.get("revision").and_then(|r| r.parse().ok()).unwrap_or(scoring.revision);
    let again = |errors: &[FieldError], conflict: Option<&str>, status: StatusCode| -> Response {
        let form = FormState { answers: &answers, pending: &pending, feedback: &feedback, revision };
        (status, render(&page, &scoring, form, None, errors, conflict)).into_response()
    };
    if !scoring.editable {
        return Ok(again(&[], Some("This can no longer change."), StatusCode::CONFLICT));
    }
    let submit = fields.get("action") == Some("submit");
    if submit {
        for c in &definition.criteria {
            if !answers.iter().any(|a| a.criterion_id == c.id) {
                errors.push(FieldError::new("answers", format!("{}: choose an answer before submitting", c.title)));
            }
        }
    }
    if !errors.is_empty() {
        return Ok(again(&errors, None, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let ws = page.viewer.workspace_id;
    let id = scoring.evaluation.id;
    let edit = EvaluationEdit { answers: &answers, overall_feedback: &feedback, expected_revision: Some(revision) };
    let outcome = match state.store.save_evaluation(ws, id, page.viewer.user_id, edit, scoring.policy).await {
        Ok((saved, _)) if submit && saved.status == EvaluationStatus::Draft => {
            state.store.submit_evaluation(ws, id, page.viewer.user_id, scoring.policy).await.map(|_| ())
        }
        Ok(_) => Ok(()),
        Err(e) => Err(e),
    };
    // The active time the page measured (see plumbline.js), once the save went through; a
    // value out of bounds (a tampered form) is dropped rather than refusing the review.
    let active_seconds = fields.get("active_seconds").and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(0);
    if outcome.is_ok() && plumbline_domain::habits::check_active_seconds(active_seconds).is_ok() {
        state.store.add_active_time(ws, id, page.viewer.user_id, active_seconds).await?;
    }
    match outcome {
        Ok(()) => {
            let to = match (&scoring.session, submit) {
                (Some(session), true) => format!("/calibrations/{}", session.id),
                (_, true) => format!("/evaluations/{id}?done=submitted"),
                (_, false) => format!("/evaluations/{id}?done=saved"),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(StoreError::Invalid(errors)) => Ok(again(&errors, None, StatusCode::UNPROCESSABLE_ENTITY)),
        Err(StoreError::Conflict(why)) => Ok(again(&[], Some(&why), StatusCode::CONFLICT)),
        Err(StoreError::Stale { updated_by, updated_at, .. }) => {
            let why = format!(
                "{} saved this at {} after you opened it; nothing was overwritten. Your answers are below: reload the page to see theirs, then apply yours again.",
                updated_by.unwrap_or_else(|| "Someone".into()),
                datetime(updated_at)
            );
            Ok(again(&[], Some(&why), StatusCode::CONFLICT))
        }
        Err(e) => Err(e.into()),
    }
}

/// Starts a review (a draft) of a conversation the viewer may see, with an active scorecard
/// version, and opens it. The same checks as `POST /api/v1/evaluations`.
pub async fn start_review(
    State(state): State<AppState>,
    page: PageAuth,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Redirect> {
    let fields = Fields::checked(&page, form)?;
    let viewer = &page.viewer;
    if !viewer.may(Permission::Evaluate) {
        return Err(PageError::Forbidden("your role may not write reviews".into()));
    }
    let conversation_id = fields.text("conversation_id").parse().map_err(|_| PageError::NotFound)?;
    let version_id = fields.text("scorecard_version_id").parse().map_err(|_| PageError::NotFound)?;
    let conversation =
        state.store.get_conversation(viewer.workspace_id, viewer.vendor_scope(), conversation_id).await?;
    if !viewer.may_read_conversation(conversation.vendor_id, conversation.agent_id) {
        return Err(PageError::NotFound);
    }
    let evaluation = state
        .store
        .create_evaluation(
            viewer.workspace_id,
            NewEvaluation {
                conversation_id,
                scorecard_version_id: version_id,
                reviewer_id: viewer.user_id,
                kind: EvaluationKind::Review,
                answers: Vec::new(),
                overall_feedback: String::new(),
            },
        )
        .await?;
    Ok(Redirect::to(&format!("/evaluations/{}", evaluation.id)))
}
