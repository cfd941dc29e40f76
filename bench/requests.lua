-- wrk script: POST the lines of a file, each "<Stripe-Signature or empty>\t<JSON body>".
-- Usage: wrk -s bench/requests.lua URL -- FILE THREADS
-- Each wrk thread sends its own share of the lines (line n goes to thread n % THREADS), in
-- order, wrapping round if the run outlasts them; done() prints one JSON line of results.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file, count = args[1], tonumber(args[2])
  signatures, bodies, sent = {}, {}, 0
  local n = 0
  for line in io.lines(file) do
    if n % count == id then
      local tab = line:find("\t", 1, true)
      table.insert(signatures, line:sub(1, tab - 1))
      table.insert(bodies, line:sub(tab + 1))
    end
    n = n + 1
  end
end

function request()
  sent = sent + 1
  local i = (sent - 1) % #bodies + 1
  local headers = { ["Content-Type"] = "application/json" }
  if signatures[i] ~= "" then
    headers["Stripe-Signature"] = signatures[i]
  end
  return wrk.format("POST", nil, headers, bodies[i])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d, "non_2xx": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
