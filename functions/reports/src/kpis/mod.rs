//! The KPI formulas, one per file, each stating its definition (the text the OpenAPI
//! description carries) and the one aggregate query that computes it per group. Every query
//! reads tickets `t` at their site `l` through an index on the instant that places a ticket in
//! the period, then tests that instant's site-local date exactly.

pub mod backlog;
pub mod first_time_fix;
pub mod mtbf;
pub mod mttr;
pub mod pm_compliance;
pub mod reopen;
pub mod sla;

use nexus_shared::ticket::{Priority, TicketType, Visibility};
use serde::Serialize;
use sqlx::{Postgres, QueryBuilder};
use utoipa::ToSchema;

use crate::group::GroupBy;
use crate::period::Period;

/// Bumped whenever a formula (or what it counts) changes, so stored or compared figures can
/// tell which definitions made them. `definitions_are_pinned_to_the_version` fails on any edit
/// of a definition until this is bumped and the pin updated.
pub const DEFINITION_VERSION: u32 = 1;

/// Every definition, in the order the answer lists the KPIs.
pub const DEFINITIONS: &[(&str, &str)] = &[
    ("mttr_hours, mttr_working_hours", mttr::DEFINITION),
    ("mtbf_hours", mtbf::DEFINITION),
    ("sla_response_compliance, sla_resolution_compliance", sla::DEFINITION),
    ("first_time_fix_rate", first_time_fix::DEFINITION),
    ("pm_compliance", pm_compliance::DEFINITION),
    ("reopen_rate", reopen::DEFINITION),
    ("backlog", backlog::DEFINITION),
];

/// What a report covers: the period, the grouping, the filters and whose tickets.
#[derive(Debug, Clone)]
pub struct Scope {
    pub period: Period,
    pub group_by: GroupBy,
    pub ticket_type: Option<TicketType>,
    pub priority: Option<Priority>,
    pub region: Option<String>,
    pub visibility: Visibility,
    /// Only these sites (a page of `group_by=location`).
    pub location_ids: Option<Vec<i64>>,
    /// Only the group with this key (a drill-down).
    pub key: Option<String>,
}

impl Scope {
    /// `SELECT <key> AS key, <label> AS label, <columns> FROM <base> JOIN locations l … WHERE
    /// <filters>`, the group key placed in time by `event`; ready for ` AND …`.
    pub fn push_select(&self, qb: &mut QueryBuilder<Postgres>, event: &str, columns: &str, base: &str) {
        self.push_select_keyed(qb, &self.group_by.key_sql(event), columns, base);
    }

    /// [`Scope::push_select`] with the key given as SQL.
    pub fn push_select_keyed(&self, qb: &mut QueryBuilder<Postgres>, key: &str, columns: &str, base: &str) {
        qb.push(format_args!(
            "SELECT {key} AS key, {} AS label, {columns} FROM {base} JOIN locations l ON l.id = t.location_id{} WHERE true",
            self.group_by.label_sql(),
            self.group_by.joins()
        ));
        if let Visibility::AssignedTo(user_id) = self.visibility {
            qb.push(" AND t.assigned_to = ").push_bind(user_id);
        }
        if let Some(ticket_type) = self.ticket_type {
            qb.push(" AND t.ticket_type = ").push_bind(ticket_type.as_str());
        }
        if let Some(priority) = self.priority {
            qb.push(" AND t.priority = ").push_bind(priority.as_str());
        }
        if let Some(region) = &self.region {
            qb.push(" AND l.region = ").push_bind(region.clone());
        }
        if let Some(ids) = &self.location_ids {
            qb.push(" AND t.location_id = ANY(").push_bind(ids.clone()).push(")");
        }
        if let Some(k) = &self.key {
            qb.push(format_args!(" AND {key} = ")).push_bind(k.clone());
        }
    }
}

/// `numerator / denominator`, `null` when nothing was counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct Ratio {
    pub value: Option<f64>,
    pub numerator: f64,
    pub denominator: i64,
}

impl Ratio {
    pub fn new(numerator: f64, denominator: i64) -> Ratio {
        let value = (denominator != 0).then(|| numerator / denominator as f64);
        Ratio { value, numerator, denominator }
    }

    /// The ratio over both parts' counts (disjoint days or tickets).
    pub fn plus(self, other: Ratio) -> Ratio {
        Ratio::new(self.numerator + other.numerator, self.denominator + other.denominator)
    }
}

/// One group's figure as an aggregate query answers it: key, label, the figure.
#[derive(Debug, Clone)]
pub struct Figure<T> {
    pub key: String,
    pub label: Option<String>,
    pub value: T,
}

/// The rows of an aggregate selecting `key, label, numerator (float8), denominator (bigint)`.
pub async fn ratios(qb: &mut QueryBuilder<Postgres>, pool: &sqlx::PgPool) -> sqlx::Result<Vec<Figure<Ratio>>> {
    let rows: Vec<(String, Option<String>, f64, i64)> = qb.build_query_as().fetch_all(pool).await?;
    Ok(rows.into_iter().map(|(key, label, n, d)| Figure { key, label, value: Ratio::new(n, d) }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ratio_with_nothing_counted_is_null() {
        assert_eq!(Ratio::new(0.0, 0).value, None);
        assert_eq!(Ratio::new(3.0, 4).value, Some(0.75));
    }

    /// FNV-1a of every definition: editing one changes this, and the test then asks for
    /// [`DEFINITION_VERSION`] to be bumped along with the pin.
    #[test]
    fn definitions_are_pinned_to_the_version() {
        let mut hash: u64 = 0xcbf29ce484222325;
        for (name, text) in DEFINITIONS {
            for b in name.bytes().chain(text.bytes()) {
                hash = (hash ^ u64::from(b)).wrapping_mul(0x100000001b3);
            }
        }
        let pinned: (u32, u64) = (1, 0xfa1f89bb53528f2b);
        assert_eq!(
            (DEFINITION_VERSION, hash),
            pinned,
            "a definition changed: bump DEFINITION_VERSION and pin ({}, {hash:#x})",
            DEFINITION_VERSION + 1
        );
    }
}
