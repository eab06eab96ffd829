//! The database schema, its version and the forward migrations.
//!
//! The version lives in `PRAGMA user_version`; `PRAGMA application_id` marks
//! the file as a port4me registry. Migrations run inside one
//! `BEGIN IMMEDIATE` transaction, so concurrent first opens agree on one
//! result and a failed migration leaves the old version intact.

use rusqlite::{Connection, OptionalExtension};

/// `PRAGMA application_id` of a port4me registry: "P4ME" in ASCII.
pub const APPLICATION_ID: i64 = 0x5034_4D45;

/// The newest schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// `MIGRATIONS[i]` takes a database from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[V1];

/// Version 1.
///
/// * `TCP_PORTS` / `UDP_PORTS` `(start, end, module)`: module ranges, kept in
///   exactly this shape so `SELECT *, 'tcp' FROM TCP_PORTS UNION SELECT *,
///   'udp' FROM UDP_PORTS;` works.
/// * `services`, `service_ports`, `expired_offers`: defined services, their
///   offers and allocations, and recently expired offers (to tell an
///   expired secret from an unknown one).
/// * `registrations`: named services per user with their owner process.
/// * `leases`: reserved port4me results.
/// * `claims`: one row per port interval that any of the above holds, per
///   protocol. Triggers on the holder tables keep it in step, and a trigger
///   on `claims` aborts any insert that would overlap an existing claim, so
///   the database itself refuses to hand out a port twice. Offers and
///   allocations live inside their service's claimed range. Each claim
///   also records the free run after it (`gap`), with a partial index on
///   the claims that have one, so first fit skips packed claims.
const V1: &str = r#"
CREATE TABLE TCP_PORTS (
    start  INTEGER NOT NULL CHECK (start BETWEEN 1 AND 65535),
    "end"  INTEGER NOT NULL CHECK ("end" BETWEEN start AND 65535),
    module TEXT    NOT NULL
);
CREATE TABLE UDP_PORTS (
    start  INTEGER NOT NULL CHECK (start BETWEEN 1 AND 65535),
    "end"  INTEGER NOT NULL CHECK ("end" BETWEEN start AND 65535),
    module TEXT    NOT NULL
);
CREATE INDEX TCP_PORTS_module ON TCP_PORTS (module);
CREATE INDEX UDP_PORTS_module ON UDP_PORTS (module);
CREATE INDEX TCP_PORTS_start ON TCP_PORTS (start);
CREATE INDEX UDP_PORTS_start ON UDP_PORTS (start);

CREATE TABLE services (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    protocol    TEXT    NOT NULL DEFAULT 'tcp' CHECK (protocol IN ('tcp', 'udp')),
    start       INTEGER NOT NULL CHECK (start BETWEEN 1 AND 65535),
    "end"       INTEGER NOT NULL CHECK ("end" BETWEEN start AND 65535),
    forced      INTEGER NOT NULL DEFAULT 0,
    created     INTEGER NOT NULL
);
CREATE TABLE service_ports (
    service_id INTEGER NOT NULL REFERENCES services (id),
    instance   TEXT    NOT NULL,
    port       INTEGER NOT NULL,
    secret     TEXT    NOT NULL UNIQUE,
    state      TEXT    NOT NULL CHECK (state IN ('offered', 'allocated')),
    created    INTEGER NOT NULL,
    expires    INTEGER,
    accepted   INTEGER,
    PRIMARY KEY (service_id, port),
    UNIQUE (service_id, instance),
    CHECK ((state = 'offered') = (expires IS NOT NULL))
);
CREATE INDEX service_ports_expires ON service_ports (expires) WHERE expires IS NOT NULL;
CREATE TABLE expired_offers (
    secret   TEXT    PRIMARY KEY,
    service  TEXT    NOT NULL,
    instance TEXT    NOT NULL,
    port     INTEGER NOT NULL,
    expired  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE registrations (
    id        INTEGER PRIMARY KEY,
    name      TEXT    NOT NULL,
    service   TEXT    NOT NULL,
    protocol  TEXT    NOT NULL DEFAULT 'tcp' CHECK (protocol IN ('tcp', 'udp')),
    port      INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    uid       INTEGER NOT NULL,
    user      TEXT    NOT NULL,
    host      TEXT    NOT NULL,
    boot_id   TEXT    NOT NULL,
    pid_ns    TEXT    NOT NULL,
    pid       INTEGER NOT NULL,
    pid_start INTEGER NOT NULL,
    created   INTEGER NOT NULL,
    UNIQUE (uid, name)
);
CREATE INDEX registrations_owner ON registrations (pid, pid_start);
CREATE INDEX registrations_port ON registrations (protocol, port);

CREATE TABLE leases (
    id        INTEGER PRIMARY KEY,
    protocol  TEXT    NOT NULL CHECK (protocol IN ('tcp', 'udp')),
    port      INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),
    label     TEXT    NOT NULL DEFAULT '',
    uid       INTEGER NOT NULL,
    user      TEXT    NOT NULL,
    host      TEXT    NOT NULL,
    boot_id   TEXT    NOT NULL,
    pid_ns    TEXT    NOT NULL,
    pid       INTEGER,
    pid_start INTEGER,
    created   INTEGER NOT NULL,
    expires   INTEGER NOT NULL
);
CREATE INDEX leases_expires ON leases (expires);
CREATE INDEX leases_owner ON leases (pid, pid_start) WHERE pid IS NOT NULL;
CREATE INDEX leases_port ON leases (protocol, port);

