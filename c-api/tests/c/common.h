/* Helpers shared by the C tests: run every configuration, check statuses. */
#ifndef CAPGC_TEST_COMMON_H
#define CAPGC_TEST_COMMON_H

#include "capgc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *g_where = "";

/* Fails the test unless `expr` returns `want`, printing both statuses
 * and the library's message. */
#define EXPECT(expr, want)                                                     \
  do {                                                                         \
    capgc_status_t s_ = (expr);                                                \
    if (s_ != (want)) {                                                        \
      fprintf(stderr, "%s:%d [%s] %s: got %s, want %s (%s)\n", __FILE__,       \
              __LINE__, g_where, #expr, capgc_status_name(s_),                 \
              capgc_status_name(want), capgc_last_error());                    \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

#define CHECK(expr) EXPECT(expr, CAPGC_OK)

#define ASSERT(cond)                                                           \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d [%s] assertion failed: %s\n", __FILE__,           \
              __LINE__, g_where, #cond);                                       \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

/* One configuration: mode, format, plan. */
typedef struct {
  uint32_t mode, format, plan;
  const char *name;
} config_t;

static const config_t CONFIGS[] = {
    {CAPGC_MODE_NATIVE, 0, CAPGC_PLAN_MARKSWEEP, "native/marksweep"},
    {CAPGC_MODE_NATIVE, 0, CAPGC_PLAN_SEMISPACE, "native/semispace"},
    {CAPGC_MODE_NATIVE, 0, CAPGC_PLAN_GENERATIONAL, "native/generational"},
    {CAPGC_MODE_P128, 0, CAPGC_PLAN_MARKSWEEP, "p128/marksweep"},
    {CAPGC_MODE_P128, 0, CAPGC_PLAN_SEMISPACE, "p128/semispace"},
    {CAPGC_MODE_P128, 0, CAPGC_PLAN_GENERATIONAL, "p128/generational"},
    {CAPGC_MODE_SOFTCHERI, CAPGC_FORMAT_MORELLO, CAPGC_PLAN_MARKSWEEP, "morello/marksweep"},
    {CAPGC_MODE_SOFTCHERI, CAPGC_FORMAT_MORELLO, CAPGC_PLAN_SEMISPACE, "morello/semispace"},
    {CAPGC_MODE_SOFTCHERI, CAPGC_FORMAT_MORELLO, CAPGC_PLAN_GENERATIONAL, "morello/generational"},
    {CAPGC_MODE_SOFTCHERI, CAPGC_FORMAT_CHERI_V9, CAPGC_PLAN_MARKSWEEP, "cheri-v9/marksweep"},
    {CAPGC_MODE_SOFTCHERI, CAPGC_FORMAT_CHERI_V9, CAPGC_PLAN_SEMISPACE, "cheri-v9/semispace"},
    {CAPGC_MODE_SOFTCHERI, CAPGC_FORMAT_CHERI_V9, CAPGC_PLAN_GENERATIONAL, "cheri-v9/generational"},
    {CAPGC_MODE_SOFTCHERI, CAPGC_FORMAT_RISCV_STD, CAPGC_PLAN_MARKSWEEP, "riscv-std/marksweep"},
    {CAPGC_MODE_SOFTCHERI, CAPGC_FORMAT_RISCV_STD, CAPGC_PLAN_SEMISPACE, "riscv-std/semispace"},
    {CAPGC_MODE_SOFTCHERI, CAPGC_FORMAT_RISCV_STD, CAPGC_PLAN_GENERATIONAL, "riscv-std/generational"},
};
#define NCONFIGS (sizeof CONFIGS / sizeof CONFIGS[0])

/* A heap for `c`: small limits, a fixed nursery (repeatable runs). */
static inline capgc_heap_t *heap_for(const config_t *c, uint64_t limit) {
  capgc_config_t cfg = capgc_config_default();
  cfg.mode = c->mode;
  cfg.format = c->format;
  cfg.plan = c->plan;
  cfg.limit = limit;
  cfg.initial_size = 1 << 20;
  cfg.nursery_size = 256 << 10;
  cfg.pause_goal_us = 0;
  capgc_heap_t *h = NULL;
  CHECK(capgc_heap_new(&cfg, &h));
  return h;
}

/* The heap verifies: no violation of the heap-safety contract. */
static inline void verified(capgc_heap_t *h) {
  capgc_violation_t v[4];
  size_t n = 99;
  CHECK(capgc_heap_verify(h, v, 4, &n));
  if (n != 0) {
    fprintf(stderr, "[%s] %zu violations; first: I%u kind %u at %#llx -> %#llx\n",
            g_where, n, v[0].invariant, v[0].kind,
            (unsigned long long)v[0].addr, (unsigned long long)v[0].target);
    exit(1);
  }
}

#endif
