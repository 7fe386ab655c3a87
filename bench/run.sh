#!/usr/bin/env bash
# RawSse benchmarks against a Go net/http peer, an ASP.NET Core (Kestrel) peer and nginx (static files).
#
#   bench/run.sh            full run (about 20 minutes on 2 cores)
#   bench/run.sh --quick    every scenario at a small scale (about five minutes): a smoke test
#   options: --servers rawsse,go,aspnet   --scenarios idle,fanout,ticker,static,ingest,stall,startup,private
#            --before REF   also builds RawSse at git REF as the server "rawsse-before" (add it to --servers):
#                           the same scenarios against the code before a change, in the same run
#   ingest:  wrk posting 100-byte events over keep-alive POST /publish (one thread, 16 connections) while 0, 1 and 1,000
#            subscribers read the topic, each case on a fresh server warmed by the same wrk command first (12 s; --quick
#            2 s: a .NET server on one CPU reaches tier-1 code only after ~10 s of load); against RawSse without a store,
#            with --store memory ("rawsse-memory") and --store sqlite ("rawsse-sqlite"), always, and the other servers
#            of --servers that publish (go, aspnet, rawsse-before); and RawSse's own 1 KiB static file with the same wrk
#            settings ("static-1k"), for the ratio in the same run. Add rawsse-memory/rawsse-sqlite to --servers to run
#            the other scenarios against them too
#   stall:   a 100-byte stream (fan-out, 100 subscribers, 100 events/s) alone, then while one connection publishes
#            1 MiB events back to back to another topic that one subscriber reads: p99 loaded / unloaded (target <= 2).
#            RawSse (with --max-body-bytes 2097152 --queue-bytes 8388608) and the go and aspnet peers of --servers
#   private: RawSse only: fan-out of private updates to subscribers that hold a URI-template selector and a JWT
#            whose mercure.subscribe claim allows the topic (label "rawsse-private")
#   cluster: RawSse only, opt-in (--scenarios cluster): one nats-server -js and 5 RawSse nodes on one JetStream stream
#            (--store nats://), 19,000 subscribers on each (95,000), then 2,000 on each; every publish to node 0 on one
#            connection, at 1 and 10 events/s, 20 s each; each against one node with --store memory and as many
#            subscribers as one node of the cluster, in the same run. Nodes and nats-server on CPU 0, the load on
#            CPU 1. About 8 to 10 minutes (--quick: 5 x 200 subscribers, 3 s a rate)
#
# Installs what it needs (Debian packages), builds everything in Release, pins each server to CPU 0 and the
# load to CPU 1, and writes bench/results/<stamp>.md with charts in bench/results/<stamp>/.
# Everything is bounded: each server is started for one scenario and stopped (SIGTERM, then SIGKILL).
set -euo pipefail
cd "$(dirname "$0")"
BENCH=$(pwd)
REPO=$(cd .. && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

quick=false
servers="rawsse,go,aspnet"
scenarios="idle,fanout,ticker,static,ingest,stall,startup"
before=""
while (( $# > 0 )); do
  case "$1" in
    --before) before="$2"; shift ;;
    --quick) quick=true ;;
    --servers) servers="$2"; shift ;;
    --scenarios) scenarios="$2"; shift ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
IFS=, read -r -a SERVERS <<<"$servers"
has_scenario() { [[ ",$scenarios," == *",$1,"* ]]; }

# ---------------------------------------------------------------------------------------------- scale
if $quick; then
  IDLE_STEPS=100,300,500;  PER_PROCESS=200          # small shards, so sharding is exercised too
  FANOUT_SUBS=500;         FANOUT_RATES=10,50,200;   FANOUT_SECONDS=3; FANOUT_WARMUP=1
  TICKER_SUBS=500;         TICKER_SECONDS=5
  WRK_SECONDS=3;           WRK_CONNECTIONS=16;       INGEST_WARMUP=2
  STALL_SECONDS=3;         STALL_WARMUP=1
  STARTUP_ROUNDS=2;        SETTLE_MS=1000
  CLUSTER_PER_NODE=200;    CLUSTER_SECONDS=3;        CLUSTER_WARMUP=1; CLUSTER_GRACE_MS=5000; CLUSTER_LIMIT_S=240
  QUIET_SECONDS=1
