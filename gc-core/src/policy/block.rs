//! The block allocator: the heap region cut into 64 KiB blocks, each free,
//! holding cells of one size class, part of a large object, or a
//! copy-space block.
//!
//! Block states live in a side table, so a block's memory is all
//! payload-ready cells. The table (and the dirty flags) is a lazily
//! committed [`ZeroedArray`]: a heap reserved at terabytes costs address
//! space until its blocks are used (0 encodes `Free`).
//!
//! A block handed out again after an evacuation may hold stale, untagged
//! bytes (it is *dirty*); [`Blocks::zero_if_dirty`] zeroes it at hand-out,
//! so zeroing is paid by allocation, not by the pause (I4: zeroed before
//! reuse). Every hand-out path goes through it.

use capability_heap::{Address, RegionError, TaggedRegion, ZeroedArray};

/// Block size.
pub(crate) const BLOCK: u64 = 1 << 16;
/// Largest cell (header + payload) served by size classes and the copy
/// space.
pub(crate) const MAX_SMALL_CELL: u64 = 8192;

/// What a block holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlockState {
    /// Unused.
    Free,
    /// Cells of size class `class`.
    Small {
        /// Index into the size classes.
        class: u16,
    },
    /// The first block of a large object.
    LargeHead,
    /// A later block of a large object.
    LargeTail,
    /// Bump-allocated objects of a copy space (nursery or semispace).
    Copy,
    /// A copy-space block being evacuated by the current collection.
    From,
    /// An evacuated block: untagged, not reused until the next collection
    /// (quarantine), zeroed when next handed out.
    Quarantined,
}

const FREE: u16 = 0;
const LARGE_HEAD: u16 = 1;
const LARGE_TAIL: u16 = 2;
pub(crate) const COPY: u16 = 3;
const FROM: u16 = 4;
const QUARANTINED: u16 = 5;
const SMALL: u16 = 0x8000;

impl BlockState {
    #[inline(always)]
    fn encode(self) -> u16 {
        match self {
            BlockState::Free => FREE,
            BlockState::Small { class } => SMALL | class,
            BlockState::LargeHead => LARGE_HEAD,
            BlockState::LargeTail => LARGE_TAIL,
            BlockState::Copy => COPY,
            BlockState::From => FROM,
            BlockState::Quarantined => QUARANTINED,
        }
    }

    #[inline(always)]
    fn decode(s: u16) -> BlockState {
        match s {
            FREE => BlockState::Free,
            LARGE_HEAD => BlockState::LargeHead,
            LARGE_TAIL => BlockState::LargeTail,
            COPY => BlockState::Copy,
            FROM => BlockState::From,
            QUARANTINED => BlockState::Quarantined,
            s => BlockState::Small { class: s & !SMALL },
        }
    }
}

/// Where an address lies, as the collector's hot paths ask it: one load
/// and a compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Space {
    /// Outside every block in use (free, quarantined, outside the area).
    None,
    /// The mark-sweep space: small cells or a large object.
    Mature,
    /// A copy-space block (the nursery, or a semispace).
    Copy,
    /// A copy-space block being evacuated now.
    From,
}

/// The blocks of the region.
pub(crate) struct Blocks {
    base: u64,
    count: usize,
    state: ZeroedArray<u16>,
    /// Blocks whose bytes may be non-zero (their tags are clear).
    dirty: ZeroedArray<u8>,
    /// Blocks that may be handed out (the heap limit).
    budget: u32,
    in_use: u32,
    /// The most blocks ever in use at once (the peak footprint).
    peak: u32,
    hint: usize,
    /// One past the highest block ever handed out: blocks above it were
    /// never touched (the verifier skips them).
    high_water: usize,
}

impl Blocks {
    pub(crate) fn new(base: Address, region_len: u64, limit: u64) -> Result<Blocks, RegionError> {
        let count = (region_len / BLOCK) as usize;
        let budget = (limit / BLOCK).min(count as u64).min(u64::from(u32::MAX)) as u32;
        Ok(Blocks {
            base: base.get(),
            count,
            state: ZeroedArray::new(count)?,
            dirty: ZeroedArray::new(count)?,
            budget,
            in_use: 0,
            peak: 0,
            hint: 0,
            high_water: 0,
        })
    }

