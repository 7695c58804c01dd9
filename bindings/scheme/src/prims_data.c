/*
 * prims_data.c — primitives on pairs and lists, vectors, strings, symbols
 * and characters.
 *
 * The one deliberate exception to the rooting discipline lives here,
 * compiled only with -DSCHEME_INJECT_STALE (`make inject`): string-append
 * keeps its arguments' references in C locals across the allocation of
 * its result. See README.md, "Fault injection".
 */
#include "scheme.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- pairs and lists ---------------------------------------------------------- */

static bool p_cons(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  return mk_cons(vm, R_VAL, a, a + 1);
}

/* c[ad]+r: `path` read right to left, as the name says. */
static bool cxr(vm_t *vm, uint32_t a, const char *path) {
  TRY(v_move(vm, R_VAL, a));
  for (size_t i = strlen(path); i-- > 0;) {
    if (KIND(vm->W[R_VAL]) != K_PAIR) {
      char d[128];
      describe(vm, a, d, sizeof d);
      return vm_error(vm, "expected a pair, got %s (argument 1)", d);
    }
    TRY(path[i] == 'a' ? car(vm, R_VAL, R_VAL) : cdr(vm, R_VAL, R_VAL));
  }
  return true;
}
static bool p_car(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return cxr(vm, a, "a"); }
static bool p_cdr(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return cxr(vm, a, "d"); }
static bool p_caar(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return cxr(vm, a, "aa"); }
static bool p_cadr(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return cxr(vm, a, "ad"); }
static bool p_cdar(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return cxr(vm, a, "da"); }
static bool p_cddr(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return cxr(vm, a, "dd"); }
static bool p_caddr(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return cxr(vm, a, "add"); }
static bool p_cdddr(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return cxr(vm, a, "ddd"); }
static bool p_cadddr(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return cxr(vm, a, "addd"); }

static bool set_cxr(vm_t *vm, uint32_t a, uint32_t i) {
  TRY(need(vm, a, K_PAIR, NULL, 1));
  TRY(o_set(vm, a, VR_REF(vm, i), VR_WORD(vm, 2, i), a + 1));
  return ret_imm(vm, W_UNSPEC);
}
static bool p_set_car(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return set_cxr(vm, a, 0); }
static bool p_set_cdr(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return set_cxr(vm, a, 1); }

static bool p_list(vm_t *vm, uint32_t a, uint32_t argc) {
  TRY(ret_imm(vm, W_NIL));
  for (uint32_t i = argc; i-- > 0;) TRY(mk_cons(vm, R_VAL, a + i, R_VAL));
  return true;
}

static bool proper_length(vm_t *vm, uint32_t s, uint64_t *n, uint32_t argno) {
  bool proper;
  TRY(list_length(vm, s, n, &proper));
  if (!proper) {
    char d[128];
    describe(vm, s, d, sizeof d);
    return vm_error(vm, "expected a proper list, got %s (argument %u)", d, argno);
  }
  return true;
}

static bool p_length(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  uint64_t len;
  TRY(proper_length(vm, a, &len, 1));
  return ret_imm(vm, w_fix((int64_t)len));
}

/* Pushes the elements of the proper list in slot s. */
static bool push_elements(vm_t *vm, uint32_t s, uint32_t argno, uint64_t *count) {
  uint64_t len;
  TRY(proper_length(vm, s, &len, argno));
  uint32_t cur;
  TRY(v_push(vm, s));
  cur = vm->sp - 1;
  uint32_t first = vm->sp;
  for (uint64_t i = 0; i < len; i++) {
    uint32_t e;
    TRY(v_reserve(vm, &e));
    TRY(car(vm, e, cur));
    TRY(cdr(vm, cur, cur));
  }
  /* drop the cursor: shift the elements down one */
  for (uint64_t i = 0; i < len; i++) TRY(v_move(vm, cur + (uint32_t)i, first + (uint32_t)i));
  TRY(v_pop_to(vm, cur + (uint32_t)len));
  *count = len;
  return true;
}

