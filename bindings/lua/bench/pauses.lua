-- Pause probe: runs a benchmark script with a count hook that reads the
-- process CPU clock (os.clock) every 1000 VM instructions and records the
-- gaps, so a collector step or an atomic phase shows up as a long gap
-- (CPU time: time the process spent descheduled does not count).
--   [LUA_GC_STEPSIZE=N] lua pauses.lua SCRIPT [ARGS...]
-- Prints the script's output, then one line on stderr:
--   pauses: gaps N, max X ms, p99 Y ms, p99.9 Z ms, over 0.5 ms K, over 1 ms L
-- Gaps go into a preallocated histogram of 10-microsecond buckets (no
-- allocation inside the hook).
local script = assert(arg[1], "usage: lua pauses.lua SCRIPT [ARGS...]")
local BUCKET, NB = 1e-5, 20000 -- 10 us buckets up to 200 ms
local hist = {}
for i = 1, NB + 1 do hist[i] = 0 end
local clock = os.clock
local last, max, n = clock(), 0.0, 0
local function hook()
  local now = clock()
  local gap = now - last
  last = now
  n = n + 1
  if gap > max then max = gap end
  local b = (gap // BUCKET) + 1
  if b > NB then b = NB + 1 end
  hist[b] = hist[b] + 1
end
local args = {}
for i = 2, #arg do args[i - 1] = arg[i] end
arg = {[0] = script, table.unpack(args)}
-- LUA_GC_STEPSIZE=N: run the script with the incremental collector's
-- step size 2^N bytes (as collectgarbage("incremental", 0, 0, N)).
local stepsize = tonumber(os.getenv("LUA_GC_STEPSIZE"))
if stepsize then collectgarbage("incremental", 0, 0, stepsize) end
local chunk = assert(loadfile(script))
debug.sethook(hook, "", 1000)
chunk(table.unpack(args))
debug.sethook()
local function quantile(q)
  local want, seen = math.ceil(q * n), 0
  for i = 1, NB + 1 do
    seen = seen + hist[i]
    if seen >= want then return i * BUCKET end
  end
  return max
end
local over = function(t)
  local c = 0
  for i = math.floor(t / BUCKET) + 1, NB + 1 do c = c + hist[i] end
  return c
end
io.stderr:write(string.format(
  "pauses: gaps %d, max %.3f ms, p99 %.3f ms, p99.9 %.3f ms, over 0.5 ms %d, over 1 ms %d\n",
  n, max * 1e3, quantile(0.99) * 1e3, quantile(0.999) * 1e3, over(0.5e-3), over(1e-3)))
