//! Generational: a bump-pointer nursery whose survivors are promoted into
//! the mark-sweep space. Minor collections evacuate the nursery from the
//! roots and the remembered set ([`barrier`]); full ones evacuate it and
//! mark and sweep the mature space. The nursery is sized to a minor-pause
//! goal ([`nursery`]).

pub(crate) mod barrier;
pub(crate) mod nursery;

use super::{Outcome, Parts};
use crate::policy::evacuate::{Evacuator, Target};
use crate::stats::CollectionKind;
use crate::trace::Tracer;
use capability_heap::RefMode;

/// The Generational plan's own state.
#[derive(Default)]
pub(crate) struct Generational {
    pub(crate) nursery: nursery::NurserySizer,
}

impl Generational {
    /// One minor or full collection.
    pub(super) fn collect<M: RefMode>(&mut self, p: Parts<'_, M>, kind: CollectionKind) -> Outcome {
        let full = kind == CollectionKind::Full;
        let mut ev = Evacuator::new(p.arena, p.types, p.scan, Target::Mature, full);
        p.roots.trace(&mut ev);
        ev.drain();
        p.weak.trace(&mut ev);
        let (evac, panicked) = ev.finish();
        let swept = full.then(|| {
            let mut r = p.arena.sweep();
            // Nursery objects kept in place (pinned) survive outside it.
            r.live_objects += evac.kept_in_place;
            r
        });
        Outcome {
            swept,
            evac,
            panicked,
        }
    }
}
