//! The jobcard document: A4 pages drawn with the PDF base fonts (no font files to ship, written
//! by [`crate::pdf`]), from the facts of a closed ticket: the ticket, its site and SLA, its
//! checklist with the answers, the visits and the stored attachments. Long sections flow onto
//! further pages; every page names the ticket and says "page i of n". Times are the site's.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use nexus_shared::checklist::{Item, ItemType};
use serde_json::Value;

use crate::pdf::{self, BaseFont, Colour};

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
    /// The site's IANA zone; every time on the card is shown in it.
    pub timezone: String,
    pub technician: Option<String>,
    pub approver: Option<String>,
    pub approval_comments: Option<String>,
    pub checklist_id: Option<i64>,
    pub checklist_version: Option<i32>,
    /// Loaded after the ticket (see `store::field_work`).
    #[sqlx(skip)]
    pub field_work: FieldWork,
}

/// The proof of the work: the checklist and its answers, the visits, the stored attachments.
#[derive(Debug, Clone, Default)]
pub struct FieldWork {
    pub checklist: Option<ChecklistCard>,
    pub answers: Vec<AnswerLine>,
    /// In check-in order.
    pub visits: Vec<VisitLine>,
    /// Stored ones only, in upload order.
    pub attachments: Vec<AttachmentLine>,
}

