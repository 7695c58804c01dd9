//! The `c_abi` target: sequences of calls through the exported `capgc_*`
//! functions (the `capgc` crate linked as an rlib), as a VM in C would
//! make them — and as a buggy or hostile one would: null heaps and out
//! pointers, garbage enums and configurations, huge sizes, indices out of
//! range, stale, forged, bit-flipped and other heaps' references and
//! tokens, lying and re-entering trace callbacks, sealed references
//! unsealed by the wrong compartment or with flipped bits.
//!
//! What every run checks:
//! - every call returns a status, never `CAPGC_E_INTERNAL` (a caught
//!   panic) or `CAPGC_E_POISONED`; a panic anywhere aborts the run;
//! - in SoftCheri, each misuse is refused: a stale reference with
//!   `CAPGC_E_STALE`, a forged or flipped one with `CAPGC_E_FORGED` (or
//!   `CAPGC_E_STALE`), a write through a view without the permission,
//!   another heap's reference or token, a payload pointer, a foreign
//!   compartment's reference, an unseal by a non-owner, a flipped sealed
//!   token; in every mode null arguments are `CAPGC_E_NULL_ARGUMENT` and
//!   another heap's tokens are refused;
//! - a trace callback that re-enters the heap gets `CAPGC_E_BUSY`;
//! - after every collection and at the end, `capgc_heap_verify` (and
//!   `capgc_split_heap_verify`) report no violation.
//!
//! In the unchecked modes (Native, P128) the ABI documents what it cannot
//! catch (out-of-bounds writes, data over reference slots, writes through
//! stale references): the driver then behaves as a correct VM for those —
//! mutating calls get only fresh references, data writes stay inside an
//! object's data — and still sends garbage to every call that only
//! reads, so the verifier must pass in every mode.

pub mod calls;
pub mod fast;
mod garbage;
mod liar;
pub mod split;

use crate::cases::{Mode, PlanSel};
use arbitrary::Arbitrary;
use capability_heap::{CheriV9, Format, Morello, RiscvStd};
use capgc::CapgcStatus as S;
use capgc::*;
use std::collections::HashMap;

pub use calls::Call;
pub use fast::FastCall;
pub use garbage::RawConfig;
pub use split::SplitCall;

/// The most calls a run makes.
pub const MAX_CALLS: usize = 256;
/// The most entries a pool keeps (the oldest are forgotten).
const POOL: usize = 32;

/// One run of the target.
#[derive(Arbitrary, Debug)]
pub struct Input {
    /// The mode and format of the heaps.
    pub mode: Mode,
    /// The plan.
    pub plan: PlanSel,
    /// Scan by tag (SoftCheri only).
    pub by_tag: bool,
    /// A configuration of garbage fields, tried first.
    pub garbage_config: Option<RawConfig>,
    /// The calls.
    pub calls: Vec<Call>,
    /// Then the fast path's calls (`fast.rs`), on the same heap and pool.
    /// A field of its own after `calls`, not a `Call` variant, so that the
    /// committed regression seeds (raw crash inputs) decode to the calls
    /// they were found as.
    pub fast: Vec<FastCall>,
}

/// Which reference an argument is.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum RefPick {
    /// The `i`-th reference of the pool (stale if a collection came
    /// since it was obtained).
    Pool(u8),
    /// The null reference.
    Null,
    /// The `i`-th reference of the pool with bit `bit` (mod 128) flipped.
    Flip(u8, u8),
    /// Bits nobody handed out.
    Garbage(u64, u64),
    /// A reference of the other heap.
    Foreign(u8),
}

/// Which token (handle, persistent, region, weak, ephemeron, finalizer,
/// scope) an argument is.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum TokPick {
    /// The `i`-th of the pool.
    Pool(u8),
    /// The `i`-th of the pool with bit `bit` (mod 128) flipped.
    Flip(u8, u8),
    /// Bits nobody handed out.
    Garbage(u64, u64),
    /// The other heap's.
    Foreign,
}

/// What the driver knows of a reference argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Q {
    /// Obtained since the last collection: designates a live object.
    Fresh(Obj),
    /// Obtained before the last collection.
    Stale,
    /// Never handed out by this heap (flipped, garbage, another heap's).
    Bad,
    /// Null.
    Null,
}

