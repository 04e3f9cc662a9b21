//! Grade-the-grader: programs, draws (a recorded seed each), audits (the benchmark's blind
//! re-grade as an `audit` evaluation; alignment stored when it is submitted) and appeals.

use crate::sql::BindFloat;
use crate::sql::{self, Select, Value};
use crate::{Result, Store, StoreError, now_millis};
use plumbline_domain::access::VendorScope;
use plumbline_domain::calibration::{CriterionAlignment, alignment};
use plumbline_domain::evaluation::{Answer, Evaluation};
use plumbline_domain::grader_qa::{
    AdaptiveRule, AuditFilter, AuditProgram, Candidate, GraderRecord, Sample, assign_benchmarks, concede, sample,
};
use plumbline_domain::scorecard::FieldError;
use plumbline_domain::scoring::{ScoringPolicy, score_evaluation};
use plumbline_domain::series::occurrence_seed;
use plumbline_domain::time::DAY_MS;
use plumbline_domain::{
    AppealId, AuditId, ConversationId, CriterionId, EvaluationId, Millis, ProgramId, UserId, VendorId, WorkspaceId,
};
use serde::Serialize;
use sqlx::any::AnyRow;
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct NewProgram {
    pub name: String,
    pub sample: Sample,
    pub period_days: u32,
    pub filter: AuditFilter,
    pub benchmark_ids: Vec<UserId>,
    pub hide_agent_name: bool,
    pub adaptive: Option<AdaptiveRule>,
    pub seed: Option<u64>,
    pub created_by: UserId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditStatus {
    /// The benchmark grader has not submitted the re-grade yet.
    Assigned,
    Completed,
}

/// An audit: one original review, its benchmark grader and, once completed, the alignment.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub id: AuditId,
    pub program_id: ProgramId,
    pub draw_number: u32,
    pub original_id: EvaluationId,
    pub audit_evaluation_id: EvaluationId,
    pub original_reviewer_id: UserId,
    pub benchmark_id: UserId,
    pub grader_vendor_id: VendorId,
    pub conversation_vendor_id: VendorId,
    pub status: AuditStatus,
    pub alignment: Option<f64>,
    pub na_disagreements: Option<u32>,
    pub critical_disagreements: Option<u32>,
    /// Original score - benchmark score.
    pub score_delta: Option<f64>,
    pub criteria: Vec<CriterionAlignment>,
    pub created_at: Millis,
    pub completed_at: Option<Millis>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppealStatus {
    Open,
    Accepted,
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Appeal {
    pub id: AppealId,
    pub audit_id: AuditId,
    pub criterion_id: CriterionId,
    pub reason: String,
    pub status: AppealStatus,
    pub decided_by: Option<UserId>,
    pub decision_note: Option<String>,
    pub alignment_before: Option<f64>,
    pub alignment_after: Option<f64>,
    pub created_at: Millis,
    pub decided_at: Option<Millis>,
}

/// A decision on an appeal: by the benchmark grader, or by a calibrator (`may_overrule`).
#[derive(Clone, Copy, Debug)]
pub struct AppealDecision<'a> {
    pub accept: bool,
    pub note: &'a str,
    pub by: UserId,
    pub may_overrule: bool,
}

/// What a draw did.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DrawOutcome {
    pub number: u32,
    /// The seed of this draw (decimal text): the same candidates and seed give the same sample.
    pub seed: String,
    /// Eligible reviews when it was drawn.
    pub candidates: u64,
    pub audits: Vec<AuditRecord>,
}

/// Which audits a viewer may list.
#[derive(Clone, Copy, Debug)]
pub enum AuditVisibility {
    /// Admins and qa_leads.
    All,
    /// A vendor lead: completed audits of their vendor's graders, and their own.
    Vendor(VendorId, UserId),
    /// Audits they re-grade, and completed audits of their own reviews.
    Own(UserId),
}

const AUDIT_COLUMNS: &str = "id, program_id, draw_number, original_id, audit_evaluation_id, original_reviewer_id, \
     benchmark_id, grader_vendor_id, conversation_vendor_id, status, alignment, na_disagreements, critical_disagreements, \
     score_delta, criteria, created_at, completed_at";

