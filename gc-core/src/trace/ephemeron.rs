//! The ephemeron fixpoint, for every plan: a value is traced once its key
//! is reached by something other than the ephemeron, and tracing it may
//! reach further keys, so the table is swept until a pass reaches nothing
//! new.
//!
//! Termination: a pass counts as progress only when tracing a value made
//! it reached; each such pass reaches at least one object not reached
//! before, and there are finitely many. (A value that cannot be reached —
//! not a live object — is traced but makes no progress, so it cannot keep
//! the loop going.)

use super::Tracer;
use crate::slab::Slab;
use capability_heap::RefMode;

/// Runs `ephemerons` (key, value) to a fixpoint with tracer `t`, draining
/// after every pass that reached something. Values are rewritten with
/// what tracing returns (their new copies, I8).
pub(crate) fn fixpoint<M: RefMode, T: Tracer<M>>(
    ephemerons: &mut Slab<Option<(M::Raw, M::Raw)>>,
    t: &mut T,
) {
    loop {
        let mut progress = false;
        for (k, v) in ephemerons.iter_mut().flatten() {
            if t.is_reached(k) && !t.is_reached(v) {
                *v = t.trace(*v);
                progress |= t.is_reached(v);
            }
        }
        if !progress {
            return;
        }
        t.drain();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use capability_heap::mode::Collector;
    use capability_heap::NativeRef;

    /// A tracer over plain numbers: `reached` grows when `trace` reaches
    /// a number in `reachable`, the others (not objects) stay unreached.
    struct Toy {
        reached: Vec<u64>,
        reachable: Vec<u64>,
        traces: u32,
    }

    type M = capability_heap::Native;

    fn n(r: &NativeRef) -> u64 {
        M::raw_address(r).get()
    }

    impl Tracer<M> for Toy {
        fn trace(&mut self, raw: NativeRef) -> NativeRef {
            self.traces += 1;
            assert!(self.traces < 1000, "the fixpoint does not terminate");
            if self.reachable.contains(&n(&raw)) && !self.reached.contains(&n(&raw)) {
                self.reached.push(n(&raw));
            }
            raw
        }
        fn is_reached(&self, raw: &NativeRef) -> bool {
            self.reached.contains(&n(raw))
        }
        fn survivor(&self, raw: &NativeRef) -> Option<NativeRef> {
            self.is_reached(raw).then_some(*raw)
        }
        fn drain(&mut self) {}
    }

    #[test]
    fn an_unreachable_value_cannot_keep_the_loop_going() {
        // Keys 1 -> value 2 -> key 2 -> value 3; key 1 -> value 99, which
        // tracing can never reach (not an object).
        let region = capability_heap::TaggedRegion::plain(4096).unwrap();
        // SAFETY: the test owns the region and derives from it only here.
        let auth = unsafe { M::authority(&region) }.unwrap();
        let r = |a: u64| M::derive(&auth, region.base().add(a), 0).unwrap();
        let base = region.base().get();
        let mut t = Slab::new();
        for (k, v) in [(1, 2), (2, 3), (1, 99)] {
            t.insert(Some((r(k), r(v)))).unwrap();
        }
        let mut toy = Toy {
            reached: vec![base + 1],
            reachable: vec![base + 1, base + 2, base + 3],
            traces: 0,
        };
        fixpoint::<M, _>(&mut t, &mut toy);
        assert_eq!(toy.reached, vec![base + 1, base + 2, base + 3]);
    }
}
