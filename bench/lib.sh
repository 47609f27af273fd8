# shellcheck shell=bash disable=SC2034  # sets variables for the bench scripts that source it
# bench/lib.sh — shared set-up for grantd's load benchmarks; sourced by bench/*.sh, never run.
#
# A bench script does:
#   set -euo pipefail
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   bench_init                       # tools (apt-get when absent), temp dir, cleanup trap
#   bench_build                      # cargo build --release -> $GRANTD_BIN
#   bench_start_redis                # redis-server on 127.0.0.1:<free port> -> $REDIS_URL, $REDIS_PID
#   bench_start_grantd               # grantd serve on 127.0.0.1:<free port> -> $BASE, $GRANTD_PID
#   bench_setup_tenant               # tenant "bench" + app -> $ISSUER, $APP_ID, $APP_AUDIENCE, metadata
#   bench_create_client NAME '["client_credentials"]'   # -> $CLIENT_ID, $CLIENT_SECRET, $BASIC
#   bench_wrk LABEL URL BODY BASIC OUT.json [PID]        # warm-up + measured wrk run
#   bench_wrk_lua LUA LABEL URL BODY BASIC OUT.json [PID] # the same with another wrk script
#   bench_peak_rss_kib "$GRANTD_PID"
#   bench_run_peer OUT.json          # the shared oidc-provider peer, same wrk settings
# Helpers: bench_admin METHOD PATH [JSON] (admin API, checks 201/200), bench_metadata FIELD (the
# tenant's RFC 8414 metadata), bench_token FORM_BODY (one checked token request with Basic auth),
# bench_http STATUS METHOD URL [curl args], bench_field JSON FIELD, bench_stop_grantd/_redis,
# bench_collect URL BODY BASIC N FILE (N distinct tokens, fast, with wrk), bench_jwt_claims TOKEN,
# bench_pf BOOL (PASS/FAIL), bench_save NAME JSON (-> bench/out/NAME-<time>.json).
# wrk runs also report the CPU (in cores) of wrk, Redis, the machine and other processes
# (other_cpu_util: > 0.15 means something else ran on the machine and the figures are noisy), and
# the server's CPU time per request (server_us_per_req: much less sensitive to such noise).
# Everything started here is stopped by PID, and the temp dir removed, when the script exits.
# All traffic goes to 127.0.0.1; every wait and every load run is bounded in time.
#
# Knobs (environment):
#   DURATION=20 WARMUP=5 THREADS=2 CONNS=32   wrk settings (also passed to the peer)
#   GRANTD_BIN=<binary>   use this binary, do not build     NO_BUILD=1   use target/release/grantd as is
#   SHARED_DIR=<dir>      the shared folder (default: <repo>/../shared)
#   PEER=0                skip the peer run                 KEEP_TMP=1   keep the temp dir (logs)
#   PERF=1                sample the server with perf during each measured run (bench/out/*-perf-*.txt)
#   QUIET_WAIT=60         before each load run, wait up to this many s for an idle machine (0 = no)

BENCH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
PEER=${PEER:-1}

BENCH_TMP=""
REDIS_PID=""
REDIS_PORT=""
REDIS_URL=""
GRANTD_PID=""
GRANTD_PORT=""
GRANTD_LOG=""
BASE=""
ADMIN_TOKEN=""
MASTER_KEY=""
BENCH_APT_UPDATED=0

bench_log() { printf '%s\n' "$*"; }
bench_section() { printf '\n==> %s\n' "$*"; }
bench_die() {
  printf 'bench: %s\n' "$*" >&2
  exit 1
}

# --- tools ---------------------------------------------------------------------------------------

