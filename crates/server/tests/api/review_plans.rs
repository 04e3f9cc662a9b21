//! Review assignments and grading habits through the API, on both databases: a plan's recorded
//! seed reproduces its sample, the work is spread evenly, a BPO grader never gets another
//! vendor's conversation, a queue item completes when its review is submitted, active time
//! accumulates, the copied-feedback share of a worked example, and a hidden calibration task in
//! the queue: an ordinary item to its grader, its score in the session's report.

use super::{PASSWORD, shape};
use anyhow::{Context, Result, ensure};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use plumbline_domain::conversation::{Channel, ConversationMetrics, ConversationRecord};
use plumbline_domain::org::Role;
use plumbline_domain::review_plans::{PlanCandidate, PlanFilter, PlanSample, sample_conversations};
use plumbline_domain::scorecard::{CriterionInput, DefinitionInput, ScalePreset, ScorecardDefinition};
use plumbline_domain::series::occurrence_seed;
use plumbline_domain::{ConversationId, VendorId};
use plumbline_server::{AppState, ServerConfig, auth};
use plumbline_store::NewUser;
use plumbline_store::testing::TestDatabase;
use serde_json::{Value, json};
use std::collections::HashMap;
use tower::ServiceExt;

plumbline_store::scenarios!(a_plan_from_draw_to_done, grading_habits_worked_example, hidden_calibration_in_the_queue);

struct App {
    _db: TestDatabase,
    router: Router,
    tokens: HashMap<String, String>,
    users: HashMap<String, String>,
    version: String,
    criterion: String,
    scorecard: String,
    /// Each conversation's id and vendor, in creation order.
    conversations: Vec<(String, VendorId, i64)>,
    vendors: HashMap<&'static str, VendorId>,
}

const MARCH_2: i64 = 1_772_409_600_000;
const DAY: i64 = 86_400_000;

impl App {
    async fn new(db: TestDatabase) -> Result<App> {
        let store = db.store.clone();
        let (ws, internal) = store.create_workspace("Acme", "Acme Support").await?;
        let globex = store.create_vendor(ws.id, "Globex BPO").await?;
        let initech = store.create_vendor(ws.id, "Initech BPO").await?;
        let vendors = HashMap::from([("internal", internal.id), ("globex", globex.id), ("initech", initech.id)]);
        let (mut tokens, mut users) = (HashMap::new(), HashMap::new());
        for (key, role, vendor) in [
            ("lead", Role::QaLead, internal.id),
            ("ann", Role::Reviewer, internal.id),
            ("bob", Role::Reviewer, internal.id),
            ("gus", Role::Reviewer, globex.id),
            ("glead", Role::VendorLead, globex.id),
            ("ilead", Role::VendorLead, initech.id),
        ] {
            let user = store
                .create_user(
                    ws.id,
                    NewUser {
                        vendor_id: vendor,
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
        let definition = ScorecardDefinition::parse(DefinitionInput {
            groups: vec![],
            criteria: vec![CriterionInput {
                id: None,
                group: None,
                title: "Tone".into(),
                description: String::new(),
                weight: None,
                preset: Some(ScalePreset::FivePoint),
                options: None,
                na_allowed: false,
                critical: false,
                guidelines: String::new(),
            }],
        })
        .expect("valid");
        let (card, v1) = store.create_scorecard(ws.id, "Support", "", &definition).await?;
        let version = store.activate_version(ws.id, v1.id).await?;
        // 12 internal conversations (agents Ada and Abe), 8 of Globex (agent Gia), over a week.
        let mut conversations = Vec::new();
        for n in 0..20 {
            let (vendor, agent) = match n {
                0..6 => ("Acme Support", "Ada"),
                6..12 => ("Acme Support", "Abe"),
                _ => ("Globex BPO", "Gia"),
            };
            let started_at = MARCH_2 + (n % 7) * DAY + 3_600_000;
            let record = ConversationRecord {
                external_id: format!("C-{n}"),
                channel: Channel::Chat,
                agent: Some(agent.into()),
                team: None,
                vendor: Some(vendor.into()),
                started_at,
                subject: format!("conversation {n}"),
                transcript: vec![],
                tags: vec![],
                metrics: ConversationMetrics { csat: Some(1 + n % 5), ..Default::default() },
            };
            let (conversation, _) = store.put_conversation(ws.id, &record).await?;
            conversations.push((conversation.id.to_string(), conversation.vendor_id, started_at));
        }
        let router = plumbline_server::app(AppState::new(store, ServerConfig::default()));
        Ok(App {
            _db: db,
            router,
            tokens,
            users,
            version: version.id.to_string(),
            criterion: version.definition.criteria[0].id.to_string(),
            scorecard: card.id.to_string(),
            conversations,
            vendors,
        })
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        who: &str,
        body: Option<Value>,
    ) -> Result<(StatusCode, Value, String)> {
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
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null), text))
    }

