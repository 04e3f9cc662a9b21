//! The demo workspace (`plumbline demo`, `plumbline serve --demo`): a realistic, deterministic
//! contact center to explore Plumbline with.
//!
//! "Northwind Support" has its internal vendor (Northwind) and two BPO partners (Atlas BPO,
//! Meridian Contact Solutions), two teams each, 40 agents, 10 graders with a hidden leniency bias
//! each (some lenient, some strict), a vendor lead per BPO, a QA lead, an admin and two agent
//! users. It has two active scorecards with guidelines on every criterion and option ("IQS Core",
//! the IQS guide's five weighted criteria on the 1-to-5 scale, and "Chat Essentials", with a
//! critical Security & Compliance group), 2,000 conversations over the last 90 days with
//! transcripts and helpdesk metrics, and 300 submitted reviews.
//!
//! Everything the demo contains is drawn from one seed with a small SplitMix64 generator, so the
//! same seed gives the same content (ids and the creation times of the reviews still come from
//! the clock). Each conversation has a hidden quality; its CSAT, NPS and first-contact resolution
//! are correlated with it, and the graders' answers follow it plus their bias plus noise, so the
//! reports show real structure: BPO graders grade their own vendor more leniently than internal
//! graders do, a few graders are visibly strict or lenient, CSAT tracks IQS loosely, and now and
//! then an agent skips identity verification and the review auto-fails (when the grader notices).

use anyhow::{Context, Result, anyhow, bail};
use plumbline_domain::WorkspaceId;
use plumbline_domain::access::VendorScope;
use plumbline_domain::conversation::{AuthorRole, Channel, ConversationMetrics, ConversationRecord, Message};
use plumbline_domain::evaluation::{Answer, Choice, EvaluationKind};
use plumbline_domain::org::Role;
use plumbline_domain::scorecard::{CriterionInput, DefinitionInput, GroupInput, ScalePreset, ScorecardDefinition};
use plumbline_domain::scoring::{ScoringPolicy, score_evaluation};
use plumbline_store::{
    ConversationFilter, ImportError, ImportItem, NewEvaluation, NewUser, PageRequest, Store, StoreError,
};
use std::collections::{HashMap, HashSet};

/// One way into the demo workspace.
#[allow(dead_code)] // A return value: each caller prints what it needs.
pub struct DemoLogin {
    pub email: String,
    pub password: String,
    pub role: plumbline_domain::org::Role,
    /// The vendor's name.
    pub vendor: String,
    pub name: String,
}

