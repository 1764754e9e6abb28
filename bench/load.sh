#!/usr/bin/env bash
# Load benchmark: unary ListShelves through h2load, side by side in one run, against
#   direct   the Bookstore backend itself (h2c)
#   nginx    nginx grpc_pass          (stock nginx: no upstream HTTP/2 multiplexing)
#   haproxy  HAProxy, proto h2 on both sides (multiplexes streams to the backend)
#   proxy    `esp run`, no authentication
#   proxy_token        the same, every call carrying the JWT rows' token (what carrying it costs)
#   proxy_jwt          `esp run` checking a service account JWT on every call (token cache on)
#   proxy_jwt_nocache  the same with --jwt_cache_size=0 (RS256 verified on every call)
#
# Every row is checked for gRPC success, not just HTTP 200 (h2load sees only :status):
#   1. before measuring, one call with nghttp must end with the trailer `grpc-status: 0`, and
#      the Bookstore client must get the shelves back;
#   2. during the run, every response must carry the ListShelves message (h2load's `data`
#      bytes / succeeded == the message size seen in step 1: error replies carry no message);
#   3. the backend (`bookstore server --quiet`: no log line per call, it counts its calls by
#      grpc-status, read from its GET /stats before and after the measurement) must have answered
#      at least as many calls as h2load counted as succeeded (and at most that plus the calls in
#      flight when h2load stopped), every one with grpc-status 0.
# A row that fails any check is printed as FAILED, and the script exits 1 at the end.
#
# Settings (environment):
#   BENCH_DURATION=15     seconds measured per system and round (h2load -D)
#   BENCH_REQUESTS=       a fixed request count instead (h2load -n); overrides BENCH_DURATION
#   BENCH_ROUNDS=1        rounds; every system is measured once per round (all stay up, the
#                         order rotates) and the table shows the median round and the min-max
#   BENCH_WARMUP=5        seconds of discarded h2load warm-up before each measurement; plus, once:
#   BENCH_BACKEND_WARMUP=60 for the backend, before anything else, and
#   BENCH_DOTNET_WARMUP=60  for each `esp run` (a fresh .NET process) after it starts. On one core
#                         under full load, .NET's tiered compilation (with dynamic PGO) takes
#                         40-60 s to reach steady state: the backend's throughput climbs from
#                         ~14k to ~55k req/s over its first minute. Shorter warm-ups measure cold code.
#   BENCH_CONNECTIONS=16  h2load -c
#   BENCH_STREAMS=16      h2load -m (concurrent streams per connection)
#   BENCH_PIN=split       split: h2load on CPU 0, the backend and the proxy under test on CPU 1
#                         none:  no pinning (every process may use both CPUs)
#   BENCH_SYSTEMS="direct nginx haproxy proxy proxy_token proxy_jwt proxy_jwt_nocache"   which rows, in order
#   BENCH_RESULTS_DIR=bench/results              where the Markdown report goes
#   BENCH_WAIT_QUIET=0    before each measurement, wait up to this many seconds for the machine
#                         to be idle (other jobs skew the numbers; each row reports the CPU other
#                         processes and other guests (steal) took meanwhile: "⚠ other load N%")
#   BENCH_KEEP_TMP=1      keep the temporary directory (configs, logs, h2load output)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

DURATION=${BENCH_DURATION:-15}
REQUESTS=${BENCH_REQUESTS:-}
ROUNDS=${BENCH_ROUNDS:-1}
WARMUP=${BENCH_WARMUP:-5}
DOTNET_WARMUP=${BENCH_DOTNET_WARMUP:-60}
BACKEND_WARMUP=${BENCH_BACKEND_WARMUP:-60}
CONNS=${BENCH_CONNECTIONS:-16}
STREAMS=${BENCH_STREAMS:-16}
PIN=${BENCH_PIN:-split}
read -r -a SYSTEMS <<<"${BENCH_SYSTEMS:-direct nginx haproxy proxy proxy_token proxy_jwt proxy_jwt_nocache}"
RESULTS_DIR=${BENCH_RESULTS_DIR:-$root/bench/results}

METHOD_PATH=/endpoints.examples.bookstore.Bookstore/ListShelves
BOOKSTORE="$root/artifacts/bin/Bookstore/release/bookstore"
ESP_BIN="$root/artifacts/bin/Esp/release/esp"   # what ./esp execs once it has built
CLK_TCK=$(getconf CLK_TCK)

log() { printf 'load: %s\n' "$*" >&2; }
die() { printf 'load: error: %s\n' "$*" >&2; exit 1; }

case "$PIN" in
    split) CLIENT_PIN=(taskset -c 0); SERVER_PIN=(taskset -c 1); SERVER_CPUS=1 ;;
    none) CLIENT_PIN=(); SERVER_PIN=(); SERVER_CPUS=$(nproc) ;;
    *) die "BENCH_PIN must be split or none, not '$PIN'" ;;
esac
if [ "$PIN" = split ] && [ "$(nproc)" -lt 2 ]; then
    die "BENCH_PIN=split needs 2 CPUs; this machine has $(nproc) (use BENCH_PIN=none)"
fi

# --- Tools: install what is missing (Debian), as ./test does.
need=()
command -v h2load >/dev/null || need+=(nghttp2-client)
command -v nghttp >/dev/null || need+=(nghttp2-client)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
command -v protoc >/dev/null || need+=(protobuf-compiler)
command -v python3 >/dev/null || need+=(python3)
command -v taskset >/dev/null || need+=(util-linux)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
    mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
    log "installing ${need[*]}"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin:/sbin"

# --- Process bookkeeping: every process started here is killed on exit, whatever happens.
tmp=$(mktemp -d /tmp/esp-bench.XXXXXX)
PIDS=()
FAILED_ROWS=0

descendants() { # pid -> the pid and all its descendants
    local pid=$1 child
    echo "$pid"
    for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do descendants "$child"; done
}

