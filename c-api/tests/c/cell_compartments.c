/* The binding profile's compartments from C: allocation in the current
 * compartment's own memory, the per-pair report at every collection,
 * weak references counted apart, strict mode with a declared crossing, and misuse (wrong ids, another
 * heap's, a destroyed one, the wrong phase, null), in Native and P128,
 * unchecked and checked; the heap is intact afterwards. */
#include "common.h"
#include <stdbool.h>

/* A node: a count, then that many pointers. */
typedef struct {
  uint64_t n;
  void *p[];
} node_t;

typedef struct {
  capgc_cells_t *cells;
  uint32_t t_node;
  void *roots[8];
} vm_t;

static void roots(void *p, capgc_cell_visitor_t *v) {
  vm_t *vm = p;
  for (int i = 0; i < 8; i++) capgc_cell_visit(v, vm->roots[i]);
}

static void trace(void *p, void *cell, uint32_t type, capgc_cell_visitor_t *v) {
  (void)p;
  (void)type;
  node_t *n = cell;
  for (uint64_t i = 0; i < n->n; i++) capgc_cell_visit(v, n->p[i]);
}

static node_t *node(vm_t *vm, uint64_t n) {
  void *p;
  CHECK(capgc_cell_alloc(vm->cells, vm->t_node, 8 + 8 * n, &p));
  node_t *x = p;
  x->n = n;
  for (uint64_t i = 0; i < n; i++) x->p[i] = NULL;
  return x;
}

static capgc_cell_compartment_t of(vm_t *vm, const void *p) {
  capgc_cell_compartment_t c = 0;
  CHECK(capgc_cells_compartment_of(vm->cells, p, &c));
  return c;
}

static capgc_cell_edges_t edges(vm_t *vm, capgc_cell_compartment_t f, capgc_cell_compartment_t t) {
  capgc_cell_edges_t e;
  CHECK(capgc_cells_compartment_edges(vm->cells, f, t, &e));
  return e;
}

/* A manual-trigger configuration in `mode`, `checked` or not. */
static capgc_config_t config(uint32_t mode, uint32_t checked) {
  capgc_config_t cfg = capgc_config_default();
  cfg.mode = mode;
  cfg.trigger = CAPGC_TRIGGER_MANUAL;
  cfg.checked = checked;
  cfg.limit = 64u << 20;
  return cfg;
}

/* `vm`'s cell heap, with its node type, from `cfg`. */
static void open_vm(vm_t *vm, const capgc_config_t *cfg, capgc_cell_release_fn release) {
  capgc_cell_callbacks_t cb = {.vm = vm, .roots = roots, .release = release};
  CHECK(capgc_cells_new(cfg, &cb, &vm->cells));
  CHECK(capgc_cell_type(vm->cells, trace, &vm->t_node));
}

