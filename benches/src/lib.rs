//! Benchmarks for CapGC: the GC workloads ([`workloads`]) shared by the
//! tests, the criterion benches in `benches/` and the harness binaries —
//! `workloads`, which runs a workload under every reference mode,
//! interleaved, and `compartments`, which runs a host-and-plugins scenario
//! on a split heap and measures independent against whole-heap
//! collection. What the binaries share: the mode and plan names and the
//! dispatch to a mode ([`cli`]), medians and ranges of rounds
//! ([`summary`]), the C peers on `capgc.h` linked in ([`c_peers`]).
//! The other peers are programs of their own: `benches/c` on malloc and
//! bdwgc (built by `build.rs`) and `benches/mmtk-peer` on MMTk (a crate
//! of its own; the harness runs its binary from beside itself).

// The C peers call the C ABI: link its code (nothing in Rust names it).
extern crate capgc;

pub mod c_peers;
pub mod cli;
pub mod summary;
pub mod workloads;
