//! Benchmarks for CapGC: the GC workloads ([`workloads`]) shared by the
//! tests, the criterion benches in `benches/` and the `workloads` binary,
//! which runs a workload under every reference mode, interleaved, and
//! reports medians and ratios.

pub mod workloads;
