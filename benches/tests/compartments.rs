//! The `compartments` binary end to end: the host-and-plugins report with
//! its refusals and the `CAPGC_LOG=compartments` lines, and a small
//! `measure` run printing both tables.

use std::process::{Command, Output};

fn compartments(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_compartments"))
        .args(args)
        .env("CAPGC_LOG", "compartments")
        .output()
        .expect("the compartments binary runs");
    assert!(
        out.status.success(),
        "compartments {args:?}: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The refused column of a report-table line `from -> to created
/// unsealed stored refused`.
fn refused(line: &str) -> Option<u64> {
    let cols: Vec<&str> = line.split_whitespace().collect();
    match cols.as_slice() {
        [_, "->", _, _, _, _, r] => r.parse().ok(),
        _ => None,
    }
}

#[test]
fn report_refuses_the_misbehaving_plugin_and_logs() {
    for mode in ["softcheri-morello", "native"] {
        let out = compartments(&["report", "--mode", mode, "--compartments", "3"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stdout.contains("from -> to   created  unsealed    stored   refused"),
            "{stdout}"
        );
        assert!(
            stdout.lines().filter_map(refused).any(|r| r > 0),
            "no pair with refusals:\n{stdout}"
        );
        assert!(!stdout.contains("FAILED"), "{stdout}");
        assert!(stderr.contains("capgc compartments:"), "{stderr}");
    }
}

#[test]
fn measure_prints_both_tables() {
    let out = compartments(&[
        "measure",
        "--counts",
        "2",
        "--rounds",
        "1",
        "--objects",
        "2000",
        "--modes",
        "native,softcheri-morello",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for table in [
        "| plan | mode | compartments | split |",
        "| mode | seal (exported) | seal (fresh) |",
        "Ratio to native",
    ] {
        assert!(stdout.contains(table), "no {table:?} in:\n{stdout}");
    }
    assert_eq!(
        stdout.matches("| generational | ").count(),
        4,
        "2 modes x 2 splits:\n{stdout}"
    );
}

#[test]
fn bad_arguments_are_refused() {
    for args in [
        &["report", "--mode", "morello"][..],
        &["report", "--compartments", "1"],
        &["measure", "--counts", "1"],
        &["measure", "--plans", "immix"],
        &["frobnicate"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_compartments"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}
