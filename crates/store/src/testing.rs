//! Test support: each test gets its own database, on SQLite (a temporary file, not `:memory:`)
//! or on PostgreSQL (a fresh database, dropped afterwards, even when the test fails).
//!
//! PostgreSQL is found at `PLUMBLINE_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`).

use crate::{Backend, Store};
use std::path::PathBuf;

pub struct TestDatabase {
    pub store: Store,
    pub url: String,
    backend: Backend,
    sqlite_dir: Option<PathBuf>,
    pg_name: Option<String>,
}

pub fn postgres_server() -> String {
    std::env::var("PLUMBLINE_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> TestDatabase {
        let name = format!("plumbline_test_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&name);
                std::fs::create_dir_all(&dir).expect("create a temporary directory");
                let url = crate::sqlite_url(&dir.join("plumbline.db"));
                let store = Store::connect(&url).await.expect("open the SQLite test database");
                TestDatabase { store, url, backend, sqlite_dir: Some(dir), pg_name: None }
            }
            Backend::Postgres => {
                let admin = Store::connect_without_migrating(&format!("{}/postgres", postgres_server()))
                    .await
                    .expect("PostgreSQL must run at PLUMBLINE_TEST_POSTGRES (default 127.0.0.1:5432)");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(admin.pool())
                    .await
                    .expect("create the test database");
                admin.close().await;
                let url = format!("{}/{name}", postgres_server());
                let store = Store::connect(&url).await.expect("open the PostgreSQL test database");
                TestDatabase { store, url, backend, sqlite_dir: None, pg_name: Some(name) }
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The store's pool, for a test that reads tables directly.
    pub fn pool(&self) -> &sqlx::AnyPool {
        self.store.pool()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(dir) = self.sqlite_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(name) = self.pg_name.take() {
            // Drop runs outside async: use a short-lived runtime on its own thread.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(async move {
                    if let Ok(admin) =
                        Store::connect_without_migrating(&format!("{}/postgres", postgres_server())).await
                    {
                        let _ =
                            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                                .execute(admin.pool())
                                .await;
                        admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}

/// Makes each named `async fn name(db: &TestDatabase) -> anyhow::Result<()>` a pair of tests,
/// `name::sqlite` and `name::postgres`: one scenario suite, both databases.
#[macro_export]
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() -> anyhow::Result<()> {
                let db = $crate::testing::TestDatabase::new($crate::Backend::Sqlite).await;
                super::$name(&db).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() -> anyhow::Result<()> {
                let db = $crate::testing::TestDatabase::new($crate::Backend::Postgres).await;
                super::$name(&db).await
            }
        }
    )*};
}

/// A `SELECT COUNT(*) ...` for tests that check invariants across a whole table.
pub async fn count(store: &Store, query: &str) -> i64 {
    let (n,): (i64,) =
        sqlx::query_as(sqlx::AssertSqlSafe(query.to_string())).fetch_one(store.pool()).await.expect("a count query");
    n
}
