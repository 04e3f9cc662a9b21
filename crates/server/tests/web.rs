//! Page-level tests through the router, on both databases: a hidden calibration task renders
//! exactly like an ordinary review to its author, and the hidden session shows nowhere they can
//! look. (The browser flows are in tests/e2e.)

use anyhow::{Result, ensure};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use plumbline_domain::calibration::SessionMode;
use plumbline_domain::conversation::{AuthorRole, Channel, ConversationMetrics, ConversationRecord, Message};
use plumbline_domain::evaluation::EvaluationKind;
use plumbline_domain::org::Role;
use plumbline_domain::scorecard::{CriterionInput, DefinitionInput, ScalePreset, ScorecardDefinition};
use plumbline_server::{AppState, ServerConfig, auth};
use plumbline_store::testing::TestDatabase;
use plumbline_store::{NewEvaluation, NewSession, NewUser};
use tower::ServiceExt;

plumbline_store::scenarios!(hidden_task_page_is_an_ordinary_review, pages_a_role_may_not_use_are_not_found);

async fn get(router: &axum::Router, uri: &str, cookie: &str) -> Result<(StatusCode, String)> {
    let request = Request::builder().uri(uri).header(header::COOKIE, cookie).body(Body::empty())?;
    let response = router.clone().oneshot(request).await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

async fn hidden_task_page_is_an_ordinary_review(db: &TestDatabase) -> Result<()> {
    let store = db.store.clone();
    let (ws, internal) = store.create_workspace("Acme", "Acme Support").await?;
    let mut users = Vec::new();
    for (key, role) in [("lead", Role::QaLead), ("grader", Role::Reviewer)] {
        let user = store
            .create_user(
                ws.id,
                NewUser {
                    vendor_id: internal.id,
                    email: format!("{key}@example.test"),
                    name: format!("Person {key}"),
                    role,
                    password_hash: "unused".into(),
                    agent_id: None,
                },
            )
            .await?;
        users.push(user);
    }
    let (lead, grader) = (&users[0], &users[1]);
    let criterion = |title: &str, preset| CriterionInput {
        id: None,
        group: None,
        title: title.into(),
        description: String::new(),
        weight: None,
        preset: Some(preset),
        options: None,
        na_allowed: true,
        critical: false,
        guidelines: String::new(),
    };
    let definition = ScorecardDefinition::parse(DefinitionInput {
        groups: vec![],
        criteria: vec![criterion("Tone", ScalePreset::FivePoint), criterion("Resolution", ScalePreset::Binary)],
    })
    .expect("valid");
    let (_, v1) = store.create_scorecard(ws.id, "Support", "", &definition).await?;
    let version = store.activate_version(ws.id, v1.id).await?;
    // Two conversations alike in everything but their external id.
    let mut conversations = Vec::new();
    for external in ["TWIN-A", "TWIN-B"] {
        let record = ConversationRecord {
            external_id: external.into(),
            channel: Channel::Chat,
            agent: Some("Ava Agent".into()),
            team: None,
            vendor: None,
            started_at: 1_767_225_600_000,
            subject: "Refund please".into(),
            transcript: vec![Message { author: AuthorRole::Customer, text: "Where is my refund?".into(), at: None }],
            tags: vec![],
            metrics: ConversationMetrics::default(),
        };
        conversations.push(store.put_conversation(ws.id, &record).await?.0);
    }
    let session = store
        .create_calibration(
            ws.id,
            NewSession {
                title: "Secret calibration".into(),
                goals: String::new(),
                scorecard_version_id: version.id,
                facilitator_id: lead.id,
                mode: SessionMode::Hidden,
                // A hidden session never hides the agent's name (the store refuses it): its task
                // must show what a review shows.
                hide_agent_name: false,
                scheduled_at: None,
                scoring_deadline: None,
                conversation_ids: vec![conversations[0].id],
                participant_ids: vec![grader.id],
                review_plan_id: None,
                created_by: lead.id,
            },
        )
        .await?;
    let task = store.calibration_tasks(ws.id, session.session.id).await?.remove(0);
    let review = store
        .create_evaluation(
            ws.id,
            NewEvaluation {
                conversation_id: conversations[1].id,
                scorecard_version_id: version.id,
                reviewer_id: grader.id,
                kind: EvaluationKind::Review,
                answers: vec![],
                overall_feedback: String::new(),
            },
        )
        .await?;
    let secret = auth::new_secret();
    store.create_session(grader.id, &auth::digest(&secret), "csrf-token", auth::SESSION_TTL_MS).await?;
    let cookie = format!("{}={secret}", auth::SESSION_COOKIE);
    let router = plumbline_server::app(AppState::new(store.clone(), ServerConfig::default()));

    let (status, task_page) = get(&router, &format!("/evaluations/{}", task.id), &cookie).await?;
    ensure!(status == StatusCode::OK, "task page: {status}");
    let (status, review_page) = get(&router, &format!("/evaluations/{}", review.id), &cookie).await?;
    ensure!(status == StatusCode::OK, "review page: {status}");
    let normalise = |html: &str, evaluation: &str, conversation: &plumbline_domain::conversation::Conversation| {
        html.replace(evaluation, "EVALUATION")
            .replace(&conversation.id.to_string(), "CONVERSATION")
            .replace(&conversation.external_id, "EXTERNAL")
    };
    let task_page = normalise(&task_page, &task.id.to_string(), &conversations[0]);
    let review_page = normalise(&review_page, &review.id.to_string(), &conversations[1]);
    ensure!(
        task_page == review_page,
        "the hidden task's page differs from a review's:\n{task_page}\n---\n{review_page}"
    );
    ensure!(task_page.contains("Ava Agent"), "a review shows the agent's name, so the hidden task does too");

    // The session itself shows nowhere the grader can look.
    let (status, _) = get(&router, &format!("/calibrations/{}", session.session.id), &cookie).await?;
    ensure!(status == StatusCode::NOT_FOUND, "hidden session page: {status}");
    for uri in ["/", "/calibrations"] {
        let (status, page) = get(&router, uri, &cookie).await?;
        ensure!(status == StatusCode::OK, "{uri}: {status}");
        ensure!(!page.contains("Secret calibration"), "{uri} names the hidden session");
    }
    let (_, home) = get(&router, "/", &cookie).await?;
    ensure!(home.matches("/evaluations/").count() == 2, "both drafts are listed as reviews to finish");
    Ok(())
}

/// Signs `user` in and returns the cookie header.
async fn cookie_of(store: &plumbline_store::Store, user: &plumbline_domain::org::User) -> Result<String> {
    let secret = auth::new_secret();
    store.create_session(user.id, &auth::digest(&secret), "csrf-token", auth::SESSION_TTL_MS).await?;
    Ok(format!("{}={secret}", auth::SESSION_COOKIE))
}

/// Lead and admin pages answer the not-found page to a grader (as the API answers 404 or 403,
/// existence never leaks), and open for the roles that may use them.
async fn pages_a_role_may_not_use_are_not_found(db: &TestDatabase) -> Result<()> {
    let store = db.store.clone();
    let (ws, internal) = store.create_workspace("Acme", "Acme Support").await?;
    let mut cookies = std::collections::HashMap::new();
    let mut users = std::collections::HashMap::new();
    for (key, role) in
        [("admin", Role::Admin), ("lead", Role::QaLead), ("grader", Role::Reviewer), ("other", Role::Reviewer)]
    {
        let user = store
            .create_user(
                ws.id,
                NewUser {
                    vendor_id: internal.id,
                    email: format!("{key}@example.test"),
                    name: format!("Person {key}"),
                    role,
                    password_hash: "unused".into(),
                    agent_id: None,
                },
            )
            .await?;
        cookies.insert(key, cookie_of(&store, &user).await?);
        users.insert(key, user);
    }
    let router = plumbline_server::app(AppState::new(store.clone(), ServerConfig::default()));
    let lead_pages = [
        "/reports/calibration",
        "/reports/iqs",
        "/calibration-series",
        "/calibration-series/new",
        "/conversations/import",
        "/scorecards/new",
    ];
    for uri in lead_pages {
        let (status, _) = get(&router, uri, &cookies["grader"]).await?;
        ensure!(status == StatusCode::NOT_FOUND, "a grader opens {uri}: {status}");
        let (status, _) = get(&router, uri, &cookies["lead"]).await?;
        ensure!(status == StatusCode::OK, "a lead opens {uri}: {status}");
    }
    for uri in ["/admin"] {
        let (status, _) = get(&router, uri, &cookies["lead"]).await?;
        ensure!(status == StatusCode::NOT_FOUND, "a lead opens {uri}: {status}");
        let (status, _) = get(&router, uri, &cookies["admin"]).await?;
        ensure!(status == StatusCode::OK, "an admin opens {uri}: {status}");
    }
    let (status, _) = get(&router, "/account", &cookies["grader"]).await?;
    ensure!(status == StatusCode::OK, "everyone has an account page: {status}");
    let (_, nav) = get(&router, "/", &cookies["grader"]).await?;
    ensure!(!nav.contains("/reports/"), "a grader's navigation links to reports");
    let (_, home) = get(&router, "/", &cookies["lead"]).await?;
    ensure!(home.contains("Calibrations due"), "a lead's home lists what calibration is due");

    // A conversation's page lists only the evaluations the viewer may read: a grader sees their
    // own review, not another grader's; a lead sees both.
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
    let (_, v1) = store.create_scorecard(ws.id, "Support", "", &definition).await?;
    let version = store.activate_version(ws.id, v1.id).await?;
    let record = ConversationRecord {
        external_id: "C-1".into(),
        channel: Channel::Email,
        agent: Some("Ava Agent".into()),
        team: None,
        vendor: None,
        started_at: 1_767_225_600_000,
        subject: "Where is my parcel".into(),
        transcript: vec![Message { author: AuthorRole::Customer, text: "Still waiting".into(), at: None }],
        tags: vec![],
        metrics: ConversationMetrics::default(),
    };
    let (conversation, _) = store.put_conversation(ws.id, &record).await?;
    let mut reviews = Vec::new();
    for key in ["grader", "other"] {
        let review = store
            .create_evaluation(
                ws.id,
                NewEvaluation {
                    conversation_id: conversation.id,
                    scorecard_version_id: version.id,
                    reviewer_id: users[key].id,
                    kind: EvaluationKind::Review,
                    answers: vec![],
                    overall_feedback: String::new(),
                },
            )
            .await?;
        reviews.push(review.id.to_string());
    }
    let uri = format!("/conversations/{}", conversation.id);
    let (status, grader_view) = get(&router, &uri, &cookies["grader"]).await?;
    ensure!(status == StatusCode::OK, "{uri}: {status}");
    ensure!(grader_view.contains(&reviews[0]), "a grader sees their own review");
    ensure!(!grader_view.contains(&reviews[1]), "a grader sees another grader's review");
    let (_, lead_view) = get(&router, &uri, &cookies["lead"]).await?;
    ensure!(reviews.iter().all(|r| lead_view.contains(r)), "a lead sees every review");
    Ok(())
}
