//! API tests through the real router (`Router::oneshot`), on both databases: the route walk
//! (every operation of the OpenAPI document, as every role and as users of two vendors), sign-in
//! with cookies and CSRF, imports, errors as problem documents, and the OpenAPI snapshot.

use anyhow::{Context, Result, ensure};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use plumbline_domain::calibration::{
    ActionItem, ActionKind, CalibratedConversation, Decision, Facilitation, SessionMode,
};
use plumbline_domain::conversation::{Channel, ConversationMetrics, ConversationRecord};
use plumbline_domain::evaluation::{Answer, Choice, EvaluationKind};
use plumbline_domain::org::Role;
use plumbline_domain::scorecard::{CriterionInput, DefinitionInput, ScalePreset, ScorecardDefinition};
use plumbline_domain::scoring::ScoringPolicy;
use plumbline_server::{AppState, ServerConfig, auth};
use plumbline_store::testing::TestDatabase;
use plumbline_store::{EvaluationEdit, NewEvaluation, NewSeries, NewSession, NewUser};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use tower::ServiceExt;

mod calibration;
mod dashboards;
mod grader_qa;
mod report_pages;
mod review_plans;
mod series;

plumbline_store::scenarios!(
    route_walk,
    sign_in_with_cookie_and_csrf,
    import_over_http,
    errors_name_the_field,
    hostile_bodies_get_clear_errors,
    page_walk,
    a_submission_scores_with_the_policies_in_force
);

