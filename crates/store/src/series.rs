//! Recurring calibration series, their occurrences (each a session with a recorded random
//! draw), and the "calibration due" list.

use crate::calibrations::NewSession;
use crate::sql::{self, Select, Value};
use crate::{Result, Store, StoreError, now_millis};
use plumbline_domain::calibration::SessionMode;
use plumbline_domain::scorecard::{FieldError, VersionStatus};
use plumbline_domain::series::{Cadence, CalibrationSeries, Occurrence, SeriesFilter, draw, occurrence_seed};
use plumbline_domain::time::{DAY_MS, Date};
use plumbline_domain::{
    CalibrationId, ConversationId, Millis, ScorecardId, ScorecardVersionId, SeriesId, UserId, WorkspaceId,
};
use serde::Serialize;
use sqlx::any::AnyRow;

/// A new series.
#[derive(Clone, Debug)]
pub struct NewSeries {
    pub title: String,
    pub goals: String,
    pub scorecard_id: ScorecardId,
    pub cadence: Cadence,
    pub first_date: Date,
    pub start_minute: u32,
    pub duration_minutes: u32,
    pub facilitator_id: UserId,
    pub participant_ids: Vec<UserId>,
    pub mode: SessionMode,
    pub hide_agent_name: bool,
    pub filter: SeriesFilter,
    pub conversations_per_occurrence: u32,
    /// `None`: a fresh random seed.
    pub seed: Option<u64>,
    pub created_by: UserId,
}

/// Why calibration is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DueReason {
    /// An active scorecard version nobody has calibrated yet.
    NewScorecardVersion,
    /// The same, for a version marked as a major revision.
    MajorRevision,
    /// A grader who has never taken part in a session.
    GraderWithoutSession,
    /// A series' next date is close (within 14 days) and not yet scheduled.
    SeriesDate,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DueItem {
    pub reason: DueReason,
    pub title: String,
    /// `YYYY-MM-DD`, when there is a date.
    pub due_on: Option<String>,
    pub scorecard_version_id: Option<ScorecardVersionId>,
    pub user_id: Option<UserId>,
    pub series_id: Option<SeriesId>,
}

pub const MAX_CONVERSATIONS_PER_OCCURRENCE: u32 = 20;
/// How far ahead a series date makes calibration due.
pub const SERIES_DUE_DAYS: i64 = 14;

const SERIES_COLUMNS: &str = "id, title, goals, scorecard_id, cadence, first_date, start_minute, duration_minutes, \
     facilitator_id, participants, mode, hide_agent_name, filter, conversations_per_occurrence, seed, active, created_at";

fn series_of(row: &AnyRow) -> Result<CalibrationSeries> {
    let cadence = sql::text(row, "cadence")?;
    let mode = sql::text(row, "mode")?;
    let seed = sql::text(row, "seed")?;
    Ok(CalibrationSeries {
        id: sql::id(row, "id")?,
        title: sql::text(row, "title")?,
        goals: sql::text(row, "goals")?,
        scorecard_id: sql::id(row, "scorecard_id")?,
        cadence: Cadence::parse(&cadence)
            .ok_or_else(|| StoreError::Database(format!("unknown cadence {cadence:?}")))?,
        first_date: sql::text(row, "first_date")?,
        start_minute: sql::int(row, "start_minute")? as u32,
        duration_minutes: sql::int(row, "duration_minutes")? as u32,
        facilitator_id: sql::id(row, "facilitator_id")?,
        participant_ids: sql::json(row, "participants")?,
        mode: SessionMode::parse(&mode).ok_or_else(|| StoreError::Database(format!("unknown mode {mode:?}")))?,
        hide_agent_name: sql::flag(row, "hide_agent_name")?,
        filter: sql::json(row, "filter")?,
        conversations_per_occurrence: sql::int(row, "conversations_per_occurrence")? as u32,
        seed: seed.parse().map_err(|_| StoreError::Database(format!("bad seed {seed:?}")))?,
        active: sql::flag(row, "active")?,
        created_at: sql::int(row, "created_at")?,
    })
}

