//! `bbox=minLng,minLat,maxLng,maxLat` (RFC 7946 order): the map's viewport.

use nexus_shared::ApiError;
use sqlx::{Postgres, QueryBuilder};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    pub min_lng: f64,
    pub min_lat: f64,
    pub max_lng: f64,
    pub max_lat: f64,
}

impl Bbox {
    /// Four finite numbers in range with min ≤ max. Viewports across the antimeridian are
    /// not supported (Indonesia does not need them); split such a view in two requests.
    pub fn parse(raw: &str) -> Result<Bbox, ApiError> {
        let invalid = |why: &str| ApiError::validation("bbox", format!("{why}; expected minLng,minLat,maxLng,maxLat"));
        let parts: Vec<f64> = raw
            .split(',')
            .map(|p| p.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| invalid("not four numbers"))?;
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
}
