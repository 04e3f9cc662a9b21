//! Review assignments: a plan samples conversations at random (a percentage, or N per agent per
//! period) from a filter, with a recorded seed so a draw can be reproduced; the drawn
//! conversations are spread evenly across the plan's graders, never giving a grader a
//! conversation outside their vendor scope (DESIGN §1: a BPO grader reviews only their own
//! vendor's conversations); each becomes an item in that grader's queue with a due date, and is
//! done when the review started from it is submitted.
//!
//! The random draw is [`crate::series::draw`] (SplitMix64 over the sorted candidates), the same
//! generator as calibration series and grade-the-grader, so one recorded seed always gives one
//! sample.

use crate::access::VendorScope;
use crate::conversation::Channel;
use crate::scorecard::FieldError;
use crate::series::{draw, occurrence_seed};
use crate::time::{DAY_MS, Date};
use crate::{AgentId, ConversationId, Millis, ScorecardId, TeamId, UserId, VendorId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// How many conversations a draw takes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanSample {
    /// This percentage (0 < p <= 100) of the matching conversations, at random.
    Percent(f64),
    /// This many conversations per agent per period (`period_days`) of the draw's window.
    PerAgent(u32),
}

/// Which conversations a plan samples from. Dates are the conversation's start, UTC, both ends
/// inclusive; without dates a draw takes the `period_days` before it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PlanFilter {
    pub vendor_id: Option<VendorId>,
    pub team_id: Option<TeamId>,
    pub channel: Option<Channel>,
    /// `YYYY-MM-DD`: conversations started on or after this day.
    pub from: Option<String>,
    /// `YYYY-MM-DD`: conversations started on or before this day.
    pub to: Option<String>,
    /// CSAT at least this (1 to 5); conversations without CSAT are left out when set.
    pub min_csat: Option<i64>,
    /// CSAT at most this (1 to 5); conversations without CSAT are left out when set.
    pub max_csat: Option<i64>,
    /// Also draw conversations that already have a review (default: only unreviewed ones).
    pub include_reviewed: bool,
}

impl PlanFilter {
    /// Field errors of the filter's own values (dates, CSAT range), with `filter.` paths.
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut day = |field: &str, value: &Option<String>| match value {
            Some(text) if Date::parse(text).is_none() => {
                errors.push(FieldError::new(format!("filter.{field}"), format!("{text:?} is not a date (YYYY-MM-DD)")));
                None
            }
            Some(text) => Date::parse(text),
            None => None,
        };
        let (from, to) = (day("from", &self.from), day("to", &self.to));
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            errors.push(FieldError::new("filter.to", "must not be before filter.from"));
        }
        for (field, value) in [("min_csat", self.min_csat), ("max_csat", self.max_csat)] {
            if value.is_some_and(|v| !(1..=5).contains(&v)) {
                errors.push(FieldError::new(format!("filter.{field}"), "must be 1 to 5"));
            }
        }
        if let (Some(min), Some(max)) = (self.min_csat, self.max_csat)
            && min > max
        {
            errors.push(FieldError::new("filter.max_csat", "must not be below filter.min_csat"));
        }
        errors
    }

    /// The window `[from, to)` (Unix ms) a draw at `now` samples: the filter's dates (the end
    /// day included), else the `period_days` before `now` (or before the end day).
    pub fn window(&self, now: Millis, period_days: u32) -> (Millis, Millis) {
        let period = i64::from(period_days.max(1)) * DAY_MS;
        let to = self.to.as_deref().and_then(Date::parse).map_or(now, |d| d.millis() + DAY_MS);
        let from = self.from.as_deref().and_then(Date::parse).map_or(to - period, Date::millis);
        (from, to.max(from))
    }
}

/// A review plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewPlan {
    pub id: crate::PlanId,
    pub name: String,
    /// Reviews use this scorecard's version that is active when the grader starts.
    pub scorecard_id: ScorecardId,
    pub sample: PlanSample,
    /// The period of "N per agent per period", and the default window of a draw.
    pub period_days: u32,
    pub filter: PlanFilter,
    pub grader_ids: Vec<UserId>,
    /// Each item is due this many days after its draw.
    pub due_in_days: u32,
    /// The plan's random seed (decimal text); draw `n` uses [`occurrence_seed`]`(seed, n)`.
    #[schema(value_type = String)]
    #[serde(with = "crate::series::seed_text")]
    pub seed: u64,
    pub active: bool,
    pub created_at: Millis,
}

