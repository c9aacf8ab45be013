-- « Moi aussi » toggles (bench/load.py): PUT and DELETE /api/v1/needs/{id}/support with
-- personal API tokens, cycling over every (token, need) pair.
--
--   BENCH_WRK_DIR=bench/wrk BENCH_WRK_THREADS=2 \
--     wrk -t2 -c64 -d10s -s bench/wrk/toggles.lua http://127.0.0.1:PORT -- PAIRS_FILE
--
-- PAIRS_FILE holds one "<token> <need id>" line per pair. Request n of thread t (of T) takes
-- the global index i = n * T + t: pair i % P, PUT on even passes over the pairs (i // P even),
-- DELETE on odd ones, so each pair alternates between supported and not, and the threads'
-- requests interleave over all pairs. Two connections may still act on the same pair at once,
-- which is what the exact-counts check afterwards is about.

dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local counter = 0

function setup(thread)
   thread:set("thread_index", counter)
   counter = counter + 1
end

local requests = {}
local pairs_count = 0
local thread_count = 1
local n = 0

function init(args)
   local path = args[1]
   local file = assert(io.open(path, "r"), "cannot open " .. tostring(path))
   local pairs_list = {}
   for line in file:lines() do
      local token, need = line:match("^(%S+)%s+(%d+)$")
      if token then
         pairs_list[#pairs_list + 1] = { token = token, need = need }
      end
   end
   file:close()
   pairs_count = #pairs_list
   assert(pairs_count > 0, "no pair in " .. path)
   thread_count = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")
   for index, pair in ipairs(pairs_list) do
      local headers = {
         ["Authorization"] = "Bearer " .. pair.token,
         ["Accept"] = "application/json",
      }
      local target = "/api/v1/needs/" .. pair.need .. "/support"
      requests[index] = {
         put = wrk.format("PUT", target, headers, ""),
         delete = wrk.format("DELETE", target, headers, ""),
      }
   end
end

function request()
   local i = n * thread_count + thread_index
   n = n + 1
   local pair = requests[(i % pairs_count) + 1]
   if math.floor(i / pairs_count) % 2 == 0 then
      return pair.put
   end
   return pair.delete
end
