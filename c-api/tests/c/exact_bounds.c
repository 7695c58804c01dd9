/* Exact bounds, byte for byte, through capgc.h (issue #24; docs/design.md I1).
 *
 * In every SoftCheri configuration (3 formats x 3 plans): byte arrays of
 * every length 0..4096 and around each format's exact-representability
 * limit (4097 in CHERI v9 and the RISC-V standard, 16385 in Morello),
 * records with odd data lengths, and double arrays, kept in a reference
 * array and reached through references C holds (authenticated
 * capgc_ref_t), a handle, a root region and the slot API, before and
 * after two collections (the moving plans re-derive every reference):
 * 1-, 4- and 8-byte accesses and byte ranges ending at the last byte
 * succeed, and any byte at the length or beyond is CAPGC_E_BOUNDS.
 * Native and P128 are unchecked (no bounds at all): there only the
 * in-bounds accesses are run. */
#include "common.h"

static const uint64_t EXTRA[] = {4097, 4098, 4099, 16383, 16384, 16385, 16386};
#define NEXTRA (sizeof EXTRA / sizeof EXTRA[0])
#define NBYTES (4097 + NEXTRA)

/* The length a reference to `len` bytes reaches in `c`: the length
 * itself below the format's limit, else the format's CRRL padding, which
 * C learns from the last byte that is readable. */
static uint64_t limit_of(const config_t *c) {
  return c->format == CAPGC_FORMAT_MORELLO ? 16385 : 4097;
}

static uint64_t len_at(size_t i) { return i <= 4096 ? (uint64_t)i : EXTRA[i - 4097]; }

/* The accesses of one reference to a `len`-byte payload. */
static void accesses(capgc_heap_t *h, const config_t *c, capgc_ref_t r, uint64_t len,
                     const char *what) {
  int checked = c->mode == CAPGC_MODE_SOFTCHERI;
  uint8_t u8;
  uint32_t u32;
  uint64_t u64;
  uint8_t buf[64];
  uint64_t got = 0;
  CHECK(capgc_payload_len(h, r, &got));
  if (got != len) {
    fprintf(stderr, "[%s] %s: payload_len %llu, want %llu\n", g_where, what,
            (unsigned long long)got, (unsigned long long)len);
    exit(1);
  }
  uint64_t reach = len;
  if (checked && len >= limit_of(c)) {
    /* Above the limit the bounds are CRRL(len) >= len: find the end. */
    while (capgc_read_u8(h, r, reach, &u8) == CAPGC_OK) reach++;
    ASSERT(reach - len < len / 64 + 16);
  }
  if (reach > 0) {
    CHECK(capgc_write_u8(h, r, reach - 1, 7));
    CHECK(capgc_read_u8(h, r, reach - 1, &u8));
    ASSERT(u8 == 7);
    CHECK(capgc_write_u8(h, r, reach - 1, 0));
  }
  if (reach >= 4) CHECK(capgc_read_u32(h, r, reach - 4, &u32));
  if (reach >= 8) {
    CHECK(capgc_read_u64(h, r, reach - 8, &u64));
    CHECK(capgc_write_u64(h, r, reach - 8, 0));
  }
  size_t n = reach < sizeof buf ? (size_t)reach : sizeof buf;
  CHECK(capgc_read_bytes(h, r, reach - n, buf, n));
  CHECK(capgc_write_bytes(h, r, reach - n, buf, n));
  if (!checked) return;
  /* Any byte at the bound or beyond. */
  uint64_t offs[] = {reach, reach + 1, reach | 15, (reach | 15) + 1, reach + 4096};
  for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
    if (capgc_read_u8(h, r, offs[k], &u8) != CAPGC_E_BOUNDS ||
        capgc_write_u8(h, r, offs[k], 1) != CAPGC_E_BOUNDS) {
      fprintf(stderr, "[%s] %s: len %llu, byte %llu reachable\n", g_where, what,
              (unsigned long long)len, (unsigned long long)offs[k]);
      exit(1);
    }
  }
  if (reach + 1 >= 4) EXPECT(capgc_read_u32(h, r, reach - 3, &u32), CAPGC_E_BOUNDS);
  if (reach + 1 >= 8) {
    EXPECT(capgc_read_u64(h, r, reach - 7, &u64), CAPGC_E_BOUNDS);
    EXPECT(capgc_write_u64(h, r, reach - 7, 0), CAPGC_E_BOUNDS);
  }
  size_t m = reach < 8 ? (size_t)reach + 1 : 9;
  EXPECT(capgc_read_bytes(h, r, reach + 1 - m, buf, m), CAPGC_E_BOUNDS);
  EXPECT(capgc_write_bytes(h, r, reach + 1 - m, buf, m), CAPGC_E_BOUNDS);
}

