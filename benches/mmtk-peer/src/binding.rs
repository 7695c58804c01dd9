//! The VM binding: what MMTk asks of a VM, for a VM of one mutator
//! thread whose roots are a shadow stack ([`crate::mutator`]) and whose
//! objects are laid out as [`crate::object`] says.
//!
//! Modelled on mmtk-core's own dummy VM and mock VM bindings: the
//! `VMBinding` type names the five parts — [`ObjectModel`] (the header
//! and the metadata specs, copying), [`Scanning`] (an object's two
//! slots, the shadow stack as the mutator's roots), [`Collection`]
//! (stop-the-world with one mutator, GC worker threads as `std`
//! threads), [`ActivePlan`] (the one mutator) and [`ReferenceGlue`]
//! (no weak references: never called).
//!
//! *Stop-the-world.* The mutator only reaches a collection from an
//! allocation: MMTk then calls [`Collection::block_for_gc`] on the
//! mutator's thread, which says "stopped" and waits for the collection's
//! epoch to end. A worker's [`Collection::stop_all_mutators`] waits for
//! that "stopped" before it hands the mutator to MMTk, so the shadow
//! stack and the allocators are never read while the mutator runs;
//! [`Collection::resume_mutators`] ends the epoch. MMTk is one instance
//! per process ([`mmtk()`]), as its design requires; this binary runs one
//! workload under one plan and exits.

use mmtk::util::alloc::AllocationError;
use mmtk::util::copy::{CopySemantics, GCWorkerCopyContext};
use mmtk::util::opaque_pointer::{OpaquePointer, VMMutatorThread, VMThread, VMWorkerThread};
use mmtk::util::{Address, ObjectReference};
use mmtk::vm::slot::{SimpleSlot, UnimplementedMemorySlice};
use mmtk::vm::{
    ActivePlan, Collection, GCThreadContext, ObjectModel, ReferenceGlue, RootsWorkFactory,
    Scanning, SlotVisitor, VMBinding,
};
use mmtk::vm::{
    VMGlobalLogBitSpec, VMLocalForwardingBitsSpec, VMLocalForwardingPointerSpec,
    VMLocalLOSMarkNurserySpec, VMLocalMarkBitSpec,
};
use mmtk::{Mutator, MMTK};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

use crate::object;

/// The peer VM (a type only: its state is in this module's statics).
#[derive(Default)]
pub struct PeerVM;

impl VMBinding for PeerVM {
    type VMObjectModel = PeerVM;
    type VMScanning = PeerVM;
    type VMCollection = PeerVM;
    type VMActivePlan = PeerVM;
    type VMReferenceGlue = PeerVM;
    type VMSlot = SimpleSlot;
    type VMMemorySlice = UnimplementedMemorySlice;
    const MAX_ALIGNMENT: usize = 8;
}

/// The MMTk instance, once [`set_mmtk`] has made it.
static MMTK_INSTANCE: OnceLock<&'static MMTK<PeerVM>> = OnceLock::new();

/// Makes `m` the process's MMTk instance (once).
pub fn set_mmtk(m: Box<MMTK<PeerVM>>) -> &'static MMTK<PeerVM> {
    let m: &'static MMTK<PeerVM> = Box::leak(m);
    assert!(
        MMTK_INSTANCE.set(m).is_ok(),
        "one MMTk instance per process"
    );
    m
}

/// The process's MMTk instance.
pub fn mmtk() -> &'static MMTK<PeerVM> {
    MMTK_INSTANCE.get().expect("MMTk initialised")
}

/// The one mutator (set once by [`crate::mutator::Peer::new`], never freed).
static MUTATOR: AtomicPtr<Mutator<PeerVM>> = AtomicPtr::new(std::ptr::null_mut());
/// Its shadow stack's start, and the number of words in use as of the
/// last allocation that may collect: read by the workers only while the
/// mutator is stopped (the handshake's mutex orders the accesses).
static ROOTS_START: AtomicUsize = AtomicUsize::new(0);
static ROOTS_DEPTH: AtomicUsize = AtomicUsize::new(0);

/// Records the mutator (leaked for the process's life) and its shadow
/// stack's start.
pub fn set_mutator(m: *mut Mutator<PeerVM>, stack: Address) {
    MUTATOR.store(m, Ordering::Release);
    ROOTS_START.store(stack.as_usize(), Ordering::Relaxed);
}

/// Publishes the shadow stack's depth before an allocation that may
/// collect (one store; the fast path, which cannot, skips it).
#[inline(always)]
pub fn set_roots_depth(depth: usize) {
    ROOTS_DEPTH.store(depth, Ordering::Relaxed);
}

