//! The calls of the `c_abi` target on one heap, and what each must do.

use super::liar::{self, Liar};
use super::split::SplitCall;
use super::{keep, sane, Driver, Layout, RefPick, TokPick, ALL_PERMS, Q};
use arbitrary::Arbitrary;
use capgc::CapgcStatus as S;
use capgc::*;
use std::ffi::c_void;

/// Which type an allocation asks for.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum TyPick {
    /// Two reference slots and 16 data bytes.
    Node,
    /// A byte array.
    Bytes,
    /// A reference array.
    RefArray,
    /// The `i`-th lying custom type.
    Liar(u8),
    /// The `i`-th type the run registered.
    Extra(u8),
    /// The other heap's node type.
    Foreign,
    /// A number that is no type.
    Garbage(u64),
}

/// One call (or a short sequence a VM would make) on the heap.
#[derive(Arbitrary, Clone, Debug)]
pub enum Call {
    /// `capgc_alloc` / `capgc_alloc_pinned`.
    Alloc(TyPick, bool),
    /// `capgc_alloc_array` (`len`: small unless ≥ 2^40).
    AllocArray(TyPick, u64),
    /// A read of `width` (1, 4, 8 bytes, f64, or bytes) at `off`.
    Read(RefPick, u64, u8),
    /// A write of `width` at `off`.
    Write(RefPick, u64, u8, u64),
    /// `capgc_read_bytes` / `capgc_write_bytes` of up to 64 bytes.
    Bytes(RefPick, u64, u8, bool),
    /// `capgc_get_ref`.
    GetRef(RefPick, u64),
    /// `capgc_set_ref`.
    SetRef(RefPick, u64, RefPick),
    /// `capgc_restrict` to these `CAPGC_PERM_*` bits.
    Restrict(RefPick, u32),
    /// `capgc_pin` / `capgc_unpin`, then `capgc_is_pinned`.
    Pin(RefPick, bool),
    /// `capgc_type_of`, `capgc_payload_len`, `capgc_array_len`.
    Query(RefPick),
    /// `capgc_payload` (SoftCheri refuses it).
    Payload(RefPick),
    /// `capgc_scope_open`.
    ScopeOpen,
    /// `capgc_scope_close`.
    ScopeClose(TokPick),
    /// `capgc_handle_new`.
    HandleNew(RefPick),
    /// `capgc_handle_get`.
    HandleGet(TokPick),
    /// `capgc_handle_set`.
    HandleSet(TokPick, RefPick),
    /// `capgc_persistent_new`.
    PersistentNew(RefPick),
    /// `capgc_persistent_get`, `_set` or `_release`.
    Persistent(TokPick, u8, RefPick),
    /// `capgc_region_new` (`slots`: small unless > 2^32).
    RegionNew(u64),
    /// `capgc_region_free`.
    RegionFree(TokPick),
    /// `capgc_region_set`.
    RegionSet(TokPick, u64, RefPick),
    /// `capgc_region_get`, `_is_ref`, `_len`.
    RegionGet(TokPick, u64),
    /// `capgc_region_set_data`.
    RegionSetData(TokPick, u64, u64),
    /// The slot API: `op` picks alloc, alloc_array, load_field,
    /// store_field, copy, clear, is_null, read_u64, write_u64.
    Slot {
        /// Which slot call.
        op: u8,
        /// The region.
        region: TokPick,
        /// Slot indices.
        a: u64,
        /// Slot indices.
        b: u64,
        /// An offset, a length or a value.
        x: u64,
        /// The type of an allocation.
        ty: TyPick,
    },
    /// `capgc_weak_new`.
    WeakNew(RefPick),
    /// `capgc_weak_get` or `_release`.
    Weak(TokPick, bool),
    /// `capgc_ephemeron_new`.
    EphemeronNew(RefPick, RefPick),
    /// `capgc_ephemeron_get` or `_release`.
    Ephemeron(TokPick, bool),
    /// `capgc_finalizer_register`.
    Finalize(RefPick, u64),
    /// `capgc_finalizer_unregister`.
    Unfinalize(TokPick),
    /// `capgc_finalized_take` into a buffer of `cap` (mod 17) tokens.
    TakeFinalized(u8),
    /// `capgc_collect` (`true`) or `capgc_collect_minor`.
    Collect(bool),
    /// `capgc_heap_stats`, `capgc_log_line` into `cap` bytes, and
    /// `capgc_heap_verify`.
    Observe(u8),
    /// `capgc_type_record(refs, data)` (small unless huge).
    TypeRecord(u32, u64),
    /// `capgc_type_fixed(size, offsets[..count])`.
    TypeFixed(u64, [u64; 3], u8),
    /// `capgc_type_custom` of a lying callback: slot mask, lies,
    /// re-entering.
    TypeLiar(u64, [u64; 3], bool),
    /// A call on a null heap (which one: mod the table).
    NullHeap(u8),
    /// A call with a null out pointer (which one: mod the table).
    NullOut(u8),
    /// `capgc_status_name` and `capgc_last_error` of any number.
    StatusName(u32),
    /// A call on the split heap (created at its first use).
    Split(SplitCall),
}

