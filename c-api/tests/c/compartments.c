/* Compartments through the C ABI, in every mode and plan: sealed
 * references stored, loaded and unsealed; the pair statistics; independent
 * collections that move objects and keep sealed references valid; the
 * whole-heap collection reclaiming a cycle through two compartments;
 * teardown; and the attacks, each refused with its own status and followed
 * by a split-heap verification that finds nothing. */
#include "common.h"

static uint64_t g_slot; /* reference-slot size */
static uint64_t g_data; /* the data word of a node (after its two slots) */
static int g_checked;   /* SoftCheri: every capability check is made */

/* One compartment: its token, its node type (two reference slots, eight
 * data bytes) and a root region. */
typedef struct {
  capgc_compartment_t id;
  capgc_type_t node;
  capgc_region_t roots;
} comp_t;

enum { ROOTS = 64, N = 20 };

/* Refused with `checked` in SoftCheri and `unchecked` in Native and P128,
 * which make no capability checks: there a reference's bits are its
 * address, and an access through a foreign one meets the region's bounds. */
#define REFUSED(expr, checked, unchecked) EXPECT(expr, g_checked ? (checked) : (unchecked))

static capgc_config_t config_for(const config_t *c) {
  capgc_config_t cfg = capgc_config_default();
  cfg.mode = c->mode;
  cfg.format = c->format;
  cfg.plan = c->plan;
  cfg.limit = 16 << 20;
  cfg.initial_size = 1 << 20;
  cfg.nursery_size = 256 << 10;
  cfg.pause_goal_us = 0;
  return cfg;
}

static comp_t comp_new(capgc_split_heap_t *s, const capgc_config_t *cfg) {
  comp_t k;
  CHECK(capgc_compartment_new(s, cfg, &k.id));
  CHECK(capgc_compartment_type_record(s, k.id, 2, 8, &k.node));
  CHECK(capgc_compartment_region_new(s, k.id, ROOTS, &k.roots));
  return k;
}

/* The reference in root slot `at` of `k` (valid until k's next safepoint). */
static capgc_ref_t root(capgc_split_heap_t *s, const comp_t *k, uint64_t at) {
  capgc_ref_t r;
  CHECK(capgc_compartment_region_get(s, k->id, k->roots, at, &r));
  return r;
}

/* A new node of `k` holding `value`, rooted in slot `at`. */
static void rooted(capgc_split_heap_t *s, const comp_t *k, uint64_t at, uint64_t value) {
  capgc_ref_t r;
  CHECK(capgc_compartment_alloc(s, k->id, k->node, &r));
  CHECK(capgc_compartment_write_u64(s, k->id, r, g_data, value));
  CHECK(capgc_compartment_region_set(s, k->id, k->roots, at, r));
}

static uint64_t data_of(capgc_split_heap_t *s, const comp_t *k, capgc_ref_t r) {
  uint64_t v = 0;
  CHECK(capgc_compartment_read_u64(s, k->id, r, g_data, &v));
  return v;
}

/* The split heap verifies: no violation in any compartment or between. */
static void split_verified(capgc_split_heap_t *s) {
  capgc_compartment_violation_t v[4];
  size_t n = 99;
  CHECK(capgc_split_heap_verify(s, v, 4, &n));
  if (n != 0) {
    fprintf(stderr, "[%s] %zu violations; first: compartment %#llx I%u kind %u at %#llx -> %#llx\n",
            g_where, n, (unsigned long long)v[0].compartment, v[0].violation.invariant,
            v[0].violation.kind, (unsigned long long)v[0].violation.addr,
            (unsigned long long)v[0].violation.target);
    exit(1);
  }
}

static capgc_pair_stats_t pair(capgc_split_heap_t *s, const comp_t *from, const comp_t *to) {
  capgc_pair_stats_t p;
  CHECK(capgc_split_heap_pair_stats(s, from->id, to->id, &p));
  return p;
}

static int same_bits(const capgc_sealed_t *x, const capgc_sealed_t *y) {
  return memcmp(x, y, sizeof *x) == 0;
}

