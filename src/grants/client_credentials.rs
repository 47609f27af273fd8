//! RFC 6749 §4.4: the client acts on its own behalf. No refresh token (§4.4.3).
use super::{within, ClientCall, ExtraClaims, Issue, RefreshIssue, Targets};
use crate::domain::Form;
use crate::error::OAuthError;
use crate::protocol::GrantType;

#[derive(Debug, Default)]
pub struct Request {
    pub scope: Option<String>,
    pub targets: Targets,
}

impl Request {
    pub fn from_form(mut form: Form) -> Self {
        Self {
            scope: form.take("scope"),
            targets: Targets::from_form(&mut form),
        }
    }
}

pub fn grant<'t>(ctx: &ClientCall<'t>, request: Request) -> Result<Issue<'t>, OAuthError> {
    let app = request.targets.resolve(ctx.tenant, ctx.client)?;
    let allowed = match app {
        Some(app) => ctx.client.scopes.intersection(&app.scopes),
        None => ctx.client.scopes.clone(),
    };
    let scope = within(
        request.scope.as_deref(),
        &allowed,
        "the requested scope exceeds what the client may get",
    )?;
    Ok(Issue {
        grant: GrantType::ClientCredentials,
        subject: ctx.client.model.client_id.clone(),
        app,
        scope,
        lifetime_secs: None,
        family: None,
        extra: ExtraClaims::default(),
        refresh: RefreshIssue::None,
        issued_token_type: None,
        audit_detail: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::testing::World;

    fn request(scope: Option<&str>, resource: Option<&str>) -> Request {
        Request {
            scope: scope.map(Into::into),
            targets: Targets {
                resource: resource.into_iter().map(Into::into).collect(),
                audience: Vec::new(),
            },
        }
    }

    #[tokio::test]
    async fn without_a_target_the_token_is_tenant_wide_with_every_client_scope() {
        let world = World::new();
        let issued = world.issue(request(None, None)).await.unwrap();
        assert_eq!(issued.claims.aud, world.tenant.issuer);
        assert_eq!(issued.claims.sub, world.client.model.client_id);
        assert_eq!(issued.claims.app_id, None);
        assert_eq!(issued.claims.scope.as_deref(), Some("chat:read chat:write"));
        assert_eq!(issued.response.expires_in, 600);
        assert_eq!(issued.response.token_type, "Bearer");
        assert_eq!(issued.response.refresh_token, None);
        assert_eq!(world.audited(), ["token.issued"]);
    }

    #[tokio::test]
    async fn an_app_target_scopes_the_token_to_the_app_for_five_minutes() {
        let world = World::new();
        let issued = world
            .issue(request(Some("chat:read"), Some(&world.app().audience)))
            .await
            .unwrap();
        assert_eq!(issued.claims.aud, world.app().audience);
        assert_eq!(issued.claims.app_id, Some(world.app().id.to_string()));
        assert_eq!(issued.response.expires_in, 300);
        assert_eq!(issued.claims.iat, world.now.timestamp(), "the pinned clock");
    }

    #[tokio::test]
    async fn a_wider_scope_or_a_foreign_target_is_refused_and_nothing_is_issued() {
        let world = World::new();
        let wider = world.issue(request(Some("admin"), None)).await.unwrap_err();
        assert_eq!(wider.code().as_str(), "invalid_scope");
        let foreign = world
            .issue(request(None, Some("https://elsewhere.example/app")))
            .await
            .unwrap_err();
        assert_eq!(foreign.code().as_str(), "invalid_target");
        assert!(world.audited().is_empty());
    }
}