stop_pids() { # pid... -> TERM each (and its children), KILL what is left after 5 s
    local pid all=() i
    for pid in "$@"; do
        kill -0 "$pid" 2>/dev/null || continue
        mapfile -t -O "${#all[@]}" all < <(descendants "$pid")
    done
    [ ${#all[@]} -gt 0 ] || return 0
    for pid in "${all[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for i in $(seq 50); do
        local alive=0
        for pid in "${all[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ $alive -eq 1 ] || break
        sleep 0.1
    done
    for pid in "${all[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ ${#PIDS[@]} -eq 0 ] || stop_pids "${PIDS[@]}"
    if [ "${BENCH_KEEP_TMP:-}" = 1 ] || [ $rc -ne 0 ]; then
        log "logs and configs kept in $tmp"
    else
        rm -rf "$tmp"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

spawn() { # name cmd... -> runs cmd in the background, stdout/stderr in $tmp/name.{out,err}; sets SPAWNED
    # (opened for appending, so a log can be truncated while the process writes to it)
    local name=$1; shift
    "$@" >>"$tmp/$name.out" 2>>"$tmp/$name.err" &
    SPAWNED=$!
    PIDS+=("$SPAWNED")
}

forget() { # pid... -> no longer tracked (after stop_pids)
    local p pid drop keep=()
    for p in "${PIDS[@]}"; do
        drop=0
        for pid in "$@"; do [ "$p" != "$pid" ] || drop=1; done
        [ $drop -eq 1 ] || keep+=("$p")
    done
    PIDS=("${keep[@]}")
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() { # port pid seconds -> 0 once the port accepts connections
    local port=$1 pid=$2 deadline=$((SECONDS + $3))
    while [ $SECONDS -lt "$deadline" ]; do
        kill -0 "$pid" 2>/dev/null || return 1
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

wait_for_line() { # file regex pid seconds -> prints the first matching line
    local file=$1 regex=$2 pid=$3 deadline=$((SECONDS + $4)) line
    while [ $SECONDS -lt "$deadline" ]; do
        line=$(grep -m1 -E "$regex" "$file" 2>/dev/null || true)
        if [ -n "$line" ]; then echo "$line"; return 0; fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

rss_mib() { # pid... -> resident memory (VmRSS) of the processes and their descendants, MiB
    local total=0 pid p kib
    for pid in "$@"; do
        for p in $(descendants "$pid"); do
            kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
            total=$((total + ${kib:-0}))
        done
    done
    awk -v k="$total" 'BEGIN { printf "%.0f", k / 1024 }'
}

cpu_ticks() { # pid... -> utime+stime of the processes and their descendants (clock ticks)
    local total=0 pid stat rest f
    for pid in "$@"; do
        for p in $(descendants "$pid"); do
            stat=$(cat "/proc/$p/stat" 2>/dev/null) || continue
            rest=${stat##*) }
            read -r -a f <<<"$rest"
            total=$((total + f[11] + f[12]))   # fields 14 and 15: utime, stime
        done
    done
    echo $total
}

busy_ticks() { # -> machine-wide CPU in user+nice+system, and steal, in clock ticks (irq and
    # softirq are left out: loopback TCP runs in softirq, not charged to the processes causing it)
    awk '/^cpu / { print $2 + $3 + $4, $9; exit }' /proc/stat
}

wait_quiet() { # waits up to BENCH_WAIT_QUIET seconds for 3 s in a row with < 5% of the CPUs busy
    local limit=${BENCH_WAIT_QUIET:-0} deadline a b
    [ "$limit" -gt 0 ] || return 0
    deadline=$((SECONDS + limit))
    while [ $SECONDS -lt "$deadline" ]; do
        a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6; exit }' /proc/stat)
        sleep 3
        b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6; exit }' /proc/stat)
        if awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); busy = y[1] - x[1]; all = busy + y[2] - x[2]; exit !(all > 0 && busy * 100 < 5 * all) }'; then
            return 0
        fi
    done
    log "the machine is still busy after ${limit}s; measuring anyway"
}

children_cpu_seconds() { # file written by `times` in the main shell (a subshell has no children) -> user+sys seconds
    sed -n 2p "$1" | awk '{ n = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); n += a[1] * 60 + a[2] } printf "%.3f", n }'
}

# --- Builds: ./esp builds the solution in Release when stale (the Bookstore too).
log "building (./esp --help)"
if ! ./esp --help >"$tmp/esp-help.txt" 2>&1; then
    cat "$tmp/esp-help.txt" >&2
    [ -x "$BOOKSTORE" ] || die "the build failed and there is no Bookstore binary"
    log "warning: the build failed; using the Bookstore binary already in artifacts/ (the proxy rows are skipped)"
    ESP_BUILD_FAILED=1
fi
[ -x "$BOOKSTORE" ] || die "$BOOKSTORE is missing after the build"
# `esp run` is checked and started from the binary ./esp just built, not through ./esp again:
# ./esp rebuilds whenever a source is newer than its last build, and a rebuild in the middle of
# the run (the sources being edited meanwhile) would skew the rows or break the proxy's.
ESP_RUN_MISSING=""
if [ -n "${ESP_BUILD_FAILED:-}" ]; then
    ESP_RUN_MISSING="the build failed"
elif ! "$ESP_BIN" run --help >"$tmp/esp-run-help.txt" 2>&1 || ! grep -q -- '--http2_port' "$tmp/esp-run-help.txt"; then
    ESP_RUN_MISSING="no run command"
fi

printf '\x00\x00\x00\x00\x00' >"$tmp/empty.bin" # ListShelves(google.protobuf.Empty): a 5-byte gRPC frame
protoc --include_imports --descriptor_set_out="$tmp/bookstore.pb" \
    -I samples/Bookstore samples/Bookstore/bookstore.proto

# --- The backend: one Bookstore server for every row. Quiet: logging off, as for every system
# under test; it counts its calls by grpc-status instead, which is what check 3 reads.
spawn backend "${SERVER_PIN[@]}" "$BOOKSTORE" server --listen 127.0.0.1 --port 0 --quiet
BACKEND_PID=$SPAWNED
line=$(wait_for_line "$tmp/backend.out" 'listening on port [0-9]+' "$BACKEND_PID" 30) \
    || { cat "$tmp/backend.err" >&2; die "the Bookstore server did not start"; }
BACKEND_PORT=${line##* }
log "backend: bookstore server on 127.0.0.1:$BACKEND_PORT (pid $BACKEND_PID)"

# --- Systems. Each start_<system> sets PORT[system] and ROOTS[system] (pids whose CPU is the
# proxy's), optionally EXTRA_HEADERS[system] (h2load/nghttp -H values, one per line),
# CLIENT_ARGS[system] (bookstore client flags) and SHAPE[system]="CONNECTIONS STREAMS" (instead of
# BENCH_CONNECTIONS and BENCH_STREAMS) and WARMUP_OF[system] (seconds, instead of BENCH_WARMUP);
# or SKIP[system]="why".
declare -A PORT=() ROOTS=() SKIP=() EXTRA_HEADERS=() CLIENT_ARGS=() LABEL=() SHAPE=() WARMUP_OF=()

LABEL[direct]="direct (backend)"
start_direct() {
    PORT[direct]=$BACKEND_PORT
    ROOTS[direct]=""
}

LABEL[nginx]="nginx grpc_pass"
start_nginx() {
    local dir="$tmp/nginx" port workers=1
    port=$(free_port)
    [ "$PIN" = split ] || workers=$SERVER_CPUS
    mkdir -p "$dir"
    # keepalive_requests: the default 1000 sends GOAWAY to h2load (and closes upstream
    # connections) every 1000 requests; http2_body_preread_size: the 64k default window is too
    # small for big messages (not for this 5-byte one, but the same config serves both).
    cat >"$dir/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    keepalive_requests 1000000;
    http2_body_preread_size 1m;
    upstream backend {
        server 127.0.0.1:$BACKEND_PORT;
        keepalive 512;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$port http2;
        location / { grpc_pass grpc://backend; }
    }
}
EOF
    spawn nginx "${SERVER_PIN[@]}" nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
    wait_for_port "$port" "$SPAWNED" 10 || { cat "$tmp/nginx.err" "$dir/error.log" >&2 || true; SKIP[nginx]="FAILED: nginx did not start"; return; }
    PORT[nginx]=$port
    ROOTS[nginx]=$SPAWNED
}

LABEL[haproxy]="HAProxy h2"
start_haproxy() {
    local dir="$tmp/haproxy" port threads=1
    port=$(free_port)
    [ "$PIN" = split ] || threads=$SERVER_CPUS
    mkdir -p "$dir"
    # proto h2 on the bind line: h2c from h2load; on the server line: h2c to the backend, with
    # many streams per connection (http-reuse always shares idle connections between clients).
    cat >"$dir/haproxy.cfg" <<EOF
global
    nbthread $threads
    maxconn 4096
    tune.h2.initial-window-size 1048576

defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s

frontend fe
    bind 127.0.0.1:$port proto h2
    default_backend be

backend be
    http-reuse always
    server s1 127.0.0.1:$BACKEND_PORT proto h2
EOF
    spawn haproxy "${SERVER_PIN[@]}" haproxy -db -f "$dir/haproxy.cfg"
    wait_for_port "$port" "$SPAWNED" 10 || { cat "$tmp/haproxy.err" >&2; SKIP[haproxy]="FAILED: haproxy did not start"; return; }
    PORT[haproxy]=$port
    ROOTS[haproxy]=$SPAWNED
}


start_esp() { # system [esp run flags...] -> starts `esp run` in front of the backend
    local system=$1 line; shift
    if [ -n "$ESP_RUN_MISSING" ]; then
        SKIP[$system]="skipped (esp run not available)"
        [ "$ESP_RUN_MISSING" = "no run command" ] || SKIP[$system]="skipped (esp run not available: $ESP_RUN_MISSING)"
        return
    fi
    # Logging off, as for nginx (access_log off) and HAProxy (no log lines): the default
    # access log writes one line per call.
    local quiet=()
    ! grep -q -- '--access_log' "$tmp/esp-run-help.txt" || quiet=(--access_log=off)
    spawn "$system" "${SERVER_PIN[@]}" "$ESP_BIN" run "${quiet[@]}" \
        --service_config=bench/config/bookstore.yaml \
        --descriptor="$tmp/bookstore.pb" \
        --backend="grpc://127.0.0.1:$BACKEND_PORT" \
        --listener_address=127.0.0.1 \
        --http2_port=0 "$@"
    line=$(wait_for_line "$tmp/$system.out" 'listening: .*http2=[0-9]+' "$SPAWNED" 60) || {
        cat "$tmp/$system.out" "$tmp/$system.err" >&2
        SKIP[$system]="FAILED: esp run did not print 'listening: http2=PORT'"
        return
    }
    [[ $line =~ http2=([0-9]+) ]]
    PORT[$system]=${BASH_REMATCH[1]}
    ROOTS[$system]=$SPAWNED
    WARMUP_OF[$system]=$DOTNET_WARMUP
}

LABEL[proxy]="proxy (no auth)"
start_proxy() { start_esp proxy; }

# The proxy with JWT authentication: a service account key made by `esp keys create`, its
# certificate map as `esp keys serve` publishes it (saved to a file:// jwks_uri, so no key server
# competes for the CPU), a config requiring that account's tokens on every method, and one token
# from `esp token` on every call. The cached row measures a cache hit per call; the uncached row
# verifies the RS256 signature on every call.
prepare_jwt() {
    [ -z "${JWT_TOKEN:-}" ] || return 0
    local email=bench-client@bench-project.iam.gserviceaccount.com dir="$tmp/jwt" line port pid
    mkdir -p "$dir/keys"
    "$ESP_BIN" keys create --email "$email" --out "$dir/keys/client.json" >/dev/null
    "$ESP_BIN" keys serve --dir "$dir/keys" --port 0 >"$dir/serve.out" 2>&1 &
    pid=$!
    PIDS+=("$pid")   # killed on exit too, should anything below fail
    line=$(wait_for_line "$dir/serve.out" 'listening on [0-9]+' "$pid" 30) || die "esp keys serve did not start"
    port=${line##* }
    curl -sf "http://127.0.0.1:$port/robot/v1/metadata/x509/$email" >"$dir/keys.json"
    stop_pids "$pid"; forget "$pid"
    cat >"$dir/auth.yaml" <<YAML
authentication:
  providers:
  - id: bench_service_account
    issuer: $email
    jwks_uri: file://$dir/keys.json
  rules:
  - selector: "*"
    requirements:
    - provider_id: bench_service_account
YAML
    JWT_TOKEN=$("$ESP_BIN" token --file "$dir/keys/client.json" --issuer "$email" \
        --audiences bookstore.endpoints.bench.cloud.goog --lifetime 86400)
}

start_jwt_proxy() { # system [esp run flags...]
    local system=$1; shift
    prepare_jwt
    start_esp "$system" --service_config="$tmp/jwt/auth.yaml" "$@"
    EXTRA_HEADERS[$system]="authorization: Bearer $JWT_TOKEN"
    CLIENT_ARGS[$system]="--auth_token $JWT_TOKEN"
}

LABEL[proxy_jwt]="proxy, JWT (cached)"
start_proxy_jwt() { start_jwt_proxy proxy_jwt; }

LABEL[proxy_jwt_nocache]="proxy, JWT, --jwt_cache_size=0"
start_proxy_jwt_nocache() { start_jwt_proxy proxy_jwt_nocache --jwt_cache_size=0; }

# Rows that isolate what the JWT rows' headers cost (proxy_token is in the default set, for the JWT goal):
#   direct_headers   the backend directly, every call carrying the JWT rows' `authorization` and
#                    the `x-endpoint-api-userinfo` the proxy would add. h2load (nghttp2) indexes
#                    the user info in HPACK after the first call, but sends `authorization` as a
#                    never-indexed Huffman-coded literal on every call (RFC 7541 §7.1.3), so the
#                    backend decodes the token each time here, which it does not behind the proxy
#                    (the proxy's HTTP/2 client sends it as a plain never-indexed literal)
#   proxy_token      the proxy without auth, every call carrying the same `authorization`: the
#                    cost of only carrying the token through to the backend
user_info_of() { # token -> the X-Endpoint-API-UserInfo value (esp format) the proxy makes from it
    python3 - "$1" <<'PY'
import base64, json, sys
payload = sys.argv[1].split('.')[1]
raw = base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4))
claims = json.loads(raw)
aud = claims.get('aud', [])
aud = [aud] if isinstance(aud, str) else list(dict.fromkeys(aud))
head = {k: v for k, v in (('id', claims.get('sub')), ('issuer', claims.get('iss')), ('email', claims.get('email'))) if v is not None}
text = json.dumps(head, separators=(',', ':'))[:-1] + ',"audiences":' + json.dumps(aud, separators=(',', ':')) + ',"claims":' + raw.decode() + '}'
print(base64.urlsafe_b64encode(text.encode()).decode())
PY
}

LABEL[direct_headers]="direct, JWT rows' headers"
start_direct_headers() {
    prepare_jwt
    PORT[direct_headers]=$BACKEND_PORT
    ROOTS[direct_headers]=""
    EXTRA_HEADERS[direct_headers]="authorization: Bearer $JWT_TOKEN
x-endpoint-api-userinfo: $(user_info_of "$JWT_TOKEN")"
}

LABEL[proxy_token]="proxy (no auth), token carried"
start_proxy_token() {
    prepare_jwt
    start_esp proxy_token
    EXTRA_HEADERS[proxy_token]="authorization: Bearer $JWT_TOKEN"
}

# Rows whose name starts with "proxy" get the "x nginx" and "x HAProxy" ratios.

stop_system() {
    local roots=${ROOTS[$1]:-}
    [ -n "$roots" ] || return 0
    # shellcheck disable=SC2086
    stop_pids $roots
    # shellcheck disable=SC2086
    forget $roots
}

# --- Checks and measurement.
header_args() { # system -> -H arguments for h2load/nghttp, one per line
    printf '%s\n' -H 'content-type: application/grpc' -H 'te: trailers'
    local h
    while IFS= read -r h; do
        [ -z "$h" ] || printf '%s\n' -H "$h"
    done <<<"${EXTRA_HEADERS[$1]:-}"
}

declare -A RESP_BYTES=()
verify() { # system -> 0 when one call ends with grpc-status 0 and the client gets the shelves
    local system=$1 port=${PORT[$1]} out data args
    mapfile -t args < <(header_args "$system")
    out="$tmp/$system.verify.txt"
    if ! timeout 10 nghttp -v -n -d "$tmp/empty.bin" "${args[@]}" "http://127.0.0.1:$port$METHOD_PATH" >"$out" 2>&1; then
        VERIFY_ERROR="nghttp failed (see $out)"; return 1
    fi
    grep -qE 'recv \(stream_id=[0-9]+\) :status: 200' "$out" || { VERIFY_ERROR="no :status 200 (see $out)"; return 1; }
    # The trailer must say grpc-status 0, after the message (DATA), not in a Trailers-Only reply.
    if ! awk '/recv DATA frame/ { data = 1 } /recv \(stream_id=[0-9]+\) grpc-status: / { if (data && $NF == "0") ok = 1; else bad = 1 }
              END { exit !(ok && !bad) }' "$out"; then
        VERIFY_ERROR="no 'grpc-status: 0' trailer after the message: $(grep -oE 'grpc-(status|message): .*' "$out" | tr '\n' ' ') (see $out)"
        return 1
    fi
    data=$(grep -oE 'recv DATA frame <length=[0-9]+' "$out" | awk -F= '{ n += $2 } END { print n + 0 }')
    [ "$data" -gt 0 ] || { VERIFY_ERROR="the response carried no message"; return 1; }
    RESP_BYTES[$system]=$data
    # shellcheck disable=SC2086
    if ! timeout 15 "$BOOKSTORE" client --host 127.0.0.1 --port "$port" ${CLIENT_ARGS[$system]:-} >"$tmp/$system.client.txt" 2>&1 \
        || ! grep -q 'ListShelves: {' "$tmp/$system.client.txt"; then
        VERIFY_ERROR="the Bookstore client failed: $(tail -1 "$tmp/$system.client.txt")"
        return 1
    fi
}

h2load_run() { # output-file h2load-args... -> runs h2load (pinned), waitable so traps still fire
    local outfile=$1; shift
    "${CLIENT_PIN[@]}" h2load "$@" >"$outfile" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    local rc=0
    wait "$pid" || rc=$?
    forget "$pid"
    return $rc
}

warm_up() { # name seconds url h2load-args... -> h2load in 10 s slices, discarded; WARM_RATES = req/s of each
    # (not run inside $(...): h2load must stay a child of this shell, so the traps can kill it)
    local name=$1 left=$2 url=$3 slice rates=""; shift 3
    while [ "$left" -gt 0 ]; do
        slice=$((left < 10 ? left : 10))
        h2load_run "$tmp/$name.warmup.txt" "$@" -D "$slice" "$url" || true
        rates+="$(awk '/^finished in/ { printf "%.0f ", $4 }' "$tmp/$name.warmup.txt")"
        left=$((left - slice))
    done
    WARM_RATES=${rates% }
}

to_ms() { # "14.14ms" | "928us" | "1.2s" -> milliseconds
    awk -v v="$1" 'BEGIN { if (v ~ /us$/) printf "%.3f", v / 1000; else if (v ~ /ms$/) printf "%.3f", v + 0; else if (v ~ /s$/) printf "%.3f", v * 1000; else print "" }'
}

backend_stats() { # -> the backend's calls by grpc-status, {"calls": N, "status": {"0": N, ...}},
    # once two reads 0.2 s apart agree (the calls h2load left in flight have ended)
    local now last="" i
    for i in $(seq 100); do
        now=$(curl -sf --http2-prior-knowledge --max-time 5 "http://127.0.0.1:$BACKEND_PORT/stats") || return 1
        [ "$now" != "$last" ] || break
        last=$now
        sleep 0.2
    done
    echo "$now"
}

# One measurement of one system in one round: sets M[key] values (key = "system/round").
declare -A M=()
measure() { # system round -> 0 when every check passed; PROBLEMS says why not
    local system=$1 r=$2 k="$1/$2" url args run=() out tsv succeeded failed errored timeout non2xx data bytes_per="–"
    url="http://127.0.0.1:${PORT[$system]}$METHOD_PATH"
    mapfile -t args < <(header_args "$system")
    local conns=$CONNS streams=$STREAMS
    [ -z "${SHAPE[$system]:-}" ] || read -r conns streams <<<"${SHAPE[$system]}"
    args+=(-d "$tmp/empty.bin" -c "$conns" -m "$streams" -t 1)

    wait_quiet
    log "$system: round $r: warm-up ${WARMUP}s"
    warm_up "$system" "$WARMUP" "$url" "${args[@]}"

    if [ -n "$REQUESTS" ]; then run=(-n "$REQUESTS"); else run=(-D "$DURATION"); fi
    out="$tmp/$system.r$r.h2load.txt"; tsv="$tmp/$system.r$r.tsv"
    local backend_ticks0 proxy_ticks0 backend_ticks1 proxy_ticks1 busy0 busy1 steal0 steal1 wall0 wall1 stats0 stats1
    stats0=$(backend_stats) || { PROBLEMS="could not read the backend's /stats"; return 1; }
    # shellcheck disable=SC2086
    proxy_ticks0=$(cpu_ticks ${ROOTS[$system]})
    backend_ticks0=$(cpu_ticks "$BACKEND_PID")
    times >"$tmp/times0.txt"
    read -r busy0 steal0 < <(busy_ticks); wall0=$EPOCHREALTIME
    log "$system: round $r: measuring ${REQUESTS:+$REQUESTS requests}${REQUESTS:-${DURATION}s}"
    # Halfway through, count this system's connections to the backend (h2load's for direct), and
    # take the resident memory of the proxy's processes and of the backend under load.
    local sample_after=2 sampler owner='"h2load"'
    [ -n "$REQUESTS" ] || sample_after=$((DURATION / 2))
    if [ -n "${ROOTS[$system]}" ]; then
        # shellcheck disable=SC2086
        owner="pid=($(for root_pid in ${ROOTS[$system]}; do descendants "$root_pid"; done | paste -sd'|')),"
    fi
    rm -f "$tmp/$system.rss"
    (
        sleep "$sample_after"
        ss -Htnp state established "( dport = :$BACKEND_PORT )" | grep -cE "$owner" >"$tmp/$system.conns"
        # shellcheck disable=SC2086
        echo "$([ -z "${ROOTS[$system]}" ] || rss_mib ${ROOTS[$system]}) $(rss_mib "$BACKEND_PID")" >"$tmp/$system.rss"
    ) &
    sampler=$!
    PIDS+=("$sampler")
    h2load_run "$out" "${args[@]}" "${run[@]}" --log-file="$tsv" "$url" || true
    stop_pids "$sampler"; forget "$sampler"
    read -r busy1 steal1 < <(busy_ticks); wall1=$EPOCHREALTIME
    times >"$tmp/times1.txt"
    backend_ticks1=$(cpu_ticks "$BACKEND_PID")
    # shellcheck disable=SC2086
    proxy_ticks1=$(cpu_ticks ${ROOTS[$system]})

    if ! grep -q '^finished in' "$out"; then
        PROBLEMS="h2load did not finish: $(tail -3 "$out" | tr '\n' ' ')"; return 1
    fi
    M[$k.rps]=$(awk '/^finished in/ { print $4 }' "$out")
    read -r succeeded failed errored timeout < <(awk '/^requests:/ { print $8, $10, $12, $14 }' "$out")
    non2xx=$(awk '/^status codes:/ { print $5 + $7 + $9 }' "$out")   # 3xx, 4xx, 5xx
    data=$(grep -oE '\(([0-9]+)\) data' "$out" | tr -dc '0-9')
    M[$k.mean]=$(to_ms "$(awk '/^time for request:/ { print $6 }' "$out")")
    read -r "M[$k.p50]" "M[$k.p99]" < <(python3 - "$tsv" <<'PY'
import sys
lat = sorted(int(r.split('\t')[2]) for r in open(sys.argv[1]) if r.count('\t') == 2 and r.split('\t')[1] == '200')
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] / 1000
print(f"{q(.50):.3f} {q(.99):.3f}" if lat else "- -")
PY
)
    local client_s wall
    client_s=$(awk -v a="$(children_cpu_seconds "$tmp/times0.txt")" -v b="$(children_cpu_seconds "$tmp/times1.txt")" 'BEGIN { print b - a }')
    wall=$(awk -v a="$wall0" -v b="$wall1" 'BEGIN { print b - a }')
    if [ "$succeeded" -gt 0 ]; then
        M[$k.cpu_client]=$(awk -v c="$client_s" -v n="$succeeded" 'BEGIN { printf "%.1f", c * 1e6 / n }')
        M[$k.cpu_backend]=$(awk -v a="$backend_ticks0" -v b="$backend_ticks1" -v t="$CLK_TCK" -v n="$succeeded" 'BEGIN { printf "%.1f", (b - a) / t * 1e6 / n }')
        if [ -n "${ROOTS[$system]}" ]; then
            M[$k.cpu_proxy]=$(awk -v a="$proxy_ticks0" -v b="$proxy_ticks1" -v t="$CLK_TCK" -v n="$succeeded" 'BEGIN { printf "%.1f", (b - a) / t * 1e6 / n }')
        fi
    fi
    # Noise: CPU that processes outside the benchmark used meanwhile (builds, other jobs), and
    # CPU the hypervisor gave to other guests (steal), as % of the machine over the window.
    M[$k.other]=$(awk -v b0="$busy0" -v b1="$busy1" -v t="$CLK_TCK" -v w="$wall" -v cpus="$(nproc)" -v c="$client_s" \
        -v p="$((proxy_ticks1 - proxy_ticks0))" -v k="$((backend_ticks1 - backend_ticks0))" \
        'BEGIN { o = (b1 - b0 - p - k) / t - c; if (o < 0) o = 0; printf "%.0f", 100 * o / (cpus * w) }')
    M[$k.steal]=$(awk -v a="$steal0" -v b="$steal1" -v t="$CLK_TCK" -v w="$wall" -v cpus="$(nproc)" 'BEGIN { printf "%.0f", 100 * (b - a) / t / (cpus * w) }')

    # gRPC-level checks (h2load itself only looks at :status).
    local problems=()
    [ "$failed" -eq 0 ] && [ "$errored" -eq 0 ] && [ "$timeout" -eq 0 ] \
        || problems+=("h2load: $failed failed, $errored errored, $timeout timeout")
    [ "$non2xx" -eq 0 ] || problems+=("$non2xx responses with a non-2xx :status")
    [ "$succeeded" -gt 0 ] || problems+=("no request succeeded")
    if [ "$succeeded" -gt 0 ]; then
        bytes_per=$(awk -v d="$data" -v n="$succeeded" 'BEGIN { printf "%.2f", d / n }')
        awk -v b="$bytes_per" -v e="${RESP_BYTES[$system]}" 'BEGIN { exit !(b >= e * 0.99 && b <= e * 1.01) }' \
            || problems+=("responses averaged $bytes_per bytes of DATA, expected ${RESP_BYTES[$system]}: some calls did not return the message (gRPC errors?)")
    fi
    local backend_calls="?" backend_status="?" in_flight=$((conns * streams))
    if stats1=$(backend_stats); then
        # The window's calls and grpc-status counts: after minus before.
        read -r backend_calls backend_status < <(python3 - "$stats0" "$stats1" <<'PY'
import json, sys
before, after = (json.loads(s) for s in sys.argv[1:])
status = {c: n - before["status"].get(c, 0) for c, n in after["status"].items() if n != before["status"].get(c, 0)}
print(after["calls"] - before["calls"], json.dumps(status, separators=(",", ":")))
PY
)
        if [ "$backend_calls" -lt "$succeeded" ] || [ "$backend_calls" -gt $((succeeded + in_flight)) ]; then
            problems+=("the backend answered $backend_calls calls, h2load counted $succeeded succeeded")
        fi
        [[ $backend_status =~ ^\{(\"0\":[0-9]+)?\}$ ]] \
            || problems+=("the backend answered calls with a non-zero grpc-status (calls by status: $backend_status)")
    else
        problems+=("could not read the backend's /stats")
    fi
    local backend_conns="?"
    [ ! -s "$tmp/$system.conns" ] || backend_conns=$(tr -d ' \n' <"$tmp/$system.conns")
    local rss_line=""
    [ ! -s "$tmp/$system.rss" ] || rss_line=$(cat "$tmp/$system.rss")
    if [ -n "${ROOTS[$system]}" ]; then
        read -r "M[$k.rss_proxy]" "M[$k.rss_backend]" <<<"$rss_line"
    else
        read -r "M[$k.rss_backend]" <<<"$rss_line"
    fi
    M[$k.detail]="round $r: h2load -c $conns -m $streams; warm-up req/s per 10 s: $WARM_RATES; ${M[$k.rps]} req/s; other processes used ${M[$k.other]}% and steal ${M[$k.steal]}% of the machine; $backend_conns connections to the backend; succeeded $succeeded, failed $failed, errored $errored, timeout $timeout; non-2xx $non2xx; DATA $bytes_per B/response (expected ${RESP_BYTES[$system]}); backend answered $backend_calls (by grpc-status: $backend_status); CPU µs/call client / proxy / backend ${M[$k.cpu_client]:-–} / ${M[$k.cpu_proxy]:-–} / ${M[$k.cpu_backend]:-–}; RSS MiB under load proxy / backend ${M[$k.rss_proxy]:-–} / ${M[$k.rss_backend]:-–}"
    log "$system: ${M[$k.detail]}"
    if [ ${#problems[@]} -gt 0 ]; then
        local IFS='; '
        PROBLEMS="${problems[*]}"
        return 1
    fi
}

declare -A STATUS=() DETAIL=()
fail_row() {
    STATUS[$1]="FAILED: $2"
    FAILED_ROWS=$((FAILED_ROWS + 1))
    printf '\nload: ***** %s FAILED: %s *****\n\n' "$1" "$2" >&2
}

# --- The run.
started=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)
run_start=$SECONDS

# The backend first: warm it up once (in 10 s slices, to show the climb), discarded.
BACKEND_WARMUP_RPS=""
if [ "$BACKEND_WARMUP" -gt 0 ]; then
    log "backend: warm-up ${BACKEND_WARMUP}s (.NET tiered compilation and PGO)"
    mapfile -t warm_args < <(header_args direct)
    warm_args+=(-d "$tmp/empty.bin" -c "$CONNS" -m "$STREAMS" -t 1)
    warm_up backend "$BACKEND_WARMUP" "http://127.0.0.1:$BACKEND_PORT$METHOD_PATH" "${warm_args[@]}"
    BACKEND_WARMUP_RPS=$WARM_RATES
    log "backend: warm-up req/s per 10 s: $BACKEND_WARMUP_RPS"
fi

# Start every system; all stay up until the end, so rounds can interleave them. A fresh .NET
# proxy gets its long warm-up here, once.
ACTIVE=()
for system in "${SYSTEMS[@]}"; do
    declare -F "start_$system" >/dev/null || die "unknown system '$system' (no start_$system function)"
    "start_$system"
    if [ -n "${SKIP[$system]:-}" ]; then
        case "${SKIP[$system]}" in
            FAILED*) fail_row "$system" "${SKIP[$system]#FAILED: }" ;;
            *) STATUS[$system]=${SKIP[$system]}; echo "$system: ${SKIP[$system]}" ;;
        esac
        stop_system "$system"
        continue
    fi
    log "$system: listening on 127.0.0.1:${PORT[$system]}"
    if ! verify "$system"; then
        fail_row "$system" "verification: $VERIFY_ERROR"
        stop_system "$system"
        continue
    fi
    if [ -n "${WARMUP_OF[$system]:-}" ]; then
        log "$system: first warm-up ${WARMUP_OF[$system]}s (a fresh .NET process)"
        mapfile -t warm_args < <(header_args "$system")
        conns=$CONNS; streams=$STREAMS
        [ -z "${SHAPE[$system]:-}" ] || read -r conns streams <<<"${SHAPE[$system]}"
        warm_args+=(-d "$tmp/empty.bin" -c "$conns" -m "$streams" -t 1)
        warm_up "$system" "${WARMUP_OF[$system]}" "http://127.0.0.1:${PORT[$system]}$METHOD_PATH" "${warm_args[@]}"
        DETAIL[$system]="first warm-up req/s per 10 s: $WARM_RATES"
        log "$system: ${DETAIL[$system]}"
    fi
    ACTIVE+=("$system")
done

# Rounds: every active system once per round (the order rotates), each measurement preceded by
# the gRPC check and a short warm-up.
for ((r = 1; r <= ROUNDS; r++)); do
    n=${#ACTIVE[@]}
    for ((i = 0; i < n; i++)); do
        system=${ACTIVE[$(((i + r - 1) % n))]}
        [[ ${STATUS[$system]:-} != FAILED* ]] || continue
        if ! verify "$system"; then
            fail_row "$system" "verification (round $r): $VERIFY_ERROR"; continue
        fi
        log "$system: round $r: verified: grpc-status 0, ${RESP_BYTES[$system]} bytes of message, Bookstore client OK"
        measure "$system" "$r" || fail_row "$system" "round $r: $PROBLEMS"
    done
done

# The round with the median req/s stands for each system (its latency and CPU too).
declare -A RPS=() MEAN=() P50=() P99=() CPU_CLIENT=() CPU_PROXY=() CPU_BACKEND=() RSS_PROXY=() RSS_BACKEND=() OTHER=() STEAL=() RANGE=()
for system in "${ACTIVE[@]}"; do
    [[ ${STATUS[$system]:-} != FAILED* ]] || continue
    mapfile -t order < <(for ((r = 1; r <= ROUNDS; r++)); do echo "${M[$system/$r.rps]} $r"; done | sort -n)
    median=${order[$(((ROUNDS - 1) / 2))]##* }
    k="$system/$median"
    RPS[$system]=${M[$k.rps]}; MEAN[$system]=${M[$k.mean]}; P50[$system]=${M[$k.p50]}; P99[$system]=${M[$k.p99]}
    CPU_CLIENT[$system]=${M[$k.cpu_client]:-}; CPU_PROXY[$system]=${M[$k.cpu_proxy]:-}; CPU_BACKEND[$system]=${M[$k.cpu_backend]:-}
    RSS_PROXY[$system]=${M[$k.rss_proxy]:-}; RSS_BACKEND[$system]=${M[$k.rss_backend]:-}
    OTHER[$system]=${M[$k.other]}; STEAL[$system]=${M[$k.steal]}
    if [ "$ROUNDS" -gt 1 ]; then
        RANGE[$system]=$(printf '%.0f–%.0f' "${order[0]% *}" "${order[$((ROUNDS - 1))]% *}")
    fi
    STATUS[$system]=ok
done
run_seconds=$((SECONDS - run_start))

# --- Report.
ratio() { # numerator denominator -> "0.42" or "–"
    if [ -n "${1:-}" ] && [ -n "${2:-}" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else printf '–'; fi
}
ok_rps() { [ "${STATUS[$1]:-}" = ok ] && printf '%s' "${RPS[$1]}"; }

# The JWT row against the rows its goals name, round by round: neighbouring measurements share the
# machine's phase (it drifts by ±15% over minutes), so each round's ratio cancels most of that drift.
goals="$tmp/goals.md"
: >"$goals"
round_ratios() { # numerator denominator -> "0.61 0.55 ... (median 0.58)", or nothing
    local a=$1 b=$2 r values=()
    [ "${STATUS[$a]:-}" = ok ] && [ "${STATUS[$b]:-}" = ok ] || return 0
    for ((r = 1; r <= ROUNDS; r++)); do
        values+=("$(ratio "${M[$a/$r.rps]}" "${M[$b/$r.rps]}")")
    done
    printf '%s (median %s)' "${values[*]}" "$(printf '%s\n' "${values[@]}" | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
}
for pair in "direct:≥ 0.5× direct" "haproxy:ahead of HAProxy (> 1)" "proxy:within 3% of no auth (≥ 0.97); these calls carry no token" \
    "proxy_token:within 3% of the same calls, token carried, without auth (≥ 0.97)"; do
    line=$(round_ratios proxy_jwt "${pair%%:*}")
    [ -z "$line" ] || printf -- '- JWT (cached) ÷ %s, per round: %s. Goal: %s.\n' "${LABEL[${pair%%:*}]:-${pair%%:*}}" "$line" "${pair#*:}" >>"$goals"
done

table="$tmp/table.md"
{
    if [ "$ROUNDS" -gt 1 ]; then
        echo "| system | req/s (median of $ROUNDS; min–max) | mean ms | p50 ms | p99 ms | × direct | × nginx | × HAProxy | CPU µs/req client / proxy / backend | RSS MiB proxy / backend | check |"
    else
        echo "| system | req/s | mean ms | p50 ms | p99 ms | × direct | × nginx | × HAProxy | CPU µs/req client / proxy / backend | RSS MiB proxy / backend | check |"
    fi
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|"
    for system in "${SYSTEMS[@]}"; do
        label=${LABEL[$system]:-$system}
        if [ "${STATUS[$system]:-}" != ok ]; then
            echo "| $label | – | – | – | – | – | – | – | – | – | ${STATUS[$system]:-not run} |"
            continue
        fi
        vs_nginx="–"; vs_haproxy="–"
        if [[ $system == proxy* ]]; then
            vs_nginx=$(ratio "${RPS[$system]}" "$(ok_rps nginx || true)")
            vs_haproxy=$(ratio "${RPS[$system]}" "$(ok_rps haproxy || true)")
        fi
        noise=""
        [ "${OTHER[$system]:-0}" -lt 5 ] || noise+=" ⚠ other load ${OTHER[$system]}%"
        [ "${STEAL[$system]:-0}" -lt 5 ] || noise+=" ⚠ steal ${STEAL[$system]}%"
        rps=$(printf '%.0f' "${RPS[$system]}")
        [ -z "${RANGE[$system]:-}" ] || rps+=" (${RANGE[$system]})"
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s / %s / %s | %s / %s | grpc-status 0 ✓%s |\n' \
            "$label" "$rps" "${MEAN[$system]}" "${P50[$system]}" "${P99[$system]}" \
            "$(ratio "${RPS[$system]}" "$(ok_rps direct || true)")" "$vs_nginx" "$vs_haproxy" \
            "${CPU_CLIENT[$system]:-–}" "${CPU_PROXY[$system]:-–}" "${CPU_BACKEND[$system]:-–}" \
            "${RSS_PROXY[$system]:-–}" "${RSS_BACKEND[$system]:-–}" "$noise"
    done
} >"$table"

mkdir -p "$RESULTS_DIR"
report="$RESULTS_DIR/$(date -u +%Y-%m-%d-%H%M%S).md"
if [ "$PIN" = split ]; then
    layout="split: h2load on CPU 0; the backend and the proxy under test together on CPU 1 (nginx worker_processes 1, HAProxy nbthread 1, .NET sees 1 CPU)"
else
    layout="none: no pinning; nginx worker_processes $SERVER_CPUS, HAProxy nbthread $SERVER_CPUS"
fi
if [ -n "$REQUESTS" ]; then amount="$REQUESTS requests"; else amount="${DURATION} s"; fi
{
    echo "# Load benchmark, $started"
    echo
    echo "Unary \`ListShelves\` (5-byte request, ${RESP_BYTES[direct]:-31}-byte response message) with h2load:"
    echo "$CONNS connections × $STREAMS concurrent streams, one h2load thread. The backend was warmed up for ${BACKEND_WARMUP} s"
    echo "first (req/s per 10 s: ${BACKEND_WARMUP_RPS:-none}), each \`esp run\` for ${DOTNET_WARMUP} s after it started; then, in"
    echo "each of $ROUNDS round(s), every system had a ${WARMUP} s warm-up (discarded) and $amount measured. The whole run took ${run_seconds} s."
    echo "Pinning: $layout."
    echo
    cat "$table"
    echo
    echo "Ratios are req/s over req/s in this run. CPU is per succeeded request over the measured window:"
    echo "h2load (client), the proxy's processes, and the Bookstore backend (one process for every row)."
    echo "RSS is the resident memory (VmRSS) of the proxy's processes and of the backend, halfway through"
    echo "the measurement, under load."
    echo "\"grpc-status 0 ✓\": an nghttp call ended with the trailer \`grpc-status: 0\` and the Bookstore client"
    echo "got the shelves before the run; during it every response carried the message, and the backend"
    echo "(which counts its calls by grpc-status; it logs none) answered as many calls as h2load counted, all"
    echo "with grpc-status 0. \"⚠ other load N%\" / \"⚠ steal N%\": processes outside the benchmark / other"
    echo "guests of the hypervisor took N% of the machine's CPU during that measurement, so its numbers are"
    echo "skewed."
    echo
    if [ -s "$goals" ]; then
        echo "## JWT goals, round by round"
        echo
        cat "$goals"
        echo
    fi
    echo "## Details"
    echo
    for system in "${SYSTEMS[@]}"; do
        lines=()
        [ -z "${DETAIL[$system]:-}" ] || lines+=("${DETAIL[$system]}")
        for ((r = 1; r <= ROUNDS; r++)); do
            [ -z "${M[$system/$r.detail]:-}" ] || lines+=("${M[$system/$r.detail]}")
        done
        [ ${#lines[@]} -gt 0 ] || continue
        echo "- ${LABEL[$system]:-$system}:"
        printf '  - %s\n' "${lines[@]}"
    done
    echo
    echo "## Machine"
    echo
    echo "- $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), kernel $(uname -r)"
    echo "- $(h2load --version 2>&1 | head -1), $(nginx -v 2>&1 | head -1), $(haproxy -v 2>&1 | head -1 | cut -d' ' -f1-3), .NET $(dotnet --version 2>/dev/null || echo '?')"
    echo "- load average before the run: $loadavg_start (other work on the machine skews every row)"
    echo "- commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- src samples 2>/dev/null || echo ' (with uncommitted changes in src/ or samples/)')"
} >"$report"

echo
cat "$table"
echo
log "report: ${report#"$root"/}"
[ "$FAILED_ROWS" -eq 0 ] || { log "$FAILED_ROWS row(s) FAILED"; exit 1; }
