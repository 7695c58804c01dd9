//! Configuration and heaps: `capgc_config_t`, `capgc_heap_new`,
//! `capgc_heap_free`, collection.
//!
//! Mode, format and plan are chosen at run time. Behind the opaque
//! `capgc_heap_t` is an enum over the monomorphised heaps ([`AnyHeap`]);
//! each call dispatches once (`on_heap!`), with no dynamic dispatch on
//! any path inside it.

use crate::error::CapgcStatus;
use crate::fast::capgc_mutator_t;
use crate::ffi::{
    enum_from, fail, ffi, free_boxed, get, put, put_opt, without_heap, writable, Fail, Guard,
};
use crate::stats::{capgc_collection_t, collection_of};
use capability_heap::{CheriV9, Morello, Native, RiscvStd, SoftCheri, P128};
use gc_core::{Heap, HeapConfig, Plan, ScanStrategy};
use std::time::Duration;

/// How references are represented (`capgc_config_t.mode`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// cbindgen:prefix-with-name=false
#[allow(non_camel_case_types)]
pub enum CapgcMode {
    /// 8-byte addresses, no checks: today's VMs.
    CAPGC_MODE_NATIVE = 0,
    /// 16-byte references, no checks: purecap's pointer width alone.
    CAPGC_MODE_P128 = 1,
    /// Full CHERI capability semantics in software, in `format`.
    CAPGC_MODE_SOFTCHERI = 2,
}

/// The capability encoding of SoftCheri (`capgc_config_t.format`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// cbindgen:prefix-with-name=false
#[allow(non_camel_case_types)]
pub enum CapgcFormat {
    /// Arm Morello.
    CAPGC_FORMAT_MORELLO = 0,
    /// CHERI-RISC-V v9 (CHERI ISA v9, 128-bit).
    CAPGC_FORMAT_CHERI_V9 = 1,
    /// The RISC-V CHERI standard (draft).
    CAPGC_FORMAT_RISCV_STD = 2,
}

/// The collector (`capgc_config_t.plan`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// cbindgen:prefix-with-name=false
#[allow(non_camel_case_types)]
pub enum CapgcPlan {
    /// Non-moving mark-sweep.
    CAPGC_PLAN_MARKSWEEP = 0,
    /// Copying between semispaces.
    CAPGC_PLAN_SEMISPACE = 1,
    /// A nursery promoted into a mark-sweep mature space (the default).
    CAPGC_PLAN_GENERATIONAL = 2,
}

/// How references in objects are found (`capgc_config_t.scan`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// cbindgen:prefix-with-name=false
#[allow(non_camel_case_types)]
pub enum CapgcScan {
    /// By the registered types' reference maps.
    CAPGC_SCAN_TYPE_MAP = 0,
    /// By capability tags (SoftCheri only).
    CAPGC_SCAN_TAGS = 1,
}

macro_rules! into_u32 {
    ($($t:ty),*) => {$(
        impl From<$t> for u32 {
            fn from(v: $t) -> u32 {
                v as u32
            }
        }
    )*};
}
/// When collections happen (`capgc_config_t.trigger`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// cbindgen:prefix-with-name=false
#[allow(non_camel_case_types)]
pub enum CapgcTrigger {
    /// The heap collects when its pacing says so, and when it is full.
    CAPGC_TRIGGER_AUTO = 0,
    /// The heap never collects on its own: the VM calls for collections,
    /// and a full heap is `CAPGC_E_OUT_OF_MEMORY` (the binding profile,
    /// `capgc_cells_new`; `capgc_heap_new` refuses it: a nursery must be
    /// collected when it fills).
    CAPGC_TRIGGER_MANUAL = 1,
}

into_u32!(CapgcMode, CapgcFormat, CapgcPlan, CapgcScan, CapgcTrigger);

