use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

// The column names are the entity's; the lint does not know they are table-qualified.
#[allow(clippy::enum_variant_names)]
#[derive(DeriveIden)]
enum Client {
    Table,
    Id,
    TenantId,
    ClientId,
    Name,
    ClientType,
    SecretHash,
    GrantTypes,
    RedirectUris,
    Scopes,
    AppIds,
    CredentialProfiles,
    Exchange,
    RateLimit,
    CreatedAt,
    UpdatedAt,
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
                    .table(Client::Table)
                    .col(ColumnDef::new(Client::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Client::TenantId).uuid().not_null())
                    .col(
                        ColumnDef::new(Client::ClientId)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Client::Name).string().not_null())
                    .col(ColumnDef::new(Client::ClientType).string_len(16).not_null())
                    .col(ColumnDef::new(Client::SecretHash).string_len(64).null())
                    .col(ColumnDef::new(Client::GrantTypes).json_binary().not_null())
                    .col(
                        ColumnDef::new(Client::RedirectUris)
                            .json_binary()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Client::Scopes).json_binary().not_null())
                    .col(ColumnDef::new(Client::AppIds).json_binary().not_null())
                    .col(
                        ColumnDef::new(Client::CredentialProfiles)
                            .json_binary()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Client::Exchange).json_binary().null())
                    .col(ColumnDef::new(Client::RateLimit).json_binary().null())
                    .col(
                        ColumnDef::new(Client::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Client::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Client::Table, Client::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_client_tenant")
                    .table(Client::Table)
                    .col(Client::TenantId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Client::Table).to_owned())
            .await
    }
}
