//! Browser sessions, API tokens and the sign-in attempt log. Secrets are stored only as hashes
//! (the caller hashes them); the plain values never reach the database.

use crate::org::{USER_COLUMNS, user_of};
use crate::{Result, Store, StoreError, now_millis, sql};
use plumbline_domain::access::Viewer;
use plumbline_domain::org::{User, WorkspaceSettings};
use plumbline_domain::scoring::ScoringPolicy;
use plumbline_domain::{TokenId, UserId, WorkspaceId};
use serde::Serialize;

/// Who a session or token belongs to, with what every request needs beside the user, read with
/// the credential so that no request spends a read of its own on them: whether their vendor is
/// internal, and their workspace's scoring policies (which every submission scores with).
#[derive(Clone, Debug, PartialEq)]
pub struct SignedIn {
    pub user: User,
    pub vendor_is_internal: bool,
    pub scoring: ScoringPolicy,
}

impl SignedIn {
    /// The user as every permission check sees them.
    pub fn viewer(&self) -> Viewer {
        let user = &self.user;
        Viewer {
            user_id: user.id,
            workspace_id: user.workspace_id,
            role: user.role,
            vendor_id: user.vendor_id,
            vendor_is_internal: self.vendor_is_internal,
            agent_id: user.agent_id,
            scoring: self.scoring,
        }
    }
}

/// The tables of a [`SignedIn`]: the user `u`, their vendor `v` and their workspace `w` (a
/// credential's table joins them on `u.id`).
const SIGNED_IN_TABLES: &str =
    "users u JOIN vendors v ON v.id = u.vendor_id JOIN workspaces w ON w.id = u.workspace_id";

/// The columns of a [`SignedIn`] (from [`SIGNED_IN_TABLES`]).
fn signed_in_columns() -> String {
    let columns = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
    format!("{columns}, v.is_internal AS vendor_is_internal, w.settings AS workspace_settings")
}

fn signed_in_of(row: &sqlx::any::AnyRow) -> Result<SignedIn> {
    let settings: WorkspaceSettings = sql::json(row, "workspace_settings")?;
    Ok(SignedIn {
        user: user_of(row)?,
        vendor_is_internal: sql::flag(row, "vendor_is_internal")?,
        scoring: settings.scoring(),
    })
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: TokenId,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl Store {
    pub async fn create_session(&self, user: UserId, token_hash: &str, csrf_token: &str, ttl_ms: i64) -> Result<()> {
        let now = now_millis();
        self.write_one(sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(user.to_string())
        .bind(csrf_token)
        .bind(now)
        .bind(now + ttl_ms)
        )
        .await?;
        Ok(())
    }

    /// The active user of an unexpired session, with the session's CSRF token.
    pub async fn session_user(&self, token_hash: &str) -> Result<Option<(SignedIn, String)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {}, c.csrf_token FROM {SIGNED_IN_TABLES} JOIN sessions c ON c.user_id = u.id
             WHERE c.token_hash = $1 AND c.expires_at > $2 AND u.active = 1",
            signed_in_columns()
        )))
        .bind(token_hash)
        .bind(now_millis())
        .fetch_optional(self.pool())
        .await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some((signed_in_of(&row)?, sql::text(&row, "csrf_token")?))),
        }
    }

    /// A user of the workspace (active or not) as a request of theirs would see them (`None`: no
    /// such user), for decisions made on someone else's behalf.
    pub async fn user_as_signed_in(&self, workspace: WorkspaceId, user: UserId) -> Result<Option<SignedIn>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {} FROM {SIGNED_IN_TABLES} WHERE u.workspace_id = $1 AND u.id = $2",
            signed_in_columns()
        )))
        .bind(workspace.to_string())
        .bind(user.to_string())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(signed_in_of).transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.write_one(sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash)).await?;
        Ok(())
    }

    pub async fn delete_expired_sessions(&self) -> Result<u64> {
        let done =
            self.write_one(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now_millis())).await?;
        Ok(done.rows_affected())
    }

    pub async fn create_token(&self, user: UserId, name: &str, token_hash: &str) -> Result<ApiToken> {
        let token = ApiToken {
            id: TokenId::new(),
            name: name.trim().to_string(),
            created_at: now_millis(),
            last_used_at: None,
            revoked_at: None,
        };
        self.write_one(
            sqlx::query(
                "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(token.id.to_string())
            .bind(user.to_string())
            .bind(&token.name)
            .bind(token_hash)
            .bind(token.created_at),
        )
        .await?;
        Ok(token)
    }

    /// The active user owning an unrevoked token; records the use.
    pub async fn token_user(&self, token_hash: &str) -> Result<Option<SignedIn>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {}, c.id AS token_id, c.last_used_at FROM {SIGNED_IN_TABLES} JOIN api_tokens c ON c.user_id = u.id
             WHERE c.token_hash = $1 AND c.revoked_at IS NULL AND u.active = 1",
            signed_in_columns()
        )))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let token_id = sql::text(&row, "token_id")?;
        let now = now_millis();
        // Record use at most once a minute, so a busy script does not turn every read into a write.
        // Best effort, and not waited for: the write joins the writers' next batch, and a failed
        // bookkeeping write must not refuse (or slow) the request.
        if sql::opt_int(&row, "last_used_at")?.is_none_or(|last| now - last > 60_000) {
            let store = self.clone();
            tokio::spawn(async move {
                let used =
                    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2").bind(now).bind(token_id);
                let _ = store.write_one(used).await;
            });
        }
        Ok(Some(signed_in_of(&row)?))
    }

    pub async fn list_tokens(&self, user: UserId) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(user.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ApiToken {
                    id: sql::id(row, "id")?,
                    name: sql::text(row, "name")?,
                    created_at: sql::int(row, "created_at")?,
                    last_used_at: sql::opt_int(row, "last_used_at")?,
                    revoked_at: sql::opt_int(row, "revoked_at")?,
                })
            })
            .collect()
    }

    pub async fn revoke_token(&self, user: UserId, token: TokenId) -> Result<()> {
        let done = self
            .write_one(
                sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
                )
                .bind(now_millis())
                .bind(token.to_string())
                .bind(user.to_string()),
            )
            .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Records a failed sign-in and returns how many failures `email` has had since `since`.
    pub async fn record_failed_login(&self, email: &str, since: i64) -> Result<i64> {
        let email = email.trim().to_ascii_lowercase();
        self.write_one(
            sqlx::query("INSERT INTO login_attempts (email, at) VALUES ($1, $2)").bind(&email).bind(now_millis()),
        )
        .await?;
        self.failed_logins_since(&email, since).await
    }

    pub async fn failed_logins_since(&self, email: &str, since: i64) -> Result<i64> {
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM login_attempts WHERE email = $1 AND at > $2")
            .bind(email.trim().to_ascii_lowercase())
            .bind(since)
            .fetch_one(self.pool())
            .await?;
        Ok(count)
    }

    pub async fn clear_failed_logins(&self, email: &str) -> Result<()> {
        self.write_one(
            sqlx::query("DELETE FROM login_attempts WHERE email = $1").bind(email.trim().to_ascii_lowercase()),
        )
        .await?;
        Ok(())
    }
}