static void run(uint32_t mode, uint32_t checked) {
  vm_t vm = {0};
  capgc_config_t cfg = config(mode, checked);
  open_vm(&vm, &cfg, NULL);

  capgc_cell_compartment_t root, a, b, cur;
  CHECK(capgc_cells_compartment_root(vm.cells, &root));
  CHECK(capgc_cells_compartment_current(vm.cells, &cur));
  ASSERT(cur == root && root != 0);
  CHECK(capgc_cells_compartment_new(vm.cells, &a));
  CHECK(capgc_cells_compartment_new(vm.cells, &b));
  ASSERT(a != b && a != root);

  /* Allocation goes to the current compartment. */
  node_t *r = node(&vm, 4);
  CHECK(capgc_cells_compartment_enter(vm.cells, a));
  node_t *xa = node(&vm, 2);
  node_t *big = node(&vm, 20000); /* a large cell */
  CHECK(capgc_cells_compartment_enter(vm.cells, b));
  node_t *xb = node(&vm, 2), *yb = node(&vm, 2), *proxy = node(&vm, 1);
  CHECK(capgc_cells_compartment_current(vm.cells, &cur));
  ASSERT(cur == b);
  ASSERT(of(&vm, r) == root && of(&vm, xa) == a && of(&vm, big) == a);
  ASSERT(of(&vm, (char *)xb + 8) == b && of(&vm, proxy) == b);

  /* The report: root->a, a->b twice, b->a, b->b local. */
  r->p[0] = xa;
  r->p[1] = xb;
  r->p[2] = big;
  xa->p[0] = xb;
  xa->p[1] = yb;
  yb->p[0] = xa;
  xb->p[0] = yb;
  vm.roots[0] = r;
  vm.roots[2] = proxy;
  CHECK(capgc_cells_collect(vm.cells, NULL));
  ASSERT(edges(&vm, root, a).last == 2 && edges(&vm, root, b).last == 1);
  ASSERT(edges(&vm, a, b).last == 2 && edges(&vm, b, a).last == 1);
  ASSERT(edges(&vm, b, b).last == 0 && edges(&vm, a, root).last == 0);
  xa->p[1] = NULL;
  CHECK(capgc_cells_collect(vm.cells, NULL));
  ASSERT(edges(&vm, a, b).last == 1 && edges(&vm, a, b).total == 3);

  /* Strict mode at the store barrier. */
  CHECK(capgc_cells_store_check(vm.cells, xa, xb)); /* not strict yet */
  CHECK(capgc_cells_set_strict(vm.cells, true));
  CHECK(capgc_cells_store_check(vm.cells, xb, yb));
  CHECK(capgc_cells_store_check(vm.cells, xb, NULL));
  EXPECT(capgc_cells_store_check(vm.cells, xa, yb), CAPGC_E_COMPARTMENT_VIOLATION);
  EXPECT(capgc_cells_store_check(vm.cells, (char *)yb + 8, xa), CAPGC_E_COMPARTMENT_VIOLATION);
  ASSERT(edges(&vm, a, b).refused == 1 && edges(&vm, b, a).refused == 1);
  CHECK(capgc_cells_crossing_declare(vm.cells, proxy));
  CHECK(capgc_cells_store_check(vm.cells, xa, proxy));
  CHECK(capgc_cells_store_check(vm.cells, proxy, xa));
  ASSERT(edges(&vm, a, b).refused == 1);
  int outside = 0;
  EXPECT(capgc_cells_store_check(vm.cells, xa, &outside),
         checked ? CAPGC_E_NOT_A_CELL : CAPGC_OK);
  EXPECT(capgc_cells_store_check(vm.cells, &outside, xa),
         checked ? CAPGC_E_NOT_A_CELL : CAPGC_OK);
  EXPECT(capgc_cells_crossing_declare(vm.cells, &outside), CAPGC_E_NOT_A_CELL);
  EXPECT(capgc_cells_crossing_declare(vm.cells, NULL), CAPGC_E_NOT_A_CELL);
  CHECK(capgc_cells_set_strict(vm.cells, false));
  CHECK(capgc_cells_store_check(vm.cells, xa, yb));

  /* Misuse: ids. */
  capgc_cells_t *other;
  CHECK(capgc_cells_new(&cfg, NULL, &other));
  capgc_cell_compartment_t foreign;
  CHECK(capgc_cells_compartment_root(other, &foreign));
  EXPECT(capgc_cells_compartment_enter(vm.cells, foreign), CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_cells_compartment_edges(vm.cells, foreign, a, &(capgc_cell_edges_t){0}),
         CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_cells_compartment_enter(other, a), CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_cells_compartment_destroy(vm.cells, foreign), CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_cells_compartment_collect(vm.cells, foreign, NULL), CAPGC_E_WRONG_HEAP);
  capgc_cells_free(other);
  /* A freed heap's id is still another heap's, never this one's. */
  EXPECT(capgc_cells_compartment_enter(vm.cells, foreign), CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_cells_compartment_enter(vm.cells, UINT64_MAX), CAPGC_E_INVALID_COMPARTMENT);
  EXPECT(capgc_cells_compartment_collect(vm.cells, UINT64_MAX, NULL),
         CAPGC_E_INVALID_COMPARTMENT);
  EXPECT(capgc_cells_compartment_enter(vm.cells, 0), CAPGC_E_INVALID_COMPARTMENT);
  EXPECT(capgc_cells_compartment_enter(vm.cells, 3), CAPGC_E_INVALID_COMPARTMENT);
  EXPECT(capgc_cells_compartment_enter(vm.cells, root + 99), CAPGC_E_INVALID_COMPARTMENT);
  EXPECT(capgc_cells_compartment_enter(vm.cells, root + (1ull << 20)),
         CAPGC_E_INVALID_COMPARTMENT);
  EXPECT(capgc_cells_compartment_destroy(vm.cells, root), CAPGC_E_COMPARTMENT_VIOLATION);
  EXPECT(capgc_cells_compartment_destroy(vm.cells, b), CAPGC_E_COMPARTMENT_VIOLATION); /* current */
  EXPECT(capgc_cells_compartment_of(vm.cells, &outside, &cur), CAPGC_E_NOT_A_CELL);
  EXPECT(capgc_cells_compartment_new(vm.cells, NULL), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_cells_compartment_edges(vm.cells, a, b, NULL), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_cells_compartment_of(vm.cells, xa, NULL), CAPGC_E_NULL_ARGUMENT);

  /* Misuse: the wrong phase. */
  CHECK(capgc_cells_begin(vm.cells));
  EXPECT(capgc_cells_compartment_enter(vm.cells, a), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_compartment_new(vm.cells, &cur), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_cells_compartment_destroy(vm.cells, a), CAPGC_E_WRONG_PHASE);
  CHECK(capgc_cells_finish(vm.cells, NULL));
  CHECK(capgc_cells_start(vm.cells));
  CHECK(capgc_cells_compartment_enter(vm.cells, a)); /* allowed: the mutator runs */
  EXPECT(capgc_cells_compartment_destroy(vm.cells, b), CAPGC_E_WRONG_PHASE);
  CHECK(capgc_cells_begin(vm.cells));
  CHECK(capgc_cells_finish(vm.cells, NULL));

  /* A destroyed compartment: its id is refused, its referenced cells
  ** live, and die once unreferenced. */
  CHECK(capgc_cells_compartment_enter(vm.cells, root));
  uint64_t held = 0;
  CHECK(capgc_cells_compartment_held(vm.cells, b, &held));
  ASSERT(held >= 1);
  CHECK(capgc_cells_compartment_destroy(vm.cells, b));
  EXPECT(capgc_cells_compartment_enter(vm.cells, b), CAPGC_E_COMPARTMENT_DESTROYED);
  EXPECT(capgc_cells_compartment_destroy(vm.cells, b), CAPGC_E_COMPARTMENT_DESTROYED);
  EXPECT(capgc_cells_compartment_edges(vm.cells, a, b, &(capgc_cell_edges_t){0}),
         CAPGC_E_COMPARTMENT_DESTROYED);
  CHECK(capgc_cells_collect(vm.cells, NULL));
  bool owns = false;
  CHECK(capgc_cells_owns(vm.cells, yb, &owns));
  ASSERT(owns);
  ASSERT(of(&vm, yb) == b); /* a cell still says where it lives */
  CHECK(capgc_cells_compartment_held(vm.cells, b, &held));
  ASSERT(held >= 1); /* still referenced: teardown deferred */
  r->p[1] = NULL;
  vm.roots[2] = NULL; /* the proxy */
  xa->p[0] = NULL;
  yb->p[0] = NULL;
  CHECK(capgc_cells_collect(vm.cells, NULL));
  CHECK(capgc_cells_owns(vm.cells, yb, &owns));
  ASSERT(!owns);
  /* Torn down: nothing of b is referenced, nothing of it held. */
  CHECK(capgc_cells_compartment_held(vm.cells, b, &held));
  ASSERT(held == 0);
  EXPECT(capgc_cells_compartment_held(vm.cells, b, NULL), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_cells_compartment_held(vm.cells, 7, &held), CAPGC_E_INVALID_COMPARTMENT);

  /* Intact: verifies, allocates in a new compartment, collects. */
  capgc_cell_compartment_t c;
  CHECK(capgc_cells_compartment_new(vm.cells, &c));
  CHECK(capgc_cells_compartment_enter(vm.cells, c));
  node_t *z = node(&vm, 1);
  z->p[0] = r;
  vm.roots[1] = z;
  CHECK(capgc_cells_collect(vm.cells, NULL));
  ASSERT(of(&vm, z) == c && edges(&vm, c, root).last == 1);
  size_t n = 9;
  CHECK(capgc_cells_verify(vm.cells, &n));
  ASSERT(n == 0);
  capgc_cells_free(vm.cells);
}

