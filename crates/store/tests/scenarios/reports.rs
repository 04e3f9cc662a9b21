//! Report rollups: kept in step with submissions, equal to a rebuild from the evaluations, and
//! read correctly across months, filters and vendor scopes.

use super::*;
use plumbline_domain::reports::Interval;
use plumbline_domain::scoring::score_evaluation;
use plumbline_domain::time::Date;

/// A workspace with an internal and a BPO grader, conversations on two channels for two
/// vendors, and reviews submitted over three months.
struct History {
    ws: WorkspaceId,
    bpo: VendorId,
    version: plumbline_domain::scorecard::ScorecardVersion,
    /// (vendor is BPO, channel, day submitted, score, earned, possible, csat)
    submitted: Vec<(bool, Channel, i64, f64, f64, f64, i64)>,
}

use plumbline_domain::VendorId;

fn ms(date: &str) -> i64 {
    Date::parse(date).unwrap().millis()
}

async fn history(db: &TestDatabase) -> Result<History> {
    let (ws, internal, bpo) = workspace(db).await?;
    let mut graders = Vec::new();
    for (vendor, email) in [(internal.id, "in@acme.test"), (bpo.id, "bpo@globex.test")] {
        let user = db
            .store
            .create_user(
                ws,
                NewUser {
                    vendor_id: vendor,
                    email: email.into(),
                    name: email.into(),
                    role: Role::Reviewer,
                    password_hash: "h".into(),
                    agent_id: None,
                },
            )
            .await?;
        graders.push(user.id);
    }
    let def =
        definition(&[("Tone", 2.0, ScalePreset::FivePoint, false), ("Compliance", 1.0, ScalePreset::Binary, false)]);
    let (_, v1) = db.store.create_scorecard(ws, "Support", "", &def).await?;
    let version = db.store.activate_version(ws, v1.id).await?;
    let dates = ["2026-01-30", "2026-01-31", "2026-02-01", "2026-02-14", "2026-02-28", "2026-03-01", "2026-03-02"];
    let mut submitted = Vec::new();
    for (i, date) in dates.iter().enumerate() {
        for bpo_side in [false, true] {
            let channel = if i % 2 == 0 { Channel::Chat } else { Channel::Email };
            let mut rec = record(
                &format!("C-{i}-{bpo_side}"),
                bpo_side.then_some("Globex BPO"),
                if bpo_side { "Bob" } else { "Ann" },
            );
            rec.channel = channel;
            rec.metrics.csat = Some(1 + (i as i64 % 5));
            let (conversation, _) = db.store.put_conversation(ws, &rec).await?;
            // The BPO conversations are graded by the BPO's own grader and, on even days, also by
            // the internal grader.
            let mut by = vec![if bpo_side { graders[1] } else { graders[0] }];
            if bpo_side && i % 2 == 0 {
                by.push(graders[0]);
            }
            for (k, grader) in by.into_iter().enumerate() {
                let answers = vec![
                    answer(&version, 0, Choice::Option((i + k) % 5)),
                    answer(&version, 1, if i == 3 { Choice::NotApplicable } else { Choice::Option((i + k) % 2) }),
                ];
                let e = db
                    .store
                    .create_evaluation(
                        ws,
                        NewEvaluation {
                            conversation_id: conversation.id,
                            scorecard_version_id: version.id,
                            reviewer_id: grader,
                            kind: EvaluationKind::Review,
                            answers: answers.clone(),
                            overall_feedback: String::new(),
                        },
                    )
                    .await?;
                let at = ms(date) + 3_600_000 * (k as i64 + 1);
                let done = db.store.submit_evaluation_at(ws, e.id, grader, ScoringPolicy::default(), at).await?;
                ensure!(done.submitted_at == Some(at) && done.created_at <= at);
                let score = score_evaluation(&version.definition, &answers, ScoringPolicy::default());
                submitted.push((
                    bpo_side,
                    channel,
                    Date::parse(date).unwrap().days(),
                    score.score.unwrap(),
                    score.earned,
                    score.possible,
                    1 + (i as i64 % 5),
                ));
            }
        }
    }
    Ok(History { ws, bpo: bpo.id, version, submitted })
}

