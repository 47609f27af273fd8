#!/usr/bin/env bash
# bench/refresh.sh — load grantd's token endpoint with the refresh grant (rotating refresh
# tokens, Redis store) on loopback.
#
#   bench/refresh.sh                            build, make the families, measure, print a summary
#   NO_BUILD=1 DURATION=10 WARMUP=3 bench/refresh.sh
#   FAMILIES=500 NO_BUILD=1 bench/refresh.sh    a smaller pool (quicker set-up)
#
# Steps: cargo build --release; redis-server and grantd on 127.0.0.1; tenant "bench", an app and
# a confidential client (authorization_code + refresh_token) through the admin API; FAMILIES
# refresh-token families made by real authorization-code flows (bench/tools/code_flow.py: login
# page, login form, consent form, code + PKCE at the token endpoint); one checked refresh
# (rotation: 200 with a new refresh token; the old one presented again is refused and kills its
# family); WARMUP s of warm-up, then `wrk -t2 -c32 -d${DURATION}s --latency` with
# bench/wrk/refresh.lua, in which every family is in flight at most once and each request carries
# the refresh token of the answer before (a token is never sent twice); grantd's peak RSS and the
# Redis keys left per refresh. Results also go to bench/out/refresh-<time>.json (git-ignored).
#
# Knobs: DURATION=20 WARMUP=5 THREADS=2 CONNS=32 FAMILIES=2000 NO_BUILD=0 GRANTD_BIN= SHARED_DIR=
#        KEEP_TMP=0 QUIET_WAIT=60 PERF=0 (see lib.sh) STRICT=0 (STRICT=1: exit 2 when a target is
#        missed). No peer run here.
# Exit: 0 = measured with no errors; 1 = set-up failed, or a refresh was answered with anything
# but 200 + a new refresh token, or socket errors; 2 = STRICT=1 and a target was missed.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PEER=0 # the peer (oidc-provider) is set up for client_credentials only

TARGET_RPS=8000
TARGET_P99_MS=10
FAMILIES=${FAMILIES:-2000}
REDIRECT=http://127.0.0.1:9/callback # never fetched: the code is read from the 302's Location
SCOPE='api:read api:write'

[[ $FAMILIES =~ ^[0-9]+$ ]] || bench_die "FAMILIES must be a whole number"
# wrk keeps every family of a thread queued; each connection holds one in flight.
((FAMILIES >= 4 * CONNS)) || bench_die "FAMILIES=$FAMILIES is too small for CONNS=$CONNS (need >= $((4 * CONNS)))"

bench_init
bench_need python3
bench_log "grantd refresh bench: wrk -t$THREADS -c$CONNS -d${DURATION}s (warm-up ${WARMUP}s), $FAMILIES families, $(nproc) cores, $(uname -r)"
bench_build

bench_section "start redis-server and grantd"
bench_start_redis
bench_start_grantd

bench_section "create tenant, app and client (admin API)"
bench_setup_tenant bench
AUTHORIZATION_ENDPOINT=$(bench_metadata authorization_endpoint)
bench_loopback_only "$AUTHORIZATION_ENDPOINT"
bench_create_client bench-refresh '["authorization_code", "refresh_token"]' "[\"$REDIRECT\"]"

bench_section "make $FAMILIES + 1 refresh-token families (authorization-code flows)"
POOL=$BENCH_TMP/refresh-tokens.txt
t_pool=$SECONDS
BENCH_ADMIN_TOKEN=$ADMIN_TOKEN BENCH_CLIENT_SECRET=$CLIENT_SECRET timeout 600 \
  python3 -B "$BENCH_REPO/bench/tools/code_flow.py" --base "$BASE" --slug "$TENANT_SLUG" \
  --client-id "$CLIENT_ID" --authorization-endpoint "$AUTHORIZATION_ENDPOINT" \
  --token-endpoint "$TOKEN_ENDPOINT" --redirect-uri "$REDIRECT" --scope "$SCOPE" \
  --count $((FAMILIES + 1)) --workers 4 --deadline 540 --out "$POOL" >"$BENCH_TMP/code-flow.txt" ||
  bench_die "making the families failed: $(tail -n 5 "$BENCH_TMP/code-flow.txt")"
