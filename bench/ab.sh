#!/usr/bin/env bash
# A/B of two `esp` binaries (or two configurations), with load.sh's pinning and h2load shape.
#
#   bench/ab.sh A_ESP B_ESP      e.g. bench/ab.sh /tmp/old/bin/Esp/release/esp artifacts/bin/Esp/release/esp
#
# Build the other binary from a worktree into its own artifacts path, e.g.
#   git worktree add /tmp/old a08ba40 && (cd /tmp/old && dotnet build -c Release src/Esp -p:ArtifactsPath=/tmp/oldart)
#
# One Bookstore backend and both binaries in front of it, all on CPU 1, h2load on CPU 0
# (-c 16 -m 16 -t 1). Each binary gets AB_WARMUP s of load (.NET needs ~45-60 s); then AB_ROUNDS
# times: A, then B, each 3 s warm-up + AB_DURATION s measured, the other one idle. Prints per
# round req/s, the proxy's and backend's CPU µs per call, the proxy's context switches per
# call and its resident memory at the end of the round, then the medians and the median of the rounds' B ÷ A. This machine's speed drifts by
# ±15% over minutes: short alternating rounds put both binaries in every slow phase, and the
# ratio of neighbouring rounds cancels most of it. Not a substitute for load.sh (no correctness
# checks beyond h2load's counts): a tool for deciding between two builds.
#
#   AB_ROUNDS=8  AB_WARMUP=45  AB_DURATION=10
#   AB_HEADER="authorization: Bearer ..."   one more request header on every call (e.g. a token carried)
#   AB_CONFIG=path/to/service.yaml          the proxies' service config (default bench/config/bookstore.yaml),
#                                           e.g. one with an authentication provider for the token above
#   AB_CONFIG_A=... AB_CONFIG_B=...         a config per side instead (each defaults to AB_CONFIG): with the
#                                           same binary twice, what a configuration costs, e.g. JWT checking
#                                           on calls that carry the token either way:
#     AB_CONFIG_B=auth.yaml AB_HEADER="authorization: Bearer $TOKEN" bench/ab.sh artifacts/bin/Esp/release/esp artifacts/bin/Esp/release/esp
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -eq 2 ] || { sed -n '2,4p' "$0" >&2; exit 2; }
declare -A BIN=([A]="$1" [B]="$2")
ROUNDS=${AB_ROUNDS:-8}; WARMUP=${AB_WARMUP:-45}; DURATION=${AB_DURATION:-10}
BOOKSTORE=artifacts/bin/Bookstore/release/bookstore
[ -x "$BOOKSTORE" ] || ./esp --help >/dev/null
command -v h2load >/dev/null || { echo "ab: needs h2load (apt-get install nghttp2-client; bench/load.sh installs it)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/esp-ab.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
protoc --include_imports --descriptor_set_out="$tmp/bookstore.pb" -I samples/Bookstore samples/Bookstore/bookstore.proto
printf '\x00\x00\x00\x00\x00' >"$tmp/empty.bin"

port_of() { # file pattern -> waits for the pattern in the file, prints its number
    local i
    for i in $(seq 300); do
        grep -qE "$2" "$1" 2>/dev/null && { grep -oE "$2" "$1" | head -1 | grep -oE '[0-9]+$'; return; }
        sleep 0.1
    done
    echo "ab: no '$2' in $1:" >&2; cat "$1" >&2; exit 1
}
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ { s += $2 } END { print s }'; }
extra=(); [ -z "${AB_HEADER:-}" ] || extra=(-H "$AB_HEADER")
load() { taskset -c 0 h2load -c 16 -m 16 -t 1 -H content-type:application/grpc -H te:trailers "${extra[@]}" -d "$tmp/empty.bin" "$@"; }

taskset -c 1 "$BOOKSTORE" server --listen 127.0.0.1 --port 0 --quiet >"$tmp/backend.out" 2>&1 &
BACKEND=$!; pids+=("$BACKEND")
bport=$(port_of "$tmp/backend.out" 'listening on port [0-9]+')

declare -A PID URL
for label in A B; do
    config_var=AB_CONFIG_$label
    taskset -c 1 "${BIN[$label]}" run --access_log=off --service_config="${!config_var:-${AB_CONFIG:-bench/config/bookstore.yaml}}" --descriptor="$tmp/bookstore.pb" \
        --backend="grpc://127.0.0.1:$bport" --listener_address=127.0.0.1 --http2_port=0 >"$tmp/proxy-$label.out" 2>&1 &
    PID[$label]=$!; pids+=("${PID[$label]}")
    URL[$label]="http://127.0.0.1:$(port_of "$tmp/proxy-$label.out" 'http2=[0-9]+')/endpoints.examples.bookstore.Bookstore/ListShelves"
done
for label in A B; do
    load -D "$WARMUP" "${URL[$label]}" >/dev/null
done

measure() { # label -> one round of that binary, appended to $tmp/rows
    local label=$1 proxy=${PID[$1]} url=${URL[$1]} p0 b0 c0 p1 b1 c1 n rps rss
    load -D 3 "$url" >/dev/null
    p0=$(cpu "$proxy"); b0=$(cpu "$BACKEND"); c0=$(switches "$proxy")
    load -D "$DURATION" "$url" >"$tmp/h2load.txt"
    p1=$(cpu "$proxy"); b1=$(cpu "$BACKEND"); c1=$(switches "$proxy")
    rss=$(awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$proxy/status")
    n=$(awk '/^requests:/ { print $8 }' "$tmp/h2load.txt")
    rps=$(grep -oE '[0-9.]+ req/s' "$tmp/h2load.txt" | head -1 | cut -d' ' -f1)
    awk -v l="$label" -v rps="$rps" -v n="$n" -v p=$((p1 - p0)) -v b=$((b1 - b0)) -v c=$((c1 - c0)) -v tck="$(getconf CLK_TCK)" -v rss="$rss" \
        'BEGIN { printf "%s %.0f %.1f %.1f %.2f %s\n", l, rps, p * 1e6 / tck / n, b * 1e6 / tck / n, c / n, rss }' | tee -a "$tmp/rows"
}

echo "binary req/s proxy_us/call backend_us/call proxy_switches/call proxy_rss_MiB"
for round in $(seq "$ROUNDS"); do
    measure A
    measure B
done
echo "medians:"
python3 - "$tmp/rows" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
by = {label: [r for r in rows if r[0] == label] for label in ('A', 'B')}
for label, mine in by.items():
    cols = list(zip(*mine))
    print(label, *(round(statistics.median(float(x) for x in col), 2) for col in cols[1:]))
ratios = [float(b[1]) / float(a[1]) for a, b in zip(by['A'], by['B'])]
print('B/A req/s per round:', ' '.join(f'{r:.3f}' for r in ratios), '-> median %.3f' % statistics.median(ratios))
PY
