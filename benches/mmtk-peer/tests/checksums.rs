//! The MMTk peer prints the checksums the Rust workloads assert
//! (`c_peer_output`, the C peers' format) under each plan the harness
//! runs, with collections forced often (MMTk's stress factor: a
//! collection every 64 or 256 KiB allocated) so that every plan moves or
//! sweeps objects under the shadow stack, and once with MMTk's default
//! triggering.

use capgc_benches::workloads::c_peer_output;
use std::process::Command;

const PLANS: [&str; 4] = ["GenImmix", "Immix", "SemiSpace", "MarkSweep"];

/// Runs the peer; its stdout and the collections it reported.
fn run(args: &[&str], stress: Option<&str>) -> (String, u64) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mmtk-peer"));
    cmd.args(args);
    if let Some(s) = stress {
        cmd.env("MMTK_STRESS_FACTOR", s);
    }
    let out = cmd.output().expect("mmtk-peer runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {err}");
    let collections = err
        .split(", ")
        .nth(1)
        .and_then(|s| s.strip_suffix(" collections\n"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{args:?}: no collection count in {err:?}"));
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        collections,
    )
}

#[test]
fn binary_trees_checksums_in_every_plan_under_stress() {
    for plan in PLANS {
        for n in ["10", "13"] {
            let (out, gcs) = run(&[plan, "binary-trees", n], Some("65536"));
            assert_eq!(
                out,
                c_peer_output("binary-trees", n.parse().unwrap()),
                "{plan} {n}"
            );
            assert!(gcs > 10, "{plan} {n}: {gcs} collections");
        }
    }
}

#[test]
fn gcbench_checksums_in_every_plan_under_stress() {
    for plan in PLANS {
        // Scaled to stretch 12; the full-size run below puts its 4 MB
        // array in the large-object space.
        let (out, gcs) = run(&[plan, "gcbench", "12"], Some("262144"));
        assert_eq!(out, c_peer_output("gcbench", 12), "{plan}");
        assert!(gcs > 10, "{plan}: {gcs} collections");
    }
}

#[test]
fn full_size_runs_collect_and_agree() {
    for plan in ["GenImmix", "MarkSweep"] {
        let (out, gcs) = run(&[plan, "gcbench"], None);
        assert_eq!(out, c_peer_output("gcbench", 0), "{plan}");
        assert!(gcs > 0, "{plan}: no collection");
        let (out, gcs) = run(&[plan, "binary-trees", "16"], None);
        assert_eq!(out, c_peer_output("binary-trees", 16), "{plan}");
        assert!(gcs > 0, "{plan}: no collection");
    }
}

#[test]
fn bad_arguments_are_refused_with_usage() {
    for args in [
        &["NoSuchPlan", "binary-trees", "10"][..],
        &["GenImmix", "binary-trees"][..],
        &["GenImmix", "gcbench", "40"][..],
        &["GenImmix", "nbody", "10"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_mmtk-peer"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("usage"),
            "{args:?}"
        );
    }
}
