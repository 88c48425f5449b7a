-- wrk script for bench_compare.py: one method over a file of request targets.
--
-- Usage: wrk -t1 -cN -dDs -s wrk_requests.lua URL -- METHOD TARGETS BODY_BYTES LIMIT
--   METHOD      GET, PUT or DELETE (not HEAD: wrk 4.1's response parser waits for
--               the Content-Length bytes a HEAD response announces but never sends)
--   TARGETS     a file of request targets ("/bucket/key?X-Amz-..."), one a line;
--               each request takes the next one, cycling
--   BODY_BYTES  size of the PUT body (0 for other methods)
--   LIMIT       stop after this many responses (0: run for the whole duration)
-- At the end it prints one JSON line with the counts and latency percentiles (us).
-- The elapsed time is taken here (first request to last response, CLOCK_MONOTONIC
-- through LuaJIT's FFI): wrk's own duration is always the whole -d, even when every
-- thread stopped early at LIMIT. One wrk thread (-t1) is assumed for LIMIT.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock_id, bench_timespec *tp);
  int getpid(void);
  int kill(int pid, int sig);
]]
local SIGINT = 2
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1e6 + tonumber(timespec.tv_nsec) / 1e3
end

local method, body, limit
local targets = {}
local next_index = 0
-- Globals, so done() (run in wrk's main Lua state) can read them with thread:get.
responses, first_us, last_us, bad_status = 0, 0, 0, 0
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  method = args[1]
  for line in io.lines(args[2]) do
    targets[#targets + 1] = line
  end
  local size = tonumber(args[3])
  if size > 0 then
    body = string.rep("x", size)
  end
  limit = tonumber(args[4])
end

function request()
  if first_us == 0 then
    first_us = now_us()
  end
  next_index = next_index % #targets + 1
  return wrk.format(method, targets[next_index], nil, body)
end

function response(status, headers, body)
  if limit > 0 and responses >= limit then
    -- In flight when LIMIT was reached (the targets cycle to the first ones
    -- again): not part of the measured run.
    return
  end
  responses = responses + 1
  last_us = now_us()
  if status > 399 then
    bad_status = bad_status + 1
  end
  if limit > 0 and responses == limit then
    -- wrk's main thread sleeps for the whole -d whatever the threads do; SIGINT
    -- (what Ctrl-C sends) ends that sleep, and wrk then reports as usual.
    wrk.thread:stop()
    ffi.C.kill(ffi.C.getpid(), SIGINT)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local counted, bad, first, last = 0, 0, math.huge, 0
  for _, thread in ipairs(threads) do
    counted = counted + thread:get("responses")
    bad = bad + thread:get("bad_status")
    first = math.min(first, thread:get("first_us"))
    last = math.max(last, thread:get("last_us"))
  end
  -- status_errors: 4xx/5xx among the measured responses (wrk's own count also
  -- includes the ones in flight after LIMIT).
  io.write(string.format(
    '{"responses": %d, "elapsed_us": %d, "requests": %d, "duration_us": %d,'
    .. ' "status_errors": %d, "connect_errors": %d, "read_errors": %d,'
    .. ' "write_errors": %d, "timeout_errors": %d, "p50_us": %d, "p90_us": %d,'
    .. ' "p99_us": %d, "mean_us": %.1f, "max_us": %d}\n',
    counted, last - first, summary.requests, summary.duration, bad, e.connect,
    e.read, e.write, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max))
end
