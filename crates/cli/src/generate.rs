//! `plumbline generate`: a large, realistic workspace for measuring reports at scale (issue #7):
//! by default 1,000,000 conversations over the last twelve months and 1,000,000 submitted
//! reviews of 20-criterion scorecards (20,000,000 answers), 5,000 agents in 250 teams, 500
//! graders and three vendors (the internal one and two BPO partners).
//!
//! Rows go straight into the tables through the store's bulk loader, in chunks: a generator
//! thread draws a chunk (its conversations, their reviews scored with the domain's scoring,
//! the self-reviews, and the rollup rows of the reviews) while the writer stores the previous
//! one in a single transaction. Memory stays bounded by the few chunks in flight, and after
//! every chunk the database is a consistent workspace whose rollups equal a rebuild's.
//!
//! The data has structure for the reports to find: agents differ in skill (IQS by agent, the
//! leaderboard), a conversation's CSAT, NPS and first-contact resolution follow its quality,
//! BPO graders are lenient on their own vendor's work while internal graders also grade a
//! share of it (the vendor view's gap), and agents rate themselves higher than their
//! reviewers do (self-assessment).

use anyhow::{Context, Result, bail};
use plumbline_domain::conversation::{AuthorRole, Channel, ConversationMetrics, Message};
use plumbline_domain::evaluation::{Answer, Choice, EvaluationKind};
use plumbline_domain::org::{Agent, Role, Team};
use plumbline_domain::scorecard::{CriterionInput, DefinitionInput, GroupInput, ScalePreset, ScorecardDefinition};
use plumbline_domain::scoring::{ScoringPolicy, score_evaluation};
use plumbline_domain::time::DAY_MS;
use plumbline_domain::{AgentId, ConversationId, EvaluationId, ScorecardVersionId, TeamId, UserId, VendorId};
use plumbline_store::{
    BulkChunk, BulkConversation, BulkEvaluation, BulkUser, Counted, EvaluationContext, EvaluationFacts, NewUser,
    RollupBatch, Store,
};
use std::sync::Arc;
use std::time::Instant;

/// The password of every generated user.
pub const PASSWORD: &str = "plumbline-bench";
pub const WORKSPACE: &str = "Plumbline Scale";

const AGENTS_PER_TEAM: usize = 20;
const HOUR_MS: i64 = 3_600_000;
/// Conversations per bulk transaction (with their reviews).
const CHUNK: usize = 20_000;

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    pub conversations: usize,
    pub evaluations: usize,
    pub seed: u64,
    /// Leave the rollups alone while loading and rebuild them at the end (to measure the
    /// rebuild instead of the incremental upkeep).
    pub rebuild_rollups: bool,
}

/// What [`generate`] made, and how long it took.
pub struct GenerateSummary {
    pub conversations: usize,
    pub reviews: usize,
    pub self_reviews: usize,
    pub answers: u64,
    pub load_seconds: f64,
    pub rebuild_seconds: Option<f64>,
    pub analyze_seconds: f64,
    pub logins: Vec<(String, Role)>,
}

struct VendorSpec {
    name: &'static str,
    domain: &'static str,
    agents: usize,
    graders: usize,
}

/// The internal vendor first; agents are multiples of [`AGENTS_PER_TEAM`] (100 + 88 + 62 teams).
const VENDORS: [VendorSpec; 3] = [
    VendorSpec { name: "Northwind", domain: "northwind.example", agents: 2_000, graders: 200 },
    VendorSpec { name: "Atlas BPO", domain: "atlas-bpo.example", agents: 1_760, graders: 170 },
    VendorSpec { name: "Meridian Contact", domain: "meridian.example", agents: 1_240, graders: 130 },
];

/// Share of a BPO vendor's reviews done by internal graders (the rest by the vendor's own).
const INTERNAL_SHARE_OF_BPO: f64 = 0.25;
/// How much more generous a BPO grader is on their own vendor's conversations.
const OWN_VENDOR_LENIENCY: f64 = 0.6;
/// Every tenth agent has a login and writes self-reviews of a tenth of their reviewed
/// conversations: about 1% of reviews get a self-review.
const AGENT_USER_EVERY: usize = 10;
const SELF_REVIEW_CHANCE: f64 = 0.10;
/// Agents rate themselves this much higher than their reviewers do.
const SELF_LENIENCY: f64 = 0.7;

