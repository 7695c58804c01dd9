/* The slot API's scalars, byte ranges, weak references, ephemerons and
 * finalizer registration (slots.rs), in every mode and plan: first what
 * they do, then every misuse with its status — in SoftCheri each one
 * refused, in Native/P128 what they can tell refused and what they cannot
 * marked NOT CAUGHT — and after each case the heap still allocates,
 * collects and verifies. No reference bits are held in C anywhere here. */
#include "common.h"

static capgc_type_t g_node;

static int checked(uint32_t mode) { return mode == CAPGC_MODE_SOFTCHERI; }

/* After every case: the heap allocates, links, collects and verifies. */
static void still_usable(capgc_heap_t *h) {
  capgc_region_t r;
  CHECK(capgc_region_new(h, 2, &r));
  CHECK(capgc_slot_alloc(h, r, 0, g_node));
  CHECK(capgc_slot_alloc(h, r, 1, g_node));
  CHECK(capgc_slot_store_field(h, r, 0, 0, 1));
  CHECK(capgc_collect(h, NULL));
  CHECK(capgc_collect_minor(h, NULL));
  verified(h);
  CHECK(capgc_region_free(h, r));
}

static int slot_is_null(capgc_heap_t *h, capgc_region_t r, uint64_t i) {
  bool null = false;
  CHECK(capgc_slot_is_null(h, r, i, &null));
  return null;
}

static void semantics(capgc_heap_t *h, uint64_t slot) {
  capgc_region_t r;
  CHECK(capgc_region_new(h, 8, &r));
  const uint64_t data = 2 * slot; /* a node: two reference slots, then data */

  /* Scalars of every width, at offsets from the slot size. */
  CHECK(capgc_slot_alloc(h, r, 0, g_node));
  CHECK(capgc_slot_write_u8(h, r, 0, data, 0xab));
  CHECK(capgc_slot_write_u32(h, r, 0, data + 4, 0xdeadbeefu));
  CHECK(capgc_slot_write_f64(h, r, 0, data + 8, 2.5));
  CHECK(capgc_collect(h, NULL)); /* they move with the object */
  uint8_t b = 0;
  uint32_t w = 0;
  double d = 0;
  CHECK(capgc_slot_read_u8(h, r, 0, data, &b));
  CHECK(capgc_slot_read_u32(h, r, 0, data + 4, &w));
  CHECK(capgc_slot_read_f64(h, r, 0, data + 8, &d));
  ASSERT(b == 0xab && w == 0xdeadbeefu && d == 2.5);

  /* Byte ranges: a string's characters. */
  capgc_type_t str;
  CHECK(capgc_type_byte_array(h, &str));
  CHECK(capgc_slot_alloc_array(h, r, 1, str, 11));
  CHECK(capgc_slot_write_bytes(h, r, 1, 0, "hello world", 11));
  CHECK(capgc_collect(h, NULL));
  char buf[12] = {0};
  CHECK(capgc_slot_read_bytes(h, r, 1, 6, buf, 5));
  ASSERT(memcmp(buf, "world", 6) == 0);
  CHECK(capgc_slot_read_bytes(h, r, 1, 11, NULL, 0)); /* empty, at the end */

  /* Weak references: one target kept in a slot, one dropped. */
  capgc_weak_t kept, dropped;
  CHECK(capgc_slot_weak_new(h, r, 0, &kept));
  CHECK(capgc_slot_alloc(h, r, 2, g_node));
  CHECK(capgc_slot_weak_new(h, r, 2, &dropped));
  CHECK(capgc_slot_clear(h, r, 2));
  CHECK(capgc_collect(h, NULL));
  bool alive = false;
  CHECK(capgc_slot_weak_get(h, kept, r, 3, &alive));
  ASSERT(alive && !slot_is_null(h, r, 3));
  CHECK(capgc_slot_read_u32(h, r, 3, data + 4, &w)); /* the same object */
  ASSERT(w == 0xdeadbeefu);
  CHECK(capgc_slot_weak_get(h, dropped, r, 3, &alive));
  ASSERT(!alive && slot_is_null(h, r, 3));
  CHECK(capgc_slot_weak_get(h, kept, r, 4, NULL)); /* alive may be null */
  CHECK(capgc_weak_release(h, kept));
  CHECK(capgc_weak_release(h, dropped));

  /* Ephemerons: the value lives while the key does, and not longer. */
  CHECK(capgc_slot_alloc(h, r, 2, g_node)); /* key */
  CHECK(capgc_slot_alloc(h, r, 3, g_node)); /* value */
  CHECK(capgc_slot_write_u8(h, r, 3, data, 42));
  capgc_ephemeron_t e;
  CHECK(capgc_slot_ephemeron_new(h, r, 2, 3, &e));
  CHECK(capgc_slot_clear(h, r, 3));
  CHECK(capgc_slot_clear(h, r, 4));
  CHECK(capgc_collect(h, NULL));
  CHECK(capgc_slot_ephemeron_get(h, e, r, 4, 5, &alive));
  ASSERT(alive);
  CHECK(capgc_slot_read_u8(h, r, 5, data, &b));
  ASSERT(b == 42);
  CHECK(capgc_slot_clear(h, r, 2));
  CHECK(capgc_slot_clear(h, r, 4));
  CHECK(capgc_slot_clear(h, r, 5));
  CHECK(capgc_collect(h, NULL));
  CHECK(capgc_slot_ephemeron_get(h, e, r, 4, 5, &alive));
  ASSERT(!alive && slot_is_null(h, r, 4) && slot_is_null(h, r, 5));
  CHECK(capgc_ephemeron_release(h, e));

  /* Finalizers: the token comes back once the object is unreachable. */
  CHECK(capgc_slot_alloc(h, r, 2, g_node));
  capgc_finalizer_t f;
  CHECK(capgc_slot_finalizer_register(h, r, 2, 77, &f));
  CHECK(capgc_slot_finalizer_register(h, r, 0, 78, NULL)); /* still reachable */
  CHECK(capgc_collect(h, NULL));
  uint64_t tokens[4];
  size_t n = 9, pending = 9;
  CHECK(capgc_finalized_take(h, tokens, 4, &n, &pending));
  ASSERT(n == 0);
  CHECK(capgc_slot_clear(h, r, 2));
  CHECK(capgc_collect(h, NULL));
  CHECK(capgc_finalized_take(h, tokens, 4, &n, &pending));
  ASSERT(n == 1 && tokens[0] == 77 && pending == 0);
  EXPECT(capgc_finalizer_unregister(h, f), CAPGC_E_STALE_HANDLE); /* delivered */

  verified(h);
  CHECK(capgc_region_free(h, r));
}

