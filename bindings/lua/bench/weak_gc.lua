-- Weak-table churn with __gc: caches with weak values and keys, objects
-- with finalizers coming and going.
local N = tonumber(arg and arg[1]) or 100000
local cache = setmetatable({}, {__mode = "v"})
local meta = setmetatable({}, {__mode = "k"})
local finalized = 0
local mt = {__gc = function() finalized = finalized + 1 end}
local keep = {}
for i = 1, N do
  local o = setmetatable({i}, mt)
  cache[i % 5000] = o
  meta[o] = {tostring(i)}
  if i % 100 == 0 then keep[#keep + 1] = o end
end
collectgarbage()
local live = 0
for _ in pairs(meta) do live = live + 1 end
print(#keep, live >= #keep, finalized > 0)
