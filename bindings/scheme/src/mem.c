/*
 * mem.c — the heap layer: the one file that calls capgc.h's object, slot
 * and root functions. Everything above it names objects by slot index of
 * the VM's root slots, never by reference bits.
 *
 * Two backends behind the same operations:
 *  - a plain heap (`vm->heap`): the fast path of capgc_fast.h. The root
 *    slots are its shadow stack `vm->R` (registered with
 *    capgc_fast_roots, its top kept at vm->hwm by v_set_hwm: every
 *    collection validates every entry below it and rewrites it to its
 *    object's new place). Allocation bumps inline; loads and stores of fields are
 *    inline in Native and P128, with the barrier's filter inline; in
 *    SoftCheri the same calls are the checked entries (capgc_get_ref,
 *    capgc_read_u64, ...). No reference bits outlive the operation that
 *    reads them: every function here moves them between a shadow-stack
 *    entry and a field with no safepoint in between (the no-safepoint
 *    window of capgc_fast.h). Native and P128 do not check a reference or
 *    an offset on the fast path, so this layer checks the one thing an
 *    interpreter bug could get wrong cheaply: every field access lies
 *    inside the object's payload (its length from the header,
 *    capgc_fast_len) — an internal error, never a memory error.
 *    What a Scheme program can get wrong (a vector index, a string index,
 *    a car of a non-pair) is checked above this layer, in the primitives.
 *  - a compartment of a split heap (`vm->split`, `vm->comp`): the C ABI
 *    has no slot API, no arrays and no byte arrays for compartments, so
 *    each operation gets the reference from the region
 *    (capgc_compartment_region_get), uses it, and stores the result back,
 *    all inside one call of this layer with no safepoint in between: the
 *    bits never outlive the operation. Strings are records of a size class
 *    there (byte arrays elsewhere).
 *
 * Layouts (S = the reference slot size, 8 or 16):
 *   vrec(n)     n value fields: reference i at i*S, word i at n*S + 8i
 *               (pairs are vrec(2), vectors vrec(cap), boxes vrec(1))
 *   frame(n)    parent reference at 0; variable i: reference (1+i)*S,
 *               word (1+n)*S + 8i
 *   closure     the environment reference at 0 (code index in the word)
 *   string      plain: a byte array of the length; compartment: a record of
 *               0 references and a size class of bytes
 *   symbol, flonum, weak table: one data word
 */
#include "scheme.h"

#include <capgc_fast.h>
#include <stdlib.h>
#include <string.h>

#define SPLIT (vm->split != NULL)

/* ---- the fast path's root slots and field checks --------------------------- */

/* The shadow stack of nslots entries, all null; its top follows vm->hwm
 * (v_set_hwm), so a collection scans the slots in use. */
bool mem_init_roots(vm_t *vm, uint32_t nslots) {
  CK(vm, capgc_mutator(vm->heap, &vm->mu));
  vm->R = calloc(nslots, sizeof *vm->R);
  if (!vm->R) return vm_error(vm, "out of C memory for the root slots");
  CK(vm, capgc_fast_roots(vm->mu, vm->R, nslots)); /* top 0; vm_init sets it (v_set_hwm) */
  return true;
}

/* Unregisters the shadow stack and frees it; if the heap refuses (it was
 * poisoned), the array is left to the process rather than freed under a
 * heap that still points at it. */
void mem_free_roots(vm_t *vm) {
  if (!vm->R) return;
  if (capgc_fast_roots(vm->mu, NULL, 0) == CAPGC_OK) free(vm->R);
  vm->R = NULL;
}

/* Native and P128: whether bytes [off, off+n) lie in r's payload (its
 * length read from its header by capgc_fast_len). The fast path does not
 * check this; an interpreter bug would otherwise be a memory error.
 * SoftCheri: the checked entry checks (true here). */