static void misuse(const config_t *c, capgc_heap_t *h, uint64_t slot) {
  const uint64_t data = 2 * slot, len = data + 32; /* a multiple of 16 */
  capgc_region_t r;
  CHECK(capgc_region_new(h, 4, &r));
  CHECK(capgc_slot_alloc(h, r, 0, g_node));
  uint8_t b;
  uint32_t w;
  double d;
  char buf[64];
  capgc_weak_t wk;
  capgc_ephemeron_t e;
  capgc_finalizer_t f;
  bool alive;

  /* A region that is not one, and an index past its end. */
  capgc_region_t gone;
  CHECK(capgc_region_new(h, 2, &gone));
  CHECK(capgc_region_free(h, gone));
  EXPECT(capgc_slot_read_u8(h, gone, 0, data, &b), CAPGC_E_INVALID_REGION);
  EXPECT(capgc_slot_write_f64(h, gone, 0, data, 1.0), CAPGC_E_INVALID_REGION);
  EXPECT(capgc_slot_weak_new(h, gone, 0, &wk), CAPGC_E_INVALID_REGION);
  EXPECT(capgc_slot_finalizer_register(h, gone, 0, 1, &f), CAPGC_E_INVALID_REGION);
  EXPECT(capgc_slot_read_u32(h, r, 4, data, &w), CAPGC_E_OUT_OF_RANGE);
  EXPECT(capgc_slot_write_bytes(h, r, UINT64_MAX, 0, "x", 1), CAPGC_E_OUT_OF_RANGE);
  EXPECT(capgc_slot_ephemeron_new(h, r, 0, 9, &e), CAPGC_E_OUT_OF_RANGE);
  still_usable(h);

  /* An empty slot. */
  EXPECT(capgc_slot_read_f64(h, r, 1, data, &d), CAPGC_E_NULL_REFERENCE);
  EXPECT(capgc_slot_write_u8(h, r, 1, data, 1), CAPGC_E_NULL_REFERENCE);
  EXPECT(capgc_slot_read_bytes(h, r, 1, 0, buf, 1), CAPGC_E_NULL_REFERENCE);
  EXPECT(capgc_slot_finalizer_register(h, r, 1, 1, &f), CAPGC_E_NULL_REFERENCE);
  still_usable(h);

  /* A slot holding data, not a reference: SoftCheri refuses it by its
   * clear tag (accesses: CAPGC_E_UNTAGGED; a reference to keep: not a live
 * object's, CAPGC_E_NOT_AN_OBJECT); the unchecked modes take the bits for an address (as the
   * core slot API does): an access there is refused because it leaves
   * the heap's mapping, but a weak reference, ephemeron or finalizer
   * registration is NOT CAUGHT (stored unvalidated; released here before
   * the heap is verified, which would report it, I3). */
  CHECK(capgc_region_set_data(h, r, 2, 0x1000));
  const capgc_status_t access = checked(c->mode) ? CAPGC_E_UNTAGGED : CAPGC_E_BOUNDS;
  EXPECT(capgc_slot_read_u8(h, r, 2, 0, &b), access);
  EXPECT(capgc_slot_write_u32(h, r, 2, 0, 1), access);
  EXPECT(capgc_slot_write_bytes(h, r, 2, 0, "x", 1), access);
  if (checked(c->mode)) {
    /* (stored references are checked to be a live object's first) */
    EXPECT(capgc_slot_weak_new(h, r, 2, &wk), CAPGC_E_NOT_AN_OBJECT);
    EXPECT(capgc_slot_ephemeron_new(h, r, 2, 0, &e), CAPGC_E_NOT_AN_OBJECT);
    EXPECT(capgc_slot_ephemeron_new(h, r, 0, 2, &e), CAPGC_E_NOT_AN_OBJECT);
    EXPECT(capgc_slot_finalizer_register(h, r, 2, 1, &f), CAPGC_E_NOT_AN_OBJECT);
  } else {
    CHECK(capgc_slot_weak_new(h, r, 2, &wk));
    CHECK(capgc_weak_release(h, wk));
    CHECK(capgc_slot_ephemeron_new(h, r, 2, 0, &e));
    CHECK(capgc_ephemeron_release(h, e));
    CHECK(capgc_slot_finalizer_register(h, r, 2, 1, &f));
    CHECK(capgc_finalizer_unregister(h, f));
  }
  CHECK(capgc_slot_clear(h, r, 2));
  still_usable(h);

  /* Outside the object: past its end, wrapping below it (the header),
   * a byte range that overflows. */
  if (checked(c->mode)) {
    EXPECT(capgc_slot_read_u8(h, r, 0, len, &b), CAPGC_E_BOUNDS);
    EXPECT(capgc_slot_write_u32(h, r, 0, len - 2, 1), CAPGC_E_BOUNDS);
    EXPECT(capgc_slot_read_f64(h, r, 0, (uint64_t)-16, &d), CAPGC_E_BOUNDS);
    EXPECT(capgc_slot_read_bytes(h, r, 0, data, buf, 33), CAPGC_E_BOUNDS);
    EXPECT(capgc_slot_write_bytes(h, r, 0, len - 1, "ab", 2), CAPGC_E_BOUNDS);
    EXPECT(capgc_slot_read_bytes(h, r, 0, UINT64_MAX - 2, buf, 8), CAPGC_E_BOUNDS);
    EXPECT(capgc_slot_write_bytes(h, r, 0, UINT64_MAX, "abcd", 4), CAPGC_E_BOUNDS);
  } else {
    /* Only what leaves the heap's mapping is refused; NOT CAUGHT: one
     * past the object reads its neighbour, an offset that wraps below
     * the payload its header. */
    EXPECT(capgc_slot_read_u8(h, r, 0, 1ull << 60, &b), CAPGC_E_BOUNDS);
    EXPECT(capgc_slot_read_bytes(h, r, 0, 1ull << 60, buf, 8), CAPGC_E_BOUNDS);
  }
  still_usable(h);

  /* A data write over a reference clears its tag (I6): what the slot
   * held cannot be loaded as a reference any more. */
  CHECK(capgc_slot_alloc(h, r, 1, g_node));
  CHECK(capgc_slot_store_field(h, r, 0, 0, 1));
  CHECK(capgc_slot_write_u8(h, r, 0, 0, 0x55));
  if (checked(c->mode)) {
    /* Refused as untagged, or — where the written byte changed the
     * address — as designating no object (that check comes first). */
    capgc_status_t u1 = capgc_slot_load_field(h, r, 2, 0, 0);
    ASSERT(u1 == CAPGC_E_UNTAGGED || u1 == CAPGC_E_NOT_AN_OBJECT);
    CHECK(capgc_slot_store_field(h, r, 0, 0, 1)); /* a reference store mends it */
    CHECK(capgc_slot_load_field(h, r, 2, 0, 0));
    CHECK(capgc_slot_write_bytes(h, r, 0, slot - 1, "z", 1)); /* its last byte */
    EXPECT(capgc_slot_load_field(h, r, 2, 0, 0), CAPGC_E_UNTAGGED);
  } /* NOT CAUGHT in Native/P128: the field now spells another address. */
  CHECK(capgc_slot_store_field(h, r, 0, 0, 3)); /* slot 3 is empty: null */
  CHECK(capgc_slot_clear(h, r, 1));
  CHECK(capgc_slot_clear(h, r, 2));
  still_usable(h);

  /* Tokens: released, fabricated, another heap's. */
  CHECK(capgc_slot_weak_new(h, r, 0, &wk));
  CHECK(capgc_weak_release(h, wk));
  EXPECT(capgc_slot_weak_get(h, wk, r, 1, &alive), CAPGC_E_STALE_HANDLE);
  CHECK(capgc_slot_alloc(h, r, 1, g_node));
  CHECK(capgc_slot_ephemeron_new(h, r, 0, 1, &e));
  CHECK(capgc_ephemeron_release(h, e));
  EXPECT(capgc_slot_ephemeron_get(h, e, r, 2, 3, &alive), CAPGC_E_STALE_HANDLE);
  /* One kind of token passed as another: an ephemeron's bits as a weak
   * reference, a weak reference's as an ephemeron (each kind has its own
   * table; the token names a slot of the wrong one). */
  CHECK(capgc_slot_ephemeron_new(h, r, 0, 1, &e));
  CHECK(capgc_slot_weak_new(h, r, 0, &wk));
  capgc_weak_t e_as_weak = {{e.w[0], e.w[1]}};
  capgc_ephemeron_t weak_as_e = {{wk.w[0], wk.w[1]}};
  EXPECT(capgc_slot_weak_get(h, e_as_weak, r, 2, &alive), CAPGC_E_STALE_HANDLE);
  EXPECT(capgc_slot_ephemeron_get(h, weak_as_e, r, 2, 3, &alive), CAPGC_E_STALE_HANDLE);
  CHECK(capgc_ephemeron_release(h, e));
  CHECK(capgc_weak_release(h, wk));
  capgc_weak_t junk = {{0xfffffff0u, 2}}; /* a heap identity none has */
  EXPECT(capgc_slot_weak_get(h, junk, r, 1, &alive), CAPGC_E_WRONG_HEAP);
  capgc_heap_t *other = heap_for(c, 8 << 20);
  capgc_type_t onode;
  CHECK(capgc_type_record(other, 2, 32, &onode));
  capgc_region_t orr;
  CHECK(capgc_region_new(other, 2, &orr));
  CHECK(capgc_slot_alloc(other, orr, 0, onode));
  capgc_weak_t theirs;
  capgc_ephemeron_t their_e;
  CHECK(capgc_slot_weak_new(other, orr, 0, &theirs));
  CHECK(capgc_slot_ephemeron_new(other, orr, 0, 0, &their_e));
  EXPECT(capgc_slot_weak_get(h, theirs, r, 1, &alive), CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_slot_ephemeron_get(h, their_e, r, 2, 3, &alive), CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_slot_weak_get(h, wk, orr, 1, &alive), CAPGC_E_WRONG_HEAP); /* their region */
  capgc_heap_free(other);
  ASSERT(!slot_is_null(h, r, 1)); /* the refused gets wrote nothing */
  still_usable(h);

  /* Both halves of an ephemeron into one slot; null pointers. */
  CHECK(capgc_slot_ephemeron_new(h, r, 0, 1, &e));
  EXPECT(capgc_slot_ephemeron_get(h, e, r, 2, 2, &alive), CAPGC_E_OUT_OF_RANGE);
  EXPECT(capgc_slot_ephemeron_get(h, e, r, 2, 4, &alive), CAPGC_E_OUT_OF_RANGE);
  ASSERT(slot_is_null(h, r, 2)); /* nothing written by the refused call */
  CHECK(capgc_ephemeron_release(h, e));
  EXPECT(capgc_slot_read_u8(h, r, 0, data, NULL), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_slot_read_bytes(h, r, 0, data, NULL, 4), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_slot_write_bytes(h, r, 0, data, NULL, 4), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_slot_weak_new(h, r, 0, NULL), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_slot_ephemeron_new(h, r, 0, 1, NULL), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_slot_read_u8(NULL, r, 0, data, &b), CAPGC_E_NULL_ARGUMENT);
  ASSERT(capgc_heap_slot_size(NULL) == 0);
  still_usable(h);

  CHECK(capgc_region_free(h, r));
}

static void run(const config_t *c) {
  g_where = c->name;
  capgc_heap_t *h = heap_for(c, 64 << 20);
  uint64_t slot = capgc_heap_slot_size(h), from_mode = 0;
  CHECK(capgc_heap_mode(h, NULL, &from_mode));
  ASSERT(slot == from_mode && slot == (c->mode == CAPGC_MODE_NATIVE ? 8u : 16u));
  CHECK(capgc_type_record(h, 2, 32, &g_node));
  semantics(h, slot);
  misuse(c, h, slot);
  capgc_heap_free(h);
}

int main(void) {
  for (size_t i = 0; i < NCONFIGS; i++) run(&CONFIGS[i]);
  printf("slot forms: %zu configurations ok\n", NCONFIGS);
  return 0;
}
