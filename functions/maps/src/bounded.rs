//! An unclustered map answers at most what one Lambda response carries
//! ([`nexus_shared::response_size`]: 4.7 MB, fewer when quotes are many): it is serialised, then
//! weighed. Past that it is 422 naming the viewport that fits — the same centre and shape as the
//! one asked for (or as the data, without a bbox), shrunk until the features nearest the centre
//! fit — and its zoom, so a client can zoom in straight to an answer.

use axum::body::Bytes;
use nexus_shared::response_size::{ENVELOPE, LAMBDA_LIMIT, MAX_BODY_BYTES, MAX_BODY_TEXT};
use nexus_shared::{ApiError, ApiResult};
use serde::Serialize;

use crate::bbox::Bbox;
use crate::geojson::Feature;

/// The smallest feature either map writes (a site with empty texts:
/// `{"type":"Feature","geometry":{"type":"Point","coordinates":[0.0,0.0]},"properties":{"id":1,"code":"","name":"","region":null,"active_ticket_count":0}}`).
const MIN_FEATURE_BYTES: usize = 140;

/// More features than this cannot fit however small: a map reads no more rows than this + 1.
pub const MAX_FEATURES: i64 = (MAX_BODY_BYTES / MIN_FEATURE_BYTES) as i64 + 1;

/// What a fitting viewport keeps: the centre, and the half width and height it shrinks from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    cx: f64,
    cy: f64,
    hw: f64,
    hh: f64,
}

impl Frame {
    pub fn of(bbox: &Bbox) -> Self {
        Self {
            cx: (bbox.min_lng + bbox.max_lng) / 2.0,
            cy: (bbox.min_lat + bbox.max_lat) / 2.0,
            hw: (bbox.max_lng - bbox.min_lng) / 2.0,
            hh: (bbox.max_lat - bbox.min_lat) / 2.0,
        }
    }

    /// The box around `points` (none without points).
    pub fn around(points: impl IntoIterator<Item = [f64; 2]>) -> Option<Self> {
        let mut points = points.into_iter();
        let [x, y] = points.next()?;
        let bbox = points.fold(Bbox { min_lng: x, min_lat: y, max_lng: x, max_lat: y }, |b, [x, y]| Bbox {
            min_lng: b.min_lng.min(x),
            min_lat: b.min_lat.min(y),
            max_lng: b.max_lng.max(x),
            max_lat: b.max_lat.max(y),
        });
        Some(Self::of(&bbox))
    }

    /// How far out a point is: 1 on the frame's edge, 0.5 halfway from the centre to it.
    fn distance(&self, [x, y]: [f64; 2]) -> f64 {
        let along = |d: f64, half: f64| if d == 0.0 { 0.0 } else { d / half.max(1e-9) };
        along((x - self.cx).abs(), self.hw).max(along((y - self.cy).abs(), self.hh))
    }

    /// [`Frame::distance`] of the site `l` as SQL, to read the rows nearest the centre first.
    pub fn distance_sql(&self) -> String {
        let (hw, hh) = (self.hw.max(1e-9), self.hh.max(1e-9));
        format!("greatest(abs(l.longitude - ({:?})) / {hw:?}, abs(l.latitude - ({:?})) / {hh:?})", self.cx, self.cy)
    }

    /// The frame scaled by `scale` about its centre, within the world.
    fn scaled(&self, scale: f64) -> Bbox {
        let round = |v: f64| (v * 1e6).round() / 1e6;
        Bbox {
            min_lng: round((self.cx - scale * self.hw).max(-180.0)),
            min_lat: round((self.cy - scale * self.hh).max(-90.0)),
            max_lng: round((self.cx + scale * self.hw).min(180.0)),
            max_lat: round((self.cy + scale * self.hh).min(90.0)),
        }
    }
}

/// A FeatureCollection as serde writes it, with where each feature ends.
struct Written {
    body: Vec<u8>,
    ends: Vec<usize>,
}

const PREFIX: &[u8] = br#"{"type":"FeatureCollection","features":["#;

fn write<P: Serialize>(features: &[Feature<P>]) -> ApiResult<Written> {
    let mut body = Vec::with_capacity(64 + 320 * features.len());
    body.extend_from_slice(PREFIX);
    let mut ends = Vec::with_capacity(features.len());
    for feature in features {
        if !ends.is_empty() {
            body.push(b',');
        }
        serde_json::to_writer(&mut body, feature).map_err(ApiError::internal)?;
        ends.push(body.len());
    }
    body.extend_from_slice(b"]}");
    Ok(Written { body, ends })
}

/// `features` as GeoJSON when it fits one response; otherwise the 422 naming the viewport around
/// `frame` (the data's own without one) that does. `what` names the features (`tickets`).
pub fn collection<P: Serialize>(features: &[Feature<P>], frame: Option<Frame>, what: &str) -> ApiResult<Bytes> {
    let written = write(features)?;
    if nexus_shared::response_size::fits(&written.body) {
        return Ok(Bytes::from(written.body));
    }
    let frame = frame.or_else(|| Frame::around(features.iter().map(|f| f.geometry.coordinates)));
    let size = format!("{:.1} MB", written.body.len() as f64 / 1e6);
    Err(refusal(&written, features, frame, &format!("{} {what} in {size}", features.len())))
}