static bool p_append(vm_t *vm, uint32_t a, uint32_t argc) {
  if (argc == 0) return ret_imm(vm, W_NIL);
  uint32_t base = vm->sp;
  for (uint32_t i = 0; i + 1 < argc; i++) {
    uint64_t c;
    TRY(push_elements(vm, a + i, i + 1, &c));
  }
  uint32_t top = vm->sp;
  TRY(v_move(vm, R_VAL, a + argc - 1));
  for (uint32_t i = top; i-- > base;) TRY(mk_cons(vm, R_VAL, i, R_VAL));
  return true;
}

static bool p_reverse(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  uint64_t len;
  TRY(proper_length(vm, a, &len, 1));
  uint32_t cur, e;
  TRY(v_push(vm, a));
  cur = vm->sp - 1;
  TRY(v_reserve(vm, &e));
  TRY(ret_imm(vm, W_NIL));
  while (KIND(vm->W[cur]) == K_PAIR) {
    TRY(car(vm, e, cur));
    TRY(mk_cons(vm, R_VAL, e, R_VAL));
    TRY(cdr(vm, cur, cur));
  }
  return true;
}

static bool tail(vm_t *vm, uint32_t a, uint32_t *cur) {
  TRY(need(vm, a + 1, K_FIXNUM, "an index", 2));
  int64_t k = fix_of(vm->W[a + 1]);
  TRY(v_push(vm, a));
  *cur = vm->sp - 1;
  for (int64_t i = 0; i < k; i++) {
    if (KIND(vm->W[*cur]) != K_PAIR) return vm_error(vm, "index %lld out of range (argument 2)", (long long)k);
    TRY(cdr(vm, *cur, *cur));
  }
  return true;
}
static bool p_list_tail(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  uint32_t cur;
  TRY(tail(vm, a, &cur));
  return ret_slot(vm, cur);
}
static bool p_list_ref(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  uint32_t cur;
  TRY(tail(vm, a, &cur));
  if (KIND(vm->W[cur]) != K_PAIR) return vm_error(vm, "index out of range (argument 2)");
  return car(vm, R_VAL, cur);
}

static bool p_last_pair(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(need(vm, a, K_PAIR, NULL, 1));
  uint32_t cur, nx;
  TRY(v_push(vm, a));
  cur = vm->sp - 1;
  TRY(v_reserve(vm, &nx));
  for (;;) {
    TRY(cdr(vm, nx, cur));
    if (KIND(vm->W[nx]) != K_PAIR) break;
    TRY(v_move(vm, cur, nx));
  }
  return ret_slot(vm, cur);
}

/* memq / memv / member (equal: structural) */
static bool mem(vm_t *vm, uint32_t a, bool structural) {
  uint32_t cur, e;
  TRY(v_push(vm, a + 1));
  cur = vm->sp - 1;
  TRY(v_reserve(vm, &e));
  while (KIND(vm->W[cur]) == K_PAIR) {
    bool same;
    TRY(car(vm, e, cur));
    TRY(structural ? v_equal(vm, a, e, &same) : v_eq(vm, a, e, &same));
    if (same) return ret_slot(vm, cur);
    TRY(cdr(vm, cur, cur));
  }
  return ret_imm(vm, W_FALSE);
}
static bool p_memq(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return mem(vm, a, false); }
static bool p_member(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return mem(vm, a, true); }

static bool ass(vm_t *vm, uint32_t a, bool structural) {
  uint32_t cur, e, k;
  TRY(v_push(vm, a + 1));
  cur = vm->sp - 1;
  TRY(v_reserve(vm, &e));
  TRY(v_reserve(vm, &k));
  while (KIND(vm->W[cur]) == K_PAIR) {
    bool same;
    TRY(car(vm, e, cur));
    if (KIND(vm->W[e]) != K_PAIR) return vm_error(vm, "expected an association list (argument 2)");
    TRY(car(vm, k, e));
    TRY(structural ? v_equal(vm, a, k, &same) : v_eq(vm, a, k, &same));
    if (same) return ret_slot(vm, e);
    TRY(cdr(vm, cur, cur));
  }
  return ret_imm(vm, W_FALSE);
}
static bool p_assq(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return ass(vm, a, false); }
static bool p_assoc(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return ass(vm, a, true); }

