//! Write transactions, and group commit on SQLite.
//!
//! SQLite has one writer at a time, and with `synchronous = FULL` every commit waits for the disk
//! (about 1.7 ms here). Committed one by one, a submission's two transactions (create, submit)
//! capped the server near 180 submissions a second however many clients there were, and
//! concurrent writers met in SQLite's busy handler, which sleeps 1 to 100 ms between retries: those
//! sleeps, not the work, set the p99.
//!
//! So on SQLite writers take turns in the process (a fair queue, [`Group`]) on one connection that
//! holds an open transaction, the *batch*. Each writer works inside its own savepoint: an error or
//! a dropped writer rolls back to it and takes nothing else with it. A writer that commits keeps
//! its savepoint and waits; the last writer in the queue (or the 64th of a batch) commits the batch
//! with one disk sync and every waiting writer learns the outcome. A writer is acknowledged only
//! after the batch that holds its writes is on disk, so an acknowledged write survives a crash or a
//! power loss exactly as before; a batch that fails to commit fails every writer in it, none of
//! whom has been acknowledged. Writers in one batch see each other's writes, as they would have one
//! after the other. PostgreSQL has row locks and its own group commit: each writer gets an ordinary
//! transaction there.
//!
//! The report rollup rows a writer adds (thirteen for a review: 3 agent, 6 segment and 4
//! criteria rows) are not written as it goes: the writer hands them over
//! ([`WriteTx::defer_rollups`]), a released savepoint adds them to the batch's, and the batch
//! writes the sums of all its writers once, just before it commits. Many of those rows are
//! shared (the day's and month's rows of a vendor's teams together), so a batch of twenty writes
//! fewer rows than twenty writers would, and no writer spends its turn on them.
//! They are still in the same transaction as the writes they sum, so a report never counts a write
//! that was not committed nor misses one that was acknowledged.
//!
//! A kept savepoint is released by the next writer's first statement (`RELEASE writer_a;
//! SAVEPOINT writer_b; …`, see [`WriteTx::opening`]) or when the batch ends, not by a statement of
//! its own: the turn every other writer waits for is then one round trip to SQLite's thread, not
//! two (median +10% submissions a second when measured). Two names alternate, so at most two savepoints
//! are open and a writer that is rolled back can tell its own from the one before it. If its
//! savepoint is missing, its first statement either never ran or failed before opening it, or
//! SQLite rolled the whole transaction back by itself (a full disk): the writer releases the
//! previous one in case it is still open and asks SQLite whether a transaction is still open
//! ([`settle_missing`]); if not, the batch fails as a whole rather than letting later writers run
//! outside it.
//!
//! A savepoint keeps the old contents of each page its writer changes, to roll back to. By
//! default SQLite keeps the first 64 KiB of them in memory and writes the rest to a temporary
//! file, and a review changes more than that (a page of each index it enters): two system calls
//! a page, in the turn every other writer waits for, and the largest share of the writers'
//! thread's time. So the writers' connection keeps them in memory (`temp_store = MEMORY`: medians
//! of three runs +9% and +16% submissions a second in two measurements). A writer whose writes
//! have no bound (an import, a rebuild, the generator's chunks) would then hold a copy of every
//! page it changes in memory: it writes alone instead ([`Joining::Alone`]), in a transaction of
//! its own without a savepoint, since rolling back its transaction takes nothing else with it.
//!
//! SQLite copies the write-ahead log back into the database (a checkpoint) in the commit that
//! finds the log over its limit, and every writer waiting on that batch waited for the copy too:
//! the slow commits were most of the mean commit time. Here a task checkpoints every 20 ms after
//! commits ([`checkpoints`], PASSIVE: beside the writers and readers, never blocking them), and a
//! commit checkpoints only if that task falls far behind (`wal_autocheckpoint` 10,000 pages).
//! A checkpoint still syncs the database file while a commit syncs the log, and the commit then
//! waits longer: the fewer pages a checkpoint copies, the shorter the wait. With 32 clients the
//! submissions' p99 was 37-42 ms checkpointing every 100 ms, 29-35 ms every 40 ms and 28-31 ms
//! every 20 ms (at 20,000 and at 1,000,000 reviews, runs alternated), for at most 4% more CPU
//! per submission; every second (fewer, larger checkpoints) it was 99-112 ms on a slower day.