/// The stop-the-world handshake: whether the mutator is stopped, and the
/// number of collections ended.
static WORLD: Mutex<(bool, u64)> = Mutex::new((false, 0));
static WORLD_CHANGED: Condvar = Condvar::new();

/// Collections so far (each ends with `resume_mutators`).
pub fn collections() -> u64 {
    WORLD.lock().expect("world").1
}

/// The mutator thread's `tls` (any nonzero token: there is one).
pub fn mutator_tls() -> VMMutatorThread {
    VMMutatorThread(VMThread(OpaquePointer::from_address(
        // SAFETY: a token only, never dereferenced.
        unsafe { Address::from_usize(1) },
    )))
}

impl ObjectModel<PeerVM> for PeerVM {
    const GLOBAL_LOG_BIT_SPEC: VMGlobalLogBitSpec = VMGlobalLogBitSpec::side_first();
    const LOCAL_FORWARDING_POINTER_SPEC: VMLocalForwardingPointerSpec =
        VMLocalForwardingPointerSpec::in_header(0);
    const LOCAL_FORWARDING_BITS_SPEC: VMLocalForwardingBitsSpec =
        VMLocalForwardingBitsSpec::in_header(0);
    const LOCAL_MARK_BIT_SPEC: VMLocalMarkBitSpec = VMLocalMarkBitSpec::side_first();
    const LOCAL_LOS_MARK_NURSERY_SPEC: VMLocalLOSMarkNurserySpec =
        VMLocalLOSMarkNurserySpec::side_after(Self::LOCAL_MARK_BIT_SPEC.as_spec());
    const OBJECT_REF_OFFSET_LOWER_BOUND: isize = 0;
    const UNIFIED_OBJECT_REFERENCE_ADDRESS: bool = true;

    fn copy(
        from: ObjectReference,
        semantics: CopySemantics,
        copy_context: &mut GCWorkerCopyContext<PeerVM>,
    ) -> ObjectReference {
        let size = object::size_of(from);
        let to = copy_context.alloc_copy(from, size, 8, 0, semantics);
        // SAFETY: `to` is `size` fresh bytes from the copy allocator.
        unsafe { object::copy(from, to, size) };
        let to = ObjectReference::from_raw_address(to).expect("copies are never at 0");
        copy_context.post_copy(to, size, semantics);
        to
    }

    fn copy_to(from: ObjectReference, to: ObjectReference, region: Address) -> Address {
        // Only MarkCompact calls this; the peer does not run it, but the
        // answer is simple: slide the object to `to`.
        let size = object::size_of(from);
        if from != to {
            // SAFETY: MarkCompact hands out `size` bytes at `to`; the
            // ranges may overlap when it slides, hence `copy`.
            unsafe {
                std::ptr::copy(
                    from.to_raw_address().to_ptr::<u8>(),
                    to.to_raw_address().to_mut_ptr::<u8>(),
                    size,
                )
            };
        }
        let end = to.to_raw_address() + size;
        if region.is_zero() {
            end
        } else {
            region.max(end)
        }
    }

    fn get_reference_when_copied_to(_from: ObjectReference, to: Address) -> ObjectReference {
        ObjectReference::from_raw_address(to).expect("copies are never at 0")
    }

    fn get_current_size(object: ObjectReference) -> usize {
        object::size_of(object)
    }

    fn get_size_when_copied(object: ObjectReference) -> usize {
        object::size_of(object)
    }

    fn get_align_when_copied(_object: ObjectReference) -> usize {
        8
    }

    fn get_align_offset_when_copied(_object: ObjectReference) -> usize {
        0
    }

    fn get_type_descriptor(_reference: ObjectReference) -> &'static [i8] {
        &[]
    }

    fn ref_to_object_start(object: ObjectReference) -> Address {
        object.to_raw_address()
    }

    fn ref_to_header(object: ObjectReference) -> Address {
        object.to_raw_address()
    }

    fn dump_object(object: ObjectReference) {
        eprintln!(
            "object {object}: {} bytes, refs: {}",
            object::size_of(object),
            object::has_refs(object)
        );
    }
}

impl Scanning<PeerVM> for PeerVM {
    fn scan_object<SV: SlotVisitor<SimpleSlot>>(
        _tls: VMWorkerThread,
        object: ObjectReference,
        slot_visitor: &mut SV,
    ) {
        if object::has_refs(object) {
            for i in 0..2 {
                slot_visitor.visit_slot(SimpleSlot::from_address(object::slot(object, i)));
            }
        }
    }

