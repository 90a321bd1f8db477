-- wrk script: agents re-pushing their SchedulerEnvelopes (bench/placement.py's fleet).
-- Thread t of T pushes nodes t-1, t-1+T, t-1+2T, ... below BENCH_NODES, round after round; each
-- round raises the sequence by one, starting at BENCH_SEQUENCE_BASE, so every envelope is newer
-- than the last one stored for its node and no two in flight are for the same node.
local nodes = tonumber(os.getenv("BENCH_NODES") or "10000")
local base = tonumber(os.getenv("BENCH_SEQUENCE_BASE") or "2")
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
end

function init(args)
  counter = 0
  -- Each wrk thread runs in its own Lua state: the thread count comes from the caller.
  total = tonumber(os.getenv("BENCH_THREADS") or "2")
  observed = os.date("!%Y-%m-%dT%H:%M:%SZ")
end

local function envelope(i, sequence)
  local arm = i % 2 == 0
  local arch = arm and "aarch64" or "x86_64"
  local usable = (i % 7 ~= 0) and "true" or "false"
  local health = (i % 50 ~= 0) and "healthy" or "degraded"
  return string.format(
    '{"node_id":"node-%05d","sequence":%d,"observed_at":"%s","arch":"%s",' ..
    '"cpus":{"total":64,"allocatable":60},"memory_mib":{"total":262144,"allocatable":245760},' ..
    '"kvm":{"present":true,"usable":%s},"kernel":"6.8.0","backends":[' ..
    '{"kind":"qemu","binary":"/usr/bin/qemu-system-%s","version":"8.2.2"},' ..
    '{"kind":"process","binary":"/usr/local/bin/berth","version":"0.1.0"}],' ..
    '"labels":{"zone":"z%d","rack":"r%d"},"health":"%s"}',
    i, sequence, observed, arch, usable, arch, i % 5, i % 40, health)
end

request = function()
  local per_round = math.ceil((nodes - (tid - 1)) / total)
  local round = math.floor(counter / per_round)
  local i = (tid - 1) + total * (counter % per_round)
  counter = counter + 1
  return wrk.format("POST", "/api/v1alpha1/intake/envelope", {["Content-Type"] = "application/json"},
    envelope(i, base + round))
end
