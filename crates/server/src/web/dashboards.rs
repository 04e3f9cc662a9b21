//! The QA program reports as pages (issue #7): IQS trend, the BPO vendor view, IQS vs CSAT/NPS
//! (with "create a calibration session from selected"), self-assessment, leaderboards and
//! targets. Every page reads the same view function as its JSON endpoint
//! ([`crate::iqs_views`]), which applies the viewer's vendor scope; the pages only draw.
//! Charts are inline SVG with a `<title>` describing the data, so they read without a mouse.

use super::reports::report_tabs;
use super::ui::{date, percent, score, truncate};
use super::{Fields, Nav, PageError, PageResult, calibrates, csrf_field, layout};
use crate::AppState;
use crate::calibration_views::people_who_may_not_see;
use crate::error::ApiError;
use crate::extract::PageAuth;
use crate::iqs_views::{self, MilestoneProgress, ReportQuery, TargetProgress, TrendSeries};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use plumbline_domain::access::{Permission, VendorScope};
use plumbline_domain::calibration::SessionMode;
use plumbline_domain::conversation::Channel;
use plumbline_domain::evaluation::EvaluationStatus;
use plumbline_domain::org::{Bands, Role};
use plumbline_domain::reports::{Interval, Milestone, TargetStatus};
use plumbline_domain::scorecard::{FieldError, VersionStatus};
use plumbline_domain::time::DAY_MS;
use plumbline_domain::{ConversationId, EvaluationId, ScorecardId, UserId};
use plumbline_store::{IqsFilter, IqsGrouping, NewSession, StoreError, TargetInput, UserFilter};
use serde::Deserialize;

// ---------------------------------------------------------------------------------------------
// Filters shared by every report page

/// The filters as typed (to fill the form again), as parsed, and what was refused.
pub(super) struct Filters {
    pub typed: ReportQuery,
    pub filter: IqsFilter,
    pub errors: Vec<FieldError>,
}

/// Parses the filters; a refused one is named on the page and left out, the others still apply.
pub(super) fn read_filters(typed: ReportQuery) -> Filters {
    let mut query = typed.clone();
    let mut errors = Vec::new();
    // Each pass drops the fields named in the refusal; there are seven fields.
    for _ in 0..8 {
        match query.filter() {
            Ok(filter) => return Filters { typed, filter, errors },
            Err(refusal) => {
                let mut dropped = false;
                for e in refusal.errors {
                    let field = match e.field.as_str() {
                        "vendor_id" => &mut query.vendor_id,
                        "team_id" => &mut query.team_id,
                        "agent_id" => &mut query.agent_id,
                        "scorecard_id" => &mut query.scorecard_id,
                        "channel" => &mut query.channel,
                        "from" => &mut query.from,
                        "to" => &mut query.to,
                        _ => {
                            errors.push(e);
                            continue;
                        }
                    };
                    dropped |= field.take().is_some();
                    errors.push(e);
                }
                if !dropped {
                    break;
                }
            }
        }
    }
    Filters { typed, filter: IqsFilter::default(), errors }
}

/// A time as the API reads it back: the date when it is midnight, else Unix ms.
fn time_text(ms: i64) -> String {
    if ms.rem_euclid(DAY_MS) == 0 { date(ms) } else { ms.to_string() }
}

/// The parsed filters as query parameters (`&vendor_id=...`), for CSV links. Only parsed values
/// (ids, a known channel, dates) reach it, so nothing needs encoding.
pub(super) fn filter_query(filter: &IqsFilter) -> String {
    let mut out = String::new();
    let mut add = |key: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push_str(&format!("&{key}={v}"));
        }
    };
    add("vendor_id", filter.vendor_id.map(|v| v.to_string()));
    add("team_id", filter.team_id.map(|v| v.to_string()));
    add("agent_id", filter.agent_id.map(|v| v.to_string()));
    add("scorecard_id", filter.scorecard_id.map(|v| v.to_string()));
    add("channel", filter.channel.clone());
    add("from", filter.from.map(time_text));
    add("to", filter.to.map(time_text));
    out
}

/// What the filter selects offer: only what the viewer's vendor scope lists.
pub(super) struct Choices {
    vendors: Vec<(String, String)>,
    teams: Vec<(String, String)>,
    scorecards: Vec<(String, String)>,
}

pub(super) async fn choices(state: &AppState, page: &PageAuth) -> PageResult<Choices> {
    let viewer = &page.viewer;
    let ws = viewer.workspace_id;
    let scope = viewer.vendor_scope();
    let vendors = state.store.list_vendors(ws, scope).await?.into_iter().map(|v| (v.id.to_string(), v.name)).collect();
    let teams = state.store.list_teams(ws, scope).await?.into_iter().map(|t| (t.id.to_string(), t.name)).collect();
    let scorecards = state.store.list_scorecards(ws).await?.into_iter().map(|s| (s.id.to_string(), s.name)).collect();
    Ok(Choices { vendors, teams, scorecards })
}

fn select(id: &str, label: &str, options: &[(String, String)], current: &Option<String>) -> Markup {
    let current = current.as_deref().unwrap_or_default();
    html! {
        div { label for=(id) { (label) }
            select id=(id) name=(id) {
                option value="" { "any" }
                @for (value, name) in options { option value=(value) selected[value == current] { (name) } }
            }
        }
    }
}

/// The filter form of a report: `extra` holds the report's own fields (grouping, interval).
pub(super) fn filter_form(action: &str, filters: &Filters, choices: &Choices, extra: Markup) -> Markup {
    let typed = &filters.typed;
    let channels: Vec<(String, String)> =
        Channel::ALL.iter().map(|c| (c.as_str().to_string(), c.as_str().to_string())).collect();
    html! {
        form method="get" action=(action) class="actions filters" {
            (extra)
            (select("vendor_id", "Vendor", &choices.vendors, &typed.vendor_id))
            (select("team_id", "Team", &choices.teams, &typed.team_id))
            (select("scorecard_id", "Scorecard", &choices.scorecards, &typed.scorecard_id))
            (select("channel", "Channel", &channels, &typed.channel))
            div { label for="from" { "Submitted from" } input type="date" id="from" name="from" value=(typed.from.clone().unwrap_or_default()); }
            div { label for="to" { "Submitted before" } input type="date" id="to" name="to" value=(typed.to.clone().unwrap_or_default()); }
            @if let Some(agent) = typed.agent_id.as_deref().filter(|a| !a.is_empty()) { input type="hidden" name="agent_id" value=(agent); }
            div { button type="submit" { "Show" } }
        }
        (error_list(&filters.errors))
    }
}

pub(super) fn error_list(errors: &[FieldError]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="error" role="alert" { ul { @for e in errors { li { code { (e.field) } ": " (e.reason) } } } }
        }
    }
}

/// A refusal of the report's own inputs (422) is shown on the page; anything else is an error page.
pub(super) fn refusal<T>(result: Result<T, ApiError>) -> PageResult<Result<T, Vec<FieldError>>> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(e) if e.status == StatusCode::UNPROCESSABLE_ENTITY => {
            Ok(Err(if e.errors.is_empty() { vec![FieldError::new("filters", e.detail)] } else { e.errors }))
        }
        Err(e) => Err(e.into()),
    }
}

