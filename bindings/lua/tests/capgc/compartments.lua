-- The capgc library (lcapgc.c): objects allocated inside
-- capgc.compartment live in that compartment; sandboxes get their own
-- _ENV; capgc.report() counts the edges between compartments per pair.
local capgc = require "capgc"

local function edges(from, to)
  for _, r in ipairs(capgc.report()) do
    if r.from == from and r.to == to then return r.last, r.total end
  end
  return 0, 0
end

-- Allocation goes to the current compartment, and back after.
local host = {}
local t = capgc.compartment("a", function(x, y)
  local r = {x = x, y = y}
  for i = 1, 1000 do r[i] = {i} end
  r.f = function() return r end
  return r, "second"
end, 1, host)
assert(t.x == 1 and t.y == host)
assert(capgc.compartmentof(t) == "a" and capgc.compartmentof(t[1000]) == "a")
assert(capgc.compartmentof(t.f) == "a")
assert(capgc.compartmentof(host) == "root" and capgc.compartmentof({}) == "root")
assert(capgc.compartmentof(1) == nil and capgc.compartmentof(nil) == nil)
-- Forged pointers: a C function (code, not a cell), and a light userdata
-- holding a live cell's address (an upvalue's) answer nil, not its owner.
assert(capgc.compartmentof(print) == nil)
assert(capgc.compartmentof(debug.upvalueid(t.f, 1)) == nil)
assert(select(2, capgc.compartment("a", function() return 1, 2 end)) == 2)

-- Nested compartments, and errors restore the caller's.
capgc.compartment("a", function()
  capgc.compartment("b", function()
    assert(capgc.compartmentof({}) == "b")
  end)
  assert(capgc.compartmentof({}) == "a")
end)
local ok, err = pcall(capgc.compartment, "b", function() error("boom", 0) end)
assert(not ok and err == "boom")
assert(capgc.compartmentof({}) == "root")
ok, err = pcall(capgc.compartment)
assert(not ok and err:find("bad argument #1"))

-- The report: a's table points to host once (t.y), root to a once
-- (the local t is on the main thread's stack: a root, not counted).
local keep = {t}
collectgarbage()
local last, total = edges("a", "root")
assert(last >= 1, "a -> root " .. last)
assert(total >= last)
assert(edges("root", "a") >= 1, "keep -> t")
t.y = nil
collectgarbage()
local after = edges("a", "root")
assert(after < last, "fewer edges after t.y = nil: " .. last .. " -> " .. after)
-- A compartment that only points at itself reaches nowhere.
local clean = capgc.compartment("clean", function()
  local c = {}
  for i = 1, 100 do c[i] = {i, i * 2} end
  return c
end)
keep[2] = clean
collectgarbage()
assert(edges("clean", "root") == 0 and edges("clean", "a") == 0)

-- Sandboxes: their own _ENV, three ways.
for _, how in ipairs {"shared", "copy", "none"} do
  local name = "box-" .. how
  local f, env = capgc.sandbox(name, "g = {1, 2, 3}; return print ~= nil, #g", how)
  assert(capgc.compartmentof(env) == name and capgc.compartmentof(f) == name)
  local ty, n = capgc.compartment(name, f)
  assert(n == 3 and capgc.compartmentof(env.g) == name)
  assert(ty == (how ~= "none"), how)
  assert(rawget(_G, "g") == nil, "a sandbox's globals are its own")
  if how == "copy" then
    assert(env.string ~= string and env.string.rep == string.rep)
    assert(capgc.compartmentof(env.string) == name)
  end
  keep[#keep + 1] = env
end
ok, err = pcall(capgc.sandbox, "box-bad", "return 1", "maybe")
assert(not ok and err:find("stdlib must be"))
ok, err = pcall(capgc.sandbox, "box-syntax", "return +")
assert(not ok)
collectgarbage()
-- shared: its _ENV's metatable reaches the host's _G; copy: its tables
-- were copied, so fewer edges into root than a shared one's library use.
assert(edges("box-shared", "root") >= 1)

-- Teardown: capgc.destroy returns a compartment's memory once nothing
-- references its objects, and says how much is held until then.
local function rss() -- resident bytes (Linux), or nil
  local f = io.open("/proc/self/statm")
  if not f then return nil end
  local pages = f:read("n") and f:read("n")
  f:close()
  return pages and pages * 4096
end
local kept = capgc.compartment("tmp", function()
  local t = {}
  for i = 1, 50000 do t[i] = {i, i} end
  return t[1]
end)
collectgarbage()
local before = rss()
local done, held = capgc.destroy("tmp")
local after = rss()
assert(not done and held >= 1, "deferred while referenced: " .. tostring(held))
assert(capgc.compartmentof(kept) == "tmp" and kept[2] == 1)
ok, err = pcall(capgc.compartment, "tmp", print)
assert(not ok and err:find("torn down"), err)
kept = nil
done, held = capgc.destroy("tmp") -- again, now unreferenced
assert(done and held == 0, "torn down: " .. tostring(held))
if before and after then
  print(string.format("teardown: RSS %.1f MiB -> %.1f MiB", before / 2^20, after / 2^20))
  assert(before - after >= 2 * 2^20, "its blocks were returned to the system")
end
ok, err = pcall(capgc.destroy, "root")
assert(not ok and err:find("cannot destroy 'root'"), err)
ok, err = pcall(capgc.destroy, "no such")
assert(not ok and err:find("no compartment"), err)
capgc.compartment("a", function()
  ok, err = pcall(capgc.destroy, "a")
  assert(not ok and err:find("cannot destroy 'a'"), "the current one: " .. err)
end)
assert(capgc.compartment("tmp2", function() return 1 end) == 1) -- the heap goes on
print("compartments: ok")
