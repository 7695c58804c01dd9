//! Seed inputs written as values and encoded into the bytes `arbitrary`
//! decodes them from (arbitrary 1.5: integers little-endian, `bool` one
//! byte, `Option` a `bool` then the value, a `Vec` each element after a
//! `true` byte and a `false` byte at the end, an enum's variant a `u32`
//! `v` read as `(v * variants) >> 32`). `examples/make_seeds.rs` writes
//! the seeds of `fuzz/seeds/`; [`check`] proves each decodes back to the
//! value it was written from, so the encoder cannot drift from the
//! decoder unnoticed.

use crate::c_abi::calls::TyPick;
use crate::c_abi::split::{CPick, SealPick, SplitCall};
use crate::c_abi::{Call, FastCall, Input, RawConfig, RefPick, TokPick};
use crate::cases::{CapCase, DecodeCase, HeapCase, Mode, PlanSel};
use arbitrary::{Arbitrary, Unstructured};
use capgc_model::compartments::{Dest, Op as SOp};
use capgc_model::{cap, heap};

/// Bytes being written.
#[derive(Default)]
pub struct Seed(pub Vec<u8>);

impl Seed {
    /// Variant `i` of an enum of `n`.
    pub fn variant(&mut self, i: u64, n: u64) {
        let v = (i << 32).div_ceil(n);
        self.0.extend_from_slice(&(v as u32).to_le_bytes());
    }
}

/// A value `arbitrary` can decode, written as the bytes it decodes from.
pub trait Enc {
    /// Appends the bytes of `self`.
    fn enc(&self, s: &mut Seed);
}

