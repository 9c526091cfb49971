-- wrk script: GET the given paths in turn, paced to a total rate, with latency
-- percentiles as one JSON line at the end (bench/paced.py runs it).
--
--   wrk -t1 -cN -dS --latency -s bench/paced.lua URL -- RATE PATH [PATH ...]
--
-- Paced by a schedule, not a fixed pause: the k-th request of a thread is due k
-- intervals after its first, so the rate holds whatever the latency; a request
-- late on its schedule goes at once (a slow answer delays the ones after it, as
-- with real callers, instead of lowering the load). wrk times each request from
-- its sending, after the pause.

local ffi = require("ffi")
ffi.cdef([[
struct paced_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clock_id, struct paced_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("struct paced_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

local requests, interval, due, sent = {}, 1, nil, 0

function init(args)
  -- One thread by default (wrk -t1): the rate is this thread's.
  interval = 1000 / tonumber(args[1])
  for index = 2, #args do
    requests[#requests + 1] = wrk.format("GET", args[index])
  end
end

function delay()
  local now = now_ms()
  due = due or now
  local wait = due - now
  due = due + interval
  if wait <= 0 then
    return 0
  end
  return math.floor(wait)
end

function request()
  sent = sent + 1
  return requests[(sent - 1) % #requests + 1]
end

function done(summary, latency, _)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, '
      .. '"write_errors": %d, "status_errors": %d, "timeouts": %d, '
      .. '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, errors.connect, errors.read, errors.write,
    errors.status, errors.timeout, latency:percentile(50), latency:percentile(99),
    latency.max
  ))
end
