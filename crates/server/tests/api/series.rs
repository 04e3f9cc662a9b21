//! Recurring series (dates, reproducible draws), iCalendar feeds checked with an iCalendar
//! parser, the "calibration due" list, and form calibration's activation warning; on both
//! databases.

use super::PASSWORD;
use anyhow::{Context, Result, ensure};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use plumbline_domain::conversation::{Channel, ConversationMetrics, ConversationRecord};
use plumbline_domain::org::Role;
use plumbline_domain::scorecard::{CriterionInput, DefinitionInput, ScalePreset, ScorecardDefinition};
use plumbline_domain::series::{draw, occurrence_seed};
use plumbline_domain::time::{DAY_MS, Date};
use plumbline_domain::{ConversationId, ScorecardId};
use plumbline_server::{AppState, ServerConfig, auth};
use plumbline_store::testing::TestDatabase;
use plumbline_store::{NewUser, now_millis};
use serde_json::{Value, json};
use std::collections::HashMap;
use tower::ServiceExt;

plumbline_store::scenarios!(series_draw_reproducibly_and_feed_calendars, due_list_and_form_calibration);

struct App {
    _db: TestDatabase,
    router: Router,
    tokens: HashMap<&'static str, String>,
    users: HashMap<&'static str, String>,
    scorecard: ScorecardId,
    conversations: Vec<ConversationId>,
}

fn definition(preset: ScalePreset) -> ScorecardDefinition {
    ScorecardDefinition::parse(DefinitionInput {
        groups: vec![],
        criteria: vec![CriterionInput {
            id: None,
            group: None,
            title: "Tone".into(),
            description: String::new(),
            weight: None,
            preset: Some(preset),
            options: None,
            na_allowed: false,
            critical: false,
            guidelines: String::new(),
        }],
    })
    .expect("valid")
}

