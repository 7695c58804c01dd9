/* The fast path (capgc_fast.h) in every configuration: the layout it
 * assumes, binary trees built and checked through it with collections and
 * the verifier after each, the inline barrier, the shadow stack moved by
 * the collector, and the attacks: in SoftCheri every new entry refuses
 * forged, flipped, stale, cross-heap and widened bits with its status and
 * nothing is lent; in Native and P128 a broken header or cursor is caught
 * when the heap takes the buffer back. */
#include "capgc_fast.h"
#include "common.h"

#include <stddef.h>

static capgc_type_t g_node, g_bytes;
static capgc_mutator_t *m;
static capgc_ref_t g_stack[256];

#define NODE_LEN(m) (2 * (m)->align + 8)

/* Pushes a tree of `depth` built bottom-up through the fast path; the
 * value of each node is its depth. */
static void tree(int depth) {
  capgc_ref_t n;
  CHECK(capgc_fast_alloc(m, g_node, NODE_LEN(m), &n));
  CHECK(capgc_fast_store_u64(m, n, 2 * m->align, (uint64_t)depth));
  capgc_fast_push(m, n);
  if (depth == 0) return;
  tree(depth - 1);
  tree(depth - 1);
  capgc_ref_t r = capgc_fast_pop(m), l = capgc_fast_pop(m);
  n = capgc_fast_root(m, m->roots_top - 1); /* may have moved */
  CHECK(capgc_fast_store_ref(m, n, 0, l));
  CHECK(capgc_fast_store_ref(m, n, m->align, r));
}

/* Nodes of the tree at `n`, checking each node's value. */
static uint64_t count(capgc_ref_t n, int depth) {
  uint64_t v = 0;
  CHECK(capgc_fast_load_u64(m, n, 2 * m->align, &v));
  ASSERT(v == (uint64_t)depth);
  capgc_ref_t l, r;
  CHECK(capgc_fast_load_ref(m, n, 0, &l));
  CHECK(capgc_fast_load_ref(m, n, m->align, &r));
  if (depth == 0) {
    ASSERT(capgc_is_null(l) && capgc_is_null(r));
    return 1;
  }
  return 1 + count(l, depth - 1) + count(r, depth - 1);
}

static capgc_heap_t *setup(const config_t *c) {
  capgc_heap_t *h = heap_for(c, 64 << 20);
  CHECK(capgc_type_record(h, 2, 8, &g_node));
  CHECK(capgc_type_byte_array(h, &g_bytes));
  CHECK(capgc_mutator(h, &m));
  CHECK(capgc_fast_roots(m, g_stack, 256));
  ASSERT(m->heap == h && m->roots == g_stack && m->roots_top == 0);
  return h;
}

static void trees(const config_t *c, capgc_heap_t *h) {
  int checked = c->mode == CAPGC_MODE_SOFTCHERI;
  ASSERT(m->checked == (uint32_t)checked);
  ASSERT(m->align == (c->mode == CAPGC_MODE_NATIVE ? 8u : 16u));
  tree(10); /* a long-lived tree */
  for (int round = 0; round < 20; round++) {
    tree(8);
    ASSERT(count(capgc_fast_pop(m), 8) == 511);
    /* Nothing is lent in SoftCheri or MarkSweep; a moving unchecked
     * heap lends between calls. */
    if (checked || c->plan == CAPGC_PLAN_MARKSWEEP) ASSERT(m->limit == 0 && m->max_len == 0);
    if (checked) {
      capgc_ref_t top = capgc_fast_root(m, 0);
      ASSERT(capgc_fast_ptr(m, top) == NULL);
    }
    if (round % 5 == 4) {
      CHECK(capgc_collect(h, NULL));
      verified(h);
    }
  }
  ASSERT(count(capgc_fast_root(m, 0), 10) == 2047);
  capgc_stats_t st;
  CHECK(capgc_heap_stats(h, &st));
  ASSERT(st.collections >= 4);
  ASSERT(st.objects_allocated >= 2047 + 20 * 511);
  verified(h);
  capgc_fast_pop(m);
}

/* An old holder, a young value: the inline filter sends the store to
 * capgc_fast_remember, and a minor collection keeps the value. */
static void barrier(capgc_heap_t *h) {
  capgc_ref_t old, young;
  CHECK(capgc_fast_alloc(m, g_node, NODE_LEN(m), &old));
  capgc_fast_push(m, old);
  CHECK(capgc_collect(h, NULL)); /* promoted (Generational) or moved */
  old = capgc_fast_root(m, 0);
  CHECK(capgc_fast_alloc(m, g_node, NODE_LEN(m), &young));
  CHECK(capgc_fast_store_u64(m, young, 2 * m->align, 77));
  CHECK(capgc_fast_store_ref(m, old, 0, young));
  CHECK(capgc_collect_minor(h, NULL));
  verified(h);
  old = capgc_fast_root(m, 0);
  capgc_ref_t got;
  uint64_t v = 0;
  CHECK(capgc_fast_load_ref(m, old, 0, &got));
  CHECK(capgc_fast_load_u64(m, got, 2 * m->align, &v));
  ASSERT(v == 77);
  capgc_fast_pop(m);
}

