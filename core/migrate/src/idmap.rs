//! The ID map: canonical key → target id, per entity, in an SQLite file beside the
//! job. Each batch is recorded in one transaction (WAL, `synchronous = FULL`), so a
//! crash loses at most the batch in flight, and the target lookup before creating
//! (see [`crate::load`]) finds what that batch had already created.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ferry_core::{Error, Result};
use rusqlite::{Connection, params};

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The id other records refer to.
    pub target_id: i64,
    /// The id written to (differs when the entity's id comes from a child record).
    pub record_id: i64,
    /// Hash of the values last sent, to tell unchanged records.
    pub hash: String,
}

/// The persistent map.
#[derive(Debug)]
pub struct IdMap {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl IdMap {
    /// Opens (creating) the map at `path`, bound to `target`: a map made for another
    /// target is refused, so ids never leak between systems.
    ///
    /// # Errors
    /// The file cannot be opened, or belongs to another target.
    pub fn open(path: &Path, target: &str) -> Result<IdMap> {
        let err = |e: rusqlite::Error| Error::external(format!("ID map {}", path.display()), e);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS ids (entity TEXT NOT NULL, key TEXT NOT NULL,
                 target_id INTEGER NOT NULL, record_id INTEGER NOT NULL, hash TEXT NOT NULL,
                 PRIMARY KEY (entity, key));
             CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);",
        )
        .map_err(err)?;
        let bound: Option<String> = conn
            .query_row("SELECT v FROM meta WHERE k = 'target'", [], |r| r.get(0))
            .ok();
        match bound {
            Some(t) if t != target => {
                return Err(Error::config(
                    path.display().to_string(),
                    format!("this ID map belongs to {t}, not {target}; use another --ids file"),
                ));
            }
            Some(_) => {}
            None => {
                conn.execute(
                    "INSERT INTO meta (k, v) VALUES ('target', ?1)",
                    params![target],
                )
                .map_err(err)?;
            }
        }
        Ok(IdMap {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        Error::external(format!("ID map {}", self.path.display()), e)
    }

    /// Every entry of `entity`.
    ///
    /// # Errors
    /// The file cannot be read.
    pub fn entries(&self, entity: &str) -> Result<HashMap<String, Entry>> {
        let conn = self.conn.lock().expect("not poisoned");
        let mut stmt = conn
            .prepare("SELECT key, target_id, record_id, hash FROM ids WHERE entity = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![entity], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    Entry {
                        target_id: r.get(1)?,
                        record_id: r.get(2)?,
                        hash: r.get(3)?,
                    },
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Records entries, all or none.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn record(&self, entries: &[(String, String, Entry)]) -> Result<()> {
        let mut conn = self.conn.lock().expect("not poisoned");
        let tx = conn.transaction().map_err(|e| self.err(e))?;
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO ids (entity, key, target_id, record_id, hash) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (entity, key) DO UPDATE SET target_id = excluded.target_id,
                         record_id = excluded.record_id, hash = excluded.hash",
                )
                .map_err(|e| self.err(e))?;
            for (entity, key, e) in entries {
                stmt.execute(params![entity, key, e.target_id, e.record_id, e.hash])
                    .map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_reopening_and_belong_to_one_target() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids.sqlite");
        let map = IdMap::open(&path, "tryton a").unwrap();
        let e = Entry {
            target_id: 7,
            record_id: 3,
            hash: "h".into(),
        };
        map.record(&[("party".into(), "t:1".into(), e.clone())])
            .unwrap();
        drop(map);
        let map = IdMap::open(&path, "tryton a").unwrap();
        assert_eq!(map.entries("party").unwrap()["t:1"], e);
        assert!(map.entries("product").unwrap().is_empty());
        let err = IdMap::open(&path, "tryton b").unwrap_err().to_string();
        assert!(err.contains("belongs to tryton a"), "{err}");
    }
}
