//! The fast path for code outside Rust (a C VM, a JIT): a bump buffer
//! the caller advances itself, and a shadow stack of references it reads
//! and writes directly.
//!
//! *Lending the bump buffer.* Between two calls into the heap, the
//! caller may own the rest of the copy space's current block: the heap
//! lends it ([`Heap::fast_lend`]: a cursor and a limit) and takes it back
//! at the start of the next call ([`Heap::fast_reclaim`]). While lent,
//! the copy space's own bump is closed, so nothing in the heap allocates
//! there; the caller writes each object's header itself (the format of
//! `object/header.rs`: word 0 the type index, word 1 the payload length)
//! into memory that is zeroed and untagged (a fresh copy-space block, I4).
//! Taking the buffer back walks the objects placed since it was lent:
//! each header is checked (a registered type, a length its kind allows,
//! no flags, the cell inside the lent range) before its alloc bit is set
//! and the statistics count it, so a collection never sees an object the
//! heap did not check. A header that fails is [`GcError::FastBuffer`] and
//! poisons the heap. Only the unchecked modes lend (a checked mode's
//! objects are reached by capabilities the heap derives: nothing there
//! may be placed by the caller, and no capability the caller holds
//! covers a header, I2), and only the moving plans (MarkSweep's
//! cells are not a bump); zeal's `collect:N` turns lending off, as it
//! turns off the Rust fast paths. SemiSpace's pacing is kept by lending
//! no more than the bytes left before its trigger.
//!
//! Rejected: sharing the copy space's cursor with the caller (every Rust
//! allocation would then go through memory the caller may write, and
//! the Rust path would pay for a second representation), and having the
//! caller set alloc bits inline (the side bitmap's geometry would become
//! ABI, and nothing would check the headers).
//!
//! *The shadow stack.* A caller registers an array of exported references
//! and a top index ([`ShadowStack`], memory the caller owns and writes
//! without calls). At the start of every collection the entries below the
//! top are imported — validated exactly as [`Heap::import_ref`] validates
//! (forged, stale, not an object: the collection is refused, nothing
//! changes, and an allocation that needed it fails with that error) —
//! and traced as roots; after it, each is written back as the exported
//! bits of its object's new copy (I8), of the new epoch.

use crate::object::{header_size, Header};
use crate::policy::copy_space;
use crate::types::{ObjectType, TypeInfo};
use crate::{ExternRef, GcError, Heap, ObjRef};
use capability_heap::{Address, RefMode};

/// A shadow stack as the caller lays it out: the entries, the number in
/// use, and the number there is room for. `#[repr(C)]`: the C ABI's
/// mutator struct embeds the same three words.
#[repr(C)]
#[derive(Debug)]
pub struct ShadowStack {
    /// The entries (exported references; all zero is null).
    pub refs: *mut ExternRef,
    /// Entries in use: `refs[0..top]` are roots.
    pub top: u64,
    /// Entries there is room for.
    pub cap: u64,
}

/// What a caller's inline code needs to know about a heap
/// ([`Heap::fast_geometry`]).
#[derive(Clone, Copy, Debug)]
pub struct FastGeometry {
    /// Cell alignment and reference-slot size in bytes (8 or 16).
    pub align: u64,
    /// The largest payload the inline allocation may place (0: none, in
    /// a checked mode or a plan that does not bump).
    pub max_len: u64,
    /// The first block's address (the barrier's block index origin).
    pub block_base: u64,
    /// The block-state table: one `u16` per 64 KiB block, fixed for the
    /// heap's life; the value [`FastGeometry::young_state`] marks a
    /// copy-space (young) block.
    pub block_states: *const u16,
    /// Entries in the table.
    pub block_count: u64,
    /// The state of a young block.
    pub young_state: u16,
    /// The plan has a write barrier (Generational).
    pub barrier: bool,
    /// The mode checks every access: nothing may be done inline.
    pub checked: bool,
}

