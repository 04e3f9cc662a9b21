//! Recurring calibration series, iCalendar feeds (per series and per user) and the
//! "calibration due" list.

use super::path_id;
use crate::AppState;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::{ApiJson, Auth, FeedAuth};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use plumbline_domain::access::Permission;
use plumbline_domain::calibration::SessionMode;
use plumbline_domain::scorecard::FieldError;
use plumbline_domain::series::{Cadence, CalendarEvent, CalibrationSeries, Occurrence, SeriesFilter, calendar};
use plumbline_domain::time::Date;
use plumbline_domain::{CalibrationId, ScorecardId, SeriesId, UserId};
use plumbline_store::{DueItem, NewSeries, now_millis};
use serde::{Deserialize, Serialize};

/// How many future dates a series shows and its calendar carries.
const UPCOMING: u32 = 12;

fn calibrator(auth: &Auth) -> ApiResult<&plumbline_domain::access::Viewer> {
    auth.require(Permission::Calibrate)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SeriesView {
    #[serde(flatten)]
    pub series: CalibrationSeries,
    /// Held occurrences (with session and the seed of their draw), then the next dates.
    pub occurrences: Vec<Occurrence>,
}

async fn series_view(state: &AppState, auth: &Auth, series: CalibrationSeries) -> ApiResult<SeriesView> {
    let occurrences = state.store.series_occurrences(auth.0.workspace_id, &series, UPCOMING).await?;
    Ok(SeriesView { series, occurrences })
}

/// Every series (qa_leads and admins).
#[utoipa::path(get, path = "/api/v1/calibration-series", tag = "calibrations",
    responses((status = 200, body = Vec<CalibrationSeries>), (status = 403, body = Problem)))]
