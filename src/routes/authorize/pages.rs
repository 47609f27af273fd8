//! The HTML pages, rendered from `templates/` (askama escapes every value).
use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use askama::Template;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub tenant_name: &'a str,
    pub client_name: &'a str,
    pub action: &'a str,
    pub csrf_token: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub tenant_name: &'a str,
    pub client_name: &'a str,
    pub username: &'a str,
    pub action: &'a str,
    pub csrf_token: &'a str,
    /// (plain words, the scope itself)
    pub scopes: Vec<(String, String)>,
    pub app_name: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub tenant_name: &'a str,
    pub message: &'a str,
}

pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"))
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ))
            .body(body),
        Err(e) => {
            tracing::error!(error.cause_chain = ?e, "rendering a page failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}

pub fn error_page(status: StatusCode, tenant_name: &str, message: &str) -> HttpResponse {
    html(
        status,
        &ErrorPage {
            tenant_name,
            message,
        },
    )
}

/// A scope in plain words: `chat:read` reads as "Read your chat data"; anything else as
/// "Use the `x` permission".
pub fn describe_scope(scope: &str) -> String {
    match scope.split_once(':') {
        Some((resource, action)) if !resource.is_empty() && !action.is_empty() => {
            let mut verb = action.replace(['_', '-'], " ");
            if let Some(first) = verb.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            format!("{verb} your {} data", resource.replace(['_', '-'], " "))
        }
        _ => format!("Use the “{scope}” permission"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_action_scopes_read_as_sentences() {
        assert_eq!(describe_scope("chat:read"), "Read your chat data");
        assert_eq!(
            describe_scope("files:write_all"),
            "Write all your files data"
        );
        assert_eq!(describe_scope("openid"), "Use the “openid” permission");
    }

    #[test]
    fn values_in_pages_are_escaped() {
        let page = ErrorPage {
            tenant_name: "<script>x</script>",
            message: "\"quoted\"",
        };
        let body = page.render().unwrap();
        assert!(!body.contains("<script>x"));
        assert!(body.contains("&lt;script&gt;") || body.contains("&#60;script&#62;"));
        assert!(!body.contains("\"quoted\""));
    }
}