impl Driver {
    /// The type an allocation asks for, and whether it is one of this
    /// heap's.
    pub(super) fn ty(&self, p: TyPick) -> (capgc_type_t, bool) {
        let of = |v: &[capgc_type_t], i: u8| v.get(usize::from(i) % v.len().max(1)).copied();
        match p {
            TyPick::Node => (self.node, true),
            TyPick::Bytes => (self.bytes, true),
            TyPick::RefArray => (self.refarr, true),
            TyPick::Liar(i) => of(&self.liars, i).map_or((self.node, true), |t| (t, true)),
            TyPick::Extra(i) => of(&self.extra, i).map_or((self.bytes, true), |t| (t, true)),
            TyPick::Foreign => (self.foreign.node, false),
            TyPick::Garbage(t) => (t, false),
        }
    }

    /// Runs one call and checks its outcome.
    pub(crate) fn call(&mut self, c: &Call) {
        let h = self.h;
        match *c {
            Call::Alloc(ty, pinned) => {
                let (t, ours) = self.ty(ty);
                let mut out = capgc_null();
                // SAFETY: `h` is live; `out` is writable.
                let s = unsafe {
                    if pinned {
                        capgc_alloc_pinned(h, t, &mut out)
                    } else {
                        capgc_alloc(h, t, &mut out)
                    }
                };
                sane(s, "alloc");
                if !ours {
                    assert_ne!(s, S::CAPGC_OK, "alloc of type {t:#x}");
                }
                if s == S::CAPGC_OK {
                    self.sync();
                    self.got(out, Some(ALL_PERMS));
                }
            }
            Call::AllocArray(ty, len) => {
                let (t, ours) = self.ty(ty);
                let len = if len >= 1 << 40 { len } else { len % 65536 };
                let mut out = capgc_null();
                // SAFETY: `h` is live; `out` is writable.
                let s = sane(
                    unsafe { capgc_alloc_array(h, t, len, &mut out) },
                    "alloc_array",
                );
                if !ours || len >= 1 << 40 {
                    assert_ne!(s, S::CAPGC_OK, "alloc_array({t:#x}, {len})");
                }
                if s == S::CAPGC_OK {
                    self.sync();
                    self.got(out, Some(ALL_PERMS));
                }
            }
            Call::Read(p, off, width) => self.read(p, off, width),
            Call::Write(p, off, width, v) => self.write(p, off, width, v),
            Call::Bytes(p, off, len, write) => self.bytes(p, off, len, write),
            Call::GetRef(p, off) => {
                let (r, q) = self.pick(p);
                let mut out = capgc_null();
                // SAFETY: `h` is live; `out` is writable.
                let s = unsafe { capgc_get_ref(h, r, off, &mut out) };
                self.judge(s, &[q], true, "get_ref");
                if s == S::CAPGC_OK {
                    self.got(out, None);
                }
            }
            Call::SetRef(p, off, v) => {
                let ((r, q), (vr, vq)) = (self.pick(p), self.pick(v));
                if !self.may_mutate(q) || !self.may_mutate(vq) {
                    return;
                }
                // SAFETY: `h` is live.
                let s = unsafe { capgc_set_ref(h, r, off, vr) };
                self.judge(s, &[q, vq], false, "set_ref");
                if let Q::Fresh(o) = q {
                    if o.perms.is_some_and(|p| p & CAPGC_PERM_STORE_REF == 0) && self.checked {
                        assert_ne!(s, S::CAPGC_OK, "set_ref through a view without StoreRef");
                    }
                }
            }
            Call::Restrict(p, perms) => {
                let (r, q) = self.pick(p);
                let mut out = capgc_null();
                // SAFETY: `h` is live; `out` is writable.
                let s = unsafe { capgc_restrict(h, r, perms, &mut out) };
                // Bits that are no permission are refused first.
                self.judge(s, &[q], perms & !ALL_PERMS == 0, "restrict");
                if s == S::CAPGC_OK {
                    let view = match q {
                        Q::Fresh(o) => o.perms.map(|p| p & perms),
                        _ => None,
                    };
                    self.got(out, view);
                }
            }
            Call::Pin(p, on) => {
                let (r, q) = self.pick(p);
                if !self.may_mutate(q) {
                    return;
                }
                // SAFETY: `h` is live.
                let s = unsafe {
                    if on {
                        capgc_pin(h, r)
                    } else {
                        capgc_unpin(h, r)
                    }
                };
                self.judge(s, &[q], true, "pin");
                self.refused_without(q, CAPGC_PERM_STORE, s, "pin");
                let mut pinned = false;
                // SAFETY: `h` is live; `pinned` is writable.
                let s2 = unsafe { capgc_is_pinned(h, r, &mut pinned) };
                self.judge(s2, &[q], true, "is_pinned");
                if s == S::CAPGC_OK && s2 == S::CAPGC_OK {
                    assert_eq!(pinned, on, "pinning took effect");
                }
            }
            Call::Query(p) => {
                let (r, q) = self.pick(p);
                let (mut t, mut len, mut alen) = (0, 0, 0);
                // SAFETY: `h` is live; the outs are writable.
                let s = unsafe {
                    [
                        capgc_type_of(h, r, &mut t),
                        capgc_payload_len(h, r, &mut len),
                        capgc_array_len(h, r, &mut alen),
                    ]
                };
                self.judge(s[0], &[q], true, "type_of");
                self.judge(s[1], &[q], true, "payload_len");
                self.judge(s[2], &[q], false, "array_len");
            }
            Call::Payload(p) => {
                let (r, q) = self.pick(p);
                let mut out: *mut c_void = std::ptr::null_mut();
                // SAFETY: `h` is live; `out` is writable. The pointer is
                // never dereferenced.
                let s = sane(unsafe { capgc_payload(h, r, &mut out) }, "payload");
                if self.checked {
                    assert_ne!(s, S::CAPGC_OK, "a payload pointer in SoftCheri");
                } else if matches!(q, Q::Fresh(_)) {
                    assert_eq!(s, S::CAPGC_OK, "payload: {}", super::last_error());
                    assert!(!out.is_null());
                }
            }
            Call::ScopeOpen => {
                let mut sc = capgc_scope_t::default();
                // SAFETY: `h` is live; `sc` is writable.
                let s = sane(unsafe { capgc_scope_open(h, &mut sc) }, "scope_open");
                assert_eq!(s, S::CAPGC_OK);
                keep(&mut self.tokens.scopes, sc.w);
            }
            Call::ScopeClose(t) => {
                let (w, foreign) = self.tok(&self.tokens.scopes, self.foreign.scope, t);
                // SAFETY: `h` is live.
                let s = sane(
                    unsafe { capgc_scope_close(h, capgc_scope_t { w }) },
                    "scope_close",
                );
                refused_if(foreign, s, "another heap's scope");
            }
            Call::HandleNew(p) => {
                let (r, q) = self.pick(p);
                if !self.may_mutate(q) {
                    return;
                }
                let mut out = capgc_handle_t::default();
                // SAFETY: `h` is live; `out` is writable.
                let s = unsafe { capgc_handle_new(h, r, &mut out) };
                self.judge(s, &[q], true, "handle_new");
                if s == S::CAPGC_OK {
                    keep(&mut self.tokens.handles, out.w);
                }
            }
            Call::HandleGet(t) => {
                let (w, foreign) = self.tok(&self.tokens.handles, self.foreign.handle, t);
                let mut out = capgc_null();
                // SAFETY: `h` is live; `out` is writable.
                let s = sane(
                    unsafe { capgc_handle_get(h, capgc_handle_t { w }, &mut out) },
                    "handle_get",
                );
                refused_if(foreign, s, "another heap's handle");
                if s == S::CAPGC_OK {
                    self.got(out, None);
                }
            }
            Call::HandleSet(t, p) => {
                let (w, foreign) = self.tok(&self.tokens.handles, self.foreign.handle, t);
                let (r, q) = self.pick(p);
                if !self.may_mutate(q) {
                    return;
                }
                // SAFETY: `h` is live.
                let s = unsafe { capgc_handle_set(h, capgc_handle_t { w }, r) };
                self.judge(s, &[q], false, "handle_set");
                refused_if(foreign, s, "another heap's handle");
            }
            Call::PersistentNew(p) => {
                let (r, q) = self.pick(p);
                if !self.may_mutate(q) {
                    return;
                }
                let mut out = capgc_persistent_t::default();
                // SAFETY: `h` is live; `out` is writable.
                let s = unsafe { capgc_persistent_new(h, r, &mut out) };
                self.judge(s, &[q], true, "persistent_new");
                if s == S::CAPGC_OK {
                    keep(&mut self.tokens.persistents, out.w);
                }
            }
            Call::Persistent(t, op, p) => self.persistent(t, op, p),
            Call::RegionNew(slots) => {
                let slots = if slots > 1 << 32 { slots } else { slots % 1024 };
                let mut out = capgc_region_t::default();
                // SAFETY: `h` is live; `out` is writable.
                let s = sane(
                    unsafe { capgc_region_new(h, slots, &mut out) },
                    "region_new",
                );
                if slots == 0 || slots > 1 << 32 {
                    assert_ne!(s, S::CAPGC_OK, "region of {slots} slots");
                } else {
                    assert_eq!(s, S::CAPGC_OK, "region_new({slots})");
                    keep(&mut self.tokens.regions, out.w);
                }
            }
            Call::RegionFree(t) => {
                let (w, foreign) = self.tok(&self.tokens.regions, self.foreign.region, t);
                // SAFETY: `h` is live.
                let s = sane(
                    unsafe { capgc_region_free(h, capgc_region_t { w }) },
                    "region_free",
                );
                refused_if(foreign, s, "another heap's region");
            }
            Call::RegionSet(t, i, p) => {
                let (w, foreign) = self.tok(&self.tokens.regions, self.foreign.region, t);
                let (r, q) = self.pick(p);
                if !self.may_mutate(q) {
                    return;
                }
                // SAFETY: `h` is live.
                let s = unsafe { capgc_region_set(h, capgc_region_t { w }, i, r) };
                self.judge(s, &[q], false, "region_set");
                refused_if(foreign, s, "another heap's region");
            }
            Call::RegionGet(t, i) => {
                let (w, foreign) = self.tok(&self.tokens.regions, self.foreign.region, t);
                let region = capgc_region_t { w };
                let (mut out, mut is_ref, mut len) = (capgc_null(), false, 0);
                // SAFETY: `h` is live; the outs are writable.
                let s = unsafe {
                    [
                        capgc_region_get(h, region, i, &mut out),
                        capgc_region_is_ref(h, region, i, &mut is_ref),
                        capgc_region_len(h, region, &mut len),
                    ]
                };
                for x in s {
                    sane(x, "region_get");
                    refused_if(foreign, x, "another heap's region");
                }
                if s[0] == S::CAPGC_OK && s[1] == S::CAPGC_OK && is_ref {
                    self.got(out, None);
                }
            }
            Call::RegionSetData(t, i, v) => {
                let (w, foreign) = self.tok(&self.tokens.regions, self.foreign.region, t);
                // SAFETY: `h` is live.
                let s = unsafe { capgc_region_set_data(h, capgc_region_t { w }, i, v) };
                sane(s, "region_set_data");
                refused_if(foreign, s, "another heap's region");
            }
            Call::Slot {
                op,
                region,
                a,
                b,
                x,
                ty,
            } => self.slot_call(op, region, a, b, x, ty),
            Call::WeakNew(p) => {
                let (r, q) = self.pick(p);
                if !self.may_mutate(q) {
                    return;
                }
                let mut out = capgc_weak_t::default();
                // SAFETY: `h` is live; `out` is writable.
                let s = unsafe { capgc_weak_new(h, r, &mut out) };
                self.judge(s, &[q], true, "weak_new");
                if s == S::CAPGC_OK {
                    keep(&mut self.tokens.weaks, out.w);
                }
            }
            Call::Weak(t, release) => {
                let (w, foreign) = self.tok(&self.tokens.weaks, self.foreign.weak, t);
                let wk = capgc_weak_t { w };
                let mut out = capgc_null();
                // SAFETY: `h` is live; `out` is writable.
                let s = unsafe {
                    if release {
                        capgc_weak_release(h, wk)
                    } else {
                        capgc_weak_get(h, wk, &mut out)
                    }
                };
                sane(s, "weak");
                refused_if(foreign, s, "another heap's weak reference");
                if s == S::CAPGC_OK && !release {
                    self.got(out, None);
                }
            }
            Call::EphemeronNew(k, v) => {
                let ((kr, kq), (vr, vq)) = (self.pick(k), self.pick(v));
                if !self.may_mutate(kq) || !self.may_mutate(vq) {
                    return;
                }
                let mut out = capgc_ephemeron_t::default();
                // SAFETY: `h` is live; `out` is writable.
                let s = unsafe { capgc_ephemeron_new(h, kr, vr, &mut out) };
                self.judge(s, &[kq, vq], false, "ephemeron_new");
                if s == S::CAPGC_OK {
                    keep(&mut self.tokens.ephemerons, out.w);
                }
            }
            Call::Ephemeron(t, release) => {
                let (w, foreign) = self.tok(&self.tokens.ephemerons, self.foreign.ephemeron, t);
                let e = capgc_ephemeron_t { w };
                let (mut k, mut v) = (capgc_null(), capgc_null());
                // SAFETY: `h` is live; the outs are writable.
                let s = unsafe {
                    if release {
                        capgc_ephemeron_release(h, e)
                    } else {
                        capgc_ephemeron_get(h, e, &mut k, &mut v)
                    }
                };
                sane(s, "ephemeron");
                refused_if(foreign, s, "another heap's ephemeron");
                if s == S::CAPGC_OK && !release {
                    self.got(k, None);
                    self.got(v, None);
                }
            }
            Call::Finalize(p, token) => {
                let (r, q) = self.pick(p);
                if !self.may_mutate(q) {
                    return;
                }
                let mut out = capgc_finalizer_t::default();
                // SAFETY: `h` is live; `out` is writable.
                let s = unsafe { capgc_finalizer_register(h, r, token, &mut out) };
                self.judge(s, &[q], false, "finalizer_register");
                if s == S::CAPGC_OK {
                    keep(&mut self.tokens.finalizers, out.w);
                }
            }
            Call::Unfinalize(t) => {
                let (w, foreign) = self.tok(&self.tokens.finalizers, self.foreign.finalizer, t);
                // SAFETY: `h` is live.
                let s = unsafe { capgc_finalizer_unregister(h, capgc_finalizer_t { w }) };
                sane(s, "finalizer_unregister");
                refused_if(foreign, s, "another heap's finalizer");
            }
            Call::TakeFinalized(cap) => {
                let mut buf = [0u64; 16];
                let cap = usize::from(cap % 17);
                let (mut n, mut pending) = (0, 0);
                let ptr = if cap == 0 {
                    std::ptr::null_mut()
                } else {
                    buf.as_mut_ptr()
                };
                // SAFETY: `ptr` is null or valid for `cap` ≤ 16 tokens.
                let s = unsafe { capgc_finalized_take(h, ptr, cap, &mut n, &mut pending) };
                assert_eq!(sane(s, "finalized_take"), S::CAPGC_OK);
                assert!(n <= cap);
            }
            Call::Collect(full) => {
                let mut st = capgc_collection_t::default();
                // SAFETY: `h` is live; `st` is writable.
                let s = unsafe {
                    if full {
                        capgc_collect(h, &mut st)
                    } else {
                        capgc_collect_minor(h, &mut st)
                    }
                };
                assert_eq!(sane(s, "collect"), S::CAPGC_OK, "{}", super::last_error());
            }
            Call::Observe(cap) => self.observe(cap),
            Call::TypeRecord(refs, data) => {
                let huge = refs > 1 << 16 || data > 1 << 30;
                let (refs, data) = if huge {
                    (refs, data)
                } else {
                    (refs % 8, data % 256)
                };
                let mut t = 0;
                // SAFETY: `h` is live; `t` is writable.
                let s = sane(
                    unsafe { capgc_type_record(h, refs, data, &mut t) },
                    "type_record",
                );
                let fits = u64::from(refs)
                    .checked_mul(self.slot)
                    .and_then(|r| r.checked_add(data))
                    .is_some_and(|size| size <= 1 << 30);
                // Any number of slots within 1 GiB is a record, whose map
                // is its count alone (campaign finding 4, docs/fuzzing.md:
                // a map of one offset per slot once cost a gigabyte).
                if fits {
                    assert_eq!(s, S::CAPGC_OK, "type_record({refs}, {data})");
                } else {
                    assert_eq!(s, S::CAPGC_E_INVALID_TYPE, "type_record({refs}, {data})");
                }
                if huge {
                    // Too large to model slot by slot here; never
                    // allocated by the driver.
                    return;
                }
                if s == S::CAPGC_OK {
                    let slot = self.slot;
                    let refs_at = (0..u64::from(refs)).map(|i| i * slot).collect();
                    let size = u64::from(refs) * slot + data;
                    self.new_type(
                        t,
                        Layout::Fixed {
                            size,
                            refs: refs_at,
                        },
                    );
                }
            }
            Call::TypeFixed(size, offs, count) => {
                let size = if size > 1 << 30 { size } else { size % 512 };
                let count = usize::from(count % 4);
                let mut t = 0;
                // SAFETY: `h` is live; `offs` holds `count` ≤ 3 offsets.
                let s = unsafe { capgc_type_fixed(h, size, offs.as_ptr(), count, &mut t) };
                sane(s, "type_fixed");
                if s == S::CAPGC_OK {
                    let refs = offs[..count].to_vec();
                    self.new_type(t, Layout::Fixed { size, refs });
                }
            }
            Call::TypeLiar(mask, lies, reenter) => self.type_liar(mask, lies, reenter),
            Call::NullHeap(i) => super::garbage::null_heap(self, i),
            Call::NullOut(i) => super::garbage::null_out(self, i),
            Call::StatusName(n) => super::garbage::status_name(n),
            Call::Split(ref sc) => {
                let mode = self.mode;
                let split = self
                    .split
                    .get_or_insert_with(|| super::split::Split::new(mode));
                split.call(sc);
            }
        }
    }

