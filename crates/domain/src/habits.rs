//! Grading habits, so a lead can coach graders toward efficient grading and personal feedback:
//! the active time spent per review (idle time not counted) and the share of a grader's
//! feedback copied word for word from their own earlier reviews.
//!
//! **Active time.** The scoring page counts a second as active while the page is visible and
//! focused and the grader typed, clicked, scrolled or moved the pointer in the last
//! [`IDLE_AFTER_SECONDS`]; it sends the seconds with each save or submit, and API clients may
//! send their own. Each increment is at most [`MAX_ACTIVE_SECONDS_PER_SAVE`]. Reviews without
//! any recorded time (written before timing existed, or by a client that does not send it) are
//! left out of the time statistics and counted as untimed.
//!
//! **Copied feedback** ([`COPIED_RULE`]). A review's feedback pieces are its overall feedback
//! and each criterion comment. A piece counts when, normalised ([`normalize_feedback`]:
//! lower case, every run of whitespace one space, trimmed), it is at least
//! [`MIN_COPIED_CHARS`] characters long; shorter ones ("ok", "great job") are left out of both
//! counts. It is copied when the same grader wrote the identical normalised piece in an
//! earlier submitted review (by submission time; the same text twice within one review is not
//! a copy). The share is copied pieces / counted pieces.

use crate::scorecard::FieldError;
use crate::{EvaluationId, Millis, UserId, VendorId};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// Seconds without input after which the scoring page stops counting time.
pub const IDLE_AFTER_SECONDS: u32 = 60;
/// The largest active-time increment one save or submit may carry (four hours).
pub const MAX_ACTIVE_SECONDS_PER_SAVE: i64 = 4 * 3600;
/// Shorter normalised feedback pieces are never counted as copied (nor as pieces).
pub const MIN_COPIED_CHARS: usize = 20;

/// The copied-feedback rule in words, as the report states it.
pub const COPIED_RULE: &str = "A feedback piece (the overall feedback or a criterion comment) of at least 20 characters \
     counts as copied when the same grader wrote the identical text, ignoring case and whitespace, in an earlier \
     submitted review. Shorter pieces are not counted.";

/// The active-time rule in words.
pub const ACTIVE_TIME_RULE: &str = "Time counts while the scoring page is visible and focused and the grader typed, \
     clicked, scrolled or moved the pointer in the last 60 seconds; statistics use reviews with recorded time only.";

/// Checks an active-time increment: whole seconds, 0 to [`MAX_ACTIVE_SECONDS_PER_SAVE`].
pub fn check_active_seconds(seconds: i64) -> Result<(), FieldError> {
    if (0..=MAX_ACTIVE_SECONDS_PER_SAVE).contains(&seconds) {
        Ok(())
    } else {
        Err(FieldError::new(
            "active_seconds",
            format!("must be 0 to {MAX_ACTIVE_SECONDS_PER_SAVE} seconds (one save or submit)"),
        ))
    }
}

/// Lower case, every run of whitespace one space, trimmed.
pub fn normalize_feedback(text: &str) -> String {
    text.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>().join(" ")
}

