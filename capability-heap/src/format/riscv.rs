//! STUB: to be written from the specification (see format/mod.rs).

use super::{Decoded, Format, Perm, Representability, SetBoundsResult};

/// The riscv-std capability format (vectors: `128r/`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RiscvStd;

impl super::sealed::Sealed for RiscvStd {}

impl Format for RiscvStd {
    const NAME: &'static str = "riscv-std";
    const VECTOR_DIR: &'static str = "128r";
    const ROOT_PESBT: u64 = 0;
    const PERMS_MASK: u32 = 0;
    const OTYPE_UNSEALED: u32 = 0;
    const OTYPE_BITS: u32 = 0;
    const MANTISSA_WIDTH: u32 = 0;
    const MAX_EXPONENT: u32 = 0;

    fn decode(_pesbt: u64, _cursor: u64) -> Decoded {
        unimplemented!()
    }
    fn set_bounds(_pesbt: u64, _cursor: u64, _tag: bool, _req_len: u128) -> SetBoundsResult {
        unimplemented!()
    }
    fn representable(_pesbt: u64, _cursor: u64, _new_addr: u64) -> Representability {
        unimplemented!()
    }
    fn set_addr_keeps_tag(_pesbt: u64, _cursor: u64, _new_addr: u64) -> bool {
        unimplemented!()
    }
    fn crrl(_len: u64) -> u64 {
        unimplemented!()
    }
    fn cram(_len: u64) -> u64 {
        unimplemented!()
    }
    fn perms(_pesbt: u64) -> u32 {
        unimplemented!()
    }
    fn with_perms(_pesbt: u64, _perms: u32) -> u64 {
        unimplemented!()
    }
    fn otype(_pesbt: u64) -> u32 {
        unimplemented!()
    }
    fn with_otype(_pesbt: u64, _otype: u32) -> u64 {
        unimplemented!()
    }
    fn perm_bits(_perm: Perm) -> u32 {
        unimplemented!()
    }
    fn is_software_otype(_otype: u32) -> bool {
        unimplemented!()
    }
}
