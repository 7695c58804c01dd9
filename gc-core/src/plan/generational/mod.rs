//! Generational: a bump-pointer nursery whose survivors are promoted into
//! the mark-sweep space. Minor collections evacuate the nursery from the
//! roots and the remembered set ([`barrier`]); full ones evacuate it and
//! mark and sweep the mature space. The nursery is sized to a minor-pause
//! goal ([`nursery`]).
//!
//! Under zeal's `move-all` ([`crate::Zeal::move_all`]) nothing is
//! promoted: every collection copies the nursery's survivors into fresh
//! nursery blocks (which do not count against the nursery size until the
//! next collection), so every unpinned small object moves every time; the
//! mature space then holds only pinned and large objects.

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
        // Zeal's move-all: survivors are copied within the nursery, never
        // promoted, so every movable object moves at every collection.
        let target = if p.move_all {
            Target::CopySpace
        } else {
            Target::Mature
        };
        let mut ev = Evacuator::new(p.arena, p.types, p.scan, target, full);
        p.roots.trace(&mut ev);
        ev.drain();
        p.weak.trace(&mut ev);
        let (evac, panicked) = ev.finish();
        let swept = full.then(|| {
            let mut r = p.arena.sweep();
            // Nursery objects kept in place (pinned) survive outside it,
            // and so do copies kept in the nursery (move-all).
            r.live_objects += evac.kept_in_place;
            if target == Target::CopySpace {
                r.live_objects += evac.objects_copied;
            }
            r
        });
        Outcome {
            swept,
            evac,
            panicked,
        }
    }
}
