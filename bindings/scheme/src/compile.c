/*
 * compile.c — heap data to the code tree the machine runs.
 *
 * The tree (node_t, code_t) is C memory owned by the VM: it is immutable
 * once built, holds no references (a heap constant is an index into the
 * constants vector, a global an index into the globals vector) and lives
 * until the VM is freed. Variables are resolved here: a local to (depth,
 * field offsets) in the chain of frames, anything else to a global index.
 * Derived forms (let*, named let, do, cond, case, when, unless,
 * quasiquote) become the core nodes directly.
 *
 * Each form being compiled is first spread onto the value stack (its
 * elements in consecutive slots), so the source stays rooted even when the
 * compiler allocates (growing the globals or constants vector).
 *
 * A body's internal defines are found before it is compiled and become
 * variables of its frame (letrec* semantics), so every frame's size is
 * known before any reference to it is compiled.
 */
#include "scheme.h"

#include <stdlib.h>
#include <string.h>

/* ---- node memory: an arena of chunks freed with the VM ------------------ */

typedef struct chunk {
  struct chunk *next;
  size_t used, cap;
  max_align_t data[];
} chunk_t;

static void *arena_alloc(vm_t *vm, size_t n) {
  n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  chunk_t *c = vm->arena;
  if (!c || c->used + n > c->cap) {
    size_t cap = n > 65536 ? n : 65536;
    chunk_t *nc = malloc(sizeof *nc + cap);
    if (!nc) return NULL;
    nc->next = c;
    nc->used = 0;
    nc->cap = cap;
    vm->arena = nc;
    c = nc;
  }
  void *p = (char *)c->data + c->used;
  c->used += n;
  memset(p, 0, n);
  return p;
}

