//! The one data generator, over one table of cities: the `demo` preset (what `scripts/run`
//! serves and the README promises) and the `scale` preset (a national fleet: 10,000 sites,
//! 50,000 devices, 500,000 tickets by default, for the benchmarks).

pub mod cities;
pub mod demo;
pub mod scale;

pub use demo::{PASSWORD, Summary, USERS};
pub use scale::Scale;