macro_rules! enc_int {
    ($($t:ty),*) => {$(
        impl Enc for $t {
            fn enc(&self, s: &mut Seed) {
                s.0.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
enc_int!(u8, u16, u32, u64, i64);

impl Enc for usize {
    fn enc(&self, s: &mut Seed) {
        (*self as u64).enc(s);
    }
}

impl Enc for bool {
    fn enc(&self, s: &mut Seed) {
        s.0.push(u8::from(*self));
    }
}

impl Enc for f64 {
    fn enc(&self, s: &mut Seed) {
        self.to_bits().enc(s);
    }
}

impl<T: Enc> Enc for Option<T> {
    fn enc(&self, s: &mut Seed) {
        self.is_some().enc(s);
        if let Some(v) = self {
            v.enc(s);
        }
    }
}

impl<T: Enc, const N: usize> Enc for [T; N] {
    fn enc(&self, s: &mut Seed) {
        for v in self {
            v.enc(s);
        }
    }
}

impl<A: Enc, B: Enc> Enc for (A, B) {
    fn enc(&self, s: &mut Seed) {
        self.0.enc(s);
        self.1.enc(s);
    }
}

impl<T: Enc> Enc for Vec<T> {
    fn enc(&self, s: &mut Seed) {
        for v in self {
            true.enc(s);
            v.enc(s);
        }
        false.enc(s);
    }
}

/// Variant `$i` of `$n`, then the fields.
macro_rules! v {
    ($s:ident, $i:expr, $n:expr $(, $f:expr)*) => {{
        $s.variant($i, $n);
        $( $f.enc($s); )*
    }};
}

impl Enc for cap::Op {
    fn enc(&self, s: &mut Seed) {
        use cap::Op::*;
        const N: u64 = 12;
        match self {
            SetAddr(a) => v!(s, 0, N, a),
            AddOffset(d) => v!(s, 1, N, d),
            SetBounds(l) => v!(s, 2, N, l),
            SetBoundsExact(l) => v!(s, 3, N, l),
            AndPerms(p) => v!(s, 4, N, p),
            SealUnseal(t) => v!(s, 5, N, t),
            ClearTag => v!(s, 6, N),
            Representable(a) => v!(s, 7, N, a),
            Crrl { len, offset } => v!(s, 8, N, len, offset),
            Seal(t) => v!(s, 9, N, t),
            Unseal(t) => v!(s, 10, N, t),
            Memory { slot, byte } => v!(s, 11, N, slot, byte),
        }
    }
}

impl Enc for heap::Op {
    fn enc(&self, s: &mut Seed) {
        use heap::Op::*;
        const N: u64 = 18;
        match self {
            Alloc => v!(s, 0, N),
            AllocChild { src, slot } => v!(s, 1, N, src, slot),
            AllocLarge(k) => v!(s, 2, N, k),
            Link { src, slot, dst } => v!(s, 3, N, src, slot, dst),
            Unlink { src, slot } => v!(s, 4, N, src, slot),
            DropRoot(i) => v!(s, 5, N, i),
            OpenScope => v!(s, 6, N),
            CloseScope => v!(s, 7, N),
            Handle(i) => v!(s, 8, N, i),
            RootSet { slot, src } => v!(s, 9, N, slot, src),
            RootData { slot, value } => v!(s, 10, N, slot, value),
            Weak(i) => v!(s, 11, N, i),
            Ephemeron { key } => v!(s, 12, N, key),
            Finalize(i) => v!(s, 13, N, i),
            Pin(i, on) => v!(s, 14, N, i, on),
            Scribble(i, x) => v!(s, 15, N, i, x),
            Minor => v!(s, 16, N),
            Collect => v!(s, 17, N),
        }
    }
}

impl Enc for Dest {
    fn enc(&self, s: &mut Seed) {
        match self {
            Dest::Root(i) => v!(s, 0, 3, i),
            Dest::Field { obj, k } => v!(s, 1, 3, obj, k),
            Dest::Local => v!(s, 2, 3),
        }
    }
}

impl Enc for SOp {
    fn enc(&self, s: &mut Seed) {
        use SOp::*;
        const N: u64 = 14;
        match self {
            Alloc { c, slot } => v!(s, 0, N, c, slot),
            Link { c, src, k, dst } => v!(s, 1, N, c, src, k, dst),
            Copy { a, from, b, to } => v!(s, 2, N, a, from, b, to),
            Clear { c, slot } => v!(s, 3, N, c, slot),
            Foreign { c, x, obj, into } => v!(s, 4, N, c, x, obj, into),
            Seal { x, obj, y, to } => v!(s, 5, N, x, obj, y, to),
            Cycle { x, a, y, b, k } => v!(s, 6, N, x, a, y, b, k),
            Unseal { c, pick, by } => v!(s, 7, N, c, pick, by),
            UnsealLocal { i, by } => v!(s, 8, N, i, by),
            Import { i, slot } => v!(s, 9, N, i, slot),
            Minor(c) => v!(s, 10, N, c),
            Collect(c) => v!(s, 11, N, c),
            CollectAll => v!(s, 12, N),
            Destroy(c) => v!(s, 13, N, c),
        }
    }
}

impl Enc for Mode {
    fn enc(&self, s: &mut Seed) {
        s.variant(*self as u64, 5);
    }
}

impl Enc for PlanSel {
    fn enc(&self, s: &mut Seed) {
        s.variant(*self as u64, 3);
    }
}

impl Enc for CapCase {
    fn enc(&self, s: &mut Seed) {
        self.ops.enc(s);
    }
}

impl Enc for DecodeCase {
    fn enc(&self, s: &mut Seed) {
        self.patterns.enc(s);
    }
}

impl Enc for HeapCase {
    fn enc(&self, s: &mut Seed) {
        match self {
            HeapCase::Heap {
                mode,
                plan,
                by_tag,
                ops,
            } => v!(s, 0, 2, mode, plan, by_tag, ops),
            HeapCase::Split {
                mode,
                plan,
                by_tag,
                n,
                ops,
            } => v!(s, 1, 2, mode, plan, by_tag, n, ops),
        }
    }
}

impl Enc for RawConfig {
    fn enc(&self, s: &mut Seed) {
        let g = self;
        g.mode.enc(s);
        g.format.enc(s);
        g.plan.enc(s);
        g.scan.enc(s);
        g.limit.enc(s);
        g.initial_size.enc(s);
        g.nursery_size.enc(s);
        g.pause_goal_us.enc(s);
        g.growth_factor.enc(s);
        g.trigger.enc(s);
        g.checked.enc(s);
        g.zeal_collect_every.enc(s);
        g.zeal_flags.enc(s);
        g.which.enc(s);
    }
}

impl Enc for RefPick {
    fn enc(&self, s: &mut Seed) {
        match self {
            RefPick::Pool(i) => v!(s, 0, 5, i),
            RefPick::Null => v!(s, 1, 5),
            RefPick::Flip(i, b) => v!(s, 2, 5, i, b),
            RefPick::Garbage(a, m) => v!(s, 3, 5, a, m),
            RefPick::Foreign(i) => v!(s, 4, 5, i),
        }
    }
}

impl Enc for TokPick {
    fn enc(&self, s: &mut Seed) {
        match self {
            TokPick::Pool(i) => v!(s, 0, 4, i),
            TokPick::Flip(i, b) => v!(s, 1, 4, i, b),
            TokPick::Garbage(a, b) => v!(s, 2, 4, a, b),
            TokPick::Foreign => v!(s, 3, 4),
        }
    }
}

impl Enc for TyPick {
    fn enc(&self, s: &mut Seed) {
        match self {
            TyPick::Node => v!(s, 0, 7),
            TyPick::Bytes => v!(s, 1, 7),
            TyPick::RefArray => v!(s, 2, 7),
            TyPick::Liar(i) => v!(s, 3, 7, i),
            TyPick::Extra(i) => v!(s, 4, 7, i),
            TyPick::Foreign => v!(s, 5, 7),
            TyPick::Garbage(t) => v!(s, 6, 7, t),
        }
    }
}

impl Enc for FastCall {
    fn enc(&self, s: &mut Seed) {
        use FastCall::*;
        const N: u64 = 10;
        match self {
            Take => v!(s, 0, N),
            Alloc(t, l) => v!(s, 1, N, t, l),
            LoadRef(r, o) => v!(s, 2, N, r, o),
            StoreRef(r, o, x) => v!(s, 3, N, r, o, x),
            Scalar(r, o, w, x) => v!(s, 4, N, r, o, w, x),
            Remember(r, o) => v!(s, 5, N, r, o),
            Push(r) => v!(s, 6, N, r),
            Pop => v!(s, 7, N),
            Misuse(i) => v!(s, 8, N, i),
            Collect(f) => v!(s, 9, N, f),
        }
    }
}

impl Enc for CPick {
    fn enc(&self, s: &mut Seed) {
        match self {
            CPick::Index(i) => v!(s, 0, 2, i),
            CPick::Garbage(g) => v!(s, 1, 2, g),
        }
    }
}

impl Enc for SealPick {
    fn enc(&self, s: &mut Seed) {
        match self {
            SealPick::Pool(i) => v!(s, 0, 3, i),
            SealPick::Flip(i, b) => v!(s, 1, 3, i, b),
            SealPick::Garbage(w) => v!(s, 2, 3, w),
        }
    }
}

impl Enc for SplitCall {
    fn enc(&self, s: &mut Seed) {
        use SplitCall::*;
        const N: u64 = 13;
        match self {
            New => v!(s, 0, N),
            Alloc(c) => v!(s, 1, N, c),
            Seal(o, i, h) => v!(s, 2, N, o, i, h),
            Unseal(b, p) => v!(s, 3, N, b, p),
            StoreSealed(c, o, k, p) => v!(s, 4, N, c, o, k, p),
            RootSealed(c, i, p) => v!(s, 5, N, c, i, p),
            LoadSealed(c, i) => v!(s, 6, N, c, i),
            SetRef(c, h, k, x) => v!(s, 7, N, c, h, k, x),
            Access(c, o, off, w) => v!(s, 8, N, c, o, off, w),
            Compare(a, b) => v!(s, 9, N, a, b),
            Collect(c) => v!(s, 10, N, c),
            CollectAll => v!(s, 11, N),
            Destroy(c) => v!(s, 12, N, c),
        }
    }
}

impl Enc for Call {
    fn enc(&self, s: &mut Seed) {
        use Call::*;
        const N: u64 = 40;
        match self {
            Alloc(t, p) => v!(s, 0, N, t, p),
            AllocArray(t, l) => v!(s, 1, N, t, l),
            Read(r, o, w) => v!(s, 2, N, r, o, w),
            Write(r, o, w, x) => v!(s, 3, N, r, o, w, x),
            Bytes(r, o, l, w) => v!(s, 4, N, r, o, l, w),
            GetRef(r, o) => v!(s, 5, N, r, o),
            SetRef(r, o, x) => v!(s, 6, N, r, o, x),
            Restrict(r, p) => v!(s, 7, N, r, p),
            Pin(r, on) => v!(s, 8, N, r, on),
            Query(r) => v!(s, 9, N, r),
            Payload(r) => v!(s, 10, N, r),
            ScopeOpen => v!(s, 11, N),
            ScopeClose(t) => v!(s, 12, N, t),
            HandleNew(r) => v!(s, 13, N, r),
            HandleGet(t) => v!(s, 14, N, t),
            HandleSet(t, r) => v!(s, 15, N, t, r),
            PersistentNew(r) => v!(s, 16, N, r),
            Persistent(t, op, r) => v!(s, 17, N, t, op, r),
            RegionNew(n) => v!(s, 18, N, n),
            RegionFree(t) => v!(s, 19, N, t),
            RegionSet(t, i, r) => v!(s, 20, N, t, i, r),
            RegionGet(t, i) => v!(s, 21, N, t, i),
            RegionSetData(t, i, x) => v!(s, 22, N, t, i, x),
            Slot {
                op,
                region,
                a,
                b,
                x,
                ty,
            } => v!(s, 23, N, op, region, a, b, x, ty),
            WeakNew(r) => v!(s, 24, N, r),
            Weak(t, rel) => v!(s, 25, N, t, rel),
            EphemeronNew(k, x) => v!(s, 26, N, k, x),
            Ephemeron(t, rel) => v!(s, 27, N, t, rel),
            Finalize(r, tok) => v!(s, 28, N, r, tok),
            Unfinalize(t) => v!(s, 29, N, t),
            TakeFinalized(c) => v!(s, 30, N, c),
            Collect(full) => v!(s, 31, N, full),
            Observe(c) => v!(s, 32, N, c),
            TypeRecord(r, d) => v!(s, 33, N, r, d),
            TypeFixed(sz, o, c) => v!(s, 34, N, sz, o, c),
            TypeLiar(m, l, re) => v!(s, 35, N, m, l, re),
            NullHeap(i) => v!(s, 36, N, i),
            NullOut(i) => v!(s, 37, N, i),
            StatusName(n) => v!(s, 38, N, n),
            Split(c) => v!(s, 39, N, c),
        }
    }
}

impl Enc for Input {
    fn enc(&self, s: &mut Seed) {
        self.mode.enc(s);
        self.plan.enc(s);
        self.by_tag.enc(s);
        self.garbage_config.enc(s);
        self.calls.enc(s);
        self.fast.enc(s);
    }
}

/// The bytes of `v`, checked to decode (as the fuzz target decodes its
/// input) to the same value.
pub fn check<T>(v: &T) -> Vec<u8>
where
    T: Enc + std::fmt::Debug + for<'a> Arbitrary<'a>,
{
    let mut s = Seed::default();
    v.enc(&mut s);
    let back = T::arbitrary_take_rest(Unstructured::new(&s.0)).expect("the seed decodes");
    assert_eq!(
        format!("{back:?}"),
        format!("{v:?}"),
        "the seed decodes to its value"
    );
    s.0
}
