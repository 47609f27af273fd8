//! RFC 6749 §6 with rotation and reuse detection (RFC 9700 §4.14.2): every use rotates; a used
//! token presented again revokes its whole family, the access tokens issued from it included.
use super::records::{bound_digest, RefreshRecord};
use super::{within, ClientCall, ExtraClaims, Issue, RefreshIssue};
use crate::audit::{AuditAction, AuditEntry, Outcome};
use crate::crypto::random_token;
use crate::domain::{Form, ScopeSet};
use crate::error::OAuthError;
use crate::protocol::{GrantType, REFRESH_TOKEN_TTL};
use crate::store::{MarkScope, OnceKind, RevocationQuery, Successor, Taken};

#[derive(Debug)]
pub struct Request {
    pub refresh_token: String,
    pub scope: Option<String>,
}

impl Request {
    pub fn from_form(mut form: Form) -> Result<Self, OAuthError> {
        Ok(Self {
            refresh_token: form
                .take("refresh_token")
                .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?,
            scope: form.take("scope"),
        })
    }
}

pub async fn grant<'t>(ctx: &ClientCall<'t>, request: Request) -> Result<Issue<'t>, OAuthError> {
    let client_id = &ctx.client.model.client_id;
    let tenant_id = ctx.tenant.id();
    let digest = bound_digest(client_id, &request.refresh_token);
    let store = ctx.ports.store;
    // Everything that can refuse the request is checked on a read of the token first, and the
    // rotation (the token used and its successor stored, in one step) comes last: of concurrent
    // uses exactly one then succeeds, even while the others, finding the token used, revoke its
    // family (which then kills what the winner got); and a failure before it, a store timeout
    // included, leaves the token as it was, to be presented again.
    let peeked = store
        .peek_once(tenant_id, OnceKind::RefreshToken, &digest)
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))?;
    let record = match peeked {
        Taken::Fresh(payload) => {
            serde_json::from_str::<RefreshRecord>(&payload).map_err(anyhow::Error::from)?
        }
        unknown_or_used => return Err(refusal(ctx, unknown_or_used).await),
    };
    let allowed = match standing(ctx, &record).await? {
        Standing::Live(allowed) => allowed,
        Standing::Expired => {
            return Err(OAuthError::invalid_grant("the refresh token has expired"))
        }
        Standing::Revoked => {
            return Err(OAuthError::invalid_grant("the refresh token was revoked"))
        }
        Standing::Ended(why) => {
            revoke_family(ctx, &record.family, why).await?;
            return Err(OAuthError::invalid_grant(why));
        }
    };
    let scope = within(
        request.scope.as_deref(),
        &allowed,
        "a refresh may narrow the scope, never widen it",
    )?;
    let next = RefreshRecord {
        scope: scope.to_string(),
        issued_at_ms: ctx.now.timestamp_millis(),
        ..record
    };
    let refresh_token = random_token(32);
    let taken = store
        .rotate_once(
            tenant_id,
            OnceKind::RefreshToken,
            &digest,
            REFRESH_TOKEN_TTL as u64,
            Successor {
                digest: &bound_digest(client_id, &refresh_token),
                payload: &serde_json::to_string(&next).map_err(anyhow::Error::from)?,
                ttl_secs: next.remaining_secs(ctx.now),
            },
        )
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))?;
    if !matches!(taken, Taken::Fresh(_)) {
        return Err(refusal(ctx, taken).await);
    }
    let mut issue = user_tokens(ctx, GrantType::RefreshToken, next, scope);
    issue.refresh = RefreshIssue::Rotated(refresh_token);
    Ok(issue)
}

/// Why a refresh token that could not be redeemed is refused; a used one revokes its family.
async fn refusal(ctx: &ClientCall<'_>, taken: Taken) -> OAuthError {
    let Taken::Used(payload) = taken else {
        return OAuthError::invalid_grant("unknown, expired or revoked refresh token");
    };
    let record: RefreshRecord = match serde_json::from_str(&payload) {
        Ok(record) => record,
        Err(e) => return anyhow::Error::from(e).into(),
    };
    crate::metrics::refresh_reuse_detected();
    match revoke_family(ctx, &record.family, "refresh token reused").await {
        Ok(()) => {
            OAuthError::invalid_grant("the refresh token was already used; its family is revoked")
        }
        Err(e) => e,
    }
}

