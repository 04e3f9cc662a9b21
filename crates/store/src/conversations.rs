//! Conversations: create, import (all or nothing, streaming), read and list.

use crate::scorecards::SeenVersion;
use crate::sql::{self, Select, Value};
use crate::{Page, PageRequest, Result, Store, StoreError, now_millis, page_of};
use plumbline_domain::access::VendorScope;
use plumbline_domain::conversation::{Channel, Conversation, ConversationMetrics, ConversationRecord};
use plumbline_domain::scorecard::FieldError;
use plumbline_domain::{AgentId, ConversationId, Millis, ScorecardVersionId, TeamId, VendorId, WorkspaceId};
use serde::Serialize;
use sqlx::any::AnyRow;
use std::collections::HashMap;

/// Filters for the conversation list.
#[derive(Clone, Debug, Default)]
pub struct ConversationFilter {
    pub vendor_id: Option<VendorId>,
    pub team_id: Option<TeamId>,
    pub agent_id: Option<AgentId>,
    pub channel: Option<Channel>,
    /// started_at >= from
    pub from: Option<Millis>,
    /// started_at < to
    pub to: Option<Millis>,
}

/// One import row: a parsed record, or the problem that row had.
pub type ImportItem = std::result::Result<(u64, ConversationRecord), RowProblem>;

/// A bad row: which line, which field, why.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RowProblem {
    pub line: u64,
    pub field: String,
    pub reason: String,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    /// Agents and teams named in rows that did not exist and were created.
    pub agents_created: Vec<String>,
    pub teams_created: Vec<String>,
}

/// Why an import changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} bad rows; nothing was imported", problems.len())]
    BadRows {
        /// The first problems found (at most [`MAX_REPORTED_PROBLEMS`]).
        problems: Vec<RowProblem>,
        /// How many problems there were in all.
        total: u64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A conversation read to be reviewed, with the status of the scorecard version the review names
/// read by the same statement ([`Store::conversation_to_review`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ConversationToReview {
    pub conversation: Conversation,
    pub(crate) version: SeenVersion,
}

pub const MAX_REPORTED_PROBLEMS: usize = 1000;

const CONVERSATION_COLUMNS: &str = "id, external_id, channel, agent_id, team_id, vendor_id, started_at, subject, \
     transcript, tags, csat, nps, fcr, handle_time_seconds, created_at, updated_at";

fn conversation_of(row: &AnyRow) -> Result<Conversation> {
    let channel = sql::text(row, "channel")?;
    Ok(Conversation {
        id: sql::id(row, "id")?,
        external_id: sql::text(row, "external_id")?,
        channel: channel.parse().map_err(StoreError::Database)?,
        agent_id: sql::opt_id(row, "agent_id")?,
        team_id: sql::opt_id(row, "team_id")?,
        vendor_id: sql::id(row, "vendor_id")?,
        started_at: sql::int(row, "started_at")?,
        subject: sql::text(row, "subject")?,
        transcript: sql::json(row, "transcript")?,
        tags: sql::json(row, "tags")?,
        metrics: ConversationMetrics {
            csat: sql::opt_int(row, "csat")?,
            nps: sql::opt_int(row, "nps")?,
            fcr: sql::opt_int(row, "fcr")?.map(|f| f != 0),
            handle_time_seconds: sql::opt_int(row, "handle_time_seconds")?,
        },
        created_at: sql::int(row, "created_at")?,
        updated_at: sql::int(row, "updated_at")?,
    })
}

/// Resolves vendor, team and agent names to ids inside one import, creating teams and agents.
struct OrgResolver {
    workspace: WorkspaceId,
    internal: VendorId,
    vendors: HashMap<String, VendorId>,
    teams: HashMap<(VendorId, String), TeamId>,
    agents: HashMap<(VendorId, String), AgentId>,
    summary_agents: Vec<String>,
    summary_teams: Vec<String>,
}

