/* A trace callback's view and visitor kept past the callback (issue #24):
 * every view and visitor function then answers CAPGC_E_WRONG_PHASE, in
 * every mode and plan — after capgc_collect returns, inside another
 * type's callback, and from another thread while the callback runs —
 * never a read or a jump through a dead stack frame. The heap stays
 * usable and verifies. (A pointer kept past capgc_heap_free dangles, as
 * the heap pointer does: not tested, the caller's undefined behaviour.)
 * CI runs this under valgrind and AddressSanitizer. */
#include "common.h"

#include <pthread.h>

static uint64_t g_slot;

/* Type A: a record-like custom type (slot 0 a reference, then data); its
 * callback checks its view and visitor work, then keeps them. */
static const capgc_view_t *g_view_a;
static capgc_visitor_t *g_vis_a;
static int g_calls_a;

static void trace_a(void *ctx, const capgc_view_t *view, capgc_visitor_t *v) {
  uint64_t len = 0, word = 0;
  uint8_t b[4];
  (void)ctx;
  g_calls_a++;
  CHECK(capgc_view_len(view, &len));
  ASSERT(len == g_slot + 8);
  CHECK(capgc_view_read_u64(view, g_slot, &word));
  CHECK(capgc_view_read(view, g_slot, b, sizeof b));
  EXPECT(capgc_view_read(view, len, b, 1), CAPGC_E_BOUNDS);
  CHECK(capgc_visit(v, 0));
  CHECK(capgc_visit(v, 1u << 20)); /* not a slot: ignored, still OK */
  g_view_a = view;
  g_vis_a = v;
}

/* Type B: its callback tries type A's kept view and visitor. */
static int g_calls_b, g_refused_in_b;

static void all_refused(const capgc_view_t *view, capgc_visitor_t *v) {
  uint64_t len = 12345, word = 6789;
  uint8_t b[4] = {1, 2, 3, 4};
  EXPECT(capgc_view_len(view, &len), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_view_read_u64(view, 0, &word), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_view_read(view, 0, b, sizeof b), CAPGC_E_WRONG_PHASE);
  EXPECT(capgc_visit(v, 0), CAPGC_E_WRONG_PHASE);
  ASSERT(len == 12345 && word == 6789 && b[0] == 1 && b[3] == 4);
  ASSERT(strstr(capgc_last_error(), "outside the trace callback") != NULL);
}

static void trace_b(void *ctx, const capgc_view_t *view, capgc_visitor_t *v) {
  (void)ctx;
  g_calls_b++;
  if (g_view_a != NULL && g_view_a != view) {
    all_refused(g_view_a, g_vis_a);
    g_refused_in_b++;
  }
  CHECK(capgc_visit(v, 0));
}

/* Type C: while its callback runs, a second thread uses the very view
 * and visitor it was given. */
typedef struct {
  pthread_mutex_t m;
  pthread_cond_t cv;
  const capgc_view_t *view;
  capgc_visitor_t *vis;
  int armed, in_cb, tried;
  capgc_status_t got_len, got_read, got_visit;
} race_t;
static race_t g_race = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, 0,
                        CAPGC_OK, CAPGC_OK, CAPGC_OK};

static void trace_c(void *ctx, const capgc_view_t *view, capgc_visitor_t *v) {
  race_t *r = ctx;
  pthread_mutex_lock(&r->m);
  if (r->armed && !r->tried) {
    r->view = view;
    r->vis = v;
    r->in_cb = 1;
    pthread_cond_broadcast(&r->cv);
    while (!r->tried) pthread_cond_wait(&r->cv, &r->m);
  }
  pthread_mutex_unlock(&r->m);
  CHECK(capgc_visit(v, 0)); /* this thread's call still works */
}

static void *other_thread(void *arg) {
  race_t *r = arg;
  uint64_t len, word;
  pthread_mutex_lock(&r->m);
  while (!r->in_cb) pthread_cond_wait(&r->cv, &r->m);
  r->got_len = capgc_view_len(r->view, &len);
  r->got_read = capgc_view_read_u64(r->view, 0, &word);
  r->got_visit = capgc_visit(r->vis, 0);
  r->tried = 1;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->m);
  return NULL;
}