    /// Registers a type the run asked for.
    fn new_type(&mut self, t: capgc_type_t, layout: Layout) {
        keep(&mut self.extra, t);
        self.layouts.insert(t, layout);
    }

    /// A lying custom type.
    fn type_liar(&mut self, mask: u64, lies: [u64; 3], reenter: bool) {
        if self.liars.len() >= 4 {
            return;
        }
        let l = Box::new(Liar::new(
            self.h,
            self.node,
            self.checked,
            mask,
            lies,
            reenter,
            self.slot,
        ));
        let ctx = &*l as *const Liar as *mut c_void;
        let (size, slot, mask) = (l.size(), self.slot, l.mask);
        self.liar_ctx.push(l);
        let mut t = 0;
        // SAFETY: `self.h` is live; the callback has the signature of
        // `capgc_trace_fn` and returns normally; `ctx` is a `Liar` kept in
        // `liar_ctx`, which outlives the heap (see `Drop for Driver`).
        let s = unsafe { capgc_type_custom(self.h, size, Some(liar::trace), ctx, &mut t) };
        assert_eq!(sane(s, "type_custom"), S::CAPGC_OK);
        self.liars.push(t);
        let refs = (1..=3u64)
            .filter(|i| mask >> i & 1 != 0)
            .map(|i| i * slot)
            .collect();
        self.layouts.insert(t, Layout::Fixed { size, refs });
    }

