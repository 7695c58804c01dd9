/*
 * main.c — the VM's life (vm_new, vm_free, errors), the top level (the
 * script runner and the REPL), the command line and the statistics.
 *
 * Error policy. An error anywhere — a primitive's, the compiler's, a
 * refusal by CapGC — is a `false` returned up to the top level, which
 * prints `FILE:LINE: error: MESSAGE` on stderr, resets the machine's
 * stacks (v_reset) and goes on with the next top-level form: the VM is
 * intact, its globals keep the values they had. A script's exit status is
 * 1 when any error was reported (0 otherwise, or the code given to
 * (exit)); a read (syntax) error stops the rest of that file, since where
 * the next form starts is unknown. The REPL reports and goes on, and
 * exits 0 at the end of its input unless (exit N) said otherwise.
 */
#include "scheme.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INITIAL_SLOTS 4096u
#define MAX_SLOTS (1u << 23) /* 8M slots: 128 MiB of region in the wide modes */

/* ---- errors ------------------------------------------------------------- */

bool vm_error(vm_t *vm, const char *fmt, ...) {
  char tmp[sizeof vm->err];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap); /* via tmp: an argument may be vm->err */
  va_end(ap);
  memcpy(vm->err, tmp, sizeof tmp);
  return false;
}

/* A refusal by CapGC: its status name, the call, and the library's own
 * message (capgc_last_error is borrowed until the next failing call, so it
 * is copied at once). */
bool vm_capgc_fail(vm_t *vm, capgc_status_t s, const char *call) {
  int n = (int)strcspn(call, "(");
  const char *msg = capgc_last_error();
  return vm_error(vm, "%s from %.*s: %s", capgc_status_name((uint32_t)s), n, call,
                  msg && *msg ? msg : "(no message)");
}

void vm_error_prefix(vm_t *vm, const char *who) {
  char tmp[sizeof vm->err];
  size_t n = strlen(who);
  if (n + 2 >= sizeof tmp) return;
  memcpy(tmp, who, n);
  memcpy(tmp + n, ": ", 2);
  size_t m = strlen(vm->err);
  if (m > sizeof tmp - n - 3) m = sizeof tmp - n - 3;
  memcpy(tmp + n + 2, vm->err, m);
  tmp[n + 2 + m] = 0;
  memcpy(vm->err, tmp, sizeof tmp);
}

/* ---- the VM's life -------------------------------------------------------- */

static bool vm_init(vm_t *vm, uint32_t nslots) {
  uint32_t mode;
  if (vm->split)
    CK(vm, capgc_split_heap_mode(vm->split, &mode, &vm->S));
  else
    CK(vm, capgc_heap_mode(vm->heap, &mode, &vm->S));
  vm->W = malloc((size_t)nslots * sizeof *vm->W);
  if (!vm->W) return vm_error(vm, "out of C memory");
  for (uint32_t i = 0; i < nslots; i++) vm->W[i] = W_UNSPEC;
  if (vm->split) {
    CK(vm, capgc_compartment_region_new(vm->split, vm->comp, nslots, &vm->region));
    CK(vm, capgc_compartment_region_new(vm->split, vm->comp, 1024, &vm->mail_region));
  } else {
    TRY(mem_init_roots(vm, nslots));
  }
  vm->nslots = nslots;
  vm->W[R_ENV] = W_NOENV;
  vm->sp = STACK0;
  v_set_hwm(vm, STACK0);
  TRY(mem_init_types(vm));
  if (!prims_init()) return vm_error(vm, "internal: the primitive table");
  TRY(init_special_symbols(vm));

  /* The tables: globals, constants, finalizer thunks (vectors whose sizes
   * are size classes of their own: powers of two from 16). */
  vm->gcap = 256;
  vm->ccap = 256;
  vm->fcap = 64;
  vm->gsym = malloc(vm->gcap * sizeof *vm->gsym);
  vm->gword = malloc(vm->gcap * sizeof *vm->gword);
  vm->ffree = malloc(vm->fcap * sizeof *vm->ffree);
  if (!vm->gsym || !vm->gword || !vm->ffree) return vm_error(vm, "out of C memory");
  uint32_t undef;
  TRY(v_reserve(vm, &undef));
  vm->W[undef] = MKW(K_UNDEF, 0);
  TRY(mk_vector(vm, R_GLOBALS, vm->gcap, undef));
  TRY(mk_vector(vm, R_CONSTS, vm->ccap, undef));
  TRY(mk_vector(vm, R_FINS, vm->fcap, undef));
  TRY(v_pop_to(vm, STACK0));
  for (uint32_t i = 0; i < g_nprims; i++) TRY(global_define_prim(vm, g_prims[i].name, i));

  TRY(vm_eval_source(vm, prelude_scm, strlen(prelude_scm), "prelude", false));
  if (vm->errors_seen) return vm_error(vm, "internal: the prelude failed");
  return true;
}

