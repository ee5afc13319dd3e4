//! RFC 7946 output: a FeatureCollection of Point features, coordinates `[longitude, latitude]`.

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureCollection<P> {
    /// Always `FeatureCollection`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "FeatureCollection")]
    pub kind: &'static str,
    pub features: Vec<Feature<P>>,
}

impl<P> FeatureCollection<P> {
    pub fn new(features: Vec<Feature<P>>) -> Self {
        Self { kind: "FeatureCollection", features }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Feature<P> {
    /// Always `Feature`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "Feature")]
    pub kind: &'static str,
    pub geometry: Point,
    pub properties: P,
}

impl<P> Feature<P> {
    pub fn point(longitude: f64, latitude: f64, properties: P) -> Self {
        Self { kind: "Feature", geometry: Point { kind: "Point", coordinates: [longitude, latitude] }, properties }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Point {
    /// Always `Point`.
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "Point")]
    pub kind: &'static str,
    /// `[longitude, latitude]`, in that order (RFC 7946).
    pub coordinates: [f64; 2],
}