    /// SoftCheri refuses a call through a fresh reference whose known
    /// view lacks `perm`.
    pub(super) fn refused_without(&self, q: Q, perm: u32, s: S, what: &str) {
        if let Q::Fresh(o) = q {
            if self.checked && o.perms.is_some_and(|p| p & perm == 0) {
                assert_ne!(s, S::CAPGC_OK, "{what} through a view without {perm:#x}");
            }
        }
    }

    fn read(&mut self, p: RefPick, off: u64, width: u8) {
        let (r, q) = self.pick(p);
        let h = self.h;
        let (mut b, mut w, mut d, mut f) = (0u8, 0u32, 0u64, 0f64);
        let size = [1, 4, 8, 8][usize::from(width % 4)];
        // SAFETY: `h` is live; the outs are writable.
        let s = unsafe {
            match width % 4 {
                0 => capgc_read_u8(h, r, off, &mut b),
                1 => capgc_read_u32(h, r, off, &mut w),
                2 => capgc_read_u64(h, r, off, &mut d),
                _ => capgc_read_f64(h, r, off, &mut f),
            }
        };
        self.judge(s, &[q], true, "read");
        self.refused_without(q, CAPGC_PERM_LOAD, s, "read");
        if let Q::Fresh(_) = q {
            if self.checked && self.out_of_bounds(r, off, size) {
                assert_ne!(s, S::CAPGC_OK, "read of {size} at {off:#x} out of bounds");
            }
        }
    }