/* b's object, sealed for a, stored, loaded, unsealed by its owner only;
 * the counts of every ordered pair. Leaves b.roots[0] = the secret (42),
 * a.roots[0] = its holder (slot 1 = the sealed reference), a.roots[1] and
 * k.roots[0] = the sealed reference; returns it. */
static capgc_sealed_t seal_store_unseal(capgc_split_heap_t *s, comp_t a, comp_t b, comp_t k) {
  rooted(s, &b, 0, 42);
  rooted(s, &a, 0, 0);
  capgc_sealed_t sl, again, back;
  CHECK(capgc_seal(s, b.id, root(s, &b, 0), a.id, &sl));
  CHECK(capgc_seal(s, b.id, root(s, &b, 0), a.id, &again));
  ASSERT(same_bits(&sl, &again)); /* one export per object */
  uint64_t n = 99;
  CHECK(capgc_compartment_exports(s, b.id, &n));
  ASSERT(n == 1);
  CHECK(capgc_compartment_exports(s, a.id, &n));
  ASSERT(n == 0);
  capgc_compartment_t owner = 0;
  CHECK(capgc_sealed_owner(s, &sl, &owner));
  ASSERT(owner == b.id);

  capgc_ref_t holder = root(s, &a, 0), got;
  CHECK(capgc_set_sealed(s, a.id, holder, g_slot, &sl));
  CHECK(capgc_get_sealed(s, a.id, holder, g_slot, &back));
  ASSERT(same_bits(&back, &sl));
  uint64_t imported = 9;
  CHECK(capgc_compartment_imports(s, a.id, b.id, &imported));
  ASSERT(imported == 1); /* a's import table: the one sealed slot */
  CHECK(capgc_compartment_imports(s, b.id, a.id, &imported));
  ASSERT(imported == 0);
  EXPECT(capgc_unseal(s, a.id, &back, &got), CAPGC_E_UNSEAL_DENIED);
  CHECK(capgc_unseal(s, b.id, &back, &got));
  ASSERT(data_of(s, &b, got) == 42);
  /* A sealed slot is no object; an ordinary one holds no sealed reference. */
  EXPECT(capgc_compartment_get_ref(s, a.id, holder, g_slot, &got), CAPGC_E_SEALED_REFERENCE);
  EXPECT(capgc_get_sealed(s, a.id, holder, 0, &back), CAPGC_E_NOT_SEALED);

  /* Root regions hold sealed references too. */
  CHECK(capgc_region_set_sealed(s, a.id, a.roots, 1, &sl));
  CHECK(capgc_region_get_sealed(s, a.id, a.roots, 1, &back));
  ASSERT(same_bits(&back, &sl));
  EXPECT(capgc_compartment_region_get(s, a.id, a.roots, 1, &got), CAPGC_E_SEALED_REFERENCE);
  EXPECT(capgc_region_get_sealed(s, a.id, a.roots, 0, &back), CAPGC_E_NOT_SEALED);
  /* Through k the token records k, and designates the same export. */
  CHECK(capgc_region_set_sealed(s, k.id, k.roots, 0, &sl));
  CHECK(capgc_region_get_sealed(s, k.id, k.roots, 0, &back));
  bool same = false;
  CHECK(capgc_sealed_same(s, &back, &sl, &same));
  ASSERT(same);
  CHECK(capgc_unseal(s, b.id, &back, &got));

  /* The counts: (from, to) with to the owner. */
  capgc_pair_stats_t ab = pair(s, &a, &b), ba = pair(s, &b, &a), kb = pair(s, &k, &b);
  ASSERT(ab.created == 2 && ab.unsealed == 1 && ab.stored == 2 && ab.refused == 1);
  ASSERT(ba.created == 0 && ba.unsealed == 0 && ba.stored == 0 && ba.refused == 0);
  ASSERT(kb.created == 0 && kb.unsealed == 1 && kb.stored == 1 && kb.refused == 0);
  char table[1024];
  size_t len = 0;
  CHECK(capgc_split_heap_report(s, table, sizeof table, &len));
  ASSERT(len == strlen(table) && strstr(table, "0 -> 1") && strstr(table, "2 -> 1"));
  EXPECT(capgc_split_heap_report(s, table, 4, &len), CAPGC_E_BUFFER_TOO_SMALL);
  split_verified(s);
  return sl;
}