    async fn ok(&self, method: Method, uri: &str, who: &str, body: Option<Value>) -> Result<Value> {
        let (status, value, text) = self.call(method.clone(), uri, who, body).await?;
        ensure!(status.is_success(), "{method} {uri} as {who}: {status} {text}");
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

    async fn review(
        &self,
        who: &str,
        conversation: &str,
        comment: &str,
        feedback: &str,
        seconds: i64,
    ) -> Result<String> {
        let created = self
            .ok(
                Method::POST,
                "/api/v1/evaluations",
                who,
                Some(json!({"conversation_id": conversation, "scorecard_version_id": self.version,
                    "answers": [{"criterion_id": self.criterion, "choice": {"option": 1}, "comment": comment}],
                    "overall_feedback": feedback})),
            )
            .await?;
        let id = created["id"].as_str().context("id")?.to_string();
        self.ok(
            Method::POST,
            &format!("/api/v1/evaluations/{id}/submit"),
            who,
            Some(json!({"active_seconds": seconds})),
        )
        .await?;
        Ok(id)
    }
}

fn ids(items: &Value, key: &str) -> Vec<String> {
    items.as_array().into_iter().flatten().filter_map(|i| i[key].as_str().map(str::to_string)).collect()
}

async fn a_plan_from_draw_to_done(db: &TestDatabase) -> Result<()> {
    let db = TestDatabase::new(db.backend()).await;
    let app = App::new(db).await?;
    let graders = json!([app.users["ann"], app.users["bob"], app.users["gus"]]);
    let filter = json!({"from": "2026-03-02", "to": "2026-03-08"});

    // Refusals name the field.
    let (status, bad, _) = app
        .call(
            Method::POST,
            "/api/v1/review-plans",
            "lead",
            Some(json!({"name": "x", "scorecard_id": app.scorecard, "sample": {"percent": 0},
                "grader_ids": [app.users["glead"], app.users["lead"], app.users["lead"]],
                "filter": {"from": "2026-02-30", "min_csat": 9}})),
        )
        .await?;
    let fields = ids(&bad["errors"], "field");
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    for field in ["sample.percent", "filter.from", "filter.min_csat", "grader_ids[2]"] {
        ensure!(fields.contains(&field.to_string()), "{field} in {fields:?}");
    }
    let (status, ..) = app
        .call(
            Method::POST,
            "/api/v1/review-plans",
            "ann",
            Some(json!({"name": "x", "scorecard_id": app.scorecard, "sample": {"percent": 10}, "grader_ids": graders})),
        )
        .await?;
    ensure!(status == StatusCode::FORBIDDEN, "graders do not make plans");

    // Half of the week's twenty conversations, spread over Ann, Bob (internal) and Gus (Globex).
    let plan = app
        .ok(
            Method::POST,
            "/api/v1/review-plans",
            "lead",
            Some(json!({"name": "Week 10", "scorecard_id": app.scorecard, "sample": {"percent": 50},
                "filter": filter, "grader_ids": graders, "due_in_days": 2, "seed": "12345"})),
        )
        .await?;
    let plan_id = plan["id"].as_str().context("id")?.to_string();
    ensure!(plan["seed"] == "12345" && plan["filter"]["from"] == "2026-03-02", "{plan}");
    let drawn = app.ok(Method::POST, &format!("/api/v1/review-plans/{plan_id}/draws"), "lead", None).await?;
    ensure!(drawn["candidates"] == 20 && drawn["drawn"].as_array().map(Vec::len) == Some(10), "{drawn}");

    // The recorded seed and window reproduce the sample.
    let seed: u64 = drawn["seed"].as_str().context("seed")?.parse()?;
    ensure!(seed == occurrence_seed(12345, 0));
    let window: (i64, i64) =
        (drawn["window_from"].as_i64().context("from")?, drawn["window_to"].as_i64().context("to")?);
    let window_filter =
        PlanFilter { from: Some("2026-03-02".into()), to: Some("2026-03-08".into()), ..Default::default() };
    ensure!(window == window_filter.window(0, 7), "{window:?}");
    let candidates: Vec<PlanCandidate> = app
        .conversations
        .iter()
        .map(|(id, vendor, started_at)| -> Result<PlanCandidate> {
            Ok(PlanCandidate {
                conversation_id: id.parse()?,
                agent_id: None,
                vendor_id: *vendor,
                started_at: *started_at,
            })
        })
        .collect::<Result<_>>()?;
    let expected: Vec<String> = sample_conversations(&candidates, PlanSample::Percent(50.0), window.0, 7, seed)
        .iter()
        .map(ConversationId::to_string)
        .collect();
    let got: Vec<String> =
        drawn["drawn"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect();
    ensure!(got == expected, "the draw reproduces from its seed: {got:?} vs {expected:?}");

    // Even, and Gus gets only Globex conversations.
    let assignments = drawn["assignments"].as_array().context("assignments")?.clone();
    ensure!(assignments.len() == 10 && drawn["unassigned"] == json!([]));
    let mut counts = HashMap::new();
    let vendor_of: HashMap<&str, VendorId> = app.conversations.iter().map(|(id, v, _)| (id.as_str(), *v)).collect();
    for item in &assignments {
        let grader = item["grader_name"].as_str().unwrap_or_default().to_string();
        let conversation = item["conversation_id"].as_str().unwrap_or_default();
        if grader == "gus" {
            ensure!(
                vendor_of[conversation] == app.vendors["globex"],
                "a BPO grader never gets another vendor's conversation"
            );
        }
        *counts.entry(grader).or_insert(0usize) += 1;
    }
    // Ann and Bob share the internal conversations evenly; Gus takes his share of Globex's.
    let count = |who: &str| counts.get(who).copied().unwrap_or(0);
    let globex_drawn = got.iter().filter(|c| vendor_of[c.as_str()] == app.vendors["globex"]).count();
    ensure!(count("ann").abs_diff(count("bob")) <= 1, "the spread is even: {counts:?}");
    ensure!(count("gus") >= globex_drawn.min(10 / 3) && count("gus") > 0, "{counts:?} with {globex_drawn} of Globex");

    // Gus's queue: his items only, due two days after the draw.
    let queue = app.ok(Method::GET, "/api/v1/queue", "gus", None).await?;
    let mine = queue.as_array().context("queue")?;
    ensure!(!mine.is_empty() && mine.iter().all(|i| i["grader_name"] == "gus" && i["status"] == "assigned"), "{queue}");
    ensure!(mine[0]["due_at"].as_i64().unwrap_or(0) - mine[0]["created_at"].as_i64().unwrap_or(0) == 2 * DAY);
    let item = mine[0]["id"].as_str().context("item")?.to_string();
    let (status, ..) = app.call(Method::POST, &format!("/api/v1/queue/{item}/start"), "ann", None).await?;
    ensure!(status == StatusCode::NOT_FOUND, "only the item's grader starts it");
    let (status, started, text) = app.call(Method::POST, &format!("/api/v1/queue/{item}/start"), "gus", None).await?;
    ensure!(status == StatusCode::CREATED && started["kind"] == "review" && started["status"] == "draft", "{text}");
    let review = started["id"].as_str().context("review")?.to_string();
    let (status, again, _) = app.call(Method::POST, &format!("/api/v1/queue/{item}/start"), "gus", None).await?;
    ensure!(status == StatusCode::OK && again["id"] == review.as_str(), "starting again opens the same review");

    // The pages: Gus's queue, the scoring page measuring active time, the plan's progress.
    let (status, html) = app.page("gus", "/queue").await?;
    ensure!(status == StatusCode::OK && html.contains("Continue") && html.contains("Week 10"), "{html}");
    let (status, html) = app.page("gus", &format!("/evaluations/{review}")).await?;
    ensure!(status == StatusCode::OK && html.contains("data-active-time") && html.contains("name=\"active_seconds\""));
    let (status, html) = app.page("lead", &format!("/review-plans/{plan_id}")).await?;
    ensure!(status == StatusCode::OK && html.contains("Progress") && html.contains("gus") && html.contains("12345"));
    let (status, html) = app.page("glead", &format!("/review-plans/{plan_id}")).await?;
    ensure!(status == StatusCode::OK && !html.contains(">ann<"), "a vendor lead sees their own graders only");
    let (status, _) = app.page("ilead", &format!("/review-plans/{plan_id}")).await?;
    ensure!(status == StatusCode::NOT_FOUND);
    let (status, html) = app.page("lead", "/review-plans/new").await?;
    ensure!(status == StatusCode::OK && html.contains("per agent per period"));

    // Active time accumulates over saves and the submit; a bad increment changes nothing.
    let answers = json!([{"criterion_id": app.criterion, "choice": {"option": 0}}]);
    let (status, refused, _) = app
        .call(
            Method::PUT,
            &format!("/api/v1/evaluations/{review}"),
            "gus",
            Some(json!({"answers": answers, "active_seconds": -5})),
        )
        .await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY && refused["errors"][0]["field"] == "active_seconds",
        "{refused}"
    );
    let (status, ..) = app
        .call(
            Method::PUT,
            &format!("/api/v1/evaluations/{review}"),
            "gus",
            Some(json!({"answers": answers, "active_seconds": 100_000})),
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY, "bounded");
    let saved = app
        .ok(
            Method::PUT,
            &format!("/api/v1/evaluations/{review}"),
            "gus",
            Some(json!({"answers": answers, "active_seconds": 90})),
        )
        .await?;
    ensure!(saved["active_seconds"] == 90 && saved["revision"] == 2, "{saved}");
    let saved = app
        .ok(
            Method::PUT,
            &format!("/api/v1/evaluations/{review}"),
            "gus",
            Some(json!({"answers": answers, "active_seconds": 30, "revision": 2})),
        )
        .await?;
    ensure!(saved["active_seconds"] == 120 && saved["revision"] == 3, "time never makes a save stale: {saved}");
    let (status, _, text) = app
        .call(
            Method::POST,
            &format!("/api/v1/evaluations/{review}/submit"),
            "gus",
            Some(json!({"active_seconds": "x"})),
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && text.contains("active_seconds"), "{text}");
    let submitted = app
        .ok(Method::POST, &format!("/api/v1/evaluations/{review}/submit"), "gus", Some(json!({"active_seconds": 45})))
        .await?;
    ensure!(submitted["status"] == "submitted" && submitted["active_seconds"] == 165, "{submitted}");

    // The item is done: gone from the open queue, done in the full one and in progress.
    let open = app.ok(Method::GET, "/api/v1/queue", "gus", None).await?;
    ensure!(!ids(&open, "id").contains(&item));
    let all = app.ok(Method::GET, "/api/v1/queue?include_done=true", "gus", None).await?;
    let done =
        all.as_array().and_then(|a| a.iter().find(|i| i["id"] == item.as_str()).cloned()).context("done item")?;
    ensure!(done["status"] == "done" && done["evaluation_id"] == review.as_str() && done["submitted_at"].is_i64());
    let progress = app.ok(Method::GET, &format!("/api/v1/review-plans/{plan_id}/progress"), "lead", None).await?;
    ensure!(progress["assigned"] == 10 && progress["done"] == 1 && progress["overdue"] == 0, "{progress}");
    let gus_row =
        progress["graders"].as_array().and_then(|g| g.iter().find(|r| r["name"] == "gus").cloned()).context("gus")?;
    ensure!(gus_row["done"] == 1);

    // The Globex lead sees the plan with Gus only, and Gus's progress; Initech's lead nothing.
    let theirs = app.ok(Method::GET, &format!("/api/v1/review-plans/{plan_id}"), "glead", None).await?;
    ensure!(theirs["grader_ids"] == json!([app.users["gus"]]), "{theirs}");
    let theirs = app.ok(Method::GET, &format!("/api/v1/review-plans/{plan_id}/progress"), "glead", None).await?;
    ensure!(theirs["graders"].as_array().map(Vec::len) == Some(1) && theirs["graders"][0]["name"] == "gus", "{theirs}");
    let items = app.ok(Method::GET, &format!("/api/v1/review-plans/{plan_id}/assignments"), "glead", None).await?;
    ensure!(items.as_array().is_some_and(|a| a.iter().all(|i| i["grader_name"] == "gus")));
    let (status, ..) =
        app.call(Method::GET, &format!("/api/v1/review-plans/{plan_id}/progress"), "ilead", None).await?;
    ensure!(status == StatusCode::NOT_FOUND, "another vendor's lead: 404");
    ensure!(app.ok(Method::GET, "/api/v1/review-plans", "ilead", None).await? == json!([]));
    let (status, ..) = app.call(Method::GET, &format!("/api/v1/review-plans/{plan_id}/progress"), "ann", None).await?;
    ensure!(status == StatusCode::NOT_FOUND);

    // A second draw takes from the rest only, and not a conversation someone started reviewing.
    let outside = app.conversations.iter().map(|c| c.0.clone()).find(|c| !got.contains(c)).context("undrawn")?;
    app.ok(
        Method::POST,
        "/api/v1/evaluations",
        "ann",
        Some(json!({"conversation_id": outside, "scorecard_version_id": app.version})),
    )
    .await?;
    let second = app.ok(Method::POST, &format!("/api/v1/review-plans/{plan_id}/draws"), "lead", None).await?;
    ensure!(
        second["number"] == 1 && second["candidates"] == 9,
        "the ten drawn and the reviewed one are left out: {second}"
    );
    ensure!(!ids(&second["assignments"], "conversation_id").contains(&outside));
    // Two per agent per week gives six (three agents).
    let per_agent = app
        .ok(
            Method::POST,
            "/api/v1/review-plans",
            "lead",
            Some(json!({"name": "Two each", "scorecard_id": app.scorecard, "sample": {"per_agent": 2},
                "filter": {"from": "2026-03-02", "to": "2026-03-08", "include_reviewed": true}, "grader_ids": [app.users["ann"]]})),
        )
        .await?;
    let drawn = app
        .ok(
            Method::POST,
            &format!("/api/v1/review-plans/{}/draws", per_agent["id"].as_str().unwrap_or_default()),
            "lead",
            None,
        )
        .await?;
    ensure!(
        drawn["drawn"].as_array().map(Vec::len) == Some(6) && drawn["assignments"].as_array().map(Vec::len) == Some(6),
        "{drawn}"
    );

    // Only BPO graders and another vendor's conversations: drawn, but given to nobody.
    let strangers = app
        .ok(
            Method::POST,
            "/api/v1/review-plans",
            "lead",
            Some(json!({"name": "Internal by Gus", "scorecard_id": app.scorecard, "sample": {"percent": 100},
                "filter": {"vendor_id": app.vendors["internal"], "from": "2026-03-02", "to": "2026-03-08", "include_reviewed": true},
                "grader_ids": [app.users["gus"]]})),
        )
        .await?;
    let drawn = app
        .ok(
            Method::POST,
            &format!("/api/v1/review-plans/{}/draws", strangers["id"].as_str().unwrap_or_default()),
            "lead",
            None,
        )
        .await?;
    ensure!(drawn["assignments"] == json!([]) && drawn["unassigned"].as_array().map(Vec::len) == Some(12), "{drawn}");

    // Stopped plans do not draw.
    app.ok(Method::PATCH, &format!("/api/v1/review-plans/{plan_id}"), "lead", Some(json!({"active": false}))).await?;
    let (status, ..) = app.call(Method::POST, &format!("/api/v1/review-plans/{plan_id}/draws"), "lead", None).await?;
    ensure!(status == StatusCode::CONFLICT);
    Ok(())
}

/// The worked example of the domain's `habits` module, through the API: 5 counted pieces of
/// which 2 are copied (0.4); timed reviews of 5 and 10 minutes (median 7.5).
async fn grading_habits_worked_example(db: &TestDatabase) -> Result<()> {
    let db = TestDatabase::new(db.backend()).await;
    let app = App::new(db).await?;
    let c = |n: usize| app.conversations[n].0.clone();
    let greeting = "Please greet the customer by name.";
    app.review("ann", &c(0), greeting, "Solved on the first reply, well done.", 300).await?;
    app.review("ann", &c(1), "please  greet the CUSTOMER by name.", "Refund policy explained clearly.", 600).await?;
    app.review("ann", &c(2), "Refund policy explained clearly.", "ok", 0).await?;
    // Gus writes Ann's greeting: not a copy of his own.
    app.review("gus", &c(12), greeting, "", 120).await?;

    let report = app.ok(Method::GET, "/api/v1/reports/grading-habits", "lead", None).await?;
    let row = |name: &str| {
        report["graders"].as_array().and_then(|g| g.iter().find(|r| r["name"] == name).cloned()).unwrap_or_default()
    };
    let ann = row("ann");
    ensure!(ann["reviews"] == 3 && ann["timed_reviews"] == 2, "{report}");
    ensure!(ann["feedback_pieces"] == 5 && ann["copied_pieces"] == 2 && ann["copied_share"] == 0.4, "{ann}");
    ensure!(ann["median_active_minutes"] == 7.5 && ann["mean_active_minutes"] == 7.5, "{ann}");
    ensure!(row("gus")["copied_pieces"] == 0 && row("gus")["median_active_minutes"] == 2.0);
    ensure!(report["copied_rule"].as_str().is_some_and(|r| r.contains("20 characters")));

    // The Globex lead sees Gus only; graders do not read reports; CSV and bad formats.
    let theirs = app.ok(Method::GET, "/api/v1/reports/grading-habits", "glead", None).await?;
    ensure!(ids(&theirs["graders"], "name") == ["gus"], "{theirs}");
    let (status, ..) = app.call(Method::GET, "/api/v1/reports/grading-habits", "ann", None).await?;
    ensure!(status == StatusCode::FORBIDDEN);
    let (status, _, csv) = app.call(Method::GET, "/api/v1/reports/grading-habits?format=csv", "lead", None).await?;
    ensure!(status == StatusCode::OK && csv.starts_with("user_id,name,vendor,internal,reviews"), "{csv}");
    ensure!(csv.lines().any(|l| l.contains(",ann,") && l.ends_with(",5,2,0.4000")), "{csv}");
    let (status, bad, _) = app.call(Method::GET, "/api/v1/reports/grading-habits?format=xml", "lead", None).await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && bad["errors"][0]["field"] == "format");
    // Counting from a later date leaves earlier reviews out but still a source of copies.
    let (status, html) = app.page("lead", "/reports/grading-habits").await?;
    ensure!(status == StatusCode::OK && html.contains("40%") && html.contains("(2 of 5)"), "{html}");
    let later = app.ok(Method::GET, "/api/v1/reports/grading-habits?from=2999-01-01", "lead", None).await?;
    ensure!(later["graders"] == json!([]));
    Ok(())
}