struct TestApp {
    _db: TestDatabase,
    router: Router,
    tokens: HashMap<&'static str, String>,
    ids: HashMap<&'static str, String>,
    /// Strings from vendor B that no user of vendor A may ever receive.
    vendor_b_secrets: Vec<String>,
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

const PASSWORD: &str = "correct horse battery";

impl TestApp {
    async fn new(db: TestDatabase) -> Result<TestApp> {
        let store = db.store.clone();
        let (ws, internal) = store.create_workspace("Acme", "Acme Support").await?;
        let vendor_a = store.create_vendor(ws.id, "Alpha BPO").await?;
        let vendor_b = store.create_vendor(ws.id, "Beta BPO").await?;
        let team_b = store.create_team(ws.id, vendor_b.id, "Beta Team").await?;
        let agent_a = store.create_agent(ws.id, vendor_a.id, None, "Alan Alpha", None).await?;
        let agent_b = store.create_agent(ws.id, vendor_b.id, Some(team_b.id), "Bianca Beta", None).await?;
        let hash = auth::hash_password(PASSWORD);
        let mut users = HashMap::new();
        let people: [(&str, Role, plumbline_domain::VendorId, Option<plumbline_domain::AgentId>); 9] = [
            ("admin", Role::Admin, internal.id, None),
            ("qa_lead", Role::QaLead, internal.id, None),
            ("reviewer", Role::Reviewer, internal.id, None),
            ("reviewer_a", Role::Reviewer, vendor_a.id, None),
            ("vendor_lead_a", Role::VendorLead, vendor_a.id, None),
            ("agent_a", Role::Agent, vendor_a.id, Some(agent_a.id)),
            ("vendor_lead_b", Role::VendorLead, vendor_b.id, None),
            ("reviewer_b", Role::Reviewer, vendor_b.id, None),
            ("agent_b", Role::Agent, vendor_b.id, Some(agent_b.id)),
        ];
        let mut tokens = HashMap::new();
        for (key, role, vendor, agent) in people {
            let user = store
                .create_user(
                    ws.id,
                    NewUser {
                        vendor_id: vendor,
                        email: format!("{}@example.test", key.replace('_', "-")),
                        name: key.to_string(),
                        role,
                        password_hash: hash.clone(),
                        agent_id: agent,
                    },
                )
                .await?;
            let secret = auth::new_secret();
            store.create_token(user.id, "tests", &auth::digest(&secret)).await?;
            tokens.insert(key, secret);
            users.insert(key, user);
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
        let record = |external: &str, vendor: &str, agent: &str| ConversationRecord {
            external_id: external.into(),
            channel: Channel::Email,
            agent: Some(agent.into()),
            team: None,
            vendor: Some(vendor.into()),
            started_at: 1_767_225_600_000,
            subject: format!("subject of {external}"),
            transcript: vec![],
            tags: vec![],
            metrics: ConversationMetrics::default(),
        };
        let (conv_b, _) = store.put_conversation(ws.id, &record("SECRET-B-CONV", "Beta BPO", "Bianca Beta")).await?;
        store.put_conversation(ws.id, &record("A-CONV", "Alpha BPO", "Alan Alpha")).await?;
        let answers = vec![Answer {
            criterion_id: version.definition.criteria[0].id,
            choice: Choice::Option(1),
            comment: "B's comment".into(),
        }];
        let new = NewEvaluation {
            conversation_id: conv_b.id,
            scorecard_version_id: version.id,
            reviewer_id: users["reviewer_b"].id,
            kind: EvaluationKind::Review,
            answers,
            overall_feedback: "SECRET-B-FEEDBACK".into(),
        };
        let submitted = store.create_evaluation(ws.id, new.clone()).await?;
        store.submit_evaluation(ws.id, submitted.id, users["reviewer_b"].id, ScoringPolicy::default()).await?;
        let draft = store.create_evaluation(ws.id, new).await?;
        // Calibration: a blind session on vendor B's conversation with the internal reviewer,
        // and a submitted hidden one where reviewer_b scored far from the calibrated answer
        // (a follow-up), with a decision and an action item.
        let session = |mode, participant: plumbline_domain::UserId| NewSession {
            title: "Walk calibration".into(),
            goals: String::new(),
            scorecard_version_id: version.id,
            facilitator_id: users["qa_lead"].id,
            mode,
            hide_agent_name: false,
            scheduled_at: None,
            scoring_deadline: None,
            conversation_ids: vec![conv_b.id],
            participant_ids: vec![participant],
            review_plan_id: None,
            created_by: users["qa_lead"].id,
        };
        let blind = store.create_calibration(ws.id, session(SessionMode::Blind, users["reviewer"].id)).await?;
        let hidden = store.create_calibration(ws.id, session(SessionMode::Hidden, users["reviewer_b"].id)).await?;
        let criterion = version.definition.criteria[0].id;
        let task = store.calibration_tasks(ws.id, hidden.session.id).await?.remove(0);
        let worst = vec![Answer { criterion_id: criterion, choice: Choice::Option(4), comment: String::new() }];
        store
            .save_evaluation(
                ws.id,
                task.id,
                users["reviewer_b"].id,
                EvaluationEdit { answers: &worst, overall_feedback: "", expected_revision: None },
                ScoringPolicy::default(),
            )
            .await?;
        store.submit_evaluation(ws.id, task.id, users["reviewer_b"].id, ScoringPolicy::default()).await?;
        let action = ActionItem {
            id: Default::default(),
            kind: ActionKind::Training,
            text: "Refresh tone training".into(),
            owner_id: None,
            due_on: Some("2026-12-01".into()),
            done: false,
        };
        let facilitation = Facilitation {
            calibrated: vec![CalibratedConversation {
                conversation_id: conv_b.id,
                answers: vec![Answer { criterion_id: criterion, choice: Choice::Option(0), comment: String::new() }],
                feedback: String::new(),
            }],
            decisions: vec![Decision {
                id: Default::default(),
                text: "Greet by name".into(),
                criterion_id: Some(criterion),
            }],
            actions: vec![action.clone()],
            ..Facilitation::default()
        };
        store.save_facilitation(ws.id, hidden.session.id, hidden.revision, facilitation, users["qa_lead"].id).await?;
        store.submit_calibration(ws.id, hidden.session.id, None, false, users["qa_lead"].id).await?;

        let series = store
            .create_series(
                ws.id,
                NewSeries {
                    title: "Weekly walk".into(),
                    goals: String::new(),
                    scorecard_id: card.id,
                    cadence: plumbline_domain::series::Cadence::Weekly,
                    first_date: plumbline_domain::time::Date::parse("2026-01-10").expect("date"),
                    start_minute: 15 * 60,
                    duration_minutes: 60,
                    facilitator_id: users["qa_lead"].id,
                    participant_ids: vec![users["reviewer_b"].id],
                    mode: SessionMode::Blind,
                    hide_agent_name: false,
                    filter: plumbline_domain::series::SeriesFilter {
                        vendor_id: Some(vendor_b.id),
                        ..Default::default()
                    },
                    conversations_per_occurrence: 1,
                    seed: Some(7),
                    created_by: users["qa_lead"].id,
                },
            )
            .await?;

        // Grade-the-grader: the internal reviewer audits reviewer_b's submitted review.
        let program = store
            .create_program(
                ws.id,
                plumbline_store::NewProgram {
                    name: "Walk audit".into(),
                    sample: plumbline_domain::grader_qa::Sample::Percent(100.0),
                    period_days: 7,
                    filter: Default::default(),
                    benchmark_ids: vec![users["reviewer"].id],
                    hide_agent_name: false,
                    adaptive: None,
                    seed: Some(1),
                    created_by: users["qa_lead"].id,
                },
            )
            .await?;
        let drawn = store.draw_audits(ws.id, program.id).await?;
        let audit = drawn.audits.first().context("an audit")?.id;

        // Review assignments: a plan over vendor B's conversations for reviewer_b, drawn once.
        let plan = store
            .create_review_plan(
                ws.id,
                plumbline_store::NewReviewPlan {
                    name: "Walk plan".into(),
                    scorecard_id: card.id,
                    sample: plumbline_domain::review_plans::PlanSample::Percent(100.0),
                    period_days: 7,
                    filter: plumbline_domain::review_plans::PlanFilter {
                        vendor_id: Some(vendor_b.id),
                        from: Some("2026-01-01".into()),
                        to: Some("2026-01-31".into()),
                        include_reviewed: true,
                        ..Default::default()
                    },
                    grader_ids: vec![users["reviewer_b"].id],
                    due_in_days: 7,
                    seed: Some(3),
                    created_by: users["qa_lead"].id,
                },
            )
            .await?;
        let plan_draw = store.draw_review_plan(ws.id, plan.id, plumbline_store::now_millis()).await?;
        let assignment = plan_draw.assignments.first().context("an assignment")?.id;

        let target = store
            .create_target(
                ws.id,
                users["qa_lead"].id,
                &plumbline_store::TargetInput {
                    name: "TARGET-B to 85".into(),
                    vendor_id: Some(vendor_b.id),
                    team_id: None,
                    scorecard_id: None,
                    value: 85.0,
                    start: "2026-01-01".into(),
                    due: "2026-12-31".into(),
                    milestones: vec![],
                },
            )
            .await?;

        let spare = auth::new_secret();
        let spare_token = store.create_token(users["reviewer_b"].id, "spare", &auth::digest(&spare)).await?;

        let ids = HashMap::from([
            ("user", users["reviewer_b"].id.to_string()),
            ("vendor", vendor_b.id.to_string()),
            ("agent", agent_b.id.to_string()),
            ("scorecard", card.id.to_string()),
            ("version", version.id.to_string()),
            ("criterion", version.definition.criteria[0].id.to_string()),
            ("conversation", conv_b.id.to_string()),
            ("evaluation", submitted.id.to_string()),
            ("draft", draft.id.to_string()),
            ("token", spare_token.id.to_string()),
            ("calibration", blind.session.id.to_string()),
            ("calibration2", hidden.session.id.to_string()),
            ("action", action.id.to_string()),
            ("series", series.id.to_string()),
            ("program", program.id.to_string()),
            ("audit", audit.to_string()),
            ("appeal", uuid::Uuid::now_v7().to_string()),
            ("plan", plan.id.to_string()),
            ("assignment", assignment.to_string()),
            ("target", target.id),
            ("missing", uuid::Uuid::now_v7().to_string()),
        ]);
        let vendor_b_secrets = vec![
            vendor_b.id.to_string(),
            "Beta BPO".into(),
            "Beta Team".into(),
            "Bianca Beta".into(),
            "SECRET-B-CONV".into(),
            "SECRET-B-FEEDBACK".into(),
            "reviewer-b@example.test".into(),
            conv_b.id.to_string(),
            "TARGET-B".into(),
        ];
        let router = plumbline_server::app(AppState::new(store, ServerConfig::default()));
        Ok(TestApp { _db: db, router, tokens, ids, vendor_b_secrets })
    }

    async fn send(&self, request: Request<Body>) -> Result<Reply> {
        let response = self.router.clone().oneshot(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
        Ok(Reply { status, headers, text: String::from_utf8_lossy(&bytes).into_owned() })
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        caller: Option<&str>,
        body: Option<Body>,
        content_type: &str,
    ) -> Result<Reply> {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(caller) = caller {
            request = request.header(header::AUTHORIZATION, format!("Bearer {}", self.tokens[caller]));
        }
        let body = match body {
            Some(b) => {
                request = request.header(header::CONTENT_TYPE, content_type);
                b
            }
            None => Body::empty(),
        };
        self.send(request.body(body)?).await
    }

    async fn json(&self, method: Method, uri: &str, caller: Option<&str>, body: Value) -> Result<Reply> {
        self.call(method, uri, caller, Some(Body::from(body.to_string())), "application/json").await
    }
}

/// The JSON shape of a value: keys and value types, not values.
pub(crate) fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect()),
        Value::Array(items) => Value::Array(items.first().map(shape).into_iter().collect()),
        Value::String(_) => json!("string"),
        Value::Number(_) => json!("number"),
        Value::Bool(_) => json!("bool"),
        Value::Null => Value::Null,
    }
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);

