//! Benchmarks for CapGC: criterion micro-benchmarks live in `benches/`;
//! the comparison harness (modes × plans × workloads × peers) is built here.
