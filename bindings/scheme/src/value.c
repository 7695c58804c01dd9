/*
 * value.c — values as (slot, word) and the objects built from them.
 *
 * Slot i of the root region holds the reference of a value whose word is
 * vm->W[i]. Invariants kept by every function here:
 *  - a slot whose word is an immediate kind holds null (so pushing an
 *    immediate costs no call, and the collector sees no stale reference);
 *  - slots at or above vm->sp hold null (popping clears what it pops);
 *  - a word is updated only after the library call that changed the slot
 *    succeeded, so a refused call leaves slot and word consistent.
 * Symbols, globals and constants are also here: the tables the compiler
 * resolves names against.
 */
#include "scheme.h"

#include <stdlib.h>
#include <string.h>

/* ---- slots ---------------------------------------------------------------- */

bool v_set_imm(vm_t *vm, uint32_t i, uint64_t w) {
  if (IS_HEAP(vm->W[i])) TRY(m_clear(vm, i));
  vm->W[i] = w;
  return true;
}

bool v_move(vm_t *vm, uint32_t dst, uint32_t src) {
  if (dst == src) return true;
  uint64_t w = vm->W[src];
  if (IS_HEAP(w))
    TRY(m_copy(vm, dst, src, IS_SEALED(w)));
  else if (IS_HEAP(vm->W[dst]))
    TRY(m_clear(vm, dst));
  vm->W[dst] = w;
  return true;
}

/* The value stack is full: the root region is replaced by one twice its
 * size (m_region_resize moves every reference slot by slot), up to
 * vm->maxslots; beyond that, a Scheme error. */
static bool overflow(vm_t *vm) {
  if (vm->nslots < vm->maxslots) {
    uint64_t n = (uint64_t)vm->nslots * 2;
    if (n > vm->maxslots) n = vm->maxslots;
    return m_region_resize(vm, (uint32_t)n);
  }
  return vm_error(vm, "stack overflow (the value stack of %u slots is full: recursion too deep?)",
                  vm->nslots - STACK0);
}

bool v_push(vm_t *vm, uint32_t src) {
  if (vm->sp >= vm->nslots) TRY(overflow(vm));
  uint32_t d = vm->sp;
  vm->W[d] = W_UNSPEC; /* the slot is null */
  TRY(v_move(vm, d, src));
  vm->sp = d + 1;
  if (vm->sp > vm->hwm) v_set_hwm(vm, vm->sp);
  return true;
}

bool v_push_imm(vm_t *vm, uint64_t w) {
  if (vm->sp >= vm->nslots) TRY(overflow(vm));
  vm->W[vm->sp++] = w;
  if (vm->sp > vm->hwm) v_set_hwm(vm, vm->sp);
  return true;
}

bool v_reserve(vm_t *vm, uint32_t *slot) {
  *slot = vm->sp;
  return v_push_imm(vm, W_UNSPEC);
}

bool v_pop_to(vm_t *vm, uint32_t n) {
  while (vm->sp > n) {
    uint32_t i = vm->sp - 1;
    if (IS_HEAP(vm->W[i])) TRY(m_clear(vm, i));
    vm->W[i] = W_UNSPEC;
    vm->sp = i;
  }
  return true;
}

/* After an error: every stack slot ever used and the scratch registers are
 * cleared whatever their words say; the tables (globals, constants,
 * finalizers) stay. */
bool v_reset(vm_t *vm) {
  static const uint32_t regs[] = {R_VAL, R_ENV, R_TMP, R_TMP2};
  for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++) {
    TRY(m_clear(vm, regs[i]));
    vm->W[regs[i]] = W_UNSPEC;
  }
  vm->W[R_ENV] = W_NOENV;
  for (uint32_t i = STACK0; i < vm->hwm; i++) {
    if (IS_HEAP(vm->W[i]) || i < vm->sp) TRY(m_clear(vm, i));
    vm->W[i] = W_UNSPEC;
  }
  vm->sp = STACK0;
  v_set_hwm(vm, STACK0);
  vm->kn = 0;
  vm->fin_running = false;
  vm->unsaved_from = 0;
  vm->epoch = 0;
  return true;
}

