//! Private signing keys at rest: sealed under their tenant and `kid`, and keys sealed under the
//! legacy context (the `kid` alone) re-sealed when grantd starts.
use base64::Engine;
use entity::signing_key;
use grantd::crypto::Crypto;
use grantd::state::signing_key_context;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

use crate::helpers::{spawn_node, test_database, verify_with_jwks, StoreKind};

#[tokio::test]
async fn keys_sealed_under_the_kid_alone_are_resealed_under_their_tenant_at_start() {
    let database = test_database().await;
    let node = spawn_node(&database, StoreKind::Memory).await;
    let f = node.fixture().await;
    let master: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(&database.master_key)
        .unwrap()
        .try_into()
        .unwrap();
    let crypto = Crypto::new(&master);
    let db = sea_orm::Database::connect(&database.url).await.unwrap();
    // The database holds this one tenant and its one key.
    let key = signing_key::Entity::find().one(&db).await.unwrap().unwrap();
    assert_eq!(key.seal_version, 2, "new keys are tenant-bound");
    let pkcs8 = crypto
        .open(
            &signing_key_context(key.tenant_id, &key.kid),
            &key.private_key_enc,
        )
        .unwrap();
    // Make the row what a release before the tenant-bound context wrote.
    let mut legacy: signing_key::ActiveModel = key.clone().into();
    legacy.private_key_enc = Set(crypto
        .seal(&format!("signing_key:{}", key.kid), &pkcs8)
        .unwrap());
    legacy.seal_version = Set(1);
    legacy.update(&db).await.unwrap();

    let restarted = spawn_node(&database, StoreKind::Memory).await;
    let resealed = signing_key::Entity::find_by_id(key.id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(resealed.seal_version, 2);
    assert_eq!(
        crypto
            .open(
                &signing_key_context(key.tenant_id, &key.kid),
                &resealed.private_key_enc
            )
            .unwrap(),
        pkcs8
    );
    assert!(crypto
        .open(
            &format!("signing_key:{}", key.kid),
            &resealed.private_key_enc
        )
        .is_err());
    let (status, body) = restarted
        .post_token(
            &f.slug,
            Some((&f.client_id, &f.client_secret)),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The restarted node listens elsewhere, so its issuer differs from the first node's.
    let claims = verify_with_jwks(
        &restarted,
        &f.slug,
        body["access_token"].as_str().unwrap(),
        &restarted.url(&format!("/t/{}", f.slug)),
    )
    .await;
    assert_eq!(claims["client_id"], f.client_id);
}
