//! Resource indicators (RFC 8707 `resource`) and RFC 8693 `audience`, both naming an app.
//!
//! Both may be sent several times (RFC 8707 §2, RFC 8693 §2.1), but a grantd token is for one
//! app: one `aud`, one `app_id`. So every value must name the same target; the same value sent
//! twice is that target, and distinct values are `invalid_target`, the error RFC 8707 §2 gives
//! for a resource the server will not issue for, never a parse error.
use crate::cache::{AppView, ClientView, TenantView};
use crate::domain::Form;
use crate::error::OAuthError;

/// Every `resource` and `audience` value of a token request.
#[derive(Debug, Default, Clone)]
pub struct Targets {
    pub resource: Vec<String>,
    pub audience: Vec<String>,
}

impl Targets {
    pub fn from_form(form: &mut Form) -> Self {
        Self {
            resource: form.take_all("resource"),
            audience: form.take_all("audience"),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.resource.is_empty() && self.audience.is_empty()
    }

    /// The first target named, `audience` first, for the audit trail.
    pub fn first(&self) -> Option<&str> {
        self.audience
            .first()
            .or(self.resource.first())
            .map(String::as_str)
    }

    /// The app every value names, if any (`resolve_targets`).
    pub fn resolve<'t>(
        &self,
        tenant: &'t TenantView,
        client: &ClientView,
    ) -> Result<Option<&'t AppView>, OAuthError> {
        resolve_targets(tenant, client, &self.resource, &self.audience)
    }
}

/// The app that every `resource` and `audience` value of a token request names, if any: it must
/// be an app of this tenant that the client lists.
pub fn resolve_targets<'t>(
    tenant: &'t TenantView,
    client: &ClientView,
    resources: &[String],
    audiences: &[String],
) -> Result<Option<&'t AppView>, OAuthError> {
    resolve(
        tenant,
        client,
        resources.iter().chain(audiences).map(String::as_str),
    )
}

/// `resolve_targets` for at most one `resource` and one `audience`.
pub fn resolve_target<'t>(
    tenant: &'t TenantView,
    client: &ClientView,
    resource: Option<&str>,
    audience: Option<&str>,
) -> Result<Option<&'t AppView>, OAuthError> {
    resolve(tenant, client, resource.into_iter().chain(audience))
}

fn resolve<'a, 't>(
    tenant: &'t TenantView,
    client: &ClientView,
    mut targets: impl Iterator<Item = &'a str>,
) -> Result<Option<&'t AppView>, OAuthError> {
    let Some(target) = targets.next() else {
        return Ok(None);
    };
    if targets.any(|other| other != target) {
        return Err(OAuthError::invalid_target(
            "grantd issues a token for one resource at a time: every resource and audience must name the same app",
        ));
    }
    let app = tenant
        .app_by_audience(target)
        .filter(|app| client.app_ids.contains(&app.id))
        .ok_or_else(|| {
            OAuthError::invalid_target("the client may not get tokens for this target")
        })?;
    if !app.api_enabled {
        return Err(OAuthError::invalid_target("the app's API is disabled"));
    }
    Ok(Some(app))
}