/// What [`create_demo`] made.
#[allow(dead_code)] // A return value: each caller prints what it needs.
pub struct DemoSummary {
    pub workspace_id: plumbline_domain::WorkspaceId,
    pub logins: Vec<DemoLogin>,
    pub conversations: u64,
    pub reviews: u64,
}

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = "plumbline-demo";
pub const DEMO_WORKSPACE: &str = "Northwind Support";
const LOGIN_DOMAIN: &str = "northwind.example";
const CONVERSATIONS: usize = 2_000;
const REVIEWS: usize = 300;
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Creates the demo workspace in an empty store. `hash_password` turns a password into a stored hash.
///
/// Every demo user has the password [`DEMO_PASSWORD`]; `hash_password` is called once and the
/// hash is stored for each of them (a slow password hash in a debug build would otherwise
/// dominate the run). Fails, changing nothing, when the demo users already exist.
pub async fn create_demo(
    store: &plumbline_store::Store,
    hash_password: &(dyn Fn(&str) -> String + Sync),
    seed: u64,
) -> anyhow::Result<DemoSummary> {
    let admin_email = format!("admin@{LOGIN_DOMAIN}");
    if store.find_user_by_email(&admin_email).await.map_err(store_error)?.is_some() {
        bail!("this database already holds the demo workspace (user {admin_email} exists)");
    }
    let now = plumbline_store::now_millis();
    let clock = std::time::Instant::now();

    // Organisation.
    let (workspace, internal) = store.create_workspace(DEMO_WORKSPACE, VENDORS[0].name).await.map_err(store_error)?;
    let ws = workspace.id;
    let mut vendor_ids = vec![internal.id];
    for v in &VENDORS[1..] {
        vendor_ids.push(store.create_vendor(ws, v.name).await.map_err(store_error)?.id);
    }
    let mut team_ids = Vec::new();
    for t in &TEAMS {
        team_ids.push(store.create_team(ws, vendor_ids[t.vendor], t.name).await.map_err(store_error)?.id);
    }
    let agents = plan_agents(seed);
    let mut agent_ids = HashMap::new();
    for a in &agents {
        let email = agent_email(a.name, VENDORS[a.vendor].domain);
        let agent = store
            .create_agent(ws, vendor_ids[a.vendor], Some(team_ids[a.team]), a.name, Some(&email))
            .await
            .map_err(store_error)?;
        agent_ids.insert(a.name, agent.id);
    }

    // Users: one hash for the shared password.
    let password_hash = hash_password(DEMO_PASSWORD);
    let mut logins = Vec::new();
    let mut grader_ids = Vec::new();
    let mut lead_id = None;
    let mut agent_users = Vec::new();
    for u in users() {
        let agent_id = match u.agent {
            Some(name) => Some(*agent_ids.get(name).ok_or_else(|| anyhow!("demo agent {name} is missing"))?),
            None => None,
        };
        let user = store
            .create_user(
                ws,
                NewUser {
                    vendor_id: vendor_ids[u.vendor],
                    email: u.email.clone(),
                    name: u.name.to_string(),
                    role: u.role,
                    password_hash: password_hash.clone(),
                    agent_id,
                },
            )
            .await
            .map_err(store_error)?;
        if u.role == Role::Reviewer {
            grader_ids.push(user.id);
        }
        if u.role == Role::QaLead {
            lead_id = Some(user.id);
        }
        if u.role == Role::Agent {
            agent_users.push((user.id, u.agent.unwrap_or_default()));
        }
        logins.push(DemoLogin {
            email: user.email,
            password: DEMO_PASSWORD.to_string(),
            role: u.role,
            vendor: VENDORS[u.vendor].name.to_string(),
            name: user.name,
        });
    }

    tracing::debug!(elapsed = ?clock.elapsed(), "demo organisation and users created");
    // Scorecards, activated.
    let mut versions = Vec::new();
    for card in scorecards() {
        let definition = card.definition()?;
        let (_, draft) =
            store.create_scorecard(ws, card.name, card.description, &definition).await.map_err(store_error)?;
        versions.push(store.activate_version(ws, draft.id).await.map_err(store_error)?);
    }

    // Conversations, in one import transaction.
    let conversations = plan_conversations(seed, &agents, now);
    let conversation_count = import(store, ws, &conversations).await?;
    let ids_by_external = conversation_ids(store, ws).await?;
    tracing::debug!(elapsed = ?clock.elapsed(), conversation_count, "demo conversations imported");

    // Reviews.
    let definitions: Vec<ScorecardDefinition> = versions.iter().map(|v| v.definition.clone()).collect();
    let reviews = plan_reviews(seed, &conversations, &definitions);
    let reviewed: HashSet<usize> = reviews.iter().map(|r| r.conversation).collect();
    // What the agents with a login rate themselves on (their reviewed conversations).
    let self_review_plans: Vec<(usize, usize, Vec<Answer>, i64)> = reviews
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            agent_users.iter().any(|(_, name)| conversations[r.conversation].record.agent.as_deref() == Some(name))
        })
        .map(|(i, r)| (r.conversation, r.scorecard, r.answers.clone(), i as i64))
        .collect();
    let mut work = Vec::with_capacity(reviews.len());
    for review in reviews {
        let conversation = &conversations[review.conversation];
        let conversation_id = *ids_by_external
            .get(&conversation.record.external_id)
            .ok_or_else(|| anyhow!("conversation {} was not imported", conversation.record.external_id))?;
        let reviewer = grader_ids[review.grader];
        // Reviewed a few hours to two days after the conversation, so the reports have 90 days
        // of history (never in the future).
        let delay = HOUR_MS * (2 + (work.len() as i64 * 7919) % 46);
        let reviewed_at = (conversation.record.started_at + delay).min(now - 60_000);
        work.push((
            reviewed_at,
            NewEvaluation {
                conversation_id,
                scorecard_version_id: versions[review.scorecard].id,
                reviewer_id: reviewer,
                kind: EvaluationKind::Review,
                answers: review.answers,
                overall_feedback: review.feedback,
            },
        ));
    }
    // A few writers at once: the reads of each submission overlap the others' commits.
    let mut tasks = tokio::task::JoinSet::new();
    let writers = 4;
    let mut chunks: Vec<Vec<(i64, NewEvaluation)>> = (0..writers).map(|_| Vec::new()).collect();
    for (i, item) in work.into_iter().enumerate() {
        chunks[i % writers].push(item);
    }
    for chunk in chunks {
        let store = store.clone();
        tasks.spawn(async move {
            for (at, new) in chunk {
                let reviewer = new.reviewer_id;
                let draft = store.create_evaluation(ws, new).await.map_err(store_error)?;
                store
                    .submit_evaluation_at(ws, draft.id, reviewer, ScoringPolicy::default(), at)
                    .await
                    .map_err(store_error)?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a demo review writer stopped")??;
    }
    let submitted = REVIEWS as u64;
    seed_self_reviews(store, ws, &conversations, &ids_by_external, &versions, &agent_users, &self_review_plans).await?;
    let lead = lead_id.ok_or_else(|| anyhow!("the demo qa_lead is missing"))?;
    seed_targets(store, ws, lead, &vendor_ids, now).await?;
    tracing::debug!(elapsed = ?clock.elapsed(), submitted, "demo reviews submitted");

    let scene = CalibrationScene {
        store,
        ws,
        conversations: &conversations,
        ids: &ids_by_external,
        graders: &grader_ids,
        lead,
    };
    seed_calibration(&scene, seed, &versions[0], &reviewed, now).await?;
    tracing::debug!(elapsed = ?clock.elapsed(), "demo calibration sessions created");

    Ok(DemoSummary { workspace_id: ws, logins, conversations: conversation_count, reviews: submitted })
}

/// Agents with a login rate a few of their own reviewed conversations, a notch kinder than
/// their reviewers on the criteria where they fell short (what the self-assessment report
/// shows).
async fn seed_self_reviews(
    store: &Store,
    ws: WorkspaceId,
    conversations: &[ConversationPlan],
    ids: &HashMap<String, plumbline_domain::ConversationId>,
    versions: &[plumbline_domain::scorecard::ScorecardVersion],
    agent_users: &[(plumbline_domain::UserId, &'static str)],
    plans: &[(usize, usize, Vec<Answer>, i64)],
) -> Result<()> {
    for (user, name) in agent_users {
        let mine = plans.iter().filter(|p| conversations[p.0].record.agent.as_deref() == Some(name)).take(8);
        for (conversation, scorecard, answers, n) in mine {
            let version = &versions[*scorecard];
            let kinder: Vec<Answer> = answers
                .iter()
                .map(|a| match a.choice {
                    Choice::Option(o) if o > 0 && n % 3 != 0 => Answer { choice: Choice::Option(o - 1), ..a.clone() },
                    _ => a.clone(),
                })
                .collect();
            let record = &conversations[*conversation].record;
            let conversation_id = *ids
                .get(&record.external_id)
                .ok_or_else(|| anyhow!("conversation {} is missing", record.external_id))?;
            let draft = store
                .create_evaluation(
                    ws,
                    NewEvaluation {
                        conversation_id,
                        scorecard_version_id: version.id,
                        reviewer_id: *user,
                        kind: EvaluationKind::SelfReview,
                        answers: kinder,
                        overall_feedback: "I think I handled this one well.".into(),
                    },
                )
                .await
                .map_err(store_error)?;
            let at = (record.started_at + HOUR_MS * 5).min(plumbline_store::now_millis() - 60_000);
            store.submit_evaluation_at(ws, draft.id, *user, ScoringPolicy::default(), at).await.map_err(store_error)?;
        }
    }
    Ok(())
}

/// Two IQS targets: the whole workspace, and Atlas BPO with a milestone.
async fn seed_targets(
    store: &Store,
    ws: WorkspaceId,
    lead: plumbline_domain::UserId,
    vendors: &[plumbline_domain::VendorId],
    now: i64,
) -> Result<()> {
    let day = |ms: i64| plumbline_domain::time::Date::of(ms).to_string();
    let targets = [
        ("Everyone to 85 this quarter", None, 85.0, now - 60 * DAY_MS, now + 30 * DAY_MS, vec![]),
        (
            "Atlas BPO to 80 by the contract review",
            Some(vendors[1]),
            80.0,
            now - 75 * DAY_MS,
            now + 45 * DAY_MS,
            vec![plumbline_domain::reports::Milestone { date: day(now - 15 * DAY_MS), value: 76.0 }],
        ),
    ];
    for (name, vendor_id, value, start, due, milestones) in targets {
        let input = plumbline_store::TargetInput {
            name: name.into(),
            vendor_id,
            team_id: None,
            scorecard_id: None,
            value,
            start: day(start),
            due: day(due),
            milestones,
        };
        store.create_target(ws, lead, &input).await.map_err(store_error)?;
    }
    Ok(())
}

/// What the calibration seeding works on.
struct CalibrationScene<'a> {
    store: &'a Store,
    ws: WorkspaceId,
    conversations: &'a [ConversationPlan],
    ids: &'a HashMap<String, plumbline_domain::ConversationId>,
    graders: &'a [plumbline_domain::UserId],
    lead: plumbline_domain::UserId,
}

/// A grader who gives the answer each conversation deserves: the calibrated answer.
const BENCHMARK: GraderSpec =
    GraderSpec { name: "benchmark", vendor: 0, bias: 0.0, noise: 0.0, vigilance: 1.0, verbosity: 0.0 };

struct SessionSeed {
    title: &'static str,
    goals: &'static str,
    vendor: usize,
    conversations: usize,
    /// Indexes into [`GRADERS`].
    participants: &'static [usize],
    /// Participants who never score.
    absent: &'static [usize],
    /// Submitted (with results), or still scoring.
    submit: bool,
    publish: bool,
    decision: &'static str,
    action: &'static str,
}

const SESSIONS: [SessionSeed; 4] = [
    SessionSeed {
        title: "Atlas BPO calibration: tone and verification",
        goals: "Find out whether Atlas's graders score tone like ours do.",
        vendor: 1,
        conversations: 2,
        participants: &[0, 1, 2, 3, 4, 5, 6],
        absent: &[],
        submit: true,
        publish: false,
        decision: "A top score on this criterion needs the customer's name and an apology when we were late.",
        action: "Tone refresher for the Atlas team leads",
    },
    SessionSeed {
        title: "Meridian calibration: compliance",
        goals: "Check that a missed identity check is failed by every grader.",
        vendor: 2,
        conversations: 2,
        participants: &[0, 1, 2, 3, 7, 8, 9],
        absent: &[9],
        submit: true,
        publish: false,
        decision: "Skipping verification on an account question is a fail, even when the customer is known.",
        action: "Add the verification example to the scorecard guideline",
    },
    SessionSeed {
        title: "Northwind monthly calibration",
        goals: "Monthly check of the internal graders.",
        vendor: 0,
        conversations: 1,
        participants: &[0, 1, 2, 3],
        absent: &[],
        submit: true,
        publish: true,
        decision: "Offering a follow-up without being asked counts as proactive.",
        action: "Share the calibrated example in the weekly team meeting",
    },
    SessionSeed {
        title: "Northwind weekly: onboarding check",
        goals: "Blind scoring before Thursday's discussion.",
        vendor: 0,
        conversations: 1,
        participants: &[0, 1, 2],
        absent: &[0],
        submit: false,
        publish: false,
        decision: "",
        action: "",
    },
];

/// Calibration in the demo: three submitted sessions (so the Calibration Performance Report
/// has data; one published), one still scoring (grader1 has it in their work list), a hidden
/// one in a review plan's queues ([`seed_queue`]) and a weekly series. Graders answer with the same model as their reviews; the calibrated answer
/// is what a perfectly attentive grader gives.
async fn seed_calibration(
    scene: &CalibrationScene<'_>,
    seed: u64,
    version: &plumbline_domain::scorecard::ScorecardVersion,
    reviewed: &HashSet<usize>,
    now: i64,
) -> Result<()> {
    use plumbline_domain::calibration::{
        ActionItem, ActionKind, Attendance, AttendanceEntry, CalibratedConversation, Decision, Facilitation,
        SessionMode,
    };
    let (store, ws) = (scene.store, scene.ws);
    let mut rng = Rng::new(seed, 4);
    let spec = scorecards()[0];
    let definition = &version.definition;
    let mut taken: HashSet<usize> = reviewed.clone();
    for plan in &SESSIONS {
        let mut picked = Vec::new();
        while picked.len() < plan.conversations {
            let i = rng.below(scene.conversations.len());
            if scene.conversations[i].vendor == plan.vendor && taken.insert(i) {
                picked.push(i);
            }
        }
        let conversation_ids = picked
            .iter()
            .map(|&i| {
                let external = &scene.conversations[i].record.external_id;
                scene.ids.get(external).copied().ok_or_else(|| anyhow!("conversation {external} was not imported"))
            })
            .collect::<Result<Vec<_>>>()?;
        let record = store
            .create_calibration(
                ws,
                plumbline_store::NewSession {
                    title: plan.title.into(),
                    goals: plan.goals.into(),
                    scorecard_version_id: version.id,
                    facilitator_id: scene.lead,
                    mode: SessionMode::Blind,
                    hide_agent_name: false,
                    scheduled_at: Some(if plan.submit { now - 7 * DAY_MS } else { now + 3 * DAY_MS }),
                    scoring_deadline: Some(if plan.submit { now - 8 * DAY_MS } else { now + 2 * DAY_MS }),
                    conversation_ids: conversation_ids.clone(),
                    participant_ids: plan.participants.iter().map(|&g| scene.graders[g]).collect(),
                    review_plan_id: None,
                    created_by: scene.lead,
                },
            )
            .await
            .map_err(store_error)?;
        let id = record.session.id;
        for task in store.calibration_tasks(ws, id).await.map_err(store_error)? {
            let Some(g) = scene.graders.iter().position(|u| *u == task.reviewer_id) else { continue };
            if plan.absent.contains(&g) {
                continue;
            }
            let i = picked[conversation_ids.iter().position(|c| *c == task.conversation_id).unwrap_or(0)];
            let (answers, feedback) = grade(&mut rng, &GRADERS[g], &scene.conversations[i], spec, definition);
            let edit = plumbline_store::EvaluationEdit {
                answers: &answers,
                overall_feedback: &feedback,
                expected_revision: None,
            };
            store
                .save_evaluation(ws, task.id, task.reviewer_id, edit, ScoringPolicy::default())
                .await
                .map_err(store_error)?;
            store
                .submit_evaluation(ws, task.id, task.reviewer_id, ScoringPolicy::default())
                .await
                .map_err(store_error)?;
        }
        if !plan.submit {
            continue;
        }
        let calibrated = picked
            .iter()
            .zip(&conversation_ids)
            .map(|(&i, &conversation_id)| {
                let (answers, _) = grade(&mut rng, &BENCHMARK, &scene.conversations[i], spec, definition);
                CalibratedConversation {
                    conversation_id,
                    answers,
                    feedback: "Calibrated in the session: see the decisions for what changed.".into(),
                }
            })
            .collect();
        let facilitation = Facilitation {
            notes: "Most of the spread was on tone; compliance was clear once the transcript was read aloud.".into(),
            attendance: plan
                .participants
                .iter()
                .map(|&g| AttendanceEntry {
                    user_id: scene.graders[g],
                    attendance: if plan.absent.contains(&g) { Attendance::Absent } else { Attendance::Present },
                })
                .collect(),
            calibrated,
            participant_feedback: Vec::new(),
            decisions: vec![Decision {
                id: Default::default(),
                text: plan.decision.into(),
                criterion_id: definition.criteria.first().map(|c| c.id),
            }],
            actions: vec![ActionItem {
                id: Default::default(),
                kind: ActionKind::Training,
                text: plan.action.into(),
                owner_id: Some(scene.lead),
                due_on: Some(plumbline_domain::time::Date::of(now + 14 * DAY_MS).to_string()),
                done: false,
            }],
        };
        let revealed = store.reveal_calibration(ws, id, scene.lead).await.map_err(store_error)?;
        store.save_facilitation(ws, id, revealed.revision, facilitation, scene.lead).await.map_err(store_error)?;
        store.submit_calibration(ws, id, None, plan.publish, scene.lead).await.map_err(store_error)?;
    }
    seed_queue(scene, seed, version, &taken, now).await?;
    // A weekly series for the internal graders, starting next Monday.
    let today = plumbline_domain::time::Date::of(now);
    let monday = plumbline_domain::time::Date::of(now + i64::from(7 - today.weekday()) * DAY_MS);
    store
        .create_series(
            ws,
            plumbline_store::NewSeries {
                title: "Weekly internal calibration".into(),
                goals: "Keep the internal graders aligned.".into(),
                scorecard_id: version.scorecard_id,
                cadence: plumbline_domain::series::Cadence::Weekly,
                first_date: monday,
                start_minute: 15 * 60,
                duration_minutes: 45,
                facilitator_id: scene.lead,
                participant_ids: scene.graders[..4].to_vec(),
                mode: SessionMode::Blind,
                hide_agent_name: false,
                filter: plumbline_domain::series::SeriesFilter { within_days: Some(30), ..Default::default() },
                conversations_per_occurrence: 1,
                seed: Some(seed),
                created_by: scene.lead,
            },
        )
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Review assignments in the demo: a plan sampling the internal vendor's unreviewed
/// conversations for the four internal graders, drawn once, and a hidden calibration session
/// waiting in two of their queues as an ordinary item (grader1 finds it in "My queue"; the QA
/// lead sees it marked on the plan's page).
async fn seed_queue(
    scene: &CalibrationScene<'_>,
    seed: u64,
    version: &plumbline_domain::scorecard::ScorecardVersion,
    taken: &HashSet<usize>,
    now: i64,
) -> Result<()> {
    use plumbline_domain::review_plans::{PlanFilter, PlanSample};
    let (store, ws) = (scene.store, scene.ws);
    let internal = store.internal_vendor(ws).await.map_err(store_error)?.id;
    let plan = store
        .create_review_plan(
            ws,
            plumbline_store::NewReviewPlan {
                name: "Northwind weekly sample".into(),
                scorecard_id: version.scorecard_id,
                sample: PlanSample::Percent(10.0),
                period_days: 7,
                filter: PlanFilter { vendor_id: Some(internal), ..Default::default() },
                grader_ids: scene.graders[..4].to_vec(),
                due_in_days: 5,
                seed: Some(seed),
                created_by: scene.lead,
            },
        )
        .await
        .map_err(store_error)?;
    let drawn = match store.draw_review_plan(ws, plan.id, now).await {
        Ok(draw) => draw.drawn,
        // Nothing unreviewed in the last week (not with the demo's own data): an empty queue.
        Err(StoreError::Conflict(_)) => Vec::new(),
        Err(e) => return Err(store_error(e)),
    };
    let mut rng = Rng::new(seed, 5);
    let conversation_id = loop {
        let i = rng.below(scene.conversations.len());
        if scene.conversations[i].vendor != 0 || taken.contains(&i) {
            continue;
        }
        let external = &scene.conversations[i].record.external_id;
        let id = *scene.ids.get(external).ok_or_else(|| anyhow!("conversation {external} was not imported"))?;
        if !drawn.contains(&id) {
            break id;
        }
    };
    store
        .create_calibration(
            ws,
            plumbline_store::NewSession {
                title: "Unannounced tone check".into(),
                goals: "Do the internal graders agree on tone when they do not know it is a calibration?".into(),
                scorecard_version_id: version.id,
                facilitator_id: scene.lead,
                mode: plumbline_domain::calibration::SessionMode::Hidden,
                hide_agent_name: false,
                scheduled_at: Some(now + 5 * DAY_MS),
                scoring_deadline: Some(now + 4 * DAY_MS),
                conversation_ids: vec![conversation_id],
                participant_ids: vec![scene.graders[0], scene.graders[2]],
                review_plan_id: Some(plan.id),
                created_by: scene.lead,
            },
        )
        .await
        .map_err(store_error)?;
    Ok(())
}

/// A store error with the fields of invalid input spelled out.
fn store_error(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Invalid(fields) => {
            let detail: Vec<String> = fields.iter().map(|f| format!("{}: {}", f.field, f.reason)).collect();
            anyhow!("invalid demo data: {}", detail.join("; "))
        }
        other => anyhow::Error::new(other),
    }
}

async fn import(store: &Store, ws: WorkspaceId, conversations: &[ConversationPlan]) -> Result<u64> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<ImportItem>(conversations.len() + 1);
    for (line, c) in conversations.iter().enumerate() {
        tx.try_send(Ok((line as u64 + 1, c.record.clone()))).map_err(|_| anyhow!("import channel is full"))?;
    }
    drop(tx);
    match store.import_conversations(ws, &mut rx).await {
        Ok(summary) => Ok(summary.created + summary.updated),
        Err(ImportError::BadRows { problems, total }) => {
            let first: Vec<String> =
                problems.iter().take(5).map(|p| format!("line {} {}: {}", p.line, p.field, p.reason)).collect();
            bail!("{total} demo conversations were rejected: {}", first.join("; "))
        }
        Err(ImportError::Store(e)) => Err(store_error(e)).context("importing the demo conversations"),
    }
}

/// Every conversation's id by external id.
async fn conversation_ids(store: &Store, ws: WorkspaceId) -> Result<HashMap<String, plumbline_domain::ConversationId>> {
    let mut ids = HashMap::new();
    let mut page = PageRequest { cursor: None, limit: Some(PageRequest::MAX_LIMIT) };
    loop {
        let got = store
            .list_conversations(ws, VendorScope::All, None, &ConversationFilter::default(), &page)
            .await
            .map_err(store_error)?;
        for c in got.items {
            ids.insert(c.external_id, c.id);
        }
        match got.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Ok(ids),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Randomness: SplitMix64 (Steele, Lea and Flood 2014), enough for demo data and stable forever.

struct Rng(u64);

impl Rng {
    /// A generator for one part of the demo, so that changing one part leaves the others alone.
    fn new(seed: u64, stream: u64) -> Self {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xD134_2543_DE82_EF95));
        r.next_u64();
        r
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n - 1)
    }

    /// Uniform in lo..=hi.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as usize) as i64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.unit();
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// An index drawn with the given weights.
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }
}

