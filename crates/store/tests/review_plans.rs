//! Review assignments and grading habits in storage, on SQLite and PostgreSQL: a draw records
//! its seed and window and reproduces from them, BPO graders stay within their vendor, a queue
//! item is done when its review is submitted, active time accumulates without touching the
//! revision, and a hidden calibration session's tasks wait in the plan's queues as ordinary items
//! whose scores reach the session.

use anyhow::{Context, Result, ensure};
use plumbline_domain::access::VendorScope;
use plumbline_domain::calibration::{CalibratedConversation, Facilitation, SessionMode};
use plumbline_domain::conversation::{Channel, ConversationMetrics, ConversationRecord};
use plumbline_domain::evaluation::{Answer, Choice};
use plumbline_domain::evaluation::{EvaluationKind, EvaluationStatus};
use plumbline_domain::org::Role;
use plumbline_domain::review_plans::{AssignmentStatus, PlanFilter, PlanSample, sample_conversations};
use plumbline_domain::scorecard::{CriterionInput, DefinitionInput, ScalePreset, ScorecardDefinition};
use plumbline_domain::scoring::ScoringPolicy;
use plumbline_domain::series::occurrence_seed;
use plumbline_domain::{ConversationId, ScorecardVersionId, UserId, VendorId};
use plumbline_store::testing::TestDatabase;
use plumbline_store::*;

scenarios!(
    plans_draw_reproducibly_within_vendor_scope,
    queue_items_complete_on_submit,
    active_time_accumulates,
    hidden_calibration_waits_in_the_queue
);

const MARCH_2: i64 = 1_772_409_600_000;
const DAY: i64 = 86_400_000;

struct Setup {
    ws: plumbline_domain::WorkspaceId,
    bpo: VendorId,
    scorecard: plumbline_domain::ScorecardId,
    criterion: plumbline_domain::CriterionId,
    users: std::collections::HashMap<&'static str, UserId>,
}

async fn setup(db: &TestDatabase) -> Result<Setup> {
    let store = &db.store;
    let (ws, internal) = store.create_workspace("Acme", "Acme Support").await?;
    let bpo = store.create_vendor(ws.id, "Globex BPO").await?;
    let mut users = std::collections::HashMap::new();
    for (key, role, vendor) in [
        ("lead", Role::QaLead, internal.id),
        ("ann", Role::Reviewer, internal.id),
        ("bob", Role::Reviewer, internal.id),
        ("gus", Role::Reviewer, bpo.id),
        ("agent", Role::Agent, bpo.id),
    ] {
        let user = store
            .create_user(
                ws.id,
                NewUser {
                    vendor_id: vendor,
                    email: format!("{key}@example.test"),
                    name: key.into(),
                    role,
                    password_hash: "x".into(),
                    agent_id: None,
                },
            )
            .await?;
        users.insert(key, user.id);
    }
    let definition = ScorecardDefinition::parse(DefinitionInput {
        groups: vec![],
        criteria: vec![CriterionInput {
            id: None,
            group: None,
            title: "Tone".into(),
            description: String::new(),
            weight: None,
            preset: Some(ScalePreset::Binary),
            options: None,
            na_allowed: false,
            critical: false,
            guidelines: String::new(),
        }],
    })
    .expect("valid");
    let (card, v1) = store.create_scorecard(ws.id, "Support", "", &definition).await?;
    let version = store.activate_version(ws.id, v1.id).await?;
    for n in 0..16 {
        let (vendor, agent) = if n < 8 { ("Acme Support", "Ada") } else { ("Globex BPO", "Gia") };
        let record = ConversationRecord {
            external_id: format!("C-{n}"),
            channel: if n % 2 == 0 { Channel::Chat } else { Channel::Email },
            agent: Some(agent.into()),
            team: None,
            vendor: Some(vendor.into()),
            started_at: MARCH_2 + (n % 7) * DAY,
            subject: String::new(),
            transcript: vec![],
            tags: vec![],
            metrics: ConversationMetrics { csat: Some(1 + n % 5), ..Default::default() },
        };
        store.put_conversation(ws.id, &record).await?;
    }
    Ok(Setup { ws: ws.id, bpo: bpo.id, scorecard: card.id, criterion: version.definition.criteria[0].id, users })
}

