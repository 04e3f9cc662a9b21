//! Grader leniency and severity: each grader's signed deviation from the benchmark, adjusted
//! for conversation difficulty by a two-way additive model.
//!
//! Model (one observation per graded item): `deviation = θ_grader + β_conversation + ε`, fitted
//! by least squares on the unbalanced design (Searle, S. R. (1987). *Linear Models for
//! Unbalanced Data*, ch. 4: absorb the conversation effects, solve the reduced normal
//! equations for the graders). Conversation effects are centred (observation-weighted mean 0),
//! so `θ_grader` reads as "this grader's deviation on a typical conversation": a grader who
//! happened to get the conversations everyone over-scores is not called lenient. The standard
//! error of `θ` comes from the residual variance and the generalised inverse of the reduced
//! system; the interval uses Student t on the residual degrees of freedom. Each connected
//! group of graders and conversations (linked by shared conversations) is fitted separately.
//! A grader who shares no conversation with another grader (audits: one grader and the
//! benchmark per conversation) cannot be adjusted; they get the unadjusted mean with its t
//! interval, marked `difficulty_adjusted: false`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::distributions::t_quantile;

/// Fewest observations before a grader gets a verdict.
pub const MIN_LENIENCY_OBSERVATIONS: usize = 3;

/// What the interval says about a grader. Deviation = grader - benchmark, so positive is lenient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeniencyVerdict {
    /// The 95% interval lies above zero: scores higher than the benchmark.
    Lenient,
    /// The 95% interval lies below zero: scores lower than the benchmark.
    Severe,
    /// The interval contains zero.
    InLine,
    /// Fewer than [`MIN_LENIENCY_OBSERVATIONS`] observations, or no residual degrees of freedom.
    NotEnoughData,
}

/// One grader's leniency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraderLeniency<G> {
    pub grader: G,
    pub observations: usize,
    pub conversations: usize,
    /// Mean signed deviation, unadjusted.
    pub mean_deviation: f64,
    /// t interval of the unadjusted mean from the grader's own spread (needs 2 observations).
    pub mean_ci95: Option<(f64, f64)>,
    /// Deviation adjusted for conversation difficulty (`θ_grader`); the unadjusted mean when
    /// `difficulty_adjusted` is false.
    pub adjusted_deviation: f64,
    /// False when no conversation of this grader was graded by anyone else (as in audits,
    /// where each conversation has one grader and the benchmark): difficulty cannot then be
    /// told apart from leniency, so `adjusted_deviation`, `ci95` and `verdict` fall back to the
    /// unadjusted mean and its t interval.
    pub difficulty_adjusted: bool,
    /// Standard error of the adjusted deviation; `None` without residual degrees of freedom.
    pub standard_error: Option<f64>,
    /// 95% interval of the adjusted deviation.
    pub ci95: Option<(f64, f64)>,
    pub verdict: LeniencyVerdict,
}

/// Leniency of every grader from `(grader, conversation, deviation)` observations, where
/// `deviation = grader's value - benchmark value` (criterion points, or scores). Graders come
/// back sorted by key. Non-finite deviations are ignored.
pub fn leniency<G, C>(observations: &[(G, C, f64)]) -> Vec<GraderLeniency<G>>
where
    G: Ord + Clone,
    C: Ord + Clone,
{
    let mut grader_index: BTreeMap<&G, usize> = BTreeMap::new();
    let mut conversation_index: BTreeMap<&C, usize> = BTreeMap::new();
    let mut rows: Vec<(usize, usize, f64)> = Vec::with_capacity(observations.len());
    for (grader, conversation, deviation) in observations {
        if !deviation.is_finite() {
            continue;
        }
        let next = grader_index.len();
        let g = *grader_index.entry(grader).or_insert(next);
        let next = conversation_index.len();
        let c = *conversation_index.entry(conversation).or_insert(next);
        rows.push((g, c, *deviation));
    }
    let fit = Fit::new(grader_index.len(), conversation_index.len(), &rows);
    grader_index.into_iter().map(|(grader, g)| fit.grader(grader.clone(), g)).collect()
}