pub async fn list_series(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<CalibrationSeries>>> {
    let viewer = calibrator(&auth)?;
    Ok(Json(state.store.list_series(viewer.workspace_id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CreateSeries {
    pub title: String,
    #[serde(default)]
    pub goals: String,
    pub scorecard_id: ScorecardId,
    /// weekly, every_two_weeks, monthly, every_two_months or quarterly.
    pub cadence: Cadence,
    /// The first occurrence, `YYYY-MM-DD`.
    pub first_date: String,
    /// `HH:MM`, UTC (default 15:00).
    pub start_time: Option<String>,
    /// Default 60.
    pub duration_minutes: Option<u32>,
    /// Defaults to you.
    pub facilitator_id: Option<UserId>,
    pub participant_ids: Vec<UserId>,
    pub mode: Option<SessionMode>,
    #[serde(default)]
    pub hide_agent_name: bool,
    #[serde(default)]
    pub filter: SeriesFilter,
    /// Default 1.
    pub conversations_per_occurrence: Option<u32>,
    /// A seed to reproduce another series' draws (decimal text); default: a fresh random one.
    pub seed: Option<String>,
}

/// Creates a series (qa_leads and admins). Every participant must be allowed to see the
/// conversations it draws: a BPO vendor's user needs the filter's vendor to be theirs.
#[utoipa::path(post, path = "/api/v1/calibration-series", tag = "calibrations", request_body = CreateSeries,
    responses((status = 201, body = SeriesView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_series(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson<CreateSeries>,
) -> ApiResult<(StatusCode, Json<SeriesView>)> {
    let viewer = calibrator(&auth)?.clone();
    let mut errors = Vec::new();
    let first_date = Date::parse(&body.first_date);
    if first_date.is_none() {
        errors.push(FieldError::new("first_date", format!("{:?} is not a date (YYYY-MM-DD)", body.first_date)));
    }
    let start_minute = match body.start_time.as_deref().map(str::trim) {
        None | Some("") => Some(15 * 60),
        Some(t) => t
            .split_once(':')
            .and_then(|(h, m)| Some((h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)))
            .filter(|(h, m)| *h < 24 && *m < 60)
            .map(|(h, m)| h * 60 + m),
    };
    if start_minute.is_none() {
        errors.push(FieldError::new("start_time", "must be HH:MM (UTC)"));
    }
    let seed = match body.seed.as_deref() {
        None => None,
        Some(text) => match text.trim().parse::<u64>() {
            Ok(seed) => Some(seed),
            Err(_) => {
                errors.push(FieldError::new("seed", "must be a whole number from 0 to 18446744073709551615"));
                None
            }
        },
    };
    let facilitator_id = body.facilitator_id.unwrap_or(viewer.user_id);
    let mut people: Vec<(String, UserId)> =
        body.participant_ids.iter().enumerate().map(|(i, u)| (format!("participant_ids[{i}]"), *u)).collect();
    people.push(("facilitator_id".into(), facilitator_id));
    errors.extend(
        crate::calibration_views::series_people_who_may_not_see(
            &state,
            viewer.workspace_id,
            &people,
            body.filter.vendor_id,
        )
        .await?,
    );
    let (Some(first_date), Some(start_minute)) = (first_date, start_minute) else {
        return Err(ApiError::invalid(errors));
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let series = state
        .store
        .create_series(
            viewer.workspace_id,
            NewSeries {
                title: body.title,
                goals: body.goals,
                scorecard_id: body.scorecard_id,
                cadence: body.cadence,
                first_date,
                start_minute,
                duration_minutes: body.duration_minutes.unwrap_or(60),
                facilitator_id,
                participant_ids: body.participant_ids,
                mode: body.mode.unwrap_or(SessionMode::Blind),
                hide_agent_name: body.hide_agent_name,
                filter: body.filter,
                conversations_per_occurrence: body.conversations_per_occurrence.unwrap_or(1),
                seed,
                created_by: viewer.user_id,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(series_view(&state, &auth, series).await?)))
}

/// One series with its occurrences and next dates (qa_leads and admins).
#[utoipa::path(get, path = "/api/v1/calibration-series/{id}", tag = "calibrations", params(("id" = String, Path)),
    responses((status = 200, body = SeriesView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn get_series(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<Json<SeriesView>> {
    let viewer = calibrator(&auth)?;
    let series = state.store.get_series(viewer.workspace_id, path_id(&raw)?).await?;
    Ok(Json(series_view(&state, &auth, series).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UpdateSeries {
    /// false stops the series (no more dates), true resumes it.
    pub active: bool,
}

/// Stops or resumes a series (qa_leads and admins).
#[utoipa::path(patch, path = "/api/v1/calibration-series/{id}", tag = "calibrations", params(("id" = String, Path)), request_body = UpdateSeries,
    responses((status = 200, body = SeriesView), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn update_series(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
    ApiJson(body): ApiJson<UpdateSeries>,
) -> ApiResult<Json<SeriesView>> {
    let viewer = calibrator(&auth)?;
    let id: SeriesId = path_id(&raw)?;
    let series = state.store.set_series_active(viewer.workspace_id, id, body.active).await?;
    Ok(Json(series_view(&state, &auth, series).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Scheduled {
    pub occurrence: Occurrence,
    pub session_id: CalibrationId,
}

/// Schedules the series' next occurrence: draws its conversations at random from the filter
/// (the seed is recorded with the occurrence) and creates its session (qa_leads and admins).
#[utoipa::path(post, path = "/api/v1/calibration-series/{id}/occurrences", tag = "calibrations", params(("id" = String, Path)),
    responses((status = 201, body = Scheduled), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn schedule_occurrence(
    State(state): State<AppState>,
    auth: Auth,
    Path(raw): Path<String>,
) -> ApiResult<(StatusCode, Json<Scheduled>)> {
    let viewer = calibrator(&auth)?;
    let (occurrence, record) =
        state.store.schedule_next_occurrence(viewer.workspace_id, path_id(&raw)?, viewer.user_id).await?;
    Ok((StatusCode::CREATED, Json(Scheduled { occurrence, session_id: record.session.id })))
}

fn ics(name: &str, events: &[CalendarEvent]) -> Response {
    ([(header::CONTENT_TYPE, "text/calendar; charset=utf-8")], calendar(name, events, now_millis())).into_response()
}

fn series_events(series: &CalibrationSeries, occurrences: &[Occurrence]) -> Vec<CalendarEvent> {
    occurrences
        .iter()
        .map(|o| CalendarEvent {
            uid: format!("series-{}-{}@plumbline", series.id, o.number),
            start: o.starts_at,
            duration_minutes: series.duration_minutes,
            summary: format!("Calibration: {} #{}", series.title, o.number + 1),
            description: series.goals.clone(),
        })
        .collect()
}

/// The series as an iCalendar (RFC 5545) feed: held occurrences and the next twelve dates
/// (qa_leads and admins; calendar apps may pass an API token as `?token=`).
#[utoipa::path(get, path = "/api/v1/calibration-series/{id}/calendar.ics", tag = "calibrations", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/calendar", body = String), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn series_calendar(
    State(state): State<AppState>,
    FeedAuth(auth): FeedAuth,
    Path(raw): Path<String>,
) -> ApiResult<Response> {
    let viewer = calibrator(&auth)?;
    let series = state.store.get_series(viewer.workspace_id, path_id(&raw)?).await?;
    let occurrences = state.store.series_occurrences(viewer.workspace_id, &series, UPCOMING).await?;
    Ok(ics(&series.title, &series_events(&series, &occurrences)))
}

/// Your calibration calendar as an iCalendar (RFC 5545) feed: the sessions you facilitate or
/// take part in (hidden ones excluded), and the coming dates of series you are in. Calendar
/// apps may pass an API token as `?token=`.
#[utoipa::path(get, path = "/api/v1/calendar.ics", tag = "calibrations",
    responses((status = 200, content_type = "text/calendar", body = String)))]
pub async fn my_calendar(State(state): State<AppState>, FeedAuth(auth): FeedAuth) -> ApiResult<Response> {
    let viewer = &auth.0;
    let ws = viewer.workspace_id;
    let mut events: Vec<CalendarEvent> = state
        .store
        .user_scheduled_sessions(ws, viewer.user_id)
        .await?
        .into_iter()
        .map(|(id, title, start)| CalendarEvent {
            uid: format!("session-{id}@plumbline"),
            start,
            duration_minutes: 60,
            summary: format!("Calibration: {title}"),
            description: String::new(),
        })
        .collect();
    for series in state.store.list_series(ws).await? {
        let involved = series.facilitator_id == viewer.user_id
            || (series.mode != SessionMode::Hidden && series.participant_ids.contains(&viewer.user_id));
        if !involved || !series.active {
            continue;
        }
        // Held occurrences are sessions, listed above; add only the dates still to come.
        let upcoming: Vec<Occurrence> = state
            .store
            .series_occurrences(ws, &series, UPCOMING)
            .await?
            .into_iter()
            .filter(|o| o.session_id.is_none())
            .collect();
        events.extend(series_events(&series, &upcoming));
    }
    Ok(ics("Plumbline calibration", &events))
}

/// What calibration is due: active scorecard versions nobody calibrated (major revisions
/// marked), graders who never took part in a session, and series dates within 14 days
/// (qa_leads and admins).
#[utoipa::path(get, path = "/api/v1/calibration-due", tag = "calibrations",
    responses((status = 200, body = Vec<DueItem>), (status = 403, body = Problem)))]
pub async fn calibration_due(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<DueItem>>> {
    let viewer = calibrator(&auth)?;
    Ok(Json(state.store.calibration_due(viewer.workspace_id, Date::of(now_millis())).await?))
}
