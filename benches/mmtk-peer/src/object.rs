//! The peer's object layout, and the only raw memory access of the crate.
//!
//! Every object is one header word followed by its payload, and an
//! [`ObjectReference`] is the address of the header (MMTk's
//! `OBJECT_REF_OFFSET_LOWER_BOUND` is 0):
//!
//! ```text
//! header: size in bytes << 8 | REFS | MMTk's two forwarding bits (bits 0-1)
//! REFS set:   two reference slots at +8 and +16, then any plain bytes
//! REFS clear: plain bytes only (the array of doubles)
//! ```
//!
//! MMTk keeps its forwarding state in the header's low two bits and
//! writes the forwarding pointer over the whole word once an object is
//! copied (`binding.rs`: the metadata specs); every other piece of
//! metadata (mark bits, the log bits of the generational barrier, the
//! large-object space's nursery bit) lives in MMTk's side tables. The
//! size and the REFS flag stay readable while the forwarding bits say
//! "being forwarded", which is when MMTk asks for the size to copy.

use mmtk::util::{Address, ObjectReference};

/// Bytes of the header word.
pub const HEADER: usize = 8;
/// The header bit that says the object has two reference slots.
const REFS: usize = 1 << 2;
/// MMTk's forwarding bits: zero in every object the mutator sees.
const FORWARDING_BITS: usize = 0b11;
/// Where the size starts in the header word.
const SIZE_SHIFT: u32 = 8;

/// The offset of reference slot `i` (0 left, 1 right).
pub const fn slot_offset(i: usize) -> usize {
    HEADER + 8 * i
}

/// The header word of an object of `size` bytes (a multiple of 8, the
/// header included) with or without its two reference slots.
pub const fn header(size: usize, refs: bool) -> usize {
    (size << SIZE_SHIFT) | if refs { REFS } else { 0 }
}

/// The object's header word.
fn header_of(o: ObjectReference) -> usize {
    // SAFETY: every ObjectReference this crate makes or receives from
    // MMTk is the start of an object of at least one header word, in
    // memory MMTk has mapped for it.
    unsafe { o.to_raw_address().load::<usize>() }
}

/// Its size in bytes, the header included.
pub fn size_of(o: ObjectReference) -> usize {
    header_of(o) >> SIZE_SHIFT
}

/// Whether it has the two reference slots.
pub fn has_refs(o: ObjectReference) -> bool {
    header_of(o) & REFS != 0
}

/// The address of reference slot `i` of `o` (an object with REFS).
pub fn slot(o: ObjectReference, i: usize) -> Address {
    o.to_raw_address() + slot_offset(i)
}

/// Writes the header and nulls the reference slots of a new object of
/// `size` bytes at `start` (memory fresh from MMTk's allocator, which may
/// hand out reused, unzeroed memory); its reference.
///
/// # Safety
/// `start` is the start of `size` bytes MMTk has just allocated, `size`
/// at least `HEADER` and, with `refs`, at least three words.
pub unsafe fn init(start: Address, size: usize, refs: bool) -> ObjectReference {
    // SAFETY: the caller gives us the `size` bytes at `start`.
    unsafe {
        start.store(header(size, refs));
        if refs {
            start.add(slot_offset(0)).store(0usize);
            start.add(slot_offset(1)).store(0usize);
        }
    }
    ObjectReference::from_raw_address(start).expect("MMTk never allocates at address 0")
}

/// Reference slot `i` of `o` (an object with REFS).
pub fn load_ref(o: ObjectReference, i: usize) -> Option<ObjectReference> {
    debug_assert!(has_refs(o));
    // SAFETY: `o` is an object with its two slots (REFS), each a word
    // holding 0 or an object's reference.
    let raw: usize = unsafe { slot(o, i).load() };
    // SAFETY: a nonzero slot holds an object reference.
    (raw != 0)
        .then(|| unsafe { ObjectReference::from_raw_address_unchecked(Address::from_usize(raw)) })
}

/// Stores `v` in reference slot `i` of `o` (an object with REFS); the
/// caller runs the write barrier its plan needs.
pub fn store_ref(o: ObjectReference, i: usize, v: Option<ObjectReference>) {
    debug_assert!(has_refs(o));
    let raw = v.map_or(0, |v| v.to_raw_address().as_usize());
    // SAFETY: as in `load_ref`; a reference or 0 is what a slot holds.
    unsafe { slot(o, i).store(raw) }
}

/// The `u64` at byte `offset` of `o`'s payload (plain bytes).
pub fn read_u64(o: ObjectReference, offset: usize) -> u64 {
    debug_assert!(HEADER + offset + 8 <= size_of(o));
    // SAFETY: the offset is inside the object (checked in debug builds;
    // the workloads index within the sizes they allocated).
    unsafe { (o.to_raw_address() + HEADER + offset).load() }
}

/// Writes the `u64` at byte `offset` of `o`'s payload (plain bytes).
pub fn write_u64(o: ObjectReference, offset: usize, v: u64) {
    debug_assert!(HEADER + offset + 8 <= size_of(o));
    // SAFETY: as in `read_u64`.
    unsafe { (o.to_raw_address() + HEADER + offset).store(v) }
}

/// Copies object `from` (of `size` bytes) to `to`, with the copy's
/// forwarding bits cleared (the original's say "being forwarded" now).
///
/// # Safety
/// `to` is the start of `size` bytes MMTk allocated for the copy, not
/// overlapping `from`.
pub unsafe fn copy(from: ObjectReference, to: Address, size: usize) {
    let src = from.to_raw_address();
    // SAFETY: `from` has `size` bytes (its header says so) and the
    // caller gives us `size` bytes at `to`, disjoint.
    unsafe {
        std::ptr::copy_nonoverlapping(src.to_ptr::<u8>(), to.to_mut_ptr::<u8>(), size);
        let h: usize = to.load();
        to.store(h & !FORWARDING_BITS);
    }
}
