#!/usr/bin/env bash
# bench/exchange.sh — load grantd's token endpoint with token exchange (RFC 8693, Redis store),
# for both subject token types: a tenant-wide access token and an app's API key.
#
#   bench/exchange.sh                          build, measure both subject types, print a summary
#   NO_BUILD=1 DURATION=10 WARMUP=3 bench/exchange.sh
#
# Steps: cargo build --release; redis-server and grantd on 127.0.0.1; tenant "bench", an app, a
# subject client (client_credentials), an exchanger client (grant type token-exchange, app_ids
# [app]) and an API key of the app, through the admin API; for each subject type: one checked
# exchange (200, issued_token_type access_token, aud = the app, app_id, no refresh token), WARMUP s
# of warm-up, then `wrk -t2 -c32 -d${DURATION}s --latency` with ../shared/peers/wrk/form-post.lua
# (the same form every time: one subject may be exchanged any number of times). The access-token
# subject is a fresh tenant-wide client_credentials token (no resource: aud = the issuer), taken
# just before its run (it lives 600 s). grantd's peak RSS. No peer: oidc-provider is set up
# without token exchange. Results also go to bench/out/exchange-<time>.json (git-ignored).
#
# Knobs: DURATION=20 WARMUP=5 THREADS=2 CONNS=32 NO_BUILD=0 GRANTD_BIN= SHARED_DIR= KEEP_TMP=0
#        QUIET_WAIT=60 PERF=0 (see lib.sh)
#        STRICT=0 (STRICT=1: exit 2 when a target is missed)
# Exit: 0 = measured with no errors; 1 = set-up failed or a run had non-2xx answers or socket
# errors; 2 = STRICT=1 and a target was missed.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
PEER=0 # the peer (oidc-provider) is configured without token exchange

TARGET_RPS=8000
TARGET_P99_MS=10
GRANT_EXCHANGE=urn:ietf:params:oauth:grant-type:token-exchange
TYPE_ACCESS=urn:ietf:params:oauth:token-type:access_token
TYPE_API_KEY=urn:grantd:token-type:api-key
# The subject token lives 600 s and the exchanged one no longer than what is left of it.
((WARMUP + DURATION <= 480)) || bench_die "WARMUP + DURATION must fit in the subject token's 600 s lifetime (<= 480)"

uri() { jq -rn --arg v "$1" '$v | @uri'; }

bench_init
bench_log "grantd token-exchange bench: wrk -t$THREADS -c$CONNS -d${DURATION}s (warm-up ${WARMUP}s), $(nproc) cores, $(uname -r)"
bench_build

bench_section "start redis-server and grantd"
bench_start_redis
bench_start_grantd

bench_section "create tenant, app, clients and an API key (admin API)"
bench_setup_tenant bench
bench_create_client bench-subject '["client_credentials"]'
SUBJECT_CLIENT_ID=$CLIENT_ID SUBJECT_CLIENT_SECRET=$CLIENT_SECRET
bench_create_client bench-exchanger "[\"$GRANT_EXCHANGE\"]"
EXCHANGER_BASIC=$BASIC
api_key_answer=$(bench_admin POST "/tenants/$TENANT_SLUG/apps/$APP_ID/api-keys" '{"name":"bench-key"}')
API_KEY=$(bench_field "$api_key_answer" key)
bench_log "API key $(bench_field "$api_key_answer" id) of app $APP_ID"

# exchange_form SUBJECT TYPE — the form body of one exchange into a token for the app.
exchange_form() {
  printf 'grant_type=%s&subject_token=%s&subject_token_type=%s&audience=%s' \
    "$(uri "$GRANT_EXCHANGE")" "$(uri "$1")" "$(uri "$2")" "$(uri "$APP_AUDIENCE")"
}

# check_exchange BODY — one exchange as the exchanger must be 200 with an app-scoped token.
check_exchange() {
  local answer claims
  answer=$(bench_http 200 POST "$TOKEN_ENDPOINT" -H "Authorization: Basic $EXCHANGER_BASIC" \
    -H 'Accept: application/json' --data "$1")
  jq -e --arg t "$TYPE_ACCESS" '.issued_token_type == $t and (.access_token | length > 0)
    and .refresh_token == null' <<<"$answer" >/dev/null ||
    bench_die "the exchange answer is not an access token without refresh token: $answer"
  claims=$(bench_jwt_claims "$(bench_field "$answer" access_token)")
  jq -e --arg aud "$APP_AUDIENCE" --arg app "$APP_ID" '.aud == $aud and .app_id == $app' <<<"$claims" >/dev/null ||
    bench_die "the exchanged token is not scoped to the app: $claims"
  bench_log "200: issued_token_type=$(jq -r .issued_token_type <<<"$answer") expires_in=$(jq -r .expires_in <<<"$answer") claims $(jq -c '{sub, aud, app_id, scope, client_id}' <<<"$claims")"
}

