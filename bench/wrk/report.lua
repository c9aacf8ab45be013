-- wrk report hook (bench/load.py): prints one parseable line at the end of a run.
--
--   BENCH_RESULT requests=<n> duration_us=<n> bytes=<n> connect=<n> read=<n> write=<n>
--                status=<n> timeout=<n> mean_us=<x> max_us=<n> p50_us=<n> p75_us=<n>
--                p90_us=<n> p95_us=<n> p99_us=<n>
--
-- `status` is wrk's count of answers with a status of 400 or more (neither 2xx nor 3xx);
-- connect/read/write/timeout are its socket errors. Latencies are in microseconds.
-- Loaded by every script of this folder (`dofile`), or given alone to wrk with -s.

function done(summary, latency, requests)
   local e = summary.errors
   local fields = {
      string.format("requests=%d", summary.requests),
      string.format("duration_us=%d", summary.duration),
      string.format("bytes=%d", summary.bytes),
      string.format("connect=%d", e.connect),
      string.format("read=%d", e.read),
      string.format("write=%d", e.write),
      string.format("status=%d", e.status),
      string.format("timeout=%d", e.timeout),
      string.format("mean_us=%.1f", latency.mean),
      string.format("max_us=%d", latency.max),
   }
   for _, p in ipairs({ 50, 75, 90, 95, 99 }) do
      fields[#fields + 1] = string.format("p%d_us=%d", p, latency:percentile(p))
   end
   io.write("BENCH_RESULT " .. table.concat(fields, " ") .. "\n")
end
