-- Strict compartments (capgc.strict): a guest compartment reaching the
-- host's objects through every path Lua offers. Each path is either
-- refused (an error "capgc strict mode: ...", the store taken back) or,
-- where Lua stores without a barrier or through one that cannot refuse,
-- allowed and counted in the report. Declared crossings (capgc.crossing)
-- are allowed. Objects are made before strict mode is on: the main
-- chunk's own stores are checked too once it is.
local capgc = require "capgc"

local function report(from, to)
  for _, r in ipairs(capgc.report()) do
    if r.from == from and r.to == to then return r end
  end
  return {last = 0, total = 0, refused = 0}
end

-- Calls f in compartment `name`; the error it raised, or nil.
local function try(name, f, ...)
  local ok, err = pcall(capgc.compartment, name, f, ...)
  if ok then return nil end
  return tostring(err)
end
local function refused(name, what, f, ...)
  local err = try(name, f, ...)
  assert(err, what .. ": not refused")
  assert(err:find("capgc strict mode", 1, true), what .. ": " .. err)
  return err
end
local function allowed(name, what, f, ...)
  local err = try(name, f, ...)
  assert(err == nil, what .. ": refused: " .. tostring(err))
end

local host = capgc.compartment("host", function()
  local h = {secret = {"the host's secret"}}
  h.mt = {__index = h.secret}
  h.fn = function() return h.secret end
  h.proxy = {} -- declared a crossing below
  h.udmt = {}
  return h
end)
local hostsecret, hostfn = host.secret, host.fn
local guestbox = capgc.compartment("guest", function() return {} end)
local guestmt = capgc.compartment("guest", function() return {} end)
local hostupval = host.secret -- an upvalue of the root's closures below
capgc.crossing(host.proxy)
local badcross = {pcall(capgc.crossing, print)}
assert(not badcross[1] and badcross[2]:find("not an object of the heap"), badcross[2])
badcross = {pcall(capgc.crossing, 1)}
assert(not badcross[1] and badcross[2]:find("table, function"), badcross[2])

-- A root table holding a host object as a key and as its value, from
-- before strict mode: growing it later re-inserts that key through the
-- barrier, which must not refuse it.
local both = {}
both[hostsecret] = hostsecret

assert(capgc.strict(true) == false)
assert(capgc.strict(true) == true) -- on already

-- Tables: a guest table into a host table, and a host table into a guest one.
local err = refused("guest", "table value", function() host.x = {} end)
assert(rawget(host, "x") == nil, "the refused store is taken back")
assert(err:find("a table of compartment 'host' cannot refer to a table of compartment 'guest'", 1, true), err)
refused("guest", "table constructor", function() return {hostsecret} end)
refused("guest", "rawset", function() rawset(guestbox, "k", hostsecret) end)
assert(rawget(guestbox, "k") == nil)
refused("root", "the main chunk's own store", function() guestbox.y = host end)
assert(guestbox.y == nil)
-- A new key is allowed (Lua's resize re-inserts keys through the same
-- barrier, so a key cannot be refused): counted by the report instead.
allowed("guest", "a host table as a key", function() guestbox[hostsecret] = 1 end)
assert(guestbox[hostsecret] == 1)
for i = 1, 200 do both["k" .. i] = i end -- resizes: the key moves, kept
assert(both[hostsecret] == hostsecret and both.k200 == 200)
-- Strings hold no references: allowed (short strings are interned per state).
allowed("guest", "a host string", function() guestbox.s = "the host's secret" .. "" end)
-- In one compartment: allowed.
allowed("guest", "a guest value", function() guestbox.t = {1, 2, 3} end)

-- Upvalues: a guest closure sharing an upvalue of the root's closure is
-- refused (the closure's barrier); assigning to an upvalue is not (Lua
-- closes upvalues through the same barrier, which must not fail).
refused("guest", "upvalues: a shared upvalue", function()
  return function() return hostupval end
end)
allowed("guest", "upvalues: assignment (counted)", function() hostupval = {} end)

-- Metatables.
refused("guest", "metatables: setmetatable", function() return setmetatable({}, host.mt) end)
refused("guest", "metatables: a guest metatable on a host table", function()
  setmetatable(host.secret, guestmt)
end)
assert(getmetatable(host.secret) == nil)

