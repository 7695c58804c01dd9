//! The workloads the harness runs, by name, with the one size parameter
//! each takes on the command line, and the steps a run is made of (one,
//! or one per live size for live-sweep).

/// A workload and its size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Workload {
    /// binary-trees of this maximum depth.
    BinaryTrees(u32),
    /// GCBench (its original constants).
    GcBench,
    /// churn over this many slots.
    Churn(u32),
    /// large with this many allocations.
    Large(u32),
    /// One live-sweep step at this many MiB of live data; as the
    /// workload of a whole run, the largest step (`--max-live`).
    LiveSweep(u32),
}

/// Every workload's name, as the command line and the child take it.
pub const NAMES: [&str; 5] = ["binary-trees", "gcbench", "churn", "large", "live-sweep"];

impl Workload {
    /// The workload `name` at its default size.
    pub fn named(name: &str) -> Option<Workload> {
        Workload::sized(name, default_size(name)?)
    }

    /// The workload `name` at size `n`.
    pub fn sized(name: &str, n: u32) -> Option<Workload> {
        Some(match name {
            "binary-trees" => Workload::BinaryTrees(n),
            "gcbench" => Workload::GcBench,
            "churn" => Workload::Churn(n),
            "large" => Workload::Large(n),
            "live-sweep" => Workload::LiveSweep(n),
            _ => return None,
        })
    }

    /// Its name (one of [`NAMES`]).
    pub fn name(self) -> &'static str {
        match self {
            Workload::BinaryTrees(_) => "binary-trees",
            Workload::GcBench => "gcbench",
            Workload::Churn(_) => "churn",
            Workload::Large(_) => "large",
            Workload::LiveSweep(_) => "live-sweep",
        }
    }

    /// Its size parameter (0 for GCBench).
    pub fn size(self) -> u32 {
        match self {
            Workload::GcBench => 0,
            Workload::BinaryTrees(n)
            | Workload::Churn(n)
            | Workload::Large(n)
            | Workload::LiveSweep(n) => n,
        }
    }

    /// What the report calls it.
    pub fn label(self) -> String {
        match self {
            Workload::BinaryTrees(n) => format!("binary-trees {n}"),
            Workload::GcBench => "gcbench".into(),
            Workload::Churn(n) => format!("churn ({n} slots)"),
            Workload::Large(n) => format!("large ({n} arrays)"),
            Workload::LiveSweep(n) => format!(
                "live-sweep (live 1 MiB … {n} MiB, {} MiB allocated at each)",
                crate::child::SWEEP_GARBAGE_MIB
            ),
        }
    }

    /// The stem of its C peers' executables, if it has them.
    pub fn peer_stem(self) -> Option<&'static str> {
        match self {
            Workload::BinaryTrees(_) => Some("binary_trees"),
            Workload::GcBench => Some("gcbench"),
            _ => None,
        }
    }

    /// The workloads a run of this one is made of: for live-sweep one
    /// per live size, doubling from 1 MiB to the largest; else itself.
    pub fn steps(self) -> Vec<Workload> {
        match self {
            Workload::LiveSweep(max) => {
                let mut v: Vec<Workload> = std::iter::successors(Some(1u32), |m| m.checked_mul(2))
                    .take_while(|m| *m < max)
                    .map(Workload::LiveSweep)
                    .collect();
                v.push(Workload::LiveSweep(max.max(1)));
                v
            }
            w => vec![w],
        }
    }
}

/// The default size of workload `name`.
pub fn default_size(name: &str) -> Option<u32> {
    Some(match name {
        "binary-trees" => 16,
        "gcbench" => 0,
        "churn" => 50_000,
        "large" => 20_000,
        "live-sweep" => 64,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_live_sweep_doubles() {
        for name in NAMES {
            let w = Workload::named(name).unwrap();
            assert_eq!(w.name(), name);
            assert_eq!(Workload::sized(name, w.size()), Some(w));
        }
        let sizes: Vec<u32> = Workload::LiveSweep(24)
            .steps()
            .iter()
            .map(|w| w.size())
            .collect();
        assert_eq!(sizes, [1, 2, 4, 8, 16, 24]);
        assert_eq!(Workload::LiveSweep(1).steps(), [Workload::LiveSweep(1)]);
    }
}