fn audit_of(row: &AnyRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        id: sql::id(row, "id")?,
        program_id: sql::id(row, "program_id")?,
        draw_number: sql::int(row, "draw_number")? as u32,
        original_id: sql::id(row, "original_id")?,
        audit_evaluation_id: sql::id(row, "audit_evaluation_id")?,
        original_reviewer_id: sql::id(row, "original_reviewer_id")?,
        benchmark_id: sql::id(row, "benchmark_id")?,
        grader_vendor_id: sql::id(row, "grader_vendor_id")?,
        conversation_vendor_id: sql::id(row, "conversation_vendor_id")?,
        status: if sql::text(row, "status")? == "completed" { AuditStatus::Completed } else { AuditStatus::Assigned },
        alignment: sql::opt_float(row, "alignment")?,
        na_disagreements: sql::opt_int(row, "na_disagreements")?.map(|n| n as u32),
        critical_disagreements: sql::opt_int(row, "critical_disagreements")?.map(|n| n as u32),
        score_delta: sql::opt_float(row, "score_delta")?,
        criteria: match sql::opt_text(row, "criteria")? {
            Some(text) => serde_json::from_str(&text).map_err(|e| StoreError::Database(e.to_string()))?,
            None => Vec::new(),
        },
        created_at: sql::int(row, "created_at")?,
        completed_at: sql::opt_int(row, "completed_at")?,
    })
}

const PROGRAM_COLUMNS: &str =
    "id, name, sample, period_days, filter, benchmarks, hide_agent_name, adaptive, seed, active, created_at";

fn program_of(row: &AnyRow) -> Result<AuditProgram> {
    let seed = sql::text(row, "seed")?;
    let adaptive: Option<AdaptiveRule> = match sql::opt_text(row, "adaptive")? {
        Some(text) => Some(serde_json::from_str(&text).map_err(|e| StoreError::Database(e.to_string()))?),
        None => None,
    };
    Ok(AuditProgram {
        id: sql::id(row, "id")?,
        name: sql::text(row, "name")?,
        sample: sql::json(row, "sample")?,
        period_days: sql::int(row, "period_days")? as u32,
        filter: sql::json(row, "filter")?,
        benchmark_ids: sql::json(row, "benchmarks")?,
        hide_agent_name: sql::flag(row, "hide_agent_name")?,
        adaptive_rule: adaptive.map(|a| a.explain()),
        adaptive,
        seed: seed.parse().map_err(|_| StoreError::Database(format!("bad seed {seed:?}")))?,
        active: sql::flag(row, "active")?,
        created_at: sql::int(row, "created_at")?,
    })
}

fn appeal_of(row: &AnyRow) -> Result<Appeal> {
    let status = match sql::text(row, "status")?.as_str() {
        "accepted" => AppealStatus::Accepted,
        "rejected" => AppealStatus::Rejected,
        _ => AppealStatus::Open,
    };
    Ok(Appeal {
        id: sql::id(row, "id")?,
        audit_id: sql::id(row, "audit_id")?,
        criterion_id: sql::id(row, "criterion_id")?,
        reason: sql::text(row, "reason")?,
        status,
        decided_by: sql::opt_id(row, "decided_by")?,
        decision_note: sql::opt_text(row, "decision_note")?,
        alignment_before: sql::opt_float(row, "alignment_before")?,
        alignment_after: sql::opt_float(row, "alignment_after")?,
        created_at: sql::int(row, "created_at")?,
        decided_at: sql::opt_int(row, "decided_at")?,
    })
}

type Tx = crate::WriteTx;

/// Alignment of the original review against the benchmark's answers, and the score delta.
fn compare(
    definition: &plumbline_domain::scorecard::ScorecardDefinition,
    original: &Evaluation,
    benchmark: &[Answer],
    policy: ScoringPolicy,
) -> (plumbline_domain::calibration::Alignment, Option<f64>) {
    let aligned = alignment(definition, &original.answers, benchmark);
    let original_score = score_evaluation(definition, &original.answers, policy).score;
    let benchmark_score = score_evaluation(definition, benchmark, policy).score;
    (aligned, original_score.zip(benchmark_score).map(|(o, b)| o - b))
}

