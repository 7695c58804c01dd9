/* GC zeal finds a missing root: a reference kept in a C local across an
 * allocation. A normal run passes in every configuration (no collection
 * happens at that allocation); under zeal (a collection at every
 * allocation, the verifier after each, poison) SoftCheri refuses the kept
 * reference as stale (CAPGC_E_STALE); the unchecked modes refuse the dead
 * object's address (CAPGC_E_NOT_AN_OBJECT: the ABI checks each incoming
 * address against the heap) or, where it aliases memory the ABI accepts,
 * zeal's verifier reports it (CAPGC_E_CORRUPT, the violations on stderr).
 * Usage: zeal normal|zeal */
#include "common.h"

/* The VM's bug, in one function: `obj` lives only in a C local while
 * `str` is allocated. Returns the first status that is not CAPGC_OK. */
static capgc_status_t missing_root(const config_t *c, int zeal, uint64_t *seen) {
  capgc_config_t cfg = capgc_config_default();
  cfg.mode = c->mode;
  cfg.format = c->format;
  cfg.plan = c->plan;
  if (zeal) {
    cfg.zeal_collect_every = 1;
    cfg.zeal_flags = CAPGC_ZEAL_VERIFY | CAPGC_ZEAL_POISON;
  }
  capgc_heap_t *heap;
  CHECK(capgc_heap_new(&cfg, &heap));
  capgc_type_t node, bytes;
  CHECK(capgc_type_record(heap, 1, 8, &node));
  CHECK(capgc_type_byte_array(heap, &bytes));
  capgc_region_t stack;
  CHECK(capgc_region_new(heap, 4, &stack));
  capgc_ref_t holder, obj, str;
  CHECK(capgc_alloc(heap, node, &holder));
  CHECK(capgc_region_set(heap, stack, 0, holder)); /* rooted */
  CHECK(capgc_alloc(heap, node, &obj));            /* NOT rooted: the bug */
  uint64_t data = c->mode == CAPGC_MODE_NATIVE ? 8 : 16; /* after the slot */
  CHECK(capgc_write_u64(heap, obj, data, 42));
  capgc_status_t s = capgc_alloc_array(heap, bytes, 100, &str); /* a safepoint */
  if (s == CAPGC_OK) s = capgc_read_u64(heap, obj, data, seen);
  if (s == CAPGC_OK) s = capgc_region_get(heap, stack, 0, &holder);
  if (s == CAPGC_OK) s = capgc_set_ref(heap, holder, 0, obj); /* stored */
  if (s == CAPGC_OK) s = capgc_alloc_array(heap, bytes, 100, &str);
  if (s == CAPGC_OK) s = capgc_collect(heap, NULL);
  capgc_heap_free(heap);
  return s;
}

int main(int argc, char **argv) {
  int zeal = argc > 1 && strcmp(argv[1], "zeal") == 0;
  /* A flag that is no zeal option is refused, by both profiles. */
  capgc_config_t bad = capgc_config_default();
  ASSERT(bad.zeal_collect_every == 0 && bad.zeal_flags == 0);
  bad.zeal_flags = CAPGC_ZEAL_POISON << 1;
  capgc_heap_t *h = NULL;
  EXPECT(capgc_heap_new(&bad, &h), CAPGC_E_INVALID_CONFIG);
  ASSERT(strstr(capgc_last_error(), "zeal_flags") != NULL);
  bad.mode = CAPGC_MODE_NATIVE;
  capgc_cells_t *cells = NULL;
  EXPECT(capgc_cells_new(&bad, NULL, &cells), CAPGC_E_INVALID_CONFIG);
  /* A cell heap pacing itself is told when zeal's collection is due. */
  bad.zeal_flags = CAPGC_ZEAL_VERIFY | CAPGC_ZEAL_POISON;
  bad.zeal_collect_every = 3;
  bad.trigger = CAPGC_TRIGGER_MANUAL;
  CHECK(capgc_cells_new(&bad, NULL, &cells));
  uint32_t leaf;
  CHECK(capgc_cell_type(cells, NULL, &leaf));
  int due_at = 0;
  for (int i = 1; i <= 3 && !due_at; i++) {
    void *p;
    bool due;
    CHECK(capgc_cell_alloc(cells, leaf, 32, &p));
    CHECK(capgc_cells_collection_due(cells, &due));
    if (due) due_at = i;
  }
  ASSERT(due_at == 3);
  CHECK(capgc_cells_collect(cells, NULL));
  bool due = true;
  CHECK(capgc_cells_collection_due(cells, &due));
  ASSERT(!due);
  capgc_cells_free(cells);

  for (size_t i = 0; i < NCONFIGS; i++) {
    const config_t *c = &CONFIGS[i];
    g_where = c->name;
    uint64_t seen = 0;
    capgc_status_t s = missing_root(c, zeal, &seen);
    /* Unchecked modes: the store of the dangling address is refused when
     * it names no object at all (the ABI checks what it can), else the
     * verifier reports it at the next collection. */
    int ok = !zeal                              ? s == CAPGC_OK
             : c->mode == CAPGC_MODE_SOFTCHERI ? s == CAPGC_E_STALE
                                                : s == CAPGC_E_CORRUPT || s == CAPGC_E_NOT_AN_OBJECT;
    printf("%s %s: %s%s%s (read %#llx)\n", c->name, zeal ? "zeal" : "normal",
           capgc_status_name(s), s == CAPGC_OK ? "" : ": ", s == CAPGC_OK ? "" : capgc_last_error(),
           (unsigned long long)seen);
    if (!ok) {
      fprintf(stderr, "[%s] got %s\n", c->name, capgc_status_name(s));
      return 1;
    }
    if (!zeal) ASSERT(seen == 42); /* the bug went unnoticed */
    /* Where an unchecked mode lets the freed object be read: poison. */
    if (zeal && c->mode != CAPGC_MODE_SOFTCHERI && seen != 0) ASSERT(seen == 0xdbdbdbdbdbdbdbdbull);
  }
  printf("zeal %s: %zu configurations ok\n", zeal ? "zeal" : "normal", NCONFIGS);
  return 0;
}
