//! RFC 8693 token exchange into app-scoped tokens: a tenant token or an app's API key becomes a
//! short-lived token usable at one app only, with the app's key context (credential profile,
//! delegation). The client's exchange policy is enforced on every exchange, and every outcome,
//! granted or refused, is an audit event.
mod actor;
mod subject;

use super::{within, ClientCall, ExtraClaims, Issue, RefreshIssue, Targets};
use crate::audit::{AuditAction, AuditEntry, Outcome};
use crate::domain::Form;
use crate::error::OAuthError;
use crate::protocol::{GrantType, TOKEN_TYPE_ACCESS_TOKEN};

/// RFC 8693 §2.1. What is required is checked by the grant, not the parser, so that a malformed
/// exchange is a refused exchange in the audit trail like any other.
#[derive(Debug, Default)]
pub struct Request {
    pub subject_token: Option<String>,
    pub subject_token_type: Option<String>,
    pub actor_token: Option<String>,
    pub actor_token_type: Option<String>,
    pub requested_token_type: Option<String>,
    pub credential_profile: Option<String>,
    pub scope: Option<String>,
    pub targets: Targets,
}

impl Request {
    pub fn from_form(mut form: Form) -> Self {
        let mut take = |name: &str| form.take(name);
        let (subject_token, subject_token_type) =
            (take("subject_token"), take("subject_token_type"));
        let (actor_token, actor_token_type) = (take("actor_token"), take("actor_token_type"));
        let requested_token_type = take("requested_token_type");
        let credential_profile = take("credential_profile");
        let scope = take("scope");
        Self {
            subject_token,
            subject_token_type,
            actor_token,
            actor_token_type,
            requested_token_type,
            credential_profile,
            scope,
            targets: Targets::from_form(&mut form),
        }
    }
}

pub async fn grant<'t>(ctx: &ClientCall<'t>, request: Request) -> Result<Issue<'t>, OAuthError> {
    let result = exchange(ctx, &request).await;
    let Err(OAuthError::Rejected {
        code, description, ..
    }) = &result
    else {
        return result;
    };
    crate::metrics::exchange("refused");
    let asked = request.targets.first().unwrap_or("");
    ctx.ports
        .audit
        .record(AuditEntry {
            tenant_id: Some(ctx.tenant.model.id),
            actor: format!("client:{}", ctx.client.model.client_id),
            action: AuditAction::TokenExchanged,
            target: format!("target:{}", asked.chars().take(300).collect::<String>()),
            outcome: Outcome::Refused,
            detail: format!("{code}: {description}"),
        })
        .await?;
    result
}

async fn exchange<'t>(ctx: &ClientCall<'t>, request: &Request) -> Result<Issue<'t>, OAuthError> {
    let policy = &ctx.client.exchange;
    let subject_token = request
        .subject_token
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("subject_token is required"))?;
    let subject_type = request
        .subject_token_type
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("subject_token_type is required"))?;
    subject::check_type(subject_type)?;
    if !policy.subject_token_types.iter().any(|t| t == subject_type) {
        return Err(OAuthError::unauthorized_client(
            "the client's exchange policy does not allow this subject_token_type",
        ));
    }
    if request
        .requested_token_type
        .as_deref()
        .is_some_and(|t| t != TOKEN_TYPE_ACCESS_TOKEN)
    {
        return Err(OAuthError::invalid_request(
            "only access tokens can be requested",
        ));
    }
    if request.targets.is_empty() {
        return Err(OAuthError::invalid_request(
            "audience (or resource) naming the target app is required",
        ));
    }
    let app = request
        .targets
        .resolve(ctx.tenant, ctx.client)?
        .ok_or_else(|| OAuthError::invalid_target("no target app"))?;
    let subject = subject::resolve(ctx, subject_type, subject_token, app.id).await?;
    let delegation = actor::resolve(ctx, request, policy.may_act, &subject, app).await?;
    let allowed = subject
        .scope
        .intersection(&app.scopes)
        .intersection(&ctx.client.scopes);
    let scope = within(
        request.scope.as_deref(),
        &allowed,
        "the scope exceeds the subject's, the app's or the client's",
    )?;
    let cred_profile = match request.credential_profile.as_deref() {
        Some(name) => Some(check_profile(ctx, name).await?),
        None => None,
    };
    let now = ctx.now.timestamp();
    // No longer than what is left of the subject token, nor of the actor token.
    let ttl = [subject.expires_at, delegation.expires_at]
        .into_iter()
        .flatten()
        .fold(policy.max_lifetime_seconds, |ttl, exp| ttl.min(exp - now));
    if ttl <= 0 {
        return Err(OAuthError::invalid_grant(
            "the subject or actor token has expired",
        ));
    }
    let act = delegation.act;
    let mut src = subject.sources;
    for link in delegation.sources {
        if !src.iter().any(|known| known.jti == link.jti) {
            src.push(link);
        }
    }
    let detail = format!(
        "subject_token_type={subject_type} sub={} app={} scope={scope} cred_profile={} act={}",
        subject.sub,
        app.id,
        cred_profile.as_deref().unwrap_or("-"),
        act.as_ref()
            .map(|a| a.chain().collect::<Vec<_>>().join("<"))
            .unwrap_or_else(|| "-".into()),
    );
    Ok(Issue {
        grant: GrantType::TokenExchange,
        subject: subject.sub,
        app: Some(app),
        scope,
        lifetime_secs: Some(ttl),
        family: subject.family,
        extra: ExtraClaims {
            cred_profile,
            act,
            src,
        },
        refresh: RefreshIssue::None,
        issued_token_type: Some(TOKEN_TYPE_ACCESS_TOKEN),
        audit_detail: Some(detail),
    })
}