fn unique(prefix: &str) -> String {
    format!("{prefix} {}", UNIQUE.fetch_add(1, Ordering::SeqCst))
}

const CALLERS: [&str; 7] = ["admin", "qa_lead", "reviewer", "reviewer_a", "vendor_lead_a", "agent_a", "vendor_lead_b"];
const ALL: &[&str] = &CALLERS;

/// One operation of the walk: who may use it (on vendor B's objects) and a valid body.
struct Operation {
    method: Method,
    path: &'static str,
    allowed: &'static [&'static str],
    body: fn(&TestApp) -> Option<(String, &'static str)>,
}

fn none(_: &TestApp) -> Option<(String, &'static str)> {
    None
}

/// Who may read reports: admins, qa_leads and vendor leads (their own vendor's share).
const READERS: &[&str] = &["admin", "qa_lead", "vendor_lead_a", "vendor_lead_b"];

fn operations() -> Vec<Operation> {
    use Method as M;
    let op =
        |method: Method,
         path: &'static str,
         allowed: &'static [&'static str],
         body: fn(&TestApp) -> Option<(String, &'static str)>| Operation { method, path, allowed, body };
    let j = |v: Value| Some((v.to_string(), "application/json"));
    let _ = j;
    vec![
        op(M::POST, "/api/v1/logout", ALL, none),
        op(M::GET, "/api/v1/me", ALL, none),
        op(M::GET, "/api/v1/tokens", ALL, none),
        op(M::POST, "/api/v1/tokens", ALL, |_| Some((json!({"name": "walk"}).to_string(), "application/json"))),
        op(M::DELETE, "/api/v1/tokens/{token}", &[], none),
        op(M::GET, "/api/v1/users", &["admin", "qa_lead", "vendor_lead_a", "vendor_lead_b"], none),
        op(M::POST, "/api/v1/users", &["admin"], |_| {
            Some((json!({"email": format!("{}@example.test", unique("new").replace(' ', "")), "name": "New", "role": "reviewer", "password": "a long password"}).to_string(), "application/json"))
        }),
        op(M::GET, "/api/v1/users/{user}", &["admin", "qa_lead", "vendor_lead_b"], none),
        op(M::PATCH, "/api/v1/users/{user}", &["admin"], |_| {
            Some((json!({"role": "reviewer"}).to_string(), "application/json"))
        }),
        op(M::PUT, "/api/v1/users/{user}/password", &["admin"], |_| {
            Some((json!({"password": "another long one"}).to_string(), "application/json"))
        }),
        op(M::GET, "/api/v1/vendors", ALL, none),
        op(M::POST, "/api/v1/vendors", &["admin"], |_| {
            Some((json!({"name": unique("Vendor")}).to_string(), "application/json"))
        }),
        op(M::GET, "/api/v1/vendors/{vendor}", &["admin", "qa_lead", "reviewer", "vendor_lead_b"], none),
        op(M::GET, "/api/v1/teams", ALL, none),
        op(M::POST, "/api/v1/teams", &["admin"], |_| {
            Some((json!({"name": unique("Team")}).to_string(), "application/json"))
        }),
        op(
            M::GET,
            "/api/v1/agents",
            &["admin", "qa_lead", "reviewer", "reviewer_a", "vendor_lead_a", "vendor_lead_b"],
            none,
        ),
        op(M::POST, "/api/v1/agents", &["admin", "qa_lead"], |_| {
            Some((json!({"name": unique("Agent")}).to_string(), "application/json"))
        }),
        op(M::GET, "/api/v1/agents/{agent}", &["admin", "qa_lead", "reviewer", "vendor_lead_b"], none),
        op(M::GET, "/api/v1/settings", ALL, none),
        op(M::PUT, "/api/v1/settings", &["admin"], |_| {
            Some((json!({"na_policy": "exclude", "auto_fail_policy": "zero", "bands": {"excellent": 80.0, "good": 70.0}, "tolerance_points": 5.0}).to_string(), "application/json"))
        }),
        op(M::GET, "/api/v1/scale-presets", ALL, none),
        op(M::GET, "/api/v1/scorecards", ALL, none),
        op(M::POST, "/api/v1/scorecards", &["admin", "qa_lead"], |_| {
            Some((
                json!({"name": unique("Card"), "definition": {"criteria": [{"title": "Tone", "preset": "binary"}]}})
                    .to_string(),
                "application/json",
            ))
        }),
        op(M::GET, "/api/v1/scorecards/{scorecard}", ALL, none),
        op(M::GET, "/api/v1/scorecards/{scorecard}/versions", ALL, none),
        op(M::POST, "/api/v1/scorecards/{scorecard}/versions", &["admin", "qa_lead"], |_| {
            Some((
                json!({"definition": {"criteria": [{"title": "Tone", "preset": "five_point"}]}}).to_string(),
                "application/json",
            ))
        }),
        op(M::GET, "/api/v1/scorecards/{scorecard}/versions/{version}", ALL, none),
        op(M::PUT, "/api/v1/scorecards/{scorecard}/versions/{version}", &["admin", "qa_lead"], |_| {
            Some((
                json!({"definition": {"criteria": [{"title": "Tone", "preset": "five_point"}]}}).to_string(),
                "application/json",
            ))
        }),
        op(M::POST, "/api/v1/scorecards/{scorecard}/versions/{version}/activate", &["admin", "qa_lead"], none),
        op(M::GET, "/api/v1/conversations", ALL, none),
        op(M::POST, "/api/v1/conversations", &["admin", "qa_lead"], |_| {
            Some((json!({"external_id": unique("NEW"), "channel": "chat", "vendor": "Beta BPO", "agent": "Bianca Beta", "started_at": 1_767_225_600_000i64}).to_string(), "application/json"))
        }),
        op(M::GET, "/api/v1/conversations/{conversation}", &["admin", "qa_lead", "reviewer", "vendor_lead_b"], none),
        op(M::POST, "/api/v1/conversations/import", &["admin", "qa_lead"], |_| {
            Some((
                format!(
                    "external_id,channel,started_at,vendor\n{},phone,2026-01-05,Beta BPO\n",
                    unique("IMP").replace(' ', "-")
                ),
                "text/csv",
            ))
        }),
        op(M::GET, "/api/v1/evaluations", ALL, none),
        op(M::POST, "/api/v1/evaluations", &["admin", "qa_lead", "reviewer", "vendor_lead_b"], |app| {
            Some((json!({"conversation_id": app.ids["conversation"], "scorecard_version_id": app.ids["version"], "kind": "review"}).to_string(), "application/json"))
        }),
        op(M::GET, "/api/v1/evaluations/{evaluation}", &["admin", "qa_lead", "vendor_lead_b"], none),
        op(M::PUT, "/api/v1/evaluations/{draft}", &[], |app| {
            Some((
                json!({"answers": [{"criterion_id": app.ids["criterion"], "choice": {"option": 0}}]}).to_string(),
                "application/json",
            ))
        }),
        op(M::DELETE, "/api/v1/evaluations/{draft}", &[], none),
        op(M::POST, "/api/v1/evaluations/{draft}/submit", &[], none),
        op(M::GET, "/api/v1/reports/iqs", &["admin", "qa_lead", "vendor_lead_a", "vendor_lead_b"], none),
        op(M::GET, "/api/v1/reports/calibration", &["admin", "qa_lead", "vendor_lead_a", "vendor_lead_b"], none),
        op(M::GET, "/api/v1/reports/iqs/trend?interval=week&group_by=team", READERS, none),
        op(M::GET, "/api/v1/reports/vendors", READERS, none),
        op(M::GET, "/api/v1/reports/csat", READERS, none),
        op(M::GET, "/api/v1/reports/self-assessment", READERS, none),
        op(M::GET, "/api/v1/reports/leaderboard", READERS, none),
        op(M::GET, "/api/v1/targets", READERS, none),
        op(M::POST, "/api/v1/targets", &["admin", "qa_lead"], |_| {
            Some((
                json!({"name": "Everyone to 80", "value": 80, "start": "2026-01-01", "due": "2026-12-31"}).to_string(),
                "application/json",
            ))
        }),
        op(M::GET, "/api/v1/targets/{target}", &["admin", "qa_lead", "vendor_lead_b"], none),
        op(M::PUT, "/api/v1/targets/{target}", &["admin", "qa_lead"], |app| {
            Some((json!({"name": "TARGET-B to 86", "vendor_id": app.ids["vendor"], "value": 86, "start": "2026-01-01", "due": "2026-12-31", "milestones": [{"date": "2026-06-30", "value": 84}]}).to_string(), "application/json"))
        }),
        op(M::DELETE, "/api/v1/targets/{missing}", &[], none),
        op(M::GET, "/api/v1/scorecards/{scorecard}/decisions", ALL, none),
        op(M::GET, "/api/v1/calibrations", ALL, none),
        op(M::POST, "/api/v1/calibrations", &["admin", "qa_lead"], |app| {
            Some((json!({"title": unique("Walk"), "scorecard_version_id": app.ids["version"], "conversation_ids": [app.ids["conversation"]], "participant_ids": [app.ids["user"]]}).to_string(), "application/json"))
        }),
        op(M::POST, "/api/v1/calibrations/sample-check", &["admin", "qa_lead"], |app| {
            Some((json!({"conversation_ids": [app.ids["conversation"]]}).to_string(), "application/json"))
        }),
        op(M::GET, "/api/v1/calibrations/{calibration}", &["admin", "qa_lead", "reviewer"], none),
        op(
            M::GET,
            "/api/v1/calibrations/{calibration}/conversations/{conversation}",
            &["admin", "qa_lead", "reviewer"],
            none,
        ),
        // The participant (blind, nothing submitted) may not see the matrix: 403, no counts.
        op(M::GET, "/api/v1/calibrations/{calibration}/matrix", &["admin", "qa_lead"], none),
        op(M::GET, "/api/v1/calibrations/{calibration}/facilitation", &["admin", "qa_lead"], none),
        // Based on revision 0, which is stale: 409 for facilitators, refused for everyone else.
        op(M::PUT, "/api/v1/calibrations/{calibration}/facilitation", &["admin", "qa_lead"], |_| {
            Some((json!({"revision": 0, "facilitation": {"notes": "walk"}}).to_string(), "application/json"))
        }),
        op(M::GET, "/api/v1/calibrations/{calibration}/audit", &["admin", "qa_lead"], none),
        // Before submit the report is a 409 for those who may see the session.
        op(M::GET, "/api/v1/calibrations/{calibration}/report", &["admin", "qa_lead", "reviewer"], none),
        op(M::GET, "/api/v1/calibrations/{calibration2}/report", &["admin", "qa_lead"], none),
        op(M::PATCH, "/api/v1/calibrations/{calibration}", &["admin", "qa_lead"], |_| {
            Some((json!({"goals": "walk the routes"}).to_string(), "application/json"))
        }),
        op(M::POST, "/api/v1/calibrations/{calibration}/participants", &["admin", "qa_lead"], |app| {
            Some((json!({"user_id": app.ids["user"]}).to_string(), "application/json"))
        }),
        // The first remover wins; afterwards the participant is gone (404).
        op(M::DELETE, "/api/v1/calibrations/{calibration}/participants/{user}?reason=walk", &["admin"], none),
        op(M::GET, "/api/v1/calibration-actions", &["admin", "qa_lead"], none),
        op(M::PATCH, "/api/v1/calibration-actions/{action}", &["admin", "qa_lead"], |_| {
            Some((json!({"done": true}).to_string(), "application/json"))
        }),
        op(M::GET, "/api/v1/calibration-followups", &["admin", "qa_lead"], none),
        // The first resolver wins; afterwards there is no open follow-up (404).
        op(M::POST, "/api/v1/calibration-followups/{calibration2}/{user}/resolve", &["admin"], none),
        op(M::GET, "/api/v1/calibration-series", &["admin", "qa_lead"], none),
        op(M::POST, "/api/v1/calibration-series", &["admin", "qa_lead"], |app| {
            Some((json!({"title": unique("Series"), "scorecard_id": app.ids["scorecard"], "cadence": "monthly", "first_date": "2026-02-01", "participant_ids": [app.ids["user"]], "filter": {"vendor_id": app.ids["vendor"]}}).to_string(), "application/json"))
        }),
        op(M::GET, "/api/v1/calibration-series/{series}", &["admin", "qa_lead"], none),
        op(M::PATCH, "/api/v1/calibration-series/{series}", &["admin", "qa_lead"], |_| {
            Some((json!({"active": true}).to_string(), "application/json"))
        }),
        // 201, or 409 once every candidate conversation has been calibrated.
        op(M::POST, "/api/v1/calibration-series/{series}/occurrences", &["admin", "qa_lead"], none),
        op(M::GET, "/api/v1/calibration-series/{series}/calendar.ics", &["admin", "qa_lead"], none),
        op(M::GET, "/api/v1/calendar.ics", ALL, none),
        op(M::GET, "/api/v1/calibration-due", &["admin", "qa_lead"], none),
        op(M::GET, "/api/v1/grader-qa/programs", &["admin", "qa_lead"], none),
        op(M::POST, "/api/v1/grader-qa/programs", &["admin", "qa_lead"], |app| {
            Some((
                json!({"name": unique("Program"), "sample": {"per_grader": 1}, "benchmark_ids": [app.ids["user"]]})
                    .to_string(),
                "application/json",
            ))
        }),
        op(M::GET, "/api/v1/grader-qa/programs/{program}", &["admin", "qa_lead"], none),
        op(M::POST, "/api/v1/grader-qa/programs/{program}/draws", &["admin", "qa_lead"], none),
        op(M::GET, "/api/v1/grader-qa/audits", ALL, none),
        // Assigned to the internal reviewer; reviewer_b's review is audited.
        op(M::GET, "/api/v1/grader-qa/audits/{audit}", &["admin", "qa_lead", "reviewer"], none),
        // Only the original grader (reviewer_b, not a caller) may appeal, and only once completed.
        op(M::POST, "/api/v1/grader-qa/audits/{audit}/appeals", &[], |app| {
            Some((json!({"criterion_id": app.ids["criterion"], "reason": "walk"}).to_string(), "application/json"))
        }),
        op(M::POST, "/api/v1/grader-qa/appeals/{appeal}/decision", &[], |_| {
            Some((json!({"accept": false}).to_string(), "application/json"))
        }),
        op(M::GET, "/api/v1/reports/grader-qa", &["admin", "qa_lead", "vendor_lead_a", "vendor_lead_b"], none),
        op(M::GET, "/api/v1/review-plans", &["admin", "qa_lead", "vendor_lead_a", "vendor_lead_b"], none),
        op(M::POST, "/api/v1/review-plans", &["admin", "qa_lead"], |app| {
            Some((json!({"name": unique("Plan"), "scorecard_id": app.ids["scorecard"], "sample": {"percent": 10}, "grader_ids": [app.ids["user"]]}).to_string(), "application/json"))
        }),
        // reviewer_b of vendor B is the plan's grader: vendor_lead_b sees it, vendor_lead_a not.
        op(M::GET, "/api/v1/review-plans/{plan}", &["admin", "qa_lead", "vendor_lead_b"], none),
        op(M::PATCH, "/api/v1/review-plans/{plan}", &["admin", "qa_lead"], |_| {
            Some((json!({"active": true}).to_string(), "application/json"))
        }),
        // Everything matching is in the plan already: 409 for those who may draw.
        op(M::POST, "/api/v1/review-plans/{plan}/draws", &["admin", "qa_lead"], none),
        op(M::GET, "/api/v1/review-plans/{plan}/progress", &["admin", "qa_lead", "vendor_lead_b"], none),
        op(M::GET, "/api/v1/review-plans/{plan}/assignments", &["admin", "qa_lead", "vendor_lead_b"], none),
        op(
            M::GET,
            "/api/v1/queue",
            &["admin", "qa_lead", "reviewer", "reviewer_a", "vendor_lead_a", "vendor_lead_b"],
            none,
        ),
        // Only reviewer_b (not a caller) may start their item.
        op(M::POST, "/api/v1/queue/{assignment}/start", &[], none),
        op(M::GET, "/api/v1/reports/grading-habits", &["admin", "qa_lead", "vendor_lead_a", "vendor_lead_b"], none),
        // State changes last: reveal, a stale submit (409), cancel.
        op(M::POST, "/api/v1/calibrations/{calibration}/reveal", &["admin", "qa_lead"], none),
        op(M::POST, "/api/v1/calibrations/{calibration}/submit", &["admin", "qa_lead"], |_| {
            Some((json!({"publish": false, "revision": 0}).to_string(), "application/json"))
        }),
        op(M::POST, "/api/v1/calibrations/{calibration}/cancel", &["admin", "qa_lead"], |_| {
            Some((json!({"reason": "walk over"}).to_string(), "application/json"))
        }),
    ]
}

