//! Calibration sessions (DESIGN §4) and alignment (DESIGN §5), without I/O.
//!
//! A session asks several participants to score the same conversations with one scorecard
//! version; a facilitator then fixes the calibrated answer per criterion. This module holds the
//! session's types, the facilitation document (what the facilitator saves), the per-criterion
//! summary shown while facilitating (distribution, agreement, spread, suggested answer), the
//! alignment formula shared with grade-the-grader, and the results computed at submit.

use crate::evaluation::{Answer, Choice, MAX_COMMENT, check_answers};
use crate::scorecard::{Criterion, FieldError, Outcome, ScorecardDefinition};
use crate::scoring::{ScoringPolicy, score_evaluation};
use crate::time::Date;
use crate::{
    ActionItemId, CalibrationId, ConversationId, CriterionId, DecisionId, Millis, ScorecardVersionId, UserId, VendorId,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }
    };
}

text_enum!(
    /// How much participants see of each other's work (DESIGN §4).
    SessionMode { Blind = "blind", Open = "open", Hidden = "hidden" }
);

text_enum!(
    /// scoring -> discussion (revealed) -> submitted; or cancelled.
    SessionStatus { Scoring = "scoring", Discussion = "discussion", Submitted = "submitted", Cancelled = "cancelled" }
);

text_enum!(
    /// The attendance register.
    Attendance { Present = "present", Absent = "absent", Excused = "excused" }
);

text_enum!(
    /// What an action item changes.
    ActionKind { Scorecard = "scorecard", Process = "process", Training = "training" }
);

impl SessionStatus {
    /// Submitted and cancelled sessions never change again (action items aside).
    pub fn is_final(self) -> bool {
        matches!(self, SessionStatus::Submitted | SessionStatus::Cancelled)
    }
}

/// A calibration session's setup and state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CalibrationSession {
    pub id: CalibrationId,
    pub title: String,
    pub goals: String,
    pub scorecard_version_id: ScorecardVersionId,
    pub facilitator_id: UserId,
    pub mode: SessionMode,
    /// Participants see "hidden" instead of the agent's name.
    pub hide_agent_name: bool,
    pub scheduled_at: Option<Millis>,
    pub scoring_deadline: Option<Millis>,
    pub status: SessionStatus,
    pub conversation_ids: Vec<ConversationId>,
    pub created_by: UserId,
    pub created_at: Millis,
    pub revealed_at: Option<Millis>,
    pub submitted_at: Option<Millis>,
    /// Whether the calibrated result was published as `calibrated` evaluations.
    pub published: bool,
    /// Hidden mode only: the review plan whose queues hold the participants' tasks, as
    /// ordinary-looking items (without it, each task is a draft review in the participant's work
    /// list from the start).
    pub review_plan_id: Option<crate::PlanId>,
}

/// A participant, current or removed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Participant {
    pub user_id: UserId,
    pub name: String,
    pub vendor_id: VendorId,
    pub added_at: Millis,
    pub removed_at: Option<Millis>,
    pub removal_reason: Option<String>,
}

impl Participant {
    pub fn is_active(&self) -> bool {
        self.removed_at.is_none()
    }
}

// ---------------------------------------------------------------------------------------------
// The facilitation document

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttendanceEntry {
    pub user_id: UserId,
    pub attendance: Attendance,
}

/// The facilitator's calibrated answers and feedback for one conversation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CalibratedConversation {
    pub conversation_id: ConversationId,
    /// The calibrated answer (an option or N/A) and calibrated comment per criterion.
    #[serde(default)]
    pub answers: Vec<Answer>,
    /// Overall calibrated feedback (the page prefills it from the participants' comments).
    #[serde(default)]
    pub feedback: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ParticipantFeedback {
    pub user_id: UserId,
    pub feedback: String,
}