fn expected_iqs(items: impl Iterator<Item = (f64, f64)>) -> Option<f64> {
    let (e, p) = items.fold((0.0, 0.0), |(e, p), (a, b)| (e + a, p + b));
    (p > 0.0).then(|| 100.0 * e / p)
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
        (None, None) => true,
        _ => false,
    }
}

pub(crate) async fn rollups_follow_submissions_and_match_a_rebuild(db: &TestDatabase) -> Result<()> {
    let h = history(db).await?;
    let bands = Bands::default();
    let report = |grouping, filter: IqsFilter| {
        let store = db.store.clone();
        async move { store.iqs_report(h.ws, VendorScope::All, grouping, &filter, &bands).await }
    };
    // All time, by vendor: the ratio of sums of what was submitted.
    let by_vendor = report(IqsGrouping::Vendor, IqsFilter::default()).await?;
    ensure!(by_vendor.len() == 2, "{by_vendor:?}");
    for row in &by_vendor {
        let bpo = row.id.as_deref() == Some(&h.bpo.to_string());
        let want = expected_iqs(h.submitted.iter().filter(|s| s.0 == bpo).map(|s| (s.4, s.5)));
        ensure!(close(row.iqs, want), "{row:?} vs {want:?}");
    }
    // All time reads the all-time rows; a range from the second day of 1970 up to tomorrow
    // reads month and day rows: every grouping agrees, and so do the rows' totals.
    let day = plumbline_domain::time::DAY_MS;
    let tomorrow = (plumbline_store::now_millis().div_euclid(day) + 1) * day;
    let since_1970 = IqsFilter { from: Some(day), to: Some(tomorrow), ..Default::default() };
    for grouping in [IqsGrouping::Agent, IqsGrouping::Team, IqsGrouping::Vendor, IqsGrouping::Channel] {
        let all_time = report(grouping, IqsFilter::default()).await?;
        let ranged = report(grouping, since_1970.clone()).await?;
        ensure!(all_time.len() == ranged.len() && !all_time.is_empty(), "{grouping:?}");
        for (a, b) in all_time.iter().zip(&ranged) {
            ensure!(a.id == b.id && a.evaluations == b.evaluations && close(a.iqs, b.iqs), "{a:?} vs {b:?}");
        }
    }
    let totals = db.store.rollup_totals(h.ws).await?;
    for table in ["rollup_agent", "rollup_segment"] {
        let grain = |g: &str| -> Vec<_> {
            let prefix = format!("{table}.{g}.");
            totals.iter().filter(|(k, _)| k.starts_with(&prefix) && !k.ends_with(".rows")).map(|(_, v)| *v).collect()
        };
        ensure!(!grain("2").is_empty() && grain("2") == grain("1"), "{table}: {totals:?}");
    }
    ensure!(!totals.iter().any(|(k, _)| k.starts_with("rollup_criteria.2.")), "{totals:?}");
    // A range that starts and ends mid-month: Jan 31 up to Mar 2 (month rows for February, day
    // rows for Jan 31 and Mar 1).
    let ranged = IqsFilter { from: Some(ms("2026-01-31")), to: Some(ms("2026-03-02")), ..Default::default() };
    let (lo, hi) = (Date::parse("2026-01-31").unwrap().days(), Date::parse("2026-03-02").unwrap().days());
    let rows = report(IqsGrouping::Channel, ranged.clone()).await?;
    for channel in [Channel::Chat, Channel::Email] {
        let want =
            expected_iqs(h.submitted.iter().filter(|s| s.1 == channel && s.2 >= lo && s.2 < hi).map(|s| (s.4, s.5)));
        let got = rows.iter().find(|r| r.id.as_deref() == Some(channel.as_str())).and_then(|r| r.iqs);
        ensure!(close(got, want), "{channel:?}: {got:?} vs {want:?}");
        let prev = rows.iter().find(|r| r.id.as_deref() == Some(channel.as_str())).unwrap();
        // The previous period of the same length (30 days before Jan 31) holds Jan 30 only.
        let want_prev = expected_iqs(
            h.submitted.iter().filter(|s| s.1 == channel && s.2 >= lo - 30 && s.2 < lo).map(|s| (s.4, s.5)),
        );
        ensure!(close(prev.previous_iqs, want_prev), "{prev:?} vs {want_prev:?}");
    }
    // A range that covers most of its month reads the month's rows less the days it leaves
    // out: Feb 2 up to Feb 28 is February's rows less Feb 1's and Feb 28's (both chat, so chat
    // is not in the range at all); its previous period (Jan 5 up to Feb 2) is January's rows
    // less Jan 1 to 4, plus Feb 1. Every grouping counts the reviews of the range, and lists
    // no group whose reviews all fell on days left out.
    let mostly_a_month = IqsFilter { from: Some(ms("2026-02-02")), to: Some(ms("2026-02-28")), ..Default::default() };
    let (lo, hi) = (Date::parse("2026-02-02").unwrap().days(), Date::parse("2026-02-28").unwrap().days());
    let in_range = |s: &&(bool, Channel, i64, f64, f64, f64, i64)| s.2 >= lo && s.2 < hi;
    let in_previous = |s: &&(bool, Channel, i64, f64, f64, f64, i64)| s.2 >= lo - (hi - lo) && s.2 < lo;
    let counted = h.submitted.iter().filter(in_range).count() as i64;
    ensure!(counted > 0 && h.submitted.iter().any(|s| s.2 == lo - 1), "the range must leave out a day with reviews");
    for grouping in [IqsGrouping::Agent, IqsGrouping::Vendor, IqsGrouping::Channel, IqsGrouping::Criterion] {
        let rows = report(grouping, mostly_a_month.clone()).await?;
        ensure!(rows.iter().all(|r| r.evaluations + r.not_applicable.unwrap_or(0) > 0), "{grouping:?}: {rows:?}");
        if grouping != IqsGrouping::Criterion {
            ensure!(rows.iter().map(|r| r.evaluations).sum::<i64>() == counted, "{grouping:?}: {rows:?}");
        }
    }
    let rows = report(IqsGrouping::Channel, mostly_a_month).await?;
    for channel in [Channel::Chat, Channel::Email] {
        let row = rows.iter().find(|r| r.id.as_deref() == Some(channel.as_str()));
        let want = expected_iqs(h.submitted.iter().filter(in_range).filter(|s| s.1 == channel).map(|s| (s.4, s.5)));
        ensure!(row.is_some() == want.is_some() && close(row.and_then(|r| r.iqs), want), "{channel:?}: {row:?}");
        if let Some(row) = row {
            let want_prev =
                expected_iqs(h.submitted.iter().filter(in_previous).filter(|s| s.1 == channel).map(|s| (s.4, s.5)));
            ensure!(close(row.previous_iqs, want_prev), "{channel:?}: {row:?} vs {want_prev:?}");
        }
    }
    // By criterion: the share of the maximum over answers that are not N/A.
    let rows = report(IqsGrouping::Criterion, IqsFilter::default()).await?;
    ensure!(rows.len() == 2);
    let compliance = rows.iter().find(|r| r.name == "Compliance").unwrap();
    let total = h.submitted.len() as i64;
    ensure!(compliance.not_applicable == Some(2) && compliance.evaluations == total - 2, "{compliance:?}");
    // Groups: both criteria are outside any group.
    let rows = report(IqsGrouping::Group, IqsFilter::default()).await?;
    ensure!(rows.len() == 1 && rows[0].name == "(no group)");
    let overall = expected_iqs(h.submitted.iter().map(|s| (s.4, s.5)));
    let by_card = report(IqsGrouping::Scorecard, IqsFilter::default()).await?;
    ensure!(by_card.len() == 1 && by_card[0].name == "Support" && close(by_card[0].iqs, overall));
    // The all-teams rows and the per-team rows agree: with one team per vendor, a team filter
    // gives what the vendor filter gives.
    let teams = db.store.list_teams(h.ws, VendorScope::Only(h.bpo)).await?;
    ensure!(teams.len() == 1);
    for grouping in [IqsGrouping::Channel, IqsGrouping::Criterion, IqsGrouping::Scorecard] {
        let by_team = report(grouping, IqsFilter { team_id: Some(teams[0].id), ..Default::default() }).await?;
        let by_vendor = report(grouping, IqsFilter { vendor_id: Some(h.bpo), ..Default::default() }).await?;
        ensure!(by_team.len() == by_vendor.len() && !by_team.is_empty(), "{grouping:?}");
        for (a, b) in by_team.iter().zip(&by_vendor) {
            ensure!(a.id == b.id && a.evaluations == b.evaluations && close(a.iqs, b.iqs), "{a:?} vs {b:?}");
        }
    }
    let by_team = report(IqsGrouping::Team, IqsFilter::default()).await?;
    ensure!(by_team.len() == 2 && by_team.iter().all(|r| r.id.as_deref() != Some("*")), "{by_team:?}");
    // A vendor-scoped reader sees their vendor only.
    let scoped =
        db.store.iqs_report(h.ws, VendorScope::Only(h.bpo), IqsGrouping::Agent, &IqsFilter::default(), &bands).await?;
    ensure!(scoped.len() == 1 && scoped[0].name == "Bob", "{scoped:?}");
    // A filter the rollup does not have is refused, naming it.
    let refused = db
        .store
        .iqs_report(
            h.ws,
            VendorScope::All,
            IqsGrouping::Agent,
            &IqsFilter { channel: Some("chat".into()), ..Default::default() },
            &bands,
        )
        .await;
    ensure!(matches!(refused, Err(StoreError::Invalid(e)) if e[0].field == "channel"));

    // A monthly series puts each submission in its month; a weekly one in its ISO week.
    let (from, to) = (Date::parse("2026-01-01").unwrap().days(), Date::parse("2026-04-01").unwrap().days());
    // The segment rollup summed over all segments.
    let segments = |days: (i64, i64), time: TimeMode| {
        let store = db.store.clone();
        async move {
            let filter = IqsFilter::default();
            store.rollup_sums(Sums::Outcomes, h.ws, VendorScope::All, Rollup::Segment, &[], &filter, days, time).await
        }
    };
    let months = segments((from, to), TimeMode::Series(Interval::Month)).await?;
    ensure!(months.len() == 3);
    for m in &months {
        let start = m.bucket.unwrap();
        let end = plumbline_domain::reports::next_month_start(start);
        let n = h.submitted.iter().filter(|s| s.2 >= start && s.2 < end).count() as i64;
        ensure!(m.sums.evaluations == n, "{m:?}");
    }
    let weeks = segments((from, to), TimeMode::Series(Interval::Week)).await?;
    ensure!(weeks.iter().map(|w| w.sums.evaluations).sum::<i64>() == total);
    ensure!(weeks.iter().all(|w| Interval::Week.bucket(w.bucket.unwrap()) == w.bucket.unwrap()));
    // Summed for a chosen few agents: exactly those agents' lines of the read for every agent,
    // over all time (all-time rows) and over a range (month and day rows).
    for days in [(0, to + 365), (from + 17, to)] {
        let per_agent = |agents: Option<Vec<String>>| {
            let store = db.store.clone();
            async move {
                let filter = IqsFilter::default();
                let mut rows = match agents {
                    Some(ids) => store.agent_sums_of(h.ws, VendorScope::All, &filter, days, &ids).await?,
                    None => {
                        let every = TimeMode::Total;
                        store
                            .rollup_sums(
                                Sums::Outcomes,
                                h.ws,
                                VendorScope::All,
                                Rollup::Agent,
                                &["agent_id"],
                                &filter,
                                days,
                                every,
                            )
                            .await?
                    }
                };
                rows.sort_by(|a, b| a.key.cmp(&b.key));
                anyhow::Ok(rows)
            }
        };
        let every = per_agent(None).await?;
        ensure!(every.len() >= 2, "{every:?}");
        let chosen: Vec<String> = every.iter().skip(1).map(|r| r.key[0].clone()).filter(|id| !id.is_empty()).collect();
        let some = per_agent(Some(chosen.clone())).await?;
        ensure!(some.len() == chosen.len() && some.iter().all(|r| chosen.contains(&r.key[0])), "{some:?}");
        ensure!(some.iter().all(|r| every.contains(r)), "{some:?}\n{every:?}");
        ensure!(per_agent(Some(Vec::new())).await?.is_empty());
    }
    // CSAT pairs are summed per segment: the correlation over all of them is the correlation of
    // the submitted pairs.
    let totals = || segments((0, to), TimeMode::Total);
    let all = totals().await?;
    let mut pairs = plumbline_domain::reports::PairSums::default();
    for s in &h.submitted {
        pairs.add(&plumbline_domain::reports::PairSums::one(s.3, s.6 as f64));
    }
    let got = all[0].outcomes.csat.pearson().map(|c| c.r);
    ensure!(close(got, pairs.pearson().map(|c| c.r)), "{got:?}");

    // A rebuild from the evaluations gives the same reports.
    let before: Vec<_> = [IqsGrouping::Agent, IqsGrouping::Vendor, IqsGrouping::Channel, IqsGrouping::Criterion]
        .into_iter()
        .map(|g| (g, ranged.clone()))
        .collect();
    let mut expected = Vec::new();
    for (g, f) in &before {
        expected.push(report(*g, f.clone()).await?);
    }
    let counted = db.store.rebuild_rollups(h.ws).await?;
    ensure!(counted == total as u64, "{counted}");
    for ((g, f), want) in before.iter().zip(expected) {
        let got = report(*g, f.clone()).await?;
        ensure!(got.len() == want.len(), "{g:?}");
        for (a, b) in got.iter().zip(&want) {
            ensure!(a.id == b.id && a.evaluations == b.evaluations && close(a.iqs, b.iqs), "{g:?}: {a:?} vs {b:?}");
        }
    }
    // A late CSAT and a corrected channel arrive by re-import: the reports follow at once, and
    // equal a rebuild from scratch.
    let csat_of = |rows: Vec<RollupRow>| rows.first().map(|r| r.outcomes.csat);
    for (external, bpo_side) in [("C-0-true", true), ("C-3-false", false)] {
        let mut rec = record(external, bpo_side.then_some("Globex BPO"), if bpo_side { "Bob" } else { "Ann" });
        rec.channel = Channel::Phone;
        rec.metrics.csat = Some(5);
        rec.metrics.nps = None;
        let (_, created) = db.store.put_conversation(h.ws, &rec).await?;
        ensure!(!created);
    }
    let by_channel = report(IqsGrouping::Channel, IqsFilter::default()).await?;
    ensure!(by_channel.iter().any(|r| r.id.as_deref() == Some("phone") && r.evaluations == 3), "{by_channel:?}");
    let after_import = csat_of(totals().await?);
    db.store.rebuild_rollups(h.ws).await?;
    let rebuilt = csat_of(totals().await?);
    ensure!(after_import.map(|p| (p.n, p.y)) == rebuilt.map(|p| (p.n, p.y)), "{after_import:?} vs {rebuilt:?}");
    let rebuilt_channels = report(IqsGrouping::Channel, IqsFilter::default()).await?;
    ensure!(rebuilt_channels.len() == by_channel.len());
    for (a, b) in by_channel.iter().zip(&rebuilt_channels) {
        ensure!(a.id == b.id && a.evaluations == b.evaluations && close(a.iqs, b.iqs), "{a:?} vs {b:?}");
    }
    let _ = h.version;
    Ok(())
}

