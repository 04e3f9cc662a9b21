//! Self-assessment rollups: a pair forms whichever side is submitted first, a published
//! calibrated result pairs while hidden calibration tasks and drafts never do, the sums answer
//! the report's filters, and a rebuild from the evaluations gives exactly what the submissions
//! kept.

use super::*;
use anyhow::Context;
use plumbline_domain::calibration::{CalibratedConversation, Facilitation, SessionMode};
use plumbline_domain::scoring::score_evaluation;
use plumbline_domain::time::Date;
use plumbline_domain::{AgentId, ConversationId, UserId};

fn day(date: &str) -> i64 {
    Date::parse(date).unwrap().days()
}

fn ms(date: &str) -> i64 {
    Date::parse(date).unwrap().millis()
}

struct Org {
    ws: WorkspaceId,
    bpo: VendorId,
    scorecard: plumbline_domain::ScorecardId,
    version: plumbline_domain::scorecard::ScorecardVersion,
    users: std::collections::HashMap<&'static str, UserId>,
}

use plumbline_domain::VendorId;

impl Org {
    /// Tone on the five-point scale (option 0 = 4 of 4 points ... 4 = none) and Compliance yes
    /// (0) or no (1); `None` for N/A.
    fn answers(&self, tone: Option<usize>, compliance: Option<usize>) -> Vec<Answer> {
        [tone, compliance]
            .into_iter()
            .enumerate()
            .map(|(i, option)| Answer {
                criterion_id: self.version.definition.criteria[i].id,
                choice: option.map_or(Choice::NotApplicable, Choice::Option),
                comment: String::new(),
            })
            .collect()
    }

    fn score(&self, answers: &[Answer]) -> f64 {
        score_evaluation(&self.version.definition, answers, ScoringPolicy::default()).score.unwrap()
    }
}

async fn org(db: &TestDatabase) -> Result<Org> {
    let (ws, internal, bpo) = workspace(db).await?;
    let mut users = std::collections::HashMap::new();
    for (key, role, vendor) in [
        ("lead", Role::QaLead, internal.id),
        ("rae", Role::Reviewer, internal.id),
        ("sam", Role::Reviewer, internal.id),
        ("ann", Role::Agent, internal.id),
        ("bob", Role::Agent, bpo.id),
    ] {
        let user = db
            .store
            .create_user(
                ws,
                NewUser {
                    vendor_id: vendor,
                    email: format!("{key}@example.test"),
                    name: key.into(),
                    role,
                    password_hash: "h".into(),
                    agent_id: None,
                },
            )
            .await?;
        users.insert(key, user.id);
    }
    let def =
        definition(&[("Tone", 1.0, ScalePreset::FivePoint, false), ("Compliance", 1.0, ScalePreset::Binary, false)]);
    let (card, v1) = db.store.create_scorecard(ws, "Support", "", &def).await?;
    let version = db.store.activate_version(ws, v1.id).await?;
    Ok(Org { ws, bpo: bpo.id, scorecard: card.id, version, users })
}