/// The fitted two-way model.
struct Fit {
    count: Vec<usize>,
    conversations: Vec<usize>,
    mean: Vec<f64>,
    mean_se: Vec<Option<f64>>,
    mean_ci: Vec<Option<(f64, f64)>>,
    theta: Vec<f64>,
    /// `Var(θ_g) / σ²`.
    variance_factor: Vec<f64>,
    /// The grader shares no conversation with another grader.
    alone: Vec<bool>,
    residual_variance: Option<f64>,
    residual_df: usize,
}

impl Fit {
    fn new(graders: usize, conversations: usize, rows: &[(usize, usize, f64)]) -> Self {
        let mut count = vec![0usize; graders];
        let mut sum = vec![0.0; graders];
        let mut sum_squares = vec![0.0; graders];
        let mut conversation_count = vec![0usize; conversations];
        let mut conversation_sum = vec![0.0; conversations];
        // Per conversation: grader -> (count, sum).
        let mut cells: Vec<BTreeMap<usize, (f64, f64)>> = vec![BTreeMap::new(); conversations];
        for (g, c, y) in rows {
            count[*g] += 1;
            sum[*g] += y;
            sum_squares[*g] += y * y;
            conversation_count[*c] += 1;
            conversation_sum[*c] += y;
            let cell = cells[*c].entry(*g).or_insert((0.0, 0.0));
            cell.0 += 1.0;
            cell.1 += y;
        }
        let mean: Vec<f64> = (0..graders).map(|g| sum[g] / count[g] as f64).collect();
        let mean_se: Vec<Option<f64>> = (0..graders)
            .map(|g| {
                let n = count[g] as f64;
                (count[g] >= 2).then(|| {
                    let variance = ((sum_squares[g] - n * mean[g] * mean[g]) / (n - 1.0)).max(0.0);
                    (variance / n).sqrt()
                })
            })
            .collect();
        let mean_ci = (0..graders)
            .map(|g| {
                mean_se[g].map(|se| {
                    let half = t_quantile(0.975, count[g] as f64 - 1.0) * se;
                    (mean[g] - half, mean[g] + half)
                })
            })
            .collect();
        let conversations_per_grader = {
            let mut seen = vec![0usize; graders];
            for cell in &cells {
                for g in cell.keys() {
                    seen[*g] += 1;
                }
            }
            seen
        };

        let components = connected_components(graders, &cells);
        let mut theta = vec![0.0; graders];
        let mut alone = vec![false; graders];
        let mut variance_factor = vec![0.0; graders];
        let mut parameters = 0usize;
        let mut alpha_all = vec![0.0; graders];
        let mut beta = vec![0.0; conversations];
        for (members, component_conversations) in &components {
            if let [only] = members.as_slice() {
                alone[*only] = true;
            }
            parameters += members.len() + component_conversations.len() - 1;
            let local: BTreeMap<usize, usize> = members.iter().enumerate().map(|(i, g)| (*g, i)).collect();
            let m = members.len();
            // Reduced normal equations after absorbing conversations:
            // A = diag(n_g) - Σ_c n_gc n_hc / n_c,  b = Y_g - Σ_c n_gc Ȳ_c.
            let mut a = vec![0.0; m * m];
            let mut b: Vec<f64> = members.iter().map(|g| sum[*g]).collect();
            for (i, g) in members.iter().enumerate() {
                a[i * m + i] = count[*g] as f64;
            }
            for c in component_conversations {
                let n_c = conversation_count[*c] as f64;
                let mean_c = conversation_sum[*c] / n_c;
                for (g, (n_gc, _)) in &cells[*c] {
                    let i = local[g];
                    b[i] -= n_gc * mean_c;
                    for (h, (n_hc, _)) in &cells[*c] {
                        a[i * m + local[h]] -= n_gc * n_hc / n_c;
                    }
                }
            }
            // A is singular (rows sum to zero); fix the first grader's effect at 0 and invert
            // the rest: a generalised inverse, enough for every estimable contrast.
            let generalised_inverse = generalised_inverse_fixing_first(&a, m);
            let alpha: Vec<f64> = (0..m).map(|i| (0..m).map(|j| generalised_inverse[i * m + j] * b[j]).sum()).collect();
            // Conversation effects given the grader effects, then residuals.
            let component_n: f64 = members.iter().map(|g| count[*g] as f64).sum();
            let mut weighted_beta = 0.0;
            for c in component_conversations {
                let n_c = conversation_count[*c] as f64;
                let fitted: f64 = cells[*c].iter().map(|(g, (n_gc, _))| n_gc * alpha[local[g]]).sum();
                beta[*c] = (conversation_sum[*c] - fitted) / n_c;
                weighted_beta += n_c * beta[*c];
            }
            for (i, g) in members.iter().enumerate() {
                alpha_all[*g] = alpha[i];
            }
            // Centre conversation effects: θ_g = α_g + Σ n_c β_c / N.
            let shift = weighted_beta / component_n;
            let weights: Vec<f64> = members.iter().map(|g| count[*g] as f64 / component_n).collect();
            for (i, g) in members.iter().enumerate() {
                theta[*g] = alpha[i] + shift;
                // θ_g = ȳ + (α_g - Σ_h w_h α_h); ȳ is uncorrelated with the contrast, so
                // Var(θ_g)/σ² = 1/N + (e_g - w)' A⁻ (e_g - w).
                let mut quadratic = 0.0;
                for j in 0..m {
                    let left = f64::from(u8::from(i == j)) - weights[j];
                    for l in 0..m {
                        let right = f64::from(u8::from(i == l)) - weights[l];
                        quadratic += left * generalised_inverse[j * m + l] * right;
                    }
                }
                variance_factor[*g] = 1.0 / component_n + quadratic.max(0.0);
            }
        }
        let rss: f64 = rows.iter().map(|(g, c, y)| (y - alpha_all[*g] - beta[*c]).powi(2)).sum();
        let residual_df = rows.len().saturating_sub(parameters);
        let residual_variance = (residual_df > 0).then(|| rss / residual_df as f64);
        Fit {
            count,
            conversations: conversations_per_grader,
            mean,
            mean_se,
            mean_ci,
            theta,
            variance_factor,
            alone,
            residual_variance,
            residual_df,
        }
    }