/// A conversation a draw may take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanCandidate {
    pub conversation_id: ConversationId,
    pub agent_id: Option<AgentId>,
    pub vendor_id: VendorId,
    pub started_at: Millis,
}

/// Draws the conversations of one draw, with that draw's `seed`. Percent: that share of all
/// candidates. Per agent: the window is cut into periods of `period_days` from `window_from`,
/// and `n` conversations are drawn for each agent in each period (conversations without an
/// agent count as one more "agent"), each group with the seed mixed with the agent and the
/// period, so the same candidates and seed always give the same sample. Sorted.
pub fn sample_conversations(
    candidates: &[PlanCandidate],
    sample: PlanSample,
    window_from: Millis,
    period_days: u32,
    seed: u64,
) -> Vec<ConversationId> {
    let mut drawn = match sample {
        PlanSample::Percent(p) => {
            let count = ((candidates.len() as f64) * p.clamp(0.0, 100.0) / 100.0).round() as usize;
            let ids: Vec<ConversationId> = candidates.iter().map(|c| c.conversation_id).collect();
            draw(&ids, count, seed)
        }
        PlanSample::PerAgent(n) => {
            let period = i64::from(period_days.max(1)) * DAY_MS;
            let mut groups: BTreeMap<(Option<AgentId>, i64), Vec<ConversationId>> = BTreeMap::new();
            for c in candidates {
                let index = (c.started_at - window_from).div_euclid(period);
                groups.entry((c.agent_id, index)).or_default().push(c.conversation_id);
            }
            let mut out = Vec::new();
            for ((agent, index), ids) in groups {
                let agent_bits = agent.map_or(0, |a| a.0.as_u128() as u64);
                out.extend(draw(&ids, n as usize, occurrence_seed(seed ^ agent_bits, index as u32)));
            }
            out
        }
    };
    drawn.sort();
    drawn
}

/// A grader of a plan and the vendors whose conversations they may review (their
/// [`crate::access::Viewer::vendor_scope`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GraderScope {
    pub user_id: UserId,
    pub scope: VendorScope,
}

/// How a draw's conversations were given out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spread {
    /// (conversation, grader), in conversation order.
    pub assigned: Vec<(ConversationId, UserId)>,
    /// Conversations none of the graders may review (another vendor's, for BPO graders only).
    pub unassigned: Vec<ConversationId>,
}

/// Spreads conversations evenly across graders: each goes to the least loaded grader whose
/// vendor scope allows its vendor (counting `load`, their open items), ties to the first
/// listed. The most constrained conversations (fewest graders allowed) are given out first, so
/// a BPO grader's own vendor's conversations go to them before the internal graders take the
/// rest. A conversation nobody may review is left unassigned, never given to someone outside
/// their scope.
pub fn spread(drawn: &[(ConversationId, VendorId)], graders: &[GraderScope], load: &HashMap<UserId, usize>) -> Spread {
    let mut load: HashMap<UserId, usize> =
        graders.iter().map(|g| (g.user_id, load.get(&g.user_id).copied().unwrap_or(0))).collect();
    let eligible = |vendor: VendorId| -> Vec<usize> {
        graders.iter().enumerate().filter(|(_, g)| g.scope.allows(vendor)).map(|(i, _)| i).collect()
    };
    let mut order: Vec<(usize, ConversationId, VendorId)> =
        drawn.iter().map(|(c, v)| (eligible(*v).len(), *c, *v)).collect();
    order.sort();
    let mut spread = Spread::default();
    for (_, conversation, vendor) in order {
        let chosen = eligible(vendor).into_iter().min_by_key(|i| (load[&graders[*i].user_id], *i));
        match chosen {
            Some(i) => {
                let grader = graders[i].user_id;
                *load.entry(grader).or_default() += 1;
                spread.assigned.push((conversation, grader));
            }
            None => spread.unassigned.push(conversation),
        }
    }
    spread.assigned.sort();
    spread.unassigned.sort();
    spread
}

/// When an item drawn at `drawn_at` is due.
pub fn due_at(drawn_at: Millis, due_in_days: u32) -> Millis {
    drawn_at + i64::from(due_in_days) * DAY_MS
}

