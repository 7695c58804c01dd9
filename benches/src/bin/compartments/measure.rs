//! `compartments measure`: what an independent compartment collection
//! costs against the whole-heap one on the same data, and what a sealed
//! reference's round trip costs per mode.
//!
//! **Pauses.** A configuration is a plan, a mode, a number of compartments
//! and a split of the live data: even, or skewed (compartment 0 holds 80%,
//! the others share 20%). The data is built in units of 64 objects — a
//! complete binary tree of 63 nodes and the holder that keeps it, in a
//! root region — and each unit's holder keeps one sealed reference to a
//! tree of the next compartment (1 per 64 objects, compartment i → i+1,
//! the last → the first). One visit builds the split heap, collects it
//! whole once to reach a steady state (everything mature, export tables
//! settled), then times: an independent collection of the largest
//! compartment, of the median-size one, of every compartment in turn
//! (summed), and the whole-heap collection, with its cross-compartment
//! marking and its per-compartment collections apart. Every export is
//! reachable, so the whole-heap collection frees what the independent
//! ones do; what it adds is the marking.
//!
//! **Sealed references.** Per mode, on two fresh compartments: seal of K
//! fresh objects (export entries created), seal of the same objects again
//! (the entries exist), `set_sealed` of each into a holder object of the
//! other compartment, `get_sealed` back, `unseal` by the owner; ns per
//! operation over K (`--seals`). Loading and opening find the export
//! entry by a linear search of the table's chunks (63 entries each), so
//! those two grow with K: quote K with them.
//!
//! Rounds interleave (every configuration once per round, then the next
//! round) so all configurations share the machine's noise; one visit is a
//! fresh split heap in this process, dropped before the next.

use capability_heap::RefMode;
use capgc_benches::cli::{run_in, PerMode};
use capgc_benches::summary::{median, range, spread};
use capgc_benches::workloads::bottom_up;
use gc_core::{CompartmentId, Compartments, GcError, Heap, HeapConfig, Plan, ScanStrategy};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Objects per unit: a 63-node tree and its holder.
const UNIT: u64 = 64;

/// How the live data is split between the compartments.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Even,
    /// Compartment 0 holds 80%, the others share 20%.
    Skewed,
}

impl Split {
    fn name(self) -> &'static str {
        match self {
            Split::Even => "even",
            Split::Skewed => "80/20",
        }
    }

    /// Units of each compartment for `objects` objects over `n`.
    fn units(self, objects: u64, n: usize) -> Vec<u64> {
        let n64 = n as u64;
        let per = |objs: u64| (objs / UNIT).max(1);
        match self {
            Split::Even => vec![per(objects / n64); n],
            Split::Skewed => {
                let mut v = vec![per(objects / 5 / (n64 - 1)); n];
                v[0] = per(objects * 4 / 5);
                v
            }
        }
    }
}

/// What `measure` runs.
pub struct Options {
    pub modes: Vec<&'static str>,
    pub plans: Vec<Plan>,
    pub counts: Vec<usize>,
    pub rounds: usize,
    pub objects: u64,
    /// Objects sealed per round of the round-trip measurement.
    pub seals: u64,
}

/// One configuration of the pause measurement.
#[derive(Clone, Copy)]
struct Shape {
    plan: Plan,
    mode: &'static str,
    count: usize,
    split: Split,
    objects: u64,
}

/// One visit's pauses, in ms.
#[derive(Clone, Copy, Default)]
struct Pauses {
    largest: f64,
    median_size: f64,
    every: f64,
    all: f64,
    marking: f64,
    all_collections: f64,
}

impl PerMode for Shape {
    type Output = Result<Pauses, GcError>;
    fn run<M: RefMode>(self, scan: ScanStrategy) -> Self::Output {
        pauses::<M>(self, scan)
    }
}