impl OrgResolver {
    async fn load(tx: &mut crate::WriteTx, workspace: WorkspaceId) -> Result<Self> {
        let ws = workspace.to_string();
        let mut vendors = HashMap::new();
        let mut internal = None;
        for row in sqlx::query("SELECT id, name, is_internal FROM vendors WHERE workspace_id = $1")
            .bind(&ws)
            .fetch_all(&mut **tx)
            .await?
        {
            let id: VendorId = sql::id(&row, "id")?;
            if sql::flag(&row, "is_internal")? {
                internal = Some(id);
            }
            vendors.insert(sql::text(&row, "name")?.to_lowercase(), id);
        }
        let mut teams = HashMap::new();
        for row in sqlx::query("SELECT id, vendor_id, name FROM teams WHERE workspace_id = $1")
            .bind(&ws)
            .fetch_all(&mut **tx)
            .await?
        {
            teams.insert((sql::id(&row, "vendor_id")?, sql::text(&row, "name")?.to_lowercase()), sql::id(&row, "id")?);
        }
        let mut agents = HashMap::new();
        for row in sqlx::query("SELECT id, vendor_id, name FROM agents WHERE workspace_id = $1")
            .bind(&ws)
            .fetch_all(&mut **tx)
            .await?
        {
            agents.insert((sql::id(&row, "vendor_id")?, sql::text(&row, "name")?.to_lowercase()), sql::id(&row, "id")?);
        }
        Ok(Self {
            workspace,
            internal: internal.ok_or(StoreError::NotFound)?,
            vendors,
            teams,
            agents,
            summary_agents: Vec::new(),
            summary_teams: Vec::new(),
        })
    }

    fn vendor(&self, name: Option<&str>) -> std::result::Result<VendorId, String> {
        match name {
            None => Ok(self.internal),
            Some(n) => self.vendors.get(&n.trim().to_lowercase()).copied().ok_or_else(|| {
                format!("there is no vendor {n:?}; create it first (vendors are never created by an import)")
            }),
        }
    }

    async fn team(
        &mut self,
        tx: &mut crate::WriteTx,
        vendor: VendorId,
        name: &str,
        create: bool,
    ) -> Result<Option<TeamId>> {
        let key = (vendor, name.trim().to_lowercase());
        if let Some(id) = self.teams.get(&key) {
            return Ok(Some(*id));
        }
        if !create {
            return Ok(None);
        }
        let id = TeamId::new();
        sqlx::query("INSERT INTO teams (id, workspace_id, vendor_id, name, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(id.to_string())
            .bind(self.workspace.to_string())
            .bind(vendor.to_string())
            .bind(name.trim())
            .bind(now_millis())
            .execute(&mut **tx)
            .await?;
        self.teams.insert(key, id);
        self.summary_teams.push(name.trim().to_string());
        Ok(Some(id))
    }

    async fn agent(
        &mut self,
        tx: &mut crate::WriteTx,
        vendor: VendorId,
        team: Option<TeamId>,
        name: &str,
        create: bool,
    ) -> Result<Option<AgentId>> {
        let key = (vendor, name.trim().to_lowercase());
        if let Some(id) = self.agents.get(&key) {
            return Ok(Some(*id));
        }
        if !create {
            return Ok(None);
        }
        let id = AgentId::new();
        sqlx::query(
            "INSERT INTO agents (id, workspace_id, vendor_id, team_id, name, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.to_string())
        .bind(self.workspace.to_string())
        .bind(vendor.to_string())
        .bind(team.map(|t| t.to_string()))
        .bind(name.trim())
        .bind(now_millis())
        .execute(&mut **tx)
        .await?;
        self.agents.insert(key, id);
        self.summary_agents.push(name.trim().to_string());
        Ok(Some(id))
    }
}

/// Upserts one record by external id. Returns whether it was created.
async fn upsert(
    tx: &mut crate::WriteTx,
    workspace: WorkspaceId,
    vendor: VendorId,
    team: Option<TeamId>,
    agent: Option<AgentId>,
    record: &ConversationRecord,
) -> Result<(ConversationId, bool)> {
    let new_id = ConversationId::new();
    let now = now_millis();
    let (returned,): (String,) = sqlx::query_as(
        "INSERT INTO conversations (id, workspace_id, external_id, channel, agent_id, team_id, vendor_id, started_at,
             subject, transcript, tags, csat, nps, fcr, handle_time_seconds, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)
         ON CONFLICT (workspace_id, external_id) DO UPDATE SET
             channel = excluded.channel, agent_id = excluded.agent_id, team_id = excluded.team_id,
             vendor_id = excluded.vendor_id, started_at = excluded.started_at, subject = excluded.subject,
             transcript = excluded.transcript, tags = excluded.tags, csat = excluded.csat, nps = excluded.nps,
             fcr = excluded.fcr, handle_time_seconds = excluded.handle_time_seconds, updated_at = excluded.updated_at
         RETURNING id",
    )
    .bind(new_id.to_string())
    .bind(workspace.to_string())
    .bind(record.external_id.trim())
    .bind(record.channel.as_str())
    .bind(agent.map(|a| a.to_string()))
    .bind(team.map(|t| t.to_string()))
    .bind(vendor.to_string())
    .bind(record.started_at)
    .bind(&record.subject)
    .bind(sql::to_json(&record.transcript))
    .bind(sql::to_json(&record.tags))
    .bind(record.metrics.csat)
    .bind(record.metrics.nps)
    .bind(record.metrics.fcr.map(i64::from))
    .bind(record.metrics.handle_time_seconds)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    let id: ConversationId =
        returned.parse().map_err(|_| StoreError::Database(format!("malformed conversation id {returned:?}")))?;
    Ok((id, id == new_id))
}

impl Store {
    /// Creates or updates (by external id) one conversation. Agents and teams named in the
    /// record are created if missing; the vendor must exist.
    pub async fn put_conversation(
        &self,
        workspace: WorkspaceId,
        record: &ConversationRecord,
    ) -> Result<(Conversation, bool)> {
        let errors = record.check();
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let mut tx = self.write().await?;
        let mut org = OrgResolver::load(&mut tx, workspace).await?;
        let vendor = org
            .vendor(record.vendor.as_deref())
            .map_err(|reason| StoreError::Invalid(vec![FieldError::new("vendor", reason)]))?;
        let team = match &record.team {
            Some(t) => org.team(&mut tx, vendor, t, true).await?,
            None => None,
        };
        let agent = match &record.agent {
            Some(a) => org.agent(&mut tx, vendor, team, a, true).await?,
            None => None,
        };
        let started = now_millis();
        let (id, created) = upsert(&mut tx, workspace, vendor, team, agent, record).await?;
        if !created {
            // Reports follow a late CSAT or a corrected channel of a reviewed conversation.
            crate::rollups::refresh_outcomes(&mut tx, workspace, started).await?;
        }
        tx.commit().await?;
        Ok((self.get_conversation(workspace, VendorScope::All, id).await?, created))
    }

