//! The fast path (`capgc_fast.h`) in the `c_abi` target: the header's
//! inline functions mirrored line for line in Rust (the fuzzer cannot
//! call C's `static inline` code), so the driver exercises what a C VM
//! on the header does — the inline bump allocation and field access in
//! Native and P128, the checked entries they call in SoftCheri — and the
//! exported entries themselves: `capgc_mutator`, `capgc_fast_alloc_slow`,
//! `capgc_fast_remember`, `capgc_fast_roots` and the shadow stack every
//! collection validates.
//!
//! What it checks, beyond the driver's rules (`judge`, the verifier after
//! every collection):
//! - SoftCheri: every inline function refuses a stale, forged, flipped
//!   or other heap's reference with its specific status; a shadow-stack
//!   entry that is one refuses the collection with that status and
//!   changes nothing (the collection count stays);
//! - every mode: a top past the stack's capacity refuses the collection
//!   (`CAPGC_E_OUT_OF_RANGE`); a null or a fake mutator is
//!   `CAPGC_E_NULL_ARGUMENT`; references popped after collections are
//!   fresh (the collector rewrote them).
//!
//! In Native and P128 the inline paths are unchecked (the header says
//! so): there the driver behaves as a correct VM — fresh references,
//! offsets inside the node type's slots and data — and the heap checks
//! what it adopts.

use super::calls::TyPick;
use super::{sane, Driver, Layout, RefPick, Q};
use arbitrary::Arbitrary;
use capgc::CapgcStatus as S;
use capgc::*;

/// Entries in the driver's shadow stack.
const STACK: usize = 16;

/// One call of the fast path.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum FastCall {
    /// `capgc_mutator` and `capgc_fast_roots` of the driver's stack (the
    /// other calls do this first if it was not done).
    Take,
    /// `capgc_fast_alloc` of a type, with the node's size as the length
    /// or (SoftCheri only) another.
    Alloc(TyPick, Option<u64>),
    /// `capgc_fast_load_ref` at an offset.
    LoadRef(RefPick, u64),
    /// `capgc_fast_store_ref` (with the barrier's filter and
    /// `capgc_fast_remember`).
    StoreRef(RefPick, u64, RefPick),
    /// `capgc_fast_load_*` (`None`) or `capgc_fast_store_*` of width
    /// (u8, u32, u64, f64) at an offset.
    Scalar(RefPick, u64, u8, Option<u64>),
    /// `capgc_fast_remember` directly.
    Remember(RefPick, u64),
    /// `capgc_fast_push`; in SoftCheri a misused reference is pushed,
    /// a collection must refuse it, and it is popped again.
    Push(RefPick),
    /// `capgc_fast_pop` into the pool.
    Pop,
    /// Misuse of the entries: which (mod the table).
    Misuse(u8),
    /// `capgc_collect` (`true`) or `capgc_collect_minor`: the shadow
    /// stack's entries are rewritten, the pool's references go stale.
    Collect(bool),
}

/// The driver's mutator and shadow stack.
pub(crate) struct Fast {
    m: *mut capgc_mutator_t,
    /// The shadow stack, owned here and reached through `m->roots` as
    /// the header does (boxed: the heap keeps its address).
    _stack: Box<[capgc_ref_t; STACK]>,
}

/// `capgc_fast_cell`.
fn cell(m: &capgc_mutator_t, len: u64) -> u64 {
    let (a, n) = (m.align, len.max(1));
    a + ((n + a - 1) & !(a - 1))
}

/// `capgc_fast_is_young`.
///
/// # Safety
/// `m` is a mutator from `capgc_mutator` (its table is the heap's).
unsafe fn is_young(m: &capgc_mutator_t, addr: u64) -> bool {
    let i = addr.wrapping_sub(m.block_base) >> CAPGC_FAST_BLOCK_SHIFT;
    // SAFETY: `block_states` has `block_count` entries (the caller's
    // contract); `i` is checked against it first.
    i < m.block_count && unsafe { *m.block_states.add(i as usize) } == m.young_state as u16
}

