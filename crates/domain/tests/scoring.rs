//! DESIGN §3's worked examples, exactly, and the properties scoring must hold.

use plumbline_domain::evaluation::{Answer, Choice};
use plumbline_domain::org::{AutoFailPolicy, Band, Bands, NaPolicy};
use plumbline_domain::scorecard::{CriterionInput, DefinitionInput, GroupInput, ScalePreset, ScorecardDefinition};
use plumbline_domain::scoring::{ScoringPolicy, iqs, mean_score, score_evaluation, self_review_gaps};
use proptest::prelude::*;

fn criterion(title: &str, weight: f64, preset: ScalePreset, critical: bool, group: Option<usize>) -> CriterionInput {
    CriterionInput {
        id: None,
        group,
        title: title.into(),
        description: String::new(),
        weight: Some(weight),
        preset: Some(preset),
        options: None,
        na_allowed: true,
        critical,
        guidelines: String::new(),
    }
}

fn card(criteria: Vec<CriterionInput>, groups: Vec<GroupInput>) -> ScorecardDefinition {
    ScorecardDefinition::parse(DefinitionInput { groups, criteria }).expect("valid")
}

/// The answer whose option has `points` on criterion `i`.
fn points(def: &ScorecardDefinition, i: usize, points: f64) -> Answer {
    let c = &def.criteria[i];
    let o = c.scale.options.iter().position(|o| o.points == points).expect("option with those points");
    Answer { criterion_id: c.id, choice: Choice::Option(o), comment: String::new() }
}

fn na(def: &ScorecardDefinition, i: usize) -> Answer {
    Answer { criterion_id: def.criteria[i].id, choice: Choice::NotApplicable, comment: String::new() }
}

#[test]
fn iqs_guide_table_scores_88() {
    let def = card(
        vec![
            criterion("Accuracy", 40.0, ScalePreset::OneToFive, false, None),
            criterion("Tone", 20.0, ScalePreset::OneToFive, false, None),
            criterion("Compliance", 10.0, ScalePreset::OneToFive, false, None),
            criterion("Resolution", 30.0, ScalePreset::OneToFive, false, None),
        ],
        vec![],
    );
    let answers = [points(&def, 0, 4.0), points(&def, 1, 5.0), points(&def, 2, 3.0), points(&def, 3, 5.0)];
    let result = score_evaluation(&def, &answers, ScoringPolicy::default());
    assert_eq!(result.score, Some(88.0));
    assert_eq!(result.possible, 100.0);
    assert_eq!(result.earned, 88.0);
}

#[test]
fn iqs_guide_aggregate_is_90() {
    assert_eq!(iqs([(450.0, 500.0)]), Some(90.0));
    // Ratio of sums, not mean of ratios: 9/10 and 441/490 give 450/500.
    assert_eq!(iqs([(9.0, 10.0), (441.0, 490.0)]), Some(90.0));
    assert_eq!(iqs(std::iter::empty()), None);
    assert_eq!(mean_score([Some(100.0), Some(50.0), None]), Some(75.0));
}

#[test]
fn zendesk_five_point_scores_75_and_0_on_critical_fail() {
    let def = card(vec![criterion("Solution", 1.0, ScalePreset::FivePoint, false, None)], vec![]);
    assert_eq!(score_evaluation(&def, &[points(&def, 0, 3.0)], ScoringPolicy::default()).score, Some(75.0));

    let def = card(
        vec![
            criterion("Solution", 1.0, ScalePreset::FivePoint, false, None),
            criterion("Data protection", 1.0, ScalePreset::FivePoint, true, None),
        ],
        vec![],
    );
    let answers = [points(&def, 0, 4.0), points(&def, 1, 1.0)];
    let zero = score_evaluation(&def, &answers, ScoringPolicy::default());
    assert_eq!(zero.score, Some(0.0));
    assert!(zero.critical_failed);
    let flag =
        score_evaluation(&def, &answers, ScoringPolicy { auto_fail: AutoFailPolicy::Flag, ..Default::default() });
    assert_eq!(flag.score, Some(62.5));
    assert!(flag.critical_failed);
}