// ---------------------------------------------------------------------------------------------
// Organisation.

struct VendorSpec {
    name: &'static str,
    domain: &'static str,
    /// Added to each agent's skill: the internal team is a little better trained.
    skill: f64,
}

const VENDORS: [VendorSpec; 3] = [
    VendorSpec { name: "Northwind", domain: "northwind.example", skill: 0.03 },
    VendorSpec { name: "Atlas BPO", domain: "atlasbpo.example", skill: -0.02 },
    VendorSpec { name: "Meridian Contact Solutions", domain: "meridiancs.example", skill: -0.05 },
];

struct TeamSpec {
    vendor: usize,
    name: &'static str,
    /// Weights over [`TOPICS`].
    topics: [f64; 8],
}

// Topic order: refund, login, delivery, billing, plan change, damaged item, technical, cancellation.
const TEAMS: [TeamSpec; 6] = [
    TeamSpec { vendor: 0, name: "Billing", topics: [3.0, 0.0, 0.0, 4.0, 2.0, 0.0, 0.0, 1.0] },
    TeamSpec { vendor: 0, name: "Technical Support", topics: [0.0, 4.0, 0.0, 0.0, 1.0, 0.0, 4.0, 0.0] },
    TeamSpec { vendor: 1, name: "Orders & Delivery", topics: [0.5, 0.0, 5.0, 0.0, 0.0, 2.0, 0.0, 0.0] },
    TeamSpec { vendor: 1, name: "Returns", topics: [4.0, 0.0, 1.0, 0.0, 0.0, 3.0, 0.0, 0.5] },
    TeamSpec { vendor: 2, name: "Account Access", topics: [0.0, 5.0, 0.0, 0.0, 0.0, 0.0, 2.0, 1.0] },
    TeamSpec { vendor: 2, name: "Plans & Renewals", topics: [0.5, 0.0, 0.0, 3.0, 4.0, 0.0, 0.0, 2.0] },
];

/// Agents by team (index into [`TEAMS`]).
const AGENT_NAMES: [(usize, &str); 40] = [
    (0, "Amelia Hart"),
    (0, "Daniel Osei"),
    (0, "Sofia Márquez"),
    (0, "Liam O'Connor"),
    (0, "Hannah Kowalski"),
    (0, "Ethan Brooks"),
    (1, "Aisha Rahman"),
    (1, "Noah Fischer"),
    (1, "Chloé Dubois"),
    (1, "Mateo Rossi"),
    (1, "Grace Lindqvist"),
    (1, "Owen Patel"),
    (2, "Maria Santos"),
    (2, "Jerome Dela Cruz"),
    (2, "Kristine Reyes"),
    (2, "Paolo Mendoza"),
    (2, "Angelica Bautista"),
    (2, "Rafael García"),
    (2, "Jasmine Villanueva"),
    (3, "Mark Anthony Lim"),
    (3, "Bea Aquino"),
    (3, "Carlo Ramos"),
    (3, "Patricia Navarro"),
    (3, "Miguel Torres"),
    (3, "Joy Fernandez"),
    (3, "Renz Castillo"),
    (4, "Thabo Nkosi"),
    (4, "Lerato Mokoena"),
    (4, "Sipho Dlamini"),
    (4, "Naledi Khumalo"),
    (4, "Andile Zulu"),
    (4, "Zanele Mahlangu"),
    (4, "Pieter van Wyk"),
    (5, "Kagiso Molefe"),
    (5, "Ayanda Ndlovu"),
    (5, "Lindiwe Sithole"),
    (5, "Johan Botha"),
    (5, "Nomvula Mthembu"),
    (5, "Tshepo Radebe"),
    (5, "Busisiwe Cele"),
];

struct AgentPlan {
    name: &'static str,
    vendor: usize,
    team: usize,
    /// The agent's typical conversation quality, 0..1.
    skill: f64,
    /// Relative share of the conversations (part-timers, new starters, veterans).
    volume: f64,
}

fn plan_agents(seed: u64) -> Vec<AgentPlan> {
    let mut rng = Rng::new(seed, 1);
    AGENT_NAMES
        .iter()
        .map(|&(team, name)| {
            let vendor = TEAMS[team].vendor;
            let skill = (0.72 + VENDORS[vendor].skill + 0.08 * rng.normal()).clamp(0.45, 0.95);
            AgentPlan { name, vendor, team, skill, volume: 0.6 + 0.8 * rng.unit() }
        })
        .collect()
}

/// `first.last@domain` in plain ASCII.
fn agent_email(name: &str, domain: &str) -> String {
    let mut local = String::new();
    for ch in name.to_lowercase().chars() {
        let ch = match ch {
            'á' | 'à' | 'ä' => 'a',
            'é' | 'è' | 'ë' => 'e',
            'í' => 'i',
            'ó' | 'ö' => 'o',
            'ú' | 'ü' => 'u',
            'ñ' => 'n',
            c => c,
        };
        if ch.is_ascii_alphanumeric() {
            local.push(ch);
        } else if ch == ' ' && !local.ends_with('.') {
            local.push('.');
        }
    }
    format!("{local}@{domain}")
}

struct UserSpec {
    email: String,
    name: &'static str,
    role: Role,
    vendor: usize,
    agent: Option<&'static str>,
}

/// A grader and the hidden habits that drive their answers.
struct GraderSpec {
    name: &'static str,
    vendor: usize,
    /// Shift of their answers on the 0..1 quality scale: > 0 lenient, < 0 strict.
    bias: f64,
    /// How much their answers scatter around what they should be.
    noise: f64,
    /// How often they notice a compliance breach.
    vigilance: f64,
    /// How often they write a comment on a criterion.
    verbosity: f64,
}

const GRADERS: [GraderSpec; 10] = [
    GraderSpec { name: "Tom Becker", vendor: 0, bias: 0.0, noise: 0.07, vigilance: 0.95, verbosity: 0.45 },
    GraderSpec { name: "Ingrid Solberg", vendor: 0, bias: -0.13, noise: 0.06, vigilance: 0.98, verbosity: 0.6 },
    GraderSpec { name: "Marcus Webb", vendor: 0, bias: 0.04, noise: 0.10, vigilance: 0.85, verbosity: 0.25 },
    GraderSpec { name: "Leila Haddad", vendor: 0, bias: -0.05, noise: 0.08, vigilance: 0.92, verbosity: 0.5 },
    GraderSpec { name: "Christine Ocampo", vendor: 1, bias: 0.15, noise: 0.08, vigilance: 0.6, verbosity: 0.3 },
    GraderSpec { name: "Ramon Aguilar", vendor: 1, bias: 0.07, noise: 0.09, vigilance: 0.75, verbosity: 0.35 },
    GraderSpec { name: "Lea Manalo", vendor: 1, bias: -0.08, noise: 0.07, vigilance: 0.9, verbosity: 0.55 },
    GraderSpec { name: "Keabetswe Moloi", vendor: 2, bias: 0.19, noise: 0.10, vigilance: 0.55, verbosity: 0.2 },
    GraderSpec { name: "Ruan Pretorius", vendor: 2, bias: 0.05, noise: 0.08, vigilance: 0.8, verbosity: 0.4 },
    GraderSpec { name: "Precious Mabaso", vendor: 2, bias: 0.11, noise: 0.09, vigilance: 0.7, verbosity: 0.3 },
];

