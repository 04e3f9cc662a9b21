//! Scorecards with immutable versions, their groups, criteria and scales (DESIGN §2).
//!
//! A version's content is a [`ScorecardDefinition`]; it is parsed from user input once, with
//! [`ScorecardDefinition::parse`], which names the field of every problem. Criterion and group ids
//! are kept across versions when a criterion carries its id forward, so reports can follow a
//! criterion through revisions.

use crate::{CriterionId, GroupId, Millis, ScorecardId, ScorecardVersionId};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scorecard {
    pub id: ScorecardId,
    pub name: String,
    pub description: String,
    pub created_at: Millis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VersionStatus {
    Draft,
    Active,
    Retired,
}

impl VersionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Draft => "draft",
            VersionStatus::Active => "active",
            VersionStatus::Retired => "retired",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(Self::Draft),
            "active" => Some(Self::Active),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }
}

/// How a version differs from the one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The first version of a scorecard.
    Initial,
    /// Wording, guidelines: graders need not recalibrate.
    Minor,
    /// Criteria, scales or weights changed: calibration is due.
    Major,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Initial => "initial",
            ChangeKind::Minor => "minor",
            ChangeKind::Major => "major",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "initial" => Some(Self::Initial),
            "minor" => Some(Self::Minor),
            "major" => Some(Self::Major),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScorecardVersion {
    pub id: ScorecardVersionId,
    pub scorecard_id: ScorecardId,
    /// 1, 2, 3... within the scorecard.
    pub number: i64,
    pub status: VersionStatus,
    pub change_kind: ChangeKind,
    pub definition: ScorecardDefinition,
    pub created_at: Millis,
    pub activated_at: Option<Millis>,
}

/// The content of one scorecard version: sections (groups) and line items (criteria).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScorecardDefinition {
    pub groups: Vec<Group>,
    pub criteria: Vec<Criterion>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Group {
    pub id: GroupId,
    pub title: String,
    /// A failed answer inside a critical group sets that group's criteria to 0.
    pub critical: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Criterion {
    pub id: CriterionId,
    pub group_id: Option<GroupId>,
    pub title: String,
    pub description: String,
    pub weight: f64,
    pub scale: Scale,
    pub na_allowed: bool,
    /// Auto-fail: a fail outcome on this criterion fails the evaluation.
    pub critical: bool,
    pub guidelines: String,
}

impl Criterion {
    /// The largest points value of the scale (DESIGN §2).
    pub fn max_points(&self) -> f64 {
        self.scale.max_points()
    }
}

/// An ordered list of options, best first as the presets list them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scale {
    pub options: Vec<ScaleOption>,
}

impl Scale {
    pub fn max_points(&self) -> f64 {
        self.options.iter().map(|o| o.points).fold(0.0, f64::max)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScaleOption {
    pub label: String,
    pub points: f64,
    pub outcome: Outcome,
    /// What this option means ("what a 4 means").
    #[serde(default)]
    pub guideline: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
}

/// The scale presets of DESIGN §2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScalePreset {
    /// Yes (1) / No (0).
    Binary,
    /// 2 / 1 / 0.
    ThreePoint,
    /// 3 / 2 / 1 / 0.
    FourPoint,
    /// 4 / 3 / 2 / 1 / 0, Zendesk QA style.
    FivePoint,
    /// 5 .. 1, the IQS guide's style.
    OneToFive,
}

impl ScalePreset {
    pub const ALL: [ScalePreset; 5] = [
        ScalePreset::Binary,
        ScalePreset::ThreePoint,
        ScalePreset::FourPoint,
        ScalePreset::FivePoint,
        ScalePreset::OneToFive,
    ];