vm_t *vm_new(capgc_heap_t *heap, capgc_split_heap_t *split, capgc_compartment_t comp, uint32_t nslots,
             char *errbuf, size_t errcap) {
  vm_t *vm = calloc(1, sizeof *vm);
  if (!vm) {
    snprintf(errbuf, errcap, "out of C memory");
    return NULL;
  }
  vm->heap = heap;
  vm->split = split;
  vm->comp = comp;
  vm->name = "main";
  vm->src_name = "";
  vm->maxslots = MAX_SLOTS;
  if (nslots < STACK0 + 64) nslots = STACK0 + 64;
  if (!vm_init(vm, nslots)) {
    snprintf(errbuf, errcap, "%s", vm->err);
    vm_free(vm);
    return NULL;
  }
  return vm;
}

/* Frees the VM's C memory. Its root regions, weak references and
 * ephemerons belong to the heap and go with it (capgc_heap_free). */
void vm_free(vm_t *vm) {
  if (!vm) return;
  mem_free_roots(vm);
  free(vm->W);
  free(vm->k);
  for (uint32_t i = 0; i < vm->nsyms; i++) free(vm->syms[i].name);
  free(vm->syms);
  free(vm->symhash);
  free(vm->gsym);
  free(vm->gword);
  code_free_all(vm);
  free(vm->t_frame);
  free(vm->tsize);
  weak_free_all(vm);
  mail_free(vm);
  free(vm);
}

/* ---- the top level ---------------------------------------------------------- */

/* Reports the error in vm->err and makes the machine ready for the next
 * form; false if even that failed (the heap refuses everything). */
static bool report(vm_t *vm, const char *name, int line) {
  fflush(stdout);
  fprintf(stderr, "%s:%d: error: %s\n", name, line, vm->err);
  vm->errors_seen = true;
  if (!v_reset(vm)) {
    fprintf(stderr, "%s: fatal: the VM cannot recover: %s\n", name, vm->err);
    return false;
  }
  return true;
}

/* Every top-level form starts in the global environment with empty
 * scratch registers (what the last form left there is garbage). */
static bool toplevel_clean(vm_t *vm) {
  /* after a deep recursion the region is large, and every collection
   * scans all of it: back to the initial size between forms */
  if (vm->nslots > 4 * INITIAL_SLOTS && vm->sp < INITIAL_SLOTS) TRY(m_region_resize(vm, INITIAL_SLOTS));
  TRY(v_set_imm(vm, R_ENV, W_NOENV));
  TRY(v_set_imm(vm, R_TMP, W_UNSPEC));
  TRY(v_set_imm(vm, R_TMP2, W_UNSPEC));
  vm->epoch = ++vm->next_epoch;
  return true;
}

/* Reads, compiles and runs the forms of src[0..len). With `partial`, an
 * incomplete last form is not an error: *consumed says where it starts
 * (the REPL waits for more input). *line is the line number reached.
 * False only when the VM cannot go on. */
