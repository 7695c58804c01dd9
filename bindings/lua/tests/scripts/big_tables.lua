-- Large tables during incremental marking: a strong table with more
-- slots than one marking step traverses is marked in slices across
-- steps. Between those steps the mutator stores fresh objects into parts
-- already traversed and parts not yet reached, grows the table (a resize
-- moves entries across the slices' boundary) and empties slots; every
-- object reachable must survive intact. Output is compared with stock Lua
-- (and in the checked mode a missed mark is a fatal NOT_A_CELL).
collectgarbage("incremental")
collectgarbage("setstepmul", 100)

local function check(t, n)
  local s, c = 0, 0
  for k, v in pairs(t) do
    if type(v) == "table" then
      s = s + v[1] + #v[2]
      c = c + 1
    end
  end
  return c, s
end

local function fresh(i) return {i, "s" .. i} end

for round = 1, 2 do
  -- array part and node part, each several slices (2048 slots) long
  local arr, map = {}, {}
  for i = 1, 6000 do arr[i] = fresh(i) end
  for i = 1, 6000 do map["k" .. i] = fresh(i) end
  collectgarbage()
  local cycles = 0
  local grown = 6000
  for steps = 1, 200 do
    -- stores into early slots (traversed first) and late ones
    local e = steps % 50 + 1
    arr[e] = fresh(e + steps)
    arr[6001 - e] = fresh(e - steps)
    map["k" .. e] = fresh(e * 2)
    map["k" .. (6001 - e)] = fresh(e * 3)
    -- grow both parts now and then: resizes while a slice is pending
    if steps % 7 == 0 then
      for _ = 1, 200 do
        grown = grown + 1
        arr[grown] = fresh(grown)
        map["g" .. grown] = fresh(grown)
      end
    end
    -- empty some slots, refill others with strings only reachable here
    if steps % 5 == 0 then
      map["k" .. (steps % 1000 + 100)] = nil
      arr[steps % 1000 + 100] = {steps, string.rep("y", steps % 13) .. steps}
    end
    local other = {} -- garbage, so the steps have work
    for j = 1, 50 do other[j] = {j} end
    if collectgarbage("step", 0) then cycles = cycles + 1 end
  end
  -- at least one cycle ends after the mutations (steps taken depend on
  -- the collector's pacing, so they are not printed)
  repeat until collectgarbage("step", 0)
  collectgarbage()
  local ca, sa = check(arr)
  local cm, sm = check(map)
  print("round", round, "array", ca, sa, "map", cm, sm)
end

-- A table resized from a small one into a large one while its cycle runs,
-- and a large weak table (never sliced: traversed in the atomic phase).
local t = {}
local w = setmetatable({}, {__mode = "v"})
local keep = {}
collectgarbage()
for i = 1, 8000 do
  t[i] = fresh(i)
  local o = {i}
  w[i] = o
  if i % 3 == 0 then keep[#keep + 1] = o end
  if i % 100 == 0 then collectgarbage("step", 0) end
end
collectgarbage()
local live = 0
for _, v in pairs(w) do live = live + v[1] end
print("grown table", check(t))
print("weak table keeps", live)
