/*
 * print.c — display and write, into a growable C buffer. Walking a
 * structure copies each part into a stack slot first, so the printer holds
 * no reference bits either (it does not allocate, but it keeps the rule).
 */
#include "scheme.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sb_put(sbuf_t *b, const char *s, size_t n) {
  if (b->limit && b->n + n > b->limit) {
    if (b->n < b->limit) n = b->limit - b->n;
    else n = 0;
  }
  if (b->n + n + 4 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (b->n + n + 4 > cap) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return; /* out of memory: output is dropped */
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

void sb_puts(sbuf_t *b, const char *s) { sb_put(b, s, strlen(s)); }

void sb_printf(sbuf_t *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) sb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void sb_free(sbuf_t *b) {
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}

/* The shortest of %.15g..%.17g that reads back as d, with ".0" if it
 * would otherwise look like an integer. */
void format_double(double d, char *out, size_t cap) {
  if (isnan(d)) {
    snprintf(out, cap, "+nan.0");
    return;
  }
  if (isinf(d)) {
    snprintf(out, cap, d > 0 ? "+inf.0" : "-inf.0");
    return;
  }
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(out, cap, "%.*g", prec, d);
    if (strtod(out, NULL) == d) break;
  }
  if (!strpbrk(out, ".e")) {
    size_t n = strlen(out);
    if (n + 3 <= cap) memcpy(out + n, ".0", 3);
  }
}

static void put_char_name(sbuf_t *b, unsigned c) {
  switch (c) {
  case ' ': sb_puts(b, "#\\space"); break;
  case '\n': sb_puts(b, "#\\newline"); break;
  case '\t': sb_puts(b, "#\\tab"); break;
  case 0: sb_puts(b, "#\\nul"); break;
  default: {
    char s[4] = {'#', '\\', (char)c, 0};
    sb_puts(b, s);
  }
  }
}

static bool print_string(vm_t *vm, sbuf_t *b, uint32_t slot, bool write) {
  char *s;
  size_t n;
  TRY(str_bytes(vm, slot, &s, &n));
  if (!write) {
    sb_put(b, s, n);
  } else {
    sb_put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
      switch (s[i]) {
      case '"': sb_puts(b, "\\\""); break;
      case '\\': sb_puts(b, "\\\\"); break;
      case '\n': sb_puts(b, "\\n"); break;
      case '\t': sb_puts(b, "\\t"); break;
      default: sb_put(b, &s[i], 1);
      }
    }
    sb_put(b, "\"", 1);
  }
  free(s);
  return true;
}

static bool print_rec(vm_t *vm, sbuf_t *b, uint32_t slot, bool write, int depth);

static bool print_pair(vm_t *vm, sbuf_t *b, uint32_t slot, bool write, int depth) {
  uint32_t base = vm->sp, x, e;
  TRY(v_push(vm, slot));
  x = base;
  TRY(v_reserve(vm, &e));
  /* 'x for (quote x) */
  TRY(car(vm, e, x));
  if (vm->W[e] == MKW(K_SYMBOL, vm->sy[SY_QUOTE])) {
    TRY(cdr(vm, e, x));
    if (KIND(vm->W[e]) == K_PAIR) {
      uint32_t f;
      TRY(v_reserve(vm, &f));
      TRY(cdr(vm, f, e));
      if (KIND(vm->W[f]) == K_NIL) {
        sb_put(b, "'", 1);
        TRY(car(vm, e, e));
        TRY(print_rec(vm, b, e, write, depth + 1));
        return v_pop_to(vm, base);
      }
    }
  }
  sb_put(b, "(", 1);
  for (;;) {
    TRY(car(vm, e, x));
    TRY(print_rec(vm, b, e, write, depth + 1));
    TRY(cdr(vm, x, x));
    if (KIND(vm->W[x]) == K_NIL) break;
    if (KIND(vm->W[x]) != K_PAIR) {
      sb_put(b, " . ", 3);
      TRY(print_rec(vm, b, x, write, depth + 1));
      break;
    }
    sb_put(b, " ", 1);
    if (b->limit && b->n >= b->limit) break;
  }
  sb_put(b, ")", 1);
  return v_pop_to(vm, base);
}

