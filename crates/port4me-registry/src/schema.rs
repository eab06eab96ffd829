//! The database schema, created whole in one transaction.
//!
//! `PRAGMA application_id` marks the file as a port4me registry and `PRAGMA
//! user_version` holds the schema version. A later version will migrate
//! forward inside one `BEGIN IMMEDIATE` transaction, so concurrent first
//! opens agree on one result and a failed migration leaves the file as it
//! was.
//!
//! Files written by pre-release builds carry another application id
//! ([`PRE_RELEASE_APPLICATION_ID`]) and are refused by name: no release
//! ever wrote them, so no migration path is kept for them.

use rusqlite::Connection;

use crate::Protocol;

/// `PRAGMA application_id` of a port4me registry: "P4RG" in ASCII.
pub const APPLICATION_ID: i64 = 0x5034_5247;

/// `PRAGMA application_id` of the files that pre-release builds wrote:
/// "P4ME" in ASCII.
pub const PRE_RELEASE_APPLICATION_ID: i64 = 0x5034_4D45;

/// The schema version this build writes and understands.
pub const SCHEMA_VERSION: i64 = 1;

/// The module-name prefix of the rows that mirror the holdings that are not
/// module ranges: `port4me:service:NAME`, `port4me:registration:ID`,
/// `port4me:lease:ID`. `allocate` refuses module names that begin with it.
pub const MIRROR_PREFIX: &str = "port4me:";

/// The whole schema.
///
/// * `TCP_PORTS` / `UDP_PORTS` `(start, end, module)`: module ranges, kept in
///   exactly this shape so `SELECT *, 'tcp' FROM TCP_PORTS UNION SELECT *,
///   'udp' FROM UDP_PORTS;` works. `module_owners` records the OS user who
///   allocated a range through port4me; rows that other tools insert have
///   none.
/// * `services`, `service_ports`, `expired_offers`: defined services with
///   who defined them, their offers and allocations with who made and who
///   accepted them, and recently expired offers (to tell an expired secret
///   from an unknown one). Secrets are stored as their SHA-256 in 64 hex
///   digits, never in plain text.
/// * `registrations`: named services per user with their owner process, the
///   directory it ran in and its command line; for the ones `port4me run`
///   and the Vite plugin hold, also the port4me tool and seed the port came
///   from and the worktree of the directory (what `port4me ps` shows).
/// * `leases`: reserved port4me results, with the same owner and `ps`
///   fields (the seed is the label).
/// * `claims`: one row per port interval that any of the above holds, per
///   protocol. Triggers on the holder tables keep it in step, and a trigger
///   on `claims` aborts any insert that would overlap an existing claim, so
///   the database itself refuses to hand out a port twice. Offers and
///   allocations live inside their service's claimed range. Each claim
///   also records the free run after it (`gap`), with a partial index on
///   the claims that have one, so first fit skips packed claims.
/// * Mirror rows in the module tables for every other holding (the
///   triggers that keep them are described where they are made).
///
/// The owners of registrations and leases are indexed by machine first,
/// `(host, pid_ns, boot_id, pid, pid_start)`: every write's housekeeping
/// asks for the owners on this machine and for the rows of an earlier boot,
/// and this index answers both without reading the rows.
pub fn sql() -> String {
    format!("{TABLES_SQL}{CLAIM_RULES}{}", mirror_triggers())
}

const TABLES_SQL: &str = r#"
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
    created     INTEGER NOT NULL,
    uid         INTEGER,
    user        TEXT
);
CREATE TABLE service_ports (
    service_id INTEGER NOT NULL REFERENCES services (id),
    instance   TEXT    NOT NULL,
    port       INTEGER NOT NULL,
    secret_sha256 TEXT NOT NULL UNIQUE,
    state      TEXT    NOT NULL CHECK (state IN ('offered', 'allocated')),
    created    INTEGER NOT NULL,
    expires    INTEGER,
    accepted   INTEGER,
    uid        INTEGER,
    user       TEXT,
    offered_uid  INTEGER,
    offered_user TEXT,
    PRIMARY KEY (service_id, port),
    UNIQUE (service_id, instance),
    CHECK ((state = 'offered') = (expires IS NOT NULL))
);
CREATE INDEX service_ports_expires ON service_ports (expires) WHERE expires IS NOT NULL;
CREATE TABLE expired_offers (
    secret_sha256 TEXT PRIMARY KEY,
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
    directory TEXT    NOT NULL DEFAULT '',
    command   TEXT    NOT NULL DEFAULT '',
    tool      TEXT    NOT NULL DEFAULT '',
    seed      TEXT    NOT NULL DEFAULT '',
    worktree  TEXT    NOT NULL DEFAULT '',
    UNIQUE (uid, name)
);
CREATE INDEX registrations_owner ON registrations (host, pid_ns, boot_id, pid, pid_start);
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
    expires   INTEGER NOT NULL,
    directory TEXT    NOT NULL DEFAULT '',
    command   TEXT    NOT NULL DEFAULT '',
    tool      TEXT    NOT NULL DEFAULT '',
    worktree  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX leases_expires ON leases (expires);
