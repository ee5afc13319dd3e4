//! What both map endpoints accept: a viewport, clustering, and the tickets list's filters.

use nexus_shared::ApiError;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::bbox::Bbox;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MapQuery {
    /// `minLng,minLat,maxLng,maxLat` in degrees: longitudes within ±180, latitudes within ±90,
    /// each minimum not above its maximum (422 otherwise).
    #[param(
        example = "95,-11,141,6",
        max_length = 100,
        pattern = r"^ *-?[0-9]{1,3}(\.[0-9]+)? *(, *-?[0-9]{1,3}(\.[0-9]+)? *){3}$"
    )]
    bbox: Option<String>,
    /// Group nearby points into grid clusters sized for `zoom`.
    cluster: Option<bool>,
    /// Map zoom 0–20 for `cluster=true`; without it, the zoom at which `bbox` fills about
    /// 1,024 px (the whole world without a bbox: 2).
    #[param(minimum = 0, maximum = 20)]
    zoom: Option<u8>,
}

/// The zoom at which `bbox` is about four 256 px tiles wide (the world's: 2).
pub(crate) fn fitting_zoom(bbox: Option<&Bbox>) -> u8 {
    let width = bbox.map_or(360.0, |b| (b.max_lng - b.min_lng).max(b.max_lat - b.min_lat));
    // At zoom z one tile spans 360 / 2^z degrees.
    let zoom = (4.0 * 360.0 / width.max(1e-6)).log2().floor();
    zoom.clamp(0.0, 20.0) as u8
}

pub struct View {
    pub bbox: Option<Bbox>,
    /// Grid cell size in degrees when clustering.
    pub cell: Option<f64>,
}

impl MapQuery {
    pub fn parse(self) -> Result<View, ApiError> {
        if self.bbox.as_ref().is_some_and(|b| b.len() > 100) {
            return Err(ApiError::validation("bbox", "must be at most 100 characters"));
        }
        let bbox = self.bbox.as_deref().map(Bbox::parse).transpose()?;
        if self.zoom.is_some_and(|z| z > 20) {
            return Err(ApiError::validation("zoom", "must be 0 to 20"));
        }
        let cell = match (self.cluster.unwrap_or(false), self.zoom) {
            (false, _) => None,
            // A quarter of a 256 px tile: clusters about 64 px apart on screen.
            (true, zoom) => Some(360.0 / f64::from(1u32 << zoom.unwrap_or_else(|| fitting_zoom(bbox.as_ref()))) / 4.0),
        };
        Ok(View { bbox, cell })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clustering_without_a_zoom_fits_the_viewport() {
        assert_eq!(fitting_zoom(None), 2);
        // 10 degrees wide: four tiles of 360 / 2^7 = 2.8 degrees.
        let java = Bbox::parse("105,-9,115,-5").unwrap();
        assert_eq!(fitting_zoom(Some(&java)), 7);
        let street = Bbox::parse("106.80,-6.21,106.81,-6.20").unwrap();
        assert_eq!(fitting_zoom(Some(&street)), 17);
    }
}
