/*
 * prims.c — the primitive table, the helpers every primitive uses, and the
 * core primitives: numbers, predicates, equality, control, output, the
 * collector.
 *
 * A primitive gets its arguments in stack slots [a, a+argc) and leaves its
 * result in R_VAL (ret_imm / ret_slot); it may push temporaries above them
 * (the machine pops back). It returns false with vm->err set on error; the
 * machine prefixes the message with the primitive's name.
 */
#include "scheme.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the table ------------------------------------------------------------- */

static prim_t *prims;
static uint32_t nprims, capprims;
const prim_t *g_prims;
uint32_t g_nprims;

void prim_register(const prim_t *table, size_t n) {
  if (nprims + n > capprims) {
    uint32_t cap = capprims ? capprims : 128;
    while (cap < nprims + n) cap *= 2;
    prim_t *p = realloc(prims, cap * sizeof *p);
    if (!p) return; /* prims_init reports the shortfall */
    prims = p;
    capprims = cap;
  }
  memcpy(prims + nprims, table, n * sizeof *table);
  nprims += (uint32_t)n;
  g_prims = prims;
  g_nprims = nprims;
}

bool prims_init(void) {
  if (nprims) return true;
  prims_core_register(); /* apply first: PRIM_APPLY == 0 */
  prims_data_register();
  prims_weak_register();
  prims_compart_register();
  return nprims > 0 && strcmp(prims[PRIM_APPLY].name, "apply") == 0;
}

void prims_free(void) {
  free(prims);
  prims = NULL;
  nprims = capprims = 0;
  g_prims = NULL;
  g_nprims = 0;
}

/* ---- helpers --------------------------------------------------------------------- */

static const char *kind_name(unsigned k) {
  switch (k) {
  case K_FIXNUM: return "an integer";
  case K_PAIR: return "a pair";
  case K_STRING: return "a string";
  case K_SYMBOL: return "a symbol";
  case K_VECTOR: return "a vector";
  case K_CHAR: return "a character";
  case K_WTABLE: return "a weak table";
  case K_SEALED: return "a sealed reference";
  case K_BOOL: return "a boolean";
  default: return "a value of another type";
  }
}

bool need(vm_t *vm, uint32_t slot, unsigned kind, const char *what, uint32_t argno) {
  if (KIND(vm->W[slot]) == kind) return true;
  char d[128];
  describe(vm, slot, d, sizeof d);
  return vm_error(vm, "expected %s, got %s (argument %u)", what ? what : kind_name(kind), d, argno);
}

/* A fixnum in [0, limit) into *out. */
bool need_index(vm_t *vm, uint32_t slot, uint64_t limit, uint64_t *out, uint32_t argno) {
  TRY(need(vm, slot, K_FIXNUM, "an index", argno));
  int64_t i = fix_of(vm->W[slot]);
  if (i < 0 || (uint64_t)i >= limit)
    return vm_error(vm, "index %lld out of range [0, %llu) (argument %u)", (long long)i, (unsigned long long)limit,
                    argno);
  *out = (uint64_t)i;
  return true;
}

bool ret_imm(vm_t *vm, uint64_t w) { return v_set_imm(vm, R_VAL, w); }
bool ret_slot(vm_t *vm, uint32_t s) { return v_move(vm, R_VAL, s); }

/* The length of the list in slot s; *proper false for a dotted or
 * circular-looking (longer than the heap could hold) one. */
bool list_length(vm_t *vm, uint32_t s, uint64_t *out, bool *proper) {
  uint32_t base = vm->sp, x;
  TRY(v_push(vm, s));
  x = base;
  uint64_t n = 0;
  while (KIND(vm->W[x]) == K_PAIR) {
    TRY(cdr(vm, x, x));
    if (++n > (UINT64_C(1) << 40)) break;
  }
  *proper = KIND(vm->W[x]) == K_NIL;
  *out = n;
  return v_pop_to(vm, base);
}

/* ---- numbers ------------------------------------------------------------------------ */

typedef struct {
  bool flo;
  int64_t i;
  double d;
} num_t;