CREATE INDEX leases_owner ON leases (host, pid_ns, boot_id, pid, pid_start) WHERE pid IS NOT NULL;
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
CREATE TABLE module_owners (
    protocol TEXT    NOT NULL CHECK (protocol IN ('tcp', 'udp')),
    start    INTEGER NOT NULL,
    uid      INTEGER NOT NULL,
    user     TEXT    NOT NULL,
    PRIMARY KEY (protocol, start)
) WITHOUT ROWID;

"#;

const CLAIM_RULES: &str = r#"
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

CREATE TRIGGER service_ports_in_range BEFORE INSERT ON service_ports
WHEN NOT EXISTS (SELECT 1 FROM services AS s WHERE s.id = NEW.service_id AND NEW.port BETWEEN s.start AND s."end")
BEGIN
    SELECT RAISE(ABORT, 'port4me registry invariant: an offer outside its service range');
END;
CREATE TRIGGER service_ports_fixed BEFORE UPDATE OF service_id, port ON service_ports
BEGIN
    SELECT RAISE(ABORT, 'port4me registry invariant: an offer never moves');
END;

"#;

/// The triggers that keep the module tables showing every port held.
///
/// A tool written for the node-level allocator model reads only
/// `TCP_PORTS` / `UDP_PORTS`, picks the first gap and inserts a row. So that
/// it never picks a port a service, a registration or a lease holds, each
/// of those also has a row there, named `port4me:service:NAME`,
/// `port4me:registration:ID` or `port4me:lease:ID` ([`MIRROR_PREFIX`]),
/// which the holder tables' triggers insert and delete together with the
/// holder's claim. A mirror row has no claim of its own (its holder's
/// claim covers the same ports), so the module triggers skip it. While its
/// holder exists, a mirror row cannot be deleted or changed (a trigger says
/// what holds it and how to release that), and a row whose name has the
/// prefix can only be inserted as the exact mirror of an existing holder
/// that has none yet.
///
/// The triggers use only SQL that old SQLite libraries parse (a literal
/// message in `RAISE`, no window or JSON functions): other programs' SQLite
/// reads this schema too.
fn mirror_triggers() -> String {
    let mut sql = String::new();
    // What holds the ports of a row `x` of `table` named as a mirror of `kind`.
    let holder = |kind: &str, p: &str, x: &str| match kind {
        "service" => format!(
            r#"SELECT 1 FROM services AS s WHERE s.protocol = '{p}' AND s.start = {x}.start AND s."end" = {x}."end" AND {x}.module = 'port4me:service:' || s.name"#
        ),
        "registration" => format!(
            r#"SELECT 1 FROM registrations AS r WHERE r.protocol = '{p}' AND r.port = {x}.start AND {x}."end" = {x}.start AND {x}.module = 'port4me:registration:' || r.id"#
        ),
        _ => format!(
            r#"SELECT 1 FROM leases AS l WHERE l.protocol = '{p}' AND l.port = {x}.start AND {x}."end" = {x}.start AND {x}.module = 'port4me:lease:' || l.id"#
        ),
    };
    let is_mirror = |kind: &str, p: &str, x: &str| {
        let prefix = format!("port4me:{kind}:");
        format!("(substr({x}.module, 1, {}) = '{prefix}' AND EXISTS ({}))", prefix.len(), holder(kind, p, x))
    };
    const KINDS: [&str; 3] = ["lease", "registration", "service"];
    const RESERVED: &str = "port4me registry: module names that begin with \"port4me:\" are reserved for the rows \
        that mirror port4me services, registrations and leases; choose another module name";
    let refusal = |kind: &str| {
        let (what, release) = match kind {
            "service" => (
                "a port4me service (its name follows \"port4me:service:\")",
                "it goes when the service is undefined: port4me registry undefine NAME",
            ),
            "registration" => (
                "a port4me registration (its id follows \"port4me:registration:\"; port4me registry holder PORT names it)",
                "it goes when its owner releases it (port4me registry release NAME) or its owner process exits",
            ),
            _ => (
                "a port4me --reserve lease (its id follows \"port4me:lease:\"; port4me registry holder PORT names it)",
                "it goes when the lease expires, when its owner process exits, or when its owner releases it \
                 (port4me registry release lease PORT)",
            ),
        };
        format!(
            "port4me registry: this row mirrors {what} so that tools reading only TCP_PORTS and UDP_PORTS see \
             its ports; it cannot be deleted or changed by hand: {release}"
        )
    };
    for (table, p) in [("TCP_PORTS", "tcp"), ("UDP_PORTS", "udp")] {
        let backed_new = KINDS.map(|k| is_mirror(k, p, "NEW")).join(" OR ");
        sql.push_str(&format!(
            r#"CREATE TRIGGER {table}_claim AFTER INSERT ON {table}
WHEN substr(NEW.module, 1, 8) <> 'port4me:'
BEGIN
    DELETE FROM module_owners WHERE protocol = '{p}' AND start = NEW.start;
    INSERT INTO claims (protocol, start, "end", kind) VALUES ('{p}', NEW.start, NEW."end", 'module');
END;
CREATE TRIGGER {table}_unclaim AFTER DELETE ON {table} BEGIN
    DELETE FROM claims WHERE protocol = '{p}' AND start = OLD.start AND kind = 'module';
    DELETE FROM module_owners WHERE protocol = '{p}' AND start = OLD.start;
END;
CREATE TRIGGER {table}_reclaim AFTER UPDATE OF start, "end" ON {table}
WHEN EXISTS (SELECT 1 FROM claims WHERE protocol = '{p}' AND start = OLD.start AND kind = 'module')
BEGIN
    DELETE FROM claims WHERE protocol = '{p}' AND start = OLD.start AND kind = 'module';
    INSERT INTO claims (protocol, start, "end", kind) VALUES ('{p}', NEW.start, NEW."end", 'module');
    UPDATE module_owners SET start = NEW.start WHERE protocol = '{p}' AND start = OLD.start;
END;
CREATE TRIGGER {table}_reserved BEFORE INSERT ON {table}
WHEN substr(NEW.module, 1, 8) = 'port4me:'
     AND (NOT ({backed_new}) OR EXISTS (SELECT 1 FROM {table} WHERE module = NEW.module))
BEGIN
    SELECT RAISE(ABORT, '{RESERVED}');
END;
CREATE TRIGGER {table}_reserved_rename BEFORE UPDATE OF module ON {table}
WHEN substr(NEW.module, 1, 8) = 'port4me:' AND NEW.module IS NOT OLD.module
BEGIN
    SELECT RAISE(ABORT, '{RESERVED}');
END;
"#
        ));
        for kind in KINDS {
            let old = is_mirror(kind, p, "OLD");
            let msg = refusal(kind).replace('\'', "''");
            for (op, event) in [("delete", "DELETE"), ("update", "UPDATE")] {
                sql.push_str(&format!(
                    "CREATE TRIGGER {table}_mirror_{kind}_{op} BEFORE {event} ON {table}\nWHEN {old}\nBEGIN\n    SELECT RAISE(ABORT, '{msg}');\nEND;\n"
                ));
            }
        }
    }
    // The holders: a claim and a mirror row each, kept in step.
    let holders = [
        (
            "services",
            "service",
            "start",
            r#""end""#,
            "'port4me:service:' || {R}.name",
            "protocol, start, \"end\", name",
        ),
        ("registrations", "registration", "port", "port", "'port4me:registration:' || {R}.id", "protocol, port"),
        ("leases", "lease", "port", "port", "'port4me:lease:' || {R}.id", "protocol, port"),
    ];
    for (table, kind, start, end, name, moved) in holders {
        let name_of = |r: &str| name.replace("{R}", r);
        let (new_name, old_name) = (name_of("NEW"), name_of("OLD"));
        let changed = moved.split(", ").map(|c| format!("OLD.{c} IS NOT NEW.{c}")).collect::<Vec<_>>().join(" OR ");
        let insert = format!(
            r#"    INSERT INTO claims (protocol, start, "end", kind) VALUES (NEW.protocol, NEW.{start}, NEW.{end}, '{kind}');
    INSERT INTO TCP_PORTS (start, "end", module) SELECT NEW.{start}, NEW.{end}, {new_name} WHERE NEW.protocol = 'tcp';
    INSERT INTO UDP_PORTS (start, "end", module) SELECT NEW.{start}, NEW.{end}, {new_name} WHERE NEW.protocol = 'udp';
"#
        );
        let delete = format!(
            r#"    DELETE FROM claims WHERE protocol = OLD.protocol AND start = OLD.{start} AND kind = '{kind}';
    DELETE FROM TCP_PORTS WHERE OLD.protocol = 'tcp' AND start = OLD.{start} AND module = {old_name};
    DELETE FROM UDP_PORTS WHERE OLD.protocol = 'udp' AND start = OLD.{start} AND module = {old_name};
"#
        );
        sql.push_str(&format!(
            r#"
CREATE TRIGGER {table}_claim AFTER INSERT ON {table} BEGIN
{insert}END;
CREATE TRIGGER {table}_unclaim AFTER DELETE ON {table} BEGIN
{delete}END;
CREATE TRIGGER {table}_reclaim AFTER UPDATE OF {moved} ON {table}
WHEN {changed}
BEGIN
{delete}{insert}END;
"#
        ));
    }
    sql
}

