/* Every exported function, in every mode and plan where it applies. */
#include "common.h"

#include <math.h>

/* A tagged union: word 0 says whether offset 16 holds a reference. Also
 * lies: reports offsets past the object, misaligned and in the padding,
 * which the heap must ignore. */
static int g_traced;
static void union_trace(void *ctx, const capgc_view_t *view, capgc_visitor_t *visitor) {
  uint64_t tag = 0;
  (void)ctx;
  g_traced++;
  if (capgc_view_read_u64(view, 0, &tag) != CAPGC_OK) exit(2);
  uint8_t b[8];
  uint64_t len = 0;
  if (capgc_view_len(view, &len) != CAPGC_OK || len != 48) exit(4);
  if (capgc_view_read(view, len, b, 1) != CAPGC_E_BOUNDS) exit(3);
  if (tag == 1 && capgc_visit(visitor, 16) != CAPGC_OK) exit(5);
  /* Not slots: ignored (still CAPGC_OK). */
  if (capgc_visit(visitor, 1u << 20) != CAPGC_OK) exit(6);
  capgc_visit(visitor, 7);
  capgc_visit(visitor, 48); /* past the end */
}

static void run(const config_t *c) {
  g_where = c->name;
  capgc_heap_t *h = heap_for(c, 32 << 20);
  uint32_t mode = 99;
  uint64_t slot = 0;
  CHECK(capgc_heap_mode(h, &mode, &slot));
  ASSERT(mode == c->mode && (slot == 8 || slot == 16));
  ASSERT(slot == (c->mode == CAPGC_MODE_NATIVE ? 8u : 16u));

  /* Types of every kind. */
  capgc_type_t node, fixed, refs, bytes, uni;
  CHECK(capgc_type_record(h, 2, 16, &node));
  uint64_t offs[2] = {0, slot};
  CHECK(capgc_type_fixed(h, 2 * slot + 8, offs, 2, &fixed));
  CHECK(capgc_type_ref_array(h, &refs));
  CHECK(capgc_type_byte_array(h, &bytes));
  CHECK(capgc_type_custom(h, 48, union_trace, NULL, &uni));

  /* Roots: a scope, handles, a persistent, a region. */
  capgc_scope_t sc;
  CHECK(capgc_scope_open(h, &sc));
  capgc_ref_t a, b, arr, blob, u;
  CHECK(capgc_alloc(h, node, &a));
  capgc_handle_t ha;
  CHECK(capgc_handle_new(h, a, &ha));
  CHECK(capgc_alloc(h, fixed, &b));
  capgc_persistent_t pb;
  CHECK(capgc_persistent_new(h, b, &pb));
  CHECK(capgc_alloc_array(h, refs, 10, &arr));
  capgc_region_t rr;
  CHECK(capgc_region_new(h, 8, &rr));
  uint64_t rlen = 0;
  CHECK(capgc_region_len(h, rr, &rlen));
  ASSERT(rlen == 8);
  CHECK(capgc_region_set(h, rr, 0, arr));
  CHECK(capgc_alloc_array(h, bytes, 100, &blob));
  CHECK(capgc_region_set(h, rr, 1, blob));
  CHECK(capgc_alloc(h, uni, &u));
  CHECK(capgc_region_set(h, rr, 2, u));

  /* Re-read everything after the allocations (a safepoint each). */
  CHECK(capgc_handle_get(h, ha, &a));
  CHECK(capgc_persistent_get(h, pb, &b));
  CHECK(capgc_region_get(h, rr, 0, &arr));
  CHECK(capgc_region_get(h, rr, 1, &blob));
  CHECK(capgc_region_get(h, rr, 2, &u));

  /* Scalars of every width, and bytes. */
  uint64_t data = 2 * slot;
  CHECK(capgc_write_u8(h, a, data, 0xab));
  CHECK(capgc_write_u32(h, a, data + 4, 0xdeadbeef));
  CHECK(capgc_write_u64(h, a, data + 8, 42));
  uint8_t v8;
  uint32_t v32;
  uint64_t v64;
  CHECK(capgc_read_u8(h, a, data, &v8));
  CHECK(capgc_read_u32(h, a, data + 4, &v32));
  CHECK(capgc_read_u64(h, a, data + 8, &v64));
  ASSERT(v8 == 0xab && v32 == 0xdeadbeef && v64 == 42);
  CHECK(capgc_write_f64(h, b, 2 * slot, 3.25));
  double f;
  CHECK(capgc_read_f64(h, b, 2 * slot, &f));
  ASSERT(f == 3.25);
  const char msg[] = "hello, capgc";
  char back[sizeof msg];
  CHECK(capgc_write_bytes(h, blob, 50, msg, sizeof msg));
  CHECK(capgc_read_bytes(h, blob, 50, back, sizeof back));
  ASSERT(memcmp(msg, back, sizeof msg) == 0);

  /* Reference fields. */
  CHECK(capgc_set_ref(h, a, 0, b));
  CHECK(capgc_set_ref(h, a, slot, capgc_null()));
  CHECK(capgc_set_ref(h, arr, 9 * slot, a));
  capgc_ref_t got;
  CHECK(capgc_get_ref(h, a, 0, &got));
  ASSERT(got.addr == b.addr);
  CHECK(capgc_get_ref(h, a, slot, &got));
  ASSERT(capgc_is_null(got));
  EXPECT(capgc_get_ref(h, a, data, &got), CAPGC_E_NOT_A_REF_SLOT);
  /* The custom type's slot follows its tag word; lies are ignored. */
  CHECK(capgc_write_u64(h, u, 0, 1));
  CHECK(capgc_set_ref(h, u, 16, a));
  EXPECT(capgc_set_ref(h, u, 48, a), CAPGC_E_NOT_A_REF_SLOT);
  EXPECT(capgc_set_ref(h, u, 7, a), CAPGC_E_NOT_A_REF_SLOT);
  ASSERT(g_traced > 0);

  /* Queries. */
  capgc_type_t t;
  uint64_t n;
  CHECK(capgc_type_of(h, arr, &t));
  ASSERT(t == refs);
  CHECK(capgc_array_len(h, arr, &n));
  ASSERT(n == 10);
  CHECK(capgc_array_len(h, blob, &n));
  ASSERT(n == 100);
  CHECK(capgc_payload_len(h, a, &n));
  ASSERT(n == 2 * slot + 16);

  /* Narrowing: a read-only view refuses stores (SoftCheri). */
  capgc_ref_t ro;
  CHECK(capgc_restrict(h, a, CAPGC_PERM_READ_ONLY, &ro));
  CHECK(capgc_read_u64(h, ro, data + 8, &v64));
  if (c->mode == CAPGC_MODE_SOFTCHERI) {
    EXPECT(capgc_write_u64(h, ro, data + 8, 1), CAPGC_E_PERMISSION);
    EXPECT(capgc_pin(h, ro), CAPGC_E_PERMISSION);
  }

  /* Pinning. */
  bool pinned = true;
  CHECK(capgc_pin(h, a));
  CHECK(capgc_is_pinned(h, a, &pinned));
  ASSERT(pinned);
  capgc_ref_t pin2;
  CHECK(capgc_alloc_pinned(h, node, &pin2));
  CHECK(capgc_is_pinned(h, pin2, &pinned));
  ASSERT(pinned);
  CHECK(capgc_handle_get(h, ha, &a));
  uint64_t at = a.addr;

  /* Direct payload pointers: unchecked modes only. */
  void *p = NULL;
  CHECK(capgc_handle_get(h, ha, &a));
  if (c->mode == CAPGC_MODE_SOFTCHERI) {
    EXPECT(capgc_payload(h, a, &p), CAPGC_E_CHECKED_MODE);
  } else {
    CHECK(capgc_payload(h, a, &p));
    ASSERT(*(uint64_t *)((char *)p + data + 8) == 42);
  }

  /* Weak references, ephemerons, finalizers. */
  capgc_ref_t dead, key, val;
  CHECK(capgc_alloc(h, node, &dead));
  capgc_weak_t wd, wa;
  CHECK(capgc_weak_new(h, dead, &wd));
  CHECK(capgc_handle_get(h, ha, &a));
  CHECK(capgc_weak_new(h, a, &wa));
  CHECK(capgc_finalizer_register(h, dead, 77, NULL));
  capgc_finalizer_t fa;
  CHECK(capgc_finalizer_register(h, a, 78, &fa));
  CHECK(capgc_finalizer_unregister(h, fa));
  CHECK(capgc_alloc(h, node, &key));
  capgc_handle_t hk;
  CHECK(capgc_handle_new(h, key, &hk));
  CHECK(capgc_alloc(h, node, &val));
  CHECK(capgc_handle_get(h, hk, &key));
  capgc_ephemeron_t e;
  CHECK(capgc_ephemeron_new(h, key, val, &e));

  /* Collections. */
  capgc_collection_t col;
  CHECK(capgc_collect_minor(h, &col));
  CHECK(capgc_collect(h, &col));
  ASSERT(col.number >= 2);
  verified(h);
  CHECK(capgc_handle_get(h, ha, &a));
  ASSERT(a.addr == at); /* pinned: never moved */
  CHECK(capgc_read_u64(h, a, data + 8, &v64));
  ASSERT(v64 == 42);
  CHECK(capgc_weak_get(h, wd, &got));
  ASSERT(capgc_is_null(got));
  CHECK(capgc_weak_get(h, wa, &got));
  ASSERT(got.addr == a.addr);
  capgc_ref_t k2, v2;
  CHECK(capgc_ephemeron_get(h, e, &k2, &v2));
  ASSERT(!capgc_is_null(v2));
  uint64_t tokens[4];
  size_t count = 0, pending = 9;
  CHECK(capgc_finalized_take(h, tokens, 4, &count, &pending));
  ASSERT(count == 1 && tokens[0] == 77 && pending == 0);
  CHECK(capgc_weak_release(h, wa));
  CHECK(capgc_ephemeron_release(h, e));
  CHECK(capgc_unpin(h, a));

  /* The slot API: references never leave the heap. */
  capgc_region_t st;
  CHECK(capgc_region_new(h, 4, &st));
  CHECK(capgc_slot_alloc(h, st, 0, node));
  CHECK(capgc_slot_alloc(h, st, 1, node));
  CHECK(capgc_slot_write_u64(h, st, 1, data + 8, 1234));
  CHECK(capgc_slot_store_field(h, st, 0, 0, 1));
  CHECK(capgc_slot_clear(h, st, 1));
  bool isnull = false;
  CHECK(capgc_slot_is_null(h, st, 1, &isnull));
  ASSERT(isnull);
  CHECK(capgc_collect(h, NULL));
  CHECK(capgc_slot_load_field(h, st, 2, 0, 0));
  CHECK(capgc_slot_read_u64(h, st, 2, data + 8, &v64));
  ASSERT(v64 == 1234);
  CHECK(capgc_slot_copy(h, st, 3, 2));
  CHECK(capgc_slot_alloc_array(h, st, 1, bytes, 64));
  CHECK(capgc_region_set_data(h, st, 3, 99));
  bool isref = true;
  CHECK(capgc_region_is_ref(h, st, 3, &isref));
  ASSERT(!isref);
  CHECK(capgc_region_free(h, st));

  /* Stats, the log line, handles released with their scope. */
  capgc_stats_t s;
  CHECK(capgc_heap_stats(h, &s));
  ASSERT(s.collections >= 3 && s.objects_allocated >= 10 && s.last.number == s.collections);
  char line[512];
  size_t len = 0;
  CHECK(capgc_log_line(h, line, sizeof line, &len));
  ASSERT(len == strlen(line) && strncmp(line, "[capgc gc #", 11) == 0);
  EXPECT(capgc_log_line(h, line, 4, &len), CAPGC_E_BUFFER_TOO_SMALL);
  CHECK(capgc_handle_set(h, ha, capgc_null()));
  CHECK(capgc_persistent_set(h, pb, capgc_null()));
  CHECK(capgc_persistent_release(h, pb));
  CHECK(capgc_scope_close(h, sc));
  EXPECT(capgc_handle_get(h, ha, &a), CAPGC_E_STALE_HANDLE);
  CHECK(capgc_region_free(h, rr));
  CHECK(capgc_collect(h, NULL));
  verified(h);
  capgc_heap_free(h);
}

