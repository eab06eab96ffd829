//! Helpers shared by the integration tests: an independent look at the
//! database with plain SQL (not through the registry's own code).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

pub const STRESS: &str = env!("CARGO_BIN_EXE_port4me-registry-stress");

pub fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ports.sqlite");
    (dir, path)
}

pub fn raw(path: &Path) -> Connection {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
    c
}

/// `PRAGMA integrity_check`.
pub fn integrity(path: &Path) -> String {
    raw(path).query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The rows of both module tables as `(protocol, start, end, module)`:
/// modules and mirror rows (names beginning with `port4me:`) alike.
const ROWS: &str = r#"(SELECT 'tcp' AS protocol, start, "end", module FROM TCP_PORTS
                       UNION ALL SELECT 'udp', start, "end", module FROM UDP_PORTS)"#;
/// The module rows alone.
const MODULE_ROWS: &str = r#"(SELECT * FROM (SELECT 'tcp' AS protocol, start, "end", module FROM TCP_PORTS
                              UNION ALL SELECT 'udp', start, "end", module FROM UDP_PORTS)
                              WHERE substr(module, 1, 8) <> 'port4me:')"#;
/// What each service, registration and lease should have as a mirror row.
const HOLDINGS: &str = r#"(SELECT protocol, start, "end", 'port4me:service:' || name AS module FROM services
                           UNION ALL SELECT protocol, port, port, 'port4me:registration:' || id FROM registrations
                           UNION ALL SELECT protocol, port, port, 'port4me:lease:' || id FROM leases)"#;