async fn write_alignment(
    tx: &mut Tx,
    audit: AuditId,
    aligned: &plumbline_domain::calibration::Alignment,
    score_delta: Option<f64>,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "UPDATE audits SET status = 'completed', alignment = $1, na_disagreements = $2, critical_disagreements = $3,
             score_delta = $4, criteria = $5, completed_at = COALESCE(completed_at, $6) WHERE id = $7",
    )
    .bind(aligned.alignment)
    .bind(aligned.na_disagreements as i64)
    .bind(aligned.critical_disagreements as i64)
    .bind_float(score_delta)
    .bind(sql::to_json(&aligned.criteria))
    .bind(now)
    .bind(audit.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    pub async fn create_program(&self, workspace: WorkspaceId, new: NewProgram) -> Result<AuditProgram> {
        let mut errors = Vec::new();
        if new.name.trim().is_empty() {
            errors.push(FieldError::new("name", "must not be empty"));
        }
        match new.sample {
            Sample::Percent(p) if !(p.is_finite() && p > 0.0 && p <= 100.0) => {
                errors.push(FieldError::new("sample.percent", "must be more than 0 and at most 100"))
            }
            Sample::PerGrader(n) if !(1..=1000).contains(&n) => {
                errors.push(FieldError::new("sample.per_grader", "must be 1 to 1000"))
            }
            _ => {}
        }
        if !(1..=366).contains(&new.period_days) {
            errors.push(FieldError::new("period_days", "must be 1 to 366"));
        }
        if new.benchmark_ids.is_empty() {
            errors.push(FieldError::new("benchmark_ids", "choose at least one benchmark grader"));
        }
        for (i, user) in new.benchmark_ids.iter().enumerate() {
            if !self.get_user(workspace, *user).await.is_ok_and(|u| u.active) {
                errors.push(FieldError::new(format!("benchmark_ids[{i}]"), "there is no such active user"));
            }
        }
        if let Some(a) = new.adaptive
            && !(a.alignment_below.is_finite()
                && (0.0..=1.0).contains(&a.alignment_below)
                && a.factor >= 1
                && a.budget >= 1)
        {
            errors.push(FieldError::new("adaptive", "alignment_below in 0..1, factor and budget at least 1"));
        }
        if !errors.is_empty() {
            return Err(StoreError::Invalid(errors));
        }
        let id = ProgramId::new();
        let seed = new.seed.unwrap_or_else(|| uuid::Uuid::new_v4().as_u128() as u64);
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO audit_programs (id, workspace_id, name, sample, period_days, filter, benchmarks, hide_agent_name,
                 adaptive, seed, active, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12)",
        )
        .bind(id.to_string())
        .bind(workspace.to_string())
        .bind(new.name.trim())
        .bind(sql::to_json(&new.sample))
        .bind(i64::from(new.period_days))
        .bind(sql::to_json(&new.filter))
        .bind(sql::to_json(&new.benchmark_ids))
        .bind(i64::from(new.hide_agent_name))
        .bind(new.adaptive.map(|a| sql::to_json(&a)))
        .bind(seed.to_string())
        .bind(new.created_by.to_string())
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_program(workspace, id).await
    }

    pub async fn get_program(&self, workspace: WorkspaceId, id: ProgramId) -> Result<AuditProgram> {
        let mut q = Select::new(&format!("SELECT {PROGRAM_COLUMNS} FROM audit_programs"));
        q.and_text("workspace_id", workspace).and_text("id", id);
        q.fetch_all(self.pool(), "").await?.first().map(program_of).unwrap_or(Err(StoreError::NotFound))
    }

    pub async fn list_programs(&self, workspace: WorkspaceId) -> Result<Vec<AuditProgram>> {
        let mut q = Select::new(&format!("SELECT {PROGRAM_COLUMNS} FROM audit_programs"));
        q.and_text("workspace_id", workspace);
        q.fetch_all(self.pool(), "ORDER BY id DESC").await?.iter().map(program_of).collect()
    }

    /// The submitted reviews a program's draw may take now: its filter, submitted in the period
    /// before `now`, never audited, not calibration tasks.
    pub async fn audit_candidates(
        &self,
        workspace: WorkspaceId,
        program: &AuditProgram,
        now: Millis,
    ) -> Result<Vec<Candidate>> {
        let mut q = Select::new(
            "SELECT e.id, e.reviewer_id FROM evaluations e JOIN conversations c ON c.id = e.conversation_id",
        );
        q.and_text("e.workspace_id", workspace)
            .and_raw("e.kind = 'review'")
            .and_raw("e.status = 'submitted'")
            .and_raw("e.calibration_session_id IS NULL")
            .and_raw("e.id NOT IN (SELECT original_id FROM audits)")
            .and_opt_text("e.vendor_id", program.filter.vendor_id)
            .and_opt_text("e.team_id", program.filter.team_id)
            .and_opt_text("c.channel", program.filter.channel.map(|c| c.as_str()));
        let days = program.filter.within_days.unwrap_or(program.period_days);
        q.and("e.submitted_at", ">=", Value::Int(now - i64::from(days) * DAY_MS));
        let rows = q.fetch_all(self.pool(), "ORDER BY e.id").await?;
        rows.iter()
            .map(|r| Ok(Candidate { evaluation_id: sql::id(r, "id")?, reviewer_id: sql::id(r, "reviewer_id")? }))
            .collect()
    }

    /// Each grader's completed audits and mean alignment (for adaptive sampling).
    async fn grader_records(&self, workspace: WorkspaceId) -> Result<HashMap<UserId, GraderRecord>> {
        let rows = sqlx::query(
            "SELECT original_reviewer_id, COUNT(*) AS n, AVG(alignment) AS mean FROM audits
             WHERE workspace_id = $1 AND status = 'completed' GROUP BY original_reviewer_id",
        )
        .bind(workspace.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    sql::id(r, "original_reviewer_id")?,
                    GraderRecord { audits: sql::int(r, "n")? as u32, mean_alignment: sql::opt_float(r, "mean")? },
                ))
            })
            .collect()
    }

    /// Draws the next sample of a program and assigns each review to a benchmark grader (never
    /// its own grader), creating the blind re-grade as a draft `audit` evaluation.
    pub async fn draw_audits(&self, workspace: WorkspaceId, id: ProgramId) -> Result<DrawOutcome> {
        let program = self.get_program(workspace, id).await?;
        if !program.active {
            return Err(StoreError::Conflict("the program is stopped".into()));
        }
        let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_draws WHERE program_id = $1")
            .bind(id.to_string())
            .fetch_one(self.pool())
            .await?;
        let number = count as u32;
        let seed = occurrence_seed(program.seed, number);
        let now = now_millis();
        let candidates = self.audit_candidates(workspace, &program, now).await?;
        let records = self.grader_records(workspace).await?;
        let drawn = sample(&candidates, program.sample, program.adaptive, &records, seed);
        let reviewer_of: HashMap<EvaluationId, UserId> =
            candidates.iter().map(|c| (c.evaluation_id, c.reviewer_id)).collect();
        let pairs: Vec<(EvaluationId, UserId)> = drawn.iter().map(|e| (*e, reviewer_of[e])).collect();
        let open: Vec<(String, i64)> = sqlx::query_as(
            "SELECT benchmark_id, COUNT(*) FROM audits WHERE workspace_id = $1 AND status = 'assigned' GROUP BY benchmark_id",
        )
        .bind(workspace.to_string())
        .fetch_all(self.pool())
        .await?;
        let load: HashMap<UserId, usize> =
            open.into_iter().filter_map(|(b, n)| b.parse().ok().map(|b| (b, n as usize))).collect();
        let assigned = assign_benchmarks(&pairs, &program.benchmark_ids, &load);
        let mut originals = Vec::with_capacity(assigned.len());
        for (review, benchmark) in &assigned {
            let (original, _) = self.get_evaluation(workspace, *review).await?;
            let grader = self.get_user(workspace, original.reviewer_id).await?;
            originals.push((original, grader.vendor_id, *benchmark));
        }
        let mut tx = self.write().await?;
        let inserted = sqlx::query(
            "INSERT INTO audit_draws (program_id, number, seed, candidates, drawn, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id.to_string())
        .bind(i64::from(number))
        .bind(seed.to_string())
        .bind(candidates.len() as i64)
        .bind(originals.len() as i64)
        .bind(now)
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            return Err(match StoreError::from(e) {
                StoreError::Duplicate(_) => StoreError::Conflict("this draw was just made by someone else".into()),
                other => other,
            });
        }
        let mut ids = Vec::new();
        for (original, grader_vendor, benchmark) in &originals {
            let audit_evaluation = EvaluationId::new();
            sqlx::query(
                "INSERT INTO evaluations (id, workspace_id, conversation_id, scorecard_version_id, reviewer_id, kind, status,
                     overall_feedback, vendor_id, team_id, agent_id, revision, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, 'audit', 'draft', '', $6, $7, $8, 1, $9, $9)",
            )
            .bind(audit_evaluation.to_string())
            .bind(workspace.to_string())
            .bind(original.conversation_id.to_string())
            .bind(original.scorecard_version_id.to_string())
            .bind(benchmark.to_string())
            .bind(original.vendor_id.to_string())
            .bind(original.team_id.map(|t| t.to_string()))
            .bind(original.agent_id.map(|a| a.to_string()))
            .bind(now)
            .execute(&mut *tx)
            .await?;
            let audit = AuditId::new();
            sqlx::query(
                "INSERT INTO audits (id, workspace_id, program_id, draw_number, original_id, audit_evaluation_id,
                     original_reviewer_id, benchmark_id, grader_vendor_id, conversation_vendor_id, status, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'assigned', $11)",
            )
            .bind(audit.to_string())
            .bind(workspace.to_string())
            .bind(id.to_string())
            .bind(i64::from(number))
            .bind(original.id.to_string())
            .bind(audit_evaluation.to_string())
            .bind(original.reviewer_id.to_string())
            .bind(benchmark.to_string())
            .bind(grader_vendor.to_string())
            .bind(original.vendor_id.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            ids.push(audit);
        }
        tx.commit().await?;
        let mut audits = Vec::with_capacity(ids.len());
        for audit in ids {
            audits.push(self.get_audit(workspace, audit).await?);
        }
        Ok(DrawOutcome { number, seed: seed.to_string(), candidates: candidates.len() as u64, audits })
    }

    pub async fn get_audit(&self, workspace: WorkspaceId, id: AuditId) -> Result<AuditRecord> {
        let mut q = Select::new(&format!("SELECT {AUDIT_COLUMNS} FROM audits"));
        q.and_text("workspace_id", workspace).and_text("id", id);
        q.fetch_all(self.pool(), "").await?.first().map(audit_of).unwrap_or(Err(StoreError::NotFound))
    }

    /// Audits newest first, as `visibility` allows.
    pub async fn list_audits(&self, workspace: WorkspaceId, visibility: AuditVisibility) -> Result<Vec<AuditRecord>> {
        let mut q = Select::new(&format!("SELECT {AUDIT_COLUMNS} FROM audits"));
        q.and_text("workspace_id", workspace);
        match visibility {
            AuditVisibility::All => {}
            AuditVisibility::Vendor(vendor, me) => {
                q.and_expr(
                    "(benchmark_id = ? OR (status = 'completed' AND grader_vendor_id = ?))",
                    vec![Value::Text(me.to_string()), Value::Text(vendor.to_string())],
                );
            }
            AuditVisibility::Own(me) => {
                q.and_expr(
                    "(benchmark_id = ? OR (status = 'completed' AND original_reviewer_id = ?))",
                    vec![Value::Text(me.to_string()), Value::Text(me.to_string())],
                );
            }
        }
        q.fetch_all(self.pool(), "ORDER BY id DESC LIMIT 500").await?.iter().map(audit_of).collect()
    }

    pub async fn audit_appeals(&self, audit: AuditId) -> Result<Vec<Appeal>> {
        let rows = sqlx::query(
            "SELECT id, audit_id, criterion_id, reason, status, decided_by, decision_note, alignment_before, alignment_after,
                    created_at, decided_at FROM audit_appeals WHERE audit_id = $1 ORDER BY id",
        )
        .bind(audit.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(appeal_of).collect()
    }

    /// Called inside the transaction that submits an `audit` evaluation: stores the alignment
    /// of the original review against it.
    pub(crate) async fn complete_audit(
        &self,
        tx: &mut Tx,
        workspace: WorkspaceId,
        audit_evaluation: &Evaluation,
        policy: ScoringPolicy,
        now: Millis,
    ) -> Result<()> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {AUDIT_COLUMNS} FROM audits WHERE audit_evaluation_id = $1"
        )))
        .bind(audit_evaluation.id.to_string())
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else { return Ok(()) };
        let audit = audit_of(&row)?;
        let (original, _) = self.get_evaluation(workspace, audit.original_id).await?;
        let version = self.get_version(workspace, original.scorecard_version_id).await?;
        let (aligned, delta) = compare(&version.definition, &original, &audit_evaluation.answers, policy);
        write_alignment(tx, audit.id, &aligned, delta, now).await
    }

    /// The original grader appeals the benchmark's answer on one criterion of a completed audit.
    pub async fn appeal(
        &self,
        workspace: WorkspaceId,
        audit: AuditId,
        criterion: CriterionId,
        reason: &str,
        by: UserId,
    ) -> Result<Appeal> {
        let record = self.get_audit(workspace, audit).await?;
        if record.original_reviewer_id != by {
            return Err(StoreError::NotFound);
        }
        if record.status != AuditStatus::Completed {
            return Err(StoreError::Conflict("the audit is not completed yet".into()));
        }
        if reason.trim().is_empty() || reason.chars().count() > 5000 {
            return Err(StoreError::Invalid(vec![FieldError::new("reason", "say why, in at most 5000 characters")]));
        }
        if !record.criteria.iter().any(|c| c.criterion_id == criterion) {
            return Err(StoreError::Invalid(vec![FieldError::new("criterion_id", "is not a criterion of this audit")]));
        }
        let id = AppealId::new();
        let mut tx = self.write().await?;
        let (open,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM audit_appeals WHERE audit_id = $1 AND criterion_id = $2 AND status = 'open'",
        )
        .bind(audit.to_string())
        .bind(criterion.to_string())
        .fetch_one(&mut *tx)
        .await?;
        if open > 0 {
            return Err(StoreError::Conflict("an appeal on this criterion is already open".into()));
        }
        sqlx::query(
            "INSERT INTO audit_appeals (id, audit_id, criterion_id, reason, status, alignment_before, created_at)
             VALUES ($1, $2, $3, $4, 'open', $5, $6)",
        )
        .bind(id.to_string())
        .bind(audit.to_string())
        .bind(criterion.to_string())
        .bind(reason.trim())
        .bind_float(record.alignment)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.audit_appeals(audit).await?.into_iter().find(|a| a.id == id).ok_or(StoreError::NotFound)
    }

    /// The benchmark grader (or a calibrator, `may_overrule`) accepts or rejects an appeal. An
    /// accepted appeal gives the benchmark the original answer on that criterion; alignment and
    /// the score delta are recomputed. The appeal keeps the alignment before and after.
    pub async fn decide_appeal(
        &self,
        workspace: WorkspaceId,
        appeal: AppealId,
        decision: AppealDecision<'_>,
        policy: ScoringPolicy,
    ) -> Result<Appeal> {
        let row = sqlx::query(
            "SELECT id, audit_id, criterion_id, reason, status, decided_by, decision_note, alignment_before, alignment_after,
                    created_at, decided_at FROM audit_appeals WHERE id = $1",
        )
        .bind(appeal.to_string())
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let AppealDecision { accept, note, by, may_overrule } = decision;
        let current = appeal_of(&row)?;
        let record = self.get_audit(workspace, current.audit_id).await?;
        if record.benchmark_id != by && !may_overrule {
            return Err(StoreError::NotFound);
        }
        if current.status != AppealStatus::Open {
            return Err(StoreError::Conflict("the appeal is already decided".into()));
        }
        let (original, _) = self.get_evaluation(workspace, record.original_id).await?;
        let (benchmark, _) = self.get_evaluation(workspace, record.audit_evaluation_id).await?;
        let version = self.get_version(workspace, original.scorecard_version_id).await?;
        let now = now_millis();
        let mut tx = self.write().await?;
        let mut after = record.alignment;
        if accept {
            let answers = concede(&benchmark.answers, &original.answers, current.criterion_id);
            let (aligned, delta) = compare(&version.definition, &original, &answers, policy);
            let score = score_evaluation(&version.definition, &answers, policy);
            crate::evaluations::write_answers(&mut tx, benchmark.id, &answers).await?;
            sqlx::query(
                "UPDATE evaluations SET score = $1, earned = $2, possible = $3, critical_failed = $4, critical_failures = $5,
                     revision = revision + 1, updated_at = $6 WHERE id = $7",
            )
            .bind_float(score.score)
            .bind(score.earned)
            .bind(score.possible)
            .bind(i64::from(score.critical_failed))
            .bind(sql::to_json(&score.critical_failures))
            .bind(now)
            .bind(benchmark.id.to_string())
            .execute(&mut *tx)
            .await?;
            write_alignment(&mut tx, record.id, &aligned, delta, now).await?;
            after = aligned.alignment;
        }
        let done = sqlx::query(
            "UPDATE audit_appeals SET status = $1, decided_by = $2, decision_note = $3, alignment_after = $4, decided_at = $5
             WHERE id = $6 AND status = 'open'",
        )
        .bind(if accept { "accepted" } else { "rejected" })
        .bind(by.to_string())
        .bind(note.trim())
        .bind(after)
        .bind(now)
        .bind(appeal.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("the appeal was decided meanwhile".into()));
        }
        tx.commit().await?;
        self.audit_appeals(record.id).await?.into_iter().find(|a| a.id == appeal).ok_or(StoreError::NotFound)
    }

    /// Completed audits in [from, to) with names, for the grade-the-grader report; with a vendor
    /// scope, only that vendor's graders.
    pub async fn completed_audits(
        &self,
        workspace: WorkspaceId,
        scope: VendorScope,
        from: Option<Millis>,
        to: Option<Millis>,
    ) -> Result<Vec<(AuditRecord, String, String, bool, ConversationId)>> {
        let mut q = Select::new(&format!(
            "SELECT {}, u.name AS grader_name, v.name AS vendor_name, v.is_internal, e.conversation_id
             FROM audits a JOIN users u ON u.id = a.original_reviewer_id JOIN vendors v ON v.id = a.grader_vendor_id
             JOIN evaluations e ON e.id = a.original_id",
            AUDIT_COLUMNS.split(", ").map(|c| format!("a.{c}")).collect::<Vec<_>>().join(", ")
        ));
        q.and_text("a.workspace_id", workspace)
            .and_raw("a.status = 'completed'")
            .and_opt_text("a.grader_vendor_id", scope.vendor());
        if let Some(from) = from {
            q.and("a.completed_at", ">=", Value::Int(from));
        }
        if let Some(to) = to {
            q.and("a.completed_at", "<", Value::Int(to));
        }
        let rows = q.fetch_all(self.pool(), "ORDER BY a.completed_at, a.id").await?;
        rows.iter()
            .map(|r| {
                Ok((
                    audit_of(r)?,
                    sql::text(r, "grader_name")?,
                    sql::text(r, "vendor_name")?,
                    sql::flag(r, "is_internal")?,
                    sql::id(r, "conversation_id")?,
                ))
            })
            .collect()
    }

    /// The answers of several evaluations, in the order asked.
    pub async fn evaluation_answers(&self, ids: &[EvaluationId]) -> Result<Vec<Vec<Answer>>> {
        self.answers_of(ids).await
    }

    /// Whether `evaluation` is an audit's blind re-grade still being written.
    pub async fn is_open_audit(&self, evaluation: EvaluationId) -> Result<bool> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM audits WHERE audit_evaluation_id = $1 AND status = 'assigned'")
                .bind(evaluation.to_string())
                .fetch_one(self.pool())
                .await?;
        Ok(n > 0)
    }
}
