/*
 * weak.c — weak tables on CapGC ephemerons, and finalizers on CapGC's
 * finalization queue.
 *
 * A weak table is a small heap object (its word names a C-side table of
 * entries); each entry is a capgc ephemeron keyed by an object, holding the
 * value's reference, plus the key's and value's words. An entry's value
 * lives exactly as long as its key is reachable from elsewhere; once the key
 * dies the ephemeron gives two nulls and the entry is dropped at the next
 * operation on the table. Keys are compared by identity (eq?), by a linear
 * scan: a moving collector changes addresses, so an address hash would need
 * rehashing after every collection — a trade-off fine for the tables a test
 * builds. When the table object itself dies, a finalizer (token kind 1)
 * frees its C side.
 *
 * (register-finalizer! obj thunk) keeps thunk in the finalizer vector
 * (R_FINS, rooted) under an index and registers obj with that index as its
 * token (kind 0). After a collection finds obj unreachable, the token is
 * taken (fin_poll) and the thunk queued; the machine runs queued thunks at
 * its next return point, or at the next top-level boundary. A thunk that
 * refers to obj keeps it alive, as in Java: give it what it needs instead.
 */
#include "scheme.h"

#include <stdlib.h>
#include <string.h>

enum { TOK_THUNK = 0, TOK_TABLE = 1 };

/* ---- weak tables --------------------------------------------------------------- */

static bool wt_of(vm_t *vm, uint32_t slot, wtable_t **out) {
  TRY(need(vm, slot, K_WTABLE, NULL, 1));
  uint64_t id = PAYLOAD(vm->W[slot]);
  if (id >= vm->nwt || !vm->wt[id].used) return vm_error(vm, "internal: a freed weak table");
  *out = &vm->wt[id];
  return true;
}

static void wt_remove(wtable_t *t, size_t i) { t->v[i] = t->v[--t->n]; }

/* Drops the entries whose keys died. */
static bool wt_sweep(vm_t *vm, wtable_t *t) {
  for (size_t i = 0; i < t->n;) {
    capgc_ref_t k, v;
    TRY(m_eph_get(vm, t->v[i].e, &k, &v));
    if (capgc_is_null(k)) {
      TRY(m_eph_release(vm, t->v[i].e));
      wt_remove(t, i);
    } else {
      i++;
    }
  }
  return true;
}

/* The entry keyed by the object in slot key, or SIZE_MAX. */
static bool wt_find(vm_t *vm, wtable_t *t, uint32_t key, size_t *out) {
  *out = SIZE_MAX;
  TRY(wt_sweep(vm, t));
  if (!IS_HEAP(vm->W[key]) || IS_SEALED(vm->W[key])) return true;
  capgc_ref_t kr;
  TRY(m_ref(vm, key, &kr)); /* used at once: no safepoint below */
  for (size_t i = 0; i < t->n; i++) {
    capgc_ref_t k, v;
    TRY(m_eph_get(vm, t->v[i].e, &k, &v));
    if (k.addr == kr.addr) {
      *out = i;
      return true;
    }
  }
  return true;
}

static bool p_make_weak_table(vm_t *vm, uint32_t a, uint32_t n) {
  (void)a;
  (void)n;
  uint32_t id = 0;
  while (id < vm->nwt && vm->wt[id].used) id++;
  if (id == vm->nwt) {
    if (vm->nwt == vm->capwt) {
      uint32_t cap = vm->capwt ? vm->capwt * 2 : 16;
      wtable_t *w = realloc(vm->wt, cap * sizeof *w);
      if (!w) return vm_error(vm, "out of C memory");
      vm->wt = w;
      vm->capwt = cap;
    }
    vm->nwt++;
  }
  TRY(m_alloc(vm, R_VAL, vm->t_wtable));
  vm->W[R_VAL] = MKW(K_WTABLE, id);
  TRY(m_write(vm, R_VAL, 0, id));
  vm->wt[id] = (wtable_t){true, NULL, 0, 0};
  /* the C side goes when the table object dies (plain heaps: compartments
   * have no finalizers, their tables live as long as the VM) */
  if (!vm->split) TRY(m_finalizer_register(vm, R_VAL, ((uint64_t)id << 1) | TOK_TABLE));
  return true;
}

static void wt_free(vm_t *vm, uint64_t id) {
  if (id >= vm->nwt || !vm->wt[id].used) return;
  wtable_t *t = &vm->wt[id];
  for (size_t i = 0; i < t->n; i++) (void)m_eph_release(vm, t->v[i].e); /* best effort */
  free(t->v);
  *t = (wtable_t){false, NULL, 0, 0};
}

static bool p_weak_table_set(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  wtable_t *t = NULL;
  TRY(wt_of(vm, a, &t));
  uint64_t kw = vm->W[a + 1];
  if (!IS_HEAP(kw) || IS_SEALED(kw)) {
    char d[128];
    describe(vm, a + 1, d, sizeof d);
    return vm_error(vm, "a weak table's key must be an object (a pair, string, vector, ...), got %s", d);
  }
  size_t i;
  TRY(wt_find(vm, t, a + 1, &i));
  capgc_ephemeron_t e;
  TRY(m_eph_new(vm, a + 1, a + 2, &e));
  if (i != SIZE_MAX) {
    TRY(m_eph_release(vm, t->v[i].e));
  } else {
    if (t->n == t->cap) {
      size_t cap = t->cap ? t->cap * 2 : 8;
      wentry_t *v = realloc(t->v, cap * sizeof *v);
      if (!v) {
        (void)m_eph_release(vm, e);
        return vm_error(vm, "out of C memory");
      }
      t->v = v;
      t->cap = cap;
    }
    i = t->n++;
  }
  t->v[i] = (wentry_t){e, kw, vm->W[a + 2]};
  return ret_imm(vm, W_UNSPEC);
}

