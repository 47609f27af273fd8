//! Building and running the HTTP server.
use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpMessage, HttpServer};
use tracing_actix_web::{RequestId, TracingLogger};

use crate::config::Settings;
use crate::state::AppState;
use crate::telemetry::GrantdRootSpan;

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Binds, connects to the database (running migrations) and the state store.
    pub async fn build(mut settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        let address = listener.local_addr()?;
        if settings.public_url.is_none() {
            settings.public_url = Some(format!("http://{address}"));
        }
        for warning in settings.dev_default_warnings() {
            tracing::warn!("{warning}");
        }
        crate::metrics::handle();
        let state = web::Data::new(AppState::connect(&settings).await?);
        let server = serve(listener, state.clone())?;
        tracing::info!(%address, public_url = %state.public_url, "grantd is listening");
        Ok(Self {
            port: address.port(),
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until the server stops (SIGTERM stops it gracefully: in-flight requests finish), then flushes the
    /// audit log.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let result = self.server.await;
        self.state.audit.close().await;
        result.map_err(Into::into)
    }
}

fn serve(listener: TcpListener, state: web::Data<AppState>) -> anyhow::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(crate::metrics::track_requests))
            .wrap(from_fn(request_id_header))
            .wrap(TracingLogger::<GrantdRootSpan>::new())
            .app_data(state.clone())
            .configure(crate::routes::configure)
    })
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Echoes tracing-actix-web's request id as `X-Request-Id`, so a caller can quote it.
async fn request_id_header(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.to_string());
    let mut response = next.call(request).await?;
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}
