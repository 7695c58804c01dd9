/*
 * scheme.h — the shared declarations of the CapGC Scheme interpreter.
 *
 * Map of the sources (each file's comment says more):
 *   mem.c      the heap layer: the only file that calls the object and slot
 *              functions of capgc.h; two backends (a plain heap through the
 *              slot API, a compartment of a split heap) behind one set of
 *              slot-indexed operations
 *   value.c    values and objects: slots + words, pairs, strings, vectors,
 *              symbols (weakly interned), globals, constants
 *   print.c    display / write
 *   reader.c   text -> heap data
 *   compile.c  heap data -> the C-side code tree (lexical addresses)
 *   eval.c     the machine: an explicit-stack eval/apply loop
 *   prims.c, prims_data.c  the primitives
 *   weak.c     ephemeron tables and finalizers
 *   compart.c  the compartments: export / import / unseal
 *   prelude.c  Scheme-level library (map, for-each, ...)
 *   main.c     flags, script runner, REPL, statistics
 *
 * The value representation (see README.md, "Rooting design"):
 * a Scheme value is a pair (reference, word). The reference lives in tagged
 * memory only — a slot of the VM's root region or a reference field of a
 * CapGC object — and the word is plain data: its low byte is the kind, the
 * rest a payload (a fixnum, a character, a symbol id, a length, a code
 * index, ...). For an immediate (fixnum, boolean, '(), ...) the reference is
 * null. For a heap kind the word says which kind and the reference says
 * which object. So C code reads words freely, and never holds reference
 * bits across a safepoint: they move between root slots and object fields
 * through the slot API.
 */
#ifndef SCHEME_H
#define SCHEME_H

#include <capgc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- words ------------------------------------------------------------- */

/* Kinds below K_FIRST_HEAP are immediates (null reference). */
enum {
  K_UNDEF = 0, /* no value yet: an unbound global, a letrec variable before
                  its definition; what fresh (zeroed) fields hold */
  K_UNSPEC,    /* the unspecified value */
  K_FIXNUM,    /* payload: a 56-bit signed integer */
  K_BOOL,      /* payload 0 or 1 */
  K_NIL,       /* '() */
  K_CHAR,      /* payload: a byte */
  K_PRIM,      /* payload: an index into the primitive table */
  K_EOF,       /* the end-of-file object */
  K_NOENV,     /* the empty environment (global scope) */
  K_FIRST_HEAP = 16,
  K_PAIR = K_FIRST_HEAP, /* vrec(2): car, cdr */
  K_STRING,              /* payload: length in bytes */
  K_SYMBOL,              /* payload: symbol id */
  K_VECTOR,              /* payload: length */
  K_CLOSURE,             /* payload: code index << 1 | has-environment */
  K_FLONUM,              /* a boxed double */
  K_FRAME,               /* an environment frame */
  K_WTABLE,              /* payload: weak-table id */
  K_BOX,                 /* vrec(1): what an export seals */
  K_SEALED,              /* another compartment's object; payload: owner */
};

#define KIND(w) ((unsigned)((w)&0xffu))
#define PAYLOAD(w) ((w) >> 8)
#define MKW(k, p) ((((uint64_t)(p)) << 8) | (uint64_t)(k))
#define IS_HEAP(w) (KIND(w) >= K_FIRST_HEAP)
#define IS_SEALED(w) (KIND(w) == K_SEALED)

#define W_UNSPEC MKW(K_UNSPEC, 0)
#define W_FALSE MKW(K_BOOL, 0)
#define W_TRUE MKW(K_BOOL, 1)
#define W_NIL MKW(K_NIL, 0)
#define W_EOF MKW(K_EOF, 0)
#define W_NOENV MKW(K_NOENV, 0)
#define W_BOOL(b) ((b) ? W_TRUE : W_FALSE)

