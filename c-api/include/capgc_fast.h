/*
 * capgc_fast.h — CapGC's fast path: allocation, field access, the write
 * barrier and roots as inline code, for a C VM (or a JIT, with the layout
 * constants in capgc.h: docs/porting.md, "JIT integration").
 *
 * Hand-written, installed beside capgc.h (which it includes). Its layout
 * assumptions are checked at compile time below against capgc.h's
 * generated CAPGC_MUTATOR_* constants, and at run time by
 * c-api/tests/c/fast.c.
 *
 *     capgc_mutator_t *m;
 *     capgc_mutator(heap, &m);                  // once per heap
 *     capgc_ref_t stack[1024];                  // the VM's shadow stack
 *     capgc_fast_roots(m, stack, 1024);         // once
 *     capgc_ref_t r;
 *     capgc_fast_alloc(m, node_type, 24, &r);   // inline bump, or refill
 *     capgc_fast_push(m, r);                    // a root, no call
 *     capgc_fast_store_u64(m, r, 16, 42);       // inline store
 *
 * THE NO-SAFEPOINT WINDOW. Nothing collects or moves between two calls
 * on the heap. A capgc_ref_t (and a capgc_fast_ptr) is valid from the
 * call that produced it until the next call on the heap that may
 * collect: capgc_fast_alloc (when it refills), and every capgc_* call.
 * Keep references across those in the shadow stack (capgc_fast_push),
 * which every collection updates, or in the other roots of capgc.h.
 *
 * UNCHECKED IN NATIVE AND P128. There, these functions touch memory
 * directly, like a VM on bdwgc: an offset outside the object, a stale or
 * forged reference or a shadow stack overrun is the VM's memory error,
 * not caught (as in Native's Rust path). What the heap does check is
 * what it adopts: every object placed inline is checked when the heap
 * takes the buffer back (at the next call: CAPGC_E_CORRUPT for a header
 * the VM broke), and every shadow-stack entry at every collection.
 *
 * CHECKED IN SOFTCHERI. The same source calls the checked entries there
 * (m->checked is 1, nothing is ever lent): every reference is validated
 * (forged, stale, cross-heap, widened bits refused with their status),
 * every access checked against the reference's bounds and permissions.
 * capgc_fast_ptr returns NULL there.
 *
 * Every function returns a capgc_status_t like the rest of the ABI; in
 * Native and P128 the inline paths always return CAPGC_OK.
 */
#ifndef CAPGC_FAST_H
#define CAPGC_FAST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "capgc.h"

#if defined(__GNUC__) || defined(__clang__)
#define CAPGC_FAST_INLINE static inline __attribute__((always_inline))
#define CAPGC_FAST_LIKELY(x) __builtin_expect(!!(x), 1)
#else
#define CAPGC_FAST_INLINE static inline
#define CAPGC_FAST_LIKELY(x) (x)
#endif

#if defined(__cplusplus)
#define CAPGC_FAST_ASSERT(c, m) static_assert(c, m)
#else
#define CAPGC_FAST_ASSERT(c, m) _Static_assert(c, m)
#endif

/* The layout this file assumes, against the generated constants. */
CAPGC_FAST_ASSERT(sizeof(capgc_mutator_t) == CAPGC_MUTATOR_SIZE, "capgc_mutator_t size");
CAPGC_FAST_ASSERT(offsetof(capgc_mutator_t, cursor) == CAPGC_MUTATOR_CURSOR, "cursor");
CAPGC_FAST_ASSERT(offsetof(capgc_mutator_t, limit) == CAPGC_MUTATOR_LIMIT, "limit");
CAPGC_FAST_ASSERT(offsetof(capgc_mutator_t, roots) == CAPGC_MUTATOR_ROOTS, "roots");
CAPGC_FAST_ASSERT(offsetof(capgc_mutator_t, roots_top) == CAPGC_MUTATOR_ROOTS_TOP, "roots_top");
CAPGC_FAST_ASSERT(offsetof(capgc_mutator_t, roots_cap) == CAPGC_MUTATOR_ROOTS_CAP, "roots_cap");
CAPGC_FAST_ASSERT(offsetof(capgc_mutator_t, max_len) == CAPGC_MUTATOR_MAX_LEN, "max_len");
CAPGC_FAST_ASSERT(offsetof(capgc_mutator_t, align) == CAPGC_MUTATOR_ALIGN, "align");
CAPGC_FAST_ASSERT(offsetof(capgc_mutator_t, block_base) == CAPGC_MUTATOR_BLOCK_BASE, "block_base");
CAPGC_FAST_ASSERT(offsetof(capgc_mutator_t, block_states) == CAPGC_MUTATOR_BLOCK_STATES, "block_states");
CAPGC_FAST_ASSERT(offsetof(capgc_mutator_t, block_count) == CAPGC_MUTATOR_BLOCK_COUNT, "block_count");
CAPGC_FAST_ASSERT(offsetof(capgc_mutator_t, young_state) == CAPGC_MUTATOR_YOUNG_STATE, "young_state");
CAPGC_FAST_ASSERT(offsetof(capgc_mutator_t, barrier) == CAPGC_MUTATOR_BARRIER, "barrier");
CAPGC_FAST_ASSERT(offsetof(capgc_mutator_t, checked) == CAPGC_MUTATOR_CHECKED, "checked");
CAPGC_FAST_ASSERT(offsetof(capgc_mutator_t, heap) == CAPGC_MUTATOR_HEAP, "heap");
CAPGC_FAST_ASSERT(sizeof(capgc_ref_t) == 16, "capgc_ref_t is two words");
CAPGC_FAST_ASSERT(CAPGC_FAST_HEADER_NATIVE_SIZE == 8, "Native's header is one word");
CAPGC_FAST_ASSERT(CAPGC_FAST_HEADER_P128_SIZE == 16, "P128's header is two words");