/// A decision ("a 4 on Tone needs an apology"), optionally attached to a criterion. After the
/// session is submitted it shows in that criterion's guidelines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    /// Leave out for a new decision: one is assigned.
    #[serde(default)]
    pub id: DecisionId,
    pub text: String,
    #[serde(default)]
    pub criterion_id: Option<CriterionId>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActionItem {
    /// Leave out for a new action item: one is assigned.
    #[serde(default)]
    pub id: ActionItemId,
    pub kind: ActionKind,
    pub text: String,
    #[serde(default)]
    pub owner_id: Option<UserId>,
    /// Due date, `YYYY-MM-DD`.
    #[serde(default)]
    pub due_on: Option<String>,
    #[serde(default)]
    pub done: bool,
}

/// Everything the facilitator saves. Saved whole, with the revision it was based on, so two
/// facilitators never overwrite each other silently.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Facilitation {
    pub notes: String,
    pub attendance: Vec<AttendanceEntry>,
    pub calibrated: Vec<CalibratedConversation>,
    pub participant_feedback: Vec<ParticipantFeedback>,
    pub decisions: Vec<Decision>,
    pub actions: Vec<ActionItem>,
}

pub const MAX_NOTES: usize = 50_000;
pub const MAX_TITLE: usize = 200;

fn too_long(text: &str, max: usize) -> bool {
    text.chars().count() > max
}

impl Facilitation {
    /// Checks the document against the session: calibrated answers fit the scorecard version,
    /// conversations and people belong to the session, texts are within bounds, ids are unique.
    pub fn check(
        &self,
        definition: &ScorecardDefinition,
        conversations: &[ConversationId],
        participants: &[UserId],
    ) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if too_long(&self.notes, MAX_NOTES) {
            errors.push(FieldError::new("notes", format!("must be at most {MAX_NOTES} characters")));
        }
        let mut seen_people = HashSet::new();
        for (i, entry) in self.attendance.iter().enumerate() {
            if !participants.contains(&entry.user_id) {
                errors.push(FieldError::new(format!("attendance[{i}].user_id"), "is not a participant"));
            } else if !seen_people.insert(entry.user_id) {
                errors.push(FieldError::new(format!("attendance[{i}].user_id"), "is listed twice"));
            }
        }
        let mut seen_conversations = HashSet::new();
        for (i, calibrated) in self.calibrated.iter().enumerate() {
            if !conversations.contains(&calibrated.conversation_id) {
                errors.push(FieldError::new(
                    format!("calibrated[{i}].conversation_id"),
                    "is not a conversation of this session",
                ));
            } else if !seen_conversations.insert(calibrated.conversation_id) {
                errors.push(FieldError::new(format!("calibrated[{i}].conversation_id"), "is listed twice"));
            }
            for e in check_answers(definition, &calibrated.answers, false) {
                errors.push(FieldError::new(format!("calibrated[{i}].{}", e.field), e.reason));
            }
            if too_long(&calibrated.feedback, MAX_NOTES) {
                errors.push(FieldError::new(
                    format!("calibrated[{i}].feedback"),
                    format!("must be at most {MAX_NOTES} characters"),
                ));
            }
        }
        let mut seen_feedback = HashSet::new();
        for (i, f) in self.participant_feedback.iter().enumerate() {
            if !participants.contains(&f.user_id) {
                errors.push(FieldError::new(format!("participant_feedback[{i}].user_id"), "is not a participant"));
            } else if !seen_feedback.insert(f.user_id) {
                errors.push(FieldError::new(format!("participant_feedback[{i}].user_id"), "is listed twice"));
            }
            if too_long(&f.feedback, MAX_COMMENT) {
                errors.push(FieldError::new(
                    format!("participant_feedback[{i}].feedback"),
                    format!("must be at most {MAX_COMMENT} characters"),
                ));
            }
        }
        let mut ids = HashSet::new();
        for (i, d) in self.decisions.iter().enumerate() {
            let at = |f: &str| format!("decisions[{i}].{f}");
            if d.text.trim().is_empty() {
                errors.push(FieldError::new(at("text"), "must not be empty"));
            } else if too_long(&d.text, MAX_COMMENT) {
                errors.push(FieldError::new(at("text"), format!("must be at most {MAX_COMMENT} characters")));
            }
            if d.criterion_id.is_some_and(|c| definition.criterion(c).is_none()) {
                errors.push(FieldError::new(at("criterion_id"), "is not a criterion of this scorecard version"));
            }
            if !ids.insert(d.id.0) {
                errors.push(FieldError::new(at("id"), "is used twice"));
            }
        }
        for (i, a) in self.actions.iter().enumerate() {
            let at = |f: &str| format!("actions[{i}].{f}");
            if a.text.trim().is_empty() {
                errors.push(FieldError::new(at("text"), "must not be empty"));
            } else if too_long(&a.text, MAX_COMMENT) {
                errors.push(FieldError::new(at("text"), format!("must be at most {MAX_COMMENT} characters")));
            }
            if let Some(due) = &a.due_on
                && Date::parse(due).is_none()
            {
                errors.push(FieldError::new(at("due_on"), format!("{due:?} is not a date (YYYY-MM-DD)")));
            }
            if !ids.insert(a.id.0) {
                errors.push(FieldError::new(at("id"), "is used twice"));
            }
        }
        errors
    }

    pub fn calibrated_for(&self, conversation: ConversationId) -> Option<&CalibratedConversation> {
        self.calibrated.iter().find(|c| c.conversation_id == conversation)
    }

    /// What submit still needs: a calibrated answer for every criterion of every conversation.
    pub fn missing_answers(
        &self,
        definition: &ScorecardDefinition,
        conversations: &[ConversationId],
    ) -> Vec<FieldError> {
        let mut missing = Vec::new();
        for conversation in conversations {
            let answered: HashSet<CriterionId> = self
                .calibrated_for(*conversation)
                .map(|c| c.answers.iter().map(|a| a.criterion_id).collect())
                .unwrap_or_default();
            for criterion in &definition.criteria {
                if !answered.contains(&criterion.id) {
                    missing.push(FieldError::new(
                        "calibrated",
                        format!(
                            "conversation {conversation}: criterion {:?} ({}) has no calibrated answer",
                            criterion.title, criterion.id
                        ),
                    ));
                }
            }
        }
        missing
    }
}

