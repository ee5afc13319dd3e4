//! The jobcard document: one A4 page drawn with printpdf's operations and the PDF base fonts
//! (no font files to ship), from the facts of a closed ticket.

use chrono::{DateTime, Utc};
use printpdf::{
    BuiltinFont, Line, LinePoint, Mm, Op, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt, TextItem,
};

/// Everything the jobcard shows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobcardFacts {
    pub id: i64,
    pub number: String,
    pub ticket_type: String,
    pub priority: String,
    pub status: String,
    pub version: i32,
    pub description: String,
    pub resolution_notes: Option<String>,
    pub created_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub response_due_at: DateTime<Utc>,
    pub resolution_due_at: DateTime<Utc>,
    pub response_target_minutes: i32,
    pub resolution_target_minutes: i32,
    pub assigned_to: Option<i64>,
    pub asset_tag: String,
    pub asset_name: String,
    pub location_code: String,
    pub location_name: String,
    pub address: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub technician: Option<String>,
    pub approver: Option<String>,
    pub approval_comments: Option<String>,
}

struct Page {
    ops: Vec<Op>,
    y: f32,
}

const LEFT: f32 = 18.0;
const WIDTH: f32 = 174.0;

impl Page {
    fn text(&mut self, x: f32, size: f32, bold: bool, s: &str) {
        let font = if bold { BuiltinFont::HelveticaBold } else { BuiltinFont::Helvetica };
        self.ops.extend([
            Op::StartTextSection,
            Op::SetTextCursor { pos: Point::new(Mm(x), Mm(self.y)) },
            Op::SetFont { font: PdfFontHandle::Builtin(font), size: Pt(size) },
            Op::ShowText { items: vec![TextItem::Text(latin1(s))] },
            Op::EndTextSection,
        ]);
    }

    fn line(&mut self, size: f32, bold: bool, s: &str) {
        self.text(LEFT, size, bold, s);
        self.y -= size * 0.5;
    }

    /// A label and its value on one line.
    fn field(&mut self, label: &str, value: &str) {
        self.text(LEFT, 9.5, true, label);
        self.text(LEFT + 42.0, 9.5, false, value);
        self.y -= 5.2;
    }

    /// Long text wrapped at about 95 characters a line.
    fn paragraph(&mut self, s: &str) {
        for line in wrap(s, 95) {
            self.text(LEFT, 9.5, false, &line);
            self.y -= 4.8;
        }
    }

    fn rule(&mut self) {
        self.y -= 1.5;
        let p = |x: f32, y: f32| LinePoint { p: Point::new(Mm(x), Mm(y)), bezier: false };
        self.ops.push(Op::DrawLine {
            line: Line { points: vec![p(LEFT, self.y), p(LEFT + WIDTH, self.y)], is_closed: false },
        });
        self.y -= 5.0;
    }

    fn heading(&mut self, s: &str) {
        self.y -= 2.0;
        self.line(11.0, true, s);
        self.y -= 1.0;
    }
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".to_string(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// Met or breached, against the target.
fn verdict(done: Option<DateTime<Utc>>, due: DateTime<Utc>) -> &'static str {
    match done {
        Some(t) if t <= due => "met",
        Some(_) => "BREACHED",
        None => "not done",
    }
}

/// The base fonts speak WinAnsi; anything beyond Latin-1 becomes '?' rather than garbage.
fn latin1(s: &str) -> String {
    s.chars().map(|c| if (c as u32) < 256 && !c.is_control() { c } else { '?' }).collect()
}

fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in s.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty() && line.chars().count() + word.chars().count() + 1 > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(line);
    }
    // A page holds what a jobcard needs; a novel in the notes is cut, not spilled off the page.
    lines.truncate(12);
    lines
}

impl JobcardFacts {
    /// A realistic closed ticket, for tests and the benchmark.
    pub fn example() -> JobcardFacts {
        let t = |h| DateTime::parse_from_rfc3339(&format!("2026-11-23T{h:02}:00:00Z")).unwrap().with_timezone(&Utc);
        JobcardFacts {
            id: 1,
            number: "CM-2026-000042".into(),
            ticket_type: "CM".into(),
            priority: "high".into(),
            status: "closed".into(),
            version: 7,
            description: "Cash dispenser jammed ".repeat(20),
            resolution_notes: Some("Cleared the jam, replaced the pick roller".into()),
            created_at: t(1),
            responded_at: Some(t(2)),
            resolved_at: Some(t(12)),
            closed_at: Some(t(13)),
            response_due_at: t(3),
            resolution_due_at: t(9),
            response_target_minutes: 120,
            resolution_target_minutes: 480,
            assigned_to: Some(3),
            asset_tag: "ATM-DPS0001".into(),
            asset_name: "Hyosung MX8600".into(),
            location_code: "DPS0001".into(),
            location_name: "BRI Mall Denpasar".into(),
            address: Some("Jl. Gatot Subroto No. 24, Denpasar".into()),
            latitude: Some(-8.67),
            longitude: Some(115.21),
            technician: Some("Made Wirawan <technician@example.com>".into()),
            approver: Some("supervisor@example.com".into()),
            approval_comments: Some("Photos attached, good work".into()),
        }
    }
}