impl Store {
    pub async fn create_series(&self, workspace: WorkspaceId, new: NewSeries) -> Result<CalibrationSeries> {
        let mut errors = Vec::new();
        if new.title.trim().is_empty() {
            errors.push(FieldError::new("title", "must not be empty"));
        }
        if new.participant_ids.is_empty() {
            errors.push(FieldError::new("participant_ids", "choose at least one participant"));
        }
        if !(1..=MAX_CONVERSATIONS_PER_OCCURRENCE).contains(&new.conversations_per_occurrence) {
            errors.push(FieldError::new(
                "conversations_per_occurrence",
                format!("must be 1 to {MAX_CONVERSATIONS_PER_OCCURRENCE}"),
            ));
        }
        if new.start_minute >= 24 * 60 {
            errors.push(FieldError::new("start_time", "must be a time of day"));
        }
        if !(5..=8 * 60).contains(&new.duration_minutes) {
            errors.push(FieldError::new("duration_minutes", "must be 5 to 480 minutes"));
        }
        if new.mode == SessionMode::Hidden && new.hide_agent_name {
            errors.push(FieldError::new(
                "hide_agent_name",
                "a hidden session must look like an ordinary review, which shows the agent (use blind mode to hide it)",
            ));
        }
        if self.get_scorecard(workspace, new.scorecard_id).await.is_err() {
            errors.push(FieldError::new("scorecard_id", "there is no such scorecard"));
        }
        for (i, user) in new.participant_ids.iter().chain([&new.facilitator_id]).enumerate() {
            if !self.get_user(workspace, *user).await.is_ok_and(|u| u.active) {
                let field = if i < new.participant_ids.len() {
                    format!("participant_ids[{i}]")
                } else {
                    "facilitator_id".into()
                };
                errors.push(FieldError::new(field, "there is no such active user"));
            }
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let id = SeriesId::new();
        let seed = new.seed.unwrap_or_else(|| uuid::Uuid::new_v4().as_u128() as u64);
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO calibration_series (id, workspace_id, title, goals, scorecard_id, cadence, first_date, start_minute,
                 duration_minutes, facilitator_id, participants, mode, hide_agent_name, filter, conversations_per_occurrence,
                 seed, active, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1, $17, $18)",
        )
        .bind(id.to_string())
        .bind(workspace.to_string())
        .bind(new.title.trim())
        .bind(&new.goals)
        .bind(new.scorecard_id.to_string())
        .bind(new.cadence.as_str())
        .bind(new.first_date.to_string())
        .bind(i64::from(new.start_minute))
        .bind(i64::from(new.duration_minutes))
        .bind(new.facilitator_id.to_string())
        .bind(sql::to_json(&new.participant_ids))
        .bind(new.mode.as_str())
        .bind(i64::from(new.hide_agent_name))
        .bind(sql::to_json(&new.filter))
        .bind(i64::from(new.conversations_per_occurrence))
        .bind(seed.to_string())
        .bind(new.created_by.to_string())
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_series(workspace, id).await
    }

    pub async fn get_series(&self, workspace: WorkspaceId, id: SeriesId) -> Result<CalibrationSeries> {
        let mut q = Select::new(&format!("SELECT {SERIES_COLUMNS} FROM calibration_series"));
        q.and_text("workspace_id", workspace).and_text("id", id);
        q.fetch_all(self.pool(), "").await?.first().map(series_of).unwrap_or(Err(StoreError::NotFound))
    }

    pub async fn list_series(&self, workspace: WorkspaceId) -> Result<Vec<CalibrationSeries>> {
        let mut q = Select::new(&format!("SELECT {SERIES_COLUMNS} FROM calibration_series"));
        q.and_text("workspace_id", workspace);
        q.fetch_all(self.pool(), "ORDER BY id DESC").await?.iter().map(series_of).collect()
    }