    fn grader<G>(&self, grader: G, g: usize) -> GraderLeniency<G> {
        // Alone, the conversation effects absorb all between-conversation variation and leave
        // only repeat observations within a conversation (or nothing) for the error: the
        // grader's own spread around their mean is the honest measure.
        let (adjusted_deviation, standard_error, ci95) = if self.alone[g] {
            (self.mean[g], self.mean_se[g], self.mean_ci[g])
        } else {
            let standard_error = self.residual_variance.map(|sigma2| (sigma2 * self.variance_factor[g]).sqrt());
            let ci95 = standard_error.map(|se| {
                let half = t_quantile(0.975, self.residual_df as f64) * se;
                (self.theta[g] - half, self.theta[g] + half)
            });
            (self.theta[g], standard_error, ci95)
        };
        let verdict = match ci95 {
            _ if self.count[g] < MIN_LENIENCY_OBSERVATIONS => LeniencyVerdict::NotEnoughData,
            None => LeniencyVerdict::NotEnoughData,
            Some((low, _)) if low > 0.0 => LeniencyVerdict::Lenient,
            Some((_, high)) if high < 0.0 => LeniencyVerdict::Severe,
            Some(_) => LeniencyVerdict::InLine,
        };
        GraderLeniency {
            grader,
            observations: self.count[g],
            conversations: self.conversations[g],
            mean_deviation: self.mean[g],
            mean_ci95: self.mean_ci[g],
            adjusted_deviation,
            difficulty_adjusted: !self.alone[g],
            standard_error,
            ci95,
            verdict,
        }
    }
}