/* ---- vectors ---------------------------------------------------------------------------- */

static bool p_vector(vm_t *vm, uint32_t a, uint32_t argc) {
  uint32_t v;
  TRY(v_reserve(vm, &v));
  TRY(mk_vector(vm, v, argc, R_NULL));
  uint64_t cap = vec_cap(argc);
  for (uint32_t i = 0; i < argc; i++) TRY(o_init(vm, v, VR_REF(vm, i), VR_WORD(vm, cap, i), a + i));
  return ret_slot(vm, v);
}

static bool p_make_vector(vm_t *vm, uint32_t a, uint32_t argc) {
  TRY(need(vm, a, K_FIXNUM, "a length", 1));
  int64_t n = fix_of(vm->W[a]);
  if (n < 0) return vm_error(vm, "negative length %lld", (long long)n);
  uint32_t fill = a + 1;
  if (argc < 2) TRY(v_reserve(vm, &fill) && v_set_imm(vm, fill, w_fix(0)));
  return mk_vector(vm, R_VAL, (uint64_t)n, fill);
}

static bool p_vector_length(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(need(vm, a, K_VECTOR, NULL, 1));
  return ret_imm(vm, w_fix((int64_t)PAYLOAD(vm->W[a])));
}

static bool p_vector_ref(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  uint64_t i;
  TRY(need(vm, a, K_VECTOR, NULL, 1));
  TRY(need_index(vm, a + 1, PAYLOAD(vm->W[a]), &i, 2));
  return vec_get(vm, R_VAL, a, i);
}

static bool p_vector_set(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  uint64_t i;
  TRY(need(vm, a, K_VECTOR, NULL, 1));
  TRY(need_index(vm, a + 1, PAYLOAD(vm->W[a]), &i, 2));
  TRY(vec_set(vm, a, i, a + 2));
  return ret_imm(vm, W_UNSPEC);
}

static bool p_vector_fill(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(need(vm, a, K_VECTOR, NULL, 1));
  for (uint64_t i = 0; i < PAYLOAD(vm->W[a]); i++) TRY(vec_set(vm, a, i, a + 1));
  return ret_imm(vm, W_UNSPEC);
}

static bool p_vector_to_list(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(need(vm, a, K_VECTOR, NULL, 1));
  uint32_t e;
  TRY(v_reserve(vm, &e));
  TRY(ret_imm(vm, W_NIL));
  for (uint64_t i = PAYLOAD(vm->W[a]); i-- > 0;) {
    TRY(vec_get(vm, e, a, i));
    TRY(mk_cons(vm, R_VAL, e, R_VAL));
  }
  return true;
}

static bool p_list_to_vector(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  uint32_t first = vm->sp;
  uint64_t count;
  TRY(push_elements(vm, a, 1, &count));
  uint32_t v;
  TRY(v_reserve(vm, &v));
  TRY(mk_vector(vm, v, count, R_NULL));
  uint64_t cap = vec_cap(count);
  for (uint64_t i = 0; i < count; i++) TRY(o_init(vm, v, VR_REF(vm, i), VR_WORD(vm, cap, i), first + (uint32_t)i));
  return ret_slot(vm, v);
}

/* ---- strings ------------------------------------------------------------------------------ */

static bool p_string_length(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(need(vm, a, K_STRING, NULL, 1));
  return ret_imm(vm, w_fix((int64_t)PAYLOAD(vm->W[a])));
}

static bool p_string_ref(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  uint64_t i;
  unsigned char c;
  TRY(need(vm, a, K_STRING, NULL, 1));
  TRY(need_index(vm, a + 1, PAYLOAD(vm->W[a]), &i, 2));
  TRY(m_bytes_read(vm, a, i, &c, 1));
  return ret_imm(vm, MKW(K_CHAR, c));
}

