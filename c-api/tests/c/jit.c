/* The JIT integration of docs/porting.md §3d, run as machine code: a tiny
 * x86-64 emitter writes the inline allocation sequence and the reference
 * store with its barrier filter into an mmap'd page (made executable with
 * mprotect), from the constants capgc.h publishes only (CAPGC_MUTATOR_*,
 * CAPGC_FAST_*), no assembler and no capgc_fast.h. Binary trees are built
 * and walked through the emitted code, with the roots in the shadow stack,
 * under every plan in Native and P128, the verifier after every collection
 * (zeal's `verify`); the checksum must equal the same workload's through
 * capgc_fast.h's C functions. In SoftCheri the mutator must say checked
 * (nothing lent, max_len 0): a JIT calls the checked entries there, and
 * the workload runs through them. Attacks: emitted code that writes a
 * bad header is refused (CAPGC_E_CORRUPT) at the heap's next call.
 *
 * On anything but x86-64 it prints why and exits 0 (c_programs.rs then
 * expects that line). Usage: jit [depth [nursery KiB [unchecked]]]
 * (default 10 256; `unchecked`: Native and P128 only). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS under -std=c11 */
#include "capgc_fast.h"
#include "common.h"

#if defined(__x86_64__) && defined(__linux__)
#include <sys/mman.h>

/* ---- the emitter ----------------------------------------------------------- */

typedef struct {
  uint8_t *base, *at, *end;
} code_t;

static void byte(code_t *c, uint8_t b) {
  ASSERT(c->at < c->end);
  *c->at++ = b;
}
static void bytes(code_t *c, const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) byte(c, b[i]);
}
static void imm32(code_t *c, int64_t v) {
  ASSERT(v >= INT32_MIN && v <= INT32_MAX);
  uint32_t u = (uint32_t)(int32_t)v;
  for (int i = 0; i < 4; i++) byte(c, (uint8_t)(u >> (8 * i)));
}
static void imm64(code_t *c, uint64_t v) {
  for (int i = 0; i < 8; i++) byte(c, (uint8_t)(v >> (8 * i)));
}

/* Registers (low 3 bits; none of r8-r15 is used). */
enum { RAX = 0, RCX = 1, RDX = 2, RSI = 6, RDI = 7 };

/* REX.W op reg, [base + disp32] (mod 10). */
static void mem(code_t *c, uint8_t op, int reg, int base, int64_t disp) {
  byte(c, 0x48);
  byte(c, op);
  byte(c, (uint8_t)(0x80 | (reg << 3) | base));
  imm32(c, disp);
}
static void load(code_t *c, int dst, int base, int64_t disp) { mem(c, 0x8b, dst, base, disp); }  /* mov dst, [base+d] */
static void store(code_t *c, int base, int64_t disp, int src) { mem(c, 0x89, src, base, disp); } /* mov [base+d], src */
/* mov qword [base + disp], simm32 */
static void store_imm(code_t *c, int base, int64_t disp, int64_t v) {
  mem(c, 0xc7, 0, base, disp);
  imm32(c, v);
}
static void mov_rr(code_t *c, int dst, int src) { bytes(c, (uint8_t[]){0x48, 0x89, (uint8_t)(0xc0 | (src << 3) | dst)}, 3); }
static void mov_imm64(code_t *c, int dst, uint64_t v) {
  byte(c, 0x48);
  byte(c, (uint8_t)(0xb8 + dst));
  imm64(c, v);
}
static void xor_eax(code_t *c) { bytes(c, (uint8_t[]){0x31, 0xc0}, 2); }
static void ret(code_t *c) { byte(c, 0xc3); }
/* A tail call: mov rax, fn; jmp rax (nothing pushed, so the stack is as
 * the caller left it). */
static void tail_call(code_t *c, void *fn) {
  mov_imm64(c, RAX, (uint64_t)(uintptr_t)fn);
  bytes(c, (uint8_t[]){0xff, 0xe0}, 2);
}
/* jcc rel32 to be patched; returns the displacement's place. */
enum { JB = 0x82, JAE = 0x83, JE = 0x84, JNE = 0x85, JA = 0x87 };
static uint8_t *jcc(code_t *c, uint8_t cc) {
  byte(c, 0x0f);
  byte(c, cc);
  uint8_t *p = c->at;
  imm32(c, 0);
  return p;
}
static void patch(uint8_t *p, uint8_t *target) {
  int32_t d = (int32_t)(target - (p + 4));
  memcpy(p, &d, 4);
}