# bench_need CMD... — apt-get installs the package of each missing command (one apt-get update).
bench_need() {
  local cmd pkgs=() sudo=()
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null && continue
    case $cmd in
      redis-cli) pkgs+=(redis-tools) ;;
      node) pkgs+=(nodejs) ;;
      *) pkgs+=("$cmd") ;; # wrk, curl, jq, redis-server, npm: package = command
    esac
  done
  ((${#pkgs[@]} > 0)) || return 0
  if [[ $(id -u) != 0 ]]; then
    command -v sudo >/dev/null || bench_die "need root (or sudo) to install: ${pkgs[*]}"
    sudo=(sudo)
  fi
  bench_log "installing: ${pkgs[*]}"
  if ((BENCH_APT_UPDATED == 0)); then
    "${sudo[@]}" apt-get update -qq
    BENCH_APT_UPDATED=1
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null || bench_die "$cmd is still missing after apt-get install"
  done
}

# bench_free_port — a TCP port on 127.0.0.1 that nothing listens on (below the ephemeral range).
bench_free_port() {
  local port _
  for _ in $(seq 1 200); do
    port=$((15000 + RANDOM % 17000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  bench_die "no free port found"
}

# bench_alive PID — true while PID runs (a zombie counts as gone).
bench_alive() {
  local state
  [[ -n ${1:-} ]] || return 1
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n $state && $state != Z && $state != X ]]
}

# bench_stop_pid PID NAME — SIGTERM, up to 10 s to exit, then SIGKILL; reaps it.
bench_stop_pid() {
  local pid=$1 name=$2 _
  [[ -n $pid ]] || return 0
  if bench_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      bench_alive "$pid" || break
      sleep 0.1
    done
    if bench_alive "$pid"; then
      bench_log "$name (pid $pid) did not stop within 10 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

bench_stop_grantd() {
  bench_stop_pid "$GRANTD_PID" grantd
  GRANTD_PID=""
}

bench_stop_redis() {
  bench_stop_pid "$REDIS_PID" redis-server
  REDIS_PID=""
}

# bench_cleanup — the EXIT trap: stops grantd and Redis, removes the temp dir. A bench script may
# define bench_extra_cleanup to stop more (it runs first).
bench_cleanup() {
  local rc=$?
  if declare -F bench_extra_cleanup >/dev/null; then bench_extra_cleanup || true; fi
  bench_stop_grantd
  bench_stop_redis
  if [[ -n $BENCH_TMP && -d $BENCH_TMP ]]; then
    if [[ ${KEEP_TMP:-0} == 1 ]]; then
      bench_log "kept $BENCH_TMP"
    else
      rm -rf -- "$BENCH_TMP"
    fi
  fi
  return "$rc"
}

# bench_init — checks the knobs and tools (a script needing more calls bench_need CMD...), makes
# the temp dir, installs the cleanup trap, finds the shared folder.
bench_init() {
  local v
  for v in DURATION WARMUP THREADS CONNS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || bench_die "$v must be a whole number, not '${!v}'"
  done
  ((DURATION > 0 && THREADS > 0 && CONNS >= THREADS)) || bench_die "need DURATION>0, THREADS>0, CONNS>=THREADS"
  bench_need curl wrk jq redis-server redis-cli awk
  if [[ $PEER != 0 ]]; then bench_need node npm; fi

  BENCH_SHARED=$(cd "${SHARED_DIR:-$BENCH_REPO/../shared}" 2>/dev/null && pwd) ||
    bench_die "shared folder not found at ${SHARED_DIR:-$BENCH_REPO/../shared} (set SHARED_DIR)"
  BENCH_LUA=$BENCH_SHARED/peers/wrk/form-post.lua
  [[ -r $BENCH_LUA ]] || bench_die "missing $BENCH_LUA"

  BENCH_TMP=$(mktemp -d "${TMPDIR:-/tmp}/grantd-bench.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}

# bench_build — cargo build --release, unless GRANTD_BIN is given or NO_BUILD=1. Sets GRANTD_BIN.
bench_build() {
  if [[ -n ${GRANTD_BIN:-} ]]; then
    [[ -x $GRANTD_BIN ]] || bench_die "GRANTD_BIN=$GRANTD_BIN is not an executable"
    bench_log "using GRANTD_BIN=$GRANTD_BIN (not building)"
    return 0
  fi
  GRANTD_BIN=${CARGO_TARGET_DIR:-$BENCH_REPO/target}/release/grantd
  if [[ ${NO_BUILD:-0} != 1 ]]; then
    bench_section "cargo build --release"
    (cd "$BENCH_REPO" && cargo build --release)
  fi
  [[ -x $GRANTD_BIN ]] || bench_die "no binary at $GRANTD_BIN"
}

# --- services ------------------------------------------------------------------------------------

# bench_start_redis — redis-server on 127.0.0.1:<free port>, no persistence; waits (<= 10 s) for PONG.
bench_start_redis() {
  REDIS_PORT=$(bench_free_port)
  (cd "$BENCH_TMP" && exec redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
    --appendonly no --daemonize no --dir "$BENCH_TMP") >"$BENCH_TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  local deadline=$((SECONDS + 10))
  until [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; do
    if ! bench_alive "$REDIS_PID" || ((SECONDS >= deadline)); then
      tail -n 20 "$BENCH_TMP/redis.log" >&2
      bench_die "redis-server did not answer PONG on 127.0.0.1:$REDIS_PORT"
    fi
    sleep 0.1
  done
  REDIS_URL=redis://127.0.0.1:$REDIS_PORT
  bench_log "redis-server pid $REDIS_PID on $REDIS_URL"
}

# bench_start_grantd — grantd serve on 127.0.0.1:<free port> with a SQLite file in the temp dir,
# Redis, a random admin token and master key; waits (<= 30 s) for GET /healthz = 200.
bench_start_grantd() {
  [[ -n $REDIS_URL ]] || bench_die "start Redis first (bench_start_redis)"
  GRANTD_PORT=$(bench_free_port)
  BASE=http://127.0.0.1:$GRANTD_PORT
  ADMIN_TOKEN=$(head -c 24 /dev/urandom | base64 -w0 | tr '+/' '-_')
  MASTER_KEY=$(head -c 32 /dev/urandom | base64 -w0)
  GRANTD_LOG=$BENCH_TMP/grantd.log
  (cd "$BENCH_TMP" && exec env \
    GRANTD_BIND="127.0.0.1:$GRANTD_PORT" \
    GRANTD_PUBLIC_URL="$BASE" \
    GRANTD_DATABASE_URL="sqlite://$BENCH_TMP/bench.db?mode=rwc" \
    GRANTD_REDIS_URL="$REDIS_URL" \
    GRANTD_ADMIN_TOKEN="$ADMIN_TOKEN" \
    GRANTD_MASTER_KEY="$MASTER_KEY" \
    RUST_LOG="${RUST_LOG:-warn}" \
    "$GRANTD_BIN" serve) >"$GRANTD_LOG" 2>&1 &
  GRANTD_PID=$!
  local deadline=$((SECONDS + 30)) code
  while :; do
    code=$(curl -s -m 1 -o /dev/null -w '%{http_code}' "$BASE/healthz" 2>/dev/null) || true
    [[ $code == 200 ]] && break
    if ! bench_alive "$GRANTD_PID"; then
      local rc=0
      wait "$GRANTD_PID" 2>/dev/null || rc=$?
      GRANTD_PID=""
      tail -n 30 "$GRANTD_LOG" >&2
      bench_die "grantd exited with status $rc during start-up (its log is above)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$GRANTD_LOG" >&2
      bench_die "grantd did not answer 200 on $BASE/healthz within 30 s (last status: ${code:-none})"
    fi
    sleep 0.2
  done
  bench_log "grantd pid $GRANTD_PID on $BASE ($(bench_rss_kib "$GRANTD_PID") KiB RSS after start)"
}

# --- HTTP helpers --------------------------------------------------------------------------------

# bench_loopback_only URL — refuses any URL that is not on 127.0.0.1 / localhost / [::1].
bench_loopback_only() {
  [[ $1 =~ ^https?://(127\.[0-9]+\.[0-9]+\.[0-9]+|localhost|\[::1\])(:[0-9]+)?(/|$) ]] ||
    bench_die "refusing a non-loopback URL: $1"
}

# bench_http EXPECTED_STATUS METHOD URL [curl args...] — prints the body; dies on another status.
bench_http() {
  local want=$1 method=$2 url=$3 out code
  shift 3
  bench_loopback_only "$url"
  out=$(mktemp "$BENCH_TMP/http.XXXXXX")
  code=$(curl -s -m 10 -X "$method" -o "$out" -w '%{http_code}' "$@" "$url") || code="curl-error-$?"
  if [[ $code != "$want" ]]; then
    bench_die "$method $url: expected $want, got $code: $(head -c 2000 "$out")"
  fi
  cat "$out"
  rm -f "$out"
}

# bench_admin METHOD PATH [JSON] — admin API call (expects 201 for POST, else 200); prints the body.
bench_admin() {
  local method=$1 path=$2 body=${3:-} want=200
  if [[ $method == POST ]]; then want=201; fi
  local args=(-H "Authorization: Bearer $ADMIN_TOKEN" -H 'Accept: application/json')
  if [[ -n $body ]]; then args+=(-H 'Content-Type: application/json' --data-binary "$body"); fi
  bench_http "$want" "$method" "$BASE/admin/v1$path" "${args[@]}"
}

# bench_json FILTER — jq -er FILTER on stdin (fails when the value is null or missing).
bench_json() {
  jq -er "$1"
}

# bench_field JSON FIELD — prints a string/number field of a JSON object; dies when it is missing.
bench_field() {
  jq -er --arg f "$2" '.[$f] | select(type == "string" or type == "number")' <<<"$1" 2>/dev/null ||
    bench_die "no '$2' in: $1"
}

# --- tenant, app, client -------------------------------------------------------------------------

# bench_setup_tenant [SLUG] — creates the tenant (default "bench") and an app with scopes
# api:read api:write, then reads the tenant's RFC 8414 metadata. Sets TENANT_SLUG, TENANT_ID,
# ISSUER, APP_ID, APP_AUDIENCE, METADATA (file), TOKEN_ENDPOINT.
bench_setup_tenant() {
  TENANT_SLUG=${1:-bench}
  local t a
  t=$(bench_admin POST /tenants "$(jq -cn --arg s "$TENANT_SLUG" '{slug: $s, name: "Bench"}')")
  TENANT_ID=$(bench_field "$t" id)
  ISSUER=$(bench_field "$t" issuer)
  a=$(bench_admin POST "/tenants/$TENANT_SLUG/apps" '{"name":"bench-app","scopes":["api:read","api:write"]}')
  APP_ID=$(bench_field "$a" id)
  APP_AUDIENCE=$(bench_field "$a" audience)
  METADATA=$BENCH_TMP/metadata.json
  bench_http 200 GET "$BASE/t/$TENANT_SLUG/.well-known/oauth-authorization-server" >"$METADATA"
  TOKEN_ENDPOINT=$(bench_metadata token_endpoint)
  bench_loopback_only "$TOKEN_ENDPOINT"
  bench_log "tenant $TENANT_SLUG (issuer $ISSUER), app $APP_ID (audience $APP_AUDIENCE)"
  bench_log "token endpoint (from metadata): $TOKEN_ENDPOINT"
}

# bench_metadata FIELD — a field of the tenant's authorization-server metadata.
bench_metadata() {
  bench_field "$(cat "$METADATA")" "$1"
}

# bench_create_client NAME GRANT_TYPES_JSON [REDIRECT_URIS_JSON] — a confidential client with
# scopes api:read api:write and access to $APP_ID. Sets CLIENT_ID, CLIENT_SECRET, BASIC
# (base64 of id:secret for HTTP Basic).
bench_create_client() {
  local name=$1 grants=$2 redirects=${3:-[]} body c
  body=$(jq -cn --arg n "$name" --argjson g "$grants" --argjson r "$redirects" --arg app "$APP_ID" \
    '{name: $n, type: "confidential", grant_types: $g, redirect_uris: $r,
      scopes: ["api:read", "api:write"], app_ids: [$app]}')
  c=$(bench_admin POST "/tenants/$TENANT_SLUG/clients" "$body")
  CLIENT_ID=$(bench_field "$c" client_id)
  CLIENT_SECRET=$(bench_field "$c" client_secret)
  # RFC 6749 2.3.1 form-encodes id and secret before Basic; the contract keeps both URL-safe.
  BASIC=$(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)
  bench_log "client $CLIENT_ID ($name, grants $grants)"
}

# bench_token BODY — one token request with Basic auth; must be 200 with an access_token.
# Prints the JSON answer.
bench_token() {
  local r
  r=$(bench_http 200 POST "$TOKEN_ENDPOINT" -u "$CLIENT_ID:$CLIENT_SECRET" \
    -H 'Content-Type: application/x-www-form-urlencoded' -H 'Accept: application/json' --data "$1")
  bench_json '.access_token | select(type == "string" and length > 0)' <<<"$r" >/dev/null ||
    bench_die "token answer has no access_token: $r"
  printf '%s\n' "$r"
}

# --- measuring -----------------------------------------------------------------------------------

bench_rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# bench_peak_rss_kib PID — VmHWM (peak resident set) in KiB.
bench_peak_rss_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
# bench_reset_peak_rss PID — starts VmHWM afresh (Linux clear_refs 5), so that the peak of one
# phase can be told from an earlier one; false when the kernel refuses.
bench_reset_peak_rss() { { echo 5 >"/proc/$1/clear_refs"; } 2>/dev/null; }
# bench_cpu_ticks PID — utime + stime in clock ticks.
bench_cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
# bench_children_ticks PID — cutime + cstime of PID: the CPU of the children it has reaped.
bench_children_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $14 + $15}'; }
# bench_machine_ticks — "busy steal" clock ticks of all CPUs (busy = user nice system irq softirq).
bench_machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $9}' /proc/stat; }

# bench_perf_report LABEL — with PERF=1, the server was sampled by `perf record` (499 Hz) during
# the measured run; writes the flat profile (self time by symbol, and by shared object) to
# bench/out/LABEL-perf-<time>.txt (by thread name, by shared object, by symbol) and prints its top
# PERF_LINES (40) lines.
bench_perf_report() {
  local data=$BENCH_TMP/$1.perf.data file sort attempt err=$BENCH_TMP/$1.perf-report.err
  [[ -s $data ]] || return 0
  mkdir -p "$BENCH_REPO/bench/out"
  file=$BENCH_REPO/bench/out/$1-perf-$(date -u +%Y%m%dT%H%M%SZ).txt
  for attempt in 1 2; do
    {
      for sort in comm dso dso,symbol; do
        echo "== self time by $sort"
        timeout 120 perf report -i "$data" --sort "$sort" --percent-limit 0.3 --stdio 2>>"$err" |
          grep -E '^ +[0-9.]+%' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//; s/[[:space:]]+$//'
      done
    } >"$file" || true
    grep -qE '^ +[0-9.]+%' "$file" && break
    sleep 1
  done
  bench_log "    perf profile of the server (self time): $file"
  if ! grep -qE '^ +[0-9.]+%' "$file"; then
    bench_log "    (perf report gave nothing: $(tail -n 3 "$err" 2>/dev/null | tr '\n' ' '))"
  fi
  sed -n "1,${PERF_LINES:-40}p" "$file" | cut -c1-150 | sed 's/^/      /'
}

# bench_wait_quiet — waits (at most QUIET_WAIT s, default 60; 0 = do not wait) until the machine
# has been nearly idle (< 0.25 cores busy) for 3 s in a row, so that a run is not measured while
# something else (a build, a test suite) uses the cores. Says so when it gives up.
bench_wait_quiet() {
  local max=${QUIET_WAIT:-60} start=$SECONDS quiet=0 a b busy waited=0
  ((max > 0)) || return 0
  a=$(bench_machine_ticks)
  while ((quiet < 3)); do
    if ((SECONDS - start >= max)); then
      bench_log "    machine still busy after ${max}s (QUIET_WAIT); measuring anyway"
      return 0
    fi
    sleep 1
    b=$(bench_machine_ticks)
    busy=$((${b% *} - ${a% *}))
    a=$b
    if ((busy * 4 < $(getconf CLK_TCK))); then quiet=$((quiet + 1)); else quiet=0 waited=1; fi
  done
  if ((waited)); then bench_log "    waited $((SECONDS - start)) s for the machine to be idle"; fi
}

# bench_wrk LABEL URL BODY BASIC OUT_JSON [SERVER_PID] — WARMUP s of warm-up, then a DURATION s
# wrk run with --latency and the shared form-post.lua; prints wrk's report and writes its
# WRK_JSON object to OUT_JSON (plus server_cpu_s / server_cpu_util when SERVER_PID is given).
bench_wrk() {
  bench_wrk_lua "$BENCH_LUA" "$@"
}

# bench_wrk_lua LUA LABEL URL BODY BASIC OUT_JSON [SERVER_PID] — bench_wrk with another wrk
# script (which must print a `WRK_JSON {...}` line with at least duration_s). The script gets
# WRK_BODY, WRK_BASIC and WRK_THREADS; export anything else it reads before calling this.
bench_wrk_lua() {
  local lua=$1 label=$2 url=$3 body=$4 basic=$5 out=$6 pid=${7:-} t0="" t1="" report json
  bench_loopback_only "$url"
  [[ -r $lua ]] || bench_die "missing wrk script $lua"
  report=$BENCH_TMP/$label.wrk.txt
  bench_wait_quiet
  if ((WARMUP > 0)); then
    WRK_BODY=$body WRK_BASIC=$basic WRK_THREADS=$THREADS timeout $((WARMUP + 30)) \
      wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" -s "$lua" "$url" >"$BENCH_TMP/$label.warmup.txt"
  fi
  # CPU accounting over the measured run, in cores: the server, wrk (a reaped child of this
  # shell), Redis, the whole machine, and what is left: other processes on the machine.
  local self=$BASHPID m0 m1 w0 w1 r0=0 r1=0
  m0=$(bench_machine_ticks)
  w0=$(bench_children_ticks "$self")
  if [[ -n $REDIS_PID ]] && bench_alive "$REDIS_PID"; then r0=$(bench_cpu_ticks "$REDIS_PID"); fi
  if [[ -n $pid ]]; then t0=$(bench_cpu_ticks "$pid"); fi
  local perf_pid=""
  if [[ ${PERF:-0} == 1 && -n $pid ]]; then
    command -v perf >/dev/null || bench_die "PERF=1 needs perf (apt-get install linux-perf)"
    timeout $((DURATION + 30)) perf record -q -F 499 -p "$pid" -o "$BENCH_TMP/$label.perf.data" \
      -- sleep "$DURATION" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  WRK_BODY=$body WRK_BASIC=$basic WRK_THREADS=$THREADS timeout $((DURATION + 30)) \
    wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$lua" "$url" >"$report"
  if [[ -n $pid ]]; then t1=$(bench_cpu_ticks "$pid"); fi
  if [[ -n $REDIS_PID ]] && bench_alive "$REDIS_PID"; then r1=$(bench_cpu_ticks "$REDIS_PID"); fi
  w1=$(bench_children_ticks "$self")
  m1=$(bench_machine_ticks)
  if [[ -n $perf_pid ]]; then
    wait "$perf_pid" || true
    bench_perf_report "$label"
  fi
  sed -n '/^Running/,/^Transfer/p' "$report" | sed 's/^/    /'
  json=$(sed -n 's/^WRK_JSON //p' "$report")
  [[ -n $json ]] || bench_die "no WRK_JSON line from wrk ($label): $(cat "$report")"
  jq -c --arg t0 "$t0" --arg t1 "$t1" --argjson hz "$(getconf CLK_TCK)" \
    --argjson w "$((w1 - w0))" --argjson r "$((r1 - r0))" \
    --argjson m "$((${m1% *} - ${m0% *}))" --argjson st "$((${m1#* } - ${m0#* }))" '
    def cores(t): ((t / $hz / .duration_s) * 100 | round / 100);
    (if $t0 != "" then ($t1 | tonumber) - ($t0 | tonumber) else 0 end) as $s
    | (if $t0 != "" then {server_cpu_s: (($s / $hz) * 100 | round / 100), server_cpu_util: cores($s),
                          server_us_per_req: (if .requests > 0 then ($s / $hz * 1e6 / .requests | round) else null end)}
       else {} end) as $server
    | . + $server + {wrk_cpu_util: cores($w), redis_cpu_util: cores($r), machine_cpu_util: cores($m),
                     steal_util: cores($st), other_cpu_util: ([cores($m - $s - $w - $r), 0] | max)}' \
    <<<"$json" >"$out"
  bench_log "    $(cat "$out")"
  if jq -e '.other_cpu_util >= 0.15' "$out" >/dev/null; then
    bench_log "    WARNING: other processes used $(jq .other_cpu_util "$out") cores during this run; the figures are not clean"
  fi
}

# bench_collect URL BODY BASIC WANT OUT_FILE [FIELD] — collects WANT distinct values of FIELD
# (default access_token) from 200 answers to the same form POST, with wrk (bench/wrk/collect.lua:
# about 20,000 tokens/s here), one per line in OUT_FILE. Bounded: at most COLLECT_SECS (default
# 2 + WANT/5000) s per attempt (wrk runs that long even when done early), then one attempt 3x as
# long; dies with fewer than WANT.
bench_collect() {
  local url=$1 body=$2 basic=$3 want=$4 out=$5 field=${6:-access_token} secs attempt got=0
  bench_loopback_only "$url"
  secs=${COLLECT_SECS:-$((2 + want / 5000))}
  for attempt in 1 2; do
    WRK_BODY=$body WRK_BASIC=$basic WRK_FIELD=$field WRK_WANT=$want WRK_THREADS=$THREADS \
      WRK_OUT=$out timeout $((secs + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" \
      -s "$BENCH_REPO/bench/wrk/collect.lua" "$url" >"$BENCH_TMP/collect.txt" ||
      bench_die "wrk (collect) failed: $(cat "$BENCH_TMP/collect.txt")"
    got=$(sort -u "$out" | wc -l)
    ((got >= want)) && break
    bench_log "    collected only $got of $want values in ${secs}s; trying again for longer"
    secs=$((secs * 3))
  done
  ((got >= want)) || bench_die "collected only $got of $want distinct values: $(grep COLLECT_JSON "$BENCH_TMP/collect.txt")"
  bench_log "    $(sed -n 's/^COLLECT_JSON //p' "$BENCH_TMP/collect.txt")"
}

# bench_jwt_claims TOKEN — the payload (claims) of a compact JWS as JSON.
bench_jwt_claims() {
  local p
  p=$(cut -d. -f2 <<<"$1" | tr '_-' '/+')
  while ((${#p} % 4)); do p+='='; done
  base64 -d <<<"$p" 2>/dev/null
}

# bench_pf true|false — PASS or FAIL.
bench_pf() { if [[ $1 == true ]]; then printf PASS; else printf FAIL; fi; }

# bench_save NAME JSON — writes JSON to bench/out/NAME-<UTC time>.json; prints the path.
bench_save() {
  local file
  mkdir -p "$BENCH_REPO/bench/out"
  file=$BENCH_REPO/bench/out/$1-$(date -u +%Y%m%dT%H%M%SZ).json
  printf '%s\n' "$2" >"$file"
  printf '%s\n' "$file"
}

# bench_run_peer OUT_JSON [extra env assignments...] — one run of the shared oidc-provider peer
# (shared/peers/bench-peer.sh) with the same wrk settings, on its own free port; writes its
# RESULTS_JSON to OUT_JSON. Returns the peer script's exit status (non-zero on non-2xx responses
# or errors; OUT_JSON may still hold numbers then).
bench_run_peer() {
  local out=$1 rc=0
  shift
  env RUNS=1 DURATION="$DURATION" WARMUP="$WARMUP" THREADS="$THREADS" CONNS="$CONNS" \
    INTROSPECT=0 PEER_PORT="$(bench_free_port)" RESULTS_JSON="$out" "$@" \
    timeout $((2 * DURATION + 2 * WARMUP + 600)) bash "$BENCH_SHARED/peers/bench-peer.sh" 2>&1 |
    sed 's/^/    /' || rc=$?
  return "$rc"
}
