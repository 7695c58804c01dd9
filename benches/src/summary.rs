//! One figure over the interleaved rounds of a configuration: its median
//! and its range. The harnesses quote medians and ratios of medians, never
//! single times — the machine is shared, and a round that met a
//! neighbour's burst shows in the range, not in the median.

/// The median of `f` over `runs` (the upper one of an even count; NaN if
/// there are none).
pub fn median<T>(runs: &[T], f: impl Fn(&T) -> f64) -> f64 {
    let mut v: Vec<f64> = runs.iter().map(f).collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The least and the greatest of `f` over `runs`.
pub fn range<T>(runs: &[T], f: impl Fn(&T) -> f64) -> (f64, f64) {
    runs.iter()
        .map(f)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        })
}

/// `median (min–max)` of `f` over `runs`, with `decimals` decimals.
pub fn spread<T>(runs: &[T], f: impl Fn(&T) -> f64, decimals: usize) -> String {
    let (lo, hi) = range(runs, &f);
    format!(
        "{:.decimals$} ({lo:.decimals$}–{hi:.decimals$})",
        median(runs, f)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_range() {
        let v = [3.0, 1.0, 2.0, 10.0];
        assert_eq!(median(&v, |x| *x), 3.0);
        assert_eq!(median(&v[..3], |x| *x), 2.0);
        assert_eq!(range(&v, |x| *x), (1.0, 10.0));
        assert_eq!(spread(&v, |x| *x, 1), "3.0 (1.0–10.0)");
        assert!(median(&[] as &[f64], |x| *x).is_nan());
    }
}
