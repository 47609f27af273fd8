//! The admin API (`/admin/v1`): bearer-token guarded JSON over the operations in `crate::admin`.
mod apps;
mod audit;
mod clients;
mod credentials;
mod tenants;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpResponse, ResponseError};
use serde::de::DeserializeOwned;

use crate::error::AdminError;
use crate::routes::{read_limited, resource, BodyError};
use crate::state::AppState;

/// Who the audit log names for admin API changes.
const ACTOR: &str = "admin-api";
const MAX_JSON_BYTES: usize = 64 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    let (get, post, patch, delete) = (web::get, web::post, web::patch, web::delete);
    cfg.service(
        web::scope("")
            .wrap(from_fn(require_admin_token))
            .service(resource("/tenants").route(post().to(tenants::create)))
            .service(
                resource("/tenants/{slug}")
                    .route(get().to(tenants::get))
                    .route(patch().to(tenants::patch)),
            )
            .service(resource("/tenants/{slug}/users").route(post().to(tenants::create_user)))
            .service(
                resource("/tenants/{slug}/apps")
                    .route(post().to(apps::create))
                    .route(get().to(apps::list)),
            )
            .service(
                resource("/tenants/{slug}/apps/{app_id}")
                    .route(get().to(apps::get))
                    .route(patch().to(apps::patch)),
            )
            .service(
                resource("/tenants/{slug}/apps/{app_id}/api-keys")
                    .route(post().to(credentials::create_api_key))
                    .route(get().to(credentials::list_api_keys)),
            )
            .service(
                resource("/tenants/{slug}/apps/{app_id}/api-keys/{key_id}")
                    .route(delete().to(credentials::delete_api_key)),
            )
            .service(resource("/tenants/{slug}/clients").route(post().to(clients::create)))
            .service(
                resource("/tenants/{slug}/clients/{client_id}")
                    .route(get().to(clients::get))
                    .route(patch().to(clients::patch)),
            )
            .service(
                resource("/tenants/{slug}/credential-profiles")
                    .route(post().to(credentials::create_profile))
                    .route(get().to(credentials::list_profiles)),
            )
            .service(resource("/tenants/{slug}/audit-events").route(get().to(audit::list)))
            .service(resource("/tenants/{slug}/keys/rotate").route(post().to(tenants::rotate_keys)))
            .service(resource("/tenants/{slug}/revocations").route(post().to(tenants::revoke))),
    );
}

async fn require_admin_token(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let allowed = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token)
        .and_then(|token| {
            request
                .app_data::<web::Data<AppState>>()
                .map(|s| s.is_admin_token(token.trim()))
        })
        .unwrap_or(false);
    if !allowed {
        let response = AdminError::Unauthorized.error_response();
        return Ok(request.into_response(response).map_into_right_body());
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Reads a JSON body. Syntax errors are 400; a field of the wrong shape is 422 naming the field
/// but never echoing its value.
pub async fn json_body<T: DeserializeOwned>(payload: web::Payload) -> Result<T, AdminError> {
    let bytes = read_limited(payload, MAX_JSON_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => {
                AdminError::BadRequest(format!("the body is larger than {MAX_JSON_BYTES} bytes"))
            }
            BodyError::TimedOut => AdminError::TimedOut,
            BodyError::Unreadable => AdminError::BadRequest("the body could not be read".into()),
        })?;
    // An empty body is an empty object: every field of the optional-body calls is optional.
    let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { &bytes };
    // serde would also read a struct from a JSON array; the admin API takes objects only.
    if !matches!(
        serde_json::from_slice::<serde_json::Value>(bytes),
        Ok(serde_json::Value::Object(_)) | Err(_)
    ) {
        return Err(AdminError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    }
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let problem = describe_data_error(&inner.to_string());
                if path == "." {
                    AdminError::Unprocessable(problem)
                } else {
                    AdminError::field(&path, problem)
                }
            }
            _ => AdminError::BadRequest(format!(
                "the body is not valid JSON (line {}, column {})",
                inner.line(),
                inner.column()
            )),
        }
    })
}

/// serde's messages quote the offending value; keep only the kind of problem and any field name.
fn describe_data_error(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    if message.starts_with("missing field") || message.starts_with("unknown field") {
        return message
            .split(", expected")
            .next()
            .unwrap_or(message)
            .to_owned();
    }
    match message.split_once(": ") {
        Some((kind, _)) => format!("{kind}{}", expected_part(message)),
        None => "invalid value".to_owned(),
    }
}

fn expected_part(message: &str) -> String {
    message
        .rsplit_once(", expected ")
        .map(|(_, e)| format!(", expected {e}"))
        .unwrap_or_default()
}

pub fn created<T: serde::Serialize>(body: T) -> HttpResponse {
    HttpResponse::Created().json(body)
}

#[cfg(test)]
mod tests {
    use super::describe_data_error;

    #[test]
    fn type_errors_do_not_echo_the_value() {
        let message = describe_data_error(
            "invalid type: string \"sk-secret\", expected a sequence at line 1 column 20",
        );
        assert_eq!(message, "invalid type, expected a sequence");
    }

    #[test]
    fn missing_fields_are_named() {
        assert_eq!(
            describe_data_error("missing field `name` at line 1 column 2"),
            "missing field `name`"
        );
    }
}
