//! `compartments report`: a host and its plugins on one split heap, the
//! way a VM embedding untrusted extensions would use compartments.
//!
//! Compartment 0 is the host, 1… are plugins. Each builds a tree of
//! objects, kept in a root region. The host hands every plugin sealed
//! references to a few of its objects (the "API objects"), which the
//! plugin keeps in an imports object; every plugin hands the host a
//! sealed callback, which the host keeps in a registry. Plugins give the
//! API objects back and the host opens them; the host gives callbacks
//! back to their plugin to run. The last plugin misbehaves — it stores an
//! unsealed host reference it got hold of, and tries to open the host's
//! sealed references — and is refused each time; the host then unloads
//! it, and the host's later uses of that plugin's callback are refused
//! too. A whole-heap collection at the end releases the API objects only
//! the unloaded plugin held.
//!
//! Every expected refusal and every value read back is a check; the run
//! fails (exit 1) if one does not hold or the split heap does not verify.

use capability_heap::RefMode;
use capgc_benches::cli::PerMode;
use capgc_benches::workloads::bottom_up;
use gc_core::{
    CompartmentId, Compartments, GcError, Heap, HeapConfig, ObjRef, Plan, RootRegionId,
    ScanStrategy, WholeHeapStats,
};

/// Depth of each compartment's tree (64 leaves: the host's API objects).
const DEPTH: u32 = 6;
/// API objects the host hands each plugin.
const GIFTS: u32 = 3;
/// The most compartments the host's leaves give API objects for.
pub const MAX_COMPARTMENTS: usize = 1 + (1 << DEPTH) / GIFTS as usize;

/// The scenario with `compartments` compartments (host included).
pub struct Scenario {
    pub plan: Plan,
    pub compartments: usize,
}

impl PerMode for Scenario {
    type Output = Result<bool, GcError>;
    fn run<M: RefMode>(self, scan: ScanStrategy) -> Self::Output {
        run::<M>(self, scan)
    }
}

/// What the scenario checked.
#[derive(Default)]
struct Checks {
    passed: usize,
    failed: Vec<String>,
}

impl Checks {
    /// `got` must be refused with `want`.
    fn refused<T>(&mut self, what: &str, got: Result<T, GcError>, want: GcError) {
        match got {
            Err(e) if e == want => {
                println!("refused as expected: {what}: {e:?}");
                self.passed += 1;
            }
            Err(e) => self
                .failed
                .push(format!("{what}: refused with {e:?}, not {want:?}")),
            Ok(_) => self.failed.push(format!("{what}: allowed, not {want:?}")),
        }
    }

    fn holds(&mut self, what: &str, ok: bool) {
        if ok {
            self.passed += 1;
        } else {
            self.failed.push(what.to_string());
        }
    }
}

/// One compartment's root region: its tree in slot 0, its imports object
/// (a plugin) or registry (the host) in slot 1.
struct Party {
    id: CompartmentId,
    roots: RootRegionId,
}

fn data<M: RefMode>() -> u64 {
    Heap::<M>::data_offset(2)
}

/// What the host writes in API object `g` of plugin `p`.
fn gift_value(p: usize, g: u32) -> u64 {
    100 * p as u64 + u64::from(g)
}

/// What plugin `p`'s callback holds.
fn callback_value(p: usize) -> u64 {
    1000 + p as u64
}

/// Builds a compartment's tree and its holder object (`refs` slots) in a
/// new root region.
fn party<M: RefMode>(
    w: &mut Compartments<M>,
    config: &HeapConfig,
    refs: u32,
) -> Result<Party, GcError> {
    let id = w.create(config.clone())?;
    let h = w.heap_mut(id)?;
    let node = h.record_type(2, 8)?;
    let holder_ty = h.record_type(refs, 0)?;
    let roots = h.root_region_new(2)?;
    let scope = h.open_scope();
    let tree = bottom_up(h, node, DEPTH)?;
    let tree = h.get(tree)?;
    h.root_set(roots, 0, &tree)?;
    let holder = h.alloc(holder_ty)?;
    h.root_set(roots, 1, &holder)?;
    h.close_scope(scope)?;
    Ok(Party { id, roots })
}

/// Leaf `i` of the tree in slot 0 of `roots` (left-to-right).
fn leaf<M: RefMode>(h: &Heap<M>, roots: RootRegionId, i: u32) -> Result<ObjRef<M>, GcError> {
    let mut n = h.root_get(roots, 0)?;
    for level in (0..DEPTH).rev() {
        n = h.get_ref(&n, Heap::<M>::ref_offset((i >> level) & 1))?;
    }
    Ok(n)
}

