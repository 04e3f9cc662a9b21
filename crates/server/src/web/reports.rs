//! Reports: the IQS overview by vendor, team or agent, as a table with its band and an SVG bar
//! chart, and a link to the same rows as CSV from the JSON API. The same permission and vendor
//! scope as `GET /api/v1/reports/iqs`.

use super::home::band_class;
use super::ui::{parse_datetime, score, truncate};
use super::{Nav, PageError, PageResult, layout};
use crate::AppState;
use crate::extract::PageAuth;
use axum::extract::{Query, State};
use maud::{Markup, html};
use plumbline_domain::access::Permission;
use plumbline_store::{IqsFilter, IqsGrouping, IqsRow};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct IqsQuery {
    group_by: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

pub async fn iqs(State(state): State<AppState>, page: PageAuth, Query(q): Query<IqsQuery>) -> PageResult<Markup> {
    let viewer = &page.viewer;
    if !viewer.may(Permission::ReadReports) {
        return Err(PageError::Forbidden("your role does not read reports".into()));
    }
    let (grouping, group_name) = match q.group_by.as_deref() {
        Some("team") => (IqsGrouping::Team, "team"),
        Some("agent") => (IqsGrouping::Agent, "agent"),
        _ => (IqsGrouping::Vendor, "vendor"),
    };
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
    let filter = IqsFilter { vendor_id: None, team_id: None, from: when("From", &from_text), to: when("To", &to_text) };
    let settings = state.store.get_workspace(viewer.workspace_id).await?.settings;
    let mut rows =
        state.store.iqs_report(viewer.workspace_id, viewer.vendor_scope(), grouping, &filter, &settings.bands).await?;
    rows.sort_by(|a, b| b.iqs.partial_cmp(&a.iqs).unwrap_or(std::cmp::Ordering::Equal));
    let mut csv = format!("/api/v1/reports/iqs?group_by={group_name}&format=csv");
    for (key, value) in [("from", &from_text), ("to", &to_text)] {
        if filter_value_ok(value) {
            csv.push_str(&format!("&{key}={value}"));
        }
    }
    Ok(layout(
        &page,
        "IQS overview",
        Nav::Reports,
        html! {
            h1 { "IQS overview" }
            form method="get" action="/reports/iqs" class="actions" {
                div { label for="group_by" { "Group by" }
                    select id="group_by" name="group_by" {
                        @for g in ["vendor", "team", "agent"] { option value=(g) selected[g == group_name] { (g) } } } }
                div { label for="from" { "Submitted from" } input type="date" id="from" name="from" value=(from_text); }
                div { label for="to" { "Submitted before" } input type="date" id="to" name="to" value=(to_text); }
                div { button type="submit" { "Show" } }
            }
            @if !errors.is_empty() { div class="error" role="alert" { ul { @for e in &errors { li { (e) } } } } }
            section {
                p class="muted small" {
                    "IQS = 100 × Σ earned / Σ possible over submitted reviews and published calibrated results. Bands: excellent from "
                    (settings.bands.excellent) ", good from " (settings.bands.good) "."
                }
                @if rows.is_empty() { p class="muted" { "No submitted reviews in this period." } }
                @else {
                    (iqs_chart(&rows, settings.bands.good, settings.bands.excellent))
                    table {
                        thead { tr { th { (group_name) } th class="num" { "Reviews" } th class="num" { "IQS" } th class="num" { "Mean score" } th { "Band" } } }
                        tbody { @for r in &rows { tr {
                            td { (r.name) } td class="num" { (r.evaluations) }
                            td class={ "num " (r.band.map(band_class).unwrap_or("")) } { (score(r.iqs)) }
                            td class="num" { (score(r.mean_score)) }
                            td class=(r.band.map(band_class).unwrap_or("")) { (r.band.map(band_class).unwrap_or("").trim_start_matches("band-").replace('_', " ")) }
                        } } }
                    }
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