const CHANNELS: [(Channel, f64); 5] = [
    (Channel::Chat, 0.40),
    (Channel::Email, 0.28),
    (Channel::Phone, 0.22),
    (Channel::Social, 0.08),
    (Channel::Other, 0.02),
];

const TOPICS: [(&str, &str); 8] = [
    ("Refund for a damaged order", "refund"),
    ("Where is my parcel?", "delivery"),
    ("Cannot sign in to my account", "account"),
    ("Question about my invoice", "billing"),
    ("Change my subscription plan", "plan"),
    ("The app crashes on start", "technical"),
    ("Cancel my order", "cancellation"),
    ("Update my address", "account"),
];

/// Creates the workspace in an empty database and loads it. Prints progress to stderr.
pub async fn generate(
    store: &Store,
    hash_password: &(dyn Fn(&str) -> String + Sync),
    options: GenerateOptions,
) -> Result<GenerateSummary> {
    if !store.list_workspaces().await?.is_empty() {
        bail!("the database already holds a workspace; generate needs an empty one");
    }
    let clock = Instant::now();
    let now = plumbline_store::now_millis();
    let (workspace, internal) = store.create_workspace(WORKSPACE, VENDORS[0].name).await?;
    let ws = workspace.id;
    let policy = workspace.settings.scoring();

    // Organisation: vendors, teams, agents.
    let mut vendor_ids = vec![internal.id];
    for v in &VENDORS[1..] {
        vendor_ids.push(store.create_vendor(ws, v.name).await?.id);
    }
    let mut rng = Rng::new(options.seed, 1);
    let mut teams = Vec::new();
    let mut agents = Vec::new();
    let mut people = Vec::new();
    for (v, spec) in VENDORS.iter().enumerate() {
        for t in 0..spec.agents / AGENTS_PER_TEAM {
            let team =
                Team { id: TeamId::new(), vendor_id: vendor_ids[v], name: format!("{} Team {:03}", spec.name, t + 1) };
            for a in 0..AGENTS_PER_TEAM {
                let number = t * AGENTS_PER_TEAM + a + 1;
                let agent = Agent {
                    id: AgentId::new(),
                    vendor_id: team.vendor_id,
                    team_id: Some(team.id),
                    name: format!("{} Agent {number:04}", spec.name),
                    email: Some(format!("agent{number:04}@{}", spec.domain)),
                };
                people.push(AgentPlan { id: agent.id, vendor: v, team: teams.len(), skill: rng.normal(), user: None });
                agents.push(agent);
            }
            teams.push(team);
        }
    }
    store.bulk_insert_teams(ws, &teams).await?;
    store.bulk_insert_agents(ws, &agents).await?;

    // Users: one password hash for all.
    let hash = hash_password(PASSWORD);
    let internal_domain = VENDORS[0].domain;
    let mut users = Vec::new();
    let mut logins = Vec::new();
    let mut user = |vendor: usize, email: String, name: String, role: Role, agent_id: Option<AgentId>| {
        let id = UserId::new();
        users.push(BulkUser {
            id,
            user: NewUser { vendor_id: vendor_ids[vendor], email, name, role, password_hash: hash.clone(), agent_id },
        });
        id
    };
    for (email, role) in [("admin", Role::Admin), ("qa.lead", Role::QaLead)] {
        let email = format!("{email}@{internal_domain}");
        user(0, email.clone(), format!("Scale {}", role.as_str()), role, None);
        logins.push((email, role));
    }
    let mut graders: Vec<Vec<GraderPlan>> = Vec::new();
    for (v, spec) in VENDORS.iter().enumerate() {
        let mut of_vendor = Vec::new();
        for g in 0..spec.graders {
            let email = format!("grader{:04}@{}", g + 1, spec.domain);
            let id = user(v, email, format!("{} Grader {:04}", spec.name, g + 1), Role::Reviewer, None);
            of_vendor.push(GraderPlan { id, vendor: v, bias: 0.25 * rng.normal() });
        }
        graders.push(of_vendor);
    }
    for (i, person) in people.iter_mut().enumerate() {
        if i % AGENT_USER_EVERY == 0 {
            let agent = &agents[i];
            let email = agent.email.clone().unwrap_or_default();
            person.user = Some(user(person.vendor, email, agent.name.clone(), Role::Agent, Some(agent.id)));
        }
    }
    logins.push((format!("grader0001@{internal_domain}"), Role::Reviewer));
    logins.push((format!("grader0001@{}", VENDORS[1].domain), Role::Reviewer));
    logins.push((format!("agent0001@{internal_domain}"), Role::Agent));
    store.bulk_insert_users(ws, &users).await?;

    // Scorecards: every team uses one of the two.
    let mut cards = Vec::new();
    for (name, description, definition) in [scorecard_service_quality()?, scorecard_digital_essentials()?] {
        let (card, draft) = store.create_scorecard(ws, name, description, &definition).await?;
        let version = store.activate_version(ws, draft.id).await?;
        cards.push(CardPlan {
            scorecard_id: card.id.to_string(),
            version_id: version.id,
            definition: version.definition,
        });
    }
    eprintln!(
        "organisation: {} vendors, {} teams, {} agents, {} users ({:.1} s)",
        VENDORS.len(),
        teams.len(),
        agents.len(),
        users.len(),
        clock.elapsed().as_secs_f64()
    );

    // Conversations and evaluations, chunk by chunk: drawn on a blocking thread, written here.
    let plan = Arc::new(Plan {
        ws,
        vendor_ids,
        team_ids: teams.iter().map(|t| t.id).collect(),
        people,
        graders,
        cards,
        policy,
        conversations: options.conversations,
        evaluations: options.evaluations,
        seed: options.seed,
        now,
        rollups: !options.rebuild_rollups,
    });
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<(BulkChunk, ChunkCounts)>(2);
    let drawer = {
        let plan = plan.clone();
        tokio::task::spawn_blocking(move || {
            let mut start = 0;
            while start < plan.conversations {
                let end = (start + CHUNK).min(plan.conversations);
                if sender.blocking_send(plan.chunk(start, end)).is_err() {
                    break; // the writer stopped; it reports why
                }
                start = end;
            }
        })
    };
    let load = Instant::now();
    let (mut done, mut answers) = (ChunkCounts::default(), 0u64);
    // Statistics are refreshed each time the evaluations double (see `analyze_during_bulk_load`).
    let mut analyze_at = 10_000;
    while let Some((chunk, counts)) = receiver.recv().await {
        answers += store.bulk_insert(ws, chunk).await.context("a bulk insert failed")?;
        done.add(&counts);
        if done.reviews + done.self_reviews >= analyze_at {
            store.analyze_during_bulk_load().await?;
            analyze_at *= 2;
        }
        let seconds = load.elapsed().as_secs_f64();
        eprintln!(
            "{:>9} conversations, {:>9} reviews, {:>7} self-reviews, {:>10} answers  {:>7.1} s  {:>8.0} reviews/s",
            done.conversations,
            done.reviews,
            done.self_reviews,
            answers,
            seconds,
            done.reviews as f64 / seconds.max(1e-9)
        );
    }
    drawer.await.context("the generator thread stopped")?;
    let rebuild_seconds = if options.rebuild_rollups {
        let rebuild = Instant::now();
        store.rebuild_rollups(ws).await?;
        Some(rebuild.elapsed().as_secs_f64())
    } else {
        None
    };
    let load_seconds = clock.elapsed().as_secs_f64();
    let analyze = Instant::now();
    store.analyze_after_bulk_load().await?;
    Ok(GenerateSummary {
        conversations: done.conversations,
        reviews: done.reviews,
        self_reviews: done.self_reviews,
        answers,
        load_seconds,
        rebuild_seconds,
        analyze_seconds: analyze.elapsed().as_secs_f64(),
        logins,
    })
}

