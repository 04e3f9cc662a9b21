//! Calibration sessions through the HTTP API, on both databases: the full scenario with
//! numbers worked out by hand, the blind-leak walk, hidden mode looking exactly like a review,
//! concurrent facilitation saves, and publishing allowed and refused.

use super::{PASSWORD, Reply, shape};
use anyhow::{Context, Result, ensure};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use plumbline_domain::conversation::{Channel, ConversationMetrics, ConversationRecord};
use plumbline_domain::org::Role;
use plumbline_domain::scorecard::{CriterionInput, DefinitionInput, ScalePreset, ScorecardDefinition};
use plumbline_server::{AppState, ServerConfig, auth};
use plumbline_store::NewUser;
use plumbline_store::testing::TestDatabase;
use serde_json::{Value, json};
use std::collections::HashMap;
use tower::ServiceExt;

plumbline_store::scenarios!(
    full_calibration_scenario,
    blind_participants_see_nothing_of_others,
    hidden_tasks_look_like_reviews,
    concurrent_facilitation_saves_one_wins,
    publishing_allowed_and_refused,
    hidden_agent_names_stay_hidden
);

/// Five graders (three internal, two of Atlas BPO), a sixth internal one who never scores, a
/// qa_lead who facilitates, two conversations of Atlas, and a scorecard with Tone (4..0) and
/// Resolution (Yes/No, critical).
struct Calibration {
    _db: TestDatabase,
    router: Router,
    tokens: HashMap<String, String>,
    users: HashMap<String, String>,
    version: String,
    scorecard: String,
    tone: String,
    resolution: String,
    conversations: Vec<String>,
}

impl Calibration {
    async fn new(backend: plumbline_store::Backend) -> Result<Calibration> {
        let db = TestDatabase::new(backend).await;
        let store = db.store.clone();
        let (ws, internal) = store.create_workspace("Acme", "Acme Support").await?;
        let atlas = store.create_vendor(ws.id, "Atlas BPO").await?;
        let hash = auth::hash_password(PASSWORD);
        let mut tokens = HashMap::new();
        let mut users = HashMap::new();
        let people = [
            ("lead", Role::QaLead, internal.id),
            ("g1", Role::Reviewer, internal.id),
            ("g2", Role::Reviewer, internal.id),
            ("g3", Role::Reviewer, internal.id),
            ("g4", Role::Reviewer, atlas.id),
            ("g5", Role::VendorLead, atlas.id),
            ("g6", Role::Reviewer, internal.id),
        ];
        for (key, role, vendor) in people {
            let user = store
                .create_user(
                    ws.id,
                    NewUser {
                        vendor_id: vendor,
                        email: format!("{key}@example.test"),
                        name: format!("Grader {key}"),
                        role,
                        password_hash: hash.clone(),
                        agent_id: None,
                    },
                )
                .await?;
            let secret = auth::new_secret();
            store.create_token(user.id, "tests", &auth::digest(&secret)).await?;
            tokens.insert(key.to_string(), secret);
            users.insert(key.to_string(), user.id.to_string());
        }
        let criterion = |title: &str, preset, critical| CriterionInput {
            id: None,
            group: None,
            title: title.into(),
            description: String::new(),
            weight: None,
            preset: Some(preset),
            options: None,
            na_allowed: false,
            critical,
            guidelines: String::new(),
        };
        let definition = ScorecardDefinition::parse(DefinitionInput {
            groups: vec![],
            criteria: vec![
                criterion("Tone", ScalePreset::FivePoint, false),
                criterion("Resolution", ScalePreset::Binary, true),
            ],
        })
        .expect("valid");
        let (card, v1) = store.create_scorecard(ws.id, "Support", "", &definition).await?;
        let version = store.activate_version(ws.id, v1.id).await?;
        let mut conversations = Vec::new();
        for external in ["ATLAS-1", "ATLAS-2", "ATLAS-3"] {
            let record = ConversationRecord {
                external_id: external.into(),
                channel: Channel::Chat,
                agent: Some("Ava Atlas".into()),
                team: None,
                vendor: Some("Atlas BPO".into()),
                started_at: 1_767_225_600_000,
                subject: format!("subject of {external}"),
                transcript: vec![],
                tags: vec![],
                metrics: ConversationMetrics::default(),
            };
            conversations.push(store.put_conversation(ws.id, &record).await?.0.id.to_string());
        }
        let router = plumbline_server::app(AppState::new(store, ServerConfig::default()));
        Ok(Calibration {
            _db: db,
            router,
            tokens,
            users,
            version: version.id.to_string(),
            scorecard: card.id.to_string(),
            tone: version.definition.criteria[0].id.to_string(),
            resolution: version.definition.criteria[1].id.to_string(),
            conversations,
        })
    }

