/* Lua's C API on either library (liblua-capgc.a or liblua-stock.a): states,
 * full userdata with __gc (and user values), luaL_ref references kept
 * across collections, light C functions as upvalues, lua_close running
 * pending finalizers. Prints what it saw; the test compares the two. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

static int finalized = 0;

typedef struct {
  int id;
  char payload[100];
} box_t;

static int box_gc(lua_State *L) {
  box_t *b = luaL_checkudata(L, 1, "box");
  finalized++;
  if (b->id < 0) printf("closing box %d\n", -b->id);
  return 0;
}

static int box_new(lua_State *L) {
  int id = (int)luaL_checkinteger(L, 1);
  box_t *b = lua_newuserdatauv(L, sizeof(box_t), 1);
  b->id = id;
  snprintf(b->payload, sizeof b->payload, "box %d", id);
  luaL_setmetatable(L, "box");
  lua_newtable(L); /* a user value: a table with a string */
  lua_pushfstring(L, "uv of %d", id);
  lua_setfield(L, -2, "name");
  lua_setiuservalue(L, -2, 1);
  return 1;
}

static void check(lua_State *L, int status) {
  if (status != LUA_OK) {
    fprintf(stderr, "error: %s\n", lua_tostring(L, -1));
    exit(1);
  }
}

static lua_State *newstate(void) {
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    fprintf(stderr, "cannot create a state\n");
    exit(1);
  }
  luaL_openlibs(L);
  return L;
}

int main(void) {
  lua_State *L = newstate();
  luaL_newmetatable(L, "box");
  lua_pushcfunction(L, box_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_register(L, "box", box_new);

  /* References: objects kept only by the registry through luaL_ref. */
  int refs[100];
  for (int i = 0; i < 100; i++) {
    lua_pushinteger(L, i);
    box_new(L);
    lua_remove(L, -2);
    refs[i] = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  for (int i = 0; i < 2000; i++) { /* garbage boxes */
    lua_pushinteger(L, 1000 + i);
    box_new(L);
    lua_pop(L, 2);
  }
  lua_gc(L, LUA_GCCOLLECT);
  lua_gc(L, LUA_GCCOLLECT);
  printf("finalized garbage boxes: %d\n", finalized);
  int ok = 1;
  for (int i = 0; i < 100; i++) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, refs[i]);
    box_t *b = luaL_checkudata(L, -1, "box");
    lua_getiuservalue(L, -1, 1);
    lua_getfield(L, -1, "name");
    char want[32];
    snprintf(want, sizeof want, "uv of %d", i);
    if (b->id != i || strcmp(lua_tostring(L, -1), want) != 0) ok = 0;
    lua_pop(L, 3);
  }
  printf("references survived: %s\n", ok ? "yes" : "no");
  for (int i = 0; i < 50; i++) luaL_unref(L, LUA_REGISTRYINDEX, refs[i]);
  int before = finalized;
  lua_gc(L, LUA_GCCOLLECT);
  printf("unreferenced boxes finalized: %d\n", finalized - before);

  /* Lua code using the userdata, strings and closures. */
  check(L, luaL_dostring(L,
                         "local t = {} for i = 1, 100 do t[i] = box(-i) end "
                         "keep = {t[1], t[2], t[3]} "
                         "local s = {} for i = 1, 1000 do s[i] = ('%d'):format(i) end "
                         "return #table.concat(s)"));
  printf("concat length: %d\n", (int)lua_tointeger(L, -1));
  lua_pop(L, 1);
  lua_gc(L, LUA_GCCOLLECT);
  printf("count is positive: %s\n", lua_gc(L, LUA_GCCOUNT) > 0 ? "yes" : "no");

  /* A second state, independent, closed first. */
  lua_State *L2 = newstate();
  check(L2, luaL_dostring(L2, "x = {} for i = 1, 1e4 do x[i] = tostring(i) end return #x"));
  printf("second state: %d\n", (int)lua_tointeger(L2, -1));
  lua_close(L2);

  /* lua_close: the kept boxes' finalizers run now (ids -1, -2, -3 print). */
  lua_close(L);
  printf("closed; finalized in all: %d\n", finalized);
  return 0;
}
