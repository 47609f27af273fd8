//! Reading a request body with a hard size limit, so that an oversize body is refused before it
//! is buffered, and a deadline, so that a client trickling its body cannot hold a connection.
use std::time::Duration;

use actix_web::web;
use futures_util::StreamExt;

/// How long a whole body may take to arrive once its head has (the head has
/// `startup::CLIENT_REQUEST_TIMEOUT`). The bodies taken here are at most 64 KiB.
pub const BODY_DEADLINE: Duration = Duration::from_secs(5);

#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Past the limit: 413.
    TooLarge,
    /// Not all there within `BODY_DEADLINE`: 408.
    TimedOut,
    /// The connection failed or the chunked encoding was broken: 400.
    Unreadable,
}

pub async fn read_limited(payload: web::Payload, limit: usize) -> Result<web::Bytes, BodyError> {
    tokio::time::timeout(BODY_DEADLINE, read_all(payload, limit))
        .await
        .unwrap_or(Err(BodyError::TimedOut))
}

async fn read_all(mut payload: web::Payload, limit: usize) -> Result<web::Bytes, BodyError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