static bool eval_text(vm_t *vm, const char *src, size_t len, const char *name, bool echo, bool partial,
                      size_t *consumed, int *line) {
  reader_t r = {src, 0, len, *line};
  *consumed = 0;
  while (!vm->exiting) {
    vm->err[0] = 0;
    int rc = read_skip(vm, &r);
    size_t start = r.pos;
    int fline = r.line;
    uint32_t base = vm->sp;
    if (rc == RD_OK) rc = read_datum(vm, &r);
    if (rc == RD_EOF) {
      *consumed = len;
      break;
    }
    if (rc == RD_INCOMPLETE && partial) {
      if (!v_pop_to(vm, base) && !report(vm, name, fline)) return false;
      *consumed = start;
      r.line = fline;
      break;
    }
    if (rc != RD_OK) { /* a syntax error: the rest of this text is skipped */
      *consumed = len;
      if (!report(vm, name, r.line)) return false;
      break;
    }
    node_t *code;
    bool ok = toplevel_clean(vm) && compile_toplevel(vm, base, &code) && v_pop_to(vm, base) &&
              vm_run(vm, code);
    if (ok && echo && vm->W[R_VAL] != W_UNSPEC && vm->W[R_VAL] != MKW(K_UNDEF, 0)) {
      sbuf_t b = {0};
      ok = print_value(vm, &b, R_VAL, true);
      if (ok) {
        sb_put(&b, "\n", 1);
        fwrite(b.p, 1, b.n, stdout);
      }
      sb_free(&b);
    }
    ok = ok && v_set_imm(vm, R_VAL, W_UNSPEC) && run_finalizers(vm);
    *consumed = r.pos;
    if (!ok && !vm->exiting && !report(vm, name, fline)) return false;
  }
  *line = r.line;
  return true;
}

bool vm_eval_source(vm_t *vm, const char *src, size_t len, const char *name, bool echo) {
  size_t consumed;
  int line = 1;
  const char *saved = vm->src_name;
  vm->src_name = name;
  bool ok = eval_text(vm, src, len, name, echo, false, &consumed, &line);
  vm->src_name = saved;
  return ok;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (n < cap) break;
    char *p = realloc(buf, cap *= 2);
    if (!p) {
      free(buf);
      buf = NULL;
    } else {
      buf = p;
    }
  }
  bool err = ferror(f);
  if (f != stdin) fclose(f);
  if (err) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

static bool run_file(vm_t *vm, const char *path) {
  size_t len;
  char *src = read_file(path, &len);
  if (!src) {
    fprintf(stderr, "scheme: cannot read %s: %s\n", path, strerror(errno));
    vm->errors_seen = true;
    return true;
  }
  bool ok = vm_eval_source(vm, src, len, path, false);
  free(src);
  return ok;
}

/* The REPL: lines from stdin are gathered until they hold complete forms;
 * each form's value is written (unless unspecified). Prompts only on a
 * terminal. */
static bool repl(vm_t *vm) {
  bool tty = isatty(0) && isatty(1);
  char *buf = NULL, *lbuf = NULL;
  size_t n = 0, cap = 0, lcap = 0;
  int line = 1;
  bool ok = true;
  while (ok && !vm->exiting) {
    if (tty) {
      fputs(n ? "... " : "> ", stdout);
      fflush(stdout);
    }
    ssize_t got = getline(&lbuf, &lcap, stdin);
    if (got < 0) break;
    if (n + (size_t)got + 1 > cap) {
      size_t nc = cap ? cap : 256;
      while (n + (size_t)got + 1 > nc) nc *= 2;
      char *p = realloc(buf, nc);
      if (!p) {
        fprintf(stderr, "scheme: out of C memory\n");
        ok = false;
        break;
      }
      buf = p;
      cap = nc;
    }
    memcpy(buf + n, lbuf, (size_t)got);
    n += (size_t)got;
    size_t consumed;
    ok = eval_text(vm, buf, n, "stdin", true, true, &consumed, &line);
    memmove(buf, buf + consumed, n - consumed);
    n -= consumed;
    fflush(stdout);
  }
  if (ok && n && !vm->exiting) { /* input ended inside a form */
    size_t consumed;
    ok = eval_text(vm, buf, n, "stdin", true, false, &consumed, &line);
  }
  if (tty && !vm->exiting) fputs("\n", stdout);
  free(buf);
  free(lbuf);
  return ok;
}