static void run(const config_t *c) {
  g_where = c->name;
  int checked = c->mode == CAPGC_MODE_SOFTCHERI;
  capgc_heap_t *h = heap_for(c, 96 << 20);
  uint64_t slot = 0;
  uint32_t mode = 0;
  CHECK(capgc_heap_mode(h, &mode, &slot));
  capgc_scope_t sc;
  CHECK(capgc_scope_open(h, &sc));
  capgc_type_t bytes, refs, rec5, rec1_3;
  CHECK(capgc_type_byte_array(h, &bytes));
  CHECK(capgc_type_ref_array(h, &refs));
  CHECK(capgc_type_record(h, 0, 5, &rec5));
  CHECK(capgc_type_record(h, 1, 3, &rec1_3));

  /* Everything hangs off one reference array in root-region slot 0. */
  capgc_region_t rr;
  CHECK(capgc_region_new(h, 4, &rr));
  size_t total = NBYTES + 2 + 64;
  capgc_ref_t holder, o;
  CHECK(capgc_alloc_array(h, refs, total, &holder));
  CHECK(capgc_region_set(h, rr, 0, holder));
  for (size_t i = 0; i < NBYTES; i++) {
    CHECK(capgc_alloc_array(h, bytes, len_at(i), &o));
    accesses(h, c, o, len_at(i), "fresh byte array");
    CHECK(capgc_region_get(h, rr, 0, &holder));
    CHECK(capgc_set_ref(h, holder, i * slot, o));
  }
  CHECK(capgc_alloc(h, rec5, &o));
  accesses(h, c, o, 5, "fresh record");
  CHECK(capgc_region_get(h, rr, 0, &holder));
  CHECK(capgc_set_ref(h, holder, NBYTES * slot, o));
  CHECK(capgc_alloc(h, rec1_3, &o));
  accesses(h, c, o, slot + 3, "fresh record with a slot");
  CHECK(capgc_region_get(h, rr, 0, &holder));
  CHECK(capgc_set_ref(h, holder, (NBYTES + 1) * slot, o));
  /* Double arrays: n doubles are 8n bytes. */
  for (uint64_t n = 0; n < 64; n++) {
    CHECK(capgc_alloc_array(h, bytes, 8 * n, &o));
    if (n > 0) CHECK(capgc_write_f64(h, o, 8 * n - 8, 1.5));
    if (checked) {
      double d;
      EXPECT(capgc_read_f64(h, o, 8 * n, &d), CAPGC_E_BOUNDS);
      if (n > 0) EXPECT(capgc_read_f64(h, o, 8 * n - 7, &d), CAPGC_E_BOUNDS);
    }
    CHECK(capgc_region_get(h, rr, 0, &holder));
    CHECK(capgc_set_ref(h, holder, (NBYTES + 2 + n) * slot, o));
  }
  verified(h);

  for (int round = 1; round <= 2; round++) {
    capgc_collection_t st;
    CHECK(capgc_collect(h, &st));
    verified(h);
    CHECK(capgc_region_get(h, rr, 0, &holder));
    for (size_t i = 0; i < total; i++) {
      CHECK(capgc_get_ref(h, holder, i * slot, &o));
      uint64_t len = i < NBYTES ? len_at(i)
                     : i == NBYTES ? 5
                     : i == NBYTES + 1 ? slot + 3
                                       : 8 * (i - NBYTES - 2);
      accesses(h, c, o, len, round == 1 ? "after a collection" : "after two collections");
      if (i % 97 == 0 || i >= 4097) {
        /* Through a handle and a region slot, and the slot API. */
        capgc_handle_t hd;
        capgc_ref_t via;
        CHECK(capgc_handle_new(h, o, &hd));
        CHECK(capgc_handle_get(h, hd, &via));
        accesses(h, c, via, len, "handle");
        CHECK(capgc_region_set(h, rr, 1, o));
        CHECK(capgc_region_get(h, rr, 1, &via));
        accesses(h, c, via, len, "root region");
        uint64_t w = 0;
        if (len >= 8) CHECK(capgc_slot_read_u64(h, rr, 1, len - 8, &w));
        if (checked && len < limit_of(c) && len + 1 >= 8)
          EXPECT(capgc_slot_read_u64(h, rr, 1, len - 7, &w), CAPGC_E_BOUNDS);
        CHECK(capgc_region_get(h, rr, 0, &holder));
      }
    }
  }
  capgc_heap_free(h);
}

int main(void) {
  size_t n = 0;
  for (size_t i = 0; i < NCONFIGS; i++) {
    run(&CONFIGS[i]);
    n++;
  }
  printf("exact bounds: %zu configurations ok\n", n);
  return 0;
}