static bool num(vm_t *vm, uint32_t s, num_t *n, uint32_t argno) {
  uint64_t w = vm->W[s];
  if (KIND(w) == K_FIXNUM) {
    n->flo = false;
    n->i = fix_of(w);
    n->d = (double)n->i;
    return true;
  }
  if (KIND(w) == K_FLONUM) {
    n->flo = true;
    return flonum_of(vm, s, &n->d);
  }
  return need(vm, s, K_FIXNUM, "a number", argno);
}

static bool ret_num(vm_t *vm, num_t n) {
  if (!n.flo) return ret_imm(vm, w_fix(n.i));
  return mk_flonum(vm, R_VAL, n.d);
}

static bool fits(int64_t r) { return r >= FIX_MIN && r <= FIX_MAX; }

static num_t add(num_t a, num_t b, int sign) {
  int64_t r;
  if (!a.flo && !b.flo &&
      !(sign > 0 ? __builtin_add_overflow(a.i, b.i, &r) : __builtin_sub_overflow(a.i, b.i, &r)) && fits(r))
    return (num_t){false, r, (double)r};
  double d = sign > 0 ? a.d + b.d : a.d - b.d;
  return (num_t){true, 0, d};
}

static num_t mul(num_t a, num_t b) {
  int64_t r;
  if (!a.flo && !b.flo && !__builtin_mul_overflow(a.i, b.i, &r) && fits(r)) return (num_t){false, r, (double)r};
  return (num_t){true, 0, a.d * b.d};
}

static bool p_add(vm_t *vm, uint32_t a, uint32_t argc) {
  num_t acc = {false, 0, 0}, x;
  for (uint32_t i = 0; i < argc; i++) {
    TRY(num(vm, a + i, &x, i + 1));
    acc = add(acc, x, 1);
  }
  return ret_num(vm, acc);
}

static bool p_sub(vm_t *vm, uint32_t a, uint32_t argc) {
  num_t acc, x;
  TRY(num(vm, a, &acc, 1));
  if (argc == 1) return ret_num(vm, add((num_t){false, 0, 0}, acc, -1));
  for (uint32_t i = 1; i < argc; i++) {
    TRY(num(vm, a + i, &x, i + 1));
    acc = add(acc, x, -1);
  }
  return ret_num(vm, acc);
}

static bool p_mul(vm_t *vm, uint32_t a, uint32_t argc) {
  num_t acc = {false, 1, 1}, x;
  for (uint32_t i = 0; i < argc; i++) {
    TRY(num(vm, a + i, &x, i + 1));
    acc = mul(acc, x);
  }
  return ret_num(vm, acc);
}

static bool p_div(vm_t *vm, uint32_t a, uint32_t argc) {
  num_t acc, x;
  TRY(num(vm, a, &acc, 1));
  if (argc == 1) {
    x = acc;
    acc = (num_t){false, 1, 1};
  }
  for (uint32_t i = argc == 1 ? 0 : 1; i < argc; i++) {
    if (argc != 1) TRY(num(vm, a + i, &x, i + 1));
    if (!x.flo && x.i == 0) return vm_error(vm, "division by zero");
    if (!acc.flo && !x.flo && acc.i % x.i == 0 && !(acc.i == FIX_MIN && x.i == -1))
      acc = (num_t){false, acc.i / x.i, (double)(acc.i / x.i)};
    else
      acc = (num_t){true, 0, acc.d / x.d};
  }
  return ret_num(vm, acc);
}

