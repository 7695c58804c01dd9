-- Long allocation loops: many collections, structures kept across them.
local keep = {}
local sum = 0
for round = 1, 200 do
  local t = {}
  for i = 1, 500 do t[i] = {round, i, tostring(i)} end
  keep[round % 10 + 1] = t
  for i = 1, 500 do sum = sum + t[i][2] end
  local s = {}
  for i = 1, 50 do s[#s + 1] = ("%d-%d"):format(round, i) end
  keep.s = table.concat(s)
end
collectgarbage()
local n = 0
for _, t in pairs(keep) do if type(t) == "table" then n = n + #t end end
print(sum, n, #keep.s)
local m = setmetatable({}, {__mode = "k"})
for i = 1, 20000 do m[{}] = i end
collectgarbage()
print("weak churn", next(m) == nil)
