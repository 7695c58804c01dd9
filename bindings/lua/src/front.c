/*
** front.c — the `lua` command of lua-capgc and lua-stock (the same file
** linked against either library), written for this project:
**
**   lua [options] [script [args]]
**     -e stat   execute string 'stat'
**     -i        enter interactive mode after the script
**     -l mod    require 'mod' into global 'mod' (-l g=mod: into 'g')
**     -v        show version information
**     -E        ignore environment variables LUA_INIT and LUA_PATH/CPATH
**     -W        turn warnings on
**     --        stop handling options
**     -         run stdin and stop handling options
**
** The script's arguments are in the global table 'arg' (arg[0] is the
** script, negative indices the interpreter and options). Errors print a
** traceback; the exit status is 0 on success, 1 on any error (Lua's).
** The collector runs in generational mode, as under Lua's lua.c, or
** incremental with LUA_GC_MODE=incremental.
*/
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"
#ifdef CAPGC_LUA
#include "lcapgc.h"
#endif

static const char *progname = "lua";
static lua_State *globalL = NULL;

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

static void on_sigint(int i) {
  signal(i, SIG_DFL);
  if (globalL) lua_sethook(globalL, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void message(const char *pname, const char *msg) {
  if (pname) fprintf(stderr, "%s: ", pname);
  fprintf(stderr, "%s\n", msg);
  fflush(stderr);
}

/* The error object on the top as a message, printed; the status back. */
static int report(lua_State *L, int status) {
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    if (msg == NULL) msg = "(error object is not a string)";
    message(progname, msg);
    lua_pop(L, 1);
  }
  return status;
}

/* The message handler: a traceback appended to the error. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  globalL = L;
  signal(SIGINT, on_sigint);
  int status = lua_pcall(L, narg, nres, base);
  signal(SIGINT, SIG_DFL);
  lua_remove(L, base);
  return status;
}

static int dochunk(lua_State *L, int status) {
  if (status == LUA_OK) status = docall(L, 0, 0);
  return report(L, status);
}

static int dofile(lua_State *L, const char *name) {
  return dochunk(L, luaL_loadfile(L, name));
}

static int dostring(lua_State *L, const char *s, const char *name) {
  return dochunk(L, luaL_loadbuffer(L, s, strlen(s), name));
}

/* -l [g=]mod: g = require(mod); "-l mod-v2" requires "mod-v2" (require
** drops the suffix itself) into global "mod". */
static int dolibrary(lua_State *L, char *globname) {
  char *suffix = NULL;
  char *modname = strchr(globname, '=');
  if (modname == NULL) {
    modname = globname;
    suffix = strchr(modname, *LUA_IGMARK);
  } else {
    *modname = '\0';
    modname++;
  }
  lua_getglobal(L, "require");
  lua_pushstring(L, modname);
  int status = docall(L, 1, 1);
  if (status == LUA_OK) {
    if (suffix != NULL) *suffix = '\0';
    lua_setglobal(L, globname);
  }
  return report(L, status);
}

static void print_version(void) {
  printf("%s  Copyright (C) 1994-2025 Lua.org, PUC-Rio", LUA_RELEASE);
#ifdef CAPGC_LUA
  printf(" (collector: CapGC)");
#endif
  printf("\n");
  fflush(stdout);
}

/* The 'arg' table: script at 0, interpreter and options below. */
static void createargtable(lua_State *L, char **argv, int argc, int script) {
  if (script == argc) script = 0;
  int narg = argc - (script + 1);
  lua_createtable(L, narg, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

static int pushargs(lua_State *L) {
  if (lua_getglobal(L, "arg") != LUA_TTABLE) luaL_error(L, "'arg' is not a table");
  int n = (int)luaL_len(L, -1);
  luaL_checkstack(L, n + 3, "too many arguments to script");
  for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
  lua_remove(L, -n - 1);
  return n;
}

static int handle_script(lua_State *L, char **argv) {
  const char *fname = argv[0];
  if (strcmp(fname, "-") == 0 && strcmp(argv[-1], "--") != 0) fname = NULL; /* stdin */
  int status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = pushargs(L);
    status = docall(L, n, LUA_MULTRET);
  }
  return report(L, status);
}

#define has_error 1
#define has_i 2
#define has_v 4
#define has_e 8
#define has_E 16

/* Scans the options; returns the flags, *first the script's index. */
static int collectargs(char **argv, int *first) {
  int args = 0;
  int i;
  if (argv[0] != NULL) {
    if (argv[0][0]) progname = argv[0];
  } else {
    *first = -1;
    return 0;
  }
  for (i = 1; argv[i] != NULL; i++) {
    *first = i;
    if (argv[i][0] != '-') return args;
    switch (argv[i][1]) {
      case '-': /* '--': the script, if any, is the next argument */
        if (argv[i][2] != '\0') return has_error;
        *first = (argv[i + 1] != NULL) ? i + 1 : 0; /* 'lua --': no script */
        return args;
      case '\0': return args; /* '-': stdin as the script */
      case 'E':
        if (argv[i][2] != '\0') return has_error;
        args |= has_E;
        break;
      case 'W':
        if (argv[i][2] != '\0') return has_error;
        break;
      case 'i':
        args |= has_i; /* -i implies -v */
        /* FALLTHROUGH */
      case 'v':
        if (argv[i][2] != '\0') return has_error;
        args |= has_v;
        break;
      case 'e':
        args |= has_e;
        /* FALLTHROUGH */
      case 'l':
        if (argv[i][2] == '\0') {
          i++;
          if (argv[i] == NULL || argv[i][0] == '-') return has_error;
        }
        break;
      default: return has_error;
    }
  }
  *first = 0;
  return args;
}

/* Runs -e, -l and -W in order. */
static int runargs(lua_State *L, char **argv, int n) {
  for (int i = 1; i < n; i++) {
    int option = argv[i][1];
    switch (option) {
      case 'e':
      case 'l': {
        char *extra = argv[i] + 2;
        if (*extra == '\0') extra = argv[++i];
        int status = option == 'e' ? dostring(L, extra, "=(command line)") : dolibrary(L, extra);
        if (status != LUA_OK) return 0;
        break;
      }
      case 'W': lua_warning(L, "@on", 0); break;
    }
  }
  return 1;
}

static int handle_luainit(lua_State *L) {
  const char *name = "=LUA_INIT_5_4";
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=LUA_INIT";
    init = getenv(name + 1);
  }
  if (init == NULL) return LUA_OK;
  if (init[0] == '@') return dofile(L, init + 1);
  return dostring(L, init, name);
}

/* Reads a line after the prompt in _PROMPT or _PROMPT2 (or the default);
** pushes it without its newline. */
static int pushline(lua_State *L, int firstline) {
  char buf[4096];
  const char *prompt = firstline ? "> " : ">> ";
  if (lua_getglobal(L, firstline ? "_PROMPT" : "_PROMPT2") != LUA_TNIL) {
    prompt = luaL_tolstring(L, -1, NULL); /* any value, through __tostring */
    lua_remove(L, -2);
  }
  fputs(prompt, stdout);
  fflush(stdout);
  lua_pop(L, 1);
  if (fgets(buf, sizeof buf, stdin) == NULL) return 0;
  size_t l = strlen(buf);
  if (l > 0 && buf[l - 1] == '\n') buf[--l] = '\0';
  if (firstline && buf[0] == '=') lua_pushfstring(L, "return %s", buf + 1); /* as Lua 5.2 */
  else lua_pushlstring(L, buf, l);
  return 1;
}

static int incomplete(lua_State *L, int status) {
  if (status == LUA_ERRSYNTAX) {
    size_t l;
    const char *msg = lua_tolstring(L, -1, &l);
    if (l >= 5 && strcmp(msg + l - 5, "<eof>") == 0) return 1; /* message kept */
  }
  return 0;
}

/* Loads a line, first as 'return line' (an expression to print), else as
** statements, reading more lines while they are incomplete. Leaves the
** function (or an error) on the stack; -1 at the end of input. */
static int loadline(lua_State *L) {
  lua_settop(L, 0);
  if (!pushline(L, 1)) return -1;
  size_t l;
  const char *line = lua_tolstring(L, 1, &l);
  const char *retline = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, retline, strlen(retline), "=stdin");
  lua_remove(L, -2);
  if (status == LUA_OK) {
    lua_remove(L, 1);
    return status;
  }
  lua_pop(L, 1);
  for (;;) {
    line = lua_tolstring(L, 1, &l);
    status = luaL_loadbuffer(L, line, l, "=stdin");
    if (!incomplete(L, status) || !pushline(L, 0)) break; /* the error is reported */
    lua_remove(L, -2); /* the incomplete line's message */
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
  lua_remove(L, 1);
  return status;
}

/* The read-eval-print loop (no line editing). */
static void doREPL(lua_State *L) {
  int status;
  const char *oldprogname = progname;
  progname = NULL;
  while ((status = loadline(L)) != -1) {
    if (status == LUA_OK) status = docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) {
      int n = lua_gettop(L);
      if (n > 0) {
        luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
        lua_getglobal(L, "print");
        lua_insert(L, 1);
        if (lua_pcall(L, n, 0, 0) != LUA_OK)
          message(progname, lua_pushfstring(L, "error calling 'print' (%s)", lua_tostring(L, -1)));
      }
    } else report(L, status);
  }
  lua_settop(L, 0);
  fputs("\n", stdout);
  fflush(stdout);
  progname = oldprogname;
}