impl Q {
    /// Stale or bad: a checked heap must refuse it as an object.
    fn misused(self) -> bool {
        matches!(self, Q::Stale | Q::Bad)
    }
}

/// A reference in the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Obj {
    r: capgc_ref_t,
    /// The collection count when it was obtained.
    epoch: u64,
    /// Its `CAPGC_PERM_*` view, when known.
    perms: Option<u32>,
}

/// Every `CAPGC_PERM_*` bit.
const ALL_PERMS: u32 = 0x3f;

/// Where a type's data lies (the only bytes the driver writes in the
/// unchecked modes).
#[derive(Clone, Debug)]
enum Layout {
    /// A fixed-size type: its size and reference-slot offsets.
    Fixed { size: u64, refs: Vec<u64> },
    /// A byte array: all data.
    Bytes,
    /// A reference array: no data.
    RefArray,
}

/// The pools of tokens, as their words.
#[derive(Default)]
struct Tokens {
    handles: Vec<[u64; 2]>,
    persistents: Vec<[u64; 2]>,
    regions: Vec<[u64; 2]>,
    weaks: Vec<[u64; 2]>,
    ephemerons: Vec<[u64; 2]>,
    finalizers: Vec<[u64; 2]>,
    scopes: Vec<[u64; 2]>,
}

/// The other heap's objects and tokens: what must be refused here.
struct Foreign {
    heap: *mut capgc_heap_t,
    refs: Vec<capgc_ref_t>,
    node: capgc_type_t,
    handle: [u64; 2],
    persistent: [u64; 2],
    region: [u64; 2],
    weak: [u64; 2],
    ephemeron: [u64; 2],
    finalizer: [u64; 2],
    scope: [u64; 2],
}

/// The driver: the heap under test, what it handed out, and what is
/// known of each.
pub(crate) struct Driver {
    h: *mut capgc_heap_t,
    mode: Mode,
    checked: bool,
    slot: u64,
    /// Collections so far.
    epoch: u64,
    refs: Vec<Obj>,
    tokens: Tokens,
    foreign: Foreign,
    node: capgc_type_t,
    bytes: capgc_type_t,
    refarr: capgc_type_t,
    liars: Vec<capgc_type_t>,
    extra: Vec<capgc_type_t>,
    layouts: HashMap<capgc_type_t, Layout>,
    split: Option<split::Split>,
    /// The fast path's mutator and shadow stack, once taken.
    fast: Option<fast::Fast>,
    /// The trace contexts: freed after the heaps (field order), each
    /// boxed so that its address, which the heap keeps, never moves.
    #[allow(clippy::vec_box)]
    liar_ctx: Vec<Box<liar::Liar>>,
}

/// Keeps `v` in `pool`, forgetting the oldest past [`POOL`].
fn keep<T>(pool: &mut Vec<T>, v: T) {
    if pool.len() >= POOL {
        pool.remove(0);
    }
    pool.push(v);
}

/// `w` with bit `bit` (mod 128) flipped.
fn flip2(w: [u64; 2], bit: u8) -> [u64; 2] {
    let b = u32::from(bit) % 128;
    let mut w = w;
    w[(b / 64) as usize] ^= 1 << (b % 64);
    w
}

/// Every call's status: never an internal failure.
fn sane(s: S, what: &str) -> S {
    assert!(
        !matches!(s, S::CAPGC_E_INTERNAL | S::CAPGC_E_POISONED),
        "{what}: {s:?}: {}",
        last_error()
    );
    s
}

/// The message of the last failure on this thread.
fn last_error() -> String {
    let p = capgc_last_error();
    if p.is_null() {
        return String::new();
    }
    // SAFETY: `capgc_last_error` returns a nul-terminated string valid
    // until the next failing call on this thread; it is copied at once.
    unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned()
}

