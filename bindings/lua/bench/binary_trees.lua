-- binary-trees (the Benchmarks Game's, as Lua's own test suite has it):
-- lua binary_trees.lua [depth]
local function bottom_up(depth)
  if depth == 0 then return {} end
  depth = depth - 1
  return { bottom_up(depth), bottom_up(depth) }
end

local function item_check(tree)
  if tree[1] then return 1 + item_check(tree[1]) + item_check(tree[2]) end
  return 1
end

local N = tonumber(arg and arg[1]) or 14
local maxdepth = math.max(6, N)
do
  local stretch = maxdepth + 1
  print(string.format("stretch tree of depth %d\t check: %d", stretch, item_check(bottom_up(stretch))))
end
local long_lived = bottom_up(maxdepth)
for depth = 4, maxdepth, 2 do
  local iters = 2 ^ (maxdepth - depth + 4)
  local check = 0
  for _ = 1, iters do check = check + item_check(bottom_up(depth)) end
  print(string.format("%d\t trees of depth %d\t check: %d", iters, depth, check))
end
print(string.format("long lived tree of depth %d\t check: %d", maxdepth, item_check(long_lived)))
