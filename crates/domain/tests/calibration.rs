//! DESIGN §5 by hand: MaestroQA's alignment, the facilitation summary (distribution, percent
//! agreement, spread, suggested answer) and a session's results, each against values worked out
//! in the comments.

use plumbline_domain::calibration::{
    ActionItem, ActionKind, CalibratedConversation, Decision, Facilitation, SubmittedScore, alignment,
    facilitation_changes, session_results, summarize_criterion,
};
use plumbline_domain::evaluation::{Answer, Choice};
use plumbline_domain::scorecard::{CriterionInput, DefinitionInput, ScalePreset, ScorecardDefinition};
use plumbline_domain::scoring::ScoringPolicy;
use plumbline_domain::{ConversationId, UserId};

fn criterion(title: &str, weight: f64, preset: ScalePreset, critical: bool, na_allowed: bool) -> CriterionInput {
    CriterionInput {
        id: None,
        group: None,
        title: title.into(),
        description: String::new(),
        weight: Some(weight),
        preset: Some(preset),
        options: None,
        na_allowed,
        critical,
        guidelines: String::new(),
    }
}

fn card(criteria: Vec<CriterionInput>) -> ScorecardDefinition {
    ScorecardDefinition::parse(DefinitionInput { groups: vec![], criteria }).expect("valid")
}

fn pick(def: &ScorecardDefinition, i: usize, choice: Choice) -> Answer {
    Answer { criterion_id: def.criteria[i].id, choice, comment: String::new() }
}

use Choice::{NotApplicable as NA, Option as Opt};

#[test]
fn alignment_follows_maestroqa() {
    // Tone: 5-point (4..0), weight 2. Resolution: Yes/No, critical. Empathy: 3-point, N/A allowed.
    let def = card(vec![
        criterion("Tone", 2.0, ScalePreset::FivePoint, false, false),
        criterion("Resolution", 1.0, ScalePreset::Binary, true, false),
        criterion("Empathy", 1.0, ScalePreset::ThreePoint, false, true),
    ]);
    // Participant: Tone 3, Resolution Yes, Empathy N/A. Benchmark: Tone 4, Resolution No, Empathy 0.
    let given = [pick(&def, 0, Opt(1)), pick(&def, 1, Opt(0)), pick(&def, 2, NA)];
    let benchmark = [pick(&def, 0, Opt(0)), pick(&def, 1, Opt(1)), pick(&def, 2, Opt(2))];
    let a = alignment(&def, &given, &benchmark);
    // a_Tone = 1 - |3 - 4| / 4 = 0.75; a_Resolution = 1 - |1 - 0| / 1 = 0; a_Empathy = 0 (N/A on one side).
    // alignment = (2 * 0.75 + 1 * 0 + 1 * 0) / (2 + 1 + 1) = 0.375.
    assert_eq!(a.alignment, Some(0.375));
    assert_eq!(a.criteria.iter().map(|c| c.alignment).collect::<Vec<_>>(), vec![0.75, 0.0, 0.0]);
    assert_eq!((a.na_disagreements, a.critical_disagreements), (1, 1));
    assert!(a.criteria[1].critical_disagreement && !a.criteria[0].critical_disagreement);

    // Both N/A counts as agreement; identical answers align fully.
    let both_na = alignment(&def, &[pick(&def, 2, NA)], &[pick(&def, 2, NA)]);
    assert_eq!(both_na.alignment, Some(1.0));
    assert_eq!(both_na.na_disagreements, 0);
    assert_eq!(alignment(&def, &benchmark, &benchmark).alignment, Some(1.0));
    // Nothing answered on both sides: no alignment, not 0.
    assert_eq!(alignment(&def, &[], &benchmark).alignment, None);
}

#[test]
fn summary_counts_agreement_spread_and_suggests_the_mode() {
    let def = card(vec![criterion("Tone", 1.0, ScalePreset::FivePoint, false, true)]);
    let c = &def.criteria[0];
    // Answers 4, 3, 3, 4, 2: distribution [2, 2, 1, 0, 0]; agreeing pairs 1 + 1 = 2 of C(5,2) = 10.
    let s = summarize_criterion(c, &[Opt(0), Opt(1), Opt(1), Opt(0), Opt(2)]);
    assert_eq!(s.distribution, vec![2, 2, 1, 0, 0]);
    assert_eq!(s.percent_agreement, Some(0.2));
    assert_eq!(s.spread, Some(2.0));
    // 4 and 3 tie; the sorted positions are [0, 0, 1, 1, 2], median position 1 (the "3"): 3 wins.
    assert_eq!(s.suggested, Some(Opt(1)));
    // A tie of two with the lower median at position 0: "4".
    assert_eq!(summarize_criterion(c, &[Opt(1), Opt(0)]).suggested, Some(Opt(0)));
    // N/A as the clear mode is suggested; nobody answering suggests nothing.
    let n = summarize_criterion(c, &[NA, NA, Opt(0)]);
    assert_eq!((n.suggested, n.not_applicable, n.answered), (Some(NA), 2, 3));
    assert_eq!(n.percent_agreement, Some(1.0 / 3.0));
    let empty = summarize_criterion(c, &[]);
    assert_eq!((empty.suggested, empty.percent_agreement, empty.spread), (None, None, None));
}

