//! `plumbline generate` at a small size, on SQLite and PostgreSQL: the workspace it loads is
//! consistent (every evaluation has its twenty answers and a score) and the report rollups it
//! keeps while loading equal what `rebuild_rollups` computes from the evaluations, so the
//! reports benchmark measures a real workspace.

use anyhow::{Context, Result, ensure};
use plumbline_store::testing::{TestDatabase, count};
use plumbline_store::{Backend, Store};
use std::process::Command;

const CONVERSATIONS: usize = 2_000;
const EVALUATIONS: usize = 2_000;

fn run_generate(url: &str) -> Result<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_plumbline"))
        .args(["generate", "--database-url", url, "--seed", "11"])
        .args(["--conversations", &CONVERSATIONS.to_string(), "--evaluations", &EVALUATIONS.to_string()])
        .env("RUST_LOG", "warn")
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(output.status.success(), "generate failed: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    Ok(stdout)
}

async fn generated_rollups_equal_a_rebuild(backend: Backend) -> Result<()> {
    let db = TestDatabase::new(backend).await;
    let printed = run_generate(&db.url)?;
    ensure!(printed.contains("load time:"), "{printed}");
    let store = Store::connect(&db.url).await?;
    let ws = store.list_workspaces().await?.first().context("a workspace")?.id;

    let reviews =
        count(&store, "SELECT COUNT(*) FROM evaluations WHERE kind = 'review' AND status = 'submitted'").await;
    ensure!(reviews == EVALUATIONS as i64, "{reviews} reviews");
    let conversations = count(&store, "SELECT COUNT(*) FROM conversations").await;
    ensure!(conversations == CONVERSATIONS as i64, "{conversations} conversations");
    let self_reviews = count(&store, "SELECT COUNT(*) FROM evaluations WHERE kind = 'self_review'").await;
    ensure!(self_reviews > 0 && self_reviews < reviews / 20, "{self_reviews} self-reviews");
    let incomplete = count(
        &store,
        "SELECT COUNT(*) FROM evaluations e WHERE e.score IS NULL OR e.submitted_at IS NULL
            OR (SELECT COUNT(*) FROM evaluation_answers a WHERE a.evaluation_id = e.id) <> 20",
    )
    .await;
    ensure!(incomplete == 0, "{incomplete} evaluations without twenty answers and a score");
    let graders = count(&store, "SELECT COUNT(DISTINCT reviewer_id) FROM evaluations WHERE kind = 'review'").await;
    ensure!(graders > 300, "only {graders} graders reviewed");
    // Internal graders review some of the BPO vendors' conversations.
    let cross = count(
        &store,
        "SELECT COUNT(*) FROM evaluations e JOIN users u ON u.id = e.reviewer_id
         JOIN vendors gv ON gv.id = u.vendor_id JOIN vendors cv ON cv.id = e.vendor_id
         WHERE gv.is_internal = 1 AND cv.is_internal = 0",
    )
    .await;
    ensure!(cross > 0, "no internal grader reviewed a BPO conversation");

    let kept = store.rollup_totals(ws).await?;
    ensure!(kept.iter().any(|(name, v)| name == "rollup_agent.0.evaluations" && *v == EVALUATIONS as f64), "{kept:?}");
    let counted = store.rebuild_rollups(ws).await?;
    ensure!(counted == EVALUATIONS as u64, "the rebuild counted {counted}");
    let rebuilt = store.rollup_totals(ws).await?;
    ensure!(kept.len() == rebuilt.len(), "{kept:?}\n{rebuilt:?}");
    for ((name, a), (other, b)) in kept.iter().zip(&rebuilt) {
        ensure!(name == other, "{name} vs {other}");
        // Sums of the same numbers in another order.
        ensure!((a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0), "{name}: kept {a}, rebuilt {b}");
    }
    store.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_rollups_equal_a_rebuild_sqlite() -> Result<()> {
    generated_rollups_equal_a_rebuild(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_rollups_equal_a_rebuild_postgres() -> Result<()> {
    generated_rollups_equal_a_rebuild(Backend::Postgres).await
}
