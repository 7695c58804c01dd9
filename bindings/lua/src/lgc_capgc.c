/*
** lgc_capgc.c — Lua 5.4's collector interface (the 11 functions lgc.c
** exports) implemented on CapGC's binding profile (capgc.h, capgc_cells_*).
** Written for this project against Lua's internal headers; it replaces
** lgc.c, and every other file of Lua is compiled unchanged.
**
** Every collectable object is a CapGC cell of a type per Lua variant.
** Liveness lives in CapGC's mark bits (MarkSweep, non-moving: Lua's C
** code keeps raw pointers in C locals across allocations).
**
** Incremental mode (the default) runs a cycle in steps paced as stock
** Lua's (incstep: 'pause', 'stepmul', 'stepsize' mean what they mean in
** lgc.c): GCSpause -> capgc_cells_start (roots marked) -> GCSpropagate,
** capgc_cells_step a few cells at a time, the work counted in stock's
** units by the trace functions -> GCSenteratomic -> the atomic phase ->
** GCSswpallgc (a lazy sweep, capgc_cells_sweep_some: at most a block
** and SWEEPCELLS dead objects at a time, counted by blocks walked and
** objects released) -> GCScallfin (a few
** finalizers per step) -> GCSpause. The default step size is 4 KiB
** (CAPGC_GCSTEPSIZE), half stock's.
** Lua's own barriers keep the tri-colour invariant over CapGC's marks:
** a trace paints the object in Lua's bits -- black when scanned, gray
** (neither) for what stock keeps gray: threads, weak tables, open
** upvalues -- so the barrier macros fire exactly when a scanned object
** gets a white value; luaC_barrier_ marks the value (capgc_cells_mark),
** luaC_barrierback_ re-grays the object into 'grayagain'. A cell marked
** but not yet scanned, or a string (never scanned), still looks white:
** a barrier on it is conservative. Objects allocated while marking are
** black (stock paints them white): luaC_newobjdt marks the cell at once
** (capgc_cells_mark; CapGC traces it in a later step, by when Lua has
** initialised it: Lua steps only at its GC checks), so storing a new
** object into a black table fires no back barrier -- a large table the
** mutator keeps filling with new objects is not traversed again in the
** atomic phase. The cost: they survive their cycle (floating garbage
** until the next). Strings stay white (leaves: a barrier on them only
** marks). Large strong tables are traversed in slices across steps
** (bigslice). Colours are not reset after a cycle:
** a barrier outside marking whitens the object (stock's rule while
** sweeping), and one on a stale-black object during marking is merely
** conservative. An age bit (unused: there is no young generation) flags
** objects in 'grayagain', so a table is never linked twice.
** The atomic phase (capgc_cells_begin after the start) re-scans only
** what it must, in Lua's own order: roots (main thread, running thread,
** registry, basic types' metatables, luaC_fix'ed objects, objects
** waiting for finalization), large tables not wholly traversed yet,
** 'grayagain' (threads, weak tables, tables and userdata a back barrier
** re-grayed) -- all in the roots callback, through its visitor --,
** propagate; remark upvalues of
** unmarked threads; ephemeron fixpoint; clear weak values; separate
** unreached objects with __gc (list order); resurrect them and
** propagate; ephemeron fixpoint again; clear weak keys, then values of
** resurrected tables; clear the API string cache; finish: every dead
** cell released (out-of-object memory freed, dead short strings removed
** from the string table, dying threads' upvalues closed) before any is
** reclaimed -- in incremental mode lazily, block by block (capgc_cells_
** begin_sweep/sweep: each release comes before its own block's reclaim;
** as in stock's sweep, a dying object only unlinks itself from others);
** then shrink the string table (not in emergencies). During a lazy sweep
** the string table may hand out a dead short string again (stock's
** internshrstr "resurrects" it with changewhite): cb_keep sees that and
** keeps the cell.
** A trace reports each pointer through capgc_cell_visit, except two
** shortcuts: upvalues go through capgc_cell_visit_shallow and, when that
** call marked one, are scanned in line as stock's reallymarkobject does
** (no queued cell, no trace callback of their own); and a small cache of
** the objects reported in the cycle (markcache, emptied at every cycle's
** start) skips repeated reports of one object (a prototype shared by
** many closures). Neither is used with compartments (their edges are
** counted per report).
** Pending finalizers run after the cycle with collection stopped inside
** them, postponed (as stock Lua does) in an emergency or when the stacks
** are too short to call them.
** Generational mode keeps whole atomic collections, paced by 'pause'
** (there is no young generation). A full collection (collectgarbage(),
** an emergency) completes a cycle in progress, then runs a whole one.
** The CapGC heap's handle lives in g->allgc, a field only lgc.c reads.
*/

#define lgc_c
#define LUA_CORE

#include "lprefix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lua.h"

#include "ldebug.h"
#include "ldo.h"
#include "lfunc.h"
#include "lgc.h"
#include "lmem.h"
#include "lobject.h"
#include "lstate.h"
#include "lstring.h"
#include "ltable.h"
#include "ltm.h"

#include "capgc.h"

