//! `GET /tenants/{slug}/audit-events?limit=&before=`, newest first.
use actix_web::{web, HttpResponse};

use crate::admin::tenant_or_404;
use crate::db;
use crate::error::AdminError;
use crate::state::AppState;

struct Page {
    limit: Option<String>,
    before: Option<String>,
}

fn parse_page(query: &str) -> Result<Page, AdminError> {
    let pairs = crate::domain::parse_form(query.as_bytes())
        .map_err(|e| AdminError::BadRequest(e.describe()))?;
    Ok(Page {
        limit: pairs.get("limit").cloned(),
        before: pairs.get("before").cloned(),
    })
}

pub async fn list(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    request: actix_web::HttpRequest,
) -> Result<HttpResponse, AdminError> {
    let page = parse_page(request.query_string())?;
    let tenant = tenant_or_404(&state, &slug).await?;
    let limit: u64 = match page.limit.as_deref() {
        None => 50,
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| AdminError::BadRequest("limit must be 1 to 500".into()))?,
    };
    let before = page
        .before
        .as_deref()
        .map(|raw| {
            raw.parse()
                .map_err(|_| AdminError::BadRequest("before must be an event id".into()))
        })
        .transpose()?;
    let events = db::audit_events::page(&state.db, tenant.model.id, before, limit)
        .await
        .map_err(anyhow::Error::from)?;
    let next_before = (events.len() as u64 == limit)
        .then(|| events.last().map(|e| e.id))
        .flatten();
    let events: Vec<serde_json::Value> = events
        .into_iter()
        .map(|e| {
            serde_json::json!({
                "id": e.id, "at": e.at.timestamp(), "actor": e.actor, "action": e.action,
                "target": e.target, "outcome": e.outcome, "detail": e.detail,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({"events": events, "next_before": next_before})))
}
