//! Scorecards and their immutable versions. Only a draft version's definition can change; an
//! active version is never edited: a change makes a new version, major or minor by what changed.

use crate::org::duplicate_as;
use crate::{Result, Store, StoreError, now_millis, sql};
use plumbline_domain::scorecard::{ChangeKind, Scorecard, ScorecardDefinition, ScorecardVersion, VersionStatus};
use plumbline_domain::{ScorecardId, ScorecardVersionId, WorkspaceId};
use sqlx::any::AnyRow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const VERSION_COLUMNS: &str = "id, scorecard_id, number, status, change_kind, definition, created_at, activated_at";

fn version_of(row: &AnyRow) -> Result<ScorecardVersion> {
    let change = sql::text(row, "change_kind")?;
    Ok(ScorecardVersion {
        id: sql::id(row, "id")?,
        scorecard_id: sql::id(row, "scorecard_id")?,
        number: sql::int(row, "number")?,
        status: status_of(row)?,
        change_kind: ChangeKind::parse(&change)
            .ok_or_else(|| StoreError::Database(format!("unknown change kind {change:?}")))?,
        definition: sql::json(row, "definition")?,
        created_at: sql::int(row, "created_at")?,
        activated_at: sql::opt_int(row, "activated_at")?,
    })
}

fn status_of(row: &AnyRow) -> Result<VersionStatus> {
    status_in(row, "status")
}

fn status_in(row: &AnyRow, column: &str) -> Result<VersionStatus> {
    let status = sql::text(row, column)?;
    VersionStatus::parse(&status).ok_or_else(|| StoreError::Database(format!("unknown version status {status:?}")))
}

/// A scorecard version's status and activation time as another statement read them (a review's
/// conversation is read with the status of the version the review names).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SeenVersion {
    id: ScorecardVersionId,
    /// `None`: the workspace has no such version.
    state: Option<(VersionStatus, Option<i64>)>,
}

impl SeenVersion {
    /// The version `id` as a row's `version_status` and `version_activated_at` hold it (NULL
    /// status: no such version).
    pub(crate) fn read(id: ScorecardVersionId, row: &AnyRow) -> Result<Self> {
        let state = match sql::opt_text(row, "version_status")? {
            None => None,
            Some(_) => Some((status_in(row, "version_status")?, sql::opt_int(row, "version_activated_at")?)),
        };
        Ok(SeenVersion { id, state })
    }
}

/// Scorecard versions that are no longer drafts, parsed, by id ([`Store::version_to_review_with`]).
/// A workspace has a few versions per scorecard, so this stays small.
#[derive(Debug, Default)]
pub(crate) struct VersionCache(Mutex<HashMap<ScorecardVersionId, Arc<ScorecardVersion>>>);

impl VersionCache {
    fn get(&self, id: ScorecardVersionId) -> Option<Arc<ScorecardVersion>> {
        self.0.lock().expect("the version cache is never poisoned").get(&id).cloned()
    }

    fn keep(&self, version: Arc<ScorecardVersion>) {
        self.0.lock().expect("the version cache is never poisoned").insert(version.id, version);
    }
}

fn scorecard_of(row: &AnyRow) -> Result<Scorecard> {
    Ok(Scorecard {
        id: sql::id(row, "id")?,
        name: sql::text(row, "name")?,
        description: sql::text(row, "description")?,
        created_at: sql::int(row, "created_at")?,
    })
}

impl Store {
    /// Creates a scorecard and its first version, as a draft.
    pub async fn create_scorecard(
        &self,
        workspace: WorkspaceId,
        name: &str,
        description: &str,
        definition: &ScorecardDefinition,
    ) -> Result<(Scorecard, ScorecardVersion)> {
        let now = now_millis();
        let scorecard = Scorecard {
            id: ScorecardId::new(),
            name: name.trim().to_string(),
            description: description.to_string(),
            created_at: now,
        };
        let version = ScorecardVersion {
            id: ScorecardVersionId::new(),
            scorecard_id: scorecard.id,
            number: 1,
            status: VersionStatus::Draft,
            change_kind: ChangeKind::Initial,
            definition: definition.clone(),
            created_at: now,
            activated_at: None,
        };
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO scorecards (id, workspace_id, name, description, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(scorecard.id.to_string())
        .bind(workspace.to_string())
        .bind(&scorecard.name)
        .bind(&scorecard.description)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| duplicate_as(e, "scorecard", &scorecard.name))?;
        insert_version(&mut tx, workspace, &version).await?;
        tx.commit().await?;
        Ok((scorecard, version))
    }

