//! The TypeScript of what the addon returns and takes, generated from the
//! Rust definitions: `npm/port4me/generated.d.cts` is the `ts-rs`
//! declaration of every result type (the registry's and the holders' serde
//! forms) and of the options objects of every call that takes one (but
//! `waitForPort`'s, which the JS layer alone reads). `index.d.cts` imports them from there.
//!
//! The file is committed; the test `generated_types` fails when it differs
//! from what the definitions give. After changing a type, regenerate it:
//!
//! ```sh
//! PORT4ME_UPDATE_TYPES=1 cargo test -p port4me-node generated_types
//! ```

#[cfg(test)]
mod tests {
    use ts_rs::{Config, TS};

    use crate::holders::{HoldersArgs, PlanArgs, StatusArgs};
    use crate::options::{Options, PortSpec, ProbeArgs};
    use crate::registry::{AllocateArgs, DefineServiceArgs, FindArgs, ForceArgs, ShowArgs};

    const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../npm/port4me/generated.d.cts");

    /// `export` and the declaration of `T`, with its documentation.
    fn export<T: TS>(cfg: &Config) -> String {
        format!("{}export {}\n", T::docs().unwrap_or_default(), T::decl(cfg))
    }

    /// The whole file.
    fn generated() -> String {
        // Results cross as JS numbers (napi's serializer), never as BigInts.
        let cfg = Config::new().with_large_int("number");
        use port4me_holders as h;
        use port4me_registry as r;
        let decls = [
            "// port4me, port4meAsync, list, isPortFree: options".to_string(),
            export::<PortSpec>(&cfg),
            export::<Options>(&cfg),
            export::<ProbeArgs>(&cfg),
            "// The registry (port4me-registry): results".to_string(),
            export::<r::Timestamp>(&cfg),
            export::<r::PortRange>(&cfg),
            export::<r::ModuleRange>(&cfg),
            export::<r::MirrorRow>(&cfg),
            export::<r::HoldingKind>(&cfg),
            export::<r::Service>(&cfg),
            export::<r::ServiceWithPorts>(&cfg),
            export::<r::PortState>(&cfg),
            export::<r::ServicePort>(&cfg),
            export::<r::Offer>(&cfg),
            export::<r::Liveness>(&cfg),
            export::<r::Registration>(&cfg),
            export::<r::Lease>(&cfg),
            export::<r::Listing>(&cfg),
            export::<r::GcReport>(&cfg),
            export::<r::RunningKind>(&cfg),
            export::<r::Running>(&cfg),
            "// The registry: options".to_string(),
            export::<AllocateArgs>(&cfg),
            export::<ForceArgs>(&cfg),
            export::<DefineServiceArgs>(&cfg),
            export::<ShowArgs>(&cfg),
            export::<FindArgs>(&cfg),
            "// Who holds a port, port status, plans (port4me-holders): results".to_string(),
            export::<h::SocketState>(&cfg),
            export::<h::ProcessAccess>(&cfg),
            export::<h::ProcessInfo>(&cfg),
            export::<h::Holder>(&cfg),
            export::<h::Availability>(&cfg),
            export::<h::Browser>(&cfg),
            export::<h::Reservation>(&cfg),
            export::<h::StatusLabel>(&cfg),
            export::<h::PortStatus>(&cfg),
            export::<h::Strategy>(&cfg),
            export::<h::Outcome>(&cfg),
            export::<h::ConflictCause>(&cfg),
            export::<h::Signal>(&cfg),
            export::<h::SignalSent>(&cfg),
            export::<h::KillReport>(&cfg),
            export::<h::Conflict>(&cfg),
            export::<h::ServicePlan>(&cfg),
            export::<h::Plan>(&cfg),
            "// Who holds a port, port status, plans: options".to_string(),
            export::<HoldersArgs>(&cfg),
            export::<StatusArgs>(&cfg),
            export::<PlanArgs>(&cfg),
        ];
        let mut out = String::from(
            "// Generated from the Rust definitions by bindings/node/src/types.rs (ts-rs): do not edit.\n\
             // Regenerate after changing a type: PORT4ME_UPDATE_TYPES=1 cargo test -p port4me-node generated_types\n",
        );
        for d in decls {
            out.push('\n');
            out.push_str(&d);
            if !d.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }

    #[test]
    fn generated_types() {
        let want = generated();
        if std::env::var_os("PORT4ME_UPDATE_TYPES").is_some_and(|v| v == "1") {
            std::fs::write(PATH, &want).unwrap_or_else(|e| panic!("cannot write {PATH}: {e}"));
            return;
        }
        let have = std::fs::read_to_string(PATH).unwrap_or_default();
        if have != want {
            let line = have
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(have.lines().count().min(want.lines().count()));
            panic!(
                "{PATH} is not what the Rust definitions give (first difference at line {}: {:?} should be {:?}); \
                 regenerate it with PORT4ME_UPDATE_TYPES=1 cargo test -p port4me-node generated_types",
                line + 1,
                have.lines().nth(line).unwrap_or("<end of file>"),
                want.lines().nth(line).unwrap_or("<end of file>"),
            );
        }
    }
}
