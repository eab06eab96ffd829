//! The browser-unsafe lists written out in `conformance/SPEC.md` section 6
//! are the lists the core ships (`port4me_core::unsafe_ports`), number for
//! number and in order, and the counts and the difference the text states
//! are right. An implementer copies the lists from SPEC.md, so a change to
//! either side must show here.

use port4me_core::unsafe_ports::{CHROME, CHROME_SPEC, FIREFOX, FIREFOX_SPEC};

const SPEC: &str = include_str!("../../../../conformance/SPEC.md");

/// The value of the one line `NAME=...` (a code block line) of SPEC.md.
fn spec_line(name: &str) -> &'static str {
    let prefix = format!("{name}=");
    let lines: Vec<&str> = SPEC.lines().map(str::trim).filter(|l| l.starts_with(&prefix)).collect();
    assert_eq!(lines.len(), 1, "SPEC.md must have exactly one line starting with {prefix}: {lines:?}");
    &lines[0][prefix.len()..]
}

fn numbers(text: &str) -> Vec<u16> {
    text.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect()
}

#[test]
fn spec_md_lists_equal_the_core_lists() {
    for (name, spec, list) in [
        ("PORT4ME_EXCLUDE_UNSAFE_CHROME", CHROME_SPEC, CHROME),
        ("PORT4ME_EXCLUDE_UNSAFE_FIREFOX", FIREFOX_SPEC, FIREFOX),
    ] {
        let value = spec_line(name);
        assert!(value.bytes().all(|b| b.is_ascii_digit() || b == b','), "{name}: {value}");
        assert_eq!(value, spec, "{name} in SPEC.md differs from the core's spec string");
        assert_eq!(numbers(value), list, "{name} in SPEC.md differs from the core's list");
    }
}

#[test]
fn spec_md_counts_and_difference_are_right() {
    assert!(SPEC.contains(&format!("`{{chrome}}`, {} ports:", CHROME.len())), "the count of {{chrome}}");
    assert!(SPEC.contains(&format!("`{{firefox}}`, {} ports:", FIREFOX.len())), "the count of {{firefox}}");
    // "Every port of `{firefox}` is also in `{chrome}`, which adds A, B, ... and N;"
    assert!(FIREFOX.iter().all(|p| CHROME.contains(p)), "{{firefox}} is no longer a subset of {{chrome}}");
    let start = SPEC.find("which adds ").expect("the sentence naming what {chrome} adds") + "which adds ".len();
    let end = start + SPEC[start..].find(';').unwrap();
    let stated = numbers(&SPEC[start..end]);
    let diff: Vec<u16> = CHROME.iter().copied().filter(|p| !FIREFOX.contains(p)).collect();
    assert_eq!(stated, diff, "the ports SPEC.md says {{chrome}} adds to {{firefox}}");
}
