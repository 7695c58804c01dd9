-- __gc: order, resurrection, finalizers that allocate or collect.
local log = {}
local resurrected
for i = 1, 5 do
  setmetatable({id = i}, {__gc = function(o) log[#log + 1] = "gc " .. o.id end})
end
collectgarbage()
print(table.concat(log, ", "))
log = {}
-- Resurrection: the finalizer stores its object; it lives on, finalized once.
setmetatable({id = "phoenix"}, {__gc = function(o) resurrected = o; log[#log + 1] = "bye " .. o.id end})
collectgarbage()
print(table.concat(log, ", "), resurrected and resurrected.id)
resurrected = nil
collectgarbage()
print("finalized once:", #log)
-- Re-registering in the finalizer: finalized again next cycle.
local times = 0
local mt = {}
mt.__gc = function(o) times = times + 1; if times < 3 then setmetatable(o, mt) end end
setmetatable({}, mt)
for _ = 1, 4 do collectgarbage() end
print("re-registered, finalized", times, "times")
-- Finalizers that allocate and call collectgarbage.
local made = 0
for i = 1, 50 do
  setmetatable({}, {__gc = function()
    local t = {} for j = 1, 100 do t[j] = tostring(j) end
    made = made + #t
    collectgarbage("step")
  end})
end
collectgarbage()
collectgarbage()
print("allocating finalizers made", made)
-- Errors in finalizers become warnings; the program goes on.
setmetatable({}, {__gc = function() error("oops") end})
collectgarbage()
print("after a failing finalizer")
-- __gc set after setmetatable does not register (the manual's rule).
local late = 0
local m2 = {}
setmetatable({}, m2)
m2.__gc = function() late = late + 1 end
collectgarbage()
print("late __gc ran", late)
-- Weak values of objects being finalized are cleared before the finalizer,
-- weak keys after it.
local wv = setmetatable({}, {__mode = "v"})
local wk = setmetatable({}, {__mode = "k"})
local seen
do
  local o = setmetatable({}, {__gc = function(o) seen = (wv[1] == nil) and (wk[o] ~= nil) end})
  wv[1] = o; wk[o] = true
end
collectgarbage()
print("weak value cleared, key kept during __gc:", seen)
collectgarbage()
print("key gone after", next(wk) == nil)
-- Userdata (file handles) with __gc: finalization order and resurrection.
local ulog = {}
local saved
local umt = {__gc = function(u)
  ulog[#ulog + 1] = io.type(u) or "userdata"
  if #ulog == 2 then saved = u end -- resurrect the second one finalized
end}
for _ = 1, 3 do
  local f = io.tmpfile()
  f:close()
  debug.setmetatable(f, umt) -- a full userdata with our __gc instead of the file one
end
collectgarbage()
print("userdata finalized", #ulog, saved ~= nil)
saved = nil
collectgarbage()
print("resurrected userdata finalized once", #ulog)