pub(crate) async fn targets_round_trip_and_refuse_bad_input(db: &TestDatabase) -> Result<()> {
    let s = scene(db).await?;
    let input = TargetInput {
        name: "Billing to 85".into(),
        vendor_id: None,
        team_id: None,
        scorecard_id: None,
        value: 85.0,
        start: "2026-01-01".into(),
        due: "2026-06-30".into(),
        milestones: vec![plumbline_domain::reports::Milestone { date: "2026-03-31".into(), value: 82.0 }],
    };
    let target = db.store.create_target(s.ws, s.reviewer, &input).await?;
    ensure!(target.value == 85.0 && target.start == "2026-01-01" && target.milestones.len() == 1);
    let listed = db.store.list_targets(s.ws, VendorScope::All).await?;
    ensure!(listed == vec![target.clone()]);
    // Bad input names each field and changes nothing.
    let bad = TargetInput { value: 120.0, due: "2025-01-01".into(), name: " ".into(), ..input.clone() };
    let refused = db.store.update_target(s.ws, &target.id, &bad).await;
    ensure!(
        matches!(&refused, Err(StoreError::Invalid(e)) if e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>() == ["name", "value", "due", "milestones/0/date"]),
        "{refused:?}"
    );
    let unknown_team = TargetInput { team_id: Some(plumbline_domain::TeamId::new()), ..input.clone() };
    ensure!(
        matches!(db.store.create_target(s.ws, s.reviewer, &unknown_team).await, Err(StoreError::Invalid(e)) if e[0].field == "team_id")
    );
    ensure!(db.store.get_target(s.ws, VendorScope::All, &target.id).await? == target);
    // A vendor-scoped reader does not see a workspace-wide target.
    let other = db.store.create_vendor(s.ws, "Other BPO").await?;
    ensure!(db.store.list_targets(s.ws, VendorScope::Only(other.id)).await?.is_empty());
    db.store.delete_target(s.ws, &target.id).await?;
    ensure!(matches!(db.store.get_target(s.ws, VendorScope::All, &target.id).await, Err(StoreError::NotFound)));
    Ok(())
}