/// The 422 for a view holding more than [`MAX_FEATURES`]: `nearest` are the first of them by
/// [`Frame::distance`] from `frame`'s centre.
pub fn too_many<P: Serialize>(nearest: &[Feature<P>], frame: Frame, what: &str) -> ApiResult<ApiError> {
    let written = write(nearest)?;
    Ok(refusal(&written, nearest, Some(frame), &format!("more than {MAX_FEATURES} {what}")))
}

fn refusal<P>(written: &Written, features: &[Feature<P>], frame: Option<Frame>, holding: &str) -> ApiError {
    let fitting = frame.and_then(|frame| {
        let mut sizes: Vec<(f64, usize, usize)> = Vec::with_capacity(features.len());
        let mut start = PREFIX.len();
        for (feature, &end) in features.iter().zip(&written.ends) {
            let segment = &written.body[start..end];
            sizes.push((
                frame.distance(feature.geometry.coordinates),
                segment.len(),
                nexus_shared::csv::json_weight(segment),
            ));
            start = end;
        }
        fitting_scale(sizes).map(|scale| frame.scaled(scale))
    });
    let advice = match fitting {
        Some(b) => format!(
            "zoom in to bbox={},{},{},{} (zoom {} or closer around the same centre), filter, or ask for cluster=true",
            b.min_lng,
            b.min_lat,
            b.max_lng,
            b.max_lat,
            crate::query::fitting_zoom(Some(&b))
        ),
        None => "zoom in, filter, or ask for cluster=true".to_string(),
    };
    ApiError::validation(
        "bbox",
        format!("The view holds {holding}, over the {MAX_BODY_TEXT} one response can carry: {advice}."),
    )
}

/// The largest scale of the frame whose features (distance, bytes, bytes as a JSON string) fit
/// one answer: halfway between the farthest feature kept and the nearest one left out, so the
/// edge falls clear of both. `None` when not even the nearest fit.
fn fitting_scale(mut sizes: Vec<(f64, usize, usize)>) -> Option<f64> {
    // The collection's own bytes and the room a feature's comma takes.
    const ROOM: usize = LAMBDA_LIMIT - ENVELOPE - 128;
    sizes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut len, mut weight) = (0, 0);
    let mut kept: Option<f64> = None;
    let mut i = 0;
    while i < sizes.len() {
        // Features at one distance are all in or all out: one edge holds them all.
        let distance = sizes[i].0;
        let (mut group_len, mut group_weight) = (0, 0);
        while i < sizes.len() && sizes[i].0 == distance {
            (group_len, group_weight) = (group_len + sizes[i].1 + 1, group_weight + sizes[i].2 + 1);
            i += 1;
        }
        if len + group_len + 128 > MAX_BODY_BYTES || weight + group_weight > ROOM {
            return kept.map(|k| (k + distance) / 2.0);
        }
        (len, weight, kept) = (len + group_len, weight + group_weight, Some(distance));
    }
    // Everything fits (the caller saw more than it was shown): just past the farthest.
    kept.map(|k| k * 1.000_001)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_measures_outward_from_its_centre() {
        let frame = Frame::of(&Bbox { min_lng: 100.0, min_lat: -10.0, max_lng: 120.0, max_lat: 0.0 });
        assert_eq!(frame.distance([110.0, -5.0]), 0.0);
        assert_eq!(frame.distance([120.0, -5.0]), 1.0);
        assert_eq!(frame.distance([105.0, -7.5]), 0.5);
        assert_eq!(frame.scaled(0.5), Bbox { min_lng: 105.0, min_lat: -7.5, max_lng: 115.0, max_lat: -2.5 });
        assert_eq!(Frame::around([[1.0, 2.0], [3.0, 6.0]]), Some(Frame { cx: 2.0, cy: 4.0, hw: 1.0, hh: 2.0 }));
        assert_eq!(Frame::around([]), None);
    }

    #[test]
    fn the_fitting_scale_keeps_the_nearest_that_fit_and_falls_between() {
        let mb = 1_000_000;
        // Three 2 MB features: the first two fit (4 MB), the third does not.
        assert_eq!(fitting_scale(vec![(0.9, 2 * mb, 2 * mb), (0.1, 2 * mb, 2 * mb), (0.5, 2 * mb, 2 * mb)]), Some(0.7));
        // Equal distances go together: the two at 0.5 would make 6 MB.
        assert_eq!(fitting_scale(vec![(0.1, 2 * mb, 2 * mb), (0.5, 2 * mb, 2 * mb), (0.5, 2 * mb, 2 * mb)]), Some(0.3));
        // Weighed as a JSON string: 2 MB of quotes weigh 4 MB.
        assert_eq!(fitting_scale(vec![(0.1, 2 * mb, 4 * mb), (0.2, 2 * mb, 4 * mb)]), Some(0.15000000000000002));
        assert_eq!(fitting_scale(vec![(0.1, 5 * mb, 5 * mb)]), None);
    }
}