use crate::rollups::{DeferredRollups, RollupBatch};
use crate::{Result, StoreError};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

/// The most writers one commit carries, so that a steady stream of writers is still acknowledged.
const MAX_BATCH: usize = 64;

/// How many more writers' rollup rows a batch makes room for when its first writer joins.
const WRITERS_TO_RESERVE_FOR: usize = 31;

/// How often the log is checkpointed while writers commit.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(20);

/// How long a writer waits for its batch before committing the batch itself: a safety net for a
/// writer that was cancelled while the others counted on it to commit.
const LEADER_TIMEOUT: Duration = Duration::from_millis(50);

/// The SQLite writers' queue and the batch in progress.
#[derive(Debug, Default)]
pub(crate) struct Group {
    state: Arc<Mutex<Batching>>,
    /// Writers waiting for their turn; while there are some, a finishing writer leaves the batch
    /// open for them instead of committing it.
    waiting: AtomicUsize,
    /// Batches committed, so that [`checkpoints`] runs only after some.
    commits: AtomicU64,
}

#[derive(Debug, Default)]
struct Batching {
    /// The writers' connection; inside a transaction while `batch` is set.
    conn: Option<PoolConnection<Any>>,
    batch: Option<Arc<Batch>>,
    /// Writers whose writes were kept in the open batch.
    members: usize,
    /// The savepoint of the last writer kept, while it is still open: the next writer's first
    /// statement releases it (see the module's notes).
    kept: Option<Savepoint>,
    /// The savepoint of the writer holding the turn, once its first statement may have opened it.
    current: Option<Savepoint>,
    /// Why the open batch can no longer commit (a savepoint could not be released or rolled back).
    failed: Option<String>,
    /// The rollup rows of the writers kept in the open batch, written before it commits.
    deferred: DeferredRollups,
    /// The writer holding the turn has not opened its savepoint yet: its first statement will
    /// ([`WriteTx::opening`]), and until then it has nothing to release or roll back.
    savepoint_pending: bool,
    /// The open batch is one writer's alone ([`Joining::Alone`]).
    alone: bool,
}

/// How a writer joins a batch on SQLite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Joining {
    /// In a savepoint opened as its turn begins.
    Savepoint,
    /// In a savepoint its first statement opens ([`WriteTx::opening`]): one round trip to
    /// SQLite's thread fewer in a turn every other writer waits for.
    ByFirstStatement,
    /// In a transaction of its own, without a savepoint: for a writer whose writes have no bound
    /// (see the module's notes). The batch before it commits first.
    Alone,
}

/// The two savepoint names writers alternate between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Savepoint {
    A,
    B,
}

impl Savepoint {
    /// The savepoint of the writer after the one that kept `kept`.
    fn after(kept: Option<Savepoint>) -> Savepoint {
        if kept == Some(Savepoint::A) { Savepoint::B } else { Savepoint::A }
    }

    /// What opens this savepoint, releasing `kept` first.
    fn opening(self, kept: Option<Savepoint>) -> &'static str {
        match (kept, self) {
            (Some(Savepoint::A), Savepoint::B) => "RELEASE writer_a;\nSAVEPOINT writer_b;\n",
            (Some(Savepoint::B), Savepoint::A) => "RELEASE writer_b;\nSAVEPOINT writer_a;\n",
            (None, Savepoint::A) => "SAVEPOINT writer_a;\n",
            (None, Savepoint::B) => "SAVEPOINT writer_b;\n",
            (Some(_), _) => unreachable!("a writer's savepoint differs from the one before it"),
        }
    }

    fn release(self) -> &'static str {
        match self {
            Savepoint::A => "RELEASE writer_a",
            Savepoint::B => "RELEASE writer_b",
        }
    }

    fn roll_back(self) -> &'static str {
        match self {
            Savepoint::A => "ROLLBACK TO writer_a; RELEASE writer_a",
            Savepoint::B => "ROLLBACK TO writer_b; RELEASE writer_b",
        }
    }
}

