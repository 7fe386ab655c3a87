#!/usr/bin/env bash
# Where a fan-out delivery's CPU goes: runs RawSse on CPU 0 and the load generator on CPU 1 (10,000 subscribers,
# 100-byte events at RATE/s, default 5), records the server with `perf record -g` for 8 s, and prints the share of
# the server's CPU spent inside send(2) (and below it: TCP, the loopback receive path, waking the reader).
#
#   bench/profile-fanout.sh [RATE]        needs bench/run.sh to have built bench/out first; installs linux-perf
set -euo pipefail
cd "$(dirname "$0")"
rate="${1:-5}"
OUT=$(pwd)/out
[[ -x $OUT/rawsse/rawsse-bench && -x $OUT/loadgen/LoadGen ]] || { echo "run bench/run.sh first (it builds bench/out)" >&2; exit 2; }
command -v perf >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null; }
ulimit -n "$(ulimit -Hn)"

tmp=$(mktemp -d)
port=18590
taskset -c 0 "$OUT/rawsse/rawsse-bench" --port $port --root "$tmp" --log-level Warning --max-connections 19900 \
  --heartbeat 0 --interval 0 >"$tmp/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$tmp"' EXIT
sleep 1

taskset -c 1 env DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 "$OUT/loadgen/LoadGen" fanout \
  --url "http://127.0.0.1:$port/sse?topic=bench" --subscribers 10000 --rates "$rate" --duration 20 --size 100 \
  --server-pid $server --warmup 2 >"$tmp/load.log" 2>&1 &
load=$!
sleep 8
perf record -F 2000 -g -p $server -o "$tmp/perf.data" -- sleep 8 >/dev/null 2>&1
wait $load || true

grep -E "deliveries/s; server" "$tmp/load.log" | head -n 1
perf report -i "$tmp/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -n 4
echo "server CPU inside send(2) and below it:"
perf report -i "$tmp/perf.data" --children --sort sym --stdio -g none 2>/dev/null \
  | grep -E '\] (__send|__sys_sendto|tcp_sendmsg_locked|net_rx_action|tcp_v4_rcv|sock_def_readable)$'
