#!/usr/bin/env bash
# A RawSse cluster on this machine: one nats-server with JetStream, N RawSse nodes sharing its stream
# (--store nats://127.0.0.1:NATS_PORT), and nginx in front of them with deploy/nginx-cluster.conf.
#
#   deploy/cluster.sh [--nodes N] [--nats-port PORT] [--store-dir DIR] [--no-nginx] [--no-build] [-- NODE_OPTIONS...]
#
#   --nodes N         RawSse nodes, on ports 8081 to 8080+N (default 3)
#   --nats-port PORT  nats-server's client port (default 4222)
#   --store-dir DIR   JetStream's store, kept after the stop (default: a temporary folder, deleted after the stop)
#   --no-nginx        no nginx on 8080; clients talk to the nodes directly
#   --no-build        run RawSse/bin/Release/net10.0/RawSse.dll as it is, without `dotnet build -c Release` first
#   -- ...            further options for every node (for example -- --publish-token s3cret)
#
# Only the first node runs the demo ticker (--interval 0 on the others): every node's ticker would publish into the
# one shared stream, and every node delivers everything in it. Ctrl+C, SIGTERM or SIGHUP stops everything it started.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
nodes=3
nats_port=4222
store_dir=""
with_nginx=1
build=1
node_options=()
readonly first_node_port=8081 nginx_port=8080 start_timeout=30

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while (( $# > 0 )); do
  case "$1" in
    --nodes) nodes="${2:?--nodes needs a number}"; shift 2 ;;
    --nats-port) nats_port="${2:?--nats-port needs a port}"; shift 2 ;;
    --store-dir) store_dir="${2:?--store-dir needs a folder}"; shift 2 ;;
    --no-nginx) with_nginx=0; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) usage 0 ;;
    --) shift; node_options=("$@"); break ;;
    *) echo "cluster.sh: unknown option '$1'" >&2; usage 2 ;;
  esac
done

[[ "$nodes" =~ ^[1-9][0-9]?$ ]] || { echo "cluster.sh: --nodes takes 1 to 99" >&2; exit 2; }
[[ "$nats_port" =~ ^[0-9]+$ ]] && (( nats_port > 0 && nats_port < 65536 )) || { echo "cluster.sh: --nats-port takes 1 to 65535" >&2; exit 2; }
for tool in nats-server dotnet curl; do
  command -v "$tool" >/dev/null || { echo "cluster.sh: $tool not found (Debian: apt-get install nats-server curl; the .NET 10 SDK)" >&2; exit 2; }
done
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)" # Debian's is in /usr/sbin, outside a user's PATH
if (( with_nginx )) && [[ ! -x "$nginx_bin" ]]; then
  echo "cluster.sh: nginx not found (apt-get install nginx, or --no-nginx)" >&2; exit 2
fi

work="$(mktemp -d -t rawsse-cluster.XXXXXX)"
chmod 755 "$work" # nginx's workers run as an unprivileged user when started as root: let them reach the temp paths
[[ -n "$store_dir" ]] || store_dir="$work/nats"
mkdir -p "$store_dir" "$work/logs"

pids=() names=()

