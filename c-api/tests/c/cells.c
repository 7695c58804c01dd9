/* The binding profile from C: a small VM with its own object layout and
 * raw pointers — objects in CapGC cells, pointer arrays the VM mallocs
 * outside the heap, a "thread" type whose VM pointer is 8 bytes into its
 * cell (as Lua's threads are), a root list, split collection with an
 * ephemeron pass, release before reclaim. Run in Native and P128, checked
 * and unchecked, manual and automatic trigger; valgrind (CI) sees every
 * malloc'd array freed by `release`. */
#include "common.h"
#include <stdbool.h>

/* A VM object: `n` pointers kept in malloc'd memory outside the heap. */
typedef struct {
  uint64_t magic;
  size_t n;
  void **slots; /* malloc'd by the VM */
} obj_t;

/* A thread: the VM's pointer is &t->state, 8 bytes into the cell. */
typedef struct {
  uint64_t extra;
  struct {
    void *top; /* one pointer, to anything */
  } state;
} thread_t;

#define MAGIC 0x0b7ec7u

typedef struct {
  uint32_t t_obj, t_str, t_thread, t_box;
  void *roots[64];
  size_t nroots;
  size_t released, released_bad_magic;
  capgc_cells_t *cells;
} vm_t;

static void vm_roots(void *vmp, capgc_cell_visitor_t *v) {
  vm_t *vm = vmp;
  for (size_t i = 0; i < vm->nroots; i++) CHECK(capgc_cell_visit(v, vm->roots[i]));
}

static void *shallow_inner;        /* the box test's inner object */
static size_t shallow_fresh, shallow_seen, shallow_traced;

static void trace_obj(void *vmp, void *cell, uint32_t type, capgc_cell_visitor_t *v) {
  vm_t *vm = vmp;
  ASSERT(type == vm->t_obj);
  obj_t *o = cell;
  if (cell == shallow_inner) shallow_traced++;
  for (size_t i = 0; i < o->n; i++) CHECK(capgc_cell_visit(v, o->slots[i]));
}

static void trace_thread(void *vmp, void *cell, uint32_t type, capgc_cell_visitor_t *v) {
  vm_t *vm = vmp;
  ASSERT(type == vm->t_thread);
  thread_t *t = cell;
  CHECK(capgc_cell_visit(v, t->state.top));
}

/* A box: an obj_t whose first slot, an obj_t, is reported with
 * capgc_cell_visit_shallow; when that call marked it, the box's trace
 * reports the inner object's slots itself (the inner object gets no
 * trace call of its own). A null out pointer is refused first. */
static void trace_box(void *vmp, void *cell, uint32_t type, capgc_cell_visitor_t *v) {
  vm_t *vm = vmp;
  ASSERT(type == vm->t_box);
  obj_t *inner = ((obj_t *)cell)->slots[0];
  ASSERT(capgc_cell_visit_shallow(v, inner, NULL) == CAPGC_E_NULL_ARGUMENT);
  bool fresh = false;
  CHECK(capgc_cell_visit_shallow(v, NULL, &fresh));
  ASSERT(!fresh);
  fresh = true;
  CHECK(capgc_cell_visit_shallow(v, inner, &fresh));
  shallow_seen++;
  if (!fresh) return;
  shallow_fresh++;
  for (size_t i = 0; i < inner->n; i++) CHECK(capgc_cell_visit(v, inner->slots[i]));
}

static void vm_release(void *vmp, void *cell, uint32_t type) {
  vm_t *vm = vmp;
  vm->released++;
  if (type == vm->t_obj || type == vm->t_box) {
    obj_t *o = cell;
    if (o->magic != MAGIC) vm->released_bad_magic++;
    /* The cells it points to may be dead too: not reclaimed yet, so
     * their memory is intact. */
    for (size_t i = 0; i < o->n; i++) {
      obj_t *p = o->slots[i];
      if (p && p->magic != MAGIC && p->magic != 0x57c) vm->released_bad_magic++;
    }
    free(o->slots);
  }
}