/* Independent collections: b moves the exported objects (its export
 * entries are roots, rewritten), a moves the holders (sealed references
 * copied bit for bit); every sealed reference still opens to its object.
 * Leaves a.roots[2 .. 2+N) = holders, each with a sealed reference of b. */
static void independent_collections(capgc_split_heap_t *s, comp_t a, comp_t b, const config_t *c) {
  capgc_sealed_t sealed[N];
  uint64_t before[N];
  for (uint64_t i = 0; i < N; i++) rooted(s, &a, 2 + i, i);
  for (uint64_t i = 0; i < N; i++) {
    capgc_ref_t o; /* b's object: only the export table will refer to it */
    CHECK(capgc_compartment_alloc(s, b.id, b.node, &o));
    CHECK(capgc_compartment_write_u64(s, b.id, o, g_data, 1000 + i));
    CHECK(capgc_seal(s, b.id, o, a.id, &sealed[i]));
    CHECK(capgc_set_sealed(s, a.id, root(s, &a, 2 + i), g_slot, &sealed[i]));
  }
  capgc_ref_t old;
  for (uint64_t i = 0; i < N; i++) {
    CHECK(capgc_unseal(s, b.id, &sealed[i], &old));
    before[i] = old.addr;
  }
  capgc_collection_t col;
  CHECK(capgc_compartment_collect(s, b.id, &col));
  ASSERT(col.number == 1 && col.minor == 0);
  capgc_ref_t now;
  CHECK(capgc_unseal(s, b.id, &sealed[0], &now));
  if (c->plan != CAPGC_PLAN_MARKSWEEP) ASSERT(now.addr != before[0]); /* moved */
  uint64_t v = 0;
  if (g_checked) EXPECT(capgc_compartment_read_u64(s, b.id, old, g_data, &v), CAPGC_E_STALE);
  CHECK(capgc_compartment_collect(s, a.id, NULL));
  CHECK(capgc_compartment_collect(s, b.id, NULL));
  split_verified(s);
  for (uint64_t i = 0; i < N; i++) {
    capgc_sealed_t back;
    CHECK(capgc_get_sealed(s, a.id, root(s, &a, 2 + i), g_slot, &back));
    ASSERT(same_bits(&back, &sealed[i]));
    CHECK(capgc_unseal(s, b.id, &back, &now));
    ASSERT(data_of(s, &b, now) == 1000 + i);
  }
  capgc_stats_t st;
  CHECK(capgc_compartment_stats(s, b.id, &st));
  ASSERT(st.collections == 2 && st.last.number == 2 && st.objects_allocated >= N + 1);
  uint64_t n = 0;
  CHECK(capgc_compartment_exports(s, b.id, &n));
  ASSERT(n == N + 1);
}

/* A cycle x (in a) <-> y (in b) through sealed references, nothing else
 * holding either: independent collections keep it (each side's exports
 * are roots); the whole-heap collection reclaims it (the weak references
 * go null, the exports are released, the sealed references revoked). */
