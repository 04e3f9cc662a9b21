//! Backups of the embedded SQLite database. `VACUUM INTO` copies the database inside one read
//! transaction: writers keep going, and the copy holds exactly the commits made before it
//! began, never half of one. PostgreSQL has its own tools (`pg_dump`), which the CLI points to.

use crate::{Backend, Result, Store, StoreError};
use std::path::Path;

impl Store {
    /// Writes a consistent snapshot of this SQLite database to `target`, which must not exist.
    pub async fn backup_sqlite(&self, target: &Path) -> Result<()> {
        if self.backend() != Backend::Sqlite {
            return Err(StoreError::Conflict(
                "this is a PostgreSQL database: back it up with pg_dump (see the README)".into(),
            ));
        }
        if target.exists() {
            return Err(StoreError::Conflict(format!("{} already exists; choose a new file", target.display())));
        }
        let target = target.to_str().ok_or_else(|| StoreError::Conflict("the backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1").bind(target).execute(self.pool()).await?;
        Ok(())
    }

    /// SQLite's own check of every page and index; `Ok` only when it answers "ok".
    pub async fn integrity_check(&self) -> Result<()> {
        if self.backend() != Backend::Sqlite {
            return Ok(());
        }
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check").fetch_all(self.pool()).await?;
        match rows.as_slice() {
            [(ok,)] if ok == "ok" => Ok(()),
            problems => Err(StoreError::Database(format!(
                "the database is damaged: {}",
                problems.iter().map(|p| p.0.as_str()).collect::<Vec<_>>().join("; ")
            ))),
        }
    }
}