    /// The state table's geometry (`Arena::block_table`).
    pub(crate) fn table(&self) -> (u64, *const u16, u64) {
        (self.base, self.state.as_ptr(), self.count as u64)
    }

    /// Address of block `i`.
    #[inline(always)]
    pub(crate) fn addr(&self, i: usize) -> Address {
        Address(self.base + i as u64 * BLOCK)
    }

    pub(crate) fn state(&self, i: usize) -> BlockState {
        BlockState::decode(self.state[i])
    }

    /// One past the highest block ever used.
    pub(crate) fn high_water(&self) -> usize {
        self.high_water
    }

    /// Blocks in use.
    pub(crate) fn in_use(&self) -> u32 {
        self.in_use
    }

    /// The most blocks in use at once so far.
    pub(crate) fn peak(&self) -> u32 {
        self.peak
    }

    /// Sets the state of a block in use (not to or from `Free`).
    pub(crate) fn set_state(&mut self, i: usize, s: BlockState) {
        debug_assert!(self.state[i] != FREE && s != BlockState::Free);
        self.state[i] = s.encode();
    }

    /// The block holding `addr`, if inside the block area.
    #[inline(always)]
    pub(crate) fn index_of(&self, addr: Address) -> Option<usize> {
        let i = (addr.get().wrapping_sub(self.base) / BLOCK) as usize;
        (i < self.count).then_some(i)
    }

    /// The state of the block holding `addr` (`Free` outside the area).
    #[inline(always)]
    pub(crate) fn state_at(&self, addr: Address) -> BlockState {
        self.index_of(addr)
            .map_or(BlockState::Free, |i| BlockState::decode(self.state[i]))
    }

    /// The space `addr` lies in.
    #[inline(always)]
    pub(crate) fn space_at(&self, addr: Address) -> Space {
        let Some(i) = self.index_of(addr) else {
            return Space::None;
        };
        match self.state[i] {
            COPY => Space::Copy,
            FROM => Space::From,
            LARGE_HEAD | LARGE_TAIL => Space::Mature,
            s if s & SMALL != 0 => Space::Mature,
            _ => Space::None,
        }
    }

    /// True when `addr` lies in a from-space block (what a minor
    /// collection forwards): one load and a compare.
    #[inline(always)]
    pub(crate) fn is_from(&self, addr: Address) -> bool {
        self.state_is(addr, FROM)
    }

    /// True when `addr` lies in a block whose raw state is `s`. `state`
    /// has `count` entries, so its own bounds test is the range test.
    #[inline(always)]
    fn state_is(&self, addr: Address, s: u16) -> bool {
        let i = (addr.get().wrapping_sub(self.base) / BLOCK) as usize;
        self.state.get(i) == Some(&s)
    }

    /// True when `addr` lies in a copy-space block.
    #[inline(always)]
    pub(crate) fn is_copy(&self, addr: Address) -> bool {
        self.state_is(addr, COPY)
    }

    /// One free block, in state `s`.
    pub(crate) fn alloc_block(&mut self, s: BlockState) -> Option<usize> {
        if self.in_use >= self.budget {
            return None;
        }
        let hint = self.hint.min(self.count);
        let i = (hint..self.count)
            .chain(0..hint)
            .find(|&i| self.state[i] == FREE)?;
        self.state[i] = s.encode();
        self.in_use += 1;
        self.peak = self.peak.max(self.in_use);
        self.hint = i + 1;
        self.high_water = self.high_water.max(i + 1);
        Some(i)
    }

