//! Shared helpers for the cross-crate suites (see the `[[test]]` targets).