static inline bool field_ok(const vm_t *vm, capgc_ref_t r, uint64_t off, uint64_t n) {
  if (vm->mu->checked) return true;
  if (r.addr == 0) return false;
  uint64_t len;
  capgc_fast_len(vm->mu, r, &len); /* inline: CAPGC_OK unchecked */
  return off <= len && n <= len - off;
}

static bool bad_field(vm_t *vm, uint32_t holder, uint64_t off, uint64_t n) {
  return vm_error(vm, "internal: bytes %llu..%llu are outside the object in slot %u (kind %u)",
                  (unsigned long long)off, (unsigned long long)(off + n), holder, KIND(vm->W[holder]));
}

#define FIELD_OK(vm, holder, off, n)                                                   \
  do {                                                                             \
    if (!field_ok((vm), (vm)->R[holder], (off), (n))) return bad_field((vm), (holder), (off), (n)); \
  } while (0)

/* ---- types -------------------------------------------------------------- */

static bool type_record(vm_t *vm, uint32_t refs, uint64_t data, capgc_type_t *out) {
  if (SPLIT) {
    CK(vm, capgc_compartment_type_record(vm->split, vm->comp, refs, data, out));
    return true;
  }
  CK(vm, capgc_type_record(vm->heap, refs, data, out));
  /* capgc_fast_alloc takes the payload length: remember it by index. */
  uint32_t ix = (uint32_t)*out;
  if (ix >= vm->ntsize) {
    uint32_t cap = vm->ntsize ? vm->ntsize : 64;
    while (cap <= ix) cap *= 2;
    uint64_t *t = realloc(vm->tsize, cap * sizeof *t);
    if (!t) return vm_error(vm, "out of C memory");
    for (uint32_t i = vm->ntsize; i < cap; i++) t[i] = UINT64_MAX;
    vm->tsize = t;
    vm->ntsize = cap;
  }
  vm->tsize[ix] = (uint64_t)refs * vm->S + data;
  return true;
}

bool mem_init_types(vm_t *vm) {
  TRY(type_record(vm, 2, 16, &vm->t_pair));
  TRY(type_record(vm, 1, 0, &vm->t_closure));
  TRY(type_record(vm, 0, 8, &vm->t_flonum));
  TRY(type_record(vm, 0, 8, &vm->t_symbol));
  TRY(type_record(vm, 1, 8, &vm->t_box));
  TRY(type_record(vm, 0, 8, &vm->t_wtable));
  if (!SPLIT) CK(vm, capgc_type_byte_array(vm->heap, &vm->t_bytes));
  return true;
}

/* The type of a frame of n variables, registered on first use. */
bool m_frame_type(vm_t *vm, uint32_t n, capgc_type_t *out) {
  if (n >= vm->n_t_frame) {
    uint32_t cap = vm->n_t_frame ? vm->n_t_frame : 16;
    while (cap <= n) cap *= 2;
    capgc_type_t *t = realloc(vm->t_frame, cap * sizeof *t);
    if (!t) return vm_error(vm, "out of C memory");
    for (uint32_t i = vm->n_t_frame; i < cap; i++) t[i] = UINT64_MAX;
    vm->t_frame = t;
    vm->n_t_frame = cap;
  }
  if (vm->t_frame[n] == UINT64_MAX) TRY(type_record(vm, 1 + n, 8u * n, &vm->t_frame[n]));
  *out = vm->t_frame[n];
  return true;
}

/* Vectors come in size classes (exact up to 8, then powers of two), so a
 * program of many lengths registers few types. */
uint64_t vec_cap(uint64_t n) {
  if (n <= 8) return n ? n : 1;
  uint64_t c = 16;
  while (c < n) c *= 2;
  return c;
}

