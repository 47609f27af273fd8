use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CredentialProfile {
    Table,
    Id,
    TenantId,
    Name,
    Provider,
    SecretEnc,
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
                    .table(CredentialProfile::Table)
                    .col(
                        ColumnDef::new(CredentialProfile::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(CredentialProfile::TenantId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CredentialProfile::Name)
                            .string_len(63)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CredentialProfile::Provider)
                            .string_len(63)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CredentialProfile::SecretEnc)
                            .text()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CredentialProfile::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(CredentialProfile::Table, CredentialProfile::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_credential_profile_tenant_name")
                    .table(CredentialProfile::Table)
                    .col(CredentialProfile::TenantId)
                    .col(CredentialProfile::Name)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CredentialProfile::Table).to_owned())
            .await
    }
}