#[derive(Clone, Copy, Default)]
struct ChunkCounts {
    conversations: usize,
    reviews: usize,
    self_reviews: usize,
}

impl ChunkCounts {
    fn add(&mut self, o: &ChunkCounts) {
        self.conversations += o.conversations;
        self.reviews += o.reviews;
        self.self_reviews += o.self_reviews;
    }
}

struct AgentPlan {
    id: AgentId,
    vendor: usize,
    team: usize,
    /// Standard normal: how good this agent's conversations are.
    skill: f64,
    /// The agent's login, when they have one (they write self-reviews).
    user: Option<UserId>,
}

struct GraderPlan {
    id: UserId,
    vendor: usize,
    /// How generous this grader is, on the latent quality scale.
    bias: f64,
}

struct CardPlan {
    scorecard_id: String,
    version_id: ScorecardVersionId,
    definition: ScorecardDefinition,
}

/// Everything a chunk is drawn from; each chunk has its own random stream, so chunks can be
/// drawn in any order and the same seed gives the same workspace.
struct Plan {
    ws: plumbline_domain::WorkspaceId,
    vendor_ids: Vec<VendorId>,
    team_ids: Vec<TeamId>,
    people: Vec<AgentPlan>,
    graders: Vec<Vec<GraderPlan>>,
    cards: Vec<CardPlan>,
    policy: ScoringPolicy,
    conversations: usize,
    evaluations: usize,
    seed: u64,
    now: i64,
    rollups: bool,
}

