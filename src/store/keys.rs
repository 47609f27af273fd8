//! Every state-store key is built here: `{prefix}:{tenant}:{kind}:{id}`. Ids of secrets are
//! digests, never the secret.
use uuid::Uuid;

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

    pub fn once(&self, tenant: Uuid, kind: OnceKind, digest: &str) -> String {
        format!("{}:{tenant}:{}:{digest}", self.prefix, once_kind(kind))
    }

    pub fn once_used(&self, tenant: Uuid, kind: OnceKind, digest: &str) -> String {
        format!("{}:{tenant}:{}-used:{digest}", self.prefix, once_kind(kind))
    }

    pub fn jti(&self, tenant: Uuid, jti: &str) -> String {
        format!("{}:{tenant}:jti:{jti}", self.prefix)
    }

    pub fn family(&self, tenant: Uuid, family: &str) -> String {
        format!("{}:{tenant}:family:{family}", self.prefix)
    }

    pub fn mark(&self, tenant: Uuid, scope: &MarkScope) -> String {
        match scope {
            MarkScope::Tenant => format!("{}:{tenant}:before:tenant", self.prefix),
            MarkScope::Client(id) => format!("{}:{tenant}:before:client:{id}", self.prefix),
            MarkScope::Subject(sub) => format!("{}:{tenant}:before:sub:{sub}", self.prefix),
            MarkScope::App(id) => format!("{}:{tenant}:before:app:{id}", self.prefix),
        }
    }

    pub fn rate(&self, tenant: Uuid, bucket: &str) -> String {
        format!("{}:{tenant}:rate:{bucket}", self.prefix)
    }

    pub fn ping(&self) -> String {
        format!("{}:ping", self.prefix)
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
        let tenant = Uuid::nil();
        assert_eq!(
            keys.once(tenant, OnceKind::AuthorizationCode, "ab12"),
            "grantd:00000000-0000-0000-0000-000000000000:code:ab12"
        );
        assert_eq!(
            keys.mark(tenant, &MarkScope::Client("c1".into())),
            "grantd:00000000-0000-0000-0000-000000000000:before:client:c1"
        );
    }
}
