//! SemiSpace: Cheney-style copying between semispaces of blocks. Every
//! collection evacuates the whole copy space into fresh blocks
//! (`policy::evacuate`, target `CopySpace`), marking the non-moving
//! objects (large and pinned) as it goes, then sweeps those.

use super::{Outcome, Parts};
use crate::policy::evacuate::{Evacuator, Target};
use crate::trace::Tracer;
use capability_heap::RefMode;

/// One (full) collection.
pub(super) fn collect<M: RefMode>(p: Parts<'_, M>) -> Outcome {
    let mut ev = Evacuator::new(p.arena, p.types, p.scan, Target::CopySpace, true);
    p.roots.trace(&mut ev);
    ev.drain();
    p.weak.trace(&mut ev);
    let (evac, panicked) = ev.finish();
    let mut swept = p.arena.sweep();
    // Survivors outside the swept space: the copies, and objects kept in
    // place in copy-space blocks.
    swept.live_objects += evac.kept_in_place + evac.objects_copied;
    Outcome {
        swept: Some(swept),
        evac,
        panicked,
    }
}