fn fill(app: &TestApp, template: &str) -> String {
    let mut path = template.to_string();
    for (key, value) in &app.ids {
        path = path.replace(&format!("{{{key}}}"), value);
    }
    path
}

/// The OpenAPI path of a walk template: `{user}` -> `{id}` and so on.
fn openapi_shape(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let mut out = String::new();
    let mut in_param = false;
    for ch in path.chars() {
        match ch {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            c => out.push(c),
        }
    }
    out
}

async fn route_walk(db: &TestDatabase) -> Result<()> {
    let db = TestDatabase::new(db.backend()).await;
    let app = TestApp::new(db).await?;
    let ops = operations();

    // Every operation of the document is walked (login is the one public route).
    let doc = serde_json::to_value(plumbline_server::openapi_document())?;
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            documented.push((method.to_uppercase(), openapi_shape(path)));
        }
    }
    let walked: Vec<(String, String)> = ops.iter().map(|o| (o.method.to_string(), openapi_shape(o.path))).collect();
    for d in &documented {
        ensure!(walked.contains(d) || d.1 == "/api/v1/login", "the walk misses {d:?}");
    }

    let mut checked = 0;
    for op in &ops {
        let uri = fill(&app, op.path);
        // No credentials: 401, always.
        let body = (op.body)(&app);
        let anonymous = app
            .call(
                op.method.clone(),
                &uri,
                None,
                body.clone().map(|(b, _)| Body::from(b)),
                body.as_ref().map_or("application/json", |b| b.1),
            )
            .await?;
        ensure!(
            anonymous.status == StatusCode::UNAUTHORIZED,
            "{} {} without credentials gave {}",
            op.method,
            op.path,
            anonymous.status
        );
        for caller in CALLERS {
            let body = (op.body)(&app);
            let content_type = body.as_ref().map_or("application/json", |b| b.1);
            let reply =
                app.call(op.method.clone(), &uri, Some(caller), body.map(|(b, _)| Body::from(b)), content_type).await?;
            let status = reply.status;
            ensure!(!status.is_server_error(), "{} {} as {caller}: {status} {}", op.method, op.path, reply.text);
            if op.allowed.contains(&caller) {
                ensure!(
                    !matches!(
                        status,
                        StatusCode::UNAUTHORIZED
                            | StatusCode::FORBIDDEN
                            | StatusCode::NOT_FOUND
                            | StatusCode::UNPROCESSABLE_ENTITY
                    ),
                    "{} {} as {caller} should be allowed, got {status}: {}",
                    op.method,
                    op.path,
                    reply.text
                );
            } else {
                ensure!(
                    matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY),
                    "{} {} as {caller} should be refused, got {status}: {}",
                    op.method,
                    op.path,
                    reply.text
                );
            }
            if !status.is_success() {
                ensure!(
                    reply.headers.get(header::CONTENT_TYPE).is_some_and(|v| v == "application/problem+json"),
                    "{} {} as {caller}: an error must be a problem document",
                    op.method,
                    op.path
                );
            }
            if caller.ends_with("_a") {
                for secret in &app.vendor_b_secrets {
                    ensure!(
                        !reply.text.contains(secret.as_str()),
                        "{} {} as {caller} leaked {secret:?}: {}",
                        op.method,
                        op.path,
                        reply.text
                    );
                }
            }
            checked += 1;
        }
    }
    eprintln!("route walk: {} operations x {} callers = {checked} requests", ops.len(), CALLERS.len());
    Ok(())
}

