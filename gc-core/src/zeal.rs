//! [`Zeal`]: the GC zeal mode, for VM authors' own fuzzing and testing —
//! what SpiderMonkey's `gczeal`, V8's `--gc-interval` /
//! `--stress-compaction` / `--verify-heap` and Lua's `HARDMEMTESTS` give.
//!
//! A VM's commonest collector bug is a **missing root**: a reference kept
//! in a C local (or any place the collector is not told about) across an
//! allocation. It goes unnoticed as long as no collection happens at that
//! allocation, or the collection happens not to move or free the object.
//! Zeal makes both happen as often as possible:
//! - `collect:N` ([`Zeal::collect_every`]): a full collection every `N`
//!   allocations (every plan), whatever the pacing says;
//! - `verify` ([`Zeal::verify`]): [`crate::Heap::verify`] after every
//!   collection;
//! - `move-all` ([`Zeal::move_all`]): every movable object moves at every
//!   collection. SemiSpace already does; Generational then stops
//!   promoting — survivors are copied within the nursery at every
//!   collection, minor or full, so no object ever settles in the
//!   non-moving mature space (which then holds only pinned and large
//!   objects, the immovable ones). MarkSweep moves nothing: the option is
//!   accepted and has no effect there;
//! - `poison` ([`Zeal::poison`]): freed memory is filled with
//!   [`Zeal::POISON`] bytes instead of left zero, so a stale pointer
//!   reads `0xdbdb…db` — a non-canonical address that faults when
//!   dereferenced — rather than plausible zeros.
//!
//! **Configuration.** [`crate::HeapConfig::zeal`], or the environment
//! variable `CAPGC_ZEAL` read at heap creation (e.g.
//! `CAPGC_ZEAL=collect:100,verify,move-all,poison`), which extends the
//! configuration: options it names are turned on, and its `collect:N`
//! replaces the configuration's interval. A malformed value is an error at
//! heap creation ([`crate::ConfigError::Zeal`]), never silently ignored: a
//! VM author who set zeal wants to know it is on.
//!
//! **A failed verification** is heap corruption: the violations are
//! printed on stderr, the heap is poisoned, and the call that collected
//! (an allocation, or `collect`) and every later call is refused with
//! [`crate::GcError::HeapCorrupt`] carrying the collection and the
//! count (`Heap::verify` lists them again) — the normal error path, which a VM turns into its own fatal
//! error (no abort inside the library: the VM decides how to die, and
//! its own diagnostics still run).
//!
//! **I4 under poison.** DESIGN.md I4 says freed memory holds no tag and is
//! zeroed before reuse. Poison bytes are data (writing them clears any tag,
//! I6), and every poisoned place is zeroed again before it is handed out:
//! whole blocks are marked dirty (zeroed at hand-out, as evacuated blocks
//! always are), and a poisoned mark-sweep cell is zeroed when allocated.
//! Cells freed around a pinned survivor in a retained copy-space block are
//! zeroed, not poisoned (the block is bump-allocated into once empty and
//! must read zero). The verifier accepts free memory that is zero or
//! poison when poison is on.
//!
//! Zeal is for testing, never for production: every allocation takes the
//! slow path (the inline fast paths are off), so that zeal's allocation
//! counter sees it.

use crate::error::ConfigError;

/// The GC zeal options ([`crate::HeapConfig::zeal`]); all off by default.
///
/// ```
/// use gc_core::Zeal;
/// let z = Zeal::parse("collect:10,verify,move-all,poison").unwrap();
/// assert_eq!(z, Zeal { collect_every: 10, verify: true, move_all: true, poison: true });
/// assert!(Zeal::parse("collect:0").is_err());
/// assert!(!Zeal::default().is_on());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Zeal {
    /// A full collection every this many allocations; 0: off.
    pub collect_every: u32,
    /// Verify the heap after every collection.
    pub verify: bool,
    /// Move every movable object at every collection (moving plans).
    pub move_all: bool,
    /// Fill freed memory with [`Zeal::POISON`].
    pub poison: bool,
}

impl Zeal {
    /// The byte freed memory is filled with under `poison`.
    pub const POISON: u8 = 0xdb;
    /// [`Zeal::POISON`] as a 64-bit word (what a stale pointer reads).
    pub const POISON_WORD: u64 = u64::from_ne_bytes([Zeal::POISON; 8]);
    /// The environment variable read at heap creation.
    pub const ENV: &'static str = "CAPGC_ZEAL";