bool m_vector_type(vm_t *vm, uint64_t n, capgc_type_t *out) {
  uint64_t cap = vec_cap(n);
  for (uint32_t i = 0; i < vm->n_t_class; i++)
    if (vm->t_class[i].cap == cap) {
      *out = vm->t_class[i].t;
      return true;
    }
  if (cap > UINT32_MAX || vm->n_t_class == 64) return vm_error(vm, "vector too large: %llu", (unsigned long long)n);
  capgc_type_t t;
  TRY(type_record(vm, (uint32_t)cap, 8u * cap, &t));
  vm->t_class[vm->n_t_class].cap = cap;
  vm->t_class[vm->n_t_class++].t = t;
  *out = t;
  return true;
}

/* ---- allocation ----------------------------------------------------------- */

bool m_alloc(vm_t *vm, uint32_t dst, capgc_type_t ty) {
  if (SPLIT) {
    capgc_ref_t r;
    CK(vm, capgc_compartment_alloc(vm->split, vm->comp, ty, &r));
    CK(vm, capgc_compartment_region_set(vm->split, vm->comp, vm->region, dst, r));
  } else {
    uint32_t ix = (uint32_t)ty;
    if (ix >= vm->ntsize || vm->tsize[ix] == UINT64_MAX) return vm_error(vm, "internal: allocation of an unknown type");
    capgc_ref_t r;
    CK(vm, capgc_fast_alloc(vm->mu, ty, vm->tsize[ix], &r));
    vm->R[dst] = r;
  }
  return true;
}

/* String storage of n bytes, zeroed. */
bool m_alloc_bytes(vm_t *vm, uint32_t dst, uint64_t n) {
  if (!SPLIT) {
    capgc_ref_t r;
    CK(vm, capgc_fast_alloc(vm->mu, vm->t_bytes, n, &r));
    vm->R[dst] = r;
    return true;
  }
  uint64_t cap = 8;
  while (cap < n) cap = cap < 64 ? cap + 8 : cap * 2;
  capgc_type_t ty = UINT64_MAX;
  for (uint32_t i = 0; i < vm->n_t_sclass; i++)
    if (vm->t_sclass[i].cap == cap) ty = vm->t_sclass[i].t;
  if (ty == UINT64_MAX) {
    if (vm->n_t_sclass == 64) return vm_error(vm, "string too large: %llu bytes", (unsigned long long)n);
    TRY(type_record(vm, 0, cap, &ty));
    vm->t_sclass[vm->n_t_sclass].cap = cap;
    vm->t_sclass[vm->n_t_sclass++].t = ty;
  }
  return m_alloc(vm, dst, ty);
}

/* ---- the root region ------------------------------------------------------ */

/* The fast path's root slots: a new shadow stack of n entries, the first
 * `keep` copied from the old one (plain C copies, no safepoint in between).
 * capgc_fast_roots sets the top to 0; the caller restores it (v_set_hwm). */
static bool shadow_stack_move(vm_t *vm, uint32_t n, uint32_t keep) {
  capgc_ref_t *nr = calloc(n, sizeof *nr);
  if (!nr) return vm_error(vm, "out of C memory for the root slots");
  memcpy(nr, vm->R, (size_t)keep * sizeof *nr);
  capgc_status_t st = capgc_fast_roots(vm->mu, nr, n);
  if (st != CAPGC_OK) {
    free(nr);
    return vm_capgc_fail(vm, st, "capgc_fast_roots");
  }
  free(vm->R);
  vm->R = nr;
  return true;
}

/* A compartment's root slots: a new region of n slots, the first `keep`
 * moved from the old one. Each reference goes from an old slot to the new
 * one by a get immediately followed by a set — no safepoint in between, so
 * the bits never outlive the move; a sealed one by the sealed get/set.
 * Slots whose word is an immediate hold null (value.c's invariant) and are
 * skipped. On failure the old region stays. */