/// One line of the audit trail: what changed, with old and new values where they are short
/// enough to be useful (always for calibrated answers).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Change {
    pub what: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl Change {
    pub fn new(what: impl Into<String>, old: Option<String>, new: Option<String>) -> Change {
        Change { what: what.into(), old, new }
    }
}

fn describe_choice(definition: &ScorecardDefinition, criterion: CriterionId, choice: Choice) -> String {
    match choice {
        Choice::NotApplicable => "N/A".into(),
        Choice::Option(o) => definition
            .criterion(criterion)
            .and_then(|c| c.scale.options.get(o))
            .map_or_else(|| format!("option {o}"), |option| format!("{} ({} points)", option.label, option.points)),
    }
}

/// The changes from `old` to `new`, for the audit trail. Calibrated answers and comments are
/// listed one by one with old and new value; other parts by what changed.
pub fn facilitation_changes(definition: &ScorecardDefinition, old: &Facilitation, new: &Facilitation) -> Vec<Change> {
    let mut changes = Vec::new();
    if old.notes != new.notes {
        changes.push(Change::new("notes", Some(old.notes.clone()), Some(new.notes.clone())));
    }
    let attendance = |f: &Facilitation| -> BTreeMap<UserId, Attendance> {
        f.attendance.iter().map(|a| (a.user_id, a.attendance)).collect()
    };
    let (before, after) = (attendance(old), attendance(new));
    for user in before.keys().chain(after.keys()).collect::<std::collections::BTreeSet<_>>() {
        let (b, a) = (before.get(user), after.get(user));
        if b != a {
            changes.push(Change::new(
                format!("attendance of {user}"),
                b.map(|x| x.as_str().to_string()),
                a.map(|x| x.as_str().to_string()),
            ));
        }
    }
    let mut conversations: Vec<ConversationId> =
        old.calibrated.iter().chain(&new.calibrated).map(|c| c.conversation_id).collect();
    conversations.sort();
    conversations.dedup();
    for conversation in conversations {
        let (b, a) = (old.calibrated_for(conversation), new.calibrated_for(conversation));
        let answers = |c: Option<&CalibratedConversation>| -> HashMap<CriterionId, Answer> {
            c.map(|c| c.answers.iter().map(|a| (a.criterion_id, a.clone())).collect()).unwrap_or_default()
        };
        let (ab, aa) = (answers(b), answers(a));
        for criterion in &definition.criteria {
            let (x, y) = (ab.get(&criterion.id), aa.get(&criterion.id));
            let choice = |a: Option<&Answer>| a.map(|a| describe_choice(definition, criterion.id, a.choice));
            if x.map(|a| a.choice) != y.map(|a| a.choice) {
                changes.push(Change::new(
                    format!("calibrated answer: conversation {conversation}, criterion {:?}", criterion.title),
                    choice(x),
                    choice(y),
                ));
            }
            let comment = |a: Option<&Answer>| a.map(|a| a.comment.clone()).filter(|c| !c.is_empty());
            if comment(x) != comment(y) {
                changes.push(Change::new(
                    format!("calibrated comment: conversation {conversation}, criterion {:?}", criterion.title),
                    comment(x),
                    comment(y),
                ));
            }
        }
        let feedback = |c: Option<&CalibratedConversation>| c.map(|c| c.feedback.clone()).filter(|f| !f.is_empty());
        if feedback(b) != feedback(a) {
            changes.push(Change::new(
                format!("calibrated feedback: conversation {conversation}"),
                feedback(b),
                feedback(a),
            ));
        }
    }
    let feedback = |f: &Facilitation| -> BTreeMap<UserId, String> {
        f.participant_feedback.iter().map(|p| (p.user_id, p.feedback.clone())).collect()
    };
    let (before, after) = (feedback(old), feedback(new));
    for user in before.keys().chain(after.keys()).collect::<std::collections::BTreeSet<_>>() {
        if before.get(user) != after.get(user) {
            changes.push(Change::new(
                format!("feedback to {user}"),
                before.get(user).cloned(),
                after.get(user).cloned(),
            ));
        }
    }
    if old.decisions != new.decisions {
        let texts = |f: &Facilitation| f.decisions.iter().map(|d| d.text.as_str()).collect::<Vec<_>>().join(" | ");
        changes.push(Change::new("decisions", Some(texts(old)), Some(texts(new))));
    }
    if old.actions != new.actions {
        let texts = |f: &Facilitation| {
            f.actions
                .iter()
                .map(|a| format!("{}{}", a.text, if a.done { " (done)" } else { "" }))
                .collect::<Vec<_>>()
                .join(" | ")
        };
        changes.push(Change::new("action items", Some(texts(old)), Some(texts(new))));
    }
    changes
}