static void whole_heap_cycle(capgc_split_heap_t *s, comp_t a, comp_t b) {
  rooted(s, &a, 30, 1);
  rooted(s, &b, 1, 2);
  capgc_sealed_t sx, sy;
  CHECK(capgc_seal(s, a.id, root(s, &a, 30), b.id, &sx));
  CHECK(capgc_seal(s, b.id, root(s, &b, 1), a.id, &sy));
  CHECK(capgc_set_sealed(s, a.id, root(s, &a, 30), 0, &sy));
  CHECK(capgc_set_sealed(s, b.id, root(s, &b, 1), 0, &sx));
  capgc_weak_t wx, wy;
  CHECK(capgc_compartment_weak_new(s, a.id, root(s, &a, 30), &wx));
  CHECK(capgc_compartment_weak_new(s, b.id, root(s, &b, 1), &wy));
  CHECK(capgc_compartment_region_set(s, a.id, a.roots, 30, capgc_null()));
  CHECK(capgc_compartment_region_set(s, b.id, b.roots, 1, capgc_null()));
  capgc_ref_t got;
  for (int i = 0; i < 2; i++) {
    CHECK(capgc_compartment_collect(s, a.id, NULL));
    CHECK(capgc_compartment_collect(s, b.id, NULL));
  }
  CHECK(capgc_compartment_weak_get(s, a.id, wx, &got));
  ASSERT(!capgc_is_null(got));
  CHECK(capgc_compartment_weak_get(s, b.id, wy, &got));
  ASSERT(!capgc_is_null(got));
  uint64_t na = 0, nb = 0;
  CHECK(capgc_compartment_exports(s, a.id, &na));
  CHECK(capgc_compartment_exports(s, b.id, &nb));
  ASSERT(na == 1 && nb == N + 2);

  capgc_whole_heap_stats_t all;
  CHECK(capgc_split_heap_collect(s, &all));
  ASSERT(all.exports_released == 2 && all.exports_live == N + 1 && all.compartments == 3);
  ASSERT(all.pause_ns >= all.marking_ns);
  CHECK(capgc_compartment_weak_get(s, a.id, wx, &got));
  ASSERT(capgc_is_null(got));
  CHECK(capgc_compartment_weak_get(s, b.id, wy, &got));
  ASSERT(capgc_is_null(got));
  CHECK(capgc_compartment_exports(s, a.id, &na));
  CHECK(capgc_compartment_exports(s, b.id, &nb));
  ASSERT(na == 0 && nb == N + 1);
  EXPECT(capgc_unseal(s, a.id, &sx, &got), CAPGC_E_SEALED_REVOKED);
  EXPECT(capgc_unseal(s, b.id, &sy, &got), CAPGC_E_SEALED_REVOKED);
  CHECK(capgc_compartment_weak_release(s, a.id, wx));
  CHECK(capgc_compartment_weak_release(s, b.id, wy));
  split_verified(s);
}

/* An unsealed reference of b offered to a, everywhere a takes one, and
 * reads and writes through it in a: refused, counted, nothing stored. */
static void foreign_references(capgc_split_heap_t *s, comp_t a, comp_t b) {
  capgc_pair_stats_t p0 = pair(s, &a, &b);
  capgc_scope_t sc;
  CHECK(capgc_compartment_scope_open(s, a.id, &sc));
  capgc_ref_t f = root(s, &b, 0), mine = root(s, &a, 0), got;
  capgc_handle_t hd;
  capgc_persistent_t pp;
  capgc_weak_t wk;
  capgc_ephemeron_t eph;
  capgc_sealed_t out;
  const capgc_status_t cv = CAPGC_E_COMPARTMENT_VIOLATION;
  EXPECT(capgc_compartment_set_ref(s, a.id, mine, 0, f), cv);
  EXPECT(capgc_compartment_region_set(s, a.id, a.roots, 40, f), cv);
  EXPECT(capgc_compartment_handle_new(s, a.id, f, &hd), cv);
  EXPECT(capgc_compartment_persistent_new(s, a.id, f, &pp), cv);
  EXPECT(capgc_compartment_weak_new(s, a.id, f, &wk), cv);
  EXPECT(capgc_compartment_ephemeron_new(s, a.id, f, mine, &eph), cv);
  EXPECT(capgc_compartment_ephemeron_new(s, a.id, mine, f, &eph), cv);
  EXPECT(capgc_seal(s, a.id, f, b.id, &out), cv); /* a's own export of b's object */
  capgc_pair_stats_t p1 = pair(s, &a, &b);
  ASSERT(p1.refused == p0.refused + 8);
  /* Reads and writes through b's reference in a's heap. */
  uint64_t v = 0;
  REFUSED(capgc_compartment_read_u64(s, a.id, f, g_data, &v), cv, CAPGC_E_BOUNDS);
  REFUSED(capgc_compartment_write_u64(s, a.id, f, g_data, 7), cv, CAPGC_E_BOUNDS);
  REFUSED(capgc_compartment_get_ref(s, a.id, f, 0, &got), cv, CAPGC_E_BOUNDS);
  REFUSED(capgc_compartment_set_ref(s, a.id, f, 0, mine), cv, CAPGC_E_BOUNDS);
  ASSERT(data_of(s, &b, root(s, &b, 0)) == 42);
  /* Nothing was stored; a's own references still work in a. */
  CHECK(capgc_compartment_get_ref(s, a.id, mine, 0, &got));
  ASSERT(capgc_is_null(got));
  EXPECT(capgc_compartment_region_get(s, a.id, a.roots, 40, &got), CAPGC_OK);
  ASSERT(capgc_is_null(got));
  CHECK(capgc_compartment_handle_new(s, a.id, mine, &hd));
  CHECK(capgc_compartment_handle_get(s, a.id, hd, &got));
  ASSERT(got.addr == mine.addr);
  CHECK(capgc_compartment_persistent_new(s, a.id, mine, &pp));
  CHECK(capgc_compartment_persistent_get(s, a.id, pp, &got));
  ASSERT(got.addr == mine.addr);
  CHECK(capgc_compartment_ephemeron_new(s, a.id, mine, mine, &eph));
  capgc_ref_t ek, ev;
  CHECK(capgc_compartment_ephemeron_get(s, a.id, eph, &ek, &ev));
  ASSERT(ek.addr == mine.addr && ev.addr == mine.addr);
  /* a's tokens are a's: b refuses them. */
  EXPECT(capgc_compartment_handle_get(s, b.id, hd, &got), CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_compartment_persistent_get(s, b.id, pp, &got), CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_compartment_alloc(s, b.id, a.node, &got), CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_compartment_region_get(s, b.id, a.roots, 0, &got), CAPGC_E_WRONG_HEAP);
  CHECK(capgc_compartment_ephemeron_release(s, a.id, eph));
  CHECK(capgc_compartment_persistent_release(s, a.id, pp));
  CHECK(capgc_compartment_scope_close(s, a.id, sc));
  EXPECT(capgc_compartment_handle_get(s, a.id, hd, &got), CAPGC_E_STALE_HANDLE);
  CHECK(capgc_compartment_collect(s, a.id, NULL));
  split_verified(s);
}