/* ---- fields ------------------------------------------------------------------ */

bool o_get(vm_t *vm, uint32_t dst, uint32_t holder, uint64_t refoff, uint64_t wordoff) {
  uint64_t w;
  TRY(m_read(vm, holder, wordoff, &w));
  if (IS_HEAP(w))
    TRY(m_load(vm, dst, holder, refoff, IS_SEALED(w)));
  else if (IS_HEAP(vm->W[dst]))
    TRY(m_clear(vm, dst));
  vm->W[dst] = w;
  return true;
}

/* The reference is stored first: a refused store leaves the field as it
 * was. An immediate overwrites the old reference with null. */
bool o_set(vm_t *vm, uint32_t holder, uint64_t refoff, uint64_t wordoff, uint32_t src) {
  uint64_t w = vm->W[src];
  if (IS_HEAP(w))
    TRY(m_store(vm, holder, refoff, src, IS_SEALED(w)));
  else
    TRY(m_store(vm, holder, refoff, R_NULL, false));
  return m_write(vm, holder, wordoff, w);
}

/* As o_set, for a field of a fresh (zeroed) object: no null store. */
bool o_init(vm_t *vm, uint32_t holder, uint64_t refoff, uint64_t wordoff, uint32_t src) {
  uint64_t w = vm->W[src];
  if (IS_HEAP(w)) TRY(m_store(vm, holder, refoff, src, IS_SEALED(w)));
  return w == 0 ? true : m_write(vm, holder, wordoff, w);
}

/* ---- pairs, strings, flonums, vectors ------------------------------------------ */

bool car(vm_t *vm, uint32_t dst, uint32_t p) {
  return o_get(vm, dst, p, VR_REF(vm, 0), VR_WORD(vm, 2, 0));
}
bool cdr(vm_t *vm, uint32_t dst, uint32_t p) {
  return o_get(vm, dst, p, VR_REF(vm, 1), VR_WORD(vm, 2, 1));
}

bool mk_cons(vm_t *vm, uint32_t dst, uint32_t a, uint32_t d) {
  uint32_t t = dst, base = vm->sp;
  if (dst == a || dst == d) TRY(v_reserve(vm, &t));
  TRY(m_alloc(vm, t, vm->t_pair));
  vm->W[t] = MKW(K_PAIR, 0);
  TRY(o_init(vm, t, VR_REF(vm, 0), VR_WORD(vm, 2, 0), a));
  TRY(o_init(vm, t, VR_REF(vm, 1), VR_WORD(vm, 2, 1), d));
  if (t != dst) {
    TRY(v_move(vm, dst, t));
    TRY(v_pop_to(vm, base));
  }
  return true;
}

bool mk_string(vm_t *vm, uint32_t dst, const char *s, size_t n) {
  if (n >= (UINT64_C(1) << 40)) return vm_error(vm, "string too long");
  TRY(m_alloc_bytes(vm, dst, n));
  vm->W[dst] = MKW(K_STRING, n);
  return m_bytes_write(vm, dst, 0, s, n);
}

bool str_bytes(vm_t *vm, uint32_t s, char **out, size_t *len) {
  size_t n = (size_t)PAYLOAD(vm->W[s]);
  char *b = malloc(n + 1);
  if (!b) return vm_error(vm, "out of C memory");
  if (!m_bytes_read(vm, s, 0, b, n)) {
    free(b);
    return false;
  }
  b[n] = 0;
  *out = b;
  *len = n;
  return true;
}

bool mk_flonum(vm_t *vm, uint32_t dst, double d) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  TRY(m_alloc(vm, dst, vm->t_flonum));
  vm->W[dst] = MKW(K_FLONUM, 0);
  return m_write(vm, dst, 0, bits);
}

bool flonum_of(vm_t *vm, uint32_t i, double *out) {
  uint64_t bits;
  TRY(m_read(vm, i, 0, &bits));
  memcpy(out, &bits, sizeof bits);
  return true;
}