/// What a family (or the code that starts one) is good for now.
pub enum Standing {
    /// Usable, for at most these scopes.
    Live(ScopeSet),
    Expired,
    Revoked,
    /// Over for good, for this reason: the family is to be revoked.
    Ended(&'static str),
}

/// Judges a family against the present: alive and unrevoked, its user still there, and its app
/// still enabled and still one of the client's. Its scope shrinks to what the client (and the
/// app) may still get, so that a scope taken from the client since the sign-in is never issued
/// again, as Keycloak does on refresh. Only reads: what a dead family costs is the caller's call.
pub async fn standing(
    ctx: &ClientCall<'_>,
    record: &RefreshRecord,
) -> Result<Standing, OAuthError> {
    if record.family_expires_at <= ctx.now.timestamp() {
        return Ok(Standing::Expired);
    }
    let tenant_id = ctx.tenant.id();
    let query = RevocationQuery {
        jtis: Vec::new(),
        families: vec![record.family.clone()],
        marks: MarkScope::covering(
            &record.client_id,
            &record.user_id.to_string(),
            record.app_id,
        ),
        issued_at: record.issued_at_ms,
        ..Default::default()
    };
    let revoked = ctx
        .ports
        .store
        .is_revoked(tenant_id, &query)
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))?;
    if revoked {
        return Ok(Standing::Revoked);
    }
    let user_exists = ctx
        .ports
        .directory
        .user_exists(tenant_id, record.user_id)
        .await
        .map_err(OAuthError::Unavailable)?;
    let app = match record.app_id {
        None => None,
        Some(id) => match ctx.tenant.apps.get(&id) {
            Some(app) if app.api_enabled => Some(app),
            _ => return Ok(Standing::Ended("the user or the app is no longer active")),
        },
    };
    if !user_exists {
        return Ok(Standing::Ended("the user or the app is no longer active"));
    }
    // The authorization endpoint would refuse this app to the client now; so does every later
    // use of what it granted then.
    if app.is_some_and(|app| !ctx.client.app_ids.contains(&app.id)) {
        return Ok(Standing::Ended(
            "the client may no longer get tokens for this app",
        ));
    }
    let granted = ScopeSet::parse(&record.scope).unwrap_or_default();
    let allowed = granted.intersection(&ctx.client.scopes);
    Ok(Standing::Live(match app {
        Some(app) => allowed.intersection(&app.scopes),
        None => allowed,
    }))
}

/// What RFC 7662 says of a live refresh token to the client it was issued to.
pub struct RefreshIntrospection {
    pub record: RefreshRecord,
    /// What a refresh would issue now.
    pub scope: ScopeSet,
}

/// Looks a refresh token up for introspection, without redeeming or rotating it. `None` for
/// anything a refresh by this client would refuse: unknown (or another client's: the digest is
/// bound to the client), used, expired, revoked or ended.
pub async fn introspect(
    ctx: &ClientCall<'_>,
    presented: &str,
) -> Result<Option<RefreshIntrospection>, OAuthError> {
    let client_id = &ctx.client.model.client_id;
    let digest = bound_digest(client_id, presented);
    let peeked = ctx
        .ports
        .store
        .peek_once(ctx.tenant.id(), OnceKind::RefreshToken, &digest)
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))?;
    let Taken::Fresh(payload) = peeked else {
        return Ok(None);
    };
    let Ok(record) = serde_json::from_str::<RefreshRecord>(&payload) else {
        return Ok(None);
    };
    if record.client_id != *client_id || !ctx.client.allows_grant(GrantType::RefreshToken.as_str())
    {
        return Ok(None);
    }
    match standing(ctx, &record).await? {
        Standing::Live(scope) => Ok(Some(RefreshIntrospection { record, scope })),
        _ => Ok(None),
    }
}

/// What a user's family issues: its access token (app-scoped when the family is), and the
/// family's first refresh token when the client may refresh.
pub fn user_tokens<'t>(
    ctx: &ClientCall<'t>,
    grant: GrantType,
    record: RefreshRecord,
    scope: ScopeSet,
) -> Issue<'t> {
    let app = record.app_id.and_then(|id| ctx.tenant.apps.get(&id));
    Issue {
        grant,
        subject: record.user_id.to_string(),
        app,
        scope,
        lifetime_secs: None,
        family: Some(record.family.clone()),
        extra: ExtraClaims::default(),
        refresh: if ctx.client.allows_grant(GrantType::RefreshToken.as_str()) {
            RefreshIssue::Start(record)
        } else {
            RefreshIssue::None
        },
        issued_token_type: None,
        audit_detail: None,
    }
}

/// Kills a family and everything issued from it, and says so in the audit log.
pub async fn revoke_family(
    ctx: &ClientCall<'_>,
    family: &str,
    why: &str,
) -> Result<(), OAuthError> {
    kill_family(ctx, family).await?;
    let client_id = &ctx.client.model.client_id;
    tracing::warn!(target: "security", %family, %client_id, "{why}: refresh family revoked");
    ctx.ports
        .audit
        .record(AuditEntry {
            tenant_id: Some(ctx.tenant.model.id),
            actor: format!("client:{client_id}"),
            action: AuditAction::TokenRevoked,
            target: format!("family:{family}"),
            outcome: Outcome::Granted,
            detail: why.to_owned(),
        })
        .await?;
    Ok(())
}