/* Forged, altered and foreign tokens: sealed references with a bit
 * flipped, another split heap's sealed references, compartment ids and
 * references, garbage ids; a non-owner's unseal. */
static void forged_tokens(capgc_split_heap_t *s, const capgc_config_t *cfg, comp_t a, comp_t b,
                          comp_t k, capgc_sealed_t sl) {
  capgc_ref_t got, holder = root(s, &a, 0);
  /* Only the owner opens it. */
  EXPECT(capgc_unseal(s, a.id, &sl, &got), CAPGC_E_UNSEAL_DENIED);
  EXPECT(capgc_unseal(s, k.id, &sl, &got), CAPGC_E_UNSEAL_DENIED);
  ASSERT(pair(s, &k, &b).refused == 1);
  /* Every altered bit is refused, wherever the token is used. */
  const int bits[] = {0, 17, 33, 63};
  for (int i = 0; i < 4; i++) {
    for (int j = 0; j < 4; j++) {
      capgc_sealed_t x = sl;
      x.w[i] ^= 1ull << bits[j];
      EXPECT(capgc_unseal(s, b.id, &x, &got), CAPGC_E_FORGED);
      EXPECT(capgc_set_sealed(s, a.id, holder, 0, &x), CAPGC_E_FORGED);
      EXPECT(capgc_region_set_sealed(s, a.id, a.roots, 41, &x), CAPGC_E_FORGED);
    }
  }
  capgc_sealed_t zero = {{0, 0, 0, 0}};
  EXPECT(capgc_unseal(s, b.id, &zero, &got), CAPGC_E_FORGED);
  split_verified(s);

  /* Another split heap of the same mode: its tokens, ids and references. */
  capgc_split_heap_t *s2 = NULL;
  CHECK(capgc_split_heap_new(cfg, &s2));
  comp_t o1 = comp_new(s2, NULL), o2 = comp_new(s2, NULL);
  rooted(s2, &o1, 0, 5);
  capgc_sealed_t t2;
  CHECK(capgc_seal(s2, o1.id, root(s2, &o1, 0), o2.id, &t2));
  EXPECT(capgc_unseal(s, b.id, &t2, &got), CAPGC_E_FORGED);
  EXPECT(capgc_set_sealed(s, a.id, holder, 0, &t2), CAPGC_E_FORGED);
  EXPECT(capgc_unseal(s2, o1.id, &sl, &got), CAPGC_E_FORGED);
  EXPECT(capgc_compartment_alloc(s, o1.id, o1.node, &got), CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_unseal(s, o1.id, &sl, &got), CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_compartment_destroy(s, o1.id), CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_compartment_alloc(s2, a.id, a.node, &got), CAPGC_E_WRONG_HEAP);
  uint64_t v = 0;
  REFUSED(capgc_compartment_read_u64(s, a.id, root(s2, &o1, 0), g_data, &v), CAPGC_E_FORGED,
          CAPGC_E_NOT_AN_OBJECT);
  REFUSED(capgc_compartment_set_ref(s, a.id, holder, 0, root(s2, &o1, 0)), CAPGC_E_FORGED,
          CAPGC_E_NOT_AN_OBJECT);
  split_verified(s2);
  capgc_split_heap_free(s2);

  /* Garbage compartment ids: out of range, or no split heap's. */
  const capgc_compartment_t far = a.id + 100, garbage = 0xdeadbeefcafef00dull;
  EXPECT(capgc_compartment_alloc(s, far, a.node, &got), CAPGC_E_INVALID_COMPARTMENT);
  EXPECT(capgc_compartment_collect(s, far, NULL), CAPGC_E_INVALID_COMPARTMENT);
  EXPECT(capgc_compartment_destroy(s, far), CAPGC_E_INVALID_COMPARTMENT);
  EXPECT(capgc_unseal(s, far, &sl, &got), CAPGC_E_INVALID_COMPARTMENT);
  EXPECT(capgc_seal(s, b.id, root(s, &b, 0), far, &zero), CAPGC_E_INVALID_COMPARTMENT);
  EXPECT(capgc_compartment_alloc(s, garbage, a.node, &got), CAPGC_E_WRONG_HEAP);
  capgc_pair_stats_t p;
  EXPECT(capgc_split_heap_pair_stats(s, garbage, a.id, &p), CAPGC_E_WRONG_HEAP);
  EXPECT(capgc_split_heap_pair_stats(s, a.id, far, &p), CAPGC_E_INVALID_COMPARTMENT);
  /* Garbage tokens inside a compartment. */
  capgc_region_t junk = {{0x1234, 0x5678}};
  EXPECT(capgc_compartment_region_get(s, a.id, junk, 0, &got), CAPGC_E_WRONG_HEAP);
  capgc_ref_t fake = {holder.addr + 8, holder.meta};
  REFUSED(capgc_compartment_read_u64(s, a.id, fake, g_data, &v), CAPGC_E_FORGED, CAPGC_E_NOT_AN_OBJECT);
  if (g_checked) { /* the authentication: Native and P128 have none */
    fake = holder;
    fake.meta ^= 1;
    EXPECT(capgc_compartment_read_u64(s, a.id, fake, g_data, &v), CAPGC_E_FORGED);
  }
  split_verified(s);
}

