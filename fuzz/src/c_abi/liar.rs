//! Lying trace callbacks: a custom type of four slots whose callback
//! reports the slots a mask names — the object's own word 0 (a tagged
//! union the VM may flip behind the heap's back) in SoftCheri, a fixed
//! mask in the unchecked modes — plus offsets that are no slots at all
//! (past the end, misaligned, overflowing, into data), and that may try
//! to re-enter the heap, which must refuse with `CAPGC_E_BUSY`. It keeps
//! the view and visitor it was given: used after the callback returned
//! (`Liar::check`, after every call) they must answer
//! `CAPGC_E_WRONG_PHASE`, while inside it they answer `CAPGC_OK`.

use capgc::CapgcStatus as S;
use capgc::*;
use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

/// The context of one lying type.
pub(crate) struct Liar {
    /// The heap, for re-entering.
    pub(crate) heap: AtomicPtr<capgc_heap_t>,
    /// The type to allocate when re-entering.
    pub(crate) alloc_ty: u64,
    /// Read the mask from the object's word 0 (else `mask`).
    pub(crate) from_object: bool,
    /// Bits 1..=3: slots 1..=3 are references.
    pub(crate) mask: u64,
    /// The reference-slot size.
    pub(crate) slot: u64,
    /// Offsets reported that are no reference slots.
    pub(crate) lies: [u64; 3],
    /// Re-enter the heap from the callback.
    pub(crate) reenter: bool,
    /// Calls.
    pub(crate) calls: AtomicU32,
    /// A re-entering call that was not refused with `CAPGC_E_BUSY`
    /// (its status + 1; 0 for none).
    pub(crate) not_busy: AtomicU32,
    /// A view or visitor call inside the callback that failed (its
    /// status + 1; 0 for none).
    pub(crate) refused_inside: AtomicU32,
    /// The view and visitor of the last call, kept past it.
    kept_view: AtomicPtr<capgc_view_t>,
    kept_visitor: AtomicPtr<capgc_visitor_t>,
}

impl Liar {
    /// The context for `slot`-byte slots: in the unchecked modes the
    /// lies are kept to offsets that are no slot of the object (past its
    /// end or misaligned), which those modes ignore without a tag to say
    /// so; a lie naming a data slot would be a forged reference there.
    ///
    /// In the checked modes the mask is the object's word 0, so a data
    /// write flips the union (by-tag heaps included: the verifier takes
    /// their slots by tag, `gc-core/tests/attack_table.rs`,
    /// `union_flip_scanned_by_tag_verifies_afterwards`).
    pub(crate) fn new(
        heap: *mut capgc_heap_t,
        alloc_ty: u64,
        checked: bool,
        mask: u64,
        lies: [u64; 3],
        reenter: bool,
        slot: u64,
    ) -> Liar {
        let size = 4 * slot;
        let lies = lies.map(|o| {
            if checked || o >= size || o % slot != 0 {
                o
            } else {
                size + o
            }
        });
        Liar {
            heap: AtomicPtr::new(heap),
            alloc_ty,
            from_object: checked,
            mask: mask & 0b1110,
            slot,
            lies,
            reenter,
            calls: AtomicU32::new(0),
            not_busy: AtomicU32::new(0),
            refused_inside: AtomicU32::new(0),
            kept_view: AtomicPtr::new(std::ptr::null_mut()),
            kept_visitor: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// No re-entering call got through, every view and visitor call
    /// inside a callback worked, and the view and visitor kept past their
    /// callback are refused by every function. Called outside any
    /// callback, while the heap lives.
    pub(crate) fn check(&self) {
        let s = self.not_busy.load(Ordering::Relaxed);
        assert_eq!(
            s,
            0,
            "a trace callback re-entered the heap: status {}",
            s - 1
        );
        let s = self.refused_inside.load(Ordering::Relaxed);
        assert_eq!(
            s,
            0,
            "a view or visitor call inside its callback: status {}",
            s.wrapping_sub(1)
        );
        let (view, visitor) = (
            self.kept_view.load(Ordering::Relaxed),
            self.kept_visitor.load(Ordering::Relaxed),
        );
        if view.is_null() {
            return;
        }
        let (mut n, mut b) = (0u64, [0u8; 4]);
        // SAFETY: a view and visitor the heap, still live, gave a callback
        // that has returned: what must be refused, not undefined.
        let got = unsafe {
            [
                capgc_view_len(view, &mut n),
                capgc_view_read_u64(view, 0, &mut n),
                capgc_view_read(view, 0, b.as_mut_ptr(), b.len()),
                capgc_visit(visitor, 0),
            ]
        };
        assert_eq!(got, [S::CAPGC_E_WRONG_PHASE; 4], "a kept view or visitor");
    }

    /// The size of the type.
    pub(crate) fn size(&self) -> u64 {
        4 * self.slot
    }
}

/// The callback of every lying type (`ctx` is its [`Liar`]).
///
/// # Safety
/// `ctx` is a live [`Liar`]; `view` and `visitor` are the ones the heap
/// passes to the running callback.
pub(crate) unsafe extern "C" fn trace(
    ctx: *mut c_void,
    view: *const capgc_view_t,
    visitor: *mut capgc_visitor_t,
) {
    // SAFETY: the contract above: `ctx` is a live `Liar`, only read.
    let l = unsafe { &*(ctx as *const Liar) };
    l.calls.fetch_add(1, Ordering::Relaxed);
    let mut mask = l.mask;
    if l.from_object {
        let mut w = 0;
        // SAFETY: `view` is the running callback's; `w` is writable.
        if unsafe { capgc_view_read_u64(view, 0, &mut w) } == S::CAPGC_OK {
            mask = w;
        }
    }
    let inside = |s: S| {
        if s != S::CAPGC_OK {
            l.refused_inside.store(s as u32 + 1, Ordering::Relaxed);
        }
    };
    let mut len = 0;
    // SAFETY: `view` is the running callback's; `len` is writable.
    inside(unsafe { capgc_view_len(view, &mut len) });
    for i in 1..=3u64 {
        if mask >> i & 1 != 0 {
            // SAFETY: `visitor` is the running callback's.
            inside(unsafe { capgc_visit(visitor, i * l.slot) });
        }
    }
    for o in l.lies {
        // SAFETY: as above (a lie is ignored, still CAPGC_OK).
        inside(unsafe { capgc_visit(visitor, o) });
    }
    // SAFETY: as above; past the end, always a lie.
    inside(unsafe { capgc_visit(visitor, len) });
    l.kept_view.store(view.cast_mut(), Ordering::Relaxed);
    l.kept_visitor.store(visitor, Ordering::Relaxed);
    if l.reenter {
        let mut out = capgc_null();
        let heap = l.heap.load(Ordering::Relaxed);
        // SAFETY: the heap is live while its callbacks run; re-entering
        // it is exactly what must be refused.
        let s = unsafe { capgc_alloc(heap, l.alloc_ty, &mut out) };
        if s != S::CAPGC_E_BUSY {
            l.not_busy.store(s as u32 + 1, Ordering::Relaxed);
        }
    }
}
