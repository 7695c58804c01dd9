-- Ephemerons: a value is kept only while its key is reachable, even when
-- the value refers to its own key or to other keys (chains).
local function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end
local e = setmetatable({}, {__mode = "k"})
-- A chain k1 -> v1 -> k2 -> v2 -> ... ; only k1 is rooted.
local keys = {}
for i = 1, 200 do keys[i] = {id = i} end
for i = 1, 199 do e[keys[i]] = {next = keys[i + 1]} end
local root = keys[1]
keys = nil
collectgarbage()
print("chain entries", count(e))
local k, n = root, 0
while e[k] do k = e[k].next; n = n + 1 end
print("chain length", n)
root = nil
collectgarbage()
print("after root dropped", count(e))
-- Values pointing back at their keys do not keep them.
for i = 1, 100 do local key = {} e[key] = {key} end
collectgarbage()
print("self-referencing entries", count(e))
-- A key kept only by another entry's value, reversed order.
local a, b = {}, {}
e[b] = "b's value"; e[a] = b
local hold = a
a, b = nil, nil
collectgarbage()
print("held through value", count(e), e[e[hold]])
