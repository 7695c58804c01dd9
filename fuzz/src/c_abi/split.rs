//! The split heap through the C ABI: compartments, sealed references
//! (stored, loaded, unsealed by the owner and by others, flipped and
//! forged), references offered across compartments, teardown, and the
//! split verifier after every collection.

use super::{flip2, keep, last_error, sane};
use crate::cases::Mode;
use arbitrary::Arbitrary;
use capgc::CapgcStatus as S;
use capgc::*;

/// A compartment argument.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum CPick {
    /// The `i`-th compartment created.
    Index(u8),
    /// A number that is (likely) none.
    Garbage(u64),
}

/// A sealed-reference argument.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum SealPick {
    /// The `i`-th sealed reference handed out.
    Pool(u8),
    /// The `i`-th, with bit `bit` of its 256 flipped.
    Flip(u8, u8),
    /// Words nobody handed out.
    Garbage([u64; 4]),
}

/// One call on the split heap.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum SplitCall {
    /// `capgc_compartment_new` (at most four).
    New,
    /// `capgc_compartment_alloc`, rooted in the compartment's region.
    Alloc(CPick),
    /// `capgc_seal`: the `obj`-th reference (whoever owns it) sealed by
    /// `owner` for `holder`.
    Seal(CPick, u8, CPick),
    /// `capgc_unseal` by a compartment.
    Unseal(CPick, SealPick),
    /// `capgc_set_sealed` into slot `k` of the `obj`-th reference, in `c`.
    StoreSealed(CPick, u8, u8, SealPick),
    /// `capgc_region_set_sealed` into slot `i` of `c`'s region.
    RootSealed(CPick, u8, SealPick),
    /// `capgc_region_get_sealed` of slot `i` of `c`'s region.
    LoadSealed(CPick, u8),
    /// `capgc_compartment_set_ref`: slot `k` of the `holder`-th
    /// reference := the `value`-th, in `c`.
    SetRef(CPick, u8, u8, u8),
    /// `capgc_compartment_read_u64` / `_write_u64` of the `obj`-th
    /// reference at `off`, in `c`.
    Access(CPick, u8, u64, bool),
    /// `capgc_sealed_owner` and `capgc_sealed_same`.
    Compare(SealPick, SealPick),
    /// `capgc_compartment_collect`.
    Collect(CPick),
    /// `capgc_split_heap_collect`.
    CollectAll,
    /// `capgc_compartment_destroy`.
    Destroy(CPick),
}

/// A compartment and what the driver keeps of it.
struct Comp {
    id: capgc_compartment_t,
    live: bool,
    node: capgc_type_t,
    region: capgc_region_t,
    next: u64,
    /// Its collections so far.
    epoch: u64,
}

/// A reference of a compartment.
#[derive(Clone, Copy)]
struct CRef {
    r: capgc_ref_t,
    comp: usize,
    epoch: u64,
}

/// The split heap under test.
pub(crate) struct Split {
    s: *mut capgc_split_heap_t,
    checked: bool,
    slot: u64,
    comps: Vec<Comp>,
    refs: Vec<CRef>,
    sealed: Vec<capgc_sealed_t>,
}

/// Slots of each compartment's root region.
const SLOTS: u64 = 8;

impl Split {
    /// A split heap of `mode` with two compartments.
    pub(crate) fn new(mode: Mode) -> Split {
        let cfg = super::config(mode, crate::cases::PlanSel::Generational, false);
        let mut s = std::ptr::null_mut();
        // SAFETY: `cfg` and `s` are valid for the call.
        let st = unsafe { capgc_split_heap_new(&cfg, &mut s) };
        assert_eq!(st, S::CAPGC_OK, "split_heap_new: {}", last_error());
        let mut slot = 0;
        // SAFETY: `s` is live; `slot` is writable.
        let st = unsafe { capgc_split_heap_mode(s, std::ptr::null_mut(), &mut slot) };
        assert_eq!(st, S::CAPGC_OK);
        let mut sp = Split {
            s,
            checked: mode.checked(),
            slot,
            comps: Vec::new(),
            refs: Vec::new(),
            sealed: Vec::new(),
        };
        sp.create();
        sp.create();
        sp
    }

