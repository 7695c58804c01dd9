-- Runs a benchmark script with Lua's heap divided one of four ways
-- (docs/results/2026-12-07-lua-compartments.md), on lua-capgc:
--   lua-capgc divide.lua WAY script.lua [args...]
-- WAY:
--   one     the script as it is: one compartment (the baseline)
--   copy    the script in a sandbox compartment with its own copy of the
--           standard library's tables
--   shared  the script in a sandbox compartment whose _ENV reads the
--           standard library from the host's (root) compartment
--   host    host and guest: the script in a guest compartment, and every
--           standard-library function it calls runs in the host's
--           compartment (each call a crossing: capgc.compartment), except
--           the coroutine library (a yield cannot cross capgc.compartment)
--           and the base functions that only call back or inspect
--           (pcall, xpcall, error, next, pairs, ipairs, select, type, raw*,
--           get/setmetatable, collectgarbage), which run in the guest's
-- At the end it prints the non-local access report of the last
-- collection (and the totals over all collections) on stderr.
local way, script = arg[1], arg[2]
assert(way and script, "usage: divide.lua one|copy|shared|host script.lua [args...]")
local args = {}
for i = 3, #arg do args[#args + 1] = arg[i] end

local function readall(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

if way == "one" then
  arg = {[0] = script, table.unpack(args)}
  assert(loadfile(script))(table.unpack(args))
  return
end

local capgc = require "capgc"
local source = readall(script)
local f, env
if way == "copy" or way == "shared" then
  f, env = capgc.sandbox("guest", source, way, "@" .. script)
elseif way == "host" then
  -- the guest's _ENV: every library function a wrapper into "host"
  local direct = {pcall = true, xpcall = true, error = true, next = true, pairs = true,
    ipairs = true, select = true, type = true, rawget = true, rawset = true, rawequal = true,
    rawlen = true, getmetatable = true, setmetatable = true, collectgarbage = true}
  local function wrap(fn)
    return function(...) return capgc.compartment("host", fn, ...) end
  end
  f, env = capgc.sandbox("guest", source, "none", "@" .. script)
  capgc.compartment("guest", function()
    for k, v in pairs(_G) do
      if type(v) == "function" then
        env[k] = direct[k] and v or wrap(v)
      elseif k == "coroutine" then
        env[k] = v
      elseif type(v) == "table" and k ~= "_G" and k ~= "package" then
        local t = {}
        for k2, v2 in pairs(v) do t[k2] = type(v2) == "function" and wrap(v2) or v2 end
        env[k] = t
      end
    end
  end)
else
  error("unknown way: " .. tostring(way))
end
env.arg = {[0] = script, table.unpack(args)}
capgc.compartment("guest", f, table.unpack(args))
collectgarbage()
for _, r in ipairs(capgc.report()) do
  io.stderr:write(string.format("edges %s -> %s: last %d, total %d, refused %d\n",
    r.from, r.to, r.last, r.total, r.refused))
end