/// A credential profile must exist in the tenant (else `invalid_request`) and be one the client
/// was given (else `unauthorized_client`).
async fn check_profile(ctx: &ClientCall<'_>, name: &str) -> Result<String, OAuthError> {
    let valid_name = !name.is_empty() && name.len() <= 63 && !name.contains('\0');
    let exists = valid_name
        && ctx
            .ports
            .directory
            .credential_profile_exists(ctx.tenant.id(), name)
            .await
            .map_err(OAuthError::Unavailable)?;
    if !exists {
        return Err(OAuthError::invalid_request("unknown credential_profile"));
    }
    if !ctx.client.credential_profiles.iter().any(|p| p == name) {
        return Err(OAuthError::unauthorized_client(
            "the client may not select this credential_profile",
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::client_credentials;
    use crate::grants::testing::World;
    use crate::ports::ApiKeyRecord;
    use crate::protocol::TOKEN_TYPE_API_KEY;

    fn exchange_of(subject: &str, subject_type: &str, audience: &str) -> Request {
        Request {
            subject_token: Some(subject.into()),
            subject_token_type: Some(subject_type.into()),
            targets: Targets {
                resource: Vec::new(),
                audience: vec![audience.into()],
            },
            ..Default::default()
        }
    }

    async fn tenant_token(world: &World) -> String {
        let issued = world
            .issue(client_credentials::Request::default())
            .await
            .unwrap();
        issued.response.access_token
    }

    #[tokio::test]
    async fn a_tenant_token_becomes_an_app_scoped_token_linked_to_it() {
        let world = World::new();
        let subject = tenant_token(&world).await;
        let issued = world
            .issue(exchange_of(
                &subject,
                TOKEN_TYPE_ACCESS_TOKEN,
                &world.app().audience,
            ))
            .await
            .unwrap();
        assert_eq!(issued.claims.app_id, Some(world.app().id.to_string()));
        assert_eq!(issued.claims.src.len(), 1, "linked to its subject");
        assert_eq!(
            issued.response.issued_token_type,
            Some(TOKEN_TYPE_ACCESS_TOKEN)
        );
        assert_eq!(issued.response.expires_in, 300);
        assert_eq!(world.audited(), ["token.issued", "token.exchanged"]);
    }

    #[tokio::test]
    async fn an_api_key_of_the_app_is_exchanged_and_one_of_another_app_is_invalid_target() {
        let world = World::new();
        let key = ApiKeyRecord {
            id: uuid::Uuid::now_v7(),
            tenant_id: world.tenant.id(),
            app_id: world.app().id,
            last_used_at: None,
        };
        world
            .directory
            .api_keys
            .lock()
            .insert("gk_test".into(), key.clone());
        let issued = world
            .issue(exchange_of(
                "gk_test",
                TOKEN_TYPE_API_KEY,
                &world.app().audience,
            ))
            .await
            .unwrap();
        assert_eq!(issued.claims.sub, format!("apikey:{}", key.id));
        world
            .directory
            .api_keys
            .lock()
            .get_mut("gk_test")
            .unwrap()
            .app_id = crate::domain::AppId(uuid::Uuid::now_v7());
        let foreign = world
            .issue(exchange_of(
                "gk_test",
                TOKEN_TYPE_API_KEY,
                &world.app().audience,
            ))
            .await
            .unwrap_err();
        assert_eq!(foreign.code().as_str(), "invalid_target");
    }

    #[tokio::test]
    async fn every_refusal_is_an_audit_event_with_the_reason() {
        let world = World::new();
        let mut missing = exchange_of("x", TOKEN_TYPE_ACCESS_TOKEN, &world.app().audience);
        missing.subject_token = None;
        let refused = world.issue(missing).await.unwrap_err();
        assert_eq!(refused.code().as_str(), "invalid_request");
        let unknown_profile = Request {
            credential_profile: Some("nope".into()),
            ..exchange_of(
                &tenant_token(&world).await,
                TOKEN_TYPE_ACCESS_TOKEN,
                &world.app().audience,
            )
        };
        let refused = world.issue(unknown_profile).await.unwrap_err();
        assert_eq!(refused.code().as_str(), "invalid_request");
        let events = world.audit.0.lock();
        let refusals: Vec<_> = events
            .iter()
            .filter(|e| e.outcome == Outcome::Refused)
            .map(|e| (e.action.as_str(), e.detail.clone()))
            .collect();
        assert_eq!(refusals.len(), 2, "{refusals:?}");
        assert!(refusals[0].1.contains("subject_token is required"));
        assert!(refusals[1].1.contains("unknown credential_profile"));
        assert!(refusals.iter().all(|(a, _)| *a == "token.exchanged"));
    }

    #[tokio::test]
    async fn a_revoked_subject_is_not_exchanged() {
        let world = World::new();
        let subject = tenant_token(&world).await;
        crate::oauth::revocation::revoke(&world.call(), &subject)
            .await
            .unwrap();
        let refused = world
            .issue(exchange_of(
                &subject,
                TOKEN_TYPE_ACCESS_TOKEN,
                &world.app().audience,
            ))
            .await
            .unwrap_err();
        assert_eq!(refused.code().as_str(), "invalid_grant");
    }
}
