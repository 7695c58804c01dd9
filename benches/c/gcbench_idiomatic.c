/* GCBench (Ellis, Kovac, Boehm) from its algorithm, as its C users write
 * it: nodes {left, right, i, j} (24 bytes), trees built top-down
 * (Populate) and bottom-up (MakeTree) by recursion with the pointers in C
 * locals and fields, a stretch tree, then a long-lived tree and a
 * long-lived array of 500,000 doubles (half of it filled, as in the
 * original) beside the trees of depth 4, 6, ... 16, 2 * TreeSize(18) /
 * TreeSize(depth) of each construction. Each tree's nodes are counted, so
 * the output is the checksums of the Rust workload and the shaped peer.
 *
 *   gcbench_idiomatic-{bdwgc,malloc} [...] [stretch]
 *
 * `stretch` (8 to 18, default 18, the original) scales the run as the
 * shaped peer's does: the long-lived and largest trees two levels
 * smaller, the array 2^(18 - stretch) times shorter (at least 2002
 * elements: the probe reads element 1000 of the filled half).
 */
#include "idiomatic.h"

typedef struct node {
  struct node *left, *right;
  int i, j;
} node;

_Static_assert(sizeof(node) == 24, "GCBench nodes are 24 bytes");

static int STRETCH = 18, LONG_LIVED = 16, MAX_DEPTH = 16;
static uint64_t ARRAY = 500000;
enum { MIN_DEPTH = 4 };

static uint64_t tree_size(int d) { return (1ull << (d + 1)) - 1; }

static node *new_node(node *l, node *r) {
  node *n = ALLOC(sizeof *n);
  if (!n) die("out of memory");
  n->left = l;
  n->right = r;
  n->i = n->j = 0;
  return n;
}

/* Gives `n` two children, then their subtrees, to `depth` (top-down). */
static void populate(int depth, node *n) {
  if (depth <= 0) return;
  depth--;
  n->left = new_node(NULL, NULL);
  n->right = new_node(NULL, NULL);
  populate(depth, n->left);
  populate(depth, n->right);
}

/* A tree of `depth` built bottom-up. */
static node *make_tree(int depth) {
  if (depth <= 0) return new_node(NULL, NULL);
  node *l = make_tree(depth - 1);
  return new_node(l, make_tree(depth - 1));
}

static uint64_t check(const node *n) {
  return 1 + (n->left ? check(n->left) + check(n->right) : 0);
}

static void drop_tree(node *n) {
  if (!FREES) return;
  if (n->left) {
    drop_tree(n->left);
    drop_tree(n->right);
  }
  release(n);
}

int main(int argc, char **argv) {
  int last = last_arg(argc, argv, 0);
  if (last >= 8 && last <= 18) {
    STRETCH = last;
    LONG_LIVED = MAX_DEPTH = last - 2;
    ARRAY = 500000 >> (18 - last);
    if (ARRAY < 2002) ARRAY = 2002;
  }
  heap_init();
  node *stretch = make_tree(STRETCH);
  if (check(stretch) != tree_size(STRETCH)) die("stretch tree");
  drop_tree(stretch);
  node *long_lived = new_node(NULL, NULL);
  populate(LONG_LIVED, long_lived);
  double *array = ALLOC_ATOMIC(ARRAY * sizeof(double));
  if (!array) die("out of memory");
  for (uint64_t i = 0; i < ARRAY / 2; i++) array[i] = 1.0 / (double)i;
  for (int d = MIN_DEPTH; d <= MAX_DEPTH; d += 2) {
    uint64_t iters = 2 * tree_size(STRETCH) / tree_size(d), built = 0;
    for (uint64_t i = 0; i < iters; i++) {
      node *t = new_node(NULL, NULL);
      populate(d, t);
      built += check(t) == tree_size(d);
      drop_tree(t);
    }
    for (uint64_t i = 0; i < iters; i++) {
      node *t = make_tree(d);
      built += check(t) == tree_size(d);
      drop_tree(t);
    }
    printf("depth %d: %llu trees\n", d, (unsigned long long)built);
  }
  printf("long lived tree: %llu nodes\n", (unsigned long long)check(long_lived));
  printf("array[1000] = %.10f\n", array[1000]);
  drop_tree(long_lived);
  release(array);
  fprintf(stderr, "backend %s (idiomatic)\n", BACKEND);
  return 0;
}
