/* The cost of one checked call through capgc.h, per mode: a by-value
 * reference (authenticated in SoftCheri: the MAC is checked on the way
 * in and made on the way out) against the slot API (no reference bits
 * cross). Prints ns per call for each, best of five rounds.
 *
 *   call_cost mode      (native|p128|morello|cheri-v9|riscv-std)
 */
#define _POSIX_C_SOURCE 199309L
#define BACKEND_CAPGC
#include "backend.h"
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

#define N 2000000

int main(int argc, char **argv) {
  heap_init(argc, argv);
  push_node();
  push_node();
  set_child_pop(0, 0);
  capgc_ref_t r, got;
  OK(capgc_region_get(g_heap, g_stack, 0, &r));
  double best[4] = {1e9, 1e9, 1e9, 1e9};
  for (int round = 0; round < 5; round++) {
    uint64_t v, sum = 0;
    double t = now();
    for (int i = 0; i < N; i++) { OK(capgc_read_u64(g_heap, r, 2 * g_slot, &v)); sum += v; }
    double a = (now() - t) / N;
    t = now();
    for (int i = 0; i < N; i++) { OK(capgc_get_ref(g_heap, r, 0, &got)); sum += got.addr; }
    double b = (now() - t) / N;
    t = now();
    for (int i = 0; i < N; i++) { OK(capgc_slot_read_u64(g_heap, g_stack, 0, 2 * g_slot, &v)); sum += v; }
    double c = (now() - t) / N;
    t = now();
    for (int i = 0; i < N; i++) { OK(capgc_slot_load_field(g_heap, g_stack, 1, 0, 0)); }
    double d = (now() - t) / N;
    if (a < best[0]) best[0] = a;
    if (b < best[1]) best[1] = b;
    if (c < best[2]) best[2] = c;
    if (d < best[3]) best[3] = d;
    if (sum == 42) puts("");
  }
  printf("%s read_u64(ref)=%.1fns get_ref(ref->ref)=%.1fns slot_read_u64=%.1fns slot_load_field=%.1fns\n",
         argc > 1 ? argv[1] : "native", best[0] * 1e9, best[1] * 1e9, best[2] * 1e9, best[3] * 1e9);
  heap_fini();
  fprintf(stderr, "backend %s\n", BACKEND);
  return 0;
}