/// The rollup tables as sorted text, to compare two states exactly.
async fn rollup_tables(db: &TestDatabase) -> Result<Vec<String>> {
    use sqlx::Row;
    let mut rows = Vec::new();
    for (table, key, sums) in [
        (
            "rollup_agent",
            "vendor_id, team_id, agent_id, scorecard_id",
            "evaluations, earned, score_sq, csat_n, handle_sum",
        ),
        (
            "rollup_segment",
            "vendor_id, team_id, channel, scorecard_id, grader_class",
            "evaluations, earned_sq, csat_xy, nps_n, fcr_yes",
        ),
        ("rollup_criteria", "vendor_id, team_id, scorecard_id", "sums"),
    ] {
        let sql = format!("SELECT grain, period, {key}, {sums} FROM {table} ORDER BY grain, period, {key}",);
        for row in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(db.pool()).await? {
            let mut text = format!("{table}:");
            for i in 0..row.columns().len() {
                let value = match (row.try_get::<i64, _>(i), row.try_get::<f64, _>(i)) {
                    (Ok(n), _) => n.to_string(),
                    (_, Ok(x)) => x.to_string(),
                    _ => row.try_get::<String, _>(i)?,
                };
                text.push(' ');
                text.push_str(&value);
            }
            rows.push(text);
        }
    }
    Ok(rows)
}