    async fn call(&self, method: Method, uri: &str, who: &str, body: Option<Value>) -> Result<Reply> {
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
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        Ok(Reply { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() })
    }

    async fn ok(&self, method: Method, uri: &str, who: &str, body: Option<Value>) -> Result<Value> {
        let reply = self.call(method.clone(), uri, who, body).await?;
        ensure!(reply.status.is_success(), "{method} {uri} as {who}: {} {}", reply.status, reply.text);
        Ok(reply.json())
    }

    fn user(&self, key: &str) -> &str {
        &self.users[key]
    }

    async fn create_session(&self, mode: &str, participants: &[&str], conversations: &[usize]) -> Result<Value> {
        let body = json!({
            "title": format!("{mode} session"),
            "goals": "find misaligned graders",
            "scorecard_version_id": self.version,
            "conversation_ids": conversations.iter().map(|&i| self.conversations[i].clone()).collect::<Vec<_>>(),
            "participant_ids": participants.iter().map(|p| self.user(p)).collect::<Vec<_>>(),
            "mode": mode,
            "scheduled_at": "2026-12-01",
            "scoring_deadline": "2026-11-30",
        });
        let reply = self.call(Method::POST, "/api/v1/calibrations", "lead", Some(body)).await?;
        ensure!(reply.status == StatusCode::CREATED, "{}", reply.text);
        Ok(reply.json())
    }

    /// The participant's task (evaluation id) for conversation `i` of the session.
    async fn task(&self, session: &str, who: &str, i: usize) -> Result<String> {
        let view = self.ok(Method::GET, &format!("/api/v1/calibrations/{session}"), who, None).await?;
        let task = view["my_tasks"]
            .as_array()
            .context("tasks")?
            .iter()
            .find(|t| t["conversation_id"] == self.conversations[i].as_str())
            .context("a task for the conversation")?;
        Ok(task["evaluation_id"].as_str().context("id")?.to_string())
    }

    /// Scores conversation `i` as `who`: Tone option `tone` (0 = 4 points ... 4 = 0), Resolution
    /// option `resolution` (0 = Yes, 1 = No), then submits.
    async fn score(
        &self,
        session: &str,
        who: &str,
        i: usize,
        tone: usize,
        resolution: usize,
        submit: bool,
    ) -> Result<String> {
        let task = self.task(session, who, i).await?;
        let marker = format!("COMMENT-{who}-{i}");
        let body = json!({
            "answers": [
                {"criterion_id": self.tone, "choice": {"option": tone}, "comment": marker},
                {"criterion_id": self.resolution, "choice": {"option": resolution}},
            ],
            "overall_feedback": format!("FEEDBACK-{who}-{i}"),
        });
        self.ok(Method::PUT, &format!("/api/v1/evaluations/{task}"), who, Some(body)).await?;
        if submit {
            self.ok(Method::POST, &format!("/api/v1/evaluations/{task}/submit"), who, None).await?;
        }
        Ok(task)
    }

    async fn facilitation(&self, session: &str) -> Result<Value> {
        self.ok(Method::GET, &format!("/api/v1/calibrations/{session}/facilitation"), "lead", None).await
    }