    fn write(&mut self, p: RefPick, off: u64, width: u8, v: u64) {
        let (r, q) = self.pick(p);
        let size = [1, 4, 8, 8][usize::from(width % 4)];
        if !self.may_mutate(q) || (!self.checked && !self.is_data(r, off, size)) {
            return;
        }
        let h = self.h;
        // SAFETY: `h` is live.
        let s = unsafe {
            match width % 4 {
                0 => capgc_write_u8(h, r, off, v as u8),
                1 => capgc_write_u32(h, r, off, v as u32),
                2 => capgc_write_u64(h, r, off, v),
                _ => capgc_write_f64(h, r, off, f64::from_bits(v)),
            }
        };
        self.judge(s, &[q], true, "write");
        self.refused_without(q, CAPGC_PERM_STORE, s, "write");
        if let Q::Fresh(_) = q {
            if self.checked && self.out_of_bounds(r, off, size) {
                assert_ne!(s, S::CAPGC_OK, "write of {size} at {off:#x} out of bounds");
            }
        }
    }

    fn bytes(&mut self, p: RefPick, off: u64, len: u8, write: bool) {
        let (r, q) = self.pick(p);
        let len = usize::from(len % 65);
        let mut buf = [0xa5u8; 64];
        if write && (!self.may_mutate(q) || (!self.checked && !self.is_data(r, off, len as u64))) {
            return;
        }
        // SAFETY: `self.h` is live; `buf` holds 64 ≥ `len` bytes.
        let s = unsafe {
            if write {
                capgc_write_bytes(self.h, r, off, buf.as_ptr().cast(), len)
            } else {
                capgc_read_bytes(self.h, r, off, buf.as_mut_ptr().cast(), len)
            }
        };
        self.judge(s, &[q], false, "bytes");
        if let Q::Fresh(_) = q {
            if self.checked && len > 0 && self.out_of_bounds(r, off, len as u64) {
                assert_ne!(s, S::CAPGC_OK, "{len} bytes at {off:#x} out of bounds");
            }
        }
    }