impl Driver {
    /// The mutator, taken and given the stack at the first use.
    fn fast(&mut self) -> *mut capgc_mutator_t {
        if let Some(f) = &self.fast {
            return f.m;
        }
        let mut m = std::ptr::null_mut();
        // SAFETY: `self.h` is live; `m` is writable.
        let s = unsafe { capgc_mutator(self.h, &mut m) };
        assert_eq!(sane(s, "mutator"), S::CAPGC_OK);
        let mut stack = Box::new([capgc_null(); STACK]);
        // SAFETY: `m` is the heap's mutator; the stack is valid for
        // `STACK` references until the driver drops it, after the heap.
        let s = unsafe { capgc_fast_roots(m, stack.as_mut_ptr(), STACK as u64) };
        assert_eq!(sane(s, "fast_roots"), S::CAPGC_OK);
        self.fast = Some(Fast { m, _stack: stack });
        m
    }

    /// Whether `[off, off + slot)` is a reference slot of the fresh node
    /// `r` (the only ones the unchecked modes touch inline).
    fn is_ref_slot(&self, r: capgc_ref_t, off: u64) -> bool {
        let mut ty = 0;
        // SAFETY: `self.h` is live; `ty` is writable.
        if unsafe { capgc_type_of(self.h, r, &mut ty) } != S::CAPGC_OK {
            return false;
        }
        matches!(self.layouts.get(&ty), Some(Layout::Fixed { refs, .. }) if refs.contains(&off))
    }

