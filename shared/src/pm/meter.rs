//! Meters on assets and their readings: what a batch of readings must respect before it is
//! stored (a cumulative meter only grows, unless it restarted), and storing it.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::{FromRow, PgConnection};

use crate::error::{ApiError, FieldError};

crate::text_enum! {
    /// `cumulative`: a counter that only grows (cash cycles, card reads, operating hours) unless
    /// it restarts from zero; `gauge`: a level that goes up and down (temperature, paper left).
    pub enum MeterKind { Cumulative = "cumulative", Gauge = "gauge" }
}

/// How far ahead of the server's clock a reading may be dated (device clocks drift).
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

/// At most this many readings per request, stored all together or not at all.
pub const MAX_BATCH: usize = 500;

/// A meter as stored.
#[derive(Debug, Clone, FromRow, Serialize)]
pub struct MeterRow {
    pub id: i64,
    pub asset_id: i64,
    pub name: String,
    pub unit: String,
    #[sqlx(try_from = "String")]
    pub kind: MeterKind,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub const METER_COLUMNS: &str = "id, asset_id, name, unit, kind, created_at, updated_at";

/// One reading: sent in a batch, or stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub value: f64,
    pub read_at: DateTime<Utc>,
    /// The (cumulative) meter restarted from zero before this reading.
    pub reset: bool,
}

/// The batch's readings dated too far in the future, as `readings[i].read_at` errors.
pub fn future_dated(batch: &[Reading], now: DateTime<Utc>) -> Vec<FieldError> {
    (batch.iter().enumerate())
        .filter(|(_, r)| r.read_at > now + MAX_CLOCK_SKEW)
        .map(|(i, _)| FieldError::new(format!("readings[{i}].read_at"), "is more than 5 minutes in the future"))
        .collect()
}

/// Where a batch would make a cumulative meter go backwards, given the stored readings around
/// it (`stored`, in `read_at` order): each batch row lower than the reading before it, or
/// higher than a stored reading after it, unless the later of the two is a `reset`.
/// At equal `read_at` stored readings come first, then the batch in its order.
pub fn out_of_order(stored: &[Reading], batch: &[Reading]) -> Vec<FieldError> {
    // (reading, index in the batch or None for a stored one)
    let mut merged: Vec<(Reading, Option<usize>)> = stored.iter().map(|r| (*r, None)).collect();
    merged.extend(batch.iter().enumerate().map(|(i, r)| (*r, Some(i))));
    merged.sort_by_key(|(r, i)| (r.read_at, i.map_or(0, |i| i + 1)));
    let mut errors = Vec::new();
    for pair in merged.windows(2) {
        let [(before, before_at), (after, after_at)] = pair else { continue };
        if after.reset || after.value >= before.value {
            continue;
        }
        let message = |verb: &str, other: &Reading, which: &str| {
            format!(
                "is {verb} the {which} reading ({} at {}); a cumulative meter only grows: send reset: true on the \
                 first reading after it restarted",
                other.value,
                other.read_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        };
        match (before_at, after_at) {
            (_, Some(i)) => {
                errors.push(FieldError::new(format!("readings[{i}].value"), message("lower than", before, "previous")))
            }
            (Some(i), None) => errors
                .push(FieldError::new(format!("readings[{i}].value"), message("higher than", after, "next stored"))),
            (None, None) => {} // stored before this batch; not the batch's doing
        }
    }
    errors.sort_by(|a, b| a.field.cmp(&b.field));
    errors.dedup();
    errors
}

/// The stored readings a batch spanning `from..=to` must fit between: the last one before it,
/// every one within it, and the first one after it.
pub async fn neighbours(
    conn: &mut PgConnection,
    meter_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Reading>, ApiError> {
    let rows: Vec<(f64, DateTime<Utc>, bool)> = sqlx::query_as(
        "SELECT value, read_at, reset FROM (
             (SELECT value, read_at, reset, id FROM meter_readings WHERE meter_id = $1 AND read_at < $2
              ORDER BY read_at DESC, id DESC LIMIT 1)
             UNION ALL
             (SELECT value, read_at, reset, id FROM meter_readings WHERE meter_id = $1 AND read_at BETWEEN $2 AND $3)
             UNION ALL
             (SELECT value, read_at, reset, id FROM meter_readings WHERE meter_id = $1 AND read_at > $3
              ORDER BY read_at, id LIMIT 1)
         ) r ORDER BY read_at, id",
    )
    .bind(meter_id)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(value, read_at, reset)| Reading { value, read_at, reset }).collect())
}