/* ---- the command line ----------------------------------------------------------- */

typedef struct {
  capgc_config_t cfg;
  bool gc_stats, verify, compartments;
  uint32_t max_slots;
  const char **files;
  int nfiles;
  char **args;
  int nargs;
  const char **exprs;
  int nexprs;
} opts_t;

static void usage(FILE *f) {
  fputs("usage: scheme [options] [FILE ...] [-- ARG ...]\n"
        "  With no FILE (and no -e), a REPL on stdin. (script-args) gives the ARGs.\n"
        "  --plan P        marksweep | semispace | generational (default)\n"
        "  --mode M        native | p128 | softcheri (default; = softcheri with --format)\n"
        "                  or a format name for softcheri: morello | cheri-v9 | riscv-std\n"
        "  --format F      morello (default) | cheri-v9 | riscv-std (SoftCheri's encoding)\n"
        "  --scan S        typemap (default) | tags (SoftCheri: scan by capability tags)\n"
        "  --throughput    the throughput preset (a fixed 16 MiB nursery)\n"
        "  --heap-limit N  the heap limit in bytes (K, M, G suffixes; default 1G)\n"
        "  --initial N     bytes allocated before the first collection\n"
        "  --nursery N     the nursery size (Generational)\n"
        "  --stack N       the most value-stack slots (default 8M)\n"
        "  --gc-stats      print the collector's statistics at exit (stderr)\n"
        "  --verify        run the heap verifier after every (gc) and at exit\n"
        "  --compartments  every FILE (NAME:FILE, or named by its basename) runs in\n"
        "                  compartment NAME of one split heap\n"
        "  -e EXPR         evaluate EXPR (after the files)\n"
        "  CAPGC_LOG=gc in the environment: one line per collection on stderr\n",
        f);
}

static bool parse_size(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s) return false;
  uint64_t m = 1;
  if (*end == 'K' || *end == 'k') m = 1024, end++;
  else if (*end == 'M' || *end == 'm') m = 1024 * 1024, end++;
  else if (*end == 'G' || *end == 'g') m = 1024 * 1024 * 1024, end++;
  if (*end) return false;
  *out = v * m;
  return true;
}

static const char *plan_name(uint32_t p) {
  return p == CAPGC_PLAN_MARKSWEEP ? "marksweep" : p == CAPGC_PLAN_SEMISPACE ? "semispace" : "generational";
}
static const char *format_name(uint32_t f) {
  return f == CAPGC_FORMAT_MORELLO ? "morello" : f == CAPGC_FORMAT_CHERI_V9 ? "cheri-v9" : "riscv-std";
}
static const char *mode_name(uint32_t m) {
  return m == CAPGC_MODE_NATIVE ? "native" : m == CAPGC_MODE_P128 ? "p128" : "softcheri";
}

static bool parse_format(const char *s, uint32_t *f) {
  if (!strcmp(s, "morello")) *f = CAPGC_FORMAT_MORELLO;
  else if (!strcmp(s, "cheri-v9") || !strcmp(s, "v9")) *f = CAPGC_FORMAT_CHERI_V9;
  else if (!strcmp(s, "riscv-std") || !strcmp(s, "riscv")) *f = CAPGC_FORMAT_RISCV_STD;
  else return false;
  return true;
}