    /// Stops (or resumes) a series.
    pub async fn set_series_active(
        &self,
        workspace: WorkspaceId,
        id: SeriesId,
        active: bool,
    ) -> Result<CalibrationSeries> {
        let mut tx = self.write().await?;
        let done = sqlx::query("UPDATE calibration_series SET active = $1 WHERE workspace_id = $2 AND id = $3")
            .bind(i64::from(active))
            .bind(workspace.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await?;
        self.get_series(workspace, id).await
    }

    /// The occurrences held so far (with their sessions and seeds), then the next `upcoming`
    /// dates not yet scheduled.
    pub async fn series_occurrences(
        &self,
        workspace: WorkspaceId,
        series: &CalibrationSeries,
        upcoming: u32,
    ) -> Result<Vec<Occurrence>> {
        self.get_series(workspace, series.id).await?;
        let rows = sqlx::query(
            "SELECT number, session_id, occurs_on, seed, candidates FROM calibration_occurrences
             WHERE series_id = $1 ORDER BY number",
        )
        .bind(series.id.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::new();
        for row in &rows {
            let number = sql::int(row, "number")? as u32;
            let seed = sql::text(row, "seed")?;
            out.push(Occurrence {
                number,
                occurs_on: sql::text(row, "occurs_on")?,
                starts_at: series.occurrence(number).1,
                session_id: Some(sql::id(row, "session_id")?),
                seed: Some(seed.parse().map_err(|_| StoreError::Database(format!("bad seed {seed:?}")))?),
                candidates: Some(sql::int(row, "candidates")? as u64),
            });
        }
        let next = out.len() as u32;
        if series.active {
            for number in next..next + upcoming {
                let (date, starts_at) = series.occurrence(number);
                out.push(Occurrence {
                    number,
                    occurs_on: date.to_string(),
                    starts_at,
                    session_id: None,
                    seed: None,
                    candidates: None,
                });
            }
        }
        Ok(out)
    }

    /// The conversations an occurrence on `day` may draw from: matching the filter, started in
    /// the `within_days` before it, and never calibrated before.
    pub async fn series_candidates(
        &self,
        workspace: WorkspaceId,
        filter: &SeriesFilter,
        day: Date,
    ) -> Result<Vec<ConversationId>> {
        let mut q = Select::new("SELECT id FROM conversations");
        q.and_text("workspace_id", workspace)
            .and_opt_text("vendor_id", filter.vendor_id)
            .and_opt_text("team_id", filter.team_id)
            .and_opt_text("channel", filter.channel.map(|c| c.as_str()));
        if let Some(max) = filter.max_csat {
            q.and("csat", "<=", Value::Int(max));
        }
        let until = day.millis() + DAY_MS;
        q.and("started_at", "<", Value::Int(until));
        q.and("started_at", ">=", Value::Int(until - i64::from(filter.within_days.unwrap_or(30)) * DAY_MS));
        q.and_raw("id NOT IN (SELECT conversation_id FROM calibration_conversations)");
        let rows = q.fetch_all(self.pool(), "ORDER BY id").await?;
        rows.iter().map(|r| sql::id(r, "id")).collect()
    }

    /// Schedules the next occurrence: draws its conversations with a recorded seed and creates
    /// its session on the scorecard's active version. Two concurrent calls never create two
    /// occurrences with the same number.
    pub async fn schedule_next_occurrence(
        &self,
        workspace: WorkspaceId,
        id: SeriesId,
        by: UserId,
    ) -> Result<(Occurrence, crate::SessionRecord)> {
        let series = self.get_series(workspace, id).await?;
        if !series.active {
            return Err(StoreError::Conflict("the series is stopped".into()));
        }
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM calibration_occurrences WHERE series_id = $1")
            .bind(id.to_string())
            .fetch_one(self.pool())
            .await?;
        let number = count as u32;
        let (date, starts_at) = series.occurrence(number);
        let versions = self.list_versions(workspace, series.scorecard_id).await?;
        let version = versions.iter().find(|v| v.status == VersionStatus::Active).ok_or_else(|| {
            StoreError::Conflict("the scorecard has no active version to calibrate; activate one first".into())
        })?;
        let candidates = self.series_candidates(workspace, &series.filter, date).await?;
        let seed = occurrence_seed(series.seed, number);
        let drawn = draw(&candidates, series.conversations_per_occurrence as usize, seed);
        if drawn.is_empty() {
            return Err(StoreError::Conflict(format!(
                "no conversation matches the series' filter in the {} days before {date} (conversations already calibrated are left out)",
                series.filter.within_days.unwrap_or(30)
            )));
        }
        let record = self
            .create_calibration(
                workspace,
                NewSession {
                    title: format!("{} #{}", series.title, number + 1),
                    goals: series.goals.clone(),
                    scorecard_version_id: version.id,
                    facilitator_id: series.facilitator_id,
                    mode: series.mode,
                    hide_agent_name: series.hide_agent_name,
                    scheduled_at: Some(starts_at),
                    scoring_deadline: Some(starts_at),
                    conversation_ids: drawn,
                    participant_ids: series.participant_ids.clone(),
                    review_plan_id: None,
                    created_by: by,
                },
            )
            .await?;
        let mut tx = self.write().await?;
        let inserted = sqlx::query(
            "INSERT INTO calibration_occurrences (series_id, number, session_id, occurs_on, seed, candidates, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(i64::from(number))
        .bind(record.session.id.to_string())
        .bind(date.to_string())
        .bind(seed.to_string())
        .bind(candidates.len() as i64)
        .bind(now_millis())
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => tx.commit().await?,
            Err(e) => {
                drop(tx);
                // Someone scheduled this occurrence at the same moment: withdraw our session.
                self.cancel_calibration(workspace, record.session.id, "scheduled twice at once", by).await?;
                return Err(match StoreError::from(e) {
                    StoreError::Duplicate(_) => {
                        StoreError::Conflict("this occurrence was just scheduled by someone else".into())
                    }
                    other => other,
                });
            }
        }
        let occurrence = Occurrence {
            number,
            occurs_on: date.to_string(),
            starts_at,
            session_id: Some(record.session.id),
            seed: Some(seed),
            candidates: Some(candidates.len() as u64),
        };
        Ok((occurrence, record))
    }

    /// Sessions (not cancelled) this user facilitates or takes part in openly, with a time.
    pub async fn user_scheduled_sessions(
        &self,
        workspace: WorkspaceId,
        user: UserId,
    ) -> Result<Vec<(CalibrationId, String, Millis)>> {
        let rows = sqlx::query(
            "SELECT id, title, scheduled_at FROM calibration_sessions
             WHERE workspace_id = $1 AND status <> 'cancelled' AND scheduled_at IS NOT NULL
               AND (facilitator_id = $2 OR (mode <> 'hidden' AND id IN
                   (SELECT session_id FROM calibration_participants WHERE user_id = $2 AND removed_at IS NULL)))
             ORDER BY scheduled_at",
        )
        .bind(workspace.to_string())
        .bind(user.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((sql::id(r, "id")?, sql::text(r, "title")?, sql::int(r, "scheduled_at")?))).collect()
    }

    /// What calibration is due, as of `today`.
    pub async fn calibration_due(&self, workspace: WorkspaceId, today: Date) -> Result<Vec<DueItem>> {
        let mut due = Vec::new();
        let versions = sqlx::query(
            "SELECT v.id, v.number, v.change_kind, v.activated_at, s.name FROM scorecard_versions v
             JOIN scorecards s ON s.id = v.scorecard_id
             WHERE v.workspace_id = $1 AND v.status = 'active' AND NOT EXISTS
                 (SELECT 1 FROM calibration_sessions c WHERE c.scorecard_version_id = v.id AND c.status <> 'cancelled')
             ORDER BY s.name",
        )
        .bind(workspace.to_string())
        .fetch_all(self.pool())
        .await?;
        for row in &versions {
            let major = sql::text(row, "change_kind")? == "major";
            let activated: Option<Millis> = sql::opt_int(row, "activated_at")?;
            due.push(DueItem {
                reason: if major { DueReason::MajorRevision } else { DueReason::NewScorecardVersion },
                title: format!(
                    "{} v{}{}",
                    sql::text(row, "name")?,
                    sql::int(row, "number")?,
                    if major { " (major revision)" } else { "" }
                ),
                due_on: activated.map(|ms| Date::of(ms).to_string()),
                scorecard_version_id: Some(sql::id(row, "id")?),
                user_id: None,
                series_id: None,
            });
        }
        let graders = sqlx::query(
            "SELECT id, name FROM users u WHERE u.workspace_id = $1 AND u.active = 1 AND u.role IN ('reviewer', 'vendor_lead')
               AND NOT EXISTS (SELECT 1 FROM calibration_participants p JOIN calibration_sessions c ON c.id = p.session_id
                   WHERE p.user_id = u.id AND p.removed_at IS NULL AND c.status <> 'cancelled')
             ORDER BY name",
        )
        .bind(workspace.to_string())
        .fetch_all(self.pool())
        .await?;
        for row in &graders {
            due.push(DueItem {
                reason: DueReason::GraderWithoutSession,
                title: sql::text(row, "name")?,
                due_on: None,
                scorecard_version_id: None,
                user_id: Some(sql::id(row, "id")?),
                series_id: None,
            });
        }
        for series in self.list_series(workspace).await?.into_iter().filter(|s| s.active) {
            let next =
                self.series_occurrences(workspace, &series, 1).await?.into_iter().find(|o| o.session_id.is_none());
            if let Some(next) = next
                && Date::parse(&next.occurs_on).is_some_and(|d| d.days() <= today.days() + SERIES_DUE_DAYS)
            {
                due.push(DueItem {
                    reason: DueReason::SeriesDate,
                    title: format!("{} #{}", series.title, next.number + 1),
                    due_on: Some(next.occurs_on),
                    scorecard_version_id: None,
                    user_id: None,
                    series_id: Some(series.id),
                });
            }
        }
        Ok(due)
    }
}
