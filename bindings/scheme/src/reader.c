/*
 * reader.c — text to heap data. Each datum read is pushed on the value
 * stack; a list's elements are pushed as they are read and consed up from
 * the end once its ')' is seen, so every partial structure is rooted while
 * the next allocation happens.
 *
 * Syntax: lists with dotted tails ([ ] as parentheses too), 'x, strings
 * with \n \t \\ \" escapes, #t #f #true #false, #\c #\space #\newline
 * #\tab #\nul, #( vectors ), integers (fixnums; beyond 56 bits a flonum),
 * decimals, symbols (case-sensitive); comments: ; to end of line,
 * #| block |#, #; datum.
 */
#include "scheme.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int peekc(reader_t *r) { return r->pos < r->len ? (unsigned char)r->s[r->pos] : -1; }

static int getc_(reader_t *r) {
  int c = peekc(r);
  if (c >= 0) {
    r->pos++;
    if (c == '\n') r->line++;
  }
  return c;
}

static bool delimiter(int c) {
  return c < 0 || isspace(c) || c == '(' || c == ')' || c == '[' || c == ']' || c == '"' || c == ';' ||
         c == '\'';
}

static int fail(vm_t *vm, reader_t *r, const char *msg) {
  vm_error(vm, "read error, line %d: %s", r->line, msg);
  return RD_ERROR;
}

static int incomplete(vm_t *vm, reader_t *r) {
  vm_error(vm, "read error, line %d: unexpected end of input", r->line);
  return RD_INCOMPLETE;
}

/* Skips whitespace and comments; RD_OK, or RD_INCOMPLETE inside #|. */
static int skip_space(vm_t *vm, reader_t *r) {
  for (;;) {
    int c = peekc(r);
    if (c < 0) return RD_OK;
    if (isspace(c)) {
      getc_(r);
    } else if (c == ';') {
      while ((c = getc_(r)) >= 0 && c != '\n') {
      }
    } else if (c == '#' && r->pos + 1 < r->len && r->s[r->pos + 1] == '|') {
      r->pos += 2;
      int depth = 1;
      while (depth > 0) {
        c = getc_(r);
        if (c < 0) return incomplete(vm, r);
        if (c == '|' && peekc(r) == '#') {
          getc_(r);
          depth--;
        } else if (c == '#' && peekc(r) == '|') {
          getc_(r);
          depth++;
        }
      }
    } else {
      return RD_OK;
    }
  }
}

int read_skip(vm_t *vm, reader_t *r) { return skip_space(vm, r); }

/* Pushes (sym datum) for 'datum. */
static int read_abbrev(vm_t *vm, reader_t *r, const char *sym) {
  uint32_t base = vm->sp, s;
  if (!v_reserve(vm, &s) || !sym_intern(vm, s, sym, strlen(sym))) return RD_ERROR;
  int rc = read_datum(vm, r);
  if (rc == RD_EOF) return incomplete(vm, r);
  if (rc != RD_OK) return rc;
  /* stack: sym datum -> (sym datum) at base */
  if (!v_push_imm(vm, W_NIL) || !mk_cons(vm, vm->sp - 1, base + 1, vm->sp - 1) ||
      !mk_cons(vm, base, base, vm->sp - 1) || !v_pop_to(vm, base + 1))
    return RD_ERROR;
  return RD_OK;
}

static int read_list(vm_t *vm, reader_t *r, int close) {
  uint32_t base = vm->sp;
  bool dotted = false;
  for (;;) {
    int rc = skip_space(vm, r);
    if (rc != RD_OK) return rc;
    int c = peekc(r);
    if (c < 0) return incomplete(vm, r);
    if (c == ')' || c == ']') {
      if (c != close) return fail(vm, r, "mismatched closing bracket");
      getc_(r);
      break;
    }
    if (c == '.' && r->pos + 1 <= r->len && delimiter(r->pos + 1 < r->len ? (unsigned char)r->s[r->pos + 1] : -1)) {
      getc_(r);
      if (vm->sp == base) return fail(vm, r, "nothing before '.'");
      rc = read_datum(vm, r);
      if (rc == RD_EOF) return incomplete(vm, r);
      if (rc != RD_OK) return rc;
      if ((rc = skip_space(vm, r)) != RD_OK) return rc;
      c = getc_(r);
      if (c < 0) return incomplete(vm, r);
      if (c != close) return fail(vm, r, "expected ')' after the dotted tail");
      dotted = true;
      break;
    }
    rc = read_datum(vm, r);
    if (rc == RD_EOF) return incomplete(vm, r);
    if (rc != RD_OK) return rc;
  }
  if (!dotted && !v_push_imm(vm, W_NIL)) return RD_ERROR;
  uint32_t tail = vm->sp - 1;
  for (uint32_t i = tail; i-- > base;)
    if (!mk_cons(vm, tail, i, tail)) return RD_ERROR;
  if (!v_move(vm, base, tail) || !v_pop_to(vm, base + 1)) return RD_ERROR;
  return RD_OK;
}

static int read_vector(vm_t *vm, reader_t *r) {
  uint32_t base = vm->sp;
  int rc = read_list(vm, r, ')');
  if (rc != RD_OK) return rc;
  /* the list at base -> a vector */
  uint64_t n = 0;
  bool proper;
  if (!list_length(vm, base, &n, &proper)) return RD_ERROR;
  if (!proper) return fail(vm, r, "a dotted vector");
  uint32_t v, x;
  if (!v_reserve(vm, &v) || !v_reserve(vm, &x) || !mk_vector(vm, v, n, R_NULL)) return RD_ERROR;
  for (uint64_t i = 0; i < n; i++)
    if (!car(vm, x, base) || !vec_set(vm, v, i, x) || !cdr(vm, base, base)) return RD_ERROR;
  if (!v_move(vm, base, v) || !v_pop_to(vm, base + 1)) return RD_ERROR;
  return RD_OK;
}

