//! Reports: the Calibration Performance Report (graders with leniency and trend, hardest
//! criteria, versions, vendors, sessions; from the same `report_views` function as the API) and
//! the IQS overview by any of seven groupings with the report filters, intervals, period change,
//! an SVG bar chart and the monthly trend, and a link to the same rows as CSV from the JSON API.
//! The same permission and vendor scope as `GET /api/v1/reports/iqs`. The other QA program
//! reports are in `dashboards.rs`; `report_tabs` links them all.

use super::dashboards::{Line, choices, filter_form, filter_query, line_chart, read_filters, refusal};
use super::home::band_class;
use super::ui::{date, parse_datetime, percent, score, truncate, url_encode};
use super::{Nav, PageError, PageResult, layout};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::PageAuth;
use crate::iqs_views::{self, ReportQuery};
use axum::extract::{Query, State};
use maud::{Markup, html};
use plumbline_domain::access::Permission;
use plumbline_domain::calibration_report::{GraderLine, TrendPoint};
use plumbline_domain::reports::Interval;
use plumbline_domain::scorecard::FieldError;
use plumbline_store::{IqsFilter, IqsGrouping, IqsRow};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct IqsQuery {
    group_by: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    page: Option<u32>,
}

/// Rows per page of the IQS overview.
const PAGE_ROWS: u32 = 100;

const GROUPINGS: [IqsGrouping; 7] = [
    IqsGrouping::Agent,
    IqsGrouping::Team,
    IqsGrouping::Vendor,
    IqsGrouping::Channel,
    IqsGrouping::Scorecard,
    IqsGrouping::Group,
    IqsGrouping::Criterion,
];