/// What the header pragmas and the schema say about a database file.
#[derive(Debug)]
pub(crate) struct Header {
    pub user_version: i64,
    pub application_id: i64,
    pub objects: i64,
}

/// Reads the header, inside a transaction or outside one. Fails (without
/// writing anything) on a file that is not an SQLite database.
pub(crate) fn header(conn: &Connection) -> rusqlite::Result<Header> {
    // One statement, so one read transaction: the three values come from
    // the same snapshot even while another process is creating the schema.
    conn.prepare_cached(
        "SELECT (SELECT user_version FROM pragma_user_version), \
         (SELECT application_id FROM pragma_application_id), (SELECT count(*) FROM sqlite_schema)",
    )?
    .query_row([], |r| Ok(Header { user_version: r.get(0)?, application_id: r.get(1)?, objects: r.get(2)? }))
}

/// Creates the schema in an empty database. Must run inside a write
/// transaction; returns the version found before.
pub(crate) fn create(conn: &Connection) -> rusqlite::Result<i64> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found == 0 {
        conn.execute_batch(&sql())?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    Ok(found)
}

/// Whether a file that claims no schema version has our tables already:
/// its `user_version` was set back by another program.
pub(crate) fn version_set_back(conn: &Connection, user_version: i64) -> rusqlite::Result<bool> {
    if user_version != 0 {
        return Ok(false);
    }
    conn.query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'registrations'", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n > 0)
}

