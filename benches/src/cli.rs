//! The names the harness binaries' command lines share — reference modes
//! and plans — and the one dispatch from a mode's name to a run
//! monomorphised for that mode ([`PerMode`], [`run_in`]).
//!
//! A generic function cannot be handed over without its type argument,
//! so a run is a value whose [`PerMode::run`] is generic over the mode.
//! The alternative, a `match` on the name in every binary, repeats the
//! name table and lets the binaries drift apart in what they accept.

use capability_heap::{CheriV9, Morello, Native, RefMode, RiscvStd, SoftCheri, P128};
use gc_core::{Plan, ScanStrategy};

/// Every mode by name: the unchecked baselines (`native`, `p128`),
/// SoftCheri in each capability format, and Morello scanning by tag.
pub const MODES: [&str; 6] = [
    "native",
    "p128",
    "softcheri-morello",
    "softcheri-morello/tags",
    "softcheri-cheri-v9",
    "softcheri-riscv-std",
];

/// A run that can be monomorphised for any reference mode.
pub trait PerMode {
    /// What the run gives back.
    type Output;
    /// Runs in mode `M`, scanning objects with `scan`.
    fn run<M: RefMode>(self, scan: ScanStrategy) -> Self::Output;
}

/// Runs `r` in the mode named `mode` (one of [`MODES`]); `None` for a
/// name that is none of them.
pub fn run_in<R: PerMode>(mode: &str, r: R) -> Option<R::Output> {
    Some(match mode {
        "native" => r.run::<Native>(ScanStrategy::TypeMap),
        "p128" => r.run::<P128>(ScanStrategy::TypeMap),
        "softcheri-morello" => r.run::<SoftCheri<Morello>>(ScanStrategy::TypeMap),
        "softcheri-morello/tags" => r.run::<SoftCheri<Morello>>(ScanStrategy::Tags),
        "softcheri-cheri-v9" => r.run::<SoftCheri<CheriV9>>(ScanStrategy::TypeMap),
        "softcheri-riscv-std" => r.run::<SoftCheri<RiscvStd>>(ScanStrategy::TypeMap),
        _ => return None,
    })
}

/// The modes a comma-separated list names, in [`MODES`] order; an
/// unknown name is the error.
pub fn modes_named(list: &str) -> Result<Vec<&'static str>, String> {
    if let Some(bad) = list.split(',').find(|m| !MODES.contains(m)) {
        return Err(format!(
            "unknown mode {bad:?} (modes: {})",
            MODES.join(", ")
        ));
    }
    Ok(MODES
        .into_iter()
        .filter(|m| list.split(',').any(|x| x == *m))
        .collect())
}

/// The plan of this name ([`Plan::name`]).
pub fn plan_named(s: &str) -> Option<Plan> {
    Plan::ALL.into_iter().find(|p| p.name() == s)
}

/// The plans a comma-separated list names, in its order; an unknown name
/// is the error.
pub fn plans_named(list: &str) -> Result<Vec<Plan>, String> {
    list.split(',')
        .map(|s| plan_named(s).ok_or_else(|| format!("unknown plan {s:?}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Name;
    impl PerMode for Name {
        type Output = (&'static str, ScanStrategy);
        fn run<M: RefMode>(self, scan: ScanStrategy) -> Self::Output {
            (M::NAME, scan)
        }
    }

    #[test]
    fn every_name_dispatches_to_its_mode() {
        for m in MODES {
            let (name, scan) = run_in(m, Name).unwrap();
            assert!(m.contains(name), "{m} ran {name}");
            assert_eq!(scan == ScanStrategy::Tags, m.ends_with("/tags"));
        }
        assert!(run_in("morello", Name).is_none());
    }

    #[test]
    fn lists_keep_their_order_and_refuse_unknown_names() {
        assert_eq!(
            modes_named("softcheri-riscv-std,native").unwrap(),
            ["native", "softcheri-riscv-std"]
        );
        assert!(modes_named("native,cheri").is_err());
        assert_eq!(
            plans_named("semispace,marksweep").unwrap(),
            [Plan::SemiSpace, Plan::MarkSweep]
        );
        assert!(plans_named("immix").is_err());
    }
}
