//! The mutator's side of the binding: what a VM's interpreter or JIT
//! does on MMTk — allocation with MMTk's bump-pointer fast path inlined,
//! the write barrier its plan asks for, references kept across an
//! allocation in a shadow stack (the roots).
//!
//! *The fast path.* For a plan whose default allocator is a bump
//! pointer (GenImmix, Immix, SemiSpace: `AllocatorInfo::BumpPointer`),
//! an allocation is the cursor's bump against its limit in the
//! mutator's own `BumpPointer`, found at the offset MMTk gives for JITs;
//! past the limit, `memory_manager::alloc_slow`. `post_alloc` is skipped
//! on that path because these spaces' `initialize_object_metadata` is
//! empty without the `vo_bit` feature (MMTk's OpenJDK binding skips it
//! the same way in compiled code); everything else — MarkSweep's free
//! lists, the large-object space — goes through `memory_manager::alloc`
//! and `post_alloc`. No allocation happens between the fast path's bump
//! and the header's initialisation, so no collection sees a half-made
//! object.
//!
//! *Roots.* A reference held across an allocation is a shadow-stack
//! slot; its depth is published to the binding before any call that may
//! collect, and MMTk updates the slots when it moves their objects.
//! Plain `ObjectReference`s are used only between allocations.

use mmtk::util::alloc::{AllocatorInfo, BumpPointer};
use mmtk::util::{Address, ObjectReference};
use mmtk::{memory_manager, AllocationSemantics, Mutator};

use crate::binding::{self, PeerVM};
use crate::object;

/// Shadow-stack slots (the deepest workload needs about 2 per tree level).
const STACK_SLOTS: usize = 4096;

/// The mutator: MMTk's per-thread state and the shadow stack.
pub struct Peer {
    /// MMTk's mutator, leaked: the binding hands it to MMTk's workers
    /// while this thread is stopped, so it is held as a pointer and
    /// borrowed only for each call ([`Peer::m`]).
    mutator: *mut Mutator<PeerVM>,
    /// The bump pointer's offset in `Mutator`, if the plan's default
    /// allocator has one.
    bump: Option<usize>,
    /// Whether the plan has a write barrier (the generational plans).
    barrier: bool,
    /// Objects larger than this go to the large-object space.
    max_small: usize,
    stack: Box<[usize; STACK_SLOTS]>,
    sp: usize,
}

impl Peer {
    /// Binds the one mutator of this process to MMTk.
    pub fn new() -> Peer {
        let mmtk = binding::mmtk();
        let mutator = Box::into_raw(memory_manager::bind_mutator(mmtk, binding::mutator_tls()));
        let selector = memory_manager::get_allocator_mapping(mmtk, AllocationSemantics::Default);
        let bump = match AllocatorInfo::new::<PeerVM>(selector) {
            AllocatorInfo::BumpPointer {
                bump_pointer_offset,
            } => Some(bump_pointer_offset),
            _ => None,
        };
        let constraints = mmtk.get_plan().constraints();
        let barrier = constraints.barrier != mmtk::plan::BarrierSelector::NoBarrier;
        let max_small = constraints.max_non_los_default_alloc_bytes;
        let stack = Box::new([0usize; STACK_SLOTS]);
        let peer = Peer {
            mutator,
            bump,
            barrier,
            max_small,
            stack,
            sp: 0,
        };
        binding::set_mutator(mutator, Address::from_ptr(peer.stack.as_ptr()));
        peer
    }

    /// MMTk's mutator, for one call.
    #[inline(always)]
    fn m(&mut self) -> &mut Mutator<PeerVM> {
        // SAFETY: leaked, so alive for the process; while this thread
        // runs, no worker uses it (the binding hands it out only while
        // this thread is stopped in `block_for_gc`, inside such a call).
        unsafe { &mut *self.mutator }
    }

