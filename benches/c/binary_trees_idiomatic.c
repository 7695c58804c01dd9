/* binary-trees (the Computer Language Benchmarks Game) as its C users
 * write it: 16-byte nodes {left, right}, built by recursion with the node
 * pointers in C locals, one allocation per node; with bdwgc nothing else
 * (the collector scans the C stack), with malloc each tree freed after its
 * check. Same output as the Rust workload and the shaped peer.
 *
 *   binary_trees_idiomatic-{bdwgc,malloc} [...] depth
 */
#include "idiomatic.h"

typedef struct node {
  struct node *left, *right;
} node;

_Static_assert(sizeof(node) == 16, "binary-trees nodes are 16 bytes");

static node *bottom_up(int depth) {
  node *n = ALLOC(sizeof *n);
  if (!n) die("out of memory");
  if (depth > 0) {
    n->left = bottom_up(depth - 1);
    n->right = bottom_up(depth - 1);
  } else {
    n->left = n->right = NULL;
  }
  return n;
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
  int n = last_arg(argc, argv, 10);
  heap_init();
  int min = 4, max = n < min + 2 ? min + 2 : n;
  node *stretch = bottom_up(max + 1);
  printf("stretch tree of depth %d\t check: %llu\n", max + 1, (unsigned long long)check(stretch));
  drop_tree(stretch);
  node *long_lived = bottom_up(max);
  for (int d = min; d <= max; d += 2) {
    uint64_t iterations = 1ull << (max - d + min), total = 0;
    for (uint64_t i = 0; i < iterations; i++) {
      node *t = bottom_up(d);
      total += check(t);
      drop_tree(t);
    }
    printf("%llu\t trees of depth %d\t check: %llu\n", (unsigned long long)iterations, d,
           (unsigned long long)total);
  }
  printf("long lived tree of depth %d\t check: %llu\n", max, (unsigned long long)check(long_lived));
  drop_tree(long_lived);
  fprintf(stderr, "backend %s (idiomatic)\n", BACKEND);
  return 0;
}