#[test]
fn session_results_by_hand() {
    // Tone 5-point and Resolution Yes/No, weight 1 each.
    let def = card(vec![
        criterion("Tone", 1.0, ScalePreset::FivePoint, false, false),
        criterion("Resolution", 1.0, ScalePreset::Binary, false, false),
    ]);
    let conversation = ConversationId::new();
    let (ann, bob, cid) = (UserId::new(), UserId::new(), UserId::new());
    let facilitation = Facilitation {
        calibrated: vec![CalibratedConversation {
            conversation_id: conversation,
            answers: vec![pick(&def, 0, Opt(0)), pick(&def, 1, Opt(0))],
            feedback: String::new(),
        }],
        ..Facilitation::default()
    };
    let scores = vec![
        // Ann: Tone 3, Resolution Yes: (3/4 + 1) / 2 = 87.5; delta -12.5; alignment (0.75 + 1) / 2.
        SubmittedScore {
            user_id: ann,
            conversation_id: conversation,
            answers: vec![pick(&def, 0, Opt(1)), pick(&def, 1, Opt(0))],
        },
        // Bob agrees with the calibrated answer: 100, delta 0.
        SubmittedScore {
            user_id: bob,
            conversation_id: conversation,
            answers: vec![pick(&def, 0, Opt(0)), pick(&def, 1, Opt(0))],
        },
    ];
    let results =
        session_results(&def, ScoringPolicy::default(), 5.0, &facilitation, &[conversation], &[ann, bob, cid], &scores);
    let of = |u: UserId| results.participants.iter().find(|p| p.user_id == u).unwrap();
    assert_eq!(of(ann).score, Some(87.5));
    assert_eq!(of(ann).calibrated_score, Some(100.0));
    assert_eq!(of(ann).score_delta, Some(-12.5));
    assert_eq!(of(ann).within_tolerance, Some(false));
    assert_eq!(of(ann).alignment, Some(0.875));
    assert_eq!((of(bob).score_delta, of(bob).within_tolerance, of(bob).alignment), (Some(0.0), Some(true), Some(1.0)));
    // Cid never scored: shown as such, with no numbers rather than zeros.
    assert!(!of(cid).scored);
    assert_eq!((of(cid).score, of(cid).alignment, of(cid).within_tolerance), (None, None, None));
    // Tone: one of two participants gave the calibrated "4"; Resolution: both.
    assert_eq!(results.criteria[0].agreement_with_calibrated, Some(0.5));
    assert_eq!(results.criteria[1].agreement_with_calibrated, Some(1.0));
    // Tone deviation: Ann |3 - 4| / 4 = 0.25, Bob 0: mean 0.125.
    assert_eq!(results.criteria[0].mean_deviation, Some(0.125));
    assert_eq!(results.criteria[1].mean_deviation, Some(0.0));
    // Two units only: the statistics say there is not enough data instead of a number.
    let alpha = results.reliability_criteria.iter().find(|s| s.name == "krippendorff_alpha").unwrap();
    assert!(alpha.value.is_none() && alpha.note.contains("not enough data"), "{alpha:?}");
}

#[test]
fn facilitation_is_checked_and_changes_are_described() {
    let def = card(vec![criterion("Tone", 1.0, ScalePreset::FivePoint, false, false)]);
    let conversation = ConversationId::new();
    let participant = UserId::new();
    let mut doc = Facilitation {
        calibrated: vec![CalibratedConversation {
            conversation_id: conversation,
            answers: vec![pick(&def, 0, NA)],
            feedback: String::new(),
        }],
        decisions: vec![Decision { id: Default::default(), text: "  ".into(), criterion_id: None }],
        actions: vec![ActionItem {
            id: Default::default(),
            kind: ActionKind::Training,
            text: "Coach on tone".into(),
            owner_id: None,
            due_on: Some("2026-02-30".into()),
            done: false,
        }],
        ..Facilitation::default()
    };
    let errors = doc.check(&def, &[conversation], &[participant]);
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["calibrated[0].answers[0].choice", "decisions[0].text", "actions[0].due_on"]);

    doc.decisions.clear();
    doc.actions.clear();
    doc.calibrated[0].answers = vec![pick(&def, 0, Opt(1))];
    assert!(doc.check(&def, &[conversation], &[participant]).is_empty());
    assert_eq!(doc.missing_answers(&def, &[conversation]).len(), 0);
    assert_eq!(Facilitation::default().missing_answers(&def, &[conversation]).len(), 1);

    let mut next = doc.clone();
    next.calibrated[0].answers = vec![pick(&def, 0, Opt(0))];
    let changes = facilitation_changes(&def, &doc, &next);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].old.as_deref(), Some("3 (3 points)"));
    assert_eq!(changes[0].new.as_deref(), Some("4 (4 points)"));
}
