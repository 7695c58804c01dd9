-- Coroutines and closures: dead ones with pending frames, suspended ones
-- with open upvalues, upvalues shared between closures.
local function counter()
  local n = 0
  return function() n = n + 1 return n end, function() return n end
end
local inc, get = counter()
for _ = 1, 10 do inc() end
collectgarbage()
print("shared upvalue", get())
-- Suspended coroutines with open upvalues, only reachable through closures.
local getters = {}
for i = 1, 20 do
  local co = coroutine.wrap(function()
    local x = i * 10
    getters[i] = function() return x end
    coroutine.yield()
    x = x + 1
    coroutine.yield()
  end)
  co()
  if i % 2 == 0 then co() end
end
collectgarbage()
local s = 0 for i = 1, 20 do s = s + getters[i]() end
print("upvalues of suspended coroutines", s)
-- Dead coroutines with pending frames (errors mid-call).
local dead = {}
for i = 1, 30 do
  local co = coroutine.create(function() local t = {i} ; error({code = i}) end)
  local ok, err = coroutine.resume(co)
  dead[#dead + 1] = co
  assert(not ok and err.code == i)
end
collectgarbage()
print("dead coroutines", #dead, coroutine.status(dead[1]))
dead = nil
collectgarbage()
-- A coroutine abandoned while suspended deep in calls.
local function deep(n) if n == 0 then coroutine.yield(1) else return deep(n - 1) end end
for _ = 1, 100 do
  local co = coroutine.create(deep)
  coroutine.resume(co, 50)
end
collectgarbage()
print("abandoned deep coroutines collected")
-- coroutine.close runs to-be-closed variables.
local closed = 0
local co = coroutine.create(function()
  local x <close> = setmetatable({}, {__close = function() closed = closed + 1 end})
  coroutine.yield()
end)
coroutine.resume(co)
print(coroutine.close(co), closed)
-- Closures in tables, many collections.
local fs = {}
for i = 1, 1000 do fs[i] = function() return i end end
for _ = 1, 5 do collectgarbage() end
local t = 0 for i = 1, 1000 do t = t + fs[i]() end
print("closures", t)