/// The checklist version the ticket was worked against.
#[derive(Debug, Clone)]
pub struct ChecklistCard {
    pub name: String,
    pub version: i32,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AnswerLine {
    pub key: String,
    pub value: Value,
    /// Who answered (name, else email); `None` if nobody is recorded.
    pub answered_by: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VisitLine {
    pub id: i64,
    pub technician: String,
    pub checked_in_at: DateTime<Utc>,
    pub distance_m: Option<f64>,
    pub result: String,
    pub checked_out_at: Option<DateTime<Utc>>,
    pub checkout_distance_m: Option<f64>,
    pub checkout_result: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachmentLine {
    pub id: i64,
    pub kind: String,
    pub checklist_key: Option<String>,
    pub content_type: String,
    pub size_bytes: i64,
    /// Hex, as checked when it was stored.
    pub sha256: String,
    pub stored_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// Fonts and text measure

#[derive(Debug, Clone, Copy, PartialEq)]
enum Font {
    Regular,
    Bold,
    /// Courier: digests, where every character must be legible and columns line up.
    Mono,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Ink {
    Black,
    Grey,
    Red,
}

#[derive(Debug, Clone, Copy)]
struct Style {
    font: Font,
    size: f32,
    ink: Ink,
}

impl Style {
    const fn new(font: Font, size: f32, ink: Ink) -> Style {
        Style { font, size, ink }
    }
}

const BODY: Style = Style::new(Font::Regular, 9.5, Ink::Black);
const LABEL: Style = Style::new(Font::Bold, 9.5, Ink::Black);
const ITEM: Style = Style::new(Font::Regular, 9.0, Ink::Black);
const ANSWER: Style = Style::new(Font::Bold, 9.0, Ink::Black);
const FAILED: Style = Style::new(Font::Bold, 9.0, Ink::Red);
const MISSING: Style = Style::new(Font::Regular, 9.0, Ink::Grey);
const SMALL: Style = Style::new(Font::Regular, 7.0, Ink::Grey);
const CELL: Style = Style::new(Font::Regular, 8.0, Ink::Black);
const CELL_RED: Style = Style::new(Font::Regular, 8.0, Ink::Red);
const CELL_HEAD: Style = Style::new(Font::Bold, 8.0, Ink::Grey);
const DIGEST: Style = Style::new(Font::Mono, 6.8, Ink::Black);

const PT_MM: f32 = 0.352_778;

/// Advance widths (1/1000 em) of Helvetica and Helvetica-Bold for ' '..='~' (the AFM metrics
/// every viewer's substitute shares; a test checks them against printpdf's fonts). Other
/// characters are given a generous width, so a wrapped line may end early but never overflows.
#[rustfmt::skip]
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
#[rustfmt::skip]
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

fn char_width(font: Font, c: char) -> u16 {
    let ascii = (c as usize).checked_sub(32).filter(|i| *i < 95);
    match (font, ascii) {
        (Font::Mono, _) => 600,
        (Font::Regular, Some(i)) => HELVETICA[i],
        (Font::Bold, Some(i)) => HELVETICA_BOLD[i],
        // Beyond ASCII: the wide marks, then capitals and the rest (mostly accented letters).
        (Font::Regular | Font::Bold, None) => match c {
            '—' | '…' | '‰' | '™' | 'Æ' | 'Œ' | 'æ' | 'œ' => 1000,
            _ if c.is_uppercase() => 778,
            _ => 611,
        },
    }
}

/// How wide `s` is in `style`, in mm.
fn width(style: Style, s: &str) -> f32 {
    let units: u32 = s.chars().map(|c| u32::from(char_width(style.font, c))).sum();
    units as f32 / 1000.0 * style.size * PT_MM
}

/// Distance between baselines for `style`, in mm.
fn leading(style: Style) -> f32 {
    style.size * PT_MM * 1.4
}

/// The base fonts speak WinAnsi (Latin-1 plus typographic marks such as — and •); anything
/// else becomes '?' rather than garbage, and control characters go.
fn winansi(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).map(|c| if pdf::win_ansi(c).is_some() { c } else { '?' }).collect()
}

/// `s` in lines no wider than `max` mm in `style`: words kept whole where they fit, a word
/// wider than a line cut where it must be, the text's own line breaks kept.
fn wrap(s: &str, style: Style, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in s.split('\n') {
        let paragraph = winansi(&paragraph.replace('\t', " "));
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if width(style, &candidate) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            for c in word.chars() {
                if !line.is_empty() && width(style, &format!("{line}{c}")) > max {
                    lines.push(std::mem::take(&mut line));
                }
                line.push(c);
            }
        }
        lines.push(line);
    }
    lines
}

// ---------------------------------------------------------------------------------------------
// Page layout

const LEFT: f32 = 18.0;
const WIDTH: f32 = 174.0;
const RIGHT: f32 = LEFT + WIDTH;
/// The first baseline of a page.
const TOP: f32 = 279.0;
/// No baseline of the content goes below this; the footer sits under it.
const BOTTOM: f32 = 20.0;
const FOOTER: f32 = 10.0;

/// The pages drawn so far and the one being drawn; `y` is where the next baseline goes.
struct Card {
    done: Vec<pdf::Page>,
    ops: pdf::Page,
    y: f32,
    /// The title repeated at the top of every following page.
    running_title: String,
    /// The section being drawn, named again on a page it continues onto.
    section: Option<String>,
    /// What the page's text state holds, so colour changes are written only when they change.
    fill: Option<Ink>,
}

impl Card {
    fn new(running_title: String) -> Self {
        Card { done: Vec::new(), ops: pdf::Page::default(), y: TOP, running_title, section: None, fill: None }
    }

    /// Makes sure `height` mm fit above the bottom margin, starting a page if not.
    fn room(&mut self, height: f32) {
        if self.y - height < BOTTOM - 4.0 {
            self.next_page();
        }
    }

    fn next_page(&mut self) {
        self.done.push(std::mem::take(&mut self.ops));
        self.fill = None;
        self.y = TOP;
        let title = format!("{} (continued)", self.running_title);
        self.text(LEFT, self.y, LABEL, &title);
        self.y -= 2.0;
        self.rule();
        if let Some(section) = self.section.clone() {
            self.text(LEFT, self.y, CELL_HEAD, &format!("{section} (continued)"));
            self.y -= leading(CELL) + 1.0;
        }
    }

    fn text(&mut self, x: f32, y: f32, style: Style, s: &str) {
        let font = match style.font {
            Font::Regular => BaseFont::Helvetica,
            Font::Bold => BaseFont::HelveticaBold,
            Font::Mono => BaseFont::Courier,
        };
        let fill = (self.fill != Some(style.ink)).then(|| ink(style.ink));
        self.fill = Some(style.ink);
        self.ops.text(pt(x), pt(y), font, style.size, fill, &winansi(s));
    }

    /// Text ending at `right`.
    fn text_right(&mut self, right: f32, y: f32, style: Style, s: &str) {
        self.text(right - width(style, s), y, style, s);
    }

    fn stroke(&mut self, from: (f32, f32), to: (f32, f32), grey: f32, thickness: f32) {
        let p = |(x, y): (f32, f32)| (pt(x), pt(y));
        self.ops.line(p(from), p(to), Colour::Grey(grey), thickness);
    }

    /// One line of `style` at the left margin.
    fn line(&mut self, style: Style, s: &str) {
        self.room(leading(style));
        self.text(LEFT, self.y, style, s);
        self.y -= leading(style);
    }

    /// A label and its value; a long value wraps under itself.
    fn field(&mut self, label: &str, value: &str) {
        let lines = wrap(value, BODY, WIDTH - 42.0);
        let step = leading(BODY) + 0.6;
        self.room(step * lines.len().min(3) as f32);
        self.text(LEFT, self.y, LABEL, label);
        for line in lines {
            self.room(step);
            self.text(LEFT + 42.0, self.y, BODY, &line);
            self.y -= step;
        }
    }

    /// Text wrapped over the width from `indent`, flowing onto the next page if it must.
    fn paragraph(&mut self, indent: f32, style: Style, s: &str) {
        for line in wrap(s, style, WIDTH - indent) {
            self.room(leading(style));
            self.text(LEFT + indent, self.y, style, &line);
            self.y -= leading(style);
        }
    }

    fn rule(&mut self) {
        self.y -= 1.5;
        self.stroke((LEFT, self.y), (RIGHT, self.y), 0.0, 0.75);
        self.y -= 5.0;
    }

    /// A section's title, kept on the page with at least `keep` mm of what follows.
    fn heading(&mut self, s: &str, keep: f32) {
        let style = Style::new(Font::Bold, 11.0, Ink::Black);
        // A page this heading starts continues nothing.
        self.section = None;
        self.room(3.0 + leading(style) + keep);
        self.y -= 3.0;
        self.text(LEFT, self.y, style, s);
        self.y -= leading(style) + 0.5;
        self.section = Some(s.to_string());
    }

    /// The pages, each with its footer.
    fn finish(mut self, footer: &str) -> Vec<pdf::Page> {
        self.done.push(std::mem::take(&mut self.ops));
        let count = self.done.len();
        let pages = std::mem::take(&mut self.done);
        pages
            .into_iter()
            .enumerate()
            .map(|(i, ops)| {
                self.ops = ops;
                self.fill = None;
                self.stroke((LEFT, FOOTER + 4.0), (RIGHT, FOOTER + 4.0), 0.6, 0.4);
                self.text(LEFT, FOOTER, SMALL, footer);
                self.text_right(RIGHT, FOOTER, SMALL, &format!("Page {} of {count}", i + 1));
                std::mem::take(&mut self.ops)
            })
            .collect()
    }
}

fn ink(ink: Ink) -> Colour {
    match ink {
        Ink::Black => Colour::Grey(0.0),
        Ink::Grey => Colour::Grey(0.42),
        Ink::Red => Colour::Rgb(0.75, 0.05, 0.05),
    }
}

/// Millimetres in points.
fn pt(mm: f32) -> f32 {
    mm * 72.0 / 25.4
}

// ---------------------------------------------------------------------------------------------
// What is written

/// A time in the site's zone, with the zone's abbreviation (WIB, WITA, +08…).
fn when(tz: Tz, t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "-".to_string(), |t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string())
}

/// Met or breached, against the target.
fn verdict(done: Option<DateTime<Utc>>, due: DateTime<Utc>) -> &'static str {
    match done {
        Some(t) if t <= due => "met",
        Some(_) => "BREACHED",
        None => "not done",
    }
}

const UNANSWERED: &str = "—";

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// How an item's answer reads on the card, and whether it is a failure to point out.
fn answer_text(item: &Item, value: &Value) -> (String, bool) {
    let number = |n: &Value| n.as_number().map(ToString::to_string);
    match (item.item_type, value) {
        (ItemType::Check, Value::Bool(yes)) => ((if *yes { "Yes" } else { "No" }).into(), false),
        (ItemType::PassFailNa, Value::String(s)) => match s.as_str() {
            "pass" => ("Pass".into(), false),
            "fail" => ("Fail".into(), true),
            "na" => ("N/A".into(), false),
            other => (other.into(), false),
        },
        (ItemType::Number, Value::Number(_)) => {
            let n = number(value).unwrap_or_default();
            (item.unit.as_ref().map_or(n.clone(), |unit| format!("{n} {unit}")), false)
        }
        (ItemType::Meter, Value::Number(_)) => {
            let n = number(value).unwrap_or_default();
            (item.meter_name.as_ref().map_or(n.clone(), |meter| format!("{n} (meter {meter})")), false)
        }
        (ItemType::Text | ItemType::Select, Value::String(s)) => (s.clone(), false),
        // A value that does not fit its item's type is shown as stored, not hidden.
        (_, other) => (other.to_string(), false),
    }
}

/// The stored attachments that meet a photo or signature item, as `checklist::Evidence` counts
/// them: those carrying its key; for a signature, also signatures naming no item.
fn evidence_count(item: &Item, attachments: &[AttachmentLine]) -> usize {
    let signature = item.item_type == ItemType::Signature;
    (attachments.iter())
        .filter(|a| match &a.checklist_key {
            Some(key) => *key == item.key,
            None => signature && a.kind == "signature",
        })
        .count()
}

fn metres(d: Option<f64>) -> String {
    d.map_or_else(|| UNANSWERED.to_string(), |d| format!("{} m", d.round() as i64))
}

fn visit_result(result: &str) -> (String, bool) {
    (result.replace('_', " "), result == "outside")
}

fn kilobytes(bytes: i64) -> String {
    format!("{:.1} KB", bytes as f64 / 1024.0)
}

impl Card {
    fn checklist(&mut self, work: &FieldWork, tz: Tz) {
        let Some(checklist) = &work.checklist else {
            self.heading("Checklist", 6.0);
            self.line(BODY, "No checklist.");
            return;
        };
        self.heading(&format!("Checklist: {} (version {})", checklist.name, checklist.version), 14.0);
        let answers: HashMap<&str, &AnswerLine> = work.answers.iter().map(|a| (a.key.as_str(), a)).collect();
        let done = (checklist.items.iter())
            .filter(|i| match i.item_type {
                ItemType::Photo | ItemType::Signature => evidence_count(i, &work.attachments) > 0,
                _ => answers.contains_key(i.key.as_str()),
            })
            .count();
        let summary = format!("{done} of {} items answered; * required", checklist.items.len());
        self.line(SMALL, &summary);
        self.y -= 1.0;
        for (n, item) in checklist.items.iter().enumerate() {
            self.item(n + 1, item, answers.get(item.key.as_str()).copied(), &work.attachments, tz);
        }
    }