static void run(const config_t *c) {
  g_where = c->name;
  g_view_a = NULL;
  g_vis_a = NULL;
  g_calls_a = g_calls_b = g_refused_in_b = 0;
  capgc_heap_t *h = heap_for(c, 32 << 20);
  CHECK(capgc_heap_mode(h, NULL, &g_slot));
  capgc_type_t ta, tb, tc;
  CHECK(capgc_type_custom(h, g_slot + 8, trace_a, NULL, &ta));
  CHECK(capgc_type_custom(h, g_slot + 8, trace_b, NULL, &tb));
  CHECK(capgc_type_custom(h, g_slot + 8, trace_c, &g_race, &tc));
  capgc_region_t r;
  CHECK(capgc_region_new(h, 4, &r));
  /* A chain b -> a -> b2, c: every type traced by each collection. */
  CHECK(capgc_slot_alloc(h, r, 0, tb));
  CHECK(capgc_slot_alloc(h, r, 1, ta));
  CHECK(capgc_slot_alloc(h, r, 2, tb));
  CHECK(capgc_slot_alloc(h, r, 3, tc));
  CHECK(capgc_slot_store_field(h, r, 1, 0, 2));
  CHECK(capgc_slot_store_field(h, r, 0, 0, 1));
  CHECK(capgc_slot_clear(h, r, 1));
  CHECK(capgc_slot_clear(h, r, 2));

  CHECK(capgc_collect(h, NULL));
  CHECK(capgc_collect(h, NULL));
  ASSERT(g_calls_a > 0 && g_calls_b > 0 && g_view_a != NULL && g_vis_a != NULL);

  /* Kept past capgc_collect: every function refuses, nothing is read. */
  all_refused(g_view_a, g_vis_a);
  EXPECT(capgc_view_len(NULL, NULL), CAPGC_E_NULL_ARGUMENT);
  uint64_t len;
  EXPECT(capgc_view_len(NULL, &len), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_view_len(g_view_a, NULL), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_view_read_u64(NULL, 0, &len), CAPGC_E_NULL_ARGUMENT);
  EXPECT(capgc_visit(NULL, 0), CAPGC_E_NULL_ARGUMENT);

  /* A collection in between, a minor one too: still refused after. */
  CHECK(capgc_collect_minor(h, NULL));
  all_refused(g_view_a, g_vis_a);
  verified(h); /* the verifier calls the callbacks too */
  all_refused(g_view_a, g_vis_a);

  /* Inside type B's callback, type A's kept pair refuses: the full
   * collection traces the chain b -> a, so B runs after A once A's pair
   * is kept. */
  int before = g_refused_in_b;
  CHECK(capgc_collect(h, NULL));
  ASSERT(g_refused_in_b > before);

  /* From another thread while the callback that owns the pair runs. */
  pthread_t t;
  g_race.armed = 1;
  g_race.in_cb = g_race.tried = 0;
  ASSERT(pthread_create(&t, NULL, other_thread, &g_race) == 0);
  CHECK(capgc_collect(h, NULL));
  pthread_mutex_lock(&g_race.m);
  ASSERT(g_race.tried); /* else the collection never traced c: fail, not hang */
  pthread_mutex_unlock(&g_race.m);
  ASSERT(pthread_join(t, NULL) == 0);
  g_race.armed = 0;
  ASSERT(g_race.tried);
  ASSERT(g_race.got_len == CAPGC_E_WRONG_PHASE);
  ASSERT(g_race.got_read == CAPGC_E_WRONG_PHASE);
  ASSERT(g_race.got_visit == CAPGC_E_WRONG_PHASE);
  all_refused(g_race.view, g_race.vis);

  /* The heap works: the chain survived every collection (slot 0 keeps b,
   * b keeps a, a keeps b2), it allocates, collects and verifies. */
  capgc_ref_t b, a, b2;
  CHECK(capgc_region_get(h, r, 0, &b));
  CHECK(capgc_get_ref(h, b, 0, &a));
  CHECK(capgc_get_ref(h, a, 0, &b2));
  ASSERT(!capgc_is_null(a) && !capgc_is_null(b2));
  CHECK(capgc_slot_alloc(h, r, 1, ta));
  CHECK(capgc_collect(h, NULL));
  verified(h);
  CHECK(capgc_region_free(h, r));
  capgc_heap_free(h);
}

int main(void) {
  for (size_t i = 0; i < NCONFIGS; i++) run(&CONFIGS[i]);
  printf("kept views: %zu configurations ok\n", NCONFIGS);
  return 0;
}
