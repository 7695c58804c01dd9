/* A C module for `require`: needs the Lua API exported by the binary. */
#include "lauxlib.h"
#include "lua.h"

static int twice(lua_State *L) {
  lua_pushinteger(L, 2 * luaL_checkinteger(L, 1));
  return 1;
}

int luaopen_cmod(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, twice);
  lua_setfield(L, -2, "twice");
  lua_newtable(L); /* allocate a little, and collect */
  lua_pop(L, 1);
  lua_gc(L, LUA_GCCOLLECT);
  return 1;
}
