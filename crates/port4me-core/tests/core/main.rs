//! The core's integration tests, in one binary: the shared conformance
//! vectors, and properties of the generator and the parser (proptest).

#[path = "../../../../conformance/harness/harness.rs"]
mod harness;

mod conformance;
mod properties;