CREATE TABLE claims (
    protocol TEXT    NOT NULL CHECK (protocol IN ('tcp', 'udp')),
    start    INTEGER NOT NULL CHECK (start BETWEEN 1 AND 65535),
    "end"    INTEGER NOT NULL CHECK ("end" BETWEEN start AND 65535),
    kind     TEXT    NOT NULL CHECK (kind IN ('module', 'service', 'registration', 'lease')),
    -- Free ports right after this claim: up to the next claim, or to 65535.
    gap      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (protocol, start)
) WITHOUT ROWID;
-- Only claims followed by free ports: first fit walks these, so its cost
-- grows with the number of gaps before the fit, not with the claims.
CREATE INDEX claims_gaps ON claims (protocol, start, "end", gap) WHERE gap > 0;

-- Claims of one protocol never overlap. They are disjoint before the
-- insert, so the only candidate is the last claim starting at or before the
-- new end: one index probe.
CREATE TRIGGER claims_disjoint BEFORE INSERT ON claims
WHEN (SELECT c."end" FROM claims AS c
      WHERE c.protocol = NEW.protocol AND c.start <= NEW."end"
      ORDER BY c.start DESC LIMIT 1) >= NEW.start
BEGIN
    SELECT RAISE(ABORT, 'port4me registry invariant: a port would be held twice');
END;
CREATE TRIGGER claims_immutable BEFORE UPDATE OF protocol, start, "end", kind ON claims
BEGIN
    SELECT RAISE(ABORT, 'port4me registry invariant: claims are never moved');
END;
-- Keep `gap` right: the new claim's own gap, and its predecessor's.
CREATE TRIGGER claims_gap_insert AFTER INSERT ON claims BEGIN
    UPDATE claims SET gap = coalesce((SELECT min(n.start) FROM claims AS n
                                      WHERE n.protocol = NEW.protocol AND n.start > NEW.start), 65536) - NEW."end" - 1
    WHERE protocol = NEW.protocol AND start = NEW.start;
    UPDATE claims SET gap = NEW.start - "end" - 1
    WHERE protocol = NEW.protocol
      AND start = (SELECT max(p.start) FROM claims AS p WHERE p.protocol = NEW.protocol AND p.start < NEW.start);
END;
CREATE TRIGGER claims_gap_delete AFTER DELETE ON claims BEGIN
    UPDATE claims SET gap = coalesce((SELECT min(n.start) FROM claims AS n
                                      WHERE n.protocol = OLD.protocol AND n.start > OLD.start), 65536) - "end" - 1
    WHERE protocol = OLD.protocol
      AND start = (SELECT max(p.start) FROM claims AS p WHERE p.protocol = OLD.protocol AND p.start < OLD.start);
END;

CREATE TRIGGER TCP_PORTS_claim AFTER INSERT ON TCP_PORTS BEGIN
    INSERT INTO claims (protocol, start, "end", kind) VALUES ('tcp', NEW.start, NEW."end", 'module');
END;
CREATE TRIGGER TCP_PORTS_unclaim AFTER DELETE ON TCP_PORTS BEGIN
    DELETE FROM claims WHERE protocol = 'tcp' AND start = OLD.start AND kind = 'module';
END;
CREATE TRIGGER TCP_PORTS_reclaim AFTER UPDATE OF start, "end" ON TCP_PORTS BEGIN
    DELETE FROM claims WHERE protocol = 'tcp' AND start = OLD.start AND kind = 'module';
    INSERT INTO claims (protocol, start, "end", kind) VALUES ('tcp', NEW.start, NEW."end", 'module');
END;
CREATE TRIGGER UDP_PORTS_claim AFTER INSERT ON UDP_PORTS BEGIN
    INSERT INTO claims (protocol, start, "end", kind) VALUES ('udp', NEW.start, NEW."end", 'module');
END;
CREATE TRIGGER UDP_PORTS_unclaim AFTER DELETE ON UDP_PORTS BEGIN
    DELETE FROM claims WHERE protocol = 'udp' AND start = OLD.start AND kind = 'module';
END;
CREATE TRIGGER UDP_PORTS_reclaim AFTER UPDATE OF start, "end" ON UDP_PORTS BEGIN
    DELETE FROM claims WHERE protocol = 'udp' AND start = OLD.start AND kind = 'module';
    INSERT INTO claims (protocol, start, "end", kind) VALUES ('udp', NEW.start, NEW."end", 'module');