/* quotient, remainder, modulo: integers only. */
static bool int_args(vm_t *vm, uint32_t a, int64_t *x, int64_t *y) {
  TRY(need(vm, a, K_FIXNUM, NULL, 1));
  TRY(need(vm, a + 1, K_FIXNUM, NULL, 2));
  *x = fix_of(vm->W[a]);
  *y = fix_of(vm->W[a + 1]);
  if (*y == 0) return vm_error(vm, "division by zero");
  return true;
}
static bool p_quotient(vm_t *vm, uint32_t a, uint32_t argc) {
  (void)argc;
  int64_t x, y;
  TRY(int_args(vm, a, &x, &y));
  return ret_imm(vm, w_fix(x / y));
}
static bool p_remainder(vm_t *vm, uint32_t a, uint32_t argc) {
  (void)argc;
  int64_t x, y;
  TRY(int_args(vm, a, &x, &y));
  return ret_imm(vm, w_fix(x % y));
}
static bool p_modulo(vm_t *vm, uint32_t a, uint32_t argc) {
  (void)argc;
  int64_t x, y;
  TRY(int_args(vm, a, &x, &y));
  int64_t m = x % y;
  if (m != 0 && ((m < 0) != (y < 0))) m += y;
  return ret_imm(vm, w_fix(m));
}

enum { CMP_EQ, CMP_LT, CMP_GT, CMP_LE, CMP_GE };
static bool compare(vm_t *vm, uint32_t a, uint32_t argc, int op) {
  num_t x, y;
  TRY(num(vm, a, &x, 1));
  bool r = true;
  for (uint32_t i = 1; i < argc; i++) {
    TRY(num(vm, a + i, &y, i + 1));
    bool ok;
    if (!x.flo && !y.flo) {
      switch (op) {
      case CMP_EQ: ok = x.i == y.i; break;
      case CMP_LT: ok = x.i < y.i; break;
      case CMP_GT: ok = x.i > y.i; break;
      case CMP_LE: ok = x.i <= y.i; break;
      default: ok = x.i >= y.i; break;
      }
    } else {
      switch (op) {
      case CMP_EQ: ok = x.d == y.d; break;
      case CMP_LT: ok = x.d < y.d; break;
      case CMP_GT: ok = x.d > y.d; break;
      case CMP_LE: ok = x.d <= y.d; break;
      default: ok = x.d >= y.d; break;
      }
    }
    r = r && ok;
    x = y;
  }
  return ret_imm(vm, W_BOOL(r));
}
static bool p_num_eq(vm_t *vm, uint32_t a, uint32_t n) { return compare(vm, a, n, CMP_EQ); }
static bool p_lt(vm_t *vm, uint32_t a, uint32_t n) { return compare(vm, a, n, CMP_LT); }
static bool p_gt(vm_t *vm, uint32_t a, uint32_t n) { return compare(vm, a, n, CMP_GT); }
static bool p_le(vm_t *vm, uint32_t a, uint32_t n) { return compare(vm, a, n, CMP_LE); }
static bool p_ge(vm_t *vm, uint32_t a, uint32_t n) { return compare(vm, a, n, CMP_GE); }

static bool p_minmax(vm_t *vm, uint32_t a, uint32_t argc, bool max) {
  num_t best, x;
  bool flo;
  TRY(num(vm, a, &best, 1));
  flo = best.flo;
  uint32_t bi = 0;
  for (uint32_t i = 1; i < argc; i++) {
    TRY(num(vm, a + i, &x, i + 1));
    flo |= x.flo;
    if (max ? x.d > best.d : x.d < best.d) {
      best = x;
      bi = i;
    }
  }
  (void)bi;
  if (flo && !best.flo) best = (num_t){true, 0, best.d};
  return ret_num(vm, best);
}
static bool p_min(vm_t *vm, uint32_t a, uint32_t n) { return p_minmax(vm, a, n, false); }
static bool p_max(vm_t *vm, uint32_t a, uint32_t n) { return p_minmax(vm, a, n, true); }

static bool p_abs(vm_t *vm, uint32_t a, uint32_t argc) {
  (void)argc;
  num_t x;
  TRY(num(vm, a, &x, 1));
  if (x.flo) x.d = fabs(x.d);
  else if (x.i < 0) x = add((num_t){false, 0, 0}, x, -1);
  return ret_num(vm, x);
}

