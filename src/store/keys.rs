//! Every state-store key is built here: `{prefix}:{tenant}:{kind}:{id}`. Ids of secrets are
//! digests, never the secret.

use crate::domain::TenantId;

use super::{MarkScope, OnceKind};

#[derive(Debug, Clone)]
pub struct KeyBuilder {
    prefix: String,
}

impl KeyBuilder {
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
        }
    }

    pub fn once(&self, tenant: TenantId, kind: OnceKind, digest: &str) -> String {
        format!("{}:{tenant}:{}:{digest}", self.prefix, once_kind(kind))
    }

    pub fn once_used(&self, tenant: TenantId, kind: OnceKind, digest: &str) -> String {
        format!("{}:{tenant}:{}-used:{digest}", self.prefix, once_kind(kind))
    }

    pub fn jti(&self, tenant: TenantId, jti: &str) -> String {
        format!("{}:{tenant}:jti:{jti}", self.prefix)
    }

    pub fn family(&self, tenant: TenantId, family: &str) -> String {
        format!("{}:{tenant}:family:{family}", self.prefix)
    }

    pub fn kid(&self, tenant: TenantId, kid: &str) -> String {
        format!("{}:{tenant}:kid:{kid}", self.prefix)
    }

    pub fn mark(&self, tenant: TenantId, scope: &MarkScope) -> String {
        format!(
            "{}:{tenant}:before:c={}:s={}:a={}",
            self.prefix,
            scope.client.as_deref().unwrap_or(""),
            scope.subject.as_deref().unwrap_or(""),
            scope.app.map(|a| a.to_string()).unwrap_or_default()
        )
    }

    pub fn rate(&self, tenant: TenantId, bucket: &str) -> String {
        format!("{}:{tenant}:rate:{bucket}", self.prefix)
    }

    pub fn ping(&self) -> String {
        format!("{}:ping", self.prefix)
    }

    /// When this Redis's data began (unix ms); its absence means the data was lost. The one key
    /// without a TTL: one per deployment, and it must outlive every token.
    pub fn epoch(&self) -> String {
        format!("{}:epoch", self.prefix)
    }
}

fn once_kind(kind: OnceKind) -> &'static str {
    match kind {
        OnceKind::AuthorizationCode => "code",
        OnceKind::RefreshToken => "refresh",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_by_prefix_tenant_and_kind() {
        let keys = KeyBuilder::new("grantd");
        let tenant = TenantId(uuid::Uuid::nil());
        assert_eq!(
            keys.once(tenant, OnceKind::AuthorizationCode, "ab12"),
            "grantd:00000000-0000-0000-0000-000000000000:code:ab12"
        );
        let client = MarkScope {
            client: Some("c1".into()),
            ..MarkScope::tenant()
        };
        assert_eq!(
            keys.mark(tenant, &client),
            "grantd:00000000-0000-0000-0000-000000000000:before:c=c1:s=:a="
        );
    }

    #[test]
    fn a_token_is_covered_by_every_subset_of_its_client_subject_and_app() {
        let app = crate::domain::AppId(uuid::Uuid::nil());
        assert_eq!(MarkScope::covering("c", "s", Some(app)).len(), 8);
        let without_app = MarkScope::covering("c", "s", None);
        assert_eq!(without_app.len(), 4);
        assert!(without_app.contains(&MarkScope::tenant()));
    }
}