fn users() -> Vec<UserSpec> {
    let user = |local: &str, name, role, vendor, agent| UserSpec {
        email: format!("{local}@{LOGIN_DOMAIN}"),
        name,
        role,
        vendor,
        agent,
    };
    let mut out = vec![
        user("admin", "Dana Whitfield", Role::Admin, 0, None),
        user("lead", "Priya Raman", Role::QaLead, 0, None),
        user("atlas.lead", "Victor Salazar", Role::VendorLead, 1, None),
        user("meridian.lead", "Nandi Zwane", Role::VendorLead, 2, None),
    ];
    for (i, g) in GRADERS.iter().enumerate() {
        out.push(user(&format!("grader{}", i + 1), g.name, Role::Reviewer, g.vendor, None));
    }
    out.push(user("agent1", "Amelia Hart", Role::Agent, 0, Some("Amelia Hart")));
    out.push(user("agent2", "Maria Santos", Role::Agent, 1, Some("Maria Santos")));
    out
}

// ---------------------------------------------------------------------------------------------
// Scorecards.

/// How the demo graders answer a criterion.
#[derive(Clone, Copy)]
enum Model {
    /// Follows the conversation's quality, shifted by this much (easier criteria score higher).
    Quality(f64),
    /// Follows quality, but a breach the grader notices fails it.
    Compliance,
    /// N/A unless the topic touches the account; No when a skipped verification is noticed.
    Identity,
    /// No when an exposure of sensitive data is noticed.
    SensitiveData,
    /// N/A when the customer left before the agent could close.
    Closing,
}

struct CriterionSpec {
    group: Option<usize>,
    title: &'static str,
    description: &'static str,
    guidelines: &'static str,
    weight: f64,
    preset: ScalePreset,
    /// One guideline per option of the preset, best first.
    options: &'static [&'static str],
    na_allowed: bool,
    critical: bool,
    model: Model,
    praise: &'static [&'static str],
    improve: &'static [&'static str],
}

struct ScorecardSpec {
    name: &'static str,
    description: &'static str,
    groups: &'static [(&'static str, bool)],
    criteria: &'static [CriterionSpec],
}

impl ScorecardSpec {
    fn definition(&self) -> Result<ScorecardDefinition> {
        let input = DefinitionInput {
            groups: self
                .groups
                .iter()
                .map(|&(title, critical)| GroupInput { id: None, title: title.to_string(), critical })
                .collect(),
            criteria: self
                .criteria
                .iter()
                .map(|c| {
                    let mut options = c.preset.scale().options;
                    for (option, guideline) in options.iter_mut().zip(c.options) {
                        option.guideline = guideline.to_string();
                    }
                    CriterionInput {
                        id: None,
                        group: c.group,
                        title: c.title.to_string(),
                        description: c.description.to_string(),
                        weight: Some(c.weight),
                        preset: None,
                        options: Some(options),
                        na_allowed: c.na_allowed,
                        critical: c.critical,
                        guidelines: c.guidelines.to_string(),
                    }
                })
                .collect(),
        };
        ScorecardDefinition::parse(input).map_err(|errors| {
            let detail: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect();
            anyhow!("demo scorecard {:?} is invalid: {}", self.name, detail.join("; "))
        })
    }
}

fn scorecards() -> [&'static ScorecardSpec; 2] {
    [&IQS_CORE, &CHAT_ESSENTIALS]
}

const IQS_CORE: ScorecardSpec = ScorecardSpec {
    name: "IQS Core",
    description: "The Internal Quality Score for every channel: five weighted criteria on the 1-to-5 scale \
                  (weights sum to 100). Compliance is critical: a 2 or a 1 fails the evaluation.",
    groups: &[],
    criteria: &[
        CriterionSpec {
            group: None,
            title: "Accuracy",
            description: "Was the information given correct and complete?",
            guidelines: "Check every statement against the knowledge base article for the topic. Refund windows, \
                         delivery times and plan prices must match the current policy page. Mark down for facts, \
                         not for wording.",
            weight: 30.0,
            preset: ScalePreset::OneToFive,
            options: &[
                "Every fact, policy and step was correct and complete; nothing the customer needed was missing.",
                "Correct, with a minor omission that did not change the outcome (e.g. no timeline given).",
                "Mostly correct, but one detail was wrong or unclear and could cause a follow-up contact.",
                "A significant error the customer would act on: wrong policy, wrong amount or wrong steps.",
                "Wrong or missing information on the main question; the customer was misled.",
            ],
            na_allowed: false,
            critical: false,
            model: Model::Quality(0.0),
            praise: &[
                "Spot on with the policy details and the timeline.",
                "Accurate and complete: refund amount, method and timing all given.",
            ],
            improve: &[
                "The refund window is 30 days, not 14; please check the policy page.",
                "Give the customer a timeline (3–5 business days) so they don't have to ask.",
                "The steps for the app reset were out of date; the KB article changed last month.",
            ],
        },
        CriterionSpec {
            group: None,
            title: "Resolution",
            description: "Was the customer's issue resolved, or the right next step completed?",
            guidelines: "Judge the outcome from the customer's side: would they need to contact us again about this? \
                         An escalation with a ticket number, an owner and a timeline counts as a resolution step.",
            weight: 25.0,
            preset: ScalePreset::OneToFive,
            options: &[
                "Fully resolved in this contact, or the right next step completed and confirmed with the customer.",
                "Resolved, but the customer had to ask for a confirmation the agent should have offered.",
                "Partly resolved: the main issue handled, a related request left open without a plan.",
                "Not resolved and no clear next step; the customer will likely contact us again.",
                "No attempt to resolve, or the contact was closed prematurely.",
            ],
            na_allowed: false,
            critical: false,
            model: Model::Quality(-0.04),
            praise: &["Resolved first time and confirmed with the customer.", "Great ownership of the follow-up."],
            improve: &[
                "The replacement was promised but no order was created; the customer will be back.",
                "Confirm the outcome before closing: the customer was left unsure whether it was done.",
                "An escalation needs a ticket number and a timeline for the customer.",
            ],
        },
        CriterionSpec {
            group: None,
            title: "Tone",
            description: "Was the agent warm, professional and empathetic?",
            guidelines: "Read the whole conversation as the customer. An apology is expected when we caused the \
                         problem, not for a simple question. Emojis are fine on chat and social if the customer \
                         uses them.",
            weight: 20.0,
            preset: ScalePreset::OneToFive,
            options: &[
                "Warm, personal and empathetic throughout; acknowledged the frustration and used the name.",
                "Friendly and professional, with small lapses (a canned phrase out of place).",
                "Neutral and correct but impersonal; little acknowledgement of how the customer felt.",
                "Curt or robotic; ignored clear frustration, or blamed the customer.",
                "Rude, dismissive or sarcastic at any point.",
            ],
            na_allowed: false,
            critical: false,
            model: Model::Quality(0.05),
            praise: &["Lovely empathy when the customer was frustrated.", "Warm and personal throughout."],
            improve: &[
                "Acknowledge the impact first (\"I can see this delayed your plans\") before the fix.",
                "A bit curt in the second reply; the customer was clearly upset.",
                "Avoid \"as I already said\": it reads as blaming the customer.",
            ],
        },
        CriterionSpec {
            group: None,
            title: "Compliance",
            description: "Were verification, disclosures and data-protection rules followed?",
            guidelines: "Critical: a 2 or a 1 fails the whole evaluation. Verification (email on file plus the last \
                         four digits of the card, or a one-time code) is required before changing an email, \
                         address, plan or payment method, or refunding to a different method. Never N/A.",
            weight: 15.0,
            preset: ScalePreset::OneToFive,
            options: &[
                "Every required step followed: verification before changes, disclosures given, no sensitive data shown.",
                "Compliant; a required disclosure came late or in non-standard wording.",
                "Compliant, but verification was loose (one factor where two are expected).",
                "A required step skipped: account changed without full verification, or a disclosure omitted. Fails.",
                "Sensitive data exposed, or a change made for an unverified person. Fails.",
            ],
            na_allowed: false,
            critical: true,
            model: Model::Compliance,
            praise: &["Verification done properly before any change."],
            improve: &[
                "Read the auto-renewal disclosure when changing plans.",
                "Verification used only one factor; we need two before account changes.",
            ],
        },
        CriterionSpec {
            group: None,
            title: "Efficiency",
            description: "Was the issue handled in the fewest reasonable steps?",
            guidelines: "Compare with the expected handle time for the topic. Waiting on a carrier or a bank is not \
                         the agent's fault if the customer was kept informed.",
            weight: 10.0,
            preset: ScalePreset::OneToFive,
            options: &[
                "Fewest reasonable steps; the right macro or tool; no unnecessary back-and-forth.",
                "Efficient, with one unneeded question or a short delay.",
                "Some wasted steps: asked for information already given, or long unexplained waits.",
                "Slow and disorganised; several repeated questions or transfers.",
                "The customer had to repeat themselves many times or was transferred without reason.",
            ],
            na_allowed: false,
            critical: false,
            model: Model::Quality(-0.02),
            praise: &["Quick and to the point.", "Good use of the order lookup: no need to ask twice."],
            improve: &[
                "The order number was in the first message; no need to ask for it again.",
                "Three holds without explanation on this call; tell the customer what you're checking.",
            ],
        },
    ],
};