static bool num_pred(vm_t *vm, uint32_t a, int which) {
  num_t x;
  TRY(num(vm, a, &x, 1));
  bool r;
  switch (which) {
  case 0: r = x.d == 0; break;
  case 1: r = x.d > 0; break;
  case 2: r = x.d < 0; break;
  case 3:
  case 4:
    if (x.flo) return vm_error(vm, "expected an integer (argument 1)");
    r = (x.i % 2 == 0) == (which == 3);
    break;
  default: r = false;
  }
  return ret_imm(vm, W_BOOL(r));
}
static bool p_zerop(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return num_pred(vm, a, 0); }
static bool p_positivep(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return num_pred(vm, a, 1); }
static bool p_negativep(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return num_pred(vm, a, 2); }
static bool p_evenp(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return num_pred(vm, a, 3); }
static bool p_oddp(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return num_pred(vm, a, 4); }

static bool p_numberp(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  unsigned k = KIND(vm->W[a]);
  return ret_imm(vm, W_BOOL(k == K_FIXNUM || k == K_FLONUM));
}
static bool p_integerp(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  unsigned k = KIND(vm->W[a]);
  if (k == K_FLONUM) {
    double d;
    TRY(flonum_of(vm, a, &d));
    return ret_imm(vm, W_BOOL(d == floor(d)));
  }
  return ret_imm(vm, W_BOOL(k == K_FIXNUM));
}
static bool p_exactp(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  num_t x;
  TRY(num(vm, a, &x, 1));
  return ret_imm(vm, W_BOOL(!x.flo));
}
static bool p_inexactp(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  num_t x;
  TRY(num(vm, a, &x, 1));
  return ret_imm(vm, W_BOOL(x.flo));
}
static bool p_to_inexact(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  num_t x;
  TRY(num(vm, a, &x, 1));
  return mk_flonum(vm, R_VAL, x.d);
}
static bool p_to_exact(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  num_t x;
  TRY(num(vm, a, &x, 1));
  if (!x.flo) return ret_num(vm, x);
  if (!(x.d >= (double)FIX_MIN && x.d <= (double)FIX_MAX) || x.d != floor(x.d))
    return vm_error(vm, "no exact integer for this value");
  return ret_imm(vm, w_fix((int64_t)x.d));
}

static bool rounding(vm_t *vm, uint32_t a, double (*f)(double)) {
  num_t x;
  TRY(num(vm, a, &x, 1));
  if (!x.flo) return ret_num(vm, x);
  return mk_flonum(vm, R_VAL, f(x.d));
}
static bool p_floor(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return rounding(vm, a, floor); }
static bool p_ceiling(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return rounding(vm, a, ceil); }
static bool p_truncate(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return rounding(vm, a, trunc); }
static bool p_round(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return rounding(vm, a, nearbyint); }

static bool p_sqrt(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  num_t x;
  TRY(num(vm, a, &x, 1));
  if (!x.flo && x.i >= 0) {
    int64_t r = (int64_t)sqrt((double)x.i);
    while (r * r > x.i) r--;
    while ((r + 1) * (r + 1) <= x.i) r++;
    if (r * r == x.i) return ret_imm(vm, w_fix(r));
  }
  return mk_flonum(vm, R_VAL, sqrt(x.d));
}

static bool p_expt(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  num_t b, e;
  TRY(num(vm, a, &b, 1));
  TRY(num(vm, a + 1, &e, 2));
  if (!b.flo && !e.flo && e.i >= 0) { /* by squaring, while it stays a fixnum */
    num_t r = {false, 1, 1}, sq = b;
    for (int64_t k = e.i; k > 0 && !r.flo; k >>= 1) {
      if (k & 1) r = mul(r, sq);
      if (k > 1) sq = mul(sq, sq);
      if (sq.flo && k > 1) r.flo = true; /* a power beyond the fixnums */
    }
    if (!r.flo) return ret_num(vm, r);
  }
  return mk_flonum(vm, R_VAL, pow(b.d, e.d));
}

/* ---- predicates and equality ----------------------------------------------------------- */

