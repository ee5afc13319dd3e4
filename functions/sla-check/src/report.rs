//! What one sweep recorded.

use serde::Serialize;

use crate::line::Line;

/// The crossings a sweep recorded, per line. Crossings recorded by an earlier (or overlapping)
/// run are not counted again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub response_warnings: u64,
    pub response_breaches: u64,
    pub resolution_warnings: u64,
    pub resolution_breaches: u64,
}

impl SweepReport {
    /// All crossings recorded, whatever the line.
    pub fn total(&self) -> u64 {
        self.response_warnings + self.response_breaches + self.resolution_warnings + self.resolution_breaches
    }

    pub(crate) fn add(&mut self, line: Line, count: u64) {
        let counter = match line {
            Line::ResponseWarning => &mut self.response_warnings,
            Line::ResponseBreach => &mut self.response_breaches,
            Line::ResolutionWarning => &mut self.resolution_warnings,
            Line::ResolutionBreach => &mut self.resolution_breaches,
        };
        *counter += count;
    }
}
