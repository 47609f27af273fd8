//! `none`: a public client names itself with `client_id` and proves nothing (RFC 6749 §2.1).
use async_trait::async_trait;

use super::{AuthMethod, ClientKind, Method, Presentation, Presented, Proof, Verifier};
use crate::cache::ClientView;
use crate::error::OAuthError;

pub struct NoCredentials;

#[async_trait]
impl Method for NoCredentials {
    fn recognise(&self, request: &Presentation<'_>) -> Option<Result<Presented, OAuthError>> {
        let client_id = request.form.get("client_id")?;
        Some(Ok(Presented {
            method: AuthMethod::None,
            client_id: client_id.clone(),
            proof: Proof::Nothing,
        }))
    }

    async fn verify(
        &self,
        _with: &Verifier<'_>,
        client: Option<&ClientView>,
        _presented: &Presented,
    ) -> bool {
        client.is_some_and(|c| c.kind == ClientKind::Public)
    }
}