static bool region_move(vm_t *vm, uint32_t n, uint32_t keep) {
  capgc_region_t nr;
  CK(vm, capgc_compartment_region_new(vm->split, vm->comp, n, &nr));
  capgc_status_t s = CAPGC_OK;
  const char *call = "";
  for (uint32_t i = 0; s == CAPGC_OK && i < keep; i++) {
    if (!IS_HEAP(vm->W[i])) continue;
    if (IS_SEALED(vm->W[i])) {
      capgc_sealed_t x;
      call = "capgc_region_get/set_sealed";
      s = capgc_region_get_sealed(vm->split, vm->comp, vm->region, i, &x);
      if (s == CAPGC_OK) s = capgc_region_set_sealed(vm->split, vm->comp, nr, i, &x);
    } else {
      capgc_ref_t r;
      call = "capgc_compartment_region_get/set";
      s = capgc_compartment_region_get(vm->split, vm->comp, vm->region, i, &r);
      if (s == CAPGC_OK) s = capgc_compartment_region_set(vm->split, vm->comp, nr, i, r);
    }
  }
  capgc_region_t old = s == CAPGC_OK ? vm->region : nr; /* on failure the old one stays */
  (void)capgc_compartment_region_free(vm->split, vm->comp, old);
  if (s != CAPGC_OK) return vm_capgc_fail(vm, s, call);
  vm->region = nr;
  return true;
}

/* Replaces the VM's root slots by n of them (more when the stack
 * overflows; fewer at the top level after a deep recursion, since every
 * collection scans them up to vm->hwm). n must exceed vm->sp: slots at
 * and above sp hold null. */
bool m_region_resize(vm_t *vm, uint32_t n) {
  if (n <= vm->sp) return vm_error(vm, "internal: region resize below the stack pointer");
  uint32_t old_n = vm->nslots, keep = n < old_n ? n : old_n;
  if (n > vm->nslots) {
    uint64_t *w = realloc(vm->W, (size_t)n * sizeof *w);
    if (!w) return vm_error(vm, "out of C memory for the value stack");
    vm->W = w;
    for (uint32_t i = vm->nslots; i < n; i++) w[i] = W_UNSPEC;
  }
  TRY(SPLIT ? region_move(vm, n, keep) : shadow_stack_move(vm, n, keep));
  vm->nslots = n;
  v_set_hwm(vm, vm->hwm > n ? n : vm->hwm); /* also the shadow stack's top */
  if (n < old_n) { /* shrunk: give the C side back too */
    uint64_t *w = realloc(vm->W, (size_t)n * sizeof *w);
    if (w) vm->W = w;
  }
  return true;
}

/* ---- references between slots and fields ---------------------------------- */

bool m_load(vm_t *vm, uint32_t dst, uint32_t holder, uint64_t off, bool sealed) {
  if (!SPLIT) {
    FIELD_OK(vm, holder, off, vm->S);
    capgc_ref_t r;
    CK(vm, capgc_fast_load_ref(vm->mu, vm->R[holder], off, &r));
    vm->R[dst] = r;
    return true;
  }
  capgc_ref_t h;
  CK(vm, capgc_compartment_region_get(vm->split, vm->comp, vm->region, holder, &h));
  if (sealed) {
    capgc_sealed_t s;
    CK(vm, capgc_get_sealed(vm->split, vm->comp, h, off, &s));
    CK(vm, capgc_region_set_sealed(vm->split, vm->comp, vm->region, dst, &s));
  } else {
    capgc_ref_t r;
    CK(vm, capgc_compartment_get_ref(vm->split, vm->comp, h, off, &r));
    CK(vm, capgc_compartment_region_set(vm->split, vm->comp, vm->region, dst, r));
  }
  return true;
}