    /// Runs one fast-path call and checks its outcome.
    pub(crate) fn fast_call(&mut self, c: FastCall) {
        let m = self.fast();
        // SAFETY: `m` is the heap's mutator; no call on the heap is in
        // progress, so its fields are the VM's to read (and `cursor`,
        // `roots_top` to write) as the header does.
        let mm = unsafe { &mut *m };
        let checked = mm.checked != 0;
        assert_eq!(checked, self.checked, "m->checked is the mode's");
        match c {
            FastCall::Take => {}
            FastCall::Alloc(ty, len) => {
                let (t, ours) = self.ty(ty);
                let node_len = 2 * self.slot + 16;
                let exact = ty_is_node(ty) && len.is_none();
                if !checked && !exact {
                    return; // unchecked: the header trusts its caller
                }
                let len = len.map_or(node_len, |l| if l >= 1 << 40 { l } else { l % 4096 });
                let mut out = capgc_null();
                let s = if len <= mm.max_len && mm.cursor + cell(mm, len) <= mm.limit && !checked {
                    // The inline bump (header words as capgc.h's constants
                    // say), as `capgc_fast_alloc` does.
                    let at = mm.cursor;
                    mm.cursor = at + cell(mm, len);
                    let h = at as *mut u64;
                    // SAFETY: `[at, cursor)` lies in the buffer the heap
                    // lent (below `limit`), the header (`m->align` bytes:
                    // Native one word, P128 two) first.
                    unsafe {
                        if mm.align == CAPGC_FAST_HEADER_NATIVE_SIZE {
                            h.write(
                                u64::from(t as u32) << CAPGC_FAST_HEADER_NATIVE_TYPE_SHIFT
                                    | len << CAPGC_FAST_HEADER_NATIVE_LEN_SHIFT,
                            );
                        } else {
                            h.write(u64::from(t as u32));
                            h.add(1).write(len);
                        }
                    }
                    out = capgc_ref_t {
                        addr: at + mm.align,
                        meta: 0,
                    };
                    S::CAPGC_OK
                } else {
                    // SAFETY: `m` is the heap's mutator; `out` is writable.
                    sane(
                        unsafe { capgc_fast_alloc_slow(m, t, len, &mut out) },
                        "fast_alloc_slow",
                    )
                };
                if !ours {
                    assert_ne!(s, S::CAPGC_OK, "fast_alloc of type {t:#x}");
                }
                if exact && ours {
                    assert_eq!(s, S::CAPGC_OK, "fast_alloc: {}", super::last_error());
                }
                if s == S::CAPGC_OK {
                    self.sync();
                    self.got(out, Some(super::ALL_PERMS));
                }
            }
            FastCall::LoadRef(p, off) => {
                let (r, q) = self.pick(p);
                let mut out = capgc_null();
                let s = if checked {
                    // SAFETY: `mm.heap` is the live heap; `out` is writable.
                    unsafe { capgc_get_ref(mm.heap, r, off, &mut out) }
                } else if matches!(q, Q::Fresh(_)) && self.is_ref_slot(r, off) {
                    // SAFETY: a fresh node's reference slot (checked above).
                    out.addr = unsafe { ((r.addr + off) as *const u64).read() };
                    S::CAPGC_OK
                } else {
                    return;
                };
                self.judge(s, &[q], true, "fast_load_ref");
                if s == S::CAPGC_OK {
                    self.got(out, None);
                }
            }
            FastCall::StoreRef(p, off, v) => {
                let ((r, q), (vr, vq)) = (self.pick(p), self.pick(v));
                let s = if checked {
                    // SAFETY: `mm.heap` is the live heap.
                    unsafe { capgc_set_ref(mm.heap, r, off, vr) }
                } else if matches!(q, Q::Fresh(_))
                    && matches!(vq, Q::Fresh(_) | Q::Null)
                    && self.is_ref_slot(r, off)
                {
                    let slot = (r.addr + off) as *mut u64;
                    // SAFETY: a fresh node's reference slot (checked
                    // above); a fresh value's header precedes it.
                    unsafe {
                        slot.write(vr.addr);
                        if mm.align == 16 {
                            let len = if vr.addr == 0 {
                                0
                            } else {
                                ((vr.addr - 8) as *const u64).read()
                            };
                            slot.add(1).write(len);
                        }
                    }
                    // SAFETY: `mm` is the heap's mutator.
                    let barrier = mm.barrier != 0
                        && vr.addr != 0
                        && unsafe { !is_young(mm, r.addr) && is_young(mm, vr.addr) };
                    if barrier {
                        // SAFETY: `m` is the heap's mutator.
                        unsafe { capgc_fast_remember(m, r, off) }
                    } else {
                        S::CAPGC_OK
                    }
                } else {
                    return;
                };
                self.judge(s, &[q, vq], false, "fast_store_ref");
                if !checked {
                    assert_eq!(s, S::CAPGC_OK, "fast_store_ref: {}", super::last_error());
                }
            }
            FastCall::Scalar(p, off, width, v) => self.fast_scalar(p, off, width, v),
            FastCall::Remember(p, off) => {
                let (r, q) = self.pick(p);
                if !self.may_mutate(q) {
                    return;
                }
                // SAFETY: `m` is the heap's mutator.
                let s = unsafe { capgc_fast_remember(m, r, off) };
                self.judge(s, &[q], true, "fast_remember");
            }
            FastCall::Push(p) => {
                let (r, q) = self.pick(p);
                if !self.may_mutate(q) || mm.roots_top as usize >= STACK {
                    return;
                }
                let top = mm.roots_top as usize;
                // SAFETY: `top < STACK`: an entry of the registered stack.
                unsafe { mm.roots.add(top).write(r) };
                mm.roots_top += 1;
                if q.misused() {
                    // Refused by the next collection, which changes nothing.
                    let before = self.epoch;
                    // SAFETY: `self.h` is live; a null out is allowed.
                    let s = unsafe { capgc_collect(self.h, std::ptr::null_mut()) };
                    self.judge(s, &[q], true, "collect over a bad shadow-stack entry");
                    self.sync();
                    assert_eq!(self.epoch, before, "a refused collection collected");
                    // SAFETY: as above: the stack is the driver's.
                    let m = unsafe { &mut *self.fast() };
                    m.roots_top -= 1;
                }
            }
            FastCall::Pop => {
                if mm.roots_top == 0 {
                    return;
                }
                mm.roots_top -= 1;
                // SAFETY: below the top: an entry of the registered stack.
                let r = unsafe { mm.roots.add(mm.roots_top as usize).read() };
                self.got(r, None);
            }
            FastCall::Misuse(i) => self.fast_misuse(i),
            FastCall::Collect(full) => {
                // SAFETY: `self.h` is live; a null out is allowed.
                let s = unsafe {
                    if full {
                        capgc_collect(self.h, std::ptr::null_mut())
                    } else {
                        capgc_collect_minor(self.h, std::ptr::null_mut())
                    }
                };
                assert_eq!(sane(s, "collect"), S::CAPGC_OK, "{}", super::last_error());
            }
        }
    }