    /// One item: its number and label on the left, the answer on the right (a text answer
    /// under the label, at full width), who answered and when in small type under it.
    fn item(&mut self, n: usize, item: &Item, answer: Option<&AnswerLine>, attachments: &[AttachmentLine], tz: Tz) {
        const LABEL_X: f32 = 8.0;
        const ANSWER_X: f32 = 106.0;
        let label = format!("{}{}", item.label, if item.required { " *" } else { "" });
        let labels = wrap(&label, ITEM, ANSWER_X - LABEL_X - 4.0);
        let (value, style, below) = match (item.item_type, answer) {
            (ItemType::Photo, _) => {
                let has = evidence_count(item, attachments);
                let needed = item.min_count.unwrap_or(1) as usize;
                let text = match has {
                    0 => UNANSWERED.to_string(),
                    _ if has < needed => format!("{} (needs {needed})", plural(has, "photo", "photos")),
                    _ => plural(has, "photo", "photos"),
                };
                (text, if has == 0 { MISSING } else { ANSWER }, false)
            }
            (ItemType::Signature, _) => match evidence_count(item, attachments) {
                0 => (UNANSWERED.to_string(), MISSING, false),
                has => (plural(has, "signature", "signatures"), ANSWER, false),
            },
            (_, None) => (UNANSWERED.to_string(), MISSING, false),
            (ItemType::Text, Some(a)) => (answer_text(item, &a.value).0, ITEM, true),
            (_, Some(a)) => {
                let (text, failed) = answer_text(item, &a.value);
                (text, if failed { FAILED } else { ANSWER }, false)
            }
        };
        let values = if below { Vec::new() } else { wrap(&value, style, WIDTH - ANSWER_X) };
        let meta = answer.filter(|_| item.takes_a_value()).map(|a| {
            let mut meta = match &a.answered_by {
                Some(who) => format!("{who}, {}", when(tz, Some(a.occurred_at))),
                None => when(tz, Some(a.occurred_at)),
            };
            // Answered offline: when the server learnt of it is part of the record too.
            if a.received_at - a.occurred_at > chrono::Duration::minutes(5) {
                meta.push_str(&format!(" (received {})", when(tz, Some(a.received_at))));
            }
            meta
        });
        let step = leading(ITEM);
        let rows = labels.len().max(values.len());
        let meta_height = if meta.is_some() { leading(SMALL) } else { 0.0 };
        // The item stays together on a page; only a long text answer may flow on.
        self.room(step * rows as f32 + if below { step } else { meta_height });
        let top = self.y;
        self.text_right(LEFT + LABEL_X - 2.0, top, Style::new(Font::Regular, 8.0, Ink::Grey), &format!("{n}."));
        for (i, line) in labels.iter().enumerate() {
            self.text(LEFT + LABEL_X, top - step * i as f32, ITEM, line);
        }
        for (i, line) in values.iter().enumerate() {
            self.text(LEFT + ANSWER_X, top - step * i as f32, style, line);
        }
        self.y = top - step * rows as f32;
        if below {
            self.y -= 0.6;
            self.paragraph(LABEL_X + 3.0, style, &value);
        }
        if let Some(meta) = meta {
            self.y += 0.8;
            self.paragraph(LABEL_X, SMALL, &meta);
        }
        self.y -= 0.2;
        self.stroke((LEFT + LABEL_X, self.y + 2.4), (RIGHT, self.y + 2.4), 0.85, 0.3);
        self.y -= 1.6;
    }

