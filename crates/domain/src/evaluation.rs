//! Evaluations (reviews): one reviewer scores one conversation with one scorecard version.

use crate::scorecard::{FieldError, ScorecardDefinition};
use crate::{AgentId, ConversationId, CriterionId, EvaluationId, Millis, ScorecardVersionId, TeamId, UserId, VendorId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationKind {
    Review,
    SelfReview,
    /// A participant's blind score in a calibration session.
    Calibration,
    /// A calibration session's published result.
    Calibrated,
    /// A benchmark grader's re-grade in grade-the-grader.
    Audit,
}

impl EvaluationKind {
    pub const ALL: [EvaluationKind; 5] = [
        EvaluationKind::Review,
        EvaluationKind::SelfReview,
        EvaluationKind::Calibration,
        EvaluationKind::Calibrated,
        EvaluationKind::Audit,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            EvaluationKind::Review => "review",
            EvaluationKind::SelfReview => "self_review",
            EvaluationKind::Calibration => "calibration",
            EvaluationKind::Calibrated => "calibrated",
            EvaluationKind::Audit => "audit",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// Only reviews and published calibrated results count in IQS by default (DESIGN §2).
    pub fn counts_in_iqs(self) -> bool {
        matches!(self, EvaluationKind::Review | EvaluationKind::Calibrated)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvaluationStatus {
    Draft,
    Submitted,
}

impl EvaluationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EvaluationStatus::Draft => "draft",
            EvaluationStatus::Submitted => "submitted",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(Self::Draft),
            "submitted" => Some(Self::Submitted),
            _ => None,
        }
    }
}

/// An answer to one criterion: an option of its scale (by position), or N/A.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// The position of the chosen option in the criterion's scale (0 = first listed).
    Option(usize),
    NotApplicable,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Answer {
    pub criterion_id: CriterionId,
    pub choice: Choice,
    #[serde(default)]
    pub comment: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evaluation {
    pub id: EvaluationId,
    pub conversation_id: ConversationId,
    pub scorecard_version_id: ScorecardVersionId,
    pub reviewer_id: UserId,
    pub kind: EvaluationKind,
    pub status: EvaluationStatus,
    pub answers: Vec<Answer>,
    pub overall_feedback: String,
    /// The conversation's organisation, copied at creation for scoping and reports.
    pub vendor_id: VendorId,
    pub team_id: Option<TeamId>,
    pub agent_id: Option<AgentId>,
    pub result: Option<crate::scoring::EvaluationScore>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub submitted_at: Option<Millis>,
    /// The calibration session this evaluation is a participant's task in. Never serialised:
    /// a hidden-mode task must look exactly like an ordinary review to its author.
    #[serde(skip)]
    pub calibration_session_id: Option<crate::CalibrationId>,
    /// The benchmark grader of an open audit of this review: they re-grade it blind and may not
    /// read it until they submit. Never serialised.
    #[serde(skip)]
    pub blind_to: Option<UserId>,
    /// Active time spent on it, in seconds (idle time not counted; see `habits`).
    #[serde(default)]
    pub active_seconds: i64,
}

pub const MAX_COMMENT: usize = 20_000;

/// Checks answers against a definition: each criterion at most once, each known, options in
/// range, N/A only where allowed. With `complete`, every criterion must be answered (submit).
pub fn check_answers(definition: &ScorecardDefinition, answers: &[Answer], complete: bool) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, a) in answers.iter().enumerate() {
        let at = |f: &str| format!("answers[{i}].{f}");
        let Some(criterion) = definition.criterion(a.criterion_id) else {
            errors.push(FieldError::new(at("criterion_id"), "is not a criterion of this scorecard version"));
            continue;
        };
        if !seen.insert(a.criterion_id) {
            errors.push(FieldError::new(at("criterion_id"), "is answered twice"));
        }
        match a.choice {
            Choice::Option(o) if o >= criterion.scale.options.len() => errors.push(FieldError::new(
                at("choice"),
                format!(
                    "option {o} does not exist: {:?} has {} options",
                    criterion.title,
                    criterion.scale.options.len()
                ),
            )),
            Choice::NotApplicable if !criterion.na_allowed => {
                errors.push(FieldError::new(at("choice"), format!("N/A is not allowed for {:?}", criterion.title)))
            }
            _ => {}
        }
        if a.comment.chars().count() > MAX_COMMENT {
            errors.push(FieldError::new(at("comment"), format!("must be at most {MAX_COMMENT} characters")));
        }
    }
    if complete {
        for c in &definition.criteria {
            if !seen.contains(&c.id) {
                errors.push(FieldError::new("answers", format!("criterion {:?} ({}) is not answered", c.title, c.id)));
            }
        }
    }
    errors
}