impl App {
    /// A lead, two internal graders and a Beta BPO grader; six conversations started two days
    /// ago.
    async fn new(backend: plumbline_store::Backend) -> Result<App> {
        let db = TestDatabase::new(backend).await;
        let store = db.store.clone();
        let (ws, internal) = store.create_workspace("Acme", "Acme Support").await?;
        let beta = store.create_vendor(ws.id, "Beta BPO").await?;
        let (mut tokens, mut users) = (HashMap::new(), HashMap::new());
        for (key, role, vendor) in [
            ("lead", Role::QaLead, internal.id),
            ("ann", Role::Reviewer, internal.id),
            ("bob", Role::Reviewer, internal.id),
            ("bea", Role::Reviewer, beta.id),
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
            tokens.insert(key, secret);
            users.insert(key, user.id.to_string());
        }
        let (card, v1) = store.create_scorecard(ws.id, "Support", "", &definition(ScalePreset::FivePoint)).await?;
        store.activate_version(ws.id, v1.id).await?;
        let mut conversations = Vec::new();
        for n in 0..6 {
            let record = ConversationRecord {
                external_id: format!("C-{n}"),
                channel: Channel::Email,
                agent: None,
                team: None,
                vendor: None,
                started_at: now_millis() - 2 * DAY_MS,
                subject: String::new(),
                transcript: vec![],
                tags: vec![],
                metrics: ConversationMetrics::default(),
            };
            conversations.push(store.put_conversation(ws.id, &record).await?.0.id);
        }
        let router = plumbline_server::app(AppState::new(store, ServerConfig::default()));
        Ok(App { _db: db, router, tokens, users, scorecard: card.id, conversations })
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        who: Option<&str>,
        body: Option<Value>,
    ) -> Result<(StatusCode, String)> {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(who) = who {
            request = request.header(header::AUTHORIZATION, format!("Bearer {}", self.tokens[who]));
        }
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

    async fn ok(&self, method: Method, uri: &str, who: &str, body: Option<Value>) -> Result<Value> {
        let (status, text) = self.call(method.clone(), uri, Some(who), body).await?;
        ensure!(status.is_success(), "{method} {uri}: {status} {text}");
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

/// RFC 5545 TEXT unescaping (the parser hands values over as written).
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The events of an iCalendar document, as (UID, DTSTART, SUMMARY), parsed by the `ical` crate.
fn events(text: &str) -> Result<Vec<(String, String, String)>> {
    let mut calendars = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
    let calendar = calendars.next().context("a calendar")??;
    ensure!(calendars.next().is_none());
    let version = calendar.properties.iter().find(|p| p.name == "VERSION").and_then(|p| p.value.clone());
    ensure!(version.as_deref() == Some("2.0"));
    Ok(calendar
        .events
        .iter()
        .map(|e| {
            let get = |name: &str| {
                e.properties.iter().find(|p| p.name == name).and_then(|p| p.value.clone()).unwrap_or_default()
            };
            (get("UID"), get("DTSTART"), unescape(&get("SUMMARY")))
        })
        .collect())
}

async fn series_draw_reproducibly_and_feed_calendars(db: &TestDatabase) -> Result<()> {
    let app = App::new(db.backend()).await?;
    let today = Date::of(now_millis());
    let first = Date::of(today.millis() + DAY_MS);
    // A Beta BPO grader needs the filter to stay within Beta's conversations.
    let refused = app
        .call(
            Method::POST,
            "/api/v1/calibration-series",
            Some("lead"),
            Some(json!({"title": "Weekly", "scorecard_id": app.scorecard, "cadence": "weekly", "first_date": first.to_string(), "participant_ids": [app.users["bea"]]})),
        )
        .await?;
    ensure!(refused.0 == StatusCode::UNPROCESSABLE_ENTITY && refused.1.contains("participant_ids[0]"), "{}", refused.1);

    let series = app
        .ok(
            Method::POST,
            "/api/v1/calibration-series",
            "lead",
            Some(json!({"title": "Weekly, with care", "scorecard_id": app.scorecard, "cadence": "every_two_weeks",
                "first_date": first.to_string(), "start_time": "14:30", "participant_ids": [app.users["ann"]],
                "conversations_per_occurrence": 2, "seed": "18446744073709551615"})),
        )
        .await?;
    let id = series["id"].as_str().context("id")?.to_string();
    ensure!(series["seed"] == "18446744073709551615", "the seed survives as text: {}", series["seed"]);
    let dates: Vec<&str> =
        series["occurrences"].as_array().context("dates")?.iter().filter_map(|o| o["occurs_on"].as_str()).collect();
    ensure!(
        dates.len() == 12
            && dates[0] == first.to_string()
            && dates[1] == Date::of(first.millis() + 14 * DAY_MS).to_string()
    );

    // Occurrence 1 draws two conversations with its recorded seed: the same draw again.
    let scheduled = app.ok(Method::POST, &format!("/api/v1/calibration-series/{id}/occurrences"), "lead", None).await?;
    let seed: u64 = scheduled["occurrence"]["seed"].as_str().context("seed")?.parse()?;
    ensure!(seed == occurrence_seed(u64::MAX, 0) && scheduled["occurrence"]["candidates"] == 6);
    let session = scheduled["session_id"].as_str().context("session")?.to_string();
    let view = app.ok(Method::GET, &format!("/api/v1/calibrations/{session}"), "lead", None).await?;
    let drawn: Vec<ConversationId> = serde_json::from_value(view["conversation_ids"].clone())?;
    ensure!(drawn == draw(&app.conversations, 2, seed), "the draw reproduces from the seed");
    ensure!(
        view["title"] == "Weekly, with care #1" && view["scheduled_at"] == first.millis() + (14 * 60 + 30) * 60_000
    );
    // Occurrence 2 leaves the calibrated conversations out.
    let second = app.ok(Method::POST, &format!("/api/v1/calibration-series/{id}/occurrences"), "lead", None).await?;
    ensure!(second["occurrence"]["number"] == 1 && second["occurrence"]["candidates"] == 4);

    // The series feed: 2 held occurrences and 12 dates to come, parsed as iCalendar.
    let (status, text) =
        app.call(Method::GET, &format!("/api/v1/calibration-series/{id}/calendar.ics"), Some("lead"), None).await?;
    ensure!(status == StatusCode::OK);
    let series_events = events(&text)?;
    ensure!(series_events.len() == 14, "{}", series_events.len());
    let start = format!("{}{:02}{:02}T143000Z", first.year, first.month, first.day);
    ensure!(
        series_events[0].1 == start && series_events[0].2 == "Calibration: Weekly, with care #1",
        "{:?}",
        series_events[0]
    );
    // Ann's own feed, through a token in the URL as a calendar app would: her two sessions
    // and the coming dates.
    let (status, text) =
        app.call(Method::GET, &format!("/api/v1/calendar.ics?token={}", app.tokens["ann"]), None, None).await?;
    ensure!(status == StatusCode::OK, "{text}");
    let ann = events(&text)?;
    ensure!(ann.iter().filter(|e| e.0.starts_with("session-")).count() == 2 && ann.len() == 14, "{ann:?}");
    // Bob is in nothing; a bad token is refused.
    ensure!(events(&app.call(Method::GET, "/api/v1/calendar.ics", Some("bob"), None).await?.1)?.is_empty());
    ensure!(app.call(Method::GET, "/api/v1/calendar.ics?token=nope", None, None).await?.0 == StatusCode::UNAUTHORIZED);
    // A hand-picked sample is compared with its population; an unknown conversation is named.
    let check = app
        .ok(
            Method::POST,
            "/api/v1/calibrations/sample-check",
            "lead",
            Some(json!({"conversation_ids": [app.conversations[0], app.conversations[1]], "seed": 5})),
        )
        .await?;
    ensure!(
        check["picked"] == 2
            && check["population"] == 6
            && check["method"].as_str().is_some_and(|m| m.contains("seed 5")),
        "{check}"
    );
    ensure!(check["tests"].as_array().is_some_and(|t| t.iter().any(|x| x["feature"] == "channel_mix")));
    let (status, text) = app
        .call(
            Method::POST,
            "/api/v1/calibrations/sample-check",
            Some("lead"),
            Some(json!({"conversation_ids": [uuid::Uuid::now_v7()]})),
        )
        .await?;
    ensure!(status == StatusCode::UNPROCESSABLE_ENTITY && text.contains("conversation_ids[0]"), "{text}");
    // A series only qa_leads manage.
    ensure!(
        app.call(Method::GET, &format!("/api/v1/calibration-series/{id}"), Some("ann"), None).await?.0
            == StatusCode::FORBIDDEN
    );
    Ok(())
}

async fn due_list_and_form_calibration(db: &TestDatabase) -> Result<()> {
    let app = App::new(db.backend()).await?;
    let due = app.ok(Method::GET, "/api/v1/calibration-due", "lead", None).await?;
    let reasons =
        |due: &Value, reason: &str| due.as_array().map_or(0, |d| d.iter().filter(|i| i["reason"] == reason).count());
    ensure!(reasons(&due, "new_scorecard_version") == 1, "{due}");
    ensure!(reasons(&due, "grader_without_session") == 3, "ann, bob and bea have never calibrated: {due}");

    // A series meeting in three days is due.
    let first = Date::of(now_millis() + 3 * DAY_MS);
    app.ok(
        Method::POST,
        "/api/v1/calibration-series",
        "lead",
        Some(json!({"title": "Soon", "scorecard_id": app.scorecard,
        "cadence": "monthly", "first_date": first.to_string(), "participant_ids": [app.users["ann"]]})),
    )
    .await?;
    let due = app.ok(Method::GET, "/api/v1/calibration-due", "lead", None).await?;
    ensure!(reasons(&due, "series_date") == 1, "{due}");

    // Form calibration: a draft version calibrated by Ann and Bob, who disagree with the
    // calibrated answer on every point.
    let v2 = app
        .ok(
            Method::POST,
            &format!("/api/v1/scorecards/{}/versions", app.scorecard),
            "lead",
            Some(json!({"definition": {"criteria": [{"title": "Tone", "preset": "three_point"}]}})),
        )
        .await?;
    let v2_id = v2["id"].as_str().context("id")?.to_string();
    let criterion = v2["definition"]["criteria"][0]["id"].as_str().context("criterion")?.to_string();
    let session = app
        .ok(
            Method::POST,
            "/api/v1/calibrations",
            "lead",
            Some(json!({"title": "Form check", "scorecard_version_id": v2_id,
            "conversation_ids": [app.conversations[0]], "participant_ids": [app.users["ann"], app.users["bob"]]})),
        )
        .await?;
    let id = session["id"].as_str().context("id")?.to_string();
    for who in ["ann", "bob"] {
        let view = app.ok(Method::GET, &format!("/api/v1/calibrations/{id}"), who, None).await?;
        let task = view["my_tasks"][0]["evaluation_id"].as_str().context("task")?.to_string();
        app.ok(
            Method::PUT,
            &format!("/api/v1/evaluations/{task}"),
            who,
            Some(json!({"answers": [{"criterion_id": criterion, "choice": {"option": 2}}]})),
        )
        .await?;
        app.ok(Method::POST, &format!("/api/v1/evaluations/{task}/submit"), who, None).await?;
    }
    let revision =
        app.ok(Method::GET, &format!("/api/v1/calibrations/{id}/facilitation"), "lead", None).await?["revision"]
            .clone();
    app.ok(Method::PUT, &format!("/api/v1/calibrations/{id}/facilitation"), "lead", Some(json!({"revision": revision,
        "facilitation": {"calibrated": [{"conversation_id": app.conversations[0], "answers": [{"criterion_id": criterion, "choice": {"option": 0}}]}]}}))).await?;
    let report = app.ok(Method::POST, &format!("/api/v1/calibrations/{id}/submit"), "lead", Some(json!({}))).await?;
    // Deviation per criterion: |0 - 2| / 2 = 1 for both.
    ensure!(report["results"]["criteria"][0]["mean_deviation"] == 1.0, "{}", report["results"]["criteria"]);
    let activated = app
        .ok(Method::POST, &format!("/api/v1/scorecards/{}/versions/{v2_id}/activate", app.scorecard), "lead", None)
        .await?;
    ensure!(activated["status"] == "active");
    let warning = activated["warnings"][0].as_str().context("a warning")?;
    ensure!(warning.contains("0%") && warning.contains("below the workspace threshold of 80%"), "{warning}");
    // A version nobody calibrated also says so.
    let v3 = app
        .ok(
            Method::POST,
            &format!("/api/v1/scorecards/{}/versions", app.scorecard),
            "lead",
            Some(json!({"definition": {"criteria": [{"title": "Tone", "preset": "binary"}]}})),
        )
        .await?;
    let activated = app
        .ok(
            Method::POST,
            &format!(
                "/api/v1/scorecards/{}/versions/{}/activate",
                app.scorecard,
                v3["id"].as_str().unwrap_or_default()
            ),
            "lead",
            None,
        )
        .await?;
    ensure!(activated["warnings"][0].as_str().is_some_and(|w| w.contains("not form-calibrated")));
    Ok(())
}
