//! The scorecard builder: scorecards and their versions, a form that builds a version's groups
//! and criteria (scales from a preset or custom options with label, points, pass/fail and a
//! guideline each; weight, critical, N/A allowed), a readable diff between a version and the
//! one before it, and activation with the form-calibration warnings.
//!
//! The builder keeps its whole state in the form: "add a criterion", "use this preset" and the
//! like post the form back and re-render it, so it works with the keyboard and without script.
//! Definitions are parsed by the domain (`ScorecardDefinition::parse`), exactly as the API
//! does; reading is open to every signed-in user (as the API), changing needs ManageScorecards.

use super::ui::date;
use super::{Fields, Nav, PageError, PageResult, csrf_field, layout};
use crate::AppState;
use crate::calibration_views::form_calibration_warnings;
use crate::extract::PageAuth;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use plumbline_domain::access::Permission;
use plumbline_domain::scorecard::{
    CriterionInput, DefinitionInput, FieldError, GroupInput, Outcome, ScaleOption, ScalePreset, Scorecard,
    ScorecardDefinition, ScorecardVersion, VersionStatus,
};
use plumbline_domain::{ScorecardId, ScorecardVersionId};
use plumbline_store::StoreError;
use serde::Deserialize;

fn may_manage(page: &PageAuth) -> bool {
    page.viewer.may(Permission::ManageScorecards)
}

fn require_manager(page: &PageAuth) -> PageResult<()> {
    if may_manage(page) { Ok(()) } else { Err(PageError::NotFound) }
}

fn preset_name(preset: ScalePreset) -> &'static str {
    match preset {
        ScalePreset::Binary => "Yes / No (1 / 0)",
        ScalePreset::ThreePoint => "3-point (2 / 1 / 0)",
        ScalePreset::FourPoint => "4-point (3 / 2 / 1 / 0)",
        ScalePreset::FivePoint => "5-point (4 .. 0)",
        ScalePreset::OneToFive => "1 to 5 (5 .. 1)",
    }
}

fn preset_key(preset: ScalePreset) -> &'static str {
    match preset {
        ScalePreset::Binary => "binary",
        ScalePreset::ThreePoint => "three_point",
        ScalePreset::FourPoint => "four_point",
        ScalePreset::FivePoint => "five_point",
        ScalePreset::OneToFive => "one_to_five",
    }
}

fn points_text(points: f64) -> String {
    if points.fract() == 0.0 { format!("{points:.0}") } else { format!("{points}") }
}

// ---------------------------------------------------------------------------------------------
// Lists

pub async fn list(State(state): State<AppState>, page: PageAuth) -> PageResult<Markup> {
    let ws = page.viewer.workspace_id;
    let mut cards = Vec::new();
    for card in state.store.list_scorecards(ws).await? {
        let versions = state.store.list_versions(ws, card.id).await?;
        cards.push((card, versions));
    }
    Ok(layout(
        &page,
        "Scorecards",
        Nav::Scorecards,
        html! {
            div class="actions" style="justify-content:space-between" {
                h1 { "Scorecards" }
                @if may_manage(&page) { a class="button" href="/scorecards/new" { "New scorecard" } }
            }
            @if cards.is_empty() { section { p class="muted" { "No scorecards yet." } } }
            @for (card, versions) in &cards {
                section {
                    h2 { a href={ "/scorecards/" (card.id) } { (card.name) } }
                    @if !card.description.is_empty() { p class="muted" { (card.description) } }
                    (versions_table(card, versions))
                }
            }
        },
    ))
}

fn versions_table(card: &Scorecard, versions: &[ScorecardVersion]) -> Markup {
    html! {
        table {
            thead { tr { th { "Version" } th { "Status" } th { "Change" } th class="num" { "Criteria" } th { "Created" } th { "Activated" } } }
            tbody { @for v in versions.iter().rev() { tr {
                td { a href={ "/scorecards/" (card.id) "/versions/" (v.id) } { "version " (v.number) } }
                td { span class={ "badge version-" (v.status.as_str()) } { (v.status.as_str()) } }
                td { (v.change_kind.as_str()) }
                td class="num" { (v.definition.criteria.len()) }
                td { (date(v.created_at)) }
                td { (v.activated_at.map(date).unwrap_or_default()) }
            } } }
        }
    }
}