static int parse_args(int argc, char **argv, opts_t *o) {
  o->cfg = capgc_config_default();
  o->max_slots = MAX_SLOTS;
  o->files = calloc((size_t)argc, sizeof *o->files);
  o->exprs = calloc((size_t)argc, sizeof *o->exprs);
  if (!o->files || !o->exprs) return 2;
  uint64_t limit = 0, initial = 0, nursery = 0;
  bool throughput = false;
  uint32_t plan = o->cfg.plan, mode = o->cfg.mode, format = o->cfg.format, scan = o->cfg.scan;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV                                                                                     \
  do {                                                                                            \
    if (!v) {                                                                                     \
      fprintf(stderr, "scheme: %s needs a value\n", a);                                          \
      return 2;                                                                                   \
    }                                                                                             \
    i++;                                                                                          \
  } while (0)
    if (!strcmp(a, "--")) {
      o->args = argv + i + 1;
      o->nargs = argc - i - 1;
      break;
    } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return -1;
    } else if (!strcmp(a, "--plan")) {
      NEEDV;
      if (!strcmp(v, "marksweep") || !strcmp(v, "ms")) plan = CAPGC_PLAN_MARKSWEEP;
      else if (!strcmp(v, "semispace") || !strcmp(v, "ss")) plan = CAPGC_PLAN_SEMISPACE;
      else if (!strcmp(v, "generational") || !strcmp(v, "gen")) plan = CAPGC_PLAN_GENERATIONAL;
      else {
        fprintf(stderr, "scheme: unknown plan %s (marksweep, semispace, generational)\n", v);
        return 2;
      }
    } else if (!strcmp(a, "--mode")) {
      NEEDV;
      if (!strcmp(v, "native")) mode = CAPGC_MODE_NATIVE;
      else if (!strcmp(v, "p128")) mode = CAPGC_MODE_P128;
      else if (!strcmp(v, "softcheri")) mode = CAPGC_MODE_SOFTCHERI;
      else if (parse_format(v, &format)) mode = CAPGC_MODE_SOFTCHERI;
      else {
        fprintf(stderr, "scheme: unknown mode %s (native, p128, softcheri, morello, cheri-v9, riscv-std)\n", v);
        return 2;
      }
    } else if (!strcmp(a, "--format")) {
      NEEDV;
      if (!parse_format(v, &format)) {
        fprintf(stderr, "scheme: unknown format %s (morello, cheri-v9, riscv-std)\n", v);
        return 2;
      }
    } else if (!strcmp(a, "--scan")) {
      NEEDV;
      if (!strcmp(v, "typemap")) scan = CAPGC_SCAN_TYPE_MAP;
      else if (!strcmp(v, "tags")) scan = CAPGC_SCAN_TAGS;
      else {
        fprintf(stderr, "scheme: unknown scan %s (typemap, tags)\n", v);
        return 2;
      }
    } else if (!strcmp(a, "--throughput")) {
      throughput = true;
    } else if (!strcmp(a, "--heap-limit") || !strcmp(a, "--initial") || !strcmp(a, "--nursery") ||
               !strcmp(a, "--stack")) {
      NEEDV;
      uint64_t n;
      if (!parse_size(v, &n)) {
        fprintf(stderr, "scheme: %s: not a size: %s\n", a, v);
        return 2;
      }
      if (!strcmp(a, "--heap-limit")) limit = n;
      else if (!strcmp(a, "--initial")) initial = n;
      else if (!strcmp(a, "--nursery")) nursery = n;
      else o->max_slots = n < 1024 ? 1024 : n > (1u << 30) ? (1u << 30) : (uint32_t)n;
    } else if (!strcmp(a, "--gc-stats")) {
      o->gc_stats = true;
    } else if (!strcmp(a, "--verify")) {
      o->verify = true;
    } else if (!strcmp(a, "--compartments")) {
      o->compartments = true;
    } else if (!strcmp(a, "-e")) {
      NEEDV;
      o->exprs[o->nexprs++] = v;
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "scheme: unknown option %s\n", a);
      usage(stderr);
      return 2;
    } else {
      o->files[o->nfiles++] = a;
    }
#undef NEEDV
  }
  if (throughput) o->cfg = capgc_config_throughput();
  o->cfg.plan = plan;
  o->cfg.mode = mode;
  o->cfg.format = format;
  o->cfg.scan = scan;
  if (limit) o->cfg.limit = limit;
  if (initial) o->cfg.initial_size = initial;
  if (nursery) {
    o->cfg.nursery_size = nursery;
    o->cfg.pause_goal_us = 0;
  }
  return 0;
}

/* ---- statistics ------------------------------------------------------------------- */

