/*
 * eval.c — the machine: an explicit-stack eval/apply loop over the code
 * tree.
 *
 * State: the registers R_VAL and R_ENV (root-region slots), the value
 * stack (root-region slots from STACK0), and the continuation stack vm->k
 * (C memory, plain data: which node, how far through it, which stack slot
 * holds its saved environment). No C recursion: a Scheme call nests only in
 * these stacks, so deep recursion is bounded by the region, not the C
 * stack; a call in tail position pushes no continuation (proper tail
 * calls: the callee returns straight to its caller's continuation); and an
 * error anywhere is a `return false` that leaves nothing to unwind but
 * these stacks, which the top level resets.
 *
 * Environments are saved lazily. A continuation that will need the current
 * environment later reserves a slot but does not fill it; the environment
 * is copied into every such slot only when R_ENV is about to change
 * (env_write_prepare) — a closure call, a let frame, a restore. Konts
 * k[unsaved_from..kn) are the unsaved ones; an epoch number says which
 * environment a kont saw, so a restore to the same environment is skipped.
 * A loop like (if (< i n) (loop (+ i 1)) ...) thus copies no environment at
 * all: the primitive calls never change it.
 *
 * Operands that are constants or variable references are evaluated
 * straight into their stack slot, without a round trip through R_VAL.
 */
#include "scheme.h"

#include <stdlib.h>
#include <string.h>

/* ---- continuations ------------------------------------------------------- */

/* Every kont reserves a value-stack slot first, so the value stack's limit
 * bounds the continuation stack too. */
static bool kpush(vm_t *vm, uint8_t kind, const node_t *n) {
  uint32_t slot;
  TRY(v_reserve(vm, &slot));
  if (vm->kn == vm->kcap) {
    size_t cap = vm->kcap ? vm->kcap * 2 : 1024;
    kont_t *k = realloc(vm->k, cap * sizeof *k);
    if (!k) return vm_error(vm, "out of C memory for the continuation stack");
    vm->k = k;
    vm->kcap = cap;
  }
  kont_t *k = &vm->k[vm->kn++];
  k->n = n;
  k->i = 0;
  k->env = slot;
  k->epoch = vm->epoch;
  k->kind = kind;
  k->saved = false;
  return true;
}

/* Drops the top kont but keeps its stack slots (the caller pops them). */
static void kdrop(vm_t *vm) {
  vm->kn--;
  if (vm->unsaved_from > vm->kn) vm->unsaved_from = vm->kn;
}

static bool kpop(vm_t *vm) {
  uint32_t e = vm->k[vm->kn - 1].env;
  kdrop(vm);
  return v_pop_to(vm, e);
}

/* R_ENV is about to change: every kont pushed since it last changed saves
 * it now. */
bool env_write_prepare(vm_t *vm) {
  uint64_t w = vm->W[R_ENV];
  for (size_t i = vm->unsaved_from; i < vm->kn; i++) {
    kont_t *k = &vm->k[i];
    if (IS_HEAP(w)) TRY(m_copy(vm, k->env, R_ENV, false));
    vm->W[k->env] = w;
    k->saved = true;
  }
  vm->unsaved_from = vm->kn;
  return true;
}

/* Makes the environment kont k saw current again. */
static bool restore_env(vm_t *vm, kont_t *k) {
  if (!k->saved || vm->epoch == k->epoch) return true; /* unchanged since */
  TRY(env_write_prepare(vm)); /* no-op: k is the top and saved */
  TRY(v_move(vm, R_ENV, k->env));
  vm->epoch = k->epoch;
  return true;
}

/* ---- variables ------------------------------------------------------------- */

static bool unbound(vm_t *vm, const node_t *n) {
  return vm_error(vm, "unbound variable: %s", vm->syms[vm->gsym[n->a]].name);
}

/* The frame `depth` levels up into slot dst (dst itself as the cursor). */
static bool frame_at(vm_t *vm, uint32_t depth, uint32_t dst, uint32_t *holder) {
  if (depth == 0) {
    *holder = R_ENV;
    return true;
  }
  TRY(m_load(vm, dst, R_ENV, 0, false));
  vm->W[dst] = MKW(K_FRAME, 0);
  for (uint32_t d = 1; d < depth; d++) TRY(m_load(vm, dst, dst, 0, false));
  *holder = dst;
  return true;
}

static bool is_simple(const node_t *n) { return n->k == N_CONST || n->k == N_LREF || n->k == N_GREF; }