impl Plan {
    /// The first review of conversations from `i`: reviews are spread evenly over the
    /// conversations (review j is of conversation j × conversations / evaluations).
    fn first_review_at_or_after(&self, i: usize) -> usize {
        let (c, e) = (self.conversations as u128, self.evaluations as u128);
        (i as u128 * e).div_ceil(c) as usize
    }

    /// Conversations `start..end`, their reviews and self-reviews.
    fn chunk(&self, start: usize, end: usize) -> (BulkChunk, ChunkCounts) {
        let mut rng = Rng::new(self.seed, 1_000 + start as u64);
        let year_ago = self.now - 365 * DAY_MS;
        // Leave the last days for reviews to happen in.
        let span = (365 - 6) * DAY_MS;
        let mut conversations = Vec::with_capacity(end - start);
        let mut evaluations = Vec::new();
        let mut rollups = RollupBatch::new(self.ws);
        let mut counts = ChunkCounts { conversations: end - start, ..Default::default() };
        let mut review = self.first_review_at_or_after(start);
        let last_review = self.first_review_at_or_after(end).min(self.evaluations);
        for i in start..end {
            let person = &self.people[rng.below(self.people.len())];
            let vendor_id = self.vendor_ids[person.vendor];
            let offset = ((i as f64 + rng.unit()) / self.conversations as f64 * span as f64) as i64;
            let started_at = year_ago + offset;
            let quality = 0.8 * person.skill + 0.6 * rng.normal();
            let channel = pick_weighted(&mut rng, &CHANNELS);
            let (subject, tag) = TOPICS[rng.below(TOPICS.len())];
            let metrics = ConversationMetrics {
                csat: rng
                    .chance(0.40)
                    .then(|| (3.6 + 0.9 * quality + 0.8 * rng.normal()).round().clamp(1.0, 5.0) as i64),
                nps: rng
                    .chance(0.20)
                    .then(|| (7.0 + 1.8 * quality + 1.5 * rng.normal()).round().clamp(0.0, 10.0) as i64),
                fcr: rng.chance(0.85).then(|| rng.chance(sigmoid(0.9 + quality))),
                handle_time_seconds: Some(handle_time(&mut rng, channel)),
            };
            let conversation = BulkConversation {
                id: ConversationId::new(),
                external_id: format!("GEN-{i:08}"),
                channel,
                agent_id: Some(person.id),
                team_id: Some(self.team_ids[person.team]),
                vendor_id,
                started_at,
                subject: subject.to_string(),
                transcript: vec![
                    Message { author: AuthorRole::Customer, text: subject.to_string(), at: Some(started_at) },
                    Message {
                        author: AuthorRole::Agent,
                        text: "Thanks for reaching out, let me look into this for you.".to_string(),
                        at: Some(started_at + 60_000),
                    },
                ],
                tags: vec![tag.to_string()],
                metrics,
            };
            while review < last_review && self.conversation_of_review(review) == i {
                self.review(&mut rng, &conversation, person, quality, &mut evaluations, &mut rollups, &mut counts);
                review += 1;
            }
            conversations.push(conversation);
        }
        (BulkChunk { conversations, evaluations, rollups }, counts)
    }

