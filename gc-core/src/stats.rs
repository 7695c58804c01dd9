//! Collection statistics, the pause histogram and the `CAPGC_LOG=gc`
//! line.

use core::cell::Cell;
use core::time::Duration;

/// Which kind of collection ran.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CollectionKind {
    /// A nursery collection (Generational).
    Minor,
    /// A whole-heap collection.
    #[default]
    Full,
}

/// What one collection did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CollectionStats {
    /// Sequence number (1 for the first collection).
    pub number: u64,
    /// Minor or full.
    pub kind: CollectionKind,
    /// Objects copied (moving plans).
    pub objects_copied: u64,
    /// Wall-clock pause.
    pub pause: Duration,
    /// Heap bytes in use before (cells of allocated objects).
    pub bytes_before: u64,
    /// Heap bytes in use after.
    pub bytes_after: u64,
    /// Bytes freed.
    pub bytes_freed: u64,
    /// Bytes copied (moving plans; 0 for MarkSweep).
    pub bytes_copied: u64,
    /// Bytes of mature-space cells that nursery survivors were promoted
    /// into (Generational).
    pub bytes_promoted: u64,
    /// Bytes in use after the collection (cells of surviving objects in
    /// the mark-sweep space plus the copy space's blocks).
    pub live_bytes: u64,
    /// Surviving objects (of the collected spaces: in a minor collection,
    /// the nursery survivors).
    pub live_objects: u64,
    /// Objects freed.
    pub objects_freed: u64,
    /// Capabilities derived by the collector during this collection.
    pub caps_derived: u64,
    /// Capability checks performed by the collector during this collection.
    pub checks: u64,
}

/// Cumulative heap statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HeapStats {
    /// Collections run.
    pub collections: u64,
    /// Total pause time.
    pub total_pause: Duration,
    /// Longest pause.
    pub max_pause: Duration,
    /// Objects allocated.
    pub objects_allocated: u64,
    /// Bytes allocated (cells).
    pub bytes_allocated: u64,
    /// Capabilities derived (allocation and collection).
    pub caps_derived: u64,
    /// Capability checks performed on mutator accesses (checked modes).
    pub checks: u64,
    /// Heap bytes in use now.
    pub bytes_in_use: u64,
    /// Bytes of blocks the heap holds (its footprint).
    pub heap_bytes: u64,
    /// The largest footprint so far (the most blocks held at once).
    pub peak_heap_bytes: u64,
    /// The nursery size now (Generational; it follows the pause goal).
    pub nursery_bytes: u64,
    /// Bytes copied by moving collections.
    pub bytes_copied: u64,
    /// The last collection, if any.
    pub last: Option<CollectionStats>,
}

/// Formats bytes as MiB with one decimal.
fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// The one-line log of a collection, as `CAPGC_LOG=gc` prints it.
pub fn log_line(plan: &str, kind: &str, mode: &str, c: &CollectionStats) -> String {
    format!(
        "[capgc gc #{} {plan} {kind} {mode}] pause {:.3}ms {:.1}MiB->{:.1}MiB freed {:.1}MiB copied {:.1}MiB promoted {:.1}MiB live {:.1}MiB ({} objects)",
        c.number,
        c.pause.as_secs_f64() * 1e3,
        mib(c.bytes_before),
        mib(c.bytes_after),
        mib(c.bytes_freed),
        mib(c.bytes_copied),
        mib(c.bytes_promoted),
        mib(c.live_bytes),
        c.live_objects,
    )
}

/// Pause times of every collection, by kind, in bounded memory: a
/// log-linear histogram (32 buckets per power of two, so a percentile is
/// within 1/32 of the true pause), plus the exact count, total and
/// maximum. A VM that collects for days keeps a fixed-size record.
#[derive(Clone, Debug)]
pub struct PauseHistogram {
    /// Per kind (minor, full): bucket counts.
    buckets: [Vec<u64>; 2],
    count: [u64; 2],
    total: [Duration; 2],
    max: [Duration; 2],
}

/// Sub-buckets per power of two.
const SUB: u64 = 32;
/// Buckets: values below 2·SUB ns exactly, then SUB per power of two up
/// to 2^64 ns.
const BUCKETS: usize = (2 * SUB + (64 - 6) * SUB) as usize;

fn bucket_of(ns: u64) -> usize {
    if ns < 2 * SUB {
        return ns as usize;
    }
    let e = 63 - ns.leading_zeros() as u64; // ns in [2^e, 2^(e+1)), e >= 6
    let sub = (ns >> (e - 5)) - SUB; // 0..SUB
    (2 * SUB + (e - 6) * SUB + sub) as usize
}

/// The midpoint of bucket `b`, in nanoseconds.
fn bucket_value(b: usize) -> u64 {
    let b = b as u64;
    if b < 2 * SUB {
        return b;
    }
    let e = (b - 2 * SUB) / SUB + 6;
    let sub = (b - 2 * SUB) % SUB + SUB;
    let lo = sub << (e - 5);
    lo + (1u64 << (e - 5)) / 2
}

fn kind_index(kind: CollectionKind) -> usize {
    match kind {
        CollectionKind::Minor => 0,
        CollectionKind::Full => 1,
    }
}

impl Default for PauseHistogram {
    fn default() -> Self {
        PauseHistogram {
            buckets: [Vec::new(), Vec::new()],
            count: [0; 2],
            total: [Duration::ZERO; 2],
            max: [Duration::ZERO; 2],
        }
    }
}

