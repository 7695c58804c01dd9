/* The allocator of the idiomatic peers (binary_trees_idiomatic.c,
 * gcbench_idiomatic.c): the programs as bdwgc's and malloc's users write
 * them, node pointers in C locals and fields, no reference stack.
 *
 *   -DBACKEND_BDWGC   bdwgc with its default settings (GC_INIT): GC_MALLOC
 *                     for nodes, GC_MALLOC_ATOMIC for pointer-free arrays;
 *                     the collector finds the program's pointers by scanning
 *                     the C stack, registers and the heap conservatively.
 *   -DBACKEND_MALLOC  glibc malloc, and free when a tree is dropped.
 *
 * The shaped peers (backend.h) run the same workloads through a stack of
 * node references, the discipline of capgc.h's slot API; these do not.
 */
#ifndef IDIOMATIC_H
#define IDIOMATIC_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(BACKEND_BDWGC)
#include <gc.h>
#define ALLOC(n) GC_MALLOC(n)
#define ALLOC_ATOMIC(n) GC_MALLOC_ATOMIC(n)
#define FREES 0
static const char *BACKEND = "bdwgc";
static inline void heap_init(void) { GC_INIT(); }
static inline void release(void *p) { (void)p; }
#elif defined(BACKEND_MALLOC)
#define ALLOC(n) malloc(n)
#define ALLOC_ATOMIC(n) malloc(n)
#define FREES 1
static const char *BACKEND = "malloc";
static inline void heap_init(void) {}
static inline void release(void *p) { free(p); }
#else
#error "define BACKEND_MALLOC or BACKEND_BDWGC"
#endif

/* Reports a fatal error and exits. */
static inline void die(const char *what) {
  fprintf(stderr, "fatal: %s\n", what);
  exit(1);
}

/* The last argument as a number, or `otherwise` (the shaped peers' command
 * lines put the size last, after a mode and plan these programs ignore). */
static inline int last_arg(int argc, char **argv, int otherwise) {
  return argc > 1 ? atoi(argv[argc - 1]) : otherwise;
}

#endif
