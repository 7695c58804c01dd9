//! [`CapFault`]: why a capability operation or access was refused.

use crate::{Address, Perm};
use core::fmt;

/// A capability fault: one variant per distinct reason, as the ISA's
/// capability exception causes (tag, seal, permission, length, alignment,
/// representability) plus the software-only ones of this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapFault {
    /// The capability is untagged (forged, data-overwritten, or derived by
    /// an operation that cleared its tag).
    TagViolation,
    /// The capability is sealed and the operation needs it unsealed.
    SealViolation,
    /// The operation needs a sealed capability and this one is not.
    NotSealed,
    /// The capability lacks a permission the operation needs.
    PermissionViolation {
        /// The missing permission.
        needed: Perm,
    },
    /// The access `[addr, addr + size)` is not inside the bounds.
    BoundsViolation {
        /// First byte accessed.
        addr: Address,
        /// Number of bytes accessed.
        size: u64,
        /// Lower bound of the capability.
        base: Address,
        /// Upper bound of the capability (65 bits).
        top: u128,
    },
    /// The access is not aligned as it must be (capability loads and stores
    /// need 16-byte alignment).
    AlignmentViolation {
        /// The address used.
        addr: Address,
        /// The alignment required.
        align: u64,
    },
    /// Exact bounds were requested and cannot be encoded.
    Inexact {
        /// Requested base.
        base: Address,
        /// Requested length.
        len: u128,
    },
    /// The new address is outside the representable window.
    Unrepresentable {
        /// The address asked for.
        addr: Address,
    },
    /// The unseal authority's address is not the sealed capability's
    /// object type.
    OtypeMismatch {
        /// The sealed capability's object type.
        sealed: u32,
        /// The authority's address.
        authority: u64,
    },
    /// The object type is not one software may seal with in this format.
    InvalidOtype {
        /// The object type asked for.
        otype: u64,
    },
    /// A marker bit was asked for in capability memory, where only a
    /// capability store sets a granule's bit (its tag).
    MarkerInCapabilityMemory {
        /// The granule's address.
        addr: Address,
    },
    /// The address is inside the capability but outside the tagged memory
    /// region (no mapped memory there).
    OutsideRegion {
        /// First byte accessed.
        addr: Address,
        /// Number of bytes accessed.
        size: u64,
    },
}

impl fmt::Display for CapFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            CapFault::TagViolation => write!(f, "capability tag is clear (not a valid capability)"),
            CapFault::SealViolation => write!(f, "capability is sealed"),
            CapFault::NotSealed => write!(f, "capability is not sealed"),
            CapFault::PermissionViolation { needed } => {
                write!(f, "capability lacks the {needed:?} permission")
            }
            CapFault::BoundsViolation {
                addr,
                size,
                base,
                top,
            } => write!(
                f,
                "access of {size} bytes at {addr} is outside bounds [{base}, {top:#x})"
            ),
            CapFault::AlignmentViolation { addr, align } => {
                write!(f, "address {addr} is not {align}-byte aligned")
            }
            CapFault::Inexact { base, len } => {
                write!(
                    f,
                    "bounds [{base}, +{len:#x}) are not exactly representable"
                )
            }
            CapFault::Unrepresentable { addr } => {
                write!(f, "address {addr} is outside the representable window")
            }
            CapFault::OtypeMismatch { sealed, authority } => write!(
                f,
                "unseal authority address {authority:#x} does not match object type {sealed:#x}"
            ),
            CapFault::InvalidOtype { otype } => {
                write!(
                    f,
                    "object type {otype:#x} cannot be used for sealing in this format"
                )
            }
            CapFault::MarkerInCapabilityMemory { addr } => write!(
                f,
                "cannot set a marker at {addr}: the region is capability memory"
            ),
            CapFault::OutsideRegion { addr, size } => {
                write!(
                    f,
                    "access of {size} bytes at {addr} is outside the tagged region"
                )
            }
        }
    }
}

impl std::error::Error for CapFault {}