/// Stores a batch that passed the checks above.
pub async fn insert(
    conn: &mut PgConnection,
    meter_id: i64,
    batch: &[Reading],
    recorded_by: i64,
) -> Result<u64, ApiError> {
    let stored = sqlx::query(
        "INSERT INTO meter_readings (meter_id, value, read_at, reset, recorded_by)
         SELECT $1, r.value, r.read_at, r.reset, $5
         FROM unnest($2::float8[], $3::timestamptz[], $4::bool[]) AS r (value, read_at, reset)",
    )
    .bind(meter_id)
    .bind(batch.iter().map(|r| r.value).collect::<Vec<_>>())
    .bind(batch.iter().map(|r| r.read_at).collect::<Vec<_>>())
    .bind(batch.iter().map(|r| r.reset).collect::<Vec<_>>())
    .bind(recorded_by)
    .execute(conn)
    .await?;
    Ok(stored.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 29, hour, 0, 0).unwrap()
    }

    fn r(value: f64, hour: u32) -> Reading {
        Reading { value, read_at: at(hour), reset: false }
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_growing_batch_between_stored_readings_fits() {
        assert!(out_of_order(&[r(10.0, 1), r(50.0, 9)], &[r(20.0, 3), r(20.0, 4), r(40.0, 5)]).is_empty());
        assert!(out_of_order(&[], &[r(1.0, 1)]).is_empty());
    }

    #[test]
    fn each_row_going_backwards_is_named() {
        // readings[1] is lower than readings[0]; readings[2] is lower than the stored 10 before it.
        let batch = [r(30.0, 3), r(25.0, 4), r(5.0, 2)];
        assert_eq!(fields(out_of_order(&[r(10.0, 1)], &batch)), ["readings[1].value", "readings[2].value"]);
    }

    #[test]
    fn a_row_above_the_next_stored_reading_is_named() {
        assert_eq!(fields(out_of_order(&[r(10.0, 1), r(50.0, 9)], &[r(60.0, 5)])), ["readings[0].value"]);
    }

    #[test]
    fn a_reset_may_go_down_and_the_batch_is_ordered_by_read_at_not_by_position() {
        let reset = Reading { value: 3.0, read_at: at(5), reset: true };
        assert!(out_of_order(&[r(900.0, 1)], &[r(10.0, 6), reset, r(950.0, 2)]).is_empty());
        // A stored reset after the batch makes a high batch row harmless.
        let stored_reset = Reading { value: 1.0, read_at: at(9), reset: true };
        assert!(out_of_order(&[stored_reset], &[r(500.0, 8)]).is_empty());
    }

    #[test]
    fn stored_disorder_is_not_blamed_on_the_batch() {
        assert!(out_of_order(&[r(50.0, 1), r(10.0, 2)], &[r(60.0, 3)]).is_empty());
    }

    #[test]
    fn readings_more_than_five_minutes_ahead_are_refused() {
        let now = at(12);
        let batch = [
            Reading { value: 1.0, read_at: now + Duration::minutes(5), reset: false },
            Reading { value: 1.0, read_at: now + Duration::minutes(6), reset: false },
        ];
        assert_eq!(fields(future_dated(&batch, now)), ["readings[1].read_at"]);
    }
}
