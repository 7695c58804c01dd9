//! [`HeapConfig`]: what a heap is created from.

use capability_heap::RefMode;

/// Which collector a heap runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Plan {
    /// Non-moving mark-sweep: size-segregated blocks, side mark bits, a
    /// large-object space.
    MarkSweep,
    /// Copying (Cheney) between semispaces with bump allocation; large and
    /// pinned objects live in a non-moving space.
    SemiSpace,
    /// A bump-pointer nursery whose survivors are copied into a mark-sweep
    /// mature space; write barrier and remembered set. The default.
    Generational,
}

impl Plan {
    /// Short name for logs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Plan::MarkSweep => "marksweep",
            Plan::SemiSpace => "semispace",
            Plan::Generational => "generational",
        }
    }

    /// Every plan.
    pub const ALL: [Plan; 3] = [Plan::MarkSweep, Plan::SemiSpace, Plan::Generational];

    /// True for the plans that move objects.
    pub fn moves(self) -> bool {
        !matches!(self, Plan::MarkSweep)
    }
}

/// How the collector finds the references inside an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScanStrategy {
    /// By the registered type's reference map (every mode).
    TypeMap,
    /// By the tag bitmap: every tagged granule of the payload is a
    /// reference (the CHERI way; `SoftCheri` modes only).
    Tags,
}

/// Heap configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct HeapConfig {
    /// The collector.
    pub plan: Plan,
    /// Bytes allocated before the first collection, and the least the
    /// heap grows to before collecting again.
    pub initial_size: u64,
    /// Hard limit on heap memory (blocks in use); allocation beyond it
    /// after a full collection is [`crate::GcError::OutOfMemory`].
    pub limit: u64,
    /// After a collection, the next one is triggered when the heap holds
    /// `live × growth_factor` bytes (at least `initial_size`, at most
    /// `limit`).
    pub growth_factor: f64,
    /// Nursery size in bytes (Generational): a minor collection runs when
    /// the nursery is full. `None`: the mode's default,
    /// [`HeapConfig::default_nursery_size`].
    pub nursery_size: Option<u64>,
    /// How objects are scanned.
    pub scan: ScanStrategy,
    /// Print one line per collection to stderr (`CAPGC_LOG=gc`).
    pub log: bool,
}

impl Default for HeapConfig {
    /// Generational (the mode's default nursery), 4 MiB initial, 1 GiB limit, growth
    /// ×2, type-map scanning;
    /// `log` on when the environment has `CAPGC_LOG` containing `gc`.
    fn default() -> Self {
        HeapConfig {
            plan: Plan::Generational,
            initial_size: 4 << 20,
            nursery_size: None,
            limit: 1 << 30,
            growth_factor: 2.0,
            scan: ScanStrategy::TypeMap,
            log: log_from_env(),
        }
    }
}

impl HeapConfig {
    /// The nursery size a heap of mode `M` gets when
    /// [`HeapConfig::nursery_size`] is `None`: 512 KiB in the unchecked
    /// modes, 256 KiB in the checked (`SoftCheri`) ones.
    ///
    /// A minor pause is proportional to what survives, at worst the whole
    /// nursery, times the cost of copying an object; a checked mode also
    /// re-derives a capability for every reference to a moved object
    /// (I8), which about doubles that cost. The defaults keep a nursery in
    /// which everything survives collectable in about a millisecond in
    /// each mode (`workloads` reports the minor-pause p99); a VM with a
    /// different pause budget sets the size itself.
    ///
    /// ```
    /// use capability_heap::{Morello, Native, SoftCheri};
    /// use gc_core::HeapConfig;
    /// assert_eq!(HeapConfig::default_nursery_size::<Native>(), 512 << 10);
    /// assert_eq!(HeapConfig::default_nursery_size::<SoftCheri<Morello>>(), 256 << 10);
    /// ```
    pub fn default_nursery_size<M: RefMode>() -> u64 {
        if M::CHECKED {
            256 << 10
        } else {
            512 << 10
        }
    }
}

/// True when `CAPGC_LOG` names `gc` (comma-separated list).
pub fn log_from_env() -> bool {
    std::env::var("CAPGC_LOG").is_ok_and(|v| v.split(',').any(|s| s.trim() == "gc"))
}