/* The value of a constant or variable node into slot dst. */
static bool eval_simple(vm_t *vm, const node_t *n, uint32_t dst) {
  switch (n->k) {
  case N_CONST:
    if (n->is_heap) return const_get(vm, dst, n->a);
    return v_set_imm(vm, dst, n->w);
  case N_LREF: {
    uint32_t h;
    TRY(frame_at(vm, n->depth, dst, &h));
    TRY(o_get(vm, dst, h, n->refoff, n->wordoff));
    if (vm->W[dst] == MKW(K_UNDEF, 0))
      return vm_error(vm, "variable %s used before its definition",
                      n->sym == UINT32_MAX ? "(hidden)" : vm->syms[n->sym].name);
    return true;
  }
  case N_GREF:
    TRY(global_get(vm, dst, n->a));
    if (vm->W[dst] == MKW(K_UNDEF, 0)) return unbound(vm, n);
    return true;
  }
  return vm_error(vm, "internal: not a simple node");
}

/* ---- frames ------------------------------------------------------------------ */

/* A fresh frame of `size` variables whose parent is the value in slot
 * `parent`, into slot dst. */
static bool new_frame(vm_t *vm, uint32_t dst, uint32_t size, uint32_t parent) {
  capgc_type_t ty;
  TRY(m_frame_type(vm, size, &ty));
  TRY(m_alloc(vm, dst, ty));
  vm->W[dst] = MKW(K_FRAME, 0);
  if (IS_HEAP(vm->W[parent])) TRY(m_store(vm, dst, 0, parent, false));
  return true;
}

static bool set_env(vm_t *vm, uint32_t src) {
  TRY(env_write_prepare(vm));
  TRY(v_move(vm, R_ENV, src));
  vm->epoch = ++vm->next_epoch;
  return true;
}

/* ---- apply ------------------------------------------------------------------- */

static bool arity_error(vm_t *vm, uint32_t fslot, const char *want, long n, uint32_t argc) {
  char d[128];
  describe(vm, fslot, d, sizeof d);
  return vm_error(vm, "%s: expected %s%ld argument%s, got %u", d, want, n, n == 1 ? "" : "s", argc);
}

/* (apply f a ... lst) in [fslot, fslot+argc]: rewritten in place to
 * (f a ... elements of lst); *argc updated. */
static bool spread_apply(vm_t *vm, uint32_t fslot, uint32_t *argc) {
  if (*argc < 1) return vm_error(vm, "apply: expected at least 1 argument, got 0");
  uint32_t last = fslot + *argc; /* the list (or the function if argc == 1) */
  if (*argc == 1) return vm_error(vm, "apply: expected a list after the procedure");
  /* shift f a ... down by one */
  for (uint32_t i = fslot + 1; i < last; i++) TRY(v_move(vm, i - 1, i));
  /* the list goes to last-1, its elements are pushed after it */
  TRY(v_move(vm, last - 1, last));
  TRY(v_pop_to(vm, last));
  uint32_t lst = last - 1, cur, e;
  TRY(v_push(vm, lst));
  cur = vm->sp - 1;
  uint32_t count = 0, first = vm->sp;
  while (KIND(vm->W[cur]) == K_PAIR) {
    TRY(v_reserve(vm, &e));
    TRY(car(vm, e, cur));
    TRY(cdr(vm, cur, cur));
    count++;
  }
  if (KIND(vm->W[cur]) != K_NIL) return vm_error(vm, "apply: the last argument is not a proper list");
  /* [lst, cur, elements...] -> [elements...] from slot lst */
  for (uint32_t i = 0; i < count; i++) TRY(v_move(vm, lst + i, first + i));
  TRY(v_pop_to(vm, lst + count));
  *argc = (last - 1 - (fslot + 1)) + count;
  return true;
}

/* Enters the closure in fslot with argc arguments after it: R_ENV := its
 * new frame; the stack is popped to ebase. */
static bool enter_closure(vm_t *vm, uint32_t fslot, uint32_t argc, uint32_t ebase, const node_t **body) {
  uint64_t w = vm->W[fslot];
  code_t *c = vm->codes[PAYLOAD(w) >> 1];
  if (argc < c->nparams || (!c->rest && argc > c->nparams))
    return arity_error(vm, fslot, c->rest ? "at least " : "", (long)c->nparams, argc);
  /* The caller's environment is no longer needed here (every kont that
   * needs it gets its copy now): the frame is built in R_ENV itself. */
  capgc_type_t ty;
  TRY(m_frame_type(vm, c->nframe, &ty));
  TRY(env_write_prepare(vm));
  TRY(m_alloc(vm, R_ENV, ty));
  vm->W[R_ENV] = MKW(K_FRAME, 0);
  vm->epoch = ++vm->next_epoch;
  if (PAYLOAD(w) & 1) { /* the closure's environment is the parent */
    TRY(m_load(vm, R_TMP, fslot, 0, false));
    vm->W[R_TMP] = MKW(K_FRAME, 0);
    TRY(m_store(vm, R_ENV, 0, R_TMP, false));
  }
  for (uint32_t i = 0; i < c->nparams; i++)
    TRY(o_init(vm, R_ENV, FR_REF(vm, i), FR_WORD(vm, c->nframe, i), fslot + 1 + i));
  if (c->rest) {
    uint32_t l;
    TRY(v_reserve(vm, &l));
    TRY(v_set_imm(vm, l, W_NIL));
    for (uint32_t i = argc; i-- > c->nparams;) TRY(mk_cons(vm, l, fslot + 1 + i, l));
    TRY(o_init(vm, R_ENV, FR_REF(vm, c->nparams), FR_WORD(vm, c->nframe, c->nparams), l));
  }
  TRY(v_pop_to(vm, ebase));
  *body = c->body;
  return true;
}