static bool kind_is(vm_t *vm, uint32_t a, unsigned k) { return ret_imm(vm, W_BOOL(KIND(vm->W[a]) == k)); }
static bool p_nullp(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return kind_is(vm, a, K_NIL); }
static bool p_pairp(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return kind_is(vm, a, K_PAIR); }
static bool p_symbolp(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return kind_is(vm, a, K_SYMBOL); }
static bool p_stringp(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return kind_is(vm, a, K_STRING); }
static bool p_vectorp(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return kind_is(vm, a, K_VECTOR); }
static bool p_booleanp(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return kind_is(vm, a, K_BOOL); }
static bool p_charp(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return kind_is(vm, a, K_CHAR); }
static bool p_procedurep(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  unsigned k = KIND(vm->W[a]);
  return ret_imm(vm, W_BOOL(k == K_CLOSURE || k == K_PRIM));
}
static bool p_listp(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  uint64_t len;
  bool proper;
  TRY(list_length(vm, a, &len, &proper));
  return ret_imm(vm, W_BOOL(proper));
}
static bool p_not(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return ret_imm(vm, W_BOOL(!truthy(vm->W[a]))); }
static bool p_eq(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  bool r;
  TRY(v_eq(vm, a, a + 1, &r));
  return ret_imm(vm, W_BOOL(r));
}
static bool p_equal(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  bool r;
  TRY(v_equal(vm, a, a + 1, &r));
  return ret_imm(vm, W_BOOL(r));
}

/* ---- control --------------------------------------------------------------------------- */

static bool p_apply(vm_t *vm, uint32_t a, uint32_t n) {
  (void)a;
  (void)n;
  return vm_error(vm, "internal: apply is the machine's"); /* never called */
}

/* (error msg irritant ...): the message displayed, the irritants written. */
static bool p_error(vm_t *vm, uint32_t a, uint32_t argc) {
  sbuf_t b = {0};
  b.limit = 600;
  bool ok = print_value(vm, &b, a, false);
  for (uint32_t i = 1; ok && i < argc; i++) {
    sb_put(&b, " ", 1);
    ok = print_value(vm, &b, a + i, true);
  }
  if (ok) vm_error(vm, "%s", b.p ? b.p : "");
  sb_free(&b);
  return false;
}

static bool p_exit(vm_t *vm, uint32_t a, uint32_t argc) {
  int code = 0;
  if (argc == 1) {
    if (KIND(vm->W[a]) == K_FIXNUM) code = (int)fix_of(vm->W[a]);
    else if (vm->W[a] == W_FALSE) code = 1;
  }
  vm->exit_code = code;
  vm->exiting = true;
  return vm_error(vm, "exit");
}

static bool p_void(vm_t *vm, uint32_t a, uint32_t n) {
  (void)a;
  (void)n;
  return ret_imm(vm, W_UNSPEC);
}

/* ---- the collector ------------------------------------------------------------------------ */

/* A collection from Scheme: the scratch registers are cleared first so
 * nothing the program dropped stays reachable through them; afterwards the
 * symbol table's dead weak references are released, finalizers are
 * queued, and with --verify the heap verifier runs. */
static bool collect(vm_t *vm, bool minor) {
  TRY(v_set_imm(vm, R_TMP, W_UNSPEC));
  TRY(v_set_imm(vm, R_TMP2, W_UNSPEC));
  TRY(m_collect(vm, minor));
  sym_sweep(vm);
  TRY(fin_poll(vm));
  if (vm->verify) {
    size_t n;
    TRY(m_verify(vm, &n));
  }
  return ret_imm(vm, W_UNSPEC);
}
static bool p_collect(vm_t *vm, uint32_t a, uint32_t n) { (void)a; (void)n; return collect(vm, false); }
static bool p_collect_minor(vm_t *vm, uint32_t a, uint32_t n) { (void)a; (void)n; return collect(vm, true); }

static bool p_gc_count(vm_t *vm, uint32_t a, uint32_t n) {
  (void)a;
  (void)n;
  capgc_stats_t st;
  TRY(m_stats(vm, &st));
  return ret_imm(vm, w_fix((int64_t)st.collections));
}