END;

CREATE TRIGGER services_claim AFTER INSERT ON services BEGIN
    INSERT INTO claims (protocol, start, "end", kind) VALUES (NEW.protocol, NEW.start, NEW."end", 'service');
END;
CREATE TRIGGER services_unclaim AFTER DELETE ON services BEGIN
    DELETE FROM claims WHERE protocol = OLD.protocol AND start = OLD.start AND kind = 'service';
END;
CREATE TRIGGER services_reclaim AFTER UPDATE OF protocol, start, "end" ON services BEGIN
    DELETE FROM claims WHERE protocol = OLD.protocol AND start = OLD.start AND kind = 'service';
    INSERT INTO claims (protocol, start, "end", kind) VALUES (NEW.protocol, NEW.start, NEW."end", 'service');
END;

CREATE TRIGGER service_ports_in_range BEFORE INSERT ON service_ports
WHEN NOT EXISTS (SELECT 1 FROM services AS s WHERE s.id = NEW.service_id AND NEW.port BETWEEN s.start AND s."end")
BEGIN
    SELECT RAISE(ABORT, 'port4me registry invariant: an offer outside its service range');
END;
CREATE TRIGGER service_ports_fixed BEFORE UPDATE OF service_id, port ON service_ports
BEGIN
    SELECT RAISE(ABORT, 'port4me registry invariant: an offer never moves');
END;

CREATE TRIGGER registrations_claim AFTER INSERT ON registrations BEGIN
    INSERT INTO claims (protocol, start, "end", kind) VALUES (NEW.protocol, NEW.port, NEW.port, 'registration');
END;
CREATE TRIGGER registrations_unclaim AFTER DELETE ON registrations BEGIN
    DELETE FROM claims WHERE protocol = OLD.protocol AND start = OLD.port AND kind = 'registration';
END;
CREATE TRIGGER registrations_reclaim AFTER UPDATE OF protocol, port ON registrations BEGIN
    DELETE FROM claims WHERE protocol = OLD.protocol AND start = OLD.port AND kind = 'registration';
    INSERT INTO claims (protocol, start, "end", kind) VALUES (NEW.protocol, NEW.port, NEW.port, 'registration');
END;

CREATE TRIGGER leases_claim AFTER INSERT ON leases BEGIN
    INSERT INTO claims (protocol, start, "end", kind) VALUES (NEW.protocol, NEW.port, NEW.port, 'lease');
END;
CREATE TRIGGER leases_unclaim AFTER DELETE ON leases BEGIN
    DELETE FROM claims WHERE protocol = OLD.protocol AND start = OLD.port AND kind = 'lease';
END;
CREATE TRIGGER leases_reclaim AFTER UPDATE OF protocol, port ON leases BEGIN
    DELETE FROM claims WHERE protocol = OLD.protocol AND start = OLD.port AND kind = 'lease';
    INSERT INTO claims (protocol, start, "end", kind) VALUES (NEW.protocol, NEW.port, NEW.port, 'lease');
END;
"#;

/// What the header pragmas and the schema say about a database file.
#[derive(Debug)]
pub(crate) struct Header {
    pub user_version: i64,
    pub application_id: i64,
    pub objects: i64,
}

/// Reads the header. Fails (without writing anything) on a file that is not
/// an SQLite database.
pub(crate) fn header(conn: &Connection) -> rusqlite::Result<Header> {
    let user_version = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let application_id = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let objects = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
    Ok(Header { user_version, application_id, objects })
}

/// [`header`] outside a transaction: reads it in one read transaction, so
/// the three values come from the same snapshot even while another process
/// is creating the schema.
pub(crate) fn header_snapshot(conn: &Connection) -> rusqlite::Result<Header> {
    conn.execute_batch("BEGIN DEFERRED")?;
    let h = header(conn);
    let end = if h.is_ok() { conn.execute_batch("COMMIT") } else { conn.execute_batch("ROLLBACK") };
    let h = h?;
    end?;
    Ok(h)
}

/// Applies every migration from the current version on. Must run inside a
/// write transaction; returns the version found before.
pub(crate) fn migrate(conn: &Connection) -> rusqlite::Result<i64> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        conn.execute_batch(sql)?;
        conn.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    if found < SCHEMA_VERSION {
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    Ok(found)
}

/// The names of our tables, used by the inspection helpers in tests.
pub const TABLES: &[&str] =
    &["TCP_PORTS", "UDP_PORTS", "services", "service_ports", "expired_offers", "registrations", "leases", "claims"];

/// `Some(name)` of a table of ours that is missing (a damaged schema).
pub(crate) fn missing_table(conn: &Connection) -> rusqlite::Result<Option<&'static str>> {
    for t in TABLES {
        let found: Option<i64> = conn
            .query_row("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1", [t], |r| r.get(0))
            .optional()?;
        if found.is_none() {
            return Ok(Some(t));
        }
    }
    Ok(None)
}