else
  IDLE_STEPS=1000,5000,10000,19000; PER_PROCESS=15000
  FANOUT_SUBS=10000;       FANOUT_RATES=1,2,5,10,20,30,50,75,100,150,200; FANOUT_SECONDS=10; FANOUT_WARMUP=3
  TICKER_SUBS=10000;       TICKER_SECONDS=30
  WRK_SECONDS=10;          WRK_CONNECTIONS=64;       INGEST_WARMUP=12
  STALL_SECONDS=10;        STALL_WARMUP=3
  STARTUP_ROUNDS=5;        SETTLE_MS=2000
  CLUSTER_PER_NODE=19000,2000; CLUSTER_SECONDS=20;       CLUSTER_WARMUP=5; CLUSTER_GRACE_MS=15000; CLUSTER_LIMIT_S=900
  QUIET_SECONDS=3
fi
CLUSTER_NODES=5; CLUSTER_RATES=1,10   # the cluster scenario: nodes, and the rates each setup is measured at
FANOUT_SIZE=100
INGEST_SUBS=(0 1 1000)   # subscribers on the topic the ingest scenario publishes to
MAX_P99_MS=100     # a rate is clean under this p99 (and with nothing lost)
STOP_P99_MS=1000   # the ramp goes on while p99 stays under this and nothing is lost