stop_all() {
  trap - INT TERM EXIT
  local i pid
  # The front first (nginx, then the nodes), nats-server last, so no node loses its store while it still serves.
  for (( i = ${#pids[@]} - 1; i >= 0; i-- )); do
    pid="${pids[i]}"
    kill -0 "$pid" 2>/dev/null || continue
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "cluster.sh: ${names[i]} (pid $pid) still running 10 s after SIGTERM: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all; exit 129' HUP
trap 'stop_all' EXIT

# start NAME COMMAND...: runs it in the background, its output in $work/logs/NAME.log. In a session of its own, so
# Ctrl+C reaches only this script, which stops everything in order (setsid execs without forking here: a background
# child of a script without job control is no process group leader, so $! is the process itself).
start() {
  local name="$1"; shift
  setsid "$@" >"$work/logs/$name.log" 2>&1 &
  pids+=("$!") names+=("$name")
}

# fail NAME MESSAGE: what went wrong and the end of NAME's log; the EXIT trap stops the rest.
fail() {
  echo "cluster.sh: $2; the end of its log:" >&2
  tail -n 20 "$work/logs/$1.log" >&2 || true
  exit 1
}

# wait_until NAME PID CHECK...: polls CHECK every 100 ms until it succeeds, the process exits, or the deadline passes.
wait_until() {
  local name="$1" pid="$2"; shift 2
  local deadline=$(( SECONDS + start_timeout ))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || fail "$name" "$name exited before it was ready"
    (( SECONDS < deadline )) || fail "$name" "$name not ready within $start_timeout s"
    sleep 0.1
  done
}

answers() { curl -fsS --max-time 1 -o /dev/null "$1"; }

if (( build )); then
  echo "building RawSse (Release)..."
  dotnet build "$repo/RawSse" -c Release -nologo -v:q >"$work/logs/build.log" 2>&1 || fail build "dotnet build failed"
fi
dll="$repo/RawSse/bin/Release/net10.0/RawSse.dll"
[[ -f "$dll" ]] || { echo "cluster.sh: $dll not found (run without --no-build)" >&2; exit 2; }

start nats nats-server -js -a 127.0.0.1 -p "$nats_port" -sd "$store_dir"
wait_until nats "${pids[-1]}" grep -q "Server is ready" "$work/logs/nats.log"

store="nats://127.0.0.1:$nats_port"
for (( n = 0; n < nodes; n++ )); do
  port=$(( first_node_port + n ))
  interval=500
  (( n == 0 )) || interval=0
  start "node$((n + 1))" dotnet "$dll" --port "$port" --root "$repo/public" --store "$store" --interval "$interval" "${node_options[@]}"
done
for (( n = 0; n < nodes; n++ )); do
  wait_until "node$((n + 1))" "${pids[n + 1]}" answers "http://127.0.0.1:$(( first_node_port + n ))/"
done

if (( with_nginx )); then
  # deploy/nginx-cluster.conf with one upstream server a node, and nginx's pid, logs and temp files in $work.
  servers=""
  for (( n = 0; n < nodes; n++ )); do
    servers+="        server 127.0.0.1:$(( first_node_port + n )) max_fails=1 fail_timeout=5s;\n"
  done
  awk -v servers="$servers" -v work="$work" '
    /^[ \t]*server 127\.0\.0\.1:[0-9]+ / { if (!done) { printf "%s", servers; done = 1 } next }
    /^http \{/ { print; print "    client_body_temp_path " work "/client_body; proxy_temp_path " work "/proxy;"
                 print "    fastcgi_temp_path " work "/fastcgi; uwsgi_temp_path " work "/uwsgi; scgi_temp_path " work "/scgi;"; next }
    { print }' "$repo/deploy/nginx-cluster.conf" >"$work/nginx.conf"
  start nginx "$nginx_bin" -p "$work/" -e "$work/logs/nginx.log" -c "$work/nginx.conf" -g "daemon off; pid $work/nginx.pid;"
  wait_until nginx "${pids[-1]}" answers "http://127.0.0.1:$nginx_port/"
fi

echo
echo "RawSse cluster: nats-server on $store, store in $store_dir"
for (( n = 0; n < nodes; n++ )); do
  port=$(( first_node_port + n ))
  echo "  node$((n + 1))  http://127.0.0.1:$port/$( (( n == 0 )) && echo "   (runs the ticker)")"
done
(( with_nginx )) && echo "  nginx  http://127.0.0.1:$nginx_port/   (round robin over the nodes)"
front="http://127.0.0.1:$(( with_nginx ? nginx_port : first_node_port ))"
echo
echo "  subscribe: curl -N '$front/sse?topic=demo'"
echo "  publish:   curl -X POST -d 'topic=demo&data=hi' http://127.0.0.1:$first_node_port/publish"
echo "logs in $work/logs; Ctrl+C stops everything"

# Wait for Ctrl+C / SIGTERM (the traps stop everything), or for one of the processes to end on its own.
set +e
wait -n "${pids[@]}"
status=$?
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[i]}" 2>/dev/null; then
    echo "cluster.sh: ${names[i]} exited (status $status); stopping the rest" >&2
    tail -n 20 "$work/logs/${names[i]}.log" >&2
  fi
done
exit 1