    fn calibrated(&self, i: usize, tone: usize, resolution: usize) -> Value {
        json!({
            "conversation_id": self.conversations[i],
            "answers": [
                {"criterion_id": self.tone, "choice": {"option": tone}, "comment": "calibrated tone"},
                {"criterion_id": self.resolution, "choice": {"option": resolution}},
            ],
            "feedback": "calibrated feedback",
        })
    }
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

async fn full_calibration_scenario(db: &TestDatabase) -> Result<()> {
    let app = Calibration::new(db.backend()).await?;
    let session = app.create_session("blind", &["g1", "g2", "g3", "g4", "g5", "g6"], &[0, 1]).await?;
    let id = session["id"].as_str().context("id")?.to_string();
    ensure!(session["status"] == "scoring" && session["mode"] == "blind");

    // Participants see the session in their list; g6 will never score.
    let mine = app.ok(Method::GET, "/api/v1/calibrations", "g4", None).await?;
    ensure!(mine["items"].as_array().is_some_and(|i| i.len() == 1));

    // Conversation 1, calibrated Tone 4 / Yes (100): g1 agrees (100), g2 Tone 3 (87.5),
    // g3 Resolution No (critical fail: 0), g4 Tone 2 (75); g5 leaves a draft.
    app.score(&id, "g1", 0, 0, 0, true).await?;
    app.score(&id, "g2", 0, 1, 0, true).await?;
    app.score(&id, "g3", 0, 0, 1, true).await?;
    app.score(&id, "g4", 0, 2, 0, true).await?;
    app.score(&id, "g5", 0, 0, 0, false).await?;
    // Conversation 2, calibrated Tone 3 / Yes (87.5): g1, g2 agree; g3, g4 Tone 4 (100);
    // g5 Tone 1 (62.5). Alignment: Tone 4 vs 3 is 1 - 1/4 = 0.75, so (0.75 + 1) / 2 = 0.875.
    app.score(&id, "g1", 1, 1, 0, true).await?;
    // g2 first submits Tone 4, then edits before the reveal (allowed for calibration scores).
    let g2_task = app.score(&id, "g2", 1, 0, 0, true).await?;
    let edit = json!({"answers": [
        {"criterion_id": app.tone, "choice": {"option": 1}, "comment": "COMMENT-g2-1"},
        {"criterion_id": app.resolution, "choice": {"option": 0}},
    ], "overall_feedback": "FEEDBACK-g2-1"});
    let edited = app.ok(Method::PUT, &format!("/api/v1/evaluations/{g2_task}"), "g2", Some(edit.clone())).await?;
    ensure!(edited["status"] == "submitted" && close(&edited["result"]["score"], 87.5), "{edited}");
    app.score(&id, "g3", 1, 0, 0, true).await?;
    app.score(&id, "g4", 1, 0, 0, true).await?;
    app.score(&id, "g5", 1, 3, 0, true).await?;

    // The facilitator sees the matrix before the reveal, with the suggested answers.
    let matrix = app.ok(Method::GET, &format!("/api/v1/calibrations/{id}/matrix"), "lead", None).await?;
    let tone1 = &matrix[0]["criteria"][0];
    // Conversation 1 Tone: 4, 3, 4, 2 -> distribution [2, 1, 1, 0, 0], agreeing pairs 1 of 6.
    ensure!(tone1["summary"]["distribution"] == json!([2, 1, 1, 0, 0]), "{tone1}");
    ensure!(close(&tone1["summary"]["percent_agreement"], 1.0 / 6.0) && close(&tone1["summary"]["spread"], 2.0));
    ensure!(tone1["summary"]["suggested"] == json!({"option": 0}));
    ensure!(matrix[0]["feedback_prefill"].as_str().is_some_and(|f| f.contains("FEEDBACK-g3-0")));

    let revealed = app.ok(Method::POST, &format!("/api/v1/calibrations/{id}/reveal"), "lead", None).await?;
    ensure!(revealed["status"] == "discussion");
    // After the reveal, scores are final, and g5 (who did not submit everything) sees nothing.
    let late = app.call(Method::PUT, &format!("/api/v1/evaluations/{g2_task}"), "g2", Some(edit)).await?;
    ensure!(late.status == StatusCode::CONFLICT, "{}", late.text);
    ensure!(
        app.call(Method::GET, &format!("/api/v1/calibrations/{id}/matrix"), "g5", None).await?.status
            == StatusCode::FORBIDDEN
    );
    let seen = app.ok(Method::GET, &format!("/api/v1/calibrations/{id}/matrix"), "g1", None).await?;
    ensure!(seen.to_string().contains("COMMENT-g3-0"), "a participant who submitted sees the others after the reveal");

    // Submitting without every calibrated answer: 422 listing what is missing.
    let facilitation = app.facilitation(&id).await?;
    let revision = facilitation["revision"].as_i64().context("revision")?;
    let missing = app.call(Method::POST, &format!("/api/v1/calibrations/{id}/submit"), "lead", Some(json!({}))).await?;
    ensure!(
        missing.status == StatusCode::UNPROCESSABLE_ENTITY
            && missing.json()["errors"].as_array().is_some_and(|e| e.len() == 4),
        "{}",
        missing.text
    );

    let attendance: Vec<Value> = ["g1", "g2", "g3", "g4", "g5", "g6"]
        .iter()
        .map(|g| json!({"user_id": app.user(g), "attendance": if *g == "g6" { "absent" } else { "present" }}))
        .collect();
    let document = json!({
        "notes": "Tone is where we differ",
        "attendance": attendance,
        "calibrated": [app.calibrated(0, 0, 0), app.calibrated(1, 1, 0)],
        "participant_feedback": [{"user_id": app.user("g3"), "feedback": "Resolution was reached"}],
        "decisions": [{"text": "A 4 on Tone needs an apology", "criterion_id": app.tone}],
        "actions": [{"kind": "training", "text": "Tone workshop", "owner_id": app.user("lead"), "due_on": "2026-12-15"}],
    });
    let saved = app
        .ok(
            Method::PUT,
            &format!("/api/v1/calibrations/{id}/facilitation"),
            "lead",
            Some(json!({"revision": revision, "facilitation": document})),
        )
        .await?;
    ensure!(saved["revision"] == revision + 1);

    let report = app
        .ok(Method::POST, &format!("/api/v1/calibrations/{id}/submit"), "lead", Some(json!({"publish": true})))
        .await?;
    ensure!(report["session"]["status"] == "submitted" && report["session"]["published"] == true);
    let rows = report["results"]["participants"].as_array().context("rows")?;
    let row = |who: &str, i: usize| {
        rows.iter()
            .find(|r| r["user_id"] == app.user(who) && r["conversation_id"] == app.conversations[i].as_str())
            .cloned()
            .unwrap_or(Value::Null)
    };
    // Hand-computed: score, delta, within tolerance (5 points), alignment.
    let expected = [
        ("g1", 0, 100.0, 0.0, true, 1.0),
        ("g2", 0, 87.5, -12.5, false, 0.875),
        ("g3", 0, 0.0, -100.0, false, 0.5),
        ("g4", 0, 75.0, -25.0, false, 0.75),
        ("g1", 1, 87.5, 0.0, true, 1.0),
        ("g2", 1, 87.5, 0.0, true, 1.0),
        ("g3", 1, 100.0, 12.5, false, 0.875),
        ("g4", 1, 100.0, 12.5, false, 0.875),
        ("g5", 1, 62.5, -25.0, false, 0.75),
    ];
    for (who, i, score, delta, within, alignment) in expected {
        let r = row(who, i);
        ensure!(
            close(&r["score"], score)
                && close(&r["score_delta"], delta)
                && r["within_tolerance"] == within
                && close(&r["alignment"], alignment),
            "{who} on conversation {i}: {r}"
        );
    }
    ensure!(row("g3", 0)["critical_disagreements"] == 1);
    ensure!(row("g5", 0)["scored"] == false && row("g5", 0)["score"].is_null(), "a draft is not a score");
    ensure!(row("g6", 1)["scored"] == false && row("g6", 1)["alignment"].is_null());

    // Frozen: later edits get 409.
    let frozen = app
        .call(
            Method::PUT,
            &format!("/api/v1/calibrations/{id}/facilitation"),
            "lead",
            Some(json!({"revision": revision + 2, "facilitation": {}})),
        )
        .await?;
    ensure!(frozen.status == StatusCode::CONFLICT);

    // The Calibration Performance Report.
    let perf = app.ok(Method::GET, "/api/v1/reports/calibration", "lead", None).await?;
    let grader = |who: &str| {
        perf["graders"]
            .as_array()
            .and_then(|g| g.iter().find(|r| r["user_id"] == app.user(who)).cloned())
            .unwrap_or(Value::Null)
    };
    ensure!(close(&grader("g1")["mean_alignment"], 1.0) && close(&grader("g1")["mean_delta"], 0.0));
    ensure!(close(&grader("g2")["mean_alignment"], 0.9375) && close(&grader("g2")["mean_delta"], -6.25));
    ensure!(close(&grader("g2")["within_tolerance_rate"], 0.5));
    ensure!(close(&grader("g3")["mean_alignment"], 0.6875) && close(&grader("g3")["mean_delta"], -43.75));
    ensure!(close(&grader("g5")["mean_alignment"], 0.75) && grader("g5")["sessions_attended"] == 1);
    ensure!(grader("g6")["sessions_attended"] == 0 && grader("g6")["sessions_not_scored"] == 1);
    ensure!(grader("g6")["mean_alignment"].is_null(), "never scored is not zero");
    let session_line = &perf["sessions"][0];
    ensure!(session_line["participants"] == 6 && session_line["scored"] == 5);
    let reliability: Vec<&str> = session_line["reliability"]
        .as_array()
        .context("reliability")?
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    ensure!(reliability == ["krippendorff_alpha", "gwet_ac1"], "{session_line}");
    ensure!(
        close(&session_line["mean_alignment"], 7.625 / 9.0) && close(&session_line["within_tolerance_rate"], 3.0 / 9.0)
    );
    // Tone: (2/4 + 2/5) / 2 = 0.45, the most contested; Resolution (3/4 + 5/5) / 2 = 0.875.
    let tone = &perf["criteria"][0];
    ensure!(
        tone["title"] == "Tone" && close(&tone["mean_agreement_with_calibrated"], 0.45) && tone["most_contested"] == 1,
        "{tone}"
    );
    ensure!(close(&perf["criteria"][1]["mean_agreement_with_calibrated"], 0.875));
    // Internal graders vs Atlas's: internal rows 1, 1, .875, 1, .5, .875; Atlas .75, .875, .75.
    let vendors = perf["vendors"].as_array().context("vendors")?;
    ensure!(
        vendors[0]["internal"] == true
            && close(&vendors[0]["mean_alignment"], 5.25 / 6.0)
            && vendors[0]["graders"] == 3
    );
    ensure!(
        vendors[1]["name"] == "Atlas BPO"
            && close(&vendors[1]["mean_alignment"], 2.375 / 3.0)
            && vendors[1]["graders"] == 2
    );
    let csv = app.call(Method::GET, "/api/v1/reports/calibration?format=csv", "lead", None).await?;
    ensure!(
        csv.status == StatusCode::OK && csv.text.starts_with("user_id,name,vendor") && csv.text.contains("Grader g3")
    );
    // The vendor lead of Atlas sees Atlas's graders only.
    let scoped = app.ok(Method::GET, "/api/v1/reports/calibration", "g5", None).await?;
    ensure!(scoped["graders"].as_array().is_some_and(|g| g.len() == 2) && scoped["criteria"] == json!([]));
    ensure!(scoped["sessions"][0]["reliability"] == json!([]), "no statistics over other vendors' answers");

    // After submit: the decision is in the scorecard's guidelines, follow-ups for the four
    // participants outside tolerance, the action item is open, the audit trail has the answers.
    let decisions = app.ok(Method::GET, &format!("/api/v1/scorecards/{}/decisions", app.scorecard), "g4", None).await?;
    ensure!(decisions[0]["text"] == "A 4 on Tone needs an apology" && decisions[0]["session_id"] == id.as_str());
    let followups = app.ok(Method::GET, "/api/v1/calibration-followups", "lead", None).await?;
    ensure!(followups.as_array().is_some_and(|f| f.len() == 4), "{followups}");
    let actions = app.ok(Method::GET, "/api/v1/calibration-actions", "lead", None).await?;
    ensure!(actions[0]["text"] == "Tone workshop" && actions[0]["done"] == false);
    let audit = app.ok(Method::GET, &format!("/api/v1/calibrations/{id}/audit"), "lead", None).await?;
    let calibrated_change = audit
        .as_array()
        .and_then(|a| a.iter().find(|e| e["what"].as_str().is_some_and(|w| w.starts_with("calibrated answer"))))
        .context("a calibrated answer in the audit trail")?;
    ensure!(
        calibrated_change["new"].as_str().is_some_and(|n| n.contains("points"))
            && calibrated_change["user_name"] == "Grader lead"
    );

    // Published: two calibrated evaluations count in IQS: (2 + 1.75) / (2 + 2) = 93.75.
    let iqs = app.ok(Method::GET, "/api/v1/reports/iqs?group_by=vendor", "lead", None).await?;
    ensure!(iqs[0]["evaluations"] == 2 && close(&iqs[0]["iqs"], 93.75), "{iqs}");
    Ok(())
}

/// Every GET operation of the OpenAPI document, with every id a participant could try.
async fn every_get(app: &Calibration, who: &str, ids: &HashMap<&str, Vec<String>>) -> Result<Vec<(String, Reply)>> {
    let doc = serde_json::to_value(plumbline_server::openapi_document())?;
    let mut replies = Vec::new();
    for (path, item) in doc["paths"].as_object().context("paths")? {
        if item.get("get").is_none() {
            continue;
        }
        // Fill each {param} with the candidates for the collection it follows.
        let mut uris = vec![String::new()];
        let mut previous = "";
        for segment in path.split('/').filter(|s| !s.is_empty()) {
            let choices: Vec<String> = if segment.starts_with('{') {
                ids.get(previous).cloned().unwrap_or_else(|| vec!["00000000-0000-0000-0000-000000000000".into()])
            } else {
                vec![segment.to_string()]
            };
            uris = uris.iter().flat_map(|u| choices.iter().map(move |c| format!("{u}/{c}"))).collect();
            previous = segment;
        }
        for uri in uris {
            let reply = app.call(Method::GET, &uri, who, None).await?;
            ensure!(!reply.status.is_server_error(), "{uri}: {}", reply.text);
            replies.push((uri, reply));
        }
    }
    Ok(replies)
}

async fn blind_participants_see_nothing_of_others(db: &TestDatabase) -> Result<()> {
    let app = Calibration::new(db.backend()).await?;
    let session = app.create_session("blind", &["g1", "g2", "g4"], &[0, 1]).await?;
    let id = session["id"].as_str().context("id")?.to_string();
    let mut others = Vec::new();
    for i in 0..2 {
        app.score(&id, "g1", i, 0, 0, true).await?;
        others.push(app.score(&id, "g2", i, 2, 1, true).await?);
        others.push(app.score(&id, "g4", i, 4, 0, i == 0).await?);
    }
    let mut secrets: Vec<String> = others.clone();
    for who in ["g2", "g4"] {
        for i in 0..2 {
            secrets.push(format!("COMMENT-{who}-{i}"));
            secrets.push(format!("FEEDBACK-{who}-{i}"));
        }
    }
    let own = app.task(&id, "g1", 0).await?;
    let ids: HashMap<&str, Vec<String>> = HashMap::from([
        ("calibrations", vec![id.clone()]),
        ("conversations", app.conversations.clone()),
        ("evaluations", [vec![own], others.clone()].concat()),
        ("users", vec![app.user("g2").to_string(), app.user("g4").to_string()]),
        ("scorecards", vec![app.scorecard.clone()]),
        ("versions", vec![app.version.clone()]),
    ]);
    // g1 submitted everything, but nothing is revealed yet: no trace of g2's or g4's work,
    // not even a count of options, in any response g1 can obtain.
    for (uri, reply) in every_get(&app, "g1", &ids).await? {
        for secret in &secrets {
            ensure!(
                !reply.text.contains(secret.as_str()),
                "{uri} shows {secret} to a blind participant: {}",
                reply.text
            );
        }
        ensure!(
            !reply.text.contains("distribution") && !reply.text.contains("\"submitted\":"),
            "{uri}: {}",
            reply.text
        );
    }
    let filtered = app
        .ok(Method::GET, &format!("/api/v1/evaluations?conversation_id={}", app.conversations[0]), "g1", None)
        .await?;
    ensure!(filtered["items"].as_array().is_some_and(|i| i.len() == 1));
    // The vendor lead of Atlas (g4's vendor, not in the session) sees nothing of g4's work either.
    for (uri, reply) in every_get(&app, "g5", &ids).await? {
        for secret in &secrets {
            ensure!(!reply.text.contains(secret.as_str()), "{uri} shows {secret} to g4's vendor lead: {}", reply.text);
        }
    }
    // The home page too.
    let login = app
        .router
        .clone()
        .oneshot(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/login")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(json!({"email": "g1@example.test", "password": PASSWORD}).to_string()))?,
        )
        .await?;
    let cookie = login.headers().get(header::SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let cookie = cookie.split(';').next().unwrap_or_default().to_string();
    let home = app
        .router
        .clone()
        .oneshot(Request::builder().uri("/").header(header::COOKIE, cookie).body(Body::empty())?)
        .await?;
    ensure!(home.status() == StatusCode::OK);
    let page = String::from_utf8_lossy(&axum::body::to_bytes(home.into_body(), usize::MAX).await?).into_owned();
    for secret in &secrets {
        ensure!(!page.contains(secret.as_str()), "the home page shows {secret}");
    }
    // After the reveal, g1 (who submitted) sees the others; g4 (who did not) still does not.
    app.ok(Method::POST, &format!("/api/v1/calibrations/{id}/reveal"), "lead", None).await?;
    let matrix = app.ok(Method::GET, &format!("/api/v1/calibrations/{id}/matrix"), "g1", None).await?;
    ensure!(matrix.to_string().contains("COMMENT-g2-0"));
    let refused = app.call(Method::GET, &format!("/api/v1/calibrations/{id}/matrix"), "g4", None).await?;
    ensure!(refused.status == StatusCode::FORBIDDEN && !refused.text.contains("COMMENT"));
    Ok(())
}

async fn hidden_tasks_look_like_reviews(db: &TestDatabase) -> Result<()> {
    let app = Calibration::new(db.backend()).await?;
    let session = app.create_session("hidden", &["g1", "g2"], &[0]).await?;
    let id = session["id"].as_str().context("id")?.to_string();
    // Hiding the agent's name would give a hidden session away: refused.
    let refused = app
        .call(
            Method::POST,
            "/api/v1/calibrations",
            "lead",
            Some(json!({"title": "x", "scorecard_version_id": app.version, "conversation_ids": [app.conversations[0]],
                "participant_ids": [app.user("g1")], "mode": "hidden", "hide_agent_name": true})),
        )
        .await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY && refused.text.contains("hide_agent_name"));
    // g1 cannot find the session at all.
    ensure!(app.ok(Method::GET, "/api/v1/calibrations", "g1", None).await?["items"] == json!([]));
    ensure!(
        app.call(Method::GET, &format!("/api/v1/calibrations/{id}"), "g1", None).await?.status == StatusCode::NOT_FOUND
    );
    // The hidden task as g1 sees it, next to an ordinary review g1 starts on conversation 2.
    let list = app.ok(Method::GET, "/api/v1/evaluations", "g1", None).await?;
    let hidden = list["items"][0].clone();
    let hidden_id = hidden["id"].as_str().context("id")?.to_string();
    let review = app
        .ok(
            Method::POST,
            "/api/v1/evaluations",
            "g1",
            Some(json!({"conversation_id": app.conversations[1], "scorecard_version_id": app.version})),
        )
        .await?;
    let review_id = review["id"].as_str().context("id")?.to_string();
    let answers = json!({"answers": [
        {"criterion_id": app.tone, "choice": {"option": 1}},
        {"criterion_id": app.resolution, "choice": {"option": 0}},
    ]});
    let mut pairs = Vec::new();
    for task in [&hidden_id, &review_id] {
        let got = app.ok(Method::GET, &format!("/api/v1/evaluations/{task}"), "g1", None).await?;
        let saved = app.ok(Method::PUT, &format!("/api/v1/evaluations/{task}"), "g1", Some(answers.clone())).await?;
        let submitted = app.ok(Method::POST, &format!("/api/v1/evaluations/{task}/submit"), "g1", None).await?;
        pairs.push([got, saved, submitted]);
    }
    for (hidden, review) in pairs[0].iter().zip(&pairs[1]) {
        ensure!(shape(hidden) == shape(review), "shapes differ:\n{hidden}\n{review}");
        ensure!(hidden["kind"] == "review" && hidden["kind"] == review["kind"]);
        ensure!(hidden["result"] == review["result"] && hidden["status"] == review["status"]);
        let text = hidden.to_string();
        ensure!(!text.contains(&id) && !text.to_lowercase().contains("calibrat"), "{text}");
    }
    let listed = app.ok(Method::GET, "/api/v1/evaluations?kind=review", "g1", None).await?;
    ensure!(listed["items"].as_array().is_some_and(|i| i.len() == 2));
    ensure!(app.ok(Method::GET, "/api/v1/evaluations?kind=calibration", "g1", None).await?["items"] == json!([]));
    // A second save after submit is refused with the same words as for any review.
    let again_hidden =
        app.call(Method::PUT, &format!("/api/v1/evaluations/{hidden_id}"), "g1", Some(answers.clone())).await?;
    let again_review = app.call(Method::PUT, &format!("/api/v1/evaluations/{review_id}"), "g1", Some(answers)).await?;
    ensure!(again_hidden.status == again_review.status && again_hidden.text == again_review.text);
    // The facilitator sees it; IQS counts only the real review.
    let matrix = app.ok(Method::GET, &format!("/api/v1/calibrations/{id}/matrix"), "lead", None).await?;
    ensure!(matrix[0]["scores"].as_array().is_some_and(|s| s.iter().any(|x| x["submitted"] == true)));
    let iqs = app.ok(Method::GET, "/api/v1/reports/iqs?group_by=vendor", "lead", None).await?;
    ensure!(iqs[0]["evaluations"] == 1, "{iqs}");
    Ok(())
}

async fn concurrent_facilitation_saves_one_wins(db: &TestDatabase) -> Result<()> {
    let app = Calibration::new(db.backend()).await?;
    let session = app.create_session("blind", &["g1"], &[0]).await?;
    let id = session["id"].as_str().context("id")?.to_string();
    let revision = app.facilitation(&id).await?["revision"].as_i64().context("revision")?;
    let mut saves = tokio::task::JoinSet::new();
    for n in 0..8 {
        let router = app.router.clone();
        let token = app.tokens["lead"].clone();
        let body = json!({"revision": revision, "facilitation": {"notes": format!("notes from editor {n}")}});
        let uri = format!("/api/v1/calibrations/{id}/facilitation");
        saves.spawn(async move {
            let request = Request::builder()
                .method(Method::PUT)
                .uri(uri)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .expect("request");
            let response = router.oneshot(request).await.expect("response");
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
            (status, serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null))
        });
    }
    let (mut won, mut conflicts) = (Vec::new(), 0);
    while let Some(done) = saves.join_next().await {
        let (status, body) = done?;
        match status {
            StatusCode::OK => won.push(body),
            StatusCode::CONFLICT => {
                ensure!(body["current"]["revision"].as_i64().is_some(), "a conflict says what is current: {body}");
                ensure!(body["current"]["updated_by"] == "Grader lead" || body["current"]["updated_by"].is_null());
                conflicts += 1;
            }
            other => anyhow::bail!("unexpected {other}: {body}"),
        }
    }
    ensure!(won.len() == 1 && conflicts == 7, "{} won", won.len());
    let stored = app.facilitation(&id).await?;
    ensure!(stored["facilitation"]["notes"] == won[0]["facilitation"]["notes"] && stored["revision"] == revision + 1);
    Ok(())
}

