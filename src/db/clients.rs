use entity::client;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

pub async fn insert(
    db: &impl ConnectionTrait,
    model: client::ActiveModel,
) -> Result<client::Model, DbErr> {
    model.insert(db).await
}

pub async fn find_by_client_id(
    db: &impl ConnectionTrait,
    client_id: &str,
) -> Result<Option<client::Model>, DbErr> {
    client::Entity::find()
        .filter(client::Column::ClientId.eq(client_id))
        .one(db)
        .await
}

pub async fn update(
    db: &impl ConnectionTrait,
    model: client::ActiveModel,
) -> Result<client::Model, DbErr> {
    model.update(db).await
}