static obj_t *new_obj(vm_t *vm, size_t n) {
  void *p;
  CHECK(capgc_cell_alloc(vm->cells, vm->t_obj, sizeof(obj_t), &p));
  obj_t *o = p;
  o->magic = MAGIC;
  o->n = n;
  o->slots = calloc(n ? n : 1, sizeof(void *));
  return o;
}

static void *new_str(vm_t *vm, size_t len) {
  void *p;
  CHECK(capgc_cell_alloc(vm->cells, vm->t_str, len, &p));
  memset(p, 0, len < 16 ? len : 16);
  if (len >= 8) *(uint64_t *)p = 0x57c;
  return p;
}

/* The keep callback of a lazy sweep: keeps the one string `vm->keep`. */
static void *keep_this;
static size_t keep_asked;
static bool vm_keep(void *vmp, void *cell, uint32_t type) {
  vm_t *vm = vmp;
  ASSERT(type == vm->t_str); /* asked for leaf cells only */
  keep_asked++;
  return cell == keep_this;
}

static bool owns(vm_t *vm, const void *p) {
  bool b = false;
  CHECK(capgc_cells_owns(vm->cells, p, &b));
  return b;
}

static void run(uint32_t mode, uint32_t trigger, uint32_t checked) {
  vm_t vm = {0};
  capgc_config_t cfg = capgc_config_default();
  cfg.mode = mode;
  cfg.trigger = trigger;
  cfg.checked = checked;
  cfg.limit = 64 << 20;
  cfg.initial_size = 8 << 20; /* auto: no collection before the churn */
  capgc_cell_callbacks_t cb = {.vm = &vm, .roots = vm_roots, .release = vm_release};
  CHECK(capgc_cells_new(&cfg, &cb, &vm.cells));
  CHECK(capgc_cell_type(vm.cells, trace_obj, &vm.t_obj));
  CHECK(capgc_cell_type(vm.cells, NULL, &vm.t_str));
  CHECK(capgc_cell_type(vm.cells, trace_thread, &vm.t_thread));
  CHECK(capgc_cell_type(vm.cells, trace_box, &vm.t_box));
  ASSERT(vm.t_obj == 0 && vm.t_str == 1 && vm.t_thread == 2 && vm.t_box == 3);
  size_t align = mode == CAPGC_MODE_NATIVE ? 8 : 16;

  /* A graph: root -> a -> (b, big string), b -> a (cycle), thread -> s. */
  obj_t *a = new_obj(&vm, 2), *b = new_obj(&vm, 1), *garbage = new_obj(&vm, 1);
  void *big = new_str(&vm, 4 << 20);
  void *s = new_str(&vm, 40);
  void *tcell;
  CHECK(capgc_cell_alloc(vm.cells, vm.t_thread, sizeof(thread_t), &tcell));
  thread_t *t = tcell;
  t->state.top = (char *)s + 5; /* interior pointer */
  a->slots[0] = b;
  a->slots[1] = big;
  b->slots[0] = a;
  garbage->slots[0] = a;
  ASSERT((uintptr_t)a % align == 0 && (uintptr_t)big % align == 0);
  size_t sz = 0;
  CHECK(capgc_cell_size(vm.cells, big, &sz));
  ASSERT(sz >= (4u << 20));
  ASSERT(owns(&vm, (char *)big + (4 << 20) - 1) && !owns(&vm, &vm));
  vm.roots[vm.nroots++] = a;
  vm.roots[vm.nroots++] = &t->state; /* the VM's pointer: into the cell */

  capgc_cell_cycle_t cyc;
  CHECK(capgc_cells_collect(vm.cells, &cyc));
  ASSERT(cyc.freed_cells == 1 && vm.released == 1);
  ASSERT(cyc.live_cells == 6 - 1);
  ASSERT(owns(&vm, a) && owns(&vm, b) && owns(&vm, big) && owns(&vm, s) && owns(&vm, t));
  ASSERT(!owns(&vm, garbage));

  /* Split collection: an ephemeron table {key -> value} the VM resolves
   * itself: value is kept only if key is marked. */
  void *key = new_str(&vm, 16), *value = new_str(&vm, 16), *lost_key = new_str(&vm, 16),
       *lost_value = new_str(&vm, 16);
  vm.roots[vm.nroots++] = key;
  CHECK(capgc_cells_begin(vm.cells));
  bool m = true;
  CHECK(capgc_cells_is_marked(vm.cells, key, &m));
  ASSERT(m);
  CHECK(capgc_cells_is_marked(vm.cells, lost_key, &m));
  ASSERT(!m);
  CHECK(capgc_cells_is_marked(vm.cells, value, &m));
  ASSERT(!m);
  CHECK(capgc_cells_mark(vm.cells, value)); /* key marked: keep value */
  CHECK(capgc_cells_drain(vm.cells));
  CHECK(capgc_cells_is_marked(vm.cells, value, &m));
  ASSERT(m);
  vm.released = 0;
  CHECK(capgc_cells_finish(vm.cells, &cyc));
  ASSERT(vm.released == 2 && cyc.freed_cells == 2);
  ASSERT(owns(&vm, value) && !owns(&vm, lost_value) && !owns(&vm, lost_key));
  vm.roots[vm.nroots++] = value;

  /* Release comes before reclaim: 5000 dead pairs pointing at each other;
   * every release reads the other's magic. */
  vm.released = 0;
  for (int i = 0; i < 5000; i++) {
    obj_t *x = new_obj(&vm, 1);
    vm.roots[vm.nroots++] = x; /* on the VM's stack while it allocates */
    obj_t *y = new_obj(&vm, 1);
    vm.nroots--;
    x->slots[0] = y;
    y->slots[0] = x;
  }
  CHECK(capgc_cells_collect(vm.cells, &cyc));
  if (vm.released != 10000 || vm.released_bad_magic != 0)
    fprintf(stderr, "released %zu, bad magic %zu\n", vm.released, vm.released_bad_magic);
  ASSERT(vm.released == 10000 && vm.released_bad_magic == 0);

  /* Incremental marking: a chain of 100 objects, one traced per step;
   * the VM allocates between steps (new cells are white), its barrier
   * marks a new object stored into a traced one; an unreferenced new
   * object dies at the end of the cycle. */
  {
    obj_t *head = new_obj(&vm, 2), *p = head;
    for (int i = 1; i < 100; i++) {
      obj_t *q = new_obj(&vm, 2);
      p->slots[0] = q;
      p = q;
    }
    vm.roots[vm.nroots++] = head;
    CHECK(capgc_cells_start(vm.cells));
    bool done = false, mk = false;
    CHECK(capgc_cells_is_marked(vm.cells, head, &mk));
    ASSERT(mk);
    CHECK(capgc_cells_is_marked(vm.cells, head->slots[0], &mk));
    ASSERT(!mk); /* start traces nothing */
    CHECK(capgc_cells_step(vm.cells, 1, &done));
    ASSERT(!done);
    obj_t *fresh = new_obj(&vm, 1), *unreferenced = new_obj(&vm, 1);
    CHECK(capgc_cells_is_marked(vm.cells, fresh, &mk));
    ASSERT(!mk); /* allocated white */
    head->slots[1] = fresh; /* head is traced (black): the barrier */
    CHECK(capgc_cells_mark(vm.cells, fresh));
    fresh->slots[0] = new_str(&vm, 24); /* fresh is gray: no barrier */
    int steps = 1;
    while (!done) {
      CHECK(capgc_cells_step(vm.cells, 1, &done));
      steps++;
    }
    ASSERT(steps >= 100); /* one object per step: the chain and fresh */
    vm.released = 0;
    CHECK(capgc_cells_begin(vm.cells));
    CHECK(capgc_cells_finish(vm.cells, &cyc));
    ASSERT(cyc.steps == (uint64_t)steps + 1 && cyc.max_step_ns > 0);
    ASSERT(vm.released == 1 && !owns(&vm, unreferenced));
    ASSERT(owns(&vm, fresh) && owns(&vm, fresh->slots[0]) && owns(&vm, p));
    vm.nroots--;
    head->slots[1] = NULL;
  }

  /* Lazy sweeping: 3000 dead objects and two dead strings, swept one
   * block per step while the VM allocates; `keep` keeps one string. */
  {
    CHECK(capgc_cells_collect(vm.cells, NULL)); /* the chain above is garbage now */
    for (int i = 0; i < 3000; i++) new_obj(&vm, 1);
    void *lost = new_str(&vm, 24), *rescued = new_str(&vm, 24);
    keep_this = rescued;
    keep_asked = 0;
    vm.released = 0;
    CHECK(capgc_cells_start(vm.cells));
    bool done = false;
    while (!done) CHECK(capgc_cells_step(vm.cells, 1000, &done));
    CHECK(capgc_cells_begin(vm.cells));
    CHECK(capgc_cells_begin_sweep(vm.cells));
    ASSERT(vm.released == 0);
    obj_t *during[256];
    int n = 0;
    done = false;
    while (!done) {
      ASSERT(n < 256);
      during[n] = new_obj(&vm, 1);
      vm.roots[vm.nroots++] = during[n++]; /* live, allocated mid-sweep */
      CHECK(capgc_cells_sweep(vm.cells, 1, vm_keep, &done));
      if (n == 1) ASSERT(vm.released < 3000); /* not all at once */
    }
    ASSERT(n > 2);
    ASSERT(vm.released == 3001 && keep_asked >= 2);
    ASSERT(!owns(&vm, lost) && owns(&vm, rescued));
    for (int i = 0; i < n; i++) ASSERT(owns(&vm, during[i]));
    vm.nroots -= (size_t)n;
    size_t nv = 9;
    CHECK(capgc_cells_verify(vm.cells, &nv));
    ASSERT(nv == 0);
    vm.released = 0;
    CHECK(capgc_cells_collect(vm.cells, &cyc)); /* not kept by finish */
    ASSERT(!owns(&vm, rescued) && vm.released == (size_t)n + 1);
  }

  /* The same with a budget in cells: at most 50 dead cells a step, so a
   * step stops inside a block and the next resumes there. */
  {
    for (int i = 0; i < 3000; i++) new_obj(&vm, 1);
    void *lost = new_str(&vm, 24), *rescued = new_str(&vm, 24);
    keep_this = rescued;
    vm.released = 0;
    CHECK(capgc_cells_start(vm.cells));
    bool done = false;
    while (!done) CHECK(capgc_cells_step(vm.cells, 1000, &done));
    CHECK(capgc_cells_begin(vm.cells));
    CHECK(capgc_cells_begin_sweep(vm.cells));
    done = false;
    CHECK(capgc_cells_sweep_some(vm.cells, 1, 0, vm_keep, &done));
    ASSERT(!done && vm.released == 0); /* a zero budget: no progress */
    int steps = 0;
    obj_t *during[32]; /* roots: 64 at most */
    int n = 0;
    while (!done) {
      size_t before = vm.released;
      if (n < 32) {
        during[n] = new_obj(&vm, 1);
        vm.roots[vm.nroots++] = during[n++];
      }
      CHECK(capgc_cells_sweep_some(vm.cells, 4, 50, vm_keep, &done));
      ASSERT(vm.released - before <= 50);
      steps++;
    }
    ASSERT(steps >= 3001 / 50);
    ASSERT(vm.released == 3001);
    ASSERT(!owns(&vm, lost) && owns(&vm, rescued));
    for (int i = 0; i < n; i++) ASSERT(owns(&vm, during[i]));
    vm.nroots -= (size_t)n;
    size_t nv = 9;
    CHECK(capgc_cells_verify(vm.cells, &nv));
    ASSERT(nv == 0);
    vm.released = 0;
    CHECK(capgc_cells_collect(vm.cells, &cyc));
    ASSERT(!owns(&vm, rescued) && vm.released == (size_t)n + 1);
  }

  /* Many collections: a churn of short-lived objects and strings. */
  for (int round = 0; round < 50; round++) {
    for (int i = 0; i < 2000; i++) {
      obj_t *x = new_obj(&vm, 2);
      vm.roots[vm.nroots++] = x;
      x->slots[0] = new_str(&vm, 8 + (size_t)(i % 300));
      vm.nroots--;
      if (i % 100 == 0) b->slots[0] = x; /* keep some alive via b */
    }
    if (trigger == CAPGC_TRIGGER_MANUAL) CHECK(capgc_cells_collect(vm.cells, NULL));
  }
  /* A shallow visit (capgc_cell_visit_shallow): two boxes share an inner
   * object, which the first box's trace marks and scans in line; the
   * second finds it marked. The inner object's referents (a string, an
   * object) live, and it never gets a trace call; once the boxes are
   * gone all five die. */
  {
    size_t base = vm.nroots;
    obj_t *inner = new_obj(&vm, 2);
    vm.roots[vm.nroots++] = inner;
    inner->slots[0] = new_str(&vm, 24);
    inner->slots[1] = new_obj(&vm, 0);
    obj_t *boxes[2];
    for (int i = 0; i < 2; i++) {
      void *p;
      CHECK(capgc_cell_alloc(vm.cells, vm.t_box, sizeof(obj_t), &p));
      boxes[i] = p;
      boxes[i]->magic = MAGIC;
      boxes[i]->n = 1;
      boxes[i]->slots = calloc(1, sizeof(void *));
      boxes[i]->slots[0] = inner;
      vm.roots[vm.nroots++] = boxes[i];
    }
    vm.roots[base] = boxes[1]; /* the inner object only through the boxes */
    vm.nroots--;
    shallow_inner = inner;
    shallow_fresh = shallow_seen = shallow_traced = 0;
    CHECK(capgc_cells_collect(vm.cells, &cyc));
    ASSERT(shallow_seen == 2 && shallow_fresh == 1 && shallow_traced == 0);
    ASSERT(owns(&vm, inner) && owns(&vm, inner->slots[0]) && owns(&vm, inner->slots[1]));
    vm.nroots = base;
    vm.released = 0;
    CHECK(capgc_cells_collect(vm.cells, &cyc));
    ASSERT(vm.released == 5 && !owns(&vm, inner));
    shallow_inner = NULL;
  }

  capgc_cell_stats_t st;
  CHECK(capgc_cells_stats(vm.cells, &st));
  ASSERT(st.collections >= (trigger == CAPGC_TRIGGER_MANUAL ? 50u : 2u));
  ASSERT(st.bad_pointers == 0);
  ASSERT(st.steps >= 101);
  ASSERT(st.bytes_held < (16u << 20));
  size_t nv = 99;
  CHECK(capgc_cells_verify(vm.cells, &nv));
  ASSERT(nv == 0);

  /* Closing: every cell released (valgrind: no malloc'd slots leak). */
  uint64_t n = 0;
  CHECK(capgc_cells_release_all(vm.cells, &n));
  ASSERT(n == st.cells);
  CHECK(capgc_cells_stats(vm.cells, &st));
  ASSERT(st.cells == 0 && st.bytes_held == 0);
  capgc_cells_free(vm.cells);
}

int main(void) {
  uint32_t modes[] = {CAPGC_MODE_NATIVE, CAPGC_MODE_P128};
  for (int m = 0; m < 2; m++)
    for (uint32_t trig = 0; trig < 2; trig++)
      for (uint32_t checked = 0; checked < 2; checked++) {
        char where[64];
        snprintf(where, sizeof where, "%s/%s/%s", m ? "p128" : "native",
                 trig ? "manual" : "auto", checked ? "checked" : "unchecked");
        g_where = where;
        run(modes[m], trig, checked);
      }
  puts("cells: ok (native, p128 x auto, manual x checked, unchecked)");
  return 0;
}