/// Every broken invariant, described. Checked from the holder tables
/// themselves, independently of the `claims` bookkeeping, and then the
/// bookkeeping against them.
pub fn violations(path: &Path) -> Vec<String> {
    let c = raw(path);
    // One read transaction, so the checks see one snapshot.
    c.execute_batch("BEGIN").unwrap();
    let mut v = Vec::new();
    let mirrors: Vec<(&str, String)> = vec![
        (
            "tools that read only TCP_PORTS/UDP_PORTS see a port held twice",
            format!(
                r#"SELECT count(*) FROM (
                       SELECT start, max("end") OVER (PARTITION BY protocol ORDER BY start, "end"
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before FROM {ROWS})
                   WHERE before >= start"#
            ),
        ),
        (
            "a service, registration or lease without its mirror row",
            format!(
                r#"SELECT count(*) FROM {HOLDINGS} AS h WHERE NOT EXISTS (SELECT 1 FROM {ROWS} AS r
                   WHERE r.protocol = h.protocol AND r.start = h.start AND r."end" = h."end" AND r.module = h.module)"#
            ),
        ),
        (
            "a mirror row without its holder",
            format!(
                r#"SELECT count(*) FROM {ROWS} AS r WHERE substr(r.module, 1, 8) = 'port4me:' AND NOT EXISTS (
                   SELECT 1 FROM {HOLDINGS} AS h
                   WHERE r.protocol = h.protocol AND r.start = h.start AND r."end" = h."end" AND r.module = h.module)"#
            ),
        ),
        (
            "a module owner without its module range",
            format!(
                "SELECT count(*) FROM module_owners AS o WHERE NOT EXISTS (
                   SELECT 1 FROM {MODULE_ROWS} AS m WHERE m.protocol = o.protocol AND m.start = o.start)"
            ),
        ),
        (
            "an offer secret stored in plain text",
            "SELECT (SELECT count(*) FROM service_ports WHERE length(secret_sha256) <> 64)
                  + (SELECT count(*) FROM expired_offers WHERE length(secret_sha256) <> 64)"
                .to_string(),
        ),
    ];
    let checks: &[(&str, &str)] = &[
        (
            "two holders share a port",
            r#"WITH h(protocol, start, "end") AS (
                   SELECT 'tcp', start, "end" FROM TCP_PORTS WHERE substr(module, 1, 8) <> 'port4me:'
                   UNION ALL SELECT 'udp', start, "end" FROM UDP_PORTS WHERE substr(module, 1, 8) <> 'port4me:'
                   UNION ALL SELECT protocol, start, "end" FROM services
                   UNION ALL SELECT protocol, port, port FROM registrations
                   UNION ALL SELECT protocol, port, port FROM leases)
               SELECT count(*) FROM (
                   SELECT start, max("end") OVER (PARTITION BY protocol ORDER BY start, "end"
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before FROM h)
               WHERE before >= start"#,
        ),
        (
            "an instance port outside its service range",
            r#"SELECT count(*) FROM service_ports AS sp JOIN services AS s ON s.id = sp.service_id
               WHERE sp.port NOT BETWEEN s.start AND s."end""#,
        ),
        (
            "an instance port without a service",
            "SELECT count(*) FROM service_ports WHERE service_id NOT IN (SELECT id FROM services)",
        ),
        (
            "an instance name twice in a service",
            "SELECT count(*) FROM (SELECT 1 FROM service_ports GROUP BY service_id, instance HAVING count(*) > 1)",
        ),
        (
            "a registration name twice for a user",
            "SELECT count(*) FROM (SELECT 1 FROM registrations GROUP BY uid, name HAVING count(*) > 1)",
        ),
        (
            "claims do not match the holders",
            r#"SELECT (SELECT count(*) FROM claims)
                    - (SELECT count(*) FROM TCP_PORTS WHERE substr(module, 1, 8) <> 'port4me:')
                    - (SELECT count(*) FROM UDP_PORTS WHERE substr(module, 1, 8) <> 'port4me:')
                    - (SELECT count(*) FROM services) - (SELECT count(*) FROM registrations) - (SELECT count(*) FROM leases)"#,
        ),
        (
            "a holder without its claim",
            r#"SELECT count(*) FROM (
                   SELECT 'tcp' AS p, start AS s, "end" AS e, 'module' AS k FROM TCP_PORTS
                       WHERE substr(module, 1, 8) <> 'port4me:'
                   UNION ALL SELECT 'udp', start, "end", 'module' FROM UDP_PORTS
                       WHERE substr(module, 1, 8) <> 'port4me:'
                   UNION ALL SELECT protocol, start, "end", 'service' FROM services
                   UNION ALL SELECT protocol, port, port, 'registration' FROM registrations
                   UNION ALL SELECT protocol, port, port, 'lease' FROM leases) AS h
               WHERE NOT EXISTS (SELECT 1 FROM claims AS c WHERE c.protocol = h.p AND c.start = h.s AND c."end" = h.e AND c.kind = h.k)"#,
        ),
        (
            "a claim's gap is wrong",
            r#"SELECT count(*) FROM claims AS c WHERE c.gap <> coalesce((SELECT min(n.start) FROM claims AS n
                   WHERE n.protocol = c.protocol AND n.start > c.start), 65536) - c."end" - 1"#,
        ),
    ];
    for (what, sql) in checks.iter().copied().chain(mirrors.iter().map(|(w, q)| (*w, q.as_str()))) {
        let n = count(&c, sql);
        if n != 0 {
            v.push(format!("{what} ({n})"));
        }
    }
    c.execute_batch("COMMIT").unwrap();
    v
}

/// Every row of every table, as text, in a stable order.
pub fn dump(path: &Path) -> String {
    let c = raw(path);
    let mut out = String::new();
    for t in port4me_registry::schema::TABLES {
        let mut stmt = c.prepare(&format!("SELECT * FROM {t} ORDER BY 1, 2, 3")).unwrap();
        let n = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        out.push_str(t);
        out.push('\n');
        while let Some(r) = rows.next().unwrap() {
            for i in 0..n {
                let v: rusqlite::types::Value = r.get(i).unwrap();
                out.push_str(&format!("{v:?}|"));
            }
            out.push('\n');
        }
    }
    out
}

/// The bytes of the file at `path`. On Unix they are read by a child
/// process: a descriptor of the database closed in this process would drop
/// the locks of every handle the test still holds on it.
pub fn file_bytes(path: &Path) -> Vec<u8> {
    read_elsewhere(path).unwrap_or_else(|| panic!("cannot read {}", path.display()))
}

/// The bytes of the side file `<path><suffix>` (`-wal`), empty when missing.
pub fn side_bytes(path: &Path, suffix: &str) -> Vec<u8> {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    read_elsewhere(Path::new(&p)).unwrap_or_default()
}

fn read_elsewhere(path: &Path) -> Option<Vec<u8>> {
    #[cfg(unix)]
    {
        let out = std::process::Command::new("cat").arg(path).output().ok()?;
        out.status.success().then_some(out.stdout)
    }
    #[cfg(not(unix))]
    std::fs::read(path).ok()
}