/* Every new entry refuses what it must, and the heap stays usable. */
static void attacks(const config_t *c, capgc_heap_t *h, capgc_heap_t *other) {
  int checked = c->mode == CAPGC_MODE_SOFTCHERI;
  capgc_ref_t r, o;
  EXPECT(capgc_mutator(NULL, &m), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_mutator(h, NULL), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_fast_alloc_slow(NULL, g_node, NODE_LEN(m), &r), CAPGC_E_NULL_ARGUMENT);
  capgc_mutator_t fake = *m; /* a copy is no mutator */
  EXPECT(capgc_fast_alloc_slow(&fake, g_node, NODE_LEN(m), &r), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_fast_remember(&fake, r, 0), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_fast_roots(&fake, g_stack, 256), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_fast_roots(m, NULL, 4), CAPGC_E_NULL_ARGUMENT);
  /* Wrong lengths, another heap's type. */
  EXPECT(capgc_fast_alloc_slow(m, g_node, NODE_LEN(m) + 8, &r), CAPGC_E_OUT_OF_RANGE);
  capgc_type_t foreign;
  CHECK(capgc_type_record(other, 2, 8, &foreign));
  EXPECT(capgc_fast_alloc_slow(m, foreign, NODE_LEN(m), &r), CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_fast_alloc_slow(m, g_node, NODE_LEN(m), NULL), CAPGC_E_NULL_ARGUMENT);
  /* Huge lengths: a fixed type's is wrong, a byte array's too big. */
  EXPECT(capgc_fast_alloc_slow(m, g_node, UINT64_MAX, &r), CAPGC_E_OUT_OF_RANGE);
  EXPECT(capgc_fast_alloc_slow(m, g_bytes, UINT64_MAX, &r), CAPGC_E_OUT_OF_MEMORY);
  /* Another heap's mutator: this heap's type is foreign there. */
  capgc_mutator_t *om;
  CHECK(capgc_mutator(other, &om));
  ASSERT(om != m);
  EXPECT(capgc_fast_alloc_slow(om, g_node, NODE_LEN(m), &r), CAPGC_E_WRONG_HEAP);
  CHECK(capgc_fast_alloc(m, g_node, NODE_LEN(m), &r));
  /* The barrier's entry: only a reference slot of a live object. */
  EXPECT(capgc_fast_remember(m, r, 2 * m->align), checked ? CAPGC_E_BOUNDS : CAPGC_E_NOT_A_REF_SLOT);
  CHECK(capgc_fast_remember(m, r, 0));
  CHECK(capgc_alloc(other, foreign, &o));
  if (checked) {
    capgc_ref_t flipped = r, widened, stale = r;
    flipped.addr ^= 16;
    CHECK(capgc_restrict(h, r, CAPGC_PERM_READ_ONLY, &widened));
    widened.meta |= 0x3full << 42; /* a read-only view claiming every right */
    EXPECT(capgc_fast_remember(m, flipped, 0), CAPGC_E_FORGED);
    EXPECT(capgc_fast_remember(m, widened, 0), CAPGC_E_FORGED);
    EXPECT(capgc_fast_remember(m, o, 0), CAPGC_E_FORGED); /* another heap's */
    capgc_ref_t forged = {r.addr, 0x1234};
    EXPECT(capgc_fast_remember(m, forged, 0), CAPGC_E_FORGED);
    /* The shadow stack: each bad entry refuses the collection. */
    capgc_fast_push(m, r);
    CHECK(capgc_collect(h, NULL)); /* r is rewritten; `stale` is not */
    capgc_ref_t cases[4] = {flipped, widened, o, stale};
    capgc_status_t want[4] = {CAPGC_E_FORGED, CAPGC_E_FORGED, CAPGC_E_FORGED, CAPGC_E_STALE};
    for (int i = 0; i < 4; i++) {
      capgc_fast_push(m, cases[i]);
      EXPECT(capgc_collect(h, NULL), want[i]);
      capgc_fast_pop(m);
      CHECK(capgc_collect(h, NULL)); /* usable again */
    }
    EXPECT(capgc_fast_remember(m, stale, 0), CAPGC_E_STALE);
    capgc_fast_pop(m);
    /* Nothing is lent in SoftCheri, whatever the struct says. */
    m->cursor = stale.addr;
    m->limit = stale.addr + 4096;
    m->max_len = 4096;
    CHECK(capgc_fast_alloc_slow(m, g_node, NODE_LEN(m), &r));
    ASSERT(m->cursor == 0 && m->limit == 0);
    m->max_len = 0;
    ASSERT(capgc_fast_ptr(m, r) == NULL);
  } else {
    /* Unchecked modes: a shadow-stack entry that is no object. */
    capgc_ref_t bogus = {r.addr + 8, 0};
    capgc_fast_push(m, bogus);
    EXPECT(capgc_collect(h, NULL), CAPGC_E_NOT_AN_OBJECT);
    capgc_fast_pop(m);
    /* Another heap's object, as an entry and to the barrier. */
    capgc_fast_push(m, o);
    EXPECT(capgc_collect(h, NULL), CAPGC_E_NOT_AN_OBJECT);
    capgc_fast_pop(m);
    EXPECT(capgc_fast_remember(m, o, 0), CAPGC_E_NOT_AN_OBJECT);
    EXPECT(capgc_fast_remember(om, r, 0), CAPGC_E_NOT_AN_OBJECT);
  }
  m->roots_top = 257; /* past the registered room */
  EXPECT(capgc_collect(h, NULL), CAPGC_E_OUT_OF_RANGE);
  m->roots_top = 0;
  CHECK(capgc_collect(h, NULL));
  verified(h);
}

