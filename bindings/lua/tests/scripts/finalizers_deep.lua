-- Finalizers when the C stack is nearly exhausted: objects with __gc (and
-- file handles) created at every level of a recursion through pcall (a
-- C call per level) down to "C stack overflow". Lua postpones pending
-- finalizers while the stack is short and runs them later; none is lost,
-- and every one has run by lua_close. Errors inside finalizers become
-- warnings and do not stop the others.
local created, finalized, failed = 0, 0, 0
local files_opened, files_closed = 0, 0
local mt = {__gc = function() finalized = finalized + 1 end}
local bad = {__gc = function() failed = failed + 1; error("finalizer error") end}
local fmt = {__gc = function(o) o.f:close(); files_closed = files_closed + 1 end}

local function level(d)
  for _ = 1, 20 do
    setmetatable({}, mt); created = created + 1
  end
  setmetatable({}, bad)
  local f = io.tmpfile(); files_opened = files_opened + 1
  setmetatable({f = f}, fmt)
  local s = {}
  for i = 1, 50 do s[i] = string.rep("x", i) .. d end
  collectgarbage("step") -- a collection at every level, the deepest included
  local ok, err = pcall(level, d + 1)
  if not ok and d == 1 then return err end
  if not ok then error(err, 0) end
  return err
end

for round = 1, 5 do
  local err = level(1)
  assert(tostring(err):find("stack overflow"), err)
end
collectgarbage(); collectgarbage()
print("created", created, "finalized", finalized)
print("files opened", files_opened, "closed", files_closed)
print("failing finalizers run", failed)
assert(finalized == created, "lost finalizers: " .. (created - finalized))
assert(files_closed == files_opened, "unclosed files: " .. (files_opened - files_closed))

-- Left for lua_close: objects created down to the deepest level; the
-- sentinel, older and kept alive, is finalized at lua_close after them.
local closing = {made = 0, n = 0}
local sentinel = setmetatable({}, {__gc = function()
  io.write(closing.n == closing.made and "at close: every deep finalizer ran\n"
    or ("at close: " .. closing.made - closing.n .. " finalizers lost\n"))
end})
local function deep(d)
  setmetatable({}, {__gc = function() closing.n = closing.n + 1 end})
  closing.made = closing.made + 1
  return pcall(deep, d + 1)
end
deep(1)