async fn publishing_allowed_and_refused(db: &TestDatabase) -> Result<()> {
    let app = Calibration::new(db.backend()).await?;
    // Conversation 3 already has a submitted review.
    let review = app
        .ok(Method::POST, "/api/v1/evaluations", "g1", Some(json!({"conversation_id": app.conversations[2], "scorecard_version_id": app.version,
            "answers": [{"criterion_id": app.tone, "choice": {"option": 0}}, {"criterion_id": app.resolution, "choice": {"option": 0}}]})))
        .await?;
    app.ok(Method::POST, &format!("/api/v1/evaluations/{}/submit", review["id"].as_str().context("id")?), "g1", None)
        .await?;

    let refused = app.create_session("blind", &["g2"], &[2]).await?;
    ensure!(refused["publishing"]["available"] == false, "{}", refused["publishing"]);
    ensure!(refused["publishing"]["reason"].as_str().is_some_and(|r| r.contains("already has a submitted review")));
    let id = refused["id"].as_str().context("id")?.to_string();
    let revision = app.facilitation(&id).await?["revision"].as_i64().context("revision")?;
    let document = json!({"calibrated": [app.calibrated(2, 0, 0)]});
    app.ok(
        Method::PUT,
        &format!("/api/v1/calibrations/{id}/facilitation"),
        "lead",
        Some(json!({"revision": revision, "facilitation": document})),
    )
    .await?;
    let publish = app
        .call(Method::POST, &format!("/api/v1/calibrations/{id}/submit"), "lead", Some(json!({"publish": true})))
        .await?;
    ensure!(
        publish.status == StatusCode::CONFLICT && publish.text.contains("publishing is not available"),
        "{}",
        publish.text
    );
    // Nothing changed: the session still takes a submit without publishing.
    let submitted = app
        .ok(Method::POST, &format!("/api/v1/calibrations/{id}/submit"), "lead", Some(json!({"publish": false})))
        .await?;
    ensure!(submitted["session"]["published"] == false);

    let allowed = app.create_session("open", &["g2"], &[0]).await?;
    ensure!(allowed["publishing"]["available"] == true);
    let id = allowed["id"].as_str().context("id")?.to_string();
    let revision = app.facilitation(&id).await?["revision"].as_i64().context("revision")?;
    let document = json!({"calibrated": [app.calibrated(0, 1, 0)]});
    app.ok(
        Method::PUT,
        &format!("/api/v1/calibrations/{id}/facilitation"),
        "lead",
        Some(json!({"revision": revision, "facilitation": document})),
    )
    .await?;
    app.ok(Method::POST, &format!("/api/v1/calibrations/{id}/submit"), "lead", Some(json!({"publish": true}))).await?;
    let published = app
        .ok(
            Method::GET,
            &format!("/api/v1/evaluations?kind=calibrated&conversation_id={}", app.conversations[0]),
            "lead",
            None,
        )
        .await?;
    ensure!(
        published["items"].as_array().is_some_and(|i| i.len() == 1)
            && close(&published["items"][0]["result"]["score"], 87.5)
    );
    // Now conversation 1 has a published result: a new session on it cannot publish.
    let after = app.create_session("blind", &["g2"], &[0]).await?;
    ensure!(after["publishing"]["available"] == false);
    Ok(())
}