/* ---- the out-of-line halves: C stubs the emitted code tail-calls ----------- */

static uint64_t g_fast, g_slow, g_remembered;

static capgc_status_t slow_alloc(capgc_mutator_t *m, capgc_ref_t *out, uint64_t ty, uint64_t len) {
  g_slow++;
  return capgc_fast_alloc_slow(m, (capgc_type_t)ty, len, out);
}
static capgc_status_t remember(capgc_mutator_t *m, uint64_t obj, uint64_t offset) {
  g_remembered++;
  capgc_ref_t r = {obj, 0};
  return capgc_fast_remember(m, r, offset);
}

/* The emitted entry points (System V). */
typedef capgc_status_t (*alloc_fn)(capgc_mutator_t *m, capgc_ref_t *out);
typedef capgc_status_t (*store_ref_fn)(capgc_mutator_t *m, uint64_t obj, uint64_t val);
typedef void (*store_u64_fn)(uint64_t obj, uint64_t v);
typedef uint64_t (*load_fn)(uint64_t obj);

typedef struct {
  alloc_fn alloc;
  store_ref_fn store_left, store_right;
  store_u64_fn store_val;
  load_fn load_left, load_right, load_val;
  void (*push)(capgc_mutator_t *m, uint64_t addr);
  uint64_t (*pop)(capgc_mutator_t *m), (*peek)(capgc_mutator_t *m);
  code_t code;
} jit_t;

/* §3d's allocation, specialised to (ty, len) as a JIT does: rdi = M,
 * rsi = out. The cell size is folded at compile time from the mutator's
 * align (fixed for the heap's life). The test's own addition: the inline
 * path counts its hits in g_fast (an `inc` before the return). */
static void *emit_alloc(code_t *c, const capgc_mutator_t *m, capgc_type_t ty, uint64_t len) {
  void *entry = c->at;
  uint64_t a = m->align, n = len ? len : 1;
  uint64_t cell = a + ((n + a - 1) & ~(a - 1)); /* the header is m->align bytes */
  load(c, RAX, RDI, CAPGC_MUTATOR_MAX_LEN); /* len <= max_len, else out of line */
  bytes(c, (uint8_t[]){0x48, 0x3d}, 2);     /* cmp rax, imm32 */
  imm32(c, (int64_t)len);
  uint8_t *to_slow1 = jcc(c, JB);
  load(c, RAX, RDI, CAPGC_MUTATOR_CURSOR);        /* at = cursor */
  mem(c, 0x8d, RDX, RAX, (int64_t)cell);         /* lea rdx, [at + cell] */
  mem(c, 0x3b, RDX, RDI, CAPGC_MUTATOR_LIMIT);   /* cmp end, limit */
  uint8_t *to_slow2 = jcc(c, JA);
  store(c, RDI, CAPGC_MUTATOR_CURSOR, RDX);      /* cursor = end */
  if (a == CAPGC_FAST_HEADER_NATIVE_SIZE) {      /* Native: one word, folded */
    mov_imm64(c, RCX, (uint64_t)(uint32_t)ty << CAPGC_FAST_HEADER_NATIVE_TYPE_SHIFT |
                          len << CAPGC_FAST_HEADER_NATIVE_LEN_SHIFT);
    store(c, RAX, 0, RCX);                       /* mov [at], rcx */
  } else {                                       /* P128: the type, the length */
    store_imm(c, RAX, CAPGC_FAST_HEADER_P128_SIZE - CAPGC_FAST_HEADER_P128_TYPE, (int64_t)(uint32_t)ty);
    store_imm(c, RAX, CAPGC_FAST_HEADER_P128_SIZE - CAPGC_FAST_HEADER_P128_LEN, (int64_t)len);
  }
  bytes(c, (uint8_t[]){0x48, 0x05}, 2);          /* add rax, header (m->align) */
  imm32(c, (int64_t)a);
  store(c, RSI, 0, RAX);                         /* out->addr */
  store_imm(c, RSI, 8, 0);                       /* out->meta */
  mov_imm64(c, RAX, (uint64_t)(uintptr_t)&g_fast);
  bytes(c, (uint8_t[]){0x48, 0xff, 0x00}, 3);    /* inc qword [rax] */
  xor_eax(c);                                    /* CAPGC_OK */
  ret(c);
  patch(to_slow1, c->at);
  patch(to_slow2, c->at);
  mov_imm64(c, RDX, ty);                         /* slow_alloc(M, out, ty, len) */
  mov_imm64(c, RCX, len);
  tail_call(c, (void *)slow_alloc);
  return entry;
}