pub async fn scorecard(State(state): State<AppState>, page: PageAuth, Path(raw): Path<String>) -> PageResult<Markup> {
    let ws = page.viewer.workspace_id;
    let id: ScorecardId = raw.parse().map_err(|_| PageError::NotFound)?;
    let card = state.store.get_scorecard(ws, id).await?;
    let versions = state.store.list_versions(ws, id).await?;
    let newest = versions.last().map(|v| v.id);
    let has_draft = versions.iter().any(|v| v.status == VersionStatus::Draft);
    Ok(layout(
        &page,
        &card.name,
        Nav::Scorecards,
        html! {
            p class="small" { a href="/scorecards" { "Scorecards" } }
            h1 { (card.name) }
            @if !card.description.is_empty() { p { (card.description) } }
            section {
                (versions_table(&card, &versions))
                @if may_manage(&page) && !has_draft {
                    @if let Some(from) = newest {
                        p { a class="button" href={ "/scorecards/" (card.id) "/versions/new?from=" (from) } { "Start a new version" } }
                    }
                }
            }
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// One version: its content, the diff against the version before it, activation

async fn version_of(state: &AppState, page: &PageAuth, sc: &str, v: &str) -> PageResult<(Scorecard, ScorecardVersion)> {
    let ws = page.viewer.workspace_id;
    let sc: ScorecardId = sc.parse().map_err(|_| PageError::NotFound)?;
    let v: ScorecardVersionId = v.parse().map_err(|_| PageError::NotFound)?;
    let version = state.store.get_version(ws, v).await?;
    if version.scorecard_id != sc {
        return Err(PageError::NotFound);
    }
    Ok((state.store.get_scorecard(ws, sc).await?, version))
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn version(
    State(state): State<AppState>,
    page: PageAuth,
    Path((sc, v)): Path<(String, String)>,
    Query(q): Query<DoneQuery>,
) -> PageResult<Markup> {
    let (card, version) = version_of(&state, &page, &sc, &v).await?;
    let notice = match q.done.as_deref() {
        Some("saved") => Some("Draft saved."),
        Some("created") => Some("Draft created. Activate it when it is ready."),
        _ => None,
    };
    version_page(&state, &page, &card, &version, notice, &[]).await
}

async fn version_page(
    state: &AppState,
    page: &PageAuth,
    card: &Scorecard,
    version: &ScorecardVersion,
    notice: Option<&str>,
    warnings: &[String],
) -> PageResult<Markup> {
    let ws = page.viewer.workspace_id;
    let versions = state.store.list_versions(ws, card.id).await?;
    let previous = versions.iter().filter(|v| v.number < version.number).max_by_key(|v| v.number);
    let diff = previous.map(|p| diff(&p.definition, &version.definition));
    let base = format!("/scorecards/{}/versions/{}", card.id, version.id);
    let pending_warnings = if version.status == VersionStatus::Draft && may_manage(page) {
        form_calibration_warnings(state, ws, version.id).await?
    } else {
        Vec::new()
    };
    let has_draft = versions.iter().any(|v| v.status == VersionStatus::Draft);
    Ok(layout(
        page,
        &format!("{} version {}", card.name, version.number),
        Nav::Scorecards,
        html! {
            p class="small" { a href="/scorecards" { "Scorecards" } " › " a href={ "/scorecards/" (card.id) } { (card.name) } }
            h1 { (card.name) " · version " (version.number) }
            p { span class={ "badge version-" (version.status.as_str()) } { (version.status.as_str()) } " "
                span class="muted" { (version.change_kind.as_str()) " change · created " (date(version.created_at))
                    @if let Some(at) = version.activated_at { " · activated " (date(at)) } } }
            @if let Some(n) = notice { p class="notice" role="status" { (n) } }
            @if !warnings.is_empty() {
                div class="error" role="alert" { p { "Activated, with warnings:" } ul { @for w in warnings { li { (w) } } } }
            }
            @if may_manage(page) {
                div class="actions" {
                    @if version.status == VersionStatus::Draft {
                        a class="button secondary" href={ (base) "/edit" } { "Edit the draft" }
                        form method="post" action={ (base) "/activate" } {
                            (csrf_field(page))
                            button type="submit" { "Activate version " (version.number) }
                        }
                    } @else if !has_draft {
                        a class="button secondary" href={ "/scorecards/" (card.id) "/versions/new?from=" (version.id) } { "Start a new version from this one" }
                    }
                }
                @if !pending_warnings.is_empty() {
                    p class="muted small" { "Before you activate: " (pending_warnings.join("; ")) "." }
                }
            }
            @if let (Some(previous), Some(diff)) = (previous, &diff) {
                section aria-labelledby="diff" {
                    h2 id="diff" { "Changes since version " (previous.number) }
                    @if diff.is_empty() { p class="muted" { "No changes." } }
                    @else { ul class="diff" { @for line in diff { li class=(line.kind) { (line.text) } } } }
                }
            }
            (definition_view(&version.definition))
        },
    ))
}

fn definition_view(definition: &ScorecardDefinition) -> Markup {
    let ungrouped: Vec<_> = definition.criteria.iter().filter(|c| c.group_id.is_none()).collect();
    let sections: Vec<(Option<&plumbline_domain::scorecard::Group>, Vec<&plumbline_domain::scorecard::Criterion>)> =
        definition
            .groups
            .iter()
            .map(|g| (Some(g), definition.criteria.iter().filter(|c| c.group_id == Some(g.id)).collect()))
            .chain(std::iter::once((None, ungrouped)))
            .filter(|(_, cs): &(_, Vec<_>)| !cs.is_empty())
            .collect();
    html! {
        @for (group, criteria) in &sections {
            section {
                @if let Some(g) = group { h2 { (g.title) @if g.critical { " " span class="badge critical" { "critical group" } } } }
                @else if !definition.groups.is_empty() { h2 { "Not in a group" } }
                @for c in criteria {
                    h3 { (c.title) " " span class="muted small" { "weight " (points_text(c.weight)) @if c.na_allowed { " · N/A allowed" } }
                        @if c.critical { " " span class="badge critical" { "critical" } } }
                    @if !c.description.is_empty() { p { (c.description) } }
                    table class="options" {
                        thead { tr { th { "Option" } th class="num" { "Points" } th { "Outcome" } th { "What it means" } } }
                        tbody { @for o in &c.scale.options { tr {
                            td { (o.label) } td class="num" { (points_text(o.points)) }
                            td { (outcome_text(o.outcome)) } td { (o.guideline) }
                        } } }
                    }
                    @if !c.guidelines.is_empty() { p class="small" { strong { "Guidelines: " } span class="pre" { (c.guidelines) } } }
                }
            }
        }
    }
}

fn outcome_text(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
    }
}

struct DiffLine {
    kind: &'static str,
    text: String,
}

fn scale_text(options: &[ScaleOption]) -> String {
    options
        .iter()
        .map(|o| format!("{} {} {}", o.label, points_text(o.points), outcome_text(o.outcome)))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// What changed from `old` to `new`, in words: criteria and groups matched by id (a new version
/// keeps the ids of what it carries over).
fn diff(old: &ScorecardDefinition, new: &ScorecardDefinition) -> Vec<DiffLine> {
    let mut out = Vec::new();
    let mut line = |kind: &'static str, text: String| out.push(DiffLine { kind, text });
    let group_title = |d: &ScorecardDefinition, id: Option<plumbline_domain::GroupId>| {
        id.and_then(|id| d.group(id)).map(|g| g.title.clone()).unwrap_or_else(|| "no group".into())
    };
    for g in &new.groups {
        match old.group(g.id) {
            None => line("added", format!("Group “{}” added", g.title)),
            Some(o) => {
                if o.title != g.title {
                    line("changed", format!("Group “{}” renamed to “{}”", o.title, g.title));
                }
                if o.critical != g.critical {
                    line(
                        "changed",
                        format!("Group “{}” is {} critical", g.title, if g.critical { "now" } else { "no longer" }),
                    );
                }
            }
        }
    }
    for g in old.groups.iter().filter(|g| new.group(g.id).is_none()) {
        line("removed", format!("Group “{}” removed", g.title));
    }
    for c in &new.criteria {
        let Some(o) = old.criterion(c.id) else {
            line(
                "added",
                format!(
                    "Criterion “{}” added (weight {}, {})",
                    c.title,
                    points_text(c.weight),
                    scale_text(&c.scale.options)
                ),
            );
            continue;
        };
        let name = &c.title;
        if o.title != c.title {
            line("changed", format!("Criterion “{}” renamed to “{}”", o.title, c.title));
        }
        if o.weight != c.weight {
            line("changed", format!("“{name}”: weight {} → {}", points_text(o.weight), points_text(c.weight)));
        }
        if o.critical != c.critical {
            line("changed", format!("“{name}” is {} critical", if c.critical { "now" } else { "no longer" }));
        }
        if o.na_allowed != c.na_allowed {
            line(
                "changed",
                format!("“{name}”: N/A {}", if c.na_allowed { "now allowed" } else { "no longer allowed" }),
            );
        }
        if group_title(old, o.group_id) != group_title(new, c.group_id) {
            line(
                "changed",
                format!("“{name}” moved from {} to {}", group_title(old, o.group_id), group_title(new, c.group_id)),
            );
        }
        let (old_scale, new_scale) = (scale_text(&o.scale.options), scale_text(&c.scale.options));
        if old_scale != new_scale {
            line("changed", format!("“{name}”: scale {old_scale} → {new_scale}"));
        }
        let old_guides: Vec<&str> = o.scale.options.iter().map(|x| x.guideline.as_str()).collect();
        let new_guides: Vec<&str> = c.scale.options.iter().map(|x| x.guideline.as_str()).collect();
        if old_guides != new_guides {
            line("wording", format!("“{name}”: option guidelines reworded"));
        }
        if o.description != c.description {
            line("wording", format!("“{name}”: description reworded"));
        }
        if o.guidelines != c.guidelines {
            line("wording", format!("“{name}”: guidelines reworded"));
        }
    }
    for c in old.criteria.iter().filter(|c| new.criterion(c.id).is_none()) {
        line("removed", format!("Criterion “{}” removed", c.title));
    }
    out
}

pub async fn activate(
    State(state): State<AppState>,
    page: PageAuth,
    Path((sc, v)): Path<(String, String)>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    Fields::checked(&page, form)?;
    require_manager(&page)?;
    let (card, version) = version_of(&state, &page, &sc, &v).await?;
    let ws = page.viewer.workspace_id;
    let warnings = form_calibration_warnings(&state, ws, version.id).await?;
    let version = state.store.activate_version(ws, version.id).await?;
    let notice = format!("Version {} is active; the version before it is retired.", version.number);
    Ok(version_page(&state, &page, &card, &version, Some(&notice), &warnings).await?.into_response())
}

// ---------------------------------------------------------------------------------------------
// The builder

#[derive(Clone, Default)]
struct GroupRow {
    id: String,
    title: String,
    critical: bool,
}

#[derive(Clone, Default)]
struct OptionRow {
    label: String,
    points: String,
    outcome: String,
    guideline: String,
}

#[derive(Clone, Default)]
struct CriterionRow {
    id: String,
    title: String,
    description: String,
    group: String,
    weight: String,
    na_allowed: bool,
    critical: bool,
    guidelines: String,
    options: Vec<OptionRow>,
}

/// The builder's whole state, as typed.
#[derive(Clone, Default)]
struct Builder {
    name: String,
    description: String,
    groups: Vec<GroupRow>,
    criteria: Vec<CriterionRow>,
}

fn option_rows(options: &[ScaleOption]) -> Vec<OptionRow> {
    options
        .iter()
        .map(|o| OptionRow {
            label: o.label.clone(),
            points: points_text(o.points),
            outcome: outcome_text(o.outcome).into(),
            guideline: o.guideline.clone(),
        })
        .collect()
}

fn new_criterion() -> CriterionRow {
    CriterionRow {
        weight: "1".into(),
        options: option_rows(&ScalePreset::Binary.scale().options),
        ..Default::default()
    }
}

impl Builder {
    fn of(definition: &ScorecardDefinition) -> Builder {
        let group_index = |id| definition.groups.iter().position(|g| g.id == id).map(|i| i.to_string());
        Builder {
            name: String::new(),
            description: String::new(),
            groups: definition
                .groups
                .iter()
                .map(|g| GroupRow { id: g.id.to_string(), title: g.title.clone(), critical: g.critical })
                .collect(),
            criteria: definition
                .criteria
                .iter()
                .map(|c| CriterionRow {
                    id: c.id.to_string(),
                    title: c.title.clone(),
                    description: c.description.clone(),
                    group: c.group_id.and_then(group_index).unwrap_or_default(),
                    weight: points_text(c.weight),
                    na_allowed: c.na_allowed,
                    critical: c.critical,
                    guidelines: c.guidelines.clone(),
                    options: option_rows(&c.scale.options),
                })
                .collect(),
        }
    }

    /// Reads the form. Rows marked for removal are dropped here, and the group choices renumbered.
    fn typed(fields: &Fields) -> Builder {
        let count = |prefix: &str| {
            fields
                .0
                .iter()
                .filter_map(|(k, _)| k.strip_prefix(prefix)?.split('.').next()?.parse::<usize>().ok())
                .max()
                .map_or(0, |m| m + 1)
        };
        let mut kept_groups = Vec::new();
        let mut renumber = std::collections::HashMap::new();
        for i in 0..count("g.") {
            let at = |f: &str| format!("g.{i}.{f}");
            if fields.get(&at("remove")).is_some() || fields.get(&at("title")).is_none() {
                continue;
            }
            renumber.insert(i.to_string(), kept_groups.len().to_string());
            kept_groups.push(GroupRow {
                id: fields.text(&at("id")),
                title: fields.text(&at("title")),
                critical: fields.get(&at("critical")).is_some(),
            });
        }
        let mut criteria = Vec::new();
        for i in 0..count("c.") {
            let at = |f: &str| format!("c.{i}.{f}");
            if fields.get(&at("remove")).is_some() || fields.get(&at("title")).is_none() {
                continue;
            }
            let mut options = Vec::new();
            for j in 0..count(&format!("c.{i}.o.")) {
                let o = |f: &str| fields.text(&format!("c.{i}.o.{j}.{f}"));
                let row = OptionRow {
                    label: o("label"),
                    points: o("points"),
                    outcome: o("outcome"),
                    guideline: o("guideline"),
                };
                if fields.get(&format!("c.{i}.o.{j}.remove")).is_none() {
                    options.push(row);
                }
            }
            criteria.push(CriterionRow {
                id: fields.text(&at("id")),
                title: fields.text(&at("title")),
                description: fields.text(&at("description")),
                group: renumber.get(&fields.text(&at("group"))).cloned().unwrap_or_default(),
                weight: fields.text(&at("weight")),
                na_allowed: fields.get(&at("na_allowed")).is_some(),
                critical: fields.get(&at("critical")).is_some(),
                guidelines: fields.text(&at("guidelines")),
                options,
            });
        }
        Builder { name: fields.text("name"), description: fields.text("description"), groups: kept_groups, criteria }
    }

    /// The domain's input; what cannot even be read (a weight that is not a number...) is
    /// reported with the same field paths the domain uses.
    fn input(&self) -> (DefinitionInput, Vec<FieldError>) {
        let mut errors = Vec::new();
        let groups = self
            .groups
            .iter()
            .map(|g| GroupInput { id: g.id.parse().ok(), title: g.title.clone(), critical: g.critical })
            .collect();
        let criteria = self
            .criteria
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let weight = match c.weight.trim() {
                    "" => None,
                    w => w
                        .parse::<f64>()
                        .map_err(|_| errors.push(FieldError::new(format!("criteria[{i}].weight"), "must be a number")))
                        .ok(),
                };
                let options = c
                    .options
                    .iter()
                    .filter(|o| {
                        !(o.label.trim().is_empty() && o.points.trim().is_empty() && o.guideline.trim().is_empty())
                    })
                    .enumerate()
                    .map(|(j, o)| {
                        let points = o.points.trim().parse::<f64>().unwrap_or_else(|_| {
                            errors.push(FieldError::new(
                                format!("criteria[{i}].options[{j}].points"),
                                "must be a number",
                            ));
                            0.0
                        });
                        ScaleOption {
                            label: o.label.trim().to_string(),
                            points,
                            outcome: if o.outcome == "fail" { Outcome::Fail } else { Outcome::Pass },
                            guideline: o.guideline.clone(),
                        }
                    })
                    .collect();
                CriterionInput {
                    id: c.id.parse().ok(),
                    group: c.group.parse().ok(),
                    title: c.title.clone(),
                    description: c.description.clone(),
                    weight,
                    preset: None,
                    options: Some(options),
                    na_allowed: c.na_allowed,
                    critical: c.critical,
                    guidelines: c.guidelines.clone(),
                }
            })
            .collect();
        (DefinitionInput { groups, criteria }, errors)
    }
}

/// Where the builder posts, and what it makes.
enum Target {
    NewScorecard,
    NewVersion(Scorecard),
    Draft(Scorecard, ScorecardVersion),
}

impl Target {
    fn action(&self) -> String {
        match self {
            Target::NewScorecard => "/scorecards".into(),
            Target::NewVersion(card) => format!("/scorecards/{}/versions", card.id),
            Target::Draft(card, v) => format!("/scorecards/{}/versions/{}/edit", card.id, v.id),
        }
    }
    fn title(&self) -> String {
        match self {
            Target::NewScorecard => "New scorecard".into(),
            Target::NewVersion(card) => format!("{}: new version", card.name),
            Target::Draft(card, v) => format!("{}: draft version {}", card.name, v.number),
        }
    }
}

/// Says where a domain error is, in words: "Criterion 2 (Tone): options[1].points: must be ...".
fn describe(builder: &Builder, e: &FieldError) -> String {
    let field = e.field.trim_start_matches("definition.");
    let indexed = |prefix: &str| -> Option<(usize, &str)> {
        let rest = field.strip_prefix(prefix)?;
        let (n, rest) = rest.split_once(']')?;
        Some((n.parse().ok()?, rest.trim_start_matches('.')))
    };
    if let Some((i, rest)) = indexed("criteria[") {
        let title = builder.criteria.get(i).map(|c| c.title.trim()).filter(|t| !t.is_empty()).unwrap_or("untitled");
        return format!("Criterion {} ({title}), {}: {}", i + 1, rest.replace("options", "option"), e.reason);
    }
    if let Some((i, rest)) = indexed("groups[") {
        return format!("Group {}, {rest}: {}", i + 1, e.reason);
    }
    format!("{}: {}", field, e.reason)
}

fn builder_page(
    page: &PageAuth,
    target: &Target,
    builder: &Builder,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Markup {
    let with_name = matches!(target, Target::NewScorecard);
    html! {
        p class="small" { a href="/scorecards" { "Scorecards" } }
        h1 { (target.title()) }
        @if let Some(n) = notice { p class="notice" role="status" { (n) } }
        @if !errors.is_empty() {
            div class="error" role="alert" { p { "Nothing was saved. Please check:" } ul { @for e in errors { li { (describe(builder, e)) } } } }
        }
        p class="muted small" { "Nothing is saved until you press Save. The buttons that add rows or apply a preset keep everything you typed." }
        form method="post" action=(target.action()) class="builder" {
            (csrf_field(page))
            @if with_name {
                section {
                    label for="name" { "Name" }
                    input id="name" name="name" type="text" required maxlength="200" value=(builder.name);
                    label for="description" { "Description" }
                    textarea id="description" name="description" rows="2" { (builder.description) }
                }
            }
            section aria-labelledby="groups-title" {
                h2 id="groups-title" { "Groups (sections)" }
                @if builder.groups.is_empty() { p class="muted small" { "No groups: every criterion stands on its own." } }
                @for (i, g) in builder.groups.iter().enumerate() {
                    div class="actions" {
                        input type="hidden" name={ "g." (i) ".id" } value=(g.id);
                        label for={ "g." (i) ".title" } class="inline" { "Group " (i + 1) " title" }
                        input type="text" id={ "g." (i) ".title" } name={ "g." (i) ".title" } value=(g.title) style="max-width:20rem";
                        input type="checkbox" id={ "g." (i) ".critical" } name={ "g." (i) ".critical" } value="1" checked[g.critical];
                        label for={ "g." (i) ".critical" } class="inline" { "critical group" }
                        input type="checkbox" id={ "g." (i) ".remove" } name={ "g." (i) ".remove" } value="1";
                        label for={ "g." (i) ".remove" } class="inline" { "remove" }
                    }
                }
                button type="submit" name="action" value="add_group" class="secondary small" { "Add a group" }
            }
            @for (i, c) in builder.criteria.iter().enumerate() {
                @let id = |f: &str| format!("c.{i}.{f}");
                fieldset class="criterion" {
                    legend { "Criterion " (i + 1) }
                    input type="hidden" name=(id("id")) value=(c.id);
                    div class="grid2" {
                        div {
                            label for=(id("title")) { "Title of criterion " (i + 1) }
                            input type="text" id=(id("title")) name=(id("title")) value=(c.title) maxlength="10000";
                        }
                        div class="actions" {
                            div { label for=(id("weight")) { "Weight" }
                                input type="number" id=(id("weight")) name=(id("weight")) value=(c.weight) step="any" min="0"; }
                            div { label for=(id("group")) { "Group" }
                                select id=(id("group")) name=(id("group")) style="max-width:14rem" {
                                    option value="" { "none" }
                                    @for (gi, g) in builder.groups.iter().enumerate() {
                                        option value=(gi) selected[c.group == gi.to_string()] { (if g.title.is_empty() { format!("Group {}", gi + 1) } else { g.title.clone() }) }
                                    }
                                } }
                        }
                    }
                    label for=(id("description")) { "Description" }
                    textarea id=(id("description")) name=(id("description")) rows="1" { (c.description) }
                    div class="actions" {
                        input type="checkbox" id=(id("critical")) name=(id("critical")) value="1" checked[c.critical];
                        label for=(id("critical")) class="inline" { "Critical (a fail answer fails the evaluation)" }
                        input type="checkbox" id=(id("na_allowed")) name=(id("na_allowed")) value="1" checked[c.na_allowed];
                        label for=(id("na_allowed")) class="inline" { "N/A allowed" }
                    }
                    table class="options" {
                        caption class="small muted" { "Scale of criterion " (i + 1) ": best option first" }
                        thead { tr { th { "Label" } th { "Points" } th { "Outcome" } th { "What it means (guideline)" } th { "Remove" } } }
                        tbody { @for (j, o) in c.options.iter().enumerate() {
                            @let oid = |f: &str| format!("c.{i}.o.{j}.{f}");
                            tr {
                                td { label class="skip" for=(oid("label")) { "Option " (j + 1) " label of criterion " (i + 1) }
                                    input type="text" id=(oid("label")) name=(oid("label")) value=(o.label) style="max-width:10rem"; }
                                td { label class="skip" for=(oid("points")) { "Option " (j + 1) " points of criterion " (i + 1) }
                                    input type="number" id=(oid("points")) name=(oid("points")) value=(o.points) step="any" min="0"; }
                                td { label class="skip" for=(oid("outcome")) { "Option " (j + 1) " outcome of criterion " (i + 1) }
                                    select id=(oid("outcome")) name=(oid("outcome")) style="max-width:7rem" {
                                        option value="pass" selected[o.outcome != "fail"] { "pass" }
                                        option value="fail" selected[o.outcome == "fail"] { "fail" } } }
                                td { label class="skip" for=(oid("guideline")) { "Option " (j + 1) " guideline of criterion " (i + 1) }
                                    input type="text" id=(oid("guideline")) name=(oid("guideline")) value=(o.guideline) style="max-width:none"; }
                                td { label class="skip" for=(oid("remove")) { "Remove option " (j + 1) " of criterion " (i + 1) }
                                    input type="checkbox" id=(oid("remove")) name=(oid("remove")) value="1"; }
                            }
                        } }
                    }
                    div class="actions" {
                        button type="submit" name="action" value={ "add_option:" (i) } class="secondary small" { "Add an option" }
                        label for=(id("preset")) class="inline" { "Preset for criterion " (i + 1) }
                        select id=(id("preset")) name=(id("preset")) style="max-width:14rem" {
                            @for p in ScalePreset::ALL { option value=(preset_key(p)) { (preset_name(p)) } }
                        }
                        button type="submit" name="action" value={ "preset:" (i) } class="secondary small" { "Use this preset" }
                    }
                    label for=(id("guidelines")) { "Guidelines" }
                    textarea id=(id("guidelines")) name=(id("guidelines")) rows="2" { (c.guidelines) }
                    div class="choice" {
                        input type="checkbox" id=(id("remove")) name=(id("remove")) value="1";
                        label for=(id("remove")) { "Remove criterion " (i + 1) " when saving" }
                    }
                }
            }
            div class="sticky-actions actions" {
                button type="submit" name="action" value="add_criterion" class="secondary" { "Add a criterion" }
                button type="submit" name="action" value="save" { "Save" }
            }
        }
    }
}

fn render(page: &PageAuth, target: &Target, builder: &Builder, errors: &[FieldError], notice: Option<&str>) -> Markup {
    layout(page, &target.title(), Nav::Scorecards, builder_page(page, target, builder, errors, notice))
}

pub async fn new_scorecard(page: PageAuth) -> PageResult<Markup> {
    require_manager(&page)?;
    let builder = Builder { criteria: vec![new_criterion()], ..Default::default() };
    Ok(render(&page, &Target::NewScorecard, &builder, &[], None))
}

#[derive(Deserialize)]
pub struct FromQuery {
    from: Option<String>,
}

pub async fn new_version(
    State(state): State<AppState>,
    page: PageAuth,
    Path(sc): Path<String>,
    Query(q): Query<FromQuery>,
) -> PageResult<Markup> {
    require_manager(&page)?;
    let ws = page.viewer.workspace_id;
    let card = state.store.get_scorecard(ws, sc.parse().map_err(|_| PageError::NotFound)?).await?;
    let versions = state.store.list_versions(ws, card.id).await?;
    let from = q
        .from
        .and_then(|f| f.parse::<ScorecardVersionId>().ok())
        .and_then(|f| versions.iter().find(|v| v.id == f))
        .or(versions.last());
    let builder = from.map(|v| Builder::of(&v.definition)).unwrap_or_default();
    Ok(render(&page, &Target::NewVersion(card), &builder, &[], None))
}

pub async fn edit_draft(
    State(state): State<AppState>,
    page: PageAuth,
    Path((sc, v)): Path<(String, String)>,
) -> PageResult<Markup> {
    require_manager(&page)?;
    let (card, version) = version_of(&state, &page, &sc, &v).await?;
    if version.status != VersionStatus::Draft {
        return Err(PageError::NotFound);
    }
    let builder = Builder::of(&version.definition);
    Ok(render(&page, &Target::Draft(card, version), &builder, &[], None))
}

/// Handles the builder's buttons: add a row, apply a preset, or save through the store.
async fn handle(state: &AppState, page: &PageAuth, target: Target, fields: Fields) -> PageResult<Response> {
    let mut builder = Builder::typed(&fields);
    let action = fields.text("action");
    let rerender = |builder: &Builder, target: &Target| Ok(render(page, target, builder, &[], None).into_response());
    if action == "add_criterion" {
        builder.criteria.push(new_criterion());
        return rerender(&builder, &target);
    }
    if action == "add_group" {
        builder.groups.push(GroupRow::default());
        return rerender(&builder, &target);
    }
    if let Some(i) = action.strip_prefix("add_option:").and_then(|i| i.parse::<usize>().ok()) {
        if let Some(c) = builder.criteria.get_mut(i) {
            c.options.push(OptionRow { outcome: "pass".into(), ..Default::default() });
        }
        return rerender(&builder, &target);
    }
    if let Some(i) = action.strip_prefix("preset:").and_then(|i| i.parse::<usize>().ok()) {
        let chosen = fields.text(&format!("c.{i}.preset"));
        if let (Some(c), Some(p)) =
            (builder.criteria.get_mut(i), ScalePreset::ALL.into_iter().find(|p| preset_key(*p) == chosen))
        {
            c.options = option_rows(&p.scale().options);
        }
        return rerender(&builder, &target);
    }
    let (input, mut errors) = builder.input();
    let mut name_error = Vec::new();
    if matches!(target, Target::NewScorecard) {
        let n = builder.name.trim().chars().count();
        if n == 0 || n > 200 {
            name_error.push(FieldError::new("name", "the name must be 1 to 200 characters"));
        }
        if builder.description.chars().count() > 10_000 {
            name_error.push(FieldError::new("description", "the description must be at most 10000 characters"));
        }
    }
    let definition = match ScorecardDefinition::parse(input) {
        Ok(d) if errors.is_empty() && name_error.is_empty() => d,
        Ok(_) => {
            errors.extend(name_error);
            return refused(page, &target, &builder, errors);
        }
        Err(parse_errors) => {
            errors.extend(name_error);
            errors.extend(parse_errors);
            return refused(page, &target, &builder, errors);
        }
    };
    let ws = page.viewer.workspace_id;
    let saved = match &target {
        Target::NewScorecard => state
            .store
            .create_scorecard(ws, &builder.name, &builder.description, &definition)
            .await
            .map(|(card, v)| (card.id, v.id, "created")),
        Target::NewVersion(card) => {
            state.store.create_version(ws, card.id, &definition).await.map(|v| (card.id, v.id, "created"))
        }
        Target::Draft(card, v) => {
            state.store.update_draft_version(ws, v.id, &definition).await.map(|v| (card.id, v.id, "saved"))
        }
    };
    match saved {
        Ok((card, version, done)) => {
            Ok(Redirect::to(&format!("/scorecards/{card}/versions/{version}?done={done}")).into_response())
        }
        Err(StoreError::Invalid(errors)) => refused(page, &target, &builder, errors),
        Err(StoreError::Conflict(why)) | Err(StoreError::Duplicate(why)) => {
            refused(page, &target, &builder, vec![FieldError::new("scorecard", why)])
        }
        Err(e) => Err(e.into()),
    }
}

fn refused(page: &PageAuth, target: &Target, builder: &Builder, errors: Vec<FieldError>) -> PageResult<Response> {
    Ok((StatusCode::UNPROCESSABLE_ENTITY, render(page, target, builder, &errors, None)).into_response())
}

pub async fn create_scorecard(
    State(state): State<AppState>,
    page: PageAuth,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    require_manager(&page)?;
    handle(&state, &page, Target::NewScorecard, fields).await
}

pub async fn create_version(
    State(state): State<AppState>,
    page: PageAuth,
    Path(sc): Path<String>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    require_manager(&page)?;
    let card =
        state.store.get_scorecard(page.viewer.workspace_id, sc.parse().map_err(|_| PageError::NotFound)?).await?;
    handle(&state, &page, Target::NewVersion(card), fields).await
}

pub async fn save_draft(
    State(state): State<AppState>,
    page: PageAuth,
    Path((sc, v)): Path<(String, String)>,
    form: Form<Vec<(String, String)>>,
) -> PageResult<Response> {
    let fields = Fields::checked(&page, form)?;
    require_manager(&page)?;
    let (card, version) = version_of(&state, &page, &sc, &v).await?;
    handle(&state, &page, Target::Draft(card, version), fields).await
}
