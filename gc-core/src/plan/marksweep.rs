//! MarkSweep: the non-moving plan. A collection marks from the roots
//! (`trace::mark`), runs the weak tables, and sweeps the mark-sweep space
//! and the large-object space (`policy::marksweep_space`,
//! `policy::large_object_space`).

use super::{Outcome, Parts};
use crate::trace::mark::Marker;
use crate::trace::Tracer;
use capability_heap::RefMode;

/// One full collection.
pub(super) fn collect<M: RefMode>(p: Parts<'_, M>) -> Outcome {
    let mut m = Marker::new(p.arena, p.types, p.scan);
    p.roots.trace(&mut m);
    m.drain();
    p.weak.trace(&mut m);
    let panicked = m.panicked;
    Outcome {
        swept: Some(p.arena.sweep()),
        panicked,
        ..Outcome::default()
    }
}
