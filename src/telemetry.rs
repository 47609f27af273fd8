//! Log setup: human-readable or JSON lines, filtered by `RUST_LOG` (default `info`).
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// Installs the global subscriber; later calls do nothing (tests call it once per binary).
/// `filter` is an `EnvFilter` directive such as `info` or `grantd=debug`.
pub fn init(
    format: LogFormat,
    filter: &str,
    writer: impl for<'w> fmt::MakeWriter<'w> + Send + Sync + 'static,
) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_writer(writer),
            )
            .try_init(),
        LogFormat::Text => registry.with(fmt::layer().with_writer(writer)).try_init(),
    };
}

/// Runs CPU-heavy work (password hashing) on the blocking pool, inside the caller's span.
pub fn spawn_blocking_with_tracing<F, R>(f: F) -> tokio::task::JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
}

/// The root span of every request: tracing-actix-web's fields (method, route, status, request
/// id, …) plus the tenant and client id, which handlers fill in.
pub struct GrantdRootSpan;

impl tracing_actix_web::RootSpanBuilder for GrantdRootSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        tracing_actix_web::root_span!(
            level = tracing::Level::INFO,
            request,
            tenant = tracing::field::Empty,
            client_id = tracing::field::Empty,
            error.code = tracing::field::Empty
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        tracing_actix_web::DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