    fn visits(&mut self, visits: &[VisitLine], tz: Tz) {
        self.heading("Visits", 12.0);
        if visits.is_empty() {
            self.line(BODY, "No visits recorded.");
            return;
        }
        // Technician | check-in: time, distance from the site, result | check-out: the same.
        const COLUMNS: [f32; 7] = [0.0, 34.0, 79.0, 81.0, 104.0, 149.0, 151.0];
        let x = |i: usize| LEFT + COLUMNS[i];
        let head = [(0, "Technician"), (1, "Check-in"), (3, "Result"), (4, "Check-out"), (6, "Result")];
        self.room(leading(CELL) * 2.0);
        for (i, label) in head {
            self.text(x(i), self.y, CELL_HEAD, label);
        }
        self.text_right(x(2), self.y, CELL_HEAD, "Dist.");
        self.text_right(x(5), self.y, CELL_HEAD, "Dist.");
        self.y -= leading(CELL);
        for visit in visits {
            let names = wrap(&visit.technician, CELL, COLUMNS[1] - 2.0);
            let step = leading(CELL);
            self.room(step * names.len() as f32 + 1.0);
            let top = self.y;
            for (i, name) in names.iter().enumerate() {
                self.text(x(0), top - step * i as f32, CELL, name);
            }
            self.text(x(1), top, CELL, &when(tz, Some(visit.checked_in_at)));
            self.text_right(x(2), top, CELL, &metres(visit.distance_m));
            let (result, outside) = visit_result(&visit.result);
            self.text(x(3), top, if outside { CELL_RED } else { CELL }, &result);
            match (&visit.checked_out_at, &visit.checkout_result) {
                (Some(out), Some(result)) => {
                    self.text(x(4), top, CELL, &when(tz, Some(*out)));
                    self.text_right(x(5), top, CELL, &metres(visit.checkout_distance_m));
                    let (result, outside) = visit_result(result);
                    self.text(x(6), top, if outside { CELL_RED } else { CELL }, &result);
                }
                _ => self.text(x(4), top, Style::new(Font::Regular, 8.0, Ink::Grey), "not checked out"),
            }
            self.y = top - step * names.len() as f32 - 1.0;
        }
    }