/// Whether an object of type `info` may have a payload of `len` bytes:
/// a fixed-size type's own size, any byte array's, a whole number of
/// slots for a reference array. The one rule the inline allocation's
/// refill ([`Heap::alloc_sized`]) and the adoption of what it placed
/// (`Heap::fast_cell_slow`) share.
fn allows_len<M: RefMode>(info: &TypeInfo, len: u64) -> bool {
    match info.kind {
        ObjectType::RefArray => len % M::SLOT_SIZE == 0,
        ObjectType::ByteArray => true,
        _ => info.fixed_size() == Some(len),
    }
}

/// log2 of the block size, for the barrier's block index.
pub const FAST_BLOCK_SHIFT: u32 = 16;

static_assertions::const_assert_eq!(1u64 << FAST_BLOCK_SHIFT, crate::policy::block::BLOCK);

/// The heap's side of the fast path.
#[derive(Default)]
pub(crate) struct FastState {
    /// The lent range `[start, limit)` and the end of its block, if the
    /// buffer is lent.
    pub(crate) lent: Option<(u64, u64, u64)>,
    /// The registered shadow stack.
    shadow: Option<ShadowPtr>,
    /// Why the last collection was refused (a shadow-stack entry), kept
    /// for the allocation that needed it.
    pub(crate) refused: Option<GcError>,
}

/// The registered shadow stack's address.
struct ShadowPtr(*const ShadowStack);

// SAFETY: the pointer is only dereferenced inside calls on the heap, and
// a heap is used by one thread at a time (it is not Sync); the caller
// promised at registration that the memory stays valid while registered.
unsafe impl Send for ShadowPtr {}

impl<M: RefMode> Heap<M> {
    /// The geometry inline code works with (see [`FastGeometry`]).
    pub fn fast_geometry(&self) -> FastGeometry {
        let (block_base, block_states, block_count) = self.arena.block_table();
        let align = crate::policy::cell_align::<M>();
        let bump = !M::CHECKED && self.constraints.moves_objects;
        FastGeometry {
            align,
            max_len: if bump {
                crate::policy::block::MAX_SMALL_CELL - header_size::<M>()
            } else {
                0
            },
            block_base,
            block_states,
            block_count,
            young_state: crate::policy::block::COPY,
            barrier: self.constraints.barrier,
            checked: M::CHECKED,
        }
    }

    /// Lends the rest of the copy space's current block to the caller:
    /// `(cursor, limit)`, or `(0, 0)` when nothing is lent (a checked
    /// mode, MarkSweep, zeal, a poisoned heap, no current block). The
    /// caller places objects in `[cursor, limit)` as the module docs say
    /// and gives the buffer back with [`Heap::fast_reclaim`] before any
    /// other call on this heap (a collection forgets a buffer still lent:
    /// what was placed in it is never adopted).
    #[inline]
    pub fn fast_lend(&mut self) -> (u64, u64) {
        if M::CHECKED {
            return (0, 0);
        }
        self.fast_lend_bump()
    }

    /// [`Heap::fast_lend`] in an unchecked mode.
    #[inline(never)]
    fn fast_lend_bump(&mut self) -> (u64, u64) {
        if !self.constraints.moves_objects
            || self.poisoned
            || self.slow
            || self.zeal.opts.collect_every != 0
            || self.fast.lent.is_some()
        {
            return (0, 0);
        }
        let (cursor, end) = self.arena.lend_bump();
        let mut limit = end;
        if !self.constraints.nursery {
            // SemiSpace collects when the bytes in use would pass the
            // trigger: lend no more than what is left before it (the
            // Rust path's pending bytes taken in first, or it would not
            // count them).
            self.stats.fold_young();
            let left = self
                .pacer
                .trigger
                .saturating_sub(self.stats.totals.bytes_in_use);
            limit = limit.min(cursor.saturating_add(left));
        }
        if cursor >= limit {
            self.arena.return_bump(cursor, end);
            return (0, 0);
        }
        self.fast.lent = Some((cursor, limit, end));
        (cursor, limit)
    }