/* Null pointers: every one is CAPGC_E_NULL_ARGUMENT, and nothing happens. */
static void null_pointers(capgc_split_heap_t *s, const capgc_config_t *cfg, comp_t a, comp_t b,
                          capgc_sealed_t sl) {
  capgc_compartment_t id;
  capgc_ref_t got, holder = root(s, &a, 0);
  size_t n;
  const capgc_status_t null = CAPGC_E_NULL_ARGUMENT;
  capgc_pair_stats_t p0 = pair(s, &a, &b);
  EXPECT(capgc_split_heap_new(cfg, NULL), null);
  EXPECT(capgc_split_heap_mode(NULL, NULL, NULL), null);
  EXPECT(capgc_compartment_new(NULL, NULL, &id), null);
  EXPECT(capgc_compartment_new(s, NULL, NULL), null);
  EXPECT(capgc_compartment_destroy(NULL, a.id), null);
  EXPECT(capgc_seal(s, b.id, root(s, &b, 0), a.id, NULL), null);
  EXPECT(capgc_seal(NULL, b.id, root(s, &b, 0), a.id, &sl), null);
  EXPECT(capgc_unseal(s, b.id, NULL, &got), null);
  EXPECT(capgc_unseal(s, b.id, &sl, NULL), null);
  EXPECT(capgc_set_sealed(s, a.id, holder, 0, NULL), null);
  EXPECT(capgc_get_sealed(s, a.id, holder, g_slot, NULL), null);
  EXPECT(capgc_region_set_sealed(s, a.id, a.roots, 1, NULL), null);
  EXPECT(capgc_region_get_sealed(s, a.id, a.roots, 1, NULL), null);
  EXPECT(capgc_sealed_owner(s, &sl, NULL), null);
  EXPECT(capgc_sealed_same(s, &sl, NULL, NULL), null);
  EXPECT(capgc_compartment_exports(s, a.id, NULL), null);
  EXPECT(capgc_compartment_alloc(s, a.id, a.node, NULL), null);
  EXPECT(capgc_compartment_read_u64(s, a.id, holder, g_data, NULL), null);
  EXPECT(capgc_compartment_stats(s, a.id, NULL), null);
  EXPECT(capgc_split_heap_collect(NULL, NULL), null);
  EXPECT(capgc_split_heap_pair_stats(s, a.id, b.id, NULL), null);
  EXPECT(capgc_split_heap_verify(s, NULL, 4, &n), null);
  EXPECT(capgc_split_heap_verify(s, NULL, 0, NULL), null);
  EXPECT(capgc_split_heap_report(s, NULL, 0, NULL), null);
  capgc_split_heap_free(NULL);
  capgc_pair_stats_t p1 = pair(s, &a, &b);
  ASSERT(memcmp(&p0, &p1, sizeof p0) == 0);
  split_verified(s);
}

