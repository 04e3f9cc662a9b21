//! The storage scenario suite: every operation, on SQLite and on PostgreSQL.

use anyhow::{Result, ensure};
use plumbline_domain::access::VendorScope;
use plumbline_domain::conversation::{Channel, ConversationMetrics, ConversationRecord};
use plumbline_domain::evaluation::{Answer, Choice, EvaluationKind, EvaluationStatus};
use plumbline_domain::org::{Bands, Role};
use plumbline_domain::scorecard::{CriterionInput, DefinitionInput, ScalePreset, ScorecardDefinition, VersionStatus};
use plumbline_domain::scoring::ScoringPolicy;
use plumbline_domain::{WorkspaceId, org::Vendor};
use plumbline_store::testing::TestDatabase;
use plumbline_store::*;

scenarios!(
    migrations_match_the_build,
    organisation_round_trip,
    users_sessions_and_tokens,
    scorecard_versions_are_immutable,
    conversations_upsert_by_external_id,
    import_is_all_or_nothing,
    evaluation_lifecycle,
    created_and_submitted_in_one_transaction,
    reviews_of_one_conversation_submitted_at_once_all_land,
    a_version_retired_after_reviews_refuses_the_next,
    concurrent_submits_leave_one_result,
    concurrent_writers_keep_their_own_outcome,
    the_same_import_twice_at_once_creates_no_duplicates,
    iqs_report_is_a_ratio_of_sums,
    lists_respect_vendor_scope,
    workspace_lists_page_by_an_index,
    calibration_tasks_are_indexed_apart_from_reviews,
    a_conversations_evaluations_are_indexed_by_kind,
    mismatch_lists_hold_every_disagreement_newest_first,
    rollups_follow_submissions_and_match_a_rebuild,
    a_period_read_with_its_previous_matches_two_reads,
    concurrent_submissions_match_a_rebuild,
    targets_round_trip_and_refuse_bad_input,
    self_assessment_rollups_pair_both_ways_and_match_a_rebuild,
    both_sides_submitted_at_once_still_pair,
);

#[path = "scenarios/reports.rs"]
mod reports;
use reports::{
    a_period_read_with_its_previous_matches_two_reads, concurrent_submissions_match_a_rebuild,
    mismatch_lists_hold_every_disagreement_newest_first, rollups_follow_submissions_and_match_a_rebuild,
    targets_round_trip_and_refuse_bad_input,
};
#[path = "scenarios/self_assessment.rs"]
mod self_assessment;
use self_assessment::{
    both_sides_submitted_at_once_still_pair, self_assessment_rollups_pair_both_ways_and_match_a_rebuild,
};

async fn workspace(db: &TestDatabase) -> Result<(WorkspaceId, Vendor, Vendor)> {
    let (ws, internal) = db.store.create_workspace("Acme", "Acme Support").await?;
    let bpo = db.store.create_vendor(ws.id, "Globex BPO").await?;
    Ok((ws.id, internal, bpo))
}

fn definition(criteria: &[(&str, f64, ScalePreset, bool)]) -> ScorecardDefinition {
    ScorecardDefinition::parse(DefinitionInput {
        groups: vec![],
        criteria: criteria
            .iter()
            .map(|(title, weight, preset, critical)| CriterionInput {
                id: None,
                group: None,
                title: title.to_string(),
                description: String::new(),
                weight: Some(*weight),
                preset: Some(*preset),
                options: None,
                na_allowed: true,
                critical: *critical,
                guidelines: String::new(),
            })
            .collect(),
    })
    .expect("valid definition")
}

fn record(external_id: &str, vendor: Option<&str>, agent: &str) -> ConversationRecord {
    ConversationRecord {
        external_id: external_id.to_string(),
        channel: Channel::Chat,
        agent: Some(agent.to_string()),
        team: Some("Billing".to_string()),
        vendor: vendor.map(str::to_string),
        started_at: 1_767_225_600_000,
        subject: "Refund".to_string(),
        transcript: vec![],
        tags: vec!["refund".into()],
        metrics: ConversationMetrics { csat: Some(4), nps: Some(9), fcr: Some(true), handle_time_seconds: Some(300) },
    }
}

async fn migrations_match_the_build(db: &TestDatabase) -> Result<()> {
    let applied = db.store.applied_migrations().await?;
    ensure!(applied == Store::known_migrations(), "applied {applied:?}");
    ensure!(!applied.is_empty());
    // Running them again changes nothing.
    db.store.migrate().await?;
    ensure!(db.store.ping().await);
    Ok(())
}

/// A page of a whole workspace's conversations or evaluations, newest first, is read from an
/// index in that order: without one, every page sorted the workspace (seconds at a million).
async fn workspace_lists_page_by_an_index(db: &TestDatabase) -> Result<()> {
    use sqlx::Row;
    for table in ["conversations", "evaluations"] {
        let plan = if db.backend() == Backend::Sqlite {
            sqlite_plan(db, &format!("SELECT * FROM {table} WHERE workspace_id = 'w' ORDER BY id DESC LIMIT 51"))
                .await?
        } else {
            // PostgreSQL plans by size: ask which index the migration made.
            let sql = format!("SELECT indexdef FROM pg_indexes WHERE tablename = '{table}'");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(db.pool()).await?;
            rows.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<Vec<_>, _>>()?.join("; ")
        };
        let index = format!("{table}_workspace");
        ensure!(plan.contains(&index), "{table}: {plan}");
        ensure!(!plan.contains("TEMP B-TREE"), "{table} sorts: {plan}");
    }
    Ok(())
}