# ---------------------------------------------------------------------------------------------- tools
missing=()
command -v go >/dev/null      || missing+=(golang-go)
command -v wrk >/dev/null     || missing+=(wrk)
command -v gnuplot >/dev/null || missing+=(gnuplot-nox)
command -v nginx >/dev/null   || missing+=(nginx)
command -v taskset >/dev/null || missing+=(util-linux)
command -v curl >/dev/null    || missing+=(curl)
if (( ${#missing[@]} > 0 )); then
  echo "== installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

ulimit -n "$(ulimit -Hn)"
if (( $(ulimit -n) < 20000 )) && ! $quick; then
  echo "run.sh: the full run needs 20,000 open files per process; the hard limit here is $(ulimit -Hn)" >&2
fi
if (( $(nproc) < 2 )); then
  echo "run.sh: needs 2 CPUs (server on CPU 0, load on CPU 1)" >&2
  exit 1
fi

# ---------------------------------------------------------------------------------------------- build
OUT="$BENCH/out"
echo "== building (Release)"
r2r=yes
if ! dotnet publish "$REPO/RawSse/RawSse.csproj" -c Release -r linux-x64 --self-contained false \
      -p:PublishReadyToRun=true -o "$OUT/rawsse" -nologo -v:q; then
  echo "== ReadyToRun publish failed (runtime pack not restorable?): falling back to a plain Release publish"
  r2r=no
  dotnet publish "$REPO/RawSse/RawSse.csproj" -c Release -o "$OUT/rawsse" -nologo -v:q
fi
aspnet_r2r=yes
if ! dotnet publish "$BENCH/peers/aspnet/AspnetPeer.csproj" -c Release -r linux-x64 --self-contained false \
      -p:PublishReadyToRun=true -o "$OUT/aspnet" -nologo -v:q; then
  aspnet_r2r=no
  dotnet publish "$BENCH/peers/aspnet/AspnetPeer.csproj" -c Release -o "$OUT/aspnet" -nologo -v:q
fi
if [[ -n "$before" ]]; then
  # The code before a change, built the same way from a worktree of that commit.
  rm -rf "$OUT/before-src"
  git -C "$REPO" worktree remove --force "$OUT/before-src" 2>/dev/null || true
  git -C "$REPO" worktree add --detach "$OUT/before-src" "$before" >/dev/null
  dotnet publish "$OUT/before-src/RawSse/RawSse.csproj" -c Release -r linux-x64 --self-contained false \
      -p:PublishReadyToRun=true -o "$OUT/rawsse-before" -nologo -v:q \
    || dotnet publish "$OUT/before-src/RawSse/RawSse.csproj" -c Release -o "$OUT/rawsse-before" -nologo -v:q
  before_commit=$(git -C "$OUT/before-src" rev-parse --short HEAD)
  git -C "$REPO" worktree remove --force "$OUT/before-src"
  ln -sf RawSse "$OUT/rawsse-before/rawsse-bench-before"
fi
dotnet publish "$BENCH/LoadGen/LoadGen.csproj" -c Release -o "$OUT/loadgen" -nologo -v:q
# The server runs under a name of its own: on a shared machine, something else's `pkill RawSse` must not
# stop the server under test (the apphost finds RawSse.dll beside its real path).
ln -sf RawSse "$OUT/rawsse/rawsse-bench"
# The load generator's SSE scanner, chunked decoder and histogram, checked offline before anything is measured.
"$OUT/loadgen/LoadGen" selftest
(cd "$BENCH/peers/go" && GOFLAGS=-mod=mod go build -trimpath -o "$OUT/go/ssepeer" .)

# ---------------------------------------------------------------------------------------------- run layout
stamp=$(date -u +%Y-%m-%d-%H%M)
$quick && stamp="$stamp-quick"
RESULTS="$BENCH/results"
TMP="$RESULTS/tmp/$stamp"
mkdir -p "$TMP"
JSONL="$TMP/results.jsonl"
: >"$JSONL"
WWW="$TMP/www"
mkdir -p "$WWW"
cp -r "$REPO/public/." "$WWW/"
head -c 1024 /dev/urandom >"$WWW/f1k.bin"
head -c $((100 * 1024)) /dev/urandom >"$WWW/f100k.bin"

LOADGEN=(taskset -c 1 env DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 "$OUT/loadgen/LoadGen")
started_at=$(date +%s)

{
  echo "mode: $($quick && echo quick || echo full)"
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "commit: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB, kernel $(uname -r)"
  echo "open files: $(ulimit -n)"
  echo "dotnet: $(dotnet --version); go: $(go version | awk '{print $3}'); nginx: $(nginx -v 2>&1 | cut -d/ -f2); wrk: $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
  echo "RawSse publish: $([[ $r2r == yes ]] && echo 'ReadyToRun' || echo 'plain Release (ReadyToRun did not restore)'); aspnet peer: $([[ $aspnet_r2r == yes ]] && echo 'ReadyToRun' || echo 'plain Release')"
  echo "pinning: server on CPU 0, load generator and wrk on CPU 1"
  [[ -n "$before" ]] && echo "rawsse-before: commit $before_commit ($before)"
} >"$TMP/meta.txt"

# ---------------------------------------------------------------------------------------------- servers
declare -A PORT=([rawsse]=18080 [aspnet]=18081 [go]=18082 [nginx]=18083 [rawsse-before]=18084 [rawsse-private]=18085 [rawsse-memory]=18086 [rawsse-sqlite]=18087)
# The cluster scenario's nats-server (client port, and its monitoring port, which answers the readiness check) and nodes.
NATS_PORT=18090
PORT[nats]=18091
for ((i = 0; i < CLUSTER_NODES; i++)); do PORT[rawsse-node$i]=$((18092 + i)); done
NATS_STREAM="bench${stamp//[^A-Za-z0-9_-]/}"
SERVER_PID=""
CLUSTER_PIDS=()
JWT_KEY="bench-secret-bench-secret-bench-secret"

# jwt PAYLOAD_JSON: an HS256 token signed with JWT_KEY (for the private scenario).
jwt() {
  python3 - "$JWT_KEY" "$1" <<'PY'
import base64, hashlib, hmac, sys
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
signing = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(sys.argv[2].encode())
print(signing + "." + b64(hmac.new(sys.argv[1].encode(), signing.encode(), hashlib.sha256).digest()))
PY
}

urlencode() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }

# server_cmd NAME INTERVAL_MS: the command line of one server (without taskset).
server_cmd() {
  local name=$1 interval=$2 port=${PORT[$1]}
  case "$name" in
    rawsse) echo "$OUT/rawsse/rawsse-bench --port $port --root $WWW --log-level Warning --max-connections 19900 --heartbeat 0 --interval $interval" ;;
    rawsse-before) echo "$OUT/rawsse-before/rawsse-bench-before --port $port --root $WWW --log-level Warning --max-connections 19900 --heartbeat 0 --interval $interval" ;;
    rawsse-memory) echo "$OUT/rawsse/rawsse-bench --port $port --root $WWW --log-level Warning --max-connections 19900 --heartbeat 0 --interval $interval --store memory" ;;
    rawsse-sqlite)
      rm -f "$TMP"/store.db*   # every scenario starts from an empty store
      echo "$OUT/rawsse/rawsse-bench --port $port --root $WWW --log-level Warning --max-connections 19900 --heartbeat 0 --interval $interval --store sqlite:$TMP/store.db" ;;
    rawsse-node*) echo "$OUT/rawsse/rawsse-bench --port $port --root $WWW --log-level Warning --max-connections 19900 --heartbeat 0 --interval $interval --store nats://127.0.0.1:$NATS_PORT/$NATS_STREAM" ;;
    nats)
      mkdir -p "$TMP/nats"
      echo "nats-server -js -a 127.0.0.1 -p $NATS_PORT -m $port -sd $TMP/nats" ;;
    rawsse-private) echo "$OUT/rawsse/rawsse-bench --port $port --root $WWW --log-level Warning --max-connections 19900 --heartbeat 0 --interval $interval --jwt-key $JWT_KEY" ;;
    go)     echo "$OUT/go/ssepeer --port $port --root $WWW --interval $interval" ;;
    aspnet) echo "$OUT/aspnet/AspnetPeer --port $port --root $WWW --interval $interval" ;;
    nginx)
      mkdir -p "$TMP/nginx"
      sed -e "s#@PORT@#$port#g; s#@ROOT@#$WWW#g; s#@TMP@#$TMP/nginx#g" "$BENCH/peers/nginx.conf.template" >"$TMP/nginx/nginx.conf"
      echo "nginx -p $TMP/nginx -c $TMP/nginx/nginx.conf" ;;
  esac
}