static bool p_string_set(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  uint64_t i;
  TRY(need(vm, a, K_STRING, NULL, 1));
  TRY(need_index(vm, a + 1, PAYLOAD(vm->W[a]), &i, 2));
  TRY(need(vm, a + 2, K_CHAR, NULL, 3));
  unsigned char c = (unsigned char)PAYLOAD(vm->W[a + 2]);
  TRY(m_bytes_write(vm, a, i, &c, 1));
  return ret_imm(vm, W_UNSPEC);
}

static bool p_substring(vm_t *vm, uint32_t a, uint32_t argc) {
  TRY(need(vm, a, K_STRING, NULL, 1));
  uint64_t len = PAYLOAD(vm->W[a]), start, end = len;
  TRY(need_index(vm, a + 1, len + 1, &start, 2));
  if (argc > 2) TRY(need_index(vm, a + 2, len + 1, &end, 3));
  if (end < start) return vm_error(vm, "end %llu before start %llu", (unsigned long long)end, (unsigned long long)start);
  char *buf = malloc(end - start + 1);
  if (!buf) return vm_error(vm, "out of C memory");
  bool ok = m_bytes_read(vm, a, start, buf, end - start) && mk_string(vm, R_VAL, buf, end - start);
  free(buf);
  return ok;
}

static bool p_string_copy(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(need(vm, a, K_STRING, NULL, 1));
  char *s;
  size_t len;
  TRY(str_bytes(vm, a, &s, &len));
  bool ok = mk_string(vm, R_VAL, s, len);
  free(s);
  return ok;
}

static bool p_string_append(vm_t *vm, uint32_t a, uint32_t argc) {
  uint64_t total = 0;
  for (uint32_t i = 0; i < argc; i++) {
    TRY(need(vm, a + i, K_STRING, NULL, i + 1));
    total += PAYLOAD(vm->W[a + i]);
  }
  char *buf = malloc(total + 1);
  if (!buf) return vm_error(vm, "out of C memory");
  bool ok = true;
#ifdef SCHEME_INJECT_STALE
  if (!vm->split) {
    /* THE INJECTED BUG. The arguments' references are taken into C
     * locals, the result is allocated — a safepoint: the collector may run
     * and move every object — and only then are the arguments read through
     * the old references. In SoftCheri each of those references carries
     * the epoch it was issued in, so after a collection the read is
     * refused with CAPGC_E_STALE; in Native/P128 it would silently read
     * wherever the object used to be. */
    capgc_ref_t *refs = malloc((argc ? argc : 1) * sizeof *refs);
    ok = refs != NULL || vm_error(vm, "out of C memory");
    for (uint32_t i = 0; ok && i < argc; i++) ok = m_ref(vm, a + i, &refs[i]);
    ok = ok && m_alloc_bytes(vm, R_VAL, total); /* the safepoint */
    if (ok) vm->W[R_VAL] = MKW(K_STRING, total);
    uint64_t off = 0;
    for (uint32_t i = 0; ok && i < argc; i++) {
      uint64_t n = PAYLOAD(vm->W[a + i]);
      ok = m_ref_bytes_read(vm, refs[i], buf + off, n); /* stale after a collection */
      off += n;
    }
    ok = ok && m_bytes_write(vm, R_VAL, 0, buf, total);
    free(refs);
    free(buf);
    return ok;
  }
#endif
  /* Correct: copy the bytes out (data, not references), then allocate. */
  uint64_t off = 0;
  for (uint32_t i = 0; ok && i < argc; i++) {
    uint64_t n = PAYLOAD(vm->W[a + i]);
    ok = m_bytes_read(vm, a + i, 0, buf + off, n);
    off += n;
  }
  ok = ok && mk_string(vm, R_VAL, buf, total);
  free(buf);
  return ok;
}

/* Compares the strings in slots x and y: <0, 0, >0 into *c. */
static bool str_cmp(vm_t *vm, uint32_t x, uint32_t y, int *c) {
  char *p = NULL, *q = NULL;
  size_t n = 0, m = 0;
  TRY(str_bytes(vm, x, &p, &n));
  if (!str_bytes(vm, y, &q, &m)) {
    free(p);
    return false;
  }
  int r = memcmp(p, q, n < m ? n : m);
  *c = r ? r : (n < m ? -1 : n > m ? 1 : 0);
  free(p);
  free(q);
  return true;
}

