//! The inputs of the model targets and how each is run.

use arbitrary::Arbitrary;
use capability_heap::{CheriV9, Morello, Native, RefMode, RiscvStd, SoftCheri, P128};
use capgc_model::{cap, compartments, decode, heap};
use gc_core::{Plan, ScanStrategy};

/// The most capability operations a case runs.
pub const MAX_CAP_OPS: usize = 64;

/// `capability_ops`: one derivation sequence, run in every format.
#[derive(Arbitrary, Debug)]
pub struct CapCase {
    /// The operations, from the region's authority.
    pub ops: Vec<cap::Op>,
}

/// Runs a [`CapCase`] in Morello, CHERI-RISC-V v9 and the RISC-V standard.
pub fn run_cap(case: &CapCase) {
    let ops = &case.ops[..case.ops.len().min(MAX_CAP_OPS)];
    cap::run::<Morello>(ops);
    cap::run::<CheriV9>(ops);
    cap::run::<RiscvStd>(ops);
}

/// `decode`: 128-bit patterns `(metadata word, address)`.
#[derive(Arbitrary, Debug)]
pub struct DecodeCase {
    /// The patterns.
    pub patterns: Vec<(u64, u64)>,
}

/// Checks every pattern of a [`DecodeCase`] in all three formats, and
/// each with its address moved into its own bounds (where re-encoding is
/// compared).
pub fn run_decode(case: &DecodeCase) {
    for &(pesbt, cursor) in case.patterns.iter().take(256) {
        each_format(pesbt, cursor);
    }
}

fn each_format(pesbt: u64, cursor: u64) {
    fn one<F: capability_heap::Format>(pesbt: u64, cursor: u64) {
        decode::check::<F>(pesbt, cursor);
        let (base, _) = F::bounds(pesbt, cursor);
        decode::check::<F>(pesbt, base);
    }
    one::<Morello>(pesbt, cursor);
    one::<CheriV9>(pesbt, cursor);
    one::<RiscvStd>(pesbt, cursor);
}

/// A reference mode, chosen by the input.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// 8-byte addresses, unchecked.
    Native,
    /// 16-byte addresses, unchecked.
    P128,
    /// SoftCheri, Morello format.
    Morello,
    /// SoftCheri, CHERI-RISC-V v9 format.
    CheriV9,
    /// SoftCheri, RISC-V standard format.
    RiscvStd,
}

impl Mode {
    /// Whether the mode checks capabilities.
    pub fn checked(self) -> bool {
        !matches!(self, Mode::Native | Mode::P128)
    }
}

/// A plan, chosen by the input.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanSel {
    /// Non-moving mark-sweep.
    MarkSweep,
    /// Copying semispaces.
    SemiSpace,
    /// Nursery and mature space.
    Generational,
}

impl From<PlanSel> for Plan {
    fn from(p: PlanSel) -> Plan {
        match p {
            PlanSel::MarkSweep => Plan::MarkSweep,
            PlanSel::SemiSpace => Plan::SemiSpace,
            PlanSel::Generational => Plan::Generational,
        }
    }
}

/// `heap_ops`: a sequence of heap operations, or of split-heap
/// operations, in one mode and plan.
#[derive(Arbitrary, Debug)]
pub enum HeapCase {
    /// One heap against `capgc_model::heap`.
    Heap {
        /// The mode.
        mode: Mode,
        /// The plan.
        plan: PlanSel,
        /// Scan by tag (SoftCheri only; the unchecked modes scan by type
        /// map whatever this says).
        by_tag: bool,
        /// The operations (at most [`heap::MAX_OPS`] are run).
        ops: Vec<heap::Op>,
    },
    /// A split heap against `capgc_model::compartments`.
    Split {
        /// The mode.
        mode: Mode,
        /// The plan of every compartment.
        plan: PlanSel,
        /// Scan by tag (SoftCheri only).
        by_tag: bool,
        /// 2 + this mod 3 compartments.
        n: u8,
        /// The operations (at most [`heap::MAX_OPS`] are run).
        ops: Vec<compartments::Op>,
    },
}

fn scan(mode: Mode, by_tag: bool) -> ScanStrategy {
    if by_tag && mode.checked() {
        ScanStrategy::Tags
    } else {
        ScanStrategy::TypeMap
    }
}

fn heap_in<M: RefMode>(plan: PlanSel, scan: ScanStrategy, ops: &[heap::Op]) {
    heap::run_plan::<M>(ops, scan, plan.into());
}

fn split_in<M: RefMode>(plan: PlanSel, scan: ScanStrategy, n: usize, ops: &[compartments::Op]) {
    compartments::run_plan::<M>(plan.into(), scan, n, ops);
}

/// Runs a [`HeapCase`] against its model.
pub fn run_heap(case: &HeapCase) {
    match case {
        HeapCase::Heap {
            mode,
            plan,
            by_tag,
            ops,
        } => {
            let ops = &ops[..ops.len().min(heap::MAX_OPS)];
            let s = scan(*mode, *by_tag);
            match mode {
                Mode::Native => heap_in::<Native>(*plan, s, ops),
                Mode::P128 => heap_in::<P128>(*plan, s, ops),
                Mode::Morello => heap_in::<SoftCheri<Morello>>(*plan, s, ops),
                Mode::CheriV9 => heap_in::<SoftCheri<CheriV9>>(*plan, s, ops),
                Mode::RiscvStd => heap_in::<SoftCheri<RiscvStd>>(*plan, s, ops),
            }
        }
        HeapCase::Split {
            mode,
            plan,
            by_tag,
            n,
            ops,
        } => {
            let ops = &ops[..ops.len().min(heap::MAX_OPS)];
            let s = scan(*mode, *by_tag);
            let n = 2 + usize::from(*n % 3);
            match mode {
                Mode::Native => split_in::<Native>(*plan, s, n, ops),
                Mode::P128 => split_in::<P128>(*plan, s, n, ops),
                Mode::Morello => split_in::<SoftCheri<Morello>>(*plan, s, n, ops),
                Mode::CheriV9 => split_in::<SoftCheri<CheriV9>>(*plan, s, n, ops),
                Mode::RiscvStd => split_in::<SoftCheri<RiscvStd>>(*plan, s, n, ops),
            }
        }
    }
}