    /// Takes the lent buffer back, the caller's cursor at `cursor`:
    /// checks and adopts every object placed since it was lent (module
    /// docs). Nothing to do when nothing is lent. A cursor outside the
    /// lent range or a header that fails the checks is
    /// [`GcError::FastBuffer`], and poisons the heap.
    #[inline]
    pub fn fast_reclaim(&mut self, cursor: u64) -> Result<(), GcError> {
        match self.fast.lent.take() {
            None => Ok(()),
            Some(lent) => self.fast_adopt(cursor, lent),
        }
    }

    /// [`Heap::fast_reclaim`] of a lent buffer `(start, limit, end)`.
    #[inline(never)]
    fn fast_adopt(
        &mut self,
        cursor: u64,
        (start, limit, end): (u64, u64, u64),
    ) -> Result<(), GcError> {
        let align = crate::policy::cell_align::<M>();
        if cursor < start || cursor > limit || cursor % align != 0 {
            return Err(self.fast_corrupt("the cursor was moved outside the lent buffer"));
        }
        let mut at = start;
        let mut objects = 0u64;
        // The last header seen (as stored: no unpacking) and its cell: a
        // VM allocates runs of one type, so most objects cost one compare
        // here.
        let mut last: Option<(u128, u64)> = None;
        while at < cursor {
            let payload = Address(at + header_size::<M>());
            if at + header_size::<M>() > cursor {
                return Err(self.fast_corrupt("a header runs past the cursor"));
            }
            // SAFETY: the header lies in the lent range, inside a
            // copy-space block of the region.
            let stored =
                unsafe { Header::read_stored_unchecked::<M>(self.arena.region(), payload) };
            let cell = match last {
                Some((ls, lc)) if ls == stored => lc,
                _ => {
                    let Some(c) = self.fast_cell(Header::unstore::<M>(stored)) else {
                        return Err(self
                            .fast_corrupt("a header names no type, or a length its type refuses"));
                    };
                    last = Some((stored, c));
                    c
                }
            };
            if at + cell > cursor {
                return Err(self.fast_corrupt("an object runs past the cursor"));
            }
            // I3: an alloc bit (a live object for the collector and for
            // `import_ref`) only for a header checked above.
            self.arena.adopt_young(payload);
            objects += 1;
            at += cell;
        }
        let bytes = cursor - start;
        let totals = &mut self.stats.totals;
        totals.objects_allocated += objects;
        totals.bytes_in_use += bytes;
        totals.bytes_allocated += bytes;
        self.arena.return_bump(cursor, end);
        Ok(())
    }

    /// The copy-space cell of the object whose header is `h`, if the
    /// header is one the caller may have written: no flags, a registered
    /// type, a length its kind allows, small enough for the copy space.
    #[inline(always)]
    fn fast_cell(&self, h: Header) -> Option<u64> {
        // A fixed-size type's precomputed young cell: its header is the
        // only one an object of that type may have here (one compare).
        if let Some(y) = self
            .types
            .fast_by_index(h.ty())
            .and_then(|f| f.young.as_ref())
        {
            if y.header == h {
                return Some(y.cell);
            }
        }
        self.fast_cell_slow(h)
    }

    /// [`Heap::fast_cell`] for arrays, and every refusal.
    #[inline(never)]
    fn fast_cell_slow(&self, h: Header) -> Option<u64> {
        if h != Header::new(h.ty(), h.len(), false) {
            return None;
        }
        let len = h.len();
        let ok = allows_len::<M>(self.types.by_index(h.ty())?, len);
        let layout = M::payload_layout(len).filter(|_| ok)?;
        let align = crate::policy::cell_align::<M>();
        copy_space::fits(align, layout).then(|| copy_space::cell_size(align, layout))
    }

    /// Poisons the heap for a broken lent buffer; the error to return.
    #[cold]
    fn fast_corrupt(&mut self, why: &'static str) -> GcError {
        self.poison();
        let e = GcError::FastBuffer(why);
        self.zeal.corrupt = Some(e.clone());
        e
    }