fn allowed(page: &PageAuth) -> PageResult<()> {
    if page.viewer.may(Permission::ReadReports) { Ok(()) } else { Err(PageError::NotFound) }
}

fn csv_link(href: String, what: &str) -> Markup {
    html! { p class="small" { a href=(href) { "Download " (what) " as CSV" } } }
}

/// "+2.5", "−1.0", "–".
fn signed(value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(v) if v >= 0.05 => format!("+{v:.1}"),
        Some(v) if v <= -0.05 => format!("−{:.1}", -v),
        Some(_) => "0.0".into(),
    }
}

fn interval_text(ci: Option<[f64; 2]>) -> String {
    ci.map(|[low, high]| format!("{low:.1} to {high:.1}")).unwrap_or_else(|| "–".into())
}

// ---------------------------------------------------------------------------------------------
// Charts

/// Distinguishable on white, in order of use (at most `iqs_views::MAX_SERIES` series).
const PALETTE: [&str; 12] = [
    "#1f3a5f", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#be185d", "#4d7c0f", "#4338ca",
    "#57534e", "#0f766e",
];

/// One line of a line chart: its name and a value (or a gap) per bucket label.
pub(super) struct Line {
    pub name: String,
    pub colour: &'static str,
    pub points: Vec<(String, Option<f64>)>,
}

impl Line {
    fn of(series: &TrendSeries, colour: &'static str) -> Line {
        Line {
            name: series.name.clone(),
            colour,
            points: series.points.iter().map(|p| (p.start.clone(), p.iqs)).collect(),
        }
    }
}

