-- A large live heap while allocating: builds MIB mebibytes of live Lua
-- data (records: a table with an array part, a string, a closure), then
-- runs a small allocating loop — each iteration a short-lived table and
-- string, and every 100th also replaces a live record, so the collector
-- keeps marking the large heap — for ROUNDS x 40,000 iterations.
--   lua live_heap.lua [MIB=256] [ROUNDS=40]
-- stdout: a check line (equal on every Lua); stderr: the gaps between
-- consecutive iterations of the loop in process CPU time (os.clock):
--   loop gaps: N, max X ms, p99 Y ms, p99.9 Z ms, over 0.5 ms K, over 1 ms L
local MIB = tonumber(arg and arg[1]) or 256
local ROUNDS = tonumber(arg and arg[2]) or 40
-- One record is about 300 bytes on 64-bit Lua (table 56, array part 64,
-- string ~40, closure and its upvalue ~80, its spine slot 16).
local function record(i)
  local name = "record-" .. i
  return {i, i * 2, i * 3, i * 4, name = name, f = function() return i end}
end
local n = MIB * 1024 * 1024 // 300
local live = {}
for i = 1, n do live[i] = record(i) end

local BUCKET, NB = 1e-5, 20000 -- 10 us buckets up to 200 ms, preallocated
local hist = {}
for i = 1, NB + 1 do hist[i] = 0 end
local clock = os.clock
local check, max, gaps = 0, 0.0, 0
local last = clock()
for r = 1, ROUNDS do
  local base = (r * 7919) % n
  for j = 1, 40000 do
    local t = {j, tostring(j)}
    check = check + #t
    if j % 100 == 0 then
      local k = (base + j) % n + 1
      live[k] = record(k + r)
    end
    local now = clock()
    local gap = now - last
    last = now
    gaps = gaps + 1
    if gap > max then max = gap end
    local b = (gap // BUCKET) + 1
    if b > NB then b = NB + 1 end
    hist[b] = hist[b] + 1
  end
end
local sum = 0
for i = 1, n, 997 do sum = sum + live[i][1] + live[i].f() end
print(string.format("live records %d, check %d, sum %d", n, check, sum))

local function quantile(q)
  local want, seen = math.ceil(q * gaps), 0
  for i = 1, NB + 1 do
    seen = seen + hist[i]
    if seen >= want then return i * BUCKET end
  end
  return max
end
local function over(t)
  local c = 0
  for i = math.floor(t / BUCKET) + 1, NB + 1 do c = c + hist[i] end
  return c
end
io.stderr:write(string.format(
  "loop gaps: %d, max %.3f ms, p99 %.3f ms, p99.9 %.3f ms, over 0.5 ms %d, over 1 ms %d\n",
  gaps, max * 1e3, quantile(0.99) * 1e3, quantile(0.999) * 1e3, over(0.5e-3), over(1e-3)))
