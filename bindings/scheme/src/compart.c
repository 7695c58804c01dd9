/*
 * compart.c — scripts in separate compartments of one split heap,
 * exchanging sealed references.
 *
 * `scheme --compartments a.scm b.scm ...` gives each named compartment
 * (NAME:FILE, or FILE named by its basename) its own VM — its own region,
 * types, globals and collector — in one capgc split heap, and runs the
 * files in order (a name given twice runs its second file in the same VM).
 *
 * The surface:
 *   (export 'key v)      v is boxed in the exporter's heap, the box sealed
 *                        (capgc_seal) for every other compartment and put in
 *                        its mailbox (a root region of the holder's, so the
 *                        sealed reference stays valid across whole-heap
 *                        collections). A sealed value is passed on as it is.
 *   (import 'key)        the sealed reference from this VM's mailbox: a value
 *                        this VM can keep, store in its pairs and vectors,
 *                        pass back, but not open.
 *   (unseal s)           capgc_unseal by this compartment: the owner gets its
 *                        value back; anyone else CAPGC_E_UNSEAL_DENIED.
 *   (import-unsealed 'key)  the host hands over the exporter's object
 *                        without sealing it: CapGC refuses the foreign
 *                        reference (CAPGC_E_COMPARTMENT_VIOLATION).
 *   (sealed-ref s)       uses a sealed reference as an object: refused
 *                        (CAPGC_E_SEALED_REFERENCE).
 *   (collect-all)        the whole-heap collection; (collect) collects this
 *                        compartment alone.
 *   (compartment-name), (compartment-report), (destroy-compartment 'name)
 */
#include "scheme.h"

#include <stdlib.h>
#include <string.h>

#define MAILBOX_SLOTS 1024

static bool in_compartment(vm_t *vm) {
  if (vm->split) return true;
  return vm_error(vm, "not running in a compartment (see --compartments)");
}

/* The C string of a symbol or string key. */
static bool key_of(vm_t *vm, uint32_t slot, char **out) {
  if (KIND(vm->W[slot]) == K_SYMBOL) {
    *out = strdup(vm->syms[PAYLOAD(vm->W[slot])].name);
    return *out != NULL || vm_error(vm, "out of C memory");
  }
  if (KIND(vm->W[slot]) == K_STRING) {
    size_t n;
    return str_bytes(vm, slot, out, &n);
  }
  return need(vm, slot, K_SYMBOL, "a symbol or string key", 1);
}

static int index_of(vm_t *vm, capgc_compartment_t c) {
  for (int i = 0; i < vm->world->n; i++)
    if (vm->world->vms[i]->comp == c) return i;
  return -1;
}

static mail_t *mail_find(vm_t *vm, const char *key) {
  for (uint32_t i = 0; i < vm->nmail; i++)
    if (strcmp(vm->mail[i].key, key) == 0) return &vm->mail[i];
  return NULL;
}

/* Puts sealed reference s in holder's mailbox under key. */
static bool deliver(vm_t *vm, vm_t *holder, const char *key, const capgc_sealed_t *s) {
  mail_t *m = mail_find(holder, key);
  if (!m) {
    if (holder->nmail == MAILBOX_SLOTS) return vm_error(vm, "%s's mailbox is full", holder->name);
    if (holder->nmail == holder->capmail) {
      uint32_t cap = holder->capmail ? holder->capmail * 2 : 16;
      mail_t *p = realloc(holder->mail, cap * sizeof *p);
      if (!p) return vm_error(vm, "out of C memory");
      holder->mail = p;
      holder->capmail = cap;
    }
    char *k = strdup(key);
    if (!k) return vm_error(vm, "out of C memory");
    m = &holder->mail[holder->nmail];
    m->key = k;
    m->slot = holder->nmail++;
  }
  CK(vm, capgc_region_set_sealed(vm->split, holder->comp, holder->mail_region, m->slot, s));
  return true;
}

