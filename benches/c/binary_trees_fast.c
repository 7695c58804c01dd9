/* binary-trees (the Computer Language Benchmarks Game) as a VM author
 * writes it on capgc_fast.h: the idiomatic program's recursion with
 * references in C locals, inline allocation and field access, and the
 * shadow stack for exactly what must survive an allocation (the left
 * subtree while the right one is built, the long-lived tree). Same
 * output as the idiomatic bdwgc program and the Rust workload.
 *
 *   binary_trees_fast [mode [plan [preset]]] depth
 *     mode    native | p128 | morello | cheri-v9 | riscv-std (native)
 *     plan    marksweep | semispace | generational (generational)
 *     preset  latency | throughput (latency: capgc_config_default)
 */
#include "capgc_fast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capgc_ok.h"

static capgc_mutator_t *m;
static capgc_type_t g_node;
static uint64_t g_slot;
static capgc_ref_t g_roots[64];

static capgc_ref_t bottom_up(int depth) {
  capgc_ref_t n;
  if (depth == 0) {
    OK(capgc_fast_alloc(m, g_node, 2 * g_slot, &n));
    return n;
  }
  capgc_fast_push(m, bottom_up(depth - 1)); /* survives the allocations below */
  capgc_fast_push(m, bottom_up(depth - 1));
  OK(capgc_fast_alloc(m, g_node, 2 * g_slot, &n));
  capgc_ref_t r = capgc_fast_pop(m), l = capgc_fast_pop(m);
  OK(capgc_fast_store_ref(m, n, 0, l));
  OK(capgc_fast_store_ref(m, n, g_slot, r));
  return n;
}

static uint64_t check(capgc_ref_t n) {
  capgc_ref_t l, r;
  OK(capgc_fast_load_ref(m, n, 0, &l));
  if (capgc_fast_is_null(l)) return 1;
  OK(capgc_fast_load_ref(m, n, g_slot, &r));
  return 1 + check(l) + check(r);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[argc - 1]) : 10;
  const char *mode = argc > 2 ? argv[1] : "native";
  const char *plan = argc > 3 ? argv[2] : "generational";
  const char *preset = argc > 4 ? argv[3] : "latency";
  capgc_config_t c = strcmp(preset, "throughput") ? capgc_config_default() : capgc_config_throughput();
  if (!strcmp(mode, "native")) c.mode = CAPGC_MODE_NATIVE;
  else if (!strcmp(mode, "p128")) c.mode = CAPGC_MODE_P128;
  else if (!strcmp(mode, "morello")) { c.mode = CAPGC_MODE_SOFTCHERI; c.format = CAPGC_FORMAT_MORELLO; }
  else if (!strcmp(mode, "cheri-v9")) { c.mode = CAPGC_MODE_SOFTCHERI; c.format = CAPGC_FORMAT_CHERI_V9; }
  else if (!strcmp(mode, "riscv-std")) { c.mode = CAPGC_MODE_SOFTCHERI; c.format = CAPGC_FORMAT_RISCV_STD; }
  else { fprintf(stderr, "unknown mode %s\n", mode); return 2; }
  if (!strcmp(plan, "marksweep")) c.plan = CAPGC_PLAN_MARKSWEEP;
  else if (!strcmp(plan, "semispace")) c.plan = CAPGC_PLAN_SEMISPACE;
  else if (!strcmp(plan, "generational")) c.plan = CAPGC_PLAN_GENERATIONAL;
  else { fprintf(stderr, "unknown plan %s\n", plan); return 2; }
  c.limit = 8ull << 30;
  capgc_heap_t *heap;
  OK(capgc_heap_new(&c, &heap));
  OK(capgc_type_record(heap, 2, 0, &g_node));
  OK(capgc_mutator(heap, &m));
  OK(capgc_fast_roots(m, g_roots, 64));
  g_slot = m->align;
  int min = 4, max = n < min + 2 ? min + 2 : n;
  capgc_ref_t stretch = bottom_up(max + 1);
  printf("stretch tree of depth %d\t check: %llu\n", max + 1, (unsigned long long)check(stretch));
  capgc_fast_push(m, bottom_up(max)); /* the long-lived tree: root 0 */
  for (int d = min; d <= max; d += 2) {
    uint64_t iterations = 1ull << (max - d + min), total = 0;
    for (uint64_t i = 0; i < iterations; i++) total += check(bottom_up(d));
    printf("%llu\t trees of depth %d\t check: %llu\n", (unsigned long long)iterations, d,
           (unsigned long long)total);
  }
  printf("long lived tree of depth %d\t check: %llu\n", max,
         (unsigned long long)check(capgc_fast_root(m, 0)));
  /* Not verified here (the peers do not pay for it): run with
   * CAPGC_ZEAL=verify for the verifier after every collection. */
  capgc_heap_free(heap);
  fprintf(stderr, "backend capgc-fast (idiomatic)\n");
  return 0;
}