static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  int script;
  int args = collectargs(argv, &script);
  int optlim = (script > 0) ? script : argc;
  luaL_checkversion(L);
  if (args == has_error) {
    fprintf(stderr,
            "%s: unrecognized option or missing argument\n"
            "usage: %s [options] [script [args]]\n"
            "Available options are:\n"
            "  -e stat   execute string 'stat'\n"
            "  -i        enter interactive mode after executing 'script'\n"
            "  -l mod    require library 'mod' into global 'mod'\n"
            "  -l g=mod  require library 'mod' into global 'g'\n"
            "  -v        show version information\n"
            "  -E        ignore environment variables\n"
            "  -W        turn warnings on\n"
            "  --        stop handling options\n"
            "  -         stop handling options and execute stdin\n",
            progname, progname);
    return 0;
  }
  if (args & has_v) print_version();
  if (args & has_E) {
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
#ifdef CAPGC_LUA
  /* require "capgc": compartments (lcapgc.c); preloaded only, so a
  ** program that never requires it sees no new global. */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_capgc);
  lua_setfield(L, -2, "capgc");
  lua_pop(L, 1);
#endif
  createargtable(L, argv, argc, script);
  lua_gc(L, LUA_GCRESTART);
  /* Generational, as Lua's own lua.c; LUA_GC_MODE=incremental for the
  ** other mode (the benchmarks run stock Lua in both). */
  const char *mode = getenv("LUA_GC_MODE");
  if (mode && strcmp(mode, "incremental") == 0) lua_gc(L, LUA_GCINC, 0, 0, 0);
  else lua_gc(L, LUA_GCGEN, 0, 0);
  if (!(args & has_E) && handle_luainit(L) != LUA_OK) return 0;
  if (!runargs(L, argv, optlim)) return 0;
  if (script > 0 && handle_script(L, argv + script) != LUA_OK) return 0;
  if (args & has_i) doREPL(L);
  else if (script < 1 && !(args & (has_e | has_v))) {
    if (isatty(0)) {
      print_version();
      doREPL(L);
    } else dofile(L, NULL);
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* LUA_MEMLIMIT=bytes (suffix K, M or G): allocations through Lua's
** allocator past it fail, as a full machine would (in lua-capgc cells come
** from the CapGC heap instead, limited by CAPGC_LUA_LIMIT). */
static lua_Alloc base_alloc;
static void *base_ud;
static long long mem_used, mem_limit;

static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  (void)ud;
  if (ptr == NULL) osize = 0;
  if (nsize > osize && mem_used + (long long)(nsize - osize) > mem_limit) return NULL;
  void *p = base_alloc(base_ud, ptr, osize, nsize);
  if (p != NULL || nsize == 0) mem_used += (long long)nsize - (long long)osize;
  return p;
}

static void set_limit(lua_State *L) {
  const char *s = getenv("LUA_MEMLIMIT");
  if (s == NULL || *s == '\0') return;
  char *end;
  mem_limit = strtoll(s, &end, 10);
  if (*end == 'K' || *end == 'k') mem_limit <<= 10;
  else if (*end == 'M' || *end == 'm') mem_limit <<= 20;
  else if (*end == 'G' || *end == 'g') mem_limit <<= 30;
  base_alloc = lua_getallocf(L, &base_ud);
  lua_setallocf(L, limited_alloc, NULL);
}

/* The whole program: what `main` of either binary calls. */
int capgc_lua_main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  if (L == NULL) {
    message(argv[0], "cannot create state: not enough memory");
    return EXIT_FAILURE;
  }
  set_limit(L);
  lua_gc(L, LUA_GCSTOP);
  lua_pushcfunction(L, &pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 0);
  int result = lua_toboolean(L, -1);
  report(L, status);
  lua_close(L);
  return (result && status == LUA_OK) ? EXIT_SUCCESS : EXIT_FAILURE;
}