/* Teardown of b: every use of its sealed references — from C, from a's
 * objects and root regions, from k — is CAPGC_E_COMPARTMENT_DESTROYED; so
 * is every call on b. a and k keep working, through collections, and
 * verify. */
static void teardown(capgc_split_heap_t *s, comp_t a, comp_t b, comp_t k, capgc_sealed_t sl) {
  const capgc_status_t gone = CAPGC_E_COMPARTMENT_DESTROYED;
  capgc_ref_t bref = root(s, &b, 0), got;
  capgc_sealed_t back;
  capgc_compartment_t owner;
  uint64_t v, n;
  uint64_t refused = pair(s, &a, &b).refused;
  CHECK(capgc_compartment_destroy(s, b.id));
  EXPECT(capgc_unseal(s, b.id, &sl, &got), gone);
  EXPECT(capgc_unseal(s, a.id, &sl, &got), gone);
  EXPECT(capgc_get_sealed(s, a.id, root(s, &a, 0), g_slot, &back), gone);
  EXPECT(capgc_region_get_sealed(s, a.id, a.roots, 1, &back), gone);
  EXPECT(capgc_region_get_sealed(s, k.id, k.roots, 0, &back), gone);
  EXPECT(capgc_set_sealed(s, a.id, root(s, &a, 0), 0, &sl), gone);
  EXPECT(capgc_region_set_sealed(s, a.id, a.roots, 41, &sl), gone);
  EXPECT(capgc_sealed_owner(s, &sl, &owner), gone);
  EXPECT(capgc_compartment_read_u64(s, b.id, bref, g_data, &v), gone);
  EXPECT(capgc_compartment_alloc(s, b.id, b.node, &got), gone);
  EXPECT(capgc_compartment_collect(s, b.id, NULL), gone);
  EXPECT(capgc_compartment_exports(s, b.id, &n), gone);
  EXPECT(capgc_compartment_destroy(s, b.id), gone);
  EXPECT(capgc_seal(s, a.id, root(s, &a, 0), b.id, &back), gone);
  REFUSED(capgc_compartment_read_u64(s, a.id, bref, g_data, &v), CAPGC_E_FORGED, CAPGC_E_NOT_AN_OBJECT);
  ASSERT(pair(s, &a, &b).refused >= refused + 5);
  /* A new compartment never aliases the old one. */
  comp_t d = comp_new(s, NULL);
  ASSERT(d.id != b.id);
  EXPECT(capgc_unseal(s, d.id, &sl, &got), gone);
  /* The rest works: allocate, collect one, collect all, verify. */
  rooted(s, &a, 50, 6);
  rooted(s, &d, 0, 7);
  CHECK(capgc_compartment_collect(s, a.id, NULL));
  capgc_whole_heap_stats_t all;
  CHECK(capgc_split_heap_collect(s, &all));
  ASSERT(all.compartments == 3 && all.exports_released == 0);
  ASSERT(data_of(s, &a, root(s, &a, 50)) == 6);
  ASSERT(data_of(s, &d, root(s, &d, 0)) == 7);
  for (uint64_t i = 0; i < N; i++)
    EXPECT(capgc_get_sealed(s, a.id, root(s, &a, 2 + i), g_slot, &back), gone);
  rooted(s, &k, 1, 8);
  CHECK(capgc_seal(s, k.id, root(s, &k, 1), a.id, &back));
  CHECK(capgc_set_sealed(s, a.id, root(s, &a, 50), 0, &back));
  CHECK(capgc_unseal(s, k.id, &back, &got));
  ASSERT(data_of(s, &k, got) == 8);
  split_verified(s);
}

