//! `CAPGC_ZEAL` is read at heap creation and extends the configuration; a
//! malformed value refuses the heap. One test in its own binary: it sets
//! the process's environment, which every heap created meanwhile reads.

use capability_heap::Native;
use gc_core::{CellConfig, CellHeap, ConfigError, GcError, Heap, HeapConfig, Zeal};

#[test]
fn the_environment_extends_the_configuration_and_bad_values_are_refused() {
    let config = || HeapConfig {
        log: false,
        zeal: Zeal {
            collect_every: 9,
            ..Zeal::default()
        },
        ..HeapConfig::default()
    };
    std::env::set_var(Zeal::ENV, "verify, poison");
    let h = Heap::<Native>::new(config()).unwrap();
    let z = h.config().zeal;
    assert_eq!(
        (z.collect_every, z.verify, z.poison, z.move_all),
        (9, true, true, false)
    );
    std::env::set_var(Zeal::ENV, "collect:3,move-all");
    let z = Heap::<Native>::new(config()).unwrap().config().zeal;
    assert_eq!((z.collect_every, z.verify, z.move_all), (3, false, true));
    let c = CellHeap::new(CellConfig::default()).unwrap().config().zeal;
    assert_eq!((c.collect_every, c.move_all), (3, true));
    for bad in ["collect:0", "verfy", "collect:x"] {
        std::env::set_var(Zeal::ENV, bad);
        let e = Heap::<Native>::new(config()).err();
        assert_eq!(e, Some(GcError::InvalidConfig(ConfigError::Zeal)), "{bad}");
        assert!(e.unwrap().to_string().contains("CAPGC_ZEAL"));
        assert!(CellHeap::new(CellConfig::default()).is_err(), "{bad}");
    }
    std::env::remove_var(Zeal::ENV);
    assert_eq!(
        Heap::<Native>::new(config())
            .unwrap()
            .config()
            .zeal
            .collect_every,
        9
    );
}
