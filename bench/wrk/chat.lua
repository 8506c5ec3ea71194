-- POST /api/chat (or whatever path the URL names) with the chat body and token.
-- The requests rotate over 16 X-Forwarded-For addresses (weld-assistant trusts
-- 127.0.0.1 as a proxy in the bench), so its per-IP rate limit — at most
-- 100000/min with a burst of 100000 — is not what a 10 s load measures. The 16
-- requests are formatted once; nginx and the fake just pass the header along.
wrk.method = "POST"
wrk.body = '{"message":"Какой электрод для 09Г2С?"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Proxy-Token"] = "bench-token"
local requests, n = {}, 0
init = function(args)
  for i = 1, 16 do
    local headers = {}
    for k, v in pairs(wrk.headers) do headers[k] = v end
    headers["X-Forwarded-For"] = "198.51.100." .. i
    requests[i] = wrk.format(nil, nil, headers)
  end
end
request = function()
  n = n % 16 + 1
  return requests[n]
end
dofile(os.getenv("BENCH_DIR") .. "/wrk/report.lua")