/// The configuration of the heaps under test.
fn config(mode: Mode, plan: PlanSel, by_tag: bool) -> capgc_config_t {
    let mut c = capgc_config_default();
    let (m, f) = match mode {
        Mode::Native => (0, 0),
        Mode::P128 => (1, 0),
        Mode::Morello => (2, 0),
        Mode::CheriV9 => (2, 1),
        Mode::RiscvStd => (2, 2),
    };
    c.mode = m;
    c.format = f;
    c.plan = plan as u32;
    c.scan = u32::from(by_tag && mode.checked());
    c.limit = 16 << 20;
    c.initial_size = 256 << 10;
    c.nursery_size = 128 << 10;
    c.pause_goal_us = 0;
    c.log = 0;
    c
}

/// A new heap of `cfg`, which must succeed.
fn new_heap(cfg: &capgc_config_t) -> *mut capgc_heap_t {
    let mut h = std::ptr::null_mut();
    // SAFETY: `cfg` and `h` are valid for the call.
    let s = unsafe { capgc_heap_new(cfg, &mut h) };
    assert_eq!(s, S::CAPGC_OK, "heap_new: {}", last_error());
    h
}

impl Driver {
    fn new(input: &Input) -> Driver {
        let cfg = config(input.mode, input.plan, input.by_tag);
        let h = new_heap(&cfg);
        let other = new_heap(&cfg);
        let mut slot = 0;
        // SAFETY: `h` is a live heap; the out pointer is valid.
        let s = unsafe { capgc_heap_mode(h, std::ptr::null_mut(), &mut slot) };
        assert_eq!(s, S::CAPGC_OK);
        let mut d = Driver {
            h,
            mode: input.mode,
            checked: input.mode.checked(),
            slot,
            epoch: 0,
            refs: Vec::new(),
            tokens: Tokens::default(),
            foreign: Foreign::new(other),
            node: 0,
            bytes: 0,
            refarr: 0,
            liars: Vec::new(),
            extra: Vec::new(),
            layouts: HashMap::new(),
            split: None,
            fast: None,
            liar_ctx: Vec::new(),
        };
        let mut t = 0;
        // SAFETY: `h` is live; `t` is writable.
        assert_eq!(unsafe { capgc_type_record(h, 2, 16, &mut t) }, S::CAPGC_OK);
        d.node = t;
        let refs = vec![0, slot];
        d.layouts.insert(
            t,
            Layout::Fixed {
                size: 2 * slot + 16,
                refs,
            },
        );
        // SAFETY: as above.
        assert_eq!(unsafe { capgc_type_byte_array(h, &mut t) }, S::CAPGC_OK);
        d.bytes = t;
        d.layouts.insert(t, Layout::Bytes);
        // SAFETY: as above.
        assert_eq!(unsafe { capgc_type_ref_array(h, &mut t) }, S::CAPGC_OK);
        d.refarr = t;
        d.layouts.insert(t, Layout::RefArray);
        d
    }

    /// After a call: the collection count, and the verifier if a
    /// collection ran.
    fn sync(&mut self) {
        let mut st = capgc_stats_t::default();
        // SAFETY: `self.h` is live; `st` is writable.
        let s = unsafe { capgc_heap_stats(self.h, &mut st) };
        assert_eq!(s, S::CAPGC_OK);
        if st.collections != self.epoch {
            self.epoch = st.collections;
            self.verify();
        }
        for l in &self.liar_ctx {
            l.check();
        }
    }

    /// `capgc_heap_verify` finds nothing.
    fn verify(&self) {
        let mut out = [capgc_violation_t::default(); 8];
        let mut n = 0;
        // SAFETY: `out` holds 8 violations; `n` is writable.
        let s = unsafe { capgc_heap_verify(self.h, out.as_mut_ptr(), out.len(), &mut n) };
        assert_eq!(s, S::CAPGC_OK, "verify: {}", last_error());
        assert_eq!(n, 0, "{:?}: violations {:?}", self.mode, &out[..n.min(8)]);
    }

