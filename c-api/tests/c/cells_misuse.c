/* Misusing the binding profile: every case gets its own status, and the
 * cell heap is intact afterwards (it verifies, it still allocates and
 * collects, the live cells survive). */
#include "common.h"
#include <stdbool.h>

typedef struct {
  capgc_cells_t *cells;
  uint32_t t_node, t_leaf;
  void *root;
  void *report; /* an extra pointer the roots callback reports */
  bool shallow; /* ... through capgc_cell_visit_shallow */
  bool fresh;   /* what that call said */
  int reenter;  /* what the callbacks try */
  capgc_status_t reentry_status;
  capgc_cell_visitor_t *saved;
  size_t released;
} vm_t;

enum { NONE, ALLOC_IN_TRACE, COLLECT_IN_RELEASE, VISIT_IN_RELEASE, SAVE_VISITOR };

static void roots(void *p, capgc_cell_visitor_t *v) {
  vm_t *vm = p;
  capgc_cell_visit(v, vm->root);
  if (vm->report && vm->shallow) {
    vm->fresh = true;
    vm->reentry_status = capgc_cell_visit_shallow(v, vm->report, &vm->fresh);
  } else if (vm->report) {
    vm->reentry_status = capgc_cell_visit(v, vm->report);
  }
  if (vm->reenter == SAVE_VISITOR) vm->saved = v;
}

static void trace(void *p, void *cell, uint32_t type, capgc_cell_visitor_t *v) {
  vm_t *vm = p;
  (void)type;
  capgc_cell_visit(v, *(void **)cell);
  if (vm->reenter == ALLOC_IN_TRACE) {
    void *x;
    vm->reentry_status = capgc_cell_alloc(vm->cells, vm->t_leaf, 8, &x);
  }
}

static void release(void *p, void *cell, uint32_t type) {
  vm_t *vm = p;
  (void)cell;
  (void)type;
  vm->released++;
  if (vm->reenter == COLLECT_IN_RELEASE) vm->reentry_status = capgc_cells_collect(vm->cells, NULL);
  if (vm->reenter == VISIT_IN_RELEASE && vm->saved)
    vm->reentry_status = capgc_cell_visit(vm->saved, cell);
}

static void *node(vm_t *vm, void *next) {
  void *p;
  CHECK(capgc_cell_alloc(vm->cells, vm->t_node, 16, &p));
  *(void **)p = next;
  return p;
}

/* The heap verifies, allocates, collects, and the rooted chain survives. */
static void intact(vm_t *vm) {
  size_t n = 9;
  CHECK(capgc_cells_verify(vm->cells, &n));
  ASSERT(n == 0);
  int saved = vm->reenter;
  void *report = vm->report;
  vm->reenter = NONE;
  vm->report = NULL;
  void *x;
  CHECK(capgc_cells_collect(vm->cells, NULL));
  CHECK(capgc_cell_alloc(vm->cells, vm->t_leaf, 100, &x));
  bool owns = false;
  CHECK(capgc_cells_owns(vm->cells, vm->root, &owns));
  ASSERT(owns);
  CHECK(capgc_cells_owns(vm->cells, *(void **)vm->root, &owns));
  ASSERT(owns);
  vm->reenter = saved;
  vm->report = report;
}