const CHAT_ESSENTIALS: ScorecardSpec = ScorecardSpec {
    name: "Chat Essentials",
    description: "For live chat. The Security & Compliance group is critical: a No there zeroes the group, and \
                  exposing sensitive data fails the evaluation.",
    groups: &[("Security & Compliance", true), ("Conversation", false)],
    criteria: &[
        CriterionSpec {
            group: Some(0),
            title: "Identity verified",
            description: "Was the customer verified before account details were discussed or changed?",
            guidelines: "Mark N/A only when the chat never touched account-specific information (a general \
                         question about shipping times, for example).",
            weight: 2.0,
            preset: ScalePreset::Binary,
            options: &[
                "Verified with two factors (email on file and the card's last four digits, or a one-time code) \
                 before any account detail was discussed or changed.",
                "Account details discussed or changed without verification. Fails the Security & Compliance group.",
            ],
            na_allowed: true,
            critical: false,
            model: Model::Identity,
            praise: &["Verification handled smoothly."],
            improve: &["The email address was changed before the customer was verified."],
        },
        CriterionSpec {
            group: Some(0),
            title: "No sensitive data exposed",
            description: "Did the chat stay free of card numbers, passwords and other customers' data?",
            guidelines: "If the customer pastes their own card number, the agent asks them not to and redacts it; \
                         not doing so is a No. A No fails the evaluation.",
            weight: 2.0,
            preset: ScalePreset::Binary,
            options: &[
                "No full card number, password or another customer's data appeared in the chat.",
                "Sensitive data was written in the chat or requested in the open. Fails the evaluation.",
            ],
            na_allowed: false,
            critical: true,
            model: Model::SensitiveData,
            praise: &[],
            improve: &["The full card number was typed back into the chat. This must be redacted."],
        },
        CriterionSpec {
            group: Some(1),
            title: "Greeting & personalisation",
            description: "Did the agent greet, introduce themselves and use the customer's name?",
            guidelines: "The first agent message sets the tone. A macro is fine when it is adapted to the customer.",
            weight: 1.0,
            preset: ScalePreset::FivePoint,
            options: &[
                "Greeted in the first reply, introduced themselves and used the customer's name.",
                "Greeted warmly, without personalisation.",
                "A generic macro greeting with no adaptation.",
                "No greeting; straight into questions.",
                "Inappropriate greeting or the wrong customer name.",
            ],
            na_allowed: false,
            critical: false,
            model: Model::Quality(0.08),
            praise: &["Nice personal greeting."],
            improve: &["Use the customer's name; it's right there in the chat header."],
        },
        CriterionSpec {
            group: Some(1),
            title: "Understanding the issue",
            description: "Did the agent understand the problem quickly and ask only what was needed?",
            guidelines: "Look at the first substantive reply: does it show the agent read the whole message?",
            weight: 2.0,
            preset: ScalePreset::FivePoint,
            options: &[
                "Restated the problem accurately and asked only the questions needed.",
                "Understood the issue after one clarifying round.",
                "Several rounds, or asked for information already in the chat.",
                "Misunderstood the issue for most of the chat.",
                "Answered a different question than the one asked.",
            ],
            na_allowed: false,
            critical: false,
            model: Model::Quality(0.0),
            praise: &["Great restatement of the problem before solving it."],
            improve: &["The customer had already said which order; read the whole first message."],
        },
        CriterionSpec {
            group: Some(1),
            title: "Solution accuracy",
            description: "Was the solution correct and complete?",
            guidelines: "Use the knowledge base article of the ticket's topic. Goodwill credits above $25 need a \
                         team lead's approval.",
            weight: 3.0,
            preset: ScalePreset::FivePoint,
            options: &[
                "Correct, complete solution matching the knowledge base.",
                "Correct with a minor gap (no timeline, no reference number).",
                "Partly correct; one wrong detail.",
                "Mostly wrong, or a workaround that breaks policy.",
                "No solution offered, or a harmful one.",
            ],
            na_allowed: false,
            critical: false,
            model: Model::Quality(-0.04),
            praise: &["Correct fix and a reference number: perfect."],
            improve: &[
                "A $40 goodwill credit needs a team lead's approval.",
                "The reset steps were for the old app version.",
            ],
        },
        CriterionSpec {
            group: Some(1),
            title: "Tone & empathy",
            description: "Was the agent warm and empathetic, matching the customer's register?",
            guidelines: "Look for acknowledgement of impact (\"I can see this delayed your trip\") rather than stock \
                         apologies.",
            weight: 2.0,
            preset: ScalePreset::FivePoint,
            options: &[
                "Warm and empathetic; matched the customer's register.",
                "Polite and professional.",
                "Polite but robotic; ignored frustration.",
                "Curt or impatient.",
                "Rude or dismissive.",
            ],
            na_allowed: false,
            critical: false,
            model: Model::Quality(0.04),
            praise: &["Really kind and patient with a frustrated customer."],
            improve: &["Acknowledge the frustration before jumping to the fix."],
        },
        CriterionSpec {
            group: Some(1),
            title: "Proper closing",
            description: "Did the agent confirm the outcome, offer more help and close politely?",
            guidelines: "N/A when the customer left the chat before the agent could close.",
            weight: 1.0,
            preset: ScalePreset::Binary,
            options: &[
                "Confirmed the issue is solved, offered further help and closed politely.",
                "The chat ended abruptly or without confirming the outcome.",
            ],
            na_allowed: true,
            critical: false,
            model: Model::Closing,
            praise: &["Good close: confirmed and offered more help."],
            improve: &["Confirm the outcome and offer further help before ending the chat."],
        },
    ],
};

// ---------------------------------------------------------------------------------------------
// Conversations.

/// One kind of contact, with the phrases its transcripts are built from. Placeholders: {c}
/// customer's first name, {a} agent's first name, {o} order number, {amt} an amount, {item} a
/// product, {p} and {np} the current and the new plan, {l4} the card's last four digits,
/// {day} a weekday.
struct Topic {
    tag: &'static str,
    /// Whether handling it touches the account, so the customer must be verified.
    verification: bool,
    /// How much harder than average these contacts are (subtracted from the quality).
    difficulty: f64,
    scenarios: &'static [Scenario],
    /// What a poor agent answers instead of the scenario's good answer.
    poor: &'static [&'static str],
    /// A customer's follow-up question and the agent's answer.
    followups: &'static [(&'static str, &'static str)],
}

/// One storyline of a topic: the subject, the customer's first message, the detail they add
/// when asked, and a good agent's answer.
struct Scenario {
    subject: &'static str,
    opener: &'static str,
    detail: &'static str,
    good: &'static str,
}

const TOPICS: [Topic; 8] = [
    Topic {
        tag: "refund",
        verification: true,
        difficulty: 0.02,
        scenarios: &[
            Scenario {
                subject: "Refund for order {o}",
                opener: "Hi, I returned the {item} two weeks ago (order {o}) and I still haven't seen the refund of {amt}.",
                detail: "I dropped the parcel at the post office last {day}.",
                good: "Thanks {c}. The return arrived at our warehouse on {day}. I've issued the refund of {amt} to the \
                       card ending {l4} just now; banks usually show it within 3–5 business days. Your reference is R-{o}.",
            },
            Scenario {
                subject: "Where is my refund?",
                opener: "I was promised a refund for order {o} but nothing has arrived on my card. What's going on?",
                detail: "The agent on the phone said it would take a week. That was three weeks ago.",
                good: "I'm sorry, {c}. I've checked order {o}: the return was received but the refund got stuck in \
                       review. I've released it now: {amt} back to the card ending {l4}, visible in 3–5 business days.",
            },
            Scenario {
                subject: "Return the {item}",
                opener: "Hello, can I get a refund for the {item}? It's not what I expected. Order {o}.",
                detail: "It arrived on {day}, unused, still in the box.",
                good: "You're well within the 30-day window, so I've started the return for you. A prepaid label is \
                       on its way by email; once the parcel is scanned, the {amt} refund goes out automatically.",
            },
        ],
        poor: &[
            "Refunds take time. Please wait.",
            "I can't see anything wrong. It should come eventually.",
            "Refunds are only possible within 14 days, sorry.",
        ],
        followups: &[
            ("Will it go back to the same card?", "Yes, always to the original payment method, the card ending {l4}."),
            (
                "Can you email me a confirmation?",
                "Done: a confirmation with reference R-{o} is on its way to your inbox.",
            ),
            (
                "And what if it doesn't show up by next week?",
                "If it isn't there by next {day}, reply to this message with the reference R-{o} and we'll chase it \
                 with the bank.",
            ),
        ],
    },
    Topic {
        tag: "login",
        verification: true,
        difficulty: 0.0,
        scenarios: &[
            Scenario {
                subject: "Locked out of my account",
                opener: "I can't log in. It says my password is wrong, and now it says I'm locked out.",
                detail: "I tried maybe six times this morning.",
                good: "Thanks {c}, you're verified. The account locked after five attempts; I've unlocked it and sent \
                       a fresh reset link, valid for 30 minutes. Please open it in the same browser.",
            },
            Scenario {
                subject: "Password reset email never arrives",
                opener: "The password reset email never arrives. I've checked spam twice.",
                detail: "I've requested it three times since yesterday.",
                good: "Found it: the address on file had a typo, so the emails bounced. Now that you're verified I've \
                       corrected it and re-sent the link; it should arrive within a minute.",
            },
            Scenario {
                subject: "2FA code not working",
                opener: "My two-factor codes stopped working after I got a new phone.",
                detail: "I didn't save the backup codes, sorry.",
                good: "No problem, {c}. I've reset your two-factor enrolment. Next time you log in you'll be asked to \
                       scan a new QR code with the authenticator app on your new phone.",
            },
        ],
        poor: &["Try clearing your cookies.", "Just create a new account.", "Reset it yourself on the website."],
        followups: &[
            ("Will I lose my saved addresses?", "No, everything on the account stays exactly as it was."),
            (
                "How do I stop this happening again?",
                "Turn on the authenticator app and keep the backup codes somewhere safe.",
            ),
            (
                "Do I need to log out on my other devices?",
                "No, you'll be signed out everywhere automatically once the new password is set.",
            ),
        ],
    },
    Topic {
        tag: "delivery",
        verification: false,
        difficulty: 0.03,
        scenarios: &[
            Scenario {
                subject: "Where is my order {o}?",
                opener: "My order {o} was supposed to arrive on {day} and tracking hasn't moved in four days.",
                detail: "It's the {item}. I need it for the weekend.",
                good: "I'm sorry for the wait, {c}. The parcel is stuck at the carrier's depot after a sorting delay. \
                       I've opened a trace and upgraded it to express at no cost: it should reach you by {day}.",
            },
            Scenario {
                subject: "Marked delivered but not received",
                opener: "Tracking for order {o} says delivered but there's nothing here.",
                detail: "I checked with the neighbours and the mailroom, nothing.",
                good: "Thanks for checking, {c}. The driver's GPS shows the drop at a different number on your street. \
                       I've opened a claim; if it isn't found within 48 hours we'll send a new {item} at no cost.",
            },
            Scenario {
                subject: "Change delivery address",
                opener: "Can I still change the delivery address for order {o}?",
                detail: "The new address is 14 Harbour Street, flat 3.",
                good: "Good news, it hasn't shipped yet, so I've updated the address for order {o}. A new \
                       confirmation email is on its way.",
            },
        ],
        poor: &[
            "Delivery is handled by the carrier, you need to contact them.",
            "It says delivered, so it was delivered.",
            "Tracking can take a while to update. Just wait.",
        ],
        followups: &[
            (
                "Can I get the shipping fee back?",
                "Yes, I've refunded the shipping fee as well, since it didn't arrive on time.",
            ),
            ("Will I get a new tracking link?", "Yes, it will be emailed as soon as the parcel is scanned."),
        ],
    },
    Topic {
        tag: "billing",
        verification: true,
        difficulty: 0.04,
        scenarios: &[
            Scenario {
                subject: "Charged twice",
                opener: "I've been charged twice for my subscription this month, {amt} each.",
                detail: "Both charges were on {day}, a minute apart.",
                good: "Thanks for verifying, {c}. I can see the duplicate: the payment was retried after a timeout \
                       and both went through. I've refunded the second {amt}; you'll see it in 3–5 business days.",
            },
            Scenario {
                subject: "Wrong amount on invoice",
                opener: "My invoice shows {amt} but I'm on the {p} plan, which should be cheaper than that.",
                detail: "The price went up before the date in your email.",
                good: "You're right, {c}: the new price was applied to your {p} plan a month early. I've credited \
                       the difference to your account and corrected the next invoice.",
            },
            Scenario {
                subject: "Unknown charge from Northwind",
                opener: "There's a charge of {amt} from Northwind on my card that I don't recognise.",
                detail: "I don't remember renewing anything.",
                good: "That charge is the annual renewal of your {p} plan. If you didn't mean to renew, you're within \
                       the 14-day window, so I can cancel it with a full refund of {amt}. Would you like that?",
            },
        ],
        poor: &[
            "Our system shows one charge. Check with your bank.",
            "The charge is correct.",
            "Invoices are in your account somewhere.",
        ],
        followups: &[
            (
                "Can you send me the corrected invoice?",
                "Sent: it's in your inbox, and under Account › Billing as well.",
            ),
            (
                "Will this happen again next month?",
                "No, I've fixed it on your account; next month you'll be charged once as usual.",
            ),
        ],
    },
    Topic {
        tag: "plan-change",
        verification: true,
        difficulty: 0.0,
        scenarios: &[
            Scenario {
                subject: "Switch to {np}",
                opener: "I'd like to move from {p} to {np}. What would it cost?",
                detail: "Today if possible.",
                good: "Thanks {c}, you're verified. Switching to {np} today costs a prorated {amt} for the rest of \
                       this cycle, then the normal monthly price. The plan renews automatically each month and you \
                       can cancel any time. Shall I go ahead?",
            },
            Scenario {
                subject: "Change my plan",
                opener: "Can I change my plan to {np}? {p} doesn't really fit what I need any more.",
                detail: "I'd like it to start from the next billing date.",
                good: "Done: I've scheduled the change to {np} from your next billing date, so you keep your {p} \
                       benefits until then. A confirmation email is on its way.",
            },
            Scenario {
                subject: "Question about {np}",
                opener: "What's the difference between {p} and {np}?",
                detail: "Mostly I care about shipping and returns.",
                good: "{np} changes your shipping and returns benefits; I've emailed you the side-by-side comparison. \
                       Happy to switch you whenever you like, from today or from the next billing date.",
            },
        ],
        poor: &["Done, you're on {np} now.", "You can change it yourself in the app.", "Check the website for prices."],
        followups: &[
            (
                "Do I lose my points if I change?",
                "No, your loyalty points stay on the account whatever plan you're on.",
            ),
            ("Can I switch back later?", "Yes, any time; the change applies from the next billing date."),
        ],
    },
    Topic {
        tag: "damaged-item",
        verification: false,
        difficulty: 0.02,
        scenarios: &[
            Scenario {
                subject: "Item arrived damaged",
                opener: "The {item} arrived broken. The box was crushed. Order {o}.",
                detail: "I've attached two photos of the box and the item.",
                good: "I'm so sorry, {c}, that's not the experience we want for you. Thanks for the photos. I've sent \
                       a replacement {item} by express at no charge, and you don't need to return the damaged one.",
            },
            Scenario {
                subject: "Wrong item received",
                opener: "I received the wrong item in order {o}. I ordered the {item}.",
                detail: "What arrived is a completely different product, still sealed.",
                good: "Apologies for the mix-up. I've created a replacement order for the {item}, shipping today, and \
                       emailed you a prepaid label for the wrong one.",
            },
            Scenario {
                subject: "Missing parts",
                opener: "My {item} is missing parts. Really disappointed.",
                detail: "Order {o}, delivered on {day}. The screws and the manual aren't in the box.",
                good: "Sorry about that! The missing parts ship separately today; you'll have them by {day}. I've also \
                       added a small credit to your account for the trouble.",
            },
        ],
        poor: &[
            "Please send it back and we'll look at it.",
            "You need to contact the carrier about damage.",
            "Did you check the box properly?",
        ],
        followups: &[
            ("Do I need to keep the packaging?", "No need; the details you sent are enough for our records."),
            ("How long will it take?", "It ships today by express, so 1–2 business days."),
        ],
    },
    Topic {
        tag: "technical",
        verification: false,
        difficulty: 0.06,
        scenarios: &[
            Scenario {
                subject: "App keeps crashing",
                opener: "The Northwind app crashes every time I open my orders.",
                detail: "Android 14, app version 5.2.1.",
                good: "Thanks, {c}, that helps. This is a known issue in 5.2.1, and 5.2.2 in the store fixes it. Until \
                       you update, clearing the app's cache (Settings › Apps › Northwind › Storage) also works.",
            },
            Scenario {
                subject: "Smart plug won't connect",
                opener: "My Orbit smart plug won't connect to the app. I've tried three times.",
                detail: "It's a Pixel phone, and the router does 2.4 and 5 GHz.",
                good: "The plug pairs only on 2.4 GHz, with the phone on the same network. Hold its button for 10 \
                       seconds until it blinks fast, then add it again from Devices › Add. Let me know what you see.",
            },
            Scenario {
                subject: "Error at checkout",
                opener: "I get an error at checkout: 'payment session expired'.",
                detail: "It happens in both Chrome and Safari.",
                good: "That error comes from the payment page timing out after 15 minutes. I've saved your basket; if \
                       you check out again now it will go through. I've also reported it to our web team.",
            },
        ],
        poor: &["Try reinstalling the app.", "It works on my end.", "Maybe your device is too old."],
        followups: &[
            ("It worked! Do I need to do anything else?", "Nothing else; just keep automatic updates on."),
            ("Will this happen again?", "It shouldn't; if it does, reply here and we'll look at the logs."),
        ],
    },
    Topic {
        tag: "cancellation",
        verification: true,
        difficulty: 0.05,
        scenarios: &[
            Scenario {
                subject: "Cancel my subscription",
                opener: "I want to cancel my {p} subscription.",
                detail: "It's just too expensive at the moment.",
                good: "Thanks for verifying, {c}. I've cancelled the {p} plan: you keep the benefits until the end of \
                       the paid period and won't be charged again. If it's the price, I could offer {np} at half \
                       price for three months instead, no pressure.",
            },
            Scenario {
                subject: "Stop auto-renewal",
                opener: "Please stop the auto-renewal, I don't use the membership any more.",
                detail: "I'd like it to end at the renewal date.",
                good: "Done: auto-renewal is off and a confirmation email is on its way. Your benefits run until the \
                       end of the current period.",
            },
            Scenario {
                subject: "Close my account",
                opener: "How do I close my account? I can't find it in the app.",
                detail: "Yes, I'm sure, please close it.",
                good: "I've closed the account as requested. As our policy says, your data is deleted after 30 days; \
                       until then you can reactivate it by logging in.",
            },
        ],
        poor: &["You can't cancel by chat.", "Are you sure? You'll lose everything.", "Cancelled."],
        followups: &[
            ("Will I get a refund for this month?", "This month is already used, but you won't be charged again."),
            (
                "Can I come back later with the same account?",
                "Yes, just log in within 30 days and it's all still there.",
            ),
        ],
    },
];

