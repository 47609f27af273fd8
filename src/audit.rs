//! The audit log. Events are queued in memory and written in batches by one task, off the request
//! path, so that issuing a token never waits for a database write; `close` drains the queue on a
//! clean shutdown so that nothing issued goes unrecorded.
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{DatabaseConnection, TransactionTrait};

use crate::db::audit_events::NewEvent;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

const QUEUE: usize = 8_192;
const BATCH: usize = 1_000;
/// How long `record` waits for room in a full queue before refusing.
const QUEUE_WAIT: Duration = Duration::from_secs(1);
/// One attempt at writing a batch.
const WRITE_DEADLINE: Duration = Duration::from_secs(5);
/// How long a stopping node keeps trying to write what is queued.
const CLOSE_BUDGET: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Granted,
    Refused,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Refused => "refused",
        }
    }
}

/// What an audit event records. The wire names are `<thing>.<what happened>`, admin changes
/// `admin.<thing>.<verb>`; `key.rotated` and `revocation.bulk` are the contract's names for the
/// two security operations that are not changes to one admin object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    TokenIssued,
    TokenRefreshed,
    TokenExchanged,
    TokenRevoked,
    RevocationBulk,
    KeyRotated,
    KeyContextRead,
    LoginFailed,
    RateLimitExceeded,
    Admin(AdminThing, AdminVerb),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminThing {
    Tenant,
    App,
    Client,
    User,
    ApiKey,
    CredentialProfile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminVerb {
    Created,
    Updated,
    Deleted,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        use AdminThing as T;
        use AdminVerb as V;
        match self {
            Self::TokenIssued => "token.issued",
            Self::TokenRefreshed => "token.refreshed",
            Self::TokenExchanged => "token.exchanged",
            Self::TokenRevoked => "token.revoked",
            Self::RevocationBulk => "revocation.bulk",
            Self::KeyRotated => "key.rotated",
            Self::KeyContextRead => "key_context.read",
            Self::LoginFailed => "login.failed",
            Self::RateLimitExceeded => "rate_limit.exceeded",
            Self::Admin(thing, verb) => match (thing, verb) {
                (T::Tenant, V::Created) => "admin.tenant.created",
                (T::Tenant, V::Updated) => "admin.tenant.updated",
                (T::Tenant, V::Deleted) => "admin.tenant.deleted",
                (T::App, V::Created) => "admin.app.created",
                (T::App, V::Updated) => "admin.app.updated",
                (T::App, V::Deleted) => "admin.app.deleted",
                (T::Client, V::Created) => "admin.client.created",
                (T::Client, V::Updated) => "admin.client.updated",
                (T::Client, V::Deleted) => "admin.client.deleted",
                (T::User, V::Created) => "admin.user.created",
                (T::User, V::Updated) => "admin.user.updated",
                (T::User, V::Deleted) => "admin.user.deleted",
                (T::ApiKey, V::Created) => "admin.api_key.created",
                (T::ApiKey, V::Updated) => "admin.api_key.updated",
                (T::ApiKey, V::Deleted) => "admin.api_key.deleted",
                (T::CredentialProfile, V::Created) => "admin.credential_profile.created",
                (T::CredentialProfile, V::Updated) => "admin.credential_profile.updated",
                (T::CredentialProfile, V::Deleted) => "admin.credential_profile.deleted",
            },
        }
    }
}

/// One event; `detail` must never hold a secret.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub tenant_id: Option<Uuid>,
    pub actor: String,
    pub action: AuditAction,
    pub target: String,
    pub outcome: Outcome,
    pub detail: String,
}

pub struct AuditLog {
    tx: mpsc::Sender<NewEvent>,
    /// Set by `close`: the moment the writer gives up on a database that does not answer.
    stop: watch::Sender<Option<Instant>>,
    writer: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

/// The queue stayed full for `QUEUE_WAIT`: the database is not keeping up (or is down), and
/// whatever this event records must not happen unrecorded.
#[derive(Debug, thiserror::Error)]
#[error("the audit log is not keeping up; the event was not recorded")]
pub struct Backlogged;

impl AuditLog {
    pub fn start(db: DatabaseConnection) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (stop, stopping) = watch::channel(None);
        let writer = tokio::spawn(write_batches(db, rx, stopping));
        Self {
            tx,
            stop,
            writer: parking_lot::Mutex::new(Some(writer)),
        }
    }

    /// Queues an event, waiting at most `QUEUE_WAIT` for room (backpressure: a slow database
    /// slows issuance down instead of growing memory, and a stopped one refuses it).
    pub async fn record(&self, entry: AuditEntry) -> Result<(), Backlogged> {
        let row = NewEvent {
            id: Uuid::now_v7(),
            tenant_id: entry.tenant_id,
            at: Utc::now(),
            actor: entry.actor,
            action: entry.action.as_str(),
            target: entry.target,
            outcome: entry.outcome.as_str(),
            detail: entry.detail,
        };
        self.tx.send_timeout(row, QUEUE_WAIT).await.map_err(|e| {
            if matches!(e, mpsc::error::SendTimeoutError::Closed(_)) {
                tracing::error!("audit log closed; an event was refused");
            }
            Backlogged
        })
    }

