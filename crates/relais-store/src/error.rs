//! `store::Error`: what can go wrong in storage, without driver types.

/// A storage failure. Driver errors are flattened to text: callers never match on them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A row the operation needs does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A uniqueness rule refused the write (duplicate email, channel id…).
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The action does not fit the current state (a lost claim, a transition the
    /// status does not allow).
    #[error("{0}")]
    Conflict(String),
    /// The channel's customer-service window is closed and no fallback can carry the
    /// message (SPEC §6); the reason names the window.
    #[error("{reason}")]
    WindowClosed { reason: String },
    /// Internal signal: the inbound message was already stored. The transaction rolls back.
    #[error("duplicate inbound message")]
    DuplicateInbound,
    /// Stored data that does not parse (a corrupted row or an incompatible version).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The database failed (I/O, connection, constraint we did not expect).
    #[error("database error: {0}")]
    Database(String),
    /// The database file or server could not be opened or migrated.
    #[error("cannot open the database: {0}")]
    Open(String),
    /// The store is shutting down or its writer stopped.
    #[error("the store is closed")]
    Closed,
}

/// A constraint the code did not foresee is still the caller's fault, not the server's:
/// a foreign key that points nowhere is a "not found", a duplicate key an "already
/// exists" (answered 404 and 409, never 500).
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            match f.extended_code {
                rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                    return Error::NotFound("a row this refers to".into());
                }
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    return Error::AlreadyExists("a row with the same key".into());
                }
                _ => {}
            }
        }
        Error::Database(e.to_string())
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) if db.code().code() == "23503" => {
                Error::NotFound("a row this refers to".into())
            }
            Some(db) if db.code().code() == "23505" => {
                Error::AlreadyExists("a row with the same key".into())
            }
            Some(db) => Error::Database(format!("{}: {}", db.code().code(), db.message())),
            None => Error::Database(e.to_string()),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Corrupt(e.to_string())
    }
}
