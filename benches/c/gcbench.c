/* GCBench (Ellis, Kovac, Boehm), written once over backend.h: top-down
 * and bottom-up tree construction beside a long-lived tree and a
 * long-lived array of doubles, on CapGC, glibc malloc/free and bdwgc.
 * Parameters as in the original (and the Rust workload).
 *
 *   gcbench [mode [plan]] [stretch]   (mode and plan: CapGC only)
 *
 * `stretch` (default 18, the original) scales the run: the long-lived and
 * largest trees are two levels smaller, the array 2^(18 - stretch) times
 * shorter (but at least 2002 elements: the checksum reads element 1000 of
 * the first half, the half written, as in the original).
 */
#include "backend.h"

static int STRETCH = 18, LONG_LIVED = 16, MAX_DEPTH = 16;
static uint64_t ARRAY = 500000;
enum { MIN_DEPTH = 4 };

static uint64_t tree_size(int d) { return (1ull << (d + 1)) - 1; }

/* Gives the node at stack index i two children, then their subtrees. */
static void populate(int depth, uint64_t i) {
  if (depth <= 0) return;
  depth--;
  push_node();
  set_child_pop(i, 0);
  push_node();
  set_child_pop(i, 1);
  for (int k = 0; k < 2; k++) {
    push_child(i, k);
    populate(depth, sp() - 1);
    pop();
  }
}

/* Pushes a tree of `depth` built bottom-up. */
static void make_tree(int depth) {
  push_node();
  if (depth > 0) {
    uint64_t n = sp() - 1;
    make_tree(depth - 1);
    set_child_pop(n, 0);
    make_tree(depth - 1);
    set_child_pop(n, 1);
  }
}

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
  int last = argc > 1 ? atoi(argv[argc - 1]) : 0;
  if (last >= 8 && last <= 18) {
    STRETCH = last;
    LONG_LIVED = MAX_DEPTH = last - 2;
    ARRAY = 500000 >> (18 - last);
    if (ARRAY < 2002) ARRAY = 2002; /* the probe reads element 1000 of the written half */
    argc--;
  }
  heap_init(argc, argv);
  make_tree(STRETCH);
  if (check(sp() - 1) != tree_size(STRETCH)) die("stretch tree");
  drop_tree();
  push_node();
  uint64_t long_lived = sp() - 1;
  populate(LONG_LIVED, long_lived);
  push_doubles(ARRAY);
  uint64_t array = sp() - 1;
  for (uint64_t i = 1; i < ARRAY / 2; i++) set_double(array, i, 1.0 / (double)i);
  for (int d = MIN_DEPTH; d <= MAX_DEPTH; d += 2) {
    uint64_t iters = 2 * tree_size(STRETCH) / tree_size(d), built = 0;
    for (uint64_t i = 0; i < iters; i++) {
      push_node();
      populate(d, sp() - 1);
      built += check(sp() - 1) == tree_size(d);
      drop_tree();
    }
    for (uint64_t i = 0; i < iters; i++) {
      make_tree(d);
      built += check(sp() - 1) == tree_size(d);
      drop_tree();
    }
    printf("depth %d: %llu trees\n", d, (unsigned long long)built);
  }
  printf("long lived tree: %llu nodes\n", (unsigned long long)check(long_lived));
  printf("array[1000] = %.10f\n", get_double(array, 1000));
  pop();
  drop_tree();
  heap_fini();
  fprintf(stderr, "backend %s\n", BACKEND);
  return 0;
}