// ---------------------------------------------------------------------------------------------
// Facilitation aids: per-criterion summary and suggested answer

/// How the participants answered one criterion of one conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CriterionSummary {
    pub criterion_id: CriterionId,
    /// How many participants chose each option, in the scale's order.
    pub distribution: Vec<usize>,
    pub not_applicable: usize,
    /// Participants who answered (an option or N/A).
    pub answered: usize,
    /// Share of pairs of participants who gave the same answer (N/A is an answer); `None` with
    /// fewer than two answers.
    pub percent_agreement: Option<f64>,
    /// Highest minus lowest points among the options chosen (N/A left out).
    pub spread: Option<f64>,
    /// The mode; when options tie, the one nearest the median answer (ties of distance go to the
    /// option listed first). `None` when nobody answered.
    pub suggested: Option<Choice>,
}

/// Summarises `choices` (one per participant who answered) for `criterion`.
pub fn summarize_criterion(criterion: &Criterion, choices: &[Choice]) -> CriterionSummary {
    let options = criterion.scale.options.len();
    let mut distribution = vec![0usize; options];
    let mut not_applicable = 0;
    let mut positions = Vec::new();
    for choice in choices {
        match *choice {
            Choice::Option(o) if o < options => {
                distribution[o] += 1;
                positions.push(o);
            }
            Choice::Option(_) => {}
            Choice::NotApplicable => not_applicable += 1,
        }
    }
    let answered = positions.len() + not_applicable;
    let pairs = |n: usize| n * n.saturating_sub(1) / 2;
    let percent_agreement = (answered >= 2).then(|| {
        let agreeing: usize = distribution.iter().map(|&n| pairs(n)).sum::<usize>() + pairs(not_applicable);
        agreeing as f64 / pairs(answered) as f64
    });
    let points: Vec<f64> = positions.iter().map(|&o| criterion.scale.options[o].points).collect();
    let spread = (!points.is_empty()).then(|| {
        let max = points.iter().copied().fold(f64::MIN, f64::max);
        let min = points.iter().copied().fold(f64::MAX, f64::min);
        max - min
    });
    let top = distribution.iter().copied().max().unwrap_or(0).max(not_applicable);
    let suggested = if answered == 0 {
        None
    } else if not_applicable == top && distribution.iter().all(|&n| n < top) {
        Some(Choice::NotApplicable)
    } else {
        positions.sort_unstable();
        // The lower median position of the options chosen.
        let median = positions.get(positions.len().saturating_sub(1) / 2).copied().unwrap_or(0);
        (0..options)
            .filter(|&o| distribution[o] == top)
            .min_by_key(|&o| (o.abs_diff(median), o))
            .map(Choice::Option)
            .or(Some(Choice::NotApplicable))
    };
    CriterionSummary {
        criterion_id: criterion.id,
        distribution,
        not_applicable,
        answered,
        percent_agreement,
        spread,
        suggested,
    }
}