    /// `capgc_fast_load_*` / `capgc_fast_store_*`.
    fn fast_scalar(&mut self, p: RefPick, off: u64, width: u8, v: Option<u64>) {
        let (r, q) = self.pick(p);
        let size = [1, 4, 8, 8][usize::from(width % 4)];
        if !self.checked {
            // Unchecked: only a fresh object's data.
            if !matches!(q, Q::Fresh(_)) || !self.is_data(r, off, size) {
                return;
            }
            let at = (r.addr + off) as *mut u8;
            // SAFETY: `[off, off + size)` is data of a fresh object.
            unsafe {
                match v {
                    Some(x) => {
                        std::ptr::copy_nonoverlapping(x.to_le_bytes().as_ptr(), at, size as usize)
                    }
                    None => {
                        let mut b = [0u8; 8];
                        std::ptr::copy_nonoverlapping(at, b.as_mut_ptr(), size as usize);
                    }
                }
            }
            return;
        }
        let h = self.h;
        // SAFETY: `h` is live; the outs are writable.
        let s = unsafe {
            match (width % 4, v) {
                (0, None) => capgc_read_u8(h, r, off, &mut 0),
                (1, None) => capgc_read_u32(h, r, off, &mut 0),
                (2, None) => capgc_read_u64(h, r, off, &mut 0),
                (_, None) => capgc_read_f64(h, r, off, &mut 0.0),
                (0, Some(x)) => capgc_write_u8(h, r, off, x as u8),
                (1, Some(x)) => capgc_write_u32(h, r, off, x as u32),
                (2, Some(x)) => capgc_write_u64(h, r, off, x),
                (_, Some(x)) => capgc_write_f64(h, r, off, f64::from_bits(x)),
            }
        };
        self.judge(s, &[q], true, "fast scalar");
        if matches!(q, Q::Fresh(_)) && self.out_of_bounds(r, off, size) {
            assert_ne!(s, S::CAPGC_OK, "fast scalar out of bounds at {off}+{size}");
        }
        if v.is_some() {
            self.refused_without(q, CAPGC_PERM_STORE, s, "fast store");
        }
    }

    /// Misuse of the fast entries, in every mode.
    fn fast_misuse(&mut self, i: u8) {
        let m = self.fast();
        let h = self.h;
        let mut out = capgc_null();
        let node = self.node;
        // A struct the VM filled itself, claiming the heap.
        // SAFETY: `m` is the heap's mutator, copied word for word.
        let mut fake = unsafe { std::ptr::read(m) };
        let fake_m: *mut capgc_mutator_t = &mut fake;
        // SAFETY (every arm): a null or a fake mutator is what is
        // tested; the entries read at most its `heap` word and compare
        // its address with the heap's own; `out` is writable.
        let s = match i % 6 {
            // SAFETY: as above.
            0 => unsafe { capgc_fast_alloc_slow(std::ptr::null_mut(), node, 32, &mut out) },
            // SAFETY: as above.
            1 => unsafe { capgc_fast_alloc_slow(fake_m, node, 32, &mut out) },
            // SAFETY: as above.
            2 => unsafe { capgc_fast_remember(fake_m, capgc_null(), 0) },
            // SAFETY: `m` is the heap's mutator; null `refs` is refused.
            3 => unsafe { capgc_fast_roots(m, std::ptr::null_mut(), 4) },
            // SAFETY: `h` is live; the null out is refused.
            4 => unsafe { capgc_mutator(h, std::ptr::null_mut()) },
            _ => {
                // A top past the capacity: the collection refuses.
                // SAFETY: `m` is the heap's mutator, no call in progress.
                let mm = unsafe { &mut *m };
                let top = mm.roots_top;
                mm.roots_top = mm.roots_cap + 1;
                // SAFETY: `h` is live; a null out is allowed.
                let s = unsafe { capgc_collect(h, std::ptr::null_mut()) };
                mm.roots_top = top;
                assert_eq!(sane(s, "collect past the top"), S::CAPGC_E_OUT_OF_RANGE);
                return;
            }
        };
        assert_eq!(
            sane(s, "fast misuse"),
            S::CAPGC_E_NULL_ARGUMENT,
            "fast misuse {}",
            i % 6
        );
    }
}

/// Whether `p` is the node type.
fn ty_is_node(p: TyPick) -> bool {
    matches!(p, TyPick::Node)
}
