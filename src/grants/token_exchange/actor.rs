//! Delegation (RFC 8693 §4.1): with an actor token, the result says who acts for the subject,
//! depends on the actor token as much as on the subject token, and lives no longer than either.
use super::subject::Subject;
use super::{ClientCall, Request};
use crate::cache::AppView;
use crate::error::OAuthError;
use crate::protocol::TOKEN_TYPE_ACCESS_TOKEN;
use crate::token_status::active_access_token;
use crate::tokens::{AccessClaims, Actor, Source};

/// The most actors one `act` chain may name: each re-exchange with a new actor adds one, and a
/// token must not grow without bound.
pub const MAX_ACTORS: usize = 5;

/// What the actor adds to the exchanged token.
pub struct Delegation {
    /// The `act` claim: the actor's, or without an actor the subject's own chain.
    pub act: Option<Actor>,
    /// The actor token's provenance links, to be added to the subject's.
    pub sources: Vec<Source>,
    /// The actor token's `exp`; `None` without an actor.
    pub expires_at: Option<i64>,
}

pub async fn resolve(
    ctx: &ClientCall<'_>,
    request: &Request,
    may_act: bool,
    subject: &Subject,
    target: &AppView,
) -> Result<Delegation, OAuthError> {
    let Some(actor_token) = request.actor_token.as_deref() else {
        if request.actor_token_type.is_some() {
            return Err(OAuthError::invalid_request(
                "actor_token_type without actor_token",
            ));
        }
        return Ok(Delegation {
            act: subject.act.clone(),
            sources: Vec::new(),
            expires_at: None,
        });
    };
    match request.actor_token_type.as_deref() {
        Some(TOKEN_TYPE_ACCESS_TOKEN) => {}
        Some(_) => return Err(OAuthError::invalid_request("unsupported actor_token_type")),
        None => {
            return Err(OAuthError::invalid_request(
                "actor_token_type is required with actor_token",
            ))
        }
    }
    if !may_act {
        return Err(OAuthError::unauthorized_client(
            "the client's exchange policy does not allow acting for others",
        ));
    }
    let actor = active_access_token(&ctx.ports, ctx.tenant, actor_token, ctx.now.timestamp())
        .await?
        .ok_or_else(|| OAuthError::invalid_grant("the actor token is not active"))?
        .claims;
    check_meant_for(&actor, &ctx.tenant.issuer, target)?;
    Ok(Delegation {
        act: Some(chain(&actor, subject.act.as_ref())?),
        sources: provenance(&actor, &subject.sub),
        expires_at: Some(actor.exp),
    })
}

/// RFC 8693 §2.2.2: an actor token that is "unacceptable based on policy" is `invalid_request`.
/// grantd's policy: the actor token is meant for grantd itself (tenant-wide: `aud` is the
/// issuer) or for the target app; a token scoped to any other app never acts here, whoever it
/// was issued to, as no token for one app yields anything at another.
fn check_meant_for(actor: &AccessClaims, issuer: &str, target: &AppView) -> Result<(), OAuthError> {
    let tenant_wide = actor.app_id.is_none() && actor.aud == issuer;
    let for_target = actor.app_id.as_deref() == Some(target.id.to_string().as_str())
        && actor.aud == target.audience;
    if tenant_wide || for_target {
        return Ok(());
    }
    tracing::warn!(
        target: "security",
        actor_jti = %actor.jti,
        actor_client_id = %actor.client_id,
        "an actor token of another app was presented"
    );
    Err(OAuthError::invalid_request(
        "the actor token is scoped to another app: it must be tenant-wide or for the target app",
    ))
}

