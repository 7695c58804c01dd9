/*
** lcapgc.c — the `capgc` library of lua-capgc (written for this project):
** Lua's heap divided into compartments of CapGC's binding profile
** (capgc_cells_compartment_*, docs/design.md "Compartments in the binding
** profile").
**
**   capgc.compartment(name, f, ...)  calls f(...) with compartment `name`
**       (made on first use) current: every object allocated meanwhile is
**       a cell of that compartment's own memory. Returns f's results;
**       errors propagate after the previous compartment is restored. f
**       cannot yield across it (a C call boundary).
**   capgc.sandbox(name, source [, stdlib [, chunkname]])  loads `source`
**       in compartment `name` with an _ENV of its own, made there:
**       stdlib "shared" (default) reads missing globals from the host's
**       _G (an __index metatable), "copy" copies the standard library's
**       tables into the compartment, "none" leaves it empty. Returns the
**       function and its _ENV; run it with capgc.compartment.
**   capgc.report()  the non-local access report of the last collection:
**       an array of {from=, to=, last=, total=, refused=, weak=,
**       weaktotal=} for every ordered pair of named compartments with an
**       edge, a weak reference or a refusal (last: pointers from
**       `from`'s objects to `to`'s reported by the last collection's
**       traces; total: over all collections; weak, weaktotal: the same
**       for weak references -- entries of weak tables that survived the
**       collection, ephemerons' values included -- counted apart).
**   capgc.compartmentof(v)  the compartment name of collectable `v`
**       (nil for values that are not objects, or the main thread).
**   capgc.strict(on)  strict compartments on or off (returns whether they
**       were on): while on, a store Lua's barriers report -- into a
**       table (a value, a metatable), a userdata (a user value, a
**       metatable) or a closure (an upvalue) -- of an object of another
**       compartment is refused unless either is a declared crossing: the
**       store is taken back and an error raised ("capgc strict mode:
**       ..."). Not refused, only counted by the report: stores Lua makes
**       without a barrier (a thread's stack: locals, arguments, a
**       coroutine's values), into upvalues, new table keys, strings and
**       the main thread (lgc_capgc.c's strictstore says why). Turning it
**       on or off runs a whole collection.
**   capgc.destroy(name)  tears compartment `name` down: no more
**       allocation there (entering it is an error from now on); a whole
**       collection, after which every block of its memory with no live
**       object is returned to the system. Returns true, 0 when nothing of
**       it is left, or false and the number of 64 KiB blocks still held
**       by objects something references (deferred: call it again once
**       they are unreferenced). Not "root" nor the current compartment.
**   capgc.crossing(v)  declares object `v` a crossing (a proxy): stores
**       of it into other compartments' objects, and of theirs into it,
**       are allowed in strict mode, until it dies. Returns `v`.
**
** Compartment names live in the registry (table "capgc.compartments":
** name -> id, and its array part: the names in creation order). A
** program that never requires "capgc" is unchanged: the library is only
** preloaded, and no compartment exists until one is made.
** Strict mode needs every store: lua-capgc's lgc.h (patched by build.rs)
** sends every barrier on an object with STRICTBIT to lgc_capgc.c, and
** strict mode gives every object that bit. A sandbox is built (its _ENV,
** the host's tables it reads) with the checks suspended: the host's own
** declared edges.
*/
#define lcapgc_c
#define LUA_LIB

#include <stdint.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

#include "capgc.h"
#include "lcapgc.h"

capgc_cells_t *luaC_capgccells(lua_State *L); /* lgc_capgc.c */
int luaC_capgcstrict(lua_State *L, int on);     /* lgc_capgc.c */

#define REGKEY "capgc.compartments"

/* The names table on top of the stack. */
static void names(lua_State *L) {
  if (luaL_getsubtable(L, LUA_REGISTRYINDEX, REGKEY)) return;
  capgc_cell_compartment_t root;
  if (capgc_cells_compartment_root(luaC_capgccells(L), &root) != CAPGC_OK)
    luaL_error(L, "capgc: %s", capgc_last_error());
  lua_pushinteger(L, (lua_Integer)root);
  lua_setfield(L, -2, "root");
  lua_pushliteral(L, "root");
  lua_rawseti(L, -2, 1);
}

