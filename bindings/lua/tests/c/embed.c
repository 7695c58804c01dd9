/* An embedder runs Lua code inside a compartment from C (lcapgc.h):
 * lcapgc_pcall_in, errors included, and the capgc library opened with
 * luaL_requiref to read where objects live and the report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lcapgc.h"
#include "lua.h"
#include "lualib.h"

#define ASSERT(c)                                                     \
  do {                                                                \
    if (!(c)) {                                                       \
      fprintf(stderr, "embed.c:%d: assertion failed: %s\n", __LINE__, #c); \
      exit(1);                                                        \
    }                                                                 \
  } while (0)

static int make(lua_State *L) {
  lua_newtable(L);
  lua_pushvalue(L, 1);
  lua_setfield(L, -2, "host");
  return 1;
}

int main(void) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "capgc", luaopen_capgc, 1);
  lua_pop(L, 1);
  lua_newtable(L); /* a host object */
  lua_setglobal(L, "hostobj");

  /* guest = make(hostobj), allocated in compartment "guest" */
  lua_pushcfunction(L, make);
  lua_getglobal(L, "hostobj");
  ASSERT(lcapgc_pcall_in(L, "guest", 1, 1) == LUA_OK);
  lua_setglobal(L, "guest");
  ASSERT(luaL_dostring(L, "assert(capgc.compartmentof(guest) == 'guest')\n"
                          "assert(capgc.compartmentof(hostobj) == 'root')\n"
                          "assert(capgc.compartmentof({}) == 'root')\n"
                          "collectgarbage()\n"
                          "local n = 0\n"
                          "for _, r in ipairs(capgc.report()) do\n"
                          "  if r.from == 'guest' and r.to == 'root' then n = r.last end\n"
                          "end\n"
                          "assert(n >= 1, 'guest -> root ' .. n)") == LUA_OK);

  /* An error inside: reported, and the caller's compartment is back. */
  ASSERT(luaL_loadstring(L, "error('inside')") == LUA_OK);
  ASSERT(lcapgc_pcall_in(L, "guest", 0, 0) == LUA_ERRRUN);
  ASSERT(strstr(lua_tostring(L, -1), "inside") != NULL);
  lua_pop(L, 1);
  ASSERT(luaL_dostring(L, "assert(capgc.compartmentof({}) == 'root')") == LUA_OK);
  lua_close(L);
  printf("embed: ok\n");
  return 0;
}