/// The IQS overview: one row per agent, team, vendor, channel, scorecard, group or criterion
/// with its 95% interval, band and (with both dates) the change against the previous period of
/// the same length; above it the monthly trend of everything selected.
pub async fn iqs(
    State(state): State<AppState>,
    page: PageAuth,
    Query(r): Query<ReportQuery>,
    Query(q): Query<IqsQuery>,
) -> PageResult<Markup> {
    let viewer = &page.viewer;
    if !viewer.may(Permission::ReadReports) {
        return Err(PageError::NotFound);
    }
    let grouping =
        GROUPINGS.into_iter().find(|g| Some(g.as_str()) == q.group_by.as_deref()).unwrap_or(IqsGrouping::Vendor);
    let group_name = grouping.as_str();
    let mut filters = read_filters(r);
    // The same combinations as GET /api/v1/reports/iqs refuses.
    if filters.filter.channel.is_some()
        && matches!(grouping, IqsGrouping::Agent | IqsGrouping::Group | IqsGrouping::Criterion)
    {
        filters
            .errors
            .push(FieldError::new("channel", "cannot be combined with grouping by agent, group or criterion"));
        filters.filter.channel = None;
    }
    if filters.filter.agent_id.is_some() && grouping != IqsGrouping::Agent {
        filters.errors.push(FieldError::new("agent_id", "can only be combined with grouping by agent"));
        filters.filter.agent_id = None;
    }
    let settings = state.store.get_workspace(viewer.workspace_id).await?.settings;
    let rows = state
        .store
        .iqs_report(viewer.workspace_id, viewer.vendor_scope(), grouping, &filters.filter, &settings.bands)
        .await;
    let rows = match refusal(rows.map_err(ApiError::from))? {
        Ok(rows) => rows,
        Err(errors) => {
            filters.errors.extend(errors);
            Vec::new()
        }
    };
    // Best first, a page at a time (a workspace may have thousands of agents).
    let page_number = q.page.unwrap_or(1).max(1);
    let paging = iqs_views::RowPage {
        sort: Some(q.sort.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| "iqs".into())),
        order: q.order.clone(),
        q: q.q.clone(),
        limit: Some(PAGE_ROWS),
        offset: Some((page_number - 1).saturating_mul(PAGE_ROWS)),
    };
    let (rows, matched) = match refusal(paging.apply(rows))? {
        Ok(paged) => paged,
        Err(errors) => {
            filters.errors.extend(errors);
            (Vec::new(), 0)
        }
    };
    let trend = match refusal(
        iqs_views::trend(
            &state,
            viewer,
            &IqsFilter { agent_id: None, ..filters.filter.clone() },
            Interval::Month,
            None,
        )
        .await,
    )? {
        Ok(t) => t.series.into_iter().next(),
        Err(_) => None,
    };
    let compared = filters.filter.from.is_some() && filters.filter.to.is_some();
    let per_answer = matches!(grouping, IqsGrouping::Group | IqsGrouping::Criterion);
    let csv = format!("/api/v1/reports/iqs?group_by={group_name}&format=csv{}", filter_query(&filters.filter));
    let choices = choices(&state, &page).await?;
    let sort = paging.sort.clone().unwrap_or_default();
    let extra = html! {
        div { label for="group_by" { "Group by" }
            select id="group_by" name="group_by" {
                @for g in GROUPINGS { option value=(g.as_str()) selected[g == grouping] { (g.as_str()) } } } }
        div { label for="q" { "Name contains" } input type="search" id="q" name="q" value=(q.q.clone().unwrap_or_default()); }
        div { label for="sort" { "Sort by" }
            select id="sort" name="sort" {
                @for (value, label) in [("iqs", "IQS"), ("name", "name"), ("evaluations", "reviews"), ("change", "change")] {
                    option value=(value) selected[sort == value] { (label) } } } }
        div { label for="order" { "Order" }
            select id="order" name="order" {
                option value="" { "natural" }
                option value="desc" selected[q.order.as_deref() == Some("desc")] { "high to low" }
                option value="asc" selected[q.order.as_deref() == Some("asc")] { "low to high" } } }
    };
    let pages = (matched as u32).div_ceil(PAGE_ROWS).max(1);
    let first_row = (page_number - 1) * PAGE_ROWS + 1;
    let page_link = |n: u32| {
        let mut link = format!("/reports/iqs?group_by={group_name}{}&page={n}", filter_query(&filters.filter));
        for (key, value) in [("q", &q.q), ("sort", &q.sort), ("order", &q.order)] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                link.push_str(&format!("&{key}={}", url_encode(v)));
            }
        }
        link
    };
    let bands = [(settings.bands.good, "good"), (settings.bands.excellent, "excellent")];
    Ok(layout(
        &page,
        "IQS overview",
        Nav::Reports,
        html! {
            h1 { "IQS overview" }
            (report_tabs("iqs"))
            (filter_form("/reports/iqs", &filters, &choices, extra))
            section {
                p class="muted small" {
                    "IQS = 100 × Σ earned / Σ possible over submitted reviews and published calibrated results. Bands: excellent from "
                    (settings.bands.excellent) ", good from " (settings.bands.good) ". The 95% interval shows how sure the figure is; "
                    @if compared { "change: against the previous period of the same length." }
                    @else { "give both dates to compare with the previous period." }
                }
                @if let Some(series) = &trend {
                    h2 { "Month by month" }
                    @let line = Line { name: "IQS".into(), colour: "#1f3a5f", points: series.points.iter().map(|p| (p.start.clone(), p.iqs)).collect() };
                    (line_chart("IQS per month of everything selected", &[line], &bands, 640.0, 220.0))
                }
                h2 { "By " (group_name) }
                @if rows.is_empty() { p class="muted" { "No submitted reviews in this period." } }
                @else {
                    @if matched as u32 > PAGE_ROWS {
                        nav class="pager" aria-label="pages" {
                            "Rows " (first_row) "–" (first_row - 1 + rows.len() as u32) " of " (matched) ". "
                            @if page_number > 1 { a href=(page_link(page_number - 1)) { "Previous" } " " }
                            @if page_number < pages { a href=(page_link(page_number + 1)) { "Next" } }
                        }
                    }
                    (iqs_chart(&rows, settings.bands.good, settings.bands.excellent))
                    div class="scroll" { table {
                        thead { tr {
                            th { (group_name) } th class="num" { @if per_answer { "Answers" } @else { "Reviews" } }
                            th class="num" { "IQS" } th { "95% interval" }
                            @if !per_answer { th class="num" { "Mean score" } }
                            th { "Band" } th class="num" { "Fail rate" }
                            @if per_answer { th class="num" { "N/A" } }
                            @if compared { th class="num" { "Previous" } th class="num" { "Change" } }
                        } }
                        tbody { @for r in &rows { tr {
                            td { (r.name) } td class="num" { (r.evaluations) }
                            td class={ "num " (r.band.map(band_class).unwrap_or("")) } { (score(r.iqs)) }
                            td { @if let Some([low, high]) = r.ci95 { (format!("{low:.1} to {high:.1}")) } @else { span class="muted" { "–" } } }
                            @if !per_answer { td class="num" { (score(r.mean_score)) } }
                            td class=(r.band.map(band_class).unwrap_or("")) { (r.band.map(band_class).unwrap_or("").trim_start_matches("band-").replace('_', " ")) }
                            td class="num" { (percent(r.fail_rate)) }
                            @if per_answer { td class="num" { (r.not_applicable.unwrap_or(0)) } }
                            @if compared { td class="num" { (score(r.previous_iqs)) } td class="num" { (signed(r.change)) } }
                        } } }
                    } }
                }
                p { a href=(csv) { "Download this table as CSV" } }
            }
        },
    ))
}

