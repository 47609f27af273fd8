//! `GET /metrics`: Prometheus text. No authentication: keep it behind the network where it must
//! be private.
use actix_web::{web, HttpResponse};
use sea_orm::{ConnectionTrait, DatabaseBackend};

use crate::state::AppState;

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let db = state.db.unbounded();
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            crate::metrics::database_pool(pool.size(), pool.num_idle());
        }
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            crate::metrics::database_pool(pool.size(), pool.num_idle());
        }
        _ => {}
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::metrics::handle().render())
}
