//! Lying trace callbacks: a custom type of four slots whose callback
//! reports the slots a mask names — the object's own word 0 (a tagged
//! union the VM may flip behind the heap's back) in SoftCheri, a fixed
//! mask in the unchecked modes — plus offsets that are no slots at all
//! (past the end, misaligned, overflowing, into data), and that may try
//! to re-enter the heap, which must refuse with `CAPGC_E_BUSY`.

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
        }
    }

    /// No re-entering call got through.
    pub(crate) fn check(&self) {
        let s = self.not_busy.load(Ordering::Relaxed);
        assert_eq!(
            s,
            0,
            "a trace callback re-entered the heap: status {}",
            s - 1
        );
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
    // SAFETY: `view` is the running callback's.
    let len = unsafe { capgc_view_len(view) };
    for i in 1..=3u64 {
        if mask >> i & 1 != 0 {
            // SAFETY: `visitor` is the running callback's.
            unsafe { capgc_visit(visitor, i * l.slot) };
        }
    }
    for o in l.lies {
        // SAFETY: as above.
        unsafe { capgc_visit(visitor, o) };
    }
    // SAFETY: as above; past the end, always a lie.
    unsafe { capgc_visit(visitor, len) };
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
