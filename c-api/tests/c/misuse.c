/* The misuse suite: for each bad input, the expected status; then the heap
 * still allocates, collects and verifies. SoftCheri (all three formats)
 * refuses every case; the unchecked modes (Native, P128) refuse what they
 * can tell and say so where they cannot. */
#include "common.h"

#include <pthread.h>

static capgc_type_t g_node;
static uint64_t g_slot;

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

static int checked(const config_t *c) { return c->mode == CAPGC_MODE_SOFTCHERI; }

/* A callback that re-enters the heap: every call it makes is refused. */
typedef struct {
  capgc_heap_t *heap;
  capgc_status_t got;
  int calls;
} reenter_t;

static void reentering_trace(void *ctx, const capgc_view_t *view, capgc_visitor_t *v) {
  reenter_t *r = ctx;
  capgc_ref_t out;
  (void)view;
  r->calls++;
  r->got = capgc_alloc(r->heap, g_node, &out);
  capgc_visit(v, 0);
}

/* A callback that lies: offsets past the object, overflowing, misaligned
 * and into the header, all ignored; and, once `hide` is set, it stops
 * reporting the slot it reported before (a tagged union whose tag word
 * changed behind the heap's back). */
typedef struct {
  int hide, calls;
} liar_t;

static void lying_trace(void *ctx, const capgc_view_t *view, capgc_visitor_t *v) {
  liar_t *l = ctx;
  uint64_t len = 0;
  l->calls++;
  CHECK(capgc_view_len(view, &len));
  capgc_visit(v, len);
  capgc_visit(v, UINT64_MAX);
  capgc_visit(v, UINT64_MAX - 7);
  capgc_visit(v, (uint64_t)-16);
  capgc_visit(v, 3);
  if (!l->hide) capgc_visit(v, 0);
}

/* Two threads: the second calls while the first is inside a collection
 * (held there by the trace callback until the second has tried). */
typedef struct {
  capgc_heap_t *heap;
  pthread_mutex_t m;
  pthread_cond_t cv;
  int in_gc, tried;
  capgc_status_t got;
} race_t;

static void blocking_trace(void *ctx, const capgc_view_t *view, capgc_visitor_t *v) {
  race_t *r = ctx;
  (void)view;
  (void)v;
  pthread_mutex_lock(&r->m);
  if (!r->tried) {
    r->in_gc = 1;
    pthread_cond_broadcast(&r->cv);
    while (!r->tried) pthread_cond_wait(&r->cv, &r->m);
  }
  pthread_mutex_unlock(&r->m);
}

static void *second_thread(void *arg) {
  race_t *r = arg;
  pthread_mutex_lock(&r->m);
  while (!r->in_gc) pthread_cond_wait(&r->cv, &r->m);
  capgc_stats_t s;
  r->got = capgc_heap_stats(r->heap, &s);
  r->tried = 1;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->m);
  return NULL;
}