#define FIX_MAX ((int64_t)((UINT64_C(1) << 55) - 1))
#define FIX_MIN (-FIX_MAX - 1)
static inline uint64_t w_fix(int64_t n) { return ((uint64_t)n << 8) | K_FIXNUM; }
/* Arithmetic shift (gcc and clang define >> on negative values so). */
static inline int64_t fix_of(uint64_t w) { return (int64_t)w >> 8; }
static inline bool truthy(uint64_t w) { return w != W_FALSE; }

/* ---- the root region: registers, then the value stack ------------------ */

enum {
  R_VAL = 0,     /* the accumulator: every expression's value lands here */
  R_ENV = 1,     /* the current environment frame (or K_NOENV) */
  R_TMP = 2,     /* scratch for walking environment chains */
  R_GLOBALS = 3, /* the vector of global values */
  R_CONSTS = 4,  /* the vector of heap constants of the code */
  R_FINS = 5,    /* the vector of finalizer thunks, by token */
  R_NULL = 6,    /* always null: the source of null stores */
  R_TMP2 = 7,
  STACK0 = 8 /* the value stack starts here */
};

/* ---- code: the compiled tree (C memory, immutable once built) ---------- */

enum {
  N_CONST,  /* w: an immediate word, or a: a constant index (is_heap) */
  N_LREF,   /* a local: depth, refoff/wordoff; sym for the message */
  N_GREF,   /* a global: a = global index */
  N_LSET,   /* kid[0] -> a local */
  N_GSET,   /* kid[0] -> a defined global */
  N_GDEF,   /* kid[0] -> a global (define) */
  N_IF,     /* kid[0] ? kid[1] : kid[2] */
  N_LAMBDA, /* code */
  N_SEQ,    /* kid[0..n) in order */
  N_CALL,   /* kid[0] applied to kid[1..n) */
  N_AND,
  N_OR,
  N_LET,   /* frame of `a` variables; kid[0..n) its first n inits, evaluated
              outside; kid[n] the body, inside */
  N_SCOPE, /* frame of `a` variables, all undefined; kid[0] the body */
};

struct code;
typedef struct node {
  uint8_t k;
  bool is_heap;     /* N_CONST: a heap constant (index a) */
  uint32_t n;       /* kids (N_SEQ, N_CALL, N_AND, N_OR, N_LET: inits) */
  uint32_t a;       /* index: global, constant, frame size */
  uint32_t depth;   /* N_LREF / N_LSET */
  uint32_t sym;     /* symbol id, for messages */
  uint64_t refoff;  /* N_LREF / N_LSET: reference field offset */
  uint64_t wordoff; /* N_LREF / N_LSET: word field offset */
  uint64_t w;       /* N_CONST immediate */
  struct node **kid;
  struct code *code; /* N_LAMBDA */
} node_t;

typedef struct code {
  uint32_t nparams; /* required parameters */
  bool rest;        /* a rest list after them */
  uint32_t nframe;  /* frame variables: params, rest, internal defines */
  node_t *body;
  uint32_t name; /* symbol id, or UINT32_MAX for an anonymous lambda */
} code_t;

/* ---- the machine's continuation stack (C memory, plain data) ----------- */

enum { KT_IF, KT_SEQ, KT_ARGS, KT_LSET, KT_GSET, KT_GDEF, KT_LET, KT_AND, KT_OR, KT_FINRET };

typedef struct {
  const node_t *n;
  uint32_t i;      /* progress through n's kids */
  uint32_t env;    /* the stack slot reserved for the saved environment */
  uint64_t epoch;  /* which environment was current when it was pushed */
  uint8_t kind;
  bool saved;      /* the environment was copied into slot `env` */
} kont_t;

/* ---- symbols ------------------------------------------------------------ */

typedef struct {
  char *name;
  uint32_t len;
  uint32_t hash;
  int32_t global; /* global index, or -1 */
  bool has_weak;
  capgc_weak_t weak; /* the symbol object, weakly */
} sym_t;

/* ---- weak tables (ephemerons) ------------------------------------------ */

