//! Prometheus metrics: request counts and latencies per route and status, and the security
//! events an operator watches (issuances, exchanges, revocations, refresh reuse), state-store
//! latency and errors, database pool use. Served at `/metrics`.
use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once and returns its handle.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let buckets = [
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ];
        PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
            .and_then(|builder| builder.install_recorder())
            .unwrap_or_else(|_| {
                // Another recorder is installed (a test binary building several apps): keep a
                // detached one so that /metrics still answers.
                PrometheusBuilder::new().build_recorder().handle()
            })
    })
}

/// Counts and times every request by its route pattern (never the raw path: it holds ids).
pub async fn track_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let response = next.call(request).await?;
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("grantd_http_requests_total", &labels).increment(1);
    metrics::histogram!("grantd_http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    Ok(response)
}

pub fn token_issued(grant_type: &'static str, tenant: &str) {
    metrics::counter!("grantd_tokens_issued_total", "grant_type" => grant_type, "tenant" => tenant.to_owned()).increment(1);
}

pub fn exchange(outcome: &'static str) {
    metrics::counter!("grantd_token_exchanges_total", "outcome" => outcome).increment(1);
}

pub fn revocation(kind: &'static str) {
    metrics::counter!("grantd_revocations_total", "kind" => kind).increment(1);
}

pub fn refresh_reuse_detected() {
    metrics::counter!("grantd_refresh_reuse_detected_total").increment(1);
}

/// Times one state-store operation and counts its failures.
pub fn store_call(operation: &'static str, started: Instant, ok: bool) {
    metrics::histogram!("grantd_store_duration_seconds", "operation" => operation)
        .record(started.elapsed().as_secs_f64());
    if !ok {
        metrics::counter!("grantd_store_errors_total", "operation" => operation).increment(1);
    }
}

pub fn database_pool(size: u32, idle: usize) {
    metrics::gauge!("grantd_db_pool_connections").set(size as f64);
    metrics::gauge!("grantd_db_pool_idle_connections").set(idle as f64);
}