/* True for the null reference (capgc_is_null, inline). */
CAPGC_FAST_INLINE int capgc_fast_is_null(capgc_ref_t r) { return (r.addr | r.meta) == 0; }

/* ---- allocation ---------------------------------------------------------- */

/* Bytes a new object with a payload of `len` bytes takes in the bump
 * buffer: the header (m->align bytes: one word in Native, two in P128),
 * then the payload rounded up to the cell alignment (at least one slot). */
CAPGC_FAST_INLINE uint64_t capgc_fast_cell(const capgc_mutator_t *m, uint64_t len) {
  uint64_t a = m->align, n = len ? len : 1;
  return a + ((n + a - 1) & ~(a - 1));
}

/* Allocates an object of type `ty` with a payload of `len` bytes (a
 * fixed-size type's size, or an array's length in bytes), zeroed, into
 * *out. Inline: a bump of m->cursor and the header — Native one word,
 * type << 8 | len << 32; P128 two, the type then the length; past the
 * buffer's end (and always in SoftCheri and MarkSweep) the refill
 * capgc_fast_alloc_slow, a safepoint. */
CAPGC_FAST_INLINE capgc_status_t capgc_fast_alloc(capgc_mutator_t *m, capgc_type_t ty, uint64_t len,
                                                  capgc_ref_t *out) {
  if (CAPGC_FAST_LIKELY(len <= m->max_len)) {
    uint64_t at = m->cursor, end = at + capgc_fast_cell(m, len);
    if (CAPGC_FAST_LIKELY(end <= m->limit)) {
      uint64_t *h = (uint64_t *)(uintptr_t)at;
      m->cursor = end;
      if (m->align == CAPGC_FAST_HEADER_NATIVE_SIZE) {
        /* the type index and the length; flags 0 */
        h[0] = (uint64_t)(uint32_t)ty << CAPGC_FAST_HEADER_NATIVE_TYPE_SHIFT |
               len << CAPGC_FAST_HEADER_NATIVE_LEN_SHIFT;
      } else {
        h[0] = (uint32_t)ty; /* the type index; flags 0 */
        h[1] = len;
      }
      out->addr = at + m->align;
      out->meta = 0;
      return CAPGC_OK;
    }
  }
  return capgc_fast_alloc_slow(m, ty, len, out);
}

/* The payload length of `r` in bytes into *out: read from its header
 * inline (Native, P128; inside the no-safepoint window), checked
 * (capgc_payload_len) in SoftCheri. */
CAPGC_FAST_INLINE capgc_status_t capgc_fast_len(capgc_mutator_t *m, capgc_ref_t r, uint64_t *out) {
  if (CAPGC_FAST_LIKELY(!m->checked)) {
    uint64_t w = ((const uint64_t *)(uintptr_t)r.addr)[-1];
    *out = m->align == CAPGC_FAST_HEADER_NATIVE_SIZE ? w >> CAPGC_FAST_HEADER_NATIVE_LEN_SHIFT : w;
    return CAPGC_OK;
  }
  return capgc_payload_len(m->heap, r, out);
}

/* ---- the write barrier ----------------------------------------------------- */

/* True when `addr` lies in a young (nursery) block: the barrier's
 * filter, one table load. */
CAPGC_FAST_INLINE int capgc_fast_is_young(const capgc_mutator_t *m, uint64_t addr) {
  uint64_t i = (addr - m->block_base) >> CAPGC_FAST_BLOCK_SHIFT;
  return i < m->block_count && m->block_states[i] == m->young_state;
}