/* The id of compartment `name`, made if it does not exist. */
static capgc_cell_compartment_t idof(lua_State *L, const char *name) {
  names(L);
  capgc_cell_compartment_t id = 0;
  if (lua_getfield(L, -1, name) == LUA_TNUMBER)
    id = (capgc_cell_compartment_t)lua_tointeger(L, -1);
  else {
    capgc_status_t s = capgc_cells_compartment_new(luaC_capgccells(L), &id);
    if (s != CAPGC_OK) luaL_error(L, "capgc: cannot make compartment '%s': %s", name, capgc_last_error());
    lua_pushinteger(L, (lua_Integer)id);
    lua_setfield(L, -3, name);
    lua_pushstring(L, name);
    lua_rawseti(L, -3, (lua_Integer)lua_rawlen(L, -3) + 1);
  }
  lua_pop(L, 2);
  return id;
}

/* The name of compartment `id` pushed (nil if unnamed). */
static void pushname(lua_State *L, capgc_cell_compartment_t id) {
  names(L);
  lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    lua_pushvalue(L, -1);
    lua_rawget(L, -3);
    int same = lua_tointeger(L, -1) == (lua_Integer)id;
    lua_pop(L, 1);
    if (same) {
      lua_remove(L, -2);
      return;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  lua_pushnil(L);
}

int lcapgc_pcall_in(lua_State *L, const char *name, int nargs, int nresults) {
  capgc_cells_t *cells = luaC_capgccells(L);
  capgc_cell_compartment_t prev = 0, id = idof(L, name);
  capgc_status_t s = capgc_cells_compartment_current(cells, &prev);
  if (s == CAPGC_OK) s = capgc_cells_compartment_enter(cells, id);
  if (s != CAPGC_OK) {
    lua_pop(L, nargs + 1);
    lua_pushfstring(L, "capgc: cannot enter compartment '%s': %s", name, capgc_last_error());
    return LUA_ERRRUN;
  }
  int status = lua_pcall(L, nargs, nresults, 0);
  if (capgc_cells_compartment_enter(cells, prev) != CAPGC_OK) {
    /* the outer compartment was destroyed meanwhile: back to the root */
    capgc_cell_compartment_t root;
    if (capgc_cells_compartment_root(cells, &root) == CAPGC_OK)
      (void)capgc_cells_compartment_enter(cells, root);
  }
  return status;
}

static int l_compartment(lua_State *L) {
  const char *name = luaL_checkstring(L, 1); /* stays at 1: f and its args above */
  luaL_checkany(L, 2);
  if (lcapgc_pcall_in(L, name, lua_gettop(L) - 2, LUA_MULTRET) != LUA_OK) return lua_error(L);
  return lua_gettop(L) - 1;
}

/* Copies the table at `idx` (shallow) into a new table on top. */
static void copytable(lua_State *L, int idx) {
  idx = lua_absindex(L, idx);
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
}

/* In the compartment: [source, stdlib, chunkname] -> [f, env] */
static int sandbox_inside(lua_State *L) {
  size_t len;
  const char *src = luaL_checklstring(L, 1, &len);
  const char *how = luaL_checkstring(L, 2);
  const char *chunk = luaL_checkstring(L, 3);
  lua_newtable(L); /* env: 4 */
  if (strcmp(how, "shared") == 0) {
    lua_createtable(L, 0, 1);
    lua_pushglobaltable(L);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, 4);
  } else if (strcmp(how, "copy") == 0) {
    static const char *const libs[] = {"string", "table", "math", "utf8", "os", "io", "coroutine", NULL};
    lua_pushglobaltable(L);
    copytable(L, -1); /* the base functions and every global */
    lua_replace(L, 4);
    for (int i = 0; libs[i]; i++) {
      if (lua_getfield(L, -1, libs[i]) == LUA_TTABLE) {
        copytable(L, -1);
        lua_setfield(L, 4, libs[i]);
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_pushvalue(L, 4);
    lua_setfield(L, 4, "_G");
  } else if (strcmp(how, "none") != 0)
    return luaL_error(L, "capgc.sandbox: stdlib must be 'shared', 'copy' or 'none', not '%s'", how);
  if (luaL_loadbufferx(L, src, len, chunk, "t") != LUA_OK) return lua_error(L);
  lua_pushvalue(L, 4);
  if (lua_setupvalue(L, -2, 1) == NULL) lua_pop(L, 1);
  lua_pushvalue(L, 4);
  return 2;
}

static int l_sandbox(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  luaL_checkstring(L, 2);
  const char *how = luaL_optstring(L, 3, "shared");
  const char *chunk = luaL_optstring(L, 4, name);
  lua_pushcfunction(L, sandbox_inside);
  lua_pushvalue(L, 2);
  lua_pushstring(L, how);
  lua_pushstring(L, chunk);
  int was = luaC_capgcstrict(L, -1); /* the host builds it (the header) */
  int status = lcapgc_pcall_in(L, name, 3, 2);
  if (was) luaC_capgcstrict(L, -2);
  if (status != LUA_OK) return lua_error(L);
  return 2;
}

static int l_report(lua_State *L) {
  capgc_cells_t *cells = luaC_capgccells(L);
  names(L);
  int t = lua_gettop(L);
  lua_Integer n = (lua_Integer)lua_rawlen(L, t), row = 0;
  lua_newtable(L);
  for (lua_Integer i = 1; i <= n; i++)
    for (lua_Integer j = 1; j <= n; j++) {
      if (i == j) continue;
      lua_rawgeti(L, t, i);
      lua_rawgeti(L, t, j);
      lua_pushvalue(L, -2);
      lua_rawget(L, t);
      lua_pushvalue(L, -2);
      lua_rawget(L, t);
      capgc_cell_edges_t e, w;
      capgc_cell_compartment_t from = (capgc_cell_compartment_t)lua_tointeger(L, -2),
                               to = (capgc_cell_compartment_t)lua_tointeger(L, -1);
      capgc_status_t s = capgc_cells_compartment_edges(cells, from, to, &e);
      if (s == CAPGC_OK) s = capgc_cells_compartment_weak_edges(cells, from, to, &w);
      lua_pop(L, 2);
      if (s != CAPGC_OK ||
          (e.last == 0 && e.total == 0 && e.refused == 0 && w.last == 0 && w.total == 0)) {
        lua_pop(L, 2); /* a destroyed compartment, or nothing to say */
        continue;
      }
      lua_createtable(L, 0, 7);
      lua_rotate(L, -3, 1); /* [report, row, from, to] */
      lua_setfield(L, -3, "to");
      lua_setfield(L, -2, "from");
      lua_pushinteger(L, (lua_Integer)e.last);
      lua_setfield(L, -2, "last");
      lua_pushinteger(L, (lua_Integer)e.total);
      lua_setfield(L, -2, "total");
      lua_pushinteger(L, (lua_Integer)e.refused);
      lua_setfield(L, -2, "refused");
      lua_pushinteger(L, (lua_Integer)w.last);
      lua_setfield(L, -2, "weak");
      lua_pushinteger(L, (lua_Integer)w.total);
      lua_setfield(L, -2, "weaktotal");
      lua_rawseti(L, -2, ++row);
    }
  return 1;
}

static int l_compartmentof(lua_State *L) {
  luaL_checkany(L, 1);
  const void *p = lua_topointer(L, 1);
  int t = lua_type(L, 1);
  capgc_cell_compartment_t id;
  if (p == NULL || t == LUA_TLIGHTUSERDATA ||
      capgc_cells_compartment_of(luaC_capgccells(L), p, &id) != CAPGC_OK) {
    lua_pushnil(L);
    return 1;
  }
  pushname(L, id);
  return 1;
}

/* lgc_capgc.c's strictstore refused the store of `val` into `obj`: the
** error, with their compartments' names. */
void lcapgc_refuse(lua_State *L, const void *obj, const char *objtype, const void *val,
                   const char *valtype);
void lcapgc_refuse(lua_State *L, const void *obj, const char *objtype, const void *val,
                   const char *valtype) {
  capgc_cells_t *cells = luaC_capgccells(L);
  capgc_cell_compartment_t a = 0, b = 0;
  luaL_checkstack(L, 8, "capgc strict mode");
  if (capgc_cells_compartment_of(cells, obj, &a) != CAPGC_OK ||
      capgc_cells_compartment_of(cells, val, &b) != CAPGC_OK)
    luaL_error(L, "capgc strict mode: a cross-compartment store refused");
  pushname(L, a);
  pushname(L, b);
  const char *na = lua_tostring(L, -2), *nb = lua_tostring(L, -1);
  luaL_error(L,
             "capgc strict mode: a %s of compartment '%s' cannot refer to %s %s of "
             "compartment '%s' (neither is a declared crossing: capgc.crossing)",
             objtype, na ? na : "?", strchr("aeiou", valtype[0]) ? "an" : "a", valtype,
             nb ? nb : "?");
}

static int l_destroy(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  names(L);
  if (lua_getfield(L, -1, name) != LUA_TNUMBER)
    return luaL_error(L, "capgc.destroy: no compartment '%s'", name);
  capgc_cell_compartment_t id = (capgc_cell_compartment_t)lua_tointeger(L, -1);
  lua_pop(L, 2);
  capgc_cells_t *cells = luaC_capgccells(L);
  lua_gc(L, LUA_GCCOLLECT); /* a cycle in progress ends: the heap is idle */
  capgc_status_t s = capgc_cells_compartment_destroy(cells, id);
  if (s != CAPGC_OK && s != CAPGC_E_COMPARTMENT_DESTROYED) /* again: fine */
    return luaL_error(L, "capgc.destroy: cannot destroy '%s': %s", name, capgc_last_error());
  lua_gc(L, LUA_GCCOLLECT); /* what died is released, its blocks returned */
  uint64_t held = 0;
  if (capgc_cells_compartment_held(cells, id, &held) != CAPGC_OK)
    return luaL_error(L, "capgc.destroy: '%s': %s", name, capgc_last_error());
  lua_pushboolean(L, held == 0);
  lua_pushinteger(L, (lua_Integer)held);
  return 2;
}

static int l_strict(lua_State *L) {
  luaL_checkany(L, 1);
  names(L); /* compartments exist, with their names */
  lua_pushboolean(L, luaC_capgcstrict(L, lua_toboolean(L, 1)));
  return 1;
}

static int l_crossing(lua_State *L) {
  int t = lua_type(L, 1);
  luaL_argexpected(L, t == LUA_TTABLE || t == LUA_TFUNCTION || t == LUA_TUSERDATA || t == LUA_TTHREAD, 1,
                   "table, function, full userdata or thread");
  const void *p = lua_topointer(L, 1);
  capgc_status_t s = capgc_cells_crossing_declare(luaC_capgccells(L), p);
  if (s != CAPGC_OK) /* a C function, the main thread: no cell */
    return luaL_argerror(L, 1, lua_pushfstring(L, "not an object of the heap (%s)", capgc_last_error()));
  lua_settop(L, 1);
  return 1;
}

static const luaL_Reg funcs[] = {{"compartment", l_compartment},
                                 {"strict", l_strict},
                                 {"destroy", l_destroy},
                                 {"crossing", l_crossing},
                                 {"sandbox", l_sandbox},
                                 {"report", l_report},
                                 {"compartmentof", l_compartmentof},
                                 {NULL, NULL}};

int luaopen_capgc(lua_State *L) {
  luaL_newlib(L, funcs);
  return 1;
}