/* young(reg) per §3d into flags: ZF set when young. Clobbers rax, rcx.
 * Returns the jae to patch to "not young". */
static uint8_t *emit_young(code_t *c, int reg) {
  mov_rr(c, RAX, reg);
  mem(c, 0x2b, RAX, RDI, CAPGC_MUTATOR_BLOCK_BASE);   /* sub rax, block_base */
  bytes(c, (uint8_t[]){0x48, 0xc1, 0xe8, CAPGC_FAST_BLOCK_SHIFT}, 4); /* shr rax, SHIFT */
  mem(c, 0x3b, RAX, RDI, CAPGC_MUTATOR_BLOCK_COUNT);  /* cmp i, block_count */
  uint8_t *not_young = jcc(c, JAE);
  load(c, RCX, RDI, CAPGC_MUTATOR_BLOCK_STATES);
  bytes(c, (uint8_t[]){0x0f, 0xb7, 0x04, 0x41}, 4);   /* movzx eax, word [rcx + rax*2] */
  bytes(c, (uint8_t[]){0x3b, 0x87}, 2);               /* cmp eax, dword [rdi + YOUNG_STATE] */
  imm32(c, CAPGC_MUTATOR_YOUNG_STATE);
  return not_young;
}

/* §3d's reference store `obj.f = val` and the barrier: rdi = M, rsi =
 * obj's payload address, rdx = val's (0 for null). */
static void *emit_store_ref(code_t *c, const capgc_mutator_t *m, uint64_t f) {
  void *entry = c->at;
  store(c, RSI, (int64_t)f, RDX);
  if (m->align == 16) { /* P128: the second word is the value's length */
    xor_eax(c);
    bytes(c, (uint8_t[]){0x48, 0x85, 0xd2}, 3); /* test rdx, rdx */
    uint8_t *null = jcc(c, JE);
    load(c, RAX, RDX, -8);
    patch(null, c->at);
    store(c, RSI, (int64_t)f + 8, RAX);
  }
  bytes(c, (uint8_t[]){0x83, 0xbf}, 2); /* cmp dword [rdi + BARRIER], 0 */
  imm32(c, CAPGC_MUTATOR_BARRIER);
  byte(c, 0);
  uint8_t *done1 = jcc(c, JE);
  bytes(c, (uint8_t[]){0x48, 0x85, 0xd2}, 3); /* test rdx, rdx: null needs nothing */
  uint8_t *done2 = jcc(c, JE);
  uint8_t *holder_old = emit_young(c, RSI);
  uint8_t *done3 = jcc(c, JE); /* a young holder: done */
  patch(holder_old, c->at);
  uint8_t *done4 = emit_young(c, RDX);
  uint8_t *done5 = jcc(c, JNE); /* an old value: done */
  mov_imm64(c, RDX, f);          /* remember(M, obj, f) */
  tail_call(c, (void *)remember);
  uint8_t *done = c->at;
  patch(done1, done), patch(done2, done), patch(done3, done), patch(done4, done), patch(done5, done);
  xor_eax(c);
  ret(c);
  return entry;
}

/* mov [rdi + f], rsi; ret */
static void *emit_store_u64(code_t *c, uint64_t f) {
  void *entry = c->at;
  store(c, RDI, (int64_t)f, RSI);
  ret(c);
  return entry;
}
/* mov rax, [rdi + f]; ret */
static void *emit_load(code_t *c, uint64_t f) {
  void *entry = c->at;
  load(c, RAX, RDI, (int64_t)f);
  ret(c);
  return entry;
}

/* The shadow stack (§3d's roots), from CAPGC_MUTATOR_ROOTS/_ROOTS_TOP:
 * push(M, addr) writes the entry {addr, 0} and bumps the top. */