void code_free_all(vm_t *vm) {
  for (chunk_t *c = vm->arena, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  vm->arena = NULL;
  free(vm->codes);
  vm->codes = NULL;
}

static node_t *nnew(vm_t *vm, uint8_t k, uint32_t nkids) {
  node_t *n = arena_alloc(vm, sizeof *n);
  if (!n) return NULL;
  n->k = k;
  n->n = nkids;
  if (nkids && !(n->kid = arena_alloc(vm, nkids * sizeof *n->kid))) return NULL;
  return n;
}

#define NEW(var, k, nk)                                                        \
  do {                                                                         \
    if (!((var) = nnew(vm, (k), (nk)))) return vm_error(vm, "out of C memory"); \
  } while (0)

/* ---- scopes: the compile-time image of the frame chain ------------------- */

typedef struct scope {
  uint32_t *ids; /* symbol ids; UINT32_MAX for a hidden variable */
  uint32_t n, cap;
  struct scope *up;
} scope_t;

static bool scope_add(vm_t *vm, scope_t *sc, uint32_t id, uint32_t *index) {
  if (id != UINT32_MAX)
    for (uint32_t i = 0; i < sc->n; i++)
      if (sc->ids[i] == id) {
        *index = i; /* a second define of the same name: the same variable */
        return true;
      }
  if (sc->n == sc->cap) {
    uint32_t cap = sc->cap ? sc->cap * 2 : 8;
    uint32_t *p = realloc(sc->ids, cap * sizeof *p);
    if (!p) return vm_error(vm, "out of C memory");
    sc->ids = p;
    sc->cap = cap;
  }
  *index = sc->n;
  sc->ids[sc->n++] = id;
  return true;
}

static bool lookup(scope_t *sc, uint32_t id, uint32_t *depth, uint32_t *index, uint32_t *n) {
  for (uint32_t d = 0; sc; sc = sc->up, d++)
    for (uint32_t i = sc->n; i-- > 0;)
      if (sc->ids[i] == id) {
        *depth = d;
        *index = i;
        *n = sc->n;
        return true;
      }
  return false;
}

/* ---- helpers ------------------------------------------------------------------- */

static bool comp(vm_t *vm, uint32_t x, scope_t *sc, node_t **out);

/* Pushes the elements of the list in slot x; *n gets their number. */
static bool spread(vm_t *vm, uint32_t x, uint32_t *base, uint32_t *n) {
  uint32_t cur;
  *base = vm->sp;
  TRY(v_push(vm, x));
  cur = *base;
  uint32_t count = 0;
  while (KIND(vm->W[cur]) == K_PAIR) {
    TRY(v_reserve(vm, &(uint32_t){0}));
    /* element `count` goes to slot cur; the rest of the list above it */
    uint32_t next = vm->sp - 1;
    TRY(cdr(vm, next, cur));
    TRY(car(vm, cur, cur));
    cur = next;
    count++;
  }
  if (KIND(vm->W[cur]) != K_NIL) {
    char d[128];
    describe(vm, x, d, sizeof d);
    return vm_error(vm, "bad syntax: improper list %s", d);
  }
  TRY(v_pop_to(vm, cur)); /* drop the '() */
  *n = count;
  return true;
}

static bool syntax(vm_t *vm, uint32_t form, const char *what) {
  char d[128];
  describe(vm, form, d, sizeof d);
  return vm_error(vm, "bad syntax (%s): %s", what, d);
}

static bool is_sym(vm_t *vm, uint32_t slot, int sy) { return vm->W[slot] == MKW(K_SYMBOL, vm->sy[sy]); }

static bool const_node(vm_t *vm, uint32_t x, node_t **out) {
  node_t *n;
  NEW(n, N_CONST, 0);
  if (IS_HEAP(vm->W[x])) {
    n->is_heap = true;
    TRY(const_add(vm, x, &n->a));
  } else {
    n->w = vm->W[x];
  }
  *out = n;
  return true;
}

static bool imm_node(vm_t *vm, uint64_t w, node_t **out) {
  node_t *n;
  NEW(n, N_CONST, 0);
  n->w = w;
  *out = n;
  return true;
}

/* A reference to the global named `name` (for derived forms). */
static bool gref_named(vm_t *vm, const char *name, node_t **out) {
  uint32_t id = sym_id(vm, name), g;
  if (id == UINT32_MAX) return false;
  TRY(global_index(vm, id, &g));
  node_t *n;
  NEW(n, N_GREF, 0);
  n->a = g;
  n->sym = id;
  *out = n;
  return true;
}

static bool var_node(vm_t *vm, scope_t *sc, uint32_t id, bool set, node_t **out) {
  uint32_t depth, index, n;
  node_t *nd;
  if (lookup(sc, id, &depth, &index, &n)) {
    NEW(nd, set ? N_LSET : N_LREF, set ? 1 : 0);
    nd->depth = depth;
    nd->refoff = FR_REF(vm, index);
    nd->wordoff = FR_WORD(vm, n, index);
  } else {
    NEW(nd, set ? N_GSET : N_GREF, set ? 1 : 0);
    TRY(global_index(vm, id, &nd->a));
  }
  nd->sym = id;
  *out = nd;
  return true;
}

/* A local of the innermost scope, by index (hidden variables). */
static bool local_node(vm_t *vm, scope_t *sc, uint32_t depth, uint32_t index, bool set, node_t **out) {
  scope_t *s = sc;
  for (uint32_t d = 0; d < depth; d++) s = s->up;
  node_t *nd;
  NEW(nd, set ? N_LSET : N_LREF, set ? 1 : 0);
  nd->depth = depth;
  nd->refoff = FR_REF(vm, index);
  nd->wordoff = FR_WORD(vm, s->n, index);
  nd->sym = UINT32_MAX;
  *out = nd;
  return true;
}

/* Compiles slots [first, first+n) into a sequence (or one node). */
static bool comp_seq(vm_t *vm, uint32_t first, uint32_t n, scope_t *sc, node_t **out) {
  if (n == 0) return imm_node(vm, W_UNSPEC, out);
  if (n == 1) return comp(vm, first, sc, out);
  node_t *s;
  NEW(s, N_SEQ, n);
  for (uint32_t i = 0; i < n; i++) TRY(comp(vm, first + i, sc, &s->kid[i]));
  *out = s;
  return true;
}

/* The name a (define ...) form in slot f defines, or false if it is not
 * one. Leaves the name's symbol id in *id. */
static bool define_name(vm_t *vm, uint32_t f, uint32_t *id, bool *is_define) {
  *is_define = false;
  if (KIND(vm->W[f]) != K_PAIR) return true;
  uint32_t base = vm->sp, h;
  TRY(v_reserve(vm, &h));
  TRY(car(vm, h, f));
  if (is_sym(vm, h, SY_DEFINE)) {
    TRY(cdr(vm, h, f));
    if (KIND(vm->W[h]) != K_PAIR) return syntax(vm, f, "define");
    TRY(car(vm, h, h));
    if (KIND(vm->W[h]) == K_PAIR) TRY(car(vm, h, h)); /* (define (f . args) ...) */
    if (KIND(vm->W[h]) != K_SYMBOL) return syntax(vm, f, "define");
    *id = (uint32_t)PAYLOAD(vm->W[h]);
    *is_define = true;
  }
  return v_pop_to(vm, base);
}

static bool comp_define_value(vm_t *vm, uint32_t form, uint32_t base, uint32_t n, scope_t *sc,
                              uint32_t *id, node_t **value);

/* A body: slots [first, first+n), in scope sc (whose frame it extends with
 * its internal defines). */
static bool comp_body(vm_t *vm, uint32_t first, uint32_t n, scope_t *sc, node_t **out) {
  if (n == 0) return vm_error(vm, "bad syntax: an empty body");
  for (uint32_t i = 0; i < n; i++) {
    uint32_t id, index;
    bool def;
    TRY(define_name(vm, first + i, &id, &def));
    if (def) TRY(scope_add(vm, sc, id, &index));
  }
  node_t *s;
  if (n == 1) {
    s = NULL;
  } else {
    NEW(s, N_SEQ, n);
  }
  for (uint32_t i = 0; i < n; i++) {
    uint32_t f = first + i, id;
    bool def;
    node_t *nd;
    TRY(define_name(vm, f, &id, &def));
    if (def) {
      uint32_t base, m;
      TRY(spread(vm, f, &base, &m));
      node_t *value;
      TRY(comp_define_value(vm, f, base, m, sc, &id, &value));
      TRY(var_node(vm, sc, id, true, &nd));
      nd->kid[0] = value;
      TRY(v_pop_to(vm, base));
    } else {
      TRY(comp(vm, f, sc, &nd));
    }
    if (s) s->kid[i] = nd;
    else s = nd;
  }
  *out = s;
  return true;
}

static bool register_code(vm_t *vm, code_t *c, uint32_t *index) {
  if (vm->ncodes == vm->capcodes) {
    uint32_t cap = vm->capcodes ? vm->capcodes * 2 : 64;
    code_t **p = realloc(vm->codes, cap * sizeof *p);
    if (!p) return vm_error(vm, "out of C memory");
    vm->codes = p;
    vm->capcodes = cap;
  }
  if (vm->ncodes >= (1u << 30)) return vm_error(vm, "too many procedures");
  *index = vm->ncodes;
  vm->codes[vm->ncodes++] = c;
  return true;
}

/* (lambda params body...) with params in slot `params` and the body in
 * [first, first+n). */
static bool comp_lambda(vm_t *vm, uint32_t form, uint32_t params, uint32_t first, uint32_t n,
                        scope_t *sc, uint32_t name, node_t **out) {
  scope_t inner = {NULL, 0, 0, sc};
  code_t *c = arena_alloc(vm, sizeof *c);
  if (!c) return vm_error(vm, "out of C memory");
  c->name = name;
  uint32_t base = vm->sp, p, e, index;
  TRY(v_push(vm, params));
  p = base;
  TRY(v_reserve(vm, &e));
  bool ok = true;
  while (ok && KIND(vm->W[p]) == K_PAIR) {
    ok = car(vm, e, p) && cdr(vm, p, p);
    if (ok && KIND(vm->W[e]) != K_SYMBOL) ok = syntax(vm, form, "lambda parameters");
    if (ok) {
      uint32_t id = (uint32_t)PAYLOAD(vm->W[e]), d, i, m;
      if (lookup(&(scope_t){inner.ids, inner.n, 0, NULL}, id, &d, &i, &m))
        ok = syntax(vm, form, "duplicate parameter");
      else
        ok = scope_add(vm, &inner, id, &index);
    }
    c->nparams++;
  }
  if (ok && KIND(vm->W[p]) == K_SYMBOL) {
    c->rest = true;
    ok = scope_add(vm, &inner, (uint32_t)PAYLOAD(vm->W[p]), &index);
  } else if (ok && KIND(vm->W[p]) != K_NIL) {
    ok = syntax(vm, form, "lambda parameters");
  }
  ok = ok && v_pop_to(vm, base) && comp_body(vm, first, n, &inner, &c->body);
  c->nframe = inner.n;
  free(inner.ids);
  TRY(ok);
  node_t *nd;
  NEW(nd, N_LAMBDA, 0);
  nd->code = c;
  TRY(register_code(vm, c, &nd->a));
  *out = nd;
  return true;
}

/* The value of (define name e) / (define (name . params) body...) whose
 * elements are spread at [base, base+n). */
static bool comp_define_value(vm_t *vm, uint32_t form, uint32_t base, uint32_t n, scope_t *sc,
                              uint32_t *id, node_t **value) {
  if (n < 2) return syntax(vm, form, "define");
  uint32_t target = base + 1;
  if (KIND(vm->W[target]) == K_SYMBOL) {
    *id = (uint32_t)PAYLOAD(vm->W[target]);
    if (n == 2) return imm_node(vm, W_UNSPEC, value);
    if (n != 3) return syntax(vm, form, "define");
    TRY(comp(vm, base + 2, sc, value));
    if ((*value)->k == N_LAMBDA && (*value)->code->name == UINT32_MAX) (*value)->code->name = *id;
    return true;
  }
  if (KIND(vm->W[target]) != K_PAIR) return syntax(vm, form, "define");
  uint32_t nm, params;
  TRY(v_reserve(vm, &nm));
  TRY(v_reserve(vm, &params));
  TRY(car(vm, nm, target));
  TRY(cdr(vm, params, target));
  if (KIND(vm->W[nm]) != K_SYMBOL) return syntax(vm, form, "define");
  *id = (uint32_t)PAYLOAD(vm->W[nm]);
  return comp_lambda(vm, form, params, base + 2, n - 2, sc, *id, value);
}

/* ---- let and friends ------------------------------------------------------------------ */

/* Spreads a binding list ((v init) ...) : the names' ids into ids[], the
 * inits pushed on the stack (from *initbase). */
static bool spread_bindings(vm_t *vm, uint32_t form, uint32_t bl, uint32_t **ids, uint32_t *nb,
                            uint32_t *initbase, bool allow_step) {
  uint32_t base, n;
  TRY(spread(vm, bl, &base, &n));
  *ids = calloc(n ? n : 1, sizeof **ids);
  if (!*ids) return vm_error(vm, "out of C memory");
  /* each binding at base+i becomes its init (or, for do, stays the whole
   * binding: the caller takes it apart) */
  for (uint32_t i = 0; i < n; i++) {
    uint32_t b = base + i, m, eb;
    if (!spread(vm, b, &eb, &m)) goto bad;
    if (m < 1 || m > (allow_step ? 3u : 2u) || KIND(vm->W[eb]) != K_SYMBOL) {
      syntax(vm, form, "binding");
      goto bad;
    }
    (*ids)[i] = (uint32_t)PAYLOAD(vm->W[eb]);
    if (!allow_step) {
      if (m == 2) {
        if (!v_move(vm, b, eb + 1)) goto bad;
      } else if (!v_set_imm(vm, b, W_UNSPEC)) {
        goto bad;
      }
    }
    if (!v_pop_to(vm, eb)) goto bad;
  }
  *nb = n;
  *initbase = base;
  return true;
bad:
  free(*ids);
  *ids = NULL;
  return false;
}

/* (let ((v init)...) body...) — or a named let. */
static bool comp_let(vm_t *vm, uint32_t form, uint32_t base, uint32_t n, scope_t *sc, node_t **out) {
  if (n < 3) return syntax(vm, form, "let");
  if (KIND(vm->W[base + 1]) == K_SYMBOL) {
    /* (let name ((v init)...) body...) =
     *   ((letrec ((name (lambda (v...) body...))) name) init...) */
    if (n < 4) return syntax(vm, form, "named let");
    uint32_t name = (uint32_t)PAYLOAD(vm->W[base + 1]), *ids, nb, ib, index;
    TRY(spread_bindings(vm, form, base + 2, &ids, &nb, &ib, false));
    node_t *call = nnew(vm, N_CALL, 1 + nb);
    bool ok = call != NULL || vm_error(vm, "out of C memory");
    for (uint32_t i = 0; ok && i < nb; i++) ok = comp(vm, ib + i, sc, &call->kid[1 + i]);
    /* the parameter list, rebuilt from the names */
    uint32_t params = vm->sp;
    ok = ok && v_push_imm(vm, W_NIL);
    uint32_t s;
    ok = ok && v_reserve(vm, &s);
    for (uint32_t i = nb; ok && i-- > 0;) {
      sym_t *e = &vm->syms[ids[i]];
      ok = sym_intern(vm, s, e->name, e->len) && mk_cons(vm, params, s, params);
    }
    free(ids);
    TRY(ok);
    scope_t loop = {NULL, 0, 0, sc};
    node_t *scope = NULL, *seq = NULL, *set = NULL, *ref = NULL;
    ok = scope_add(vm, &loop, name, &index);
    ok = ok && (scope = nnew(vm, N_SCOPE, 1)) && (seq = nnew(vm, N_SEQ, 2));
    ok = ok && local_node(vm, &loop, 0, 0, true, &set) && local_node(vm, &loop, 0, 0, false, &ref);
    ok = ok && comp_lambda(vm, form, params, base + 3, n - 3, &loop, name, &set->kid[0]);
    free(loop.ids);
    if (!ok) return vm->err[0] ? false : vm_error(vm, "out of C memory");
    scope->a = 1;
    scope->kid[0] = seq;
    seq->kid[0] = set;
    seq->kid[1] = ref;
    call->kid[0] = scope;
    *out = call;
    return true;
  }
  uint32_t *ids, nb, ib;
  TRY(spread_bindings(vm, form, base + 1, &ids, &nb, &ib, false));
  node_t *let = nnew(vm, N_LET, nb + 1);
  bool ok = let != NULL || vm_error(vm, "out of C memory");
  for (uint32_t i = 0; ok && i < nb; i++) ok = comp(vm, ib + i, sc, &let->kid[i]);
  scope_t inner = {NULL, 0, 0, sc};
  uint32_t index;
  for (uint32_t i = 0; ok && i < nb; i++) {
    for (uint32_t j = 0; j < i; j++)
      if (ids[j] == ids[i]) ok = syntax(vm, form, "duplicate variable in let");
    ok = ok && scope_add(vm, &inner, ids[i], &index);
  }
  free(ids);
  ok = ok && comp_body(vm, base + 2, n - 2, &inner, &let->kid[nb]);
  if (ok) {
    let->n = nb;
    let->a = inner.n;
    *out = let;
  }
  free(inner.ids);
  return ok;
}

/* (let* (b...) body...): one frame per binding. */
static bool comp_letstar_from(vm_t *vm, uint32_t form, uint32_t *ids, uint32_t ib, uint32_t i, uint32_t nb,
                              uint32_t body, uint32_t nbody, scope_t *sc, node_t **out) {
  node_t *let;
  uint32_t index;
  scope_t inner = {NULL, 0, 0, sc};
  if (i == nb) { /* the body, in a frame of its own for its defines */
    NEW(let, N_LET, 1);
    let->n = 0;
    bool ok = comp_body(vm, body, nbody, &inner, &let->kid[0]);
    let->a = inner.n;
    free(inner.ids);
    *out = let;
    return ok;
  }
  NEW(let, N_LET, 2);
  let->n = 1;
  TRY(comp(vm, ib + i, sc, &let->kid[0]));
  bool ok = scope_add(vm, &inner, ids[i], &index) &&
            comp_letstar_from(vm, form, ids, ib, i + 1, nb, body, nbody, &inner, &let->kid[1]);
  let->a = inner.n;
  free(inner.ids);
  *out = let;
  return ok;
}

static bool comp_letstar(vm_t *vm, uint32_t form, uint32_t base, uint32_t n, scope_t *sc, node_t **out) {
  if (n < 3) return syntax(vm, form, "let*");
  uint32_t *ids, nb, ib;
  TRY(spread_bindings(vm, form, base + 1, &ids, &nb, &ib, false));
  bool ok = comp_letstar_from(vm, form, ids, ib, 0, nb, base + 2, n - 2, sc, out);
  free(ids);
  return ok;
}

/* (letrec ((v init)...) body...): one frame, inits evaluated inside. */
static bool comp_letrec(vm_t *vm, uint32_t form, uint32_t base, uint32_t n, scope_t *sc, node_t **out) {
  if (n < 3) return syntax(vm, form, "letrec");
  uint32_t *ids, nb, ib, index;
  TRY(spread_bindings(vm, form, base + 1, &ids, &nb, &ib, false));
  scope_t inner = {NULL, 0, 0, sc};
  bool ok = true;
  for (uint32_t i = 0; ok && i < nb; i++) ok = scope_add(vm, &inner, ids[i], &index);
  node_t *scope = ok ? nnew(vm, N_SCOPE, 1) : NULL, *seq = NULL, *body = NULL;
  ok = ok && scope && (seq = nnew(vm, N_SEQ, nb + 1));
  /* the body first: its defines join the frame before any offset is made */
  ok = ok && comp_body(vm, base + 2, n - 2, &inner, &body);
  for (uint32_t i = 0; ok && i < nb; i++) {
    node_t *set = NULL;
    ok = local_node(vm, &inner, 0, i, true, &set) && comp(vm, ib + i, &inner, &set->kid[0]);
    if (ok) {
      if (set->kid[0]->k == N_LAMBDA && set->kid[0]->code->name == UINT32_MAX) set->kid[0]->code->name = ids[i];
      seq->kid[i] = set;
    }
  }
  free(ids);
  if (ok) {
    seq->kid[nb] = body;
    scope->a = inner.n;
    scope->kid[0] = seq;
    *out = scope;
  }
  free(inner.ids);
  return ok || vm->err[0] ? ok : vm_error(vm, "out of C memory");
}

/* (do ((v init step)...) (test res...) body...) =
 *   ((letrec ((loop (lambda (v...) (if test (begin res...)
 *                                       (begin body... (loop step...))))))
 *     loop) init...) */
static bool comp_do(vm_t *vm, uint32_t form, uint32_t base, uint32_t n, scope_t *sc, node_t **out) {
  if (n < 3) return syntax(vm, form, "do");
  uint32_t bb, nb;
  TRY(spread(vm, base + 1, &bb, &nb));
  node_t *call = nnew(vm, N_CALL, 1 + nb), *lscope = NULL, *seq = NULL, *set = NULL, *ref = NULL, *lam = NULL,
         *iff = NULL, *loopcall = NULL, *then = NULL, *els = NULL;
  if (!call) return vm_error(vm, "out of C memory");
  scope_t loop = {NULL, 0, 0, sc}, params = {NULL, 0, 0, &loop};
  uint32_t index;
  bool ok = scope_add(vm, &loop, UINT32_MAX, &index);
  /* each binding: its parts at [eb, eb+m) */
  uint32_t *steps = calloc(nb ? nb : 1, sizeof *steps);
  ok = ok && steps;
  for (uint32_t i = 0; ok && i < nb; i++) {
    uint32_t eb, m;
    ok = spread(vm, bb + i, &eb, &m);
    if (ok && (m < 2 || m > 3 || KIND(vm->W[eb]) != K_SYMBOL)) ok = syntax(vm, form, "do binding");
    ok = ok && comp(vm, eb + 1, sc, &call->kid[1 + i]);
    ok = ok && scope_add(vm, &params, (uint32_t)PAYLOAD(vm->W[eb]), &index);
    /* keep the step (or the variable itself) in the binding's slot */
    ok = ok && v_move(vm, bb + i, m == 3 ? eb + 2 : eb) && v_pop_to(vm, eb);
    if (ok) steps[i] = bb + i;
  }
  uint32_t tb, nt;
  ok = ok && spread(vm, base + 2, &tb, &nt);
  if (ok && nt < 1) ok = syntax(vm, form, "do test");
  ok = ok && (lscope = nnew(vm, N_SCOPE, 1)) && (seq = nnew(vm, N_SEQ, 2)) && (lam = nnew(vm, N_LAMBDA, 0)) &&
       (iff = nnew(vm, N_IF, 3)) && (loopcall = nnew(vm, N_CALL, 1 + nb)) && (els = nnew(vm, N_SEQ, n - 3 + 1));
  code_t *c = ok ? arena_alloc(vm, sizeof *c) : NULL;
  ok = ok && c;
  ok = ok && comp(vm, tb, &params, &iff->kid[0]) && comp_seq(vm, tb + 1, nt - 1, &params, &then);
  for (uint32_t i = 0; ok && i < n - 3; i++) ok = comp(vm, base + 3 + i, &params, &els->kid[i]);
  for (uint32_t i = 0; ok && i < nb; i++) ok = comp(vm, steps[i], &params, &loopcall->kid[1 + i]);
  ok = ok && local_node(vm, &params, 1, 0, false, &loopcall->kid[0]);
  ok = ok && local_node(vm, &loop, 0, 0, true, &set) && local_node(vm, &loop, 0, 0, false, &ref);
  if (ok) {
    els->kid[n - 3] = loopcall;
    iff->kid[1] = then;
    iff->kid[2] = els;
    c->nparams = nb;
    c->nframe = params.n;
    c->body = iff;
    c->name = UINT32_MAX;
    lam->code = c;
    ok = register_code(vm, c, &lam->a);
  }
  if (ok) {
    set->kid[0] = lam;
    seq->kid[0] = set;
    seq->kid[1] = ref;
    lscope->a = 1;
    lscope->kid[0] = seq;
    call->kid[0] = lscope;
    *out = call;
  }
  free(steps);
  free(loop.ids);
  free(params.ids);
  return ok || vm->err[0] ? ok : vm_error(vm, "out of C memory");
}

/* ---- cond, case ---------------------------------------------------------------- */

static bool comp_cond_from(vm_t *vm, uint32_t form, uint32_t cb, uint32_t i, uint32_t nc, scope_t *sc,
                           node_t **out) {
  if (i == nc) return imm_node(vm, W_UNSPEC, out);
  uint32_t eb, m;
  TRY(spread(vm, cb + i, &eb, &m));
  if (m < 1) return syntax(vm, form, "cond clause");
  if (is_sym(vm, eb, SY_ELSE)) {
    if (i + 1 != nc) return syntax(vm, form, "cond: else must be last");
    return comp_seq(vm, eb + 1, m - 1, sc, out);
  }
  if (m == 3 && is_sym(vm, eb + 1, SY_ARROW)) {
    /* (test => f): (let ((t test)) (if t (f t) rest)) */
    node_t *let, *iff, *call;
    uint32_t index;
    NEW(let, N_LET, 2);
    NEW(iff, N_IF, 3);
    NEW(call, N_CALL, 2);
    let->n = 1;
    TRY(comp(vm, eb, sc, &let->kid[0]));
    scope_t inner = {NULL, 0, 0, sc};
    bool ok = scope_add(vm, &inner, UINT32_MAX, &index) && local_node(vm, &inner, 0, 0, false, &iff->kid[0]) &&
              local_node(vm, &inner, 0, 0, false, &call->kid[1]) && comp(vm, eb + 2, &inner, &call->kid[0]) &&
              comp_cond_from(vm, form, cb, i + 1, nc, &inner, &iff->kid[2]);
    free(inner.ids);
    TRY(ok);
    iff->kid[1] = call;
    let->kid[1] = iff;
    let->a = 1;
    *out = let;
    return true;
  }
  node_t *test, *rest;
  TRY(comp(vm, eb, sc, &test));
  TRY(comp_cond_from(vm, form, cb, i + 1, nc, sc, &rest));
  if (m == 1) { /* (test): its value if true */
    node_t *o;
    NEW(o, N_OR, 2);
    o->kid[0] = test;
    o->kid[1] = rest;
    *out = o;
    return true;
  }
  node_t *iff;
  NEW(iff, N_IF, 3);
  iff->kid[0] = test;
  TRY(comp_seq(vm, eb + 1, m - 1, sc, &iff->kid[1]));
  iff->kid[2] = rest;
  *out = iff;
  return true;
}

/* (case key ((d...) e...) ... (else e...)):
 *   (let ((t key)) (if (memv t '(d...)) (begin e...) ...)) */
static bool comp_case_from(vm_t *vm, uint32_t form, uint32_t cb, uint32_t i, uint32_t nc, scope_t *sc,
                           node_t **out) {
  if (i == nc) return imm_node(vm, W_UNSPEC, out);
  uint32_t eb, m;
  TRY(spread(vm, cb + i, &eb, &m));
  if (m < 1) return syntax(vm, form, "case clause");
  if (is_sym(vm, eb, SY_ELSE)) return comp_seq(vm, eb + 1, m - 1, sc, out);
  node_t *iff, *call;
  NEW(iff, N_IF, 3);
  NEW(call, N_CALL, 3);
  TRY(gref_named(vm, "memv", &call->kid[0]));
  TRY(local_node(vm, sc, 0, 0, false, &call->kid[1]));
  TRY(const_node(vm, eb, &call->kid[2]));
  iff->kid[0] = call;
  TRY(comp_seq(vm, eb + 1, m - 1, sc, &iff->kid[1]));
  TRY(comp_case_from(vm, form, cb, i + 1, nc, sc, &iff->kid[2]));
  *out = iff;
  return true;
}

static bool comp_case(vm_t *vm, uint32_t form, uint32_t base, uint32_t n, scope_t *sc, node_t **out) {
  if (n < 2) return syntax(vm, form, "case");
  node_t *let;
  uint32_t index;
  NEW(let, N_LET, 2);
  let->n = 1;
  let->a = 1;
  TRY(comp(vm, base + 1, sc, &let->kid[0]));
  scope_t inner = {NULL, 0, 0, sc};
  bool ok = scope_add(vm, &inner, UINT32_MAX, &index) && comp_case_from(vm, form, base + 2, 0, n - 2, &inner, &let->kid[1]);
  free(inner.ids);
  TRY(ok);
  *out = let;
  return true;
}

/* ---- quasiquote: (cons ...), (append ...), (list->vector ...) --------------------- */

static bool call2(vm_t *vm, const char *f, node_t *a, node_t *b, node_t **out) {
  node_t *c;
  NEW(c, N_CALL, b ? 3 : 2);
  TRY(gref_named(vm, f, &c->kid[0]));
  c->kid[1] = a;
  if (b) c->kid[2] = b;
  *out = c;
  return true;
}

static bool qq(vm_t *vm, uint32_t x, int depth, scope_t *sc, node_t **out) {
  unsigned k = KIND(vm->W[x]);
  if (k == K_VECTOR) {
    uint32_t base = vm->sp, l, e;
    TRY(v_push_imm(vm, W_NIL));
    l = base;
    TRY(v_reserve(vm, &e));
    for (uint64_t i = PAYLOAD(vm->W[x]); i-- > 0;) {
      TRY(vec_get(vm, e, x, i));
      TRY(mk_cons(vm, l, e, l));
    }
    node_t *lst;
    TRY(qq(vm, l, depth, sc, &lst));
    TRY(v_pop_to(vm, base));
    return call2(vm, "list->vector", lst, NULL, out);
  }
  if (k != K_PAIR) return const_node(vm, x, out);
  uint32_t base = vm->sp, h, t;
  TRY(v_reserve(vm, &h));
  TRY(v_reserve(vm, &t));
  TRY(car(vm, h, x));
  TRY(cdr(vm, t, x));
  bool ok;
  if (is_sym(vm, h, SY_UNQUOTE) || is_sym(vm, h, SY_QUASIQUOTE)) {
    uint32_t eb, m;
    TRY(spread(vm, x, &eb, &m));
    if (m != 2) return syntax(vm, x, "unquote");
    if (is_sym(vm, h, SY_UNQUOTE) && depth == 1) {
      ok = comp(vm, eb + 1, sc, out);
    } else { /* nested: keep the form, adjust the depth */
      node_t *inner, *tag;
      ok = qq(vm, eb + 1, is_sym(vm, h, SY_UNQUOTE) ? depth - 1 : depth + 1, sc, &inner) &&
           const_node(vm, h, &tag) && call2(vm, "list", tag, inner, out);
    }
    return ok && v_pop_to(vm, base);
  }
  node_t *rest, *head;
  if (KIND(vm->W[h]) == K_PAIR) {
    uint32_t hh;
    TRY(v_reserve(vm, &hh));
    TRY(car(vm, hh, h));
    if (is_sym(vm, hh, SY_UNQUOTE_SPLICING) && depth == 1) {
      uint32_t eb, m;
      TRY(spread(vm, h, &eb, &m));
      if (m != 2) return syntax(vm, h, "unquote-splicing");
      ok = comp(vm, eb + 1, sc, &head) && qq(vm, t, depth, sc, &rest) && call2(vm, "append", head, rest, out);
      return ok && v_pop_to(vm, base);
    }
  }
  ok = qq(vm, h, depth, sc, &head) && qq(vm, t, depth, sc, &rest) && call2(vm, "cons", head, rest, out);
  return ok && v_pop_to(vm, base);
}

/* ---- the dispatcher --------------------------------------------------------------- */

static bool comp_special(vm_t *vm, uint32_t x, uint32_t base, uint32_t n, scope_t *sc, int sy, node_t **out) {
  node_t *nd;
  switch (sy) {
  case SY_QUOTE:
    if (n != 2) return syntax(vm, x, "quote");
    return const_node(vm, base + 1, out);
  case SY_QUASIQUOTE:
    if (n != 2) return syntax(vm, x, "quasiquote");
    return qq(vm, base + 1, 1, sc, out);
  case SY_IF:
    if (n != 3 && n != 4) return syntax(vm, x, "if");
    NEW(nd, N_IF, 3);
    TRY(comp(vm, base + 1, sc, &nd->kid[0]));
    TRY(comp(vm, base + 2, sc, &nd->kid[1]));
    if (n == 4) TRY(comp(vm, base + 3, sc, &nd->kid[2]));
    else TRY(imm_node(vm, W_UNSPEC, &nd->kid[2]));
    *out = nd;
    return true;
  case SY_DEFINE: {
    if (sc) return vm_error(vm, "define is allowed only at the top level or at the start of a body");
    uint32_t id;
    node_t *value;
    TRY(comp_define_value(vm, x, base, n, sc, &id, &value));
    NEW(nd, N_GDEF, 1);
    TRY(global_index(vm, id, &nd->a));
    nd->sym = id;
    nd->kid[0] = value;
    *out = nd;
    return true;
  }
  case SY_SET:
    if (n != 3 || KIND(vm->W[base + 1]) != K_SYMBOL) return syntax(vm, x, "set!");
    TRY(var_node(vm, sc, (uint32_t)PAYLOAD(vm->W[base + 1]), true, &nd));
    TRY(comp(vm, base + 2, sc, &nd->kid[0]));
    *out = nd;
    return true;
  case SY_LAMBDA:
    if (n < 3) return syntax(vm, x, "lambda");
    return comp_lambda(vm, x, base + 1, base + 2, n - 2, sc, UINT32_MAX, out);
  case SY_BEGIN: return comp_seq(vm, base + 1, n - 1, sc, out);
  case SY_LET: return comp_let(vm, x, base, n, sc, out);
  case SY_LETSTAR: return comp_letstar(vm, x, base, n, sc, out);
  case SY_LETREC:
  case SY_LETRECSTAR: return comp_letrec(vm, x, base, n, sc, out);
  case SY_COND: return comp_cond_from(vm, x, base + 1, 0, n - 1, sc, out);
  case SY_CASE: return comp_case(vm, x, base, n, sc, out);
  case SY_DO: return comp_do(vm, x, base, n, sc, out);
  case SY_AND:
  case SY_OR:
    if (n == 1) return imm_node(vm, W_BOOL(sy == SY_AND), out);
    if (n == 2) return comp(vm, base + 1, sc, out);
    NEW(nd, sy == SY_AND ? N_AND : N_OR, n - 1);
    for (uint32_t i = 1; i < n; i++) TRY(comp(vm, base + i, sc, &nd->kid[i - 1]));
    *out = nd;
    return true;
  case SY_WHEN:
  case SY_UNLESS:
    if (n < 3) return syntax(vm, x, sy == SY_WHEN ? "when" : "unless");
    NEW(nd, N_IF, 3);
    TRY(comp(vm, base + 1, sc, &nd->kid[0]));
    TRY(comp_seq(vm, base + 2, n - 2, sc, &nd->kid[sy == SY_WHEN ? 1 : 2]));
    TRY(imm_node(vm, W_UNSPEC, &nd->kid[sy == SY_WHEN ? 2 : 1]));
    *out = nd;
    return true;
  }
  return vm_error(vm, "internal: unknown special form");
}

static bool comp(vm_t *vm, uint32_t x, scope_t *sc, node_t **out) {
  uint64_t w = vm->W[x];
  if (KIND(w) == K_SYMBOL) return var_node(vm, sc, (uint32_t)PAYLOAD(w), false, out);
  if (KIND(w) != K_PAIR) return const_node(vm, x, out);
  uint32_t base, n;
  TRY(spread(vm, x, &base, &n));
  uint64_t hw = vm->W[base];
  if (KIND(hw) == K_SYMBOL) {
    uint32_t id = (uint32_t)PAYLOAD(hw), d, i, m;
    /* a local of the same name shadows a special form */
    if (!lookup(sc, id, &d, &i, &m))
      for (int sy = 0; sy < SY_COUNT; sy++)
        if (vm->sy[sy] == id && sy != SY_UNQUOTE && sy != SY_UNQUOTE_SPLICING && sy != SY_ELSE &&
            sy != SY_ARROW) {
          TRY(comp_special(vm, x, base, n, sc, sy, out));
          return v_pop_to(vm, base);
        }
  }
  node_t *call;
  NEW(call, N_CALL, n);
  for (uint32_t i = 0; i < n; i++) TRY(comp(vm, base + i, sc, &call->kid[i]));
  *out = call;
  return v_pop_to(vm, base);
}

bool compile_toplevel(vm_t *vm, uint32_t slot, node_t **out) { return comp(vm, slot, NULL, out); }

bool init_special_symbols(vm_t *vm) {
  static const char *names[SY_COUNT] = {
      [SY_QUOTE] = "quote",   [SY_QUASIQUOTE] = "quasiquote", [SY_UNQUOTE] = "unquote",
      [SY_UNQUOTE_SPLICING] = "unquote-splicing", [SY_LAMBDA] = "lambda", [SY_DEFINE] = "define",
      [SY_IF] = "if",         [SY_SET] = "set!",   [SY_BEGIN] = "begin", [SY_LET] = "let",
      [SY_LETSTAR] = "let*",  [SY_LETREC] = "letrec", [SY_LETRECSTAR] = "letrec*", [SY_COND] = "cond",
      [SY_ELSE] = "else",     [SY_ARROW] = "=>",   [SY_AND] = "and",     [SY_OR] = "or",
      [SY_WHEN] = "when",     [SY_UNLESS] = "unless", [SY_DO] = "do",    [SY_CASE] = "case",
  };
  for (int i = 0; i < SY_COUNT; i++) TRY(sym_make_id(vm, names[i], strlen(names[i]), &vm->sy[i]));
  return true;
}