static void print_stats(const char *who, const capgc_stats_t *st) {
  fprintf(stderr,
          "gc-stats %s: %llu collections, total pause %.3f ms, max pause %.3f ms\n"
          "gc-stats %s: %llu objects / %llu bytes allocated, %llu bytes copied\n"
          "gc-stats %s: heap %llu bytes (peak %llu), %llu in use, nursery %llu\n"
          "gc-stats %s: %llu capabilities derived, %llu checks\n",
          who, (unsigned long long)st->collections, st->total_pause_ns / 1e6, st->max_pause_ns / 1e6, who,
          (unsigned long long)st->objects_allocated, (unsigned long long)st->bytes_allocated,
          (unsigned long long)st->bytes_copied, who, (unsigned long long)st->heap_bytes,
          (unsigned long long)st->peak_heap_bytes, (unsigned long long)st->bytes_in_use,
          (unsigned long long)st->nursery_bytes, who, (unsigned long long)st->caps_derived,
          (unsigned long long)st->checks);
}

/* ---- running ------------------------------------------------------------------------ */

static int exit_status(vm_t *vm) {
  if (vm->exiting) return vm->exit_code;
  return vm->errors_seen ? 1 : 0;
}

static bool final_verify(vm_t *vm) {
  size_t n = 0;
  if (m_verify(vm, &n)) return true;
  fprintf(stderr, "scheme: %s\n", vm->err);
  return false;
}

static void config_line(const opts_t *o) {
  fprintf(stderr, "gc-stats: plan %s, mode %s", plan_name(o->cfg.plan), mode_name(o->cfg.mode));
  if (o->cfg.mode == CAPGC_MODE_SOFTCHERI) fprintf(stderr, " (%s)", format_name(o->cfg.format));
  fprintf(stderr, "\n");
}

static int run_plain(opts_t *o) {
  capgc_heap_t *heap;
  capgc_status_t s = capgc_heap_new(&o->cfg, &heap);
  if (s != CAPGC_OK) {
    fprintf(stderr, "scheme: capgc_heap_new: %s: %s\n", capgc_status_name(s), capgc_last_error());
    return 2;
  }
  char err[1024];
  vm_t *vm = vm_new(heap, NULL, 0, INITIAL_SLOTS, err, sizeof err);
  if (!vm) {
    fprintf(stderr, "scheme: cannot start the VM: %s\n", err);
    capgc_heap_free(heap);
    return 2;
  }
  vm->maxslots = o->max_slots;
  vm->verify = o->verify;
  vm->args = o->args;
  vm->nargs = o->nargs;
  bool ok = true;
  for (int i = 0; ok && i < o->nfiles && !vm->exiting; i++) ok = run_file(vm, o->files[i]);
  for (int i = 0; ok && i < o->nexprs && !vm->exiting; i++)
    ok = vm_eval_source(vm, o->exprs[i], strlen(o->exprs[i]), "-e", true);
  bool interactive = o->nfiles == 0 && o->nexprs == 0;
  if (ok && interactive) ok = repl(vm);
  fflush(stdout);
  int rc = ok ? (interactive && !vm->exiting ? 0 : exit_status(vm)) : 2;
  if (o->verify && !final_verify(vm)) rc = 3;
  if (o->gc_stats) {
    capgc_stats_t st;
    config_line(o);
    if (m_stats(vm, &st)) print_stats("heap", &st);
  }
  vm_free(vm);
  capgc_heap_free(heap);
  return rc;
}

/* --compartments: one VM per compartment name, all created before any file
 * runs (an export reaches every other compartment's mailbox). */