static void *emit_push(code_t *c) {
  void *entry = c->at;
  load(c, RAX, RDI, CAPGC_MUTATOR_ROOTS_TOP);
  load(c, RCX, RDI, CAPGC_MUTATOR_ROOTS);
  bytes(c, (uint8_t[]){0x48, 0xc1, 0xe0, 4}, 4);                    /* shl rax, 4: 16-byte entries */
  bytes(c, (uint8_t[]){0x48, 0x89, 0x34, 0x01}, 4);                 /* mov [rcx + rax], rsi */
  bytes(c, (uint8_t[]){0x48, 0xc7, 0x44, 0x01, 8, 0, 0, 0, 0}, 9); /* mov qword [rcx + rax + 8], 0 */
  mem(c, 0xff, 0, RDI, CAPGC_MUTATOR_ROOTS_TOP);                    /* inc qword [M + ROOTS_TOP] */
  ret(c);
  return entry;
}
/* pop(M) (or peek(M), which leaves the top): the top entry's address. */
static void *emit_pop(code_t *c, int peek) {
  void *entry = c->at;
  load(c, RAX, RDI, CAPGC_MUTATOR_ROOTS_TOP);
  bytes(c, (uint8_t[]){0x48, 0xff, 0xc8}, 3); /* dec rax */
  if (!peek) store(c, RDI, CAPGC_MUTATOR_ROOTS_TOP, RAX);
  load(c, RCX, RDI, CAPGC_MUTATOR_ROOTS);
  bytes(c, (uint8_t[]){0x48, 0xc1, 0xe0, 4}, 4);    /* shl rax, 4 */
  bytes(c, (uint8_t[]){0x48, 0x8b, 0x04, 0x01}, 4); /* mov rax, [rcx + rax] */
  ret(c);
  return entry;
}

static jit_t compile(const capgc_mutator_t *m, capgc_type_t node, uint64_t len) {
  jit_t j;
  size_t size = 4096;
  void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT(p != MAP_FAILED);
  j.code.base = j.code.at = p;
  j.code.end = j.code.base + size;
  code_t *c = &j.code;
  uint64_t a = m->align;
  j.alloc = (alloc_fn)emit_alloc(c, m, node, len);
  j.store_left = (store_ref_fn)emit_store_ref(c, m, 0);
  j.store_right = (store_ref_fn)emit_store_ref(c, m, a);
  j.store_val = (store_u64_fn)emit_store_u64(c, 2 * a);
  j.load_left = (load_fn)emit_load(c, 0);
  j.load_right = (load_fn)emit_load(c, a);
  j.load_val = (load_fn)emit_load(c, 2 * a);
  j.push = (void (*)(capgc_mutator_t *, uint64_t))emit_push(c);
  j.pop = (uint64_t (*)(capgc_mutator_t *))emit_pop(c, 0);
  j.peek = (uint64_t (*)(capgc_mutator_t *))emit_pop(c, 1);
  ASSERT(mprotect(p, size, PROT_READ | PROT_EXEC) == 0);
  return j;
}

static void release(jit_t *j) { ASSERT(munmap(j->code.base, (size_t)(j->code.end - j->code.base)) == 0); }

/* ---- the workload ------------------------------------------------------------ */

static capgc_type_t g_node;
static capgc_mutator_t *m;
static capgc_ref_t g_stack[256];
static jit_t g_jit;
static uint64_t g_nursery_kib = 256;
static int g_use_jit; /* 1: the emitted code; 0: capgc_fast.h (checked entries in SoftCheri) */

/* The shadow stack: the emitted push/pop, or capgc_fast.h's. */
static void push(capgc_ref_t r) {
  if (g_use_jit) g_jit.push(m, r.addr);
  else capgc_fast_push(m, r);
}
static capgc_ref_t pop(void) { return g_use_jit ? (capgc_ref_t){g_jit.pop(m), 0} : capgc_fast_pop(m); }
static capgc_ref_t top(void) {
  return g_use_jit ? (capgc_ref_t){g_jit.peek(m), 0} : capgc_fast_root(m, m->roots_top - 1);
}

/* A tree of `depth` pushed on the shadow stack, each node's value its
 * depth plus `salt`. */
static void tree(int depth, uint64_t salt) {
  capgc_ref_t n;
  uint64_t a = m->align, v = (uint64_t)depth + salt;
  if (g_use_jit) {
    CHECK(g_jit.alloc(m, &n));
    g_jit.store_val(n.addr, v);
  } else {
    CHECK(capgc_fast_alloc(m, g_node, 2 * a + 8, &n));
    CHECK(capgc_fast_store_u64(m, n, 2 * a, v));
  }
  push(n);
  if (depth == 0) return;
  tree(depth - 1, salt);
  tree(depth - 1, salt);
  capgc_ref_t r = pop(), l = pop();
  n = top(); /* may have moved */
  if (g_use_jit) {
    CHECK(g_jit.store_left(m, n.addr, l.addr));
    CHECK(g_jit.store_right(m, n.addr, r.addr));
  } else {
    CHECK(capgc_fast_store_ref(m, n, 0, l));
    CHECK(capgc_fast_store_ref(m, n, a, r));
  }
}

