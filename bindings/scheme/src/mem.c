/*
 * mem.c — the heap layer: the one file that calls capgc.h's object, slot
 * and root functions. Everything above it names objects by slot index of
 * the VM's root region, never by reference bits.
 *
 * Two backends behind the same operations:
 *  - a plain heap (`vm->heap`): the slot API proper. References move
 *    between region slots and object fields inside the library; C never
 *    sees their bits.
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

#include <stdlib.h>
#include <string.h>

#define SPLIT (vm->split != NULL)

/* ---- types -------------------------------------------------------------- */

static bool type_record(vm_t *vm, uint32_t refs, uint64_t data, capgc_type_t *out) {
  if (SPLIT)
    CK(vm, capgc_compartment_type_record(vm->split, vm->comp, refs, data, out));
  else
    CK(vm, capgc_type_record(vm->heap, refs, data, out));
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
    CK(vm, capgc_slot_alloc(vm->heap, vm->region, dst, ty));
  }
  return true;
}

/* String storage of n bytes, zeroed. */
bool m_alloc_bytes(vm_t *vm, uint32_t dst, uint64_t n) {
  if (!SPLIT) {
    CK(vm, capgc_slot_alloc_array(vm->heap, vm->region, dst, vm->t_bytes, n));
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

/* Replaces the VM's root region by one of n slots (larger when the stack
 * overflows; smaller at the top level after a deep recursion, since every
 * collection scans the whole region). n must exceed vm->sp: slots at and
 * above sp hold null. Each reference goes from an old slot to the new one
 * by a get immediately followed by a set — no safepoint in between, so the
 * bits never outlive the move; a sealed one (compartments) by the sealed
 * get/set. Slots whose word is an immediate hold null (value.c's
 * invariant) and are skipped. */
bool m_region_resize(vm_t *vm, uint32_t n) {
  if (n <= vm->sp) return vm_error(vm, "internal: region resize below the stack pointer");
  uint32_t old_n = vm->nslots, keep = n < old_n ? n : old_n;
  if (n > vm->nslots) {
    uint64_t *w = realloc(vm->W, (size_t)n * sizeof *w);
    if (!w) return vm_error(vm, "out of C memory for the value stack");
    vm->W = w;
    for (uint32_t i = vm->nslots; i < n; i++) w[i] = W_UNSPEC;
  }
  capgc_region_t nr;
  if (SPLIT)
    CK(vm, capgc_compartment_region_new(vm->split, vm->comp, n, &nr));
  else
    CK(vm, capgc_region_new(vm->heap, n, &nr));
  capgc_status_t s = CAPGC_OK;
  const char *call = "";
  for (uint32_t i = 0; s == CAPGC_OK && i < keep; i++) {
    if (!IS_HEAP(vm->W[i])) continue;
    capgc_ref_t r;
    if (!SPLIT) {
      call = "capgc_region_get/set";
      s = capgc_region_get(vm->heap, vm->region, i, &r);
      if (s == CAPGC_OK) s = capgc_region_set(vm->heap, nr, i, r);
    } else if (IS_SEALED(vm->W[i])) {
      capgc_sealed_t x;
      call = "capgc_region_get/set_sealed";
      s = capgc_region_get_sealed(vm->split, vm->comp, vm->region, i, &x);
      if (s == CAPGC_OK) s = capgc_region_set_sealed(vm->split, vm->comp, nr, i, &x);
    } else {
      call = "capgc_compartment_region_get/set";
      s = capgc_compartment_region_get(vm->split, vm->comp, vm->region, i, &r);
      if (s == CAPGC_OK) s = capgc_compartment_region_set(vm->split, vm->comp, nr, i, r);
    }
  }
  capgc_region_t old = s == CAPGC_OK ? vm->region : nr; /* on failure the old one stays */
  if (SPLIT)
    (void)capgc_compartment_region_free(vm->split, vm->comp, old);
  else
    (void)capgc_region_free(vm->heap, old);
  if (s != CAPGC_OK) return vm_capgc_fail(vm, s, call);
  vm->region = nr;
  vm->nslots = n;
  if (vm->hwm > n) vm->hwm = n;
  if (n < old_n) { /* shrunk: give the C side back too */
    uint64_t *w = realloc(vm->W, (size_t)n * sizeof *w);
    if (w) vm->W = w;
  }
  return true;
}

/* ---- references between slots and fields ---------------------------------- */

bool m_load(vm_t *vm, uint32_t dst, uint32_t holder, uint64_t off, bool sealed) {
  if (!SPLIT) {
    CK(vm, capgc_slot_load_field(vm->heap, vm->region, dst, holder, off));
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
    CK(vm, capgc_slot_store_field(vm->heap, vm->region, holder, off, src));
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
    CK(vm, capgc_slot_copy(vm->heap, vm->region, dst, src));
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
    CK(vm, capgc_slot_clear(vm->heap, vm->region, i));
  return true;
}

/* The reference in slot i, by value: valid only until the next safepoint;
 * callers use it at once (an identity, a byte copy, a weak registration). */
bool m_ref(vm_t *vm, uint32_t i, capgc_ref_t *out) {
  if (SPLIT)
    CK(vm, capgc_compartment_region_get(vm->split, vm->comp, vm->region, i, out));
  else
    CK(vm, capgc_region_get(vm->heap, vm->region, i, out));
  return true;
}

/* Slot i := r (a reference just obtained from the library). */
bool m_set_ref(vm_t *vm, uint32_t i, capgc_ref_t r) {
  if (SPLIT)
    CK(vm, capgc_compartment_region_set(vm->split, vm->comp, vm->region, i, r));
  else
    CK(vm, capgc_region_set(vm->heap, vm->region, i, r));
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
    CK(vm, capgc_slot_read_u64(vm->heap, vm->region, holder, off, out));
    return true;
  }
  capgc_ref_t h;
  CK(vm, capgc_compartment_region_get(vm->split, vm->comp, vm->region, holder, &h));
  CK(vm, capgc_compartment_read_u64(vm->split, vm->comp, h, off, out));
  return true;
}

bool m_write(vm_t *vm, uint32_t holder, uint64_t off, uint64_t v) {
  if (!SPLIT) {
    CK(vm, capgc_slot_write_u64(vm->heap, vm->region, holder, off, v));
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