/// The module table of `protocol`: `TCP_PORTS` or `UDP_PORTS`.
pub(crate) fn module_table(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Tcp => "TCP_PORTS",
        Protocol::Udp => "UDP_PORTS",
    }
}

/// A text column as a string whatever another tool stored in it: invalid
/// UTF-8 and blobs lossily, numbers as written.
pub(crate) fn lossy(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<String> {
    Ok(match r.get_ref(i)? {
        rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => {
            String::from_utf8_lossy(b).into_owned()
        }
        rusqlite::types::ValueRef::Integer(n) => n.to_string(),
        rusqlite::types::ValueRef::Real(x) => x.to_string(),
        rusqlite::types::ValueRef::Null => String::new(),
    })
}

/// The names of our tables, used by the inspection helpers in tests.
pub const TABLES: &[&str] = &[
    "TCP_PORTS",
    "UDP_PORTS",
    "services",
    "service_ports",
    "expired_offers",
    "registrations",
    "leases",
    "claims",
    "module_owners",
];

/// `Some(name)` of a table of ours that is missing (a damaged schema).
pub(crate) fn missing_table(conn: &Connection) -> rusqlite::Result<Option<&'static str>> {
    let found: Vec<String> = conn
        .prepare_cached("SELECT name FROM sqlite_schema WHERE type = 'table'")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(TABLES.iter().copied().find(|t| !found.iter().any(|f| f == t)))
}