async fn hidden_agent_names_stay_hidden(db: &TestDatabase) -> Result<()> {
    let app = Calibration::new(db.backend()).await?;
    let body = json!({"title": "No names", "scorecard_version_id": app.version, "conversation_ids": [app.conversations[0]],
        "participant_ids": [app.user("g1")], "hide_agent_name": true});
    let session = app.ok(Method::POST, "/api/v1/calibrations", "lead", Some(body)).await?;
    ensure!(session["conversations"][0]["agent_name"] == "Ava Atlas", "the facilitator sees the agent");
    let id = session["id"].as_str().context("id")?;
    let mine = app.ok(Method::GET, &format!("/api/v1/calibrations/{id}"), "g1", None).await?;
    ensure!(mine["conversations"][0]["agent_name"].is_null() && mine["conversations"][0]["agent_hidden"] == true);
    // Nor does the participant find the agent through the conversation itself or the list.
    let conversation = format!("/api/v1/conversations/{}", app.conversations[0]);
    ensure!(app.ok(Method::GET, &conversation, "g1", None).await?["agent_id"].is_null());
    let list = app.ok(Method::GET, "/api/v1/conversations", "g1", None).await?;
    let listed = list["items"].as_array().context("items")?;
    ensure!(listed.iter().filter(|c| c["agent_id"].is_null()).count() == 1, "{list}");
    ensure!(!app.ok(Method::GET, &conversation, "lead", None).await?["agent_id"].is_null());
    ensure!(!app.ok(Method::GET, &conversation, "g2", None).await?["agent_id"].is_null(), "g2 is not in the session");
    Ok(())
}
