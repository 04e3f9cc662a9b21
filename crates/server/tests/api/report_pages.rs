//! The QA program report pages, on both databases: a BPO whose own grader scores its
//! conversations higher than the internal grader does, with CSAT that disagrees with both.
//! The qa_lead sees every page with data and creates a calibration session from the IQS vs CSAT
//! mismatches and a target from the form; a vendor lead sees their own vendor only and no forms.

use super::{PASSWORD, TestApp};
use anyhow::{Context, Result, ensure};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use plumbline_domain::conversation::{Channel, ConversationMetrics, ConversationRecord};
use plumbline_domain::evaluation::{Answer, Choice, EvaluationKind};
use plumbline_domain::scoring::ScoringPolicy;
use plumbline_store::NewEvaluation;
use plumbline_store::testing::TestDatabase;
use serde_json::json;

plumbline_store::scenarios!(report_pages_show_the_program);

/// A signed-in browser: its session cookie and CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

impl TestApp {
    async fn browser(&self, who: &str) -> Result<Browser> {
        let email = format!("{}@example.test", who.replace('_', "-"));
        let login =
            self.json(Method::POST, "/api/v1/login", None, json!({"email": email, "password": PASSWORD})).await?;
        ensure!(login.status == StatusCode::OK, "{who}: {}", login.text);
        let cookie = login.headers.get(header::SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let cookie = cookie.split(';').next().unwrap_or_default().to_string();
        let csrf = login.json()["csrf_token"].as_str().unwrap_or_default().to_string();
        Ok(Browser { cookie, csrf })
    }

    async fn page(&self, browser: &Browser, uri: &str) -> Result<String> {
        let reply =
            self.send(Request::builder().uri(uri).header(header::COOKIE, &browser.cookie).body(Body::empty())?).await?;
        ensure!(reply.status == StatusCode::OK, "GET {uri}: {} {}", reply.status, reply.text);
        Ok(reply.text)
    }

    async fn post_form(&self, browser: &Browser, uri: &str, fields: &[(&str, &str)]) -> Result<super::Reply> {
        let mut body = form_urlencoded(&[("csrf", browser.csrf.as_str())]);
        body.push('&');
        body.push_str(&form_urlencoded(fields));
        self.send(
            Request::builder()
                .method(Method::POST)
                .uri(uri)
                .header(header::COOKIE, &browser.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))?,
        )
        .await
    }
}