/// Many reviews submitted at once (on SQLite one commit sums the rollup rows of all its writers),
/// with racing submits of one draft and a rebuild among them, leave the rollups exactly as a
/// rebuild from the evaluations computes them.
pub async fn concurrent_submissions_match_a_rebuild(db: &TestDatabase) -> Result<()> {
    let s = scene(db).await?;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..36usize {
        let mut rec = record(&format!("K-{i}"), None, ["Ann", "Bob", "Cy"][i % 3]);
        rec.metrics.csat = Some(1 + (i as i64 % 5));
        let (conversation, _) = db.store.put_conversation(s.ws, &rec).await?;
        let new = NewEvaluation {
            conversation_id: conversation.id,
            scorecard_version_id: s.version.id,
            reviewer_id: s.reviewer,
            kind: EvaluationKind::Review,
            answers: vec![
                answer(&s.version, 0, if i % 7 == 0 { Choice::NotApplicable } else { Choice::Option(i % 5) }),
                answer(&s.version, 1, Choice::Option(i % 2)),
            ],
            overall_feedback: String::new(),
        };
        let (store, ws, reviewer) = (db.store.clone(), s.ws, s.reviewer);
        let policy = ScoringPolicy::default();
        if i % 2 == 0 {
            tasks.spawn(async move { store.create_submitted_evaluation(ws, new, policy).await.map(|_| 1) });
        } else {
            // A draft submitted twice at once: one submit counts, the other is refused.
            let draft = store.create_evaluation(ws, new).await?;
            for _ in 0..2 {
                let store = store.clone();
                tasks.spawn(async move {
                    match store.submit_evaluation(ws, draft.id, reviewer, policy).await {
                        Ok(_) => Ok(1),
                        Err(StoreError::Conflict(_)) => Ok(0),
                        Err(e) => Err(e),
                    }
                });
            }
        }
        if i == 20 {
            let store = db.store.clone();
            tasks.spawn(async move { store.rebuild_rollups(ws).await.map(|_| 0) });
        }
    }
    let mut counted = 0;
    while let Some(done) = tasks.join_next().await {
        counted += done??;
    }
    ensure!(counted == 36, "{counted} submissions counted");
    let kept = rollup_tables(db).await?;
    ensure!(kept.iter().any(|r| r.starts_with("rollup_criteria")), "{kept:?}");
    ensure!(db.store.rebuild_rollups(s.ws).await? == 36);
    let rebuilt = rollup_tables(db).await?;
    ensure!(kept == rebuilt, "kept {kept:#?}\nrebuilt {rebuilt:#?}");
    Ok(())
}