/* One compartment collected alone: its garbage goes, what the roots and
** other compartments reach stays (a store reported to the barrier
** included), nothing of the other compartments is released. */
static size_t released;
static void count_release(void *p, void *cell, uint32_t type) {
  (void)p;
  (void)cell;
  (void)type;
  released++;
}

static void independent(uint32_t mode, uint32_t checked) {
  vm_t vm = {0};
  capgc_config_t cfg = config(mode, checked);
  open_vm(&vm, &cfg, count_release);
  capgc_cell_compartment_t big, small;
  CHECK(capgc_cells_compartment_new(vm.cells, &big));
  CHECK(capgc_cells_compartment_new(vm.cells, &small));
  node_t *r = node(&vm, 2);
  CHECK(capgc_cells_compartment_enter(vm.cells, big));
  node_t *bigroot = node(&vm, 20000);
  for (int i = 0; i < 20000; i++) bigroot->p[i] = node(&vm, 0);
  for (int i = 0; i < 1000; i++) node(&vm, 0); /* big's garbage */
  CHECK(capgc_cells_compartment_enter(vm.cells, small));
  node_t *s1 = node(&vm, 1);
  for (int i = 0; i < 50; i++) node(&vm, 0); /* small's garbage */
  bigroot->p[0] = s1; /* big -> small, seen by the whole collection */
  vm.roots[0] = r;
  vm.roots[1] = bigroot;
  CHECK(capgc_cells_collect(vm.cells, NULL));
  node_t *s2 = node(&vm, 1);
  for (int i = 0; i < 70; i++) node(&vm, 0); /* more of small's garbage */
  r->p[0] = s2; /* root -> small after it: reported */
  CHECK(capgc_cells_store_check(vm.cells, r, s2));
  released = 0;
  capgc_cell_cycle_t cy;
  CHECK(capgc_cells_compartment_collect(vm.cells, small, &cy));
  if (cy.freed_cells != 70 || released != 70)
    fprintf(stderr, "freed %llu, released %zu\n", (unsigned long long)cy.freed_cells, released);
  ASSERT(cy.freed_cells == 70 && released == 70);
  bool owns = false;
  CHECK(capgc_cells_owns(vm.cells, s1, &owns));
  ASSERT(owns);
  CHECK(capgc_cells_owns(vm.cells, s2, &owns));
  ASSERT(owns);
  size_t n = 9;
  CHECK(capgc_cells_verify(vm.cells, &n));
  ASSERT(n == 0);
  /* misuse */
  CHECK(capgc_cells_begin(vm.cells));
  EXPECT(capgc_cells_compartment_collect(vm.cells, small, NULL), CAPGC_E_WRONG_PHASE);
  CHECK(capgc_cells_finish(vm.cells, NULL));
  EXPECT(capgc_cells_compartment_collect(vm.cells, 7, NULL), CAPGC_E_INVALID_COMPARTMENT);
  CHECK(capgc_cells_compartment_enter(vm.cells, big));
  CHECK(capgc_cells_compartment_destroy(vm.cells, small));
  EXPECT(capgc_cells_compartment_collect(vm.cells, small, NULL), CAPGC_E_COMPARTMENT_DESTROYED);
  CHECK(capgc_cells_compartment_collect(vm.cells, big, NULL));
  CHECK(capgc_cells_verify(vm.cells, &n));
  ASSERT(n == 0);
  capgc_cells_free(vm.cells);
}