    /// Imports a stream of rows in one transaction. Every row is checked; if any is bad,
    /// nothing is imported and the problems are returned (line, field, reason). Memory stays
    /// bounded: rows are written as they arrive, only names of the organisation are cached.
    pub async fn import_conversations(
        &self,
        workspace: WorkspaceId,
        rows: &mut tokio::sync::mpsc::Receiver<ImportItem>,
    ) -> std::result::Result<ImportSummary, ImportError> {
        let mut tx = self.write_alone().await?;
        let started = now_millis();
        let mut org = OrgResolver::load(&mut tx, workspace).await?;
        let mut summary = ImportSummary::default();
        let mut problems = Vec::new();
        let mut total_problems = 0u64;
        let mut note = |problems: &mut Vec<RowProblem>, p: RowProblem| {
            total_problems += 1;
            if problems.len() < MAX_REPORTED_PROBLEMS {
                problems.push(p);
            }
        };
        while let Some(item) = rows.recv().await {
            summary.rows += 1;
            let (line, record) = match item {
                Ok(row) => row,
                Err(problem) => {
                    note(&mut problems, problem);
                    continue;
                }
            };
            let errors = record.check();
            if !errors.is_empty() {
                for e in errors {
                    note(&mut problems, RowProblem { line, field: e.field, reason: e.reason });
                }
                continue;
            }
            let vendor = match org.vendor(record.vendor.as_deref()) {
                Ok(v) => v,
                Err(reason) => {
                    note(&mut problems, RowProblem { line, field: "vendor".into(), reason });
                    continue;
                }
            };
            // Once a row is bad the transaction will be rolled back: stop writing, keep checking.
            let write = problems.is_empty();
            let team = match &record.team {
                Some(t) => org.team(&mut tx, vendor, t, write).await?,
                None => None,
            };
            let agent = match &record.agent {
                Some(a) => org.agent(&mut tx, vendor, team, a, write).await?,
                None => None,
            };
            if write {
                let (_, created) = upsert(&mut tx, workspace, vendor, team, agent, &record).await?;
                if created {
                    summary.created += 1;
                } else {
                    summary.updated += 1;
                }
            }
        }
        if total_problems > 0 {
            tx.rollback().await.map_err(StoreError::from)?;
            return Err(ImportError::BadRows { problems, total: total_problems });
        }
        if summary.updated > 0 {
            // Reports follow late CSATs and corrected channels of reviewed conversations, in the
            // same transaction as the import.
            crate::rollups::refresh_outcomes(&mut tx, workspace, started).await?;
        }
        tx.commit().await?;
        summary.agents_created = org.summary_agents;
        summary.teams_created = org.summary_teams;
        Ok(summary)
    }