#[test]
fn na_is_excluded_or_counted_as_pass() {
    let def = card(
        vec![
            criterion("A", 1.0, ScalePreset::FivePoint, false, None),
            criterion("B", 1.0, ScalePreset::FivePoint, false, None),
        ],
        vec![],
    );
    let answers = [points(&def, 0, 2.0), na(&def, 1)];
    assert_eq!(score_evaluation(&def, &answers, ScoringPolicy::default()).score, Some(50.0));
    let pass = ScoringPolicy { na: NaPolicy::CountAsPass, ..Default::default() };
    assert_eq!(score_evaluation(&def, &answers, pass).score, Some(75.0));
    // Every criterion N/A: no score, not 0 or NaN.
    let all_na = score_evaluation(&def, &[na(&def, 0), na(&def, 1)], ScoringPolicy::default());
    assert_eq!(all_na.score, None);
    assert_eq!(all_na.possible, 0.0);
}

#[test]
fn a_failed_critical_group_zeroes_its_criteria() {
    let def = card(
        vec![
            criterion("Verified identity", 1.0, ScalePreset::Binary, false, Some(0)),
            criterion("Disclosed terms", 1.0, ScalePreset::Binary, false, Some(0)),
            criterion("Tone", 2.0, ScalePreset::FivePoint, false, None),
        ],
        vec![GroupInput { id: None, title: "Security".into(), critical: true }],
    );
    let answers = [points(&def, 0, 0.0), points(&def, 1, 1.0), points(&def, 2, 4.0)];
    let result = score_evaluation(&def, &answers, ScoringPolicy::default());
    // The group's two criteria count 0; Tone keeps its 2 of 4 weight: 2 / 4 = 50.
    assert_eq!(result.score, Some(50.0));
    assert!(result.critical_failed);
    assert_eq!(result.critical_failures, vec![def.criteria[0].id]);
}

#[test]
fn self_review_gaps_compare_fractions_of_each_criterion_answered_on_both_sides() {
    let def = card(
        vec![
            criterion("Accuracy", 40.0, ScalePreset::OneToFive, false, None),
            criterion("Tone", 20.0, ScalePreset::OneToFive, false, None),
            criterion("Compliance", 10.0, ScalePreset::Binary, false, None),
            criterion("Resolution", 30.0, ScalePreset::OneToFive, false, None),
        ],
        vec![],
    );
    // Accuracy 5/5 against 4/5: +20 points. Tone is N/A in the self-review and Resolution in
    // the review: neither is compared. Compliance yes against no: +100. Weights do not enter.
    let own = [points(&def, 0, 5.0), na(&def, 1), points(&def, 2, 1.0), points(&def, 3, 2.0)];
    let review = [points(&def, 0, 4.0), points(&def, 1, 3.0), points(&def, 2, 0.0), na(&def, 3)];
    let gaps = self_review_gaps(&def, &own, &review);
    assert_eq!(gaps.len(), 2);
    assert_eq!(gaps[0].0, def.criteria[0].id);
    assert!((gaps[0].1 - 20.0).abs() < 1e-9, "{gaps:?}");
    assert_eq!(gaps[1], (def.criteria[2].id, 100.0));
    // Lower than the reviewer: a negative gap.
    let gaps = self_review_gaps(&def, &review, &own);
    assert!((gaps[0].1 + 20.0).abs() < 1e-9 && gaps[1].1 == -100.0, "{gaps:?}");
}

#[test]
fn bands_classify_at_their_thresholds() {
    let bands = Bands::default();
    assert_eq!(bands.classify(80.0), Band::Excellent);
    assert_eq!(bands.classify(79.99), Band::Good);
    assert_eq!(bands.classify(70.0), Band::Good);
    assert_eq!(bands.classify(69.9), Band::NeedsAttention);
}