static int run_compartments(opts_t *o) {
  capgc_split_heap_t *split;
  capgc_status_t s = capgc_split_heap_new(&o->cfg, &split);
  if (s != CAPGC_OK) {
    fprintf(stderr, "scheme: capgc_split_heap_new: %s: %s\n", capgc_status_name(s), capgc_last_error());
    return 2;
  }
  world_t world = {split, calloc((size_t)o->nfiles + 1, sizeof(vm_t *)), 0};
  char **names = calloc((size_t)o->nfiles + 1, sizeof *names);
  const char **paths = calloc((size_t)o->nfiles + 1, sizeof *paths);
  int *which = calloc((size_t)o->nfiles + 1, sizeof *which);
  int rc = 0;
  if (!world.vms || !names || !paths || !which) {
    fprintf(stderr, "scheme: out of C memory\n");
    rc = 2;
  }
  for (int i = 0; !rc && i < o->nfiles; i++) {
    const char *f = o->files[i], *colon = strchr(f, ':');
    char *name;
    if (colon) {
      name = strndup(f, (size_t)(colon - f));
      paths[i] = colon + 1;
    } else {
      const char *b = strrchr(f, '/');
      b = b ? b + 1 : f;
      const char *dot = strrchr(b, '.');
      name = strndup(b, dot ? (size_t)(dot - b) : strlen(b));
      paths[i] = f;
    }
    if (!name) {
      rc = 2;
      break;
    }
    int k = 0;
    while (k < world.n && strcmp(world.vms[k]->name, name) != 0) k++;
    if (k < world.n) {
      free(name);
      which[i] = k;
      continue;
    }
    capgc_compartment_t c;
    s = capgc_compartment_new(split, NULL, &c);
    if (s != CAPGC_OK) {
      fprintf(stderr, "scheme: capgc_compartment_new: %s: %s\n", capgc_status_name(s), capgc_last_error());
      free(name);
      rc = 2;
      break;
    }
    char err[1024];
    vm_t *vm = vm_new(NULL, split, c, INITIAL_SLOTS, err, sizeof err);
    if (!vm) {
      fprintf(stderr, "scheme: cannot start the VM of compartment %s: %s\n", name, err);
      free(name);
      rc = 2;
      break;
    }
    names[world.n] = name;
    vm->name = name;
    vm->world = &world;
    vm->index = world.n;
    vm->maxslots = o->max_slots;
    vm->verify = o->verify;
    vm->args = o->args;
    vm->nargs = o->nargs;
    which[i] = world.n;
    world.vms[world.n++] = vm;
  }
  bool ok = true, errors = false;
  int exit_code = -1;
  for (int i = 0; !rc && ok && i < o->nfiles && exit_code < 0; i++) {
    vm_t *vm = world.vms[which[i]];
    if (vm->dead) {
      fprintf(stderr, "%s: error: compartment %s was torn down; not run\n", paths[i], vm->name);
      errors = true;
      continue;
    }
    ok = run_file(vm, paths[i]);
    if (vm->exiting) exit_code = vm->exit_code;
  }
  fflush(stdout);
  for (int k = 0; k < world.n; k++) errors |= world.vms[k]->errors_seen;
  if (!rc) rc = !ok ? 2 : exit_code >= 0 ? exit_code : errors ? 1 : 0;
  if (o->verify && world.n && !final_verify(world.vms[0])) rc = 3;
  if (o->gc_stats) {
    config_line(o);
    for (int k = 0; k < world.n; k++) {
      capgc_stats_t st;
      char who[128];
      snprintf(who, sizeof who, "compartment %s", world.vms[k]->name);
      if (!world.vms[k]->dead && m_stats(world.vms[k], &st)) print_stats(who, &st);
    }
  }
  for (int k = 0; k < world.n; k++) vm_free(world.vms[k]);
  for (int k = 0; k < world.n; k++) free(names[k]);
  capgc_split_heap_free(split);
  free(world.vms);
  free(names);
  free(paths);
  free(which);
  return rc;
}

int main(int argc, char **argv) {
  opts_t o = {0};
  int rc = parse_args(argc, argv, &o);
  if (rc == 0) {
    if (!prims_init()) {
      fprintf(stderr, "scheme: internal: the primitive table\n");
      rc = 2;
    } else if (o.compartments) {
      if (o.nfiles == 0) {
        fprintf(stderr, "scheme: --compartments needs files (NAME:FILE ...)\n");
        rc = 2;
      } else {
        rc = run_compartments(&o);
      }
    } else {
      rc = run_plain(&o);
    }
  } else if (rc < 0) {
    rc = 0;
  }
  prims_free();
  free(o.files);
  free(o.exprs);
  return rc;
}
