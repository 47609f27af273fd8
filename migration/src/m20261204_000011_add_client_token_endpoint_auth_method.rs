use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Client {
    Table,
    TokenEndpointAuthMethod,
}

/// The method a client is held to (RFC 7591 name). Null for every existing client: it keeps
/// accepting what it accepted before (both secret methods, or `none` for a public client).
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Client::Table)
                    .add_column(
                        ColumnDef::new(Client::TokenEndpointAuthMethod)
                            .string()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Client::Table)
                    .drop_column(Client::TokenEndpointAuthMethod)
                    .to_owned(),
            )
            .await
    }
}
