//! Connections that all see one consistent snapshot of the database.
//!
//! ferry opens N connections and starts `START TRANSACTION WITH CONSISTENT SNAPSHOT,
//! READ ONLY` on each while a separate connection holds `FLUSH TABLES WITH READ LOCK`,
//! so no commit can land between the snapshots: every table and every partition read
//! through this pool sees the database as of the same instant (InnoDB tables; MyISAM
//! has no snapshots). The lock is held for milliseconds. Without the RELOAD privilege
//! the lock is refused: ferry then warns and uses a single connection, which keeps the
//! snapshot consistent at the cost of parallelism.
//!
//! A snapshot cannot outlive the process: a run resumed after a crash reads a newer
//! snapshot from its checkpoint on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ferry_core::Result;
use mysql_async::Conn;
use mysql_async::prelude::Queryable;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Settings;
use crate::error::remote;

/// A pool of connections inside one snapshot.
#[derive(Debug)]
pub struct Snapshot {
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
    alive: AtomicUsize,
    system: String,
}

/// Opens one connection with ferry's session settings.
///
/// # Errors
/// The server refuses or cannot be reached.
pub async fn connect(settings: &Settings, endpoint: &str) -> Result<Conn> {
    Conn::new(settings.opts.clone())
        .await
        .map_err(|e| remote(settings, endpoint, e))
}

impl Snapshot {
    /// Opens `settings.connections` connections in one snapshot.
    ///
    /// # Errors
    /// The server refuses a connection or the transaction.
    pub async fn open(settings: &Settings) -> Result<Arc<Snapshot>> {
        let mut locker = connect(settings, "snapshot").await?;
        // FLUSH TABLES WITH READ LOCK waits behind long statements and DDL; rather than
        // stall every writer meanwhile, give up after a few seconds.
        let lock = locker.query_drop("SET SESSION lock_wait_timeout = 5").await;
        let lock = match lock {
            Ok(()) => locker.query_drop("FLUSH TABLES WITH READ LOCK").await,
            Err(e) => Err(e),
        };
        let locked = match lock {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(
                    error = %crate::error::scrubbed(settings, &e),
                    "Could not lock the server for a shared snapshot (needs RELOAD); reading through one connection."
                );
                false
            }
        };
        let wanted = if locked { settings.connections } else { 1 };
        let mut conns = Vec::with_capacity(wanted);
        let mut failure = None;
        for _ in 0..wanted {
            match Self::start(settings).await {
                Ok(c) => conns.push(c),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if locked {
            locker
                .query_drop("UNLOCK TABLES")
                .await
                .map_err(|e| remote(settings, "snapshot", e))?;
        }
        // Closing is best effort: the lock is already released.
        let _ = locker.disconnect().await;
        if let Some(e) = failure {
            return Err(e);
        }
        tracing::info!(
            connections = conns.len(),
            shared = locked,
            "Snapshot started."
        );
        let n = conns.len();
        Ok(Arc::new(Snapshot {
            idle: Mutex::new(conns),
            permits: Arc::new(Semaphore::new(n)),
            alive: AtomicUsize::new(n),
            system: settings.system.clone(),
        }))
    }

    async fn start(settings: &Settings) -> Result<Conn> {
        let mut conn = connect(settings, "snapshot").await?;
        conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await
            .map_err(|e| remote(settings, "snapshot", e))?;
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            .await
            .map_err(|e| remote(settings, "snapshot", e))?;
        Ok(conn)
    }

    /// Waits for a free connection of the snapshot.
    ///
    /// # Errors
    /// Every connection of the snapshot was lost.
    pub async fn lease(self: &Arc<Self>) -> Result<Lease> {
        let permit = self.permits.clone().acquire_owned().await.map_err(|_| {
            ferry_core::Error::Remote {
                system: self.system.clone(),
                endpoint: "snapshot".into(),
                message: "every connection of the snapshot was lost; rerun to resume from the last checkpoint with a new snapshot".into(),
                transient: true,
            }
        })?;
        let conn = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match conn {
            Some(conn) => Ok(Lease {
                conn: Some(conn),
                pool: self.clone(),
                permit: Some(permit),
            }),
            None => Err(ferry_core::Error::Remote {
                system: self.system.clone(),
                endpoint: "snapshot".into(),
                message: "no idle connection although one was free".into(),
                transient: false,
            }),
        }
    }

    /// How many connections of the snapshot still work.
    pub fn alive(&self) -> usize {
        self.alive.load(Ordering::SeqCst)
    }
}

/// A connection borrowed from a [`Snapshot`]; given back when dropped.
#[derive(Debug)]
pub struct Lease {
    conn: Option<Conn>,
    pool: Arc<Snapshot>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Lease {
    /// The connection.
    ///
    /// # Errors
    /// Never in practice: only `lost` and `drop` take the connection, and both
    /// consume the lease.
    pub fn conn(&mut self) -> Result<&mut Conn> {
        let system = self.pool.system.clone();
        self.conn.as_mut().ok_or_else(|| ferry_core::Error::Remote {
            system,
            endpoint: "snapshot".into(),
            message: "connection used after it was lost".into(),
            transient: false,
        })
    }

    /// The connection failed: it leaves the snapshot for good (its transaction is
    /// gone, and a new connection could not join the same snapshot).
    pub fn lost(mut self) {
        self.conn = None;
        if let Some(permit) = self.permit.take() {
            permit.forget();
        }
        if self.pool.alive.fetch_sub(1, Ordering::SeqCst) <= 1 {
            self.pool.permits.close();
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take()
            && let Ok(mut idle) = self.pool.idle.lock()
        {
            idle.push(conn);
        }
    }
}
