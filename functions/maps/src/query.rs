//! What both map endpoints accept: a viewport, clustering, and the tickets list's filters.

use nexus_shared::ApiError;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::bbox::Bbox;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MapQuery {
    /// `minLng,minLat,maxLng,maxLat`.
    #[param(example = "95,-11,141,6")]
    bbox: Option<String>,
    /// Group nearby points into grid clusters sized for `zoom`.
    cluster: Option<bool>,
    /// Map zoom 0–20 (required with `cluster=true`).
    #[param(minimum = 0, maximum = 20)]
    zoom: Option<u8>,
}

pub struct View {
    pub bbox: Option<Bbox>,
    /// Grid cell size in degrees when clustering.
    pub cell: Option<f64>,
}

impl MapQuery {
    pub fn parse(self) -> Result<View, ApiError> {
        let bbox = self.bbox.as_deref().map(Bbox::parse).transpose()?;
        let cell = match (self.cluster.unwrap_or(false), self.zoom) {
            (false, _) => None,
            (true, None) => return Err(ApiError::validation("zoom", "is required with cluster=true")),
            (true, Some(z)) if z > 20 => return Err(ApiError::validation("zoom", "must be 0 to 20")),
            // A quarter of a 256 px tile: clusters about 64 px apart on screen.
            (true, Some(z)) => Some(360.0 / f64::from(1u32 << z) / 4.0),
        };
        Ok(View { bbox, cell })
    }
}