static bool p_export(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(in_compartment(vm));
  char *key;
  TRY(key_of(vm, a, &key));
  bool ok = true;
  world_t *w = vm->world;
  if (IS_SEALED(vm->W[a + 1])) { /* passed on as it is */
    capgc_sealed_t s;
    ok = true;
    capgc_status_t st = capgc_region_get_sealed(vm->split, vm->comp, vm->region, a + 1, &s);
    if (st != CAPGC_OK) ok = vm_capgc_fail(vm, st, "capgc_region_get_sealed");
    for (int i = 0; ok && i < w->n; i++)
      if (w->vms[i] != vm && !w->vms[i]->dead) ok = deliver(vm, w->vms[i], key, &s);
  } else {
    uint32_t box;
    ok = v_reserve(vm, &box) && m_alloc(vm, box, vm->t_box);
    if (ok) vm->W[box] = MKW(K_BOX, 0);
    ok = ok && o_init(vm, box, VR_REF(vm, 0), VR_WORD(vm, 1, 0), a + 1);
    for (int i = 0; ok && i < w->n; i++) {
      if (w->vms[i] == vm || w->vms[i]->dead) continue;
      capgc_ref_t r;
      capgc_sealed_t s;
      ok = m_ref(vm, box, &r); /* fresh: sealing is a safepoint of ours */
      capgc_status_t st = ok ? capgc_seal(vm->split, vm->comp, r, w->vms[i]->comp, &s) : CAPGC_OK;
      if (st != CAPGC_OK) ok = vm_capgc_fail(vm, st, "capgc_seal");
      ok = ok && deliver(vm, w->vms[i], key, &s);
    }
  }
  free(key);
  TRY(ok);
  return ret_imm(vm, W_UNSPEC);
}

static bool mail_get(vm_t *vm, uint32_t keyslot, capgc_sealed_t *s) {
  char *key;
  TRY(key_of(vm, keyslot, &key));
  mail_t *m = mail_find(vm, key);
  if (!m) {
    bool r = vm_error(vm, "nothing was exported to %s as %s", vm->name, key);
    free(key);
    return r;
  }
  free(key);
  CK(vm, capgc_region_get_sealed(vm->split, vm->comp, vm->mail_region, m->slot, s));
  return true;
}

static bool p_import(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(in_compartment(vm));
  capgc_sealed_t s;
  capgc_compartment_t owner;
  TRY(mail_get(vm, a, &s));
  CK(vm, capgc_sealed_owner(vm->split, &s, &owner));
  CK(vm, capgc_region_set_sealed(vm->split, vm->comp, vm->region, R_VAL, &s));
  int oi = index_of(vm, owner);
  vm->W[R_VAL] = MKW(K_SEALED, oi < 0 ? 0 : oi);
  return true;
}

/* R_VAL := the value in the box that r (a reference of ours) designates. */
static bool unbox(vm_t *vm, capgc_ref_t r) {
  TRY(m_set_ref(vm, R_VAL, r));
  vm->W[R_VAL] = MKW(K_BOX, 0);
  return o_get(vm, R_VAL, R_VAL, VR_REF(vm, 0), VR_WORD(vm, 1, 0));
}

static bool p_unseal(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(in_compartment(vm));
  TRY(need(vm, a, K_SEALED, NULL, 1));
  capgc_sealed_t s;
  capgc_ref_t r;
  CK(vm, capgc_region_get_sealed(vm->split, vm->comp, vm->region, a, &s));
  CK(vm, capgc_unseal(vm->split, vm->comp, &s, &r));
  return unbox(vm, r);
}

static bool p_import_unsealed(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(in_compartment(vm));
  capgc_sealed_t s;
  capgc_compartment_t owner;
  capgc_ref_t r;
  TRY(mail_get(vm, a, &s));
  CK(vm, capgc_sealed_owner(vm->split, &s, &owner));
  /* the host opens it with the owner's authority ... */
  CK(vm, capgc_unseal(vm->split, owner, &s, &r));
  /* ... and offers the owner's reference to this compartment */
  return unbox(vm, r);
}