/* A checksum of the tree at `n`: every node's value, weighted by its
 * place, and its shape (null children exactly at the leaves). */
static uint64_t walk(capgc_ref_t n, uint64_t place) {
  uint64_t a = m->align, v;
  capgc_ref_t l, r;
  if (g_use_jit) {
    v = g_jit.load_val(n.addr);
    l = (capgc_ref_t){g_jit.load_left(n.addr), 0};
    r = (capgc_ref_t){g_jit.load_right(n.addr), 0};
  } else {
    CHECK(capgc_fast_load_u64(m, n, 2 * a, &v));
    CHECK(capgc_fast_load_ref(m, n, 0, &l));
    CHECK(capgc_fast_load_ref(m, n, a, &r));
  }
  uint64_t sum = v * (place % 1000003 + 1);
  ASSERT(capgc_is_null(l) == capgc_is_null(r));
  if (a == 16 && !m->checked) { /* P128: each slot's second word is its value's length */
    const uint64_t *p = (const uint64_t *)(uintptr_t)n.addr;
    ASSERT(p[1] == (capgc_is_null(l) ? 0 : ((const uint64_t *)(uintptr_t)l.addr)[-1]));
    ASSERT(p[3] == (capgc_is_null(r) ? 0 : ((const uint64_t *)(uintptr_t)r.addr)[-1]));
  }
  if (!capgc_is_null(l)) sum += walk(l, 2 * place) + walk(r, 2 * place + 1);
  return sum;
}

/* binary-trees: a stretch tree, a long-lived tree, then rounds of short
 * trees, checksummed. */
static uint64_t binary_trees(capgc_heap_t *h, int max_depth) {
  uint64_t sum = 0;
  tree(max_depth + 1, 0);
  sum += walk(pop(), 1);
  tree(max_depth, 7); /* long-lived: stays at roots[0] */
  for (int d = 4; d <= max_depth; d += 2) {
    int iters = 1 << (max_depth - d + 4);
    for (int i = 0; i < iters; i++) {
      tree(d, (uint64_t)i);
      sum += walk(pop(), (uint64_t)i + 1);
    }
    CHECK(capgc_collect(h, NULL));
  }
  sum += walk(pop(), 3);
  ASSERT(m->roots_top == 0);
  return sum;
}

static capgc_heap_t *setup(const config_t *c) {
  capgc_config_t cfg = capgc_config_default();
  cfg.mode = c->mode;
  cfg.format = c->format;
  cfg.plan = c->plan;
  cfg.limit = 64 << 20;
  cfg.initial_size = g_nursery_kib << 12; /* 1 MiB by default */
  cfg.nursery_size = g_nursery_kib << 10;
  cfg.pause_goal_us = 0;
  cfg.zeal_flags = CAPGC_ZEAL_VERIFY; /* the verifier after every collection */
  capgc_heap_t *h = NULL;
  CHECK(capgc_heap_new(&cfg, &h));
  CHECK(capgc_type_record(h, 2, 8, &g_node));
  CHECK(capgc_mutator(h, &m));
  CHECK(capgc_fast_roots(m, g_stack, 256));
  return h;
}

/* The workload one way; returns its checksum, checks the heap after. */
static uint64_t run(const config_t *c, int use_jit, int depth, uint64_t *collections) {
  capgc_heap_t *h = setup(c);
  g_use_jit = use_jit;
  if (use_jit) g_jit = compile(m, g_node, 2 * m->align + 8);
  uint64_t sum = binary_trees(h, depth);
  verified(h);
  capgc_stats_t st;
  CHECK(capgc_heap_stats(h, &st));
  *collections = st.collections;
  if (use_jit) release(&g_jit);
  capgc_heap_free(h);
  return sum;
}

/* Emitted code that writes a bad header (a type no one registered, a
 * length the node type refuses) is caught when the heap takes the buffer
 * back, at the next call: CAPGC_E_CORRUPT, and it stays refused. Unchecked
 * moving plans only (elsewhere nothing is lent). */
