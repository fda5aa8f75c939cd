//! The one integration-test binary: real git, real repositories in temp dirs, the real binary.

mod common;

mod audit;
mod cache;
mod cli;
mod defaults;
mod enforcement;
mod faults;
mod finish;
mod gates;
mod hooks;
mod hostile;
mod notes;
mod outputs;
mod plan_lint;
mod properties;
mod refusals;
mod runners;
mod staged;
mod status;
mod sync;
mod ui;
mod workflow;