/// What a heap is created from. Get the defaults from
/// `capgc_config_default()` and change what you need. The enum fields are
/// plain integers on purpose: each is checked before use, and an invalid
/// one is `CAPGC_E_INVALID_ENUM`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(non_camel_case_types)]
pub struct capgc_config_t {
    /// A `capgc_mode_t` (default `CAPGC_MODE_SOFTCHERI`).
    pub mode: u32,
    /// A `capgc_format_t`, for SoftCheri (default `CAPGC_FORMAT_MORELLO`).
    pub format: u32,
    /// A `capgc_plan_t` (default `CAPGC_PLAN_GENERATIONAL`).
    pub plan: u32,
    /// A `capgc_scan_t` (default `CAPGC_SCAN_TYPE_MAP`).
    pub scan: u32,
    /// The heap limit in bytes (default 1 GiB; 256 KiB .. 16 TiB).
    pub limit: u64,
    /// Bytes allocated before the first collection (default 4 MiB).
    pub initial_size: u64,
    /// The most the nursery grows to, or its fixed size (default 4 MiB).
    pub nursery_size: u64,
    /// The minor-pause goal in microseconds the nursery is sized to
    /// (default 1000); 0 for a fixed nursery of `nursery_size`.
    pub pause_goal_us: u64,
    /// The next collection when the heap holds this many times the live
    /// bytes (default 2.0).
    pub growth_factor: f64,
    /// Nonzero: one log line per collection on stderr (also when the
    /// environment has `CAPGC_LOG=gc`).
    pub log: u32,
    /// A `capgc_trigger_t` (default `CAPGC_TRIGGER_AUTO`).
    pub trigger: u32,
    /// Nonzero (binding profile only): every pointer a trace reports must
    /// be into a live cell, and every collection ends with the verifier
    /// (`CAPGC_E_CORRUPT` if it finds a violation). `capgc_heap_new`
    /// refuses it (its verifier is `capgc_heap_verify`).
    pub checked: u32,
    /// GC zeal (testing only, to find a VM's missing roots; see
    /// docs/porting.md): a full collection every this many allocations, 0
    /// for off (default 0). The environment variable `CAPGC_ZEAL` (e.g.
    /// `collect:100,verify,move-all,poison`), read at heap creation,
    /// extends `zeal_collect_every` and `zeal_flags`; a malformed value is
    /// `CAPGC_E_INVALID_CONFIG`. In a cell heap (`capgc_cells_new`) zeal
    /// makes a collection due: the heap runs it in `capgc_cell_alloc` with
    /// the automatic trigger; under `CAPGC_TRIGGER_MANUAL` the VM asks
    /// `capgc_cells_collection_due` and runs it at its next safepoint.
    pub zeal_collect_every: u32,
    /// GC zeal options: a bitwise OR of `CAPGC_ZEAL_VERIFY`,
    /// `CAPGC_ZEAL_MOVE_ALL` and `CAPGC_ZEAL_POISON` (default 0); any
    /// other bit is `CAPGC_E_INVALID_CONFIG`.
    pub zeal_flags: u32,
}

/// `capgc_config_t.zeal_flags`: verify the heap after every collection; a
/// violation is printed on stderr, and the call that collected and every
/// later one answers `CAPGC_E_CORRUPT`.
pub const CAPGC_ZEAL_VERIFY: u32 = 1;
/// `capgc_config_t.zeal_flags`: every movable object moves at every
/// collection (SemiSpace always does; Generational stops promoting;
/// MarkSweep and cell heaps move nothing).
pub const CAPGC_ZEAL_MOVE_ALL: u32 = 2;
/// `capgc_config_t.zeal_flags`: freed memory is filled with 0xdb bytes
/// (zeroed again before reuse), so a stale pointer reads
/// 0xdbdbdbdbdbdbdbdb.
pub const CAPGC_ZEAL_POISON: u32 = 4;

