//! Grade-the-grader: programs and their draws (qa_leads), audits with the side-by-side
//! comparison, appeals, and the report. The benchmark grader re-grades blind: until they submit,
//! nothing they can obtain holds the original answers (the review itself answers 404 to them).

use super::{parse_time, path_id};
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, ApiQuery, Auth};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use plumbline_domain::access::{Permission, Viewer};
use plumbline_domain::evaluation::{Choice, Evaluation};
use plumbline_domain::grader_qa::{AdaptiveRule, AuditFilter, AuditProgram, AuditRow, GraderQaReport, Sample};
use plumbline_domain::org::Role;
use plumbline_domain::{AuditId, CriterionId, EvaluationId, UserId};
use plumbline_store::{Appeal, AppealDecision, AuditRecord, AuditStatus, AuditVisibility, DrawOutcome, NewProgram};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

fn calibrator(auth: &Auth) -> ApiResult<&Viewer> {
    auth.require(Permission::Calibrate)
}

/// Programs (qa_leads and admins).
#[utoipa::path(get, path = "/api/v1/grader-qa/programs", tag = "grader-qa",
    responses((status = 200, body = Vec<AuditProgram>), (status = 403, body = Problem)))]
pub async fn list_programs(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<AuditProgram>>> {
    let viewer = calibrator(&auth)?;
    Ok(Json(state.store.list_programs(viewer.workspace_id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateProgram {
    pub name: String,
    /// `{"percent": 5}` or `{"per_grader": 3}`.
    pub sample: Sample,
    /// Days between draws; a draw takes reviews submitted in the period before it (default 7).
    pub period_days: Option<u32>,
    #[serde(default)]
    pub filter: AuditFilter,
    pub benchmark_ids: Vec<UserId>,
    #[serde(default)]
    pub hide_agent_name: bool,
    /// Sample graders with low or uncertain alignment more, within a budget.
    pub adaptive: Option<AdaptiveRule>,
    /// Decimal text; default: a fresh random seed (recorded).
    pub seed: Option<String>,
}

/// Creates a program (qa_leads and admins). With `adaptive`, the response's `adaptive_rule`
/// explains who gets sampled more.
#[utoipa::path(post, path = "/api/v1/grader-qa/programs", tag = "grader-qa", request_body = CreateProgram,
    responses((status = 201, body = AuditProgram), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_program(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateProgram>,
) -> ApiResult<(StatusCode, Json<AuditProgram>)> {
    let viewer = calibrator(&auth)?;
    let seed = match body.seed.as_deref().map(str::trim) {
        None => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| ApiError::field("seed", "must be a whole number"))?),
    };
    let program = state
        .store
        .create_program(
            viewer.workspace_id,
            NewProgram {
                name: body.name,
                sample: body.sample,
                period_days: body.period_days.unwrap_or(7),
                filter: body.filter,
                benchmark_ids: body.benchmark_ids,
                hide_agent_name: body.hide_agent_name,
                adaptive: body.adaptive,
                seed,
                created_by: viewer.user_id,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(program)))
}

/// One program (qa_leads and admins).
#[utoipa::path(get, path = "/api/v1/grader-qa/programs/{id}", tag = "grader-qa", params(("id" = String, Path)),
    responses((status = 200, body = AuditProgram), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_program(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<AuditProgram>> {
    let viewer = calibrator(&auth)?;
    Ok(Json(state.store.get_program(viewer.workspace_id, path_id(&raw)?).await?))
}

/// Draws the program's next sample of submitted reviews (the seed is recorded and returned)
/// and assigns each to a benchmark grader who is never its original grader; each benchmark
/// grader finds a draft `audit` evaluation in their work (qa_leads and admins).
#[utoipa::path(post, path = "/api/v1/grader-qa/programs/{id}/draws", tag = "grader-qa", params(("id" = String, Path)),
    responses((status = 201, body = DrawOutcome), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn draw(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<(StatusCode, Json<DrawOutcome>)> {
    let viewer = calibrator(&auth)?;
    Ok((StatusCode::CREATED, Json(state.store.draw_audits(viewer.workspace_id, path_id(&raw)?).await?)))
}

pub(crate) fn visibility(viewer: &Viewer) -> AuditVisibility {
    if viewer.may(Permission::Calibrate) {
        AuditVisibility::All
    } else if viewer.role == Role::VendorLead {
        AuditVisibility::Vendor(viewer.vendor_id, viewer.user_id)
    } else {
        AuditVisibility::Own(viewer.user_id)
    }
}

/// Audits you may see: all for qa_leads; the ones you re-grade; completed audits of your own
/// reviews (and, for a vendor lead, of your vendor's graders).
#[utoipa::path(get, path = "/api/v1/grader-qa/audits", tag = "grader-qa",
    responses((status = 200, body = Vec<AuditRecord>)))]
pub async fn list_audits(State(state): State<AppState>, Auth(viewer): Auth) -> ApiResult<Json<Vec<AuditRecord>>> {
    let mut audits = state.store.list_audits(viewer.workspace_id, visibility(&viewer)).await?;
    for audit in &mut audits {
        blind(audit, &viewer);
    }
    Ok(Json(audits))
}

/// Before completion the benchmark grader learns neither whose review they re-grade nor its id.
pub(crate) fn blind(audit: &mut AuditRecord, viewer: &Viewer) {
    if audit.status == AuditStatus::Assigned
        && audit.benchmark_id == viewer.user_id
        && !viewer.may(Permission::Calibrate)
    {
        audit.original_reviewer_id = UserId(uuid::Uuid::nil());
        audit.original_id = EvaluationId(uuid::Uuid::nil());
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditView {
    pub audit: AuditRecord,
    /// The original review: only once the audit is completed (or for qa_leads).
    pub original: Option<Evaluation>,
    /// The benchmark's re-grade.
    pub benchmark: Option<Evaluation>,
    pub appeals: Vec<Appeal>,
}

pub(crate) async fn audit_access(state: &AppState, viewer: &Viewer, raw: &str) -> ApiResult<(AuditRecord, bool)> {
    let id: AuditId = path_id(raw)?;
    let audit = state.store.get_audit(viewer.workspace_id, id).await?;
    let completed = audit.status == AuditStatus::Completed;
    let calibrator = viewer.may(Permission::Calibrate);
    let sees_all = calibrator
        || (completed
            && (audit.original_reviewer_id == viewer.user_id
                || audit.benchmark_id == viewer.user_id
                || (viewer.role == Role::VendorLead && audit.grader_vendor_id == viewer.vendor_id)));
    if sees_all {
        return Ok((audit, true));
    }
    if audit.benchmark_id == viewer.user_id {
        return Ok((audit, false));
    }
    Err(ApiError::not_found())
}

/// The side-by-side comparison: the original review and the benchmark's re-grade per
/// criterion, alignment, disagreements and appeals. The benchmark grader sees only their own
/// re-grade until they submit it.
#[utoipa::path(get, path = "/api/v1/grader-qa/audits/{id}", tag = "grader-qa", params(("id" = String, Path)),
    responses((status = 200, body = AuditView), (status = 404, body = Problem)))]
pub async fn get_audit(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<AuditView>> {
    let (mut audit, sees_all) = audit_access(&state, &viewer, &raw).await?;
    let ws = viewer.workspace_id;
    let benchmark = state.store.get_evaluation(ws, audit.audit_evaluation_id).await?.0;
    let original = if sees_all { Some(state.store.get_evaluation(ws, audit.original_id).await?.0) } else { None };
    let appeals = state.store.audit_appeals(audit.id).await?;
    blind(&mut audit, &viewer);
    Ok(Json(AuditView { audit, original, benchmark: Some(benchmark), appeals }))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateAppeal {
    pub criterion_id: CriterionId,
    pub reason: String,
}

/// The original grader appeals the benchmark's answer on one criterion of a completed audit.
#[utoipa::path(post, path = "/api/v1/grader-qa/audits/{id}/appeals", tag = "grader-qa", params(("id" = String, Path)), request_body = CreateAppeal,
    responses((status = 201, body = Appeal), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn appeal(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<CreateAppeal>,
) -> ApiResult<(StatusCode, Json<Appeal>)> {
    let (audit, _) = audit_access(&state, &viewer, &raw).await?;
    let appeal =
        state.store.appeal(viewer.workspace_id, audit.id, body.criterion_id, &body.reason, viewer.user_id).await?;
    Ok((StatusCode::CREATED, Json(appeal)))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct DecideAppeal {
    pub accept: bool,
    #[serde(default)]
    pub note: String,
}

/// The benchmark grader (or a qa_lead) accepts or rejects an appeal. Accepting gives the
/// benchmark the original answer on that criterion; alignment is recomputed; the appeal keeps
/// the alignment before and after.
#[utoipa::path(post, path = "/api/v1/grader-qa/appeals/{id}/decision", tag = "grader-qa", params(("id" = String, Path)), request_body = DecideAppeal,
    responses((status = 200, body = Appeal), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn decide_appeal(
    State(state): State<AppState>,
    Auth(viewer): Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<DecideAppeal>,
) -> ApiResult<Json<Appeal>> {
    let policy = viewer.scoring;
    let appeal = state
        .store
        .decide_appeal(
            viewer.workspace_id,
            path_id(&raw)?,
            AppealDecision {
                accept: body.accept,
                note: &body.note,
                by: viewer.user_id,
                may_overrule: viewer.may(Permission::Calibrate),
            },
            policy,
        )
        .await?;
    Ok(Json(appeal))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GraderQaQuery {
    /// Audits completed on or after: YYYY-MM-DD or Unix ms.
    pub from: Option<String>,
    /// Audits completed before: YYYY-MM-DD or Unix ms.
    pub to: Option<String>,
    /// json (default) or csv (the graders table).
    pub format: Option<String>,
}

/// Grade-the-grader report: alignment per grader with its interval and monthly trend;
/// leniency (original - benchmark score) adjusted for conversation difficulty, the most
/// lenient and strictest graders; per criterion which options get confused with which;
/// internal graders vs each BPO's. A vendor_lead sees their own vendor's graders only.
#[utoipa::path(get, path = "/api/v1/reports/grader-qa", tag = "reports", params(GraderQaQuery),
    responses((status = 200, body = GraderQaReport), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn report(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<GraderQaQuery>,
) -> ApiResult<Response> {
    let viewer = auth.require(Permission::ReadReports)?;
    let report = build_report(&state, viewer, parse_time("from", &q.from)?, parse_time("to", &q.to)?).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(report).into_response()),
        Some("csv") => {
            let num = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_default();
            let mut out = String::from(
                "user_id,name,vendor,internal,audits,mean_alignment,alignment_low,alignment_high,trend_slope,mean_delta,adjusted_delta,leniency_verdict\n",
            );
            for g in &report.graders {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{},{},{},{}\n",
                    g.user_id,
                    super::reports::csv_field(&g.name),
                    super::reports::csv_field(&g.vendor_name),
                    g.internal,
                    g.audits,
                    num(g.mean_alignment),
                    num(g.alignment_ci95.map(|c| c[0])),
                    num(g.alignment_ci95.map(|c| c[1])),
                    num(g.trend_slope),
                    num(g.mean_delta),
                    num(g.adjusted_delta),
                    g.leniency_verdict
                ));
            }
            Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
        }
        Some(_) => Err(ApiError::field("format", "must be json or csv")),
    }
}

/// The grade-the-grader report over audits completed in [from, to), for a viewer who may read
/// reports (a vendor lead: their vendor's graders). Shared by the API and the report page.
pub(crate) async fn build_report(
    state: &AppState,
    viewer: &Viewer,
    from: Option<i64>,
    to: Option<i64>,
) -> ApiResult<GraderQaReport> {
    let ws = viewer.workspace_id;
    let audits = state.store.completed_audits(ws, viewer.vendor_scope(), from, to).await?;
    let mut ids: Vec<EvaluationId> = Vec::new();
    for (audit, ..) in &audits {
        ids.push(audit.original_id);
        ids.push(audit.audit_evaluation_id);
    }
    let answers = state.store.evaluation_answers(&ids).await?;
    let mut definitions = HashMap::new();
    let mut titles = HashMap::new();
    let mut rows = Vec::with_capacity(audits.len());
    for (i, (audit, grader_name, vendor_name, internal, conversation_id)) in audits.into_iter().enumerate() {
        let (original, benchmark) = (&answers[2 * i], &answers[2 * i + 1]);
        let version_id = state.store.get_evaluation(ws, audit.original_id).await?.0.scorecard_version_id;
        if let std::collections::hash_map::Entry::Vacant(slot) = definitions.entry(version_id) {
            let version = state.store.get_version(ws, version_id).await?;
            for c in &version.definition.criteria {
                titles.insert(c.id, c.title.clone());
            }
            slot.insert(version.definition);
        }
        let definition = &definitions[&version_id];
        let label = |criterion: CriterionId, answers: &[plumbline_domain::evaluation::Answer]| {
            let choice = answers.iter().find(|a| a.criterion_id == criterion)?.choice;
            Some(match choice {
                Choice::NotApplicable => "N/A".to_string(),
                Choice::Option(o) => {
                    definition.criterion(criterion)?.scale.options.get(o).map(|x| x.label.clone()).unwrap_or_default()
                }
            })
        };
        let pairs = definition
            .criteria
            .iter()
            .filter_map(|c| Some((c.id, label(c.id, original)?, label(c.id, benchmark)?)))
            .collect();
        rows.push(AuditRow {
            grader_id: audit.original_reviewer_id,
            grader_name,
            vendor_id: audit.grader_vendor_id,
            vendor_name,
            internal,
            conversation_id,
            alignment: audit.alignment,
            score_delta: audit.score_delta,
            completed_at: audit.completed_at.unwrap_or(audit.created_at),
            answers: pairs,
        });
    }
    Ok(plumbline_domain::grader_qa::grader_qa_report(&rows, &titles))
}