#[derive(Debug)]
struct Batch {
    outcome: watch::Sender<Option<std::result::Result<(), String>>>,
}

/// A write transaction; derefs to its connection (`&mut *tx` runs a statement in it) and rolls
/// back when dropped uncommitted.
pub(crate) struct WriteTx {
    inner: Inner,
    /// This writer's rollup rows, written when it commits (with its batch on SQLite).
    deferred: DeferredRollups,
}

enum Inner {
    /// `None` once committed or rolled back.
    Postgres(Option<sqlx::Transaction<'static, Any>>),
    Sqlite {
        group: Arc<Group>,
        turn: Option<OwnedMutexGuard<Batching>>,
    },
}

/// Counts a writer as waiting until it has its turn or gives up.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl WriteTx {
    pub(crate) async fn postgres(pool: &AnyPool) -> Result<WriteTx> {
        Ok(WriteTx::of(Inner::Postgres(Some(pool.begin().await?))))
    }

    /// Waits for this writer's turn and joins the batch (opening a batch if none is open) as
    /// `joining` says.
    pub(crate) async fn sqlite(pool: &AnyPool, group: &Arc<Group>, joining: Joining) -> Result<WriteTx> {
        let mut turn = {
            let _waiting = Waiting::new(&group.waiting);
            group.state.clone().lock_owned().await
        };
        if turn.failed.is_some() || (joining == Joining::Alone && turn.batch.is_some()) {
            end_batch(&mut turn, &group.commits).await;
        }
        if turn.batch.is_none() {
            if turn.conn.is_none() {
                let mut conn = pool.acquire().await?;
                // Savepoints keep the old pages in memory (see the module's notes).
                conn.execute("PRAGMA temp_store = MEMORY").await?;
                turn.conn = Some(conn);
            }
            // Not a sqlx transaction: the connection stays in the batch across writers.
            turn.conn.as_mut().expect("the writers' connection").execute("BEGIN IMMEDIATE").await?;
            turn.batch = Some(Arc::new(Batch { outcome: watch::Sender::new(None) }));
        }
        match joining {
            Joining::Alone => turn.alone = true,
            Joining::ByFirstStatement => turn.savepoint_pending = true,
            Joining::Savepoint => {}
        }
        if joining != Joining::Savepoint {
            return Ok(WriteTx::of(Inner::Sqlite { group: group.clone(), turn: Some(turn) }));
        }
        let opening = turn.open_savepoint();
        let savepoint = turn.conn.as_mut().expect("an open batch has its connection").execute(opening).await;
        let tx = WriteTx::of(Inner::Sqlite { group: group.clone(), turn: Some(turn) });
        if let Err(e) = savepoint {
            // Dropping `tx` leaves the batch as if this writer had rolled back.
            return Err(e.into());
        }
        Ok(tx)
    }

    fn of(inner: Inner) -> WriteTx {
        WriteTx { inner, deferred: DeferredRollups::default() }
    }

