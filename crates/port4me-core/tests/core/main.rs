//! The core's integration tests, in one binary: the shared conformance
//! vectors, properties of the generator and the parser (proptest), and the
//! browser-unsafe lists written out in conformance/SPEC.md.

#[path = "../../../../conformance/harness/harness.rs"]
mod harness;

mod conformance;
mod properties;
mod spec_lists;

/// The shared matcher itself can fail (here once; the std and CLI test
/// binaries include the same harness).
mod matcher {
    use crate::harness::*;

    fn case(expect: Expect) -> Case {
        Case {
            id: "t".into(),
            user: "alice".into(),
            tool: None,
            prepend: None,
            include: None,
            exclude: None,
            skip: None,
            list: None,
            env: None,
            core_only: false,
            expect,
        }
    }

    /// The matcher itself can fail: a wrong port, a wrong code, a message
    /// missing its mention, ports where an error was expected.
    #[test]
    fn the_matcher_rejects_what_differs() {
        let err =
            |code: Option<&str>, message: &str| Outcome::Error { code: code.map(Into::into), message: message.into() };
        let want_err = case(Expect::Error { code: "ERR_X".into(), mentions: Some("--skip".into()) });
        assert_eq!(check(&want_err, &err(Some("ERR_X"), "bad --skip")), None);
        assert!(check(&want_err, &err(Some("ERR_Y"), "bad --skip")).is_some());
        assert!(check(&want_err, &err(Some("ERR_X"), "bad skip")).is_some());
        assert!(check(&want_err, &Outcome::Ports(vec![1])).is_some());
        let want_port = case(Expect::Port(30845));
        assert_eq!(check(&want_port, &Outcome::Ports(vec![30845])), None);
        assert!(check(&want_port, &Outcome::Ports(vec![30845, 19654])).is_some());
        assert!(check(&want_port, &err(None, "Error")).is_some());
        let want_ports = case(Expect::Ports(vec![1, 2]));
        assert!(check(&want_ports, &Outcome::Ports(vec![2, 1])).is_some());
    }
}
