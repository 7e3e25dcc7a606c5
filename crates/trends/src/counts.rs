//! Count distributions for scoring: Poisson, and negative binomial when counts vary more than a
//! Poisson allows. Tail probabilities come from the regularised incomplete gamma and beta
//! functions, so they cost the same for a count of 3 as for a count of 30,000.

use statrs::function::{beta, erf, gamma};

/// Below this dispersion the negative binomial is indistinguishable from the Poisson, and the
/// incomplete beta would need very many terms: use the Poisson instead.
const POISSON_DISPERSION: f64 = 1e-6;

/// The predictive distribution of one bucket's count: mean `mean` and variance
/// `mean × (1 + dispersion × mean)` (a negative binomial; Poisson when `dispersion` is 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CountDistribution {
    /// Expected count.
    pub mean: f64,
    /// Extra variance relative to a Poisson, `1 / size` of the negative binomial.
    pub dispersion: f64,
}

impl CountDistribution {
    /// A distribution with this mean and dispersion; both are floored at values that keep the
    /// arithmetic finite (a mean of 0 would make every positive count infinitely surprising).
    pub fn new(mean: f64, dispersion: f64) -> Self {
        Self {
            mean: if mean.is_finite() {
                mean.max(1e-9)
            } else {
                1e-9
            },
            dispersion: if dispersion.is_finite() {
                dispersion.max(0.0)
            } else {
                0.0
            },
        }
    }

    /// Standard deviation.
    pub fn std_dev(&self) -> f64 {
        (self.mean * (1.0 + self.dispersion * self.mean)).sqrt()
    }

    /// Natural log of `P(Y ≥ count)`. Counts may be fractional (the tail is continued smoothly
    /// between integers); a count of 0 or less has tail 1.
    pub fn ln_upper_tail(&self, count: f64) -> f64 {
        if count <= 0.0 || count.is_nan() {
            return 0.0;
        }
        if count.is_infinite() {
            return f64::NEG_INFINITY;
        }
        if self.dispersion < POISSON_DISPERSION {
            // P(Y ≥ k) for a Poisson is the regularised lower incomplete gamma P(k, mean).
            ln_gamma_lower_regularised(count, self.mean)
        } else {
            // P(Y ≥ k) for a negative binomial of size r and success probability p = r/(r+mean)
            // is I_{1−p}(k, r).
            let size = 1.0 / self.dispersion;
            let x = self.mean / (self.mean + size);
            ln_beta_regularised(x, count, size)
        }
    }

    /// `P(Y ≥ count)`.
    pub fn upper_tail(&self, count: f64) -> f64 {
        self.ln_upper_tail(count).exp()
    }

    /// `P(Y ≤ count)` for a whole count.
    pub fn cdf(&self, count: u64) -> f64 {
        1.0 - self.upper_tail(count as f64 + 1.0)
    }

    /// The smallest whole count `k` with `P(Y ≤ k) ≥ probability`.
    pub fn quantile(&self, probability: f64) -> u64 {
        let probability = probability.clamp(0.0, 1.0 - 1e-12);
        let guess = self.quantile_guess(probability);
        // Bracket the answer from the guess by doubling steps, then bisect: two or three
        // evaluations when the guess is good, a few dozen at worst.
        let (mut low, mut high);
        if self.cdf(guess) >= probability {
            high = guess;
            let mut step = 1u64;
            loop {
                if high == 0 {
                    return 0;
                }
                let candidate = high.saturating_sub(step);
                if self.cdf(candidate) >= probability {
                    high = candidate;
                    step = step.saturating_mul(2);
                } else {
                    low = candidate;
                    break;
                }
            }
        } else {
            low = guess;
            let mut step = 1u64;
            loop {
                let candidate = low.saturating_add(step);
                if self.cdf(candidate) >= probability || candidate == u64::MAX {
                    high = candidate;
                    break;
                }
                low = candidate;
                step = step.saturating_mul(2);
            }
        }
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            if self.cdf(middle) >= probability {
                high = middle;
            } else {
                low = middle;
            }
        }
        high
    }

    /// Cornish–Fisher approximation: normal quantile corrected for skewness.
    fn quantile_guess(&self, probability: f64) -> u64 {
        let z = normal_quantile(probability);
        let sd = self.std_dev();
        let skew = (1.0 + 2.0 * self.dispersion * self.mean) / sd;
        let guess = self.mean + sd * (z + skew * (z * z - 1.0) / 6.0) - 0.5;
        if guess.is_finite() && guess > 0.0 {
            guess.round().min(1e15) as u64
        } else {
            0
        }
    }
}

