/* The heap a C workload runs on, behind one small interface, so that each
 * workload is written once and built three ways:
 *
 *   -DBACKEND_CAPGC   CapGC through capgc.h, with the slot API: the
 *                     workload's shadow stack is a root region, and
 *                     reference bits never reach C (any mode, any plan).
 *   -DBACKEND_CAPGC_FAST  CapGC through capgc_fast.h: inline allocation
 *                     and field access (Native, P128), the stack the
 *                     heap's shadow stack (any mode, any plan).
 *   -DBACKEND_MALLOC  glibc malloc/free: explicit frees.
 *   -DBACKEND_BDWGC   bdwgc (Debian's libgc), conservative.
 *
 * The interface is a stack of node references (two child slots and one
 * 64-bit value each), the discipline a precise, moving collector needs:
 * every reference the workload holds across an allocation is a stack slot.
 */
#ifndef BACKEND_H
#define BACKEND_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STACK_SLOTS 4096

/* Reports a fatal error and exits. */
static inline void die(const char *what) {
  fprintf(stderr, "fatal: %s\n", what);
  exit(1);
}

#if defined(BACKEND_CAPGC) || defined(BACKEND_CAPGC_FAST)
#include "capgc.h"

static capgc_heap_t *g_heap;
static capgc_type_t g_node, g_doubles;
static uint64_t g_slot;
#if defined(BACKEND_CAPGC_FAST)
#include "capgc_fast.h"
static capgc_mutator_t *g_m;
static capgc_ref_t g_roots[STACK_SLOTS];
#else
static capgc_region_t g_stack;
static uint64_t g_sp;
#endif

#include "capgc_ok.h"

#if defined(BACKEND_CAPGC_FAST)
static const char *BACKEND = "capgc-fast";
#else
static const char *BACKEND = "capgc";
#endif

/* argv: mode (native|p128|morello|cheri-v9|riscv-std) and plan
 * (marksweep|semispace|generational), both optional. */
static inline void heap_init(int argc, char **argv) {
  capgc_config_t c = capgc_config_default();
  const char *mode = argc > 1 ? argv[1] : "native";
  const char *plan = argc > 2 ? argv[2] : "generational";
  if (!strcmp(mode, "native")) c.mode = CAPGC_MODE_NATIVE;
  else if (!strcmp(mode, "p128")) c.mode = CAPGC_MODE_P128;
  else if (!strcmp(mode, "morello")) { c.mode = CAPGC_MODE_SOFTCHERI; c.format = CAPGC_FORMAT_MORELLO; }
  else if (!strcmp(mode, "cheri-v9")) { c.mode = CAPGC_MODE_SOFTCHERI; c.format = CAPGC_FORMAT_CHERI_V9; }
  else if (!strcmp(mode, "riscv-std")) { c.mode = CAPGC_MODE_SOFTCHERI; c.format = CAPGC_FORMAT_RISCV_STD; }
  else die("unknown mode");
  if (!strcmp(plan, "marksweep")) c.plan = CAPGC_PLAN_MARKSWEEP;
  else if (!strcmp(plan, "semispace")) c.plan = CAPGC_PLAN_SEMISPACE;
  else if (!strcmp(plan, "generational")) c.plan = CAPGC_PLAN_GENERATIONAL;
  else die("unknown plan");
  c.limit = 8ull << 30;
  OK(capgc_heap_new(&c, &g_heap));
  OK(capgc_heap_mode(g_heap, NULL, &g_slot));
  OK(capgc_type_record(g_heap, 2, 8, &g_node));
  OK(capgc_type_byte_array(g_heap, &g_doubles));
#if defined(BACKEND_CAPGC_FAST)
  OK(capgc_mutator(g_heap, &g_m));
  OK(capgc_fast_roots(g_m, g_roots, STACK_SLOTS));
#else
  OK(capgc_region_new(g_heap, STACK_SLOTS, &g_stack));
#endif
}