    fn conversation_of_review(&self, j: usize) -> usize {
        (j as u128 * self.conversations as u128 / self.evaluations as u128) as usize
    }

    /// One review of `conversation` (and, now and then, the agent's self-review of it).
    #[allow(clippy::too_many_arguments)]
    fn review(
        &self,
        rng: &mut Rng,
        conversation: &BulkConversation,
        person: &AgentPlan,
        quality: f64,
        evaluations: &mut Vec<BulkEvaluation>,
        rollups: &mut RollupBatch,
        counts: &mut ChunkCounts,
    ) {
        let grader = if person.vendor != 0 && !rng.chance(INTERNAL_SHARE_OF_BPO) {
            let own = &self.graders[person.vendor];
            &own[rng.below(own.len())]
        } else {
            let internal = &self.graders[0];
            &internal[rng.below(internal.len())]
        };
        let leniency = if grader.vendor == person.vendor && grader.vendor != 0 { OWN_VENDOR_LENIENCY } else { 0.0 };
        let card = &self.cards[person.team % self.cards.len()];
        let answers = draw_answers(rng, &card.definition, quality + grader.bias + leniency);
        let score = score_evaluation(&card.definition, &answers, self.policy);
        let submitted_at = (conversation.started_at + rng.range(2 * HOUR_MS, 6 * DAY_MS)).min(self.now - 60_000);
        let active_seconds = rng.range(120, 900);
        if self.rollups {
            let facts = EvaluationFacts::new(
                Counted {
                    workspace_id: self.ws,
                    submitted_at,
                    vendor_id: conversation.vendor_id.to_string(),
                    team_id: conversation.team_id.map(|t| t.to_string()),
                    agent_id: conversation.agent_id.map(|a| a.to_string()),
                    score: &score,
                    answers: &answers,
                    definition: &card.definition,
                },
                EvaluationContext {
                    channel: conversation.channel.as_str().to_string(),
                    metrics: conversation.metrics.clone(),
                    grader_vendor_id: self.vendor_ids[grader.vendor].to_string(),
                    grader_internal: grader.vendor == 0,
                    scorecard_id: card.scorecard_id.clone(),
                },
            );
            rollups.add(&facts);
        }
        let self_review = match person.user {
            Some(user) if rng.chance(SELF_REVIEW_CHANCE) => {
                let answers = draw_answers(rng, &card.definition, quality + SELF_LENIENCY);
                let score = score_evaluation(&card.definition, &answers, self.policy);
                let submitted_at = (conversation.started_at + rng.range(HOUR_MS, 2 * DAY_MS)).min(self.now - 60_000);
                Some(BulkEvaluation {
                    id: EvaluationId::new(),
                    conversation_id: conversation.id,
                    scorecard_version_id: card.version_id,
                    reviewer_id: user,
                    kind: EvaluationKind::SelfReview,
                    vendor_id: conversation.vendor_id,
                    team_id: conversation.team_id,
                    agent_id: conversation.agent_id,
                    answers,
                    overall_feedback: String::new(),
                    score,
                    created_at: submitted_at - 300_000,
                    submitted_at,
                    active_seconds: 300,
                    rollup_snapshot: None,
                })
            }
            _ => None,
        };
        evaluations.push(BulkEvaluation {
            id: EvaluationId::new(),
            conversation_id: conversation.id,
            scorecard_version_id: card.version_id,
            reviewer_id: grader.id,
            kind: EvaluationKind::Review,
            vendor_id: conversation.vendor_id,
            team_id: conversation.team_id,
            agent_id: conversation.agent_id,
            answers,
            overall_feedback: String::new(),
            score,
            created_at: submitted_at - active_seconds * 1000,
            submitted_at,
            active_seconds,
            rollup_snapshot: Some((conversation.channel, conversation.metrics.clone())),
        });
        counts.reviews += 1;
        if let Some(s) = self_review {
            evaluations.push(s);
            counts.self_reviews += 1;
        }
    }
}