# wait_quiet: waits (at most 2 minutes) until the machine has been nearly idle for QUIET_SECONDS in a row, so
# that another job's CPU time does not land in a measurement (the machine may be shared).
# Busy = user+nice+system+irq+softirq ticks of /proc/stat, in percent of one CPU per second.
QUIET_WAITS=0
wait_quiet() {
  local seconds=0 quiet=0 busy u1 n1 s1 i1 w1 q1 sq1 u2 n2 s2 i2 w2 q2 sq2
  while (( seconds < 120 && quiet < QUIET_SECONDS )); do
    read -r _ u1 n1 s1 i1 w1 q1 sq1 _ </proc/stat
    sleep 1
    read -r _ u2 n2 s2 i2 w2 q2 sq2 _ </proc/stat
    busy=$(( (u2 + n2 + s2 + q2 + sq2) - (u1 + n1 + s1 + q1 + sq1) ))
    seconds=$((seconds + 1))
    if (( busy <= 15 )); then
      quiet=$((quiet + 1))
    else
      (( quiet == 0 && seconds == 1 )) && echo "   (other processes use ${busy} % of a CPU: waiting for a quiet machine, at most 2 minutes)"
      quiet=0
      QUIET_WAITS=$((QUIET_WAITS + 1))
    fi
  done
  (( quiet >= QUIET_SECONDS )) || echo "   (the machine is still busy; going on)"
}

# serves NAME: true once it answers (nats-server: once JetStream is up).
serves() {
  if [[ $1 == nats ]]; then
    curl -sf -o /dev/null "http://127.0.0.1:${PORT[nats]}/healthz?js-enabled-only=true"
  else
    curl -s -o /dev/null "http://127.0.0.1:${PORT[$1]}/"
  fi
}

# start_server NAME INTERVAL_MS LOGNAME: waits for a quiet machine, then launches it.
start_server() {
  wait_quiet
  launch_server "$@"
}

# launch_server NAME INTERVAL_MS LOGNAME: runs it on CPU 0 and waits (at most 30 s) until it serves; its pid is SERVER_PID.
# SERVER_EXTRA, when set, is appended to its command line.
launch_server() {
  local name=$1 interval=$2 log="$TMP/$3.log"
  # shellcheck disable=SC2046,SC2086
  taskset -c 0 $(server_cmd "$name" "$interval") ${SERVER_EXTRA:-} >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 300); do
    if serves "$name"; then
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "run.sh: $name did not start; its log:" >&2
  tail -20 "$log" >&2
  return 1
}

# stop_server NAME SCENARIO [PID]: records a crash if the server (SERVER_PID unless PID is given) died under load,
# then stops it.
stop_server() {
  local name=$1 scenario=$2 pid=${3:-$SERVER_PID}
  [[ $pid == "$SERVER_PID" ]] && SERVER_PID=""
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null && code=0 || code=$?
    echo "!! $name exited during $scenario (exit code $code)"
    printf '{"mode":"crash","label":"%s","scenario":"%s","exitCode":%s}\n' "$name" "$scenario" "$code" >>"$JSONL"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null && code=0 || code=$?
  # A clean stop exits 0 (RawSse, Kestrel, nginx) or dies of the SIGTERM itself (143: Go's default); nats-server
  # exits 1 after its orderly shutdown on SIGTERM ("Server Exiting..").
  if (( code != 0 && code != 143 )) && ! [[ $name == nats && $code == 1 ]]; then
    echo "!! $name did not stop cleanly on SIGTERM after $scenario (exit code $code)"
    printf '{"mode":"crash","label":"%s","scenario":"%s, on SIGTERM","exitCode":%s}\n' "$name" "$scenario" "$code" >>"$JSONL"
  fi
}
# Whatever is still running when the script ends, normally or not (an error, Ctrl+C, SIGTERM), is killed.
# (errexit still holds inside the trap: a pid already gone must not end the loop)
trap 'for p in $SERVER_PID "${CLUSTER_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done' EXIT
trap 'exit 130' INT TERM