#[test]
fn definitions_name_each_bad_field() {
    let mut bad = criterion("", -1.0, ScalePreset::Binary, false, Some(3));
    bad.options = Some(vec![]);
    let errors = ScorecardDefinition::parse(DefinitionInput { groups: vec![], criteria: vec![bad] }).unwrap_err();
    let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
    assert!(fields.contains(&"criteria[0].title"), "{fields:?}");
    assert!(fields.contains(&"criteria[0].weight"), "{fields:?}");
    assert!(fields.contains(&"criteria[0].group"), "{fields:?}");
    assert!(fields.contains(&"criteria[0].options"), "{fields:?}");
    let empty = ScorecardDefinition::parse(DefinitionInput::default()).unwrap_err();
    assert_eq!(empty[0].field, "criteria");
}

fn presets() -> impl Strategy<Value = ScalePreset> {
    prop::sample::select(ScalePreset::ALL.to_vec())
}

/// A scorecard of 1..8 criteria with random presets, weights, critical flags, and answers
/// (an option index or N/A).
/// (preset, weight, critical) per criterion, and an answer (option index or N/A) per criterion.
type Scenario = (Vec<(ScalePreset, f64, bool)>, Vec<Option<usize>>);

fn scenario() -> impl Strategy<Value = Scenario> {
    prop::collection::vec((presets(), 0.01f64..1000.0, any::<bool>()), 1..8).prop_flat_map(|criteria| {
        let answers = criteria.iter().map(|(p, _, _)| prop::option::of(0..p.scale().options.len())).collect::<Vec<_>>();
        (Just(criteria), answers)
    })
}

fn build(criteria: &[(ScalePreset, f64, bool)], answers: &[Option<usize>]) -> (ScorecardDefinition, Vec<Answer>) {
    let def = card(
        criteria.iter().enumerate().map(|(i, (p, w, c))| criterion(&format!("C{i}"), *w, *p, *c, None)).collect(),
        vec![],
    );
    let answers = def
        .criteria
        .iter()
        .zip(answers)
        .map(|(c, a)| Answer {
            criterion_id: c.id,
            choice: a.map(Choice::Option).unwrap_or(Choice::NotApplicable),
            comment: String::new(),
        })
        .collect();
    (def, answers)
}

proptest! {
    #[test]
    fn a_score_is_within_0_and_100((criteria, answers) in scenario(), count_na in any::<bool>(), flag in any::<bool>()) {
        let (def, answers) = build(&criteria, &answers);
        let policy = ScoringPolicy {
            na: if count_na { NaPolicy::CountAsPass } else { NaPolicy::Exclude },
            auto_fail: if flag { AutoFailPolicy::Flag } else { AutoFailPolicy::Zero },
        };
        let result = score_evaluation(&def, &answers, policy);
        if let Some(s) = result.score {
            prop_assert!((0.0..=100.0).contains(&s) && s.is_finite());
            prop_assert!(result.earned <= result.possible + 1e-9);
        } else {
            prop_assert!(answers.iter().all(|a| a.choice == Choice::NotApplicable) && !count_na);
        }
    }

    #[test]
    fn reordering_criteria_changes_nothing((criteria, answers) in scenario(), seed in any::<u64>()) {
        let (def, answers) = build(&criteria, &answers);
        let before = score_evaluation(&def, &answers, ScoringPolicy::default());
        let mut shuffled = def.clone();
        let n = shuffled.criteria.len();
        let mut s = seed;
        for i in (1..n).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.criteria.swap(i, (s >> 33) as usize % (i + 1));
        }
        let mut reversed_answers = answers.clone();
        reversed_answers.reverse();
        let after = score_evaluation(&shuffled, &reversed_answers, ScoringPolicy::default());
        match (before.score, after.score) {
            (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-9, "{a} vs {b}"),
            (a, b) => prop_assert_eq!(a, b),
        }
    }

    #[test]
    fn scaling_all_weights_changes_nothing((criteria, answers) in scenario(), factor in 0.001f64..1000.0) {
        let (def, answers) = build(&criteria, &answers);
        let before = score_evaluation(&def, &answers, ScoringPolicy::default());
        let mut scaled = def.clone();
        for c in &mut scaled.criteria {
            c.weight *= factor;
        }
        let after = score_evaluation(&scaled, &answers, ScoringPolicy::default());
        match (before.score, after.score) {
            (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-9, "{a} vs {b}"),
            (a, b) => prop_assert_eq!(a, b),
        }
    }
}