flow_json=$(sed -n 's/^CODE_FLOW_JSON //p' "$BENCH_TMP/code-flow.txt")
bench_log "    $flow_json"
(($(sort -u "$POOL" | wc -l) == FAMILIES + 1)) || bench_die "expected $((FAMILIES + 1)) distinct refresh tokens in $POOL"
bench_log "    $(wc -l <"$POOL") families in $((SECONDS - t_pool)) s"

bench_section "check one refresh (the extra family, kept out of the load)"
refresh_form() { printf 'grant_type=refresh_token&refresh_token=%s' "$1"; }
first=$(tail -n 1 "$POOL")
sed -i '$d' "$POOL"
answer=$(bench_token "$(refresh_form "$first")")
second=$(bench_field "$answer" refresh_token)
[[ $second != "$first" ]] || bench_die "the refresh token did not rotate"
claims=$(bench_jwt_claims "$(bench_field "$answer" access_token)")
[[ $(jq -r .iss <<<"$claims") == "$ISSUER" ]] || bench_die "the access token's iss is not $ISSUER: $claims"
bench_log "200: rotated; access token claims $(jq -c '{sub, aud, scope, client_id}' <<<"$claims")"
reuse=$(bench_http 400 POST "$TOKEN_ENDPOINT" -u "$CLIENT_ID:$CLIENT_SECRET" --data "$(refresh_form "$first")")
[[ $(jq -r .error <<<"$reuse") == invalid_grant ]] || bench_die "reusing a refresh token: $reuse"
bench_http 400 POST "$TOKEN_ENDPOINT" -u "$CLIENT_ID:$CLIENT_SECRET" --data "$(refresh_form "$second")" >/dev/null
bench_log "400 invalid_grant for the used token, and its successor is dead too (family revoked)"

# The sign-ins (Argon2, 19 MiB each) set grantd's peak RSS; measure the load's own peak apart.
setup_peak_kib=$(bench_peak_rss_kib "$GRANTD_PID")
start_rss_kib=$(bench_rss_kib "$GRANTD_PID") # what the allocator kept from the set-up
rss_reset=false
if bench_reset_peak_rss "$GRANTD_PID"; then rss_reset=true; fi
keys_before=$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" dbsize)
mem_before=$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')

bench_section "grantd: POST $TOKEN_ENDPOINT (refresh_token, rotating; pool of $FAMILIES families)"
export WRK_TOKENS=$POOL
bench_wrk_lua "$BENCH_REPO/bench/wrk/refresh.lua" grantd-refresh "$TOKEN_ENDPOINT" "" "$BASIC" \
  "$BENCH_TMP/grantd.json" "$GRANTD_PID"
bench_alive "$GRANTD_PID" || bench_die "grantd died during the run: $(tail -n 20 "$GRANTD_LOG")"
warmup_json=$(sed -n 's/^WRK_JSON //p' "$BENCH_TMP/grantd-refresh.warmup.txt" 2>/dev/null)
[[ -n $warmup_json ]] || warmup_json='{"rotated":0,"non200":0,"starved":0,"no_token":0,"socket_errors":0}'
bench_log "    warm-up: $(jq -c '{rotated, non200, starved, no_token, socket_errors, families_left}' <<<"$warmup_json")"
peak_kib=$(bench_peak_rss_kib "$GRANTD_PID")
keys_after=$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" dbsize)
mem_after=$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
refreshes=$(jq -s '.[0].rotated + .[1].rotated' <(printf '%s\n' "$warmup_json") "$BENCH_TMP/grantd.json")
bench_log "    grantd peak RSS (VmHWM): $((peak_kib / 1024)) MiB during the load (RSS $((start_rss_kib / 1024)) MiB at its start)$([[ $rss_reset == true ]] || echo " (could not reset VmHWM: includes the set-up)"), $((setup_peak_kib / 1024)) MiB during the set-up (sign-ins); redis: $keys_before -> $keys_after keys, $((mem_before / 1048576)) -> $((mem_after / 1048576)) MiB over $refreshes refreshes"
if grep -qE 'ERROR|panicked' "$GRANTD_LOG"; then
  bench_log "    grantd logged errors:"
  grep -E 'ERROR|panicked' "$GRANTD_LOG" | head -n 5 | sed 's/^/      /'
fi