// ---------------------------------------------------------------------------------------------
// Alignment (DESIGN §5, MaestroQA's formula)

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CriterionAlignment {
    pub criterion_id: CriterionId,
    /// a_i = 1 - |p_i - b_i| / m_i; both N/A = 1; N/A on one side only = 0.
    pub alignment: f64,
    pub same_answer: bool,
    pub na_disagreement: bool,
    pub critical_disagreement: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Alignment {
    /// Σ w_i a_i / Σ w_i over the criteria both sides answered; `None` when there is none.
    pub alignment: Option<f64>,
    pub criteria: Vec<CriterionAlignment>,
    pub na_disagreements: usize,
    pub critical_disagreements: usize,
}

fn is_critical(definition: &ScorecardDefinition, criterion: &Criterion) -> bool {
    criterion.critical || criterion.group_id.and_then(|g| definition.group(g)).is_some_and(|g| g.critical)
}

fn fails(criterion: &Criterion, choice: Choice) -> bool {
    matches!(choice, Choice::Option(o) if criterion.scale.options.get(o).is_some_and(|x| x.outcome == Outcome::Fail))
}

/// MaestroQA's alignment of `answers` against a `benchmark` (the calibrated answer, or the
/// benchmark grader's re-grade). Criteria that either side left unanswered are left out.
/// A critical criterion (or one in a critical group) failed on one side and not on the other
/// (passed or N/A) is a critical disagreement.
pub fn alignment(definition: &ScorecardDefinition, answers: &[Answer], benchmark: &[Answer]) -> Alignment {
    let given: HashMap<CriterionId, Choice> = answers.iter().map(|a| (a.criterion_id, a.choice)).collect();
    let expected: HashMap<CriterionId, Choice> = benchmark.iter().map(|a| (a.criterion_id, a.choice)).collect();
    let mut criteria = Vec::new();
    let (mut weighted, mut weights) = (0.0, 0.0);
    for criterion in &definition.criteria {
        let (Some(&p), Some(&b)) = (given.get(&criterion.id), expected.get(&criterion.id)) else { continue };
        let points = |o: usize| criterion.scale.options.get(o).map_or(0.0, |x| x.points);
        let (value, na_disagreement) = match (p, b) {
            (Choice::NotApplicable, Choice::NotApplicable) => (1.0, false),
            (Choice::NotApplicable, _) | (_, Choice::NotApplicable) => (0.0, true),
            (Choice::Option(x), Choice::Option(y)) => {
                let max = criterion.max_points();
                let value = if max > 0.0 {
                    1.0 - (points(x) - points(y)).abs() / max
                } else if x == y {
                    1.0
                } else {
                    0.0
                };
                (value.clamp(0.0, 1.0), false)
            }
        };
        let critical_disagreement = is_critical(definition, criterion) && fails(criterion, p) != fails(criterion, b);
        weighted += criterion.weight * value;
        weights += criterion.weight;
        criteria.push(CriterionAlignment {
            criterion_id: criterion.id,
            alignment: value,
            same_answer: p == b,
            na_disagreement,
            critical_disagreement,
        });
    }
    Alignment {
        alignment: (weights > 0.0).then(|| weighted / weights),
        na_disagreements: criteria.iter().filter(|c| c.na_disagreement).count(),
        critical_disagreements: criteria.iter().filter(|c| c.critical_disagreement).count(),
        criteria,
    }
}

// ---------------------------------------------------------------------------------------------
// Results at submit (DESIGN §5)

/// One participant's submitted score of one conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct SubmittedScore {
    pub user_id: UserId,
    pub conversation_id: ConversationId,
    pub answers: Vec<Answer>,
}