fn new_plan(s: &Setup, sample: PlanSample, filter: PlanFilter, graders: &[&str]) -> NewReviewPlan {
    NewReviewPlan {
        name: "Week 10".into(),
        scorecard_id: s.scorecard,
        sample,
        period_days: 7,
        filter,
        grader_ids: graders.iter().map(|g| s.users[g]).collect(),
        due_in_days: 3,
        seed: Some(77),
        created_by: s.users["lead"],
    }
}

fn week() -> PlanFilter {
    PlanFilter { from: Some("2026-03-02".into()), to: Some("2026-03-08".into()), ..Default::default() }
}

async fn plans_draw_reproducibly_within_vendor_scope(db: &TestDatabase) -> Result<()> {
    let s = setup(db).await?;
    let store = &db.store;
    // An agent does not write reviews; a grader twice is one too many.
    let refused =
        store.create_review_plan(s.ws, new_plan(&s, PlanSample::Percent(50.0), week(), &["ann", "agent", "ann"])).await;
    let Err(StoreError::Invalid(errors)) = refused else { anyhow::bail!("refused: {refused:?}") };
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    ensure!(fields == ["grader_ids[1]", "grader_ids[2]"], "{fields:?}");

    let plan = store.create_review_plan(s.ws, new_plan(&s, PlanSample::Percent(75.0), week(), &["ann", "gus"])).await?;
    ensure!(store.get_review_plan(s.ws, plan.id).await? == plan && plan.grader_ids == [s.users["ann"], s.users["gus"]]);
    let drawn = store.draw_review_plan(s.ws, plan.id, MARCH_2 + 30 * DAY).await?;
    ensure!(drawn.candidates == 16 && drawn.drawn.len() == 12 && drawn.assignments.len() == 12);
    // The recorded seed and window reproduce the sample from the same candidates.
    ensure!(drawn.seed == occurrence_seed(77, 0).to_string());
    let seed: u64 = drawn.seed.parse()?;
    let window = (drawn.window_from, drawn.window_to);
    ensure!(window == (MARCH_2, MARCH_2 + 7 * DAY));
    let fresh = store.create_review_plan(s.ws, new_plan(&s, PlanSample::Percent(75.0), week(), &["ann"])).await?;
    let candidates = store.plan_candidates(s.ws, &fresh, window).await?;
    ensure!(sample_conversations(&candidates, PlanSample::Percent(75.0), window.0, 7, seed) == drawn.drawn);

    // Gus (Globex) only ever gets Globex conversations; Ann takes the rest, the two evenly.
    let of = |who: &str| drawn.assignments.iter().filter(|a| a.grader_id == s.users[who]).collect::<Vec<_>>();
    for item in of("gus") {
        let conversation = store.get_conversation(s.ws, VendorScope::All, item.conversation_id).await?;
        ensure!(conversation.vendor_id == s.bpo, "a BPO grader never gets another vendor's conversation");
    }
    let mut globex_drawn = 0;
    for id in &drawn.drawn {
        globex_drawn += usize::from(store.get_conversation(s.ws, VendorScope::All, *id).await?.vendor_id == s.bpo);
    }
    ensure!(
        of("gus").len() == globex_drawn.min(6) && of("ann").len() + of("gus").len() == 12,
        "as even as the scopes allow"
    );
    ensure!(drawn.assignments.iter().all(|a| a.due_at == MARCH_2 + 33 * DAY && a.status == AssignmentStatus::Assigned));

    // Later draws take from what is left (75% of 4, then the last one); then nothing is left:
    // a conflict, and no draw recorded.
    let second = store.draw_review_plan(s.ws, plan.id, MARCH_2 + 30 * DAY).await?;
    ensure!(second.number == 1 && second.candidates == 4 && second.drawn.len() == 3);
    let third = store.draw_review_plan(s.ws, plan.id, MARCH_2 + 30 * DAY).await?;
    ensure!(third.candidates == 1 && third.drawn.len() == 1);
    let again = store.draw_review_plan(s.ws, plan.id, MARCH_2 + 30 * DAY).await;
    ensure!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    ensure!(testing::count(store, "SELECT COUNT(*) FROM review_plan_draws").await == 3);

    // Filters: Globex chats with CSAT 2 to 4, two per agent per week.
    let filter = PlanFilter {
        vendor_id: Some(s.bpo),
        channel: Some(Channel::Chat),
        min_csat: Some(2),
        max_csat: Some(4),
        ..week()
    };
    let narrow = store.create_review_plan(s.ws, new_plan(&s, PlanSample::PerAgent(5), filter, &["gus"])).await?;
    let drawn = store.draw_review_plan(s.ws, narrow.id, MARCH_2 + 30 * DAY).await?;
    for id in &drawn.drawn {
        let c = store.get_conversation(s.ws, VendorScope::All, *id).await?;
        ensure!(c.vendor_id == s.bpo && c.channel == Channel::Chat && (2..=4).contains(&c.metrics.csat.unwrap_or(0)));
    }
    ensure!(!drawn.drawn.is_empty() && drawn.drawn.len() as u64 == drawn.candidates, "at most 5 for the one agent");
    // Vendor-scoped lists: the Globex view has the plans with Gus.
    ensure!(store.list_review_plans(s.ws, Some(s.bpo)).await?.len() == 2);
    ensure!(store.list_review_plans(s.ws, None).await?.len() == 3);
    Ok(())
}