static void run(const config_t *c) {
  g_where = c->name;
  capgc_heap_t *h = heap_for(c, 32 << 20);
  CHECK(capgc_heap_mode(h, NULL, &g_slot));
  CHECK(capgc_type_record(h, 2, 16, &g_node));
  uint64_t data = 2 * g_slot;
  capgc_ref_t a, b, out;
  capgc_region_t keep;
  CHECK(capgc_region_new(h, 8, &keep));

  /* Null heap and out pointers. */
  EXPECT(capgc_alloc(NULL, g_node, &out), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_alloc(h, g_node, NULL), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_heap_stats(h, NULL), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_type_fixed(h, 32, NULL, 2, &g_node), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_read_bytes(h, capgc_null(), 0, NULL, 4), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_type_custom(h, 32, NULL, NULL, &g_node), CAPGC_E_NULL_ARGUMENT);
  still_usable(h);

  /* Garbage enum values and permission bits. */
  capgc_config_t bad = capgc_config_default();
  capgc_heap_t *h2 = NULL;
  bad.mode = 7;
  EXPECT(capgc_heap_new(&bad, &h2), CAPGC_E_INVALID_ENUM);
  bad = capgc_config_default();
  bad.plan = 0xffffffffu;
  EXPECT(capgc_heap_new(&bad, &h2), CAPGC_E_INVALID_ENUM);
  bad = capgc_config_default();
  bad.format = 3;
  EXPECT(capgc_heap_new(&bad, &h2), CAPGC_E_INVALID_ENUM);
  bad = capgc_config_default();
  bad.scan = 2;
  EXPECT(capgc_heap_new(&bad, &h2), CAPGC_E_INVALID_ENUM);
  bad = capgc_config_default();
  bad.limit = 1;
  EXPECT(capgc_heap_new(&bad, &h2), CAPGC_E_INVALID_CONFIG);
  bad = capgc_config_default();
  bad.growth_factor = -1.0;
  EXPECT(capgc_heap_new(&bad, &h2), CAPGC_E_INVALID_CONFIG);
  ASSERT(h2 == NULL);
  CHECK(capgc_alloc(h, g_node, &a));
  EXPECT(capgc_restrict(h, a, 1u << 9, &out), CAPGC_E_INVALID_ENUM);
  still_usable(h);

  /* Unknown type ids: past the registry, bare indexes (3 and 12345 on a
   * heap with few types: no heap issued them), bits with a heap identity
   * no heap had, garbage: all CAPGC_E_UNKNOWN_TYPE, never "another heap"
   * (a real other heap's type is CAPGC_E_WRONG_HEAP, below). */
  EXPECT(capgc_alloc(h, g_node + 1000, &out), CAPGC_E_UNKNOWN_TYPE);
  EXPECT(capgc_alloc(h, 3, &out), CAPGC_E_UNKNOWN_TYPE);
  ASSERT(strstr(capgc_last_error(), "unknown type id") != NULL);
  EXPECT(capgc_alloc(h, 12345, &out), CAPGC_E_UNKNOWN_TYPE);
  EXPECT(capgc_alloc_array(h, 3, 4, &out), CAPGC_E_UNKNOWN_TYPE);
  EXPECT(capgc_alloc_pinned(h, 0, &out), CAPGC_E_UNKNOWN_TYPE);
  EXPECT(capgc_alloc(h, g_node ^ (1ull << 62), &out), CAPGC_E_UNKNOWN_TYPE);
  EXPECT(capgc_alloc(h, 0xdeadbeefcafef00dull, &out), CAPGC_E_UNKNOWN_TYPE);
  EXPECT(capgc_alloc(h, UINT64_MAX, &out), CAPGC_E_UNKNOWN_TYPE);
  capgc_type_t arr_t;
  CHECK(capgc_type_ref_array(h, &arr_t));
  EXPECT(capgc_alloc(h, arr_t, &out), CAPGC_E_WRONG_KIND);
  EXPECT(capgc_alloc_array(h, g_node, 4, &out), CAPGC_E_WRONG_KIND);
  uint64_t bad_offs[1] = {3};
  EXPECT(capgc_type_fixed(h, 32, bad_offs, 1, &out.addr), CAPGC_E_INVALID_TYPE);
  still_usable(h);

  /* Offsets past the object, overflowing, and huge sizes. */
  CHECK(capgc_alloc(h, g_node, &a));
  CHECK(capgc_region_set(h, keep, 0, a));
  uint64_t v;
  if (checked(c)) {
    EXPECT(capgc_read_u64(h, a, UINT64_MAX - 3, &v), CAPGC_E_BOUNDS);
    EXPECT(capgc_write_u64(h, a, UINT64_MAX, 1), CAPGC_E_BOUNDS);
    EXPECT(capgc_read_u64(h, a, data + 16, &v), CAPGC_E_BOUNDS);
    EXPECT(capgc_write_u64(h, a, data + 12, 1), CAPGC_E_BOUNDS);
    EXPECT(capgc_read_u64(h, a, (uint64_t)-16, &v), CAPGC_E_BOUNDS); /* the header */
  } else {
    /* Only what leaves the heap's mapping is refused ... */
    EXPECT(capgc_read_u64(h, a, 1ull << 60, &v), CAPGC_E_BOUNDS);
    /* ... NOT CAUGHT: an offset that wraps below the payload reads the
     * header, one past the object reads its neighbour. */
    CHECK(capgc_read_u64(h, a, UINT64_MAX - 3, &v));
  }
  EXPECT(capgc_get_ref(h, a, 4 * g_slot, &out), checked(c) ? CAPGC_E_BOUNDS : CAPGC_E_NOT_A_REF_SLOT);
  EXPECT(capgc_get_ref(h, a, data, &out), CAPGC_E_NOT_A_REF_SLOT);
  EXPECT(capgc_set_ref(h, a, 3, a), CAPGC_E_NOT_A_REF_SLOT);
  capgc_type_t bytes_t;
  CHECK(capgc_type_byte_array(h, &bytes_t));
  EXPECT(capgc_alloc_array(h, bytes_t, UINT64_MAX, &out), CAPGC_E_OUT_OF_MEMORY);
  EXPECT(capgc_alloc_array(h, arr_t, UINT64_MAX / 8, &out), CAPGC_E_OUT_OF_MEMORY);
  EXPECT(capgc_region_new(h, 1ull << 40, &keep), CAPGC_E_INVALID_CONFIG);
  still_usable(h);

  /* Data over a reference slot, then read as a reference. */
  CHECK(capgc_region_get(h, keep, 0, &a));
  CHECK(capgc_alloc(h, g_node, &b));
  CHECK(capgc_region_get(h, keep, 0, &a));
  CHECK(capgc_set_ref(h, a, 0, b));
  CHECK(capgc_write_u64(h, a, 0, b.addr));
  if (checked(c)) {
    EXPECT(capgc_get_ref(h, a, 0, &out), CAPGC_E_UNTAGGED);
  } else {
    /* NOT CAUGHT: the data is taken for the reference it spells. */
    CHECK(capgc_get_ref(h, a, 0, &out));
  }
  CHECK(capgc_set_ref(h, a, 0, capgc_null()));
  still_usable(h);

  /* Random 16-byte references, and one bit flipped. */
  uint64_t x = 0x2545f4914f6cdd1dull;
  for (int i = 0; i < 200; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    capgc_ref_t r = {x, x * 0x9e3779b97f4a7c15ull};
    capgc_status_t s = capgc_read_u64(h, r, 0, &v);
    ASSERT(s == (checked(c) ? CAPGC_E_FORGED : CAPGC_E_NOT_AN_OBJECT));
  }
  CHECK(capgc_region_get(h, keep, 0, &a));
  for (int bit = 0; bit < 128; bit++) {
    capgc_ref_t f = a;
    if (bit < 64) f.addr ^= 1ull << bit; else f.meta ^= 1ull << (bit - 64);
    capgc_status_t s = capgc_read_u64(h, f, 0, &v);
    if (checked(c)) {
      ASSERT(s == CAPGC_E_FORGED);
    } else if (bit < 64) {
      ASSERT(s == CAPGC_E_NOT_AN_OBJECT || s == CAPGC_OK); /* NOT CAUGHT if it lands on another object */
    } else {
      ASSERT(s == CAPGC_OK); /* the unchecked modes carry no authentication */
    }
  }
  still_usable(h);

  /* A reference kept across a collection. */
  CHECK(capgc_region_get(h, keep, 0, &a));
  CHECK(capgc_collect(h, NULL));
  if (checked(c)) {
    EXPECT(capgc_read_u64(h, a, data, &v), CAPGC_E_STALE);
    EXPECT(capgc_set_ref(h, a, 0, capgc_null()), CAPGC_E_STALE);
    capgc_handle_t stale_root;
    EXPECT(capgc_handle_new(h, a, &stale_root), CAPGC_E_STALE);
  } /* NOT CAUGHT in Native/P128: it still names the (moved-from) address. */
  still_usable(h);

  /* A reference to a freed cell after reuse (MarkSweep reuses at once). */
  CHECK(capgc_alloc(h, g_node, &b));
  CHECK(capgc_write_u64(h, b, data, 0xbeef));
  capgc_ref_t freed = b;
  CHECK(capgc_collect(h, NULL));
  capgc_ref_t fresh;
  capgc_region_t scratch;
  CHECK(capgc_region_new(h, 4096, &scratch));
  for (uint64_t i = 0; i < 4096; i++) { /* until the freed cell is reused */
    CHECK(capgc_slot_alloc(h, scratch, i, g_node));
    CHECK(capgc_region_get(h, scratch, i, &fresh));
    if (fresh.addr == freed.addr) break;
  }
  CHECK(capgc_write_u64(h, fresh, data, 0xf00d));
  if (c->plan == CAPGC_PLAN_MARKSWEEP) ASSERT(fresh.addr == freed.addr);
  if (checked(c)) {
    EXPECT(capgc_read_u64(h, freed, data, &v), CAPGC_E_STALE);
    EXPECT(capgc_write_u64(h, freed, data, 1), CAPGC_E_STALE);
  } else if (c->plan == CAPGC_PLAN_MARKSWEEP) {
    CHECK(capgc_read_u64(h, freed, data, &v)); /* NOT CAUGHT: the new occupant */
    ASSERT(v == 0xf00d);
  }
  CHECK(capgc_read_u64(h, fresh, data, &v));
  ASSERT(v == 0xf00d);
  CHECK(capgc_region_free(h, scratch));
  still_usable(h);

  /* A reference from another heap. */
  capgc_heap_t *other = heap_for(c, 8 << 20);
  capgc_type_t onode;
  CHECK(capgc_type_record(other, 2, 16, &onode));
  capgc_ref_t theirs;
  CHECK(capgc_alloc(other, onode, &theirs));
  EXPECT(capgc_read_u64(h, theirs, data, &v), checked(c) ? CAPGC_E_FORGED : CAPGC_E_NOT_AN_OBJECT);
  EXPECT(capgc_alloc(h, onode, &out), CAPGC_E_WRONG_HEAP);
  ASSERT(strstr(capgc_last_error(), "another heap") != NULL);
  EXPECT(capgc_alloc_array(h, onode, 2, &out), CAPGC_E_WRONG_HEAP);
  capgc_handle_t oh;
  CHECK(capgc_handle_new(other, theirs, &oh));
  EXPECT(capgc_handle_get(h, oh, &out), CAPGC_E_WRONG_HEAP);
  CHECK(capgc_handle_get(other, oh, &theirs));
  capgc_heap_free(other);
  EXPECT(capgc_alloc(h, onode, &out), CAPGC_E_WRONG_HEAP); /* a freed heap's, too */
  still_usable(h);

  /* A widened permission view. */
  CHECK(capgc_region_get(h, keep, 0, &a));
  capgc_ref_t ro;
  CHECK(capgc_restrict(h, a, CAPGC_PERM_READ_ONLY, &ro));
  if (checked(c)) {
    EXPECT(capgc_write_u64(h, ro, data, 1), CAPGC_E_PERMISSION);
    capgc_ref_t wide = ro;
    wide.meta |= (uint64_t)(CAPGC_PERM_STORE | CAPGC_PERM_STORE_REF) << 42;
    EXPECT(capgc_write_u64(h, wide, data, 1), CAPGC_E_FORGED);
    EXPECT(capgc_restrict(h, ro, 63, &out), CAPGC_OK); /* restrict never widens: */
    EXPECT(capgc_write_u64(h, out, data, 1), CAPGC_E_PERMISSION);
  } /* NOT CAUGHT in Native/P128: they carry no permissions. */
  still_usable(h);

  /* Closed scopes and released persistents. */
  capgc_scope_t outer, inner;
  CHECK(capgc_scope_open(h, &outer));
  CHECK(capgc_scope_open(h, &inner));
  EXPECT(capgc_scope_close(h, outer), CAPGC_E_SCOPE_MISMATCH);
  CHECK(capgc_scope_close(h, inner));
  CHECK(capgc_scope_close(h, outer));
  EXPECT(capgc_scope_close(h, outer), CAPGC_E_SCOPE_CLOSED);
  capgc_scope_t junk = {{0xfffffff0u, 2}}; /* a heap identity none has */
  EXPECT(capgc_scope_close(h, junk), CAPGC_E_WRONG_HEAP);
  CHECK(capgc_region_get(h, keep, 0, &a));
  capgc_persistent_t p;
  CHECK(capgc_persistent_new(h, a, &p));
  CHECK(capgc_persistent_release(h, p));
  EXPECT(capgc_persistent_get(h, p, &out), CAPGC_E_STALE_HANDLE);
  EXPECT(capgc_persistent_release(h, p), CAPGC_E_STALE_HANDLE);
  capgc_handle_t hd;
  CHECK(capgc_scope_open(h, &inner));
  CHECK(capgc_handle_new(h, a, &hd));
  CHECK(capgc_scope_close(h, inner));
  EXPECT(capgc_handle_get(h, hd, &out), CAPGC_E_STALE_HANDLE);
  EXPECT(capgc_region_get(h, keep, 8, &out), CAPGC_E_OUT_OF_RANGE);
  capgc_region_t gone;
  CHECK(capgc_region_new(h, 2, &gone));
  CHECK(capgc_region_free(h, gone));
  EXPECT(capgc_region_get(h, gone, 0, &out), CAPGC_E_INVALID_REGION);
  still_usable(h);

  /* A trace callback that lies. */
  liar_t liar = {0, 0};
  capgc_type_t lt;
  CHECK(capgc_type_custom(h, 2 * g_slot, lying_trace, &liar, &lt));
  CHECK(capgc_alloc(h, lt, &a));
  CHECK(capgc_region_set(h, keep, 3, a));
  CHECK(capgc_alloc(h, g_node, &b));
  CHECK(capgc_region_get(h, keep, 3, &a));
  CHECK(capgc_set_ref(h, a, 0, b));
  EXPECT(capgc_set_ref(h, a, g_slot, b), CAPGC_E_NOT_A_REF_SLOT);
  CHECK(capgc_collect(h, NULL));
  verified(h);
  ASSERT(liar.calls > 0);
  CHECK(capgc_region_get(h, keep, 3, &a));
  CHECK(capgc_get_ref(h, a, 0, &b)); /* reported, so kept alive */
  CHECK(capgc_read_u64(h, b, data, &v));
  liar.hide = 1; /* offset 0 is no longer a slot, for the mutator too */
  EXPECT(capgc_get_ref(h, a, 0, &out), CAPGC_E_NOT_A_REF_SLOT);
  EXPECT(capgc_set_ref(h, a, 0, b), CAPGC_E_NOT_A_REF_SLOT);
  CHECK(capgc_collect(h, NULL)); /* what offset 0 held is unreachable now */
  verified(h);
  liar.hide = 0; /* it is a slot again, but what it held was not kept: */
  CHECK(capgc_region_get(h, keep, 3, &a));
  if (checked(c)) {
    EXPECT(capgc_get_ref(h, a, 0, &out), CAPGC_E_UNTAGGED); /* the scan stripped its tag */
  } /* NOT CAUGHT in Native/P128: the slot holds the old address. */
  CHECK(capgc_set_ref(h, a, 0, capgc_null()));
  CHECK(capgc_region_set_data(h, keep, 3, 0));
  still_usable(h);

  /* A trace callback that re-enters the heap. */
  reenter_t re = {h, CAPGC_OK, 0};
  capgc_type_t rt;
  CHECK(capgc_type_custom(h, 2 * g_slot, reentering_trace, &re, &rt));
  CHECK(capgc_alloc(h, rt, &a));
  CHECK(capgc_region_set(h, keep, 1, a));
  CHECK(capgc_collect(h, NULL));
  ASSERT(re.calls > 0 && re.got == CAPGC_E_BUSY);
  CHECK(capgc_region_set_data(h, keep, 1, 0));
  still_usable(h);

  /* Two threads on one heap. */
  race_t race = {h, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, CAPGC_OK};
  capgc_type_t bt;
  CHECK(capgc_type_custom(h, 2 * g_slot, blocking_trace, &race, &bt));
  CHECK(capgc_alloc(h, bt, &a));
  CHECK(capgc_region_set(h, keep, 2, a));
  pthread_t t;
  ASSERT(pthread_create(&t, NULL, second_thread, &race) == 0);
  CHECK(capgc_collect(h, NULL));
  ASSERT(pthread_join(t, NULL) == 0);
  ASSERT(race.tried && race.got == CAPGC_E_BUSY);
  CHECK(capgc_region_set_data(h, keep, 2, 0));
  still_usable(h);

  capgc_heap_free(h);
}

int main(void) {
  for (size_t i = 0; i < NCONFIGS; i++) run(&CONFIGS[i]);
  printf("misuse: %zu configurations ok\n", NCONFIGS);
  return 0;
}