/// The calibration-task index holds only calibration tasks (not every review under a NULL
/// session), and a session's lookups still use it.
async fn calibration_tasks_are_indexed_apart_from_reviews(db: &TestDatabase) -> Result<()> {
    use sqlx::Row;
    let definition = if db.backend() == Backend::Sqlite {
        let plan = sqlite_plan(
            db,
            "SELECT conversation_id FROM evaluations WHERE calibration_session_id = 's' AND reviewer_id = 'r'",
        )
        .await?;
        ensure!(plan.contains("evaluations_calibration_task"), "{plan}");
        let sql = "SELECT sql FROM sqlite_master WHERE name = 'evaluations_calibration_task'";
        sqlx::query(sql).fetch_one(db.pool()).await?.try_get::<String, _>(0)?
    } else {
        postgres_index(db, "evaluations_calibration_task").await?
    };
    ensure!(definition.contains("UNIQUE") && definition.contains("IS NOT NULL"), "{definition}");
    Ok(())
}

/// The self-review of a conversation (what a review submitted pairs with) is found by the
/// index, without reading the conversation's other evaluations.
async fn a_conversations_evaluations_are_indexed_by_kind(db: &TestDatabase) -> Result<()> {
    if db.backend() == Backend::Sqlite {
        let plan =
            sqlite_plan(db, "SELECT id FROM evaluations WHERE conversation_id = 'c' AND kind = 'self_review'").await?;
        ensure!(plan.contains("evaluations_conversation (conversation_id=? AND kind=?)"), "{plan}");
    } else {
        let definition = postgres_index(db, "evaluations_conversation").await?;
        ensure!(definition.contains("(conversation_id, kind)"), "{definition}");
    }
    Ok(())
}

/// SQLite's plan for `query`: its steps, joined.
async fn sqlite_plan(db: &TestDatabase, query: &str) -> Result<String> {
    use sqlx::Row;
    let sql = format!("EXPLAIN QUERY PLAN {query}");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(db.pool()).await?;
    Ok(rows.iter().map(|r| r.try_get::<String, _>(3)).collect::<Result<Vec<_>, _>>()?.join("; "))
}

/// How PostgreSQL defines the index `name` (it plans by size, so a small test database cannot
/// show the plan a million rows get: the scenarios check the index is there).
async fn postgres_index(db: &TestDatabase, name: &str) -> Result<String> {
    use sqlx::Row;
    let row =
        sqlx::query("SELECT indexdef FROM pg_indexes WHERE indexname = $1").bind(name).fetch_one(db.pool()).await?;
    Ok(row.try_get(0)?)
}

async fn organisation_round_trip(db: &TestDatabase) -> Result<()> {
    let (ws, internal, bpo) = workspace(db).await?;
    ensure!(db.store.internal_vendor(ws).await? == internal);
    let vendors = db.store.list_vendors(ws, VendorScope::All).await?;
    ensure!(vendors.len() == 2 && vendors[0].is_internal);
    ensure!(matches!(db.store.create_vendor(ws, "Globex BPO").await, Err(StoreError::Duplicate(_))));
    let team = db.store.create_team(ws, bpo.id, "Tier 1").await?;
    let agent = db.store.create_agent(ws, bpo.id, Some(team.id), "Dana", Some("dana@globex.test")).await?;
    ensure!(db.store.get_agent(ws, VendorScope::All, agent.id).await? == agent);
    ensure!(matches!(
        db.store.get_agent(ws, VendorScope::Only(internal.id), agent.id).await,
        Err(StoreError::NotFound)
    ));
    let page = db.store.list_agents(ws, VendorScope::All, &AgentFilter::default(), &PageRequest::default()).await?;
    ensure!(page.items == vec![agent.clone()] && page.next_cursor.is_none());
    ensure!(db.store.list_teams(ws, VendorScope::Only(internal.id)).await?.is_empty());
    // A team in another vendor cannot be given to an agent.
    ensure!(matches!(
        db.store.create_agent(ws, internal.id, Some(team.id), "Eve", None).await,
        Err(StoreError::Invalid(_))
    ));
    let mut settings = db.store.get_workspace(ws).await?.settings;
    settings.tolerance_points = 7.5;
    db.store.update_settings(ws, &settings).await?;
    ensure!(db.store.get_workspace(ws).await?.settings.tolerance_points == 7.5);
    Ok(())
}