/// The new `act`: the actor, then whoever acts through the actor token (its own `act`), then the
/// subject's earlier actors, the most recent outermost (RFC 8693 §4.1).
fn chain(actor: &AccessClaims, earlier: Option<&Actor>) -> Result<Actor, OAuthError> {
    let subs: Vec<&str> = std::iter::once(actor.sub.as_str())
        .chain(actor.act.iter().flat_map(Actor::chain))
        .chain(earlier.into_iter().flat_map(Actor::chain))
        .collect();
    if subs.len() > MAX_ACTORS {
        return Err(OAuthError::invalid_request(format!(
            "the delegation chain would name more than {MAX_ACTORS} actors"
        )));
    }
    Actor::from_chain(subs).ok_or_else(|| anyhow::anyhow!("an empty delegation chain").into())
}

/// The actor token and what it came from, as links of the new token's provenance. Links that
/// relied on the actor's `sub` and `fam` now say them, since the new token has the subject's.
fn provenance(actor: &AccessClaims, new_sub: &str) -> Vec<Source> {
    let own = Source {
        jti: actor.jti.clone(),
        client_id: actor.client_id.clone(),
        app_id: actor.app_id.clone(),
        sub: None,
        fam: actor.fam.clone(),
    };
    actor
        .src
        .iter()
        .cloned()
        .chain([own])
        .map(|mut link| {
            if link.sub.is_none() && actor.sub != new_sub {
                link.sub = Some(actor.sub.clone());
            }
            link
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    const ISSUER: &str = "http://x/t/a";

    fn app(id: Uuid) -> AppView {
        let id = crate::domain::AppId(id);
        AppView {
            id,
            name: "x".into(),
            audience: format!("{ISSUER}/apps/{id}"),
            scopes: Default::default(),
            api_enabled: true,
        }
    }

    fn token(client: &str, sub: &str, app: Option<&AppView>) -> AccessClaims {
        let aud = app.map_or(ISSUER.into(), |a| a.audience.clone());
        let mut claims = AccessClaims::sample(ISSUER, sub, &aud, client, &format!("j-{sub}"));
        claims.app_id = app.map(|a| a.id.to_string());
        claims
    }

    #[test]
    fn only_tenant_wide_or_target_app_tokens_may_act() {
        let (x, y) = (app(Uuid::new_v4()), app(Uuid::new_v4()));
        assert!(check_meant_for(&token("c", "s", None), ISSUER, &x).is_ok());
        assert!(check_meant_for(&token("c", "s", Some(&x)), ISSUER, &x).is_ok());
        assert!(check_meant_for(&token("c", "s", Some(&y)), ISSUER, &x).is_err());
        let mut forged_aud = token("c", "s", Some(&y));
        forged_aud.aud = x.audience.clone();
        assert!(
            check_meant_for(&forged_aud, ISSUER, &x).is_err(),
            "app_id decides too"
        );
    }

    #[test]
    fn the_chain_keeps_earlier_actors_and_is_bounded() {
        let mut actor = token("c", "new", None);
        actor.act = Some(Actor::new("behind-new"));
        let earlier = Actor::from_chain(["b", "a"]).unwrap();
        let act = chain(&actor, Some(&earlier)).unwrap();
        assert_eq!(
            act.chain().collect::<Vec<_>>(),
            ["new", "behind-new", "b", "a"]
        );
        let long = Actor::from_chain(["e", "d", "c", "b"]).unwrap();
        assert!(chain(&actor, Some(&long)).is_err(), "six actors");
    }

    #[test]
    fn the_actors_links_name_its_subject_and_family() {
        let mut actor = token("agent", "agent-sub", None);
        actor.fam = Some("f1".into());
        actor.src = vec![Source {
            jti: "j-older".into(),
            client_id: "crm".into(),
            app_id: None,
            sub: None,
            fam: None,
        }];
        let links = provenance(&actor, "user");
        assert_eq!(links.len(), 2);
        assert!(links.iter().all(|l| l.sub.as_deref() == Some("agent-sub")));
        assert_eq!(links[1].jti, "j-agent-sub");
        assert_eq!(links[1].fam.as_deref(), Some("f1"));
        assert_eq!(provenance(&actor, "agent-sub")[1].sub, None, "same sub");
    }
}