    fn create(&mut self) {
        if self.comps.len() >= 4 {
            return;
        }
        let s = self.s;
        let (mut id, mut node, mut region) = (0, 0, capgc_region_t::default());
        // SAFETY: `s` is live; every out pointer is valid. A null config
        // is the split heap's own.
        unsafe {
            let st = capgc_compartment_new(s, std::ptr::null(), &mut id);
            assert_eq!(st, S::CAPGC_OK, "compartment_new: {}", last_error());
            let st = capgc_compartment_type_record(s, id, 2, 8, &mut node);
            assert_eq!(st, S::CAPGC_OK);
            let st = capgc_compartment_region_new(s, id, SLOTS, &mut region);
            assert_eq!(st, S::CAPGC_OK);
        }
        self.comps.push(Comp {
            id,
            live: true,
            node,
            region,
            next: 0,
            epoch: 0,
        });
    }

    /// A compartment argument: its id and index (none for garbage).
    fn comp(&self, p: CPick) -> (capgc_compartment_t, Option<usize>) {
        match p {
            CPick::Index(i) => {
                let i = usize::from(i) % self.comps.len();
                (self.comps[i].id, Some(i))
            }
            CPick::Garbage(g) => (g, self.comps.iter().position(|c| c.id == g)),
        }
    }

    /// A sealed argument, and whether it was handed out as it is.
    fn seal_arg(&self, p: SealPick) -> (capgc_sealed_t, bool) {
        let pool = &self.sealed;
        match p {
            SealPick::Pool(i) if !pool.is_empty() => (pool[usize::from(i) % pool.len()], true),
            SealPick::Flip(i, bit) if !pool.is_empty() => {
                let mut w = pool[usize::from(i) % pool.len()].w;
                let half = usize::from(bit / 128) * 2;
                let [a, b] = flip2([w[half], w[half + 1]], bit % 128);
                w[half] = a;
                w[half + 1] = b;
                (capgc_sealed_t { w }, false)
            }
            SealPick::Garbage(w) => (capgc_sealed_t { w }, false),
            _ => (capgc_sealed_t::default(), false),
        }
    }

    /// The `i`-th reference: it, its compartment, and whether it is fresh.
    fn obj(&self, i: u8) -> Option<(CRef, bool)> {
        let r = *self.refs.get(usize::from(i) % self.refs.len().max(1))?;
        let c = &self.comps[r.comp];
        Some((r, c.live && c.epoch == r.epoch))
    }

    fn got(&mut self, r: capgc_ref_t, comp: usize) {
        if r != capgc_null() {
            let epoch = self.comps[comp].epoch;
            keep(&mut self.refs, CRef { r, comp, epoch });
        }
    }

