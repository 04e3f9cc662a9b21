//! Persistence for Plumbline: one implementation in portable SQL over sqlx's `Any` driver, so
//! SQLite (the embedded default) and PostgreSQL behave the same. The backend is chosen once, from
//! the database URL, in [`Store::connect`]; migrations run there too.
//!
//! Every operation takes plain domain types and returns plain results; no sqlx type leaves this
//! crate. Multi-row writes run in one transaction (all or nothing). On SQLite, write
//! transactions start with `BEGIN IMMEDIATE` so concurrent writers queue on the busy timeout
//! instead of failing on a lock upgrade.
//!
//! The shared scenario suite in `tests/` runs every operation on both databases.

mod auth;
mod backup;
mod bulk;
mod calibrations;
mod conversations;
mod dashboards;
mod evaluations;
mod grader_qa;
mod habits;
mod org;
mod reports;
mod review_plans;
mod rollups;
mod scorecards;
mod self_assessment;
mod series;
mod sql;
mod write;

pub use auth::*;
pub use bulk::*;
pub use calibrations::*;
pub use conversations::*;
pub use dashboards::*;
pub use evaluations::*;
pub use grader_qa::*;
pub use org::*;
pub use reports::*;
pub use review_plans::*;
pub use rollups::*;
pub use self_assessment::*;
pub use series::*;
pub(crate) use write::WriteTx;

use plumbline_domain::scorecard::FieldError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Which database is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// What can go wrong in storage, by kind.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist, or the caller may not see it.
    #[error("not found")]
    NotFound,
    /// The row changed since the caller read it, or is in a state that forbids the change.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A unique value is already taken.
    #[error("{0} already exists")]
    Duplicate(String),
    /// Input that passed parsing but not the database's view of the world (an unknown vendor...).
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// An edit based on an old revision: nothing was written. Says who saved since, and when.
    #[error("stale revision: the current one is {current_revision}")]
    Stale { current_revision: i64, updated_by: Option<String>, updated_at: i64 },
    #[error("database error: {0}")]
    Database(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                StoreError::Duplicate(db.constraint().unwrap_or("value").to_string())
            }
            _ => StoreError::Database(e.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Database(format!("migration failed: {e}"))
    }
}

/// The database. Cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite's writers: their queue and the batch in progress (see [`write`]).
    writers: Arc<write::Group>,
    /// Parsed scorecard versions that can no longer change (see `scorecards.rs`).
    versions: Arc<scorecards::VersionCache>,
}

/// The current time in Unix milliseconds.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://...`) and runs the migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        let store = Self::connect_without_migrating(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens (creating if needed) the SQLite database file `path`.
    pub async fn open_sqlite_file(path: &Path) -> Result<Store> {
        Self::connect(&sqlite_url(path)).await
    }

    pub async fn connect_without_migrating(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Database(format!(
                "unsupported database URL {url:?}: use sqlite://FILE or postgres://..."
            )));
        };
        let options = AnyConnectOptions::from_str(url)?;
        let pool_options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
        let pool = match backend {
            Backend::Sqlite => {
                pool_options
                    .max_connections(8)
                    // A file connection does not go stale; pinging it on every checkout cost a
                    // round trip to its worker thread per statement.
                    .test_before_acquire(false)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // WAL lets readers run beside the writer; FULL syncs each commit so an
                            // acknowledged write survives a crash or power loss.
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA synchronous = FULL").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            // Checkpoints run beside the writers (write::checkpoints); a commit
                            // checkpoints only if they fall far behind.
                            conn.execute("PRAGMA wal_autocheckpoint = 10000").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                pool_options
                    .max_connections(16)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // Reports read a few thousand rollup rows by their key. With the
                            // default random_page_cost (4, for spinning disks) the planner
                            // scanned all of rollup_agent instead (145 ms against 57 ms at 1M
                            // reviews); 1.1 is the usual value for SSDs and cached data. JIT
                            // compiling a report query costs more than the query saves.
                            conn.execute("SET random_page_cost = 1.1").await?;
                            conn.execute("SET jit = off").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?
            }
        };
        let writers = Arc::new(write::Group::default());
        if backend == Backend::Sqlite {
            tokio::spawn(write::checkpoints(pool.clone(), Arc::downgrade(&writers)));
        }
        Ok(Store { pool, backend, writers, versions: Arc::default() })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs pending migrations.
    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        self.sqlite_layout().await?;
        // A database from before the report rollups gets them built once.
        self.ensure_rollups().await
    }

    /// The versions of the migrations applied to this database, in order.
    pub async fn applied_migrations(&self) -> Result<Vec<(i64, String)>> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT version, description FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows)
    }

    /// The migrations this build carries.
    pub fn known_migrations() -> Vec<(i64, String)> {
        MIGRATOR.iter().map(|m| (m.version, m.description.to_string())).collect()
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.writers.close().await;
        self.pool.close().await;
    }

    /// Starts a write transaction (on SQLite, a writer's turn in the current batch).
    pub(crate) async fn write(&self) -> Result<WriteTx> {
        self.writer(write::Joining::Savepoint).await
    }

    /// [`Store::write`] whose first statement must begin with [`WriteTx::opening`] (on SQLite it
    /// opens the writer's savepoint with it).
    pub(crate) async fn write_opened_by_first_statement(&self) -> Result<WriteTx> {
        self.writer(write::Joining::ByFirstStatement).await
    }

    /// [`Store::write`] for a writer whose writes have no bound (an import, a rebuild, a bulk
    /// load): on SQLite in a transaction of its own, without a savepoint (see `write.rs`).
    pub(crate) async fn write_alone(&self) -> Result<WriteTx> {
        self.writer(write::Joining::Alone).await
    }

    /// A write transaction: on SQLite joining the writers' batch as `joining` says, on
    /// PostgreSQL an ordinary transaction whatever it says.
    async fn writer(&self, joining: write::Joining) -> Result<WriteTx> {
        match self.backend {
            Backend::Sqlite => WriteTx::sqlite(&self.pool, &self.writers, joining).await,
            Backend::Postgres => WriteTx::postgres(&self.pool).await,
        }
    }

    /// Runs one statement that writes, in a write transaction of its own: on SQLite in the
    /// writers' batch ([`Store::write`]), since a write beside the batch would wait for it in
    /// SQLite's busy handler, which sleeps between tries (and the batch would wait for it).
    pub(crate) async fn write_one(&self, statement: sql::AnyQuery<'_>) -> Result<sqlx::any::AnyQueryResult> {
        let mut tx = self.write().await?;
        let done = statement.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done)
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// The URL of a SQLite database file, created if missing.
pub fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}?mode=rwc", path.display())
}

/// A page of a list, newest first, with the cursor for the next page.
#[derive(Clone, Debug, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Where a list starts and how long it is.
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 500;
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(Self::DEFAULT_LIMIT).clamp(1, Self::MAX_LIMIT)
    }
}

pub(crate) fn page_of<T>(mut items: Vec<T>, limit: u32, id: impl Fn(&T) -> String) -> Page<T> {
    let next_cursor = if items.len() > limit as usize {
        items.truncate(limit as usize);
        items.last().map(id)
    } else {
        None
    };
    Page { items, next_cursor }
}

#[cfg(feature = "testing")]
pub mod testing;
