//! Compartments as a VM would use them, and what they cost.
//!
//! - `report`: a host and its plugins on one split heap — sealed API
//!   objects and callbacks across, a misbehaving plugin refused, a plugin
//!   unloaded, a whole-heap collection — then the non-local access table
//!   and the whole-heap statistics ([`mod@scenario`]). Exit 1 if a refusal
//!   did not happen or the split heap does not verify.
//! - `measure`: independent against whole-heap collection for 2, 4 and 16
//!   compartments, live data split evenly and skewed; the sealed
//!   reference round trip per mode ([`mod@measure`]). Markdown tables of
//!   medians over interleaved rounds.
//!
//! ```text
//! cargo run --release -p capgc-benches --bin compartments -- report --mode softcheri-morello
//! CAPGC_LOG=compartments cargo run --release -p capgc-benches --bin compartments -- report
//! cargo run --release -p capgc-benches --bin compartments -- measure --counts 2,4,16 --rounds 7
//! ```

mod measure;
mod scenario;

use capgc_benches::cli::{modes_named, plan_named, plans_named, run_in, MODES};
use gc_core::Plan;

/// What `measure` compares by default: every capability format, by type map.
const DEFAULT_MODES: &str = "native,p128,softcheri-morello,softcheri-cheri-v9,softcheri-riscv-std";

fn usage() -> ! {
    eprintln!(
        "usage: compartments report [--mode M] [--compartments N] [--plan P]\n       \
         compartments measure [--modes M,…] [--plans P,…] [--counts 2,4,16] [--rounds R] [--objects TOTAL] [--seals K]\n\
         modes: {}; plans: marksweep, semispace, generational (default)",
        MODES.join(", ")
    );
    std::process::exit(2);
}

/// `--flag value` pairs after the subcommand.
fn options(args: &[String]) -> Vec<(&str, &str)> {
    if args.len() % 2 != 0 {
        usage();
    }
    args.chunks(2)
        .map(|kv| (kv[0].as_str(), kv[1].as_str()))
        .collect()
}

fn parsed<T: std::str::FromStr>(v: &str) -> T {
    v.parse().unwrap_or_else(|_| usage())
}

fn or_usage<T>(r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| {
        eprintln!("{e}");
        usage()
    })
}

fn report(args: &[String]) -> i32 {
    let mut mode = "softcheri-morello".to_string();
    let mut s = scenario::Scenario {
        plan: Plan::Generational,
        compartments: 4,
    };
    for (k, v) in options(args) {
        match k {
            "--mode" => mode = v.to_string(),
            "--compartments" => s.compartments = parsed(v),
            "--plan" => s.plan = plan_named(v).unwrap_or_else(|| usage()),
            _ => usage(),
        }
    }
    if !(2..=scenario::MAX_COMPARTMENTS).contains(&s.compartments) {
        eprintln!(
            "--compartments: 2 to {} (a host and at least one plugin)",
            scenario::MAX_COMPARTMENTS
        );
        usage();
    }
    println!(
        "compartments report: mode {mode}, plan {}, {} compartments\n",
        s.plan.name(),
        s.compartments
    );
    match run_in(&mode, s) {
        None => {
            eprintln!("unknown mode {mode:?}");
            usage()
        }
        Some(Ok(true)) => 0,
        Some(Ok(false)) => 1,
        Some(Err(e)) => {
            eprintln!("the scenario failed: {e}");
            1
        }
    }
}

fn measure(args: &[String]) -> i32 {
    let mut o = measure::Options {
        modes: modes_named(DEFAULT_MODES).expect("the default modes exist"),
        plans: vec![Plan::Generational],
        counts: vec![2, 4, 16],
        rounds: 7,
        objects: 1 << 20,
        seals: 16_384,
    };
    for (k, v) in options(args) {
        match k {
            "--modes" => o.modes = or_usage(modes_named(v)),
            "--plans" => o.plans = or_usage(plans_named(v)),
            "--counts" => o.counts = v.split(',').map(parsed).collect(),
            "--rounds" => o.rounds = parsed(v),
            "--objects" => o.objects = parsed(v),
            "--seals" => o.seals = parsed(v),
            _ => usage(),
        }
    }
    if o.modes.is_empty()
        || o.plans.is_empty()
        || o.rounds == 0
        || o.seals == 0
        || o.counts.iter().any(|&c| c < 2)
    {
        eprintln!("at least one mode, plan and round; at least 2 compartments");
        usage();
    }
    match measure::run(&o) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("measure failed: {e}");
            1
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("report") => report(&args[1..]),
        Some("measure") => measure(&args[1..]),
        _ => usage(),
    };
    std::process::exit(code);
}
