//! The median that PDQ thresholds its 256 DCT coefficients against.

/// Torben's median (Torben Mogensen's bisection on the value range), as PDQ computes it: for an even
/// count it returns one of the two middle values or a midpoint between the closest values on either
/// side of the final guess, never a sort-and-average. It must be this exact procedure: a different
/// "median" moves the threshold and flips bits.
///
/// Reads the values without reordering them. `values` must not be empty.
pub(super) fn torben(values: &[f32]) -> f32 {
    assert!(!values.is_empty(), "the median of nothing");
    let half = values.len().div_ceil(2);
    let (mut min, mut max) = (values[0], values[0]);
    for &v in &values[1..] {
        if v < min {
            min = v;
        }
        if v > max {
            max = v;
        }
    }
    loop {
        let guess = (min + max) / 2.0;
        let (mut less, mut greater, mut equal) = (0usize, 0usize, 0usize);
        let (mut below, mut above) = (min, max);
        for &v in values {
            if v < guess {
                less += 1;
                if v > below {
                    below = v;
                }
            } else if v > guess {
                greater += 1;
                if v < above {
                    above = v;
                }
            } else {
                equal += 1;
            }
        }
        if less <= half && greater <= half {
            return if less >= half {
                below
            } else if less + equal >= half {
                guess
            } else {
                above
            };
        }
        if less > greater {
            max = below;
        } else {
            min = above;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::torben;

    #[test]
    fn odd_counts_give_the_middle_value() {
        assert_eq!(torben(&[3.0]), 3.0);
        assert_eq!(torben(&[10.0, 30.0, 20.0]), 20.0);
        assert_eq!(torben(&[5.0, -1.0, 4.0, 2.0, 9.0]), 4.0);
    }

    #[test]
    fn even_counts_give_the_lower_middle_value_not_the_average() {
        // (n + 1) / 2 values must lie at or below the answer: the lower of the two middle values.
        assert_eq!(torben(&[10.0, 20.0]), 10.0);
        assert_eq!(torben(&[4.0, 1.0, 3.0, 2.0]), 2.0);
    }

    #[test]
    fn ties_and_constant_inputs() {
        assert_eq!(torben(&[7.0; 256]), 7.0);
        assert_eq!(torben(&[1.0, 1.0, 1.0, 5.0]), 1.0);
        assert_eq!(torben(&[0.0, 5.0, 5.0, 5.0]), 5.0);
    }

    #[test]
    fn agrees_with_sorting_on_many_inputs() {
        // For distinct values the answer is the element of rank (n + 1) / 2.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for n in [1usize, 2, 3, 16, 255, 256] {
            for _ in 0..50 {
                let values: Vec<f32> = (0..n)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        (state >> 40) as f32 / 1024.0 - 8000.0
                    })
                    .collect();
                let mut sorted = values.clone();
                sorted.sort_by(f32::total_cmp);
                sorted.dedup();
                if sorted.len() != n {
                    continue;
                }
                assert_eq!(torben(&values), sorted[n.div_ceil(2) - 1], "n = {n}");
            }
        }
    }
}