/* (heap-stats): an association list of the collector's counters. */
static bool p_heap_stats(vm_t *vm, uint32_t a, uint32_t n) {
  (void)a;
  (void)n;
  capgc_stats_t st;
  TRY(m_stats(vm, &st));
  struct { const char *k; uint64_t v; } f[] = {
      {"collections", st.collections},     {"objects-allocated", st.objects_allocated},
      {"bytes-allocated", st.bytes_allocated}, {"bytes-in-use", st.bytes_in_use},
      {"heap-bytes", st.heap_bytes},       {"bytes-copied", st.bytes_copied},
      {"max-pause-ns", st.max_pause_ns},   {"checks", st.checks},
  };
  uint32_t base = vm->sp, l, k, e;
  TRY(v_push_imm(vm, W_NIL));
  l = base;
  TRY(v_reserve(vm, &k));
  TRY(v_reserve(vm, &e));
  for (size_t i = sizeof f / sizeof f[0]; i-- > 0;) {
    TRY(sym_intern(vm, k, f[i].k, strlen(f[i].k)));
    TRY(v_set_imm(vm, e, w_fix((int64_t)(f[i].v > (uint64_t)FIX_MAX ? (uint64_t)FIX_MAX : f[i].v))));
    TRY(mk_cons(vm, e, k, e));
    TRY(mk_cons(vm, l, e, l));
  }
  return ret_slot(vm, l);
}

static bool p_verify_heap(vm_t *vm, uint32_t a, uint32_t n) {
  (void)a;
  (void)n;
  size_t v;
  TRY(m_verify(vm, &v));
  return ret_imm(vm, w_fix((int64_t)v));
}

static bool p_capgc_mode(vm_t *vm, uint32_t a, uint32_t n) {
  (void)a;
  (void)n;
  uint32_t mode = 0;
  if (vm->split) CK(vm, capgc_split_heap_mode(vm->split, &mode, NULL));
  else CK(vm, capgc_heap_mode(vm->heap, &mode, NULL));
  const char *s = mode == CAPGC_MODE_NATIVE ? "native" : mode == CAPGC_MODE_P128 ? "p128" : "softcheri";
  return sym_intern(vm, R_VAL, s, strlen(s));
}