async fn queue_items_complete_on_submit(db: &TestDatabase) -> Result<()> {
    let s = setup(db).await?;
    let store = &db.store;
    let plan = store.create_review_plan(s.ws, new_plan(&s, PlanSample::Percent(50.0), week(), &["ann", "gus"])).await?;
    store.draw_review_plan(s.ws, plan.id, MARCH_2 + 8 * DAY).await?;
    let queue = AssignmentQuery { grader_id: Some(s.users["gus"]), open_only: true, ..Default::default() };
    let items = store.list_assignments(s.ws, &queue).await?;
    let item = items.first().context("gus has an item")?;
    ensure!(matches!(store.start_assignment(s.ws, item.id, s.users["ann"]).await, Err(StoreError::NotFound)));
    let (review, revision, created) = store.start_assignment(s.ws, item.id, s.users["gus"]).await?;
    ensure!(created && revision == 1 && review.conversation_id == item.conversation_id);
    let (same, _, created) = store.start_assignment(s.ws, item.id, s.users["gus"]).await?;
    ensure!(!created && same.id == review.id, "starting twice opens the same review");
    ensure!(store.get_assignment(s.ws, item.id).await?.status == AssignmentStatus::InProgress);

    let answers = [Answer { criterion_id: s.criterion, choice: Choice::Option(0), comment: String::new() }];
    let edit = EvaluationEdit { answers: &answers, overall_feedback: "", expected_revision: None };
    store.save_evaluation(s.ws, review.id, s.users["gus"], edit, ScoringPolicy::default()).await?;
    store.submit_evaluation(s.ws, review.id, s.users["gus"], ScoringPolicy::default()).await?;
    let done = store.get_assignment(s.ws, item.id).await?;
    ensure!(
        done.status == AssignmentStatus::Done && done.evaluation_id == Some(review.id) && done.submitted_at.is_some()
    );
    ensure!(!store.list_assignments(s.ws, &queue).await?.iter().any(|a| a.id == item.id), "gone from the open queue");

    // Progress at a time past the due date: everything not done is overdue.
    let progress = store.plan_progress(s.ws, plan.id, None, MARCH_2 + 30 * DAY).await?;
    ensure!(progress.assigned == 8 && progress.done == 1 && progress.overdue == 7, "{progress:?}");
    let globex = store.plan_progress(s.ws, plan.id, Some(s.bpo), MARCH_2 + 30 * DAY).await?;
    ensure!(globex.graders.iter().all(|g| g.user_id == s.users["gus"]) && globex.done == 1);

    // A deleted draft puts its item back to "not started".
    let other = store
        .list_assignments(s.ws, &AssignmentQuery { plan_id: Some(plan.id), open_only: true, ..Default::default() })
        .await?
        .into_iter()
        .next()
        .context("another item")?;
    let (draft, ..) = store.start_assignment(s.ws, other.id, other.grader_id).await?;
    store.delete_draft_evaluation(s.ws, draft.id, other.grader_id).await?;
    let back = store.get_assignment(s.ws, other.id).await?;
    ensure!(back.status == AssignmentStatus::Assigned && back.evaluation_id.is_none());
    Ok(())
}