/// Creates an evaluation and, with `at`, submits it then.
async fn evaluate(
    db: &TestDatabase,
    o: &Org,
    conversation: ConversationId,
    by: &'static str,
    kind: EvaluationKind,
    answers: Vec<Answer>,
    at: Option<&str>,
) -> Result<()> {
    let e = db
        .store
        .create_evaluation(
            o.ws,
            NewEvaluation {
                conversation_id: conversation,
                scorecard_version_id: o.version.id,
                reviewer_id: o.users[by],
                kind,
                answers,
                overall_feedback: String::new(),
            },
        )
        .await?;
    if let Some(at) = at {
        db.store.submit_evaluation_at(o.ws, e.id, o.users[by], ScoringPolicy::default(), ms(at) + 3_600_000).await?;
    }
    Ok(())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

pub(crate) async fn self_assessment_rollups_pair_both_ways_and_match_a_rebuild(db: &TestDatabase) -> Result<()> {
    let o = org(db).await?;
    let store = &db.store;
    let conversation = |external: &'static str, bpo: bool| {
        let rec = record(external, bpo.then_some("Globex BPO"), if bpo { "Bob" } else { "Ann" });
        async move { store.put_conversation(o.ws, &rec).await.map(|(c, _)| c) }
    };
    use EvaluationKind::{Review, SelfReview};

    // The self-review first (January 31), the review two days later: one pair, on the
    // self-review's day. Tone 4/4 against 2/4 (+50), Compliance yes against no (+100).
    let c1 = conversation("C1", false).await?;
    let (s1, r1) = (o.answers(Some(0), Some(0)), o.answers(Some(2), Some(1)));
    evaluate(db, &o, c1.id, "ann", SelfReview, s1.clone(), Some("2026-01-31")).await?;
    evaluate(db, &o, c1.id, "rae", Review, r1.clone(), Some("2026-02-02")).await?;
    // The review first (February 10), the self-review on February 14, another review after it:
    // two pairs on February 14. Compliance is N/A in the self-review, so only Tone compares:
    // 4/4 against 3/4 (+25) and against 1/4 (+75).
    let c2 = conversation("C2", false).await?;
    let (s2, r2, r2b) = (o.answers(Some(0), None), o.answers(Some(1), Some(0)), o.answers(Some(3), Some(1)));
    evaluate(db, &o, c2.id, "rae", Review, r2.clone(), Some("2026-02-10")).await?;
    evaluate(db, &o, c2.id, "ann", SelfReview, s2.clone(), Some("2026-02-14")).await?;
    evaluate(db, &o, c2.id, "sam", Review, r2b.clone(), Some("2026-02-15")).await?;
    // Drafts pair with nothing: a self-review left as a draft beside a review, and a review left
    // as a draft beside a self-review.
    let c4 = conversation("C4", false).await?;
    evaluate(db, &o, c4.id, "ann", SelfReview, s1.clone(), None).await?;
    evaluate(db, &o, c4.id, "rae", Review, r1.clone(), Some("2026-02-03")).await?;
    let c5 = conversation("C5", false).await?;
    evaluate(db, &o, c5.id, "ann", SelfReview, s1.clone(), Some("2026-02-03")).await?;
    evaluate(db, &o, c5.id, "rae", Review, r1.clone(), None).await?;

    // Bob (BPO) reviews himself on March 1; the conversation is then calibrated in a hidden
    // session: Rae's hidden task does not pair, the published calibrated result does. Tone 4/4
    // against 0/4 (+100), Compliance yes against yes (0).
    let c3 = conversation("C3", true).await?;
    let s3 = o.answers(Some(0), Some(0));
    evaluate(db, &o, c3.id, "bob", SelfReview, s3.clone(), Some("2026-03-01")).await?;
    let session = store
        .create_calibration(
            o.ws,
            NewSession {
                title: "Unannounced".into(),
                goals: String::new(),
                scorecard_version_id: o.version.id,
                facilitator_id: o.users["lead"],
                mode: SessionMode::Hidden,
                hide_agent_name: false,
                scheduled_at: None,
                scoring_deadline: Some(now_millis() + 30 * 86_400_000),
                conversation_ids: vec![c3.id],
                participant_ids: vec![o.users["rae"]],
                review_plan_id: None,
                created_by: o.users["lead"],
            },
        )
        .await?
        .session
        .id;
    let task = store.calibration_tasks(o.ws, session).await?.pop().context("Rae's hidden task")?;
    ensure!(task.kind == Review && task.calibration_session_id == Some(session));
    let hidden_answers = o.answers(Some(4), Some(1));
    let edit = EvaluationEdit { answers: &hidden_answers, overall_feedback: "", expected_revision: None };
    store.save_evaluation(o.ws, task.id, o.users["rae"], edit, ScoringPolicy::default()).await?;
    store.submit_evaluation(o.ws, task.id, o.users["rae"], ScoringPolicy::default()).await?;
    let bob_pairs = "SELECT COUNT(*) FROM rollup_self r JOIN agents a ON a.id = r.agent_id WHERE a.name = 'Bob'";
    ensure!(testing::count(store, bob_pairs).await == 0, "a hidden task never pairs");
    let revealed = store.reveal_calibration(o.ws, session, o.users["lead"]).await?;
    let calibrated = o.answers(Some(4), Some(0));
    let facilitation = Facilitation {
        calibrated: vec![CalibratedConversation {
            conversation_id: c3.id,
            answers: calibrated.clone(),
            feedback: String::new(),
        }],
        ..Facilitation::default()
    };
    store.save_facilitation(o.ws, session, revealed.revision, facilitation, o.users["lead"]).await?;
    store.submit_calibration(o.ws, session, None, true, o.users["lead"]).await?;

    let ann: AgentId = c1.agent_id.context("Ann")?;
    let ann_team = c1.team_id.context("Ann's team")?;
    let bob: AgentId = c3.agent_id.context("Bob")?;
    let all_time = (day("2020-01-01"), day("2100-01-01"));
    let sums = |scope: VendorScope, filter: IqsFilter, days: (i64, i64)| {
        let store = store.clone();
        async move { store.self_assessment_sums(o.ws, scope, &filter, days).await }
    };
    let gap = |s: &SelfAssessmentSums, criterion: usize| {
        let id = o.version.definition.criteria[criterion].id.to_string();
        s.criteria.iter().find(|c| c.criterion_id == id).map(|c| (c.pairs, c.gap().unwrap()))
    };

    // All time: Ann has three pairs, Bob one.
    let all = sums(VendorScope::All, IqsFilter::default(), all_time).await?;
    ensure!(all.agents.len() == 2, "{all:?}");
    let line =
        |s: &SelfAssessmentSums, agent: AgentId| s.agents.iter().find(|a| a.agent_id == agent.to_string()).cloned();
    let ann_line = line(&all, ann).context("Ann's line")?;
    ensure!(ann_line.name == "Ann" && ann_line.pairs == 3 && ann_line.self_n == 3 && ann_line.review_n == 3);
    ensure!(close(ann_line.self_sum, o.score(&s1) + 2.0 * o.score(&s2)), "{ann_line:?}");
    ensure!(close(ann_line.review_sum, o.score(&r1) + o.score(&r2) + o.score(&r2b)), "{ann_line:?}");
    let bob_line = line(&all, bob).context("Bob's line: the calibrated result pairs")?;
    ensure!(bob_line.pairs == 1 && close(bob_line.self_score().unwrap(), 100.0), "{bob_line:?}");
    ensure!(close(bob_line.review_score().unwrap(), o.score(&calibrated)), "{bob_line:?}");
    // Tone: (50 + 25 + 75 + 100) / 4 = 62.5 over four pairs; Compliance: (100 + 0) / 2 = 50.
    ensure!(gap(&all, 0) == Some((4, 62.5)), "{all:?}");
    ensure!(gap(&all, 1) == Some((2, 50.0)), "{all:?}");
    // With the outcomes of the agents with pairs (read side by side on PostgreSQL): Ann's and
    // Bob's rows, as a read of those two agents gives them.
    let (with, outcomes) =
        store.self_assessment_with_outcomes(o.ws, VendorScope::All, &IqsFilter::default(), all_time).await?;
    ensure!(with == all, "{with:?}");
    let mut listed = store
        .agent_sums_of(o.ws, VendorScope::All, &IqsFilter::default(), all_time, &[ann.to_string(), bob.to_string()])
        .await?;
    let mut outcomes = outcomes;
    for rows in [&mut listed, &mut outcomes] {
        rows.sort_by(|a, b| a.key.cmp(&b.key));
    }
    ensure!(outcomes.len() == 2 && format!("{outcomes:?}") == format!("{listed:?}"), "{outcomes:?}\n{listed:?}");

    // A range that starts and ends mid-month (day rows for Jan 31 and Mar 1, month rows for
    // February) holds everything; February alone holds February 14's two pairs.
    let ranged = sums(VendorScope::All, IqsFilter::default(), (day("2026-01-31"), day("2026-03-02"))).await?;
    ensure!(ranged == all, "{ranged:?}");
    let february = sums(VendorScope::All, IqsFilter::default(), (day("2026-02-01"), day("2026-03-01"))).await?;
    ensure!(february.agents.len() == 1 && february.agents[0].pairs == 2, "{february:?}");
    ensure!(gap(&february, 0) == Some((2, 50.0)) && gap(&february, 1).is_none(), "{february:?}");
    let before = sums(VendorScope::All, IqsFilter::default(), (day("2026-01-01"), day("2026-01-31"))).await?;
    ensure!(before.agents.is_empty() && before.criteria.is_empty(), "{before:?}");

    // By vendor, by the viewer's vendor scope, by agent: Bob's pair only. By team: Ann's.
    let bpo_only = sums(VendorScope::All, IqsFilter { vendor_id: Some(o.bpo), ..Default::default() }, all_time).await?;
    ensure!(bpo_only.agents.len() == 1 && bpo_only.agents[0].agent_id == bob.to_string(), "{bpo_only:?}");
    ensure!(gap(&bpo_only, 0) == Some((1, 100.0)) && gap(&bpo_only, 1) == Some((1, 0.0)), "{bpo_only:?}");
    ensure!(sums(VendorScope::Only(o.bpo), IqsFilter::default(), all_time).await? == bpo_only);
    ensure!(
        sums(VendorScope::All, IqsFilter { agent_id: Some(bob), ..Default::default() }, all_time).await? == bpo_only
    );
    let team = sums(VendorScope::All, IqsFilter { team_id: Some(ann_team), ..Default::default() }, all_time).await?;
    ensure!(team.agents.len() == 1 && team.agents[0].agent_id == ann.to_string(), "{team:?}");
    ensure!(gap(&team, 0) == Some((3, 50.0)) && gap(&team, 1) == Some((1, 100.0)), "{team:?}");
    let card = IqsFilter { scorecard_id: Some(o.scorecard), ..Default::default() };
    ensure!(sums(VendorScope::All, card, all_time).await? == all);
    let other_card = IqsFilter { scorecard_id: Some(plumbline_domain::ScorecardId::new()), ..Default::default() };
    ensure!(sums(VendorScope::All, other_card, all_time).await? == SelfAssessmentSums::default());

    // A rebuild from the evaluations gives exactly what the submissions kept.
    let kept = store.rollup_totals(o.ws).await?;
    ensure!(kept.iter().any(|(name, v)| name == "rollup_self.0.pairs" && *v == 4.0), "{kept:?}");
    ensure!(kept.iter().any(|(name, v)| name == "rollup_self_criterion.1.pairs" && *v == 12.0), "{kept:?}");
    store.rebuild_rollups(o.ws).await?;
    let rebuilt = store.rollup_totals(o.ws).await?;
    ensure!(kept.len() == rebuilt.len(), "{kept:?}\n{rebuilt:?}");
    for ((name, a), (other, b)) in kept.iter().zip(&rebuilt) {
        ensure!(name == other && close(*a, *b), "{name}: kept {a}, rebuilt {b}");
    }
    ensure!(sums(VendorScope::All, IqsFilter::default(), all_time).await? == all);
    ensure!(
        sums(VendorScope::All, IqsFilter { team_id: Some(ann_team), ..Default::default() }, all_time).await? == team
    );
    Ok(())
}