/* ---- payload access (inside the no-safepoint window) ------------------------ */

/* The payload address of `r` (Native, P128), or NULL (SoftCheri). */
CAPGC_FAST_INLINE void *capgc_fast_ptr(const capgc_mutator_t *m, capgc_ref_t r) {
  return m->checked ? NULL : (void *)(uintptr_t)r.addr;
}

/* The reference in slot `offset` of `obj` into *out. */
CAPGC_FAST_INLINE capgc_status_t capgc_fast_load_ref(capgc_mutator_t *m, capgc_ref_t obj, uint64_t offset,
                                                     capgc_ref_t *out) {
  if (CAPGC_FAST_LIKELY(!m->checked)) {
    out->addr = *(const uint64_t *)(uintptr_t)(obj.addr + offset);
    out->meta = 0;
    return CAPGC_OK;
  }
  return capgc_get_ref(m->heap, obj, offset, out);
}

/* Stores `value` (or null) in reference slot `offset` of `obj`, with the
 * generational barrier: inline, the filter (value young, holder old);
 * out of line (capgc_fast_remember), the remembering. The holder is
 * tested first: a store into a new (young) object, the common case,
 * costs one table load. */
CAPGC_FAST_INLINE capgc_status_t capgc_fast_store_ref(capgc_mutator_t *m, capgc_ref_t obj, uint64_t offset,
                                                      capgc_ref_t value) {
  if (CAPGC_FAST_LIKELY(!m->checked)) {
    uint64_t *slot = (uint64_t *)(uintptr_t)(obj.addr + offset);
    slot[0] = value.addr;
    if (m->align == CAPGC_FAST_HEADER_P128_SIZE) /* P128: the second word is the payload length */
      slot[1] = value.addr ? ((const uint64_t *)(uintptr_t)value.addr)[-1] : 0;
    if (m->barrier && value.addr && !capgc_fast_is_young(m, obj.addr) && capgc_fast_is_young(m, value.addr))
      return capgc_fast_remember(m, obj, offset);
    return CAPGC_OK;
  }
  return capgc_set_ref(m->heap, obj, offset, value);
}

#define CAPGC_FAST_SCALAR(NAME, T)                                                                   \
  CAPGC_FAST_INLINE capgc_status_t capgc_fast_load_##NAME(capgc_mutator_t *m, capgc_ref_t obj,       \
                                                          uint64_t offset, T *out) {                 \
    if (CAPGC_FAST_LIKELY(!m->checked)) {                                                            \
      memcpy(out, (const void *)(uintptr_t)(obj.addr + offset), sizeof(T));                          \
      return CAPGC_OK;                                                                               \
    }                                                                                                \
    return capgc_read_##NAME(m->heap, obj, offset, out);                                             \
  }                                                                                                  \
  CAPGC_FAST_INLINE capgc_status_t capgc_fast_store_##NAME(capgc_mutator_t *m, capgc_ref_t obj,      \
                                                           uint64_t offset, T v) {                   \
    if (CAPGC_FAST_LIKELY(!m->checked)) {                                                            \
      memcpy((void *)(uintptr_t)(obj.addr + offset), &v, sizeof(T));                                 \
      return CAPGC_OK;                                                                               \
    }                                                                                                \
    return capgc_write_##NAME(m->heap, obj, offset, v);                                              \
  }

/* capgc_fast_load_u8/u32/u64/f64 and capgc_fast_store_u8/u32/u64/f64:
 * a scalar at byte `offset` of `obj`'s payload. */
CAPGC_FAST_SCALAR(u8, uint8_t)
CAPGC_FAST_SCALAR(u32, uint32_t)
CAPGC_FAST_SCALAR(u64, uint64_t)
CAPGC_FAST_SCALAR(f64, double)
#undef CAPGC_FAST_SCALAR

/* ---- the shadow stack (capgc_fast_roots registers it) ---------------------- */

/* Pushes `r` as a root. */
CAPGC_FAST_INLINE void capgc_fast_push(capgc_mutator_t *m, capgc_ref_t r) { m->roots[m->roots_top++] = r; }

/* Pops the top root. */
CAPGC_FAST_INLINE capgc_ref_t capgc_fast_pop(capgc_mutator_t *m) {
  capgc_ref_t r = m->roots[--m->roots_top];
  return r;
}

/* Root `i` (0 is the bottom), as the last collection left it. */
CAPGC_FAST_INLINE capgc_ref_t capgc_fast_root(const capgc_mutator_t *m, uint64_t i) { return m->roots[i]; }

#endif /* CAPGC_FAST_H */