static inline void heap_fini(void) {
  capgc_violation_t v;
  size_t n = 0;
  OK(capgc_heap_verify(g_heap, &v, 1, &n));
  if (n) die("the heap does not verify");
  capgc_heap_free(g_heap);
}

#if defined(BACKEND_CAPGC_FAST)
/* The fast path (capgc_fast.h): the stack is the heap's shadow stack,
 * read and written directly; allocation and field access are inline in
 * Native and P128, checked calls in SoftCheri. */
static inline uint64_t sp(void) { return g_m->roots_top; }

static inline void push_node(void) {
  if (g_m->roots_top == STACK_SLOTS) die("stack overflow");
  capgc_ref_t r;
  OK(capgc_fast_alloc(g_m, g_node, 2 * g_slot + 8, &r));
  g_roots[g_m->roots_top++] = r;
}

static inline void set_child_pop(uint64_t i, int which) {
  OK(capgc_fast_store_ref(g_m, g_roots[i], (uint64_t)which * g_slot, g_roots[g_m->roots_top - 1]));
  g_m->roots_top--;
}

static inline int push_child(uint64_t i, int which) {
  capgc_ref_t c;
  OK(capgc_fast_load_ref(g_m, g_roots[i], (uint64_t)which * g_slot, &c));
  if (c.addr == 0) return 0;
  g_roots[g_m->roots_top++] = c;
  return 1;
}

static inline void pop(void) { g_m->roots_top--; }

static inline void drop_tree(void) { pop(); }

static inline void set_value(uint64_t i, uint64_t v) { OK(capgc_fast_store_u64(g_m, g_roots[i], 2 * g_slot, v)); }

static inline uint64_t get_value(uint64_t i) {
  uint64_t v;
  OK(capgc_fast_load_u64(g_m, g_roots[i], 2 * g_slot, &v));
  return v;
}

static inline void push_doubles(uint64_t n) {
  capgc_ref_t r;
  OK(capgc_fast_alloc(g_m, g_doubles, n * 8, &r));
  g_roots[g_m->roots_top++] = r;
}

static inline void set_double(uint64_t i, uint64_t k, double v) { OK(capgc_fast_store_f64(g_m, g_roots[i], k * 8, v)); }

static inline double get_double(uint64_t i, uint64_t k) {
  double v;
  OK(capgc_fast_load_f64(g_m, g_roots[i], k * 8, &v));
  return v;
}

#else /* the slot API */
static inline uint64_t sp(void) { return g_sp; }

/* Push a new node with null children and value 0. */
static inline void push_node(void) {
  if (g_sp == STACK_SLOTS) die("stack overflow");
  OK(capgc_slot_alloc(g_heap, g_stack, g_sp++, g_node));
}

/* Node i's child `which` (0 left, 1 right) := the node on top; pop it. */
static inline void set_child_pop(uint64_t i, int which) {
  OK(capgc_slot_store_field(g_heap, g_stack, i, (uint64_t)which * g_slot, g_sp - 1));
  OK(capgc_slot_clear(g_heap, g_stack, --g_sp));
}

/* Push node i's child `which`; returns 0 (and pushes nothing) if null. */
static inline int push_child(uint64_t i, int which) {
  OK(capgc_slot_load_field(g_heap, g_stack, g_sp, i, (uint64_t)which * g_slot));
  bool null = false;
  OK(capgc_slot_is_null(g_heap, g_stack, g_sp, &null));
  if (null) return 0;
  g_sp++;
  return 1;
}

static inline void pop(void) { OK(capgc_slot_clear(g_heap, g_stack, --g_sp)); }

/* Drop the tree on top (the collector reclaims it). */
static inline void drop_tree(void) { pop(); }

static inline void set_value(uint64_t i, uint64_t v) { OK(capgc_slot_write_u64(g_heap, g_stack, i, 2 * g_slot, v)); }

