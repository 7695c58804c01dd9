-- Strings: interning across collections, long strings in count, count
-- back to its baseline.
collectgarbage(); collectgarbage()
local base = collectgarbage("count")
local a = "inter" .. "ned"
collectgarbage()
local b = "intern" .. "ed"
print("interned equal", a == b, rawequal(a, b))
-- Short strings dying and re-created.
for round = 1, 5 do
  for i = 1, 10000 do local s = "k" .. i .. ":" .. round end
  collectgarbage()
end
local t = {}
for i = 1, 10000 do t["k" .. i] = i end
collectgarbage()
local s = 0 for i = 1, 10000 do s = s + t["k" .. i] end
print("table by string keys", s)
t = nil
-- A 4 MiB string shows in count, and goes when dropped.
collectgarbage()
local before = collectgarbage("count")
local big = string.rep("x", 4 * 1024 * 1024)
local with = collectgarbage("count")
print("4 MiB string counted", math.floor((with - before) / 1024 + 0.5), "MiB")
big = nil
collectgarbage()
local after = collectgarbage("count")
print("released", math.floor((with - after) / 1024 + 0.5), "MiB")
-- Lots of garbage, then count back to (about) its baseline.
for i = 1, 100 do local x = {} for j = 1, 100 do x[j] = {tostring(j)} end end
collectgarbage(); collectgarbage()
print("back to baseline", math.abs(collectgarbage("count") - base) < 64)
print(#string.rep("ab", 1000, ","), ("x"):rep(3))