    fn attachments(&mut self, attachments: &[AttachmentLine], tz: Tz) {
        self.heading("Attachments", 12.0);
        if attachments.is_empty() {
            self.line(BODY, "No stored attachments.");
            return;
        }
        // #id | kind | checklist item | size | SHA-256 (full, monospaced) | stored
        const COLUMNS: [f32; 5] = [0.0, 11.0, 28.0, 77.0, 80.0];
        let x = |i: usize| LEFT + COLUMNS[i];
        self.room(leading(CELL) * 3.0);
        for (i, label) in [(0, "#"), (1, "Kind"), (2, "Checklist item"), (4, "SHA-256, stored")] {
            self.text(x(i), self.y, CELL_HEAD, label);
        }
        self.text_right(x(3), self.y, CELL_HEAD, "Size");
        self.y -= leading(CELL);
        for a in attachments {
            let keys = wrap(a.checklist_key.as_deref().unwrap_or("-"), CELL, COLUMNS[3] - COLUMNS[2] - 16.0);
            let step = leading(CELL);
            let rows = keys.len().max(2);
            self.room(step * rows as f32 + 1.0);
            let top = self.y;
            self.text(x(0), top, CELL, &a.id.to_string());
            self.text(x(1), top, CELL, &a.kind);
            for (i, key) in keys.iter().enumerate() {
                self.text(x(2), top - step * i as f32, CELL, key);
            }
            self.text_right(x(3), top, CELL, &kilobytes(a.size_bytes));
            self.text(x(4), top, DIGEST, &a.sha256);
            let stored = format!("{}, stored {}", a.content_type, when(tz, Some(a.stored_at)));
            self.text(x(4), top - step + 0.6, SMALL, &stored);
            self.y = top - step * rows as f32 - 0.6;
        }
    }

    /// The sign-off: the stored signatures, then lines to sign by hand, at the foot of a page.
    ///
    /// A signature's image is not drawn: printpdf decodes PNG only through the `image` crate
    /// (its `png` feature: ~30 s more compile, ~0.4 MB more binary) and the object store has
    /// no read of an object's bytes. The card names the stored object instead, precisely
    /// enough (id and SHA-256) to fetch it and prove it is the one signed.
    fn sign_off(&mut self, attachments: &[AttachmentLine], tz: Tz) {
        let references: Vec<(Vec<String>, &str)> = (attachments.iter())
            .filter(|a| a.kind == "signature")
            .map(|s| {
                let item = s.checklist_key.as_ref().map_or(String::new(), |k| format!(" (item {k})"));
                let stored = when(tz, Some(s.stored_at));
                let text = format!("Signed: signature attachment #{}{item}, stored at {stored}, SHA-256:", s.id);
                (wrap(&text, CELL, WIDTH), s.sha256.as_str())
            })
            .collect();
        let reference = |lines: &[String]| lines.len() as f32 * leading(CELL) + leading(DIGEST) + 0.6;
        let height: f32 = references.iter().map(|(lines, _)| reference(lines)).sum();
        // The rule, the space to sign in, the lines and their labels.
        const LINES: f32 = 30.0;
        if height + LINES < TOP - BOTTOM - 20.0 {
            self.room(height + LINES);
            self.y = self.y.min(BOTTOM + height + LINES);
        }
        self.rule();
        for (lines, sha256) in references {
            self.room(reference(&lines));
            for line in lines {
                self.text(LEFT, self.y, CELL, &line);
                self.y -= leading(CELL);
            }
            self.text(LEFT + 4.0, self.y, DIGEST, sha256);
            self.y -= leading(DIGEST) + 0.6;
        }
        self.room(LINES - 6.5);
        self.y -= 12.0;
        for (x, label) in
            [(LEFT, "Technician signature"), (LEFT + 62.0, "Site representative"), (LEFT + 124.0, "Supervisor")]
        {
            self.stroke((x, self.y), (x + 50.0, self.y), 0.0, 0.75);
            self.text(x, self.y - 5.0, Style::new(Font::Regular, 8.5, Ink::Black), label);
        }
        self.y -= 8.0;
    }
}

impl JobcardFacts {
    fn zone(&self) -> Tz {
        Tz::from_str(&self.timezone).unwrap_or(chrono_tz::Asia::Jakarta)
    }