static int read_string(vm_t *vm, reader_t *r) {
  size_t cap = 64, n = 0;
  char *buf = malloc(cap);
  if (!buf) return fail(vm, r, "out of C memory");
  for (;;) {
    int c = getc_(r);
    if (c < 0) {
      free(buf);
      return incomplete(vm, r);
    }
    if (c == '"') break;
    if (c == '\\') {
      c = getc_(r);
      switch (c) {
      case 'n': c = '\n'; break;
      case 't': c = '\t'; break;
      case 'r': c = '\r'; break;
      case '0': c = 0; break;
      case '\\':
      case '"': break;
      case -1: free(buf); return incomplete(vm, r);
      default: free(buf); return fail(vm, r, "unknown string escape");
      }
    }
    if (n + 1 >= cap) {
      char *p = realloc(buf, cap *= 2);
      if (!p) {
        free(buf);
        return fail(vm, r, "out of C memory");
      }
      buf = p;
    }
    buf[n++] = (char)c;
  }
  uint32_t s;
  bool ok = v_reserve(vm, &s) && mk_string(vm, s, buf, n);
  free(buf);
  return ok ? RD_OK : RD_ERROR;
}

/* A token that is not a list or string: a number or a symbol. */
static int read_atom(vm_t *vm, reader_t *r) {
  size_t start = r->pos;
  while (!delimiter(peekc(r))) getc_(r);
  size_t n = r->pos - start;
  char tok[128];
  const char *t = r->s + start;
  if (n < sizeof tok) {
    memcpy(tok, t, n);
    tok[n] = 0;
    bool digit = false;
    for (size_t i = 0; i < n; i++) digit |= isdigit((unsigned char)tok[i]) != 0;
    if (digit) {
      char *end;
      errno = 0;
      long long v = strtoll(tok, &end, 10);
      if (*end == 0 && errno == 0 && v >= FIX_MIN && v <= FIX_MAX) return v_push_imm(vm, w_fix(v)) ? RD_OK : RD_ERROR;
      double d = strtod(tok, &end);
      if (*end == 0) {
        uint32_t s;
        return v_reserve(vm, &s) && mk_flonum(vm, s, d) ? RD_OK : RD_ERROR;
      }
    }
  }
  uint32_t s;
  return v_reserve(vm, &s) && sym_intern(vm, s, t, n) ? RD_OK : RD_ERROR;
}

static int read_hash(vm_t *vm, reader_t *r) {
  getc_(r); /* '#' */
  int c = peekc(r);
  if (c == '(') {
    getc_(r);
    return read_vector(vm, r);
  }
  if (c == '\\') {
    getc_(r);
    size_t start = r->pos;
    if (getc_(r) < 0) return incomplete(vm, r);
    while (!delimiter(peekc(r))) getc_(r);
    size_t n = r->pos - start;
    const char *t = r->s + start;
    int ch = -1;
    if (n == 1) ch = (unsigned char)t[0];
    else if (n == 5 && !memcmp(t, "space", 5)) ch = ' ';
    else if (n == 7 && !memcmp(t, "newline", 7)) ch = '\n';
    else if (n == 3 && !memcmp(t, "tab", 3)) ch = '\t';
    else if (n == 3 && !memcmp(t, "nul", 3)) ch = 0;
    else if (n == 6 && !memcmp(t, "return", 6)) ch = '\r';
    if (ch < 0) return fail(vm, r, "unknown character name");
    return v_push_imm(vm, MKW(K_CHAR, ch)) ? RD_OK : RD_ERROR;
  }
  if (c == ';') { /* datum comment: read one datum and drop it */
    getc_(r);
    uint32_t base = vm->sp;
    int rc = read_datum(vm, r);
    if (rc == RD_EOF) return incomplete(vm, r);
    if (rc != RD_OK) return rc;
    if (!v_pop_to(vm, base)) return RD_ERROR;
    return read_datum(vm, r);
  }
  size_t start = r->pos;
  while (!delimiter(peekc(r))) getc_(r);
  size_t n = r->pos - start;
  const char *t = r->s + start;
  if ((n == 1 && t[0] == 't') || (n == 4 && !memcmp(t, "true", 4))) return v_push_imm(vm, W_TRUE) ? RD_OK : RD_ERROR;
  if ((n == 1 && t[0] == 'f') || (n == 5 && !memcmp(t, "false", 5))) return v_push_imm(vm, W_FALSE) ? RD_OK : RD_ERROR;
  return fail(vm, r, "unknown # syntax");
}

int read_datum(vm_t *vm, reader_t *r) {
  int rc = skip_space(vm, r);
  if (rc != RD_OK) return rc;
  int c = peekc(r);
  if (c < 0) return RD_EOF;
  switch (c) {
  case '(': getc_(r); return read_list(vm, r, ')');
  case '[': getc_(r); return read_list(vm, r, ']');
  case ')':
  case ']': getc_(r); return fail(vm, r, "unexpected ')'");
  case '\'': getc_(r); return read_abbrev(vm, r, "quote");
  case '`': getc_(r); return read_abbrev(vm, r, "quasiquote");
  case ',':
    getc_(r);
    if (peekc(r) == '@') {
      getc_(r);
      return read_abbrev(vm, r, "unquote-splicing");
    }
    return read_abbrev(vm, r, "unquote");
  case '"': getc_(r); return read_string(vm, r);
  case '#': return read_hash(vm, r);
  default: return read_atom(vm, r);
  }
}