/// The customer's answer to the verification question.
const VERIFY_REPLIES: [&str; 3] = [
    "Sure, it's the email I'm writing from and the card ends in {l4}.",
    "The card ends in {l4}, and the email is this one.",
    "It's {c}'s account, card ending {l4}, same email as this.",
];

const CUSTOMER_NAMES: [&str; 32] = [
    "Emma", "Jacob", "Olivia", "Lucas", "Mia", "James", "Isabella", "Benjamin", "Ava", "Henry", "Zoe", "Samuel",
    "Nora", "Arjun", "Fatima", "Kenji", "Elena", "Tomasz", "Ingrid", "Kwame", "Lucia", "David", "Yara", "Felix",
    "Harper", "Ravi", "Sienna", "Omar", "Clara", "Jonas", "Mei", "Diego",
];

const ITEMS: [&str; 8] = [
    "Aero kettle",
    "Trailhead 40L backpack",
    "Lumen desk lamp",
    "Nimbus wireless earbuds",
    "Cedar standing desk",
    "Harbor rain jacket",
    "Orbit smart plug",
    "Summit water bottle",
];

const PLANS: [&str; 3] = ["Basic", "Plus", "Premium"];
const DAYS: [&str; 5] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];

const GREETINGS_GOOD: [&str; 3] = [
    "Hi {c}, thanks for reaching out! I'm {a} and I'll sort this out for you.",
    "Hello {c}, I'm {a}. I'm sorry you've had to contact us about this; let's fix it.",
    "Hi {c}, {a} here. Thanks for your patience, I'm looking at this now.",
];
const GREETINGS_OK: [&str; 3] = [
    "Hello, thanks for contacting Northwind. Let me check.",
    "Hi there, I can help with that.",
    "Thank you for your message. One moment please.",
];
const GREETINGS_POOR: [&str; 3] = ["Order number?", "What is the issue exactly?", "ok"];
const VERIFY_ASK: &str = " Before I look at the account, could you confirm the email on file and the last four digits \
                          of your card?";
const CLOSERS_HAPPY: [&str; 4] = [
    "Perfect, thank you so much!",
    "Great, that's sorted then. Thanks!",
    "Brilliant, thanks {a}!",
    "Thanks, that's all I needed.",
];
const CLOSERS_NEUTRAL: [&str; 3] = ["OK, I'll wait then.", "Fine.", "Alright, let's see if that works."];
const CLOSERS_UNHAPPY: [&str; 4] = [
    "That doesn't help at all.",
    "This is ridiculous, I'll take my business elsewhere.",
    "So I have to contact you again? Great.",
    "I'll be leaving a review about this.",
];
const SIGNOFFS_GOOD: [&str; 3] = [
    "You're welcome, {c}! Is there anything else I can help with today? Have a lovely {day}.",
    "Glad I could help. If anything else comes up, just reply here. Take care!",
    "My pleasure, {c}. Everything is confirmed on your account. Have a great day!",
];
const SIGNOFFS_POOR: [&str; 2] = ["Bye.", "Closing this chat."];

const TAG_EXTRAS: [&str; 6] = ["vip", "mobile-app", "first-order", "plus-member", "weekend", "promo"];

/// A conversation to import, with the hidden truth the reviews are drawn from.
#[derive(Clone, Debug, PartialEq)]
struct ConversationPlan {
    record: ConversationRecord,
    vendor: usize,
    agent_first: String,
    customer: &'static str,
    /// The underlying quality, 0..1.
    quality: f64,
    /// The topic touches the account (verification required).
    verification: bool,
    /// The agent broke a compliance rule (skipped verification, or exposed sensitive data).
    breach: bool,
    /// The customer left before the agent's closing message.
    customer_left: bool,
}

fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (key, value) in vars {
        out = out.replace(key, value);
    }
    out
}