/// Groups of graders linked through shared conversations: `(graders, conversations)`.
fn connected_components(graders: usize, cells: &[BTreeMap<usize, (f64, f64)>]) -> Vec<(Vec<usize>, Vec<usize>)> {
    let mut parent: Vec<usize> = (0..graders).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for cell in cells {
        let mut graders_here = cell.keys();
        if let Some(first) = graders_here.next() {
            for other in graders_here {
                let (a, b) = (root(&mut parent, *first), root(&mut parent, *other));
                parent[a] = b;
            }
        }
    }
    let mut groups: BTreeMap<usize, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for g in 0..graders {
        let r = root(&mut parent, g);
        groups.entry(r).or_default().0.push(g);
    }
    for (c, cell) in cells.iter().enumerate() {
        if let Some(g) = cell.keys().next() {
            let r = root(&mut parent, *g);
            groups.entry(r).or_default().1.push(c);
        }
    }
    groups.into_values().collect()
}

/// Inverse of `a` (m x m, rank m - 1, rows summing to 0) with row/column 0 fixed at zero.
fn generalised_inverse_fixing_first(a: &[f64], m: usize) -> Vec<f64> {
    let size = m - 1;
    let mut inverse = vec![0.0; m * m];
    if size == 0 {
        return inverse;
    }
    // Gauss-Jordan with partial pivoting on [A_sub | I].
    let width = 2 * size;
    let mut work = vec![0.0; size * width];
    for i in 0..size {
        for j in 0..size {
            work[i * width + j] = a[(i + 1) * m + (j + 1)];
        }
        work[i * width + size + i] = 1.0;
    }
    for column in 0..size {
        let pivot_row = (column..size)
            .max_by(|x, y| work[x * width + column].abs().total_cmp(&work[y * width + column].abs()))
            .unwrap_or(column);
        if work[pivot_row * width + column].abs() < 1e-12 {
            continue;
        }
        if pivot_row != column {
            for j in 0..width {
                work.swap(pivot_row * width + j, column * width + j);
            }
        }
        let pivot = work[column * width + column];
        for j in 0..width {
            work[column * width + j] /= pivot;
        }
        for row in 0..size {
            if row != column {
                let factor = work[row * width + column];
                if factor != 0.0 {
                    for j in 0..width {
                        work[row * width + j] -= factor * work[column * width + j];
                    }
                }
            }
        }
    }
    for i in 0..size {
        for j in 0..size {
            inverse[(i + 1) * m + (j + 1)] = work[i * width + size + j];
        }
    }
    inverse
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_design_reduces_to_means() {
        // Three graders all grade the same four conversations.
        let mut observations = Vec::new();
        let offsets = [("ann", 1.0), ("bob", 0.0), ("cat", -1.0)];
        let difficulty = [0.5, -0.5, 2.0, -2.0];
        for (grader, offset) in offsets {
            for (c, d) in difficulty.iter().enumerate() {
                let noise = if (c + grader.len()) % 2 == 0 { 0.1 } else { -0.1 };
                observations.push((grader, c, offset + d + noise));
            }
        }
        let result = leniency(&observations);
        assert_eq!(result.len(), 3);
        for row in &result {
            assert!((row.adjusted_deviation - row.mean_deviation).abs() < 1e-12);
        }
        assert_eq!(result[0].verdict, LeniencyVerdict::Lenient);
        assert_eq!(result[2].verdict, LeniencyVerdict::Severe);
    }

    #[test]
    fn balanced_standard_error_is_the_two_way_anova_one() {
        // G graders x C conversations, one observation each: θ_g is the grader mean and
        // Var(θ_g) = σ² / C with σ² = RSS / ((G - 1)(C - 1)).
        let (graders, conversations) = (4usize, 7usize);
        let mut observations = Vec::new();
        for g in 0..graders {
            for c in 0..conversations {
                let y = 0.3 * g as f64 - 0.2 * c as f64 + (((g * 7 + c * 3) % 5) as f64 - 2.0) * 0.1;
                observations.push((g, c, y));
            }
        }
        let result = leniency(&observations);
        let grand: f64 = observations.iter().map(|o| o.2).sum::<f64>() / (graders * conversations) as f64;
        let grader_mean: Vec<f64> = (0..graders).map(|g| result[g].mean_deviation).collect();
        let conversation_mean: Vec<f64> = (0..conversations)
            .map(|c| observations.iter().filter(|o| o.1 == c).map(|o| o.2).sum::<f64>() / graders as f64)
            .collect();
        let rss: f64 =
            observations.iter().map(|(g, c, y)| (y - grader_mean[*g] - conversation_mean[*c] + grand).powi(2)).sum();
        let sigma2 = rss / ((graders - 1) * (conversations - 1)) as f64;
        for row in &result {
            let expected = (sigma2 / conversations as f64).sqrt();
            assert!((row.standard_error.unwrap() - expected).abs() < 1e-12, "{row:?} vs {expected}");
        }
    }

    #[test]
    fn disconnected_groups_are_fitted_separately() {
        // Two teams that never grade the same conversation.
        let observations = vec![
            ("a", "c1", 1.0),
            ("b", "c1", 0.0),
            ("a", "c2", 2.0),
            ("b", "c2", 1.2),
            ("x", "c3", -1.0),
            ("y", "c3", -1.0),
            ("x", "c4", 0.0),
            ("y", "c4", 0.2),
        ];
        let result = leniency(&observations);
        assert_eq!(result.len(), 4);
        assert!(result.iter().all(|row| row.adjusted_deviation.is_finite()));
        assert!(result.iter().all(|row| row.verdict == LeniencyVerdict::NotEnoughData));
    }

    #[test]
    fn harder_conversations_do_not_make_a_grader_strict() {
        // Everyone scores conversation "hard" 2 points under the benchmark. Zed graded only
        // hard ones; unadjusted he looks severe, adjusted he is like everyone else.
        let mut observations = Vec::new();
        for c in 0..6 {
            let difficulty = if c < 3 { -2.0 } else { 0.0 };
            for (i, grader) in ["amy", "bea", "cal"].iter().enumerate() {
                let noise = [0.1, -0.1, 0.0][(i + c) % 3];
                observations.push((grader.to_string(), c, difficulty + noise));
            }
            if c < 3 {
                observations.push(("zed".to_string(), c, difficulty + 0.05));
            }
        }
        let result = leniency(&observations);
        let zed = result.iter().find(|row| row.grader == "zed").unwrap();
        let amy = result.iter().find(|row| row.grader == "amy").unwrap();
        assert!(zed.mean_deviation < -1.9);
        assert!(amy.mean_deviation > -1.1);
        // Adjusted, Zed and Amy sit at the team's level.
        assert!((zed.adjusted_deviation - amy.adjusted_deviation).abs() < 0.1, "{zed:?}");
    }

    #[test]
    fn graders_who_share_no_conversation_get_their_mean_and_a_verdict() {
        // Audits: every conversation has one grader (deviation from the benchmark's score).
        let mut observations = Vec::new();
        for c in 0..6 {
            observations.push(("lenient", format!("l{c}"), 4.0 + [0.5, -0.5, 1.0, -1.0, 0.0, 0.25][c]));
            observations.push(("fair", format!("f{c}"), [0.5, -0.5, 1.0, -1.0, 0.0, 0.25][c]));
        }
        observations.push(("new", "n0".to_string(), -3.0));
        let result = leniency(&observations);
        let lenient = result.iter().find(|row| row.grader == "lenient").unwrap();
        assert!(!lenient.difficulty_adjusted);
        assert!((lenient.adjusted_deviation - lenient.mean_deviation).abs() < 1e-12);
        assert_eq!(lenient.ci95, lenient.mean_ci95);
        assert_eq!(lenient.verdict, LeniencyVerdict::Lenient);
        let fair = result.iter().find(|row| row.grader == "fair").unwrap();
        assert_eq!(fair.verdict, LeniencyVerdict::InLine);
        assert!(fair.standard_error.unwrap() > 0.0);
        let new = result.iter().find(|row| row.grader == "new").unwrap();
        assert_eq!(new.verdict, LeniencyVerdict::NotEnoughData);
    }

    #[test]
    fn graders_who_share_conversations_stay_adjusted() {
        let observations =
            vec![("a", 1, 1.0), ("b", 1, 0.0), ("a", 2, 2.0), ("b", 2, 1.5), ("a", 3, 0.5), ("b", 3, 0.0)];
        assert!(leniency(&observations).iter().all(|row| row.difficulty_adjusted));
    }
}
