use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SigningKey {
    Table,
    Id,
    TenantId,
    Kid,
    Alg,
    PrivateKeyEnc,
    PublicJwk,
    SignsFrom,
    SupersededAt,
    WithdrawnAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Tenant {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SigningKey::Table)
                    .col(
                        ColumnDef::new(SigningKey::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(SigningKey::TenantId).uuid().not_null())
                    .col(
                        ColumnDef::new(SigningKey::Kid)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(SigningKey::Alg).string_len(16).not_null())
                    .col(ColumnDef::new(SigningKey::PrivateKeyEnc).text().not_null())
                    .col(
                        ColumnDef::new(SigningKey::PublicJwk)
                            .json_binary()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SigningKey::SignsFrom)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(SigningKey::SupersededAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SigningKey::WithdrawnAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(SigningKey::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SigningKey::Table, SigningKey::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_signing_key_tenant")
                    .table(SigningKey::Table)
                    .col(SigningKey::TenantId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SigningKey::Table).to_owned())
            .await
    }
}