    /// `n` contiguous free blocks whose first block's address satisfies
    /// `fits` (alignment), as a large object.
    pub(crate) fn alloc_large(
        &mut self,
        n: usize,
        fits: impl Fn(Address) -> bool,
    ) -> Option<usize> {
        if n == 0 || self.in_use as usize + n > self.budget as usize {
            return None;
        }
        let mut run = 0;
        let mut i = 0;
        while i < self.count {
            if self.state[i] != FREE {
                run = 0;
                i += 1;
                continue;
            }
            if run == 0 && !fits(self.addr(i)) {
                i += 1;
                continue;
            }
            run += 1;
            if run == n {
                let first = i + 1 - n;
                self.state[first] = LARGE_HEAD;
                for s in &mut self.state[first + 1..=i] {
                    *s = LARGE_TAIL;
                }
                self.in_use += n as u32;
                self.peak = self.peak.max(self.in_use);
                self.high_water = self.high_water.max(i + 1);
                return Some(first);
            }
            i += 1;
        }
        None
    }

    /// Marks block `i` as holding stale bytes (its tags are clear).
    pub(crate) fn set_dirty(&mut self, i: usize) {
        self.dirty[i] = 1;
    }

    /// Zeroes block `i` if it may hold stale bytes (I4: zeroed before
    /// reuse); every block is handed out through this.
    pub(crate) fn zero_if_dirty(&mut self, i: usize, region: &mut TaggedRegion) {
        if std::mem::replace(&mut self.dirty[i], 0) != 0 {
            let _ = region.zero(self.addr(i), BLOCK);
        }
    }

    /// True when block `i` may hold stale (untagged) bytes.
    pub(crate) fn is_dirty(&self, i: usize) -> bool {
        self.dirty[i] != 0
    }

    /// Returns blocks `[first, first + n)` to the free pool. The caller has
    /// zeroed them and cleared their tags, or marked them dirty (I4).
    pub(crate) fn free(&mut self, first: usize, n: usize) {
        for s in &mut self.state[first..first + n] {
            debug_assert_ne!(*s, FREE);
            *s = FREE;
        }
        self.in_use -= n as u32;
        self.hint = self.hint.min(first);
    }
}

/// Zeal's `poison`: fills `[at, at + len)` with [`crate::Zeal::POISON`]
/// bytes, as data (clearing any tag there, I6). The caller marks the
/// memory dirty or zeroes it before reuse (I4).
pub(crate) fn poison(region: &mut TaggedRegion, at: Address, len: u64) {
    const CHUNK: [u8; 4096] = [crate::Zeal::POISON; 4096];
    let mut off = 0;
    while off < len {
        let n = (len - off).min(CHUNK.len() as u64);
        let _ = region.write_bytes(at.add(off), &CHUNK[..n as usize]);
        off += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(count: u64, limit_blocks: u64) -> Blocks {
        Blocks::new(Address(0x100_0000), count * BLOCK, limit_blocks * BLOCK).unwrap()
    }

    #[test]
    fn states_round_trip_through_the_table() {
        let mut b = blocks(8, 8);
        let i = b.alloc_block(BlockState::Small { class: 77 }).unwrap();
        assert_eq!(b.state(i), BlockState::Small { class: 77 });
        assert_eq!(b.space_at(b.addr(i).add(100)), Space::Mature);
        for s in [
            BlockState::Copy,
            BlockState::From,
            BlockState::Quarantined,
            BlockState::LargeHead,
        ] {
            b.set_state(i, s);
            assert_eq!(b.state(i), s);
        }
        assert_eq!(b.space_at(Address(0x10)), Space::None, "outside the area");
    }

    #[test]
    fn large_runs_respect_budget_and_alignment() {
        let mut b = blocks(16, 8);
        let first = b.alloc_large(3, |a| a.get() % (4 * BLOCK) == 0).unwrap();
        assert_eq!(b.addr(first).get() % (4 * BLOCK), 0);
        assert_eq!(b.in_use(), 3);
        assert!(b.alloc_large(6, |_| true).is_none(), "over budget");
        b.free(first, 3);
        assert_eq!(b.in_use(), 0);
        assert!(b.alloc_block(BlockState::Copy).is_some());
    }

    #[test]
    fn a_terabyte_table_is_reserved_not_committed() {
        // 2^40 bytes of blocks: 16 Mi entries, mapped lazily.
        let b = Blocks::new(Address(1 << 40), 1 << 40, 1 << 40).unwrap();
        assert_eq!(b.state(b.count - 1), BlockState::Free);
    }
}
