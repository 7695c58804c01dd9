/* binary-trees (the Computer Language Benchmarks Game), written once over
 * backend.h: the same program on CapGC, glibc malloc/free and bdwgc, with
 * the same output (the checksums the Rust workload asserts).
 *
 *   binary_trees [mode [plan]] depth        (mode and plan: CapGC only)
 */
#include "backend.h"

/* Push a complete tree of `depth`, built bottom-up. */
static void bottom_up(int depth) {
  push_node();
  if (depth > 0) {
    uint64_t n = sp() - 1;
    bottom_up(depth - 1);
    set_child_pop(n, 0);
    bottom_up(depth - 1);
    set_child_pop(n, 1);
  }
}

/* The node count of the tree at stack index i. */
static uint64_t check(uint64_t i) {
  uint64_t c = 1;
  for (int k = 0; k < 2; k++) {
    if (push_child(i, k)) {
      c += check(sp() - 1);
      pop();
    }
  }
  return c;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[argc - 1]) : 10;
#if defined(BACKEND_CAPGC)
  heap_init(argc - 1, argv);
#else
  heap_init(argc, argv);
#endif
  int min = 4, max = n < min + 2 ? min + 2 : n;
  bottom_up(max + 1);
  printf("stretch tree of depth %d\t check: %llu\n", max + 1, (unsigned long long)check(sp() - 1));
  drop_tree();
  bottom_up(max);
  uint64_t long_lived = sp() - 1;
  for (int d = min; d <= max; d += 2) {
    uint64_t iterations = 1ull << (max - d + min), total = 0;
    for (uint64_t i = 0; i < iterations; i++) {
      bottom_up(d);
      total += check(sp() - 1);
      drop_tree();
    }
    printf("%llu\t trees of depth %d\t check: %llu\n", (unsigned long long)iterations, d,
           (unsigned long long)total);
  }
  printf("long lived tree of depth %d\t check: %llu\n", max,
         (unsigned long long)check(long_lived));
  drop_tree();
  heap_fini();
  fprintf(stderr, "backend %s\n", BACKEND);
  return 0;
}
