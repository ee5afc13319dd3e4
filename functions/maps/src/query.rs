//! What both map endpoints accept: a viewport, clustering, and the tickets list's filters.

use nexus_shared::ApiError;
use nexus_shared::openapi::query_parameter;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn, ParameterStyle};
use utoipa::openapi::schema::{Array, ArrayBuilder, ArrayItems, KnownFormat, ObjectBuilder, SchemaFormat, Type};

use crate::bbox::Bbox;

#[derive(Debug, Deserialize)]
pub struct MapQuery {
    bbox: Option<String>,
    cluster: Option<bool>,
    zoom: Option<u8>,
}

/// Written by hand for `bbox`: the derive drops a parameter's description, example and style
/// when its schema is given by a function.
impl IntoParams for MapQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let zoom = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
            .minimum(Some(0))
            .maximum(Some(20));
        vec![
            query_parameter(
                "bbox",
                "`minLng,minLat,maxLng,maxLat` in degrees: longitudes within ±180, latitudes within ±90,\n\
                 each minimum not above its maximum (422 otherwise). Four numbers written plainly (`-6.25`;\n\
                 not `+95`, `1e1` or `.5`), at most 100 characters in all.",
                bbox_schema(),
            )
            .style(Some(ParameterStyle::Form))
            .explode(Some(false))
            .example(Some(serde_json::json!([95, -11, 141, 6])))
            .build(),
            query_parameter(
                "cluster",
                "Group nearby points into grid clusters sized for `zoom`.",
                ObjectBuilder::new().schema_type(Type::Boolean),
            )
            .build(),
            query_parameter(
                "zoom",
                "Map zoom 0–20 for `cluster=true`; without it, the zoom at which `bbox` fills about\n\
                 1,024 px (the whole world without a bbox: 2).",
                zoom,
            )
            .build(),
        ]
    }
}

/// `bbox` as OpenAPI 3.1 states a tuple: four numbers, each position named with its range
/// (sent as `bbox=95,-11,141,6`, the form style without explode).
fn bbox_schema() -> Array {
    let degrees = |name: &str, limit: f64| {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .title(Some(name))
            .minimum(Some(-limit))
            .maximum(Some(limit))
            .build()
    };
    ArrayBuilder::new()
        .prefix_items([
            degrees("minLng", 180.0),
            degrees("minLat", 90.0),
            degrees("maxLng", 180.0),
            degrees("maxLat", 90.0),
        ])
        .items(ArrayItems::False)
        .min_items(Some(4))
        .max_items(Some(4))
        .build()
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
    use serde_json::json;

    /// The document states each position's range, as the parser checks them.
    #[test]
    fn the_document_states_the_bbox_ranges_per_position() {
        let params = MapQuery::into_params(|| None);
        let bbox = serde_json::to_value(params.iter().find(|p| p.name == "bbox").unwrap()).unwrap();
        assert_eq!((&bbox["style"], &bbox["explode"]), (&json!("form"), &json!(false)));
        let schema = &bbox["schema"];
        assert_eq!(
            (&schema["type"], &schema["items"], &schema["minItems"]),
            (&json!("array"), &json!(false), &json!(4))
        );
        let ranges: Vec<(String, f64, f64)> = schema["prefixItems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (p["title"].as_str().unwrap().into(), p["minimum"].as_f64().unwrap(), p["maximum"].as_f64().unwrap())
            })
            .collect();
        let expected = [("minLng", 180.0), ("minLat", 90.0), ("maxLng", 180.0), ("maxLat", 90.0)];
        assert_eq!(ranges, expected.map(|(n, l)| (n.to_string(), -l, l)));
        // The example is a bbox the server takes.
        let example = bbox["example"].as_array().unwrap().iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",");
        assert!(Bbox::parse(&example).is_ok(), "{example}");
    }

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
