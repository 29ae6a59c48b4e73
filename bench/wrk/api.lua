-- wrk script for the service benchmark (bench/lib/wrk.ts runs it).
--   BENCH_TOKEN          bearer token sent with every request
--   BENCH_PATHS          a file with one request path per line; requests cycle through them
--   BENCH_UPLOAD_BYTES   when set: POST a multipart upload of that many bytes (field "file") instead
--   BENCH_CLOSE          "1": ask for Connection: close, so every request comes on a new connection
-- At the end it prints one JSON line (prefixed BENCH_JSON) so the numbers are parsed, not scraped.

local token = os.getenv("BENCH_TOKEN") or ""
local upload_bytes = tonumber(os.getenv("BENCH_UPLOAD_BYTES") or "0")
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  if line ~= "" then paths[#paths + 1] = line end
end

local body = nil
local headers = { ["Authorization"] = "Bearer " .. token }
if os.getenv("BENCH_CLOSE") == "1" then headers["Connection"] = "close" end
if upload_bytes > 0 then
  local boundary = "ferrybench7MA4YWxkTrZu0gW"
  -- Random bytes, like the photos and archives users upload. (python-multipart parses repetitive
  -- text several times slower than random bytes; random is the fair case for it.)
  math.randomseed(7)
  local parts = {}
  for k = 1, upload_bytes do parts[k] = string.char(math.random(0, 255)) end
  local payload = table.concat(parts)
  body = "--" .. boundary .. "\r\n"
    .. 'Content-Disposition: form-data; name="file"; filename="bench.bin"\r\n'
    .. "Content-Type: application/octet-stream\r\n\r\n"
    .. payload .. "\r\n--" .. boundary .. "--\r\n"
  headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
end

local i = 0
init = function(args)
  -- Threads start at different places in the list.
  i = math.random(#paths) - 1
end

request = function()
  i = i % #paths + 1
  if body then return wrk.format("POST", paths[i], headers, body) end
  return wrk.format("GET", paths[i], headers)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},"latencyUs":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