    fn notify_initial_thread_scan_complete(_partial_scan: bool, _tls: VMWorkerThread) {}

    fn scan_roots_in_mutator_thread(
        _tls: VMWorkerThread,
        _mutator: &'static mut Mutator<PeerVM>,
        mut factory: impl RootsWorkFactory<SimpleSlot>,
    ) {
        // The mutator is stopped (`stop_all_mutators`): its shadow stack
        // does not change under us. Every word in use is a slot; the
        // null ones (0) are skipped by MMTk when it loads them.
        let start = ROOTS_START.load(Ordering::Relaxed);
        let depth = ROOTS_DEPTH.load(Ordering::Relaxed);
        let slots = (0..depth)
            .map(|i| {
                // SAFETY: a word of the shadow stack (start + 8 i, i < depth).
                SimpleSlot::from_address(unsafe { Address::from_usize(start + 8 * i) })
            })
            .collect();
        factory.create_process_roots_work(slots);
    }

    fn scan_vm_specific_roots(_tls: VMWorkerThread, _factory: impl RootsWorkFactory<SimpleSlot>) {}

    fn supports_return_barrier() -> bool {
        false
    }

    fn prepare_for_roots_re_scanning() {}
}

impl Collection<PeerVM> for PeerVM {
    fn stop_all_mutators<F>(_tls: VMWorkerThread, mut mutator_visitor: F)
    where
        F: FnMut(&'static mut Mutator<PeerVM>),
    {
        let mut w = WORLD.lock().expect("world");
        while !w.0 {
            w = WORLD_CHANGED.wait(w).expect("world");
        }
        drop(w);
        mutator_visitor(<PeerVM as ActivePlan<PeerVM>>::mutator(mutator_tls()));
    }

    fn resume_mutators(_tls: VMWorkerThread) {
        let mut w = WORLD.lock().expect("world");
        w.1 += 1;
        WORLD_CHANGED.notify_all();
    }

    fn block_for_gc(_tls: VMMutatorThread) {
        let mut w = WORLD.lock().expect("world");
        let epoch = w.1;
        w.0 = true;
        WORLD_CHANGED.notify_all();
        while w.1 == epoch {
            w = WORLD_CHANGED.wait(w).expect("world");
        }
        w.0 = false;
    }

    fn spawn_gc_thread(_tls: VMThread, ctx: GCThreadContext<PeerVM>) {
        let GCThreadContext::Worker(worker) = ctx;
        std::thread::Builder::new()
            .name("mmtk-worker".into())
            .spawn(move || {
                let tls = VMWorkerThread(VMThread(OpaquePointer::UNINITIALIZED));
                worker.run(tls, mmtk());
            })
            .expect("a GC worker thread");
    }

    fn out_of_memory(_tls: VMThread, err_kind: AllocationError) {
        eprintln!("mmtk-peer: out of memory ({err_kind:?})");
        std::process::exit(1);
    }
}

impl ActivePlan<PeerVM> for PeerVM {
    fn is_mutator(tls: VMThread) -> bool {
        tls == mutator_tls().0
    }

    fn mutator(_tls: VMMutatorThread) -> &'static mut Mutator<PeerVM> {
        let m = MUTATOR.load(Ordering::Acquire);
        assert!(!m.is_null(), "the mutator is bound");
        // SAFETY: the mutator is leaked, so lives for the process; MMTk
        // asks for it on a worker only while the mutator thread is
        // stopped in `block_for_gc`, or on the mutator thread itself, so
        // the two never use it at once.
        unsafe { &mut *m }
    }

    fn mutators<'a>() -> Box<dyn Iterator<Item = &'a mut Mutator<PeerVM>> + 'a> {
        Box::new(std::iter::once(Self::mutator(mutator_tls())))
    }

    fn number_of_mutators() -> usize {
        1
    }
}

impl ReferenceGlue<PeerVM> for PeerVM {
    type FinalizableType = ObjectReference;

    fn clear_referent(_new_reference: ObjectReference) {
        unreachable!("the peer has no weak references")
    }

    fn get_referent(_object: ObjectReference) -> Option<ObjectReference> {
        unreachable!("the peer has no weak references")
    }

    fn set_referent(_reff: ObjectReference, _referent: ObjectReference) {
        unreachable!("the peer has no weak references")
    }

    fn enqueue_references(_references: &[ObjectReference], _tls: VMWorkerThread) {}
}
