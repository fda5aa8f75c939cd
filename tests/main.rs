//! The one integration-test binary: real git, real repositories in temp dirs, the real binary.

mod common;

mod cli;
mod gates;
mod hooks;
mod notes;
mod plan_lint;
mod properties;
mod refusals;
mod staged;
mod status;
mod workflow;