async fn active_time_accumulates(db: &TestDatabase) -> Result<()> {
    let s = setup(db).await?;
    let store = &db.store;
    let conversation = store.get_conversation_by_external_id(s.ws, "C-0").await?;
    let version = store.active_version(s.ws, s.scorecard).await?.context("active")?;
    let new = NewEvaluation {
        conversation_id: conversation.id,
        scorecard_version_id: version.id,
        reviewer_id: s.users["ann"],
        kind: plumbline_domain::evaluation::EvaluationKind::Review,
        answers: vec![Answer {
            criterion_id: s.criterion,
            choice: Choice::Option(0),
            comment: "Greeted by name, well done.".into(),
        }],
        overall_feedback: "Thanks for the quick and friendly reply.".into(),
    };
    let review = store.create_evaluation(s.ws, new).await?;
    store.add_active_time(s.ws, review.id, s.users["ann"], 90).await?;
    store.add_active_time(s.ws, review.id, s.users["ann"], 45).await?;
    let (read, revision) = store.get_evaluation(s.ws, review.id).await?;
    ensure!(read.active_seconds == 135 && revision == 1, "time never bumps the revision");
    ensure!(matches!(store.add_active_time(s.ws, review.id, s.users["ann"], -1).await, Err(StoreError::Invalid(_))));
    ensure!(matches!(
        store.add_active_time(s.ws, review.id, s.users["ann"], 4 * 3600 + 1).await,
        Err(StoreError::Invalid(_))
    ));
    ensure!(matches!(store.add_active_time(s.ws, review.id, s.users["gus"], 10).await, Err(StoreError::NotFound)));
    store.submit_evaluation(s.ws, review.id, s.users["ann"], ScoringPolicy::default()).await?;

    // The habits report reads submitted reviews with their feedback, per grader's vendor.
    let reviews = store.habit_reviews(s.ws, VendorScope::All, None).await?;
    ensure!(reviews.len() == 1 && reviews[0].active_seconds == 135 && reviews[0].feedback.len() == 2, "{reviews:?}");
    ensure!(reviews[0].internal && reviews[0].grader_name == "ann");
    ensure!(store.habit_reviews(s.ws, VendorScope::Only(s.bpo), None).await?.is_empty());
    ensure!(store.habit_reviews(s.ws, VendorScope::All, Some(0)).await?.is_empty());
    Ok(())
}

fn hidden_session(s: &Setup, version: ScorecardVersionId, conversation: ConversationId, who: &[&str]) -> NewSession {
    NewSession {
        title: "Unannounced tone check".into(),
        goals: String::new(),
        scorecard_version_id: version,
        facilitator_id: s.users["lead"],
        mode: SessionMode::Hidden,
        hide_agent_name: false,
        scheduled_at: None,
        scoring_deadline: Some(MARCH_2 + 20 * DAY),
        conversation_ids: vec![conversation],
        participant_ids: who.iter().map(|w| s.users[w]).collect(),
        review_plan_id: None,
        created_by: s.users["lead"],
    }
}