    /// True when any option is on.
    pub fn is_on(&self) -> bool {
        *self != Zeal::default()
    }

    /// Parses a comma-separated option list: `collect:N` (N ≥ 1),
    /// `verify`, `move-all`, `poison`; an empty list is all off. Spaces
    /// around items are ignored.
    pub fn parse(s: &str) -> Result<Zeal, ConfigError> {
        let mut z = Zeal::default();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match item {
                "verify" => z.verify = true,
                "move-all" => z.move_all = true,
                "poison" => z.poison = true,
                _ => {
                    let n = item
                        .strip_prefix("collect:")
                        .and_then(|n| n.trim().parse::<u32>().ok())
                        .filter(|&n| n >= 1)
                        .ok_or(ConfigError::Zeal)?;
                    z.collect_every = n;
                }
            }
        }
        Ok(z)
    }

    /// The options `CAPGC_ZEAL` names (all off when it is unset).
    pub fn from_env() -> Result<Zeal, ConfigError> {
        match std::env::var(Zeal::ENV) {
            Ok(v) => Zeal::parse(&v),
            Err(std::env::VarError::NotPresent) => Ok(Zeal::default()),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::Zeal),
        }
    }

    /// These options extended by `other`'s: each flag on in either, and
    /// `other`'s interval when it has one.
    pub fn extended_by(self, other: Zeal) -> Zeal {
        Zeal {
            collect_every: if other.collect_every != 0 {
                other.collect_every
            } else {
                self.collect_every
            },
            verify: self.verify || other.verify,
            move_all: self.move_all || other.move_all,
            poison: self.poison || other.poison,
        }
    }

    /// The configuration's options extended by `CAPGC_ZEAL`'s.
    pub fn with_env(self) -> Result<Zeal, ConfigError> {
        Ok(self.extended_by(Zeal::from_env()?))
    }
}

/// A heap's zeal state: its options and the allocation countdown.
#[derive(Clone, Debug, Default)]
pub(crate) struct ZealState {
    pub(crate) opts: Zeal,
    /// Allocations since the last zeal collection.
    count: u32,
    /// What the verifier found, once it found the heap corrupt (the heap
    /// is poisoned; every call answers with this).
    pub(crate) corrupt: Option<crate::GcError>,
}

impl ZealState {
    pub(crate) fn new(opts: Zeal) -> ZealState {
        ZealState {
            opts,
            count: 0,
            corrupt: None,
        }
    }

    /// Counts one allocation; true when it is the `N`th since the last
    /// zeal collection (the caller collects).
    #[inline]
    pub(crate) fn allocation_due(&mut self) -> bool {
        let n = self.opts.collect_every;
        if n == 0 {
            return false;
        }
        self.count += 1;
        if self.count >= n {
            self.count = 0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_parses_and_bad_ones_are_refused() {
        assert_eq!(Zeal::parse("").unwrap(), Zeal::default());
        let z = Zeal::parse(" verify , poison ").unwrap();
        assert!(z.verify && z.poison && !z.move_all);
        assert_eq!(Zeal::parse("collect:7").unwrap().collect_every, 7);
        for bad in [
            "collect",
            "collect:",
            "collect:0",
            "collect:-1",
            "x",
            "verify,nope",
        ] {
            assert_eq!(Zeal::parse(bad), Err(ConfigError::Zeal), "{bad}");
        }
    }

    #[test]
    fn the_environment_extends_the_configuration() {
        let c = Zeal {
            collect_every: 5,
            verify: true,
            ..Zeal::default()
        };
        let e = Zeal {
            collect_every: 0,
            poison: true,
            ..Zeal::default()
        };
        let z = c.extended_by(e);
        assert_eq!((z.collect_every, z.verify, z.poison), (5, true, true));
        let z = c.extended_by(Zeal::parse("collect:2").unwrap());
        assert_eq!(z.collect_every, 2);
    }

    #[test]
    fn the_countdown_fires_every_n() {
        let mut s = ZealState::new(Zeal::parse("collect:3").unwrap());
        let fired: Vec<bool> = (0..7).map(|_| s.allocation_due()).collect();
        assert_eq!(fired, [false, false, true, false, false, true, false]);
        let mut off = ZealState::new(Zeal::default());
        assert!(!(0..10).any(|_| off.allocation_due()));
    }
}
