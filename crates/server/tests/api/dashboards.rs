//! The QA program reports through the API, on both databases: a BPO whose graders score their
//! own conversations higher than internal graders do (the vendor view's gap), IQS vs CSAT, the
//! trend, the leaderboard, self-assessment, targets, CSV and the refusals.

use anyhow::{Result, ensure};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use plumbline_domain::conversation::{Channel, ConversationMetrics, ConversationRecord};
use plumbline_domain::evaluation::{Answer, Choice, EvaluationKind};
use plumbline_domain::org::Role;
use plumbline_domain::scorecard::{CriterionInput, DefinitionInput, ScalePreset, ScorecardDefinition};
use plumbline_domain::scoring::ScoringPolicy;
use plumbline_domain::time::Date;
use plumbline_server::{AppState, ServerConfig, auth};
use plumbline_store::testing::TestDatabase;
use plumbline_store::{NewEvaluation, NewUser};
use serde_json::{Value, json};
use std::collections::HashMap;
use tower::ServiceExt;

plumbline_store::scenarios!(reports_of_a_qa_program);

struct App {
    router: Router,
    tokens: HashMap<&'static str, String>,
}

impl App {
    async fn get(&self, uri: &str, who: &str) -> Result<(StatusCode, String)> {
        self.send(Method::GET, uri, who, None).await
    }

    async fn send(&self, method: Method, uri: &str, who: &str, body: Option<Value>) -> Result<(StatusCode, String)> {
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
        Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// The X-Total-Count header of a GET.
    async fn total_count(&self, uri: &str, who: &str) -> Result<Option<String>> {
        let request = Request::builder()
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.tokens[who]))
            .body(Body::empty())?;
        let response = self.router.clone().oneshot(request).await?;
        Ok(response.headers().get("x-total-count").and_then(|v| v.to_str().ok()).map(str::to_string))
    }

    async fn json(&self, uri: &str, who: &str) -> Result<Value> {
        let (status, text) = self.get(uri, who).await?;
        ensure!(status == StatusCode::OK, "GET {uri} as {who}: {status} {text}");
        Ok(serde_json::from_str(&text)?)
    }
}

fn ms(date: &str) -> i64 {
    Date::parse(date).unwrap().millis()
}