fn plan_conversations(seed: u64, agents: &[AgentPlan], now: i64) -> Vec<ConversationPlan> {
    let mut rng = Rng::new(seed, 2);
    let volumes: Vec<f64> = agents.iter().map(|a| a.volume).collect();
    let today = now.div_euclid(DAY_MS) * DAY_MS;
    let mut out = Vec::with_capacity(CONVERSATIONS);
    for _ in 0..CONVERSATIONS {
        let agent = &agents[rng.weighted(&volumes)];
        let topic_index = rng.weighted(&TEAMS[agent.team].topics);
        let topic = &TOPICS[topic_index];
        let scenario = rng.pick(topic.scenarios);
        // Email and chat dominate; the BPOs take more chat, the internal team more phone.
        let channel_weights = match agent.vendor {
            0 => [0.30, 0.30, 0.30, 0.10],
            1 => [0.35, 0.40, 0.15, 0.10],
            _ => [0.30, 0.42, 0.13, 0.15],
        };
        let channel = [Channel::Email, Channel::Chat, Channel::Phone, Channel::Social][rng.weighted(&channel_weights)];

        // Weekdays are busier; most contacts between 8:00 and 20:00 UTC.
        let day = loop {
            let d = rng.range(1, 89);
            let weekday = ((today / DAY_MS - d) + 3).rem_euclid(7); // 0 = Monday
            if weekday < 5 || rng.chance(0.45) {
                break d;
            }
        };
        let hour = (8.0 + 12.0 * (rng.unit() + rng.unit()) / 2.0 + 2.0 * rng.normal()).clamp(0.0, 23.9);
        let started_at = today - day * DAY_MS + (hour * HOUR_MS as f64) as i64;

        let quality = (agent.skill - topic.difficulty + 0.05 + 0.12 * rng.normal()).clamp(0.05, 1.0);
        let breach = rng.chance(0.02 + 0.25 * (1.0 - quality).powi(2));
        let fcr = rng.chance(0.2 + 0.7 * quality);

        let customer = *rng.pick(&CUSTOMER_NAMES);
        let agent_first = agent.name.split(' ').next().unwrap_or(agent.name).to_string();
        let order = format!("NW{}", rng.range(4_100_000, 4_899_999));
        let amount = format!("${}.{:02}", rng.range(9, 249), *rng.pick(&[0, 49, 95, 99]));
        let last4 = format!("{:04}", rng.range(1000, 9999));
        let plan = rng.below(PLANS.len());
        let new_plan = (plan + 1 + rng.below(PLANS.len() - 1)) % PLANS.len();
        let vars = [
            ("{c}", customer),
            ("{a}", agent_first.as_str()),
            ("{o}", order.as_str()),
            ("{amt}", amount.as_str()),
            ("{item}", *rng.pick(&ITEMS)),
            ("{p}", PLANS[plan]),
            ("{np}", PLANS[new_plan]),
            ("{l4}", last4.as_str()),
            ("{day}", *rng.pick(&DAYS)),
        ];

        let (lo, hi) = match channel {
            Channel::Chat => (5, 8),
            Channel::Phone => (4, 8),
            Channel::Email => (3, 6),
            _ => (3, 5),
        };
        let length = rng.range(lo, hi) as usize;
        let contact = Contact { topic, scenario, quality, breach, fcr };
        let texts = transcript(&mut rng, &contact, length, &vars);
        let customer_left = texts.last().is_some_and(|(author, _)| *author == AuthorRole::Customer);
        let (gap_lo, gap_hi) = match channel {
            Channel::Chat => (20_000, 120_000),
            Channel::Phone => (15_000, 90_000),
            Channel::Email => (HOUR_MS / 2, 8 * HOUR_MS),
            _ => (5 * 60_000, 90 * 60_000),
        };
        let mut at = started_at;
        let mut transcript = Vec::with_capacity(texts.len());
        for (i, (author, text)) in texts.into_iter().enumerate() {
            if i > 0 {
                at += rng.range(gap_lo, gap_hi);
            }
            transcript.push(Message { author, text, at: Some(at) });
        }

        let handle_minutes = match channel {
            Channel::Phone => 6.0,
            Channel::Chat => 9.0,
            Channel::Email => 7.0,
            _ => 4.0,
        } * (1.0 + 0.8 * (1.0 - quality))
            * (0.6 + 0.8 * rng.unit());
        let satisfaction = 0.55 * quality + 0.45 * f64::from(u8::from(fcr));
        let csat =
            rng.chance(0.6).then(|| (1.0 + 4.0 * satisfaction + 0.7 * rng.normal()).round().clamp(1.0, 5.0) as i64);
        let nps = rng.chance(0.35).then(|| (10.0 * satisfaction + 1.5 * rng.normal()).round().clamp(0.0, 10.0) as i64);

        let mut tags = vec![topic.tag.to_string()];
        if !fcr {
            tags.push("repeat-contact".to_string());
        }
        if quality < 0.45 && rng.chance(0.5) {
            tags.push("escalated".to_string());
        }
        if rng.chance(0.3) {
            tags.push(rng.pick(&TAG_EXTRAS).to_string());
        }
        let prefix = match channel {
            Channel::Chat => "Chat: ",
            Channel::Phone => "Call: ",
            Channel::Social => "DM: ",
            _ => "",
        };
        let subject = format!("{prefix}{}", fill(scenario.subject, &vars));

        out.push(ConversationPlan {
            record: ConversationRecord {
                external_id: String::new(),
                channel,
                agent: Some(agent.name.to_string()),
                team: Some(TEAMS[agent.team].name.to_string()),
                vendor: Some(VENDORS[agent.vendor].name.to_string()),
                started_at,
                subject,
                transcript,
                tags,
                metrics: ConversationMetrics {
                    csat,
                    nps,
                    fcr: Some(fcr),
                    handle_time_seconds: Some((handle_minutes * 60.0).round() as i64),
                },
            },
            vendor: agent.vendor,
            agent_first,
            customer,
            quality,
            verification: topic.verification,
            breach,
            customer_left,
        });
    }
    // Ticket numbers follow time, like a helpdesk's.
    out.sort_by_key(|c| c.record.started_at);
    for (i, c) in out.iter_mut().enumerate() {
        c.record.external_id = format!("NW-{}", 240_001 + i);
    }
    out
}

/// What a transcript is about and how it went.
struct Contact<'a> {
    topic: &'a Topic,
    scenario: &'a Scenario,
    quality: f64,
    breach: bool,
    fcr: bool,
}

/// The messages of one conversation, alternating customer and agent, `length` of them (3..=8).
fn transcript(rng: &mut Rng, contact: &Contact, length: usize, vars: &[(&str, &str)]) -> Vec<(AuthorRole, String)> {
    let Contact { topic, scenario, quality, breach, fcr } = *contact;
    let felt = quality + 0.1 * rng.normal();
    let greeting = if felt > 0.72 {
        *rng.pick(&GREETINGS_GOOD)
    } else if felt > 0.48 {
        *rng.pick(&GREETINGS_OK)
    } else {
        *rng.pick(&GREETINGS_POOR)
    };
    // A breach on an account topic is a skipped verification; elsewhere, exposed data.
    let ask_verification = topic.verification && !breach;
    let greeting =
        if ask_verification { format!("{}{VERIFY_ASK}", fill(greeting, vars)) } else { fill(greeting, vars) };
    let action = if breach && !topic.verification {
        "I've found it. Just so you know, the card we have is 4929 1234 5678 {l4}, expiry 09/28. It's all fine."
    } else if breach {
        // Went ahead without verifying.
        &scenario
            .good
            .replace("Thanks for verifying, {c}.", "Sure, {c}.")
            .replace(", you're verified.", ".")
            .replace("Now that you're verified I've", "I've")
    } else if felt > 0.5 || (fcr && rng.chance(0.6)) {
        scenario.good
    } else {
        *rng.pick(topic.poor)
    };
    let action = fill(action, vars);
    let closer = if fcr && felt > 0.55 {
        *rng.pick(&CLOSERS_HAPPY)
    } else if fcr || felt > 0.5 {
        *rng.pick(&CLOSERS_NEUTRAL)
    } else {
        *rng.pick(&CLOSERS_UNHAPPY)
    };
    let signoff = if felt > 0.5 { *rng.pick(&SIGNOFFS_GOOD) } else { *rng.pick(&SIGNOFFS_POOR) };

    let opener = (AuthorRole::Customer, fill(scenario.opener, vars));
    let greet = (AuthorRole::Agent, greeting);
    let detail_text = if ask_verification {
        format!("{} {}", fill(rng.pick::<&str>(&VERIFY_REPLIES), vars), fill(scenario.detail, vars))
    } else {
        fill(scenario.detail, vars)
    };
    let detail = (AuthorRole::Customer, detail_text);
    let act = (AuthorRole::Agent, action.clone());
    let (question, reply) = *rng.pick(topic.followups);
    let followup = (AuthorRole::Customer, fill(question, vars));
    let answer = (AuthorRole::Agent, fill(reply, vars));
    let close = (AuthorRole::Customer, fill(closer, vars));
    let sign = (AuthorRole::Agent, fill(signoff, vars));
    match length {
        0..=3 => vec![opener, (AuthorRole::Agent, format!("{} {action}", fill(greeting_only(rng), vars))), close],
        4 => vec![opener, greet, detail, act],
        5 => vec![opener, greet, detail, act, close],
        6 => vec![opener, greet, detail, act, close, sign],
        7 => vec![opener, greet, detail, act, followup, answer, close],
        _ => vec![opener, greet, detail, act, followup, answer, close, sign],
    }
}

/// A short greeting for the three-message conversations (no verification round).
fn greeting_only(rng: &mut Rng) -> &'static str {
    const SHORT: [&str; 3] = ["Hi {c}, thanks for getting in touch.", "Hello {c},", "Hi,"];
    rng.pick::<&'static str>(&SHORT)
}

// ---------------------------------------------------------------------------------------------
// Reviews.

const FEEDBACK_EXCELLENT: [&str; 4] = [
    "Great work, {a}! {c} got a clear, correct answer and a friendly experience. Keep it up.",
    "Textbook contact, {a}: accurate, warm and efficient. I'd use this one in onboarding.",
    "Really solid, {a}. Verification done right and the customer left happy.",
    "Excellent handling of a frustrated customer, {a}: you stayed calm and fixed it first time.",
];
const FEEDBACK_GOOD: [&str; 3] = [
    "Good contact overall, {a}. See the criterion comments: a timeline or a reference number would have saved a \
     follow-up.",
    "Nicely done, {a}, with a couple of small things to tighten up: personalise the macro and confirm the outcome \
     before closing.",
    "Solid work, {a}. The solution was right; the tone could be a bit warmer when the customer is upset.",
];
const FEEDBACK_ATTENTION: [&str; 3] = [
    "{a}, let's go over this one in our next 1:1: the answer on the main question wasn't correct and {c} will \
     likely contact us again.",
    "This contact needs attention, {a}. Please re-read the knowledge base article for this topic; the steps given \
     were incomplete.",
    "{a}, the customer's frustration wasn't acknowledged and the issue stayed open. Let's role-play this scenario \
     together.",
];
const FEEDBACK_CRITICAL: [&str; 3] = [
    "Auto-fail, {a}: account changes need verification before anything else, even when the customer is in a hurry. \
     Please redo the security module this week.",
    "{a}, this one is a compliance fail: sensitive data must never be written in the conversation. Let's talk today.",
    "Critical miss on compliance, {a}. Everything else was fine, but verification isn't optional.",
];

/// One review to create: which grader, which conversation, which scorecard, and its content.
#[derive(Clone, Debug, PartialEq)]
struct ReviewPlan {
    grader: usize,
    conversation: usize,
    /// Index into [`scorecards`].
    scorecard: usize,
    answers: Vec<Answer>,
    feedback: String,
}

/// The option chosen for a graded level on a scale of `k` options listed best first:
/// `level` 0..1 maps to the worst..best option.
fn option_for(level: f64, k: usize) -> usize {
    let steps = (k - 1) as f64;
    let rung = (level.clamp(0.0, 1.0) * steps).round() as usize;
    (k - 1) - rung
}

fn plan_reviews(seed: u64, conversations: &[ConversationPlan], definitions: &[ScorecardDefinition]) -> Vec<ReviewPlan> {
    let mut rng = Rng::new(seed, 3);
    let specs = scorecards();
    let mut used = HashSet::new();
    let mut out = Vec::with_capacity(REVIEWS);
    for n in 0..REVIEWS {
        let g = n % GRADERS.len();
        let grader = &GRADERS[g];
        // BPO graders see only their own vendor's conversations; internal graders see all.
        let conversation = loop {
            let i = rng.below(conversations.len());
            if (grader.vendor == 0 || conversations[i].vendor == grader.vendor) && used.insert(i) {
                break i;
            }
        };
        let c = &conversations[conversation];
        let scorecard = usize::from(c.record.channel == Channel::Chat && rng.chance(0.85));
        let spec = specs[scorecard];
        let definition = &definitions[scorecard];
        let (answers, feedback) = grade(&mut rng, grader, c, spec, definition);
        out.push(ReviewPlan { grader: g, conversation, scorecard, answers, feedback });
    }
    out
}

