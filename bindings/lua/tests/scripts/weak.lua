-- Weak tables: keys, values, both; __mode set and changed.
local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end
local keep = {}
local wk = setmetatable({}, {__mode = "k"})
local wv = setmetatable({}, {__mode = "v"})
local wkv = setmetatable({}, {__mode = "kv"})
for i = 1, 100 do
  local k, v = {}, {}
  if i % 2 == 0 then keep[#keep + 1] = k end
  if i % 3 == 0 then keep[#keep + 1] = v end
  wk[k] = i; wv[i] = v; wkv[k] = v
end
wv.str = "strings are values, never weak"
wk["s" .. 1] = {}
collectgarbage()
print("weak keys", count(wk), "weak values", count(wv), "both", count(wkv))
print(wv.str)
-- Changing __mode: strong now, so nothing more goes.
local t = setmetatable({}, {__mode = "v"})
for i = 1, 10 do t[i] = {} end
getmetatable(t).__mode = nil
collectgarbage()
print("after mode removed", count(t))
getmetatable(t).__mode = "v"
collectgarbage()
print("after mode restored", count(t))
-- Array part of a weak-value table.
local a = setmetatable({}, {__mode = "v"})
for i = 1, 50 do a[i] = (i % 5 == 0) and keep[1] or {} end
collectgarbage()
local n = 0 for i = 1, 50 do if a[i] then n = n + 1 end end
print("array part kept", n)
