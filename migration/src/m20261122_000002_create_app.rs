use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum App {
    Table,
    Id,
    TenantId,
    Name,
    Scopes,
    ApiEnabled,
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
                    .table(App::Table)
                    .col(ColumnDef::new(App::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(App::TenantId).uuid().not_null())
                    .col(ColumnDef::new(App::Name).string().not_null())
                    .col(ColumnDef::new(App::Scopes).json_binary().not_null())
                    .col(ColumnDef::new(App::ApiEnabled).boolean().not_null())
                    .col(
                        ColumnDef::new(App::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(App::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(App::Table, App::TenantId)
                            .to(Tenant::Table, Tenant::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_app_tenant")
                    .table(App::Table)
                    .col(App::TenantId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(App::Table).to_owned())
            .await
    }
}