fn holder<M: RefMode>(w: &Compartments<M>, p: &Party) -> Result<ObjRef<M>, GcError> {
    w.heap(p.id)?.root_get(p.roots, 1)
}

fn run<M: RefMode>(s: Scenario, scan: ScanStrategy) -> Result<bool, GcError> {
    let config = HeapConfig {
        plan: s.plan,
        scan,
        limit: 64 << 20,
        log: false,
        ..HeapConfig::default()
    };
    let mut w = Compartments::<M>::new()?;
    let host = party(&mut w, &config, s.compartments as u32)?;
    let plugins = (1..s.compartments)
        .map(|_| party(&mut w, &config, GIFTS))
        .collect::<Result<Vec<_>, _>>()?;
    let mut checks = Checks::default();
    let callbacks = handshake(&mut w, &host, &plugins)?;
    churn(&mut w, &host, &plugins)?;
    calls(&mut w, &host, &plugins[..plugins.len() - 1], &mut checks)?;
    let bad = plugins.last().expect("at least one plugin");
    misbehave(&mut w, &host, bad, &mut checks)?;
    let registry = holder(&w, &host)?;
    w.destroy(bad.id)?;
    println!("the host unloaded plugin {}", bad.id.index());
    let slot = Heap::<M>::ref_offset(bad.id.index());
    checks.refused(
        "the host loads the unloaded plugin's callback",
        w.get_sealed(host.id, &registry, slot),
        GcError::CompartmentDestroyed,
    );
    checks.refused(
        "the host stores the unloaded plugin's callback again",
        w.set_sealed(host.id, &registry, slot, &callbacks[plugins.len() - 1]),
        GcError::CompartmentDestroyed,
    );
    checks.refused(
        "the host reaches the unloaded plugin's heap",
        w.heap(bad.id).map(|_| ()),
        GcError::CompartmentDestroyed,
    );
    let all = w.collect_all()?;
    let live = plugins.len() as u64 - 1;
    checks.holds(
        "the whole-heap collection releases exactly the API objects the unloaded plugin held",
        all.exports_released == u64::from(GIFTS)
            && all.exports_live == live * (1 + u64::from(GIFTS)),
    );
    calls(&mut w, &host, &plugins[..plugins.len() - 1], &mut checks)?;
    if let Err(v) = w.verify() {
        checks.failed.push(format!("verify: {v:?}"));
    }
    print_report(&w, &all, &host, &plugins);
    println!("\n{} checks passed", checks.passed);
    for f in &checks.failed {
        println!("FAILED: {f}");
    }
    Ok(checks.failed.is_empty())
}

/// The host hands each plugin sealed API objects (stored in the plugin's
/// imports object); each plugin hands the host a sealed callback (stored
/// in the host's registry). Returns the callbacks, by plugin.
fn handshake<M: RefMode>(
    w: &mut Compartments<M>,
    host: &Party,
    plugins: &[Party],
) -> Result<Vec<gc_core::SealedRef<M>>, GcError> {
    let mut callbacks = Vec::new();
    for (i, p) in plugins.iter().enumerate() {
        let n = i + 1;
        for g in 0..GIFTS {
            let h = w.heap_mut(host.id)?;
            let api = leaf(h, host.roots, i as u32 * GIFTS + g)?;
            h.write::<u64>(&api, data::<M>(), gift_value(n, g))?;
            let s = w.seal(host.id, &api, p.id)?;
            let imports = holder(w, p)?;
            w.set_sealed(p.id, &imports, Heap::<M>::ref_offset(g), &s)?;
        }
        let h = w.heap_mut(p.id)?;
        let closure = h.record_type(0, 8)?;
        let cb = h.alloc(closure)?;
        h.write::<u64>(&cb, Heap::<M>::data_offset(0), callback_value(n))?;
        // Held only through the host's registry from here on.
        let s = w.seal(p.id, &cb, host.id)?;
        let registry = holder(w, host)?;
        w.set_sealed(host.id, &registry, Heap::<M>::ref_offset(n as u32), &s)?;
        callbacks.push(s);
    }
    Ok(callbacks)
}