/// IQS lines over shared buckets (YYYY-MM-DD), the y axis from a round number below the lowest
/// value up to 100, with dashed threshold lines (the bands). Each point carries its own title.
pub(super) fn line_chart(title: &str, lines: &[Line], thresholds: &[(f64, &str)], width: f64, height: f64) -> Markup {
    let mut buckets: Vec<&str> = lines.iter().flat_map(|l| l.points.iter().map(|p| p.0.as_str())).collect();
    buckets.sort_unstable();
    buckets.dedup();
    let values = lines.iter().flat_map(|l| l.points.iter().filter_map(|p| p.1));
    let lowest = values.chain(thresholds.iter().map(|t| t.0)).fold(100.0_f64, f64::min);
    let floor = ((lowest - 5.0) / 10.0).floor().clamp(0.0, 9.0) * 10.0;
    let (left, right, top, bottom) = (34.0, 70.0, 8.0, 20.0);
    let (plot_w, plot_h) = (width - left - right, height - top - bottom);
    let x = |i: usize| {
        tenth(if buckets.len() < 2 {
            left + plot_w / 2.0
        } else {
            left + plot_w * i as f64 / (buckets.len() - 1) as f64
        })
    };
    let y = |v: f64| tenth(top + plot_h * (1.0 - (v.clamp(floor, 100.0) - floor) / (100.0 - floor)));
    let position = |label: &str| buckets.binary_search(&label).unwrap_or(0);
    let step = if 100.0 - floor > 50.0 { 20.0 } else { 10.0 };
    let grid: Vec<f64> = (0..=10).map(|i| floor + step * i as f64).take_while(|v| *v <= 100.0).collect();
    let label_every = buckets.len().div_ceil(8).max(1);
    let description = lines
        .iter()
        .map(|l| {
            let values: Vec<String> = l.points.iter().map(|(start, v)| format!("{start} {}", score(*v))).collect();
            format!("{}: {}", l.name, values.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ");
    html! {
        svg role="img" class="trend" width=(width) height=(height) viewBox={ "0 0 " (width) " " (height) } {
            title { (title) ". " (description) }
            @for v in &grid {
                line x1=(left) x2=(left + plot_w) y1=(y(*v)) y2=(y(*v)) stroke="#dde1e7" {}
                text x=(left - 4.0) y=(y(*v) + 3.5) text-anchor="end" { (v) }
            }
            @for (value, label) in thresholds {
                line x1=(left) x2=(left + plot_w) y1=(y(*value)) y2=(y(*value)) stroke="#5b6472" stroke-dasharray="4 3" {}
                text x=(left + plot_w + 4.0) y=(y(*value) + 3.5) { (label) " " (value) }
            }
            @for (i, b) in buckets.iter().enumerate() {
                @if i % label_every == 0 || i + 1 == buckets.len() {
                    text x=(x(i)) y=(height - 6.0) text-anchor="middle" { (b) }
                }
            }
            @for l in lines {
                // A gap (no scored review in a bucket) breaks the line.
                @for segment in l.points.split(|p| p.1.is_none()).filter(|s| s.len() > 1) {
                    polyline fill="none" stroke=(l.colour) stroke-width="2"
                        points=(segment.iter().filter_map(|(b, v)| v.map(|v| format!("{:.1},{:.1}", x(position(b)), y(v)))).collect::<Vec<_>>().join(" ")) {}
                }
                @for (b, v) in &l.points {
                    @if let Some(v) = v {
                        circle cx=(format!("{:.1}", x(position(b)))) cy=(format!("{:.1}", y(*v))) r="3" fill=(l.colour) {
                            title { (l.name) ", " (b) ": " (score(Some(*v))) }
                        }
                    }
                }
            }
        }
        @if lines.len() > 1 {
            p class="legend" { @for l in lines {
                span style={ "border-left: 1.2rem solid " (l.colour) } { (l.name) }
            } }
        }
    }
}

/// A coordinate rounded to a tenth of a pixel, so the markup stays short.
fn tenth(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn band_lines(bands: &Bands) -> [(f64, &'static str); 2] {
    [(bands.good, "good"), (bands.excellent, "excellent")]
}

// ---------------------------------------------------------------------------------------------
// Trend

#[derive(Deserialize, Default)]
pub struct TrendPage {
    interval: Option<String>,
    group_by: Option<String>,
}

const TREND_GROUPINGS: [(&str, &str); 5] = [
    ("", "everything selected"),
    ("vendor", "vendor"),
    ("team", "team"),
    ("channel", "channel"),
    ("scorecard", "scorecard"),
];

pub async fn trend(
    State(state): State<AppState>,
    page: PageAuth,
    Query(q): Query<ReportQuery>,
    Query(t): Query<TrendPage>,
) -> PageResult<Markup> {
    allowed(&page)?;
    let viewer = &page.viewer;
    let mut filters = read_filters(q);
    let interval = match t.interval.as_deref() {
        Some("day") => Interval::Day,
        Some("week") => Interval::Week,
        _ => Interval::Month,
    };
    let interval_name = match interval {
        Interval::Day => "day",
        Interval::Week => "week",
        Interval::Month => "month",
    };
    let grouping = match t.group_by.as_deref() {
        Some("vendor") => Some(IqsGrouping::Vendor),
        Some("team") => Some(IqsGrouping::Team),
        Some("channel") => Some(IqsGrouping::Channel),
        Some("scorecard") => Some(IqsGrouping::Scorecard),
        _ => None,
    };
    let group_name = grouping.map(IqsGrouping::as_str).unwrap_or("");
    let trend = match refusal(iqs_views::trend(&state, viewer, &filters.filter, interval, grouping).await)? {
        Ok(t) => Some(t),
        Err(errors) => {
            filters.errors.extend(errors);
            None
        }
    };
    let bands = state.store.get_workspace(viewer.workspace_id).await?.settings.bands;
    let choices = choices(&state, &page).await?;
    let mut csv = format!("/api/v1/reports/iqs/trend?format=csv&interval={interval_name}");
    if !group_name.is_empty() {
        csv.push_str(&format!("&group_by={group_name}"));
    }
    csv.push_str(&filter_query(&filters.filter));
    let extra = html! {
        div { label for="interval" { "By" }
            select id="interval" name="interval" {
                @for i in ["day", "week", "month"] { option value=(i) selected[i == interval_name] { (i) } } } }
        div { label for="group_by" { "One line per" }
            select id="group_by" name="group_by" {
                @for (value, label) in TREND_GROUPINGS { option value=(value) selected[value == group_name] { (label) } } } }
    };
    Ok(layout(
        &page,
        "IQS trend",
        Nav::Reports,
        html! {
            h1 { "IQS trend" }
            (report_tabs("trend"))
            (filter_form("/reports/trend", &filters, &choices, extra))
            @if let Some(trend) = &trend {
                section {
                    p class="muted small" {
                        "IQS per " (interval_name) " from " (trend.from) " up to " (trend.to)
                        " (each point is 100 × Σ earned / Σ possible over the reviews submitted in it). "
                        "At most " (iqs_views::MAX_SERIES) " lines: the groups with the most reviews. Dashed: the bands."
                    }
                    @if trend.series.is_empty() { p class="muted" { "No submitted reviews in this period." } }
                    @else {
                        @let lines: Vec<Line> = trend.series.iter().enumerate().map(|(i, s)| Line::of(s, PALETTE[i % PALETTE.len()])).collect();
                        (line_chart(&format!("IQS per {interval_name}"), &lines, &band_lines(&bands), 760.0, 300.0))
                        (trend_table(&trend.series))
                    }
                    (csv_link(csv, "the trend"))
                }
            }
        },
    ))
}

/// One row per bucket, one column per series: IQS and the number of reviews.
fn trend_table(series: &[TrendSeries]) -> Markup {
    let mut buckets: Vec<&str> = series.iter().flat_map(|s| s.points.iter().map(|p| p.start.as_str())).collect();
    buckets.sort_unstable();
    buckets.dedup();
    html! {
        div class="scroll" { table {
            thead { tr { th { "From" } @for s in series { th class="num" { (s.name) } } } }
            tbody { @for b in &buckets { tr {
                td { (b) }
                @for s in series {
                    @match s.points.iter().find(|p| p.start == *b) {
                        Some(p) => td class="num" title=(format!("95% interval {}", interval_text(p.ci95))) {
                            (score(p.iqs)) " " span class="muted small" { "(" (p.evaluations) ")" } },
                        None => td class="num muted" { "–" },
                    }
                }
            } } }
        } }
        p class="muted small" { "In brackets: reviews. Hover a value for its 95% interval." }
    }
}

// ---------------------------------------------------------------------------------------------
// Vendor view

pub async fn vendors(
    State(state): State<AppState>,
    page: PageAuth,
    Query(q): Query<ReportQuery>,
) -> PageResult<Markup> {
    allowed(&page)?;
    let viewer = &page.viewer;
    let mut filters = read_filters(q);
    let view = match refusal(iqs_views::vendor_view(&state, viewer, &filters.filter).await)? {
        Ok(v) => Some(v),
        Err(errors) => {
            filters.errors.extend(errors);
            None
        }
    };
    let choices = choices(&state, &page).await?;
    let csv = format!("/api/v1/reports/vendors?format=csv{}", filter_query(&filters.filter));
    Ok(layout(
        &page,
        "BPO vendors",
        Nav::Reports,
        html! {
            h1 { "BPO vendors" }
            (report_tabs("vendors"))
            (filter_form("/reports/vendors", &filters, &choices, html! {}))
            @if let Some(view) = &view {
                p class="muted small" {
                    "From " (view.from) " up to " (view.to) ". Own: reviews by the vendor's own graders; internal: reviews by "
                    "your graders of the same vendor's conversations. Gap: own − internal with its 95% interval (independent samples). "
                    "Alignment: the vendor graders' mean alignment with internal benchmarks in grade-the-grader audits."
                }
                @if view.vendors.is_empty() { p class="muted" { "No BPO vendors." } }
                @for v in &view.vendors {
                    section aria-labelledby={ "v-" (v.vendor_id) } {
                        h2 id={ "v-" (v.vendor_id) } { (v.name) }
                        p { (gap_sentence(&v.name, v.gap)) }
                        div class="grid2" {
                            div {
                                (own_internal_bars(&v.name, &v.own, &v.internal))
                                table class="facts" { tbody {
                                    tr { th { "Own graders" } td { (score(v.own.iqs)) " (95% CI " (interval_text(v.own.ci95)) "), " (v.own.evaluations) " reviews" } }
                                    tr { th { "Internal graders" } td { (score(v.internal.iqs)) " (95% CI " (interval_text(v.internal.ci95)) "), " (v.internal.evaluations) " reviews" } }
                                    tr { th { "Gap" } td { (signed(v.gap.map(|g| g.value))) " (95% CI " (interval_text(v.gap.and_then(|g| g.ci95))) ")" } }
                                    tr { th { "Alignment to benchmarks" } td {
                                        @if v.audits == 0 { span class="muted" { "no completed audits" } }
                                        @else { (score(v.alignment)) " of 100 (95% CI " (interval_text(v.alignment_ci95)) "), " (v.audits) " audits" } } }
                                    tr { th { "CSAT" } td {
                                        @if v.csat_responses == 0 { span class="muted" { "no responses" } }
                                        @else { (v.csat.map(|c| format!("{c:.2}")).unwrap_or_default()) " of 5, " (v.csat_responses) " responses" } } }
                                } }
                            }
                            div {
                                @if v.trend.is_empty() { p class="muted" { "No monthly trend yet." } }
                                @else {
                                    @let lines = [
                                        Line { name: "own graders".into(), colour: PALETTE[1], points: v.trend.iter().map(|m| (m.start.clone(), m.own_iqs)).collect() },
                                        Line { name: "internal graders".into(), colour: PALETTE[0], points: v.trend.iter().map(|m| (m.start.clone(), m.internal_iqs)).collect() },
                                    ];
                                    (line_chart(&format!("{}: IQS per month by own and internal graders", v.name), &lines, &[], 380.0, 200.0))
                                }
                            }
                        }
                    }
                }
                (csv_link(csv, "the vendor table"))
            }
        },
    ))
}

/// The gap in one plain sentence.
fn gap_sentence(name: &str, gap: Option<plumbline_domain::reports::Gap>) -> String {
    let Some(gap) = gap else {
        return format!(
            "Not enough reviews by both {name}'s graders and internal graders on {name}'s conversations to compare them."
        );
    };
    let direction = if gap.value >= 0.0 { "higher" } else { "lower" };
    let mut text = format!(
        "{name}'s graders score {:.1} points {direction} than internal graders on the same vendor's conversations",
        gap.value.abs()
    );
    match gap.ci95 {
        Some([low, high]) => {
            text.push_str(&format!(" (95% CI {low:.1} to {high:.1})."));
            if low <= 0.0 && high >= 0.0 {
                text.push_str(" The interval includes zero: the difference may be chance.");
            }
        }
        None => text.push_str(" (too few reviews for an interval)."),
    }
    text
}

/// Two horizontal bars, 0 to 100, with each interval as a whisker.
fn own_internal_bars(name: &str, own: &iqs_views::GradedIqs, internal: &iqs_views::GradedIqs) -> Markup {
    let (label_w, bar_w, row_h) = (110.0, 260.0, 26.0);
    let x = |v: f64| tenth(label_w + bar_w * v.clamp(0.0, 100.0) / 100.0);
    let rows = [("own graders", own, PALETTE[1]), ("internal graders", internal, PALETTE[0])];
    let height = row_h * 2.0 + 20.0;
    html! {
        svg role="img" class="dist" width=(label_w + bar_w + 50.0) height=(height) viewBox={ "0 0 " (label_w + bar_w + 50.0) " " (height) } {
            title { (name) ": IQS by own graders " (score(own.iqs)) " (95% CI " (interval_text(own.ci95)) "), by internal graders "
                (score(internal.iqs)) " (95% CI " (interval_text(internal.ci95)) ")" }
            @for (i, (label, graded, colour)) in rows.iter().enumerate() {
                @let y = i as f64 * row_h;
                text x="0" y=(y + 17.0) { (label) }
                @if let Some(v) = graded.iqs {
                    rect x=(label_w) y=(y + 5.0) width=((x(v) - label_w).max(1.0)) height=(row_h - 10.0) fill=(colour) opacity="0.8" {}
                    @if let Some([low, high]) = graded.ci95 {
                        line x1=(x(low)) x2=(x(high)) y1=(y + row_h / 2.0) y2=(y + row_h / 2.0) stroke="#111" stroke-width="1.5" {}
                        line x1=(x(low)) x2=(x(low)) y1=(y + 7.0) y2=(y + row_h - 7.0) stroke="#111" stroke-width="1.5" {}
                        line x1=(x(high)) x2=(x(high)) y1=(y + 7.0) y2=(y + row_h - 7.0) stroke="#111" stroke-width="1.5" {}
                    }
                    text x=(x(graded.ci95.map(|c| c[1]).unwrap_or(v).max(v)) + 4.0) y=(y + 17.0) { (score(Some(v))) }
                } @else {
                    text x=(label_w) y=(y + 17.0) class="muted" { "no reviews" }
                }
            }
            @for v in [0.0, 50.0, 100.0] {
                text x=(x(v)) y=(height - 4.0) text-anchor="middle" { (v) }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// IQS vs CSAT / NPS

/// What the "create a calibration session" form holds, so a refusal comes back as it was.
#[derive(Default)]
struct SessionDraft {
    title: String,
    evaluation_ids: Vec<String>,
    participant_ids: Vec<String>,
}

pub async fn csat(State(state): State<AppState>, page: PageAuth, Query(q): Query<ReportQuery>) -> PageResult<Markup> {
    allowed(&page)?;
    csat_page(&state, &page, q, &SessionDraft::default(), &[]).await
}

async fn csat_page(
    state: &AppState,
    page: &PageAuth,
    q: ReportQuery,
    draft: &SessionDraft,
    form_errors: &[FieldError],
) -> PageResult<Markup> {
    let viewer = &page.viewer;
    let mut filters = read_filters(q);
    let report = match refusal(iqs_views::csat_report(state, viewer, &filters.filter).await)? {
        Ok(r) => Some(r),
        Err(errors) => {
            filters.errors.extend(errors);
            None
        }
    };
    let choices = choices(state, page).await?;
    let query = filter_query(&filters.filter);
    let csv = |section: &str| format!("/api/v1/reports/csat?format=csv&section={section}{query}");
    let may_calibrate = calibrates(page);
    let participants = if may_calibrate { grader_choices(state, page).await? } else { Vec::new() };
    let mismatches = |list: &[plumbline_store::Mismatch], caption: &str| {
        html! {
            @if list.is_empty() { p class="muted" { "None in this period." } }
            @else { div class="scroll" { table {
                caption class="muted small" { (caption) }
                thead { tr {
                    @if may_calibrate { th { "Pick" } }
                    th { "Conversation" } th { "Channel" } th { "Agent" } th { "Vendor" }
                    th class="num" { "Review score" } th class="num" { "CSAT" } th class="num" { "NPS" } th { "Reviewed" }
                } }
                tbody { @for m in list { tr {
                    @if may_calibrate { td {
                        input type="checkbox" form="from-selected" name="evaluation_ids" id={ "e-" (m.evaluation_id) } value=(m.evaluation_id)
                            checked[draft.evaluation_ids.contains(&m.evaluation_id.to_string())];
                    } }
                    td { label for={ "e-" (m.evaluation_id) } class="inline" { a href={ "/conversations/" (m.conversation_id) } { (truncate(&m.subject, 60)) } }
                        " " span class="muted small" { (m.external_id) } }
                    td { (m.channel) } td { (m.agent.clone().unwrap_or_default()) } td { (m.vendor) }
                    td class="num" { (score(Some(m.score))) } td class="num" { (m.csat) }
                    td class="num" { (m.nps.map(|n| n.to_string()).unwrap_or_default()) } td { (m.reviewed) }
                } } }
            } } }
        }
    };
    Ok(layout(
        page,
        "IQS vs CSAT",
        Nav::Reports,
        html! {
            h1 { "IQS vs CSAT and NPS" }
            (report_tabs("csat"))
            @if !form_errors.is_empty() {
                p class="error" role="alert" { "The session was not created: " a href="#from-selected-title" { "see why below" } "." }
            }
            (filter_form("/reports/csat", &filters, &choices, html! {}))
            @if let Some(report) = &report {
                section aria-labelledby="correlation" {
                    h2 id="correlation" { "Correlation" }
                    p class="muted small" {
                        "From " (report.from) " up to " (report.to) ". r is Pearson's correlation between each reviewed conversation's "
                        "review score and its customer's CSAT (1 to 5) or NPS (0 to 10). It does not depend on how either is scaled or "
                        "where the bands sit, so it compares across scorecards and vendors: +1 means they rise together, 0 that the "
                        "review score says nothing about the customer's rating. n is the number of reviewed conversations that have both "
                        "a review score and a rating; the 95% interval (Fisher's z) is wide when n is small."
                    }
                    table {
                        thead { tr { th { "" } th class="num" { "CSAT r" } th class="num" { "n" } th { "95% interval" }
                            th class="num" { "NPS r" } th class="num" { "n" } th { "95% interval" } } }
                        tbody { @for c in &report.correlations { tr {
                            td { @if c.vendor_id.is_none() { strong { "All selected" } } @else { (c.name) } }
                            td class="num" { (c.csat.map(|x| format!("{:+.2}", x.r)).unwrap_or_else(|| "–".into())) }
                            td class="num" { (c.csat_pairs) }
                            td { (c.csat.map(|x| format!("{:+.2} to {:+.2}", x.ci95[0], x.ci95[1])).unwrap_or_else(|| "–".into())) }
                            td class="num" { (c.nps.map(|x| format!("{:+.2}", x.r)).unwrap_or_else(|| "–".into())) }
                            td class="num" { (c.nps_pairs) }
                            td { (c.nps.map(|x| format!("{:+.2} to {:+.2}", x.ci95[0], x.ci95[1])).unwrap_or_else(|| "–".into())) }
                        } } }
                    }
                    (csv_link(csv("correlations"), "the correlations"))
                }
                section aria-labelledby="high" {
                    h2 id="high" { "High IQS, poor CSAT" }
                    p class="muted small" { "Review score ≥ " (report.high_score) " and CSAT ≤ " (report.low_csat)
                        ": the scorecard may miss what customers care about. Newest first, at most " (iqs_views::MISMATCH_LIMIT) "." }
                    (mismatches(&report.high_iqs_poor_csat, "High IQS, poor CSAT"))
                    (csv_link(csv("high_iqs_poor_csat"), "this list"))
                }
                section aria-labelledby="low" {
                    h2 id="low" { "Low IQS, happy customer" }
                    p class="muted small" { "Review score < " (report.low_score) " and CSAT ≥ " (report.high_csat)
                        ": the scorecard may demand what customers do not value. Newest first, at most " (iqs_views::MISMATCH_LIMIT) "." }
                    (mismatches(&report.low_iqs_happy_customer, "Low IQS, happy customer"))
                    (csv_link(csv("low_iqs_happy_customer"), "this list"))
                }
                @if may_calibrate {
                    section aria-labelledby="from-selected-title" {
                        h2 id="from-selected-title" { "Calibrate on these conversations" }
                        p class="muted small" { "Tick conversations in the lists above, choose who scores them, then create a blind session. "
                            "It uses the active version of the scorecard the reviews used (so filter by one scorecard first), and you facilitate it." }
                        (error_list(form_errors))
                        form method="post" action="/reports/csat/calibration" id="from-selected" {
                            (csrf_field(page))
                            @for (key, value) in hidden_filters(&filters.typed) { input type="hidden" name=(key) value=(value); }
                            label for="title" { "Session title" }
                            input type="text" id="title" name="title" maxlength="200" value=(draft.title) placeholder="Where IQS and CSAT disagree";
                            fieldset {
                                legend { "Participants" }
                                div class="grid2" { @for (id, name) in &participants {
                                    div class="choice" {
                                        input type="checkbox" name="participant_ids" id={ "p-" (id) } value=(id) checked[draft.participant_ids.contains(id)];
                                        label for={ "p-" (id) } { (name) }
                                    }
                                } }
                            }
                            button type="submit" { "Create a calibration session from selected" }
                        }
                    }
                }
            }
        },
    ))
}

/// The typed filters, to carry through a POST and back.
fn hidden_filters(typed: &ReportQuery) -> Vec<(&'static str, String)> {
    [
        ("vendor_id", &typed.vendor_id),
        ("team_id", &typed.team_id),
        ("agent_id", &typed.agent_id),
        ("scorecard_id", &typed.scorecard_id),
        ("channel", &typed.channel),
        ("from", &typed.from),
        ("to", &typed.to),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().filter(|v| !v.is_empty()).map(|v| (k, v)))
    .collect()
}

/// Active users who grade (everyone but agents), as (id, "name (role, vendor)").
async fn grader_choices(state: &AppState, page: &PageAuth) -> PageResult<Vec<(String, String)>> {
    let ws = page.viewer.workspace_id;
    let vendors: std::collections::HashMap<_, _> =
        state.store.list_vendors(ws, VendorScope::All).await?.into_iter().map(|v| (v.id, v.name)).collect();
    let users = state.store.list_users(ws, VendorScope::All, &UserFilter { vendor_id: None, role: None }).await?;
    Ok(users
        .into_iter()
        .filter(|u| u.active && u.role != Role::Agent)
        .map(|u| {
            let vendor = vendors.get(&u.vendor_id).map(String::as_str).unwrap_or_default();
            (u.id.to_string(), format!("{} ({}, {vendor})", u.name, u.role))
        })
        .collect())
}

/// Creates a blind calibration session on the conversations of the ticked reviews: the active
/// version of their scorecard, the viewer facilitating. Refusals come back on the report.
pub async fn create_session(
    State(state): State<AppState>,
    page: PageAuth,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    if !page.viewer.may(Permission::ReadReports) || !calibrates(&page) {
        return Err(PageError::NotFound);
    }
    let viewer = &page.viewer;
    let ws = viewer.workspace_id;
    let filters = ReportQuery {
        vendor_id: fields.get("vendor_id").map(str::to_string),
        team_id: fields.get("team_id").map(str::to_string),
        agent_id: fields.get("agent_id").map(str::to_string),
        scorecard_id: fields.get("scorecard_id").map(str::to_string),
        channel: fields.get("channel").map(str::to_string),
        from: fields.get("from").map(str::to_string),
        to: fields.get("to").map(str::to_string),
    };
    let draft = SessionDraft {
        title: fields.text("title"),
        evaluation_ids: fields.all("evaluation_ids").into_iter().map(str::to_string).collect(),
        participant_ids: fields.all("participant_ids").into_iter().map(str::to_string).collect(),
    };
    let mut errors = Vec::new();
    let mut conversations: Vec<ConversationId> = Vec::new();
    let mut scorecards: Vec<ScorecardId> = Vec::new();
    for raw in &draft.evaluation_ids {
        let evaluation = match raw.parse::<EvaluationId>() {
            Ok(id) => match state.store.get_evaluation(ws, id).await {
                Ok((e, _)) if viewer.may_read_evaluation(&e) && e.status == EvaluationStatus::Submitted => Some(e),
                Ok(_) | Err(StoreError::NotFound) => None,
                Err(e) => return Err(e.into()),
            },
            Err(_) => None,
        };
        let Some(evaluation) = evaluation else {
            errors.push(FieldError::new("evaluation_ids", "a ticked review no longer exists"));
            continue;
        };
        if !conversations.contains(&evaluation.conversation_id) {
            conversations.push(evaluation.conversation_id);
        }
        let card = state.store.get_version(ws, evaluation.scorecard_version_id).await?.scorecard_id;
        if !scorecards.contains(&card) {
            scorecards.push(card);
        }
    }
    if draft.evaluation_ids.is_empty() {
        errors.push(FieldError::new("evaluation_ids", "Tick at least one conversation."));
    }
    if scorecards.len() > 1 {
        errors.push(FieldError::new(
            "evaluation_ids",
            "The ticked conversations were reviewed with different scorecards; a session uses one. Tick those of one scorecard.",
        ));
    }
    let mut version = None;
    if let [card] = scorecards.as_slice() {
        version = state
            .store
            .list_versions(ws, *card)
            .await?
            .into_iter()
            .find(|v| v.status == VersionStatus::Active)
            .map(|v| v.id);
        if version.is_none() {
            errors.push(FieldError::new("evaluation_ids", "The scorecard of these reviews has no active version."));
        }
    }
    let participants: Vec<UserId> = draft.participant_ids.iter().filter_map(|p| p.parse().ok()).collect();
    if participants.is_empty() {
        errors.push(FieldError::new("participant_ids", "Tick at least one participant."));
    }
    let mut people: Vec<(String, UserId)> =
        participants.iter().enumerate().map(|(i, u)| (format!("participant_ids[{i}]"), *u)).collect();
    people.push(("facilitator_id".into(), viewer.user_id));
    errors.extend(people_who_may_not_see(&state, ws, &people, &conversations).await?);
    let Some(version) = version.filter(|_| errors.is_empty()) else {
        return refused(csat_page(&state, &page, filters, &draft, &errors).await);
    };
    let title = match draft.title.trim() {
        "" => format!("IQS vs CSAT: {} conversations", conversations.len()),
        t => t.to_string(),
    };
    let created = state
        .store
        .create_calibration(
            ws,
            NewSession {
                title,
                goals: "Conversations where the review score and the customer's CSAT disagree (IQS vs CSAT report)."
                    .into(),
                scorecard_version_id: version,
                facilitator_id: viewer.user_id,
                mode: SessionMode::Blind,
                hide_agent_name: false,
                scheduled_at: None,
                scoring_deadline: None,
                conversation_ids: conversations,
                participant_ids: participants,
                review_plan_id: None,
                created_by: viewer.user_id,
            },
        )
        .await;
    match created {
        Ok(record) => Ok(Redirect::to(&format!("/calibrations/{}", record.session.id)).into_response()),
        Err(StoreError::Invalid(errors)) => refused(csat_page(&state, &page, filters, &draft, &errors).await),
        Err(StoreError::Conflict(why)) => {
            refused(csat_page(&state, &page, filters, &draft, &[FieldError::new("session", why)]).await)
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Self-assessment

pub async fn self_assessment(
    State(state): State<AppState>,
    page: PageAuth,
    Query(q): Query<ReportQuery>,
) -> PageResult<Markup> {
    allowed(&page)?;
    let viewer = &page.viewer;
    let mut filters = read_filters(q);
    let report = match refusal(iqs_views::self_assessment(&state, viewer, &filters.filter).await)? {
        Ok(r) => Some(r),
        Err(errors) => {
            filters.errors.extend(errors);
            None
        }
    };
    let choices = choices(&state, &page).await?;
    let query = filter_query(&filters.filter);
    let csv = |section: &str| format!("/api/v1/reports/self-assessment?format=csv&section={section}{query}");
    Ok(layout(
        &page,
        "Self-assessment",
        Nav::Reports,
        html! {
            h1 { "Self-assessment" }
            (report_tabs("self-assessment"))
            (filter_form("/reports/self-assessment", &filters, &choices, html! {}))
            @if let Some(report) = &report {
                p class="muted small" {
                    "From " (report.from) " up to " (report.to) ". Agents' self-reviews against their reviewers' scores on the same "
                    "conversations. Gap: self − reviewer in points; positive means the agent rates themselves higher."
                }
                section aria-labelledby="agents" {
                    h2 id="agents" { "Per agent" }
                    @if report.agents.is_empty() { p class="muted" { "No self-reviews beside reviews in this period." } }
                    @else { div class="scroll" { table {
                        thead { tr { th { "Agent" } th class="num" { "Pairs" } th class="num" { "Self" } th class="num" { "Reviewer" }
                            th class="num" { "Gap" } th class="num" { "IQS" } th class="num" { "FCR rate" } th class="num" { "Handle time" } } }
                        tbody { @for a in &report.agents { tr {
                            td { (a.name) } td class="num" { (a.pairs) }
                            td class="num" { (score(a.self_score)) } td class="num" { (score(a.review_score)) }
                            td class="num" { (signed(a.gap)) } td class="num" { (score(a.iqs)) }
                            td class="num" { (percent(a.fcr_rate)) } td class="num" { (duration(a.handle_time_seconds)) }
                        } } }
                    } } }
                    (csv_link(csv("agents"), "the agents table"))
                }
                section aria-labelledby="criteria" {
                    h2 id="criteria" { "Per criterion" }
                    p class="muted small" { "Mean of self − reviewer on each criterion, as points of its maximum (100). Right: agents rate themselves higher; left: lower." }
                    @if report.criteria.is_empty() { p class="muted" { "No criteria answered on both sides." } }
                    @else { (diverging_bars(&report.criteria)) }
                    (csv_link(csv("criteria"), "the criteria table"))
                }
            }
        },
    ))
}

fn duration(seconds: Option<f64>) -> String {
    match seconds {
        None => "–".into(),
        Some(s) => {
            let s = s.round() as i64;
            format!("{}:{:02}", s / 60, s % 60)
        }
    }
}

/// Horizontal bars from a centre line: positive gaps to the right, negative to the left.
fn diverging_bars(criteria: &[iqs_views::SelfAssessmentCriterion]) -> Markup {
    let rows: Vec<_> = criteria.iter().take(30).collect();
    let extent = rows.iter().filter_map(|c| c.gap).map(f64::abs).fold(10.0_f64, f64::max);
    let extent = (extent / 10.0).ceil() * 10.0;
    let (label_w, half, row_h) = (200.0, 180.0, 20.0);
    let centre = label_w + half + 30.0;
    let x = |v: f64| tenth(centre + half * (v / extent).clamp(-1.0, 1.0));
    let height = row_h * rows.len() as f64 + 22.0;
    let width = centre + half + 60.0;
    let description = rows.iter().map(|c| format!("{} {}", c.title, signed(c.gap))).collect::<Vec<_>>().join(", ");
    html! {
        svg role="img" class="dist" width=(width) height=(height) viewBox={ "0 0 " (width) " " (height) } {
            title { "Self minus reviewer per criterion, in points: " (description) }
            @for (i, c) in rows.iter().enumerate() {
                @let y = i as f64 * row_h;
                @let g = c.gap.unwrap_or(0.0);
                text x="0" y=(y + 14.0) { (truncate(&c.title, 30)) }
                @if g >= 0.0 {
                    rect x=(centre) y=(y + 4.0) width=((x(g) - centre).max(1.0)) height=(row_h - 7.0) fill=(PALETTE[1]) { title { (c.title) ": " (signed(c.gap)) " (" (c.pairs) " pairs)" } }
                    text x=(x(g) + 4.0) y=(y + 14.0) { (signed(c.gap)) }
                } @else {
                    rect x=(x(g)) y=(y + 4.0) width=((centre - x(g)).max(1.0)) height=(row_h - 7.0) fill=(PALETTE[0]) { title { (c.title) ": " (signed(c.gap)) " (" (c.pairs) " pairs)" } }
                    text x=(x(g) - 4.0) y=(y + 14.0) text-anchor="end" { (signed(c.gap)) }
                }
            }
            line x1=(centre) x2=(centre) y1="0" y2=(height - 18.0) stroke="#5b6472" {}
            text x=(x(-extent)) y=(height - 4.0) text-anchor="middle" { "−" (extent) }
            text x=(centre) y=(height - 4.0) text-anchor="middle" { "0" }
            text x=(x(extent)) y=(height - 4.0) text-anchor="middle" { "+" (extent) }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Leaderboard

pub async fn leaderboard(
    State(state): State<AppState>,
    page: PageAuth,
    Query(q): Query<ReportQuery>,
) -> PageResult<Markup> {
    allowed(&page)?;
    let viewer = &page.viewer;
    let mut filters = read_filters(q);
    let board = match refusal(iqs_views::leaderboard(&state, viewer, &filters.filter).await)? {
        Ok(b) => Some(b),
        Err(errors) => {
            filters.errors.extend(errors);
            None
        }
    };
    let choices = choices(&state, &page).await?;
    let query = filter_query(&filters.filter);
    let csv = |section: &str| format!("/api/v1/reports/leaderboard?format=csv&section={section}{query}");
    let list = |lines: &[iqs_views::LeaderLine]| {
        html! {
            @if lines.is_empty() { p class="muted" { "No agent qualifies yet." } }
            @else { table {
                thead { tr { th class="num" { "#" } th { "Agent" } th class="num" { "Reviews" } th class="num" { "IQS" }
                    th { "95% interval" } th class="num" { "Previous" } th class="num" { "Change" } } }
                tbody { @for (i, l) in lines.iter().enumerate() { tr {
                    td class="num" { (i + 1) } td { (l.name) } td class="num" { (l.evaluations) }
                    td class="num" { (score(l.iqs)) } td { (interval_text(l.ci95)) }
                    td class="num" { (score(l.previous_iqs)) } td class="num" { (signed(l.change)) }
                } } }
            } }
        }
    };
    Ok(layout(
        &page,
        "Leaderboard",
        Nav::Reports,
        html! {
            h1 { "Leaderboard" }
            (report_tabs("leaderboard"))
            (filter_form("/reports/leaderboard", &filters, &choices, html! {}))
            @if let Some(board) = &board {
                p class="muted small" {
                    "From " (board.from) " up to " (board.to) ", compared with " (board.previous_from) " up to " (board.from)
                    ". Agents need " (board.min_evaluations) " scored reviews in a period to be ranked. Top: ranked by the lower end of "
                    "the 95% interval, so a short lucky record does not win."
                }
                div class="grid2" {
                    section aria-labelledby="top" {
                        h2 id="top" { "Top IQS" }
                        (list(&board.top))
                        (csv_link(csv("top"), "this list"))
                    }
                    section aria-labelledby="improved" {
                        h2 id="improved" { "Most improved" }
                        (list(&board.most_improved))
                        (csv_link(csv("most_improved"), "this list"))
                    }
                }
            }
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Targets

/// The target form as typed.
#[derive(Default)]
struct TargetDraft {
    name: String,
    vendor_id: String,
    team_id: String,
    scorecard_id: String,
    value: String,
    start: String,
    due: String,
    milestones: Vec<(String, String)>,
}

/// Milestone rows the form offers.
const MILESTONE_ROWS: usize = 4;

pub async fn targets(State(state): State<AppState>, page: PageAuth) -> PageResult<Markup> {
    allowed(&page)?;
    targets_page(&state, &page, &TargetDraft::default(), &[]).await
}

async fn targets_page(
    state: &AppState,
    page: &PageAuth,
    draft: &TargetDraft,
    errors: &[FieldError],
) -> PageResult<Markup> {
    let viewer = &page.viewer;
    let mut progress = Vec::new();
    for target in state.store.list_targets(viewer.workspace_id, viewer.vendor_scope()).await? {
        progress.push(iqs_views::target_progress(state, viewer, target).await?);
    }
    let may_edit = calibrates(page);
    let choices = if may_edit { Some(choices(state, page).await?) } else { None };
    let field_errors = |prefix: &str| {
        errors.iter().filter(|e| e.field == prefix || e.field.starts_with(&format!("{prefix}/"))).collect::<Vec<_>>()
    };
    Ok(layout(
        page,
        "IQS targets",
        Nav::Reports,
        html! {
            h1 { "IQS targets" }
            (report_tabs("targets"))
            p class="muted small" { "Baseline: IQS over the 90 days before the start. Current: IQS since the start (up to the due date). "
                "Progress: how far from the baseline to the value the current IQS has come." }
            @if progress.is_empty() { p class="muted" { "No targets yet." } }
            @for t in &progress {
                section aria-labelledby={ "t-" (t.target.id) } {
                    div class="actions" style="justify-content:space-between" {
                        h2 id={ "t-" (t.target.id) } { (t.target.name) " " (status_badge(t.status)) }
                        @if may_edit {
                            form method="post" action={ "/reports/targets/" (t.target.id) "/delete" } {
                                (csrf_field(page))
                                button type="submit" class="danger small" aria-label={ "Delete " (t.target.name) } { "Delete" }
                            }
                        }
                    }
                    p { "IQS " (t.target.value) " for " (t.applies_to) " from " (t.target.start) " by " (t.target.due) "." }
                    (progress_bar(t))
                    p class="small" {
                        "Baseline " (score(t.baseline)) " → current " (score(t.current)) " (95% CI " (interval_text(t.ci95)) ", "
                        (t.evaluations) " reviews) → target " (t.target.value)
                        @if let Some(p) = t.progress_percent { ": " (format!("{p:.0}")) "% of the way" }
                    }
                    @if !t.milestones.is_empty() { (milestone_table(&t.milestones)) }
                }
            }
            p { a href="/api/v1/targets?format=csv" { "Download the targets as CSV" } }
            @if let Some(choices) = &choices {
                section aria-labelledby="new-target" {
                    h2 id="new-target" { "New target" }
                    (error_list(errors))
                    form method="post" action="/reports/targets" {
                        (csrf_field(page))
                        label for="name" { "Name" }
                        input type="text" id="name" name="name" maxlength="200" required value=(draft.name);
                        @for e in field_errors("name") { p class="error" { (e.reason) } }
                        div class="grid2" {
                            (select("vendor_id", "Vendor", &choices.vendors, &Some(draft.vendor_id.clone())))
                            (select("team_id", "Team", &choices.teams, &Some(draft.team_id.clone())))
                            (select("scorecard_id", "Scorecard", &choices.scorecards, &Some(draft.scorecard_id.clone())))
                            div { label for="value" { "IQS to reach" }
                                input type="number" id="value" name="value" min="0" max="100" step="0.1" required value=(draft.value); }
                            div { label for="start" { "Start" } input type="date" id="start" name="start" required value=(draft.start); }
                            div { label for="due" { "Due" } input type="date" id="due" name="due" required value=(draft.due); }
                        }
                        @for e in ["vendor_id", "team_id", "scorecard_id", "value", "start", "due"].into_iter().flat_map(field_errors) { p class="error" { code { (e.field) } ": " (e.reason) } }
                        fieldset {
                            legend { "Milestones (optional)" }
                            @for i in 0..MILESTONE_ROWS {
                                @let (d, v) = draft.milestones.get(i).cloned().unwrap_or_default();
                                div class="actions" {
                                    div { label for={ "milestone_date_" (i) } { "Date" }
                                        input type="date" id={ "milestone_date_" (i) } name="milestone_date" value=(d); }
                                    div { label for={ "milestone_value_" (i) } { "IQS" }
                                        input type="number" id={ "milestone_value_" (i) } name="milestone_value" min="0" max="100" step="0.1" value=(v); }
                                }
                            }
                            @for e in field_errors("milestones") { p class="error" { code { (e.field) } ": " (e.reason) } }
                        }
                        button type="submit" { "Create target" }
                    }
                }
            }
        },
    ))
}

fn status_text(status: TargetStatus) -> &'static str {
    match status {
        TargetStatus::Met => "met",
        TargetStatus::Missed => "missed",
        TargetStatus::OnTrack => "on track",
        TargetStatus::Behind => "behind",
        TargetStatus::NoData => "no data yet",
    }
}

fn status_badge(status: TargetStatus) -> Markup {
    let class = match status {
        TargetStatus::Met | TargetStatus::OnTrack => "badge version-active",
        TargetStatus::Missed | TargetStatus::Behind => "badge critical",
        TargetStatus::NoData => "badge",
    };
    html! { span class=(class) { (status_text(status)) } }
}

/// The IQS axis around the baseline, current value and target: a grey tick at the baseline,
/// a bar from the baseline to the current IQS, a dark line at the target value.
fn progress_bar(t: &TargetProgress) -> Markup {
    let marks: Vec<f64> = [t.baseline, t.current, Some(t.target.value)].into_iter().flatten().collect();
    let low = ((marks.iter().copied().fold(100.0_f64, f64::min) - 5.0) / 5.0).floor().max(0.0) * 5.0;
    let high = ((marks.iter().copied().fold(0.0_f64, f64::max) + 5.0) / 5.0).ceil().min(20.0) * 5.0;
    let (left, width, height) = (10.0, 460.0, 46.0);
    let x = |v: f64| tenth(left + width * ((v - low) / (high - low).max(1.0)).clamp(0.0, 1.0));
    let colour = match t.status {
        TargetStatus::Met | TargetStatus::OnTrack => "#15803d",
        TargetStatus::Missed | TargetStatus::Behind => "#b45309",
        TargetStatus::NoData => "#8aa4c8",
    };
    html! {
        svg role="img" class="dist" width=(left * 2.0 + width) height=(height) viewBox={ "0 0 " (left * 2.0 + width) " " (height) } {
            title { (t.target.name) ": baseline " (score(t.baseline)) ", current " (score(t.current)) ", target " (t.target.value)
                ", " (status_text(t.status)) }
            rect x=(left) y="8" width=(width) height="14" fill="#eef1f5" {}
            @if let (Some(b), Some(c)) = (t.baseline, t.current) {
                rect x=(x(b.min(c))) y="8" width=((x(b.max(c)) - x(b.min(c))).max(1.0)) height="14" fill=(colour) {}
            } @else if let Some(c) = t.current {
                rect x=(left) y="8" width=((x(c) - left).max(1.0)) height="14" fill=(colour) {}
            }
            @if let Some(b) = t.baseline {
                line x1=(x(b)) x2=(x(b)) y1="4" y2="26" stroke="#5b6472" stroke-width="2" {}
                text x=(x(b)) y="38" text-anchor="middle" { "baseline " (score(Some(b))) }
            }
            line x1=(x(t.target.value)) x2=(x(t.target.value)) y1="2" y2="28" stroke="#111" stroke-width="3" {}
            text x=(x(t.target.value)) y=(height - 0.5) text-anchor="middle" { "target " (t.target.value) }
        }
    }
}

fn milestone_table(milestones: &[MilestoneProgress]) -> Markup {
    html! {
        table {
            thead { tr { th { "Milestone" } th class="num" { "IQS to reach" } th class="num" { "IQS by then" } th { "Status" } } }
            tbody { @for m in milestones { tr {
                td { (m.date) } td class="num" { (m.value) } td class="num" { (score(m.iqs)) } td { (status_badge(m.status)) }
            } } }
        }
    }
}

pub async fn create_target(
    State(state): State<AppState>,
    page: PageAuth,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    if !page.viewer.may(Permission::ReadReports) || !calibrates(&page) {
        return Err(PageError::NotFound);
    }
    let dates = fields.all("milestone_date");
    let values = fields.all("milestone_value");
    let draft = TargetDraft {
        name: fields.text("name"),
        vendor_id: fields.text("vendor_id"),
        team_id: fields.text("team_id"),
        scorecard_id: fields.text("scorecard_id"),
        value: fields.text("value"),
        start: fields.text("start"),
        due: fields.text("due"),
        milestones: (0..dates.len().max(values.len()))
            .map(|i| {
                let at = |list: &[&str]| list.get(i).map(|s| s.trim().to_string()).unwrap_or_default();
                (at(&dates), at(&values))
            })
            .collect(),
    };
    let mut errors = Vec::new();
    let vendor_id = optional_id("vendor_id", &draft.vendor_id, &mut errors);
    let team_id = optional_id("team_id", &draft.team_id, &mut errors);
    let scorecard_id = optional_id("scorecard_id", &draft.scorecard_id, &mut errors);
    let number = |text: &str| text.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    let value = number(&draft.value).unwrap_or_else(|| {
        errors.push(FieldError::new("value", "must be a number from 0 to 100"));
        0.0
    });
    let mut milestones = Vec::new();
    for (i, (d, v)) in draft.milestones.iter().filter(|(d, v)| !d.is_empty() || !v.is_empty()).enumerate() {
        match number(v) {
            Some(v) => milestones.push(Milestone { date: d.clone(), value: v }),
            None => errors.push(FieldError::new(format!("milestones/{i}/value"), "must be a number from 0 to 100")),
        }
    }
    if !errors.is_empty() {
        return refused(targets_page(&state, &page, &draft, &errors).await);
    }
    let input = TargetInput {
        name: draft.name.clone(),
        vendor_id,
        team_id,
        scorecard_id,
        value,
        start: draft.start.trim().to_string(),
        due: draft.due.trim().to_string(),
        milestones,
    };
    match state.store.create_target(page.viewer.workspace_id, page.viewer.user_id, &input).await {
        Ok(_) => Ok(Redirect::to("/reports/targets").into_response()),
        Err(StoreError::Invalid(errors)) => refused(targets_page(&state, &page, &draft, &errors).await),
        Err(e) => Err(e.into()),
    }
}

/// An optional id from a select; anything else is named.
fn optional_id<T: std::str::FromStr>(field: &str, text: &str, errors: &mut Vec<FieldError>) -> Option<T> {
    match text.trim() {
        "" => None,
        t => t.parse().map_err(|_| errors.push(FieldError::new(field, "choose one from the list"))).ok(),
    }
}

/// A form page shown again with what was refused: 422, the page as typed.
fn refused(page: PageResult<Markup>) -> PageResult<Response> {
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page?).into_response())
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

pub async fn delete_target(
    State(state): State<AppState>,
    page: PageAuth,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> PageResult<Response> {
    super::check_csrf(&page, &form.csrf)?;
    if !page.viewer.may(Permission::ReadReports) || !calibrates(&page) {
        return Err(PageError::NotFound);
    }
    let id: uuid::Uuid = id.parse().map_err(|_| PageError::NotFound)?;
    state.store.delete_target(page.viewer.workspace_id, &id.to_string()).await?;
    Ok(Redirect::to("/reports/targets").into_response())
}