/// How `grader` answers `spec` on conversation `c`: the demo's model of a grader (bias, noise,
/// vigilance, verbosity), shared by reviews and calibration sessions.
fn grade(
    rng: &mut Rng,
    grader: &GraderSpec,
    c: &ConversationPlan,
    spec: &ScorecardSpec,
    definition: &ScorecardDefinition,
) -> (Vec<Answer>, String) {
    let noticed = c.breach && rng.chance(grader.vigilance);
    let mut answers = Vec::with_capacity(spec.criteria.len());
    for (criterion, cs) in definition.criteria.iter().zip(spec.criteria) {
        let k = criterion.scale.options.len();
        let level = c.quality + grader.bias + grader.noise * rng.normal();
        let choice = match cs.model {
            Model::Quality(offset) => Choice::Option(option_for(level + offset, k)),
            Model::Compliance if noticed => Choice::Option(if c.verification { k - 2 } else { k - 1 }),
            Model::Compliance => Choice::Option(option_for((level + 0.2).max(0.55), k)),
            Model::Identity if !c.verification => {
                // Graders disagree now and then on whether N/A applies.
                if rng.chance(0.1) { Choice::Option(0) } else { Choice::NotApplicable }
            }
            Model::Identity => Choice::Option(usize::from(noticed)),
            Model::SensitiveData => Choice::Option(usize::from(noticed && !c.verification)),
            Model::Closing if c.customer_left => Choice::NotApplicable,
            Model::Closing => Choice::Option(usize::from(level < 0.5)),
        };
        let failed = matches!(choice, Choice::Option(o) if criterion.scale.options[o].outcome
            == plumbline_domain::scorecard::Outcome::Fail);
        let comment = match choice {
            Choice::Option(0) if !cs.praise.is_empty() && rng.chance(grader.verbosity * 0.3) => {
                rng.pick(cs.praise).to_string()
            }
            Choice::Option(o) if o > 0 && !cs.improve.is_empty() && (failed || rng.chance(grader.verbosity)) => {
                rng.pick(cs.improve).to_string()
            }
            _ => String::new(),
        };
        answers.push(Answer { criterion_id: criterion.id, choice, comment });
    }
    let result = score_evaluation(definition, &answers, ScoringPolicy::default());
    let templates: &[&str] = match result.score {
        _ if result.critical_failed => &FEEDBACK_CRITICAL,
        Some(s) if s >= 80.0 => &FEEDBACK_EXCELLENT,
        Some(s) if s >= 70.0 => &FEEDBACK_GOOD,
        _ => &FEEDBACK_ATTENTION,
    };
    let feedback = if result.critical_failed || rng.chance(0.5 + grader.verbosity) {
        fill(rng.pick::<&str>(templates), &[("{a}", c.agent_first.as_str()), ("{c}", c.customer)])
    } else {
        String::new()
    };
    (answers, feedback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plumbline_domain::evaluation::EvaluationStatus;
    use plumbline_store::testing::TestDatabase;
    use plumbline_store::{AgentFilter, Backend, EvaluationFilter, EvaluationVisibility, UserFilter};

    #[test]
    fn the_same_seed_gives_the_same_conversations() {
        let now = 1_760_000_000_000;
        let a = plan_conversations(7, &plan_agents(7), now);
        let b = plan_conversations(7, &plan_agents(7), now);
        assert_eq!(a, b);
        let c = plan_conversations(8, &plan_agents(8), now);
        assert_ne!(a, c);
        for conv in &a {
            assert!(conv.record.check().is_empty(), "{:?}", conv.record.check());
            assert!((3..=8).contains(&conv.record.transcript.len()));
            assert!(conv.record.started_at < now && conv.record.started_at >= now - 90 * DAY_MS);
            assert!(!conv.record.transcript.iter().any(|m| m.text.contains('{')), "unfilled placeholder");
        }
    }

    #[test]
    fn options_map_from_worst_to_best() {
        assert_eq!(option_for(1.0, 5), 0);
        assert_eq!(option_for(0.0, 5), 4);
        assert_eq!(option_for(0.74, 5), 1);
        assert_eq!(option_for(0.6, 2), 0);
        assert_eq!(option_for(-3.0, 2), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn creates_the_demo_workspace() -> anyhow::Result<()> {
        let db = TestDatabase::new(Backend::Sqlite).await;
        let store = &db.store;
        let hashes = std::sync::atomic::AtomicUsize::new(0);
        let hash = |p: &str| {
            hashes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            format!("test-hash:{p}")
        };
        let started = std::time::Instant::now();
        let summary = create_demo(store, &hash, 42).await?;
        eprintln!("create_demo took {:?}", started.elapsed());
        let ws = summary.workspace_id;
        assert_eq!(hashes.load(std::sync::atomic::Ordering::Relaxed), 1);

        assert_eq!(store.list_vendors(ws, VendorScope::All).await?.len(), 3);
        assert_eq!(store.list_teams(ws, VendorScope::All).await?.len(), 6);
        let agents = store
            .list_agents(ws, VendorScope::All, &AgentFilter::default(), &PageRequest { cursor: None, limit: Some(500) })
            .await?;
        assert_eq!(agents.items.len(), 40);
        let reviewers =
            store.list_users(ws, VendorScope::All, &UserFilter { vendor_id: None, role: Some(Role::Reviewer) }).await?;
        assert!(reviewers.len() >= 10);
        let cards = store.list_scorecards(ws).await?;
        assert_eq!(cards.len(), 2);
        for card in &cards {
            assert!(store.active_version(ws, card.id).await?.is_some(), "{} is not active", card.name);
        }
        assert_eq!(store.count_conversations(ws).await?, 2000);
        assert_eq!(summary.conversations, 2000);
        assert_eq!(summary.reviews, 300);

        // Logins: one password, every role.
        assert!(summary.logins.iter().all(|l| l.password == DEMO_PASSWORD));
        for role in Role::ALL {
            assert!(summary.logins.iter().any(|l| l.role == role), "no {role} login");
        }
        let (admin, stored_hash) = store.find_user_by_email("admin@northwind.example").await?.expect("admin");
        assert_eq!(admin.role, Role::Admin);
        assert_eq!(stored_hash, "test-hash:plumbline-demo");

        let visibility = EvaluationVisibility {
            vendor: VendorScope::All,
            author: None,
            agent: None,
            calibration_tasks_of_others: None,
        };
        let filter = EvaluationFilter {
            kind: Some(EvaluationKind::Review),
            status: Some(EvaluationStatus::Submitted),
            ..EvaluationFilter::default()
        };
        let reviews =
            store.list_evaluations(ws, &visibility, &filter, &PageRequest { cursor: None, limit: Some(500) }).await?;
        assert_eq!(reviews.items.len(), 300);
        // The reviews are spread over the last 90 days, so reports have a history.
        let times: Vec<i64> = reviews.items.iter().filter_map(|e| e.submitted_at).collect();
        let (first, last) = (*times.iter().min().unwrap(), *times.iter().max().unwrap());
        assert!(last - first > 60 * DAY_MS && last <= plumbline_store::now_millis(), "{first}..{last}");
        assert!(reviews.items.iter().all(|e| e.created_at <= e.submitted_at.unwrap()));
        let months = store
            .rollup_sums(
                plumbline_store::Sums::Outcomes,
                ws,
                VendorScope::All,
                plumbline_store::Rollup::Segment,
                &[],
                &plumbline_store::IqsFilter::default(),
                (0, plumbline_store::now_millis() / DAY_MS + 1),
                plumbline_store::TimeMode::Series(plumbline_domain::reports::Interval::Month),
            )
            .await?;
        assert!(months.len() >= 3, "{months:?}");
        assert_eq!(months.iter().map(|m| m.sums.evaluations).sum::<i64>(), 300 + 1, "reviews and the published result");
        // Self-reviews for the self-assessment report, and two targets.
        let selves = EvaluationFilter { kind: Some(EvaluationKind::SelfReview), ..EvaluationFilter::default() };
        let selves = store.list_evaluations(ws, &visibility, &selves, &PageRequest::default()).await?;
        assert!(selves.items.len() >= 8, "{} self-reviews", selves.items.len());
        assert_eq!(store.list_targets(ws, VendorScope::All).await?.len(), 2);

        // BPO graders reviewed only their own vendor's conversations.
        let vendor_of_user: HashMap<_, _> = reviewers.iter().map(|u| (u.id, u.vendor_id)).collect();
        let internal = store.internal_vendor(ws).await?.id;
        for e in &reviews.items {
            let grader_vendor = vendor_of_user[&e.reviewer_id];
            assert!(grader_vendor == internal || grader_vendor == e.vendor_id);
        }

        // Leniency is visible: graders' mean scores differ, in the direction of their bias.
        let mut by_grader: HashMap<String, Vec<f64>> = HashMap::new();
        let names: HashMap<_, _> = reviewers.iter().map(|u| (u.id, u.name.clone())).collect();
        for e in &reviews.items {
            let score = e.result.as_ref().and_then(|r| r.score).expect("a submitted review has a score");
            by_grader.entry(names[&e.reviewer_id].clone()).or_default().push(score);
        }
        let mean = |name: &str| {
            let scores = &by_grader[name];
            scores.iter().sum::<f64>() / scores.len() as f64
        };
        for (name, scores) in &by_grader {
            eprintln!("{name:>18}: {:>3} reviews, mean {:.1}", scores.len(), mean(name));
        }
        assert_eq!(by_grader.len(), 10);
        let lenient = mean("Keabetswe Moloi").max(mean("Christine Ocampo"));
        let strict = mean("Ingrid Solberg");
        assert!(lenient - strict > 10.0, "lenient {lenient:.1} vs strict {strict:.1}");
        let all: Vec<f64> = by_grader.keys().map(|n| mean(n)).collect();
        let spread = all.iter().cloned().fold(f64::MIN, f64::max) - all.iter().cloned().fold(f64::MAX, f64::min);
        assert!(spread > 10.0, "the graders' means are too close: spread {spread:.1}");

        // Some critical failures, some comments, some N/A answers.
        let critical = reviews.items.iter().filter(|e| e.result.as_ref().is_some_and(|r| r.critical_failed)).count();
        eprintln!("critical failures: {critical}");
        assert!(critical > 0 && critical < 60);
        assert!(reviews.items.iter().any(|e| e.answers.iter().any(|a| !a.comment.is_empty())));
        assert!(reviews.items.iter().any(|e| e.answers.iter().any(|a| a.choice == Choice::NotApplicable)));

        // Calibration: three submitted sessions feed the report; one is scoring, with a task in
        // grader1's work list; a hidden one waits in grader1's queue of the review plan; a weekly
        // series.
        use plumbline_domain::calibration::SessionStatus;
        let sessions = store
            .list_calibrations(ws, plumbline_store::SessionVisibility::All, None, &PageRequest::default())
            .await?
            .items;
        let submitted = sessions.iter().filter(|s| s.status == SessionStatus::Submitted).count();
        assert_eq!((sessions.len(), submitted), (5, 3));
        let scope = plumbline_domain::access::VendorScope::All;
        let rows = store.calibration_result_rows(ws, scope, None, None).await?;
        assert!(rows.iter().filter(|r| r.scored).count() >= 20 && rows.iter().any(|r| !r.scored));
        let tom = reviewers.iter().find(|u| u.name == "Tom Becker").expect("grader1");
        let scoring = sessions
            .iter()
            .find(|s| s.status == SessionStatus::Scoring && s.review_plan_id.is_none())
            .expect("a scoring session");
        let tasks = store.calibration_tasks(ws, scoring.id).await?;
        assert!(tasks.iter().any(|t| t.reviewer_id == tom.id && t.status == EvaluationStatus::Draft));
        let hidden = sessions.iter().find(|s| s.review_plan_id.is_some()).expect("a hidden session in a plan");
        let queue = plumbline_store::AssignmentQuery {
            grader_id: Some(tom.id),
            with_hidden_calibration: true,
            ..Default::default()
        };
        let queue = store.list_assignments(ws, &queue).await?;
        assert!(queue.iter().any(|a| a.calibration_session_id == Some(hidden.id)), "{queue:?}");
        assert_eq!(store.list_review_plans(ws, None).await?.len(), 1);
        assert_eq!(store.list_series(ws).await?.len(), 1);
        Ok(())
    }
}