async fn users_sessions_and_tokens(db: &TestDatabase) -> Result<()> {
    let (ws, internal, bpo) = workspace(db).await?;
    let new = |email: &str, vendor: plumbline_domain::VendorId, role: Role| NewUser {
        vendor_id: vendor,
        email: email.to_string(),
        name: "Some One".to_string(),
        role,
        password_hash: "hash".to_string(),
        agent_id: None,
    };
    let lead = db.store.create_user(ws, new("Lead@Acme.test", internal.id, Role::QaLead)).await?;
    ensure!(lead.email == "lead@acme.test");
    ensure!(matches!(
        db.store.create_user(ws, new("lead@acme.test", internal.id, Role::Admin)).await,
        Err(StoreError::Duplicate(_))
    ));
    let grader = db.store.create_user(ws, new("g@globex.test", bpo.id, Role::Reviewer)).await?;
    let (found, hash) = db.store.find_user_by_email(" LEAD@acme.test ").await?.expect("found");
    ensure!(found == lead && hash == "hash");
    ensure!(db.store.list_users(ws, VendorScope::Only(bpo.id), &UserFilter::default()).await? == vec![grader.clone()]);

    db.store.create_session(lead.id, "session-hash", "csrf", 60_000).await?;
    let (signed_in, csrf) = db.store.session_user("session-hash").await?.expect("session");
    ensure!(signed_in.user.id == lead.id && csrf == "csrf");
    ensure!(signed_in.vendor_is_internal, "the credential's read says whether the user's vendor is internal");
    db.store.create_session(lead.id, "expired", "csrf", -1).await?;
    ensure!(db.store.session_user("expired").await?.is_none());
    ensure!(db.store.delete_expired_sessions().await? == 1);
    db.store.set_password(ws, lead.id, "new-hash").await?;
    ensure!(db.store.session_user("session-hash").await?.is_none(), "a new password ends sessions");

    let token = db.store.create_token(grader.id, "script", "token-hash").await?;
    let signed_in = db.store.token_user("token-hash").await?.expect("token");
    ensure!(signed_in.user.id == grader.id && !signed_in.vendor_is_internal, "a BPO grader's vendor is not internal");
    // The use is recorded beside the request, not before it answers.
    let mut recorded = false;
    for _ in 0..500 {
        recorded = db.store.list_tokens(grader.id).await?[0].last_used_at.is_some();
        if recorded {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    ensure!(recorded, "the token's use is recorded");
    ensure!(matches!(db.store.revoke_token(lead.id, token.id).await, Err(StoreError::NotFound)));
    db.store.revoke_token(grader.id, token.id).await?;
    ensure!(db.store.token_user("token-hash").await?.is_none());

    let token = db.store.create_token(grader.id, "again", "token-2").await?;
    let updated = db.store.update_user(ws, grader.id, Role::VendorLead, false).await?;
    ensure!(updated.role == Role::VendorLead && !updated.active);
    ensure!(db.store.token_user("token-2").await?.is_none(), "deactivation revokes tokens");
    ensure!(db.store.list_tokens(grader.id).await?.iter().any(|t| t.id == token.id && t.revoked_at.is_some()));

    ensure!(db.store.record_failed_login("x@y.test", 0).await? == 1);
    ensure!(db.store.record_failed_login("X@y.test", 0).await? == 2);
    db.store.clear_failed_logins("x@y.test").await?;
    ensure!(db.store.failed_logins_since("x@y.test", 0).await? == 0);
    Ok(())
}

async fn scorecard_versions_are_immutable(db: &TestDatabase) -> Result<()> {
    let (ws, _, _) = workspace(db).await?;
    let v1_def = definition(&[("Tone", 1.0, ScalePreset::FivePoint, false)]);
    let (card, v1) = db.store.create_scorecard(ws, "Support", "Chat and email", &v1_def).await?;
    ensure!(v1.status == VersionStatus::Draft && v1.number == 1);
    ensure!(matches!(db.store.create_version(ws, card.id, &v1_def).await, Err(StoreError::Conflict(_))));
    let edited = definition(&[("Tone", 2.0, ScalePreset::FivePoint, false)]);
    let v1 = db.store.update_draft_version(ws, v1.id, &edited).await?;
    ensure!(v1.definition == edited);
    let v1 = db.store.activate_version(ws, v1.id).await?;
    ensure!(v1.status == VersionStatus::Active && v1.activated_at.is_some());
    ensure!(matches!(db.store.update_draft_version(ws, v1.id, &v1_def).await, Err(StoreError::Conflict(_))));

    // Same criteria with other wording: minor. A new weight: major.
    let mut reworded = v1.definition.clone();
    reworded.criteria[0].description = "Warm and clear".into();
    let v2 = db.store.create_version(ws, card.id, &reworded).await?;
    ensure!(v2.number == 2 && v2.change_kind == plumbline_domain::scorecard::ChangeKind::Minor);
    let mut reweighted = v1.definition.clone();
    reweighted.criteria[0].weight = 5.0;
    let v2 = db.store.update_draft_version(ws, v2.id, &reweighted).await?;
    ensure!(v2.change_kind == plumbline_domain::scorecard::ChangeKind::Major);
    db.store.activate_version(ws, v2.id).await?;
    let versions = db.store.list_versions(ws, card.id).await?;
    ensure!(
        versions.iter().map(|v| v.status).collect::<Vec<_>>() == vec![VersionStatus::Retired, VersionStatus::Active]
    );
    ensure!(db.store.active_version(ws, card.id).await?.map(|v| v.id) == Some(v2.id));
    ensure!(db.store.list_scorecards(ws).await? == vec![card.clone()]);
    ensure!(db.store.get_scorecard(ws, card.id).await? == card);
    Ok(())
}

async fn conversations_upsert_by_external_id(db: &TestDatabase) -> Result<()> {
    let (ws, internal, _) = workspace(db).await?;
    let (first, created) = db.store.put_conversation(ws, &record("T-1", None, "Ann")).await?;
    ensure!(created && first.vendor_id == internal.id && first.agent_id.is_some());
    let mut changed = record("T-1", None, "Ann");
    changed.subject = "Refund, again".into();
    let (second, created) = db.store.put_conversation(ws, &changed).await?;
    ensure!(!created && second.id == first.id && second.subject == "Refund, again");
    ensure!(db.store.count_conversations(ws).await? == 1);
    ensure!(matches!(
        db.store.put_conversation(ws, &record("T-2", Some("Nobody Inc"), "Ann")).await,
        Err(StoreError::Invalid(e)) if e[0].field == "vendor"
    ));
    let mut bad = record("T-3", None, "Ann");
    bad.metrics.csat = Some(9);
    ensure!(matches!(db.store.put_conversation(ws, &bad).await, Err(StoreError::Invalid(_))));
    ensure!(db.store.get_conversation_by_external_id(ws, "T-1").await?.id == first.id);
    Ok(())
}

async fn send_all(items: Vec<ImportItem>) -> tokio::sync::mpsc::Receiver<ImportItem> {
    let (tx, rx) = tokio::sync::mpsc::channel(items.len().max(1));
    for item in items {
        tx.send(item).await.expect("send");
    }
    rx
}

async fn import_is_all_or_nothing(db: &TestDatabase) -> Result<()> {
    let (ws, _, _) = workspace(db).await?;
    let mut good =
        send_all(vec![Ok((2, record("A-1", None, "Ann"))), Ok((3, record("A-2", Some("globex bpo"), "Bob")))]).await;
    let summary = db.store.import_conversations(ws, &mut good).await?;
    ensure!(summary.rows == 2 && summary.created == 2 && summary.updated == 0);
    ensure!(summary.agents_created == vec!["Ann", "Bob"] && summary.teams_created.len() == 2);

    let mut mixed = send_all(vec![
        Ok((2, record("A-1", None, "Ann"))),
        Ok((3, record("A-3", Some("Nobody"), "Cy"))),
        Err(RowProblem { line: 4, field: "csat".into(), reason: "must be from 1 to 5".into() }),
        Ok((5, record("A-4", None, "Dee"))),
    ])
    .await;
    match db.store.import_conversations(ws, &mut mixed).await {
        Err(ImportError::BadRows { problems, total }) => {
            ensure!(total == 2);
            ensure!(problems[0].line == 3 && problems[0].field == "vendor");
            ensure!(problems[1].line == 4 && problems[1].field == "csat");
        }
        other => anyhow::bail!("expected bad rows, got {other:?}"),
    }
    ensure!(db.store.count_conversations(ws).await? == 2, "nothing of a bad import is kept");
    let agents = db.store.list_agents(ws, VendorScope::All, &AgentFilter::default(), &PageRequest::default()).await?;
    ensure!(agents.items.len() == 2, "no agent of a bad import is kept");

    let mut again =
        send_all(vec![Ok((2, record("A-1", None, "Ann"))), Ok((3, record("A-2", Some("Globex BPO"), "Bob")))]).await;
    let summary = db.store.import_conversations(ws, &mut again).await?;
    ensure!(summary.created == 0 && summary.updated == 2 && summary.agents_created.is_empty());
    ensure!(db.store.count_conversations(ws).await? == 2, "re-import never duplicates");
    Ok(())
}

struct Scene {
    ws: WorkspaceId,
    reviewer: plumbline_domain::UserId,
    conversation: plumbline_domain::ConversationId,
    version: plumbline_domain::scorecard::ScorecardVersion,
}

async fn scene(db: &TestDatabase) -> Result<Scene> {
    let (ws, internal, _) = workspace(db).await?;
    let reviewer = db
        .store
        .create_user(
            ws,
            NewUser {
                vendor_id: internal.id,
                email: "r@acme.test".into(),
                name: "Rae".into(),
                role: Role::Reviewer,
                password_hash: "h".into(),
                agent_id: None,
            },
        )
        .await?;
    let def =
        definition(&[("Tone", 1.0, ScalePreset::FivePoint, false), ("Compliance", 1.0, ScalePreset::Binary, true)]);
    let (_, v1) = db.store.create_scorecard(ws, "Support", "", &def).await?;
    let version = db.store.activate_version(ws, v1.id).await?;
    let (conversation, _) = db.store.put_conversation(ws, &record("E-1", None, "Ann")).await?;
    Ok(Scene { ws, reviewer: reviewer.id, conversation: conversation.id, version })
}

fn answer(version: &plumbline_domain::scorecard::ScorecardVersion, i: usize, choice: Choice) -> Answer {
    Answer { criterion_id: version.definition.criteria[i].id, choice, comment: format!("comment {i}") }
}

async fn evaluation_lifecycle(db: &TestDatabase) -> Result<()> {
    let s = scene(db).await?;
    let new = NewEvaluation {
        conversation_id: s.conversation,
        scorecard_version_id: s.version.id,
        reviewer_id: s.reviewer,
        kind: EvaluationKind::Review,
        answers: vec![answer(&s.version, 0, Choice::Option(1))],
        overall_feedback: "Good start".into(),
    };
    let draft = db.store.create_evaluation(s.ws, new.clone()).await?;
    ensure!(draft.status == EvaluationStatus::Draft && draft.result.is_none() && draft.answers.len() == 1);
    // Submitting with a criterion unanswered is refused, naming it.
    ensure!(matches!(
        db.store.submit_evaluation(s.ws, draft.id, s.reviewer, ScoringPolicy::default()).await,
        Err(StoreError::Invalid(e)) if e[0].reason.contains("Compliance")
    ));
    let (_, revision) = db.store.get_evaluation(s.ws, draft.id).await?;
    let answers = vec![answer(&s.version, 0, Choice::Option(1)), answer(&s.version, 1, Choice::Option(0))];
    let (saved, new_revision) = db
        .store
        .save_evaluation(
            s.ws,
            draft.id,
            s.reviewer,
            EvaluationEdit { answers: &answers, overall_feedback: "Fine", expected_revision: Some(revision) },
            ScoringPolicy::default(),
        )
        .await?;
    ensure!(new_revision == revision + 1 && saved.answers == answers && saved.overall_feedback == "Fine");
    // A save from a stale revision is a conflict and changes nothing.
    ensure!(matches!(
        db.store
            .save_evaluation(
                s.ws,
                draft.id,
                s.reviewer,
                EvaluationEdit { answers: &[], overall_feedback: "stale", expected_revision: Some(revision) },
                ScoringPolicy::default()
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    ensure!(db.store.get_evaluation(s.ws, draft.id).await?.0.overall_feedback == "Fine");
    // Somebody else's evaluation looks absent.
    ensure!(matches!(
        db.store
            .save_evaluation(
                s.ws,
                draft.id,
                plumbline_domain::UserId::new(),
                EvaluationEdit { answers: &answers, overall_feedback: "x", expected_revision: None },
                ScoringPolicy::default()
            )
            .await,
        Err(StoreError::NotFound)
    ));
    let submitted = db.store.submit_evaluation(s.ws, draft.id, s.reviewer, ScoringPolicy::default()).await?;
    let result = submitted.result.expect("scored");
    // Tone 3 of 4 and Compliance 1 of 1, equal weights: (0.75 + 1) / 2 = 87.5.
    ensure!(result.score == Some(87.5) && result.possible == 2.0 && result.earned == 1.75);
    ensure!(submitted.status == EvaluationStatus::Submitted && submitted.submitted_at.is_some());
    ensure!(matches!(
        db.store
            .save_evaluation(
                s.ws,
                draft.id,
                s.reviewer,
                EvaluationEdit { answers: &answers, overall_feedback: "late", expected_revision: None },
                ScoringPolicy::default()
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    ensure!(matches!(db.store.delete_draft_evaluation(s.ws, draft.id, s.reviewer).await, Err(StoreError::NotFound)));

    // A draft can be deleted; an unknown option is refused.
    let other = db.store.create_evaluation(s.ws, NewEvaluation { answers: vec![], ..new.clone() }).await?;
    db.store.delete_draft_evaluation(s.ws, other.id, s.reviewer).await?;
    ensure!(matches!(
        db.store
            .create_evaluation(s.ws, NewEvaluation { answers: vec![answer(&s.version, 1, Choice::Option(7))], ..new })
            .await,
        Err(StoreError::Invalid(e)) if e[0].field == "answers[0].choice"
    ));

    let visibility =
        EvaluationVisibility { vendor: VendorScope::All, author: None, agent: None, calibration_tasks_of_others: None };
    let page =
        db.store.list_evaluations(s.ws, &visibility, &EvaluationFilter::default(), &PageRequest::default()).await?;
    ensure!(page.items.len() == 1 && page.items[0].answers == answers);
    Ok(())
}

/// Written and submitted at once ends where a draft submitted later ends: the same score,
/// revision 2, stored as read back, counted once in the rollups; an incomplete one writes nothing.
async fn created_and_submitted_in_one_transaction(db: &TestDatabase) -> Result<()> {
    let s = scene(db).await?;
    let answers = vec![answer(&s.version, 0, Choice::Option(1)), answer(&s.version, 1, Choice::Option(0))];
    let new = NewEvaluation {
        conversation_id: s.conversation,
        scorecard_version_id: s.version.id,
        reviewer_id: s.reviewer,
        kind: EvaluationKind::Review,
        answers: answers.clone(),
        overall_feedback: "At once".into(),
    };
    let incomplete = NewEvaluation { answers: answers[..1].to_vec(), ..new.clone() };
    ensure!(matches!(
        db.store.create_submitted_evaluation(s.ws, incomplete, ScoringPolicy::default()).await,
        Err(StoreError::Invalid(e)) if e[0].reason.contains("Compliance")
    ));
    let count = || plumbline_store::testing::count(&db.store, "SELECT COUNT(*) FROM evaluations");
    ensure!(count().await == 0, "a refused submission writes nothing");

    let (at_once, revision) = db.store.create_submitted_evaluation(s.ws, new.clone(), ScoringPolicy::default()).await?;
    // As the API does it: the conversation (with the version's status) and the grader's vendor
    // given, not read again.
    let conversation = db.store.conversation_to_review(s.ws, VendorScope::All, s.conversation, s.version.id).await?;
    let vendor = db.store.get_user(s.ws, s.reviewer).await?.vendor_id;
    let grader = GraderVendor { id: vendor, is_internal: db.store.get_vendor(s.ws, vendor).await?.is_internal };
    let (given, given_revision) = db
        .store
        .create_submitted_evaluation_of(s.ws, &conversation, grader, new.clone(), ScoringPolicy::default())
        .await?;
    ensure!(given_revision == 2 && given.result == at_once.result);
    let draft = db.store.create_evaluation(s.ws, new).await?;
    let (later, later_revision) =
        db.store.submit_evaluation_with_revision(s.ws, draft.id, s.reviewer, ScoringPolicy::default()).await?;
    ensure!(revision == 2 && later_revision == 2);
    ensure!(at_once.result == later.result && at_once.result.as_ref().and_then(|r| r.score) == Some(87.5));
    let (stored, stored_revision) = db.store.get_evaluation(s.ws, at_once.id).await?;
    ensure!(stored == at_once && stored_revision == 2, "{stored:?} vs {at_once:?}");
    let by_vendor = db
        .store
        .iqs_report(s.ws, VendorScope::All, IqsGrouping::Vendor, &IqsFilter::default(), &Bands::default())
        .await?;
    ensure!(by_vendor.len() == 1 && by_vendor[0].evaluations == 3 && by_vendor[0].iqs == Some(87.5), "{by_vendor:?}");
    // Every segment row is of the internal grader, the chat channel and the scorecard: a context
    // given wrongly would have added rows under another key.
    let rows = plumbline_store::testing::count(&db.store, "SELECT COUNT(*) FROM rollup_segment").await;
    let keyed = format!(
        "SELECT COUNT(*) FROM rollup_segment WHERE grader_class = 'internal' AND channel = 'chat' AND scorecard_id = '{}'",
        s.version.scorecard_id
    );
    ensure!(rows > 0 && plumbline_store::testing::count(&db.store, &keyed).await == rows);
    let totals = db.store.rollup_totals(s.ws).await?;
    db.store.rebuild_rollups(s.ws).await?;
    ensure!(db.store.rollup_totals(s.ws).await? == totals, "the rollups equal a rebuild");
    Ok(())
}

/// A version reviews were submitted with (and which the store keeps parsed) is refused once
/// another version of its scorecard is activated, and for another workspace; the new version
/// is accepted, and a draft never is.
async fn a_version_retired_after_reviews_refuses_the_next(db: &TestDatabase) -> Result<()> {
    let s = scene(db).await?;
    let review = |version: &plumbline_domain::scorecard::ScorecardVersion| NewEvaluation {
        conversation_id: s.conversation,
        scorecard_version_id: version.id,
        reviewer_id: s.reviewer,
        kind: EvaluationKind::Review,
        answers: vec![answer(version, 0, Choice::Option(2)), answer(version, 1, Choice::Option(0))],
        overall_feedback: String::new(),
    };
    let grader = GraderVendor { id: db.store.get_user(s.ws, s.reviewer).await?.vendor_id, is_internal: true };
    // Both ways a review is written and submitted at once must agree: the store reading the
    // version's status itself, and the API's (the status read with the conversation).
    let submit = |new: NewEvaluation, ws: WorkspaceId| {
        let store = db.store.clone();
        async move {
            let read_here = store.create_submitted_evaluation(ws, new.clone(), ScoringPolicy::default()).await;
            let Ok(reviewed) =
                store.conversation_to_review(ws, VendorScope::All, new.conversation_id, new.scorecard_version_id).await
            else {
                return read_here;
            };
            let seen = store.create_submitted_evaluation_of(ws, &reviewed, grader, new, ScoringPolicy::default()).await;
            match (&read_here, &seen) {
                (Ok(_), Ok(_)) => {}
                (Err(a), Err(b)) if a.to_string() == b.to_string() => {}
                _ => return Err(StoreError::Database(format!("the two ways disagree: {read_here:?} vs {seen:?}"))),
            }
            read_here
        }
    };
    for _ in 0..2 {
        submit(review(&s.version), s.ws).await?;
    }
    let (other, _, _) = workspace(db).await?;
    ensure!(matches!(submit(review(&s.version), other).await, Err(StoreError::Invalid(_))));
    let mut reworded = s.version.definition.clone();
    reworded.criteria[0].description = "Warm and clear".into();
    let v2 = db.store.create_version(s.ws, s.version.scorecard_id, &reworded).await?;
    ensure!(matches!(
        submit(review(&v2), s.ws).await,
        Err(StoreError::Invalid(e)) if e[0].reason.contains("is draft")
    ));
    db.store.activate_version(s.ws, v2.id).await?;
    ensure!(matches!(
        submit(review(&s.version), s.ws).await,
        Err(StoreError::Invalid(e)) if e[0].field == "scorecard_version_id" && e[0].reason.contains("is retired")
    ));
    let (accepted, _) = submit(review(&v2), s.ws).await?;
    ensure!(accepted.scorecard_version_id == v2.id && accepted.status == EvaluationStatus::Submitted);
    Ok(())
}

/// Many reviews of one conversation written and submitted at once, concurrently: every one is
/// acknowledged and counted (on PostgreSQL they once deadlocked: each insert held a key-share
/// lock on the conversation and then asked for the pairing lock).
async fn reviews_of_one_conversation_submitted_at_once_all_land(db: &TestDatabase) -> Result<()> {
    let s = scene(db).await?;
    let answers = vec![answer(&s.version, 0, Choice::Option(2)), answer(&s.version, 1, Choice::Option(0))];
    let new = NewEvaluation {
        conversation_id: s.conversation,
        scorecard_version_id: s.version.id,
        reviewer_id: s.reviewer,
        kind: EvaluationKind::Review,
        answers,
        overall_feedback: String::new(),
    };
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (store, new, ws) = (db.store.clone(), new.clone(), s.ws);
        tasks.spawn(async move { store.create_submitted_evaluation(ws, new, ScoringPolicy::default()).await });
    }
    while let Some(done) = tasks.join_next().await {
        let (evaluation, revision) = done??;
        ensure!(evaluation.status == EvaluationStatus::Submitted && revision == 2);
    }
    let by_vendor = db
        .store
        .iqs_report(s.ws, VendorScope::All, IqsGrouping::Vendor, &IqsFilter::default(), &Bands::default())
        .await?;
    ensure!(by_vendor.len() == 1 && by_vendor[0].evaluations == 12, "{by_vendor:?}");
    Ok(())
}

/// Two uploads of the same file at the same moment: both are acknowledged (the later one
/// updates what the first created) or one is refused with a conflict; never a duplicate.
async fn the_same_import_twice_at_once_creates_no_duplicates(db: &TestDatabase) -> Result<()> {
    let (ws, _, _) = workspace(db).await?;
    let rows = |_: ()| -> Vec<ImportItem> {
        (0..300).map(|i| Ok((i as u64 + 2, record(&format!("TWICE-{i}"), None, &format!("Agent {}", i % 7))))).collect()
    };
    let (mut first, mut second) = (send_all(rows(())).await, send_all(rows(())).await);
    let (a, b) =
        tokio::join!(db.store.import_conversations(ws, &mut first), db.store.import_conversations(ws, &mut second));
    let outcomes = [&a, &b];
    ensure!(outcomes.iter().any(|o| o.is_ok()), "{a:?} {b:?}");
    for outcome in outcomes {
        ensure!(
            matches!(outcome, Ok(_) | Err(ImportError::Store(StoreError::Conflict(_) | StoreError::Duplicate(_)))),
            "{outcome:?}"
        );
    }
    ensure!(db.store.count_conversations(ws).await? == 300);
    let agents = db.store.list_agents(ws, VendorScope::All, &AgentFilter::default(), &PageRequest::default()).await?;
    ensure!(agents.items.len() == 7, "{} agents", agents.items.len());
    Ok(())
}

/// Writers at once, half of them failing after writing: on SQLite they share commits (group
/// commit), so each must keep exactly its own outcome: every acknowledged import is there, nothing
/// of a failed one is, and a failure never takes a neighbour's writes with it.
async fn concurrent_writers_keep_their_own_outcome(db: &TestDatabase) -> Result<()> {
    let (ws, _, _) = workspace(db).await?;
    let mut tasks = Vec::new();
    for i in 0..24 {
        // Each writer its own team: on PostgreSQL two imports creating one team at once collide.
        let row = |n: u32| ConversationRecord {
            team: Some(format!("Team {i}")),
            ..record(&format!("W-{i}-{n}"), None, &format!("Agent {i}"))
        };
        let mut rows = vec![Ok((2, row(1))), Ok((3, row(2)))];
        if i % 2 == 1 {
            rows.push(Err(RowProblem { line: 4, field: "csat".into(), reason: "must be from 1 to 5".into() }));
        }
        let mut rows = send_all(rows).await;
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move { store.import_conversations(ws, &mut rows).await }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        match (i % 2, task.await?) {
            (0, Ok(summary)) => ensure!(summary.created == 2, "writer {i}: {summary:?}"),
            (1, Err(ImportError::BadRows { total: 1, .. })) => {}
            (_, outcome) => anyhow::bail!("writer {i}: unexpected {outcome:?}"),
        }
    }
    ensure!(db.store.count_conversations(ws).await? == 24, "the 12 good imports of 2 rows each, and nothing else");
    let agents = db.store.list_agents(ws, VendorScope::All, &AgentFilter::default(), &PageRequest::default()).await?;
    let mut names: Vec<String> = agents.items.iter().map(|a| a.name.clone()).collect();
    names.sort();
    let mut expected: Vec<String> = (0..24).step_by(2).map(|i| format!("Agent {i}")).collect();
    expected.sort();
    ensure!(names == expected, "{names:?}");
    Ok(())
}

async fn concurrent_submits_leave_one_result(db: &TestDatabase) -> Result<()> {
    let s = scene(db).await?;
    let answers = vec![answer(&s.version, 0, Choice::Option(0)), answer(&s.version, 1, Choice::Option(0))];
    let draft = db
        .store
        .create_evaluation(
            s.ws,
            NewEvaluation {
                conversation_id: s.conversation,
                scorecard_version_id: s.version.id,
                reviewer_id: s.reviewer,
                kind: EvaluationKind::Review,
                answers,
                overall_feedback: String::new(),
            },
        )
        .await?;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let store = db.store.clone();
        let (ws, id, reviewer) = (s.ws, draft.id, s.reviewer);
        tasks.push(tokio::spawn(
            async move { store.submit_evaluation(ws, id, reviewer, ScoringPolicy::default()).await },
        ));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await? {
            Ok(_) => ok += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(e) => anyhow::bail!("unexpected {e}"),
        }
    }
    ensure!(ok == 1, "{ok} submits succeeded");
    Ok(())
}

async fn iqs_report_is_a_ratio_of_sums(db: &TestDatabase) -> Result<()> {
    let s = scene(db).await?;
    // Two evaluations of the same agent: 100 (both pass) and 0 (critical fail): IQS 50.
    for (tone, compliance) in [(0, 0), (0, 1)] {
        let e = db
            .store
            .create_evaluation(
                s.ws,
                NewEvaluation {
                    conversation_id: s.conversation,
                    scorecard_version_id: s.version.id,
                    reviewer_id: s.reviewer,
                    kind: EvaluationKind::Review,
                    answers: vec![
                        answer(&s.version, 0, Choice::Option(tone)),
                        answer(&s.version, 1, Choice::Option(compliance)),
                    ],
                    overall_feedback: String::new(),
                },
            )
            .await?;
        db.store.submit_evaluation(s.ws, e.id, s.reviewer, ScoringPolicy::default()).await?;
    }
    let rows = db
        .store
        .iqs_report(s.ws, VendorScope::All, IqsGrouping::Agent, &IqsFilter::default(), &Bands::default())
        .await?;
    ensure!(rows.len() == 1 && rows[0].name == "Ann" && rows[0].evaluations == 2);
    ensure!(rows[0].iqs == Some(50.0) && rows[0].mean_score == Some(50.0));
    ensure!(rows[0].band == Some(plumbline_domain::org::Band::NeedsAttention));
    let by_vendor = db
        .store
        .iqs_report(s.ws, VendorScope::All, IqsGrouping::Vendor, &IqsFilter::default(), &Bands::default())
        .await?;
    ensure!(by_vendor[0].name == "Acme Support");
    let none = db
        .store
        .iqs_report(
            s.ws,
            VendorScope::All,
            IqsGrouping::Team,
            &IqsFilter { from: Some(i64::MAX - 1), ..Default::default() },
            &Bands::default(),
        )
        .await?;
    ensure!(none.is_empty());
    Ok(())
}

async fn lists_respect_vendor_scope(db: &TestDatabase) -> Result<()> {
    let (ws, internal, bpo) = workspace(db).await?;
    for i in 0..7 {
        db.store.put_conversation(ws, &record(&format!("I-{i}"), None, "Ann")).await?;
        db.store.put_conversation(ws, &record(&format!("B-{i}"), Some("Globex BPO"), "Bob")).await?;
    }
    let only_bpo = VendorScope::Only(bpo.id);
    let mut seen = Vec::new();
    let mut page = PageRequest { cursor: None, limit: Some(3) };
    loop {
        let got = db.store.list_conversations(ws, only_bpo, None, &ConversationFilter::default(), &page).await?;
        ensure!(got.items.iter().all(|c| c.vendor_id == bpo.id));
        seen.extend(got.items.into_iter().map(|c| c.external_id));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    seen.sort();
    ensure!(seen == (0..7).map(|i| format!("B-{i}")).collect::<Vec<_>>(), "{seen:?}");
    let internal_one = db.store.get_conversation_by_external_id(ws, "I-0").await?;
    ensure!(matches!(db.store.get_conversation(ws, only_bpo, internal_one.id).await, Err(StoreError::NotFound)));
    let filtered = db
        .store
        .list_conversations(
            ws,
            VendorScope::All,
            None,
            &ConversationFilter { vendor_id: Some(internal.id), channel: Some(Channel::Chat), ..Default::default() },
            &PageRequest::default(),
        )
        .await?;
    ensure!(filtered.items.len() == 7);
    let none = db
        .store
        .list_conversations(
            ws,
            VendorScope::All,
            None,
            &ConversationFilter { channel: Some(Channel::Phone), ..Default::default() },
            &PageRequest::default(),
        )
        .await?;
    ensure!(none.items.is_empty());
    Ok(())
}