/// A per-agent read of a period with the IQS sums of its previous period (on SQLite one walk
/// over the agents, the two periods' ranges merged, some taken away) gives what two separate
/// reads give, for ranges of many lengths and positions around the months of the history:
/// groups with nothing in the period are left out of it (every agent, where only the previous
/// period has reviews), and the previous period lists its groups with something scored.
pub(crate) async fn a_period_read_with_its_previous_matches_two_reads(db: &TestDatabase) -> Result<()> {
    let h = history(db).await?;
    let store = &db.store;
    let filter = IqsFilter::default();
    let start = Date::parse("2026-01-01").unwrap().days();
    // Among them Feb 2 up to Feb 28 (February's rows less Feb 1's and Feb 28's), whose previous
    // period ends with Feb 1's rows: one range in both periods, with both signs.
    let mut only_previous = 0;
    for from in (start..start + 95).step_by(4) {
        for length in [1, 5, 13, 26, 30, 45] {
            let (days, previous) = ((from, from + length), (from - length, from));
            let agent = Rollup::Agent;
            let (current, earlier) = store
                .rollup_sums_compared(
                    Sums::Scores,
                    h.ws,
                    VendorScope::All,
                    agent,
                    &["agent_id"],
                    &filter,
                    days,
                    previous,
                )
                .await?;
            let all = VendorScope::All;
            let total = TimeMode::Total;
            let want = store.rollup_sums(Sums::Scores, h.ws, all, agent, &["agent_id"], &filter, days, total).await?;
            let mut want_earlier =
                store.rollup_sums(Sums::Iqs, h.ws, all, agent, &["agent_id"], &filter, previous, total).await?;
            want_earlier.retain(|r| r.sums.scored != 0);
            let sorted = |mut rows: Vec<RollupRow>| {
                rows.sort_by(|a, b| a.key.cmp(&b.key));
                rows
            };
            let (current, earlier, want, want_earlier) =
                (sorted(current), sorted(earlier), sorted(want), sorted(want_earlier));
            let same = |a: &[RollupRow], b: &[RollupRow]| {
                a.len() == b.len()
                    && a.iter().zip(b).all(|(x, y)| {
                        x.key == y.key
                            && x.name == y.name
                            && x.sums.evaluations == y.sums.evaluations
                            && x.sums.scored == y.sums.scored
                            && close(Some(x.sums.earned), Some(y.sums.earned))
                            && close(Some(x.sums.possible), Some(y.sums.possible))
                            && close(Some(x.sums.earned_sq), Some(y.sums.earned_sq))
                            && close(Some(x.sums.score_sum), Some(y.sums.score_sum))
                            && x.sums.critical_failed == y.sums.critical_failed
                    })
            };
            ensure!(same(&current, &want), "{days:?}: {current:?}\nwant {want:?}");
            // A leaderboard reads only what IQS with its interval needs, and gets the same.
            let (ranked, _) = store
                .rollup_sums_compared(Sums::Interval, h.ws, all, agent, &["agent_id"], &filter, days, previous)
                .await?;
            let ranked = sorted(ranked);
            ensure!(
                ranked.len() == want.len()
                    && ranked.iter().zip(&want).all(|(x, y)| {
                        x.key == y.key
                            && x.sums.evaluations == y.sums.evaluations
                            && close(x.sums.iqs(), y.sums.iqs())
                            && close(x.sums.iqs_ci95().map(|c| c[0]), y.sums.iqs_ci95().map(|c| c[0]))
                            && close(x.sums.iqs_ci95().map(|c| c[1]), y.sums.iqs_ci95().map(|c| c[1]))
                    }),
                "{days:?}: {ranked:?}\nwant {want:?}"
            );
            ensure!(same(&earlier, &want_earlier), "{previous:?}: {earlier:?}\nwant {want_earlier:?}");
            only_previous += usize::from(current.is_empty() && !earlier.is_empty());
        }
    }
    ensure!(only_previous > 0, "no range whose reviews are all in its previous period");
    Ok(())
}

