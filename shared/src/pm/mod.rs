//! Preventive maintenance: when a plan's work falls due (pure date maths, table-tested) and the
//! generator that turns due occurrences into tickets, shared by the `pm` API (forecast, meter
//! readings) and the scheduled `pm-generate` function.

mod generate;
pub mod meter;
mod plan;
mod recurrence;
mod schedule;
mod trigger;

pub use generate::{FloatingAsset, GenerateReport, Site, floating_assets, generate};
pub use plan::{
    ASSETS_IN_SCOPE, MeterTrigger, OpenPolicy, PLAN_COLUMNS, PlanRow, SCOPE, assets_in_scope, assets_in_scope_carrying,
    iso_weekday, plan_columns,
};
pub use recurrence::{Recurrence, RecurrenceError, Unit};
pub use schedule::{Anchor, NonWorking, Occurrence, Planned, Schedule, day_before};
pub use trigger::{Condition, fire};
