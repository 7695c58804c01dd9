-- lua_close runs pending finalizers, in Lua's order; each may allocate.
for i = 1, 5 do
  setmetatable({id = i}, {__gc = function(o) print("closing " .. o.id, #string.rep("z", o.id)) end})
end
_G.keep = setmetatable({id = "global"}, {__gc = function(o) print("closing " .. o.id) end})
print("end of script")
