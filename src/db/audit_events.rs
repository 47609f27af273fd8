use entity::audit_event;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

/// One row of the audit log, as the batch writer inserts it.
pub struct NewEvent {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor: String,
    pub action: &'static str,
    pub target: String,
    pub outcome: &'static str,
    pub detail: String,
}

/// Rows per statement. Few distinct sizes keep the driver's prepared-statement cache small;
/// plain SQL keeps the writer cheap at tens of thousands of rows a second.
const SIZES: [usize; 3] = [128, 16, 1];

pub async fn insert_many(db: &impl ConnectionTrait, events: &[NewEvent]) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let mut rest = events;
    while !rest.is_empty() {
        let size = SIZES.into_iter().find(|s| *s <= rest.len()).unwrap_or(1);
        let (chunk, tail) = rest.split_at(size);
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(size * 8);
        for e in chunk {
            values.extend([
                e.id.into(),
                e.tenant_id.into(),
                e.at.into(),
                e.actor.clone().into(),
                e.action.into(),
                e.target.clone().into(),
                e.outcome.into(),
                e.detail.clone().into(),
            ]);
        }
        let sql = insert_sql(backend, size);
        db.execute(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
        .await?;
        rest = tail;
    }
    Ok(())
}

fn insert_sql(backend: sea_orm::DatabaseBackend, rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO audit_event (id, tenant_id, at, actor, action, target, outcome, detail) VALUES ",
    );
    for row in 0..rows {
        if row > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..8 {
            if column > 0 {
                sql.push(',');
            }
            match backend {
                sea_orm::DatabaseBackend::Postgres => {
                    sql.push_str(&format!("${}", row * 8 + column + 1))
                }
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    // A batch whose commit succeeded but whose answer was lost is written again by the retry:
    // the ids it already wrote are skipped, so the retry neither fails nor writes twice.
    sql.push_str(" ON CONFLICT (id) DO NOTHING");
    sql
}

/// A page of the tenant's events, newest first, strictly older than `before` when given.
pub async fn page(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<audit_event::Model>, DbErr> {
    let mut query = audit_event::Entity::find().filter(audit_event::Column::TenantId.eq(tenant_id));
    if let Some(before) = before {
        query = query.filter(audit_event::Column::Id.lt(before));
    }
    query
        .order_by_desc(audit_event::Column::Id)
        .limit(limit)
        .all(db)
        .await
}
