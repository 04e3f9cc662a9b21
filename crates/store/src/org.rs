//! Workspaces, vendors, teams, agents and users.

use crate::sql::{self, Select, Value};
use crate::{Page, PageRequest, Result, Store, StoreError, now_millis, page_of};
use plumbline_domain::access::VendorScope;
use plumbline_domain::org::{Agent, Role, Team, User, Vendor, Workspace, WorkspaceSettings};
use plumbline_domain::scorecard::FieldError;
use plumbline_domain::{AgentId, TeamId, UserId, VendorId, WorkspaceId};
use sqlx::any::AnyRow;

/// A new user; the password arrives already hashed.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub vendor_id: VendorId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub password_hash: String,
    pub agent_id: Option<AgentId>,
}

/// Filters for the agent list.
#[derive(Clone, Debug, Default)]
pub struct AgentFilter {
    pub vendor_id: Option<VendorId>,
    pub team_id: Option<TeamId>,
}

/// Filters for the user list.
#[derive(Clone, Debug, Default)]
pub struct UserFilter {
    pub vendor_id: Option<VendorId>,
    pub role: Option<Role>,
}

fn vendor_of(row: &AnyRow) -> Result<Vendor> {
    Ok(Vendor { id: sql::id(row, "id")?, name: sql::text(row, "name")?, is_internal: sql::flag(row, "is_internal")? })
}

fn team_of(row: &AnyRow) -> Result<Team> {
    Ok(Team { id: sql::id(row, "id")?, vendor_id: sql::id(row, "vendor_id")?, name: sql::text(row, "name")? })
}

fn agent_of(row: &AnyRow) -> Result<Agent> {
    Ok(Agent {
        id: sql::id(row, "id")?,
        vendor_id: sql::id(row, "vendor_id")?,
        team_id: sql::opt_id(row, "team_id")?,
        name: sql::text(row, "name")?,
        email: sql::opt_text(row, "email")?,
    })
}

pub(crate) fn user_of(row: &AnyRow) -> Result<User> {
    let role = sql::text(row, "role")?;
    Ok(User {
        id: sql::id(row, "id")?,
        workspace_id: sql::id(row, "workspace_id")?,
        vendor_id: sql::id(row, "vendor_id")?,
        email: sql::text(row, "email")?,
        name: sql::text(row, "name")?,
        role: role.parse().map_err(|_| StoreError::Database(format!("unknown role {role:?} in users")))?,
        agent_id: sql::opt_id(row, "agent_id")?,
        active: sql::flag(row, "active")?,
        created_at: sql::int(row, "created_at")?,
    })
}

pub(crate) const USER_COLUMNS: &str = "id, workspace_id, vendor_id, email, name, role, agent_id, active, created_at";

impl Store {
    /// Creates a workspace with its internal vendor.
    pub async fn create_workspace(&self, name: &str, internal_vendor: &str) -> Result<(Workspace, Vendor)> {
        let workspace =
            Workspace { id: WorkspaceId::new(), name: name.to_string(), settings: WorkspaceSettings::default() };
        let vendor = Vendor { id: VendorId::new(), name: internal_vendor.to_string(), is_internal: true };
        let now = now_millis();
        let mut tx = self.write().await?;
        sqlx::query("INSERT INTO workspaces (id, name, settings, created_at) VALUES ($1, $2, $3, $4)")
            .bind(workspace.id.to_string())
            .bind(&workspace.name)
            .bind(sql::to_json(&workspace.settings))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO vendors (id, workspace_id, name, is_internal, created_at) VALUES ($1, $2, $3, 1, $4)")
            .bind(vendor.id.to_string())
            .bind(workspace.id.to_string())
            .bind(&vendor.name)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        // Nothing to roll up yet: the rollups are complete from the start.
        sqlx::query("INSERT INTO rollup_state (workspace_id, built_at) VALUES ($1, $2)")
            .bind(workspace.id.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((workspace, vendor))
    }

    pub async fn get_workspace(&self, id: WorkspaceId) -> Result<Workspace> {
        let row = sqlx::query("SELECT id, name, settings FROM workspaces WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Workspace {
            id: sql::id(&row, "id")?,
            name: sql::text(&row, "name")?,
            settings: sql::json(&row, "settings")?,
        })
    }