# --- summary -------------------------------------------------------------------------------------
result=$(jq -n \
  --argjson g "$(cat "$BENCH_TMP/grantd.json")" --argjson warm "$warmup_json" \
  --argjson flow "${flow_json:-null}" --argjson families "$FAMILIES" \
  --argjson rss_kib "$peak_kib" --argjson setup_kib "$setup_peak_kib" --argjson start_kib "$start_rss_kib" --argjson rss_reset "$rss_reset" --arg when "$(date -u +%FT%TZ)" \
  --arg wrk "-t$THREADS -c$CONNS -d${DURATION}s" --argjson warmup "$WARMUP" --argjson cores "$(nproc)" \
  --argjson kb "$keys_before" --argjson ka "$keys_after" --argjson mb "$mem_before" --argjson ma "$mem_after" \
  --argjson refreshes "$refreshes" \
  --argjson t_rps "$TARGET_RPS" --argjson t_p99 "$TARGET_P99_MS" '
  ($g + {peak_rss_mib: (($rss_kib / 1024) * 10 | round / 10), peak_rss_is_load_only: $rss_reset,
         setup_peak_rss_mib: (($setup_kib / 1024) * 10 | round / 10),
         rss_mib_at_load_start: (($start_kib / 1024) * 10 | round / 10),
         errors: ($g.non2xx + $g.socket_errors + $g.non200 + $g.no_token + $g.starved)}) as $g
  | {bench: "token refresh_token (rotating)", when: $when, wrk: $wrk, warmup_s: $warmup, cores: $cores,
     families: $families, code_flow: $flow, grantd: $g,
     warmup: ($warm | {rotated, non200, no_token, starved, socket_errors, families_left}),
     redis: {keys_before: $kb, keys_after: $ka, used_memory_mib_before: (($mb / 1048576) * 10 | round / 10),
             used_memory_mib_after: (($ma / 1048576) * 10 | round / 10), refreshes: $refreshes,
             keys_per_refresh: (if $refreshes > 0 then ((($ka - $kb) / $refreshes) * 100 | round / 100) else null end),
             bytes_per_refresh: (if $refreshes > 0 then (($ma - $mb) / $refreshes | round) else null end)},
     targets: {
       rps:    {want: ">= \($t_rps)",   pass: ($g.rps >= $t_rps)},
       p99:    {want: "< \($t_p99) ms", pass: ($g.p99_ms < $t_p99)},
       errors: {want: "0",              pass: ($g.errors == 0)}}}')
out_file=$(bench_save refresh "$result")

target() { jq -r ".targets.$1.pass" <<<"$result"; }
bench_section summary
jq -r '.grantd | "grantd refresh_token: rps=\(.rps) p50_ms=\(.p50_ms) p90_ms=\(.p90_ms) p99_ms=\(.p99_ms) max_ms=\(.max_ms) errors=\(.errors) (non2xx=\(.non2xx) non200=\(.non200) socket_errors=\(.socket_errors) no_token=\(.no_token) starved=\(.starved)) peak_rss_mib=\(.peak_rss_mib)\(if .peak_rss_is_load_only then " (load; \(.rss_mib_at_load_start) at its start)" else " (incl. set-up)" end) (set-up with sign-ins: \(.setup_peak_rss_mib)) server_us_per_req=\(.server_us_per_req // "-") cpu=\(.server_cpu_util // "-") other_cpu=\(.other_cpu_util // "-")"' <<<"$result"
jq -r '"families: \(.families) made by code flows (\(.code_flow.flows_per_s // "-")/s); \(.grantd.rotated) rotations measured, \(.grantd.families_left) families left"' <<<"$result"
jq -r '.redis | "redis: +\(.keys_after - .keys_before) keys (\(.keys_per_refresh) per refresh), +\(.used_memory_mib_after - .used_memory_mib_before | . * 10 | round / 10) MiB (\(.bytes_per_refresh) B per refresh)"' <<<"$result"
echo "targets: rps>=$TARGET_RPS $(bench_pf "$(target rps)")  p99<${TARGET_P99_MS}ms $(bench_pf "$(target p99)")  errors=0 $(bench_pf "$(target errors)")"
echo "results: $out_file"

if [[ $(target errors) != true ]]; then
  echo "ERROR: $(jq .grantd.errors <<<"$result") refreshes failed (non-200, no refresh_token, socket errors or an exhausted pool)" >&2
  exit 1
fi
if [[ ${STRICT:-0} == 1 ]] && jq -e '[.targets[].pass] | all | not' <<<"$result" >/dev/null; then
  exit 2
fi
