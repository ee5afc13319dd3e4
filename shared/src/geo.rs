//! Distances on the Earth's surface, for checking a technician's position against a site.

/// The Earth's mean radius (IUGG), in metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// The great-circle distance in metres between two points given as (latitude, longitude) in
/// degrees (haversine: accurate to well under a metre at geofence distances).
pub fn great_circle_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let (dlat, dlng) = ((b.0 - a.0).to_radians(), (b.1 - a.1).to_radians());
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlng / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_match_known_values() {
        assert_eq!(great_circle_m((-6.2, 106.8), (-6.2, 106.8)), 0.0);
        // One degree of latitude is about 111.2 km.
        assert!((great_circle_m((0.0, 0.0), (1.0, 0.0)) - 111_195.0).abs() < 5.0);
        // Monas (Jakarta) to Bundaran HI: about 2.4 km.
        let d = great_circle_m((-6.175392, 106.827153), (-6.195015, 106.823026));
        assert!((2_150.0..2_300.0).contains(&d), "{d}");
        // Across the antimeridian, the short way round.
        assert!((great_circle_m((0.0, 179.9), (0.0, -179.9)) - 22_239.0).abs() < 5.0);
    }
}