async fn reports_of_a_qa_program(db: &TestDatabase) -> Result<()> {
    let store = db.store.clone();
    let (ws, internal) = store.create_workspace("Acme", "Acme Support").await?;
    let atlas = store.create_vendor(ws.id, "Atlas BPO").await?;
    let mut tokens = HashMap::new();
    let mut ids = HashMap::new();
    let bob = store.create_agent(ws.id, atlas.id, None, "Bob Atlas", None).await?;
    let ann = store.create_agent(ws.id, internal.id, None, "Ann Acme", None).await?;
    for (key, role, vendor, agent) in [
        ("lead", Role::QaLead, internal.id, None),
        ("strict", Role::Reviewer, internal.id, None),
        ("lenient", Role::Reviewer, atlas.id, None),
        ("atlas_lead", Role::VendorLead, atlas.id, None),
        ("other_lead", Role::VendorLead, internal.id, None),
        ("bob", Role::Agent, atlas.id, Some(bob.id)),
    ] {
        let user = store
            .create_user(
                ws.id,
                NewUser {
                    vendor_id: vendor,
                    email: format!("{key}@example.test"),
                    name: key.to_string(),
                    role,
                    password_hash: "unused".into(),
                    agent_id: agent,
                },
            )
            .await?;
        let secret = auth::new_secret();
        store.create_token(user.id, "test", &auth::digest(&secret)).await?;
        tokens.insert(key, secret);
        ids.insert(key, user.id);
    }
    let definition = ScorecardDefinition::parse(DefinitionInput {
        groups: vec![],
        criteria: ["Accuracy", "Empathy"]
            .iter()
            .map(|t| CriterionInput {
                id: None,
                group: None,
                title: t.to_string(),
                description: String::new(),
                weight: Some(1.0),
                preset: Some(ScalePreset::Binary),
                options: None,
                na_allowed: false,
                critical: false,
                guidelines: String::new(),
            })
            .collect(),
    })
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let (card, draft) = store.create_scorecard(ws.id, "Support", "", &definition).await?;
    let version = store.activate_version(ws.id, draft.id).await?;
    let answers = |fails: usize| -> Vec<Answer> {
        version
            .definition
            .criteria
            .iter()
            .enumerate()
            .map(|(i, c)| Answer {
                criterion_id: c.id,
                choice: Choice::Option(usize::from(i < fails)),
                comment: String::new(),
            })
            .collect()
    };
    let review = |conversation, by: &'static str, kind, answers: Vec<Answer>, at: i64| {
        let store = store.clone();
        let reviewer = ids[by];
        let version = version.id;
        async move {
            let e = store
                .create_evaluation(
                    ws.id,
                    NewEvaluation {
                        conversation_id: conversation,
                        scorecard_version_id: version,
                        reviewer_id: reviewer,
                        kind,
                        answers,
                        overall_feedback: String::new(),
                    },
                )
                .await?;
            store.submit_evaluation_at(ws.id, e.id, reviewer, ScoringPolicy::default(), at).await?;
            anyhow::Ok(())
        }
    };
    // Twelve Atlas chats in January and February: Atlas's own grader passes everything; the
    // internal grader reviews the even ones and fails empathy (IQS 50). CSAT is poor on the
    // first four.
    for i in 0..12 {
        let record = ConversationRecord {
            external_id: format!("ATLAS-{i}"),
            channel: Channel::Chat,
            agent: Some("Bob Atlas".into()),
            team: None,
            vendor: Some("Atlas BPO".into()),
            started_at: ms("2026-01-05"),
            subject: format!("Atlas subject {i}"),
            transcript: vec![],
            tags: vec![],
            metrics: ConversationMetrics {
                csat: Some(if i < 4 { 1 } else { 5 }),
                nps: None,
                fcr: Some(i % 3 != 0),
                handle_time_seconds: Some(300),
            },
        };
        let (conversation, _) = store.put_conversation(ws.id, &record).await?;
        let at = ms(if i < 6 { "2026-01-10" } else { "2026-02-10" }) + i * 60_000;
        review(conversation.id, "lenient", EvaluationKind::Review, answers(0), at).await?;
        if i % 2 == 0 {
            review(conversation.id, "strict", EvaluationKind::Review, answers(1), at + 1000).await?;
        }
        if i == 1 {
            // Bob rates himself perfect where the internal grader... did not review; Atlas's
            // own grader agrees (gap 0 on this one).
            review(conversation.id, "bob", EvaluationKind::SelfReview, answers(0), at + 2000).await?;
        }
        if i == 2 {
            review(conversation.id, "bob", EvaluationKind::SelfReview, answers(0), at + 2000).await?;
        }
    }
    // An internal conversation nobody at Atlas may see.
    let internal_record = ConversationRecord {
        external_id: "ACME-SECRET".into(),
        channel: Channel::Email,
        agent: Some("Ann Acme".into()),
        team: None,
        vendor: None,
        started_at: ms("2026-01-05"),
        subject: "ACME-SECRET subject".into(),
        transcript: vec![],
        tags: vec![],
        metrics: ConversationMetrics { csat: Some(1), nps: None, fcr: None, handle_time_seconds: None },
    };
    let (secret_conversation, _) = store.put_conversation(ws.id, &internal_record).await?;
    review(secret_conversation.id, "strict", EvaluationKind::Review, answers(0), ms("2026-01-11")).await?;
    let _ = ann;

    let app = App { router: plumbline_server::app(AppState::new(store.clone(), ServerConfig::default())), tokens };
    let range = "from=2026-01-01&to=2026-03-01";

    // The vendor view: Atlas's graders say 100, internal graders measure 50 on the same vendor's
    // conversations.
    let view = app.json(&format!("/api/v1/reports/vendors?{range}"), "lead").await?;
    let atlas_line = &view["vendors"][0];
    ensure!(view["vendors"].as_array().unwrap().len() == 1, "{view}");
    ensure!(atlas_line["own"]["iqs"] == json!(100.0) && atlas_line["own"]["evaluations"] == json!(12), "{atlas_line}");
    ensure!(atlas_line["internal"]["iqs"] == json!(50.0) && atlas_line["internal"]["evaluations"] == json!(6));
    ensure!(atlas_line["gap"]["value"] == json!(50.0), "{atlas_line}");
    ensure!(atlas_line["trend"].as_array().unwrap().len() == 2, "one point per month: {atlas_line}");
    // CSAT of the vendor's reviewed conversations: (4 x 1 + 8 x 5) per review, over 18 reviews.
    let csat = atlas_line["csat"].as_f64().unwrap();
    ensure!((csat - (2.0 * 1.0 * 2.0 + 1.0 * 2.0 + 5.0 * (8.0 + 4.0)) / 18.0).abs() < 1e-9, "{csat}");
    let csv = app.get(&format!("/api/v1/reports/vendors?{range}&format=csv"), "lead").await?.1;
    ensure!(csv.lines().count() == 2 && csv.starts_with("vendor_id,vendor,") && csv.contains("Atlas BPO"), "{csv}");
    // Atlas's own lead sees the same line; the internal vendor's lead sees no BPO.
    let theirs = app.json(&format!("/api/v1/reports/vendors?{range}"), "atlas_lead").await?;
    ensure!(theirs["vendors"][0]["gap"]["value"] == json!(50.0));

    // IQS by agent for Atlas's lead: Bob only, never Ann's internal secret.
    let (_, text) = app.get(&format!("/api/v1/reports/iqs?group_by=agent&{range}"), "atlas_lead").await?;
    ensure!(text.contains("Bob Atlas") && !text.contains("Ann Acme"), "{text}");
    // Rows can be searched, sorted and paged; the header counts what matched.
    let names = |rows: &Value| -> Vec<String> {
        rows.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap_or_default().to_string()).collect()
    };
    let agents = format!("/api/v1/reports/iqs?group_by=agent&{range}");
    ensure!(names(&app.json(&agents, "lead").await?) == ["Ann Acme", "Bob Atlas"]);
    ensure!(names(&app.json(&format!("{agents}&sort=name&order=desc"), "lead").await?) == ["Bob Atlas", "Ann Acme"]);
    let by_iqs = app.json(&format!("{agents}&sort=iqs"), "lead").await?;
    let iqs: Vec<f64> = by_iqs.as_array().unwrap().iter().map(|r| r["iqs"].as_f64().unwrap()).collect();
    ensure!(iqs.len() == 2 && iqs[0] >= iqs[1], "{by_iqs}");
    let second = app.json(&format!("{agents}&sort=iqs&limit=1&offset=1"), "lead").await?;
    ensure!(second.as_array().unwrap().len() == 1 && second[0] == by_iqs[1], "{second}");
    ensure!(app.total_count(&format!("{agents}&limit=1"), "lead").await?.as_deref() == Some("2"));
    ensure!(names(&app.json(&format!("{agents}&q=BOB"), "lead").await?) == ["Bob Atlas"]);
    ensure!(app.total_count(&format!("{agents}&q=nobody"), "lead").await?.as_deref() == Some("0"));
    let csv = app.get(&format!("{agents}&format=csv&sort=name&limit=1"), "lead").await?.1;
    ensure!(csv.lines().count() == 2 && csv.contains("Ann Acme"), "{csv}");
    for (query, field) in [("sort=shoe", "sort"), ("order=up", "order"), ("limit=0", "limit"), ("limit=5001", "limit")]
    {
        let (status, text) = app.get(&format!("{agents}&{query}"), "lead").await?;
        ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && text.contains(field), "{query}: {status} {text}");
    }
    // By channel with a channel filter works; with group_by agent it is refused, naming it.
    let rows = app.json(&format!("/api/v1/reports/iqs?group_by=channel&channel=chat&{range}"), "lead").await?;
    ensure!(rows.as_array().unwrap().len() == 1 && rows[0]["id"] == json!("chat"));
    for (query, field) in [
        ("group_by=agent&channel=chat", "channel"),
        ("channel=fax", "channel"),
        ("group_by=shoe", "group_by"),
        ("format=xml", "format"),
        ("from=2026-03-01&to=2026-01-01", "to"),
        ("from=yesterday", "from"),
    ] {
        let (status, text) = app.get(&format!("/api/v1/reports/iqs?{query}"), "lead").await?;
        ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && text.contains(field), "{query}: {status} {text}");
    }
    // Extreme but valid times are answered, not a server error.
    for query in ["to=9223372036854775807", "from=-9223372036854775808", "from=0&to=1"] {
        for path in ["iqs", "iqs/trend?interval=week", "vendors", "csat", "leaderboard", "self-assessment"] {
            let sep = if path.contains('?') { '&' } else { '?' };
            let (status, text) = app.get(&format!("/api/v1/reports/{path}{sep}{query}"), "lead").await?;
            ensure!(status == StatusCode::OK, "{path} {query}: {status} {text}");
        }
    }
    // The February IQS compared with January (the previous period of the same length).
    let rows = app.json("/api/v1/reports/iqs?group_by=vendor&from=2026-02-01&to=2026-03-01", "lead").await?;
    let atlas_row = rows.as_array().unwrap().iter().find(|r| r["name"] == json!("Atlas BPO")).unwrap();
    ensure!(atlas_row["previous_iqs"].is_number() && atlas_row["change"].is_number(), "{atlas_row}");

    // Trend: two monthly points for everything selected.
    let trend = app.json(&format!("/api/v1/reports/iqs/trend?interval=month&{range}"), "lead").await?;
    ensure!(trend["series"][0]["points"].as_array().unwrap().len() == 2, "{trend}");
    let (status, _) = app.get("/api/v1/reports/iqs/trend?group_by=agent", "lead").await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY);

    // IQS vs CSAT: every scored review with a CSAT is a pair; high IQS with CSAT 1 is listed.
    let report = app.json(&format!("/api/v1/reports/csat?{range}"), "lead").await?;
    ensure!(report["correlations"][0]["name"] == json!("all") && report["correlations"][0]["csat_pairs"] == json!(19));
    let listed: Vec<&str> =
        report["high_iqs_poor_csat"].as_array().unwrap().iter().map(|m| m["external_id"].as_str().unwrap()).collect();
    ensure!(listed.contains(&"ATLAS-0") && listed.contains(&"ACME-SECRET"), "{listed:?}");
    let theirs = app.get(&format!("/api/v1/reports/csat?{range}"), "atlas_lead").await?.1;
    ensure!(!theirs.contains("ACME-SECRET"), "{theirs}");

    // Leaderboard: Bob has enough reviews to be ranked.
    let board = app.json(&format!("/api/v1/reports/leaderboard?{range}"), "lead").await?;
    ensure!(board["top"][0]["name"] == json!("Bob Atlas"), "{board}");

    // Self-assessment: Bob's two self-reviews against three reviews of those conversations.
    let selfs = app.json(&format!("/api/v1/reports/self-assessment?{range}"), "lead").await?;
    let bob_line = &selfs["agents"][0];
    ensure!(bob_line["pairs"] == json!(3) && bob_line["self_score"] == json!(100.0), "{selfs}");
    ensure!((bob_line["review_score"].as_f64().unwrap() - 250.0 / 3.0).abs() < 1e-9, "{bob_line}");
    ensure!(selfs["criteria"].as_array().unwrap().iter().any(|c| c["title"] == json!("Accuracy")), "{selfs}");

    // Targets: bad input names every field; a good one answers with its progress.
    let (status, text) = app
        .send(
            Method::POST,
            "/api/v1/targets",
            "lead",
            Some(json!({"name": "", "value": 120, "start": "2026-02-30", "due": "2026-01-01"})),
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{status} {text}");
    for field in ["name", "value", "start"] {
        ensure!(text.contains(field), "{field}: {text}");
    }
    ensure!(app.json("/api/v1/targets", "lead").await?.as_array().unwrap().is_empty(), "a refused target was stored");
    let body = json!({"name": "Atlas to 90", "vendor_id": atlas.id, "scorecard_id": card.id, "value": 90, "start": "2026-01-01",
        "due": "2026-01-31", "milestones": [{"date": "2026-01-15", "value": 70}]});
    let (status, text) = app.send(Method::POST, "/api/v1/targets", "lead", Some(body)).await?;
    ensure!(status == StatusCode::CREATED, "{status} {text}");
    let target: Value = serde_json::from_str(&text)?;
    // January for Atlas: 6 lenient reviews earning 2 of 2 and 3 internal earning 1 of 2: IQS
    // 15/18, below 90 when the due date passed.
    let current = target["current"].as_f64().unwrap_or(0.0);
    ensure!((current - 1500.0 / 18.0).abs() < 1e-9 && target["status"] == json!("missed"), "{target}");
    ensure!(target["milestones"][0]["status"] == json!("met"), "{target}");
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/targets",
            "atlas_lead",
            Some(json!({"name": "x", "value": 1, "start": "2026-01-01", "due": "2026-02-01"})),
        )
        .await?;
    ensure!(status == StatusCode::FORBIDDEN);
    ensure!(app.json("/api/v1/targets", "atlas_lead").await?.as_array().unwrap().len() == 1);
    // The internal vendor's lead reads every vendor (DESIGN §1), so the target too.
    ensure!(app.json("/api/v1/targets", "other_lead").await?.as_array().unwrap().len() == 1);
    Ok(())
}
