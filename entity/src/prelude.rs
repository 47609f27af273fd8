pub use super::api_key::Entity as ApiKey;
pub use super::app::Entity as App;
pub use super::audit_event::Entity as AuditEvent;
pub use super::client::Entity as Client;
pub use super::credential_profile::Entity as CredentialProfile;
pub use super::signing_key::Entity as SigningKey;
pub use super::tenant::Entity as Tenant;
pub use super::user::Entity as User;
