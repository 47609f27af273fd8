//! Reading a request body with a hard size limit, so that an oversize body is refused before it
//! is buffered.
use actix_web::web;
use futures_util::StreamExt;

/// `Err(())` once the body passes `limit` bytes.
pub async fn read_limited(
    mut payload: web::Payload,
    limit: usize,
) -> Result<Result<web::Bytes, ()>, actix_web::Error> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > limit {
            return Ok(Err(()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Ok(body.freeze()))
}
