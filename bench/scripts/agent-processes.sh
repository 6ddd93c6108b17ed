#!/usr/bin/env bash
# Throughput of N fresh service processes (bench/src/apps/service.mjs), one variant per call:
# each process is warmed 3 s by wrk, then all wait while the others warm up, then each is
# measured 4 s in turn, so process k has sat idle for about 3*(N-1) + 4*(k-1) seconds first.
# Prints requests per main-thread CPU-second of each process, in start order.
# Used for "After idle" in docs/benchmarks.md (the process-by-process spread of bench:agent).
#
#   bash bench/scripts/agent-processes.sh N PLUGINS [NODE_FLAGS...]
#     PLUGINS: none (no agent) | - (agent, no plugins) | a VIGIL_PLUGINS list from bench/plugins
#   Needs wrk and a built repo (npx turbo run build). Service on core 0, wrk and backend on core 1.
set -euo pipefail
n=$1; plugins=$2; shift 2
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
port0=$((7900 + RANDOM % 50 * 20))
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/plugins"
for p in "$root"/bench/plugins/*/; do ln -s "$p" "$work/plugins/$(basename "$p")"; done
if [ "$plugins" != none ]; then
  VIGIL_PORT=$((port0 + 19)) VIGIL_HOST=127.0.0.1 taskset -c 1 node "$root/apps/backend/dist/main.js" >"$work/backend.log" 2>&1 &
  sleep 2
fi
pids=()
for i in $(seq "$n"); do
  mkdir -p "$work/cwd$i/vigil"
  if [ "$plugins" = none ]; then
    (cd "$work/cwd$i" && PORT=$((port0 + i)) exec taskset -c 0 node "$@" "$root/bench/src/apps/service.mjs" >"$work/s$i.log" 2>&1) &
  else
    list=$plugins; [ "$list" = - ] && list=
    (cd "$work/cwd$i" && PORT=$((port0 + i)) VIGIL_BACKEND_URL=http://127.0.0.1:$((port0 + 19)) VIGIL_PLUGINS_DIR="$work/plugins" \
      VIGIL_PLUGINS=$list VIGIL_SERVICE_NAME=proc$i exec taskset -c 0 node "$@" --import "$root/packages/agent/dist/register.js" \
      "$root/bench/src/apps/service.mjs" >"$work/s$i.log" 2>&1) &
  fi
  pids+=($!)
done
sleep 2
for i in $(seq "$n"); do taskset -c 1 wrk -t1 -c64 -d3s "http://127.0.0.1:$((port0 + i))/" >/dev/null; done
hz=$(getconf CLK_TCK)
line=""
for i in $(seq "$n"); do
  pid=${pids[$((i - 1))]}
  t0=$(awk '{print $14 + $15}' "/proc/$pid/task/$pid/stat")
  rps=$(taskset -c 1 wrk -t1 -c64 -d4s "http://127.0.0.1:$((port0 + i))/" | awk '/^Requests\/sec/ {print $2}')
  t1=$(awk '{print $14 + $15}' "/proc/$pid/task/$pid/stat")
  line="$line $(awk -v r="$rps" -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.0f", r * 4 * hz / (b - a) }')"
done
echo "$n processes, plugins $plugins${*:+, node $*}: req per CPU-s:$line"