/// Garbage in every compartment, then an independent collection of each:
/// sealed references survive their holders and targets moving.
fn churn<M: RefMode>(
    w: &mut Compartments<M>,
    host: &Party,
    plugins: &[Party],
) -> Result<(), GcError> {
    for p in std::iter::once(host).chain(plugins) {
        let h = w.heap_mut(p.id)?;
        let node = h.record_type(2, 8)?;
        for _ in 0..8 {
            let scope = h.open_scope();
            bottom_up(h, node, 10)?;
            h.close_scope(scope)?;
        }
        w.collect(p.id)?;
    }
    Ok(())
}

/// Each well-behaved plugin gives its API objects back to the host, which
/// opens them; the host gives each callback back to its plugin to run.
fn calls<M: RefMode>(
    w: &mut Compartments<M>,
    host: &Party,
    plugins: &[Party],
    checks: &mut Checks,
) -> Result<(), GcError> {
    for (i, p) in plugins.iter().enumerate() {
        let n = i + 1;
        for g in 0..GIFTS {
            let imports = holder(w, p)?;
            let s = w.get_sealed(p.id, &imports, Heap::<M>::ref_offset(g))?;
            let api = w.unseal(host.id, &s)?;
            let v = w.heap(host.id)?.read::<u64>(&api, data::<M>())?;
            checks.holds("the host opens its API object", v == gift_value(n, g));
        }
        let registry = holder(w, host)?;
        let s = w.get_sealed(host.id, &registry, Heap::<M>::ref_offset(n as u32))?;
        let cb = w.unseal(p.id, &s)?;
        let v = w.heap(p.id)?.read::<u64>(&cb, Heap::<M>::data_offset(0))?;
        checks.holds("the plugin runs its callback", v == callback_value(n));
    }
    Ok(())
}

/// The misbehaving plugin: an unsealed host reference it got hold of (as
/// if leaked by a bug in the host's bindings) offered to its own heap
/// everywhere, and the host's sealed references opened by it.
fn misbehave<M: RefMode>(
    w: &mut Compartments<M>,
    host: &Party,
    bad: &Party,
    checks: &mut Checks,
) -> Result<(), GcError> {
    let cv = GcError::CompartmentViolation;
    let leaked = w.heap(host.id)?.root_get(host.roots, 0)?;
    let h = w.heap_mut(bad.id)?;
    let mine = h.root_get(bad.roots, 0)?;
    let slot = Heap::<M>::ref_offset(0);
    checks.refused(
        "plugin stores an unsealed host reference in its object",
        h.set_ref(&mine, slot, &leaked),
        cv.clone(),
    );
    checks.refused(
        "plugin stores an unsealed host reference in its root region",
        h.root_set(bad.roots, 0, &leaked),
        cv.clone(),
    );
    checks.refused(
        "plugin keeps an unsealed host reference in a persistent",
        h.persist(&leaked).map(|_| ()),
        cv.clone(),
    );
    checks.refused(
        "plugin seals a host object as its own",
        w.seal(bad.id, &leaked, host.id).map(|_| ()),
        cv,
    );
    for g in 0..GIFTS {
        let imports = holder(w, bad)?;
        let s = w.get_sealed(bad.id, &imports, Heap::<M>::ref_offset(g))?;
        checks.refused(
            "plugin opens a host API object it was given",
            w.unseal(bad.id, &s).map(|_| ()),
            GcError::UnsealDenied,
        );
    }
    Ok(())
}

fn print_report<M: RefMode>(
    w: &Compartments<M>,
    all: &WholeHeapStats,
    host: &Party,
    plugins: &[Party],
) {
    let names: Vec<String> = plugins.iter().map(|p| p.id.index().to_string()).collect();
    println!(
        "\ncompartment {} is the host, {} the plugins ({} misbehaved and was unloaded)\n",
        host.id.index(),
        names.join(", "),
        names.last().map_or("", String::as_str)
    );
    println!("non-local accesses (from = the compartment acting or holding, to = the owner):");
    print!("{}", w.report_table());
    println!(
        "\nwhole-heap collection: {} exports released, {} live; marking {:.3} ms of a {:.3} ms pause; {} compartments collected",
        all.exports_released,
        all.exports_live,
        all.marking.as_secs_f64() * 1e3,
        all.pause.as_secs_f64() * 1e3,
        all.collections.len()
    );
    for (i, c) in &all.collections {
        println!(
            "  compartment {i}: {} live objects, {} freed, {:.3} ms",
            c.live_objects,
            c.objects_freed,
            c.pause.as_secs_f64() * 1e3
        );
    }
}