# loadgen LOGNAME ARGS...: runs the load generator on CPU 1; its last line (JSON) goes to the results.
# With LOADGEN_LIMIT_S set, it is stopped after that many seconds (its shards end when their input closes); --foreground
# keeps it in the script's process group, so Ctrl+C reaches it at once.
loadgen() {
  local log="$TMP/$1.out"; shift
  local status=0 limit=()
  [[ -n "${LOADGEN_LIMIT_S:-}" ]] && limit=(timeout --foreground -k 10 "$LOADGEN_LIMIT_S")
  "${limit[@]}" "${LOADGEN[@]}" "$@" 2>&1 | tee "$log" || status=$?
  # Interrupted (Ctrl+C reaches the load generator, which dies of it; timeout then exits 130): stop here too.
  (( status == 130 || status == 143 )) && exit "$status"
  if tail -n 1 "$log" | grep -q '^{'; then
    tail -n 1 "$log" >>"$JSONL"
  else
    echo "run.sh: the load generator gave no result (exit $status)" >&2
  fi
}

section() { echo; echo "== $* ($(( $(date +%s) - started_at )) s)"; }

# noise_probe WHEN: how much of each CPU the (virtual) machine takes away, before and after the scenarios.
noise_probe() {
  for cpu in 0 1; do
    taskset -c "$cpu" "$OUT/loadgen/LoadGen" noise --label "cpu$cpu $1" --duration 3 | tee -a "$TMP/noise.out" | tail -n 1 >>"$JSONL"
  done
}

# ---------------------------------------------------------------------------------------------- scenarios
section "noise probe"
noise_probe before
if has_scenario idle; then
  for s in "${SERVERS[@]}"; do
    section "idle footprint: $s, subscribers $IDLE_STEPS"
    start_server "$s" 0 "idle-$s"
    loadgen "idle-$s" idle --label "$s" --url "http://127.0.0.1:${PORT[$s]}/sse?topic=idle" --steps "$IDLE_STEPS" \
      --settle-ms $((SETTLE_MS * 2)) --server-pid "$SERVER_PID" --per-process "$PER_PROCESS"
    stop_server "$s" idle
  done
fi

if has_scenario fanout; then
  for s in "${SERVERS[@]}"; do
    section "fan-out: $s, $FANOUT_SUBS subscribers, ${FANOUT_SIZE}-byte events, rates $FANOUT_RATES"
    start_server "$s" 0 "fanout-$s"
    loadgen "fanout-$s" fanout --label "$s" --url "http://127.0.0.1:${PORT[$s]}/sse?topic=bench" \
      --subscribers "$FANOUT_SUBS" --rates "$FANOUT_RATES" --duration "$FANOUT_SECONDS" --warmup "$FANOUT_WARMUP" \
      --size "$FANOUT_SIZE" --max-p99-ms "$MAX_P99_MS" --stop-p99-ms "$STOP_P99_MS" --server-pid "$SERVER_PID" --per-process "$PER_PROCESS"
    stop_server "$s" fanout
  done
fi

if has_scenario private; then
  # Every subscriber holds the same URI template and a token allowed only its own user's topics; each event is a
  # private update to one topic. The hub matches the template once per event and checks each grant once.
  s=rawsse-private
  template='https://bench.example/users/{user}/items/{item}'
  sub_jwt=$(jwt '{"mercure":{"subscribe":["https://bench.example/users/1/{+rest}"]}}')
  pub_jwt=$(jwt '{"mercure":{"publish":["*"]}}')
  section "private fan-out: $FANOUT_SUBS subscribers holding $template, private updates, rates $FANOUT_RATES"
  start_server "$s" 0 "private-$s"
  loadgen "private-$s" fanout --label "$s" \
    --url "http://127.0.0.1:${PORT[$s]}/sse?topic=$(urlencode "$template")&authorization=$sub_jwt" \
    --topic "https://bench.example/users/1/items/42" --publish-auth "Bearer $pub_jwt" --publish-fields private=on \
    --subscribers "$FANOUT_SUBS" --rates "$FANOUT_RATES" --duration "$FANOUT_SECONDS" --warmup "$FANOUT_WARMUP" \
    --size "$FANOUT_SIZE" --max-p99-ms "$MAX_P99_MS" --stop-p99-ms "$STOP_P99_MS" --server-pid "$SERVER_PID" --per-process "$PER_PROCESS"
  stop_server "$s" private