    /// Allocates an object of type `ty` with a payload of `len` bytes: a
    /// fixed-size type's own size, or an array's length in bytes (a
    /// multiple of the slot size for a reference array). The fast path's
    /// refill; a safepoint. Another length is [`GcError::BadLength`].
    pub fn alloc_sized(&mut self, ty: crate::TypeId, len: u64) -> Result<ObjRef<M>, GcError> {
        let info = self.types.get(ty)?;
        if !allows_len::<M>(info, len) {
            return Err(GcError::BadLength { ty, len });
        }
        match info.kind {
            ObjectType::RefArray => self.alloc_array(ty, len / M::SLOT_SIZE),
            ObjectType::ByteArray => self.alloc_array(ty, len),
            _ => self.alloc(ty),
        }
    }

    /// Remembers slot `offset` of `obj` if it now holds an old-to-young
    /// reference (the fast path's out-of-line barrier, I9): the slot must
    /// be a reference slot of `obj`'s type.
    pub fn remember(&mut self, obj: &ObjRef<M>, offset: u64) -> Result<(), GcError> {
        let value = self.get_ref(obj, offset)?;
        if self.constraints.barrier && !value.is_null() {
            crate::plan::generational::barrier::post_write(
                &mut self.arena,
                obj.address(),
                offset,
                value.address(),
            );
        }
        Ok(())
    }

    /// Registers `stack` as a shadow stack whose entries are roots at
    /// every collection (module docs); null unregisters.
    ///
    /// # Safety
    /// `stack` is null or valid for reads while registered, and
    /// `stack.refs` valid for reads and writes of `stack.cap` entries;
    /// neither is accessed by anyone else during a call on this heap.
    pub unsafe fn set_shadow_stack(&mut self, stack: *const ShadowStack) {
        self.fast.shadow = (!stack.is_null()).then_some(ShadowPtr(stack));
    }

    /// The registered shadow stack's entries in use, if any: their
    /// address and number.
    fn shadow_entries(&self) -> Result<Option<(*mut ExternRef, usize)>, GcError> {
        let Some(ShadowPtr(p)) = self.fast.shadow else {
            return Ok(None);
        };
        // SAFETY: registration's contract: valid for reads while
        // registered, not accessed by anyone else during this call.
        let s = unsafe { &*p };
        if s.top > s.cap {
            return Err(GcError::IndexOutOfRange {
                index: s.top,
                len: s.cap,
            });
        }
        if s.top != 0 && s.refs.is_null() {
            return Err(GcError::NullReference);
        }
        Ok(Some((s.refs, s.top as usize)))
    }

    /// Before a collection: imports every shadow-stack entry (validated
    /// by `import_ref`: stamped in this epoch, a live object, I3) as a
    /// root. An invalid entry refuses the collection.
    pub(crate) fn shadow_import(&mut self) -> Result<(), GcError> {
        let Some((refs, n)) = self.shadow_entries()? else {
            return Ok(());
        };
        let mut raws = Vec::with_capacity(n);
        for i in 0..n {
            // SAFETY: registration's contract: `refs` is valid for `cap`
            // entries, `i < top <= cap`, and nothing else touches them now.
            let e = unsafe { refs.add(i).read() };
            raws.push(self.import_ref(e)?.raw);
        }
        self.roots.shadow = raws;
        Ok(())
    }

    /// After a collection: writes every shadow-stack root back, exported
    /// in the new epoch at its object's new place (I8).
    pub(crate) fn shadow_export(&mut self) {
        let raws = std::mem::take(&mut self.roots.shadow);
        let Ok(Some((refs, n))) = self.shadow_entries() else {
            return;
        };
        for (i, raw) in raws.into_iter().enumerate().take(n) {
            let e = self
                .export_ref(&self.stamped(raw))
                .unwrap_or(ExternRef::NULL);
            // SAFETY: as in `shadow_import`: `i < top <= cap`.
            unsafe { refs.add(i).write(e) };
        }
    }
}
