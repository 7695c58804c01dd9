-- Closures and coroutines: generators, captured upvalues, many short-lived
-- coroutines.
local N = tonumber(arg and arg[1]) or 100000
local function gen(n)
  return coroutine.wrap(function() for i = 1, n do coroutine.yield(i) end end)
end
local sum = 0
for _ = 1, N // 100 do for v in gen(100) do sum = sum + v end end
local fs = {}
for i = 1, N do
  local a, b = i, i * 2
  fs[i % 1000 + 1] = function(x) return a + b + x end
end
for i = 1, 1000 do sum = sum + fs[i](i) end
local acc = 0
for i = 1, N // 10 do
  local co = coroutine.create(function(x) local y = coroutine.yield(x + 1) return y * 2 end)
  local _, a = coroutine.resume(co, i)
  local _, b = coroutine.resume(co, a)
  acc = acc + b
end
print(sum, acc)
