//! [`Perms`]: a set of abstract permissions, and its mapping onto each
//! format's permission word.

use crate::format::{Format, Perm};
use core::fmt;
use core::ops::{BitAnd, BitOr};

/// A set of [`Perm`]s, independent of any format's bit layout.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Perms(u16);

const fn bit(p: Perm) -> u16 {
    1 << p as u16
}

impl Perms {
    /// No permission.
    pub const NONE: Perms = Perms(0);
    /// Global / CL.
    pub const GLOBAL: Perms = Perms(bit(Perm::Global));
    /// Execute.
    pub const EXECUTE: Perms = Perms(bit(Perm::Execute));
    /// Load data.
    pub const LOAD: Perms = Perms(bit(Perm::Load));
    /// Store data.
    pub const STORE: Perms = Perms(bit(Perm::Store));
    /// Load capabilities with tags.
    pub const LOAD_CAP: Perms = Perms(bit(Perm::LoadCap));
    /// Store tagged capabilities.
    pub const STORE_CAP: Perms = Perms(bit(Perm::StoreCap));
    /// Store local (non-global) capabilities.
    pub const STORE_LOCAL_CAP: Perms = Perms(bit(Perm::StoreLocalCap));
    /// Seal.
    pub const SEAL: Perms = Perms(bit(Perm::Seal));
    /// Unseal.
    pub const UNSEAL: Perms = Perms(bit(Perm::Unseal));
    /// What a reference to a heap object carries: load and store data and
    /// capabilities, global.
    pub const OBJECT: Perms = Perms(
        bit(Perm::Global)
            | bit(Perm::Load)
            | bit(Perm::Store)
            | bit(Perm::LoadCap)
            | bit(Perm::StoreCap)
            | bit(Perm::StoreLocalCap),
    );
    /// Every abstract permission.
    pub const ALL: Perms = Perms((1 << Perm::ALL.len()) - 1);

    /// True when every permission of `other` is in `self`.
    #[inline(always)]
    pub const fn contains(self, other: Perms) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when `p` is in the set.
    #[inline(always)]
    pub const fn has(self, p: Perm) -> bool {
        self.0 & bit(p) != 0
    }

    /// The set without the permissions of `other`.
    #[inline(always)]
    pub const fn without(self, other: Perms) -> Perms {
        Perms(self.0 & !other.0)
    }

    /// The bits of `F`'s permission word that together grant this set.
    #[inline(always)]
    pub fn to_word<F: Format>(self) -> u32 {
        let mut w = 0;
        for p in Perm::ALL {
            if self.has(p) {
                w |= F::perm_bits(p);
            }
        }
        w
    }

    /// The permissions `F`'s permission word `word` grants. A permission the
    /// format lacks (no bits) is never granted.
    #[inline(always)]
    pub fn from_word<F: Format>(word: u32) -> Perms {
        let mut s = 0;
        for p in Perm::ALL {
            let b = F::perm_bits(p);
            if b != 0 && word & b == b {
                s |= bit(p);
            }
        }
        Perms(s)
    }

    /// The first permission of `self` that `word` (format `F`) does not
    /// grant, if any.
    #[inline(always)]
    pub fn first_missing<F: Format>(self, word: u32) -> Option<Perm> {
        Perm::ALL.into_iter().find(|&p| {
            let b = F::perm_bits(p);
            self.has(p) && (b == 0 || word & b != b)
        })
    }
}

impl From<Perm> for Perms {
    fn from(p: Perm) -> Perms {
        Perms(bit(p))
    }
}

impl BitOr for Perms {
    type Output = Perms;
    fn bitor(self, rhs: Perms) -> Perms {
        Perms(self.0 | rhs.0)
    }
}

impl BitAnd for Perms {
    type Output = Perms;
    fn bitand(self, rhs: Perms) -> Perms {
        Perms(self.0 & rhs.0)
    }
}

impl fmt::Debug for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(Perm::ALL.into_iter().filter(|p| self.has(*p)))
            .finish()
    }
}