    /// Runs one call and checks its outcome.
    pub(crate) fn call(&mut self, c: &SplitCall) {
        let s = self.s;
        match *c {
            SplitCall::New => self.create(),
            SplitCall::Alloc(p) => {
                let (id, ci) = self.comp(p);
                let Some(ci) = ci else {
                    let mut out = capgc_null();
                    // SAFETY: `s` is live; `out` is writable.
                    let st = unsafe { capgc_compartment_alloc(s, id, 0, &mut out) };
                    assert_ne!(sane(st, "alloc in no compartment"), S::CAPGC_OK);
                    return;
                };
                let cm = &self.comps[ci];
                let (node, region, slot) = (cm.node, cm.region, cm.next % SLOTS);
                let mut out = capgc_null();
                // SAFETY: `s` is live; `out` is writable.
                let st = sane(
                    unsafe { capgc_compartment_alloc(s, id, node, &mut out) },
                    "alloc",
                );
                if !cm.live {
                    assert_ne!(st, S::CAPGC_OK, "alloc in a torn-down compartment");
                    return;
                }
                assert_eq!(st, S::CAPGC_OK, "compartment_alloc: {}", last_error());
                // SAFETY: `s` is live.
                let st = unsafe { capgc_compartment_region_set(s, id, region, slot, out) };
                assert_eq!(sane(st, "region_set"), S::CAPGC_OK, "{}", last_error());
                self.comps[ci].next += 1;
                self.sync();
                self.got(out, ci);
            }
            SplitCall::Seal(owner, obj, holder) => {
                let ((oid, oi), (hid, _)) = (self.comp(owner), self.comp(holder));
                let Some((r, fresh)) = self.obj(obj) else {
                    return;
                };
                if !self.checked && !fresh {
                    return;
                }
                let mut out = capgc_sealed_t::default();
                // SAFETY: `s` is live; `out` is writable.
                let st = sane(unsafe { capgc_seal(s, oid, r.r, hid, &mut out) }, "seal");
                if oi != Some(r.comp) || (self.checked && !fresh) {
                    assert_ne!(
                        st,
                        S::CAPGC_OK,
                        "sealed another compartment's or a stale reference"
                    );
                }
                if st == S::CAPGC_OK {
                    keep(&mut self.sealed, out);
                }
            }
            SplitCall::Unseal(by, p) => {
                let (bid, bi) = self.comp(by);
                let (sd, genuine) = self.seal_arg(p);
                let mut out = capgc_null();
                // SAFETY: `s` is live; `sd` and `out` are valid.
                let st = sane(unsafe { capgc_unseal(s, bid, &sd, &mut out) }, "unseal");
                if !genuine {
                    assert_ne!(st, S::CAPGC_OK, "unsealed a forged token");
                }
                let mut owner = 0;
                // SAFETY: as above.
                let so = unsafe { capgc_sealed_owner(s, &sd, &mut owner) };
                if genuine && so == S::CAPGC_OK && owner != bid {
                    assert_ne!(
                        st,
                        S::CAPGC_OK,
                        "unsealed by a compartment that is not its owner"
                    );
                }
                if st == S::CAPGC_OK {
                    let bi = bi.expect("unsealed by a compartment");
                    self.sync();
                    self.got(out, bi);
                }
            }
            SplitCall::StoreSealed(p, obj, k, sp) => {
                let (id, ci) = self.comp(p);
                let (sd, genuine) = self.seal_arg(sp);
                let Some((r, fresh)) = self.obj(obj) else {
                    return;
                };
                if !self.checked && (!fresh || ci != Some(r.comp)) {
                    return;
                }
                let off = u64::from(k % 2) * self.slot;
                // SAFETY: `s` is live; `sd` is valid.
                let st = sane(
                    unsafe { capgc_set_sealed(s, id, r.r, off, &sd) },
                    "set_sealed",
                );
                if !genuine || ci != Some(r.comp) || (self.checked && !fresh) {
                    assert_ne!(
                        st,
                        S::CAPGC_OK,
                        "set_sealed: forged, foreign or stale accepted"
                    );
                }
            }
            SplitCall::RootSealed(p, i, sp) => {
                let (id, ci) = self.comp(p);
                let (sd, genuine) = self.seal_arg(sp);
                let Some(ci) = ci else { return };
                let region = self.comps[ci].region;
                let i = u64::from(i) % (SLOTS + 2);
                // SAFETY: `s` is live; `sd` is valid.
                let st = unsafe { capgc_region_set_sealed(s, id, region, i, &sd) };
                sane(st, "region_set_sealed");
                if !genuine || i >= SLOTS {
                    assert_ne!(st, S::CAPGC_OK, "region_set_sealed: forged token or index");
                }
            }
            SplitCall::LoadSealed(p, i) => {
                let (id, ci) = self.comp(p);
                let Some(ci) = ci else { return };
                let region = self.comps[ci].region;
                let mut out = capgc_sealed_t::default();
                // SAFETY: `s` is live; `out` is writable.
                let st = unsafe {
                    capgc_region_get_sealed(s, id, region, u64::from(i) % SLOTS, &mut out)
                };
                if sane(st, "region_get_sealed") == S::CAPGC_OK {
                    keep(&mut self.sealed, out);
                }
            }
            SplitCall::SetRef(p, holder, k, value) => {
                let (id, ci) = self.comp(p);
                let (Some((hr, hf)), Some((vr, vf))) = (self.obj(holder), self.obj(value)) else {
                    return;
                };
                if !self.checked && (!hf || !vf || ci != Some(hr.comp)) {
                    return;
                }
                let off = u64::from(k % 2) * self.slot;
                // SAFETY: `s` is live.
                let st = sane(
                    unsafe { capgc_compartment_set_ref(s, id, hr.r, off, vr.r) },
                    "set_ref",
                );
                let foreign = ci != Some(hr.comp) || ci != Some(vr.comp);
                if foreign || (self.checked && (!hf || !vf)) {
                    assert_ne!(st, S::CAPGC_OK, "set_ref across compartments or stale");
                }
            }
            SplitCall::Access(p, obj, off, write) => {
                let (id, ci) = self.comp(p);
                let Some((r, fresh)) = self.obj(obj) else {
                    return;
                };
                let data = 2 * self.slot;
                let off = if self.checked { off } else { data };
                if write && !self.checked && (!fresh || ci != Some(r.comp)) {
                    return;
                }
                let mut v = 0;
                // SAFETY: `s` is live; `v` is writable.
                let st = unsafe {
                    if write {
                        capgc_compartment_write_u64(s, id, r.r, off, 0x5a5a)
                    } else {
                        capgc_compartment_read_u64(s, id, r.r, off, &mut v)
                    }
                };
                sane(st, "compartment access");
                if ci != Some(r.comp) || (self.checked && !fresh) {
                    assert_ne!(st, S::CAPGC_OK, "access across compartments or stale");
                }
            }
            SplitCall::Compare(a, b) => {
                let ((sa, ga), (sb, gb)) = (self.seal_arg(a), self.seal_arg(b));
                let (mut owner, mut same) = (0, false);
                // SAFETY: `s` is live; the tokens and outs are valid.
                let (so, ss) = unsafe {
                    (
                        capgc_sealed_owner(s, &sa, &mut owner),
                        capgc_sealed_same(s, &sa, &sb, &mut same),
                    )
                };
                sane(so, "sealed_owner");
                sane(ss, "sealed_same");
                if !ga {
                    assert_ne!(so, S::CAPGC_OK, "the owner of a forged token");
                }
                if !ga || !gb {
                    assert_ne!(ss, S::CAPGC_OK, "compared a forged token");
                }
            }
            SplitCall::Collect(p) => {
                let (id, ci) = self.comp(p);
                // SAFETY: `s` is live; a null out is allowed.
                let st = unsafe { capgc_compartment_collect(s, id, std::ptr::null_mut()) };
                sane(st, "compartment_collect");
                if ci.is_some_and(|i| self.comps[i].live) {
                    assert_eq!(st, S::CAPGC_OK, "{}", last_error());
                } else {
                    assert_ne!(st, S::CAPGC_OK);
                }
                self.sync();
                self.verify();
            }
            SplitCall::CollectAll => {
                // SAFETY: `s` is live; a null out is allowed.
                let st = unsafe { capgc_split_heap_collect(s, std::ptr::null_mut()) };
                assert_eq!(
                    sane(st, "split_heap_collect"),
                    S::CAPGC_OK,
                    "{}",
                    last_error()
                );
                self.sync();
                self.verify();
            }
            SplitCall::Destroy(p) => {
                let (id, ci) = self.comp(p);
                let live = self.comps.iter().filter(|c| c.live).count();
                if live <= 1 {
                    return;
                }
                // SAFETY: `s` is live.
                let st = sane(unsafe { capgc_compartment_destroy(s, id) }, "destroy");
                match ci {
                    Some(i) if self.comps[i].live => {
                        assert_eq!(st, S::CAPGC_OK, "{}", last_error());
                        self.comps[i].live = false;
                    }
                    _ => assert_ne!(st, S::CAPGC_OK, "destroyed twice or nothing"),
                }
                self.verify();
            }
        }
        self.sync();
    }

    /// Every live compartment's collection count.
    fn sync(&mut self) {
        for c in self.comps.iter_mut().filter(|c| c.live) {
            let mut st = capgc_stats_t::default();
            // SAFETY: `self.s` is live; `st` is writable.
            let r = unsafe { capgc_compartment_stats(self.s, c.id, &mut st) };
            assert_eq!(r, S::CAPGC_OK);
            c.epoch = st.collections;
        }
    }

    /// `capgc_split_heap_verify` finds nothing.
    pub(crate) fn verify(&self) {
        let mut out = [capgc_compartment_violation_t::default(); 8];
        let mut n = 0;
        // SAFETY: `out` holds 8 violations; `n` is writable.
        let st = unsafe { capgc_split_heap_verify(self.s, out.as_mut_ptr(), out.len(), &mut n) };
        assert_eq!(st, S::CAPGC_OK, "split verify: {}", last_error());
        assert_eq!(n, 0, "split heap violations: {:?}", &out[..n.min(8)]);
    }
}

impl Drop for Split {
    fn drop(&mut self) {
        // SAFETY: the split heap is live, idle, and not used again.
        unsafe { capgc_split_heap_free(self.s) };
    }
}
