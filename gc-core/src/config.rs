//! [`HeapConfig`]: what a heap is created from.

use std::time::Duration;

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
        crate::plan::constraints(self).moves_objects
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
    /// `limit`). With a nursery (Generational) the heap counted is the
    /// mature space, and the trigger is also at least live + the nursery
    /// in force: one minor collection promoting a whole nursery does
    /// not by itself start a full collection.
    pub growth_factor: f64,
    /// Nursery size in bytes (Generational): a minor collection runs when
    /// the nursery is full. With a [`HeapConfig::pause_goal`] or
    /// [`HeapConfig::nursery_follows_live`] this is the most the nursery
    /// grows to; without either, its fixed size.
    pub nursery_size: u64,
    /// Generational: keep the worst-case minor pause — a nursery in which
    /// everything survives — within this goal by sizing the nursery. The
    /// collector keeps a moving average of what evacuating a surviving
    /// byte costs (from minor collections that copied at least 32 KiB)
    /// and after each minor collection sets the nursery to half the
    /// goal's worth of bytes, between 128 KiB (or `nursery_size` if
    /// smaller) and
    /// [`HeapConfig::nursery_size`], changing it at most twofold per
    /// step; the first nursery is 256 KiB. The size follows the machine
    /// and the mode: a checked mode re-derives a capability for every
    /// reference to a moved object (I8), so its nursery ends up smaller.
    /// Minor pauses are proportional to what survives, so most are far
    /// below the goal. `None`: a fixed nursery of `nursery_size`.
    pub pause_goal: Option<Duration>,
    /// Generational without a [`HeapConfig::pause_goal`]: the nursery
    /// follows the live heap instead of staying at `nursery_size`. After
    /// every collection it is set to half the bytes that survived the last
    /// full collection (before the first one, half the mature space),
    /// between `nursery_size / 2` and `nursery_size`. The nursery and the
    /// quarantine of its last evacuation are both resident, so a nursery
    /// of half the live heap keeps them within one live heap of memory;
    /// the floor keeps small heaps from paying for many small minor
    /// collections. `false`: a fixed nursery of `nursery_size`. Ignored
    /// with a pause goal, which sizes the nursery itself.
    pub nursery_follows_live: bool,
    /// How objects are scanned.
    pub scan: ScanStrategy,
    /// Print one line per collection to stderr (`CAPGC_LOG=gc`).
    pub log: bool,
    /// The GC zeal mode (testing only: collect every N allocations,
    /// verify after each collection, move everything, poison freed
    /// memory); all off by default. `CAPGC_ZEAL` extends it at heap
    /// creation ([`crate::Zeal`]).
    pub zeal: crate::Zeal,
}

impl HeapConfig {
    /// The smallest heap limit accepted (four blocks).
    pub const MIN_LIMIT: u64 = 256 << 10;
    /// The largest heap limit accepted. The region and every side table
    /// are reserved lazily, so a large limit costs address space, not
    /// memory.
    pub const MAX_LIMIT: u64 = 1 << 44;

    /// The largest nursery of the [`HeapConfig::throughput`] preset:
    /// 16 MiB.
    pub const THROUGHPUT_NURSERY: u64 = 16 << 20;

    /// The **latency** preset, the default: Generational with the nursery
    /// sized to a 1 ms minor-pause goal (at most 4 MiB). Short pauses, at
    /// the price of more collections and more objects promoted that die
    /// soon after.
    ///
    /// ```
    /// use gc_core::HeapConfig;
    /// assert_eq!(HeapConfig::latency().pause_goal.map(|g| g.as_micros()), Some(1000));
    /// ```
    pub fn latency() -> HeapConfig {
        HeapConfig::default()
    }

    /// The **throughput** preset: Generational with a nursery of 8 to
    /// 16 MiB that follows the live heap
    /// ([`HeapConfig::nursery_follows_live`]) and no pause goal. Fewer
    /// minor collections, each copying a smaller share of what was
    /// allocated (more objects die before it runs); a minor pause is then
    /// up to what survives of the nursery (tens of milliseconds in the
    /// worst case, binary-trees' large trees), and the nursery and the
    /// quarantine of its last evacuation add up to 16–32 MiB of resident
    /// memory.
    /// What binary-trees costs under each preset is the benchmark's
    /// trade-off table (`workloads --presets latency,throughput`).
    ///
    /// ```
    /// use gc_core::{HeapConfig, Plan};
    /// let c = HeapConfig { limit: 1 << 32, ..HeapConfig::throughput() };
    /// assert_eq!((c.plan, c.pause_goal, c.nursery_size), (Plan::Generational, None, 16 << 20));
    /// assert!(c.nursery_follows_live);
    /// ```
    pub fn throughput() -> HeapConfig {
        HeapConfig {
            nursery_size: Self::THROUGHPUT_NURSERY,
            pause_goal: None,
            nursery_follows_live: true,
            ..HeapConfig::default()
        }
    }
}

impl Default for HeapConfig {
    /// Generational with a 1 ms minor-pause goal (nursery of at most
    /// 4 MiB), 4 MiB initial, 1 GiB limit, growth
    /// ×2, type-map scanning, zeal off (`CAPGC_ZEAL` is read by
    /// [`crate::Heap::new`], not here);
    /// `log` on when the environment has `CAPGC_LOG` containing `gc`.
    fn default() -> Self {
        HeapConfig {
            plan: Plan::Generational,
            initial_size: 4 << 20,
            nursery_size: 4 << 20,
            pause_goal: Some(Duration::from_millis(1)),
            nursery_follows_live: false,
            limit: 1 << 30,
            growth_factor: 2.0,
            scan: ScanStrategy::TypeMap,
            log: log_from_env(),
            zeal: crate::Zeal::default(),
        }
    }
}

/// True when `CAPGC_LOG` names `gc` (comma-separated list).
pub fn log_from_env() -> bool {
    std::env::var("CAPGC_LOG").is_ok_and(|v| v.split(',').any(|s| s.trim() == "gc"))
}