async fn sign_in_with_cookie_and_csrf(db: &TestDatabase) -> Result<()> {
    let db = TestDatabase::new(db.backend()).await;
    let app = TestApp::new(db).await?;
    let wrong = app
        .json(Method::POST, "/api/v1/login", None, json!({"email": "admin@example.test", "password": "nope"}))
        .await?;
    ensure!(wrong.status == StatusCode::UNAUTHORIZED);
    let ok = app
        .json(Method::POST, "/api/v1/login", None, json!({"email": "ADMIN@example.test", "password": PASSWORD}))
        .await?;
    ensure!(ok.status == StatusCode::OK, "{}", ok.text);
    let cookie = ok.headers.get(header::SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    ensure!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"), "{cookie}");
    let csrf = ok.json()["csrf_token"].as_str().unwrap_or_default().to_string();
    let session = cookie.split(';').next().unwrap_or_default().to_string();

    let with_cookie = |method: Method, uri: &str, csrf: Option<&str>| {
        let mut r = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::COOKIE, &session)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(c) = csrf {
            r = r.header("x-csrf-token", c);
        }
        r.body(Body::from(json!({"name": "from the browser"}).to_string())).expect("request")
    };
    ensure!(app.send(with_cookie(Method::GET, "/api/v1/me", None)).await?.status == StatusCode::OK);
    ensure!(
        app.send(with_cookie(Method::POST, "/api/v1/tokens", None)).await?.status == StatusCode::FORBIDDEN,
        "CSRF is checked"
    );
    ensure!(
        app.send(with_cookie(Method::POST, "/api/v1/tokens", Some("wrong"))).await?.status == StatusCode::FORBIDDEN
    );
    ensure!(app.send(with_cookie(Method::POST, "/api/v1/tokens", Some(&csrf))).await?.status == StatusCode::CREATED);

    // Behind a TLS proxy the cookie is Secure.
    let tls = app
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/login")
                .header(header::CONTENT_TYPE, "application/json")
                .header("x-forwarded-proto", "https")
                .body(Body::from(json!({"email": "qa-lead@example.test", "password": PASSWORD}).to_string()))?,
        )
        .await?;
    ensure!(tls.headers.get(header::SET_COOKIE).and_then(|v| v.to_str().ok()).is_some_and(|c| c.contains("; Secure")));

    // The pages: the login form sets a CSRF cookie; home needs a session.
    let home = app.send(Request::builder().uri("/").body(Body::empty())?).await?;
    ensure!(home.status == StatusCode::SEE_OTHER && home.headers[header::LOCATION] == "/login");
    let page = app.send(Request::builder().uri("/").header(header::COOKIE, &session).body(Body::empty())?).await?;
    ensure!(page.status == StatusCode::OK && page.text.contains("My work"), "{}", page.text);

    // Failed sign-ins are limited.
    for _ in 0..10 {
        app.json(Method::POST, "/api/v1/login", None, json!({"email": "reviewer@example.test", "password": "wrong"}))
            .await?;
    }
    let limited = app
        .json(Method::POST, "/api/v1/login", None, json!({"email": "reviewer@example.test", "password": PASSWORD}))
        .await?;
    ensure!(limited.status == StatusCode::TOO_MANY_REQUESTS && limited.headers.contains_key(header::RETRY_AFTER));
    Ok(())
}