    /// The reference an argument stands for, and what is known of it.
    fn pick(&self, p: RefPick) -> (capgc_ref_t, Q) {
        match p {
            RefPick::Pool(i) if !self.refs.is_empty() => {
                let o = self.refs[usize::from(i) % self.refs.len()];
                let q = if o.epoch == self.epoch {
                    Q::Fresh(o)
                } else {
                    Q::Stale
                };
                (o.r, q)
            }
            RefPick::Flip(i, bit) if !self.refs.is_empty() => {
                let o = self.refs[usize::from(i) % self.refs.len()];
                let w = flip2([o.r.addr, o.r.meta], bit);
                (
                    capgc_ref_t {
                        addr: w[0],
                        meta: w[1],
                    },
                    Q::Bad,
                )
            }
            RefPick::Garbage(addr, meta) if (addr, meta) != (0, 0) => {
                (capgc_ref_t { addr, meta }, Q::Bad)
            }
            RefPick::Foreign(i) => {
                let f = &self.foreign.refs;
                (f[usize::from(i) % f.len()], Q::Bad)
            }
            _ => (capgc_null(), Q::Null),
        }
    }

    /// Whether an argument of quality `q` may be given to a call that
    /// changes the heap: always in SoftCheri (it must refuse); in the
    /// unchecked modes only a fresh reference or null (they cannot tell).
    fn may_mutate(&self, q: Q) -> bool {
        self.checked || matches!(q, Q::Fresh(_) | Q::Null)
    }

    /// Keeps a reference the heap handed out.
    fn got(&mut self, r: capgc_ref_t, perms: Option<u32>) {
        if r != capgc_null() {
            let epoch = self.epoch;
            keep(&mut self.refs, Obj { r, epoch, perms });
        }
    }

    /// The status of a call given `args`: refused in SoftCheri when any
    /// is stale or bad (`exact`: with the reference's own code), and sane.
    fn judge(&self, s: S, args: &[Q], exact: bool, what: &str) {
        sane(s, what);
        if !self.checked || !args.iter().any(|q| q.misused()) {
            return;
        }
        assert_ne!(s, S::CAPGC_OK, "{what}: {args:?} accepted");
        if exact {
            let bad = args.contains(&Q::Bad);
            let ok = if bad {
                matches!(s, S::CAPGC_E_FORGED | S::CAPGC_E_STALE)
            } else {
                s == S::CAPGC_E_STALE
            };
            assert!(ok, "{what}: {args:?} refused with {s:?}");
        }
    }

    /// Whether `[off, off + len)` is data of the object `r` designates
    /// (asked of the heap: its type and length).
    fn is_data(&self, r: capgc_ref_t, off: u64, len: u64) -> bool {
        let (mut ty, mut plen) = (0, 0);
        // SAFETY: `self.h` is live; the outs are writable.
        let ok = unsafe {
            capgc_type_of(self.h, r, &mut ty) == S::CAPGC_OK
                && capgc_payload_len(self.h, r, &mut plen) == S::CAPGC_OK
        };
        let Some(end) = off.checked_add(len) else {
            return false;
        };
        if !ok || end > plen {
            return false;
        }
        match self.layouts.get(&ty) {
            Some(Layout::Bytes) => true,
            Some(Layout::Fixed { size, refs }) => {
                end <= *size
                    && refs
                        .iter()
                        .all(|&o| end <= o || off >= o.saturating_add(self.slot))
            }
            Some(Layout::RefArray) | None => false,
        }
    }

    /// Whether a SoftCheri access of `len` bytes at `off` must fail on
    /// the bounds of `r`: exact bounds, byte for byte (issue #24), so any
    /// byte at the payload length or beyond is refused — beyond CRRL's
    /// padding only for lengths the format cannot represent exactly
    /// (none below 4097 bytes), never a granule rounding.
    fn out_of_bounds(&self, r: capgc_ref_t, off: u64, len: u64) -> bool {
        let mut plen = 0;
        // SAFETY: `self.h` is live; the out is writable.
        if unsafe { capgc_payload_len(self.h, r, &mut plen) } != S::CAPGC_OK {
            return false;
        }
        let bound = match self.mode {
            Mode::Morello => Morello::crrl(plen),
            Mode::CheriV9 => CheriV9::crrl(plen),
            Mode::RiscvStd => RiscvStd::crrl(plen),
            Mode::Native | Mode::P128 => plen,
        };
        debug_assert!(plen > 4096 || bound == plen, "small lengths are exact");
        off.checked_add(len).is_none_or(|end| end > bound)
    }

