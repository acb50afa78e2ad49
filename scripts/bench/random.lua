-- random.lua -- wrk script: GET PATH_PREFIX .. <random line of CODES> .. PATH_SUFFIX,
-- with the API key; prints one RESULT line for scripts/bench.sh:
--   RESULT requests/s p50_ms p99_ms non_2xx_or_errors
local codes = {}
local prefix = os.getenv("PATH_PREFIX") or "/"
local suffix = os.getenv("PATH_SUFFIX") or ""
local auth = "Bearer " .. (os.getenv("API_KEY") or "")

function init(args)
    for line in io.lines(os.getenv("CODES")) do
        codes[#codes + 1] = line
    end
    math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
    local code = codes[math.random(#codes)]
    return wrk.format("GET", prefix .. code .. suffix, {["Authorization"] = auth})
end

function done(summary, latency, requests)
    local e = summary.errors
    local bad = e.status + e.connect + e.read + e.write + e.timeout
    io.write(string.format("RESULT %.0f %.2f %.2f %d\n",
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, bad))
end
