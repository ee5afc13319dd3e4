//! Events captured offline: a device records when something happened (`occurred_at`) and syncs
//! later. The server accepts an instant up to 72 hours back (the longest a device is expected to
//! stay offline) and at most 5 minutes ahead of its own clock (device clocks drift); every such
//! record keeps both `occurred_at` and when the server received it.

use chrono::{DateTime, Duration, Utc};

use crate::error::ApiError;

/// How far back an offline event may be dated.
pub const MAX_AGE: Duration = Duration::hours(72);
/// How far ahead of the server's clock an event may be dated.
pub const MAX_AHEAD: Duration = Duration::minutes(5);
/// How long `Idempotency-Key`s are kept: the longest a device may stay offline, plus a margin.
pub const KEY_RETENTION: Duration = Duration::days(4);

/// When the event happened: `occurred_at` if given and within the window, else `now`.
/// Outside the window it is a 422 naming `field`.
pub fn occurred_at(
    field: &str,
    occurred_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ApiError> {
    match occurred_at {
        None => Ok(now),
        Some(t) if t < now - MAX_AGE => Err(ApiError::validation(
            field,
            "is more than 72 hours in the past; events older than that cannot be synced",
        )),
        Some(t) if t > now + MAX_AHEAD => Err(ApiError::validation(field, "is more than 5 minutes in the future")),
        Some(t) => Ok(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::FieldError;

    fn field_of(result: Result<DateTime<Utc>, ApiError>) -> Option<String> {
        match result {
            Err(ApiError::Validation(errors)) => errors.first().map(|e: &FieldError| e.field.clone()),
            _ => None,
        }
    }

    #[test]
    fn an_event_counts_when_it_happened_within_the_window() {
        let now = Utc::now();
        assert_eq!(occurred_at("occurred_at", None, now).unwrap(), now);
        let late = now - Duration::hours(71);
        assert_eq!(occurred_at("occurred_at", Some(late), now).unwrap(), late);
        let ahead = now + Duration::minutes(5);
        assert_eq!(occurred_at("occurred_at", Some(ahead), now).unwrap(), ahead);
        assert_eq!(
            field_of(occurred_at("answers[0].occurred_at", Some(now - Duration::hours(73)), now)).as_deref(),
            Some("answers[0].occurred_at")
        );
        assert_eq!(
            field_of(occurred_at("occurred_at", Some(now + Duration::minutes(6)), now)).as_deref(),
            Some("occurred_at")
        );
    }
}