    /// The preset's options, best first. The lowest option fails; on the multi-point scales the
    /// lower half fails too, so that a critical criterion auto-fails on a poor answer.
    pub fn scale(self) -> Scale {
        let opt = |label: &str, points: f64, outcome: Outcome| ScaleOption {
            label: label.to_string(),
            points,
            outcome,
            guideline: String::new(),
        };
        use Outcome::{Fail, Pass};
        let options = match self {
            ScalePreset::Binary => vec![opt("Yes", 1.0, Pass), opt("No", 0.0, Fail)],
            ScalePreset::ThreePoint => vec![opt("2", 2.0, Pass), opt("1", 1.0, Pass), opt("0", 0.0, Fail)],
            ScalePreset::FourPoint => {
                vec![opt("3", 3.0, Pass), opt("2", 2.0, Pass), opt("1", 1.0, Fail), opt("0", 0.0, Fail)]
            }
            ScalePreset::FivePoint => vec![
                opt("4", 4.0, Pass),
                opt("3", 3.0, Pass),
                opt("2", 2.0, Pass),
                opt("1", 1.0, Fail),
                opt("0", 0.0, Fail),
            ],
            ScalePreset::OneToFive => vec![
                opt("5", 5.0, Pass),
                opt("4", 4.0, Pass),
                opt("3", 3.0, Pass),
                opt("2", 2.0, Fail),
                opt("1", 1.0, Fail),
            ],
        };
        Scale { options }
    }
}

/// A problem in a scorecard definition, naming the field as a JSON path
/// (`criteria[2].scale.options[0].points`).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { field: field.into(), reason: reason.into() }
    }
}

/// Input for a version: like [`ScorecardDefinition`], but ids are optional (new ones are made)
/// and a criterion may name a preset instead of spelling out its scale.
#[derive(Clone, Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct DefinitionInput {
    #[serde(default)]
    pub groups: Vec<GroupInput>,
    #[serde(default)]
    pub criteria: Vec<CriterionInput>,
}

#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct GroupInput {
    pub id: Option<GroupId>,
    pub title: String,
    #[serde(default)]
    pub critical: bool,
}

#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct CriterionInput {
    /// Keep the id of the same criterion in the previous version, so reports follow it.
    pub id: Option<CriterionId>,
    /// Index into `groups`.
    pub group: Option<usize>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub weight: Option<f64>,
    /// Either a preset name or explicit options.
    pub preset: Option<ScalePreset>,
    pub options: Option<Vec<ScaleOption>>,
    #[serde(default)]
    pub na_allowed: bool,
    #[serde(default)]
    pub critical: bool,
    #[serde(default)]
    pub guidelines: String,
}

const MAX_TEXT: usize = 10_000;

fn check_text(errors: &mut Vec<FieldError>, field: String, value: &str, required: bool) {
    if required && value.trim().is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if value.chars().count() > MAX_TEXT {
        errors.push(FieldError::new(field, format!("must be at most {MAX_TEXT} characters")));
    }
}

