//! Collection statistics and the `CAPGC_LOG=gc` line.

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
    /// Largest footprint seen after a collection.
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