static inline uint64_t get_value(uint64_t i) {
  uint64_t v;
  OK(capgc_slot_read_u64(g_heap, g_stack, i, 2 * g_slot, &v));
  return v;
}

/* A long-lived array of n doubles, pushed; element access by index. */
static inline void push_doubles(uint64_t n) {
  OK(capgc_slot_alloc_array(g_heap, g_stack, g_sp++, g_doubles, n * 8));
}

static inline void set_double(uint64_t i, uint64_t k, double v) {
  uint64_t bits;
  memcpy(&bits, &v, 8);
  OK(capgc_slot_write_u64(g_heap, g_stack, i, k * 8, bits));
}

static inline double get_double(uint64_t i, uint64_t k) {
  uint64_t bits;
  double v;
  OK(capgc_slot_read_u64(g_heap, g_stack, i, k * 8, &bits));
  memcpy(&v, &bits, 8);
  return v;
}

#endif /* the slot API */

#else /* BACKEND_MALLOC or BACKEND_BDWGC: plain pointers */

#if defined(BACKEND_BDWGC)
#include <gc.h>
#define ALLOC(n) GC_MALLOC(n)
#define FREE(p) ((void)(p))
static const char *BACKEND = "bdwgc";
#elif defined(BACKEND_MALLOC)
#define ALLOC(n) malloc(n)
#define FREE(p) free(p)
static const char *BACKEND = "malloc";
#else
#error "define BACKEND_CAPGC, BACKEND_MALLOC or BACKEND_BDWGC"
#endif

typedef struct node {
  struct node *child[2];
  uint64_t value;
} node;

/* The stack is in the data segment, which bdwgc scans as a root. */
static void *g_stack[STACK_SLOTS];
static uint64_t g_sp;

static inline void heap_init(int argc, char **argv) {
  (void)argc;
  (void)argv;
#if defined(BACKEND_BDWGC)
  GC_INIT();
#endif
}

static inline void heap_fini(void) {}

static inline uint64_t sp(void) { return g_sp; }

static inline void push_node(void) {
  if (g_sp == STACK_SLOTS) die("stack overflow");
  node *n = ALLOC(sizeof *n);
  if (!n) die("out of memory");
  n->child[0] = n->child[1] = NULL;
  n->value = 0;
  g_stack[g_sp++] = n;
}

static inline void set_child_pop(uint64_t i, int which) {
  ((node *)g_stack[i])->child[which] = g_stack[g_sp - 1];
  g_stack[--g_sp] = NULL;
}

static inline int push_child(uint64_t i, int which) {
  node *c = ((node *)g_stack[i])->child[which];
  if (!c) return 0;
  g_stack[g_sp++] = c;
  return 1;
}

static inline void pop(void) { g_stack[--g_sp] = NULL; }

static inline void free_tree(node *n) {
  if (!n) return;
  free_tree(n->child[0]);
  free_tree(n->child[1]);
  FREE(n);
}

static inline void drop_tree(void) {
  free_tree(g_stack[g_sp - 1]);
  pop();
}

static inline void set_value(uint64_t i, uint64_t v) { ((node *)g_stack[i])->value = v; }
static inline uint64_t get_value(uint64_t i) { return ((node *)g_stack[i])->value; }

static inline void push_doubles(uint64_t n) {
#if defined(BACKEND_BDWGC)
  double *a = GC_MALLOC_ATOMIC(n * sizeof(double));
#else
  double *a = malloc(n * sizeof(double));
#endif
  if (!a) die("out of memory");
  memset(a, 0, n * sizeof(double));
  g_stack[g_sp++] = a;
}

static inline void set_double(uint64_t i, uint64_t k, double v) { ((double *)g_stack[i])[k] = v; }
static inline double get_double(uint64_t i, uint64_t k) { return ((double *)g_stack[i])[k]; }

#endif
#endif