static bool p_weak_table_ref(vm_t *vm, uint32_t a, uint32_t argc) {
  wtable_t *t = NULL;
  TRY(wt_of(vm, a, &t));
  size_t i;
  TRY(wt_find(vm, t, a + 1, &i));
  if (i == SIZE_MAX) return argc > 2 ? ret_slot(vm, a + 2) : ret_imm(vm, W_FALSE);
  uint64_t vw = t->v[i].vword;
  if (!IS_HEAP(vw)) return ret_imm(vm, vw);
  capgc_ref_t k, v;
  TRY(m_eph_get(vm, t->v[i].e, &k, &v));
  TRY(m_set_ref(vm, R_VAL, v));
  vm->W[R_VAL] = vw;
  return true;
}

static bool p_weak_table_delete(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  wtable_t *t = NULL;
  TRY(wt_of(vm, a, &t));
  size_t i;
  TRY(wt_find(vm, t, a + 1, &i));
  if (i != SIZE_MAX) {
    TRY(m_eph_release(vm, t->v[i].e));
    wt_remove(t, i);
  }
  return ret_imm(vm, W_UNSPEC);
}

static bool p_weak_table_count(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  wtable_t *t = NULL;
  TRY(wt_of(vm, a, &t));
  TRY(wt_sweep(vm, t));
  return ret_imm(vm, w_fix((int64_t)t->n));
}

/* The live keys, as a list (in no particular order). */
static bool p_weak_table_keys(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  wtable_t *t = NULL;
  TRY(wt_of(vm, a, &t));
  TRY(wt_sweep(vm, t));
  uint32_t first = vm->sp;
  for (size_t i = 0; i < t->n; i++) {
    uint32_t s;
    capgc_ref_t k, v;
    TRY(v_reserve(vm, &s));
    TRY(m_eph_get(vm, t->v[i].e, &k, &v));
    TRY(m_set_ref(vm, s, k));
    vm->W[s] = t->v[i].kword;
  }
  TRY(ret_imm(vm, W_NIL));
  for (uint32_t s = vm->sp; s-- > first;) TRY(mk_cons(vm, R_VAL, s, R_VAL));
  return true;
}

void weak_free_all(vm_t *vm) {
  for (uint32_t i = 0; i < vm->nwt; i++) free(vm->wt[i].v);
  free(vm->wt);
  vm->wt = NULL;
  vm->nwt = vm->capwt = 0;
  free(vm->finq);
  vm->finq = NULL;
  free(vm->ffree);
  vm->ffree = NULL;
}

/* ---- finalizers ----------------------------------------------------------------------- */

static bool p_register_finalizer(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  uint64_t w = vm->W[a];
  if (!IS_HEAP(w) || IS_SEALED(w)) {
    char d[128];
    describe(vm, a, d, sizeof d);
    return vm_error(vm, "only an object can have a finalizer, got %s (argument 1)", d);
  }
  unsigned k = KIND(vm->W[a + 1]);
  if (k != K_CLOSURE && k != K_PRIM) return need(vm, a + 1, K_CLOSURE, "a procedure", 2);
  if (vm->split) return m_finalizer_register(vm, a, 0); /* the error */
  uint32_t idx;
  if (vm->nffree) {
    idx = vm->ffree[--vm->nffree];
  } else {
    if (vm->fnext == vm->fcap) {
      uint32_t cap = vm->fcap * 2;
      uint32_t *f = realloc(vm->ffree, cap * sizeof *f);
      if (!f) return vm_error(vm, "out of C memory");
      vm->ffree = f;
      TRY(vec_grow(vm, R_FINS, cap));
      vm->fcap = cap;
    }
    idx = vm->fnext++;
  }
  if (!vec_set(vm, R_FINS, idx, a + 1) || !m_finalizer_register(vm, a, (uint64_t)idx << 1 | TOK_THUNK)) {
    vm->ffree[vm->nffree++] = idx;
    return false;
  }
  return ret_imm(vm, W_UNSPEC);
}

/* Takes the tokens CapGC delivered: thunks are queued, dead tables freed. */
bool fin_poll(vm_t *vm) {
  uint64_t tok[64];
  size_t n;
  do {
    TRY(m_finalized_take(vm, tok, 64, &n));
    for (size_t i = 0; i < n; i++) {
      if ((tok[i] & 1) == TOK_TABLE) {
        wt_free(vm, tok[i] >> 1);
        continue;
      }
      if (vm->finq_n == vm->finq_cap) {
        size_t cap = vm->finq_cap ? vm->finq_cap * 2 : 16;
        uint64_t *q = realloc(vm->finq, cap * sizeof *q);
        if (!q) return vm_error(vm, "out of C memory");
        vm->finq = q;
        vm->finq_cap = cap;
      }
      vm->finq[vm->finq_n++] = tok[i] >> 1;
    }
  } while (n == 64);
  return true;
}

static const prim_t weak[] = {
    {"make-weak-table", p_make_weak_table, 0, 0, false},
    {"weak-table-set!", p_weak_table_set, 3, 3, false},
    {"weak-table-ref", p_weak_table_ref, 2, 3, false},
    {"weak-table-delete!", p_weak_table_delete, 2, 2, false},
    {"weak-table-count", p_weak_table_count, 1, 1, false},
    {"weak-table-keys", p_weak_table_keys, 1, 1, false},
    {"register-finalizer!", p_register_finalizer, 2, 2, false},
};

void prims_weak_register(void) { prim_register(weak, sizeof weak / sizeof weak[0]); }