static bool print_vector(vm_t *vm, sbuf_t *b, uint32_t slot, bool write, int depth) {
  uint32_t base = vm->sp, x, e;
  TRY(v_push(vm, slot));
  x = base;
  TRY(v_reserve(vm, &e));
  uint64_t n = PAYLOAD(vm->W[x]);
  sb_put(b, "#(", 2);
  for (uint64_t i = 0; i < n; i++) {
    if (i) sb_put(b, " ", 1);
    TRY(vec_get(vm, e, x, i));
    TRY(print_rec(vm, b, e, write, depth + 1));
    if (b->limit && b->n >= b->limit) break;
  }
  sb_put(b, ")", 1);
  return v_pop_to(vm, base);
}

static bool print_rec(vm_t *vm, sbuf_t *b, uint32_t slot, bool write, int depth) {
  uint64_t w = vm->W[slot];
  if (depth > 10000) {
    sb_puts(b, "...");
    return true;
  }
  switch (KIND(w)) {
  case K_UNDEF: sb_puts(b, "#<undefined>"); return true;
  case K_UNSPEC: sb_puts(b, "#<unspecified>"); return true;
  case K_FIXNUM: sb_printf(b, "%lld", (long long)fix_of(w)); return true;
  case K_BOOL: sb_puts(b, PAYLOAD(w) ? "#t" : "#f"); return true;
  case K_NIL: sb_puts(b, "()"); return true;
  case K_CHAR:
    if (write) put_char_name(b, (unsigned)PAYLOAD(w));
    else {
      char c = (char)PAYLOAD(w);
      sb_put(b, &c, 1);
    }
    return true;
  case K_PRIM: sb_printf(b, "#<primitive %s>", g_prims[PAYLOAD(w)].name); return true;
  case K_EOF: sb_puts(b, "#<eof>"); return true;
  case K_NOENV:
  case K_FRAME: sb_puts(b, "#<environment>"); return true;
  case K_PAIR: return print_pair(vm, b, slot, write, depth);
  case K_STRING: return print_string(vm, b, slot, write);
  case K_SYMBOL: {
    sym_t *e = &vm->syms[PAYLOAD(w)];
    sb_put(b, e->name, e->len);
    return true;
  }
  case K_VECTOR: return print_vector(vm, b, slot, write, depth);
  case K_CLOSURE: {
    code_t *c = vm->codes[PAYLOAD(w) >> 1];
    if (c->name != UINT32_MAX) sb_printf(b, "#<procedure %s>", vm->syms[c->name].name);
    else sb_puts(b, "#<procedure>");
    return true;
  }
  case K_FLONUM: {
    double d;
    char tmp[40];
    TRY(flonum_of(vm, slot, &d));
    format_double(d, tmp, sizeof tmp);
    sb_puts(b, tmp);
    return true;
  }
  case K_WTABLE: sb_printf(b, "#<weak-table %llu>", (unsigned long long)PAYLOAD(w)); return true;
  case K_BOX: sb_puts(b, "#<box>"); return true;
  case K_SEALED: {
    uint64_t owner = PAYLOAD(w);
    const char *name = vm->world && owner < (uint64_t)vm->world->n ? vm->world->vms[owner]->name : "?";
    sb_printf(b, "#<sealed object of %s>", name);
    return true;
  }
  }
  sb_printf(b, "#<kind %u>", KIND(w));
  return true;
}

bool print_value(vm_t *vm, sbuf_t *b, uint32_t slot, bool write) {
  uint32_t base = vm->sp;
  bool ok = print_rec(vm, b, slot, write, 0);
  if (!ok) (void)v_pop_to(vm, base); /* best effort: the caller reports */
  return ok;
}

/* A value for an error message: written, at most ~100 characters. */
void describe(vm_t *vm, uint32_t slot, char *out, size_t cap) {
  sbuf_t b = {0};
  b.limit = 100;
  if (!print_value(vm, &b, slot, true)) {
    sb_free(&b);
    snprintf(out, cap, "#<unprintable value>");
    return;
  }
  snprintf(out, cap, "%s%s", b.p ? b.p : "", b.limit && b.n >= b.limit ? "..." : "");
  sb_free(&b);
}