/// A hidden session in a plan's queues, through the API and the pages: its item looks like a
/// drawn one to its grader (same fields, same row), starting it opens the session's task, the
/// submitted score reaches the session's report; no one else sees the item; the qa_lead sees it
/// marked, outside the plan's progress; the Globex lead does not see it at all.
async fn hidden_calibration_in_the_queue(db: &TestDatabase) -> Result<()> {
    let db = TestDatabase::new(db.backend()).await;
    let app = App::new(db).await?;
    let graders = json!([app.users["ann"], app.users["bob"], app.users["gus"]]);
    let plan = app
        .ok(
            Method::POST,
            "/api/v1/review-plans",
            "lead",
            Some(json!({"name": "Week 10", "scorecard_id": app.scorecard, "sample": {"percent": 50},
                "filter": {"from": "2026-03-02", "to": "2026-03-08"}, "grader_ids": graders, "seed": "99"})),
        )
        .await?;
    let plan_id = plan["id"].as_str().context("id")?.to_string();
    let drawn = app.ok(Method::POST, &format!("/api/v1/review-plans/{plan_id}/draws"), "lead", None).await?;
    let in_plan: Vec<String> =
        drawn["drawn"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect();
    // A Globex conversation the plan did not draw: Ann, Bob (internal) and Gus (Globex) may see it.
    let (conversation, ..) = app
        .conversations
        .iter()
        .find(|(id, vendor, _)| *vendor == app.vendors["globex"] && !in_plan.contains(id))
        .context("an undrawn Globex conversation")?
        .clone();
    let progress = app.ok(Method::GET, &format!("/api/v1/review-plans/{plan_id}/progress"), "lead", None).await?;

    let body = |plan: &str, mode: &str| {
        json!({"title": "Unannounced tone check", "scorecard_version_id": app.version, "mode": mode,
            "conversation_ids": [conversation], "review_plan_id": plan,
            "participant_ids": [app.users["ann"], app.users["bob"], app.users["gus"]],
            "scoring_deadline": "2026-12-01"})
    };
    let (status, refused, _) =
        app.call(Method::POST, "/api/v1/calibrations", "lead", Some(body(&plan_id, "blind"))).await?;
    ensure!(
        status == StatusCode::UNPROCESSABLE_ENTITY && refused["errors"][0]["field"] == "review_plan_id",
        "{refused}"
    );
    let session = app.ok(Method::POST, "/api/v1/calibrations", "lead", Some(body(&plan_id, "hidden"))).await?;
    let session_id = session["id"].as_str().context("session")?.to_string();
    ensure!(session["review_plan_id"] == plan_id.as_str(), "{session}");

    // Ann's queue: the hidden item has exactly the fields of her drawn item, and nothing in it
    // (nor in her queue page) speaks of a calibration.
    let queue = app.ok(Method::GET, "/api/v1/queue", "ann", None).await?;
    let items = queue.as_array().context("queue")?;
    let hidden = items.iter().find(|i| i["conversation_id"] == conversation.as_str()).context("hidden item")?;
    let ordinary = items.iter().find(|i| i["conversation_id"] != conversation.as_str()).context("a drawn item")?;
    ensure!(shape(hidden) == shape(ordinary), "shapes differ:\n{hidden}\n{ordinary}");
    ensure!(
        hidden["plan_id"] == plan_id.as_str() && hidden["plan_name"] == "Week 10" && hidden["status"] == "assigned"
    );
    ensure!(hidden["draw_number"] == ordinary["draw_number"]);
    let text = queue.to_string();
    ensure!(!text.contains(&session_id) && !text.to_lowercase().contains("calibrat"), "{text}");
    let item = hidden["id"].as_str().context("item")?.to_string();
    let (status, html) = app.page("ann", "/queue").await?;
    let main = html.split("<main").nth(1).unwrap_or_default();
    ensure!(status == StatusCode::OK && main.contains(&format!("/queue/{item}/start")), "{html}");
    ensure!(!main.to_lowercase().contains("calibrat") && !main.contains("Unannounced"), "{main}");
    let row = |id: &str| main.split("<tr>").find(|r| r.contains(id)).unwrap_or_default().to_string();
    let ordinary_row = row(ordinary["id"].as_str().unwrap_or("-"));
    let hidden_row = row(&item);
    ensure!(
        !ordinary_row.is_empty()
            && hidden_row.matches("<td").count() == ordinary_row.matches("<td").count()
            && hidden_row.contains("Week 10")
    );

    // Nobody else sees Ann's item: Bob has his own, Gus his own, and neither may start hers.
    for who in ["bob", "gus"] {
        let theirs = app.ok(Method::GET, "/api/v1/queue", who, None).await?;
        ensure!(!theirs.to_string().contains(&item), "{who} sees Ann's item");
        let (status, ..) = app.call(Method::POST, &format!("/api/v1/queue/{item}/start"), who, None).await?;
        ensure!(status == StatusCode::NOT_FOUND);
    }

    // Starting it opens a review shaped like any started from the queue; submitting it is done.
    let (status, task, text) = app.call(Method::POST, &format!("/api/v1/queue/{item}/start"), "ann", None).await?;
    ensure!(status == StatusCode::CREATED && task["kind"] == "review" && task["status"] == "draft", "{text}");
    let (_, plain, _) = app
        .call(Method::POST, &format!("/api/v1/queue/{}/start", ordinary["id"].as_str().unwrap_or("-")), "ann", None)
        .await?;
    ensure!(shape(&task) == shape(&plain), "shapes differ:\n{task}\n{plain}");
    ensure!(!text.contains(&session_id) && !text.to_lowercase().contains("calibrat"), "{text}");
    let review = task["id"].as_str().context("task")?.to_string();
    let (status, html) = app.page("ann", &format!("/evaluations/{review}")).await?;
    let main = html.split("<main").nth(1).unwrap_or_default();
    ensure!(status == StatusCode::OK && !main.to_lowercase().contains("calibrat"), "{main}");
    let answers = json!([{"criterion_id": app.criterion, "choice": {"option": 1}, "comment": "Warm greeting, clear next steps."}]);
    app.ok(
        Method::PUT,
        &format!("/api/v1/evaluations/{review}"),
        "ann",
        Some(json!({"answers": answers, "active_seconds": 240})),
    )
    .await?;
    app.ok(Method::POST, &format!("/api/v1/evaluations/{review}/submit"), "ann", None).await?;
    let all = app.ok(Method::GET, "/api/v1/queue?include_done=true", "ann", None).await?;
    let done = all.as_array().and_then(|a| a.iter().find(|i| i["id"] == item.as_str()).cloned()).context("done")?;
    ensure!(done["status"] == "done" && done["evaluation_id"] == review.as_str());
    // Her grading habits count it as the review it looks like.
    let habits = app.ok(Method::GET, "/api/v1/reports/grading-habits", "lead", None).await?;
    let ann =
        habits["graders"].as_array().and_then(|g| g.iter().find(|r| r["name"] == "ann").cloned()).context("ann")?;
    ensure!(ann["reviews"] == 1 && ann["timed_reviews"] == 1, "{ann}");

    // The qa_lead sees the three hidden items marked, outside the plan's progress; the Globex
    // lead sees neither Gus's hidden item nor a mark.
    let items = app.ok(Method::GET, &format!("/api/v1/review-plans/{plan_id}/assignments"), "lead", None).await?;
    let marked: Vec<&Value> =
        items.as_array().into_iter().flatten().filter(|i| i["hidden_calibration_id"] == session_id.as_str()).collect();
    ensure!(marked.len() == 3 && marked.iter().all(|i| i["conversation_id"] == conversation.as_str()), "{items}");
    let unmarked = items.as_array().map_or(0, |a| a.iter().filter(|i| i["hidden_calibration_id"].is_null()).count());
    ensure!(unmarked == in_plan.len(), "{items}");
    let now = app.ok(Method::GET, &format!("/api/v1/review-plans/{plan_id}/progress"), "lead", None).await?;
    ensure!(now["assigned"] == progress["assigned"] && now["done"] == 0, "hidden items are not the plan's: {now}");
    let (status, html) = app.page("lead", &format!("/review-plans/{plan_id}")).await?;
    ensure!(status == StatusCode::OK && html.contains("hidden calibration") && html.contains(&session_id));
    let theirs = app.ok(Method::GET, &format!("/api/v1/review-plans/{plan_id}/assignments"), "glead", None).await?;
    let text = theirs.to_string();
    ensure!(!text.contains(&conversation) && !text.contains(&session_id), "{text}");
    let (_, html) = app.page("glead", &format!("/review-plans/{plan_id}")).await?;
    ensure!(!html.contains("hidden calibration") && !html.contains(&session_id));

    // The facilitator closes the session: Ann's score is in the report; Bob and Gus never
    // scored, and their items leave the queues.
    let facilitation =
        app.ok(Method::GET, &format!("/api/v1/calibrations/{session_id}/facilitation"), "lead", None).await?;
    let document = json!({"calibrated": [{"conversation_id": conversation, "answers": [{"criterion_id": app.criterion, "choice": {"option": 1}}]}]});
    app.ok(
        Method::PUT,
        &format!("/api/v1/calibrations/{session_id}/facilitation"),
        "lead",
        Some(json!({"revision": facilitation["revision"], "facilitation": document})),
    )
    .await?;
    app.ok(Method::POST, &format!("/api/v1/calibrations/{session_id}/submit"), "lead", Some(json!({"publish": false})))
        .await?;
    let report = app.ok(Method::GET, &format!("/api/v1/calibrations/{session_id}/report"), "lead", None).await?;
    let results = report.to_string();
    ensure!(results.contains(app.users["ann"].as_str()), "{report}");
    let performance = app.ok(Method::GET, "/api/v1/reports/calibration", "lead", None).await?;
    let line = performance["sessions"]
        .as_array()
        .and_then(|s| s.iter().find(|l| l["session_id"] == session_id.as_str()).cloned())
        .context("session line")?;
    ensure!(line["participants"] == 3 && line["scored"] == 1 && line["mean_alignment"] == 1.0, "{line}");
    let grader = performance["graders"]
        .as_array()
        .and_then(|g| g.iter().find(|l| l["name"] == "ann").cloned())
        .context("ann's line")?;
    ensure!(grader["sessions_attended"] == 1, "{grader}");
    for who in ["bob", "gus"] {
        let theirs = app.ok(Method::GET, "/api/v1/queue?include_done=true", who, None).await?;
        ensure!(!theirs.to_string().contains(&conversation), "{who}'s item was withdrawn");
    }
    Ok(())
}
