//! binary-trees (depth 16) and GCBench, with correct results, under every
//! plan in every reference mode; the heap verifies afterwards.

use capability_heap::{CheriV9, Morello, Native, RefMode, RiscvStd, SoftCheri, P128};
use capgc_benches::workloads::{
    binary_trees, c_peer_output, gcbench, gcbench_expected, BinaryTrees, GcBenchParams,
};
use gc_core::{Heap, HeapConfig, Plan, ScanStrategy};

fn config(plan: Plan, scan: ScanStrategy) -> HeapConfig {
    HeapConfig {
        plan,
        limit: 512 << 20,
        scan,
        ..HeapConfig::default()
    }
}

fn trees<M: RefMode>(scan: ScanStrategy) {
    for plan in Plan::ALL {
        trees_plan::<M>(plan, scan);
    }
}

fn trees_plan<M: RefMode>(plan: Plan, scan: ScanStrategy) {
    let mut h = Heap::<M>::new(config(plan, scan)).unwrap();
    let got = binary_trees(&mut h, 16).unwrap();
    assert_eq!(got, BinaryTrees::expected(16));
    assert!(h.stats().collections > 0);
    h.collect().unwrap();
    h.verify().unwrap();
}

fn bench<M: RefMode>(scan: ScanStrategy) {
    for plan in Plan::ALL {
        bench_plan::<M>(plan, scan);
    }
}

fn bench_plan<M: RefMode>(plan: Plan, scan: ScanStrategy) {
    let mut h = Heap::<M>::new(config(plan, scan)).unwrap();
    let p = GcBenchParams::default();
    let got = gcbench(&mut h, p).unwrap();
    assert_eq!(got.trees, gcbench_expected(p));
    assert_eq!(got.long_lived_nodes, (1 << 17) - 1);
    assert_eq!(got.array_probe, 1.0 / 1000.0);
    assert!(h.stats().collections > 0);
    h.collect().unwrap();
    h.verify().unwrap();
}

#[test]
fn binary_trees_native() {
    trees::<Native>(ScanStrategy::TypeMap);
}
#[test]
fn binary_trees_p128() {
    trees::<P128>(ScanStrategy::TypeMap);
}
#[test]
fn binary_trees_softcheri_morello() {
    trees::<SoftCheri<Morello>>(ScanStrategy::TypeMap);
}
#[test]
fn binary_trees_softcheri_v9_by_tag() {
    trees::<SoftCheri<CheriV9>>(ScanStrategy::Tags);
}
#[test]
fn binary_trees_softcheri_riscv() {
    trees::<SoftCheri<RiscvStd>>(ScanStrategy::TypeMap);
}
#[test]
fn gcbench_native() {
    bench::<Native>(ScanStrategy::TypeMap);
}
#[test]
fn gcbench_p128() {
    bench::<P128>(ScanStrategy::TypeMap);
}
#[test]
fn gcbench_softcheri_morello() {
    bench::<SoftCheri<Morello>>(ScanStrategy::TypeMap);
}
#[test]
fn gcbench_softcheri_morello_by_tag() {
    bench::<SoftCheri<Morello>>(ScanStrategy::Tags);
}

/// The C peers the harness runs (benches/build.rs), shaped like the
/// capgc.h program and idiomatic, print exactly the checksums the Rust
/// workloads assert: glibc malloc always, bdwgc when it was found at
/// build time (CI installs it and checks that it ran).
#[test]
fn c_peers_print_the_rust_checksums() {
    let dir = std::path::Path::new(env!("CAPGC_PEERS_DIR"));
    let mut peers = vec!["malloc"];
    if env!("CAPGC_PEERS_BDWGC") == "1" {
        peers.push("bdwgc");
    }
    for peer in peers {
        for (stem, workload, args) in [
            ("binary_trees", "binary-trees", vec!["10"]),
            ("binary_trees", "binary-trees", vec!["13"]),
            ("gcbench", "gcbench", vec![]),
            ("gcbench", "gcbench", vec!["12"]),
            ("binary_trees_idiomatic", "binary-trees", vec!["10"]),
            ("binary_trees_idiomatic", "binary-trees", vec!["13"]),
            ("gcbench_idiomatic", "gcbench", vec![]),
            ("gcbench_idiomatic", "gcbench", vec!["12"]),
        ] {
            let exe = dir.join(format!("{stem}-{peer}"));
            let out = std::process::Command::new(&exe)
                .args(&args)
                .output()
                .unwrap_or_else(|e| panic!("{}: {e}", exe.display()));
            assert!(out.status.success(), "{}", exe.display());
            let n = args.first().map_or(0, |a| a.parse().unwrap());
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                c_peer_output(workload, n),
                "{peer} {workload} {args:?}"
            );
        }
    }
}

/// churn and large under every plan: the model's result, a heap that
/// verifies, and (large) padding only where the format needs it.
fn churn_and_large<M: RefMode>(scan: ScanStrategy) -> u64 {
    use capgc_benches::workloads::churn::{churn, churn_expected, ChurnParams};
    use capgc_benches::workloads::large::{large, large_checksum, LargeParams};
    let mut padding = 0;
    for plan in Plan::ALL {
        let mut h = Heap::<M>::new(config(plan, scan)).unwrap();
        let p = ChurnParams::with_slots(2000);
        assert_eq!(churn(&mut h, p).unwrap(), churn_expected(p), "{plan:?}");
        let p = LargeParams {
            allocations: 300,
            ..LargeParams::default()
        };
        let got = large(&mut h, p).unwrap();
        assert_eq!(got.checksum, large_checksum(p), "{plan:?}");
        padding = got.padding_bytes;
        assert!(h.stats().collections > 0);
        h.collect().unwrap();
        h.verify().unwrap();
    }
    padding
}

#[test]
fn churn_and_large_native_and_softcheri() {
    let native = churn_and_large::<Native>(ScanStrategy::TypeMap);
    let morello = churn_and_large::<SoftCheri<Morello>>(ScanStrategy::TypeMap);
    let v9 = churn_and_large::<SoftCheri<CheriV9>>(ScanStrategy::Tags);
    assert!(native < 8 * 300, "native pads to 8 bytes only: {native}");
    assert!(morello > native && v9 > native, "{morello} {v9} {native}");
}