    /// Writes everything queued (giving up after `CLOSE_BUDGET` if the database does not
    /// answer), then stops the writer.
    pub async fn close(&self) {
        self.stop.send_replace(Some(Instant::now() + CLOSE_BUDGET));
        let writer = self.writer.lock().take();
        if let Some(writer) = writer {
            let _ = writer.await;
        }
    }
}

async fn write_batches(
    db: DatabaseConnection,
    mut rx: mpsc::Receiver<NewEvent>,
    mut stopping: watch::Receiver<Option<Instant>>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            received = rx.recv_many(&mut batch, BATCH) => {
                if received == 0 {
                    return;
                }
                if !write_with_retry(&db, &batch, &stopping).await {
                    return give_up(batch.len(), rx);
                }
                batch.clear();
            }
            _ = stopping.changed() => break,
        }
    }
    rx.close();
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        if !write_with_retry(&db, &batch, &stopping).await {
            return give_up(batch.len(), rx);
        }
        batch.clear();
    }
}

/// Says how many events a stopping node could not write: `unwritten` and what is still queued.
fn give_up(unwritten: usize, mut rx: mpsc::Receiver<NewEvent>) {
    rx.close();
    let mut lost = unwritten;
    while rx.try_recv().is_ok() {
        lost += 1;
    }
    tracing::error!(
        lost,
        "the database did not answer before shutdown; audit events were not written"
    );
}

/// Writes `batch`, retrying with backoff: for as long as it takes while the node runs (the
/// bounded queue holds new events back meanwhile), until the give-up moment once it stops.
/// False when it gave up.
async fn write_with_retry(
    db: &DatabaseConnection,
    batch: &[NewEvent],
    stopping: &watch::Receiver<Option<Instant>>,
) -> bool {
    let mut delay = Duration::from_millis(50);
    let mut attempt = 0u64;
    loop {
        attempt += 1;
        match crate::db::within(WRITE_DEADLINE, write_batch(db, batch)).await {
            Ok(()) => return true,
            Err(e) => {
                tracing::warn!(attempt, error.cause_chain = ?e, "writing audit events failed; retrying");
            }
        }
        if stopping
            .borrow()
            .is_some_and(|give_up| Instant::now() >= give_up)
        {
            return false;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// One transaction per batch, so that a retry never writes part of a batch twice.
async fn write_batch(db: &DatabaseConnection, batch: &[NewEvent]) -> Result<(), sea_orm::DbErr> {
    let txn = db.begin().await?;
    crate::db::audit_events::insert_many(&txn, batch).await?;
    txn.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AuditEntry {
        AuditEntry {
            tenant_id: None,
            actor: "test".into(),
            action: AuditAction::TokenIssued,
            target: "jti:x".into(),
            outcome: Outcome::Granted,
            detail: String::new(),
        }
    }

    #[test]
    fn every_action_name_is_dotted_lowercase_and_admin_changes_are_three_part() {
        use AdminThing as T;
        use AdminVerb as V;
        for thing in [
            T::Tenant,
            T::App,
            T::Client,
            T::User,
            T::ApiKey,
            T::CredentialProfile,
        ] {
            for verb in [V::Created, V::Updated, V::Deleted] {
                let name = AuditAction::Admin(thing, verb).as_str();
                let parts: Vec<_> = name.split('.').collect();
                assert_eq!(parts.len(), 3, "{name}");
                assert_eq!(parts[0], "admin");
                assert!(parts[2].ends_with('d'), "{name}: a verb in the past tense");
            }
        }
        for action in [
            AuditAction::TokenIssued,
            AuditAction::TokenRefreshed,
            AuditAction::TokenExchanged,
            AuditAction::TokenRevoked,
            AuditAction::RevocationBulk,
            AuditAction::KeyRotated,
            AuditAction::KeyContextRead,
            AuditAction::LoginFailed,
            AuditAction::RateLimitExceeded,
        ] {
            let name = action.as_str();
            assert_eq!(name.split('.').count(), 2, "{name}");
            assert!(name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'));
        }
    }

    #[tokio::test]
    async fn a_queue_that_stays_full_refuses_instead_of_waiting_for_ever() {
        // A database without the audit table: every write fails, so nothing leaves the queue.
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        let log = AuditLog::start(db);
        let mut accepted = 0;
        let started = std::time::Instant::now();
        while log.record(entry()).await.is_ok() {
            accepted += 1;
            assert!(accepted <= QUEUE + BATCH, "the queue is bounded");
        }
        assert!(accepted >= QUEUE, "refused after {accepted} events");
        assert!(started.elapsed() < QUEUE_WAIT * 3);
    }
}