fi

if has_scenario ticker; then
  for s in "${SERVERS[@]}"; do
    section "ticker precision: $s, $TICKER_SUBS subscribers, ${TICKER_SECONDS} s"
    start_server "$s" 500 "ticker-$s"
    loadgen "ticker-$s" ticker --label "$s" --url "http://127.0.0.1:${PORT[$s]}/sse" --subscribers "$TICKER_SUBS" \
      --duration "$TICKER_SECONDS" --tick-period-ms 500 --server-pid "$SERVER_PID" --per-process "$PER_PROCESS"
    stop_server "$s" ticker
  done
fi

if has_scenario static; then
  static_servers=(rawsse aspnet nginx go)
  for file in f1k.bin f100k.bin; do
    for s in "${static_servers[@]}"; do
      [[ $s == nginx || ",$servers," == *",$s,"* ]] || continue
      section "static files: $s, $file, wrk $WRK_CONNECTIONS connections, ${WRK_SECONDS} s"
      start_server "$s" 0 "static-$s-$file"
      url="http://127.0.0.1:${PORT[$s]}/$file"
      taskset -c 1 wrk -t1 -c"$WRK_CONNECTIONS" -d1s "$url" >/dev/null   # warm-up
      loadgen "static-$s-$file" static --label "$s" --file "$file" --server-pid "$SERVER_PID" -- \
        taskset -c 1 wrk -t1 -c"$WRK_CONNECTIONS" -d"${WRK_SECONDS}s" --latency "$url"
      stop_server "$s" static
    done
  done
fi

# publish_lua FILE TOPIC BYTES: a wrk script that posts one event of BYTES bytes of data to TOPIC.
publish_lua() {
  cat >"$1" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "topic=$2&data=" .. string.rep("x", $3)
LUA
}

# ingest_case SERVER CASE SUBSCRIBERS WRK_TARGET...: one ingest run on a fresh server (WRK_TARGET: wrk's script options and URL).
ingest_case() {
  local s=$1 name=$2 n=$3; shift 3
  section "ingest: $s, $name, $n subscribers, wrk 16 connections, ${INGEST_WARMUP} s warm-up + ${WRK_SECONDS} s"
  start_server "$s" 0 "ingest-$s-$name-$n"
  loadgen "ingest-$s-$name-$n" ingest --label "$s" --case "$name" --url "http://127.0.0.1:${PORT[$s]}/sse?topic=ingest" \
    --subscribers "$n" --warmup "$INGEST_WARMUP" --server-pid "$SERVER_PID" -- taskset -c 1 wrk -t1 -c16 -d"${WRK_SECONDS}s" --latency "$@"
  stop_server "$s" ingest
}

if has_scenario ingest; then
  # Publishing at full speed while 0, 1 or 1,000 subscribers read the topic. A .NET server pinned to one CPU sees
  # ProcessorCount 1, so the runtime multiplies its tiering delay by 10 and the publish path reaches tier-1 code only
  # after ~10 s of load: each run is warmed with the same wrk command for INGEST_WARMUP seconds, subscribers connected.
  publish_lua "$TMP/publish.lua" ingest 100
  echo "ingest: wrk -t1 -c16 on CPU 1, ${INGEST_WARMUP} s of warm-up (the same command, subscribers connected) before each ${WRK_SECONDS} s run, a fresh server for each" >>"$TMP/meta.txt"
  for s in rawsse rawsse-before rawsse-memory rawsse-sqlite go aspnet; do
    [[ $s == rawsse-memory || $s == rawsse-sqlite || ",$servers," == *",$s,"* ]] || continue
    for n in "${INGEST_SUBS[@]}"; do
      ingest_case "$s" publish "$n" -s "$TMP/publish.lua" "http://127.0.0.1:${PORT[$s]}/publish"
    done
    # The static scenario's 1 KiB file with the same wrk settings and warm-up: the publish path against the plainest request.
    if [[ $s == rawsse ]]; then
      ingest_case "$s" static-1k 0 "http://127.0.0.1:${PORT[$s]}/f1k.bin"
    fi
  done
fi