bench_section "grantd: POST $TOKEN_ENDPOINT (token exchange, subject = tenant-wide access token)"
subject=$(bench_field "$(bench_http 200 POST "$TOKEN_ENDPOINT" -u "$SUBJECT_CLIENT_ID:$SUBJECT_CLIENT_SECRET" \
  -H 'Accept: application/json' --data 'grant_type=client_credentials&scope=api%3Aread')" access_token)
[[ $(bench_jwt_claims "$subject" | jq -r .aud) == "$ISSUER" ]] || bench_die "the subject token is not tenant-wide"
ACCESS_BODY=$(exchange_form "$subject" "$TYPE_ACCESS")
check_exchange "$ACCESS_BODY"
bench_wrk grantd-exchange-access "$TOKEN_ENDPOINT" "$ACCESS_BODY" "$EXCHANGER_BASIC" "$BENCH_TMP/access.json" "$GRANTD_PID"
bench_alive "$GRANTD_PID" || bench_die "grantd died during the run: $(tail -n 20 "$GRANTD_LOG")"

bench_section "grantd: POST $TOKEN_ENDPOINT (token exchange, subject = the app's API key)"
API_KEY_BODY=$(exchange_form "$API_KEY" "$TYPE_API_KEY")
check_exchange "$API_KEY_BODY"
bench_wrk grantd-exchange-api-key "$TOKEN_ENDPOINT" "$API_KEY_BODY" "$EXCHANGER_BASIC" "$BENCH_TMP/api-key.json" "$GRANTD_PID"
bench_alive "$GRANTD_PID" || bench_die "grantd died during the run: $(tail -n 20 "$GRANTD_LOG")"

peak_kib=$(bench_peak_rss_kib "$GRANTD_PID")
bench_log "    grantd peak RSS (VmHWM): $((peak_kib / 1024)) MiB"
if grep -qE 'ERROR|panicked' "$GRANTD_LOG"; then
  bench_log "    grantd logged errors:"
  grep -E 'ERROR|panicked' "$GRANTD_LOG" | head -n 5 | sed 's/^/      /'
fi

# --- summary -------------------------------------------------------------------------------------
result=$(jq -n \
  --argjson a "$(cat "$BENCH_TMP/access.json")" --argjson k "$(cat "$BENCH_TMP/api-key.json")" \
  --argjson rss_kib "$peak_kib" --arg when "$(date -u +%FT%TZ)" \
  --arg wrk "-t$THREADS -c$CONNS -d${DURATION}s" --argjson warmup "$WARMUP" --argjson cores "$(nproc)" \
  --argjson t_rps "$TARGET_RPS" --argjson t_p99 "$TARGET_P99_MS" '
  {bench: "token exchange", when: $when, wrk: $wrk, warmup_s: $warmup, cores: $cores,
   grantd: {access_token: ($a + {errors: ($a.non2xx + $a.socket_errors)}),
            api_key: ($k + {errors: ($k.non2xx + $k.socket_errors)}),
            peak_rss_mib: (($rss_kib / 1024) * 10 | round / 10)}}
  | .targets = {
      rps_access_token:  {want: ">= \($t_rps)",   pass: ($a.rps >= $t_rps)},
      p99_access_token:  {want: "< \($t_p99) ms", pass: ($a.p99_ms < $t_p99)},
      rps_api_key:       {want: ">= \($t_rps)",   pass: ($k.rps >= $t_rps)},
      p99_api_key:       {want: "< \($t_p99) ms", pass: ($k.p99_ms < $t_p99)},
      errors:            {want: "0", pass: (.grantd.access_token.errors + .grantd.api_key.errors == 0)}}')
out_file=$(bench_save exchange "$result")

target() { jq -r ".targets.$1.pass" <<<"$result"; }
bench_section summary
jq -r '.grantd | [["access_token", .access_token], ["api-key", .api_key]][] |
  "grantd exchange (subject \(.[0])): rps=\(.[1].rps) p50_ms=\(.[1].p50_ms) p90_ms=\(.[1].p90_ms) p99_ms=\(.[1].p99_ms) max_ms=\(.[1].max_ms) non2xx=\(.[1].non2xx) socket_errors=\(.[1].socket_errors) server_us_per_req=\(.[1].server_us_per_req // "-") cpu=\(.[1].server_cpu_util // "-") other_cpu=\(.[1].other_cpu_util // "-")"' <<<"$result"
jq -r '"grantd peak_rss_mib=\(.grantd.peak_rss_mib)"' <<<"$result"
echo "targets: access_token rps>=$TARGET_RPS $(bench_pf "$(target rps_access_token)") p99<${TARGET_P99_MS}ms $(bench_pf "$(target p99_access_token)")  api-key rps>=$TARGET_RPS $(bench_pf "$(target rps_api_key)") p99<${TARGET_P99_MS}ms $(bench_pf "$(target p99_api_key)")  errors=0 $(bench_pf "$(target errors)")"
echo "results: $out_file"

if [[ $(target errors) != true ]]; then
  echo "ERROR: grantd answered exchanges with non-2xx or socket errors" >&2
  exit 1
fi
if [[ ${STRICT:-0} == 1 ]] && jq -e '[.targets[].pass] | all | not' <<<"$result" >/dev/null; then
  exit 2
fi