static bool str_compare(vm_t *vm, uint32_t a, uint32_t argc, int want) {
  bool r = true;
  for (uint32_t i = 0; i < argc; i++) TRY(need(vm, a + i, K_STRING, NULL, i + 1));
  for (uint32_t i = 0; r && i + 1 < argc; i++) {
    int c;
    TRY(str_cmp(vm, a + i, a + i + 1, &c));
    r = want == 0 ? c == 0 : want < 0 ? c < 0 : c > 0;
  }
  return ret_imm(vm, W_BOOL(r));
}
static bool p_string_eq(vm_t *vm, uint32_t a, uint32_t n) { return str_compare(vm, a, n, 0); }
static bool p_string_lt(vm_t *vm, uint32_t a, uint32_t n) { return str_compare(vm, a, n, -1); }
static bool p_string_gt(vm_t *vm, uint32_t a, uint32_t n) { return str_compare(vm, a, n, 1); }

static bool p_string_to_list(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(need(vm, a, K_STRING, NULL, 1));
  char *s;
  size_t len;
  TRY(str_bytes(vm, a, &s, &len));
  uint32_t c;
  bool ok = v_reserve(vm, &c) && ret_imm(vm, W_NIL);
  for (size_t i = len; ok && i-- > 0;)
    ok = v_set_imm(vm, c, MKW(K_CHAR, (unsigned char)s[i])) && mk_cons(vm, R_VAL, c, R_VAL);
  free(s);
  return ok;
}

/* Chars in slots [first, first+n) into a new string in R_VAL. */
static bool chars_to_string(vm_t *vm, uint32_t first, uint64_t n, uint32_t argno0) {
  char *buf = malloc(n + 1);
  if (!buf) return vm_error(vm, "out of C memory");
  for (uint64_t i = 0; i < n; i++) {
    if (!need(vm, first + (uint32_t)i, K_CHAR, NULL, argno0 ? argno0 + (uint32_t)i : 1)) {
      free(buf);
      return false;
    }
    buf[i] = (char)PAYLOAD(vm->W[first + i]);
  }
  bool ok = mk_string(vm, R_VAL, buf, n);
  free(buf);
  return ok;
}

static bool p_list_to_string(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  uint32_t first = vm->sp;
  uint64_t count;
  TRY(push_elements(vm, a, 1, &count));
  return chars_to_string(vm, first, count, 0);
}

static bool p_string(vm_t *vm, uint32_t a, uint32_t argc) { return chars_to_string(vm, a, argc, 1); }

static bool p_make_string(vm_t *vm, uint32_t a, uint32_t argc) {
  TRY(need(vm, a, K_FIXNUM, "a length", 1));
  int64_t n = fix_of(vm->W[a]);
  if (n < 0 || n > (INT64_C(1) << 32)) return vm_error(vm, "bad length %lld", (long long)n);
  char c = ' ';
  if (argc > 1) {
    TRY(need(vm, a + 1, K_CHAR, NULL, 2));
    c = (char)PAYLOAD(vm->W[a + 1]);
  }
  char *buf = malloc((size_t)n + 1);
  if (!buf) return vm_error(vm, "out of C memory");
  memset(buf, c, (size_t)n);
  bool ok = mk_string(vm, R_VAL, buf, (size_t)n);
  free(buf);
  return ok;
}

static bool p_string_to_symbol(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(need(vm, a, K_STRING, NULL, 1));
  char *s;
  size_t len;
  TRY(str_bytes(vm, a, &s, &len));
  bool ok = sym_intern(vm, R_VAL, s, len);
  free(s);
  return ok;
}

static bool p_symbol_to_string(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(need(vm, a, K_SYMBOL, NULL, 1));
  sym_t *e = &vm->syms[PAYLOAD(vm->W[a])];
  return mk_string(vm, R_VAL, e->name, e->len);
}