-- The registry: reading it is allowed; keeping it, or storing into it, is not.
refused("guest", "registry: keep it", function() return {debug.getregistry()} end)
refused("guest", "registry: store into it", function() debug.getregistry().g = {} end)
assert(debug.getregistry().g == nil)

-- debug: setmetatable, upvaluejoin, and what getupvalue returns.
refused("guest", "debug.setmetatable", function() debug.setmetatable(host.secret, guestmt) end)
local joinme = capgc.compartment("guest", function()
  local mine = {}
  return function() return mine end
end)
refused("guest", "debug.upvaluejoin", function() debug.upvaluejoin(joinme, 1, hostfn, 1) end)
assert(joinme() == nil, "the joined upvalue was taken back (a fresh one, nil)")
refused("guest", "debug.getupvalue kept", function()
  local _, v = debug.getupvalue(hostfn, 1)
  guestbox.u = v
end)

-- Coroutines: a thread's stack takes values without barriers: a guest
-- coroutine running a host function, holding host values, is allowed and
-- counted; what it stores into guest objects is checked as anywhere.
allowed("guest", "coroutines: a host function in a guest thread", function()
  local co = coroutine.create(hostfn)
  local ok, v = coroutine.resume(co)
  assert(ok and v == hostsecret)
end)
local cobox = capgc.sandbox("cobox", [[
  local box, v = ...
  local co = coroutine.wrap(function(x) coroutine.yield(x); box.c = x end)
  assert(co(v) == v) -- passed through the thread's stack: allowed
  co()               -- stored into a guest table: refused
]])
refused("cobox", "coroutines: a store inside one", cobox, capgc.compartment("cobox", function() return {} end), hostsecret)
-- A guest closure written in the host's scope shares the host's _ENV upvalue:
refused("guest", "coroutines: a closure over the host's _ENV", function()
  return coroutine.wrap(function() return print end)
end)

-- Userdata: a guest file handle takes the host's FILE* metatable
-- (luaL_setmetatable): refused until the host declares it a crossing.
refused("guest", "userdata: io.tmpfile", function() return io.tmpfile() end)
capgc.crossing(getmetatable(io.stdout))
local f
allowed("guest", "userdata: a declared crossing metatable", function() f = io.tmpfile() end)
assert(io.type(f) == "file")
f:close()

-- Weak tables: a store is a store, weak or not.
local weak = capgc.compartment("guest", function() return setmetatable({}, {__mode = "v"}) end)
refused("guest", "weak tables: a weak value", function() weak[1] = hostsecret end)
assert(weak[1] == nil)

-- Finalizers: a host function as a guest object's __gc.
refused("guest", "finalizers: a host __gc", function()
  return setmetatable({}, {__gc = hostfn})
end)

-- Declared crossings: the proxy takes guest values and goes into guest objects.
allowed("guest", "crossing: into a guest table", function() guestbox.p = host.proxy end)
allowed("guest", "crossing: a guest value into it", function() host.proxy.v = {} end)
assert(guestbox.p == host.proxy and host.proxy.v ~= nil)

-- Sandboxes are built with the checks suspended (the host's own edges);
-- the guest's stores inside are checked.
local sb = capgc.sandbox("box", "x = {1}; return string.rep('a', 3)")
assert(capgc.compartment("box", sb) == "aaa")
local sbbad = capgc.sandbox("box", "string.mine = {}")
refused("box", "sandbox: into the shared string table", sbbad)
assert(string.mine == nil)

-- Many stores under strict mode, with the collector running through them.
allowed("guest", "a busy guest", function()
  local t = {}
  for i = 1, 20000 do
    t[i % 500 + 1] = {i, tostring(i)}
    guestbox.last = t[i % 500 + 1]
  end
end)

collectgarbage()
local gh = report("guest", "host")
assert(gh.refused >= 1, "refusals are counted: " .. gh.refused)
assert(gh.last >= 1, "allowed edges are counted: " .. gh.last)
print(string.format("guest -> host: last %d, refused %d; root -> guest: refused %d",
                    gh.last, gh.refused, report("root", "guest").refused))

-- Off again: the same store is allowed.
assert(capgc.strict(false) == true)
host.x = guestbox
assert(host.x == guestbox)
collectgarbage()
print("strict: ok")