int main(void) {
  /* Library-wide functions. */
  ASSERT(strcmp(capgc_status_name(CAPGC_E_STALE), "CAPGC_E_STALE") == 0);
  ASSERT(strcmp(capgc_status_name(12345), "CAPGC_UNKNOWN") == 0);
  ASSERT(capgc_last_error() != NULL);
  ASSERT(capgc_is_null(capgc_null()));
  capgc_config_t d = capgc_config_default();
  ASSERT(d.mode == CAPGC_MODE_SOFTCHERI && d.plan == CAPGC_PLAN_GENERATIONAL);
  capgc_heap_t *h = NULL;
  CHECK(capgc_heap_new(NULL, &h)); /* NULL config: the defaults */
  capgc_heap_free(h);
  capgc_heap_free(NULL);
  /* The two presets: latency (the default) and throughput. */
  ASSERT(d.pause_goal_us == 1000);
  capgc_config_t t = capgc_config_throughput();
  ASSERT(t.pause_goal_us == 0 && t.nursery_size == 16u << 20);
  ASSERT(t.mode == d.mode && t.plan == d.plan && t.limit == d.limit);
  h = NULL;
  CHECK(capgc_heap_new(&t, &h));
  verified(h);
  capgc_heap_free(h);
  for (size_t i = 0; i < NCONFIGS; i++) run(&CONFIGS[i]);
  printf("api: %zu configurations ok\n", NCONFIGS);
  return 0;
}