static bool p_number_to_string(vm_t *vm, uint32_t a, uint32_t argc) {
  char buf[80];
  uint64_t w = vm->W[a];
  if (KIND(w) == K_FLONUM) {
    double d;
    TRY(flonum_of(vm, a, &d));
    format_double(d, buf, sizeof buf);
  } else {
    TRY(need(vm, a, K_FIXNUM, "a number", 1));
    int64_t radix = 10;
    if (argc > 1) {
      TRY(need(vm, a + 1, K_FIXNUM, "a radix", 2));
      radix = fix_of(vm->W[a + 1]);
      if (radix < 2 || radix > 36) return vm_error(vm, "radix %lld out of range", (long long)radix);
    }
    int64_t v = fix_of(w);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    char tmp[80];
    int n = 0;
    do {
      tmp[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[u % (uint64_t)radix];
      u /= (uint64_t)radix;
    } while (u);
    int j = 0;
    if (v < 0) buf[j++] = '-';
    while (n) buf[j++] = tmp[--n];
    buf[j] = 0;
  }
  return mk_string(vm, R_VAL, buf, strlen(buf));
}

static bool p_string_to_number(vm_t *vm, uint32_t a, uint32_t argc) {
  TRY(need(vm, a, K_STRING, NULL, 1));
  int radix = 10;
  if (argc > 1) {
    TRY(need(vm, a + 1, K_FIXNUM, "a radix", 2));
    radix = (int)fix_of(vm->W[a + 1]);
    if (radix < 2 || radix > 36) return vm_error(vm, "radix %d out of range", radix);
  }
  char *s, *end;
  size_t len;
  TRY(str_bytes(vm, a, &s, &len));
  bool ok;
  errno = 0;
  long long v = len ? strtoll(s, &end, radix) : 0;
  if (len && *end == 0 && errno == 0 && v >= FIX_MIN && v <= FIX_MAX) {
    ok = ret_imm(vm, w_fix(v));
  } else {
    double d = len && radix == 10 ? strtod(s, &end) : 0;
    if (len && radix == 10 && *end == 0 && !isspace((unsigned char)s[0])) ok = mk_flonum(vm, R_VAL, d);
    else ok = ret_imm(vm, W_FALSE);
  }
  free(s);
  return ok;
}

/* ---- characters ----------------------------------------------------------------------------- */

static bool p_char_to_integer(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(need(vm, a, K_CHAR, NULL, 1));
  return ret_imm(vm, w_fix((int64_t)PAYLOAD(vm->W[a])));
}
static bool p_integer_to_char(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  uint64_t c;
  TRY(need_index(vm, a, 256, &c, 1));
  return ret_imm(vm, MKW(K_CHAR, c));
}
static bool char_cmp(vm_t *vm, uint32_t a, uint32_t argc, int want) {
  bool r = true;
  for (uint32_t i = 0; i < argc; i++) TRY(need(vm, a + i, K_CHAR, NULL, i + 1));
  for (uint32_t i = 0; i + 1 < argc; i++) {
    uint64_t x = PAYLOAD(vm->W[a + i]), y = PAYLOAD(vm->W[a + i + 1]);
    r = r && (want == 0 ? x == y : want < 0 ? x < y : x > y);
  }
  return ret_imm(vm, W_BOOL(r));
}
static bool p_char_eq(vm_t *vm, uint32_t a, uint32_t n) { return char_cmp(vm, a, n, 0); }
static bool p_char_lt(vm_t *vm, uint32_t a, uint32_t n) { return char_cmp(vm, a, n, -1); }
static bool p_char_gt(vm_t *vm, uint32_t a, uint32_t n) { return char_cmp(vm, a, n, 1); }
static bool char_class(vm_t *vm, uint32_t a, int (*f)(int)) {
  TRY(need(vm, a, K_CHAR, NULL, 1));
  return ret_imm(vm, W_BOOL(f((int)PAYLOAD(vm->W[a])) != 0));
}
static bool p_char_alpha(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return char_class(vm, a, isalpha); }
static bool p_char_digit(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return char_class(vm, a, isdigit); }
static bool p_char_space(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return char_class(vm, a, isspace); }
static bool char_map(vm_t *vm, uint32_t a, int (*f)(int)) {
  TRY(need(vm, a, K_CHAR, NULL, 1));
  return ret_imm(vm, MKW(K_CHAR, (unsigned char)f((int)PAYLOAD(vm->W[a]))));
}
static bool p_char_up(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return char_map(vm, a, toupper); }
static bool p_char_down(vm_t *vm, uint32_t a, uint32_t n) { (void)n; return char_map(vm, a, tolower); }

static const prim_t data[] = {
    {"cons", p_cons, 2, 2, false},
    {"car", p_car, 1, 1, false},
    {"cdr", p_cdr, 1, 1, false},
    {"caar", p_caar, 1, 1, false},
    {"cadr", p_cadr, 1, 1, false},
    {"cdar", p_cdar, 1, 1, false},
    {"cddr", p_cddr, 1, 1, false},
    {"caddr", p_caddr, 1, 1, false},
    {"cdddr", p_cdddr, 1, 1, false},
    {"cadddr", p_cadddr, 1, 1, false},
    {"set-car!", p_set_car, 2, 2, false},
    {"set-cdr!", p_set_cdr, 2, 2, false},
    {"list", p_list, 0, -1, false},
    {"length", p_length, 1, 1, false},
    {"append", p_append, 0, -1, false},
    {"reverse", p_reverse, 1, 1, false},
    {"list-tail", p_list_tail, 2, 2, false},
    {"list-ref", p_list_ref, 2, 2, false},
    {"last-pair", p_last_pair, 1, 1, false},
    {"memq", p_memq, 2, 2, false},
    {"memv", p_memq, 2, 2, false},
    {"member", p_member, 2, 2, false},
    {"assq", p_assq, 2, 2, false},
    {"assv", p_assq, 2, 2, false},
    {"assoc", p_assoc, 2, 2, false},
    {"vector", p_vector, 0, -1, false},
    {"make-vector", p_make_vector, 1, 2, false},
    {"vector-length", p_vector_length, 1, 1, false},
    {"vector-ref", p_vector_ref, 2, 2, false},
    {"vector-set!", p_vector_set, 3, 3, false},
    {"vector-fill!", p_vector_fill, 2, 2, false},
    {"vector->list", p_vector_to_list, 1, 1, false},
    {"list->vector", p_list_to_vector, 1, 1, false},
    {"string-length", p_string_length, 1, 1, false},
    {"string-ref", p_string_ref, 2, 2, false},
    {"string-set!", p_string_set, 3, 3, false},
    {"substring", p_substring, 2, 3, false},
    {"string-copy", p_string_copy, 1, 1, false},
    {"string-append", p_string_append, 0, -1, false},
    {"string=?", p_string_eq, 1, -1, false},
    {"string<?", p_string_lt, 1, -1, false},
    {"string>?", p_string_gt, 1, -1, false},
    {"string->list", p_string_to_list, 1, 1, false},
    {"list->string", p_list_to_string, 1, 1, false},
    {"string", p_string, 0, -1, false},
    {"make-string", p_make_string, 1, 2, false},
    {"string->symbol", p_string_to_symbol, 1, 1, false},
    {"symbol->string", p_symbol_to_string, 1, 1, false},
    {"number->string", p_number_to_string, 1, 2, false},
    {"string->number", p_string_to_number, 1, 2, false},
    {"char->integer", p_char_to_integer, 1, 1, false},
    {"integer->char", p_integer_to_char, 1, 1, false},
    {"char=?", p_char_eq, 1, -1, false},
    {"char<?", p_char_lt, 1, -1, false},
    {"char>?", p_char_gt, 1, -1, false},
    {"char-alphabetic?", p_char_alpha, 1, 1, false},
    {"char-numeric?", p_char_digit, 1, 1, false},
    {"char-whitespace?", p_char_space, 1, 1, false},
    {"char-upcase", p_char_up, 1, 1, false},
    {"char-downcase", p_char_down, 1, 1, false},
};

void prims_data_register(void) { prim_register(data, sizeof data / sizeof data[0]); }
