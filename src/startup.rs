//! Building and running the HTTP server.
use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{from_fn, Next};
use actix_web::ResponseError;
use actix_web::{web, App, HttpMessage, HttpServer};
use tracing_actix_web::{RequestId, TracingLogger};

use crate::config::Settings;
use crate::state::AppState;
use crate::telemetry::GrantdRootSpan;

pub const CLIENT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

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
        let server = serve(listener, state.clone(), &settings)?;
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

    /// Serves until SIGTERM or Ctrl-C (drain, then in-flight requests finish), then flushes the
    /// audit log.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let state = self.state.clone();
        tokio::spawn(async move {
            wait_for_stop_signal().await;
            // Drain: /readyz fails first, so that a load balancer stops sending new requests
            // before the listener closes; in-flight requests then finish within the bound.
            state
                .draining
                .store(true, std::sync::atomic::Ordering::Release);
            tracing::info!(drain_seconds = DRAIN.as_secs(), "stop signal: draining");
            tokio::time::sleep(DRAIN).await;
            handle.stop(true).await;
        });
        let result = self.server.await;
        self.state.audit.close().await;
        result.map_err(Into::into)
    }
}

/// How long a stopping node keeps serving while `/readyz` already says 503.
pub const DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

async fn wait_for_stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn serve(
    listener: TcpListener,
    state: web::Data<AppState>,
    settings: &Settings,
) -> anyhow::Result<Server> {
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(limit_header_size))
            .wrap(from_fn(crate::metrics::track_requests))
            .wrap(from_fn(request_id_header))
            .wrap(TracingLogger::<GrantdRootSpan>::new())
            .app_data(state.clone())
            .configure(crate::routes::configure)
    })
    // Bounds that keep a slow or greedy client from holding resources: a request's head must
    // arrive within CLIENT_REQUEST_TIMEOUT (else 408), idle keep-alive connections close, and
    // each worker takes at most `max_connections` at once (the rest wait in the backlog).
    .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
    .client_disconnect_timeout(std::time::Duration::from_secs(2))
    .keep_alive(std::time::Duration::from_secs(30))
    .max_connections(settings.max_connections.get())
    .backlog(2048)
    .shutdown_timeout(10)
    .disable_signals();
    if let Some(workers) = settings.workers {
        server = server.workers(workers.get());
    }
    Ok(server.listen(listener)?.run())
}

/// The most header bytes a request may carry: OAuth requests need a few hundred.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// 431 for requests whose headers together pass `MAX_HEADER_BYTES` (actix's own bound is
/// higher).
async fn limit_header_size(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let size: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if size > MAX_HEADER_BYTES {
        let response = crate::error::OAuthError::HeadersTooLarge.error_response();
        return Ok(request.into_response(response).map_into_right_body());
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_left_body)
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