/* A vector of n elements, each the value in slot `fill`. */
bool mk_vector(vm_t *vm, uint32_t dst, uint64_t n, uint32_t fill) {
  if (n >= (UINT64_C(1) << 32)) return vm_error(vm, "vector too long: %llu", (unsigned long long)n);
  capgc_type_t ty;
  TRY(m_vector_type(vm, n, &ty));
  uint32_t t = dst, base = vm->sp;
  if (dst == fill) TRY(v_reserve(vm, &t));
  TRY(m_alloc(vm, t, ty));
  vm->W[t] = MKW(K_VECTOR, n);
  uint64_t cap = vec_cap(n);
  for (uint64_t i = 0; i < n; i++) TRY(o_init(vm, t, VR_REF(vm, i), VR_WORD(vm, cap, i), fill));
  if (t != dst) {
    TRY(v_move(vm, dst, t));
    TRY(v_pop_to(vm, base));
  }
  return true;
}

bool vec_get(vm_t *vm, uint32_t dst, uint32_t v, uint64_t i) {
  uint64_t cap = vec_cap(PAYLOAD(vm->W[v]));
  return o_get(vm, dst, v, VR_REF(vm, i), VR_WORD(vm, cap, i));
}

bool vec_set(vm_t *vm, uint32_t v, uint64_t i, uint32_t src) {
  uint64_t cap = vec_cap(PAYLOAD(vm->W[v]));
  return o_set(vm, v, VR_REF(vm, i), VR_WORD(vm, cap, i), src);
}

/* Replaces the vector in slot vs by a longer copy (the VM's own tables). */
bool vec_grow(vm_t *vm, uint32_t vs, uint64_t newlen) {
  uint64_t old = PAYLOAD(vm->W[vs]);
  uint32_t base = vm->sp, nv, e;
  TRY(v_reserve(vm, &nv));
  TRY(v_reserve(vm, &e));
  capgc_type_t ty;
  TRY(m_vector_type(vm, newlen, &ty));
  TRY(m_alloc(vm, nv, ty));
  vm->W[nv] = MKW(K_VECTOR, newlen);
  uint64_t cap = vec_cap(newlen);
  for (uint64_t i = 0; i < old; i++) {
    TRY(vec_get(vm, e, vs, i));
    TRY(o_init(vm, nv, VR_REF(vm, i), VR_WORD(vm, cap, i), e));
  }
  TRY(v_move(vm, vs, nv));
  return v_pop_to(vm, base);
}

/* ---- identity and equality ---------------------------------------------------------- */

bool v_eq(vm_t *vm, uint32_t a, uint32_t b, bool *out) {
  uint64_t wa = vm->W[a], wb = vm->W[b];
  if (KIND(wa) == K_FLONUM && KIND(wb) == K_FLONUM) { /* eqv? on numbers */
    double x, y;
    TRY(flonum_of(vm, a, &x));
    TRY(flonum_of(vm, b, &y));
    *out = x == y;
    return true;
  }
  if (wa != wb) {
    *out = false;
    return true;
  }
  if (!IS_HEAP(wa) || KIND(wa) == K_SYMBOL) { /* symbols: the same id */
    *out = true;
    return true;
  }
  return m_same(vm, a, b, IS_SEALED(wa), out);
}

bool v_equal(vm_t *vm, uint32_t a, uint32_t b, bool *out) {
  uint64_t wa = vm->W[a], wb = vm->W[b];
  unsigned k = KIND(wa);
  if (k != KIND(wb) || (k != K_PAIR && k != K_STRING && k != K_VECTOR)) return v_eq(vm, a, b, out);
  uint32_t base = vm->sp, x, y;
  TRY(v_push(vm, a));
  x = vm->sp - 1;
  TRY(v_push(vm, b));
  y = vm->sp - 1;
  *out = true;
  if (k == K_STRING) {
    if (wa != wb) {
      *out = false;
    } else {
      char *p = NULL, *q = NULL;
      size_t n = 0, m = 0;
      TRY(str_bytes(vm, x, &p, &n));
      if (!str_bytes(vm, y, &q, &m)) {
        free(p);
        return false;
      }
      *out = n == m && memcmp(p, q, n) == 0;
      free(p);
      free(q);
    }
  } else if (k == K_VECTOR) {
    uint64_t n = PAYLOAD(wa);
    if (n != PAYLOAD(wb)) *out = false;
    uint32_t ex, ey;
    TRY(v_reserve(vm, &ex));
    TRY(v_reserve(vm, &ey));
    for (uint64_t i = 0; *out && i < n; i++) {
      TRY(vec_get(vm, ex, x, i));
      TRY(vec_get(vm, ey, y, i));
      TRY(v_equal(vm, ex, ey, out));
    }
  } else { /* pairs: the cars recursively, the cdrs in a loop */
    uint32_t ex, ey;
    TRY(v_reserve(vm, &ex));
    TRY(v_reserve(vm, &ey));
    while (*out && KIND(vm->W[x]) == K_PAIR && KIND(vm->W[y]) == K_PAIR) {
      TRY(car(vm, ex, x));
      TRY(car(vm, ey, y));
      TRY(v_equal(vm, ex, ey, out));
      TRY(cdr(vm, x, x));
      TRY(cdr(vm, y, y));
    }
    if (*out) TRY(v_equal(vm, x, y, out));
  }
  return v_pop_to(vm, base);
}

