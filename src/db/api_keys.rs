use chrono::{DateTime, Utc};
use entity::api_key;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use uuid::Uuid;

pub async fn insert(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    app_id: Uuid,
    name: &str,
    key_hash: String,
    now: DateTime<Utc>,
) -> Result<api_key::Model, DbErr> {
    api_key::ActiveModel {
        id: Set(Uuid::new_v4()),
        tenant_id: Set(tenant_id),
        app_id: Set(app_id),
        name: Set(name.to_owned()),
        key_hash: Set(key_hash),
        created_at: Set(now),
        last_used_at: Set(None),
    }
    .insert(db)
    .await
}

pub async fn list(db: &impl ConnectionTrait, app_id: Uuid) -> Result<Vec<api_key::Model>, DbErr> {
    api_key::Entity::find()
        .filter(api_key::Column::AppId.eq(app_id))
        .order_by_asc(api_key::Column::CreatedAt)
        .all(db)
        .await
}

pub async fn find_by_hash(
    db: &impl ConnectionTrait,
    key_hash: &str,
) -> Result<Option<api_key::Model>, DbErr> {
    api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(key_hash))
        .one(db)
        .await
}

/// Deletes a key of `app_id`; false when there was none.
pub async fn delete(db: &impl ConnectionTrait, app_id: Uuid, id: Uuid) -> Result<bool, DbErr> {
    let result = api_key::Entity::delete_many()
        .filter(api_key::Column::AppId.eq(app_id))
        .filter(api_key::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

pub async fn touch(db: &impl ConnectionTrait, id: Uuid, now: DateTime<Utc>) -> Result<(), DbErr> {
    api_key::Entity::update_many()
        .col_expr(
            api_key::Column::LastUsedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(api_key::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