/// The IQS vs CSAT mismatch lists hold, newest first, exactly the counted reviews whose score
/// and their conversation's CSAT are on the list's sides of the bounds, whichever way the store
/// reads them (one walk per CSAT value, merged; one walk for a team), with a limit, a range
/// and filters; and they follow a late CSAT that a re-import brings.
pub(crate) async fn mismatch_lists_hold_every_disagreement_newest_first(db: &TestDatabase) -> Result<()> {
    use sqlx::Row;
    let h = history(db).await?;
    // The definition, read plainly: every counted review with its conversation's current CSAT.
    let every = || async {
        let rows = sqlx::query(
            "SELECT e.id, e.score, c.csat, e.vendor_id, e.team_id, e.agent_id, e.submitted_at FROM evaluations e
             JOIN conversations c ON c.id = e.conversation_id
             WHERE e.workspace_id = $1 AND e.status = 'submitted' AND e.kind IN ('review', 'calibrated')
               AND e.calibration_session_id IS NULL AND e.score IS NOT NULL AND c.csat IS NOT NULL
             ORDER BY e.submitted_at DESC, e.id DESC",
        )
        .bind(h.ws.to_string())
        .fetch_all(db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Review {
                    id: r.try_get("id")?,
                    score: r.try_get("score")?,
                    csat: r.try_get("csat")?,
                    vendor: r.try_get("vendor_id")?,
                    team: r.try_get("team_id")?,
                    agent: r.try_get("agent_id")?,
                    at: r.try_get("submitted_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
    let teams = db.store.list_teams(h.ws, VendorScope::Only(h.bpo)).await?;
    let reviews = every().await?;
    let bob = reviews.iter().find(|r| r.vendor == h.bpo.to_string()).and_then(|r| r.agent.clone());
    let filters = [
        IqsFilter::default(),
        IqsFilter { vendor_id: Some(h.bpo), ..Default::default() },
        IqsFilter { team_id: Some(teams[0].id), ..Default::default() },
        IqsFilter { agent_id: Some(bob.unwrap_or_default().parse()?), ..Default::default() },
        IqsFilter { from: Some(ms("2026-01-31")), to: Some(ms("2026-03-01")), ..Default::default() },
    ];
    let filters = &filters;
    let check = |reviews: Vec<Review>| async move {
        let mut lists = 0;
        for filter in filters {
            // Two CSAT values on each side (merged walks) and one (a single walk).
            for (high, bounds) in [(true, (50.0, 2)), (false, (70.0, 4)), (true, (0.0, 1)), (false, (101.0, 5))] {
                for limit in [2, 50] {
                    let got = db.store.iqs_csat_mismatches(h.ws, VendorScope::All, filter, high, bounds, limit).await?;
                    let want: Vec<String> = reviews
                        .iter()
                        .filter(|r| {
                            let sides = if high {
                                r.score >= bounds.0 && r.csat <= bounds.1
                            } else {
                                r.score < bounds.0 && r.csat >= bounds.1
                            };
                            let is = |id: Option<String>, wanted: Option<String>| wanted.is_none() || id == wanted;
                            sides
                                && is(Some(r.vendor.clone()), filter.vendor_id.map(|v| v.to_string()))
                                && is(r.team.clone(), filter.team_id.map(|t| t.to_string()))
                                && is(r.agent.clone(), filter.agent_id.map(|a| a.to_string()))
                                && filter.from.is_none_or(|f| r.at >= f)
                                && filter.to.is_none_or(|t| r.at < t)
                        })
                        .take(limit as usize)
                        .map(|r| r.id.clone())
                        .collect();
                    let ids: Vec<String> = got.iter().map(|m| m.evaluation_id.to_string()).collect();
                    ensure!(ids == want, "{filter:?} high={high} {bounds:?} limit {limit}: {ids:?} vs {want:?}");
                    lists += usize::from(!want.is_empty());
                }
            }
        }
        anyhow::Ok(lists)
    };
    ensure!(check(reviews).await? > 10, "the lists are not all empty");
    // A late CSAT on the newest conversation: the lists move with it.
    let mut late = record("C-6-false", None, "Ann");
    late.metrics.csat = Some(1);
    late.channel = Channel::Chat;
    let (_, created) = db.store.put_conversation(h.ws, &late).await?;
    ensure!(!created);
    let reviews = every().await?;
    ensure!(reviews.iter().filter(|r| r.csat == 1).count() > h.submitted.iter().filter(|s| s.6 == 1).count());
    check(reviews).await?;
    Ok(())
}

/// A counted review as the mismatch lists see it.
struct Review {
    id: String,
    score: f64,
    csat: i64,
    vendor: String,
    team: Option<String>,
    agent: Option<String>,
    at: i64,
}