/// A submitted review, as the habits report reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct HabitReview {
    pub evaluation_id: EvaluationId,
    pub grader_id: UserId,
    pub grader_name: String,
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub internal: bool,
    pub submitted_at: Millis,
    pub active_seconds: i64,
    /// The overall feedback and the criterion comments, as written.
    pub feedback: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GraderHabits {
    pub user_id: UserId,
    pub name: String,
    pub vendor_id: VendorId,
    pub vendor_name: String,
    pub internal: bool,
    /// Submitted reviews in the period.
    pub reviews: usize,
    /// Of those, the ones with recorded active time (the time statistics use these).
    pub timed_reviews: usize,
    pub median_active_minutes: Option<f64>,
    pub mean_active_minutes: Option<f64>,
    /// Feedback pieces of at least 20 normalised characters.
    pub feedback_pieces: usize,
    /// Of those, copied from the grader's own earlier reviews.
    pub copied_pieces: usize,
    /// copied_pieces / feedback_pieces; `None` without pieces.
    pub copied_share: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GradingHabitsReport {
    /// By grader name.
    pub graders: Vec<GraderHabits>,
    pub active_time_rule: String,
    pub copied_rule: String,
}

fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The report over `reviews` (each grader's submitted reviews up to the end of the period).
/// Reviews submitted before `from` are not counted but still are "earlier reviews" that later
/// feedback may be copied from.
pub fn grading_habits(reviews: &[HabitReview], from: Option<Millis>) -> GradingHabitsReport {
    let mut ordered: Vec<&HabitReview> = reviews.iter().collect();
    ordered.sort_by_key(|r| (r.submitted_at, r.evaluation_id));
    struct Tally<'a> {
        first: &'a HabitReview,
        seen: HashSet<String>,
        reviews: usize,
        minutes: Vec<f64>,
        pieces: usize,
        copied: usize,
    }
    let mut tallies: BTreeMap<(String, UserId), Tally> = BTreeMap::new();
    for review in ordered {
        let tally = tallies.entry((review.grader_name.clone(), review.grader_id)).or_insert_with(|| Tally {
            first: review,
            seen: HashSet::new(),
            reviews: 0,
            minutes: Vec::new(),
            pieces: 0,
            copied: 0,
        });
        let counted = from.is_none_or(|from| review.submitted_at >= from);
        let pieces: HashSet<String> = review
            .feedback
            .iter()
            .map(|text| normalize_feedback(text))
            .filter(|text| text.chars().count() >= MIN_COPIED_CHARS)
            .collect();
        if counted {
            tally.reviews += 1;
            if review.active_seconds > 0 {
                tally.minutes.push(review.active_seconds as f64 / 60.0);
            }
            // A set: the same text twice within one review is one piece (a copy is of an earlier review).
            tally.pieces += pieces.len();
            tally.copied += pieces.iter().filter(|p| tally.seen.contains(*p)).count();
        }
        tally.seen.extend(pieces);
    }
    let graders = tallies
        .into_values()
        .filter(|t| t.reviews > 0)
        .map(|mut t| {
            t.minutes.sort_by(f64::total_cmp);
            GraderHabits {
                user_id: t.first.grader_id,
                name: t.first.grader_name.clone(),
                vendor_id: t.first.vendor_id,
                vendor_name: t.first.vendor_name.clone(),
                internal: t.first.internal,
                reviews: t.reviews,
                timed_reviews: t.minutes.len(),
                median_active_minutes: median(&t.minutes),
                mean_active_minutes: (!t.minutes.is_empty())
                    .then(|| t.minutes.iter().sum::<f64>() / t.minutes.len() as f64),
                feedback_pieces: t.pieces,
                copied_pieces: t.copied,
                copied_share: (t.pieces > 0).then(|| t.copied as f64 / t.pieces as f64),
            }
        })
        .collect();
    GradingHabitsReport { graders, active_time_rule: ACTIVE_TIME_RULE.into(), copied_rule: COPIED_RULE.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review(grader: UserId, at: Millis, seconds: i64, feedback: &[&str]) -> HabitReview {
        HabitReview {
            evaluation_id: EvaluationId::new(),
            grader_id: grader,
            grader_name: "Ann".into(),
            vendor_id: VendorId(uuid::Uuid::nil()),
            vendor_name: "Acme".into(),
            internal: true,
            submitted_at: at,
            active_seconds: seconds,
            feedback: feedback.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn normalising_ignores_case_and_whitespace() {
        assert_eq!(normalize_feedback("  Great   JOB\n on the\tgreeting "), "great job on the greeting");
    }

    /// The worked example of the report's documentation.
    #[test]
    fn copied_feedback_share_worked_example() {
        let ann = UserId::new();
        let greeting = "Please greet the customer by name.";
        let reviews = [
            // Review 1: two pieces, nothing earlier: 0 copied. "Good" is too short to count.
            review(ann, 1, 300, &[greeting, "Solved on the first reply, well done.", "Good"]),
            // Review 2: the greeting again (other case and spacing): copied; one new piece.
            review(ann, 2, 600, &["please  greet the CUSTOMER by name.", "Refund policy explained clearly."]),
            // Review 3: the same comment on two criteria counts once, and is copied; untimed.
            review(ann, 3, 0, &["Refund policy explained clearly.", "Refund policy explained clearly.", "ok"]),
        ];
        let report = grading_habits(&reviews, None);
        let g = &report.graders[0];
        assert_eq!((g.reviews, g.timed_reviews), (3, 2));
        assert_eq!((g.feedback_pieces, g.copied_pieces), (5, 2));
        assert_eq!(g.copied_share, Some(0.4));
        assert_eq!(g.median_active_minutes, Some(7.5));
        assert_eq!(g.mean_active_minutes, Some(7.5));

        // Counting from review 2 on: review 1 still is an earlier review to copy from.
        let later = grading_habits(&reviews, Some(2));
        assert_eq!(
            (later.graders[0].reviews, later.graders[0].feedback_pieces, later.graders[0].copied_pieces),
            (2, 3, 2)
        );

        // Another grader's identical text is not a copy of one's own.
        let bob = UserId::new();
        let mut theirs = review(bob, 4, 60, &[greeting]);
        theirs.grader_name = "Bob".into();
        let report = grading_habits(&[reviews[0].clone(), theirs], None);
        assert_eq!(report.graders[1].copied_pieces, 0);
    }

    #[test]
    fn active_seconds_are_bounded() {
        assert!(check_active_seconds(0).is_ok() && check_active_seconds(MAX_ACTIVE_SECONDS_PER_SAVE).is_ok());
        assert_eq!(check_active_seconds(-1).unwrap_err().field, "active_seconds");
        assert!(check_active_seconds(MAX_ACTIVE_SECONDS_PER_SAVE + 1).is_err());
    }
}