/// A grader's answers: each criterion follows the conversation's quality as the grader sees it
/// (`perceived`), plus the criterion's own ease and noise. Critical criteria fail rarely.
fn draw_answers(rng: &mut Rng, definition: &ScorecardDefinition, perceived: f64) -> Vec<Answer> {
    definition
        .criteria
        .iter()
        .enumerate()
        .map(|(k, criterion)| {
            let choice = if criterion.na_allowed && rng.chance(0.06) {
                Choice::NotApplicable
            } else {
                let ease = 0.35 * ((k * 7) % 5) as f64 - 0.5;
                let critical = if criterion.critical { 1.2 } else { 0.0 };
                let latent = perceived + ease + critical + 0.7 * rng.normal();
                Choice::Option(option_for(latent, criterion.scale.options.len()))
            };
            Answer { criterion_id: criterion.id, choice, comment: String::new() }
        })
        .collect()
}

/// The option (0 = best) a latent quality maps to on a scale of `n` options.
fn option_for(latent: f64, n: usize) -> usize {
    match n {
        2 => usize::from(latent < -1.3),
        _ => {
            // Thresholds from the best option down; lower options get the rest.
            let thresholds = [1.0, 0.0, -1.0, -1.8, -2.5];
            let below = thresholds.iter().take(n - 1).take_while(|&&t| latent < t).count();
            below.min(n - 1)
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn handle_time(rng: &mut Rng, channel: Channel) -> i64 {
    let median = match channel {
        Channel::Phone => 420.0,
        Channel::Chat => 600.0,
        Channel::Email => 1_200.0,
        Channel::Social | Channel::Other => 900.0,
    };
    (median * (0.5 * rng.normal()).exp()).round().max(30.0) as i64
}

fn pick_weighted<T: Copy>(rng: &mut Rng, items: &[(T, f64)]) -> T {
    let mut x = rng.unit();
    for &(item, weight) in items {
        if x < weight {
            return item;
        }
        x -= weight;
    }
    items[items.len() - 1].0
}

fn criterion(
    title: &str,
    group: Option<usize>,
    weight: f64,
    preset: ScalePreset,
    na_allowed: bool,
    critical: bool,
) -> CriterionInput {
    CriterionInput {
        id: None,
        group,
        title: title.to_string(),
        description: String::new(),
        weight: Some(weight),
        preset: Some(preset),
        options: None,
        na_allowed,
        critical,
        guidelines: String::new(),
    }
}

fn parse(name: &str, input: DefinitionInput) -> Result<ScorecardDefinition> {
    ScorecardDefinition::parse(input).map_err(|errors| {
        let detail: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.field, e.reason)).collect();
        anyhow::anyhow!("generated scorecard {name:?} is invalid: {}", detail.join("; "))
    })
}

/// Twenty criteria on the 1-to-5 scale; compliance is critical; the last five may be N/A.
fn scorecard_service_quality() -> Result<(&'static str, &'static str, ScorecardDefinition)> {
    const TITLES: [&str; 20] = [
        "Greeting",
        "Identified the need",
        "Accuracy",
        "Completeness",
        "Compliance",
        "Tone",
        "Empathy",
        "Ownership",
        "Clarity",
        "Grammar",
        "Personalisation",
        "Efficiency",
        "Troubleshooting",
        "Knowledge base use",
        "Set expectations",
        "Upsell handled well",
        "Escalation",
        "Follow-up offered",
        "Survey invitation",
        "Closing",
    ];
    let criteria = TITLES
        .iter()
        .enumerate()
        .map(|(k, title)| {
            let weight = [10.0, 8.0, 6.0, 4.0][k % 4];
            criterion(title, None, weight, ScalePreset::OneToFive, k >= 15, k == 4)
        })
        .collect();
    let name = "Service Quality";
    Ok((
        name,
        "Twenty criteria on the 1-to-5 scale; a poor compliance answer fails the review.",
        parse(name, DefinitionInput { groups: vec![], criteria })?,
    ))
}

/// Twenty criteria in three groups; the security group is critical (binary), the others on the
/// Zendesk-style 0..4 scale.
fn scorecard_digital_essentials() -> Result<(&'static str, &'static str, ScorecardDefinition)> {
    let groups = vec![
        GroupInput { id: None, title: "Security".into(), critical: true },
        GroupInput { id: None, title: "Communication".into(), critical: false },
        GroupInput { id: None, title: "Resolution".into(), critical: false },
    ];
    let mut criteria = vec![
        criterion("Verified identity", Some(0), 5.0, ScalePreset::Binary, true, false),
        criterion("No sensitive data exposed", Some(0), 5.0, ScalePreset::Binary, false, false),
        criterion("Followed the data policy", Some(0), 5.0, ScalePreset::Binary, false, false),
    ];
    for (k, title) in [
        "Greeting",
        "Tone",
        "Empathy",
        "Clarity",
        "Grammar",
        "Personalisation",
        "Active listening",
        "Pacing",
        "Closing",
    ]
    .iter()
    .enumerate()
    {
        criteria.push(criterion(title, Some(1), 4.0 + (k % 3) as f64, ScalePreset::FivePoint, k == 8, false));
    }
    for (k, title) in [
        "Understood the issue",
        "Correct answer",
        "Complete answer",
        "Used the right macro",
        "Tagged correctly",
        "Escalated when needed",
        "Resolved on first contact",
        "Next steps explained",
    ]
    .iter()
    .enumerate()
    {
        criteria.push(criterion(title, Some(2), 6.0 + (k % 2) as f64 * 2.0, ScalePreset::FivePoint, k == 5, false));
    }
    let name = "Digital Essentials";
    Ok((
        name,
        "Twenty criteria in three groups; a failed security check fails the group.",
        parse(name, DefinitionInput { groups, criteria })?,
    ))
}

/// wyrand (Wang Yi, 2019): a tiny, fast generator, good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Rng(seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        rng.next_u64();
        rng
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) ^ t) as u64
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reviews_spread_evenly_over_conversations() {
        let plan = |conversations, evaluations| (conversations, evaluations);
        for (c, e) in [plan(2_000usize, 2_000usize), plan(1_000, 3_000), plan(5_000, 1_234)] {
            let p = Plan {
                ws: plumbline_domain::WorkspaceId::new(),
                vendor_ids: vec![],
                team_ids: vec![],
                people: vec![],
                graders: vec![],
                cards: vec![],
                policy: ScoringPolicy::default(),
                conversations: c,
                evaluations: e,
                seed: 0,
                now: 0,
                rollups: false,
            };
            // Chunks of conversations partition the reviews.
            let mut total = 0;
            for start in (0..c).step_by(700) {
                let end = (start + 700).min(c);
                let first = p.first_review_at_or_after(start);
                let last = p.first_review_at_or_after(end).min(e);
                for j in first..last {
                    assert!((start..end).contains(&p.conversation_of_review(j)));
                }
                total += last - first;
            }
            assert_eq!(total, e);
        }
    }

    #[test]
    fn options_run_from_best_to_worst() {
        assert_eq!(option_for(3.0, 5), 0);
        assert_eq!(option_for(-3.0, 5), 4);
        assert_eq!(option_for(0.5, 5), 1);
        assert_eq!(option_for(0.0, 2), 0);
        assert_eq!(option_for(-2.0, 2), 1);
    }
}