/// Arbitrary JSON where a scorecard definition is expected: parsing gives a definition or field
/// errors, never a panic; what parses keeps the invariants scoring relies on.
fn definition_json() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        Just("-1".to_string()),
        Just("0".to_string()),
        Just("1e308".to_string()),
        "[0-9]{1,4}(\\.[0-9]{1,2})?"
    ];
    let text = prop_oneof![Just(String::new()), Just("<script>alert(1)</script>".to_string()), "[ -~]{0,12}"];
    let option = (text.clone(), number.clone(), prop_oneof![Just("pass"), Just("fail"), Just("maybe")]).prop_map(
        |(label, points, outcome)| format!(r#"{{"label":{label:?},"points":{points},"outcome":"{outcome}"}}"#),
    );
    let preset =
        prop_oneof![Just("binary"), Just("three_point"), Just("five_point"), Just("one_to_five"), Just("nope")];
    let criterion = (
        text.clone(),
        proptest::option::of(number),
        proptest::option::of(preset),
        proptest::option::of(proptest::collection::vec(option, 0..4)),
        proptest::option::of(0usize..3),
        any::<bool>(),
    )
        .prop_map(|(title, weight, preset, options, group, critical)| {
            let mut fields = vec![format!(r#""title":{title:?}"#), format!(r#""critical":{critical}"#)];
            if let Some(w) = weight {
                fields.push(format!(r#""weight":{w}"#));
            }
            if let Some(p) = preset {
                fields.push(format!(r#""preset":"{p}""#));
            }
            if let Some(o) = options {
                fields.push(format!(r#""options":[{}]"#, o.join(",")));
            }
            if let Some(g) = group {
                fields.push(format!(r#""group":{g}"#));
            }
            format!("{{{}}}", fields.join(","))
        });
    let group =
        (text, any::<bool>()).prop_map(|(title, critical)| format!(r#"{{"title":{title:?},"critical":{critical}}}"#));
    (proptest::collection::vec(group, 0..3), proptest::collection::vec(criterion, 0..5)).prop_map(
        |(groups, criteria)| format!(r#"{{"groups":[{}],"criteria":[{}]}}"#, groups.join(","), criteria.join(",")),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn scorecard_definitions_from_hostile_input_never_panic(json in definition_json(), noise in any::<String>()) {
        let _ = serde_json::from_str::<DefinitionInput>(&noise);
        let Ok(input) = serde_json::from_str::<DefinitionInput>(&json) else { return Ok(()) };
        if let Ok(definition) = ScorecardDefinition::parse(input) {
            prop_assert!(!definition.criteria.is_empty());
            for criterion in &definition.criteria {
                prop_assert!(criterion.weight.is_finite() && criterion.weight > 0.0);
                prop_assert!(!criterion.scale.options.is_empty());
                prop_assert!(criterion.scale.options.iter().all(|o| o.points.is_finite() && o.points >= 0.0));
                let answers: Vec<Answer> = vec![Answer { criterion_id: criterion.id, choice: Choice::Option(0), comment: String::new() }];
                let score = score_evaluation(&definition, &answers, ScoringPolicy::default());
                prop_assert!(score.score.is_none_or(|s| (0.0..=100.0).contains(&s)));
            }
        }
    }
}