/// Marks a family revoked, with every token issued from it, on every node.
pub async fn kill_family(ctx: &ClientCall<'_>, family: &str) -> Result<(), OAuthError> {
    crate::metrics::revocation("refresh_family");
    ctx.ports
        .store
        .revoke_family(ctx.tenant.id(), family, REFRESH_TOKEN_TTL as u64)
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::authorization_code;
    use crate::grants::testing::World;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    /// Signs the world's user in: the first access and refresh tokens of a family.
    async fn signed_in(world: &World) -> (String, String) {
        let code = world.code(Some(&World::challenge(VERIFIER))).await;
        let issued = world
            .issue(authorization_code::Request {
                code,
                redirect_uri: World::REDIRECT_URI.into(),
                code_verifier: Some(VERIFIER.into()),
            })
            .await
            .unwrap();
        let family = issued.claims.fam.unwrap();
        (issued.response.refresh_token.unwrap(), family)
    }

    fn refresh(token: &str, scope: Option<&str>) -> Request {
        Request {
            refresh_token: token.into(),
            scope: scope.map(Into::into),
        }
    }

    #[tokio::test]
    async fn every_use_rotates_and_keeps_the_family() {
        let world = World::new();
        let (first, family) = signed_in(&world).await;
        let issued = world.issue(refresh(&first, None)).await.unwrap();
        let second = issued.response.refresh_token.clone().unwrap();
        assert_ne!(second, first);
        assert_eq!(issued.claims.fam.as_deref(), Some(family.as_str()));
        assert_eq!(issued.claims.scope.as_deref(), Some("chat:read chat:write"));
        assert!(world.issue(refresh(&second, None)).await.is_ok());
        assert_eq!(
            world.audited(),
            ["token.issued", "token.refreshed", "token.refreshed"]
        );
    }

    #[tokio::test]
    async fn a_used_token_presented_again_revokes_the_whole_family() {
        let world = World::new();
        let (first, family) = signed_in(&world).await;
        let successor = world.issue(refresh(&first, None)).await.unwrap();
        let reuse = world.issue(refresh(&first, None)).await.unwrap_err();
        assert_eq!(reuse.code().as_str(), "invalid_grant");
        assert!(world.family_revoked(&family).await);
        let next = successor.response.refresh_token.unwrap();
        let after = world.issue(refresh(&next, None)).await.unwrap_err();
        assert_eq!(
            after.code().as_str(),
            "invalid_grant",
            "the successor died too"
        );
        assert_eq!(world.audited().last(), Some(&"token.revoked"));
    }

    #[tokio::test]
    async fn scope_may_narrow_never_widen() {
        let world = World::new();
        let (first, _) = signed_in(&world).await;
        let wider = world
            .issue(refresh(&first, Some("chat:read admin")))
            .await
            .unwrap_err();
        assert_eq!(wider.code().as_str(), "invalid_scope");
        let narrowed = world
            .issue(refresh(&first, Some("chat:read")))
            .await
            .unwrap();
        assert_eq!(narrowed.claims.scope.as_deref(), Some("chat:read"));
    }

    #[tokio::test]
    async fn a_family_past_its_end_is_refused_without_rotating() {
        let mut world = World::new();
        let (first, _) = signed_in(&world).await;
        world.now += chrono::Duration::seconds(REFRESH_TOKEN_TTL + 1);
        let expired = world.issue(refresh(&first, None)).await.unwrap_err();
        assert!(expired.to_string().contains("expired"), "{expired}");
        world.now -= chrono::Duration::seconds(REFRESH_TOKEN_TTL + 1);
        assert!(
            world.issue(refresh(&first, None)).await.is_ok(),
            "not used up"
        );
    }

    #[tokio::test]
    async fn a_deleted_user_ends_the_family() {
        let world = World::new();
        let (first, family) = signed_in(&world).await;
        world.directory.users.lock().clear();
        let ended = world.issue(refresh(&first, None)).await.unwrap_err();
        assert_eq!(ended.code().as_str(), "invalid_grant");
        assert!(world.family_revoked(&family).await);
    }

    #[tokio::test]
    async fn introspection_sees_a_live_token_for_its_client_only() {
        let world = World::new();
        let (first, _) = signed_in(&world).await;
        let found = introspect(&world.call(), &first).await.unwrap().unwrap();
        assert_eq!(found.record.user_id, world.user);
        let other = world.other_client("billing");
        let mut call = world.call();
        call.client = &other;
        assert!(introspect(&call, &first).await.unwrap().is_none());
    }
}