/// A participant against the calibrated answer on one conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ParticipantResult {
    pub user_id: UserId,
    pub conversation_id: ConversationId,
    /// False when the participant never submitted a score for this conversation: shown as
    /// such, never as zero; every number below is then absent.
    pub scored: bool,
    pub score: Option<f64>,
    pub calibrated_score: Option<f64>,
    /// score - calibrated score.
    pub score_delta: Option<f64>,
    /// |score_delta| <= the workspace's tolerance.
    pub within_tolerance: Option<bool>,
    pub alignment: Option<f64>,
    pub na_disagreements: usize,
    pub critical_disagreements: usize,
    pub criteria: Vec<CriterionAlignment>,
}

/// One criterion of one conversation across participants.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CriterionResult {
    pub conversation_id: ConversationId,
    pub calibrated: Choice,
    /// Share of participants who scored it and gave the calibrated answer.
    pub agreement_with_calibrated: Option<f64>,
    /// Mean |p - b| / m over participants who chose an option where the calibrated answer is an
    /// option too: how far from the calibrated answer the criterion was scored (form calibration).
    pub mean_deviation: Option<f64>,
    /// The criterion's id and how the participants answered it.
    #[serde(flatten)]
    pub summary: CriterionSummary,
}

/// A reliability coefficient with its interval, or why there is none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReliabilityStatistic {
    pub name: String,
    pub value: Option<f64>,
    pub ci95: Option<[f64; 2]>,
    pub note: String,
    pub interpretation: Option<String>,
}

impl From<plumbline_agreement::Statistic> for ReliabilityStatistic {
    fn from(s: plumbline_agreement::Statistic) -> Self {
        ReliabilityStatistic {
            name: s.name,
            value: s.value,
            ci95: s.ci95.map(|(low, high)| [low, high]),
            note: s.note,
            interpretation: s.interpretation,
        }
    }
}

/// Everything submit computes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SessionResults {
    pub participants: Vec<ParticipantResult>,
    pub criteria: Vec<CriterionResult>,
    /// Agreement between participants on criteria: units are (conversation, criterion), values
    /// the fraction of the criterion's maximum points, ordinal level; N/A is missing.
    pub reliability_criteria: Vec<ReliabilityStatistic>,
    /// Agreement on evaluation scores: units are conversations, interval level.
    pub reliability_scores: Vec<ReliabilityStatistic>,
}