/* Lua's types that are cells, in CapGC type-registration order. */
static const lu_byte kinds[] = {LUA_VSHRSTR, LUA_VLNGSTR, LUA_VTABLE, LUA_VLCL,
                                LUA_VCCL,    LUA_VUSERDATA, LUA_VTHREAD, LUA_VUPVAL,
                                LUA_VPROTO};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* Entries of the marked-objects cache (CapgcLua's markcache). */
#define MARKCACHE 256

typedef struct CapgcLua {
  capgc_cells_t *cells;
  global_State *g;
  lua_State *L;          /* the running thread of the collection */
  uint32_t tid[64];      /* CapGC type of each Lua variant */
  lu_byte tag[NKINDS];   /* Lua variant of each CapGC type */
  size_t thread_offset;  /* lua_State inside its cell (LUA_EXTRASPACE) */
  int checked;
  int zeal;              /* CAPGC_ZEAL is set: ask for zeal's due collections */
  unsigned long long collections;
  lu_mem work; /* stock's units of work done by traces (propagatemark's) */
  lu_mem released; /* cells released (a sweep step's work) */
  /* CAPGC_LOG=gc: thread CPU time of each collector entry (an incstep,
  ** a whole collection), its longest atomic phase, and a histogram of
  ** 10-microsecond buckets for the percentiles printed at lua_close. */
  int log;
  unsigned long long pauses, pause_hist[2001];
  double pause_max, atomic_max;
  int worst_from, worst_to; /* gcstate before and after the longest entry */
  lu_mem worst_work;        /* and its units of work */
  /* Large strong tables are traversed in slices of BIGSLICE slots across
  ** marking steps (a table of a million slots would otherwise be one
  ** step): 'bigq' holds those not started (gray: stores need no
  ** barrier), 'bigh' the one in progress (black from its first slice, so
  ** a store into it fires the back barrier and the atomic phase traverses
  ** it again), 'bigpos' its next slot (array part, then node part) and
  ** 'bigarr'/'bignode'/'bigasize'/'bignsize' its parts when the slices
  ** began: a resize moves entries, and the traversal starts over. */
  Table **bigq;
  size_t nbigq, bigqcap;
  Table *bigh;
  size_t bigpos, bignsize;
  unsigned int bigasize;
  const void *bigarr, *bignode;
  GCObject *atomicgray; /* 'grayagain' for the atomic phase's roots callback */
  GCObject *mainobj;    /* the main thread (mark's test, once per pointer) */
  /* Strict compartments (lcapgc.c's capgc.strict, strictstore below):
  ** 'strict' on; 'newbits' the bits new objects get (STRICTBIT while
  ** strict); 'paint' set during the whole collection that paints every
  ** live object's STRICTBIT to match (cb_trace). */
  int strict, paint;
  lu_byte newbits;
  int comps; /* the capgc library is in use: weak references are reported */
  /* Objects a trace reported to the collector in this cycle, direct-mapped
  ** by address: a pointer found here is marked already (marks are cleared
  ** only by the sweep, after the cycle's marking, and the cache is
  ** emptied whenever a cycle starts: resetmarkcache), so a trace skips its
  ** call (a prototype shared by a thousand closures is reported once, not
  ** a thousand times). Not used with compartments, whose traced edges are
  ** counted per report. */
  const GCObject *markcache[MARKCACHE];
} CapgcLua;

#define CG(g) ((CapgcLua *)(void *)(g)->allgc)

/* Stock lgc.c's pacing constants. */
#define WORK2MEM sizeof(TValue)
#define GCFINMAX 10
#define GCFINALIZECOST 50
/* Cells traced per capgc_cells_step call; the work they did is counted
** by the traces, and a step takes as many calls as its budget needs. */
#define STEPCELLS 64
/* A lazy sweep step (one capgc_cells_sweep_some call): at most one
** 64 KiB block walked and at most SWEEPCELLS dead cells released -- a
** block of 16-byte cells holds 4,096 (512 releases take about 0.15 ms in
** a cold 256 MiB heap); the next step resumes inside the block. As each
** step is charged SWEEPBLOCKWORK, a smaller SWEEPCELLS would charge a
** block of small cells several times its walk. */
#define SWEEPBLOCKS 1
#define SWEEPCELLS 512
/* Units of work a block's sweep costs beyond its released cells: the walk
** of its mark and allocation bits, about 5 us in a cold 256 MiB heap --
** some 200 units of marking (a heap of live blocks costs time too; stock
** counts every object its sweep visits, live or dead). Charged per sweep
** step: one that resumes inside a block walks the rest of its bits. */
#define SWEEPBLOCKWORK 512
/* Units of work a released cell costs: its release frees the object's
** own memory (a table's array and node parts, a string's entry in the
** string table), about 170 ns a cell in a cold heap -- some 8 units of
** marking. */
#define RELEASEWORK 8
/* lua-capgc's default step size (stock's LUAI_GCSTEPSIZE is 13: 8 KiB):
** 4 KiB, so one step's units, at CapGC's cost per unit (a reported
** pointer is a call through the ABI), take about as long as stock's. */
#define CAPGC_GCSTEPSIZE 12
/* Slots of a large table traversed per marking step; a strong table with
** more slots than this is traversed in such slices (BIGSLICE units of
** work and up to BIGSLICE marks each). */
#define BIGSLICE 2048

/* Lua's colours, kept by the traces and the barriers (header comment). */
#define INGRAYAGAIN bitmask(0) /* an age bit: in this cycle's 'grayagain' */
#define setblack(o) ((o)->marked = cast_byte(((o)->marked & ~WHITEBITS) | bitmask(BLACKBIT)))
#define setgray(o) resetbits((o)->marked, WHITEBITS | bitmask(BLACKBIT))
#define setwhite(g, o) \
  ((o)->marked = cast_byte(((o)->marked & ~(WHITEBITS | bitmask(BLACKBIT))) | luaC_white(g)))
/* Is a cycle's marking in progress (stock's keepinvariant)? */
#define marking(g) ((g)->gcstate == GCSpropagate || (g)->gcstate == GCSenteratomic)

static void check(const char *what, capgc_status_t s, struct CapgcLua *cg);
#define hascg(g) ((g)->allgc != NULL && (g)->allgc != obj2gco((g)->mainthread))

static void fatal(const char *what, capgc_status_t s) {
  fprintf(stderr, "lua-capgc: %s: %s (%s)\n", what, capgc_status_name(s), capgc_last_error());
  abort();
}

/* Thread CPU time in seconds (time descheduled does not count). */
static double cputime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void notepause(CapgcLua *cg, double t) {
  size_t b = (size_t)(t / 1e-5);
  cg->pauses++;
  cg->pause_hist[b < 2000 ? b : 2000]++;
  if (t > cg->pause_max) cg->pause_max = t;
}

/* The smallest bucket bound below which a fraction `q` of the pauses is. */
static double pausequantile(CapgcLua *cg, double q) {
  unsigned long long want = (unsigned long long)(q * (double)cg->pauses + 0.999999), seen = 0;
  for (size_t b = 0; b <= 2000; b++) {
    seen += cg->pause_hist[b];
    if (seen >= want) return (double)(b + 1) * 1e-5;
  }
  return cg->pause_max;
}

/* The object a cell of CapGC type `type` holds. */
static GCObject *objof(CapgcLua *cg, void *cell, uint32_t type) {
  char *p = cell;
  if (cg->tag[type] == LUA_VTHREAD) p += cg->thread_offset;
  return (GCObject *)(void *)p;
}

/* ---- marking ------------------------------------------------------- */

typedef struct Mk {
  CapgcLua *cg;
  capgc_cell_visitor_t *v; /* inside a callback; else NULL: capgc_cells_mark */
} Mk;

/* The slot of `o` in the marked-objects cache. */
#define markslot(cg, o) (&(cg)->markcache[((uintptr_t)(o) >> 3) % MARKCACHE])

/* Empties the marked-objects cache: at every cycle's start, before any
** mark of the cycle (a stale entry would skip a cell that is not marked). */
static void resetmarkcache(CapgcLua *cg) {
  memset(cg->markcache, 0, sizeof cg->markcache);
}

/* Reports `o` (called for every pointer a trace finds: inline, with the
** main thread -- a root, not a cell -- compared against a cached copy,
** and an object already reported in this cycle skipped: markcache). */
static inline void mark(Mk *m, GCObject *o) {
  CapgcLua *cg = m->cg;
  if (o == NULL || o == cg->mainobj) return;
  if (m->v == NULL) {
    capgc_status_t s = capgc_cells_mark(cg->cells, o);
    if (l_unlikely(s != CAPGC_OK) && cg->checked) fatal("a marked pointer is not a live cell", s);
    return;
  }
  const GCObject **slot = markslot(cg, o);
  if (*slot == o && !cg->comps) return; /* reported in this cycle: marked */
  capgc_status_t s = capgc_cell_visit(m->v, o);
  if (l_likely(s == CAPGC_OK)) {
    if (!cg->comps) *slot = o;
  } else if (cg->checked)
    fatal("a traced pointer is not a live cell", s);
}

#define markvalue(m, o) \
  { if (iscollectable(o)) mark(m, gcvalue(o)); }

/* Reports upvalue `uv` from a trace: marked without a trace of its own
** (capgc_cell_visit_shallow: no queued cell, no callback) and, when this
** call marked it, scanned here as stock's reallymarkobject does -- its
** value marked, an open one gray, a closed one black (trace_object's
** case, which a queued upvalue still takes). Outside a callback (no
** visitor), as any object. */
static inline void markupval(Mk *m, UpVal *uv) {
  CapgcLua *cg = m->cg;
  if (uv == NULL) return;
  if (m->v == NULL) {
    mark(m, obj2gco(uv));
    return;
  }
  const GCObject **slot = markslot(cg, obj2gco(uv));
  if (*slot == obj2gco(uv) && !cg->comps) return; /* reported this cycle: marked, scanned */
  bool fresh = false;
  capgc_status_t s = capgc_cell_visit_shallow(m->v, uv, &fresh);
  if (l_unlikely(s != CAPGC_OK)) {
    if (cg->checked) fatal("a traced upvalue is not a live cell", s);
    return;
  }
  if (!cg->comps) *slot = obj2gco(uv);
  if (!fresh) return;
  GCObject *o = obj2gco(uv);
  if (l_unlikely(cg->paint)) /* as cb_trace */
    o->marked = cast_byte((o->marked & ~bitmask(STRICTBIT)) | cg->newbits);
  markvalue(m, uv->v.p);
  if (upisopen(uv)) setgray(o);
  else setblack(o);
}
#define markkey(m, n) \
  { if (keyiscollectable(n)) mark(m, gckey(n)); }

/* Is `o` marked (the main thread always is)? */
static int ismarked(CapgcLua *cg, capgc_cell_visitor_t *v, const GCObject *o) {
  bool b = false;
  if (o == obj2gco(cg->g->mainthread)) return 1;
  capgc_status_t s = v ? capgc_cell_visitor_is_marked(v, o, &b) : capgc_cells_is_marked(cg->cells, o, &b);
  if (s != CAPGC_OK) fatal("is_marked", s);
  return b;
}

/* Lua's 'iscleared': will a weak reference to `o` be cleared? Strings are
** values, never weak: they are marked instead. */
static int iscleared(CapgcLua *cg, const GCObject *o) {
  if (o == NULL) return 0;
  if (novariant(o->tt) == LUA_TSTRING) {
    Mk m = {cg, NULL};
    mark(&m, (GCObject *)o);
    return 0;
  }
  return !ismarked(cg, NULL, o);
}

static void clearkey(Node *n) {
  if (keyiscollectable(n)) setdeadkey(n);
}

#define gnodelast(h) gnode(h, cast_sizet(sizenode(h)))
#define gcvalueN(o) (iscollectable(o) ? gcvalue(o) : NULL)
/* Links a table into one of the collection's weak-table lists. */
#define linkgclist(h, p) ((h)->gclist = (p), (p) = obj2gco(h))

/* The 'gclist' field of the objects that have one (stock's getgclist). */
static GCObject **getgclist(GCObject *o) {
  switch (o->tt) {
    case LUA_VTABLE: return &gco2t(o)->gclist;
    case LUA_VLCL: return &gco2lcl(o)->gclist;
    case LUA_VCCL: return &gco2ccl(o)->gclist;
    case LUA_VTHREAD: return &gco2th(o)->gclist;
    case LUA_VPROTO: return &gco2p(o)->gclist;
    case LUA_VUSERDATA: return &gco2u(o)->gclist;
    default: return NULL;
  }
}

/* Links `o` into 'grayagain' for the atomic phase, once a cycle. */
static void linkgrayagain(global_State *g, GCObject *o) {
  GCObject **l = getgclist(o);
  if ((o->marked & INGRAYAGAIN) || l == NULL) return;
  o->marked |= INGRAYAGAIN;
  *l = g->grayagain;
  g->grayagain = o;
}

/* ---- tracing: one function per type ------------------------------- */

/* Queues large strong table `h` for traversal in slices (bigslice): it
** stays gray until its first slice. */
static void bigenqueue(CapgcLua *cg, Table *h) {
  if (cg->nbigq == cg->bigqcap) {
    size_t cap = cg->bigqcap ? 2 * cg->bigqcap : 16;
    Table **q = realloc(cg->bigq, cap * sizeof *q);
    if (q == NULL) {
      fprintf(stderr, "lua-capgc: out of memory for the large-table queue\n");
      abort();
    }
    cg->bigq = q;
    cg->bigqcap = cap;
  }
  cg->bigq[cg->nbigq++] = h;
  setgray(obj2gco(h));
}

/* Is a large table waiting or in progress? */
#define bigpending(cg) ((cg)->bigh != NULL || (cg)->nbigq > 0)

/* Remembers the shape of the table in progress, from slot 0. */
static void bigbegin(CapgcLua *cg) {
  Table *h = cg->bigh;
  cg->bigpos = 0;
  cg->bigarr = h->array;
  cg->bignode = h->node;
  cg->bigasize = luaH_realasize(h);
  cg->bignsize = cast_sizet(sizenode(h));
}

/* One slice of the large tables' traversal: up to BIGSLICE slots of the
** table in progress (the next queued one is started, black, if none),
** each reported with capgc_cells_mark; counts their work. A table
** resized since its slices began is traversed again from its first slot
** (a resize moves entries to where the slices have been). */
static void bigslice(CapgcLua *cg) {
  Mk m = {cg, NULL};
  if (cg->bigh == NULL) {
    cg->bigh = cg->bigq[--cg->nbigq];
    if (!(obj2gco(cg->bigh)->marked & INGRAYAGAIN)) setblack(obj2gco(cg->bigh));
    bigbegin(cg);
  }
  Table *h = cg->bigh;
  if (h->array != cg->bigarr || h->node != cg->bignode || luaH_realasize(h) != cg->bigasize ||
      cast_sizet(sizenode(h)) != cg->bignsize)
    bigbegin(cg);
  size_t asize = cg->bigasize, end = asize + cg->bignsize;
  size_t pos = cg->bigpos, stop = pos + BIGSLICE < end ? pos + BIGSLICE : end;
  for (; pos < stop && pos < asize; pos++) markvalue(&m, &h->array[pos]);
  for (; pos < stop; pos++) {
    Node *n = gnode(h, pos - asize);
    if (isempty(gval(n))) clearkey(n);
    else {
      markkey(&m, n);
      markvalue(&m, gval(n));
    }
  }
  cg->work += 1 + (stop - cg->bigpos);
  cg->bigpos = stop;
  if (stop == end) cg->bigh = NULL;
}

static void trace_table(Mk *m, Table *h) {
  global_State *g = m->cg->g;
  const TValue *mode = gfasttm(g, h->metatable, TM_MODE);
  int wk = 0, wv = 0;
  mark(m, obj2gco(h->metatable));
  if (mode && ttisstring(mode)) {
    wk = strchr(getstr(tsvalue(mode)), 'k') != NULL;
    wv = strchr(getstr(tsvalue(mode)), 'v') != NULL;
  }
  unsigned int asize = luaH_realasize(h);
  Node *n, *limit = gnodelast(h);
  if (!wk && !wv && g->gcstate == GCSpropagate &&
      cast_sizet(asize) + cast_sizet(sizenode(h)) > BIGSLICE) {
    bigenqueue(m->cg, h); /* large: in slices, by later steps */
    m->cg->work += 1;
    return;
  }
  if (!wk && !wv) { /* strong */
    for (unsigned int i = 0; i < asize; i++) markvalue(m, &h->array[i]);
    for (n = gnode(h, 0); n < limit; n++) {
      if (isempty(gval(n))) clearkey(n);
      else {
        markkey(m, n);
        markvalue(m, gval(n));
      }
    }
    setblack(obj2gco(h));
    m->cg->work += 1 + asize + 2 * cast_sizet(sizenode(h));
    return;
  }
  /* weak: kept gray and traversed in the atomic phase (stock keeps weak
  ** tables gray: stores into them need no barrier) */
  setgray(obj2gco(h));
  if (g->gcstate != GCSatomic) {
    m->cg->work += 1;
    linkgrayagain(g, obj2gco(h));
    return;
  }
  m->cg->work += 1 + asize + cast_sizet(sizenode(h));
  if (!wv) { /* ephemeron: array strong, entries resolved later */
    for (unsigned int i = 0; i < asize; i++) markvalue(m, &h->array[i]);
    for (n = gnode(h, 0); n < limit; n++) {
      if (isempty(gval(n))) clearkey(n);
      else if (keyiscollectable(n) && novariant(keytt(n)) == LUA_TSTRING)
        markkey(m, n); /* strings are never weak */
    }
    linkgclist(h, g->ephemeron);
  } else if (!wk) { /* weak values: keys strong */
    for (unsigned int i = 0; i < asize; i++) {
      TValue *o = &h->array[i];
      if (iscollectable(o) && novariant(gcvalue(o)->tt) == LUA_TSTRING) mark(m, gcvalue(o));
    }
    for (n = gnode(h, 0); n < limit; n++) {
      if (isempty(gval(n))) clearkey(n);
      else {
        markkey(m, n);
        if (iscollectable(gval(n)) && novariant(gcvalue(gval(n))->tt) == LUA_TSTRING)
          mark(m, gcvalue(gval(n)));
      }
    }
    linkgclist(h, g->weak);
  } else { /* all weak: nothing marked here; strings that stay are marked
           ** when the table is cleared (an entry emptied by its value
           ** lets a string key die, as in Lua) */
    linkgclist(h, g->allweak);
  }
}

/* A thread stays gray: its stack changes without barriers, so it is
** traversed again in the atomic phase (the main thread as a root). */
static void trace_thread(Mk *m, lua_State *th) {
  global_State *g = m->cg->g;
  StkId o = th->stack.p;
  if (th != g->mainthread) {
    setgray(obj2gco(th));
    if (g->gcstate != GCSatomic) linkgrayagain(g, obj2gco(th));
  }
  if (o == NULL) return; /* stack not completely built yet */
  m->cg->work += 1 + cast_sizet(stacksize(th));
  for (; o < th->top.p; o++) markvalue(m, s2v(o));
  for (UpVal *uv = th->openupval; uv != NULL; uv = uv->u.open.next) markupval(m, uv);
  if (g->gcstate != GCSatomic) return;
  if (!g->gcemergency) luaD_shrinkstack(th); /* do not change stacks in emergencies */
  for (o = th->top.p; o < th->stack_last.p + EXTRA_STACK; o++) setnilvalue(s2v(o));
  if (!isintwups(th) && th->openupval != NULL) { /* keep it in 'twups' */
    th->twups = g->twups;
    g->twups = th;
  }
}

/* Scans `o`, paints it (header comment) and counts its work as stock's
** propagatemark does. */
static void trace_object(Mk *m, GCObject *o) {
  CapgcLua *cg = m->cg;
  switch (o->tt) {
    case LUA_VTABLE: trace_table(m, gco2t(o)); return;
    case LUA_VLCL: {
      LClosure *cl = gco2lcl(o);
      mark(m, obj2gco(cl->p));
      for (int i = 0; i < cl->nupvalues; i++) markupval(m, cl->upvals[i]);
      cg->work += 1 + cast_sizet(cl->nupvalues);
      break;
    }
    case LUA_VCCL: {
      CClosure *cl = gco2ccl(o);
      for (int i = 0; i < cl->nupvalues; i++) markvalue(m, &cl->upvalue[i]);
      cg->work += 1 + cast_sizet(cl->nupvalues);
      break;
    }
    case LUA_VPROTO: {
      Proto *f = gco2p(o);
      mark(m, obj2gco(f->source));
      for (int i = 0; i < f->sizek; i++) markvalue(m, &f->k[i]);
      for (int i = 0; i < f->sizeupvalues; i++) mark(m, obj2gco(f->upvalues[i].name));
      for (int i = 0; i < f->sizep; i++) mark(m, obj2gco(f->p[i]));
      for (int i = 0; i < f->sizelocvars; i++) mark(m, obj2gco(f->locvars[i].varname));
      cg->work += 1 + cast_sizet(f->sizek + f->sizeupvalues + f->sizep + f->sizelocvars);
      break;
    }
    case LUA_VTHREAD: trace_thread(m, gco2th(o)); return;
    case LUA_VUPVAL: {
      UpVal *uv = gco2upv(o);
      markvalue(m, uv->v.p);
      if (upisopen(uv)) { /* its value changes on a stack, without barriers */
        setgray(o);
        return;
      }
      break;
    }
    case LUA_VUSERDATA: {
      Udata *u = gco2u(o);
      mark(m, obj2gco(u->metatable));
      for (int i = 0; i < u->nuvalue; i++) markvalue(m, &u->uv[i].uv);
      cg->work += 1 + cast_sizet(u->nuvalue);
      break;
    }
    default: return; /* strings: leaf types, never traced */
  }
  setblack(o);
}

static void cb_trace(void *vm, void *cell, uint32_t type, capgc_cell_visitor_t *v) {
  CapgcLua *cg = vm;
  Mk m = {cg, v};
  GCObject *o = objof(cg, cell, type);
  if (l_unlikely(cg->paint)) /* strict mode changed (luaC_capgcstrict) */
    o->marked = cast_byte((o->marked & ~bitmask(STRICTBIT)) | cg->newbits);
  trace_object(&m, o);
}

static void markmt(Mk *m) {
  for (int i = 0; i < LUA_NUMTYPES; i++) mark(m, obj2gco(m->cg->g->mt[i]));
}

static void cb_roots(void *vm, capgc_cell_visitor_t *v) {
  CapgcLua *cg = vm;
  global_State *g = cg->g;
  Mk m = {cg, v};
  trace_thread(&m, g->mainthread); /* not a cell: traced in place */
  mark(&m, obj2gco(cg->L));
  markvalue(&m, &g->l_registry);
  markmt(&m);
  for (GCObject *o = g->fixedgc; o != NULL; o = o->next) mark(&m, o);
  for (GCObject *o = g->tobefnz; o != NULL; o = o->next) mark(&m, o); /* left from before */
  if (g->gcstate != GCSatomic) return;
  /* The atomic phase: large tables not (wholly) traversed yet -- those
  ** in 'grayagain' are below -- then 'grayagain', through this visitor
  ** (cheaper than capgc_cells_mark per pointer). */
  if (cg->bigh != NULL) bigenqueue(cg, cg->bigh);
  cg->bigh = NULL;
  while (cg->nbigq > 0) {
    Table *h = cg->bigq[--cg->nbigq];
    if (!(obj2gco(h)->marked & INGRAYAGAIN)) trace_table(&m, h);
  }
  while (cg->atomicgray != NULL) {
    GCObject *o = cg->atomicgray;
    cg->atomicgray = *getgclist(o);
    o->marked &= cast_byte(~INGRAYAGAIN);
    trace_object(&m, o); /* may link it into a weak list */
  }
}

/* ---- releasing dead cells ----------------------------------------- */

static size_t objsize(CapgcLua *cg, GCObject *o) {
  switch (o->tt) {
    case LUA_VSHRSTR: return sizelstring(gco2ts(o)->shrlen);
    case LUA_VLNGSTR: return sizelstring(gco2ts(o)->u.lnglen);
    case LUA_VTABLE: return sizeof(Table);
    case LUA_VLCL: return sizeLclosure(gco2lcl(o)->nupvalues);
    case LUA_VCCL: return sizeCclosure(gco2ccl(o)->nupvalues);
    case LUA_VUSERDATA: return sizeudata(gco2u(o)->nuvalue, gco2u(o)->len);
    case LUA_VTHREAD: return cg->thread_offset + sizeof(lua_State);
    case LUA_VUPVAL: return sizeof(UpVal);
    case LUA_VPROTO: return sizeof(Proto);
    default: return 0;
  }
}

static void freethread(lua_State *L1) {
  luaF_closeupval(L1, L1->stack.p); /* may write into upvalues dying too */
  if (L1->stack.p == NULL) return;
  L1->ci = &L1->base_ci;
  CallInfo *ci = L1->ci->next;
  L1->ci->next = NULL;
  while (ci != NULL) {
    CallInfo *next = ci->next;
    luaM_free(L1, ci);
    L1->nci--;
    ci = next;
  }
  luaM_freearray(L1, L1->stack.p, cast_sizet(stacksize(L1) + EXTRA_STACK));
}

/* What Lua's freeobj does, but the cell itself: CapGC reclaims it. */
static void cb_release(void *vm, void *cell, uint32_t type) {
  CapgcLua *cg = vm;
  global_State *g = cg->g;
  lua_State *L = g->mainthread;
  GCObject *o = objof(cg, cell, type);
  size_t sz = objsize(cg, o);
  cg->released++;
  switch (o->tt) {
    case LUA_VPROTO: {
      Proto *f = gco2p(o);
      luaM_freearray(L, f->code, cast_sizet(f->sizecode));
      luaM_freearray(L, f->p, cast_sizet(f->sizep));
      luaM_freearray(L, f->k, cast_sizet(f->sizek));
      luaM_freearray(L, f->lineinfo, cast_sizet(f->sizelineinfo));
      luaM_freearray(L, f->abslineinfo, cast_sizet(f->sizeabslineinfo));
      luaM_freearray(L, f->locvars, cast_sizet(f->sizelocvars));
      luaM_freearray(L, f->upvalues, cast_sizet(f->sizeupvalues));
      break;
    }
    case LUA_VUPVAL:
      if (upisopen(gco2upv(o))) luaF_unlinkupval(gco2upv(o));
      break;
    case LUA_VTABLE: {
      Table *t = gco2t(o);
      if (!isdummy(t)) luaM_freearray(L, t->node, cast_sizet(sizenode(t)));
      luaM_freearray(L, t->array, luaH_realasize(t));
      break;
    }
    case LUA_VTHREAD: freethread(gco2th(o)); break;
    case LUA_VSHRSTR: luaS_remove(L, gco2ts(o)); break;
    default: break; /* closures, userdata, long strings: all in the cell */
  }
  g->GCdebt -= (l_mem)sz;
}

/* A dead short string the string table handed out again during the lazy
** sweep (internshrstr's "resurrection"): Lua's own code does
** `if (isdead(g, ts)) changewhite(ts)`. Short strings are allocated with
** the other white, so isdead holds until a lookup flips them to the
** current white (which is never flipped): a dead string with the
** current white was looked up since it was last kept, and stays (reset
** to the other white; a later cycle collects it if no lookup comes
** again). */
static bool cb_keep(void *vm, void *cell, uint32_t type) {
  CapgcLua *cg = vm;
  if (cg->tag[type] != LUA_VSHRSTR) return false;
  GCObject *o = objof(cg, cell, type);
  if (!(o->marked & luaC_white(cg->g))) return false;
  resetbits(o->marked, WHITEBITS);
  o->marked |= otherwhite(cg->g);
  return true;
}

/* ---- the heap ------------------------------------------------------- */

static unsigned long long envnum(const char *name, unsigned long long dflt) {
  const char *s = getenv(name);
  if (s == NULL || *s == '\0') return dflt;
  char *end;
  unsigned long long v = strtoull(s, &end, 0);
  switch (*end) {
    case 'K': case 'k': return v << 10;
    case 'M': case 'm': return v << 20;
    case 'G': case 'g': return v << 30;
    default: return v;
  }
}

#if defined(__GNUC__)
#define capgc_noinline __attribute__((noinline))
#else
#define capgc_noinline
#endif

static CapgcLua *newcg(lua_State *L);

/* The collector's state (created at the first allocation). Inline, with
** the creation out of line: asked on every allocation. */
static inline CapgcLua *getcg(lua_State *L) {
  global_State *g = G(L);
  if (l_likely(hascg(g))) return CG(g);
  return newcg(L);
}

static capgc_noinline CapgcLua *newcg(lua_State *L) {
  global_State *g = G(L);
  CapgcLua *cg = calloc(1, sizeof *cg);
  if (cg == NULL) luaD_throw(L, LUA_ERRMEM);
  cg->g = g;
  cg->mainobj = obj2gco(g->mainthread); /* set before the first allocation */
  cg->thread_offset = LUA_EXTRASPACE;
  cg->checked = envnum("CAPGC_LUA_CHECKED", 0) != 0;
  cg->zeal = getenv("CAPGC_ZEAL") != NULL && *getenv("CAPGC_ZEAL") != '\0';
  cg->log = getenv("CAPGC_LOG") != NULL && strstr(getenv("CAPGC_LOG"), "gc") != NULL;
  capgc_config_t cfg = capgc_config_default();
  cfg.mode = CAPGC_MODE_NATIVE;
  cfg.plan = CAPGC_PLAN_MARKSWEEP;
  cfg.trigger = CAPGC_TRIGGER_MANUAL; /* Lua paces its own collections */
  cfg.checked = (uint32_t)cg->checked;
  cfg.limit = envnum("CAPGC_LUA_LIMIT", 16ull << 30); /* address space, committed as used */
  capgc_cell_callbacks_t cb = {.vm = cg, .roots = cb_roots, .release = cb_release};
  capgc_status_t s = capgc_cells_new(&cfg, &cb, &cg->cells);
  if (s != CAPGC_OK) {
    fprintf(stderr, "lua-capgc: cannot create the heap: %s\n", capgc_last_error());
    free(cg);
    luaD_throw(L, LUA_ERRMEM);
  }
  for (uint32_t i = 0; i < NKINDS; i++) {
    int leaf = kinds[i] == LUA_VSHRSTR || kinds[i] == LUA_VLNGSTR;
    uint32_t t;
    s = capgc_cell_type(cg->cells, leaf ? NULL : cb_trace, &t);
    if (s != CAPGC_OK) fatal("capgc_cell_type", s);
    cg->tid[kinds[i]] = t;
    cg->tag[t] = kinds[i];
  }
  g->allgc = (GCObject *)(void *)cg;
  /* The first allocation is lua_newstate's, after it set the defaults. */
  if (g->gcstepsize == LUAI_GCSTEPSIZE) g->gcstepsize = CAPGC_GCSTEPSIZE;
  return cg;
}

GCObject *luaC_newobjdt(lua_State *L, int tt, size_t sz, size_t offset) {
  global_State *g = G(L);
  CapgcLua *cg = getcg(L);
  void *p;
  capgc_status_t s = capgc_cell_alloc(cg->cells, cg->tid[tt], sz, &p);
  if (l_unlikely(s != CAPGC_OK)) {
    if (s != CAPGC_E_OUT_OF_MEMORY) fatal("capgc_cell_alloc", s);
    if (completestate(g) && !g->gcstopem) {
      luaC_fullgc(L, 1); /* emergency: try to free some memory */
      s = capgc_cell_alloc(cg->cells, cg->tid[tt], sz, &p);
    }
    if (s != CAPGC_OK) luaD_throw(L, LUA_ERRMEM);
  }
  if (tt == LUA_VTHREAD) cg->thread_offset = offset;
  g->GCdebt += (l_mem)sz;
  if (l_unlikely(cg->zeal)) {
    /* GC zeal (CAPGC_ZEAL=collect:N): the cell heap counts allocations
    ** and says when a collection is due; Lua runs it at its next
    ** safepoint (luaC_checkGC), as its own debt would. */
    bool due = false;
    s = capgc_cells_collection_due(cg->cells, &due);
    if (s != CAPGC_OK) fatal("capgc_cells_collection_due", s);
    if (due && g->GCdebt <= 0) luaE_setdebt(g, 1);
  }
  GCObject *o = (GCObject *)(void *)((char *)p + offset);
  /* short strings start "dead" for internshrstr (cb_keep) */
  o->marked = cast_byte((tt == LUA_VSHRSTR ? otherwhite(g) : luaC_white(g)) | cg->newbits);
  o->tt = cast_byte(tt);
  o->next = NULL;
  if (marking(g) && tt != LUA_VSHRSTR && tt != LUA_VLNGSTR) {
    /* Allocated black during marking (header comment): marked now, traced
    ** by a later step (Lua initialises it before its next GC check). */
    Mk m = {cg, NULL};
    mark(&m, o);
    setblack(o);
  }
  return o;
}

GCObject *luaC_newobj(lua_State *L, int tt, size_t sz) {
  return luaC_newobjdt(L, tt, sz, 0);
}

void luaC_fix(lua_State *L, GCObject *o) {
  global_State *g = G(L);
  o->next = g->fixedgc;
  g->fixedgc = o;
}

void luaC_checkfinalizer(lua_State *L, GCObject *o, Table *mt) {
  global_State *g = G(L);
  if (tofinalize(o) || gfasttm(g, mt, TM_GC) == NULL || (g->gcstp & GCSTPCLS)) return;
  l_setbit(o->marked, FINALIZEDBIT);
  o->next = g->finobj;
  g->finobj = o;
}

/* ---- strict compartments (lcapgc.c's capgc.strict) ------------------ */

void lcapgc_refuse(lua_State *L, const void *obj, const char *objtype, const void *val,
                   const char *valtype); /* lcapgc.c: raises the error */

/* Does table `h` hold `v` as a value or as its metatable? */
static int tableholds(Table *h, GCObject *v) {
  if (obj2gco(h->metatable) == v) return 1;
  unsigned int asize = luaH_realasize(h);
  for (unsigned int i = 0; i < asize; i++)
    if (gcvalueN(&h->array[i]) == v) return 1;
  for (Node *n = gnode(h, 0), *limit = gnodelast(h); n < limit; n++)
    if (gcvalueN(gval(n)) == v) return 1;
  return 0;
}

/* Takes back a refused store of `v` into `o`: every slot of `o` holding
** `v` is emptied (a closure's upvalue gets a fresh closed one, nil). */
static void undostore(lua_State *L, CapgcLua *cg, GCObject *o, GCObject *v) {
  switch (o->tt) {
    case LUA_VTABLE: {
      Table *h = gco2t(o);
      unsigned int asize = luaH_realasize(h);
      if (obj2gco(h->metatable) == v) h->metatable = NULL;
      invalidateTMcache(h);
      for (unsigned int i = 0; i < asize; i++)
        if (gcvalueN(&h->array[i]) == v) setempty(&h->array[i]);
      for (Node *n = gnode(h, 0), *limit = gnodelast(h); n < limit; n++)
        if (gcvalueN(gval(n)) == v) setempty(gval(n));
      break;
    }
    case LUA_VUSERDATA: {
      Udata *u = gco2u(o);
      if (obj2gco(u->metatable) == v) u->metatable = NULL;
      for (int i = 0; i < u->nuvalue; i++)
        if (gcvalueN(&u->uv[i].uv) == v) setnilvalue(&u->uv[i].uv);
      break;
    }
    case LUA_VCCL: {
      CClosure *cl = gco2ccl(o);
      for (int i = 0; i < cl->nupvalues; i++)
        if (gcvalueN(&cl->upvalue[i]) == v) setnilvalue(&cl->upvalue[i]);
      break;
    }
    case LUA_VLCL: {
      LClosure *cl = gco2lcl(o);
      for (int i = 0; i < cl->nupvalues; i++)
        if (obj2gco(cl->upvals[i]) == v) cl->upvals[i] = NULL;
      cg->strict = 0; /* the fresh upvalues are in the current compartment */
      luaF_initupvals(L, cl);
      cg->strict = 1;
      break;
    }
    default: break;
  }
}

/* The store of `v` into `o` a barrier reports, while strict compartments
** are on (every object then has STRICTBIT, so every barrier comes here):
** a value in another compartment than `o`'s, neither a declared crossing,
** is refused -- the heap counts it (capgc_cells_store_check), the store is
** taken back (undostore) and a Lua error raised. Allowed, and so counted
** by the traces instead: strings (immutable, they reach nothing), the
** main thread (not a cell), stores into upvalues (Lua closes an upvalue
** through the same barrier as an assignment, so a refusal would fail a
** function's return) and prototypes (the compiler's), and a new key of a
** table (Lua's resize re-inserts keys through the same barrier, which
** must not fail: a key is told from a value by its node, just linked
** with an empty value, or by the table holding `v` as no value). */
static void strictstore(lua_State *L, GCObject *o, GCObject *v) {
  CapgcLua *cg = CG(G(L));
  if (!cg->strict || v == cg->mainobj || novariant(v->tt) == LUA_TSTRING ||
      o->tt == LUA_VUPVAL || o->tt == LUA_VPROTO)
    return;
  capgc_cell_compartment_t co, cv;
  if (capgc_cells_compartment_of(cg->cells, o, &co) != CAPGC_OK ||
      capgc_cells_compartment_of(cg->cells, v, &cv) != CAPGC_OK || co == cv)
    return; /* not cells (unchecked configuration), or one compartment */
  if (o->tt == LUA_VTABLE) { /* a key being inserted: its node is there, empty */
    TValue k;
    setgcovalue(L, &k, v);
    const TValue *slot = luaH_get(gco2t(o), &k);
    if ((!isabstkey(slot) && isempty(slot)) || !tableholds(gco2t(o), v)) return;
  }
  capgc_status_t s = capgc_cells_store_check(cg->cells, o, v);
  if (s == CAPGC_OK) return; /* a declared crossing */
  if (s != CAPGC_E_COMPARTMENT_VIOLATION) fatal("capgc_cells_store_check", s);
  undostore(L, cg, o, v);
  if (isLua(L->ci)) L->top.p = L->ci->top.p; /* above every live register */
  lcapgc_refuse(L, o, ttypename(novariant(o->tt)), v, ttypename(novariant(v->tt)));
}

/* Strict compartments on (`on` 1) or off (0): the flag, the heap's
** strict mode, and a whole collection that paints every live object's
** STRICTBIT to match, so that every barrier on them takes the slow path
** (or stops taking it). -1 suspends the checks (the host building a
** sandbox), -2 resumes them. Returns whether strict mode was on. */
int luaC_capgcstrict(lua_State *L, int on) {
  CapgcLua *cg = getcg(L);
  int was = cg->newbits != 0;
  if (on < 0) { /* suspended (-1) or resumed (-2) without repainting */
    cg->strict = on == -2 && was;
    return was;
  }
  check("set_strict", capgc_cells_set_strict(cg->cells, on != 0), cg);
  cg->strict = on != 0;
  cg->newbits = on ? bitmask(STRICTBIT) : 0;
  cg->paint = 1;
  luaC_fullgc(L, 0);
  cg->paint = 0;
  return was;
}

/* A white value `v` stored into black `o` (Lua's forward barrier): while
** marking, mark `v` (CapGC grays it; a step traces it); otherwise `o` is
** only stale-black from an earlier cycle: whiten it (stock's rule while
** sweeping), so stores into it stop calling here. An object with
** STRICTBIT comes here on every store: strictstore first. */
void luaC_barrier_(lua_State *L, GCObject *o, GCObject *v) {
  global_State *g = G(L);
  if (l_unlikely(testbit(o->marked, STRICTBIT))) {
    strictstore(L, o, v);
    if (!(isblack(o) && iswhite(v))) return;
  }
  if (marking(g)) {
    Mk m = {CG(g), NULL};
    mark(&m, v);
  } else
    setwhite(g, o);
}

/* A white value stored into black table or userdata `o` (Lua's back
** barrier): while marking, `o` turns gray and is traversed again in the
** atomic phase; otherwise it is whitened as above. */
void luaC_barrierback_(lua_State *L, GCObject *o) {
  global_State *g = G(L);
  if (marking(g)) {
    setgray(o);
    linkgrayagain(g, o);
  } else
    setwhite(g, o);
}

/* lua-capgc's back barrier (build.rs's lgc.h): the value too, for
** strictstore. */
void luaC_barrierbackv_(lua_State *L, GCObject *o, GCObject *v) {
  if (l_unlikely(testbit(o->marked, STRICTBIT))) {
    strictstore(L, o, v);
    if (!(isblack(o) && iswhite(v))) return;
  }
  luaC_barrierback_(L, o);
}

static void finishcycle(lua_State *L);

void luaC_changemode(lua_State *L, int newmode) {
  global_State *g = G(L);
  if (newmode == KGC_GEN && g->gckind != KGC_GEN && hascg(g))
    finishcycle(L); /* whole collections from here on */
  g->gckind = cast_byte(newmode);
}

/* ---- one collection, in Lua's order -------------------------------- */

static void check(const char *what, capgc_status_t s, CapgcLua *cg) {
  if (s == CAPGC_OK) return;
  if (s == CAPGC_E_NOT_A_CELL && !cg->checked) return;
  fatal(what, s);
}

/* Upvalues of unmarked threads: their values are marked if the upvalue
** is; the thread leaves 'twups'. */
static void remarkupvals(CapgcLua *cg) {
  global_State *g = cg->g;
  lua_State **p = &g->twups;
  lua_State *th;
  Mk m = {cg, NULL};
  while ((th = *p) != NULL) {
    if (ismarked(cg, NULL, obj2gco(th)) && th->openupval != NULL)
      p = &th->twups;
    else {
      *p = th->twups;
      th->twups = th; /* not in the list any more */
      for (UpVal *uv = th->openupval; uv != NULL; uv = uv->u.open.next)
        if (ismarked(cg, NULL, obj2gco(uv))) markvalue(&m, uv->v.p);
    }
  }
}

/* Marks values of ephemeron entries whose keys are marked, until none is
** left to mark. */
static void convergeephemerons(CapgcLua *cg) {
  global_State *g = cg->g;
  Mk m = {cg, NULL};
  int changed;
  do {
    changed = 0;
    for (GCObject *l = g->ephemeron; l != NULL; l = gco2t(l)->gclist) {
      Table *h = gco2t(l);
      for (Node *n = gnode(h, 0), *limit = gnodelast(h); n < limit; n++) {
        if (isempty(gval(n)) || !iscollectable(gval(n))) continue;
        if (!iscleared(cg, gckeyN(n)) && !ismarked(cg, NULL, gcvalue(gval(n)))) {
          mark(&m, gcvalue(gval(n)));
          changed = 1;
        }
      }
    }
    if (changed) check("drain", capgc_cells_drain(cg->cells), cg);
  } while (changed);
}

static void clearbykeys(CapgcLua *cg, GCObject *l) {
  for (; l; l = gco2t(l)->gclist) {
    Table *h = gco2t(l);
    for (Node *n = gnode(h, 0), *limit = gnodelast(h); n < limit; n++) {
      if (iscleared(cg, gckeyN(n))) setempty(gval(n));
      if (isempty(gval(n))) clearkey(n);
    }
  }
}

static void clearbyvalues(CapgcLua *cg, GCObject *l, GCObject *f) {
  for (; l != f; l = gco2t(l)->gclist) {
    Table *h = gco2t(l);
    unsigned int asize = luaH_realasize(h);
    for (unsigned int i = 0; i < asize; i++) {
      TValue *o = &h->array[i];
      if (iscleared(cg, gcvalueN(o))) setempty(o);
    }
    for (Node *n = gnode(h, 0), *limit = gnodelast(h); n < limit; n++) {
      if (iscleared(cg, gcvalueN(gval(n)))) setempty(gval(n));
      if (isempty(gval(n))) clearkey(n);
    }
  }
}

/* Moves unmarked objects with finalizers (all, if `all`) from 'finobj'
** to the end of 'tobefnz', in list order. */
static void separatetobefnz(CapgcLua *cg, int all) {
  global_State *g = cg->g;
  GCObject **p = &g->finobj;
  GCObject **last = &g->tobefnz;
  while (*last != NULL) last = &(*last)->next;
  GCObject *o;
  while ((o = *p) != NULL) {
    if (!all && ismarked(cg, NULL, o)) p = &o->next;
    else {
      *p = o->next;
      o->next = *last;
      *last = o;
      last = &o->next;
    }
  }
}

static void clearcache(CapgcLua *cg) {
  global_State *g = cg->g;
  for (int i = 0; i < STRCACHE_N; i++)
    for (int j = 0; j < STRCACHE_M; j++)
      if (!ismarked(cg, NULL, obj2gco(g->strcache[i][j]))) g->strcache[i][j] = g->memerrmsg;
}

/* With compartments (lcapgc.c): the weak references this cycle's weak
** tables kept after clearing are reported (capgc_cells_weak_edge: counted
** apart from the traced edges) when they cross. A compartment is one per
** 64 KiB block, so each page lies in one: 'Owners' caches a page's
** compartment (direct-mapped; valid for one atomic phase, in which
** nothing is allocated), so an entry costs a lookup here, not a call. */
#define OWNERS 256
typedef struct Owners {
  uintptr_t page[OWNERS]; /* page number + 1; 0: empty */
  capgc_cell_compartment_t comp[OWNERS];
} Owners;

/* The compartment of the cell `p` points into (0: not a cell). */
static capgc_cell_compartment_t ownerof(CapgcLua *cg, Owners *w, const void *p) {
  uintptr_t pg = (uintptr_t)p >> 12;
  unsigned k = (unsigned)(pg ^ (pg >> 8)) & (OWNERS - 1);
  if (w->page[k] == pg + 1) return w->comp[k];
  capgc_cell_compartment_t id = 0;
  if (capgc_cells_compartment_of(cg->cells, p, &id) != CAPGC_OK) return 0;
  w->page[k] = pg + 1;
  w->comp[k] = id;
  return id;
}

/* Reports the weak reference from weak table `h` (of compartment `hc`)
** to `o` if it crosses. Strings are values, never weak references; the
** main thread is no cell. */
static void weakedge(CapgcLua *cg, Owners *w, Table *h, capgc_cell_compartment_t hc,
                     const GCObject *o) {
  if (o == NULL || o == cg->mainobj || novariant(o->tt) == LUA_TSTRING) return;
  capgc_cell_compartment_t oc = ownerof(cg, w, o);
  if (oc != hc || oc == 0) check("weak_edge", capgc_cells_weak_edge(cg->cells, h, o), cg);
}

/* The weak references the weak tables of list `l` keep after clearing:
** their array parts if `arr`, their keys if `keys`, their values if
** `vals` (an ephemeron's values too: held through a weak key, marked by
** the fixpoint, never traced from the table). */
static void noteweak(CapgcLua *cg, Owners *w, GCObject *l, int arr, int keys, int vals) {
  for (; l; l = gco2t(l)->gclist) {
    Table *h = gco2t(l);
    capgc_cell_compartment_t hc = ownerof(cg, w, h);
    if (arr) {
      unsigned int asize = luaH_realasize(h);
      for (unsigned int i = 0; i < asize; i++) weakedge(cg, w, h, hc, gcvalueN(&h->array[i]));
    }
    for (Node *n = gnode(h, 0), *limit = gnodelast(h); n < limit; n++) {
      if (isempty(gval(n))) continue;
      if (keys && keyiscollectable(n)) weakedge(cg, w, h, hc, gckey(n));
      if (vals) weakedge(cg, w, h, hc, gcvalueN(gval(n)));
    }
  }
}

/* After the sweep: shrink the string table (not in emergencies), as
** stock's checkSizes; the finalizers' turn. */
static void endsweep(lua_State *L) {
  global_State *g = G(L);
  if (!g->gcemergency && g->strt.nuse < g->strt.size / 4 && g->strt.size > MINSTRTABSIZE)
    luaS_resize(L, g->strt.size / 2);
  g->gcstate = GCScallfin;
}

/* One lazy sweep step of at most `blocks` blocks and `cells` dead cells;
** its units of work (RELEASEWORK a cell released, SWEEPBLOCKWORK a block). */
static lu_mem sweepstep(lua_State *L, uint64_t blocks, uint64_t cells) {
  global_State *g = G(L);
  CapgcLua *cg = CG(g);
  lu_mem released0 = cg->released;
  l_mem olddebt = g->GCdebt;
  bool done = false;
  check("sweep", capgc_cells_sweep_some(cg->cells, blocks, cells, cb_keep, &done), cg);
  g->GCestimate += g->GCdebt - olddebt; /* what was freed */
  if (done) endsweep(L);
  return SWEEPBLOCKWORK * (lu_mem)(blocks < SWEEPBLOCKS ? blocks : SWEEPBLOCKS) +
         RELEASEWORK * (cg->released - released0);
}

/* The atomic phase and the sweep: marking ends (capgc_cells_begin: after
** capgc_cells_start, roots again and drain; otherwise a whole marking),
** 'grayagain' is traversed again, then Lua's weak, finalizer and cache
** rules; then capgc_cells_finish releases and reclaims the dead, or, if
** `lazy`, capgc_cells_begin_sweep leaves that to the sweep steps
** (GCSswpallgc). Returns stock's units of work (traversal, plus one per
** object released). */
static lu_mem atomic(lua_State *L, int lazy) {
  global_State *g = G(L);
  CapgcLua *cg = getcg(L);
  lu_mem work0 = cg->work;
  double t0 = cg->log ? cputime() : 0;
  lu_byte oldstopem = g->gcstopem;
  g->gcstopem = 1; /* no emergency collection inside this one */
  cg->L = L;
  cg->atomicgray = g->grayagain; /* traversed by cb_roots, as roots */
  g->grayagain = NULL;
  g->weak = g->ephemeron = g->allweak = NULL;
  g->gcstate = GCSatomic;
  resetmarkcache(cg); /* a cycle may start here (from idle); safe if not */
  check("begin", capgc_cells_begin(cg->cells), cg);
  Mk m = {cg, NULL};
  check("drain", capgc_cells_drain(cg->cells), cg);
  remarkupvals(cg);
  check("drain", capgc_cells_drain(cg->cells), cg);
  convergeephemerons(cg);
  clearbyvalues(cg, g->weak, NULL);
  clearbyvalues(cg, g->allweak, NULL);
  GCObject *origweak = g->weak, *origall = g->allweak;
  separatetobefnz(cg, 0);
  for (GCObject *o = g->tobefnz; o != NULL; o = o->next) mark(&m, o); /* resurrect */
  check("drain", capgc_cells_drain(cg->cells), cg);
  convergeephemerons(cg);
  clearbykeys(cg, g->ephemeron);
  clearbykeys(cg, g->allweak);
  clearbyvalues(cg, g->weak, origweak);
  clearbyvalues(cg, g->allweak, origall);
  clearcache(cg);
  if (l_unlikely(cg->comps)) { /* the report's weak references */
    Owners w;
    memset(w.page, 0, sizeof w.page);
    noteweak(cg, &w, g->weak, 1, 0, 1);
    noteweak(cg, &w, g->ephemeron, 0, 1, 1);
    noteweak(cg, &w, g->allweak, 1, 1, 1);
  }
  g->gcstate = GCSswpallgc;
  g->weak = g->ephemeron = g->allweak = NULL;
  lu_mem released0 = cg->released;
  if (lazy)
    check("begin_sweep", capgc_cells_begin_sweep(cg->cells), cg);
  else {
    check("finish", capgc_cells_finish(cg->cells, NULL), cg);
    endsweep(L);
  }
  g->GCestimate = gettotalbytes(g);
  g->gcstopem = oldstopem;
  cg->collections++;
  if (cg->log && cputime() - t0 > cg->atomic_max) cg->atomic_max = cputime() - t0;
  return (cg->work - work0) + (cg->released - released0);
}

/* The next collection when the memory in use reaches 'pause'% of what it
** was after this one (Lua's setpause). */
static void setpause(global_State *g) {
  int pause = getgcparam(g->gcpause);
  l_mem estimate = (l_mem)(g->GCestimate / 100);
  l_mem threshold = (estimate > 0 && pause < MAX_LMEM / estimate) ? estimate * pause : MAX_LMEM;
  l_mem debt = gettotalbytes(g) - threshold;
  if (debt > 0) debt = 0;
  luaE_setdebt(g, debt);
}

static void dothecall(lua_State *L, void *ud) {
  UNUSED(ud);
  luaD_callnoyield(L, L->top.p - 2, 0);
}

/* Calls the first object's finalizer (Lua's GCTM). */
static void GCTM(lua_State *L) {
  global_State *g = G(L);
  GCObject *o = g->tobefnz;
  g->tobefnz = o->next;
  o->next = NULL;
  resetbit(o->marked, FINALIZEDBIT); /* may be registered again */
  TValue v;
  setgcovalue(L, &v, o);
  const TValue *tm = luaT_gettmbyobj(L, &v, TM_GC);
  if (!notm(tm)) {
    lu_byte oldah = L->allowhook;
    lu_byte oldgcstp = g->gcstp;
    g->gcstp |= GCSTPGC; /* no collection inside a finalizer */
    L->allowhook = 0;
    setobj2s(L, L->top.p++, tm);
    setobj2s(L, L->top.p++, &v);
    L->ci->callstatus |= CIST_FIN;
    int status = luaD_pcall(L, dothecall, NULL, savestack(L, L->top.p - 2), 0);
    L->ci->callstatus &= ~CIST_FIN;
    L->allowhook = oldah;
    g->gcstp = oldgcstp;
    if (l_unlikely(status != LUA_OK)) {
      luaE_warnerror(L, "__gc");
      L->top.p--;
    }
  }
}

static void callallpendingfinalizers(lua_State *L) {
  global_State *g = G(L);
  while (g->tobefnz) GCTM(L);
}

/* Runs the pending finalizers after a cycle, as stock Lua's GCScallfin and
** finishgencycle do: not in an emergency, and not when the stacks are too
** short to call one (luaD_checkminstack: a C-stack slot, two CallInfos,
** BASIC_STACK_SIZE Lua slots). Postponed objects stay in 'tobefnz', a root
** of every cycle, and run after a later cycle or at lua_close; calling
** them anyway would fail with "C stack overflow" and lose them. */
static void callpendingfinalizers(lua_State *L) {
  global_State *g = G(L);
  if (g->tobefnz != NULL && !g->gcemergency && luaD_checkminstack(L))
    callallpendingfinalizers(L);
}

static int runafewfinalizers(lua_State *L, int n) {
  global_State *g = G(L);
  int i;
  for (i = 0; i < n && g->tobefnz; i++) GCTM(L);
  return i;
}

/* One step of the cycle's state machine (stock's singlestep, with the
** sweep inside the atomic phase). Returns stock's units of work. */
static lu_mem singlestep(lua_State *L) {
  global_State *g = G(L);
  CapgcLua *cg = getcg(L);
  lu_mem work = 0;
  g->gcstopem = 1; /* no emergency collections while collecting */
  switch (g->gcstate) {
    case GCSpause: {
      lu_mem work0 = cg->work;
      cg->L = L;
      g->grayagain = NULL; /* empty: the last atomic phase took it all */
      g->gcstate = GCSpropagate; /* traces see the phase */
      resetmarkcache(cg); /* a new cycle: nothing is marked */
      check("start", capgc_cells_start(cg->cells), cg);
      work = 1 + (cg->work - work0);
      break;
    }
    case GCSpropagate: {
      lu_mem work0 = cg->work;
      bool done = false;
      check("step", capgc_cells_step(cg->cells, STEPCELLS, &done), cg);
      if (done && bigpending(cg)) bigslice(cg); /* its marks, the next steps */
      else if (done) g->gcstate = GCSenteratomic;
      work = cg->work - work0;
      break;
    }
    case GCSenteratomic: work = atomic(L, 1); break; /* then GCSswpallgc */
    case GCSswpallgc: work = sweepstep(L, SWEEPBLOCKS, SWEEPCELLS); break; /* then GCScallfin */
    case GCScallfin: {
      if (g->tobefnz && !g->gcemergency && luaD_checkminstack(L)) {
        g->gcstopem = 0; /* collections are fine during finalizers */
        work = cast(lu_mem, runafewfinalizers(L, GCFINMAX)) * GCFINALIZECOST;
      } else
        g->gcstate = GCSpause; /* the cycle is over */
      break;
    }
    default: g->gcstate = GCSpause; break; /* not reached */
  }
  g->gcstopem = 0;
  return work;
}

/* Stock's incstep: the debt, converted to units of work, is paid by
** single steps until a credit of 'stepsize' or the end of a cycle. (A
** large debt -- one big allocation -- is paid in one entry, as in stock:
** collectgarbage("step", n) relies on it to finish a cycle.) */
static void incstep(lua_State *L, global_State *g) {
  int stepmul = (getgcparam(g->gcstepmul) | 1); /* avoid division by 0 */
  l_mem debt = (g->GCdebt / (l_mem)WORK2MEM) * stepmul;
  l_mem stepsize = (g->gcstepsize <= log2maxs(l_mem))
                       ? ((cast(l_mem, 1) << g->gcstepsize) / (l_mem)WORK2MEM) * stepmul
                       : MAX_LMEM;
  do {
    lu_mem work = singlestep(L);
    debt -= (l_mem)work;
  } while (debt > -stepsize && g->gcstate != GCSpause);
  if (g->gcstate == GCSpause)
    setpause(g);
  else {
    debt = (debt / stepmul) * (l_mem)WORK2MEM;
    luaE_setdebt(g, debt);
  }
}

/* Completes a cycle in progress, at once (finalizers stay pending). */
static void finishcycle(lua_State *L) {
  global_State *g = G(L);
  if (g->gcstate == GCSpropagate || g->gcstate == GCSenteratomic) atomic(L, 0);
  if (g->gcstate == GCSswpallgc) sweepstep(L, UINT64_MAX, UINT64_MAX);
  if (g->gcstate == GCScallfin) g->gcstate = GCSpause;
}

/* A whole collection: any cycle in progress is completed first (its
** marks stand; it may keep what died since it started), then a new one
** runs from the roots, atomically. */
static void fullcycle(lua_State *L) {
  global_State *g = G(L);
  finishcycle(L);
  atomic(L, 0);
  g->gcstate = GCSpause;
}

void luaC_step(lua_State *L) {
  global_State *g = G(L);
  if (!gcrunning(g)) {
    luaE_setdebt(g, -2000);
    return;
  }
  CapgcLua *cg = getcg(L);
  double t0 = cg->log ? cputime() : 0;
  int from = g->gcstate;
  lu_mem work0 = cg->work + cg->released;
  if (g->gckind == KGC_INC)
    incstep(L, g);
  else {
    fullcycle(L); /* generational mode: whole collections, as before */
    setpause(g);
    callpendingfinalizers(L);
  }
  if (cg->log) {
    double t = cputime() - t0;
    if (t > cg->pause_max) {
      cg->worst_from = from;
      cg->worst_to = g->gcstate;
      cg->worst_work = cg->work + cg->released - work0;
    }
    notepause(cg, t);
  }
}

void luaC_fullgc(lua_State *L, int isemergency) {
  global_State *g = G(L);
  g->gcemergency = cast_byte(isemergency);
  fullcycle(L);
  setpause(g);
  g->gcemergency = 0;
  if (!isemergency) callpendingfinalizers(L);
}

/* Advances the collector until it reaches a state in `statesmask`; a
** state this collector never stops in (the sweep states) is reached as
** the next pause. */
void luaC_runtilstate(lua_State *L, int statesmask) {
  global_State *g = G(L);
  int ours = bitmask(GCSpause) | bitmask(GCSpropagate) | bitmask(GCSenteratomic) |
             bitmask(GCScallfin);
  if (!(statesmask & ours)) statesmask |= bitmask(GCSpause);
  while (!testbit(statesmask, g->gcstate)) singlestep(L);
}

void luaC_freeallobjects(lua_State *L) {
  global_State *g = G(L);
  g->gcstp = GCSTPCLS; /* no extra finalizers after here */
  if (!hascg(g)) return; /* nothing was ever allocated */
  CapgcLua *cg = CG(g);
  finishcycle(L); /* the heap must be idle to release everything */
  separatetobefnz(cg, 1);
  callallpendingfinalizers(L);
  g->fixedgc = NULL;
  capgc_status_t s = capgc_cells_release_all(cg->cells, NULL);
  if (s != CAPGC_OK) fatal("capgc_cells_release_all", s);
  if (getenv("CAPGC_LOG") && strstr(getenv("CAPGC_LOG"), "gc")) {
    capgc_cell_stats_t st;
    if (capgc_cells_stats(cg->cells, &st) == CAPGC_OK)
      fprintf(stderr,
              "[capgc lua] %llu collections, total pause %.3f ms, max %.3f ms; "
              "%llu incremental steps, max %.3f ms (wall)\n",
              (unsigned long long)st.collections, (double)st.total_pause_ns / 1e6,
              (double)st.max_pause_ns / 1e6, (unsigned long long)st.steps,
              (double)st.max_step_ns / 1e6);
    fprintf(stderr,
            "[capgc lua] collector entries (luaC_step, CPU time): %llu, max %.3f ms, p99 %.3f ms, "
            "p99.9 %.3f ms; longest atomic phase %.3f ms\n",
            cg->pauses, cg->pause_max * 1e3, pausequantile(cg, 0.99) * 1e3,
            pausequantile(cg, 0.999) * 1e3, cg->atomic_max * 1e3);
    fprintf(stderr,
            "[capgc lua] longest entry: gcstate %d to %d, %llu units traced or released\n",
            cg->worst_from, cg->worst_to, (unsigned long long)cg->worst_work);
  }
  capgc_cells_free(cg->cells);
  free(cg->bigq);
  free(cg);
  g->allgc = NULL;
}

/* ---- compartments (lcapgc.c) ---------------------------------------- */

/* The cell heap of `L`'s state, created if need be: what the `capgc`
** library (lcapgc.c) makes compartments in. */
capgc_cells_t *luaC_capgccells(lua_State *L) {
  CapgcLua *cg = getcg(L);
  cg->comps = 1;
  resetmarkcache(cg); /* not used from now on (a compartment's own cycles) */
  return cg->cells;
}