if has_scenario stall; then
  # A 100-byte stream's p99, alone and beside 1 MiB events published back to back to another topic (one keep-alive
  # connection, one subscriber reading them), on one server. The big load (its subscriber and wrk, both on CPU 1) starts
  # a second before the fan-out and runs past its end. Go's ParseForm takes 10 MB of form and Kestrel's form reader 4 MiB
  # a value, so 1 MiB goes through the peers as it is; RawSse needs its body limit and its queue raised to hold one.
  publish_lua "$TMP/big.lua" big 1048576
  big_seconds=$((1 + STALL_WARMUP + STALL_SECONDS + 4))
  echo "stall: fan-out of 100-byte events to 100 subscribers at 100/s, ${STALL_WARMUP} s warm-up + ${STALL_SECONDS} s, alone and then beside wrk -t1 -c1 publishing 1 MiB events to another topic read by one subscriber (${big_seconds} s, started 1 s before)" >>"$TMP/meta.txt"
  for s in rawsse go aspnet; do
    [[ ",$servers," == *",$s,"* ]] || continue
    section "stall: $s, 100-byte stream alone, then beside 1 MiB publishes"
    [[ $s == rawsse ]] && SERVER_EXTRA="--max-body-bytes 2097152 --queue-bytes 8388608"
    start_server "$s" 0 "stall-$s"
    SERVER_EXTRA=""
    fanout_args=(fanout --label "$s" --url "http://127.0.0.1:${PORT[$s]}/sse?topic=small" --subscribers 100 --rates 100
      --duration "$STALL_SECONDS" --warmup "$STALL_WARMUP" --size "$FANOUT_SIZE" --stop-on-fail false --server-pid "$SERVER_PID")
    loadgen "stall-$s-unloaded" "${fanout_args[@]}" --scenario stall-unloaded
    LOADGEN_LIMIT_S=$((big_seconds + 30)) loadgen "stall-$s-big" ingest --label "$s" --case stall-1mib \
      --url "http://127.0.0.1:${PORT[$s]}/sse?topic=big" --subscribers 1 --buffer 65536 --server-pid "$SERVER_PID" -- \
      taskset -c 1 wrk -t1 -c1 -d"${big_seconds}s" --latency -s "$TMP/big.lua" "http://127.0.0.1:${PORT[$s]}/publish" &
    big_pid=$!
    sleep 1
    loadgen "stall-$s-loaded" "${fanout_args[@]}" --scenario stall-loaded
    wait "$big_pid" || true
    stop_server "$s" stall
  done
fi