/// Where a queue item stands: derived from the review started from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentStatus {
    /// Not started.
    Assigned,
    /// A draft review exists.
    InProgress,
    /// The review is submitted.
    Done,
}

/// One item, as progress counts it.
#[derive(Clone, Debug, PartialEq)]
pub struct AssignmentState {
    pub grader_id: UserId,
    pub grader_name: String,
    pub status: AssignmentStatus,
    pub due_at: Millis,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GraderProgress {
    pub user_id: UserId,
    pub name: String,
    pub assigned: usize,
    pub in_progress: usize,
    pub done: usize,
    /// Not done and past the due date.
    pub overdue: usize,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlanProgress {
    pub assigned: usize,
    pub in_progress: usize,
    pub done: usize,
    pub overdue: usize,
    /// By grader name.
    pub graders: Vec<GraderProgress>,
}

/// Counts items: all assigned, in progress, done, and overdue (not done, due before `now`).
pub fn progress(items: &[AssignmentState], now: Millis) -> PlanProgress {
    let mut by_grader: BTreeMap<(String, UserId), GraderProgress> = BTreeMap::new();
    let mut total = PlanProgress::default();
    for item in items {
        let row = by_grader.entry((item.grader_name.clone(), item.grader_id)).or_insert_with(|| GraderProgress {
            user_id: item.grader_id,
            name: item.grader_name.clone(),
            ..GraderProgress::default()
        });
        let overdue = item.status != AssignmentStatus::Done && item.due_at < now;
        for counts in [
            (&mut row.assigned, &mut row.in_progress, &mut row.done, &mut row.overdue),
            (&mut total.assigned, &mut total.in_progress, &mut total.done, &mut total.overdue),
        ] {
            *counts.0 += 1;
            *counts.1 += usize::from(item.status == AssignmentStatus::InProgress);
            *counts.2 += usize::from(item.status == AssignmentStatus::Done);
            *counts.3 += usize::from(overdue);
        }
    }
    total.graders = by_grader.into_values().collect();
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(agents: &[AgentId], per_agent: usize, start: Millis, days: i64) -> Vec<PlanCandidate> {
        let vendor = VendorId::new();
        let mut out = Vec::new();
        for agent in agents {
            for i in 0..per_agent {
                out.push(PlanCandidate {
                    conversation_id: ConversationId::new(),
                    agent_id: Some(*agent),
                    vendor_id: vendor,
                    started_at: start + (i as i64 % days) * DAY_MS,
                });
            }
        }
        out
    }

    #[test]
    fn the_same_seed_gives_the_same_sample() {
        let agents: Vec<AgentId> = (0..4).map(|_| AgentId::new()).collect();
        let pool = candidates(&agents, 10, 0, 7);
        let mut shuffled = pool.clone();
        shuffled.reverse();
        for sample in [PlanSample::Percent(30.0), PlanSample::PerAgent(2)] {
            let a = sample_conversations(&pool, sample, 0, 7, 99);
            assert_eq!(a, sample_conversations(&shuffled, sample, 0, 7, 99), "order of candidates does not matter");
            assert_ne!(a, sample_conversations(&pool, sample, 0, 7, 100), "another seed, another sample");
        }
        assert_eq!(sample_conversations(&pool, PlanSample::Percent(30.0), 0, 7, 1).len(), 12);
    }

    #[test]
    fn n_per_agent_per_period() {
        let agents: Vec<AgentId> = (0..3).map(|_| AgentId::new()).collect();
        // 14 days, 2 conversations a day per agent: two 7-day periods.
        let pool = candidates(&agents, 28, 0, 14);
        let drawn = sample_conversations(&pool, PlanSample::PerAgent(3), 0, 7, 5);
        assert_eq!(drawn.len(), 3 * 2 * 3, "3 per agent in each of the two periods");
        for agent in &agents {
            for period in 0..2 {
                let n = pool
                    .iter()
                    .filter(|c| c.agent_id == Some(*agent) && c.started_at / (7 * DAY_MS) == period)
                    .filter(|c| drawn.contains(&c.conversation_id))
                    .count();
                assert_eq!(n, 3);
            }
        }
        // An agent with fewer conversations than N gives all of theirs.
        let few = candidates(&agents[..1], 2, 0, 1);
        assert_eq!(sample_conversations(&few, PlanSample::PerAgent(5), 0, 7, 5).len(), 2);
    }

    #[test]
    fn the_spread_is_even_and_respects_vendor_scope() {
        let (internal_vendor, bpo) = (VendorId::new(), VendorId::new());
        let graders: Vec<GraderScope> =
            (0..3).map(|_| GraderScope { user_id: UserId::new(), scope: VendorScope::All }).collect();
        let drawn: Vec<(ConversationId, VendorId)> =
            (0..10).map(|_| (ConversationId::new(), internal_vendor)).collect();
        let spread = spread(&drawn, &graders, &HashMap::new());
        let mut counts: Vec<usize> =
            graders.iter().map(|g| spread.assigned.iter().filter(|(_, u)| *u == g.user_id).count()).collect();
        counts.sort();
        assert_eq!(counts, [3, 3, 4], "as even as ten over three can be");

        // A BPO grader gets only their vendor's conversations; the internal grader takes the rest.
        let bpo_grader = GraderScope { user_id: UserId::new(), scope: VendorScope::Only(bpo) };
        let internal_grader = GraderScope { user_id: UserId::new(), scope: VendorScope::All };
        let mixed: Vec<(ConversationId, VendorId)> =
            (0..8).map(|i| (ConversationId::new(), if i % 2 == 0 { bpo } else { internal_vendor })).collect();
        let out = super::spread(&mixed, &[bpo_grader, internal_grader], &HashMap::new());
        assert_eq!(out.assigned.len(), 8);
        for (conversation, grader) in &out.assigned {
            let vendor = mixed.iter().find(|(c, _)| c == conversation).map(|x| x.1);
            if *grader == bpo_grader.user_id {
                assert_eq!(vendor, Some(bpo), "a BPO grader never gets another vendor's conversation");
            }
        }
        let to_bpo = out.assigned.iter().filter(|(_, g)| *g == bpo_grader.user_id).count();
        assert_eq!(to_bpo, 4, "the BPO grader takes their vendor's four; the internal grader the other four");

        // Only BPO graders, another vendor's conversation: left unassigned.
        let stranger = (ConversationId::new(), internal_vendor);
        let out = super::spread(&[stranger], &[bpo_grader], &HashMap::new());
        assert!(out.assigned.is_empty() && out.unassigned == vec![stranger.0]);

        // Open work counts: the loaded grader gets less.
        let load = HashMap::from([(graders[0].user_id, 5)]);
        let out = super::spread(&drawn[..4], &graders, &load);
        assert!(out.assigned.iter().all(|(_, g)| *g != graders[0].user_id));
    }

    #[test]
    fn windows_and_filters() {
        let filter =
            PlanFilter { from: Some("2026-03-01".into()), to: Some("2026-03-07".into()), ..Default::default() };
        let (from, to) = filter.window(0, 30);
        assert_eq!(from, Date::parse("2026-03-01").unwrap().millis());
        assert_eq!(to, Date::parse("2026-03-08").unwrap().millis(), "the end day is included");
        assert_eq!(PlanFilter::default().window(10 * DAY_MS, 7), (3 * DAY_MS, 10 * DAY_MS));
        let bad =
            PlanFilter { from: Some("2026-02-30".into()), min_csat: Some(4), max_csat: Some(2), ..Default::default() };
        let fields: Vec<String> = bad.check().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["filter.from", "filter.max_csat"]);
    }

    #[test]
    fn progress_counts_done_and_overdue() {
        let (a, b) = (UserId::new(), UserId::new());
        let item = |grader, name: &str, status, due_at| AssignmentState {
            grader_id: grader,
            grader_name: name.into(),
            status,
            due_at,
        };
        let items = [
            item(a, "Ann", AssignmentStatus::Done, 5),
            item(a, "Ann", AssignmentStatus::InProgress, 5),
            item(b, "Bob", AssignmentStatus::Assigned, 20),
            item(b, "Bob", AssignmentStatus::Assigned, 5),
        ];
        let p = progress(&items, 10);
        assert_eq!((p.assigned, p.in_progress, p.done, p.overdue), (4, 1, 1, 2));
        assert_eq!(p.graders[0].name, "Ann");
        assert_eq!((p.graders[0].done, p.graders[0].overdue), (1, 1));
        assert_eq!((p.graders[1].assigned, p.graders[1].overdue), (2, 1));
    }
}
