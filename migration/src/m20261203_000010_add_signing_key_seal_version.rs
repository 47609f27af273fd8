use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SigningKey {
    Table,
    SealVersion,
}

/// Which AES-GCM context a private key is sealed under: 1 names the `kid` only, 2 the tenant and
/// the `kid`. Existing rows are 1; grantd re-seals them as 2 at start, where it has the master
/// key that a schema migration does not (`db::signing_keys::reseal_legacy`).
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SigningKey::Table)
                    .add_column(
                        ColumnDef::new(SigningKey::SealVersion)
                            .small_integer()
                            .not_null()
                            .default(1),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SigningKey::Table)
                    .drop_column(SigningKey::SealVersion)
                    .to_owned(),
            )
            .await
    }
}
