//! Plan input: `name=port` entries, service names, the list of services.

use std::collections::BTreeSet;

use crate::error::{check_port_in, parse_port_in, Error, PortContext, Result};

/// Parses one `NAME=PORT` entry, as the CLI takes them.
///
/// ```
/// use port4me_holders::parse_entry;
/// assert_eq!(parse_entry("web=5173").unwrap(), ("web".to_string(), 5173));
/// assert_eq!(parse_entry("web").unwrap_err().code(), "ERR_PORT4ME_PLAN_INVALID_ENTRY");
/// assert_eq!(parse_entry("web=70000").unwrap_err().code(), "ERR_PORT4ME_INVALID_PORT");
/// ```
pub fn parse_entry(entry: &str) -> Result<(String, u16)> {
    let Some((name, port)) = entry.split_once('=') else {
        return Err(Error::PlanInvalidEntry { entry: entry.to_string() });
    };
    let name = name.trim();
    check_name(name)?;
    let port = parse_port_in(port, PortContext::Service(name.to_string()))?;
    Ok((name.to_string(), port))
}

fn check_name(name: &str) -> Result<()> {
    let bad = |reason| Err(Error::PlanInvalidService { name: name.to_string(), reason });
    if name.is_empty() {
        return bad("a service needs a name");
    }
    if name.chars().count() > 100 {
        return bad("longer than 100 characters");
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains whitespace or control characters");
    }
    if name.contains(['=', ',']) {
        return bad("contains '=' or ','");
    }
    Ok(())
}

/// Checks the services: at least one, valid unique names, ports 1-65535.
pub(super) fn validate<S: AsRef<str>>(services: &[(S, u32)]) -> Result<Vec<(String, u16)>> {
    if services.is_empty() {
        return Err(Error::PlanEmpty);
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(services.len());
    for (name, port) in services {
        let name = name.as_ref();
        check_name(name)?;
        if !seen.insert(name) {
            return Err(Error::PlanDuplicateService { name: name.to_string() });
        }
        let port = check_port_in(*port as i64, PortContext::Service(name.to_string()))?;
        out.push((name.to_string(), port));
    }
    Ok(out)
}