static void emitted_attacks(const config_t *c) {
  if (c->mode == CAPGC_MODE_SOFTCHERI || c->plan == CAPGC_PLAN_MARKSWEEP) return;
  for (int k = 0; k < 2; k++) {
    capgc_heap_t *h = setup(c);
    uint64_t len = 2 * m->align + 8;
    jit_t good = compile(m, g_node, len);
    jit_t bad = k == 0 ? compile(m, (capgc_type_t)9999, len) : compile(m, g_node, len - 8);
    capgc_ref_t r;
    CHECK(good.alloc(m, &r)); /* out of line: lends a buffer */
    ASSERT(m->limit != 0);
    uint64_t before = g_fast;
    CHECK(bad.alloc(m, &r)); /* inline: nothing checks yet */
    ASSERT(g_fast == before + 1);
    EXPECT(capgc_collect(h, NULL), CAPGC_E_CORRUPT);
    EXPECT(capgc_collect(h, NULL), CAPGC_E_CORRUPT);
    release(&good);
    release(&bad);
    capgc_heap_free(h);
  }
}

int main(int argc, char **argv) {
  int depth = argc > 1 ? atoi(argv[1]) : 10;
  if (argc > 2) g_nursery_kib = (uint64_t)atoi(argv[2]);
  ASSERT(depth >= 4 && depth <= 20 && g_nursery_kib >= 64);
  int unchecked_only = argc > 3 && strcmp(argv[3], "unchecked") == 0; /* .ci/run's valgrind */
  size_t ran = 0;
  uint64_t explicit_collections = (uint64_t)(depth - 4) / 2 + 1;
  for (size_t i = 0; i < NCONFIGS; i++) {
    const config_t *c = &CONFIGS[i];
    g_where = c->name;
    if (unchecked_only && c->mode == CAPGC_MODE_SOFTCHERI) continue;
    ran++;
    uint64_t col_c = 0, col_j = 0;
    uint64_t want = run(c, 0, depth, &col_c);
    if (c->mode == CAPGC_MODE_SOFTCHERI) {
      /* Nothing is lent: a JIT must call the checked entries, which is
       * what capgc_fast.h's functions did in the run above. */
      capgc_heap_t *h = setup(c);
      ASSERT(m->checked == 1 && m->max_len == 0 && m->limit == 0);
      capgc_ref_t r;
      CHECK(capgc_fast_alloc_slow(m, g_node, 2 * m->align + 8, &r));
      ASSERT(m->checked == 1 && m->max_len == 0 && m->limit == 0 && m->cursor == 0);
      capgc_heap_free(h);
      printf("%-24s checked: nothing lent, checksum %llu, %llu collections\n", c->name,
             (unsigned long long)want, (unsigned long long)col_c);
      continue;
    }
    g_fast = g_slow = g_remembered = 0;
    uint64_t got = run(c, 1, depth, &col_j);
    if (got != want) {
      fprintf(stderr, "[%s] emitted code's checksum %llu, capgc_fast.h's %llu\n", c->name,
              (unsigned long long)got, (unsigned long long)want);
      exit(1);
    }
    ASSERT(col_j > explicit_collections && g_slow >= 1); /* and some the heap chose */
    /* MarkSweep lends nothing (max_len 0): every allocation goes out of
     * line; the moving plans bump inline. */
    if (c->plan == CAPGC_PLAN_MARKSWEEP) ASSERT(g_fast == 0);
    else ASSERT(g_fast > g_slow);
    /* Generational: collections inside a tree's construction promote
     * holders whose young children the filter sends to remember. */
    if (c->plan == CAPGC_PLAN_GENERATIONAL) ASSERT(g_remembered > 0);
    else ASSERT(g_remembered == 0);
    emitted_attacks(c);
    printf("%-24s emitted: checksum %llu, %llu inline + %llu out-of-line allocations, %llu remembered, "
           "%llu collections\n",
           c->name, (unsigned long long)got, (unsigned long long)g_fast, (unsigned long long)g_slow,
           (unsigned long long)g_remembered, (unsigned long long)col_j);
  }
  printf("jit: %zu configurations ok\n", ran);
  return 0;
}

#else
int main(void) {
  printf("jit: skipped: the emitter writes x86-64 machine code (Linux mmap)\n");
  return 0;
}
#endif
