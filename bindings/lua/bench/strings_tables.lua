-- String- and table-heavy: building, hashing, concatenating, sorting.
local N = tonumber(arg and arg[1]) or 200000
local words = {}
for i = 1, N do words[i] = ("w%05d"):format((i * 7919) % N) end
local freq = {}
for _, w in ipairs(words) do freq[w] = (freq[w] or 0) + 1 end
local keys = {}
for k in pairs(freq) do keys[#keys + 1] = k end
table.sort(keys)
local parts = {}
for i = 1, #keys, 97 do parts[#parts + 1] = keys[i] .. "=" .. freq[keys[i]] end
local s = table.concat(parts, ",")
local rows = {}
for i = 1, N // 4 do rows[i] = {id = i, name = "row" .. i, tags = {i % 3, i % 5, tostring(i % 7)}} end
local total = 0
for _, r in ipairs(rows) do total = total + r.id + #r.name + #r.tags end
for _ = 1, 20 do local t = {} for i = 1, 5000 do t[#t + 1] = string.rep("ab", i % 17) end s = s .. #table.concat(t) end
print(#keys, #s, total)