fn form_urlencoded(fields: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
                b' ' => "+".into(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// Eight of Alpha BPO's conversations, CSAT alternating 1 and 5, each reviewed by Alpha's own
/// grader (top marks) and by the internal grader (middling), and one self-review by the agent.
/// Returns the ids of the own grader's reviews.
async fn alpha_program(app: &TestApp) -> Result<Vec<String>> {
    let store = app._db.store.clone();
    let user = |key: &str| {
        let store = store.clone();
        let email = format!("{}@example.test", key.replace('_', "-"));
        async move { store.find_user_by_email(&email).await?.map(|(u, _)| u).context("user") }
    };
    let (own, internal, agent) = (user("reviewer_a").await?, user("reviewer").await?, user("agent_a").await?);
    let ws = own.workspace_id;
    let version = app.ids["version"].parse()?;
    let criterion = app.ids["criterion"].parse()?;
    let mut own_reviews = Vec::new();
    for i in 0..8 {
        let record = ConversationRecord {
            external_id: format!("A-PAGE-{i}"),
            channel: Channel::Chat,
            agent: Some("Alan Alpha".into()),
            team: None,
            vendor: Some("Alpha BPO".into()),
            started_at: plumbline_store::now_millis() - 86_400_000,
            subject: format!("Alpha question {i}"),
            transcript: vec![],
            tags: vec![],
            metrics: ConversationMetrics {
                csat: Some(if i % 2 == 0 { 1 } else { 5 }),
                nps: Some(if i % 2 == 0 { 2 } else { 9 }),
                fcr: Some(i % 3 == 0),
                handle_time_seconds: Some(300 + 10 * i),
            },
        };
        let (conversation, _) = store.put_conversation(ws, &record).await?;
        let graded = [
            (own.id, EvaluationKind::Review, Choice::Option(0)),
            (internal.id, EvaluationKind::Review, Choice::Option(1 + i as usize % 2)),
        ];
        for (reviewer, kind, choice) in
            graded.into_iter().chain((i == 0).then_some((agent.id, EvaluationKind::SelfReview, Choice::Option(0))))
        {
            let new = NewEvaluation {
                conversation_id: conversation.id,
                scorecard_version_id: version,
                reviewer_id: reviewer,
                kind,
                answers: vec![Answer { criterion_id: criterion, choice, comment: String::new() }],
                overall_feedback: String::new(),
            };
            let evaluation = store.create_evaluation(ws, new).await?;
            store.submit_evaluation(ws, evaluation.id, reviewer, ScoringPolicy::default()).await?;
            if reviewer == own.id {
                own_reviews.push(evaluation.id.to_string());
            }
        }
    }
    Ok(own_reviews)
}

async fn report_pages_show_the_program(db: &TestDatabase) -> Result<()> {
    let db = TestDatabase::new(db.backend()).await;
    let app = TestApp::new(db).await?;
    let own_reviews = alpha_program(&app).await?;
    let lead = app.browser("qa_lead").await?;

    let expectations: &[(&str, &[&str])] = &[
        (
            "/reports/iqs?group_by=vendor",
            &["Alpha BPO", "Month by month", "<circle", "95% interval", "/reports/leaderboard"],
        ),
        ("/reports/iqs?group_by=criterion&from=2020-01-01&to=2099-01-01", &["Tone", "Change", "group_by=criterion"]),
        ("/reports/iqs?group_by=channel&channel=chat", &["chat", "channel=chat"]),
        ("/reports/trend?interval=week&group_by=vendor", &["Alpha BPO", "<circle", "legend"]),
        ("/reports/vendors", &["Alpha BPO's graders score", "points higher than internal graders", "95% CI"]),
        ("/reports/csat", &["A-PAGE-0", "A-PAGE-1", "Create a calibration session from selected", "name=\"csrf\""]),
        ("/reports/self-assessment", &["Alan Alpha", "Tone", "Self minus reviewer"]),
        ("/reports/leaderboard", &["Alan Alpha", "Most improved"]),
        ("/reports/targets", &["TARGET-B to 85", "Create target", "baseline"]),
    ];
    for (uri, wanted) in expectations {
        let html = app.page(&lead, uri).await?;
        for w in *wanted {
            ensure!(html.contains(w), "{uri} as qa_lead lacks {w:?}: {}", &html[html.find("<main").unwrap_or(0)..]);
        }
    }
    // Agents are searched by name and sorted; a bad sort is named on the page.
    let searched = app.page(&lead, "/reports/iqs?group_by=agent&q=alan&sort=name&order=asc").await?;
    ensure!(searched.contains("Alan Alpha") && searched.contains("name=\"q\""), "the search finds Alan");
    let nobody = app.page(&lead, "/reports/iqs?group_by=agent&q=zzzz-nobody").await?;
    ensure!(!nobody.contains("Alan Alpha") && nobody.contains("No submitted reviews"), "nothing matches");
    let bad_sort = app.page(&lead, "/reports/iqs?group_by=agent&sort=shoe").await?;
    ensure!(bad_sort.contains("must be name, iqs, evaluations or change"), "the bad sort is explained");
    // A refused filter is named on the page; the report still shows.
    let refused = app.page(&lead, "/reports/vendors?vendor_id=nope&channel=fax").await?;
    ensure!(refused.contains("vendor_id") && refused.contains("channel") && refused.contains("Alpha BPO"));
    let daily = app.page(&lead, "/reports/trend?interval=day&from=2000-01-01").await?;
    ensure!(daily.contains("at most 400 days"), "a refused trend is explained");

    // A vendor lead: their own vendor, no forms, nothing of vendor B.
    let alpha = app.browser("vendor_lead_a").await?;
    for (uri, _) in expectations {
        let html = app.page(&alpha, uri).await?;
        for secret in &app.vendor_b_secrets {
            ensure!(!html.contains(secret.as_str()), "{uri} shows {secret:?} to vendor_lead_a");
        }
        ensure!(!html.contains("Create a calibration session") && !html.contains("Create target"), "{uri}");
    }
    ensure!(app.page(&alpha, "/reports/vendors").await?.contains("Alpha BPO's graders"));
    let beta = app.browser("vendor_lead_b").await?;
    ensure!(!app.page(&beta, "/reports/csat").await?.contains("A-PAGE-"), "vendor B sees no Alpha conversation");
    let no_form = app.post_form(&alpha, "/reports/csat/calibration", &[("evaluation_ids", &own_reviews[0])]).await?;
    ensure!(no_form.status == StatusCode::NOT_FOUND, "{}", no_form.status);

    // Create a calibration session from two mismatches: refused without participants (the
    // ticks come back), then created and opened.
    let me = app.call(Method::GET, "/api/v1/me", Some("reviewer"), None, "").await?.json();
    let reviewer_id = me["id"].as_str().context("reviewer id")?.to_string();
    let ticked = [("evaluation_ids", own_reviews[0].as_str()), ("evaluation_ids", own_reviews[2].as_str())];
    let without = app.post_form(&lead, "/reports/csat/calibration", &ticked).await?;
    ensure!(without.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", without.status);
    ensure!(without.text.contains("Tick at least one participant"), "{}", without.text);
    ensure!(without.text.contains(&format!("value=\"{}\" checked", own_reviews[0])), "the ticks come back");
    let mut fields = ticked.to_vec();
    fields.push(("participant_ids", &reviewer_id));
    fields.push(("title", "CSAT disagreements"));
    let created = app.post_form(&lead, "/reports/csat/calibration", &fields).await?;
    ensure!(created.status == StatusCode::SEE_OTHER, "{} {}", created.status, created.text);
    let location = created.headers[header::LOCATION].to_str()?.to_string();
    ensure!(location.starts_with("/calibrations/"), "{location}");
    let session = app.page(&lead, &location).await?;
    ensure!(session.contains("CSAT disagreements"), "{session}");
    let expired = app
        .post_form(&Browser { cookie: lead.cookie.clone(), csrf: "stale".into() }, "/reports/csat/calibration", &fields)
        .await?;
    ensure!(expired.status == StatusCode::FORBIDDEN, "the CSRF field is checked");

    // Targets: a refused form comes back as typed, then a target with a milestone is created.
    let typed = [
        ("name", "Alpha to ninety"),
        ("value", "lots"),
        ("start", "2026-01-01"),
        ("due", "2026-12-31"),
        ("milestone_date", "2026-06-30"),
        ("milestone_value", "80"),
    ];
    let refused = app.post_form(&lead, "/reports/targets", &typed).await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.status);
    ensure!(refused.text.contains("value=\"Alpha to ninety\"") && refused.text.contains("value=\"2026-06-30\""));
    let mut good = typed.to_vec();
    good[1] = ("value", "90");
    let made = app.post_form(&lead, "/reports/targets", &good).await?;
    ensure!(made.status == StatusCode::SEE_OTHER, "{} {}", made.status, made.text);
    let targets = app.page(&lead, "/reports/targets").await?;
    ensure!(targets.contains("Alpha to ninety") && targets.contains("2026-06-30"), "the new target shows");
    Ok(())
}