    pub async fn get_conversation(
        &self,
        workspace: WorkspaceId,
        scope: VendorScope,
        id: ConversationId,
    ) -> Result<Conversation> {
        let mut q = Select::new(&format!("SELECT {CONVERSATION_COLUMNS} FROM conversations"));
        q.and_text("workspace_id", workspace).and_text("id", id).and_opt_text("vendor_id", scope.vendor());
        q.fetch_all(self.pool(), "").await?.first().map(conversation_of).unwrap_or(Err(StoreError::NotFound))
    }

    /// A conversation to be reviewed with scorecard version `version`, and that version's status
    /// read by the same statement: a review submitted over the API reads both, and the version's
    /// status needs no read of its own ([`Store::create_submitted_evaluation_of`]).
    pub async fn conversation_to_review(
        &self,
        workspace: WorkspaceId,
        scope: VendorScope,
        id: ConversationId,
        version: ScorecardVersionId,
    ) -> Result<ConversationToReview> {
        let version_column = |column: &str| {
            format!(
                "(SELECT {column} FROM scorecard_versions v WHERE v.workspace_id = c.workspace_id AND v.id = $3) \
                 AS version_{column}"
            )
        };
        let vendor = scope.vendor().map(|v| v.to_string());
        let sql = format!(
            "SELECT {CONVERSATION_COLUMNS}, {}, {} FROM conversations c WHERE c.workspace_id = $1 AND c.id = $2{}",
            version_column("status"),
            version_column("activated_at"),
            if vendor.is_some() { " AND c.vendor_id = $4" } else { "" }
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(workspace.to_string())
            .bind(id.to_string())
            .bind(version.to_string());
        if let Some(vendor) = vendor {
            query = query.bind(vendor);
        }
        let row = query.fetch_optional(self.pool()).await?.ok_or(StoreError::NotFound)?;
        Ok(ConversationToReview { conversation: conversation_of(&row)?, version: SeenVersion::read(version, &row)? })
    }

    pub async fn get_conversation_by_external_id(
        &self,
        workspace: WorkspaceId,
        external_id: &str,
    ) -> Result<Conversation> {
        let mut q = Select::new(&format!("SELECT {CONVERSATION_COLUMNS} FROM conversations"));
        q.and_text("workspace_id", workspace).and_text("external_id", external_id.trim());
        q.fetch_all(self.pool(), "").await?.first().map(conversation_of).unwrap_or(Err(StoreError::NotFound))
    }

    /// Conversations newest first. `only_agent` restricts to one agent's conversations (an
    /// agent's own view).
    pub async fn list_conversations(
        &self,
        workspace: WorkspaceId,
        scope: VendorScope,
        only_agent: Option<AgentId>,
        filter: &ConversationFilter,
        page: &PageRequest,
    ) -> Result<Page<Conversation>> {
        let mut q = Select::new(&format!("SELECT {CONVERSATION_COLUMNS} FROM conversations"));
        q.and_text("workspace_id", workspace)
            .and_opt_text("vendor_id", scope.vendor())
            .and_opt_text("agent_id", only_agent)
            .and_opt_text("vendor_id", filter.vendor_id)
            .and_opt_text("team_id", filter.team_id)
            .and_opt_text("agent_id", filter.agent_id)
            .and_opt_text("channel", filter.channel.map(Channel::as_str));
        if let Some(from) = filter.from {
            q.and("started_at", ">=", Value::Int(from));
        }
        if let Some(to) = filter.to {
            q.and("started_at", "<", Value::Int(to));
        }
        if let Some(cursor) = &page.cursor {
            q.and("id", "<", Value::Text(cursor.clone()));
        }
        let limit = page.limit();
        let rows = q.fetch_all(self.pool(), &format!("ORDER BY id DESC LIMIT {}", limit + 1)).await?;
        let items = rows.iter().map(conversation_of).collect::<Result<Vec<_>>>()?;
        Ok(page_of(items, limit, |c| c.id.to_string()))
    }

    /// How many conversations the workspace holds.
    pub async fn count_conversations(&self, workspace: WorkspaceId) -> Result<i64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM conversations WHERE workspace_id = $1")
            .bind(workspace.to_string())
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }
}