    fn persistent(&mut self, t: TokPick, op: u8, p: RefPick) {
        let (w, foreign) = self.tok(&self.tokens.persistents, self.foreign.persistent, t);
        let pt = capgc_persistent_t { w };
        let h = self.h;
        match op % 3 {
            0 => {
                let mut out = capgc_null();
                // SAFETY: `h` is live; `out` is writable.
                let s = sane(
                    unsafe { capgc_persistent_get(h, pt, &mut out) },
                    "persistent_get",
                );
                refused_if(foreign, s, "another heap's persistent");
                if s == S::CAPGC_OK {
                    self.got(out, None);
                }
            }
            1 => {
                let (r, q) = self.pick(p);
                if !self.may_mutate(q) {
                    return;
                }
                // SAFETY: `h` is live.
                let s = unsafe { capgc_persistent_set(h, pt, r) };
                self.judge(s, &[q], false, "persistent_set");
                refused_if(foreign, s, "another heap's persistent");
            }
            _ => {
                // SAFETY: `h` is live.
                let s = sane(
                    unsafe { capgc_persistent_release(h, pt) },
                    "persistent_release",
                );
                refused_if(foreign, s, "another heap's persistent");
            }
        }
    }

    fn slot_call(&mut self, op: u8, region: TokPick, a: u64, b: u64, x: u64, ty: TyPick) {
        let (w, foreign) = self.tok(&self.tokens.regions, self.foreign.region, region);
        let rg = capgc_region_t { w };
        let (t, _) = self.ty(ty);
        let h = self.h;
        // Every call below: `h` is live; outs are writable.
        let s = match op % 9 {
            // SAFETY: see above.
            0 => unsafe { capgc_slot_alloc(h, rg, a, t) },
            1 => {
                let len = if x >= 1 << 40 { x } else { x % 4096 };
                // SAFETY: see above.
                unsafe { capgc_slot_alloc_array(h, rg, a, t, len) }
            }
            // SAFETY: see above.
            2 => unsafe { capgc_slot_load_field(h, rg, a, b, x) },
            // SAFETY: see above.
            3 => unsafe { capgc_slot_store_field(h, rg, a, x, b) },
            // SAFETY: see above.
            4 => unsafe { capgc_slot_copy(h, rg, a, b) },
            // SAFETY: see above.
            5 => unsafe { capgc_slot_clear(h, rg, a) },
            6 => {
                let mut n = false;
                // SAFETY: see above.
                unsafe { capgc_slot_is_null(h, rg, a, &mut n) }
            }
            7 => {
                let mut v = 0;
                // SAFETY: see above.
                unsafe { capgc_slot_read_u64(h, rg, a, x, &mut v) }
            }
            _ => {
                if !self.checked {
                    // A correct VM writes only data: ask what `a` holds.
                    let mut r = capgc_null();
                    // SAFETY: see above.
                    let got = unsafe { capgc_region_get(h, rg, a, &mut r) };
                    if got != S::CAPGC_OK || !self.is_data(r, x, 8) {
                        return;
                    }
                }
                // SAFETY: see above.
                unsafe { capgc_slot_write_u64(h, rg, a, x, b) }
            }
        };
        sane(s, "slot API");
        refused_if(foreign, s, "another heap's region");
    }

    fn observe(&mut self, cap: u8) {
        let h = self.h;
        let mut st = capgc_stats_t::default();
        // SAFETY: `h` is live; `st` is writable.
        assert_eq!(unsafe { capgc_heap_stats(h, &mut st) }, S::CAPGC_OK);
        let mut buf = [0u8; 256];
        let cap = usize::from(cap);
        let mut len = 0;
        // SAFETY: `buf` holds 256 ≥ `cap` bytes; `len` is writable.
        let s = unsafe { capgc_log_line(h, buf.as_mut_ptr().cast(), cap, &mut len) };
        sane(s, "log_line");
        if s == S::CAPGC_OK {
            assert!(len < cap && buf[len] == 0, "the line and its nul fit");
        } else {
            assert_eq!(s, S::CAPGC_E_BUFFER_TOO_SMALL);
            assert!(len + 1 > cap);
        }
        self.verify();
    }
}

/// Another heap's token is refused in every mode.
fn refused_if(foreign: bool, s: S, what: &str) {
    if foreign {
        assert_ne!(s, S::CAPGC_OK, "{what} accepted");
    }
}
