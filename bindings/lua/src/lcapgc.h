/*
** lcapgc.h — the `capgc` library of lua-capgc: compartments of the Lua
** heap (lcapgc.c). For embedders: open it with luaL_requiref(L, "capgc",
** luaopen_capgc, 0), or run a function in a compartment from C with
** lcapgc_pcall_in.
*/
#ifndef LCAPGC_H
#define LCAPGC_H

#include "lua.h"

/* Opens the `capgc` library (a table: compartment, sandbox, report,
** compartmentof). */
int luaopen_capgc(lua_State *L);

/* lua_pcall inside compartment `name` (made on first use; "root" is the
** compartment of everything else): the function and its `nargs`
** arguments on top of the stack, as for lua_pcall. Objects the call
** allocates live in that compartment; the previous compartment is
** current again afterwards, error or not. Returns lua_pcall's status, or
** LUA_ERRRUN with a message when the compartment cannot be entered. */
int lcapgc_pcall_in(lua_State *L, const char *name, int nargs, int nresults);

#endif