    /// What a lazily opened writer's first statement begins with ([`WriteTx::sqlite`]): its
    /// savepoint (after releasing the one the writer before it kept), once; nothing on PostgreSQL
    /// or after the first time.
    pub(crate) fn opening(&mut self) -> &'static str {
        match &mut self.inner {
            Inner::Sqlite { turn: Some(turn), .. } if turn.savepoint_pending => turn.open_savepoint(),
            _ => "",
        }
    }

    /// Rollup rows to add when this transaction commits (see the module's notes).
    pub(crate) fn defer_rollups(&mut self, batch: RollupBatch) {
        self.deferred.add(batch);
    }

    /// Commits: on SQLite, returns once the batch holding these writes is on disk.
    pub(crate) async fn commit(mut self) -> Result<()> {
        let mut deferred = std::mem::take(&mut self.deferred);
        if matches!(self.inner, Inner::Postgres(_)) {
            deferred.flush(&mut self).await?;
        }
        match &mut self.inner {
            Inner::Postgres(tx) => {
                tx.take().expect("an uncommitted transaction").commit().await?;
                Ok(())
            }
            Inner::Sqlite { group, turn } => {
                let mut turn = turn.take().expect("an uncommitted writer has its turn");
                let batch = turn.batch.clone().expect("a writer is in a batch");
                let group = group.clone();
                let mut outcome = batch.outcome.subscribe();
                // Kept without a statement: its savepoint stays open for the next writer to
                // release (see the module's notes).
                turn.savepoint_pending = false;
                if let Some(mine) = turn.current.take() {
                    turn.kept = Some(mine);
                }
                turn.members += 1;
                turn.deferred.append(deferred);
                if turn.members == 1 {
                    // A batch usually takes every writer waiting (about as many as there are
                    // concurrent clients), most of them with rows like the first one's.
                    turn.deferred.reserve_for(WRITERS_TO_RESERVE_FOR);
                }
                if turn.should_end(&group) {
                    // In its own task: a caller that stops waiting must not leave the batch half
                    // committed.
                    let commits = group.clone();
                    tokio::spawn(async move { end_batch(&mut turn, &commits.commits).await });
                } else {
                    // Hands the turn on.
                    drop(turn);
                }
                loop {
                    let waited = tokio::time::timeout(LEADER_TIMEOUT, outcome.wait_for(Option::is_some))
                        .await
                        .map(|done| done.map(|outcome| outcome.clone()));
                    match waited {
                        Ok(Ok(done)) => return done.expect("waited for an outcome").map_err(StoreError::Database),
                        Ok(Err(_)) => return Err(StoreError::Database("the write batch was abandoned".into())),
                        Err(_) => {
                            // Nobody committed the batch in time: whoever holds the turn with no
                            // writer inside may end it.
                            let mut turn = group.state.clone().lock_owned().await;
                            if turn.batch.as_ref().is_some_and(|open| Arc::ptr_eq(open, &batch)) {
                                end_batch(&mut turn, &group.commits).await;
                            }
                        }
                    }
                }
            }
        }
    }

    pub(crate) async fn rollback(mut self) -> std::result::Result<(), sqlx::Error> {
        match &mut self.inner {
            Inner::Postgres(tx) => tx.take().expect("an uncommitted transaction").rollback().await,
            // Dropping rolls back to the savepoint.
            Inner::Sqlite { .. } => Ok(()),
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if let Inner::Sqlite { group, turn } = &mut self.inner
            && let Some(mut turn) = turn.take()
        {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(roll_back(turn, group.clone()));
                }
                Err(_) => turn.failed = Some("a writer was dropped outside the runtime".into()),
            }
        }
    }
}

