//! The binary under stress: kill -9 in the middle of thousands of concurrent evaluation
//! submissions loses no acknowledged one and leaves none half-written (SQLite and PostgreSQL);
//! a backup taken while writers run restores to a consistent database holding every write
//! acknowledged before it began.

use anyhow::{Context, Result, bail, ensure};
use plumbline_domain::conversation::{Channel, ConversationMetrics, ConversationRecord};
use plumbline_domain::evaluation::EvaluationStatus;
use plumbline_domain::org::Role;
use plumbline_domain::scorecard::{CriterionInput, DefinitionInput, ScalePreset, ScorecardDefinition};
use plumbline_domain::{ConversationId, EvaluationId, WorkspaceId};
use plumbline_store::testing::TestDatabase;
use plumbline_store::{Backend, ImportItem, NewUser, Store};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SUBMISSIONS: usize = 5_000;
const KILL_AFTER: usize = 2_500;
const CLIENTS: usize = 32;

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    async fn start(url: &str) -> Result<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(env!("CARGO_BIN_EXE_plumbline"))
            .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string(), "--database-url", url])
            .env("RUST_LOG", "warn")
            .env_remove("MALLOC_ARENA_MAX")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = Server { child, port };
        // The server restarts itself with bounded malloc arenas (same process id).
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            let environ = |pid: u32| std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let deadline = Instant::now() + Duration::from_secs(10);
            while !environ(server.child.id()).split(|b| *b == 0).any(|v| v == b"MALLOC_ARENA_MAX=2") {
                if Instant::now() > deadline {
                    bail!("the server did not restart with MALLOC_ARENA_MAX=2");
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if matches!(request(port, "GET", "/readyz", "", "").await, Ok((200, _))) {
                return Ok(server);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the server did not become ready")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection: (status, body).
async fn request(port: u16, method: &str, path: &str, token: &str, body: &str) -> Result<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let auth = if token.is_empty() { String::new() } else { format!("Authorization: Bearer {token}\r\n") };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).context("a status line")?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((status, body))
}

struct Scene {
    db: TestDatabase,
    token: String,
    version: String,
    criterion: String,
    conversations: Vec<ConversationId>,
}

/// A workspace with a reviewer and their API token, a one-criterion scorecard and conversations.
async fn scene(backend: Backend, conversations: usize) -> Result<Scene> {
    let db = TestDatabase::new(backend).await;
    let store = &db.store;
    let (ws, internal) = store.create_workspace("Acme", "Acme Support").await?;
    let user = store
        .create_user(
            ws.id,
            NewUser {
                vendor_id: internal.id,
                email: "grader@example.test".into(),
                name: "Grader".into(),
                role: Role::Reviewer,
                password_hash: plumbline_server::auth::hash_password("a long password"),
                agent_id: None,
            },
        )
        .await?;
    let token = plumbline_server::auth::new_secret();
    store.create_token(user.id, "stress", &plumbline_server::auth::digest(&token)).await?;
    let definition = ScorecardDefinition::parse(DefinitionInput {
        groups: vec![],
        criteria: vec![CriterionInput {
            id: None,
            group: None,
            title: "Resolved".into(),
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
    let ids = import(store, ws.id, conversations).await?;
    Ok(Scene {
        token,
        version: version.id.to_string(),
        criterion: version.definition.criteria[0].id.to_string(),
        conversations: ids,
        db,
    })
}

/// Imports `n` conversations in one transaction and returns their ids.
async fn import(store: &Store, ws: WorkspaceId, n: usize) -> Result<Vec<ConversationId>> {
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<ImportItem>(256);
    let feeder = tokio::spawn(async move {
        for i in 0..n {
            let record = ConversationRecord {
                external_id: format!("STRESS-{i}"),
                channel: Channel::Chat,
                agent: None,
                team: None,
                vendor: None,
                started_at: 1_767_225_600_000,
                subject: String::new(),
                transcript: vec![],
                tags: vec![],
                metrics: ConversationMetrics::default(),
            };
            if sender.send(Ok((i as u64 + 2, record))).await.is_err() {
                break;
            }
        }
    });
    store.import_conversations(ws, &mut receiver).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    feeder.await?;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(store.get_conversation_by_external_id(ws, &format!("STRESS-{i}")).await?.id);
    }
    Ok(ids)
}

async fn kill_nine_loses_no_acknowledged_submission(backend: Backend) -> Result<()> {
    let scene = Arc::new(scene(backend, SUBMISSIONS).await?);
    let mut server = Server::start(&scene.db.url).await?;
    let port = server.port;
    let next = Arc::new(AtomicUsize::new(0));
    let acknowledged: Arc<Mutex<Vec<EvaluationId>>> = Arc::default();
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (scene, next, acknowledged) = (scene.clone(), next.clone(), acknowledged.clone());
        clients.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= SUBMISSIONS {
                    return;
                }
                let body = format!(
                    r#"{{"conversation_id":"{}","scorecard_version_id":"{}","answers":[{{"criterion_id":"{}","choice":{{"option":{}}}}}]}}"#,
                    scene.conversations[i],
                    scene.version,
                    scene.criterion,
                    i % 2
                );
                let Ok((201, created)) = request(port, "POST", "/api/v1/evaluations", &scene.token, &body).await else {
                    return; // the server is gone
                };
                let id: serde_json::Value = serde_json::from_str(&created).unwrap_or_default();
                let Some(id) = id["id"].as_str().and_then(|s| s.parse::<EvaluationId>().ok()) else { return };
                match request(port, "POST", &format!("/api/v1/evaluations/{id}/submit"), &scene.token, "").await {
                    Ok((200, _)) => acknowledged.lock().expect("lock").push(id),
                    _ => return,
                }
            }
        }));
    }
    // kill -9 once half the submissions are acknowledged.
    let deadline = Instant::now() + Duration::from_secs(300);
    while acknowledged.lock().expect("lock").len() < KILL_AFTER {
        ensure!(Instant::now() < deadline, "too slow: {} acknowledged", acknowledged.lock().expect("lock").len());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.child.kill()?; // SIGKILL
    server.child.wait()?;
    for client in clients {
        client.await?;
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    ensure!(acknowledged.len() >= KILL_AFTER && acknowledged.len() < SUBMISSIONS, "{}", acknowledged.len());

    // Restart: the server comes back on the same database, and every acknowledged submission
    // is there, submitted, scored and with its answer.
    let server = Server::start(&scene.db.url).await?;
    let store = Store::connect(&scene.db.url).await?;
    store.integrity_check().await?;
    let ws = store.list_workspaces().await?[0].id;
    for id in &acknowledged {
        let (evaluation, _) = store.get_evaluation(ws, *id).await.with_context(|| format!("{id} was lost"))?;
        ensure!(evaluation.status == EvaluationStatus::Submitted, "{id} is not submitted");
        ensure!(evaluation.result.as_ref().is_some_and(|r| r.score.is_some()), "{id} has no score");
        ensure!(evaluation.answers.len() == 1, "{id} lost its answer");
    }
    // Nothing half-written anywhere: every evaluation has its answer; every submitted one a score.
    let half = plumbline_store::testing::count(
        &store,
        "SELECT COUNT(*) FROM evaluations e WHERE (SELECT COUNT(*) FROM evaluation_answers a WHERE a.evaluation_id = e.id) <> 1
            OR (e.status = 'submitted' AND e.score IS NULL)",
    )
    .await;
    ensure!(half == 0, "{half} half-written evaluations");
    let (status, body) =
        request(server.port, "GET", &format!("/api/v1/evaluations/{}", acknowledged[0]), &scene.token, "").await?;
    ensure!(status == 200 && body.contains("\"submitted\""), "{status} {body}");
    store.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_nine_sqlite() -> Result<()> {
    kill_nine_loses_no_acknowledged_submission(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_nine_postgres() -> Result<()> {
    kill_nine_loses_no_acknowledged_submission(Backend::Postgres).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_under_load_restores_a_consistent_database() -> Result<()> {
    let scene = scene(Backend::Sqlite, 10).await?;
    let store = scene.db.store.clone();
    let ws = store.list_workspaces().await?[0].id;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let acknowledged: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..4 {
        let (store, stop, acknowledged) = (store.clone(), stop.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                let external = format!("LOAD-{w}-{n}");
                let record = ConversationRecord {
                    external_id: external.clone(),
                    channel: Channel::Email,
                    agent: None,
                    team: None,
                    vendor: None,
                    started_at: 1_767_225_600_000,
                    subject: "under load".into(),
                    transcript: vec![],
                    tags: vec![],
                    metrics: ConversationMetrics::default(),
                };
                if store.put_conversation(ws, &record).await.is_ok() {
                    acknowledged.lock().expect("lock").push((external, Instant::now()));
                }
                n += 1;
            }
        }));
    }
    while acknowledged.lock().expect("lock").len() < 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let dir = std::env::temp_dir().join(format!("plumbline-backup-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("backup.db");
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_plumbline"))
        .args(["backup", file.to_str().context("path")?, "--database-url", &scene.db.url])
        .output()?;
    ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // Writers ran during the backup; stop them once some commits landed after it.
    let after = acknowledged.lock().expect("lock").len();
    while acknowledged.lock().expect("lock").len() < after + 50 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await?;
    }
    // A second backup to the same file is refused rather than overwriting it.
    let again = Command::new(env!("CARGO_BIN_EXE_plumbline"))
        .args(["backup", file.to_str().context("path")?, "--database-url", &scene.db.url])
        .output()?;
    ensure!(!again.status.success());

    let restored_dir = dir.join("restored");
    let output = Command::new(env!("CARGO_BIN_EXE_plumbline"))
        .args(["restore", file.to_str().context("path")?, "--data-dir", restored_dir.to_str().context("path")?])
        .env_remove("DATABASE_URL")
        .env_remove("PLUMBLINE_DATABASE_URL")
        .output()?;
    ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let restored = Store::open_sqlite_file(&restored_dir.join("plumbline.db")).await?;
    restored.integrity_check().await?;
    let ws = restored.list_workspaces().await?[0].id;
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let before: Vec<&String> = acknowledged.iter().filter(|(_, at)| *at < started).map(|(e, _)| e).collect();
    ensure!(before.len() >= 100);
    for external in &before {
        restored
            .get_conversation_by_external_id(ws, external)
            .await
            .with_context(|| format!("{external}, acknowledged before the backup began, is missing"))?;
    }
    let total =
        plumbline_store::testing::count(&restored, "SELECT COUNT(*) FROM conversations WHERE subject = 'under load'")
            .await;
    ensure!(
        total as usize >= before.len() && (total as usize) < acknowledged.len(),
        "{total} of {}",
        acknowledged.len()
    );
    // Restoring over an existing database needs --force.
    let refused = Command::new(env!("CARGO_BIN_EXE_plumbline"))
        .args(["restore", file.to_str().context("path")?, "--data-dir", restored_dir.to_str().context("path")?])
        .env_remove("DATABASE_URL")
        .env_remove("PLUMBLINE_DATABASE_URL")
        .output()?;
    ensure!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("--force"));
    restored.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