/// Results of a submitted session. `participants` lists every active participant; those
/// without a submitted score for a conversation appear with `scored: false`.
pub fn session_results(
    definition: &ScorecardDefinition,
    policy: ScoringPolicy,
    tolerance_points: f64,
    facilitation: &Facilitation,
    conversations: &[ConversationId],
    participants: &[UserId],
    scores: &[SubmittedScore],
) -> SessionResults {
    let by_key: HashMap<(UserId, ConversationId), &SubmittedScore> =
        scores.iter().map(|s| ((s.user_id, s.conversation_id), s)).collect();
    let mut results = Vec::new();
    let mut criteria = Vec::new();
    let mut criterion_observations = Vec::new();
    let mut score_observations = Vec::new();
    for &conversation in conversations {
        let calibrated_answers =
            facilitation.calibrated_for(conversation).map(|c| c.answers.as_slice()).unwrap_or_default();
        let calibrated_score = score_evaluation(definition, calibrated_answers, policy).score;
        for &user in participants {
            let Some(scored) = by_key.get(&(user, conversation)) else {
                results.push(ParticipantResult {
                    user_id: user,
                    conversation_id: conversation,
                    scored: false,
                    score: None,
                    calibrated_score,
                    score_delta: None,
                    within_tolerance: None,
                    alignment: None,
                    na_disagreements: 0,
                    critical_disagreements: 0,
                    criteria: Vec::new(),
                });
                continue;
            };
            let score = score_evaluation(definition, &scored.answers, policy).score;
            if let Some(s) = score {
                score_observations.push((conversation, user, s));
            }
            let score_delta = score.zip(calibrated_score).map(|(s, c)| s - c);
            let aligned = alignment(definition, &scored.answers, calibrated_answers);
            results.push(ParticipantResult {
                user_id: user,
                conversation_id: conversation,
                scored: true,
                score,
                calibrated_score,
                score_delta,
                // A tiny allowance so that a delta of exactly the tolerance survives rounding.
                within_tolerance: score_delta.map(|d| d.abs() <= tolerance_points + 1e-9),
                alignment: aligned.alignment,
                na_disagreements: aligned.na_disagreements,
                critical_disagreements: aligned.critical_disagreements,
                criteria: aligned.criteria,
            });
        }
        for criterion in &definition.criteria {
            let Some(calibrated) = calibrated_answers.iter().find(|a| a.criterion_id == criterion.id) else {
                continue;
            };
            let mut choices = Vec::new();
            for &user in participants {
                let Some(scored) = by_key.get(&(user, conversation)) else { continue };
                let Some(answer) = scored.answers.iter().find(|a| a.criterion_id == criterion.id) else { continue };
                choices.push(answer.choice);
                if let Choice::Option(o) = answer.choice {
                    let max = criterion.max_points();
                    let points = criterion.scale.options.get(o).map_or(0.0, |x| x.points);
                    let fraction = if max > 0.0 { points / max } else { 0.0 };
                    criterion_observations.push(((conversation, criterion.id), user, fraction));
                }
            }
            let matching = choices.iter().filter(|&&c| c == calibrated.choice).count();
            let max = criterion.max_points();
            let points = |choice: Choice| match choice {
                Choice::Option(o) => criterion.scale.options.get(o).map(|x| x.points),
                Choice::NotApplicable => None,
            };
            let deviations: Vec<f64> = match points(calibrated.choice) {
                Some(b) if max > 0.0 => {
                    choices.iter().filter_map(|&c| points(c)).map(|p| (p - b).abs() / max).collect()
                }
                _ => Vec::new(),
            };
            criteria.push(CriterionResult {
                conversation_id: conversation,
                calibrated: calibrated.choice,
                agreement_with_calibrated: (!choices.is_empty()).then(|| matching as f64 / choices.len() as f64),
                mean_deviation: (!deviations.is_empty())
                    .then(|| deviations.iter().sum::<f64>() / deviations.len() as f64),
                summary: summarize_criterion(criterion, &choices),
            });
        }
    }
    SessionResults {
        participants: results,
        criteria,
        reliability_criteria: reliability(&criterion_observations, plumbline_agreement::Level::Ordinal),
        reliability_scores: reliability(&score_observations, plumbline_agreement::Level::Interval),
    }
}

/// Reliability of keyed observations (unit, rater, value); empty data reports why.
pub fn reliability<U: Ord + Clone, R: Ord + Clone>(
    observations: &[(U, R, f64)],
    level: plumbline_agreement::Level,
) -> Vec<ReliabilityStatistic> {
    match plumbline_agreement::Ratings::from_observations(observations) {
        Ok(keyed) => plumbline_agreement::reliability_report(&keyed.ratings, level, None)
            .into_iter()
            .map(ReliabilityStatistic::from)
            .collect(),
        Err(e) => vec![ReliabilityStatistic {
            name: "krippendorff_alpha".into(),
            value: None,
            ci95: None,
            note: format!("not enough data: {e}"),
            interpretation: None,
        }],
    }
}