static bool p_runtime(vm_t *vm, uint32_t a, uint32_t n) {
  (void)a;
  (void)n;
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return ret_imm(vm, w_fix((int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000));
}

static bool p_script_args(vm_t *vm, uint32_t a, uint32_t n) {
  (void)a;
  (void)n;
  uint32_t base = vm->sp, l, s;
  TRY(v_push_imm(vm, W_NIL));
  l = base;
  TRY(v_reserve(vm, &s));
  for (int i = vm->nargs; i-- > 0;) {
    TRY(mk_string(vm, s, vm->args[i], strlen(vm->args[i])));
    TRY(mk_cons(vm, l, s, l));
  }
  return ret_slot(vm, l);
}

/* The value stack in use, in slots (the machine's continuations each hold
 * one): what a test checks to see that a tail-recursive loop runs in
 * constant space. */
static bool p_stack_depth(vm_t *vm, uint32_t a, uint32_t n) {
  (void)a;
  (void)n;
  return ret_imm(vm, w_fix((int64_t)(vm->sp - STACK0)));
}

static bool p_getenv(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(need(vm, a, K_STRING, NULL, 1));
  char *name;
  size_t len;
  TRY(str_bytes(vm, a, &name, &len));
  const char *v = getenv(name);
  free(name);
  if (!v) return ret_imm(vm, W_FALSE);
  return mk_string(vm, R_VAL, v, strlen(v));
}

/* ---- output ------------------------------------------------------------------------------- */

static bool out(vm_t *vm, uint32_t a, bool write) {
  sbuf_t b = {0};
  bool ok = print_value(vm, &b, a, write);
  if (ok && b.n) fwrite(b.p, 1, b.n, stdout);
  sb_free(&b);
  TRY(ok);
  return ret_imm(vm, W_UNSPEC);
}
static bool p_display(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return out(vm, a, false); }
static bool p_write(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return out(vm, a, true); }
static bool p_newline(vm_t *vm, uint32_t a, uint32_t n) {
  (void)a;
  (void)n;
  fputc('\n', stdout);
  return ret_imm(vm, W_UNSPEC);
}
static bool p_flush(vm_t *vm, uint32_t a, uint32_t n) {
  (void)a;
  (void)n;
  fflush(stdout);
  return ret_imm(vm, W_UNSPEC);
}

static const prim_t core[] = {
    {"apply", p_apply, 1, -1, false}, /* PRIM_APPLY: first */
    {"+", p_add, 0, -1, false},
    {"-", p_sub, 1, -1, false},
    {"*", p_mul, 0, -1, false},
    {"/", p_div, 1, -1, false},
    {"quotient", p_quotient, 2, 2, false},
    {"remainder", p_remainder, 2, 2, false},
    {"modulo", p_modulo, 2, 2, false},
    {"=", p_num_eq, 1, -1, false},
    {"<", p_lt, 1, -1, false},
    {">", p_gt, 1, -1, false},
    {"<=", p_le, 1, -1, false},
    {">=", p_ge, 1, -1, false},
    {"min", p_min, 1, -1, false},
    {"max", p_max, 1, -1, false},
    {"abs", p_abs, 1, 1, false},
    {"zero?", p_zerop, 1, 1, false},
    {"positive?", p_positivep, 1, 1, false},
    {"negative?", p_negativep, 1, 1, false},
    {"even?", p_evenp, 1, 1, false},
    {"odd?", p_oddp, 1, 1, false},
    {"number?", p_numberp, 1, 1, false},
    {"integer?", p_integerp, 1, 1, false},
    {"exact?", p_exactp, 1, 1, false},
    {"inexact?", p_inexactp, 1, 1, false},
    {"exact->inexact", p_to_inexact, 1, 1, false},
    {"inexact->exact", p_to_exact, 1, 1, false},
    {"exact", p_to_exact, 1, 1, false},
    {"inexact", p_to_inexact, 1, 1, false},
    {"floor", p_floor, 1, 1, false},
    {"ceiling", p_ceiling, 1, 1, false},
    {"truncate", p_truncate, 1, 1, false},
    {"round", p_round, 1, 1, false},
    {"sqrt", p_sqrt, 1, 1, false},
    {"expt", p_expt, 2, 2, false},
    {"null?", p_nullp, 1, 1, false},
    {"pair?", p_pairp, 1, 1, false},
    {"list?", p_listp, 1, 1, false},
    {"symbol?", p_symbolp, 1, 1, false},
    {"string?", p_stringp, 1, 1, false},
    {"vector?", p_vectorp, 1, 1, false},
    {"boolean?", p_booleanp, 1, 1, false},
    {"char?", p_charp, 1, 1, false},
    {"procedure?", p_procedurep, 1, 1, false},
    {"not", p_not, 1, 1, false},
    {"eq?", p_eq, 2, 2, false},
    {"eqv?", p_eq, 2, 2, false},
    {"equal?", p_equal, 2, 2, false},
    {"error", p_error, 1, -1, true},
    {"exit", p_exit, 0, 1, true},
    {"void", p_void, 0, -1, false},
    {"collect", p_collect, 0, 0, false},
    {"gc", p_collect, 0, 0, false},
    {"collect-minor", p_collect_minor, 0, 0, false},
    {"gc-count", p_gc_count, 0, 0, false},
    {"heap-stats", p_heap_stats, 0, 0, false},
    {"verify-heap", p_verify_heap, 0, 0, false},
    {"capgc-mode", p_capgc_mode, 0, 0, false},
    {"runtime", p_runtime, 0, 0, false},
    {"script-args", p_script_args, 0, 0, false},
    {"getenv", p_getenv, 1, 1, false},
    {"stack-depth", p_stack_depth, 0, 0, false},
    {"display", p_display, 1, 1, false},
    {"write", p_write, 1, 1, false},
    {"newline", p_newline, 0, 0, false},
    {"flush-output", p_flush, 0, 0, false},
};

void prims_core_register(void) { prim_register(core, sizeof core / sizeof core[0]); }
