//! The audit log. Events are queued in memory and written in batches by one task, off the request
//! path, so that issuing a token never waits for a database write; `close` drains the queue on a
//! clean shutdown so that nothing issued goes unrecorded.
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::{DatabaseConnection, TransactionTrait};

use crate::db::audit_events::NewEvent;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use uuid::Uuid;

const QUEUE: usize = 8_192;
const BATCH: usize = 1_000;

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

/// One event; `detail` must never hold a secret.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub tenant_id: Option<Uuid>,
    pub actor: String,
    pub action: &'static str,
    pub target: String,
    pub outcome: Outcome,
    pub detail: String,
}

pub struct AuditLog {
    tx: mpsc::Sender<NewEvent>,
    stop: Arc<Notify>,
    writer: parking_lot::Mutex<Option<JoinHandle<()>>>,
}

impl AuditLog {
    pub fn start(db: DatabaseConnection) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let stop = Arc::new(Notify::new());
        let writer = tokio::spawn(write_batches(db, rx, stop.clone()));
        Self {
            tx,
            stop,
            writer: parking_lot::Mutex::new(Some(writer)),
        }
    }

    pub async fn record(&self, entry: AuditEntry) {
        let row = NewEvent {
            id: Uuid::now_v7(),
            tenant_id: entry.tenant_id,
            at: Utc::now(),
            actor: entry.actor,
            action: entry.action,
            target: entry.target,
            outcome: entry.outcome.as_str(),
            detail: entry.detail,
        };
        if self.tx.send(row).await.is_err() {
            tracing::error!("audit log closed; an event was not recorded");
        }
    }

    /// Writes everything queued, then stops the writer.
    pub async fn close(&self) {
        self.stop.notify_one();
        let writer = self.writer.lock().take();
        if let Some(writer) = writer {
            let _ = writer.await;
        }
    }
}

async fn write_batches(
    db: DatabaseConnection,
    mut rx: mpsc::Receiver<NewEvent>,
    stop: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            received = rx.recv_many(&mut batch, BATCH) => {
                if received == 0 {
                    return;
                }
                write_with_retry(&db, &mut batch).await;
            }
            _ = stop.notified() => {
                rx.close();
                while rx.recv_many(&mut batch, BATCH).await > 0 {
                    write_with_retry(&db, &mut batch).await;
                }
                return;
            }
        }
    }
}

/// One transaction per batch, so that a retry never writes part of a batch twice.
async fn write_batch(db: &DatabaseConnection, batch: &[NewEvent]) -> Result<(), sea_orm::DbErr> {
    let txn = db.begin().await?;
    crate::db::audit_events::insert_many(&txn, batch).await?;
    txn.commit().await
}

async fn write_with_retry(db: &DatabaseConnection, batch: &mut Vec<NewEvent>) {
    let mut delay = Duration::from_millis(50);
    for attempt in 1..=20 {
        match write_batch(db, batch).await {
            Ok(()) => {
                batch.clear();
                return;
            }
            Err(e) => {
                tracing::warn!(attempt, error.cause_chain = ?e, "writing audit events failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
        }
    }
    tracing::error!(lost = batch.len(), "audit events could not be written");
    batch.clear();
}
