//! Grade-the-grader through the API, on both databases: an audit round from sampling to the
//! report, with the seed reproducing the sample, benchmarks never auditing their own review,
//! the blind re-grade, and an appeal that changes alignment.

use super::PASSWORD;
use anyhow::{Context, Result, ensure};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use plumbline_domain::EvaluationId;
use plumbline_domain::conversation::{Channel, ConversationMetrics, ConversationRecord};
use plumbline_domain::grader_qa::{Candidate, Sample, sample};
use plumbline_domain::org::Role;
use plumbline_domain::scorecard::{CriterionInput, DefinitionInput, ScalePreset, ScorecardDefinition};
use plumbline_domain::series::occurrence_seed;
use plumbline_server::{AppState, ServerConfig, auth};
use plumbline_store::NewUser;
use plumbline_store::testing::TestDatabase;
use serde_json::{Value, json};
use std::collections::HashMap;
use tower::ServiceExt;

plumbline_store::scenarios!(an_audit_round_from_sample_to_report);

struct App {
    _db: TestDatabase,
    router: Router,
    tokens: HashMap<String, String>,
    users: HashMap<String, String>,
}

impl App {
    async fn call(&self, method: Method, uri: &str, who: &str, body: Option<Value>) -> Result<(StatusCode, Value)> {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.tokens[who]));
        let body = match body {
            Some(b) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let response = self.router.clone().oneshot(request.body(body)?).await?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    async fn ok(&self, method: Method, uri: &str, who: &str, body: Option<Value>) -> Result<Value> {
        let (status, value) = self.call(method.clone(), uri, who, body).await?;
        ensure!(status.is_success(), "{method} {uri} as {who}: {status} {value}");
        Ok(value)
    }

    /// A page as `who`, signed in with the session cookie.
    async fn page(&self, who: &str, uri: &str) -> Result<(StatusCode, String)> {
        let login = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"email": format!("{who}@example.test"), "password": PASSWORD}).to_string()))?;
        let response = self.router.clone().oneshot(login).await?;
        let cookie = response.headers().get(header::SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let cookie = cookie.split(';').next().unwrap_or_default().to_string();
        let request = Request::builder().uri(uri).header(header::COOKIE, cookie).body(Body::empty())?;
        let response = self.router.clone().oneshot(request).await?;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn who(&self, user: &str) -> String {
        self.users.iter().find(|(_, id)| id.as_str() == user).map(|(k, _)| k.clone()).unwrap_or_default()
    }
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

async fn an_audit_round_from_sample_to_report(db: &TestDatabase) -> Result<()> {
    let db = TestDatabase::new(db.backend()).await;
    let store = db.store.clone();
    let (ws, internal) = store.create_workspace("Acme", "Acme Support").await?;
    let (mut tokens, mut users) = (HashMap::new(), HashMap::new());
    for (key, role) in
        [("lead", Role::QaLead), ("ann", Role::Reviewer), ("bob", Role::Reviewer), ("bench", Role::Reviewer)]
    {
        let user = store
            .create_user(
                ws.id,
                NewUser {
                    vendor_id: internal.id,
                    email: format!("{key}@example.test"),
                    name: key.to_string(),
                    role,
                    password_hash: auth::hash_password(PASSWORD),
                    agent_id: None,
                },
            )
            .await?;
        let secret = auth::new_secret();
        store.create_token(user.id, "tests", &auth::digest(&secret)).await?;
        tokens.insert(key.to_string(), secret);
        users.insert(key.to_string(), user.id.to_string());
    }
    let criterion = |title: &str, preset| CriterionInput {
        id: None,
        group: None,
        title: title.into(),
        description: String::new(),
        weight: None,
        preset: Some(preset),
        options: None,
        na_allowed: false,
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
    let (tone, resolution) = (version.definition.criteria[0].id, version.definition.criteria[1].id);
    let mut conversations = Vec::new();
    for n in 0..6 {
        let record = ConversationRecord {
            external_id: format!("C-{n}"),
            channel: Channel::Email,
            agent: None,
            team: None,
            vendor: None,
            started_at: 1_767_225_600_000,
            subject: String::new(),
            transcript: vec![],
            tags: vec![],
            metrics: ConversationMetrics::default(),
        };
        conversations.push(store.put_conversation(ws.id, &record).await?.0.id);
    }
    let app =
        App { _db: db, router: plumbline_server::app(AppState::new(store, ServerConfig::default())), tokens, users };

    // Ann and Bob review three conversations each: Tone 3 of 4, Resolution Yes (87.5).
    let mut candidates = Vec::new();
    for (n, conversation) in conversations.iter().enumerate() {
        let who = if n % 2 == 0 { "ann" } else { "bob" };
        let answers = json!([{"criterion_id": tone, "choice": {"option": 1}}, {"criterion_id": resolution, "choice": {"option": 0}}]);
        let created = app
            .ok(
                Method::POST,
                "/api/v1/evaluations",
                who,
                Some(json!({"conversation_id": conversation, "scorecard_version_id": version.id, "answers": answers})),
            )
            .await?;
        let id = created["id"].as_str().context("id")?.to_string();
        app.ok(Method::POST, &format!("/api/v1/evaluations/{id}/submit"), who, None).await?;
        candidates.push(Candidate { evaluation_id: id.parse()?, reviewer_id: app.users[who].parse()? });
    }

    // A program: two reviews per grader, benchmarks Bench and Ann (never on her own reviews).
    let program = app
        .ok(
            Method::POST,
            "/api/v1/grader-qa/programs",
            "lead",
            Some(json!({"name": "Weekly audit", "sample": {"per_grader": 2},
            "benchmark_ids": [app.users["bench"], app.users["ann"]], "seed": "42",
            "adaptive": {"alignment_below": 0.9, "min_audits": 0, "factor": 2, "budget": 10}})),
        )
        .await?;
    ensure!(program["adaptive_rule"].as_str().is_some_and(|r| r.contains("below 90%")), "{program}");
    let id = program["id"].as_str().context("id")?.to_string();
    let drawn = app.ok(Method::POST, &format!("/api/v1/grader-qa/programs/{id}/draws"), "lead", None).await?;
    let audits = drawn["audits"].as_array().context("audits")?.clone();
    ensure!(audits.len() == 4 && drawn["candidates"] == 6, "{drawn}");
    // The recorded seed reproduces the sample.
    let seed: u64 = drawn["seed"].as_str().context("seed")?.parse()?;
    ensure!(seed == occurrence_seed(42, 0));
    let expected = sample(&candidates, Sample::PerGrader(2), None, &HashMap::new(), seed);
    let mut got: Vec<EvaluationId> =
        audits.iter().map(|a| a["original_id"].as_str().unwrap_or_default().parse()).collect::<Result<_, _>>()?;
    got.sort();
    ensure!(got == expected, "the draw reproduces from its seed");
    for audit in &audits {
        ensure!(audit["benchmark_id"] != audit["original_reviewer_id"], "a benchmark never audits their own review");
    }

    // Blind: each benchmark sees their draft re-grade, not the original review nor its author.
    for audit in &audits {
        let benchmark = app.who(audit["benchmark_id"].as_str().unwrap_or_default());
        let audit_id = audit["id"].as_str().context("id")?;
        let view = app.ok(Method::GET, &format!("/api/v1/grader-qa/audits/{audit_id}"), &benchmark, None).await?;
        ensure!(
            view["original"].is_null()
                && view["audit"]["original_reviewer_id"] == "00000000-0000-0000-0000-000000000000"
        );
        let original = audit["original_id"].as_str().unwrap_or_default();
        let (status, _) = app.call(Method::GET, &format!("/api/v1/evaluations/{original}"), &benchmark, None).await?;
        ensure!(status == StatusCode::NOT_FOUND, "the benchmark may not read the original before submitting");
        let listed = app.ok(Method::GET, "/api/v1/grader-qa/audits", &benchmark, None).await?;
        ensure!(!listed.to_string().contains(original), "{listed}");
        // The original grader does not see the audit before it is completed.
        let grader = app.who(audit["original_reviewer_id"].as_str().unwrap_or_default());
        let (status, _) = app.call(Method::GET, &format!("/api/v1/grader-qa/audits/{audit_id}"), &grader, None).await?;
        ensure!(status == StatusCode::NOT_FOUND);

        // The re-grade: Tone 4, Resolution Yes (100). Alignment (1 - 1/4 + 1) / 2 = 0.875; the
        // original scored 12.5 points less.
        let task = view["benchmark"]["id"].as_str().context("task")?;
        ensure!(view["benchmark"]["kind"] == "audit" && view["benchmark"]["answers"] == json!([]));
        let answers = json!({"answers": [{"criterion_id": tone, "choice": {"option": 0}}, {"criterion_id": resolution, "choice": {"option": 0}}]});
        app.ok(Method::PUT, &format!("/api/v1/evaluations/{task}"), &benchmark, Some(answers)).await?;
        app.ok(Method::POST, &format!("/api/v1/evaluations/{task}/submit"), &benchmark, None).await?;
        let done = app.ok(Method::GET, &format!("/api/v1/grader-qa/audits/{audit_id}"), &grader, None).await?;
        ensure!(done["audit"]["status"] == "completed" && close(&done["audit"]["alignment"], 0.875), "{done}");
        ensure!(close(&done["audit"]["score_delta"], -12.5) && done["original"]["id"] == original);
    }

    // Ann appeals Tone on one of her audits; the benchmark accepts: alignment 0.875 -> 1.
    let ann_audit =
        audits.iter().find(|a| a["original_reviewer_id"] == app.users["ann"].as_str()).context("ann's audit")?;
    let audit_id = ann_audit["id"].as_str().context("id")?;
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/api/v1/grader-qa/audits/{audit_id}/appeals"),
            "bob",
            Some(json!({"criterion_id": tone, "reason": "not mine"})),
        )
        .await?;
    ensure!(status == StatusCode::NOT_FOUND, "only the original grader appeals");
    let appeal = app
        .ok(
            Method::POST,
            &format!("/api/v1/grader-qa/audits/{audit_id}/appeals"),
            "ann",
            Some(json!({"criterion_id": tone, "reason": "The customer was thanked twice."})),
        )
        .await?;
    let benchmark = app.who(ann_audit["benchmark_id"].as_str().unwrap_or_default());
    let decided = app
        .ok(
            Method::POST,
            &format!("/api/v1/grader-qa/appeals/{}/decision", appeal["id"].as_str().unwrap_or_default()),
            &benchmark,
            Some(json!({"accept": true, "note": "fair"})),
        )
        .await?;
    ensure!(
        decided["status"] == "accepted"
            && close(&decided["alignment_before"], 0.875)
            && close(&decided["alignment_after"], 1.0)
    );
    let after = app.ok(Method::GET, &format!("/api/v1/grader-qa/audits/{audit_id}"), "ann", None).await?;
    ensure!(close(&after["audit"]["alignment"], 1.0) && close(&after["audit"]["score_delta"], 0.0));
    ensure!(after["appeals"].as_array().is_some_and(|a| a.len() == 1), "the history is kept");

    // The report: Ann (0.875 and 1.0) and Bob (0.875, 0.875); Tone confused "3" for "4".
    let report = app.ok(Method::GET, "/api/v1/reports/grader-qa", "lead", None).await?;
    let grader = |who: &str| {
        report["graders"]
            .as_array()
            .and_then(|g| g.iter().find(|x| x["user_id"] == app.users[who].as_str()).cloned())
            .unwrap_or_default()
    };
    ensure!(grader("ann")["audits"] == 2 && close(&grader("ann")["mean_alignment"], 0.9375), "{report}");
    ensure!(close(&grader("bob")["mean_alignment"], 0.875) && close(&grader("bob")["mean_delta"], -12.5));
    let tone_row =
        report["criteria"].as_array().and_then(|c| c.iter().find(|x| x["title"] == "Tone").cloned()).context("tone")?;
    ensure!(tone_row["cells"][0] == json!({"original": "3", "benchmark": "4", "count": 3}), "{tone_row}");
    ensure!(report["vendors"][0]["audits"] == 4);
    let (status, _) = app.call(Method::GET, "/api/v1/reports/grader-qa?format=csv", "lead", None).await?;
    ensure!(status == StatusCode::OK);

    // The pages: the side by side with the accepted appeal, the program list, the report.
    let (status, html) = app.page("ann", &format!("/grader-qa/audits/{audit_id}")).await?;
    ensure!(status == StatusCode::OK && html.contains("Side by side") && html.contains("accepted"), "{html}");
    ensure!(html.contains("88%") && html.contains("100%"), "alignment before and after the appeal: {html}");
    let (status, html) = app.page("lead", "/grader-qa").await?;
    ensure!(status == StatusCode::OK && html.contains("Weekly audit") && html.contains("below 90%"), "{html}");
    let (status, html) = app.page("lead", "/reports/grader-qa").await?;
    ensure!(status == StatusCode::OK && html.contains("Alignment per grader") && html.contains("94%"), "{html}");
    let (status, _) = app.page("bob", &format!("/grader-qa/audits/{audit_id}")).await?;
    ensure!(status == StatusCode::NOT_FOUND, "another grader's audit is not found");
    Ok(())
}
