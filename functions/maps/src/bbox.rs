//! `bbox=minLng,minLat,maxLng,maxLat` (RFC 7946 order): the map's viewport.

use nexus_shared::ApiError;
use sqlx::{Postgres, QueryBuilder};

#[derive(Debug, Clone, Copy, PartialEq, sqlx::FromRow)]
pub struct Bbox {
    pub min_lng: f64,
    pub min_lat: f64,
    pub max_lng: f64,
    pub max_lat: f64,
}

/// The SELECT list of the box around the sites `l` of a query's rows, read as a [`Bbox`].
pub const EXTENT: &str = "min(l.longitude) AS min_lng, min(l.latitude) AS min_lat, max(l.longitude) AS max_lng,
     max(l.latitude) AS max_lat";

impl Bbox {
    /// Four finite numbers in range with min ≤ max. Viewports across the antimeridian are
    /// not supported (Indonesia does not need them); split such a view in two requests.
    pub fn parse(raw: &str) -> Result<Bbox, ApiError> {
        let invalid = |why: &str| ApiError::validation("bbox", format!("{why}; expected minLng,minLat,maxLng,maxLat"));
        let parts: Vec<f64> =
            raw.split(',').map(plain_degrees).collect::<Option<_>>().ok_or_else(|| invalid("not four numbers"))?;
        let [min_lng, min_lat, max_lng, max_lat] = parts[..] else { return Err(invalid("not four numbers")) };
        if ![min_lng, max_lng].iter().all(|v| (-180.0..=180.0).contains(v)) {
            return Err(invalid("longitudes must be within -180..180"));
        }
        if ![min_lat, max_lat].iter().all(|v| (-90.0..=90.0).contains(v)) {
            return Err(invalid("latitudes must be within -90..90"));
        }
        if min_lng > max_lng || min_lat > max_lat {
            return Err(invalid("the minimum must not exceed the maximum"));
        }
        Ok(Bbox { min_lng, min_lat, max_lng, max_lat })
    }

    /// ` AND` the location `l` inside the box, edges included (served by locations_lng_lat_idx).
    pub fn push(&self, qb: &mut QueryBuilder<Postgres>) {
        qb.push(" AND l.longitude BETWEEN ").push_bind(self.min_lng).push(" AND ").push_bind(self.max_lng);
        qb.push(" AND l.latitude BETWEEN ").push_bind(self.min_lat).push(" AND ").push_bind(self.max_lat);
    }
}

/// A number as the documented pattern spells it: spaces around, an optional `-`, one to three
/// digits, an optional fraction (no `+`, exponent, or bare `.`).
fn plain_degrees(part: &str) -> Option<f64> {
    let part = part.trim_matches(' ');
    let unsigned = part.strip_prefix('-').unwrap_or(part);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let digits = |s: &str, max: usize| (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    (digits(whole, 3) && digits(fraction, usize::MAX)).then(|| part.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_viewport_parses_and_nonsense_is_422() {
        let b = Bbox::parse("95,-11,141,6").unwrap();
        assert_eq!((b.min_lng, b.min_lat, b.max_lng, b.max_lat), (95.0, -11.0, 141.0, 6.0));
        assert!(Bbox::parse("-180,-90,180,90").is_ok(), "the whole world, edges included");
        for bad in ["", "1,2,3", "1,2,3,4,5", "a,b,c,d", "NaN,0,1,1", "0,0,181,1", "0,-91,1,1", "10,0,5,1", "0,5,1,1"] {
            assert!(matches!(Bbox::parse(bad), Err(ApiError::Validation(_))), "{bad}");
        }
    }

    /// The server reads exactly what the documented pattern admits (found by review: `+95`,
    /// `1e1` and `.5` were read as numbers the document refuses).
    #[test]
    fn numbers_are_read_only_as_the_document_spells_them() {
        assert_eq!(plain_degrees(" -6.25 "), Some(-6.25));
        assert_eq!(plain_degrees("180"), Some(180.0));
        for refused in ["+95", "1e1", ".5", "95.", "1234", "-", "", "\t5", "0x10", "inf"] {
            assert_eq!(plain_degrees(refused), None, "{refused:?}");
        }
    }
}