/// On PostgreSQL two transactions that submit the two sides of a pair at once would each miss
/// the other's uncommitted evaluation; the conversation lock makes the second see the first.
pub(crate) async fn both_sides_submitted_at_once_still_pair(db: &TestDatabase) -> Result<()> {
    let o = org(db).await?;
    let store = &db.store;
    const CONVERSATIONS: usize = 12;
    let mut drafts = Vec::new();
    for i in 0..CONVERSATIONS {
        let (c, _) = store.put_conversation(o.ws, &record(&format!("RACE-{i}"), None, "Ann")).await?;
        let mut pair = Vec::new();
        for (by, kind, answers) in [
            ("ann", EvaluationKind::SelfReview, o.answers(Some(0), Some(0))),
            ("rae", EvaluationKind::Review, o.answers(Some(2), Some(0))),
        ] {
            let new = NewEvaluation {
                conversation_id: c.id,
                scorecard_version_id: o.version.id,
                reviewer_id: o.users[by],
                kind,
                answers,
                overall_feedback: String::new(),
            };
            pair.push((store.create_evaluation(o.ws, new).await?.id, o.users[by]));
        }
        drafts.push(pair);
    }
    let mut tasks = Vec::new();
    for (id, by) in drafts.into_iter().flatten() {
        let store = store.clone();
        let ws = o.ws;
        tasks.push(tokio::spawn(async move { store.submit_evaluation(ws, id, by, ScoringPolicy::default()).await }));
    }
    for task in tasks {
        task.await??;
    }
    let all = store.self_assessment_sums(o.ws, VendorScope::All, &IqsFilter::default(), (0, 2_932_896)).await?;
    ensure!(all.agents.len() == 1 && all.agents[0].pairs == CONVERSATIONS as i64, "{all:?}");
    // Tone 4/4 against 2/4 on every pair.
    ensure!(all.criteria.iter().any(|c| c.pairs == CONVERSATIONS as i64 && c.gap() == Some(50.0)), "{all:?}");
    Ok(())
}
