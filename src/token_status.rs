//! Is this access token active? Signature, expiry, tenant, app status, and every revocation
//! mark that can apply to it, checked in one round trip to the state store. Fails closed: when
//! the store cannot answer, the caller gets 503, never "active".
use uuid::Uuid;

use crate::cache::TenantView;
use crate::domain::AppId;
use crate::error::OAuthError;
use crate::ports::Ports;
use crate::store::{MarkScope, RevocationQuery};
use crate::tokens::AccessClaims;

/// When a token was issued, to the millisecond: from its UUIDv7 `jti`, else the start of its
/// `iat` second (the conservative reading: a mark in that second covers it).
pub fn issued_at_ms(claims: &AccessClaims) -> i64 {
    Uuid::parse_str(&claims.jti)
        .ok()
        .filter(|id| id.get_version_num() == 7)
        .and_then(|id| id.get_timestamp())
        .map(|ts| {
            let (secs, nanos) = ts.to_unix();
            secs as i64 * 1000 + i64::from(nanos / 1_000_000)
        })
        .filter(|ms| ms / 1000 == claims.iat)
        .unwrap_or(claims.iat * 1000)
}

/// A verified, live token: its claims and the key that signed it.
pub struct ActiveToken {
    pub claims: AccessClaims,
    pub kid: String,
}

/// `Ok(None)` for anything inactive: bad signature, expired, another tenant's, a disabled app's,
/// or revoked.
pub async fn active_access_token(
    ports: &Ports<'_>,
    tenant: &TenantView,
    token: &str,
    now: i64,
) -> Result<Option<ActiveToken>, OAuthError> {
    let Ok((claims, kid)) = tenant.verifier.verify(token, now) else {
        return Ok(None);
    };
    if claims.tid != tenant.model.id.to_string() {
        return Ok(None);
    }
    let app_id = match claims.app_id.as_deref().map(str::parse::<AppId>) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => return Ok(None),
    };
    if let Some(id) = app_id {
        if !tenant.apps.get(&id).is_some_and(|app| app.api_enabled) {
            return Ok(None);
        }
    }
    // Checked at every use, not only at issuance: a client deleted since is a dead token.
    if ports
        .directory
        .client(&claims.client_id)
        .await
        .map_err(OAuthError::Unavailable)?
        .is_none()
    {
        return Ok(None);
    }
    let query = revocation_query(&claims, &kid, app_id);
    let revoked = ports
        .store
        .is_revoked(tenant.id(), &query)
        .await
        .map_err(|e| OAuthError::Unavailable(e.into()))?;
    Ok((!revoked).then_some(ActiveToken { claims, kid }))
}

/// Everything that can make this token dead, for one multi-get: its own `jti`, family and key,
/// the marks that cover it, and the same for every token it was exchanged from, as subject or
/// as actor.
fn revocation_query(claims: &AccessClaims, kid: &str, app_id: Option<AppId>) -> RevocationQuery {
    let mut query = RevocationQuery {
        jtis: vec![claims.jti.clone()],
        families: claims.fam.iter().cloned().collect(),
        kids: vec![kid.to_owned()],
        marks: MarkScope::covering(&claims.client_id, &claims.sub, app_id),
        issued_at: issued_at_ms(claims),
    };
    // Its sources were active when it was issued, so a mark that covers a source and postdates
    // this token's `iat` is the only one that can apply, and comparing with this token's `iat`
    // is exact. An actor's link names the actor's own subject and family; a subject's shares
    // this token's.
    for source in &claims.src {
        query.jtis.push(source.jti.clone());
        query.families.extend(source.fam.iter().cloned());
        let source_app = source.app_id.as_deref().and_then(|id| id.parse().ok());
        query.marks.extend(MarkScope::covering(
            &source.client_id,
            source.sub.as_deref().unwrap_or(&claims.sub),
            source_app,
        ));
    }
    query
        .marks
        .sort_by(|a, b| (&a.client, &a.subject, a.app).cmp(&(&b.client, &b.subject, b.app)));
    query.marks.dedup();
    query.families.sort();
    query.families.dedup();
    query
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::Source;

    fn delegated() -> AccessClaims {
        let mut claims = AccessClaims::sample(
            "http://x/t/a",
            "user",
            "http://x/t/a/apps/x",
            "gateway",
            "j-delegated",
        );
        claims.act = Some(crate::tokens::Actor::new("agent-user"));
        (claims.iat, claims.exp) = (100, 400);
        AccessClaims {
            src: vec![
                Source {
                    jti: "j-subject".into(),
                    client_id: "crm".into(),
                    app_id: None,
                    sub: None,
                    fam: None,
                },
                Source {
                    jti: "j-actor".into(),
                    client_id: "agent".into(),
                    app_id: None,
                    sub: Some("agent-user".into()),
                    fam: Some("f-actor".into()),
                },
            ],
            fam: Some("f-subject".into()),
            ..claims
        }
    }

    fn covers(query: &RevocationQuery, client: &str, subject: &str) -> bool {
        query.marks.contains(&MarkScope {
            client: Some(client.into()),
            subject: Some(subject.into()),
            app: None,
        })
    }

    #[test]
    fn the_actor_link_brings_its_jti_family_and_subject_into_the_one_query() {
        let query = revocation_query(&delegated(), "k1", None);
        assert_eq!(query.jtis, ["j-delegated", "j-subject", "j-actor"]);
        assert_eq!(query.families, ["f-actor", "f-subject"]);
        assert!(covers(&query, "agent", "agent-user"), "{:?}", query.marks);
        assert!(
            covers(&query, "crm", "user"),
            "a subject link uses the token's sub"
        );
        assert!(!covers(&query, "agent", "user"));
        assert_eq!(query.issued_at, 100_000);
    }
}
