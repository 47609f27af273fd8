use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::state::AppState;

/// 200 while the process lives.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// 200 only while the database and the state store answer and the store is fit for grantd; a
/// setting that must change is named in `reason`.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.draining.load(std::sync::atomic::Ordering::Acquire) {
        return HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable"}));
    }
    match state.ready().await {
        Ok(()) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Err(None) => HttpResponse::ServiceUnavailable().json(json!({"status": "unavailable"})),
        Err(Some(reason)) => {
            tracing::error!(%reason, "the state store is misconfigured");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unavailable", "reason": reason}))
        }
    }
}