bool m_store(vm_t *vm, uint32_t holder, uint64_t off, uint32_t src, bool sealed) {
  if (!SPLIT) {
    FIELD_OK(vm, holder, off, vm->S);
    CK(vm, capgc_fast_store_ref(vm->mu, vm->R[holder], off, vm->R[src]));
    return true;
  }
  capgc_ref_t h;
  CK(vm, capgc_compartment_region_get(vm->split, vm->comp, vm->region, holder, &h));
  if (sealed) {
    capgc_sealed_t s;
    CK(vm, capgc_region_get_sealed(vm->split, vm->comp, vm->region, src, &s));
    CK(vm, capgc_set_sealed(vm->split, vm->comp, h, off, &s));
  } else {
    capgc_ref_t v;
    CK(vm, capgc_compartment_region_get(vm->split, vm->comp, vm->region, src, &v));
    CK(vm, capgc_compartment_set_ref(vm->split, vm->comp, h, off, v));
  }
  return true;
}

bool m_copy(vm_t *vm, uint32_t dst, uint32_t src, bool sealed) {
  if (!SPLIT) {
    vm->R[dst] = vm->R[src];
  } else if (sealed) {
    capgc_sealed_t s;
    CK(vm, capgc_region_get_sealed(vm->split, vm->comp, vm->region, src, &s));
    CK(vm, capgc_region_set_sealed(vm->split, vm->comp, vm->region, dst, &s));
  } else {
    capgc_ref_t r;
    CK(vm, capgc_compartment_region_get(vm->split, vm->comp, vm->region, src, &r));
    CK(vm, capgc_compartment_region_set(vm->split, vm->comp, vm->region, dst, r));
  }
  return true;
}

bool m_clear(vm_t *vm, uint32_t i) {
  if (SPLIT)
    CK(vm, capgc_compartment_region_set(vm->split, vm->comp, vm->region, i, capgc_null()));
  else
    vm->R[i] = capgc_null();
  return true;
}

/* The reference in slot i, by value: valid only until the next safepoint;
 * callers use it at once (an identity, a byte copy, a weak registration). */
bool m_ref(vm_t *vm, uint32_t i, capgc_ref_t *out) {
  if (SPLIT)
    CK(vm, capgc_compartment_region_get(vm->split, vm->comp, vm->region, i, out));
  else
    *out = vm->R[i];
  return true;
}

/* Slot i := r (a reference just obtained from the library). */
bool m_set_ref(vm_t *vm, uint32_t i, capgc_ref_t r) {
  if (SPLIT)
    CK(vm, capgc_compartment_region_set(vm->split, vm->comp, vm->region, i, r));
  else
    vm->R[i] = r;
  return true;
}

/* Whether slots a and b hold the same object (eq?). */
bool m_same(vm_t *vm, uint32_t a, uint32_t b, bool sealed, bool *out) {
  if (sealed) {
    capgc_sealed_t x, y;
    CK(vm, capgc_region_get_sealed(vm->split, vm->comp, vm->region, a, &x));
    CK(vm, capgc_region_get_sealed(vm->split, vm->comp, vm->region, b, &y));
    CK(vm, capgc_sealed_same(vm->split, &x, &y, out));
    return true;
  }
  capgc_ref_t x, y;
  TRY(m_ref(vm, a, &x));
  TRY(m_ref(vm, b, &y));
  *out = x.addr == y.addr;
  return true;
}

/* ---- data ------------------------------------------------------------------ */

bool m_read(vm_t *vm, uint32_t holder, uint64_t off, uint64_t *out) {
  if (!SPLIT) {
    FIELD_OK(vm, holder, off, 8);
    CK(vm, capgc_fast_load_u64(vm->mu, vm->R[holder], off, out));
    return true;
  }
  capgc_ref_t h;
  CK(vm, capgc_compartment_region_get(vm->split, vm->comp, vm->region, holder, &h));
  CK(vm, capgc_compartment_read_u64(vm->split, vm->comp, h, off, out));
  return true;
}