typedef struct {
  capgc_ephemeron_t e; /* key -> value reference (null for an immediate) */
  uint64_t kword;      /* the key's word */
  uint64_t vword;      /* the value's word */
} wentry_t;

typedef struct {
  bool used;
  wentry_t *v;
  size_t n, cap;
} wtable_t;

/* ---- compartments ------------------------------------------------------- */

typedef struct {
  char *key;
  uint32_t slot;  /* in the mailbox region */
} mail_t;

struct world;

/* ---- the symbols the compiler knows (interned at start) ----------------- */

enum {
  SY_QUOTE, SY_QUASIQUOTE, SY_UNQUOTE, SY_UNQUOTE_SPLICING, SY_LAMBDA, SY_DEFINE,
  SY_IF, SY_SET, SY_BEGIN, SY_LET, SY_LETSTAR, SY_LETREC, SY_LETRECSTAR, SY_COND,
  SY_ELSE, SY_ARROW, SY_AND, SY_OR, SY_WHEN, SY_UNLESS, SY_DO, SY_CASE,
  SY_COUNT
};

/* ---- the VM ------------------------------------------------------------- */

typedef struct vm {
  /* The heap: a plain heap, or compartment `comp` of `split`. */
  capgc_heap_t *heap;
  capgc_split_heap_t *split;
  capgc_compartment_t comp;
  struct world *world; /* compartment mode: every VM of the split heap */
  int index;           /* this VM's index in world */
  const char *name;
  bool dead; /* its compartment was torn down */

  uint64_t S; /* reference slot size: 8 (Native) or 16 */
  /* The root slots. A plain heap: the shadow stack R of capgc_fast.h
   * (every collection validates and updates it; C reads and writes it
   * without calls), through the mutator mu. A compartment: `region`. */
  capgc_region_t region;
  capgc_mutator_t *mu;
  capgc_ref_t *R;
  uint64_t *tsize; /* payload bytes of each fixed-size type, by type index */
  uint32_t ntsize;
  uint32_t nslots;   /* the region's size now (it grows and shrinks: m_region_resize) */
  uint32_t maxslots; /* the most it may grow to */
  uint64_t *W; /* the word of every slot of the region */
  uint32_t sp; /* first free stack slot; slots >= sp hold null */
  uint32_t hwm; /* slots >= hwm were never used since the last reset (set
                   it with v_set_hwm: on a plain heap it is the shadow
                   stack's top, so a collection scans only these) */

  /* Types. */
  capgc_type_t t_pair, t_closure, t_flonum, t_symbol, t_box, t_wtable, t_bytes;
  capgc_type_t *t_frame; /* by frame size */
  uint32_t n_t_frame;
  struct { uint64_t cap; capgc_type_t t; } t_class[64]; /* vector / string size classes */
  uint32_t n_t_class, n_t_sclass;
  struct { uint64_t cap; capgc_type_t t; } t_sclass[64];

  /* Continuations. */
  kont_t *k;
  size_t kn, kcap, unsaved_from;
  uint64_t epoch, next_epoch;

  /* Symbols, globals, constants, code. */
  sym_t *syms;
  uint32_t nsyms, capsyms;
  uint32_t *symhash; /* open addressing: id + 1, 0 empty */
  uint32_t symhash_cap;
  uint32_t *gsym;  /* global index -> symbol id */
  uint64_t *gword; /* global index -> its value's word: a C mirror of the
                      words in R_GLOBALS (plain data), so reading a global
                      bound to an immediate (a primitive, a number) costs
                      no call; the references stay in the rooted vector */
  uint32_t nglobals, gcap;
  uint32_t nconsts, ccap;
  code_t **codes;
  uint32_t ncodes, capcodes;
  void *arena; /* node memory */
  uint32_t sy[SY_COUNT];

  /* Finalizers and weak tables. */
  uint32_t fcap, *ffree, nffree, fnext; /* finalizer thunk slots */
  uint64_t *finq;
  size_t finq_n, finq_cap;
  unsigned poll_count;
  bool fin_running; /* a finalizer thunk is running (KT_FINRET on the stack) */
  wtable_t *wt;
  uint32_t nwt, capwt;

  /* Compartments: the mailbox of sealed references for this VM. */
  capgc_region_t mail_region;
  mail_t *mail;
  uint32_t nmail, capmail;

  /* Errors. */
  char err[1024];
  bool errors_seen;
  bool exiting; /* (exit) was called */
  int exit_code;
  bool verify;
  char **args;
  int nargs;
  const char *src_name;
} vm_t;