    /// The workspaces, oldest first (the first is the default one for a single-company install).
    pub async fn list_workspaces(&self) -> Result<Vec<Workspace>> {
        let rows = sqlx::query("SELECT id, name, settings FROM workspaces ORDER BY created_at, id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Workspace {
                    id: sql::id(row, "id")?,
                    name: sql::text(row, "name")?,
                    settings: sql::json(row, "settings")?,
                })
            })
            .collect()
    }

    pub async fn update_settings(&self, id: WorkspaceId, settings: &WorkspaceSettings) -> Result<()> {
        let done = self
            .write_one(
                sqlx::query("UPDATE workspaces SET settings = $1 WHERE id = $2")
                    .bind(sql::to_json(settings))
                    .bind(id.to_string()),
            )
            .await?;
        if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    pub async fn create_vendor(&self, workspace: WorkspaceId, name: &str) -> Result<Vendor> {
        let vendor = Vendor { id: VendorId::new(), name: name.trim().to_string(), is_internal: false };
        self.write_one(
            sqlx::query(
                "INSERT INTO vendors (id, workspace_id, name, is_internal, created_at) VALUES ($1, $2, $3, 0, $4)",
            )
            .bind(vendor.id.to_string())
            .bind(workspace.to_string())
            .bind(&vendor.name)
            .bind(now_millis()),
        )
        .await
        .map_err(|e| duplicate_as(e, "vendor", &vendor.name))?;
        Ok(vendor)
    }

    pub async fn list_vendors(&self, workspace: WorkspaceId, scope: VendorScope) -> Result<Vec<Vendor>> {
        let mut q = Select::new("SELECT id, name, is_internal FROM vendors");
        q.and_text("workspace_id", workspace).and_opt_text("id", scope.vendor());
        q.fetch_all(self.pool(), "ORDER BY is_internal DESC, name").await?.iter().map(vendor_of).collect()
    }

    pub async fn get_vendor(&self, workspace: WorkspaceId, id: VendorId) -> Result<Vendor> {
        let row = sqlx::query("SELECT id, name, is_internal FROM vendors WHERE workspace_id = $1 AND id = $2")
            .bind(workspace.to_string())
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        vendor_of(&row)
    }

    pub async fn internal_vendor(&self, workspace: WorkspaceId) -> Result<Vendor> {
        let row = sqlx::query("SELECT id, name, is_internal FROM vendors WHERE workspace_id = $1 AND is_internal = 1")
            .bind(workspace.to_string())
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        vendor_of(&row)
    }

    pub async fn create_team(&self, workspace: WorkspaceId, vendor: VendorId, name: &str) -> Result<Team> {
        self.get_vendor(workspace, vendor).await.map_err(|_| unknown("vendor_id", "there is no such vendor"))?;
        let team = Team { id: TeamId::new(), vendor_id: vendor, name: name.trim().to_string() };
        self.write_one(
            sqlx::query(
                "INSERT INTO teams (id, workspace_id, vendor_id, name, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(team.id.to_string())
            .bind(workspace.to_string())
            .bind(vendor.to_string())
            .bind(&team.name)
            .bind(now_millis()),
        )
        .await
        .map_err(|e| duplicate_as(e, "team", &team.name))?;
        Ok(team)
    }

    pub async fn list_teams(&self, workspace: WorkspaceId, scope: VendorScope) -> Result<Vec<Team>> {
        let mut q = Select::new("SELECT id, vendor_id, name FROM teams");
        q.and_text("workspace_id", workspace).and_opt_text("vendor_id", scope.vendor());
        q.fetch_all(self.pool(), "ORDER BY name, id").await?.iter().map(team_of).collect()
    }

    pub async fn create_agent(
        &self,
        workspace: WorkspaceId,
        vendor: VendorId,
        team: Option<TeamId>,
        name: &str,
        email: Option<&str>,
    ) -> Result<Agent> {
        self.get_vendor(workspace, vendor).await.map_err(|_| unknown("vendor_id", "there is no such vendor"))?;
        if let Some(team) = team {
            let teams = self.list_teams(workspace, VendorScope::Only(vendor)).await?;
            if !teams.iter().any(|t| t.id == team) {
                return Err(unknown("team_id", "there is no such team in this vendor"));
            }
        }
        let agent = Agent {
            id: AgentId::new(),
            vendor_id: vendor,
            team_id: team,
            name: name.trim().to_string(),
            email: email.map(str::to_string),
        };
        self.write_one(
            sqlx::query(
                "INSERT INTO agents (id, workspace_id, vendor_id, team_id, name, email, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(agent.id.to_string())
            .bind(workspace.to_string())
            .bind(vendor.to_string())
            .bind(team.map(|t| t.to_string()))
            .bind(&agent.name)
            .bind(agent.email.clone())
            .bind(now_millis()),
        )
        .await
        .map_err(|e| duplicate_as(e, "agent", &agent.name))?;
        Ok(agent)
    }

    pub async fn get_agent(&self, workspace: WorkspaceId, scope: VendorScope, id: AgentId) -> Result<Agent> {
        let mut q = Select::new("SELECT id, vendor_id, team_id, name, email FROM agents");
        q.and_text("workspace_id", workspace).and_text("id", id).and_opt_text("vendor_id", scope.vendor());
        q.fetch_all(self.pool(), "").await?.first().map(agent_of).unwrap_or(Err(StoreError::NotFound))
    }

    pub async fn list_agents(
        &self,
        workspace: WorkspaceId,
        scope: VendorScope,
        filter: &AgentFilter,
        page: &PageRequest,
    ) -> Result<Page<Agent>> {
        let mut q = Select::new("SELECT id, vendor_id, team_id, name, email FROM agents");
        q.and_text("workspace_id", workspace)
            .and_opt_text("vendor_id", scope.vendor())
            .and_opt_text("vendor_id", filter.vendor_id)
            .and_opt_text("team_id", filter.team_id);
        if let Some(cursor) = &page.cursor {
            q.and("id", "<", Value::Text(cursor.clone()));
        }
        let limit = page.limit();
        let rows = q.fetch_all(self.pool(), &format!("ORDER BY id DESC LIMIT {}", limit + 1)).await?;
        let items = rows.iter().map(agent_of).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |a| a.id.to_string()))
    }

    pub async fn create_user(&self, workspace: WorkspaceId, new: NewUser) -> Result<User> {
        self.get_vendor(workspace, new.vendor_id).await.map_err(|_| unknown("vendor_id", "there is no such vendor"))?;
        if let Some(agent) = new.agent_id {
            self.get_agent(workspace, VendorScope::Only(new.vendor_id), agent)
                .await
                .map_err(|_| unknown("agent_id", "there is no such agent in the user's vendor"))?;
        }
        let user = User {
            id: UserId::new(),
            workspace_id: workspace,
            vendor_id: new.vendor_id,
            email: new.email.trim().to_ascii_lowercase(),
            name: new.name.trim().to_string(),
            role: new.role,
            agent_id: new.agent_id,
            active: true,
            created_at: now_millis(),
        };
        self.write_one(sqlx::query(
            "INSERT INTO users (id, workspace_id, vendor_id, email, name, role, password_hash, agent_id, active, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9)",
        )
        .bind(user.id.to_string())
        .bind(workspace.to_string())
        .bind(user.vendor_id.to_string())
        .bind(&user.email)
        .bind(&user.name)
        .bind(user.role.as_str())
        .bind(new.password_hash)
        .bind(user.agent_id.map(|a| a.to_string()))
        .bind(user.created_at)
        )
        .await
        .map_err(|e| duplicate_as(e, "user with email", &user.email))?;
        Ok(user)
    }

    pub async fn get_user(&self, workspace: WorkspaceId, id: UserId) -> Result<User> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE workspace_id = $1 AND id = $2"
        )))
        .bind(workspace.to_string())
        .bind(id.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        user_of(&row)
    }

    /// A user by email (any workspace), with the password hash, for signing in.
    pub async fn find_user_by_email(&self, email: &str) -> Result<Option<(User, String)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE email = $1"
        )))
        .bind(email.trim().to_ascii_lowercase())
        .fetch_optional(self.pool())
        .await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some((user_of(&row)?, sql::text(&row, "password_hash")?))),
        }
    }

    pub async fn list_users(
        &self,
        workspace: WorkspaceId,
        scope: VendorScope,
        filter: &UserFilter,
    ) -> Result<Vec<User>> {
        let mut q = Select::new(&format!("SELECT {USER_COLUMNS} FROM users"));
        q.and_text("workspace_id", workspace)
            .and_opt_text("vendor_id", scope.vendor())
            .and_opt_text("vendor_id", filter.vendor_id)
            .and_opt_text("role", filter.role.map(Role::as_str));
        q.fetch_all(self.pool(), "ORDER BY name, id").await?.iter().map(user_of).collect()
    }

    pub async fn set_password(&self, workspace: WorkspaceId, user: UserId, password_hash: &str) -> Result<()> {
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE workspace_id = $2 AND id = $3")
            .bind(password_hash)
            .bind(workspace.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        // A new password signs the user out everywhere.
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user.to_string()).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Changes a user's role and whether they may sign in. Deactivating ends their sessions
    /// and revokes their tokens.
    pub async fn update_user(&self, workspace: WorkspaceId, user: UserId, role: Role, active: bool) -> Result<User> {
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE users SET role = $1, active = $2 WHERE workspace_id = $3 AND id = $4")
            .bind(role.as_str())
            .bind(i64::from(active))
            .bind(workspace.to_string())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        if !active {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user.to_string()).execute(&mut *tx).await?;
            sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                .bind(now_millis())
                .bind(user.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.get_user(workspace, user).await
    }
}

pub(crate) fn unknown(field: &str, reason: &str) -> StoreError {
    StoreError::Invalid(vec![FieldError::new(field, reason)])
}

pub(crate) fn duplicate_as(e: impl Into<StoreError>, what: &str, name: &str) -> StoreError {
    match e.into() {
        StoreError::Duplicate(_) => StoreError::Duplicate(format!("{what} {name:?}")),
        other => other,
    }
}
