//! A database connection whose every call has a deadline. sqlx bounds acquiring a connection but
//! not a statement, so a database that is slowed down (a stalled network, a lock held elsewhere)
//! would hold requests for as long as it stalls; here such a call fails with a connection error
//! instead, which the error types turn into 503 `temporarily_unavailable`.
use std::future::Future;
use std::time::Duration;

use sea_orm::{
    ConnAcquireErr, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    ExecResult, QueryResult, RuntimeErr, Statement, TransactionTrait,
};

/// How long one statement (connection acquisition included) may take on the request path.
pub const STATEMENT_DEADLINE: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct BoundedConnection {
    inner: DatabaseConnection,
    deadline: Duration,
}

impl BoundedConnection {
    pub fn new(inner: DatabaseConnection, deadline: Duration) -> Self {
        Self { inner, deadline }
    }

    /// The connection without deadlines, for work off the request path (the audit writer,
    /// pool statistics).
    pub fn unbounded(&self) -> &DatabaseConnection {
        &self.inner
    }

    /// Begins a transaction whose statements have the same deadline.
    pub async fn begin(&self) -> Result<BoundedTransaction, DbErr> {
        let inner = within(self.deadline, self.inner.begin()).await?;
        Ok(BoundedTransaction {
            inner,
            deadline: self.deadline,
        })
    }
}

/// A transaction whose statements have deadlines; dropped without `commit`, it rolls back.
pub struct BoundedTransaction {
    inner: DatabaseTransaction,
    deadline: Duration,
}

impl BoundedTransaction {
    pub async fn commit(self) -> Result<(), DbErr> {
        within(self.deadline, self.inner.commit()).await
    }
}

/// Runs `call`, or fails with a connection error once `deadline` has passed.
pub async fn within<T>(
    deadline: Duration,
    call: impl Future<Output = Result<T, DbErr>>,
) -> Result<T, DbErr> {
    tokio::time::timeout(deadline, call)
        .await
        .unwrap_or(Err(DbErr::ConnectionAcquire(ConnAcquireErr::Timeout)))
}

macro_rules! bounded_connection_trait {
    ($type:ty) => {
        #[async_trait::async_trait]
        impl ConnectionTrait for $type {
            fn get_database_backend(&self) -> DbBackend {
                self.inner.get_database_backend()
            }

            async fn execute(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
                within(self.deadline, self.inner.execute(stmt)).await
            }

            async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
                within(self.deadline, self.inner.execute_unprepared(sql)).await
            }

            async fn query_one(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
                within(self.deadline, self.inner.query_one(stmt)).await
            }

            async fn query_all(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
                within(self.deadline, self.inner.query_all(stmt)).await
            }

            fn support_returning(&self) -> bool {
                self.inner.support_returning()
            }
        }
    };
}

bounded_connection_trait!(BoundedConnection);
bounded_connection_trait!(BoundedTransaction);

/// True when `e` says the database could not be reached or did not answer in time (rather than
/// that a statement was wrong): the caller should answer 503 and may retry later.
pub fn is_unavailable(e: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    let sqlx = match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s)) => s,
        _ => return false,
    };
    match sqlx {
        Sqlx::Io(_)
        | Sqlx::Tls(_)
        | Sqlx::Protocol(_)
        | Sqlx::PoolTimedOut
        | Sqlx::PoolClosed
        | Sqlx::WorkerCrashed => true,
        Sqlx::Database(db) => db.code().is_some_and(|code| unavailable_code(&code)),
        _ => false,
    }
}

/// PostgreSQL's SQLSTATEs have five characters: classes 08 (connection exception), 53
/// (insufficient resources) and 57 (operator intervention: shutting down, statement timeout).
/// SQLite's codes are numbers below 10,000: BUSY and LOCKED, extended codes included (their low
/// byte is the primary code).
fn unavailable_code(code: &str) -> bool {
    if code.len() == 5 {
        return ["08", "53", "57"]
            .iter()
            .any(|class| code.starts_with(class));
    }
    code.parse::<u32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_and_timeouts_are_unavailability() {
        assert!(is_unavailable(&DbErr::ConnectionAcquire(
            ConnAcquireErr::Timeout
        )));
        assert!(is_unavailable(&DbErr::Query(RuntimeErr::SqlxError(
            sea_orm::sqlx::Error::PoolTimedOut
        ))));
        assert!(is_unavailable(&DbErr::Exec(RuntimeErr::SqlxError(
            sea_orm::sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into())
        ))));
    }

    #[test]
    fn statement_errors_are_not_unavailability() {
        assert!(!is_unavailable(&DbErr::RecordNotFound("x".into())));
        assert!(!is_unavailable(&DbErr::Query(RuntimeErr::SqlxError(
            sea_orm::sqlx::Error::RowNotFound
        ))));
        assert!(!is_unavailable(&DbErr::Custom("x".into())));
    }

    #[test]
    fn sqlstate_classes_and_sqlite_codes() {
        for code in ["08006", "57P01", "57014", "53300", "5", "6", "517", "262"] {
            assert!(unavailable_code(code), "{code}");
        }
        for code in ["23505", "42P01", "22P02", "22012", "19", "2067", "1"] {
            assert!(!unavailable_code(code), "{code}");
        }
    }

    #[tokio::test]
    async fn a_call_past_its_deadline_is_a_connection_error() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, DbErr>(())
        };
        let result = within(Duration::from_millis(10), slow).await;
        assert!(result.as_ref().is_err_and(is_unavailable), "{result:?}");
    }
}