/// Only dates reach the CSV link (they are typed by the user; the link must stay a plain query).
fn filter_value_ok(value: &str) -> bool {
    !value.is_empty() && value.chars().all(|c| c.is_ascii_digit() || c == '-' || c == 'T' || c == ':')
}

/// Horizontal bars of IQS per row, 0 to 100, with the band thresholds drawn as lines.
fn iqs_chart(rows: &[IqsRow], good: f64, excellent: f64) -> Markup {
    let rows: Vec<&IqsRow> = rows.iter().take(40).collect();
    let (label_w, bar_w, row_h) = (180.0, 420.0, 20.0);
    let height = row_h * rows.len() as f64 + 24.0;
    let x = |v: f64| label_w + bar_w * v.clamp(0.0, 100.0) / 100.0;
    html! {
        svg role="img" width=(label_w + bar_w + 50.0) height=(height) viewBox={ "0 0 " (label_w + bar_w + 50.0) " " (height) } class="dist" {
            title { "IQS per row, 0 to 100" }
            @for (i, r) in rows.iter().enumerate() {
                @let y = i as f64 * row_h;
                @let v = r.iqs.unwrap_or(0.0);
                @let colour = if v >= excellent { "#17673a" } else if v >= good { "#b08400" } else { "#a61b1b" };
                text x="0" y=(y + 14.0) { (truncate(&r.name, 26)) }
                rect x=(label_w) y=(y + 4.0) width=((x(v) - label_w).max(1.0)) height=(row_h - 7.0) fill=(colour) {}
                text x=(x(v) + 4.0) y=(y + 14.0) { (score(r.iqs)) }
            }
            @for (threshold, label) in [(good, "good"), (excellent, "excellent")] {
                line x1=(x(threshold)) x2=(x(threshold)) y1="0" y2=(height - 18.0) stroke="#5b6472" stroke-dasharray="3 3" {}
                text x=(x(threshold) - 10.0) y=(height - 4.0) { (label) }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Calibration Performance

#[derive(Deserialize)]
pub struct CalibrationQuery {
    from: Option<String>,
    to: Option<String>,
}

/// The Calibration Performance Report: the same function, permission and vendor scope as
/// `GET /api/v1/reports/calibration`, every table with its CSV from the API.
pub async fn calibration(
    State(state): State<AppState>,
    page: PageAuth,
    Query(q): Query<CalibrationQuery>,
) -> PageResult<Markup> {
    let viewer = &page.viewer;
    if !viewer.may(Permission::ReadReports) {
        return Err(PageError::NotFound);
    }
    let from_text = q.from.clone().unwrap_or_default();
    let to_text = q.to.clone().unwrap_or_default();
    let mut errors = Vec::new();
    let mut when = |label: &str, text: &str| match parse_datetime(text) {
        Ok(t) => t,
        Err(reason) => {
            errors.push(format!("{label}: {reason}"));
            None
        }
    };
    let (from, to) = (when("From", &from_text), when("Before", &to_text));
    let report = crate::report_views::calibration_report(&state, viewer, from, to).await?;
    let tolerance = state.store.get_workspace(viewer.workspace_id).await?.settings.tolerance_points;
    let mut dates = String::new();
    for (key, value) in [("from", &from_text), ("to", &to_text)] {
        if filter_value_ok(value) {
            dates.push_str(&format!("&{key}={value}"));
        }
    }
    let csv = |section: &str| format!("/api/v1/reports/calibration?format=csv&section={section}{dates}");
    let csv_link = |section: &str, what: &str| {
        html! { p class="small" { a href=(csv(section)) { "Download " (what) " as CSV" } } }
    };
    let scoped = viewer.vendor_scope().vendor().is_some();
    Ok(layout(
        &page,
        "Calibration performance",
        Nav::Reports,
        html! {
            h1 { "Calibration performance" }
            (report_tabs("calibration"))
            form method="get" action="/reports/calibration" class="actions" {
                div { label for="from" { "Sessions submitted from" } input type="date" id="from" name="from" value=(from_text); }
                div { label for="to" { "Submitted before" } input type="date" id="to" name="to" value=(to_text); }
                div { button type="submit" { "Show" } }
            }
            @if !errors.is_empty() { div class="error" role="alert" { ul { @for e in &errors { li { (e) } } } } }
            @if scoped { p class="notice" { "You see your own vendor's graders only." } }
            p class="muted small" {
                "Only submitted sessions count. Alignment: 1 − |participant − calibrated| ÷ maximum per criterion, weighted. "
                "Delta: participant score − calibrated score (positive is lenient). Within tolerance: |delta| ≤ "
                (tolerance) " points. Adjusted leniency allows for how hard each conversation was; its 95% interval decides the verdict."
            }
            section aria-labelledby="graders" {
                h2 id="graders" { "Graders" }
                @if report.graders.is_empty() { p class="muted" { "No submitted sessions in this period." } }
                @else {
                    div class="scroll" { table {
                        thead { tr {
                            th { "Grader" } th { "Vendor" } th class="num" { "Sessions attended" } th class="num" { "Never scored" }
                            th class="num" { "Mean alignment" } th class="num" { "Mean delta" }
                            th class="num" { "Adjusted leniency (95% interval)" } th { "Verdict" }
                            th class="num" { "Within tolerance" } th { "Trend" }
                        } }
                        tbody { @for g in &report.graders { tr {
                            td { (g.name) } td { (g.vendor_name) @if g.internal { " " span class="muted small" { "(internal)" } } }
                            td class="num" { (g.sessions_attended) }
                            td class={ "num" @if g.sessions_not_scored > 0 { " overdue" } } { (g.sessions_not_scored) }
                            td class="num" { (percent(g.mean_alignment)) }
                            td class="num" { (signed(g.mean_delta)) }
                            td class="num" { (signed(g.adjusted_delta)) @if let Some([low, high]) = g.adjusted_delta_ci95 { " " span class="muted small" { "[" (signed(Some(low))) ", " (signed(Some(high))) "]" } } }
                            td { span class={ "badge verdict-" (g.leniency_verdict) } { (verdict_text(&g.leniency_verdict)) } }
                            td class="num" { (percent(g.within_tolerance_rate)) }
                            td { (sparkline(&g.trend)) " " span class="muted small" { (trend_text(g.trend_slope)) } }
                        } } }
                    } }
                }
                (csv_link("graders", "the graders table"))
            }
            @if report.graders.iter().any(|g| !g.trend.is_empty()) {
                section aria-labelledby="trend" {
                    h2 id="trend" { "Alignment per session over time" }
                    p class="muted small" { "One chart per grader, on the same axes: alignment 0 to 100% by the date each session was submitted. The dashed line is 80%." }
                    (trend_charts(&report.graders))
                }
            }
            @if !scoped {
                section aria-labelledby="criteria" {
                    h2 id="criteria" { "Hardest criteria" }
                    p class="muted small" { "Lowest agreement with the calibrated answer first. Most contested: sessions in which it had the lowest agreement." }
                    @if report.criteria.is_empty() { p class="muted" { "No criteria yet." } }
                    @else { table {
                        thead { tr { th { "Criterion" } th class="num" { "Sessions" } th class="num" { "Agreement with calibrated" }
                            th class="num" { "Percent agreement" } th class="num" { "Mean spread" } th class="num" { "Most contested" } } }
                        tbody { @for c in &report.criteria { tr {
                            td { (c.title) } td class="num" { (c.sessions) }
                            td class="num" { (percent(c.mean_agreement_with_calibrated)) }
                            td class="num" { (percent(c.mean_percent_agreement)) }
                            td class="num" { (score(c.mean_spread)) }
                            td class="num" { (c.most_contested) }
                        } } }
                    } }
                    (csv_link("criteria", "the criteria table"))
                }
            }
            div class="grid2" {
                section aria-labelledby="versions" {
                    h2 id="versions" { "Per scorecard version" }
                    @if report.versions.is_empty() { p class="muted" { "No versions yet." } }
                    @else { table {
                        thead { tr { th { "Version" } th class="num" { "Sessions" } th class="num" { "Mean alignment" } th class="num" { "Within tolerance" } th class="num" { "Agreement with calibrated" } } }
                        tbody { @for v in &report.versions { tr {
                            td { (v.label) } td class="num" { (v.sessions) } td class="num" { (percent(v.mean_alignment)) }
                            td class="num" { (percent(v.within_tolerance_rate)) } td class="num" { (percent(v.mean_agreement_with_calibrated)) }
                        } } }
                    } }
                    (csv_link("versions", "the versions table"))
                }
                section aria-labelledby="vendors" {
                    h2 id="vendors" { "Internal graders and each vendor" }
                    @if report.vendors.is_empty() { p class="muted" { "No graders yet." } }
                    @else { table {
                        thead { tr { th { "Vendor" } th class="num" { "Graders" } th class="num" { "Mean alignment" } th class="num" { "Mean delta" } th class="num" { "Within tolerance" } } }
                        tbody { @for v in &report.vendors { tr {
                            td { (v.name) @if v.internal { " " span class="muted small" { "(internal)" } } }
                            td class="num" { (v.graders) } td class="num" { (percent(v.mean_alignment)) }
                            td class="num" { (signed(v.mean_delta)) } td class="num" { (percent(v.within_tolerance_rate)) }
                        } } }
                    } }
                    (csv_link("vendors", "the vendors table"))
                }
            }
            section aria-labelledby="sessions" {
                h2 id="sessions" { "Sessions" }
                @if report.sessions.is_empty() { p class="muted" { "No submitted sessions in this period." } }
                @else { table {
                    thead { tr { th { "Submitted" } th { "Session" } th class="num" { "Participants" } th class="num" { "Scored" }
                        th class="num" { "Mean alignment" } th class="num" { "Mean delta" } th class="num" { "Within tolerance" }
                        th { "Reliability (95% interval)" } } }
                    tbody { @for s in report.sessions.iter().rev() { tr {
                        td { (date(s.submitted_at)) }
                        // Only facilitators may open any session's report (a vendor lead would get 404).
                        td { @if viewer.may(Permission::Calibrate) { a href={ "/calibrations/" (s.session_id) "/report" } { (s.title) } } @else { (s.title) } }
                        td class="num" { (s.participants) } td class="num" { (s.scored) }
                        td class="num" { (percent(s.mean_alignment)) } td class="num" { (signed(s.mean_delta)) }
                        td class="num" { (percent(s.within_tolerance_rate)) }
                        td { @for r in &s.reliability {
                            div class="small" {
                                (if r.name == "krippendorff_alpha" { "α " } else { "AC1 " })
                                @match (r.value, r.ci95) {
                                    (Some(v), Some([low, high])) => { (format!("{v:.2} [{low:.2}, {high:.2}]")) }
                                    (Some(v), None) => { (format!("{v:.2}")) }
                                    _ => { span class="muted" title=(r.note) { "not enough data" } }
                                }
                            }
                        } }
                    } } }
                } }
                (csv_link("sessions", "the sessions table"))
            }
        },
    ))
}

/// The links between the reports.
pub(super) fn report_tabs(current: &str) -> Markup {
    html! {
        nav class="tabs" aria-label="Reports" {
            @for (key, href, label) in [
                ("iqs", "/reports/iqs", "IQS overview"),
                ("trend", "/reports/trend", "Trend"),
                ("vendors", "/reports/vendors", "BPO vendors"),
                ("csat", "/reports/csat", "IQS vs CSAT"),
                ("self-assessment", "/reports/self-assessment", "Self-assessment"),
                ("leaderboard", "/reports/leaderboard", "Leaderboard"),
                ("targets", "/reports/targets", "Targets"),
                ("calibration", "/reports/calibration", "Calibration performance"),
            ] {
                a href=(href) aria-current=[(key == current).then_some("page")] { (label) }
            }
        }
    }
}

/// A score delta with its sign: "+2.5", "−1.0".
fn signed(value: Option<f64>) -> String {
    match value {
        None => "–".into(),
        Some(v) if v > 0.0 => format!("+{v:.1}"),
        Some(v) if v < 0.0 => format!("−{:.1}", -v),
        Some(_) => "0.0".into(),
    }
}

fn verdict_text(verdict: &str) -> &'static str {
    match verdict {
        "lenient" => "lenient",
        "severe" => "strict",
        "in_line" => "in line",
        _ => "not enough data",
    }
}

fn trend_text(slope: Option<f64>) -> String {
    match slope {
        None => String::new(),
        Some(s) if s > 0.005 => format!("improving (+{:.0} pts/session)", s * 100.0),
        Some(s) if s < -0.005 => format!("slipping (−{:.0} pts/session)", -s * 100.0),
        Some(_) => "steady".into(),
    }
}

/// A grader's alignment per session as a tiny line, for the table.
fn sparkline(trend: &[TrendPoint]) -> Markup {
    let points: Vec<f64> = trend.iter().filter_map(|p| p.alignment).collect();
    let (w, h) = (80.0, 20.0);
    let step = if points.len() > 1 { w / (points.len() - 1) as f64 } else { 0.0 };
    let coords: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, a)| format!("{:.1},{:.1}", i as f64 * step, h - 2.0 - (h - 4.0) * a.clamp(0.0, 1.0)))
        .collect();
    let description = points.iter().map(|a| format!("{:.0}%", a * 100.0)).collect::<Vec<_>>().join(", ");
    html! {
        @if !points.is_empty() {
            svg class="spark" role="img" width=(w) height=(h) viewBox={ "-2 0 " (w + 4.0) " " (h) } {
                title { "Alignment per session: " (description) }
                @if points.len() > 1 { polyline points=(coords.join(" ")) fill="none" stroke="#1f3a5f" stroke-width="1.5" {} }
                @for c in &coords { @let (x, y) = c.split_once(',').unwrap_or(("0", "0")); circle cx=(x) cy=(y) r="2" fill="#1f3a5f" {} }
            }
        }
    }
}

/// Small multiples: one chart per grader with a shared time axis and 0..100% alignment.
fn trend_charts(graders: &[GraderLine]) -> Markup {
    let times: Vec<i64> = graders.iter().flat_map(|g| g.trend.iter().map(|p| p.at)).collect();
    let (start, end) = (times.iter().min().copied().unwrap_or(0), times.iter().max().copied().unwrap_or(0));
    let span = (end - start).max(1) as f64;
    let (w, h, left, bottom) = (240.0, 110.0, 34.0, 18.0);
    let plot_w = w - left - 8.0;
    let plot_h = h - bottom - 8.0;
    let x = |at: i64| if end == start { left + plot_w / 2.0 } else { left + plot_w * (at - start) as f64 / span };
    let y = |a: f64| 8.0 + plot_h * (1.0 - a.clamp(0.0, 1.0));
    html! {
        div class="multiples" {
            @for g in graders.iter().filter(|g| !g.trend.is_empty()) {
                @let points: Vec<(f64, f64, &TrendPoint)> = g.trend.iter().filter_map(|p| p.alignment.map(|a| (x(p.at), y(a), p))).collect();
                @let line = points.iter().map(|(px, py, _)| format!("{px:.1},{py:.1}")).collect::<Vec<_>>().join(" ");
                figure {
                    figcaption { (g.name) }
                    svg role="img" width=(w) height=(h) viewBox={ "0 0 " (w) " " (h) } class="trend" {
                        title { "Alignment of " (g.name) " per session: "
                            (points.iter().map(|(_, _, p)| format!("{} {}", date(p.at), percent(p.alignment))).collect::<Vec<_>>().join(", ")) }
                        @for (a, label) in [(0.0, "0%"), (0.5, "50%"), (1.0, "100%")] {
                            line x1=(left) x2=(left + plot_w) y1=(y(a)) y2=(y(a)) stroke="#dde1e7" {}
                            text x=(left - 4.0) y=(y(a) + 3.5) text-anchor="end" { (label) }
                        }
                        line x1=(left) x2=(left + plot_w) y1=(y(0.8)) y2=(y(0.8)) stroke="#5b6472" stroke-dasharray="3 3" {}
                        text x=(left) y=(h - 4.0) { (date(start)) }
                        @if end != start { text x=(left + plot_w) y=(h - 4.0) text-anchor="end" { (date(end)) } }
                        @if points.len() > 1 { polyline points=(line) fill="none" stroke="#1f3a5f" stroke-width="2" {} }
                        @for (px, py, p) in &points { circle cx=(px) cy=(py) r="3" fill="#1f3a5f" { title { (date(p.at)) ": " (percent(p.alignment)) } } }
                    }
                }
            }
        }
    }
}