/* ---- the loop ------------------------------------------------------------------ */

static bool start_finalizer(vm_t *vm, uint32_t *fslot, uint32_t *ebase) {
  uint64_t idx = vm->finq[0];
  memmove(vm->finq, vm->finq + 1, (vm->finq_n - 1) * sizeof *vm->finq);
  vm->finq_n--;
  TRY(kpush(vm, KT_FINRET, NULL));
  TRY(v_push(vm, R_VAL)); /* the value to resume with */
  uint32_t e, f;
  TRY(v_reserve(vm, &e));
  TRY(v_reserve(vm, &f));
  TRY(vec_get(vm, f, R_FINS, idx));
  TRY(vec_set(vm, R_FINS, idx, R_NULL)); /* the thunk runs once */
  vm->ffree[vm->nffree++] = (uint32_t)idx;
  vm->fin_running = true;
  *fslot = f;
  *ebase = e;
  return true;
}

bool vm_run(vm_t *vm, const node_t *n) {
  const size_t kbase = vm->kn;
  uint32_t fslot, argc, ebase;
  kont_t *k;

eval:
  switch (n->k) {
  case N_CONST:
  case N_LREF:
  case N_GREF:
    if (!eval_simple(vm, n, R_VAL)) return false;
    goto ret;
  case N_LAMBDA: {
    bool env = IS_HEAP(vm->W[R_ENV]);
    TRY(m_alloc(vm, R_VAL, vm->t_closure));
    vm->W[R_VAL] = MKW(K_CLOSURE, ((uint64_t)n->a << 1) | env);
    if (env) TRY(m_store(vm, R_VAL, 0, R_ENV, false));
    goto ret;
  }
  case N_IF:
    if (is_simple(n->kid[0])) { /* no continuation needed for the test */
      TRY(eval_simple(vm, n->kid[0], R_VAL));
      n = truthy(vm->W[R_VAL]) ? n->kid[1] : n->kid[2];
      goto eval;
    }
    TRY(kpush(vm, KT_IF, n));
    n = n->kid[0];
    goto eval;
  case N_SEQ:
    if (n->n == 1) {
      n = n->kid[0];
      goto eval;
    }
    TRY(kpush(vm, KT_SEQ, n));
    n = n->kid[0];
    goto eval;
  case N_AND:
  case N_OR:
    TRY(kpush(vm, n->k == N_AND ? KT_AND : KT_OR, n));
    n = n->kid[0];
    goto eval;
  case N_LSET:
  case N_GSET:
  case N_GDEF:
    TRY(kpush(vm, n->k == N_LSET ? KT_LSET : n->k == N_GSET ? KT_GSET : KT_GDEF, n));
    n = n->kid[0];
    goto eval;
  case N_CALL:
    TRY(kpush(vm, KT_ARGS, n));
    goto operands;
  case N_LET:
    TRY(kpush(vm, KT_LET, n));
    goto operands;
  case N_SCOPE: {
    uint32_t f;
    TRY(v_reserve(vm, &f));
    TRY(new_frame(vm, f, n->a, R_ENV));
    TRY(set_env(vm, f));
    TRY(v_pop_to(vm, f));
    n = n->kid[0];
    goto eval;
  }
  }
  return vm_error(vm, "internal: unknown node %u", n->k);

operands: /* evaluate the operands of the top kont (a call, a let) */
  k = &vm->k[vm->kn - 1];
  while (k->i < k->n->n) {
    const node_t *a = k->n->kid[k->i];
    if (!is_simple(a)) {
      n = a;
      goto eval;
    }
    uint32_t s;
    TRY(v_reserve(vm, &s));
    TRY(eval_simple(vm, a, s));
    k->i++;
  }
  if (k->kind == KT_ARGS) {
    ebase = k->env;
    fslot = ebase + 1;
    argc = k->n->n - 1;
    kdrop(vm);
    goto apply;
  } else { /* KT_LET: the frame, with the let's own environment as parent */
    const node_t *let = k->n;
    uint32_t e = k->env, f;
    bool saved = k->saved;
    kdrop(vm);
    TRY(v_reserve(vm, &f));
    TRY(new_frame(vm, f, let->a, saved ? e : R_ENV));
    for (uint32_t i = 0; i < let->n; i++) TRY(o_init(vm, f, FR_REF(vm, i), FR_WORD(vm, let->a, i), e + 1 + i));
    TRY(set_env(vm, f));
    TRY(v_pop_to(vm, e));
    n = let->kid[let->n];
    goto eval;
  }

apply:
  for (;;) {
    uint64_t w = vm->W[fslot];
    if (KIND(w) == K_CLOSURE) {
      TRY(enter_closure(vm, fslot, argc, ebase, &n));
      goto eval;
    }
    if (KIND(w) != K_PRIM) {
      char d[128];
      describe(vm, fslot, d, sizeof d);
      return vm_error(vm, "not a procedure: %s", d);
    }
    uint64_t idx = PAYLOAD(w);
    if (idx == PRIM_APPLY) {
      TRY(spread_apply(vm, fslot, &argc));
      continue;
    }
    const prim_t *p = &g_prims[idx];
    if ((long)argc < p->min || (p->max >= 0 && (long)argc > p->max)) {
      if (p->min == p->max) return arity_error(vm, fslot, "", p->min, argc);
      if (p->max < 0) return arity_error(vm, fslot, "at least ", p->min, argc);
      return arity_error(vm, fslot, "at most ", p->max, argc);
    }
    if (!p->fn(vm, fslot + 1, argc)) {
      if (!p->noprefix) vm_error_prefix(vm, p->name);
      return false;
    }
    TRY(v_pop_to(vm, ebase));
    if ((++vm->poll_count & 1023) == 0) TRY(fin_poll(vm));
    goto ret;
  }

ret:
  if (vm->finq_n && !vm->fin_running) { /* one thunk at a time: never nested */
    TRY(start_finalizer(vm, &fslot, &ebase));
    argc = 0;
    goto apply;
  }
  if (vm->kn == kbase) return true;
  k = &vm->k[vm->kn - 1];
  switch (k->kind) {
  case KT_IF: {
    const node_t *c = k->n;
    TRY(restore_env(vm, k));
    TRY(kpop(vm));
    n = truthy(vm->W[R_VAL]) ? c->kid[1] : c->kid[2];
    goto eval;
  }
  case KT_SEQ: {
    const node_t *c = k->n;
    uint32_t i = ++k->i;
    TRY(restore_env(vm, k));
    if (i == c->n - 1) TRY(kpop(vm));
    n = c->kid[i];
    goto eval;
  }
  case KT_AND:
  case KT_OR: {
    const node_t *c = k->n;
    bool t = truthy(vm->W[R_VAL]);
    if (t != (k->kind == KT_AND)) { /* and: #f; or: a true value — done */
      TRY(kpop(vm));
      goto ret;
    }
    uint32_t i = ++k->i;
    TRY(restore_env(vm, k));
    if (i == c->n - 1) TRY(kpop(vm));
    n = c->kid[i];
    goto eval;
  }
  case KT_ARGS:
  case KT_LET:
    TRY(v_push(vm, R_VAL));
    k->i++;
    if (k->i < k->n->n) TRY(restore_env(vm, k));
    goto operands;
  case KT_LSET: {
    const node_t *c = k->n;
    uint32_t h;
    TRY(restore_env(vm, k));
    TRY(frame_at(vm, c->depth, R_TMP, &h));
    TRY(o_set(vm, h, c->refoff, c->wordoff, R_VAL));
    TRY(v_set_imm(vm, R_TMP, W_UNSPEC));
    TRY(v_set_imm(vm, R_VAL, W_UNSPEC));
    TRY(kpop(vm));
    goto ret;
  }
  case KT_GSET:
  case KT_GDEF: {
    const node_t *c = k->n;
    if (k->kind == KT_GSET) {
      if (vm->gword[c->a] == MKW(K_UNDEF, 0)) return vm_error(vm, "set!: unbound variable: %s", vm->syms[c->sym].name);
    }
    TRY(global_set(vm, c->a, R_VAL));
    TRY(v_set_imm(vm, R_VAL, W_UNSPEC));
    TRY(kpop(vm));
    goto ret;
  }
  case KT_FINRET:
    TRY(restore_env(vm, k)); /* the thunk ran in its own environment */
    TRY(v_move(vm, R_VAL, k->env + 1));
    TRY(kpop(vm));
    vm->fin_running = false;
    goto ret;
  }
  return vm_error(vm, "internal: unknown continuation %u", k->kind);
}

/* Runs every finalizer thunk queued (at the top level, between forms). */
bool run_finalizers(vm_t *vm) {
  static const node_t nop = {.k = N_CONST, .w = MKW(K_UNSPEC, 0)};
  TRY(fin_poll(vm));
  while (vm->finq_n) TRY(vm_run(vm, &nop));
  return true;
}