static void run(const config_t *c) {
  g_where = c->name;
  g_checked = c->mode == CAPGC_MODE_SOFTCHERI;
  capgc_config_t cfg = config_for(c);
  capgc_split_heap_t *s = NULL;
  CHECK(capgc_split_heap_new(&cfg, &s));
  uint32_t mode = 99;
  CHECK(capgc_split_heap_mode(s, &mode, &g_slot));
  ASSERT(mode == c->mode && g_slot == (c->mode == CAPGC_MODE_NATIVE ? 8u : 16u));
  g_data = 2 * g_slot;

  /* a and b with the split heap's configuration; k with another plan. */
  comp_t a = comp_new(s, NULL), b = comp_new(s, NULL);
  capgc_config_t kc = cfg;
  kc.plan = (c->plan + 1) % 3;
  comp_t k = comp_new(s, &kc);
  ASSERT(a.id != b.id && b.id != k.id);
  uint32_t ota = 0, otb = 0;
  CHECK(capgc_compartment_object_type(s, a.id, &ota));
  CHECK(capgc_compartment_object_type(s, b.id, &otb));
  ASSERT(ota != otb);
  /* A compartment's mode is its split heap's. */
  capgc_config_t other = cfg;
  other.mode = c->mode == CAPGC_MODE_NATIVE ? CAPGC_MODE_P128 : CAPGC_MODE_NATIVE;
  capgc_compartment_t id;
  EXPECT(capgc_compartment_new(s, &other, &id), CAPGC_E_INVALID_CONFIG);
  other = cfg;
  other.plan = 7;
  EXPECT(capgc_compartment_new(s, &other, &id), CAPGC_E_INVALID_ENUM);

  capgc_sealed_t sl = seal_store_unseal(s, a, b, k);
  independent_collections(s, a, b, c);
  whole_heap_cycle(s, a, b);
  foreign_references(s, a, b);
  forged_tokens(s, &cfg, a, b, k, sl);
  null_pointers(s, &cfg, a, b, sl);
  teardown(s, a, b, k, sl);
  capgc_split_heap_free(s);
}

int main(void) {
  /* A null configuration: the defaults (SoftCheri Morello). */
  capgc_split_heap_t *s = NULL;
  CHECK(capgc_split_heap_new(NULL, &s));
  uint32_t mode = 0;
  CHECK(capgc_split_heap_mode(s, &mode, NULL));
  ASSERT(mode == CAPGC_MODE_SOFTCHERI);
  capgc_split_heap_free(s);
  capgc_config_t bad = capgc_config_default();
  bad.trigger = CAPGC_TRIGGER_MANUAL;
  EXPECT(capgc_split_heap_new(&bad, &s), CAPGC_E_INVALID_CONFIG);
  for (size_t i = 0; i < NCONFIGS; i++) run(&CONFIGS[i]);
  printf("compartments: %zu configurations ok\n", NCONFIGS);
  return 0;
}
