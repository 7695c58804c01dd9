-- Memory errors: raised as Lua's "not enough memory", the state usable.
-- Run with LUA_MEMLIMIT=64M CAPGC_LUA_LIMIT=64M.
local ok, err = pcall(string.rep, "x", 2 ^ 27)
print(ok, err)
local ok2, err2 = pcall(function() local t = {} for i = 1, 2 ^ 22 do t[i] = {i} end end)
print(ok2, err2)
collectgarbage()
local ok3, err3 = pcall(function() local s = "" for i = 1, 30 do s = s .. string.rep("q", 2 ^ 19) end return #s end)
print(ok3, err3)
local t = {}
for i = 1, 1000 do t[i] = {i} end
print("usable after", #t, t[1000][1])
print(collectgarbage("isrunning"), collectgarbage("stop"), collectgarbage("isrunning"))
for i = 1, 100000 do local x = {i} end
print(collectgarbage("isrunning"), collectgarbage("restart"), collectgarbage("isrunning"))
print("step", collectgarbage("step", 0) ~= nil)
print("incremental", collectgarbage("incremental"), collectgarbage("generational"), collectgarbage("incremental"))
print("collect", collectgarbage("collect"), collectgarbage())
print("count type", math.type(collectgarbage("count")))
