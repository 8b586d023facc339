-- wrk script: tus creation (POST) requests with a session, like ../shared/bench/create.lua
-- plus `Authorization: Bearer $KS`. Prints one JSON line at the end ("WRKJSON ...").
wrk.method = "POST"
wrk.body = ""
wrk.headers["Tus-Resumable"] = "1.0.0"
wrk.headers["Upload-Length"] = "1048576"
wrk.headers["Upload-Metadata"] = "filename YmVuY2guYmlu"
wrk.headers["Content-Length"] = "0"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KS")
if os.getenv("CLOSE") == "1" then wrk.headers["Connection"] = "close" end

function done(summary, latency, requests)
  local s = summary
  local secs = s.duration / 1e6
  io.write(string.format(
    'WRKJSON {"requests":%d,"rps":%.1f,"lat_ms_p50":%.2f,"lat_ms_p99":%.2f,"err_status":%d,"err_connect":%d}\n',
    s.requests, s.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    s.errors.status, s.errors.connect))
end