/// Tails below the smallest positive float are floored there: past that every count is as
/// surprising as it can be told apart.
const LN_SMALLEST_TAIL: f64 = -708.0;

fn ln_tail(probability: f64) -> f64 {
    probability.max(0.0).ln().max(LN_SMALLEST_TAIL)
}

/// `ln P(a, x)`, the regularised lower incomplete gamma function.
fn ln_gamma_lower_regularised(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return f64::NEG_INFINITY;
    }
    ln_tail(gamma::checked_gamma_lr(a, x).unwrap_or(0.0))
}

/// `ln I_x(a, b)`, the regularised incomplete beta function.
fn ln_beta_regularised(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if x >= 1.0 {
        return 0.0;
    }
    ln_tail(beta::checked_beta_reg(a, b, x).unwrap_or(0.0))
}

/// The standard normal quantile; only a starting point for exact discrete quantiles.
fn normal_quantile(p: f64) -> f64 {
    -std::f64::consts::SQRT_2 * erf::erfc_inv(2.0 * p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poisson_tail_by_sum(mean: f64, k: u64) -> f64 {
        let mut term = (-mean).exp();
        let mut below = 0.0;
        for i in 0..k {
            below += term;
            term *= mean / (i as f64 + 1.0);
        }
        1.0 - below
    }

    fn negative_binomial_tail_by_sum(mean: f64, dispersion: f64, k: u64) -> f64 {
        let r = 1.0 / dispersion;
        let p = r / (r + mean);
        let mut term = p.powf(r);
        let mut below = 0.0;
        for i in 0..k {
            below += term;
            term *= (i as f64 + r) / (i as f64 + 1.0) * (1.0 - p);
        }
        1.0 - below
    }

    #[test]
    fn poisson_tail_matches_direct_sum() {
        for &(mean, k) in &[
            (0.2, 3),
            (3.0, 1),
            (3.0, 7),
            (40.0, 55),
            (40.0, 20),
            (100.0, 130),
        ] {
            let d = CountDistribution::new(mean, 0.0);
            let expected = poisson_tail_by_sum(mean, k);
            let got = d.upper_tail(k as f64);
            assert!(
                (got - expected).abs() < 1e-9 * expected.max(1e-3),
                "mean={mean} k={k}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn negative_binomial_tail_matches_direct_sum() {
        for &(mean, dispersion, k) in &[
            (0.5, 0.5, 3),
            (10.0, 0.1, 25),
            (40.0, 0.05, 80),
            (5.0, 2.0, 1),
        ] {
            let d = CountDistribution::new(mean, dispersion);
            let expected = negative_binomial_tail_by_sum(mean, dispersion, k);
            let got = d.upper_tail(k as f64);
            assert!(
                (got - expected).abs() < 1e-8 * expected.max(1e-3),
                "mean={mean} φ={dispersion} k={k}: {got} vs {expected}"
            );
        }
    }

    #[test]
    fn tiny_tails_stay_finite_on_the_log_scale() {
        let d = CountDistribution::new(50.0, 0.05);
        let ln_tail = d.ln_upper_tail(13_479.0);
        assert!(ln_tail.is_finite() && ln_tail <= -700.0, "{ln_tail}");
        let poisson = CountDistribution::new(40.0, 0.0);
        assert!(poisson.ln_upper_tail(400.0) < -300.0);
    }

    #[test]
    fn quantiles_are_the_smallest_count_reaching_the_probability() {
        for &(mean, dispersion) in &[
            (0.3, 0.0),
            (4.0, 0.0),
            (47.0, 0.02),
            (500.0, 0.3),
            (2.0, 3.0),
        ] {
            let d = CountDistribution::new(mean, dispersion);
            for &p in &[0.05, 0.5, 0.95] {
                let k = d.quantile(p);
                assert!(d.cdf(k) >= p, "mean={mean} p={p} k={k}");
                if k > 0 {
                    assert!(d.cdf(k - 1) < p, "mean={mean} p={p} k={k}");
                }
            }
        }
    }

    #[test]
    fn normal_quantile_is_accurate_enough_for_a_start() {
        assert!((normal_quantile(0.95) - 1.644_853_6).abs() < 1e-6);
        assert!((normal_quantile(0.5)).abs() < 1e-9);
        assert!((normal_quantile(0.001) + 3.090_232_3).abs() < 1e-6);
    }
}
