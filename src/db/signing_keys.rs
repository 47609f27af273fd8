use chrono::{DateTime, Utc};
use entity::signing_key;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    JsonValue, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use uuid::Uuid;

use crate::crypto::signing_key_context;
use crate::crypto::Crypto;

pub struct NewKey {
    pub tenant_id: Uuid,
    pub kid: String,
    pub private_key_enc: String,
    pub public_jwk: JsonValue,
    pub signs_from: DateTime<Utc>,
}

pub async fn insert(
    db: &impl ConnectionTrait,
    key: NewKey,
    now: DateTime<Utc>,
) -> Result<signing_key::Model, DbErr> {
    signing_key::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(key.tenant_id),
        kid: Set(key.kid),
        alg: Set("ES256".to_owned()),
        private_key_enc: Set(key.private_key_enc),
        public_jwk: Set(key.public_jwk),
        signs_from: Set(key.signs_from),
        superseded_at: Set(None),
        withdrawn_at: Set(None),
        created_at: Set(now),
        seal_version: Set(SEAL_VERSION),
    }
    .insert(db)
    .await
}

/// The sealing context new keys get (see `crypto::signing_key_context`).
const SEAL_VERSION: i16 = 2;

/// Re-seals private keys sealed under the legacy context (the `kid` alone) under the tenant's
/// context, in one transaction; the data half of migration 10, which needs the master key. Each
/// update names the version it replaces, so two nodes starting at once cannot clash.
pub async fn reseal_legacy(db: &DatabaseConnection, crypto: &Crypto) -> anyhow::Result<u64> {
    let legacy = signing_key::Entity::find()
        .filter(signing_key::Column::SealVersion.lt(SEAL_VERSION))
        .all(db)
        .await?;
    if legacy.is_empty() {
        return Ok(0);
    }
    let mut resealed = Vec::with_capacity(legacy.len());
    for key in &legacy {
        let private = crypto
            .open(&format!("signing_key:{}", key.kid), &key.private_key_enc)
            .map_err(|_| {
                anyhow::anyhow!(
                    "signing key {} does not open with this master key (check GRANTD_MASTER_KEY)",
                    key.kid
                )
            })?;
        let sealed = crypto.seal(&signing_key_context(key.tenant_id, &key.kid), &private)?;
        resealed.push((key.id, key.seal_version, sealed));
    }
    // Writes only inside the transaction: SQLite cannot turn a reading transaction into a
    // writing one while another connection writes.
    let tx = db.begin().await?;
    let mut count = 0;
    for (id, version, sealed) in resealed {
        count += signing_key::Entity::update_many()
            .col_expr(signing_key::Column::PrivateKeyEnc, Expr::value(sealed))
            .col_expr(signing_key::Column::SealVersion, Expr::value(SEAL_VERSION))
            .filter(signing_key::Column::Id.eq(id))
            .filter(signing_key::Column::SealVersion.eq(version))
            .exec(&tx)
            .await?
            .rows_affected;
    }
    tx.commit().await?;
    tracing::info!(count, "re-sealed signing keys under their tenant's context");
    Ok(count)
}

/// The tenant's keys, oldest first.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> Result<Vec<signing_key::Model>, DbErr> {
    signing_key::Entity::find()
        .filter(signing_key::Column::TenantId.eq(tenant_id))
        .order_by_asc(signing_key::Column::SignsFrom)
        .order_by_asc(signing_key::Column::CreatedAt)
        .all(db)
        .await
}