/// The zeal options of a C configuration, checked.
pub(crate) fn zeal_of(c: &capgc_config_t) -> Result<gc_core::Zeal, Fail> {
    let all = CAPGC_ZEAL_VERIFY | CAPGC_ZEAL_MOVE_ALL | CAPGC_ZEAL_POISON;
    if c.zeal_flags & !all != 0 {
        return fail(
            CapgcStatus::CAPGC_E_INVALID_CONFIG,
            format!(
                "zeal_flags {:#x} has bits that are not CAPGC_ZEAL_VERIFY, CAPGC_ZEAL_MOVE_ALL or CAPGC_ZEAL_POISON",
                c.zeal_flags
            ),
        );
    }
    Ok(gc_core::Zeal {
        collect_every: c.zeal_collect_every,
        verify: c.zeal_flags & CAPGC_ZEAL_VERIFY != 0,
        move_all: c.zeal_flags & CAPGC_ZEAL_MOVE_ALL != 0,
        poison: c.zeal_flags & CAPGC_ZEAL_POISON != 0,
    })
}

/// The default configuration, the latency preset: SoftCheri (Morello),
/// Generational with the nursery sized to a 1 ms minor-pause goal (at most
/// 4 MiB), type-map scanning, a 1 GiB limit.
#[no_mangle]
pub extern "C" fn capgc_config_default() -> capgc_config_t {
    config_from(&HeapConfig::latency())
}

/// The throughput preset: as `capgc_config_default` but with a fixed
/// 16 MiB nursery and no pause goal — fewer minor collections, each
/// copying a smaller share of what was allocated, at the price of pauses
/// up to what survives of 16 MiB and ~32 MiB more resident memory.
#[no_mangle]
pub extern "C" fn capgc_config_throughput() -> capgc_config_t {
    config_from(&HeapConfig::throughput())
}