    /// A realistic closed ticket with its field work, for tests and the benchmark.
    pub fn example() -> JobcardFacts {
        let t = |h: u32, m: u32| {
            DateTime::parse_from_rfc3339(&format!("2026-11-23T{h:02}:{m:02}:00Z")).unwrap().with_timezone(&Utc)
        };
        let items: Vec<Item> = serde_json::from_value(serde_json::json!([
            {"key": "door", "label": "Door and lock intact", "type": "check", "required": true},
            {"key": "cash_out", "label": "Test cash-out succeeds", "type": "pass_fail_na", "required": true},
            {"key": "temperature", "label": "Cabinet temperature", "type": "number", "required": true, "unit": "°C"},
            {"key": "condition", "label": "Pick roller condition", "type": "select", "required": false,
             "options": ["ok", "worn", "replaced"]},
            {"key": "notes_dispensed", "label": "Notes dispensed counter", "type": "meter", "required": true,
             "meter_name": "notes_dispensed"},
            {"key": "remarks", "label": "Remarks", "type": "text", "required": false},
            {"key": "fascia", "label": "Photo of the fascia", "type": "photo", "required": true, "min_count": 2},
            {"key": "ups", "label": "UPS self-test", "type": "pass_fail_na", "required": false},
            {"key": "customer", "label": "Branch staff signature", "type": "signature", "required": true},
        ]))
        .unwrap();
        let answer = |key: &str, value: Value, at| AnswerLine {
            key: key.into(),
            value,
            answered_by: Some("Made Wirawan".into()),
            occurred_at: at,
            received_at: at,
        };
        let attachment = |id, kind: &str, key: Option<&str>, size_bytes, sha: &str| AttachmentLine {
            id,
            kind: kind.into(),
            checklist_key: key.map(Into::into),
            content_type: if kind == "signature" { "image/png" } else { "image/jpeg" }.into(),
            size_bytes,
            sha256: sha.repeat(64 / sha.len()),
            stored_at: t(11, 40),
        };
        JobcardFacts {
            id: 1,
            number: "CM-2026-000042".into(),
            ticket_type: "CM".into(),
            priority: "high".into(),
            status: "closed".into(),
            version: 7,
            description: "Cash dispenser jammed ".repeat(20),
            resolution_notes: Some("Cleared the jam, replaced the pick roller".into()),
            created_at: t(1, 0),
            responded_at: Some(t(2, 0)),
            resolved_at: Some(t(12, 0)),
            closed_at: Some(t(13, 0)),
            response_due_at: t(3, 0),
            resolution_due_at: t(9, 0),
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
            timezone: "Asia/Makassar".into(),
            technician: Some("Made Wirawan <technician@example.com>".into()),
            approver: Some("supervisor@example.com".into()),
            approval_comments: Some("Photos attached, good work".into()),
            checklist_id: Some(1),
            checklist_version: Some(3),
            field_work: FieldWork {
                checklist: Some(ChecklistCard { name: "ATM corrective visit".into(), version: 3, items }),
                answers: vec![
                    answer("door", Value::Bool(true), t(10, 5)),
                    answer("cash_out", "fail".into(), t(10, 20)),
                    answer("temperature", 31.5.into(), t(10, 22)),
                    answer("condition", "replaced".into(), t(11, 10)),
                    answer("notes_dispensed", 184_220.into(), t(11, 12)),
                    AnswerLine {
                        received_at: t(12, 30),
                        ..answer(
                            "remarks",
                            "Pick roller worn through; replaced from van stock. Dispenser cycled 20 times \
                             without a jam. Recommend checking the note quality in cassette 2."
                                .into(),
                            t(11, 30),
                        )
                    },
                ],
                visits: vec![
                    VisitLine {
                        id: 1,
                        technician: "Made Wirawan".into(),
                        checked_in_at: t(2, 0),
                        distance_m: Some(412.4),
                        result: "outside".into(),
                        checked_out_at: Some(t(2, 10)),
                        checkout_distance_m: Some(388.0),
                        checkout_result: Some("outside".into()),
                    },
                    VisitLine {
                        id: 2,
                        technician: "Made Wirawan".into(),
                        checked_in_at: t(10, 0),
                        distance_m: Some(37.6),
                        result: "inside".into(),
                        checked_out_at: Some(t(11, 55)),
                        checkout_distance_m: Some(41.2),
                        checkout_result: Some("inside".into()),
                    },
                ],
                attachments: vec![
                    attachment(11, "before", None, 245_817, "0f1e2d3c"),
                    attachment(12, "after", Some("fascia"), 301_004, "a1b2c3d4"),
                    attachment(13, "after", Some("fascia"), 287_333, "5e6f7a8b"),
                    attachment(14, "signature", Some("customer"), 18_211, "9c8d7e6f"),
                ],
            },
        }
    }
}

/// The PDF bytes.
pub fn render(f: &JobcardFacts) -> Vec<u8> {
    let tz = f.zone();
    let mut card = Card::new(format!("Jobcard {}", f.number));
    card.text(LEFT, card.y, Style::new(Font::Bold, 18.0, Ink::Black), &format!("Jobcard {}", f.number));
    card.y -= 9.0;
    card.line(
        Style::new(Font::Regular, 10.0, Ink::Black),
        &format!("{} ticket, priority {}, status {}", f.ticket_type, f.priority, f.status),
    );
    card.line(SMALL, &format!("Times are the site's ({})", f.timezone));
    card.rule();

    card.heading("Site and asset", 10.0);
    card.field("TID", &format!("{} - {}", f.location_code, f.location_name));
    card.field("Address", f.address.as_deref().unwrap_or("-"));
    let coordinates = match (f.latitude, f.longitude) {
        (Some(lat), Some(lng)) => format!("{lat:.5}, {lng:.5}"),
        _ => "-".into(),
    };
    card.field("Coordinates", &coordinates);
    card.field("Asset", &format!("{} - {}", f.asset_tag, f.asset_name));
    card.field("Technician", f.technician.as_deref().unwrap_or("-"));

    card.heading("Timeline and SLA", 10.0);
    card.field("Created", &when(tz, Some(f.created_at)));
    card.field(
        "Responded",
        &format!(
            "{}  (target {} min, due {}: {})",
            when(tz, f.responded_at),
            f.response_target_minutes,
            when(tz, Some(f.response_due_at)),
            verdict(f.responded_at, f.response_due_at)
        ),
    );
    card.field(
        "Resolved",
        &format!(
            "{}  (target {} min, due {}: {})",
            when(tz, f.resolved_at),
            f.resolution_target_minutes,
            when(tz, Some(f.resolution_due_at)),
            verdict(f.resolved_at, f.resolution_due_at)
        ),
    );
    card.field("Approved", &when(tz, f.closed_at));

    card.heading("Problem", 10.0);
    card.paragraph(0.0, BODY, &f.description);
    card.heading("Work done", 10.0);
    card.paragraph(0.0, BODY, f.resolution_notes.as_deref().unwrap_or("-"));

    let work = &f.field_work;
    card.checklist(work, tz);
    card.visits(&work.visits, tz);
    card.attachments(&work.attachments, tz);

    card.heading("Approval", 10.0);
    card.field("Approved by", f.approver.as_deref().unwrap_or("-"));
    card.paragraph(0.0, BODY, f.approval_comments.as_deref().unwrap_or("-"));
    card.sign_off(&work.attachments, tz);

    let footer =
        format!("Jobcard {} · ticket version {} · {} {}", f.number, f.version, f.location_code, f.location_name);
    pdf::document(&format!("Jobcard {}", f.number), &card.finish(&footer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use printpdf::{BuiltinFont, Mm, Op, PdfDocument, TextItem};

    /// Each page's text, one shown string a line.
    pub fn pages_of(pdf: &[u8]) -> Vec<String> {
        let doc = PdfDocument::parse(pdf, &printpdf::PdfParseOptions::default(), &mut Vec::new()).unwrap();
        (doc.pages.into_iter())
            .map(|page| {
                let mut out = String::new();
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
                out
            })
            .collect()
    }

    #[test]
    fn the_jobcard_states_the_ticket_site_sla_and_approver() {
        let pdf = render(&JobcardFacts::example());
        assert!(pdf.starts_with(b"%PDF-"));
        let text = pages_of(&pdf).concat();
        for expected in [
            "CM-2026-000042",
            "DPS0001",
            "supervisor@example.com",
            "ATM-DPS0001",
            "-8.67000, 115.21000",
            "BREACHED",
            "met",
            "Technician signature",
            // 01:00 UTC in Denpasar.
            "2026-11-23 09:00 WITA",
        ] {
            assert!(text.contains(expected), "{expected} missing from:\n{text}");
        }
        assert!(!text.contains("UTC"), "every time is the site's:\n{text}");
    }

    #[test]
    fn the_jobcard_shows_the_checklist_visits_and_attachments() {
        let text = pages_of(&render(&JobcardFacts::example())).concat();
        for expected in [
            "Checklist: ATM corrective visit (version 3)",
            "Door and lock intact *",
            "Yes",
            "Fail",
            "31.5 °C",
            "replaced",
            "184220 (meter notes_dispensed)",
            "Pick roller worn through; replaced from van stock.",
            "2 photos",
            "1 signature",
            // The UPS test was not answered.
            "—",
            "Made Wirawan, 2026-11-23 19:30 WITA (received 2026-11-23 20:30 WITA)",
            "412 m",
            "outside",
            "38 m",
            "inside",
            "2026-11-23 18:00 WITA",
            "293.9 KB",
            &"a1b2c3d4".repeat(8),
            "Signed: signature attachment #14 (item customer), stored at 2026-11-23 19:40 WITA, SHA-256:",
            &"9c8d7e6f".repeat(8),
            "Page 1 of",
        ] {
            assert!(text.contains(expected), "{expected} missing from:\n{text}");
        }
    }

    #[test]
    fn an_unanswered_card_says_so_and_answers_read_per_type() {
        let mut facts = JobcardFacts::example();
        facts.field_work.answers.clear();
        facts.field_work.attachments.clear();
        facts.field_work.visits.clear();
        let text = pages_of(&render(&facts)).concat();
        assert_eq!(text.matches(UNANSWERED).count(), 9, "{text}");
        assert!(text.contains("No visits recorded.") && text.contains("No stored attachments."), "{text}");
        facts.field_work.checklist = None;
        assert!(pages_of(&render(&facts)).concat().contains("No checklist."));

        let item = |body: Value| -> Item { serde_json::from_value(body).unwrap() };
        let number = item(serde_json::json!({"key": "n", "label": "N", "type": "number", "required": true}));
        assert_eq!(answer_text(&number, &serde_json::json!(7)).0, "7");
        let check = item(serde_json::json!({"key": "c", "label": "C", "type": "check", "required": true}));
        assert_eq!(answer_text(&check, &Value::Bool(false)).0, "No");
        assert_eq!(answer_text(&check, &serde_json::json!("odd")).0, "\"odd\"", "shown as stored");
    }

    #[test]
    fn a_long_checklist_flows_onto_more_pages_inside_the_margins() {
        let mut facts = JobcardFacts::example();
        let items: Vec<Item> = (0..200)
            .map(|i| {
                serde_json::from_value(serde_json::json!({
                    "key": format!("item_{i}"), "label": format!("Inspection point {i} of the cash module"),
                    "type": "pass_fail_na", "required": true
                }))
                .unwrap()
            })
            .collect();
        facts.field_work.answers = (0..200)
            .map(|i| AnswerLine {
                key: format!("item_{i}"),
                value: "pass".into(),
                answered_by: Some("Made Wirawan".into()),
                occurred_at: facts.created_at,
                received_at: facts.created_at,
            })
            .collect();
        facts.field_work.checklist.as_mut().unwrap().items = items;
        // More signatures than a page holds: their references flow on too.
        let signature = facts.field_work.attachments[3].clone();
        facts.field_work.attachments.extend((0..60).map(|id| AttachmentLine { id, ..signature.clone() }));
        let pdf = render(&facts);
        let pages = pages_of(&pdf);
        assert!(pages.len() > 3, "{} pages", pages.len());
        let text = pages.concat();
        assert!(text.contains("Inspection point 199 of the cash module"));
        assert!(pages[1].contains("Jobcard CM-2026-000042 (continued)"));
        assert!(pages[1].contains("Checklist: ATM corrective visit (version 3) (continued)"), "{}", pages[1]);
        // The example's own second page starts with a section: it continues nothing.
        assert!(!pages_of(&render(&JobcardFacts::example()))[1].contains("Visits (continued)"));
        assert!(pages.last().unwrap().contains("Technician signature"));
        assert!(pages.last().unwrap().contains(&format!("Page {} of {}", pages.len(), pages.len())));

        // No text is placed outside the page's margins.
        let doc = PdfDocument::parse(&pdf, &printpdf::PdfParseOptions::default(), &mut Vec::new()).unwrap();
        for page in doc.pages {
            for op in page.ops {
                if let Op::SetTextCursor { pos } = op {
                    let (x, y) = (Mm::from(pos.x).0, Mm::from(pos.y).0);
                    assert!((LEFT - 0.1..RIGHT).contains(&x), "x = {x}");
                    // Content stays above the bottom margin; only the footer is below it.
                    assert!((BOTTOM - 4.1..=TOP + 0.1).contains(&y) || (y - FOOTER).abs() < 0.1, "y = {y}");
                }
            }
        }
    }

    #[test]
    fn lines_wrap_by_their_width_and_a_long_word_is_cut() {
        let text = "word ".repeat(100);
        let lines = wrap(&text, BODY, 50.0);
        assert!(lines.len() > 5);
        assert!(lines.iter().all(|l| width(BODY, l) <= 50.0));
        assert_eq!(lines.join(" ").split_whitespace().count(), 100, "nothing is lost");
        let digest = "f".repeat(300);
        assert!(wrap(&digest, BODY, 40.0).iter().all(|l| width(BODY, l) <= 40.0));
        assert_eq!(wrap("first\n\nthird", BODY, 40.0), ["first", "", "third"]);
        // Capitals are wider than lower case: a line of Ws holds fewer than a line of is.
        assert!(wrap(&"W".repeat(200), BODY, 50.0).len() > wrap(&"i".repeat(200), BODY, 50.0).len());
    }

    #[test]
    fn the_width_tables_are_the_base_fonts() {
        for (font, builtin) in [(Font::Regular, BuiltinFont::Helvetica), (Font::Bold, BuiltinFont::HelveticaBold)] {
            let parsed = builtin.get_parsed_font().expect("a builtin font parses");
            let em = f32::from(parsed.units_per_em);
            for c in ' '..='~' {
                let Some(gid) = parsed.lookup_glyph_index(c as u32) else { continue };
                let Some(w) = parsed.get_glyph_width(gid) else { continue };
                let w = f32::from(w) * 1000.0 / em;
                let ours = f32::from(char_width(font, c));
                assert!((w - ours).abs() <= 2.0, "{builtin:?} {c:?}: font {w}, table {ours}");
            }
        }
    }

    /// The example card and a 200-item one, to look at: `cargo test -p nexus-pdf --lib --
    /// --ignored write_example_cards`, then `pdftoppm -png -r 60` on the files it names.
    #[test]
    #[ignore = "writes files for a person to look at"]
    fn write_example_cards() {
        let dir = std::env::temp_dir();
        let mut long = JobcardFacts::example();
        let checklist = long.field_work.checklist.as_mut().unwrap();
        let base = checklist.items.clone();
        checklist.items = (0..200)
            .map(|i| {
                let mut item = base[i % base.len()].clone();
                item.key = format!("{}_{i}", item.key);
                item
            })
            .collect();
        for (name, facts) in [("example", JobcardFacts::example()), ("long", long)] {
            let path = dir.join(format!("nexus-jobcard-{name}.pdf"));
            std::fs::write(&path, render(&facts)).unwrap();
            println!("{}", path.display());
        }
    }

    #[test]
    fn text_outside_winansi_degrades_to_question_marks() {
        assert_eq!(winansi("Café – 東京\u{7}"), "Café – ??");
        assert_eq!(winansi("— • ‘x’"), "— • ‘x’");
    }
}
