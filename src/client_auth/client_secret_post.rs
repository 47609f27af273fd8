//! `client_secret_post`: `client_id` and `client_secret` in the form body.
use async_trait::async_trait;

use super::{AuthMethod, ClientKind, Method, Presentation, Presented, Proof, Verifier};
use crate::cache::ClientView;
use crate::error::OAuthError;

pub struct ClientSecretPost;

#[async_trait]
impl Method for ClientSecretPost {
    fn recognise(&self, request: &Presentation<'_>) -> Option<Result<Presented, OAuthError>> {
        let secret = request.form.get("client_secret")?;
        Some(match request.form.get("client_id") {
            Some(client_id) => Ok(Presented {
                method: AuthMethod::ClientSecretPost,
                client_id: client_id.clone(),
                proof: Proof::Secret(secret.clone()),
            }),
            None => Err(OAuthError::invalid_client(
                "client authentication is required",
            )),
        })
    }

    async fn verify(
        &self,
        with: &Verifier<'_>,
        client: Option<&ClientView>,
        presented: &Presented,
    ) -> bool {
        verify_secret(with, client, presented)
    }
}

/// The check both secret methods make: a confidential client whose stored digest matches.
pub(super) fn verify_secret(
    with: &Verifier<'_>,
    client: Option<&ClientView>,
    presented: &Presented,
) -> bool {
    let Proof::Secret(secret) = &presented.proof else {
        return false;
    };
    let digest = client
        .filter(|c| c.kind == ClientKind::Confidential)
        .and_then(|c| c.model.secret_hash.as_deref());
    // Without a digest the same work is spent on an empty one, and fails.
    with.crypto.verify_secret(secret, digest.unwrap_or("")) && digest.is_some()
}