if has_scenario cluster; then
  # RawSse only. For each size in CLUSTER_PER_NODE: one JetStream stream shared by CLUSTER_NODES nodes, each holding that
  # many subscribers (subscriber k on node k mod N), every publish to node 0 over one connection (one order in the
  # stream, so a gap is a real loss); and first one node with --store memory and that many subscribers at the same
  # rates. Every server and the nats-server on CPU 0, the load generator and its shards on CPU 1. The full run's sizes:
  # 19,000 a node (95,000 in all, what the machine's 2 cores cannot fan out at 10/s) and 2,000 a node (a cluster
  # that keeps up, to see what JetStream itself adds).
  IFS=, read -r -a cluster_sizes <<<"$CLUSTER_PER_NODE"
  largest=${cluster_sizes[0]}
  cluster_subs=$((CLUSTER_NODES * largest))
  avail_mb=$(awk '/MemAvailable/ {print int($2 / 1024)}' /proc/meminfo)
  need_mb=$((cluster_subs * 32 / 1024 + 1024))   # ~32 KB a subscriber over both ends (buffers, sockets, runtimes), and slack
  skip=""
  command -v nats-server >/dev/null || skip="nats-server is not installed (Debian package nats-server)"
  (( largest + 200 <= $(ulimit -n) && PER_PROCESS + 200 <= $(ulimit -n) )) \
    || skip="${largest} subscribers a node (and ${PER_PROCESS} a load process) need more than the $(ulimit -n) open files allowed"
  (( avail_mb >= need_mb )) || skip="${cluster_subs} subscribers need about ${need_mb} MB, ${avail_mb} MB available"
  if [[ -n "$skip" ]]; then
    echo "!! cluster scenario skipped: $skip"
    echo "cluster: skipped: $skip" >>"$TMP/meta.txt"
  else
    echo "cluster: ${CLUSTER_NODES} nodes on nats-server $(nats-server --version | awk '{print $2}') (JetStream, file store) and the single --store memory node on CPU 0, the load generator on CPU 1; every publish to node 0 on one connection; ${CLUSTER_PER_NODE} subscribers a node; ${avail_mb} MB available before" >>"$TMP/meta.txt"
    cluster_args=(--size "$FANOUT_SIZE" --rates "$CLUSTER_RATES" --duration "$CLUSTER_SECONDS" --warmup "$CLUSTER_WARMUP" --grace-ms "$CLUSTER_GRACE_MS"
      --stop-on-fail false --max-p99-ms "$MAX_P99_MS" --stop-p99-ms "$STOP_P99_MS" --per-process "$PER_PROCESS" --scenario cluster)
    LOADGEN_LIMIT_S=$CLUSTER_LIMIT_S
    for per_node in "${cluster_sizes[@]}"; do
      s=rawsse-memory
      section "cluster: one node, $s, $per_node subscribers, rates $CLUSTER_RATES"
      start_server "$s" 0 "cluster-$s-$per_node"
      loadgen "cluster-$s-$per_node" fanout --label "$s-1node-$per_node" --url "http://127.0.0.1:${PORT[$s]}/sse?topic=bench" \
        --subscribers "$per_node" --server-pid "$SERVER_PID" "${cluster_args[@]}"
      stop_server "$s" cluster

      NATS_STREAM="bench${stamp//-/}n${per_node}"
      section "cluster: nats-server and $CLUSTER_NODES nodes on stream $NATS_STREAM, $((CLUSTER_NODES * per_node)) subscribers, rates $CLUSTER_RATES"
      wait_quiet
      names=(nats)
      for ((i = 0; i < CLUSTER_NODES; i++)); do names+=("rawsse-node$i"); done
      for name in "${names[@]}"; do
        launch_server "$name" 0 "cluster-$name-$per_node"
        CLUSTER_PIDS+=("$SERVER_PID")
        SERVER_PID=""
      done
      ports=$(for ((i = 0; i < CLUSTER_NODES; i++)); do echo "${PORT[rawsse-node$i]}"; done | paste -sd,)
      pids=$(printf '%s\n' "${CLUSTER_PIDS[@]:1}" | paste -sd,)
      loadgen "cluster-nats-$per_node" fanout --label "rawsse-nats-${CLUSTER_NODES}nodes-$per_node" --url "http://127.0.0.1:${PORT[rawsse-node0]}/sse?topic=bench" \
        --ports "$ports" --publish-ports "${PORT[rawsse-node0]}" --server-pids "$pids" --store-pid "${CLUSTER_PIDS[0]}" \
        --subscribers "$((CLUSTER_NODES * per_node))" "${cluster_args[@]}"
      # The nodes first, then the nats-server they use.
      for ((i = CLUSTER_NODES; i >= 0; i--)); do
        stop_server "${names[$i]}" cluster "${CLUSTER_PIDS[$i]}"
      done
      CLUSTER_PIDS=()
    done
    unset LOADGEN_LIMIT_S
  fi
fi

if has_scenario startup; then
  # Rounds alternate between the servers, so a slow moment of the machine does not land on one of them.
  for round in $(seq "$STARTUP_ROUNDS"); do
    for s in "${SERVERS[@]}"; do
      section "start-up: $s, round $round of $STARTUP_ROUNDS"
      wait_quiet
      # shellcheck disable=SC2046
      loadgen "startup-$s-$round" startup --label "$s" --url "http://127.0.0.1:${PORT[$s]}/" --runs 1 \
        --settle-ms "$SETTLE_MS" -- taskset -c 0 $(server_cmd "$s" 0)
    done
  done
fi

section "noise probe"
noise_probe after

# ---------------------------------------------------------------------------------------------- report
section "report"
echo "elapsed: $(( $(date +%s) - started_at )) s, of which about $((QUIET_WAITS)) s waiting for other processes to leave the CPUs" >>"$TMP/meta.txt"
CHARTS="$RESULTS/$stamp"
mkdir -p "$CHARTS"
cp "$JSONL" "$CHARTS/results.jsonl"
"$OUT/loadgen/LoadGen" report --in "$JSONL" --meta "$TMP/meta.txt" --out "$RESULTS/$stamp.md" --charts "$CHARTS"
for gp in "$CHARTS"/*.gp; do
  [[ -e "$gp" ]] || continue
  (cd "$CHARTS" && gnuplot "$(basename "$gp")")
done
echo "results: $RESULTS/$stamp.md (charts in $CHARTS/)"
grep -q '"mode":"crash"' "$JSONL" && echo "!! a server exited abnormally: see $RESULTS/$stamp.md" || true
