//! Resource indicators (RFC 8707 `resource`) and RFC 8693 `audience`, both naming an app.
use crate::cache::{AppView, ClientView, TenantView};
use crate::error::OAuthError;

/// The app a request targets, if any: it must be an app of this tenant that the client lists.
pub fn resolve_target<'t>(
    tenant: &'t TenantView,
    client: &ClientView,
    resource: Option<&str>,
    audience: Option<&str>,
) -> Result<Option<&'t AppView>, OAuthError> {
    let target = match (resource, audience) {
        (Some(r), Some(a)) if r != a => {
            return Err(OAuthError::invalid_target(
                "resource and audience name different targets",
            ))
        }
        (Some(t), _) | (None, Some(t)) => t,
        (None, None) => return Ok(None),
    };
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