fn config(plan: Plan, scan: ScanStrategy) -> HeapConfig {
    HeapConfig {
        plan,
        scan,
        log: false,
        ..HeapConfig::default()
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Builds the split heap of `shape`: units in a root region per
/// compartment, then one sealed reference per unit to the next
/// compartment.
fn build<M: RefMode>(
    shape: Shape,
    scan: ScanStrategy,
) -> Result<(Compartments<M>, Vec<CompartmentId>), GcError> {
    let units = shape.split.units(shape.objects, shape.count);
    let mut w = Compartments::<M>::new()?;
    let mut ids = Vec::new();
    let mut regions = Vec::new();
    for &n in &units {
        let c = w.create(config(shape.plan, scan))?;
        let h = w.heap_mut(c)?;
        let node = h.record_type(2, 8)?;
        let rr = h.root_region_new(n)?;
        for u in 0..n {
            let scope = h.open_scope();
            let tree = bottom_up(h, node, 5)?;
            let holder = h.alloc(node)?;
            let tree = h.get(tree)?;
            h.set_ref(&holder, Heap::<M>::ref_offset(0), &tree)?;
            h.root_set(rr, u, &holder)?;
            h.close_scope(scope)?;
        }
        ids.push(c);
        regions.push(rr);
    }
    for i in 0..ids.len() {
        let next = (i + 1) % ids.len();
        for u in 0..units[i] {
            let h = w.heap(ids[next])?;
            let unit = h.root_get(regions[next], u % units[next])?;
            let tree = h.get_ref(&unit, Heap::<M>::ref_offset(0))?;
            let s = w.seal(ids[next], &tree, ids[i])?;
            let holder = w.heap(ids[i])?.root_get(regions[i], u)?;
            w.set_sealed(ids[i], &holder, Heap::<M>::ref_offset(1), &s)?;
        }
    }
    Ok((w, ids))
}

fn pauses<M: RefMode>(shape: Shape, scan: ScanStrategy) -> Result<Pauses, GcError> {
    let (mut w, ids) = build::<M>(shape, scan)?;
    w.collect_all()?;
    let units = shape.split.units(shape.objects, shape.count);
    let mut by_size: Vec<usize> = (0..ids.len()).collect();
    by_size.sort_by_key(|&i| std::cmp::Reverse(units[i]));
    let largest = ms(w.collect(ids[by_size[0]])?.pause);
    let median_size = ms(w.collect(ids[by_size[ids.len() / 2]])?.pause);
    let mut every = 0.0;
    for &c in &ids {
        every += ms(w.collect(c)?.pause);
    }
    let all = w.collect_all()?;
    Ok(Pauses {
        largest,
        median_size,
        every,
        all: ms(all.pause),
        marking: ms(all.marking),
        all_collections: all.collections.iter().map(|(_, c)| ms(c.pause)).sum(),
    })
}

/// One round of the round-trip measurement: ns per operation.
#[derive(Clone, Copy, Default)]
struct Trip {
    seal_exported: f64,
    seal_fresh: f64,
    set: f64,
    get: f64,
    unseal: f64,
}

impl Trip {
    /// Seal (of an exported object), store, load, unseal.
    fn round_trip(&self) -> f64 {
        self.seal_exported + self.set + self.get + self.unseal
    }
}

/// The round-trip measurement on a fresh split heap of `plan`, sealing
/// `seals` objects.
struct RoundTrip {
    plan: Plan,
    seals: u64,
}

impl PerMode for RoundTrip {
    type Output = Result<Trip, GcError>;
    fn run<M: RefMode>(self, scan: ScanStrategy) -> Self::Output {
        round_trip::<M>(self, scan)
    }
}

/// Times `f` over every element of `xs`: ns per element.
fn per_op<T, R>(
    xs: &[T],
    mut f: impl FnMut(&T) -> Result<R, GcError>,
) -> Result<(f64, Vec<R>), GcError> {
    let mut out = Vec::with_capacity(xs.len());
    let start = Instant::now();
    for x in xs {
        out.push(black_box(f(x)?));
    }
    let ns = start.elapsed().as_secs_f64() * 1e9 / xs.len() as f64;
    Ok((ns, out))
}

fn round_trip<M: RefMode>(r: RoundTrip, scan: ScanStrategy) -> Result<Trip, GcError> {
    let RoundTrip { plan, seals } = r;
    let mut w = Compartments::<M>::new()?;
    let (a, b) = (w.create(config(plan, scan))?, w.create(config(plan, scan))?);
    let mut regions = Vec::new();
    for (c, refs) in [(a, 0), (b, 1)] {
        let h = w.heap_mut(c)?;
        let ty = h.record_type(refs, 8)?;
        let rr = h.root_region_new(seals)?;
        for i in 0..seals {
            let o = h.alloc(ty)?;
            h.root_set(rr, i, &o)?;
        }
        regions.push(rr);
    }
    w.collect_all()?;
    // No allocation from here on but the export table's own chunks, far
    // below what would trigger a collection: the references stay valid.
    let load = |w: &Compartments<M>, c: CompartmentId, rr: gc_core::RootRegionId| {
        (0..seals)
            .map(|i| w.heap(c)?.root_get(rr, i))
            .collect::<Result<Vec<_>, _>>()
    };
    let objects = load(&w, a, regions[0])?;
    let holders = load(&w, b, regions[1])?;
    let (seal_fresh, sealed) = per_op(&objects, |o| w.seal(a, o, b))?;
    let (seal_exported, _) = per_op(&objects, |o| w.seal(a, o, b))?;
    let pairs: Vec<_> = holders.iter().zip(&sealed).collect();
    let slot = Heap::<M>::ref_offset(0);
    let (set, _) = per_op(&pairs, |(h, s)| w.set_sealed(b, h, slot, s))?;
    let (get, loaded) = per_op(&holders, |h| w.get_sealed(b, h, slot))?;
    let (unseal, _) = per_op(&loaded, |s| w.unseal(a, s))?;
    Ok(Trip {
        seal_exported,
        seal_fresh,
        set,
        get,
        unseal,
    })
}

/// Runs every configuration once per round, `rounds` times; prints the
/// tables.
pub fn run(o: &Options) -> Result<(), String> {
    let mut shapes = Vec::new();
    for &plan in &o.plans {
        for &mode in &o.modes {
            for &count in &o.counts {
                for split in [Split::Even, Split::Skewed] {
                    shapes.push(Shape {
                        plan,
                        mode,
                        count,
                        split,
                        objects: o.objects,
                    });
                }
            }
        }
    }
    let mut pauses: Vec<Vec<Pauses>> = vec![Vec::new(); shapes.len()];
    let mut trips: Vec<Vec<Trip>> = vec![Vec::new(); o.modes.len()];
    let fail = |what: String, e: GcError| format!("{what}: {e}");
    for r in 0..o.rounds {
        eprintln!("round {}/{}", r + 1, o.rounds);
        for (s, shape) in shapes.iter().enumerate() {
            let got = run_in(shape.mode, *shape).expect("a known mode");
            pauses[s].push(got.map_err(|e| fail(label(shape), e))?);
        }
        for (m, mode) in o.modes.iter().enumerate() {
            let trip = RoundTrip {
                plan: o.plans[0],
                seals: o.seals,
            };
            let got = run_in(mode, trip).expect("a known mode");
            trips[m].push(got.map_err(|e| fail(format!("round trip, {mode}"), e))?);
        }
    }
    println!(
        "{} live objects per configuration in units of 64 (a 63-node tree and its holder, in a root region), \
         1 sealed reference per unit to the next compartment; {} interleaved rounds; median (min–max)\n",
        o.objects, o.rounds
    );
    print_pauses(&shapes, &pauses);
    print_trips(o, &trips);
    Ok(())
}

fn label(s: &Shape) -> String {
    format!(
        "{} {} {} compartments {}",
        s.plan.name(),
        s.mode,
        s.count,
        s.split.name()
    )
}

fn print_pauses(shapes: &[Shape], pauses: &[Vec<Pauses>]) {
    println!("Independent against whole-heap collection, pauses in ms:\n");
    println!(
        "| plan | mode | compartments | split | objects: largest / median-size | one (largest) | one (median-size) \
         | every, in turn (sum) | collect_all | its marking | its collections | collect_all / sum |"
    );
    println!("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (shape, p) in shapes.iter().zip(pauses) {
        let mut units = shape.split.units(shape.objects, shape.count);
        units.sort_unstable_by(|a, b| b.cmp(a));
        let col = |f: fn(&Pauses) -> f64| spread(p, f, 3);
        let ratio = |x: &Pauses| x.all / x.every;
        let (lo, hi) = range(p, ratio);
        println!(
            "| {} | {} | {} | {} | {} / {} | {} | {} | {} | {} | {} | {} | {:.2} ({lo:.2}–{hi:.2}) |",
            shape.plan.name(),
            shape.mode,
            shape.count,
            shape.split.name(),
            units[0] * UNIT,
            units[units.len() / 2] * UNIT,
            col(|x| x.largest),
            col(|x| x.median_size),
            col(|x| x.every),
            col(|x| x.all),
            col(|x| x.marking),
            col(|x| x.all_collections),
            median(p, ratio),
        );
    }
    println!(
        "\ncollect_all / sum: the median of the per-round ratios (the same split heap, collected both ways).\n"
    );
}

/// A column of the round-trip tables: its title and its figure.
type TripColumn = (&'static str, fn(&Trip) -> f64);

const TRIP_COLUMNS: [TripColumn; 6] = [
    ("seal (exported)", |t| t.seal_exported),
    ("seal (fresh)", |t| t.seal_fresh),
    ("set_sealed", |t| t.set),
    ("get_sealed", |t| t.get),
    ("unseal", |t| t.unseal),
    ("round trip", Trip::round_trip),
];

fn print_trips(o: &Options, trips: &[Vec<Trip>]) {
    let ops = TRIP_COLUMNS;
    let names: Vec<&str> = ops.iter().map(|(n, _)| *n).collect();
    let rule = "|---|".to_string() + &"---:|".repeat(ops.len());
    println!(
        "Sealed references, ns per operation ({} per round, {}; round trip = seal (exported) + set_sealed + get_sealed + unseal):\n",
        o.seals,
        o.plans[0].name()
    );
    println!("| mode | {} |\n{rule}", names.join(" | "));
    for (mode, t) in o.modes.iter().zip(trips) {
        let cells: Vec<String> = ops.iter().map(|(_, f)| spread(t, f, 0)).collect();
        println!("| {mode} | {} |", cells.join(" | "));
    }
    let Some(native) = o.modes.iter().position(|m| *m == "native") else {
        return;
    };
    println!("\nRatio to native (of medians):\n");
    println!("| mode | {} |\n{rule}", names.join(" | "));
    for (mode, t) in o.modes.iter().zip(trips) {
        let cells: Vec<String> = ops
            .iter()
            .map(|(_, f)| format!("{:.2}", median(t, f) / median(&trips[native], f)))
            .collect();
        println!("| {mode} | {} |", cells.join(" | "));
    }
}