/// The C configuration of a preset (SoftCheri Morello, type-map scanning).
fn config_from(d: &HeapConfig) -> capgc_config_t {
    capgc_config_t {
        mode: CapgcMode::CAPGC_MODE_SOFTCHERI as u32,
        format: CapgcFormat::CAPGC_FORMAT_MORELLO as u32,
        plan: CapgcPlan::CAPGC_PLAN_GENERATIONAL as u32,
        scan: CapgcScan::CAPGC_SCAN_TYPE_MAP as u32,
        limit: d.limit,
        initial_size: d.initial_size,
        nursery_size: d.nursery_size,
        pause_goal_us: d.pause_goal.map_or(0, |g| g.as_micros() as u64),
        growth_factor: d.growth_factor,
        log: u32::from(d.log),
        trigger: CapgcTrigger::CAPGC_TRIGGER_AUTO as u32,
        checked: 0,
        zeal_collect_every: d.zeal.collect_every,
        zeal_flags: [
            (d.zeal.verify, CAPGC_ZEAL_VERIFY),
            (d.zeal.move_all, CAPGC_ZEAL_MOVE_ALL),
            (d.zeal.poison, CAPGC_ZEAL_POISON),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .fold(0, |f, (_, bit)| f | bit),
    }
}

/// The heaps a `capgc_heap_t` can hold, one per mode and format.
pub(crate) enum AnyHeap {
    Native(Heap<Native>),
    P128(Heap<P128>),
    Morello(Heap<SoftCheri<Morello>>),
    CheriV9(Heap<SoftCheri<CheriV9>>),
    RiscvStd(Heap<SoftCheri<RiscvStd>>),
}

/// A heap (opaque). One thread at a time: a call while another is in
/// progress on the same heap is refused with `CAPGC_E_BUSY`.
#[allow(non_camel_case_types)]
pub struct capgc_heap_t(
    pub(crate) Guard<AnyHeap>,
    /// The fast path's mutator struct (`fast.rs`), reached only under the
    /// busy flag or by C between calls.
    pub(crate) crate::fast::MutatorCell,
);

pub(crate) const MODES: [CapgcMode; 3] = [
    CapgcMode::CAPGC_MODE_NATIVE,
    CapgcMode::CAPGC_MODE_P128,
    CapgcMode::CAPGC_MODE_SOFTCHERI,
];
const FORMATS: [CapgcFormat; 3] = [
    CapgcFormat::CAPGC_FORMAT_MORELLO,
    CapgcFormat::CAPGC_FORMAT_CHERI_V9,
    CapgcFormat::CAPGC_FORMAT_RISCV_STD,
];
const PLANS: [CapgcPlan; 3] = [
    CapgcPlan::CAPGC_PLAN_MARKSWEEP,
    CapgcPlan::CAPGC_PLAN_SEMISPACE,
    CapgcPlan::CAPGC_PLAN_GENERATIONAL,
];
const SCANS: [CapgcScan; 2] = [CapgcScan::CAPGC_SCAN_TYPE_MAP, CapgcScan::CAPGC_SCAN_TAGS];
pub(crate) const TRIGGERS: [CapgcTrigger; 2] = [
    CapgcTrigger::CAPGC_TRIGGER_AUTO,
    CapgcTrigger::CAPGC_TRIGGER_MANUAL,
];

/// The checked configuration `c` describes: its mode, its format and the
/// heap configuration. `heap` names what is being made and `verifier`
/// its verifier, for the messages ("an object heap", "an object heap's
/// verifier is capgc_heap_verify").
pub(crate) fn checked_config_of(
    c: &capgc_config_t,
    heap: &str,
    verifier: &str,
) -> Result<(CapgcMode, CapgcFormat, HeapConfig), Fail> {
    let mode = enum_from(c.mode, &MODES, "capgc_mode_t")?;
    let format = enum_from(c.format, &FORMATS, "capgc_format_t")?;
    let plan = match enum_from(c.plan, &PLANS, "capgc_plan_t")? {
        CapgcPlan::CAPGC_PLAN_MARKSWEEP => Plan::MarkSweep,
        CapgcPlan::CAPGC_PLAN_SEMISPACE => Plan::SemiSpace,
        CapgcPlan::CAPGC_PLAN_GENERATIONAL => Plan::Generational,
    };
    if enum_from(c.trigger, &TRIGGERS, "capgc_trigger_t")? == CapgcTrigger::CAPGC_TRIGGER_MANUAL {
        return fail(
            CapgcStatus::CAPGC_E_INVALID_CONFIG,
            format!("CAPGC_TRIGGER_MANUAL is for the binding profile (capgc_cells_new): {heap} collects its nursery when it fills"),
        );
    }
    if c.checked != 0 {
        return fail(
            CapgcStatus::CAPGC_E_INVALID_CONFIG,
            format!("checked is for the binding profile (capgc_cells_new); {verifier}"),
        );
    }
    let scan = match enum_from(c.scan, &SCANS, "capgc_scan_t")? {
        CapgcScan::CAPGC_SCAN_TYPE_MAP => ScanStrategy::TypeMap,
        CapgcScan::CAPGC_SCAN_TAGS => ScanStrategy::Tags,
    };
    let config = HeapConfig {
        plan,
        scan,
        limit: c.limit,
        initial_size: c.initial_size,
        nursery_size: c.nursery_size,
        pause_goal: (c.pause_goal_us != 0).then(|| Duration::from_micros(c.pause_goal_us)),
        // Not in `capgc_config_t` (adding a field would change its
        // layout): C heaps keep the fixed nursery they always had.
        nursery_follows_live: false,
        growth_factor: c.growth_factor,
        log: c.log != 0 || gc_core::log_from_env(),
        zeal: zeal_of(c)?,
    };
    Ok((mode, format, config))
}

fn heap_from(c: &capgc_config_t) -> Result<AnyHeap, Fail> {
    let (mode, format, config) = checked_config_of(
        c,
        "an object heap",
        "an object heap's verifier is capgc_heap_verify",
    )?;
    Ok(match (mode, format) {
        (CapgcMode::CAPGC_MODE_NATIVE, _) => AnyHeap::Native(Heap::new(config)?),
        (CapgcMode::CAPGC_MODE_P128, _) => AnyHeap::P128(Heap::new(config)?),
        (CapgcMode::CAPGC_MODE_SOFTCHERI, CapgcFormat::CAPGC_FORMAT_MORELLO) => {
            AnyHeap::Morello(Heap::new(config)?)
        }
        (CapgcMode::CAPGC_MODE_SOFTCHERI, CapgcFormat::CAPGC_FORMAT_CHERI_V9) => {
            AnyHeap::CheriV9(Heap::new(config)?)
        }
        (CapgcMode::CAPGC_MODE_SOFTCHERI, CapgcFormat::CAPGC_FORMAT_RISCV_STD) => {
            AnyHeap::RiscvStd(Heap::new(config)?)
        }
    })
}

/// Creates a heap from `config` (null: the defaults) and stores it in
/// `*out`. Free it with `capgc_heap_free`.
///
/// # Safety
/// `config` is null or points to a `capgc_config_t`; `out` points to
/// writable storage for a pointer.
#[no_mangle]
pub unsafe extern "C" fn capgc_heap_new(
    config: *const capgc_config_t,
    out: *mut *mut capgc_heap_t,
) -> CapgcStatus {
    without_heap(|| {
        writable(out)?;
        let c = if config.is_null() {
            capgc_config_default()
        } else {
            *get(config, "config")?
        };
        put(
            out,
            Guard::boxed(heap_from(&c)?, |g| {
                capgc_heap_t(g, std::cell::UnsafeCell::new(capgc_mutator_t::empty()))
            }),
        )
    })
}

/// Frees a heap and all its memory. Null is ignored. Every reference,
/// handle and token of the heap is meaningless afterwards.
///
/// # Safety
/// `heap` is null or a heap from `capgc_heap_new` not yet freed, and no
/// other call on it is in progress or follows.
#[no_mangle]
pub unsafe extern "C" fn capgc_heap_free(heap: *mut capgc_heap_t) {
    // SAFETY: the caller's contract: null or from capgc_heap_new, freed
    // once, nothing else in progress.
    unsafe { free_boxed(heap) }
}

/// The heap's mode (`capgc_mode_t`) into `*mode` and reference-slot size
/// in bytes into `*slot_size` (8 in Native, 16 otherwise); either may be
/// null.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `mode` and `slot_size` are null
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_heap_mode(
    heap: *mut capgc_heap_t,
    mode: *mut u32,
    slot_size: *mut u64,
) -> CapgcStatus {
    crate::ffi::with_heap(heap, |any| {
        let (m, s) = match any {
            AnyHeap::Native(_) => (CapgcMode::CAPGC_MODE_NATIVE, 8),
            AnyHeap::P128(_) => (CapgcMode::CAPGC_MODE_P128, 16),
            _ => (CapgcMode::CAPGC_MODE_SOFTCHERI, 16),
        };
        if !mode.is_null() {
            put(mode, m as u32)?;
        }
        if !slot_size.is_null() {
            put(slot_size, s)?;
        }
        Ok(())
    })
}

/// The size in bytes of a reference slot in this heap's objects: 8 in
/// Native, 16 in P128 and SoftCheri (a capability). Lay out records with
/// it (reference slot *i* at `i * slot`, data after the slots), never
/// with a constant. Returns 0 — no slot size — when `heap` is null, busy
/// or poisoned (`capgc_last_error` says which).
///
/// # Safety
/// `heap` is null or a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_heap_slot_size(heap: *mut capgc_heap_t) -> usize {
    let mut size = 0;
    crate::ffi::with_heap(heap, |any| {
        size = match any {
            AnyHeap::Native(_) => 8,
            _ => 16,
        };
        Ok(())
    });
    size
}

/// Runs a full collection; every reference obtained before it is stale
/// afterwards (`CAPGC_E_STALE` in SoftCheri). `out` (may be null) gets
/// what it did.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_collect(
    heap: *mut capgc_heap_t,
    out: *mut capgc_collection_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        let c = h.collect()?;
        put_opt(out, collection_of(&c))
    })
}

/// Runs a minor collection (Generational; a full one in the other plans).
///
/// # Safety
/// As `capgc_collect`.
#[no_mangle]
pub unsafe extern "C" fn capgc_collect_minor(
    heap: *mut capgc_heap_t,
    out: *mut capgc_collection_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        let c = h.collect_minor()?;
        put_opt(out, collection_of(&c))
    })
}