    /// A new object of `size` bytes (header included, a multiple of 8)
    /// with two null reference slots or none: MMTk's allocation, then the
    /// header. May collect (the shadow stack is the roots).
    #[inline(always)]
    fn alloc(&mut self, size: usize, refs: bool) -> ObjectReference {
        if size <= self.max_small {
            if let Some(offset) = self.bump {
                // SAFETY: MMTk says the plan's default allocator keeps its
                // BumpPointer at `offset` bytes into the Mutator.
                let bp =
                    unsafe { &mut *(self.mutator.cast::<u8>().add(offset).cast::<BumpPointer>()) };
                let start = bp.cursor;
                let end = start + size;
                if end <= bp.limit {
                    bp.cursor = end;
                    // SAFETY: [start, end) is ours from the bump pointer.
                    return unsafe { object::init(start, size, refs) };
                }
                binding::set_roots_depth(self.sp);
                let start =
                    memory_manager::alloc_slow(self.m(), size, 8, 0, AllocationSemantics::Default);
                return self.finish(start, size, refs, AllocationSemantics::Default);
            }
        }
        let semantics = if size <= self.max_small {
            AllocationSemantics::Default
        } else {
            AllocationSemantics::Los
        };
        binding::set_roots_depth(self.sp);
        let start = memory_manager::alloc(self.m(), size, 8, 0, semantics);
        self.finish(start, size, refs, semantics)
    }

    /// The header and `post_alloc` of an object from a slow path.
    fn finish(
        &mut self,
        start: Address,
        size: usize,
        refs: bool,
        semantics: AllocationSemantics,
    ) -> ObjectReference {
        // SAFETY: `start` is `size` bytes MMTk has just allocated.
        let o = unsafe { object::init(start, size, refs) };
        memory_manager::post_alloc(self.m(), o, size, semantics);
        o
    }

    /// Pushes a new object with two null reference slots and
    /// `payload` plain bytes after them.
    pub fn push_node(&mut self, payload: usize) {
        let o = self.alloc(object::slot_offset(2) + payload, true);
        self.push(o);
    }

    /// Pushes a new object of `bytes` plain bytes (no references).
    pub fn push_data(&mut self, bytes: usize) {
        let o = self.alloc(object::HEADER + bytes.next_multiple_of(8), false);
        self.push(o);
    }

    /// Pushes a new node whose children are the two objects on top,
    /// popped (left below right): the bottom-up construction. No barrier:
    /// the node is the newest object, and no allocation comes between
    /// its birth and these initialising stores.
    pub fn push_node_of_top_two(&mut self, payload: usize) {
        let o = self.alloc(object::slot_offset(2) + payload, true);
        let (l, r) = (self.at(self.sp - 2), self.at(self.sp - 1));
        object::store_ref(o, 0, l);
        object::store_ref(o, 1, r);
        self.pop();
        self.pop();
        self.push(o);
    }

    /// Node `i`'s child `which` := a new node with null children and
    /// `payload` bytes (the top-down construction), with the write
    /// barrier the plan needs: the node may be old by now.
    pub fn give_child(&mut self, i: usize, which: usize, payload: usize) {
        let c = self.alloc(object::slot_offset(2) + payload, true);
        let n = self.at(i).expect("a node");
        object::store_ref(n, which, Some(c));
        if self.barrier {
            memory_manager::object_reference_write_post(
                self.m(),
                n,
                mmtk::vm::slot::SimpleSlot::from_address(object::slot(n, which)),
                Some(c),
            );
        }
    }

    /// Pushes node `i`'s child `which`.
    pub fn push_child(&mut self, i: usize, which: usize) {
        let c = object::load_ref(self.at(i).expect("a node"), which);
        self.push_raw(c);
    }

    /// The object at shadow-stack index `i` (valid until the next
    /// allocation).
    pub fn at(&self, i: usize) -> Option<ObjectReference> {
        let raw = self.stack[i];
        // SAFETY: a nonzero stack slot holds an object reference (MMTk
        // keeps it current across collections).
        (raw != 0).then(|| unsafe {
            ObjectReference::from_raw_address_unchecked(Address::from_usize(raw))
        })
    }

    /// The shadow stack's depth.
    pub fn sp(&self) -> usize {
        self.sp
    }

    fn push(&mut self, o: ObjectReference) {
        self.push_raw(Some(o));
    }

    fn push_raw(&mut self, o: Option<ObjectReference>) {
        assert!(self.sp < STACK_SLOTS, "shadow stack overflow");
        self.stack[self.sp] = o.map_or(0, |o| o.to_raw_address().as_usize());
        self.sp += 1;
    }

    /// Pops the top slot (the object, if nothing else refers to it, is
    /// garbage).
    pub fn pop(&mut self) {
        self.sp -= 1;
        self.stack[self.sp] = 0;
    }
}