async fn import_over_http(db: &TestDatabase) -> Result<()> {
    let db = TestDatabase::new(db.backend()).await;
    let app = TestApp::new(db).await?;
    let csv = "external_id,channel,agent,team,vendor,started_at,subject,csat\n\
               IMP-1,chat,New Agent,New Team,Alpha BPO,2026-02-01T10:00:00Z,Where is my parcel,5\n\
               IMP-2,email,Alan Alpha,,Alpha BPO,2026-02-02,Refund,4\n";
    let post = |body: &'static str, ct: &'static str| {
        app.call(Method::POST, "/api/v1/conversations/import", Some("qa_lead"), Some(Body::from(body)), ct)
    };
    let first = post(csv, "text/csv").await?;
    ensure!(first.status == StatusCode::OK, "{}", first.text);
    let summary = first.json();
    ensure!(
        summary["created"] == 2
            && summary["agents_created"] == json!(["New Agent"])
            && summary["teams_created"] == json!(["New Team"]),
        "{summary}"
    );
    let again = post(csv, "text/csv; charset=utf-8").await?.json();
    ensure!(again["created"] == 0 && again["updated"] == 2, "re-import updates: {again}");

    let bad = "external_id,channel,started_at,csat\nIMP-3,chat,2026-02-01,5\nIMP-4,fax,2026-02-01,9\n";
    let refused = post(bad, "text/csv").await?;
    ensure!(refused.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text);
    let rows = refused.json()["rows"].clone();
    ensure!(rows.as_array().is_some_and(|r| r.iter().any(|p| p["line"] == 3 && p["field"] == "channel")), "{rows}");
    let list = app.call(Method::GET, "/api/v1/conversations?limit=500", Some("admin"), None, "").await?.json();
    ensure!(!list.to_string().contains("IMP-3"), "nothing of a refused import is kept");

    let jsonl = "{\"external_id\":\"J-1\",\"channel\":\"phone\",\"started_at\":\"2026-03-01T08:00:00Z\",\"transcript\":[{\"author\":\"customer\",\"text\":\"<script>alert(1)</script>\"}]}\n";
    let ok = app
        .call(
            Method::POST,
            "/api/v1/conversations/import?format=jsonl",
            Some("admin"),
            Some(Body::from(jsonl)),
            "application/octet-stream",
        )
        .await?;
    ensure!(ok.status == StatusCode::OK && ok.json()["created"] == 1, "{}", ok.text);
    let unknown = post(csv, "application/pdf").await?;
    ensure!(unknown.status == StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A vendor's own users never import.
    ensure!(post(csv, "text/csv").await.is_ok());
    let as_lead = app
        .call(Method::POST, "/api/v1/conversations/import", Some("vendor_lead_a"), Some(Body::from(csv)), "text/csv")
        .await?;
    ensure!(as_lead.status == StatusCode::FORBIDDEN);
    Ok(())
}

/// Every page that shows something (GET), with vendor B's objects in the path, as every role
/// and as users of two vendors: never a server error, and no page a user of vendor A can open
/// holds any of vendor B's secrets.
async fn page_walk(db: &TestDatabase) -> Result<()> {
    let db = TestDatabase::new(db.backend()).await;
    let app = TestApp::new(db).await?;
    const PAGES: &[&str] = &[
        "/",
        "/calibrations",
        "/calibrations/new",
        "/calibrations/new/conversations",
        "/calibrations/{calibration}",
        "/calibrations/{calibration}/report",
        "/calibrations/{calibration2}",
        "/calibrations/{calibration2}/report",
        "/calibration-series",
        "/calibration-series/new",
        "/calibration-series/{series}",
        "/conversations",
        "/conversations/import",
        "/conversations/{conversation}",
        "/scorecards",
        "/scorecards/new",
        "/scorecards/{scorecard}",
        "/scorecards/{scorecard}/versions/new",
        "/scorecards/{scorecard}/versions/{version}",
        "/scorecards/{scorecard}/versions/{version}/edit",
        "/evaluations/{evaluation}",
        "/evaluations/{draft}",
        "/admin",
        "/account",
        "/reports/iqs",
        "/reports/calibration",
        "/reports/trend",
        "/reports/trend?interval=week&group_by=vendor",
        "/reports/vendors",
        "/reports/csat",
        "/reports/self-assessment",
        "/reports/leaderboard",
        "/reports/targets",
        "/reports/iqs?group_by=criterion&from=2026-01-01&to=2027-01-01",
        "/queue",
        "/queue?done=1",
        "/review-plans",
        "/review-plans/new",
        "/review-plans/{plan}",
        "/grader-qa",
        "/grader-qa/programs/new",
        "/grader-qa/audits/{audit}",
        "/reports/grader-qa",
        "/reports/grading-habits",
    ];
    for caller in CALLERS {
        let mut seen_b = 0;
        let email = format!("{}@example.test", caller.replace('_', "-"));
        let login =
            app.json(Method::POST, "/api/v1/login", None, json!({"email": email, "password": PASSWORD})).await?;
        ensure!(login.status == StatusCode::OK, "{caller}: {}", login.text);
        let cookie = login.headers.get(header::SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let cookie = cookie.split(';').next().unwrap_or_default().to_string();
        for page in PAGES {
            let uri = fill(&app, page);
            let reply =
                app.send(Request::builder().uri(&uri).header(header::COOKIE, &cookie).body(Body::empty())?).await?;
            ensure!(!reply.status.is_server_error(), "{page} as {caller}: {} {}", reply.status, reply.text);
            let html = reply.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
            ensure!(html.starts_with("text/html"), "{page} as {caller} is not a page: {html} {}", reply.text);
            if caller.ends_with("_a") {
                for secret in &app.vendor_b_secrets {
                    ensure!(!reply.text.contains(secret.as_str()), "{page} shows {secret:?} to {caller}");
                }
            }
            seen_b += usize::from(reply.text.contains("SECRET-B-CONV"));
        }
        // The walk really renders vendor B's data for those who may see it.
        ensure!(caller != "admin" || seen_b > 0, "no page showed vendor B's conversation to the admin");
        // A form field with U+0000 (which PostgreSQL cannot store) is not a server error.
        let csrf = login.json()["csrf_token"].as_str().unwrap_or_default().to_string();
        let form = app
            .send(
                Request::builder()
                    .method(Method::POST)
                    .uri("/account/tokens")
                    .header(header::COOKIE, &cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(format!("name=nul%00token&csrf={csrf}")))?,
            )
            .await?;
        ensure!(!form.status.is_server_error(), "a NUL in a form as {caller}: {} {}", form.status, form.text);
    }
    Ok(())
}

/// Deeply nested JSON, invalid UTF-8, huge numbers, SQL metacharacters and HTML: a clear 4xx
/// or stored verbatim as text, never a 5xx, never a crash.
async fn hostile_bodies_get_clear_errors(db: &TestDatabase) -> Result<()> {
    let db = TestDatabase::new(db.backend()).await;
    let app = TestApp::new(db).await?;
    let send = |body: Vec<u8>| {
        app.call(Method::POST, "/api/v1/scorecards", Some("admin"), Some(Body::from(body)), "application/json")
    };
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let nested = send(format!("{{\"name\": \"x\", \"definition\": {deep}}}").into_bytes()).await?;
    ensure!(nested.status.is_client_error(), "{} {}", nested.status, nested.text);
    let invalid_utf8 = send(b"{\"name\": \"\xff\xfe\", \"definition\": {}}".to_vec()).await?;
    ensure!(invalid_utf8.status == StatusCode::BAD_REQUEST, "{} {}", invalid_utf8.status, invalid_utf8.text);
    let huge = send(
        br#"{"name": "Huge", "definition": {"criteria": [{"title": "T", "weight": 1e999, "preset": "binary"}]}}"#
            .to_vec(),
    )
    .await?;
    ensure!(huge.status.is_client_error(), "{} {}", huge.status, huge.text);
    let big_int =
        app.json(Method::GET, "/api/v1/conversations?limit=99999999999999999999", Some("admin"), json!(null)).await?;
    ensure!(big_int.status == StatusCode::UNPROCESSABLE_ENTITY, "{} {}", big_int.status, big_int.text);

    // U+0000 cannot be stored as text (PostgreSQL): refused with its path, on both databases.
    let nul = app
        .json(
            Method::POST,
            "/api/v1/scorecards",
            Some("admin"),
            json!({"name": "ok", "definition": {"criteria": [{"title": "a\u{0}b", "preset": "binary"}]}}),
        )
        .await?;
    ensure!(
        nul.status == StatusCode::UNPROCESSABLE_ENTITY
            && nul.json()["errors"][0]["field"] == "definition.criteria[0].title",
        "{}",
        nul.text
    );
    let csv = "external_id,channel,started_at\nNUL-1,chat,2026-01-05\nNUL\u{0}2,chat,2026-01-05\n";
    let import = app
        .call(Method::POST, "/api/v1/conversations/import", Some("admin"), Some(Body::from(csv)), "text/csv")
        .await?;
    ensure!(import.status == StatusCode::UNPROCESSABLE_ENTITY && import.text.contains("NUL"), "{}", import.text);

    let nul_query = app
        .call(
            Method::DELETE,
            &fill(&app, "/api/v1/calibrations/{calibration}/participants/{user}?reason=a%00b"),
            Some("admin"),
            None,
            "",
        )
        .await?;
    ensure!(nul_query.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", nul_query.text);

    // SQL metacharacters and HTML are text: stored and returned exactly.
    let nasty = "Robert'); DROP TABLE evaluations;-- <script>alert(1)</script> \\ % _ é 🙂";
    let created = app
        .json(
            Method::POST,
            "/api/v1/scorecards",
            Some("admin"),
            json!({"name": nasty, "definition": {"criteria": [{"title": nasty, "preset": "binary"}]}}),
        )
        .await?;
    ensure!(created.status == StatusCode::CREATED, "{} {}", created.status, created.text);
    ensure!(
        created.json()["name"] == nasty && created.json()["versions"][0]["definition"]["criteria"][0]["title"] == nasty
    );
    let search =
        app.call(Method::GET, "/api/v1/conversations?channel=chat'%20OR%201=1--", Some("admin"), None, "").await?;
    ensure!(search.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", search.text);
    ensure!(app.json(Method::GET, "/api/v1/evaluations", Some("admin"), json!(null)).await?.status == StatusCode::OK);
    Ok(())
}

async fn errors_name_the_field(db: &TestDatabase) -> Result<()> {
    let db = TestDatabase::new(db.backend()).await;
    let app = TestApp::new(db).await?;
    let bad_choice = json!({
        "conversation_id": app.ids["conversation"], "scorecard_version_id": app.ids["version"],
        "answers": [{"criterion_id": app.ids["criterion"], "choice": {"option": 9}}]
    });
    let reply = app.json(Method::POST, "/api/v1/evaluations", Some("qa_lead"), bad_choice).await?;
    ensure!(
        reply.status == StatusCode::UNPROCESSABLE_ENTITY && reply.json()["errors"][0]["field"] == "answers[0].choice",
        "{}",
        reply.text
    );
    // Written and submitted in one request: an unanswered criterion is refused as a submission
    // is, and leaves no draft behind; a complete one comes back submitted and scored.
    let mine = || async {
        let list = app.json(Method::GET, "/api/v1/evaluations?status=draft", Some("qa_lead"), json!(null)).await?;
        anyhow::Ok(list.json()["items"].as_array().map_or(0, Vec::len))
    };
    let drafts = mine().await?;
    let incomplete = json!({
        "conversation_id": app.ids["conversation"], "scorecard_version_id": app.ids["version"], "submit": true
    });
    let reply = app.json(Method::POST, "/api/v1/evaluations", Some("qa_lead"), incomplete).await?;
    ensure!(reply.status == StatusCode::UNPROCESSABLE_ENTITY && reply.text.contains("answers"), "{}", reply.text);
    ensure!(mine().await? == drafts, "a refused submission leaves no draft");
    let complete = json!({
        "conversation_id": app.ids["conversation"], "scorecard_version_id": app.ids["version"], "submit": true,
        "answers": [{"criterion_id": app.ids["criterion"], "choice": {"option": 4}}]
    });
    let reply = app.json(Method::POST, "/api/v1/evaluations", Some("qa_lead"), complete).await?;
    ensure!(reply.status == StatusCode::CREATED, "{}", reply.text);
    let submitted = reply.json();
    ensure!(submitted["status"] == "submitted" && submitted["result"]["score"].is_number(), "{submitted}");
    let wrong_type =
        app.json(Method::POST, "/api/v1/evaluations", Some("qa_lead"), json!({"conversation_id": 5})).await?;
    ensure!(
        wrong_type.status == StatusCode::UNPROCESSABLE_ENTITY
            && wrong_type.json()["errors"][0]["field"] == "conversation_id",
        "{}",
        wrong_type.text
    );
    let broken = app
        .call(Method::POST, "/api/v1/tokens", Some("admin"), Some(Body::from("{\"name\": ")), "application/json")
        .await?;
    ensure!(
        broken.status == StatusCode::BAD_REQUEST && broken.headers[header::CONTENT_TYPE] == "application/problem+json"
    );
    let bad_card = app
        .json(
            Method::POST,
            "/api/v1/scorecards",
            Some("admin"),
            json!({"name": "X", "definition": {"criteria": [{"title": "", "weight": -2, "preset": "binary"}]}}),
        )
        .await?;
    let fields: Vec<String> = bad_card.json()["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str().map(str::to_string))
        .collect();
    ensure!(
        fields.contains(&"definition.criteria[0].title".to_string())
            && fields.contains(&"definition.criteria[0].weight".to_string()),
        "{fields:?}"
    );
    let bad_date = app.call(Method::GET, "/api/v1/conversations?from=yesterday", Some("admin"), None, "").await?;
    ensure!(bad_date.status == StatusCode::UNPROCESSABLE_ENTITY && bad_date.json()["errors"][0]["field"] == "from");
    let huge = app
        .call(
            Method::POST,
            "/api/v1/tokens",
            Some("admin"),
            Some(Body::from(vec![b' '; 3 * 1024 * 1024])),
            "application/json",
        )
        .await?;
    ensure!(huge.status == StatusCode::PAYLOAD_TOO_LARGE, "{}", huge.status);
    let health = app.send(Request::builder().uri("/readyz").body(Body::empty())?).await?;
    ensure!(health.status == StatusCode::OK);
    Ok(())
}

/// The scoring policies come with the credential's read: a submission made right after an admin
/// changes them scores with the new ones, and with the old ones again once they change back.
async fn a_submission_scores_with_the_policies_in_force(db: &TestDatabase) -> Result<()> {
    let db = TestDatabase::new(db.backend()).await;
    let app = TestApp::new(db).await?;
    let critical = json!({"name": "Identity", "definition": {"criteria": [
        {"title": "Verified identity", "preset": "binary", "critical": true},
        {"title": "Tone", "preset": "five_point"}
    ]}});
    let card = app.json(Method::POST, "/api/v1/scorecards", Some("qa_lead"), critical).await?;
    ensure!(card.status == StatusCode::CREATED, "{}", card.text);
    let (card, version) = (card.json()["id"].clone(), card.json()["versions"][0].clone());
    let activate = format!("/api/v1/scorecards/{}/versions/{}/activate", s(&card), s(&version["id"]));
    let activated = app.json(Method::POST, &activate, Some("qa_lead"), json!(null)).await?;
    ensure!(activated.status == StatusCode::OK, "{}", activated.text);
    let criteria = &version["definition"]["criteria"];
    // The critical criterion failed, the other at its best.
    let failed_critical = json!({
        "conversation_id": app.ids["conversation"], "scorecard_version_id": version["id"], "submit": true,
        "answers": [
            {"criterion_id": criteria[0]["id"], "choice": {"option": 1}},
            {"criterion_id": criteria[1]["id"], "choice": {"option": 0}}
        ]
    });
    let settings = |auto_fail: &str| json!({"na_policy": "exclude", "auto_fail_policy": auto_fail, "bands": {"excellent": 80.0, "good": 70.0}, "tolerance_points": 5.0});
    for (policy, scored_zero) in [("flag", false), ("zero", true)] {
        let put = app.json(Method::PUT, "/api/v1/settings", Some("admin"), settings(policy)).await?;
        ensure!(put.status == StatusCode::OK, "{}", put.text);
        let reply = app.json(Method::POST, "/api/v1/evaluations", Some("qa_lead"), failed_critical.clone()).await?;
        ensure!(reply.status == StatusCode::CREATED, "{}", reply.text);
        let score = reply.json()["result"]["score"].as_f64().context("a score")?;
        ensure!((score == 0.0) == scored_zero, "auto_fail_policy {policy} scored {score}");
    }
    Ok(())
}

/// A JSON string's text.
fn s(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

#[test]
fn openapi_document_is_stable() {
    let doc = serde_json::to_value(plumbline_server::openapi_document()).expect("serialises");
    assert_eq!(doc["openapi"], "3.1.0");
    insta::assert_json_snapshot!("openapi", doc);
}
