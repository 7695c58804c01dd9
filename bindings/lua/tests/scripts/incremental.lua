-- Incremental collection: the mutator changes the heap between small
-- collector steps (each store Lua's barriers must see), and everything
-- reachable survives intact. Output is compared with stock Lua.
collectgarbage("incremental")
collectgarbage("setstepmul", 100)

local function sum(t, seen)
  seen = seen or {}
  if seen[t] then return 0 end
  seen[t] = true
  local s = 0
  for k, v in pairs(t) do
    if type(v) == "number" then s = s + v
    elseif type(v) == "string" then s = s + #v
    elseif type(v) == "table" then s = s + sum(v, seen)
    elseif type(v) == "function" then s = s + v()
    end
  end
  return s
end

-- Old tables get new white values while the cycle runs (back barrier),
-- closures close upvalues mid-cycle (barrier on close), a coroutine's
-- stack holds the only reference for a while (stacks are re-scanned).
local old = {}
for i = 1, 500 do old[i] = {i} end
local holder = {}
local co = coroutine.wrap(function()
  local mine = {}
  for r = 1, 50 do
    mine[#mine + 1] = {r, tostring(r)}
    coroutine.yield(#mine)
  end
  return mine
end)
local cycles, steps = 0, 0
for round = 1, 100 do
  for i = 1, 40 do
    local t = old[(round * 37 + i) % #old + 1]
    t[#t + 1] = {round, "r" .. round} -- a fresh table into an old one
    t.s = string.rep("x", i % 7) .. round
  end
  local x = {round}
  local f = function() return x[1] end
  holder[round % 50 + 1] = f -- its upvalue closes on return
  if round % 4 == 0 then co() end
  if round % 3 == 0 then
    local mt = {__index = {round}}
    setmetatable(old[round], mt) -- a metatable set on a traced table
  end
  steps = steps + 1
  if collectgarbage("step", 0) then cycles = cycles + 1 end
end
local mine = co and nil
print("cycles completed", cycles > 0, "steps taken", steps)
print("old tables", sum(old))
print("closures", sum(holder))

-- A stepped cycle over a large heap takes more than one basic step.
local big = {}
for i = 1, 30000 do big[i] = {i} end
collectgarbage()
local n = 1
while not collectgarbage("step", 0) do n = n + 1 end
print("a cycle over 30000 tables took more than one step", n > 1)

-- Weak tables changed while the cycle runs: dead keys and values go at
-- the next complete collection, live ones stay.
local wk = setmetatable({}, {__mode = "k"})
local wv = setmetatable({}, {__mode = "v"})
local keep = {}
collectgarbage("step", 0)
for i = 1, 200 do
  local k, v = {}, {}
  wk[k] = i
  wv[i] = v
  if i % 5 == 0 then keep[#keep + 1] = k; keep[#keep + 1] = v end
  if i % 50 == 0 then collectgarbage("step", 0) end
end
collectgarbage()
collectgarbage()
local nk, nv = 0, 0
for _ in pairs(wk) do nk = nk + 1 end
for _ in pairs(wv) do nv = nv + 1 end
print("weak keys left", nk, "weak values left", nv)

-- Finalizers of objects made during a cycle run once each.
local ran = 0
for i = 1, 100 do
  setmetatable({}, {__gc = function() ran = ran + 1 end})
  if i % 30 == 0 then collectgarbage("step", 0) end
end
collectgarbage()
collectgarbage()
print("finalizers run", ran)

-- Moving the only reference around during a cycle: from a table to a
-- local to an upvalue to another table, stepping in between.
local a, b = {}, {}
a.v = {payload = "kept"}
collectgarbage("step", 0)
local tmp = a.v; a.v = nil
collectgarbage("step", 0)
local up = tmp
local g = function() return up end
tmp = nil
collectgarbage("step", 0)
b.v = g()
collectgarbage()
print("moved reference", b.v.payload)
print("big still intact", #big, big[30000][1])