bool m_write(vm_t *vm, uint32_t holder, uint64_t off, uint64_t v) {
  if (!SPLIT) {
    FIELD_OK(vm, holder, off, 8);
    CK(vm, capgc_fast_store_u64(vm->mu, vm->R[holder], off, v));
    return true;
  }
  capgc_ref_t h;
  CK(vm, capgc_compartment_region_get(vm->split, vm->comp, vm->region, holder, &h));
  CK(vm, capgc_compartment_write_u64(vm->split, vm->comp, h, off, v));
  return true;
}

/* Bytes of a string. The plain heap copies them in one call; a compartment
 * has only 64-bit reads, so whole words are read and the range cut out. */
bool m_bytes_read(vm_t *vm, uint32_t holder, uint64_t off, void *buf, size_t n) {
  if (n == 0) return true;
  capgc_ref_t h;
  TRY(m_ref(vm, holder, &h));
  if (!SPLIT) {
    FIELD_OK(vm, holder, off, n);
    const uint8_t *p = capgc_fast_ptr(vm->mu, h);
    if (p)
      memcpy(buf, p + off, n);
    else
      CK(vm, capgc_read_bytes(vm->heap, h, off, buf, n));
    return true;
  }
  uint8_t *out = buf;
  for (uint64_t w = off & ~UINT64_C(7); w < off + n; w += 8) {
    uint64_t v;
    uint8_t b[8];
    CK(vm, capgc_compartment_read_u64(vm->split, vm->comp, h, w, &v));
    memcpy(b, &v, 8);
    for (unsigned j = 0; j < 8; j++)
      if (w + j >= off && w + j < off + n) out[w + j - off] = b[j];
  }
  return true;
}

bool m_bytes_write(vm_t *vm, uint32_t holder, uint64_t off, const void *buf, size_t n) {
  if (n == 0) return true;
  capgc_ref_t h;
  TRY(m_ref(vm, holder, &h));
  if (!SPLIT) {
    FIELD_OK(vm, holder, off, n);
    uint8_t *p = capgc_fast_ptr(vm->mu, h);
    if (p)
      memcpy(p + off, buf, n);
    else
      CK(vm, capgc_write_bytes(vm->heap, h, off, buf, n));
    return true;
  }
  const uint8_t *in = buf;
  for (uint64_t w = off & ~UINT64_C(7); w < off + n; w += 8) {
    uint64_t v;
    uint8_t b[8];
    CK(vm, capgc_compartment_read_u64(vm->split, vm->comp, h, w, &v));
    memcpy(b, &v, 8);
    for (unsigned j = 0; j < 8; j++)
      if (w + j >= off && w + j < off + n) b[j] = in[w + j - off];
    memcpy(&v, b, 8);
    CK(vm, capgc_compartment_write_u64(vm->split, vm->comp, h, w, v));
  }
  return true;
}

/* ---- collection, statistics, verification, weak references ---------------- */

bool m_collect(vm_t *vm, bool minor) {
  if (SPLIT)
    CK(vm, capgc_compartment_collect(vm->split, vm->comp, NULL));
  else if (minor)
    CK(vm, capgc_collect_minor(vm->heap, NULL));
  else
    CK(vm, capgc_collect(vm->heap, NULL));
  return true;
}

bool m_stats(vm_t *vm, capgc_stats_t *out) {
  if (SPLIT)
    CK(vm, capgc_compartment_stats(vm->split, vm->comp, out));
  else
    CK(vm, capgc_heap_stats(vm->heap, out));
  return true;
}

/* The number of violations of the heap-safety contract (I1-I9); a
 * compartment is checked with the whole split heap. */
bool m_verify(vm_t *vm, size_t *violations) {
  if (SPLIT) {
    capgc_compartment_violation_t v[4];
    CK(vm, capgc_split_heap_verify(vm->split, v, 4, violations));
    if (*violations)
      return vm_error(vm, "heap verifier: %zu violations; first: I%u kind %u at %#llx", *violations,
                      v[0].violation.invariant, v[0].violation.kind,
                      (unsigned long long)v[0].violation.addr);
  } else {
    capgc_violation_t v[4];
    CK(vm, capgc_heap_verify(vm->heap, v, 4, violations));
    if (*violations)
      return vm_error(vm, "heap verifier: %zu violations; first: I%u kind %u at %#llx", *violations,
                      v[0].invariant, v[0].kind, (unsigned long long)v[0].addr);
  }
  return true;
}

