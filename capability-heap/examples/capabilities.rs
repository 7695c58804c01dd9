//! The library doing its job, in one screen: derive exact-bounds object
//! capabilities from a heap authority, pad and align a large object so its
//! bounds can be exact (CRRL/CRAM), and watch out-of-bounds, forged and
//! overwritten references get refused — in each of the three formats.
//!
//! Run: `cargo run --release -p capability-heap --example capabilities`

use capability_heap::mode::Collector;
use capability_heap::{
    CapFault, Capability, CheriV9, Format, Morello, Perms, RefMode, RiscvStd, SoftCheri,
};

fn show<F: Format>() -> Result<(), CapFault> {
    type M<F> = SoftCheri<F>;
    println!("== format {} ==", F::NAME);
    let mut region = M::<F>::new_region(64 << 20).expect("map region");
    // SAFETY: this program owns the region and plays its collector: the
    // authority stays in this function and is dropped before the region.
    let auth = unsafe { M::<F>::authority(&region) }?;
    println!("heap authority      {auth:?}");

    // A small object: exact bounds, object permissions only.
    let small = M::<F>::derive(&auth, region.base().add(64), 48)?;
    println!("48-byte object      {small:?}");

    // A large object: the requested length is not representable exactly,
    // so the allocator pads it to CRRL and aligns it to CRAM.
    let want = 1_000_003u64;
    let layout = M::<F>::payload_layout(want).expect("representable");
    println!(
        "large object        asked {want} B -> padded to {} B (+{} B), aligned to {} B",
        layout.bounds,
        layout.bounds - want,
        layout.align
    );
    let at = region.base().add(1 << 20).align_up(layout.align);
    match auth.set_address(at.add(16)).set_bounds_exact(want) {
        Err(e) => println!("  unpadded, misaligned request refused: {e}"),
        Ok(c) => println!("  unpadded request happened to be exact: {c:?}"),
    }
    let large = M::<F>::derive(&auth, at, layout.bounds)?;
    println!("  padded object     {large:?}");

    // Accesses: in bounds works; one byte past the end is refused.
    M::<F>::store::<u64>(&mut region, &small, 40, 0xfeed)?;
    println!(
        "store u64 at +40    ok, reads back {:#x}",
        M::<F>::load::<u64>(&region, &small, 40)?
    );
    let oob = M::<F>::load::<u64>(&region, &small, 44).unwrap_err();
    println!("load u64 at +44     refused: {oob}");

    // A reference stored in the heap keeps its tag; data over it clears it.
    M::<F>::store_ref(&mut region, &large, 0, &small)?;
    let back = M::<F>::load_ref(&region, &large, 0)?;
    println!(
        "ref through heap    tag={} same={}",
        back.tag(),
        back == small
    );
    M::<F>::store::<u8>(&mut region, &large, 3, 0)?;
    let smashed = M::<F>::load_ref(&region, &large, 0)?;
    let err = M::<F>::load::<u64>(&region, &smashed, 0).unwrap_err();
    println!(
        "after data write    tag={} -> deref refused: {err}",
        smashed.tag()
    );

    // A forged reference: the right bits, no tag.
    let (pesbt, cursor) = small.to_bits();
    let forged = Capability::<F>::decode(pesbt, cursor);
    let err = M::<F>::load::<u64>(&region, &forged, 0).unwrap_err();
    println!("forged from bits    refused: {err}");

    // Read-only view: stores refused.
    let ro = small.and_perms(Perms::LOAD)?;
    let err = M::<F>::store::<u64>(&mut region, &ro, 0, 1).unwrap_err();
    println!("store via read-only refused: {err}\n");
    Ok(())
}

fn main() -> Result<(), CapFault> {
    show::<Morello>()?;
    show::<CheriV9>()?;
    show::<RiscvStd>()?;
    Ok(())
}
