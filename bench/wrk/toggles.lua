-- « Moi aussi » toggles (bench/load.py), through the API or through the form, cycling over
-- every pair of a file:
--
--   BENCH_WRK_DIR=bench/wrk BENCH_WRK_THREADS=2 \
--     wrk -t2 -c64 -d10s -s bench/wrk/toggles.lua http://127.0.0.1:PORT -- PAIRS_FILE
--
-- API: PAIRS_FILE holds one "<token> <need id>" line per pair: PUT and DELETE
-- /api/v1/needs/{id}/support with a personal API token.
-- Form: one "<Cookie header>\t<csrf_token>\t<need id>" line per pair, the fields read from the
-- form of a need page the account was shown: POST /needs/{id}/support with the form's own
-- fields (csrf_token, action=add|remove), the signed-in browser's cookies and HX-Request, as a
-- browser with JavaScript sends it.
--
-- Request n of thread t (of T) takes the global index i = n * T + t: pair i % P, giving on
-- even passes over the pairs (i // P even), withdrawing on odd ones, so each pair alternates
-- between supported and not, and the threads' requests interleave over all pairs. Two
-- connections may still act on the same pair at once, which is what the exact-counts check
-- afterwards is about.

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

local function api_pair(token, need)
   local headers = { ["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json" }
   local target = "/api/v1/needs/" .. need .. "/support"
   return { give = wrk.format("PUT", target, headers, ""),
            withdraw = wrk.format("DELETE", target, headers, "") }
end

local function form_pair(cookie, csrf, need)
   local headers = {
      ["Cookie"] = cookie,
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["HX-Request"] = "true",
   }
   local target = "/needs/" .. need .. "/support"
   local body = "csrf_token=" .. csrf .. "&action="
   return { give = wrk.format("POST", target, headers, body .. "add"),
            withdraw = wrk.format("POST", target, headers, body .. "remove") }
end

function init(args)
   local path = args[1]
   local file = assert(io.open(path, "r"), "cannot open " .. tostring(path))
   for line in file:lines() do
      local cookie, csrf, form_need = line:match("^([^\t]+)\t([^\t]+)\t(%d+)$")
      local token, need = line:match("^(%S+)%s+(%d+)$")
      if cookie then
         requests[#requests + 1] = form_pair(cookie, csrf, form_need)
      elseif token then
         requests[#requests + 1] = api_pair(token, need)
      end
   end
   file:close()
   pairs_count = #requests
   assert(pairs_count > 0, "no pair in " .. path)
   thread_count = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")
end

function request()
   local i = n * thread_count + thread_index
   n = n + 1
   local pair = requests[(i % pairs_count) + 1]
   if math.floor(i / pairs_count) % 2 == 0 then
      return pair.give
   end
   return pair.withdraw
end