bool m_weak_new(vm_t *vm, uint32_t i, capgc_weak_t *out) {
  capgc_ref_t r;
  TRY(m_ref(vm, i, &r));
  if (SPLIT)
    CK(vm, capgc_compartment_weak_new(vm->split, vm->comp, r, out));
  else
    CK(vm, capgc_weak_new(vm->heap, r, out));
  return true;
}

bool m_weak_get(vm_t *vm, capgc_weak_t w, capgc_ref_t *out) {
  if (SPLIT)
    CK(vm, capgc_compartment_weak_get(vm->split, vm->comp, w, out));
  else
    CK(vm, capgc_weak_get(vm->heap, w, out));
  return true;
}

bool m_weak_release(vm_t *vm, capgc_weak_t w) {
  if (SPLIT)
    CK(vm, capgc_compartment_weak_release(vm->split, vm->comp, w));
  else
    CK(vm, capgc_weak_release(vm->heap, w));
  return true;
}

/* Bytes read through a reference held by value (the fault-injection build
 * only: correct code reads through a slot, m_bytes_read). */
bool m_ref_bytes_read(vm_t *vm, capgc_ref_t r, void *buf, size_t n) {
  if (n) CK(vm, capgc_read_bytes(vm->heap, r, 0, buf, n));
  return true;
}

/* ---- ephemerons and finalizers ------------------------------------------------ */

/* An ephemeron keyed by the object in slot k holding the one in slot v
 * (null for an immediate: its word is kept by the caller). */
bool m_eph_new(vm_t *vm, uint32_t k, uint32_t v, capgc_ephemeron_t *out) {
  capgc_ref_t kr, vr = capgc_null();
  TRY(m_ref(vm, k, &kr));
  if (IS_HEAP(vm->W[v])) TRY(m_ref(vm, v, &vr));
  if (SPLIT)
    CK(vm, capgc_compartment_ephemeron_new(vm->split, vm->comp, kr, vr, out));
  else
    CK(vm, capgc_ephemeron_new(vm->heap, kr, vr, out));
  return true;
}

bool m_eph_get(vm_t *vm, capgc_ephemeron_t e, capgc_ref_t *k, capgc_ref_t *v) {
  if (SPLIT)
    CK(vm, capgc_compartment_ephemeron_get(vm->split, vm->comp, e, k, v));
  else
    CK(vm, capgc_ephemeron_get(vm->heap, e, k, v));
  return true;
}

bool m_eph_release(vm_t *vm, capgc_ephemeron_t e) {
  if (SPLIT)
    CK(vm, capgc_compartment_ephemeron_release(vm->split, vm->comp, e));
  else
    CK(vm, capgc_ephemeron_release(vm->heap, e));
  return true;
}

/* The C ABI has finalizers for plain heaps only. */
bool m_finalizer_register(vm_t *vm, uint32_t obj, uint64_t token) {
  if (SPLIT) return vm_error(vm, "finalizers are not available in a compartment (capgc.h has no compartment finalizer API)");
  capgc_ref_t r;
  TRY(m_ref(vm, obj, &r));
  CK(vm, capgc_finalizer_register(vm->heap, r, token, NULL));
  return true;
}

/* Up to cap tokens of objects found unreachable (none in a compartment). */
bool m_finalized_take(vm_t *vm, uint64_t *tokens, size_t cap, size_t *count) {
  *count = 0;
  if (!SPLIT) CK(vm, capgc_finalized_take(vm->heap, tokens, cap, count, NULL));
  return true;
}