/* ---- symbols: a C-side table of names, each with a weak reference to its
 *      symbol object. The object lives as long as some value refers to it;
 *      its id (in every word that names it) is the entry's, so re-interning
 *      a name whose object died gives the same id: eq? stays a word compare. */

static uint32_t hash_name(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

static bool symhash_grow(vm_t *vm) {
  uint32_t cap = vm->symhash_cap ? vm->symhash_cap * 2 : 1024;
  uint32_t *t = calloc(cap, sizeof *t);
  if (!t) return vm_error(vm, "out of C memory");
  for (uint32_t id = 0; id < vm->nsyms; id++) {
    uint32_t j = vm->syms[id].hash & (cap - 1);
    while (t[j]) j = (j + 1) & (cap - 1);
    t[j] = id + 1;
  }
  free(vm->symhash);
  vm->symhash = t;
  vm->symhash_cap = cap;
  return true;
}

bool sym_make_id(vm_t *vm, const char *name, size_t len, uint32_t *id) {
  uint32_t h = hash_name(name, len);
  if (vm->symhash_cap) {
    uint32_t j = h & (vm->symhash_cap - 1);
    for (; vm->symhash[j]; j = (j + 1) & (vm->symhash_cap - 1)) {
      sym_t *e = &vm->syms[vm->symhash[j] - 1];
      if (e->hash == h && e->len == len && memcmp(e->name, name, len) == 0) {
        *id = vm->symhash[j] - 1;
        return true;
      }
    }
  }
  if (len > UINT32_MAX) return vm_error(vm, "symbol name too long");
  if (vm->nsyms == vm->capsyms) {
    uint32_t cap = vm->capsyms ? vm->capsyms * 2 : 256;
    sym_t *s = realloc(vm->syms, cap * sizeof *s);
    if (!s) return vm_error(vm, "out of C memory");
    vm->syms = s;
    vm->capsyms = cap;
  }
  if (2 * (vm->nsyms + 1) > vm->symhash_cap) TRY(symhash_grow(vm));
  sym_t *e = &vm->syms[vm->nsyms];
  e->name = malloc(len + 1);
  if (!e->name) return vm_error(vm, "out of C memory");
  memcpy(e->name, name, len);
  e->name[len] = 0;
  e->len = (uint32_t)len;
  e->hash = h;
  e->global = -1;
  e->has_weak = false;
  uint32_t j = h & (vm->symhash_cap - 1);
  while (vm->symhash[j]) j = (j + 1) & (vm->symhash_cap - 1);
  vm->symhash[j] = vm->nsyms + 1;
  *id = vm->nsyms++;
  return true;
}

uint32_t sym_id(vm_t *vm, const char *name) {
  uint32_t id;
  return sym_make_id(vm, name, strlen(name), &id) ? id : UINT32_MAX;
}

/* Slot dst := the symbol named `name`: its live object, or a new one. */
bool sym_intern(vm_t *vm, uint32_t dst, const char *name, size_t len) {
  uint32_t id;
  TRY(sym_make_id(vm, name, len, &id));
  sym_t *e = &vm->syms[id];
  if (e->has_weak) {
    capgc_ref_t r;
    TRY(m_weak_get(vm, e->weak, &r));
    if (!capgc_is_null(r)) {
      TRY(m_set_ref(vm, dst, r));
      vm->W[dst] = MKW(K_SYMBOL, id);
      return true;
    }
    TRY(m_weak_release(vm, e->weak));
    e->has_weak = false;
  }
  TRY(m_alloc(vm, dst, vm->t_symbol));
  vm->W[dst] = MKW(K_SYMBOL, id);
  TRY(m_write(vm, dst, 0, id));
  TRY(m_weak_new(vm, dst, &e->weak));
  e->has_weak = true;
  return true;
}

/* Releases the weak references of symbols whose objects died. */
void sym_sweep(vm_t *vm) {
  for (uint32_t i = 0; i < vm->nsyms; i++) {
    sym_t *e = &vm->syms[i];
    capgc_ref_t r;
    if (e->has_weak && m_weak_get(vm, e->weak, &r) && capgc_is_null(r) && m_weak_release(vm, e->weak))
      e->has_weak = false;
  }
}

/* ---- globals and constants: vectors in R_GLOBALS / R_CONSTS ----------------------- */

bool global_index(vm_t *vm, uint32_t sym, uint32_t *out) {
  if (vm->syms[sym].global >= 0) {
    *out = (uint32_t)vm->syms[sym].global;
    return true;
  }
  if (vm->nglobals == vm->gcap) {
    uint32_t cap = vm->gcap * 2;
    uint32_t *g = realloc(vm->gsym, cap * sizeof *g);
    if (!g) return vm_error(vm, "out of C memory");
    vm->gsym = g;
    uint64_t *gw = realloc(vm->gword, cap * sizeof *gw);
    if (!gw) return vm_error(vm, "out of C memory");
    vm->gword = gw;
    TRY(vec_grow(vm, R_GLOBALS, cap));
    vm->gcap = cap;
  }
  uint32_t g = vm->nglobals++;
  vm->gsym[g] = sym;
  vm->gword[g] = MKW(K_UNDEF, 0);
  vm->syms[sym].global = (int32_t)g;
  *out = g;
  return true;
}

bool global_get(vm_t *vm, uint32_t dst, uint32_t g) {
  uint64_t w = vm->gword[g];
  if (IS_HEAP(w))
    TRY(m_load(vm, dst, R_GLOBALS, VR_REF(vm, g), IS_SEALED(w)));
  else if (IS_HEAP(vm->W[dst]))
    TRY(m_clear(vm, dst));
  vm->W[dst] = w;
  return true;
}

bool global_set(vm_t *vm, uint32_t g, uint32_t src) {
  TRY(o_set(vm, R_GLOBALS, VR_REF(vm, g), VR_WORD(vm, vm->gcap, g), src));
  vm->gword[g] = vm->W[src];
  return true;
}

bool global_define_prim(vm_t *vm, const char *name, uint32_t prim) {
  uint32_t id = 0, g = 0;
  TRY(sym_make_id(vm, name, strlen(name), &id));
  TRY(global_index(vm, id, &g));
  TRY(m_store(vm, R_GLOBALS, VR_REF(vm, g), R_NULL, false));
  TRY(m_write(vm, R_GLOBALS, VR_WORD(vm, vm->gcap, g), MKW(K_PRIM, prim)));
  vm->gword[g] = MKW(K_PRIM, prim);
  return true;
}

bool const_add(vm_t *vm, uint32_t src, uint32_t *out) {
  if (vm->nconsts == vm->ccap) {
    TRY(vec_grow(vm, R_CONSTS, (uint64_t)vm->ccap * 2));
    vm->ccap *= 2;
  }
  uint32_t c = vm->nconsts;
  TRY(o_init(vm, R_CONSTS, VR_REF(vm, c), VR_WORD(vm, vm->ccap, c), src));
  vm->nconsts++;
  *out = c;
  return true;
}

bool const_get(vm_t *vm, uint32_t dst, uint32_t c) {
  return o_get(vm, dst, R_CONSTS, VR_REF(vm, c), VR_WORD(vm, vm->ccap, c));
}