static bool p_sealed_ref(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(in_compartment(vm));
  TRY(need(vm, a, K_SEALED, NULL, 1));
  capgc_ref_t r;
  CK(vm, capgc_compartment_region_get(vm->split, vm->comp, vm->region, a, &r));
  return unbox(vm, r);
}

static bool p_sealedp(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  return ret_imm(vm, W_BOOL(IS_SEALED(vm->W[a])));
}

static bool p_compartment_name(vm_t *vm, uint32_t a, uint32_t n) {
  (void)a;
  (void)n;
  const char *name = vm->split ? vm->name : "main";
  return sym_intern(vm, R_VAL, name, strlen(name));
}

static bool p_collect_all(vm_t *vm, uint32_t a, uint32_t n) {
  (void)a;
  (void)n;
  TRY(v_set_imm(vm, R_TMP, W_UNSPEC));
  TRY(v_set_imm(vm, R_TMP2, W_UNSPEC));
  if (vm->split) CK(vm, capgc_split_heap_collect(vm->split, NULL));
  else TRY(m_collect(vm, false));
  sym_sweep(vm);
  TRY(fin_poll(vm));
  if (vm->verify) {
    size_t v;
    TRY(m_verify(vm, &v));
  }
  return ret_imm(vm, W_UNSPEC);
}

static bool p_compartment_report(vm_t *vm, uint32_t a, uint32_t n) {
  (void)a;
  (void)n;
  TRY(in_compartment(vm));
  size_t len = 0;
  capgc_status_t s = capgc_split_heap_report(vm->split, NULL, 0, &len);
  if (s != CAPGC_OK && s != CAPGC_E_BUFFER_TOO_SMALL) return vm_capgc_fail(vm, s, "capgc_split_heap_report");
  char *buf = malloc(len + 1);
  if (!buf) return vm_error(vm, "out of C memory");
  s = capgc_split_heap_report(vm->split, buf, len + 1, &len);
  bool ok = s == CAPGC_OK ? mk_string(vm, R_VAL, buf, len) : vm_capgc_fail(vm, s, "capgc_split_heap_report");
  free(buf);
  return ok;
}

static bool p_destroy_compartment(vm_t *vm, uint32_t a, uint32_t n) {
  (void)n;
  TRY(in_compartment(vm));
  char *key;
  TRY(key_of(vm, a, &key));
  vm_t *victim = NULL;
  for (int i = 0; i < vm->world->n; i++)
    if (strcmp(vm->world->vms[i]->name, key) == 0) victim = vm->world->vms[i];
  free(key);
  if (!victim) return vm_error(vm, "no such compartment");
  if (victim == vm) return vm_error(vm, "a compartment cannot tear itself down while it runs");
  if (victim->dead) return vm_error(vm, "compartment %s is already torn down", victim->name);
  CK(vm, capgc_compartment_destroy(vm->split, victim->comp));
  victim->dead = true;
  return ret_imm(vm, W_UNSPEC);
}

void mail_free(vm_t *vm) {
  for (uint32_t i = 0; i < vm->nmail; i++) free(vm->mail[i].key);
  free(vm->mail);
  vm->mail = NULL;
  vm->nmail = vm->capmail = 0;
}

static const prim_t compart[] = {
    {"export", p_export, 2, 2, false},
    {"import", p_import, 1, 1, false},
    {"unseal", p_unseal, 1, 1, false},
    {"import-unsealed", p_import_unsealed, 1, 1, false},
    {"sealed-ref", p_sealed_ref, 1, 1, false},
    {"sealed?", p_sealedp, 1, 1, false},
    {"compartment-name", p_compartment_name, 0, 0, false},
    {"collect-all", p_collect_all, 0, 0, false},
    {"compartment-report", p_compartment_report, 0, 0, false},
    {"destroy-compartment", p_destroy_compartment, 1, 1, false},
};

void prims_compart_register(void) { prim_register(compart, sizeof compart / sizeof compart[0]); }