async fn hidden_calibration_waits_in_the_queue(db: &TestDatabase) -> Result<()> {
    let s = setup(db).await?;
    let store = &db.store;
    let version = store.active_version(s.ws, s.scorecard).await?.context("active")?;
    let plan = store.create_review_plan(s.ws, new_plan(&s, PlanSample::Percent(50.0), week(), &["ann", "bob"])).await?;
    store.draw_review_plan(s.ws, plan.id, MARCH_2 + 8 * DAY).await?;
    let drawn = store.list_assignments(s.ws, &AssignmentQuery { plan_id: Some(plan.id), ..Default::default() }).await?;
    let in_plan: Vec<ConversationId> = drawn.iter().map(|a| a.conversation_id).collect();
    // An internal conversation the plan did not draw, and one it gave to Ann.
    let mut outside = None;
    for i in 0..8 {
        let c = store.get_conversation_by_external_id(s.ws, &format!("C-{i}")).await?;
        if !in_plan.contains(&c.id) {
            outside = Some(c);
            break;
        }
    }
    let outside = outside.context("an internal conversation outside the plan")?;
    let anns = drawn.iter().find(|a| a.grader_id == s.users["ann"]).context("an item of Ann's")?;
    let progress_before = store.plan_progress(s.ws, plan.id, None, MARCH_2 + 9 * DAY).await?;

    // Refused: a plan for a session that is not hidden, someone without a queue, a conversation
    // already in Ann's queue, a version the plan's items do not use.
    let with_plan = |mut new: NewSession| {
        new.review_plan_id = Some(plan.id);
        new
    };
    let mut blind = with_plan(hidden_session(&s, version.id, outside.id, &["ann"]));
    blind.mode = SessionMode::Blind;
    let fields = |r: Result<SessionRecord, StoreError>| -> Vec<String> {
        match r {
            Err(StoreError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => vec![format!("{other:?}")],
        }
    };
    ensure!(fields(store.create_calibration(s.ws, blind).await) == ["review_plan_id"]);
    let refused = store
        .create_calibration(
            s.ws,
            with_plan(hidden_session(&s, version.id, anns.conversation_id, &["bob", "agent", "ann"])),
        )
        .await;
    ensure!(fields(refused) == ["participant_ids[1]", "participant_ids[2]"], "the agent; Ann has it already");
    let definition = store.get_version(s.ws, version.id).await?.definition;
    let (_, other) = store.create_scorecard(s.ws, "Other", "", &definition).await?;
    let other = store.activate_version(s.ws, other.id).await?;
    ensure!(
        fields(store.create_calibration(s.ws, with_plan(hidden_session(&s, other.id, outside.id, &["ann"]))).await)
            == ["review_plan_id"]
    );
    ensure!(testing::count(store, "SELECT COUNT(*) FROM calibration_sessions").await == 0, "nothing was written");

    // Ann and Bob each find the conversation in their queue of the plan, as a drawn item would
    // be: same plan, the latest draw's number, due at the scoring deadline, not started.
    let record =
        store.create_calibration(s.ws, with_plan(hidden_session(&s, version.id, outside.id, &["ann", "bob"]))).await?;
    let session = record.session.id;
    ensure!(record.session.review_plan_id == Some(plan.id));
    ensure!(store.calibration_tasks(s.ws, session).await?.is_empty(), "no draft before the grader starts");
    let queue = |who: &'static str| AssignmentQuery {
        grader_id: Some(s.users[who]),
        with_hidden_calibration: true,
        ..Default::default()
    };
    let hidden_of = |items: Vec<Assignment>| items.into_iter().find(|a| a.conversation_id == outside.id);
    let ann_item = hidden_of(store.list_assignments(s.ws, &queue("ann")).await?).context("in Ann's queue")?;
    let bob_item = hidden_of(store.list_assignments(s.ws, &queue("bob")).await?).context("in Bob's queue")?;
    ensure!(ann_item.plan_id == plan.id && ann_item.plan_name == plan.name && ann_item.draw_number == 0);
    ensure!(ann_item.due_at == MARCH_2 + 20 * DAY && ann_item.status == AssignmentStatus::Assigned);
    ensure!(ann_item.calibration_session_id == Some(session) && ann_item.evaluation_id.is_none());
    ensure!(
        serde_json::to_value(&ann_item)?.as_object().map(|o| o.len())
            == serde_json::to_value(anns)?.as_object().map(|o| o.len()),
        "the same fields as a drawn item"
    );
    ensure!(!serde_json::to_string(&ann_item)?.contains(&session.to_string()), "the session is never serialised");
    // The plan's own views leave it out unless asked: its progress counts drawn items only.
    let plan_view =
        store.list_assignments(s.ws, &AssignmentQuery { plan_id: Some(plan.id), ..Default::default() }).await?;
    ensure!(plan_view.len() == drawn.len() && hidden_of(plan_view).is_none());
    ensure!(store.plan_progress(s.ws, plan.id, None, MARCH_2 + 9 * DAY).await? == progress_before);
    // Gus (not a participant) cannot start Ann's item; Ann's start creates the session's task.
    ensure!(matches!(store.start_assignment(s.ws, ann_item.id, s.users["gus"]).await, Err(StoreError::NotFound)));
    let (task, revision, created) = store.start_assignment(s.ws, ann_item.id, s.users["ann"]).await?;
    ensure!(created && revision == 1 && task.kind == EvaluationKind::Review && task.status == EvaluationStatus::Draft);
    ensure!(task.calibration_session_id == Some(session) && task.scorecard_version_id == version.id);
    let (same, _, created) = store.start_assignment(s.ws, ann_item.id, s.users["ann"]).await?;
    ensure!(!created && same.id == task.id, "starting again opens the same review");
    ensure!(store.get_assignment(s.ws, ann_item.id).await?.status == AssignmentStatus::InProgress);
    let answers = [Answer { criterion_id: s.criterion, choice: Choice::Option(0), comment: String::new() }];
    let edit = EvaluationEdit { answers: &answers, overall_feedback: "", expected_revision: None };
    store.save_evaluation(s.ws, task.id, s.users["ann"], edit, ScoringPolicy::default()).await?;
    store.submit_evaluation(s.ws, task.id, s.users["ann"], ScoringPolicy::default()).await?;
    ensure!(store.get_assignment(s.ws, ann_item.id).await?.status == AssignmentStatus::Done);
    ensure!(
        testing::count(store, "SELECT COUNT(*) FROM evaluations WHERE rollup_snapshot = 1").await == 0,
        "a hidden task never counts in IQS"
    );

    // A participant added later gets an item; removed, it goes (nobody started it).
    store.add_participant(s.ws, session, s.users["lead"], s.users["lead"]).await?;
    ensure!(hidden_of(store.list_assignments(s.ws, &queue("lead")).await?).is_some());
    store.remove_participant(s.ws, session, s.users["lead"], "on leave", s.users["lead"]).await?;
    ensure!(hidden_of(store.list_assignments(s.ws, &queue("lead")).await?).is_none());
    // A deleted draft puts the item back to "not started"; starting again makes a new task.
    let (draft, ..) = store.start_assignment(s.ws, bob_item.id, s.users["bob"]).await?;
    store.delete_draft_evaluation(s.ws, draft.id, s.users["bob"]).await?;
    ensure!(store.get_assignment(s.ws, bob_item.id).await?.status == AssignmentStatus::Assigned);
    let (again, _, created) = store.start_assignment(s.ws, bob_item.id, s.users["bob"]).await?;
    ensure!(created && again.id != draft.id && again.calibration_session_id == Some(session));

    // The reveal ends scoring: Bob's unfinished item and draft leave his queue; Ann's done one
    // stays. The submitted session's results have Ann's score and Bob as not scored.
    let revealed = store.reveal_calibration(s.ws, session, s.users["lead"]).await?;
    ensure!(matches!(store.get_assignment(s.ws, bob_item.id).await, Err(StoreError::NotFound)));
    ensure!(matches!(store.get_evaluation(s.ws, again.id).await, Err(StoreError::NotFound)));
    ensure!(store.get_assignment(s.ws, ann_item.id).await?.status == AssignmentStatus::Done);
    let facilitation = Facilitation {
        calibrated: vec![CalibratedConversation {
            conversation_id: outside.id,
            answers: answers.to_vec(),
            feedback: String::new(),
        }],
        ..Facilitation::default()
    };
    store.save_facilitation(s.ws, session, revealed.revision, facilitation, s.users["lead"]).await?;
    store.submit_calibration(s.ws, session, None, false, s.users["lead"]).await?;
    let rows = store.calibration_result_rows(s.ws, VendorScope::All, None, None).await?;
    let row = |who: &str| rows.iter().find(|r| r.user_id == s.users[who]);
    ensure!(row("ann").is_some_and(|r| r.scored && r.alignment == Some(1.0) && r.session_id == session), "{rows:?}");
    ensure!(row("bob").is_some_and(|r| !r.scored), "{rows:?}");

    // A cancelled session takes its open items out of the queues.
    let second =
        store.list_assignments(s.ws, &AssignmentQuery { plan_id: Some(plan.id), ..Default::default() }).await?;
    let mut spare = None;
    for i in 0..8 {
        let c = store.get_conversation_by_external_id(s.ws, &format!("C-{i}")).await?;
        if !second.iter().any(|a| a.conversation_id == c.id) && c.id != outside.id {
            spare = Some(c.id);
            break;
        }
    }
    let spare = spare.context("another conversation outside the plan")?;
    let cancelled = store.create_calibration(s.ws, with_plan(hidden_session(&s, version.id, spare, &["ann"]))).await?;
    ensure!(store.list_assignments(s.ws, &queue("ann")).await?.iter().any(|a| a.conversation_id == spare));
    store.cancel_calibration(s.ws, cancelled.session.id, "wrong week", s.users["lead"]).await?;
    ensure!(!store.list_assignments(s.ws, &queue("ann")).await?.iter().any(|a| a.conversation_id == spare));
    Ok(())
}