/// A writer that did not commit leaves the batch: its savepoint is rolled back. The last writer
/// in the queue ends the batch.
async fn roll_back(mut turn: OwnedMutexGuard<Batching>, group: Arc<Group>) {
    let state = &mut *turn;
    state.savepoint_pending = false;
    if let Some(mine) = state.current.take() {
        let conn = state.conn.as_mut().expect("an open batch has its connection");
        let done = match conn.execute(mine.roll_back()).await {
            // Its savepoint was opened after the one before it was released.
            Ok(_) => {
                state.kept = None;
                Ok(())
            }
            Err(e) if e.to_string().contains("no such savepoint") => settle_missing(conn, state.kept.take()).await,
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = done {
            state.failed.get_or_insert(format!("a write in this batch could not be finished: {e}"));
        }
    }
    if state.should_end(&group) {
        end_batch(state, &group.commits).await;
    }
}

/// After a writer found its savepoint missing (see the module's notes): releases the savepoint
/// kept before it if that is still open, and fails unless the batch's transaction still is.
async fn settle_missing(conn: &mut AnyConnection, kept: Option<Savepoint>) -> std::result::Result<(), String> {
    if let Some(kept) = kept {
        match conn.execute(kept.release()).await {
            // Released here, or already by the writer's statement, or gone with the transaction.
            Ok(_) => {}
            Err(e) if e.to_string().contains("no such savepoint") => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    // BEGIN fails inside a transaction; outside one it opens one that the batch's end rolls back.
    match conn.execute("BEGIN").await {
        Err(e) if e.to_string().contains("within a transaction") => Ok(()),
        Ok(_) => Err("SQLite rolled the transaction back".into()),
        Err(e) => Err(e.to_string()),
    }
}

impl Batching {
    /// Opens the savepoint of the writer holding the turn: what its first statement begins with.
    fn open_savepoint(&mut self) -> &'static str {
        self.savepoint_pending = false;
        let mine = Savepoint::after(self.kept);
        self.current = Some(mine);
        mine.opening(self.kept)
    }

    /// Whether the writer leaving should end the batch: its own, nobody waiting for a turn, a full
    /// batch, or one that can no longer commit.
    fn should_end(&self, group: &Group) -> bool {
        self.alone || group.waiting.load(Ordering::SeqCst) == 0 || self.members >= MAX_BATCH || self.failed.is_some()
    }
}

/// Commits the open batch with its writers' rollup rows (or rolls it back if it failed) and
/// tells its writers.
async fn end_batch(state: &mut Batching, commits: &AtomicU64) {
    let Some(batch) = state.batch.take() else { return };
    let mut conn = state.conn.take().expect("an open batch has its connection");
    let mut deferred = std::mem::take(&mut state.deferred);
    let kept = state.kept.take();
    state.current = None;
    state.savepoint_pending = false;
    state.alone = false;
    let outcome = match state.failed.take() {
        Some(why) => Err(why),
        None if state.members == 0 => conn.execute("ROLLBACK").await.map(|_| ()).map_err(|e| e.to_string()),
        None => match write_rollups(&mut conn, kept, &mut deferred).await {
            Ok(()) => {
                conn.execute("COMMIT").await.map(|_| ()).map_err(|e| format!("the write could not be committed: {e}"))
            }
            Err(e) => Err(format!("the report rollups could not be written: {e}")),
        },
    };
    state.members = 0;
    if outcome.is_ok() {
        commits.fetch_add(1, Ordering::Relaxed);
        state.conn = Some(conn);
    } else {
        // The connection's state is unknown: roll back what can be and never reuse it.
        let _ = conn.execute("ROLLBACK").await;
        let _ = conn.close().await;
    }
    batch.outcome.send_replace(Some(outcome));
}

/// Writes a batch's rollup rows, after releasing the last kept savepoint so that SQLite does not
/// keep their pages' old contents for a rollback to it.
async fn write_rollups(
    conn: &mut AnyConnection,
    kept: Option<Savepoint>,
    deferred: &mut DeferredRollups,
) -> Result<()> {
    if let Some(kept) = kept {
        conn.execute(kept.release()).await?;
    }
    deferred.flush(conn).await
}

/// Checkpoints the log after commits (see the module's notes), until the store is gone or its
/// pool closed. A checkpoint that fails is tried again at the next tick; the commits' own
/// checkpoints remain the fallback.
pub(crate) async fn checkpoints(pool: AnyPool, group: std::sync::Weak<Group>) {
    let mut done = 0;
    loop {
        tokio::time::sleep(CHECKPOINT_EVERY).await;
        let Some(group) = group.upgrade() else { return };
        if pool.is_closed() {
            return;
        }
        let commits = group.commits.load(Ordering::Relaxed);
        drop(group);
        if commits != done && sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await.is_ok() {
            done = commits;
        }
    }
}

impl Group {
    /// Ends any open batch and hands the writers' connection back, so the pool can close.
    pub(crate) async fn close(&self) {
        let mut turn = self.state.lock().await;
        end_batch(&mut turn, &self.commits).await;
        if let Some(conn) = turn.conn.take() {
            let _ = conn.close().await;
        }
    }
}

impl std::ops::Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match &self.inner {
            Inner::Postgres(tx) => tx.as_deref().expect("an uncommitted transaction"),
            Inner::Sqlite { turn, .. } => {
                turn.as_ref().and_then(|t| t.conn.as_ref()).expect("an uncommitted writer has its connection")
            }
        }
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.inner {
            Inner::Postgres(tx) => tx.as_deref_mut().expect("an uncommitted transaction"),
            Inner::Sqlite { turn, .. } => {
                turn.as_mut().and_then(|t| t.conn.as_mut()).expect("an uncommitted writer has its connection")
            }
        }
    }
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use crate::Backend;
    use crate::testing::TestDatabase;
    use sqlx::Executor;

    async fn count(db: &TestDatabase) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM write_probe").fetch_one(db.store.pool()).await.unwrap()
    }

    async fn probe(backend: Backend) -> TestDatabase {
        let db = TestDatabase::new(backend).await;
        db.store.pool().execute("CREATE TABLE write_probe (n BIGINT NOT NULL)").await.unwrap();
        db
    }

    /// Inserts `n`, opening the writer's savepoint with the statement if it opens lazily.
    async fn insert(tx: &mut super::WriteTx, n: i64) {
        let statement = format!("{}INSERT INTO write_probe (n) VALUES ($1)", tx.opening());
        sqlx::query(sqlx::AssertSqlSafe(statement)).bind(n).execute(&mut **tx).await.unwrap();
    }

    /// A writer dropped half way (a cancelled request) loses its own writes only, and neither the
    /// writers already in its batch nor those after it wait forever, whether its savepoint opened
    /// with a statement of its own or with its first one. The rollup rows writers defer land with
    /// their commits: summed across the writers of a batch, never for a dropped one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_writer_takes_nothing_else_with_it() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let db = probe(backend).await;
            let ws = plumbline_domain::WorkspaceId::new();
            let mut tasks = Vec::new();
            for n in 0..40 {
                let store = db.store.clone();
                tasks.push(tokio::spawn(async move {
                    let mut tx = if n % 2 == 0 {
                        store.write().await.unwrap()
                    } else {
                        store.write_opened_by_first_statement().await.unwrap()
                    };
                    insert(&mut tx, n).await;
                    tx.defer_rollups(rollups(ws, &format!("agent {}", n % 3)));
                    if n % 4 == 3 {
                        drop(tx); // rolled back
                    } else {
                        tx.commit().await.unwrap();
                    }
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
            assert_eq!(count(&db).await, 30, "{backend:?}");
            let mut conn = db.store.pool().acquire().await.unwrap();
            assert_eq!(counted(&mut conn).await, 30, "{backend:?}");
            drop(conn);
            // Three agents: day, month and all-time rows each; the segment and criterion rows are
            // shared by all of them.
            let rows = |table: &str| format!("SELECT COUNT(*) FROM {table}");
            assert_eq!(crate::testing::count(&db.store, &rows("rollup_agent")).await, 9, "{backend:?}");
            assert_eq!(crate::testing::count(&db.store, &rows("rollup_segment")).await, 6, "{backend:?}");
            assert_eq!(crate::testing::count(&db.store, &rows("rollup_criteria")).await, 4, "{backend:?}");
            db.store.close().await;
        }
    }

    /// One review's worth of rollup rows for `agent` (3 agent rows, 6 segment rows, 4 criterion
    /// rows).
    fn rollups(ws: plumbline_domain::WorkspaceId, agent: &str) -> crate::rollups::RollupBatch {
        let facts = crate::rollups::EvaluationFacts {
            workspace_id: ws.to_string(),
            day: 20_000,
            vendor_id: "v".into(),
            team_id: "t".into(),
            agent_id: agent.into(),
            scorecard_id: "s".into(),
            channel: "chat".into(),
            grader_class: crate::rollups::GRADER_INTERNAL,
            score: Some(80.0),
            sums: plumbline_domain::reports::ScoreSums::one(Some(80.0), 8.0, 10.0, false),
            metrics: Default::default(),
            criteria: vec![("c".into(), 1.0, Some(1.0), false)],
        };
        let mut batch = crate::rollups::RollupBatch::new(ws);
        batch.add(&facts);
        batch
    }

    /// A writer that inserts `n` and commits, spawned (to queue behind the one holding the turn).
    fn queued_writer(db: &TestDatabase, n: i64) -> tokio::task::JoinHandle<crate::Result<()>> {
        let store = db.store.clone();
        tokio::spawn(async move {
            let mut tx = store.write().await.unwrap();
            insert(&mut tx, n).await;
            tx.commit().await
        })
    }

    /// Σ evaluations over the all-time agent rows (grain 2), read in `conn`.
    async fn counted(conn: &mut sqlx::AnyConnection) -> i64 {
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(evaluations), 0) AS BIGINT) FROM rollup_agent WHERE grain = 2")
            .fetch_one(conn)
            .await
            .unwrap()
    }

    /// A writer about to delete rollup rows (a rebuild) writes alone: the rows deferred by the
    /// writers before it are written with their batch first, not added on top of what it rebuilds.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_alone_comes_after_what_its_batch_deferred() {
        let db = probe(Backend::Sqlite).await;
        let ws = plumbline_domain::WorkspaceId::new();
        let mut first = db.store.write().await.unwrap();
        first.defer_rollups(rollups(ws, "a"));
        // Queued behind `first`, so the batch stays open for it.
        let store = db.store.clone();
        let second = tokio::spawn(async move {
            let mut tx = store.write_alone().await.unwrap();
            let held = match &tx.inner {
                super::Inner::Sqlite { turn: Some(turn), .. } => format!("{:?}", turn.deferred),
                _ => unreachable!(),
            };
            let seen = counted(&mut tx).await;
            sqlx::query("DELETE FROM rollup_agent").execute(&mut *tx).await.unwrap();
            tx.defer_rollups(rollups(ws, "b"));
            tx.commit().await.unwrap();
            (held, seen)
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        first.commit().await.unwrap();
        let (held, seen) = second.await.unwrap();
        assert_eq!(held, "DeferredRollups(0 rows)", "the first writer's batch was written before the second began");
        assert_eq!(seen, 1);
        // What the first writer deferred was deleted with the rest, not written after it.
        let mut conn = db.store.pool().acquire().await.unwrap();
        assert_eq!(counted(&mut conn).await, 1);
        drop(conn);
        db.store.close().await;
    }

    /// A writer cancelled while it waits for its turn does not leave the batch without anyone to
    /// commit it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_cancelled_in_the_queue_does_not_stall_the_others() {
        let db = probe(Backend::Sqlite).await;
        let mut first = db.store.write().await.unwrap();
        insert(&mut first, 1).await;
        // Queued behind `first`, then cancelled: `first` sees a waiter when it commits.
        let store = db.store.clone();
        let queued = tokio::spawn(async move {
            let _never = store.write().await;
        });
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let committing = tokio::spawn(async move { first.commit().await });
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        queued.abort();
        let committed = tokio::time::timeout(std::time::Duration::from_secs(5), committing).await;
        assert!(matches!(committed, Ok(Ok(Ok(())))), "{committed:?}");
        assert_eq!(count(&db).await, 1);
        db.store.close().await;
    }

    /// A writer whose savepoint opens with its first statement ([`super::WriteTx::opening`])
    /// shares its batch like any other: whether it commits, fails in that statement, or is
    /// dropped before the statement reached SQLite (cancelled), the writers before and after it in
    /// the batch keep their writes. If SQLite rolled the whole transaction back by itself (as on
    /// a full disk; here the statement does it), the batch fails there: the writer before it
    /// learns that its write was not committed, and the one after it starts a new batch rather
    /// than writing outside any (acknowledged as failed, yet committed).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_opened_by_its_first_statement_keeps_the_batch_whole() {
        let db = probe(Backend::Sqlite).await;
        for (case, expected) in [("commits", 3), ("fails", 2), ("never runs", 2), ("rolls all back", 1)] {
            db.store.pool().execute("DELETE FROM write_probe").await.unwrap();
            let mut first = db.store.write().await.unwrap();
            insert(&mut first, 1).await;
            // Queued behind `first`, then `third` behind it, so the batch stays open for them.
            let store = db.store.clone();
            let lazy = tokio::spawn(async move {
                let mut tx = store.write_opened_by_first_statement().await.unwrap();
                let opening = tx.opening();
                assert_eq!(opening, "RELEASE writer_a;\nSAVEPOINT writer_b;\n", "it releases the first one's");
                assert_eq!(tx.opening(), "", "the savepoint opens once");
                let statement = match case {
                    "commits" => "INSERT INTO write_probe (n) VALUES (2)",
                    "fails" => "INSERT INTO write_probe (n) VALUES (2); INSERT INTO no_such_table VALUES (3)",
                    "rolls all back" => {
                        "INSERT INTO write_probe (n) VALUES (2); ROLLBACK; INSERT INTO no_such_table VALUES (3)"
                    }
                    _ => return,
                };
                let run = sqlx::query(sqlx::AssertSqlSafe(format!("{opening}{statement}"))).execute(&mut *tx).await;
                if case == "commits" {
                    run.unwrap();
                    tx.commit().await.unwrap();
                } else {
                    assert!(run.is_err());
                }
            });
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            let third = queued_writer(&db, 3);
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            let committed = first.commit().await;
            assert_eq!(committed.is_ok(), case != "rolls all back", "{case}: {committed:?}");
            lazy.await.unwrap();
            let committed = third.await.unwrap();
            assert!(committed.is_ok(), "{case}: {committed:?}");
            assert_eq!(count(&db).await, expected, "{case}");
        }
        db.store.close().await;
    }

    /// A writer that writes alone ([`super::Joining::Alone`]) first commits the batch it finds
    /// open, and rolling it back takes nothing of the writers before or after it with it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_alone_keeps_the_writers_around_it() {
        let db = probe(Backend::Sqlite).await;
        for (case, expected) in [("commits", 3), ("is dropped", 2)] {
            db.store.pool().execute("DELETE FROM write_probe").await.unwrap();
            let mut first = db.store.write().await.unwrap();
            insert(&mut first, 1).await;
            let store = db.store.clone();
            let alone = tokio::spawn(async move {
                let mut tx = store.write_alone().await.unwrap();
                let inside = match &tx.inner {
                    super::Inner::Sqlite { turn: Some(turn), .. } => (turn.members, turn.alone),
                    _ => unreachable!(),
                };
                assert_eq!(inside, (0, true), "{case}: the batch before it was committed");
                insert(&mut tx, 2).await;
                if case == "commits" {
                    tx.commit().await.unwrap();
                }
            });
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            let third = queued_writer(&db, 3);
            tokio::time::sleep(std::time::Duration::from_millis(30)).await;
            first.commit().await.unwrap();
            alone.await.unwrap();
            third.await.unwrap().unwrap();
            assert_eq!(count(&db).await, expected, "{case}");
        }
        db.store.close().await;
    }
}