/* Weak references the VM keeps, reported while marking, counted apart
 * from the traced edges; misuse gets its own status. */
static void weak(uint32_t mode, uint32_t checked) {
  vm_t vm = {0}, other = {0};
  capgc_config_t cfg = config(mode, checked);
  open_vm(&vm, &cfg, NULL);
  open_vm(&other, &cfg, NULL);
  capgc_cell_compartment_t root, a, elsewhere;
  CHECK(capgc_cells_compartment_root(vm.cells, &root));
  CHECK(capgc_cells_compartment_new(vm.cells, &a));
  CHECK(capgc_cells_compartment_new(other.cells, &elsewhere));
  node_t *r = node(&vm, 1);
  CHECK(capgc_cells_compartment_enter(vm.cells, a));
  node_t *xa = node(&vm, 1), *ya = node(&vm, 1);
  vm.roots[0] = r;
  vm.roots[1] = xa;
  vm.roots[2] = ya;
  EXPECT(capgc_cells_weak_edge(vm.cells, r, xa), CAPGC_E_WRONG_PHASE);
  CHECK(capgc_cells_begin(vm.cells));
  CHECK(capgc_cells_weak_edge(vm.cells, r, xa));
  CHECK(capgc_cells_weak_edge(vm.cells, r, (char *)ya + 8)); /* interior */
  CHECK(capgc_cells_weak_edge(vm.cells, xa, ya));            /* local */
  EXPECT(capgc_cells_weak_edge(vm.cells, r, (void *)16), CAPGC_E_NOT_A_CELL);
  EXPECT(capgc_cells_weak_edge(vm.cells, NULL, xa), CAPGC_E_NOT_A_CELL);
  CHECK(capgc_cells_finish(vm.cells, NULL));
  capgc_cell_edges_t w;
  CHECK(capgc_cells_compartment_weak_edges(vm.cells, root, a, &w));
  ASSERT(w.last == 2 && w.total == 2 && w.refused == 0);
  CHECK(capgc_cells_compartment_weak_edges(vm.cells, a, a, &w));
  ASSERT(w.last == 0);
  ASSERT(edges(&vm, root, a).last == 0); /* not traced edges */
  CHECK(capgc_cells_collect(vm.cells, NULL));
  CHECK(capgc_cells_compartment_weak_edges(vm.cells, root, a, &w));
  ASSERT(w.last == 0 && w.total == 2);
  EXPECT(capgc_cells_compartment_weak_edges(vm.cells, root, elsewhere, &w), CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_cells_compartment_weak_edges(vm.cells, root, 12345, &w), CAPGC_E_INVALID_COMPARTMENT);
  EXPECT(capgc_cells_compartment_weak_edges(vm.cells, root, a, NULL), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_cells_weak_edge(NULL, r, xa), CAPGC_E_NULL_ARGUMENT);
  size_t n = 9;
  CHECK(capgc_cells_verify(vm.cells, &n));
  ASSERT(n == 0);
  capgc_cells_free(other.cells);
  capgc_cells_free(vm.cells);
}

int main(void) {
  const uint32_t modes[] = {CAPGC_MODE_NATIVE, CAPGC_MODE_P128};
  for (int m = 0; m < 2; m++)
    for (uint32_t checked = 0; checked < 2; checked++) {
      g_where = m ? (checked ? "p128 checked" : "p128") : (checked ? "native checked" : "native");
      run(modes[m], checked);
      independent(modes[m], checked);
      weak(modes[m], checked);
    }
  /* A null heap. */
  capgc_cell_compartment_t c;
  EXPECT(capgc_cells_compartment_new(NULL, &c), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_cells_store_check(NULL, NULL, NULL), CAPGC_E_NULL_ARGUMENT);
  printf("cell compartments: 4 configurations ok\n");
  return 0;
}