    /// A token argument of pool `pool` (`foreign`: the other heap's).
    fn tok(&self, pool: &[[u64; 2]], foreign: [u64; 2], p: TokPick) -> ([u64; 2], bool) {
        match p {
            TokPick::Pool(i) if !pool.is_empty() => (pool[usize::from(i) % pool.len()], false),
            TokPick::Flip(i, bit) if !pool.is_empty() => {
                (flip2(pool[usize::from(i) % pool.len()], bit), false)
            }
            TokPick::Garbage(a, b) => ([a, b], false),
            TokPick::Foreign => (foreign, true),
            _ => ([0, 0], false),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SAFETY: both heaps are live, no call is in progress, and neither
        // is used again; the trace contexts outlive them (dropped after).
        unsafe {
            capgc_heap_free(self.h);
            capgc_heap_free(self.foreign.heap);
        }
        if let Some(s) = self.split.take() {
            drop(s);
        }
    }
}

impl Foreign {
    /// The other heap, with two objects and one token of each kind.
    fn new(heap: *mut capgc_heap_t) -> Foreign {
        let (mut node, mut a, mut b) = (0, capgc_null(), capgc_null());
        let mut f = Foreign {
            heap,
            refs: Vec::new(),
            node: 0,
            handle: [0; 2],
            persistent: [0; 2],
            region: [0; 2],
            weak: [0; 2],
            ephemeron: [0; 2],
            finalizer: [0; 2],
            scope: [0; 2],
        };
        // SAFETY: `heap` is live; every out pointer is valid. The objects
        // are allocated and rooted before any collection can run.
        unsafe {
            assert_eq!(capgc_type_record(heap, 2, 16, &mut node), S::CAPGC_OK);
            let mut region = capgc_region_t::default();
            assert_eq!(capgc_region_new(heap, 2, &mut region), S::CAPGC_OK);
            assert_eq!(capgc_slot_alloc(heap, region, 0, node), S::CAPGC_OK);
            assert_eq!(capgc_slot_alloc(heap, region, 1, node), S::CAPGC_OK);
            assert_eq!(capgc_region_get(heap, region, 0, &mut a), S::CAPGC_OK);
            assert_eq!(capgc_region_get(heap, region, 1, &mut b), S::CAPGC_OK);
            let mut h = capgc_handle_t::default();
            assert_eq!(capgc_handle_new(heap, a, &mut h), S::CAPGC_OK);
            let mut p = capgc_persistent_t::default();
            assert_eq!(capgc_persistent_new(heap, b, &mut p), S::CAPGC_OK);
            let mut w = capgc_weak_t::default();
            assert_eq!(capgc_weak_new(heap, a, &mut w), S::CAPGC_OK);
            let mut e = capgc_ephemeron_t::default();
            assert_eq!(capgc_ephemeron_new(heap, a, b, &mut e), S::CAPGC_OK);
            let mut fz = capgc_finalizer_t::default();
            assert_eq!(capgc_finalizer_register(heap, b, 7, &mut fz), S::CAPGC_OK);
            let mut sc = capgc_scope_t::default();
            assert_eq!(capgc_scope_open(heap, &mut sc), S::CAPGC_OK);
            f.node = node;
            f.handle = h.w;
            f.persistent = p.w;
            f.region = region.w;
            f.weak = w.w;
            f.ephemeron = e.w;
            f.finalizer = fz.w;
            f.scope = sc.w;
        }
        f.refs = vec![a, b];
        f
    }
}

/// Runs one input.
pub fn run(input: &Input) {
    if let Some(g) = &input.garbage_config {
        garbage::config(g);
    }
    let mut d = Driver::new(input);
    for c in input.calls.iter().take(MAX_CALLS) {
        d.call(c);
        d.sync();
    }
    for c in input.fast.iter().take(MAX_CALLS) {
        d.fast_call(*c);
        d.sync();
    }
    // The end: a full collection, and the heaps verify.
    // SAFETY: `d.h` is live; a null out is allowed.
    let s = unsafe { capgc_collect(d.h, std::ptr::null_mut()) };
    assert_eq!(sane(s, "final collect"), S::CAPGC_OK);
    d.sync();
    d.verify();
    if let Some(sp) = &d.split {
        sp.verify();
    }
}