typedef struct world {
  capgc_split_heap_t *split;
  vm_t **vms;
  int n;
} world_t;

/* ---- errors (every function that can fail returns bool: false = error,
 *      message in vm->err) ------------------------------------------------ */

bool vm_error(vm_t *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool vm_capgc_fail(vm_t *vm, capgc_status_t s, const char *call);
/* Prepends "who: " to the current message. */
void vm_error_prefix(vm_t *vm, const char *who);

/* Checks a capgc_status_t: on failure, a readable error naming the call. */
#define CK(vm, call)                                                           \
  do {                                                                         \
    capgc_status_t ck_s_ = (call);                                             \
    if (ck_s_ != CAPGC_OK) return vm_capgc_fail((vm), ck_s_, #call);           \
  } while (0)

/* Propagates a failure. */
#define TRY(e)                                                                 \
  do {                                                                         \
    if (!(e)) return false;                                                    \
  } while (0)

/* ---- mem.c: the heap layer ---------------------------------------------- */

bool mem_init_roots(vm_t *vm, uint32_t nslots);
void mem_free_roots(vm_t *vm);
bool mem_init_types(vm_t *vm);
bool m_region_resize(vm_t *vm, uint32_t nslots);
bool m_alloc(vm_t *vm, uint32_t dst, capgc_type_t ty);
bool m_alloc_bytes(vm_t *vm, uint32_t dst, uint64_t n);
bool m_load(vm_t *vm, uint32_t dst, uint32_t holder, uint64_t off, bool sealed);
bool m_store(vm_t *vm, uint32_t holder, uint64_t off, uint32_t src, bool sealed);
bool m_read(vm_t *vm, uint32_t holder, uint64_t off, uint64_t *out);
bool m_write(vm_t *vm, uint32_t holder, uint64_t off, uint64_t v);
bool m_copy(vm_t *vm, uint32_t dst, uint32_t src, bool sealed);
bool m_clear(vm_t *vm, uint32_t i);
bool m_ref(vm_t *vm, uint32_t i, capgc_ref_t *out);
bool m_set_ref(vm_t *vm, uint32_t i, capgc_ref_t r);
bool m_same(vm_t *vm, uint32_t a, uint32_t b, bool sealed, bool *out);
bool m_bytes_read(vm_t *vm, uint32_t holder, uint64_t off, void *buf, size_t n);
bool m_bytes_write(vm_t *vm, uint32_t holder, uint64_t off, const void *buf, size_t n);
bool m_collect(vm_t *vm, bool minor);
bool m_verify(vm_t *vm, size_t *violations);
bool m_stats(vm_t *vm, capgc_stats_t *out);
bool m_weak_new(vm_t *vm, uint32_t i, capgc_weak_t *out);
bool m_weak_get(vm_t *vm, capgc_weak_t w, capgc_ref_t *out);
bool m_weak_release(vm_t *vm, capgc_weak_t w);
bool m_ref_bytes_read(vm_t *vm, capgc_ref_t r, void *buf, size_t n);
bool m_eph_new(vm_t *vm, uint32_t k, uint32_t v, capgc_ephemeron_t *out);
bool m_eph_get(vm_t *vm, capgc_ephemeron_t e, capgc_ref_t *k, capgc_ref_t *v);
bool m_eph_release(vm_t *vm, capgc_ephemeron_t e);
bool m_finalizer_register(vm_t *vm, uint32_t obj, uint64_t token);
bool m_finalized_take(vm_t *vm, uint64_t *tokens, size_t cap, size_t *count);
bool m_frame_type(vm_t *vm, uint32_t n, capgc_type_t *out);
bool m_vector_type(vm_t *vm, uint64_t n, capgc_type_t *out);
uint64_t vec_cap(uint64_t n);

/* ---- value.c ------------------------------------------------------------ */

/* vm->hwm := h, and on a plain heap the shadow stack's top with it: the
 * slots a collection validates and updates (those above hold null). */
static inline void v_set_hwm(vm_t *vm, uint32_t h) {
  vm->hwm = h;
  if (vm->mu) vm->mu->roots_top = h;
}

bool v_set_imm(vm_t *vm, uint32_t i, uint64_t w);
bool v_move(vm_t *vm, uint32_t dst, uint32_t src);
bool v_push(vm_t *vm, uint32_t src);
bool v_push_imm(vm_t *vm, uint64_t w);
bool v_reserve(vm_t *vm, uint32_t *slot);
bool v_pop_to(vm_t *vm, uint32_t n);
bool v_reset(vm_t *vm);
bool v_eq(vm_t *vm, uint32_t a, uint32_t b, bool *out);
bool v_equal(vm_t *vm, uint32_t a, uint32_t b, bool *out);

/* A field of an object: its reference at refoff, its word at wordoff. */
bool o_get(vm_t *vm, uint32_t dst, uint32_t holder, uint64_t refoff, uint64_t wordoff);
bool o_set(vm_t *vm, uint32_t holder, uint64_t refoff, uint64_t wordoff, uint32_t src);
bool o_init(vm_t *vm, uint32_t holder, uint64_t refoff, uint64_t wordoff, uint32_t src);

/* vrec(n): n value fields: reference i at i*S, word i at n*S + 8i. */
#define VR_REF(vm, i) ((uint64_t)(i) * (vm)->S)
#define VR_WORD(vm, n, i) ((uint64_t)(n) * (vm)->S + 8u * (uint64_t)(i))
/* A frame of n variables: the parent at reference 0, variable i's
 * reference at (1+i)*S and its word at (1+n)*S + 8i. */
#define FR_REF(vm, i) ((uint64_t)(1 + (i)) * (vm)->S)
#define FR_WORD(vm, n, i) ((uint64_t)(1 + (n)) * (vm)->S + 8u * (uint64_t)(i))

bool car(vm_t *vm, uint32_t dst, uint32_t pair);
bool cdr(vm_t *vm, uint32_t dst, uint32_t pair);
bool mk_cons(vm_t *vm, uint32_t dst, uint32_t a, uint32_t d);
bool mk_string(vm_t *vm, uint32_t dst, const char *s, size_t n);
bool mk_flonum(vm_t *vm, uint32_t dst, double d);
bool flonum_of(vm_t *vm, uint32_t i, double *out);
bool mk_vector(vm_t *vm, uint32_t dst, uint64_t n, uint32_t fill);
bool vec_get(vm_t *vm, uint32_t dst, uint32_t vec, uint64_t i);
bool vec_set(vm_t *vm, uint32_t vec, uint64_t i, uint32_t src);
bool vec_grow(vm_t *vm, uint32_t vslot, uint64_t newlen);
bool str_bytes(vm_t *vm, uint32_t s, char **out, size_t *len); /* malloc'd, nul-terminated */

bool sym_intern(vm_t *vm, uint32_t dst, const char *name, size_t len);
uint32_t sym_id(vm_t *vm, const char *name); /* interns; UINT32_MAX on failure */
bool sym_make_id(vm_t *vm, const char *name, size_t len, uint32_t *id);
void sym_sweep(vm_t *vm);

bool global_index(vm_t *vm, uint32_t sym, uint32_t *out);
bool global_get(vm_t *vm, uint32_t dst, uint32_t g);
bool global_set(vm_t *vm, uint32_t g, uint32_t src);
bool global_define_prim(vm_t *vm, const char *name, uint32_t prim);
bool const_add(vm_t *vm, uint32_t src, uint32_t *out);
bool const_get(vm_t *vm, uint32_t dst, uint32_t c);

/* ---- print.c ------------------------------------------------------------ */

typedef struct {
  char *p;
  size_t n, cap;
  size_t limit; /* 0: none; beyond it output is truncated with "..." */
} sbuf_t;
void sb_put(sbuf_t *b, const char *s, size_t n);
void sb_puts(sbuf_t *b, const char *s);
void sb_printf(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_free(sbuf_t *b);
bool print_value(vm_t *vm, sbuf_t *b, uint32_t slot, bool write);
void describe(vm_t *vm, uint32_t slot, char *out, size_t cap); /* for messages */
void format_double(double d, char *out, size_t cap);

/* ---- reader.c ----------------------------------------------------------- */

typedef struct {
  const char *s;
  size_t pos, len;
  int line;
} reader_t;
enum { RD_OK, RD_EOF, RD_INCOMPLETE, RD_ERROR };
/* Reads one datum and pushes it; RD_EOF when only whitespace is left. */
int read_datum(vm_t *vm, reader_t *r);
/* Skips whitespace and comments (so r->line is the next datum's line);
 * RD_OK, or RD_INCOMPLETE inside an unterminated #| comment. */
int read_skip(vm_t *vm, reader_t *r);

/* ---- compile.c ---------------------------------------------------------- */

bool compile_toplevel(vm_t *vm, uint32_t slot, node_t **out);
void code_free_all(vm_t *vm);
bool init_special_symbols(vm_t *vm);

/* ---- eval.c ------------------------------------------------------------- */

bool vm_run(vm_t *vm, const node_t *n);
bool env_write_prepare(vm_t *vm);
bool run_finalizers(vm_t *vm);

/* ---- prims -------------------------------------------------------------- */

typedef bool (*prim_fn)(vm_t *vm, uint32_t a, uint32_t argc);
typedef struct {
  const char *name;
  prim_fn fn;
  int16_t min, max; /* max -1: any */
  bool noprefix;    /* its message is the whole message (error, exit) */
} prim_t;
enum { PRIM_APPLY = 0 }; /* index of `apply`, which the machine handles */
extern const prim_t *g_prims;
extern uint32_t g_nprims;
bool prims_init(void);
void prims_free(void);
void prim_register(const prim_t *table, size_t n);
void prims_core_register(void);
void prims_data_register(void);
void prims_weak_register(void);
void prims_compart_register(void);
bool need(vm_t *vm, uint32_t slot, unsigned kind, const char *what, uint32_t argno);
bool need_index(vm_t *vm, uint32_t slot, uint64_t limit, uint64_t *out, uint32_t argno);
bool ret_imm(vm_t *vm, uint64_t w);
bool ret_slot(vm_t *vm, uint32_t slot);
bool list_length(vm_t *vm, uint32_t slot, uint64_t *out, bool *proper);

/* ---- weak.c ------------------------------------------------------------- */

bool fin_poll(vm_t *vm);
void weak_free_all(vm_t *vm);

/* ---- compart.c ---------------------------------------------------------- */

void mail_free(vm_t *vm);

/* ---- the VM's life (main.c) --------------------------------------------- */

vm_t *vm_new(capgc_heap_t *heap, capgc_split_heap_t *split, capgc_compartment_t comp,
             uint32_t nslots, char *errbuf, size_t errcap);
void vm_free(vm_t *vm);
/* Evaluates every form of `src`; reports errors and goes on. */
bool vm_eval_source(vm_t *vm, const char *src, size_t len, const char *name, bool echo);
extern const char prelude_scm[];

#endif
