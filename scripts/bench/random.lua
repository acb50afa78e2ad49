-- random.lua -- wrk script: GET PATH_PREFIX .. <random line of CODES> .. PATH_SUFFIX,
-- with the API key; prints one RESULT line for scripts/bench.sh:
--   RESULT requests/s p50_ms p99_ms non_2xx_or_errors non_2xx connect read write timeout
-- (the fifth field is the sum of the last five: answers other than 2xx, and
-- the socket errors wrk counts apart, so a failed run says which it had)
--
-- Each thread writes out its requests for up to PREBUILT random codes
-- before it starts, and then sends them round and round. Formatting a
-- request in Lua for every send costs wrk about a fifth of the CPU that the
-- server under test needs for a point read; on the same two cores that is
-- CPU taken from the server, which pgbench, the yardstick, does not pay.
-- The cap keeps the set-up short: wrk starts its clock once every thread is
-- set up, so a long one would let the first thread send uncounted time.
local PREBUILT = 20000
local reqs = {}
local next_req = 0

function init(args)
    local prefix = os.getenv("PATH_PREFIX") or "/"
    local suffix = os.getenv("PATH_SUFFIX") or ""
    local auth = "Bearer " .. (os.getenv("API_KEY") or "")
    -- The request line and headers as wrk would write them, after the path.
    local tail = wrk.format("GET", "/", {["Authorization"] = auth}):sub(#"GET /" + 1)
    local codes = {}
    for line in io.lines(os.getenv("CODES")) do codes[#codes + 1] = line end
    math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
    for i = 1, math.min(#codes, PREBUILT) do -- a partial Fisher-Yates shuffle
        local j = math.random(i, #codes)
        codes[i], codes[j] = codes[j], codes[i]
        reqs[i] = "GET " .. prefix .. codes[i] .. suffix .. tail
    end
end

function request()
    next_req = next_req % #reqs + 1
    return reqs[next_req]
end

function done(summary, latency, requests)
    local e = summary.errors
    local bad = e.status + e.connect + e.read + e.write + e.timeout
    io.write(string.format("RESULT %.0f %.2f %.2f %d %d %d %d %d %d\n",
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad,
        e.status, e.connect, e.read, e.write, e.timeout))
end