static void run(uint32_t checked) {
  vm_t vm = {0};
  capgc_config_t cfg = capgc_config_default();
  cfg.mode = CAPGC_MODE_NATIVE;
  cfg.trigger = CAPGC_TRIGGER_MANUAL;
  cfg.checked = checked;
  cfg.limit = 1 << 20;
  capgc_cell_callbacks_t cb = {.vm = &vm, .roots = roots, .release = release};

  /* Creation. */
  capgc_cells_t *c = NULL;
  EXPECT(capgc_cells_new(&cfg, &cb, NULL), CAPGC_E_NULL_ARGUMENT);
  capgc_config_t bad = cfg;
  bad.mode = CAPGC_MODE_SOFTCHERI;
  EXPECT(capgc_cells_new(&bad, &cb, &c), CAPGC_E_BINDING_PROFILE);
  bad = cfg;
  bad.trigger = 7;
  EXPECT(capgc_cells_new(&bad, &cb, &c), CAPGC_E_INVALID_ENUM);
  bad = cfg;
  bad.mode = 99;
  EXPECT(capgc_cells_new(&bad, &cb, &c), CAPGC_E_INVALID_ENUM);
  bad = cfg;
  bad.limit = 100;
  EXPECT(capgc_cells_new(&bad, &cb, &c), CAPGC_E_INVALID_CONFIG);
  /* The profile's settings are refused by the object heap. */
  capgc_heap_t *h = NULL;
  bad = capgc_config_default();
  bad.trigger = CAPGC_TRIGGER_MANUAL;
  EXPECT(capgc_heap_new(&bad, &h), CAPGC_E_INVALID_CONFIG);
  bad = capgc_config_default();
  bad.checked = 1;
  EXPECT(capgc_heap_new(&bad, &h), CAPGC_E_INVALID_CONFIG);

  CHECK(capgc_cells_new(&cfg, &cb, &vm.cells));
  EXPECT(capgc_cell_type(vm.cells, trace, NULL), CAPGC_E_NULL_ARGUMENT);
  CHECK(capgc_cell_type(vm.cells, trace, &vm.t_node));
  CHECK(capgc_cell_type(vm.cells, NULL, &vm.t_leaf));
  vm.root = node(&vm, node(&vm, NULL));
  intact(&vm);

  /* Null heap, unknown type, sizes that can never fit. */
  void *x = NULL;
  EXPECT(capgc_cell_alloc(NULL, vm.t_leaf, 8, &x), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_cell_alloc(vm.cells, 77, 8, &x), CAPGC_E_UNKNOWN_TYPE);
  EXPECT(capgc_cell_alloc(vm.cells, vm.t_leaf, SIZE_MAX, &x), CAPGC_E_OUT_OF_MEMORY);
  EXPECT(capgc_cell_alloc(vm.cells, vm.t_leaf, (size_t)1 << 40, &x), CAPGC_E_OUT_OF_MEMORY);
  EXPECT(capgc_cell_alloc(vm.cells, vm.t_leaf, 8, NULL), CAPGC_E_NULL_ARGUMENT);
  intact(&vm);

  /* A manual heap fills up and stays usable. */
  int n = 0;
  capgc_status_t s;
  capgc_cell_stats_t st;
  CHECK(capgc_cells_stats(vm.cells, &st));
  uint64_t before = st.collections;
  while ((s = capgc_cell_alloc(vm.cells, vm.t_leaf, 512, &x)) == CAPGC_OK) n++;
  EXPECT(s, CAPGC_E_OUT_OF_MEMORY);
  ASSERT(n > 1000);
  CHECK(capgc_cells_stats(vm.cells, &st));
  ASSERT(st.collections == before); /* none on its own */
  intact(&vm);

  /* Wrong phase: collection calls outside a collection, allocation and a
   * second begin inside one. */
  bool m;
  EXPECT(capgc_cells_mark(vm.cells, vm.root), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_drain(vm.cells), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_is_marked(vm.cells, vm.root, &m), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_finish(vm.cells, NULL), CAPGC_E_WRONG_PHASE);
  CHECK(capgc_cells_begin(vm.cells));
  EXPECT(capgc_cells_begin(vm.cells), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cell_alloc(vm.cells, vm.t_leaf, 8, &x), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_collect(vm.cells, NULL), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_release_all(vm.cells, NULL), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_is_marked(vm.cells, &vm, &m), CAPGC_E_NOT_A_CELL);
  EXPECT(capgc_cells_mark(vm.cells, (char *)vm.root - 8), CAPGC_E_NOT_A_CELL); /* its header */
  CHECK(capgc_cells_finish(vm.cells, NULL));
  intact(&vm);

  /* Incremental marking out of order: a step outside a cycle, a second
   * start, finishing before the atomic phase, a step inside it or after
   * the cycle; collect and release_all inside one. */
  bool done = false;
  EXPECT(capgc_cells_step(vm.cells, 10, &done), CAPGC_E_WRONG_PHASE);
  CHECK(capgc_cells_start(vm.cells));
  EXPECT(capgc_cells_start(vm.cells), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_finish(vm.cells, NULL), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_collect(vm.cells, NULL), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_release_all(vm.cells, NULL), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_mark(vm.cells, (char *)vm.root - 8), CAPGC_E_NOT_A_CELL); /* a barrier lies */
  EXPECT(capgc_cells_step(NULL, 10, &done), CAPGC_E_NULL_ARGUMENT);
  CHECK(capgc_cells_step(vm.cells, 0, &done)); /* a zero budget does nothing */
  ASSERT(!done);
  CHECK(capgc_cells_step(vm.cells, 1000, NULL));
  CHECK(capgc_cells_step(vm.cells, 1000, &done));
  ASSERT(done);
  CHECK(capgc_cells_begin(vm.cells));
  EXPECT(capgc_cells_step(vm.cells, 10, &done), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_start(vm.cells), CAPGC_E_WRONG_PHASE);
  CHECK(capgc_cells_finish(vm.cells, NULL));
  EXPECT(capgc_cells_step(vm.cells, 10, &done), CAPGC_E_WRONG_PHASE);
  vm.reenter = ALLOC_IN_TRACE; /* a step's trace re-entering: refused */
  vm.reentry_status = CAPGC_OK;
  CHECK(capgc_cells_start(vm.cells));
  CHECK(capgc_cells_step(vm.cells, 1000, &done));
  EXPECT(vm.reentry_status, CAPGC_E_BUSY);
  vm.reenter = NONE;
  CHECK(capgc_cells_begin(vm.cells));
  CHECK(capgc_cells_finish(vm.cells, NULL));
  intact(&vm);

  /* Lazy sweeping out of order: begin_sweep outside marking's end, a
   * sweep step outside a sweep; every collection call inside one. */
  EXPECT(capgc_cells_begin_sweep(vm.cells), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_sweep(vm.cells, 1, NULL, &done), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_sweep_some(vm.cells, 1, 1, NULL, &done), CAPGC_E_WRONG_PHASE);
  CHECK(capgc_cells_start(vm.cells));
  EXPECT(capgc_cells_begin_sweep(vm.cells), CAPGC_E_WRONG_PHASE);
  CHECK(capgc_cells_begin(vm.cells));
  EXPECT(capgc_cells_sweep(vm.cells, 1, NULL, &done), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cell_alloc(vm.cells, vm.t_leaf, 8, &x), CAPGC_E_WRONG_PHASE);
  CHECK(capgc_cells_begin_sweep(vm.cells));
  EXPECT(capgc_cells_begin_sweep(vm.cells), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_begin(vm.cells), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_start(vm.cells), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_step(vm.cells, 1, &done), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_finish(vm.cells, NULL), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_collect(vm.cells, NULL), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_release_all(vm.cells, NULL), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_mark(vm.cells, vm.root), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_is_marked(vm.cells, vm.root, &m), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_sweep(NULL, 1, NULL, &done), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_cells_sweep_some(NULL, 1, 1, NULL, &done), CAPGC_E_NULL_ARGUMENT);
  CHECK(capgc_cell_alloc(vm.cells, vm.t_leaf, 8, &x)); /* the mutator allocates */
  done = false;
  while (!done) CHECK(capgc_cells_sweep_some(vm.cells, 1, 1, NULL, &done));
  EXPECT(capgc_cells_sweep(vm.cells, 1, NULL, &done), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_sweep_some(vm.cells, 1, 1, NULL, &done), CAPGC_E_WRONG_PHASE);
  intact(&vm);

  /* Callbacks that re-enter the heap: refused, the collection completes. */
  vm.reenter = ALLOC_IN_TRACE;
  vm.reentry_status = CAPGC_OK;
  CHECK(capgc_cells_collect(vm.cells, NULL));
  EXPECT(vm.reentry_status, CAPGC_E_BUSY);
  node(&vm, NULL); /* garbage, so release runs */
  vm.reenter = COLLECT_IN_RELEASE;
  vm.reentry_status = CAPGC_OK;
  CHECK(capgc_cells_collect(vm.cells, NULL));
  EXPECT(vm.reentry_status, CAPGC_E_BUSY);
  vm.reenter = NONE;
  intact(&vm);

  /* A visitor kept past its callback, used from release and afterwards. */
  vm.reenter = SAVE_VISITOR;
  CHECK(capgc_cells_collect(vm.cells, NULL));
  ASSERT(vm.saved != NULL);
  EXPECT(capgc_cell_visit(vm.saved, vm.root), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cell_visitor_is_marked(vm.saved, vm.root, &m), CAPGC_E_WRONG_PHASE);
  bool fresh = true;
  EXPECT(capgc_cell_visit_shallow(vm.saved, vm.root, &fresh), CAPGC_E_WRONG_PHASE);
  ASSERT(fresh); /* nothing written for a refused visitor */
  node(&vm, NULL);
  vm.reenter = VISIT_IN_RELEASE;
  vm.reentry_status = CAPGC_OK;
  CHECK(capgc_cells_collect(vm.cells, NULL));
  EXPECT(vm.reentry_status, CAPGC_E_WRONG_PHASE);
  vm.reenter = NONE;
  EXPECT(capgc_cell_visit(NULL, vm.root), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_cell_visit_shallow(NULL, vm.root, &fresh), CAPGC_E_NULL_ARGUMENT);
  intact(&vm);

  /* Lying roots: a freed cell's address, the middle of a header, a C
   * stack address. The first two are refused in every mode, the third in
   * checked mode; none is marked; the live cells survive. */
  void *dead;
  CHECK(capgc_cell_alloc(vm.cells, vm.t_leaf, 24, &dead));
  void *keep;
  CHECK(capgc_cell_alloc(vm.cells, vm.t_leaf, 24, &keep));
  *(void **)(*(void **)vm.root) = keep; /* keeps dead's block in use */
  CHECK(capgc_cells_collect(vm.cells, NULL));
  void *lies[] = {dead, (char *)keep - 4, &n};
  for (int i = 0; i < 3; i++) {
    vm.report = lies[i];
    vm.reentry_status = CAPGC_OK;
    capgc_status_t want = (i < 2 || checked) ? CAPGC_E_NOT_A_CELL : CAPGC_OK;
    EXPECT(capgc_cells_collect(vm.cells, NULL), want);
    EXPECT(vm.reentry_status, want);
    bool o = true;
    CHECK(capgc_cells_owns(vm.cells, dead, &o));
    ASSERT(!o);
    vm.report = NULL;
    intact(&vm);
  }
  CHECK(capgc_cells_stats(vm.cells, &st));
  ASSERT(st.bad_pointers == (checked ? 5u : 4u)); /* with the header marks above */

  /* The same lies through a shallow visit: the same statuses, never
   * fresh, counted as bad pointers the same way. */
  uint64_t bad_before = st.bad_pointers;
  vm.shallow = true;
  for (int i = 0; i < 3; i++) {
    vm.report = lies[i];
    vm.reentry_status = CAPGC_OK;
    capgc_status_t want = (i < 2 || checked) ? CAPGC_E_NOT_A_CELL : CAPGC_OK;
    EXPECT(capgc_cells_collect(vm.cells, NULL), want);
    EXPECT(vm.reentry_status, want);
    ASSERT(!vm.fresh);
    vm.report = NULL;
    intact(&vm);
  }
  vm.shallow = false;
  CHECK(capgc_cells_stats(vm.cells, &st));
  ASSERT(st.bad_pointers - bad_before == (checked ? 3u : 2u));

  /* Queries on things that are not cells. */
  size_t sz;
  EXPECT(capgc_cell_size(vm.cells, &sz, &sz), CAPGC_E_NOT_A_CELL);
  EXPECT(capgc_cell_size(vm.cells, dead, &sz), CAPGC_E_NOT_A_CELL);
  EXPECT(capgc_cells_owns(vm.cells, vm.root, NULL), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_cells_stats(NULL, &st), CAPGC_E_NULL_ARGUMENT);

  /* A header the VM overwrote (a buffer overflow in the VM): the
   * verifier names it; the cell is never traced as anything. */
  void *victim;
  CHECK(capgc_cell_alloc(vm.cells, vm.t_leaf, 24, &victim));
  ((uint64_t *)victim)[-1] = 0xdead;
  size_t nv = 0;
  EXPECT(capgc_cells_verify(vm.cells, &nv), CAPGC_E_CORRUPT);
  ASSERT(nv == 1);
  ((uint64_t *)victim)[-1] = vm.t_leaf; /* repaired */
  intact(&vm);

  uint64_t released = 0;
  CHECK(capgc_cells_release_all(vm.cells, &released));
  ASSERT(released >= 3);
  capgc_cells_free(vm.cells);
  capgc_cells_free(NULL);
}

int main(void) {
  g_where = "unchecked";
  run(0);
  g_where = "checked";
  run(1);
  puts("cells misuse: every case refused with its status, heap intact (unchecked, checked)");
  return 0;
}