/* Unchecked moving heaps: the heap checks what it adopts. */
static void broken_buffers(const config_t *c) {
  if (c->mode == CAPGC_MODE_SOFTCHERI || c->plan == CAPGC_PLAN_MARKSWEEP) return;
  for (int k = 0; k < 5; k++) {
    capgc_heap_t *h = setup(c);
    capgc_ref_t r;
    CHECK(capgc_fast_alloc(m, g_node, NODE_LEN(m), &r)); /* lends */
    CHECK(capgc_fast_alloc(m, g_node, NODE_LEN(m), &r));
    ASSERT(m->limit != 0);
    uint64_t len;
    CHECK(capgc_fast_len(m, r, &len));
    ASSERT(len == NODE_LEN(m));
    if (m->align == CAPGC_FAST_HEADER_NATIVE_SIZE) {
      /* Native: one word, type << 8 | len << 32. */
      uint64_t *hdr = (uint64_t *)capgc_fast_ptr(m, r) - 1;
      ASSERT(*hdr == ((uint64_t)(uint32_t)g_node << CAPGC_FAST_HEADER_NATIVE_TYPE_SHIFT |
                      NODE_LEN(m) << CAPGC_FAST_HEADER_NATIVE_LEN_SHIFT));
      if (k == 0) *hdr = (uint64_t)9999 << CAPGC_FAST_HEADER_NATIVE_TYPE_SHIFT | len << 32; /* no such type */
      if (k == 1) *hdr = (*hdr & 0xffffffffu) | (uint64_t)3 << 32; /* a length the type refuses */
      if (k == 3) *hdr |= 1; /* the forwarded bit */
      if (k == 4) *hdr |= 4; /* a flag bit no writer sets */
    } else {
      uint64_t *hdr = (uint64_t *)capgc_fast_ptr(m, r) - 2;
      if (k == 0) hdr[0] = 9999; /* a type no one registered */
      if (k == 1) hdr[1] = 3;    /* a length the type refuses */
      if (k == 3) hdr[0] |= (uint64_t)2 << 32; /* the forwarded flag */
      if (k == 4) hdr[0] |= (uint64_t)1 << 40; /* a flag no writer sets */
    }
    if (k == 2) m->cursor = m->limit + 64; /* past the buffer */
    EXPECT(capgc_collect(h, NULL), CAPGC_E_CORRUPT);
    EXPECT(capgc_collect(h, NULL), CAPGC_E_CORRUPT); /* and stays refused */
    capgc_heap_free(h);
  }
}

int main(void) {
  /* The header's layout assumptions, at run time too. */
  ASSERT(sizeof(capgc_mutator_t) == CAPGC_MUTATOR_SIZE);
  ASSERT(offsetof(capgc_mutator_t, cursor) == CAPGC_MUTATOR_CURSOR);
  ASSERT(offsetof(capgc_mutator_t, limit) == CAPGC_MUTATOR_LIMIT);
  ASSERT(offsetof(capgc_mutator_t, roots_top) == CAPGC_MUTATOR_ROOTS_TOP);
  ASSERT(offsetof(capgc_mutator_t, block_states) == CAPGC_MUTATOR_BLOCK_STATES);
  ASSERT(offsetof(capgc_mutator_t, heap) == CAPGC_MUTATOR_HEAP);
  for (size_t i = 0; i < NCONFIGS; i++) {
    const config_t *c = &CONFIGS[i];
    g_where = c->name;
    capgc_heap_t *h = setup(c);
    capgc_heap_t *other = heap_for(c, 16 << 20);
    trees(c, h);
    barrier(h);
    attacks(c, h, other);
    capgc_heap_free(other);
    capgc_heap_free(h);
    broken_buffers(c);
  }
  printf("fast path: %zu configurations ok\n", NCONFIGS);
  return 0;
}