impl PauseHistogram {
    /// Records one pause.
    pub(crate) fn record(&mut self, kind: CollectionKind, pause: Duration) {
        let k = kind_index(kind);
        if self.buckets[k].is_empty() {
            self.buckets[k] = vec![0; BUCKETS];
        }
        let ns = u64::try_from(pause.as_nanos()).unwrap_or(u64::MAX);
        self.buckets[k][bucket_of(ns)] += 1;
        self.count[k] += 1;
        self.total[k] += pause;
        self.max[k] = self.max[k].max(pause);
    }

    fn kinds(kind: Option<CollectionKind>) -> &'static [usize] {
        match kind {
            Some(CollectionKind::Minor) => &[0],
            Some(CollectionKind::Full) => &[1],
            None => &[0, 1],
        }
    }

    /// Collections of `kind` (`None`: every kind).
    pub fn count(&self, kind: Option<CollectionKind>) -> u64 {
        Self::kinds(kind).iter().map(|&k| self.count[k]).sum()
    }

    /// Total pause of `kind`.
    pub fn total(&self, kind: Option<CollectionKind>) -> Duration {
        Self::kinds(kind).iter().map(|&k| self.total[k]).sum()
    }

    /// Longest pause of `kind` (exact).
    pub fn max(&self, kind: Option<CollectionKind>) -> Duration {
        Self::kinds(kind)
            .iter()
            .map(|&k| self.max[k])
            .max()
            .unwrap_or_default()
    }

    /// The `q` quantile (0 ..= 1) of the pauses of `kind`, within 1/32;
    /// zero when there were none. `q = 1` is the exact maximum.
    pub fn percentile(&self, kind: Option<CollectionKind>, q: f64) -> Duration {
        let n = self.count(kind);
        if n == 0 {
            return Duration::ZERO;
        }
        if q >= 1.0 {
            return self.max(kind);
        }
        // The nearest-rank quantile: the smallest value with at least
        // ceil(q·n) values at or below it.
        let rank = ((q.max(0.0) * n as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for b in 0..BUCKETS {
            seen += Self::kinds(kind)
                .iter()
                .map(|&k| self.buckets[k].get(b).copied().unwrap_or(0))
                .sum::<u64>();
            if seen >= rank {
                return Duration::from_nanos(bucket_value(b)).min(self.max(kind));
            }
        }
        self.max(kind)
    }
}

/// A heap's statistics as it keeps them.
pub(crate) struct Stats {
    pub(crate) totals: HeapStats,
    pub(crate) pauses: PauseHistogram,
    /// Checks performed by mutator accesses (a Cell so reads stay `&self`).
    pub(crate) checks: Cell<u64>,
    /// Bytes the moving plans' allocation fast path has bumped since
    /// `totals` last took them in (`bytes_in_use` and `bytes_allocated`
    /// both owe them): one counter in the fast path instead of two, folded
    /// in by [`Stats::fold_young`] before either total is read.
    pub(crate) young_bytes: u64,
}

impl Stats {
    pub(crate) fn new(nursery_bytes: u64) -> Stats {
        Stats {
            totals: HeapStats {
                nursery_bytes,
                ..HeapStats::default()
            },
            pauses: PauseHistogram::default(),
            checks: Cell::new(0),
            young_bytes: 0,
        }
    }

    /// Takes the fast path's pending bytes into the totals.
    #[inline(always)]
    pub(crate) fn fold_young(&mut self) {
        self.totals.bytes_in_use += self.young_bytes;
        self.totals.bytes_allocated += self.young_bytes;
        self.young_bytes = 0;
    }

    /// The totals with the fast path's pending bytes taken in.
    pub(crate) fn totals(&self) -> HeapStats {
        let mut s = self.totals;
        s.bytes_in_use += self.young_bytes;
        s.bytes_allocated += self.young_bytes;
        s.checks += self.checks.get();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotone_and_tight() {
        let mut last = 0;
        for ns in (0..100_000u64).chain([1 << 20, 1 << 40, u64::MAX]) {
            let b = bucket_of(ns);
            assert!(b >= last, "monotone");
            last = b;
            let v = bucket_value(b);
            let err = v.abs_diff(ns) as f64 / ns.max(1) as f64;
            assert!(err <= 1.0 / 32.0, "{ns}: bucket value {v}");
        }
        assert!(bucket_of(u64::MAX) < BUCKETS);
    }

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut h = PauseHistogram::default();
        for us in 1..=1000u64 {
            h.record(CollectionKind::Minor, Duration::from_micros(us));
        }
        h.record(CollectionKind::Full, Duration::from_millis(50));
        let p50 = h.percentile(Some(CollectionKind::Minor), 0.5).as_micros() as f64;
        let p99 = h.percentile(Some(CollectionKind::Minor), 0.99).as_micros() as f64;
        assert!((p50 - 500.0).abs() <= 500.0 / 32.0 + 1.0, "{p50}");
        assert!((p99 - 990.0).abs() <= 990.0 / 32.0 + 1.0, "{p99}");
        assert_eq!(h.max(None), Duration::from_millis(50));
        assert_eq!(h.count(None), 1001);
        let full = h.percentile(Some(CollectionKind::Full), 0.5).as_micros() as f64;
        assert!((full - 50_000.0).abs() <= 50_000.0 / 32.0, "{full}");
        assert_eq!(
            h.percentile(None, 1.0),
            Duration::from_millis(50),
            "exact max"
        );
    }
}