/// The PDF bytes.
pub fn render(f: &JobcardFacts) -> Vec<u8> {
    let mut page = Page { ops: Vec::new(), y: 279.0 };
    page.line(18.0, true, &format!("Jobcard {}", f.number));
    page.line(10.0, false, &format!("{} ticket, priority {}, status {}", f.ticket_type, f.priority, f.status));
    page.rule();

    page.heading("Site and asset");
    page.field("TID", &format!("{} - {}", f.location_code, f.location_name));
    page.field("Address", f.address.as_deref().unwrap_or("-"));
    let coordinates = match (f.latitude, f.longitude) {
        (Some(lat), Some(lng)) => format!("{lat:.5}, {lng:.5}"),
        _ => "-".into(),
    };
    page.field("Coordinates", &coordinates);
    page.field("Asset", &format!("{} - {}", f.asset_tag, f.asset_name));
    page.field("Technician", f.technician.as_deref().unwrap_or("-"));

    page.heading("Timeline and SLA");
    page.field("Created", &when(Some(f.created_at)));
    page.field(
        "Responded",
        &format!(
            "{}  (target {} min, due {}: {})",
            when(f.responded_at),
            f.response_target_minutes,
            when(Some(f.response_due_at)),
            verdict(f.responded_at, f.response_due_at)
        ),
    );
    page.field(
        "Resolved",
        &format!(
            "{}  (target {} min, due {}: {})",
            when(f.resolved_at),
            f.resolution_target_minutes,
            when(Some(f.resolution_due_at)),
            verdict(f.resolved_at, f.resolution_due_at)
        ),
    );
    page.field("Approved", &when(f.closed_at));

    page.heading("Problem");
    page.paragraph(&f.description);
    page.heading("Work done");
    page.paragraph(f.resolution_notes.as_deref().unwrap_or("-"));
    page.heading("Approval");
    page.field("Approved by", f.approver.as_deref().unwrap_or("-"));
    page.paragraph(f.approval_comments.as_deref().unwrap_or("-"));

    page.y = page.y.min(60.0);
    page.rule();
    page.y -= 14.0;
    for (x, label) in
        [(LEFT, "Technician signature"), (LEFT + 62.0, "Site representative"), (LEFT + 124.0, "Supervisor")]
    {
        let p = |x: f32, y: f32| LinePoint { p: Point::new(Mm(x), Mm(y)), bezier: false };
        page.ops
            .push(Op::DrawLine { line: Line { points: vec![p(x, page.y), p(x + 50.0, page.y)], is_closed: false } });
        let y = page.y;
        page.y -= 5.0;
        page.text(x, 8.5, false, label);
        page.y = y;
    }

    let mut doc = PdfDocument::new(&format!("Jobcard {}", f.number));
    doc.with_pages(vec![PdfPage::new(Mm(210.0), Mm(297.0), page.ops)]);
    doc.save(&PdfSaveOptions::default(), &mut Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn text_of(pdf: &[u8]) -> String {
        let doc = PdfDocument::parse(pdf, &printpdf::PdfParseOptions::default(), &mut Vec::new()).unwrap();
        let mut out = String::new();
        for page in doc.pages {
            for op in page.ops {
                if let Op::ShowText { items } = op {
                    for item in items {
                        if let TextItem::Text(s) = item {
                            out.push_str(&s);
                            out.push('\n');
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn the_jobcard_states_the_ticket_site_sla_and_approver() {
        let pdf = render(&JobcardFacts::example());
        assert!(pdf.starts_with(b"%PDF-"));
        let text = text_of(&pdf);
        for expected in [
            "CM-2026-000042",
            "DPS0001",
            "supervisor@example.com",
            "ATM-DPS0001",
            "-8.67000, 115.21000",
            "BREACHED",
            "met",
            "Technician signature",
        ] {
            assert!(text.contains(expected), "{expected} missing from:\n{text}");
        }
    }

    #[test]
    fn non_latin_text_degrades_to_question_marks() {
        assert_eq!(latin1("Café – 東京"), "Café ? ??");
        assert_eq!(wrap(&"word ".repeat(100), 20).len(), 12);
    }
}
