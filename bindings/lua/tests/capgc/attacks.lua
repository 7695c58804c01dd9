-- A guest compartment reaching the host's objects through every path Lua
-- offers, with strict mode off (strict.lua has the same paths refused):
-- each path must show up in the non-local access report (guest -> host
-- edges; weak references apart, in `weak`), and a clean control
-- compartment must show none.
local capgc = require "capgc"

local function edges(from, to)
  for _, r in ipairs(capgc.report()) do
    if r.from == from and r.to == to then return r.last, r.weak end
  end
  return 0, 0
end
local function weak(from, to) return select(2, edges(from, to)) end

local secret = capgc.compartment("host", function()
  return {"the host's secret"}
end)
local function hostfn() return secret end -- a root closure with an upvalue
local hostmt = capgc.compartment("host", function()
  return {__index = secret}
end)
local hostweak = capgc.compartment("host", function()
  return setmetatable({secret}, {__mode = "v"})
end)
local co_host = capgc.compartment("host", function() return {} end)

local keep = {}
local function guest(name, f)
  keep[name] = capgc.compartment(name, f)
end

guest("upvalues", function() -- a guest closure capturing a host object
  local s = secret
  return function() return s end
end)
guest("metatables", function() -- a guest object with the host's metatable
  return setmetatable({}, hostmt)
end)
guest("registry", function() -- the registry, reached through debug
  return {debug.getregistry()}
end)
guest("debug", function() -- a host upvalue pulled out with debug
  local _, v = debug.getupvalue(hostfn, 1)
  return {v}
end)
guest("coroutines", function() -- a guest thread holding a host object
  local co = coroutine.create(function(x) coroutine.yield() return x end)
  coroutine.resume(co, co_host)
  return co
end)
guest("userdata", function() -- a guest userdata whose metatable is the host's
  return {io.tmpfile()}
end)
guest("weak", function() -- only a weak reference to the host's object
  return setmetatable({secret}, {__mode = "v"})
end)
guest("weakkeys", function() -- an ephemeron: a host key, a host value
  return setmetatable({[secret] = hostmt}, {__mode = "k"})
end)
guest("finalizers", function() -- a finalizer closing over a host object
  local s = secret
  return setmetatable({}, {__gc = function() return s end})
end)
guest("clean", function()
  local t = {}
  for i = 1, 10 do t[i] = {i} end
  return t
end)
collectgarbage()

local function reach(name) return edges(name, "host") + edges(name, "root") end
assert(edges("upvalues", "host") >= 1, "upvalues")
assert(edges("metatables", "host") >= 1, "metatables")
assert(edges("registry", "root") >= 1, "registry")
assert(edges("debug", "host") >= 1, "debug")
assert(edges("coroutines", "host") >= 1, "coroutines")
assert(reach("userdata") >= 1, "userdata")
assert(edges("finalizers", "host") >= 1, "finalizers")
assert(edges("weak", "host") == 0, "weak references are not traced edges")
assert(weak("weak", "host") == 1, "but counted apart: " .. weak("weak", "host"))
assert(weak("weakkeys", "host") == 2, "an ephemeron's key and value: " .. weak("weakkeys", "host"))
assert(weak("upvalues", "host") == 0 and weak("clean", "host") == 0)
assert(reach("clean") == 0, "the control reaches nothing")
for _, name in ipairs {"upvalues", "metatables", "registry", "debug", "coroutines",
                       "userdata", "weak", "weakkeys", "finalizers", "clean"} do
  print(string.format("%-11s -> host %d (weak %d), -> root %d (weak %d)", name, edges(name, "host"),
                      weak(name, "host"), edges(name, "root"), weak(name, "root")))
end
assert(hostweak[1] == secret)
keep.userdata[1]:close()
print("attacks: ok")