    pub async fn list_scorecards(&self, workspace: WorkspaceId) -> Result<Vec<Scorecard>> {
        let rows = sqlx::query(
            "SELECT id, name, description, created_at FROM scorecards WHERE workspace_id = $1 ORDER BY name",
        )
        .bind(workspace.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(scorecard_of).collect()
    }

    pub async fn get_scorecard(&self, workspace: WorkspaceId, id: ScorecardId) -> Result<Scorecard> {
        let row =
            sqlx::query("SELECT id, name, description, created_at FROM scorecards WHERE workspace_id = $1 AND id = $2")
                .bind(workspace.to_string())
                .bind(id.to_string())
                .fetch_optional(self.pool())
                .await?
                .ok_or(StoreError::NotFound)?;
        scorecard_of(&row)
    }

    pub async fn list_versions(&self, workspace: WorkspaceId, scorecard: ScorecardId) -> Result<Vec<ScorecardVersion>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM scorecard_versions WHERE workspace_id = $1 AND scorecard_id = $2 ORDER BY number"
        )))
        .bind(workspace.to_string())
        .bind(scorecard.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(version_of).collect()
    }

    /// [`Store::get_version`] for reviewing with it, shared. A version that is no longer a draft
    /// never changes its definition, so the parsed version is kept ([`VersionCache`]) and only
    /// its status and activation time are read again (they change when another version is
    /// activated): parsing the definition was a seventh of the CPU time of a submission.
    pub(crate) async fn version_to_review_with(
        &self,
        workspace: WorkspaceId,
        id: ScorecardVersionId,
    ) -> Result<Arc<ScorecardVersion>> {
        self.version_to_review_seen(workspace, id, None).await
    }

    /// [`Store::version_to_review_with`], where `seen` (when given, of this version) is its
    /// status as a statement the caller ran anyway read it, so that no read of its own is needed
    /// while the version is held.
    pub(crate) async fn version_to_review_seen(
        &self,
        workspace: WorkspaceId,
        id: ScorecardVersionId,
        seen: Option<SeenVersion>,
    ) -> Result<Arc<ScorecardVersion>> {
        if let Some(held) = self.versions.get(id) {
            let seen = match seen.filter(|s| s.id == id) {
                Some(seen) => seen,
                None => {
                    let row = sqlx::query(
                        "SELECT status AS version_status, activated_at AS version_activated_at
                         FROM scorecard_versions WHERE workspace_id = $1 AND id = $2",
                    )
                    .bind(workspace.to_string())
                    .bind(id.to_string())
                    .fetch_optional(self.pool())
                    .await?;
                    row.map_or(Ok(SeenVersion { id, state: None }), |row| SeenVersion::read(id, &row))?
                }
            };
            let (status, activated_at) = seen.state.ok_or(StoreError::NotFound)?;
            if (status, activated_at) == (held.status, held.activated_at) {
                return Ok(held);
            }
            if status != VersionStatus::Draft {
                let version = Arc::new(ScorecardVersion { status, activated_at, ..(*held).clone() });
                self.versions.keep(version.clone());
                return Ok(version);
            }
        }
        let version = Arc::new(self.get_version(workspace, id).await?);
        if version.status != VersionStatus::Draft {
            self.versions.keep(version.clone());
        }
        Ok(version)
    }

    pub async fn get_version(&self, workspace: WorkspaceId, id: ScorecardVersionId) -> Result<ScorecardVersion> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM scorecard_versions WHERE workspace_id = $1 AND id = $2"
        )))
        .bind(workspace.to_string())
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        version_of(&row)
    }

    /// The active version of a scorecard, if one is active.
    pub async fn active_version(
        &self,
        workspace: WorkspaceId,
        scorecard: ScorecardId,
    ) -> Result<Option<ScorecardVersion>> {
        Ok(self.list_versions(workspace, scorecard).await?.into_iter().find(|v| v.status == VersionStatus::Active))
    }

    /// Makes a new draft version after the latest one. It is a major revision when it changes
    /// how answers score (criteria, scales, weights, critical, N/A), otherwise minor.
    pub async fn create_version(
        &self,
        workspace: WorkspaceId,
        scorecard: ScorecardId,
        definition: &ScorecardDefinition,
    ) -> Result<ScorecardVersion> {
        let mut tx = self.write().await?;
        let latest = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM scorecard_versions WHERE workspace_id = $1 AND scorecard_id = $2
             ORDER BY number DESC LIMIT 1"
        )))
        .bind(workspace.to_string())
        .bind(scorecard.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let latest = version_of(&latest)?;
        if latest.status == VersionStatus::Draft {
            return Err(StoreError::Conflict(format!(
                "version {} is still a draft: edit it, or activate it before starting another",
                latest.number
            )));
        }
        let change_kind =
            if latest.definition.is_major_change_to(definition) { ChangeKind::Major } else { ChangeKind::Minor };
        let version = ScorecardVersion {
            id: ScorecardVersionId::new(),
            scorecard_id: scorecard,
            number: latest.number + 1,
            status: VersionStatus::Draft,
            change_kind,
            definition: definition.clone(),
            created_at: now_millis(),
            activated_at: None,
        };
        insert_version(&mut tx, workspace, &version).await?;
        tx.commit().await?;
        Ok(version)
    }

    /// Replaces the definition of a draft version. Active and retired versions never change.
    pub async fn update_draft_version(
        &self,
        workspace: WorkspaceId,
        version: ScorecardVersionId,
        definition: &ScorecardDefinition,
    ) -> Result<ScorecardVersion> {
        let mut tx = self.write().await?;
        let current = self.get_version(workspace, version).await?;
        if current.status != VersionStatus::Draft {
            return Err(StoreError::Conflict(format!(
                "version {} is {}: it cannot be edited; create a new version instead",
                current.number,
                current.status.as_str()
            )));
        }
        let previous = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {VERSION_COLUMNS} FROM scorecard_versions WHERE scorecard_id = $1 AND number = $2"
        )))
        .bind(current.scorecard_id.to_string())
        .bind(current.number - 1)
        .fetch_optional(&mut *tx)
        .await?;
        let change_kind = match previous {
            None => ChangeKind::Initial,
            Some(row) if version_of(&row)?.definition.is_major_change_to(definition) => ChangeKind::Major,
            Some(_) => ChangeKind::Minor,
        };
        sqlx::query(
            "UPDATE scorecard_versions SET definition = $1, change_kind = $2 WHERE id = $3 AND status = 'draft'",
        )
        .bind(sql::to_json(definition))
        .bind(change_kind.as_str())
        .bind(version.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_version(workspace, version).await
    }

    /// Activates a draft version; the previously active version of the scorecard is retired.
    pub async fn activate_version(
        &self,
        workspace: WorkspaceId,
        version: ScorecardVersionId,
    ) -> Result<ScorecardVersion> {
        let mut tx = self.write().await?;
        let current = self.get_version(workspace, version).await?;
        if current.status != VersionStatus::Draft {
            return Err(StoreError::Conflict(format!(
                "version {} is {}, only a draft can be activated",
                current.number,
                current.status.as_str()
            )));
        }
        sqlx::query("UPDATE scorecard_versions SET status = 'retired' WHERE scorecard_id = $1 AND status = 'active'")
            .bind(current.scorecard_id.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE scorecard_versions SET status = 'active', activated_at = $1 WHERE id = $2")
            .bind(now_millis())
            .bind(version.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.get_version(workspace, version).await
    }
}

async fn insert_version(tx: &mut crate::WriteTx, workspace: WorkspaceId, version: &ScorecardVersion) -> Result<()> {
    sqlx::query(
        "INSERT INTO scorecard_versions (id, workspace_id, scorecard_id, number, status, change_kind, definition, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(version.id.to_string())
    .bind(workspace.to_string())
    .bind(version.scorecard_id.to_string())
    .bind(version.number)
    .bind(version.status.as_str())
    .bind(version.change_kind.as_str())
    .bind(sql::to_json(&version.definition))
    .bind(version.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