impl ScorecardDefinition {
    /// Parses and checks a definition: at least one criterion; titles present; weights finite
    /// and > 0; a scale of 2..=20 options with points >= 0, distinct labels and at least one
    /// option worth more than 0; group references valid; ids unique.
    pub fn parse(input: DefinitionInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut groups = Vec::with_capacity(input.groups.len());
        let mut seen_groups = HashSet::new();
        for (i, g) in input.groups.into_iter().enumerate() {
            check_text(&mut errors, format!("groups[{i}].title"), &g.title, true);
            let id = g.id.unwrap_or_default();
            if !seen_groups.insert(id) {
                errors.push(FieldError::new(format!("groups[{i}].id"), "is used twice"));
            }
            groups.push(Group { id, title: g.title.trim().to_string(), critical: g.critical });
        }
        if input.criteria.is_empty() {
            errors.push(FieldError::new("criteria", "a scorecard needs at least one criterion"));
        }
        let mut criteria = Vec::with_capacity(input.criteria.len());
        let mut seen_criteria = HashSet::new();
        for (i, c) in input.criteria.into_iter().enumerate() {
            let at = |f: &str| format!("criteria[{i}].{f}");
            check_text(&mut errors, at("title"), &c.title, true);
            check_text(&mut errors, at("description"), &c.description, false);
            check_text(&mut errors, at("guidelines"), &c.guidelines, false);
            let weight = c.weight.unwrap_or(1.0);
            if !weight.is_finite() || weight <= 0.0 || weight > 1e6 {
                errors.push(FieldError::new(at("weight"), "must be a number above 0 and at most 1000000"));
            }
            let group_id = match c.group {
                None => None,
                Some(g) => match groups.get(g) {
                    Some(group) => Some(group.id),
                    None => {
                        errors.push(FieldError::new(at("group"), format!("there is no group {g}")));
                        None
                    }
                },
            };
            let scale = match (c.preset, c.options) {
                (Some(_), Some(_)) => {
                    errors.push(FieldError::new(at("options"), "give either a preset or options, not both"));
                    None
                }
                (None, None) => {
                    errors.push(FieldError::new(at("preset"), "give a preset or a list of options"));
                    None
                }
                (Some(p), None) => Some(p.scale()),
                (None, Some(options)) => {
                    check_options(&mut errors, &at("options"), &options);
                    Some(Scale { options })
                }
            };
            let id = c.id.unwrap_or_default();
            if !seen_criteria.insert(id) {
                errors.push(FieldError::new(at("id"), "is used twice"));
            }
            if let Some(scale) = scale {
                criteria.push(Criterion {
                    id,
                    group_id,
                    title: c.title.trim().to_string(),
                    description: c.description,
                    weight,
                    scale,
                    na_allowed: c.na_allowed,
                    critical: c.critical,
                    guidelines: c.guidelines,
                });
            }
        }
        if errors.is_empty() { Ok(Self { groups, criteria }) } else { Err(errors) }
    }

    pub fn criterion(&self, id: CriterionId) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.id == id)
    }

    pub fn group(&self, id: GroupId) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// Whether `next` differs in anything that changes how answers score (criteria added or
    /// removed, scales, weights, critical flags, N/A): such a change is a major revision.
    pub fn is_major_change_to(&self, next: &ScorecardDefinition) -> bool {
        let shape = |d: &ScorecardDefinition| {
            let mut v: Vec<String> = d
                .criteria
                .iter()
                .map(|c| {
                    let group_critical = c.group_id.and_then(|g| d.group(g)).is_some_and(|g| g.critical);
                    let options: Vec<String> =
                        c.scale.options.iter().map(|o| format!("{}:{:?}", o.points, o.outcome)).collect();
                    format!(
                        "{}|{}|{}|{}|{}|{}",
                        c.id,
                        c.weight,
                        c.na_allowed,
                        c.critical,
                        group_critical,
                        options.join(",")
                    )
                })
                .collect();
            v.sort();
            v
        };
        shape(self) != shape(next)
    }
}

fn check_options(errors: &mut Vec<FieldError>, at: &str, options: &[ScaleOption]) {
    if options.len() < 2 || options.len() > 20 {
        errors.push(FieldError::new(at, "a scale needs between 2 and 20 options"));
    }
    let mut labels = HashSet::new();
    for (j, o) in options.iter().enumerate() {
        check_text(errors, format!("{at}[{j}].label"), &o.label, true);
        check_text(errors, format!("{at}[{j}].guideline"), &o.guideline, false);
        if !labels.insert(o.label.trim()) {
            errors.push(FieldError::new(format!("{at}[{j}].label"), "is used twice in this scale"));
        }
        if !o.points.is_finite() || o.points < 0.0 || o.points > 1e6 {
            errors.push(FieldError::new(format!("{at}[{j}].points"), "must be a number from 0 to 1000000"));
        }
    }
    if !options.is_empty() && options.iter().all(|o| o.points <= 0.0) {
        errors.push(FieldError::new(at, "at least one option must be worth more than 0 points"));
    }
}
