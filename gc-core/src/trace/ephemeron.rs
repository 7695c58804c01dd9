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
