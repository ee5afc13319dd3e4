//! The few PDF bytes a jobcard needs, written directly: A4 pages of text in three of the
//! standard 14 fonts (WinAnsi, nothing embedded) and stroked lines, content streams deflated.
//! printpdf did this through lopdf, font parsing and subsetting (allsorts) and their tables,
//! which a jobcard never uses but a release build could not drop: 0.73 MB of the pdf
//! function's zip (bench/RESULTS.md). The tests still read every card back with printpdf's parser.

use std::fmt::Write as _;
use std::io::Write as _;

/// The fonts a page can name, as the resources `/F5`, `/F6` and `/F9` (printpdf's names for
/// them, which its parser maps back to the base fonts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BaseFont {
    Helvetica,
    HelveticaBold,
    Courier,
}

impl BaseFont {
    const ALL: [BaseFont; 3] = [BaseFont::Helvetica, BaseFont::HelveticaBold, BaseFont::Courier];

    fn resource(self) -> &'static str {
        match self {
            BaseFont::Helvetica => "F5",
            BaseFont::HelveticaBold => "F6",
            BaseFont::Courier => "F9",
        }
    }

    fn name(self) -> &'static str {
        match self {
            BaseFont::Helvetica => "Helvetica",
            BaseFont::HelveticaBold => "Helvetica-Bold",
            BaseFont::Courier => "Courier",
        }
    }
}

/// A colour for text (fill) or lines (stroke).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Colour {
    Grey(f32),
    Rgb(f32, f32, f32),
}

/// WinAnsi's characters outside Latin-1, in code order from 0x80 (PDF 32000-1, annex D.2).
#[rustfmt::skip]
const WIN_ANSI_HIGH: [(char, u8); 27] = [
    ('€', 0x80), ('‚', 0x82), ('ƒ', 0x83), ('„', 0x84), ('…', 0x85), ('†', 0x86), ('‡', 0x87),
    ('ˆ', 0x88), ('‰', 0x89), ('Š', 0x8A), ('‹', 0x8B), ('Œ', 0x8C), ('Ž', 0x8E), ('‘', 0x91),
    ('’', 0x92), ('“', 0x93), ('”', 0x94), ('•', 0x95), ('–', 0x96), ('—', 0x97), ('˜', 0x98),
    ('™', 0x99), ('š', 0x9A), ('›', 0x9B), ('œ', 0x9C), ('ž', 0x9E), ('Ÿ', 0x9F),
];

/// `c`'s byte in WinAnsi, if the base fonts can show it.
pub fn win_ansi(c: char) -> Option<u8> {
    match c as u32 {
        0x20..=0x7E | 0xA0..=0xFF => Some(c as u8),
        _ => WIN_ANSI_HIGH.iter().find(|(w, _)| *w == c).map(|(_, b)| *b),
    }
}

/// A page's content stream, in points from the bottom left.
#[derive(Debug, Default)]
pub struct Page {
    content: String,
}

impl Page {
    /// `text` with its baseline starting at (`x`, `y`); characters WinAnsi lacks become '?'.
    pub fn text(&mut self, x: f32, y: f32, font: BaseFont, size: f32, fill: Option<Colour>, text: &str) {
        let c = &mut self.content;
        c.push_str("BT\n");
        if let Some(fill) = fill {
            colour(c, fill, false);
        }
        let _ = writeln!(c, "{} {} Td\n/{} {} Tf", num(x), num(y), font.resource(), num(size));
        c.push('(');
        for ch in text.chars() {
            match win_ansi(ch).unwrap_or(b'?') {
                b @ (b'(' | b')' | b'\\') => {
                    c.push('\\');
                    c.push(b as char);
                }
                b @ 0x20..=0x7E => c.push(b as char),
                b => {
                    let _ = write!(c, "\\{b:03o}");
                }
            }
        }
        c.push_str(") Tj\nET\n");
    }

    /// A straight line from `from` to `to`.
    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), stroke: Colour, thickness: f32) {
        let c = &mut self.content;
        colour(c, stroke, true);
        let _ =
            writeln!(c, "{} w\n{} {} m\n{} {} l\nS", num(thickness), num(from.0), num(from.1), num(to.0), num(to.1));
    }
}

fn colour(c: &mut String, colour: Colour, stroke: bool) {
    let _ = match (colour, stroke) {
        (Colour::Grey(g), false) => writeln!(c, "{} g", num(g)),
        (Colour::Grey(g), true) => writeln!(c, "{} G", num(g)),
        (Colour::Rgb(r, g, b), false) => writeln!(c, "{} {} {} rg", num(r), num(g), num(b)),
        (Colour::Rgb(r, g, b), true) => writeln!(c, "{} {} {} RG", num(r), num(g), num(b)),
    };
}

/// A PDF real: at most three decimals (a thousandth of a point), no trailing zeros.
fn num(v: f32) -> String {
    let s = format!("{:.3}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// A4 in points.
const MEDIA_BOX: &str = "[0 0 595.276 841.89]";

/// The document: `pages` in order, `title` in its information dictionary.
pub fn document(title: &str, pages: &[Page]) -> Vec<u8> {
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets: Vec<usize> = Vec::new();
    let mut object = |out: &mut Vec<u8>, head: &str, stream: Option<&[u8]>| {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{head}", offsets.len()).as_bytes());
        if let Some(bytes) = stream {
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(bytes);
            out.extend_from_slice(b"\nendstream");
        }
        out.extend_from_slice(b"\nendobj\n");
    };
    // 1 catalog, 2 page tree, 3 info, 4.. fonts, then each page and its content.
    let fonts = 4;
    let first_page = fonts + BaseFont::ALL.len();
    let kids: Vec<String> = (0..pages.len()).map(|i| format!("{} 0 R", first_page + 2 * i)).collect();
    object(&mut out, "<</Type/Catalog/Pages 2 0 R>>", None);
    object(&mut out, &format!("<</Type/Pages/Count {}/Kids[{}]>>", pages.len(), kids.join(" ")), None);
    object(&mut out, &format!("<</Title{}/Producer(Nexus CMMS)>>", utf16_hex(title)), None);
    let mut font_resources = String::new();
    for (i, font) in BaseFont::ALL.iter().enumerate() {
        let head = format!("<</Type/Font/Subtype/Type1/BaseFont/{}/Encoding/WinAnsiEncoding>>", font.name());
        object(&mut out, &head, None);
        let _ = write!(font_resources, "/{} {} 0 R", font.resource(), fonts + i);
    }
    for (i, page) in pages.iter().enumerate() {
        let content = first_page + 2 * i + 1;
        let head = format!(
            "<</Type/Page/Parent 2 0 R/MediaBox{MEDIA_BOX}/Resources<</Font<<{font_resources}>>>>/Contents {content} 0 R>>"
        );
        object(&mut out, &head, None);
        let mut deflate = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        deflate.write_all(page.content.as_bytes()).expect("writing to a Vec");
        let stream = deflate.finish().expect("writing to a Vec");
        object(&mut out, &format!("<</Length {}/Filter/FlateDecode>>", stream.len()), Some(&stream));
    }
    let xref = out.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1);
    for offset in &offsets {
        let _ = writeln!(tail, "{offset:010} 00000 n ");
    }
    let _ = write!(tail, "trailer\n<</Size {}/Root 1 0 R/Info 3 0 R>>\nstartxref\n{xref}\n%%EOF\n", offsets.len() + 1);
    out.extend_from_slice(tail.as_bytes());
    out
}

/// A text string as UTF-16BE with its byte order mark, in hex (any title, not only WinAnsi).
fn utf16_hex(s: &str) -> String {
    let mut hex = String::from("<FEFF");
    for unit in s.encode_utf16() {
        let _ = write!(hex, "{unit:04X}");
    }
    hex.push('>');
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_reals() {
        assert_eq!(num(51.023_62), "51.024");
        assert_eq!(num(18.0), "18");
        assert_eq!(num(0.42), "0.42");
        assert_eq!(num(-0.0001), "0");
        assert_eq!(num(-3.5), "-3.5");
    }

    #[test]
    fn text_is_win_ansi_with_its_delimiters_escaped() {
        let mut page = Page::default();
        page.text(10.0, 20.0, BaseFont::Courier, 7.0, Some(Colour::Grey(0.0)), "a (b) \\ — 31.5 °C 東");
        assert_eq!(page.content, "BT\n0 g\n10 20 Td\n/F9 7 Tf\n(a \\(b\\) \\\\ \\227 31.5 \\260C ?) Tj\nET\n");
        assert_eq!(win_ansi('€'), Some(0x80));
        assert_eq!(win_ansi('é'), Some(0xE9));
        assert_eq!(win_ansi('\u{85}'), None, "a C1 control is not WinAnsi's ellipsis");
    }

    #[test]
    fn the_cross_reference_table_points_at_each_object() {
        let mut page = Page::default();
        page.line((0.0, 0.0), (10.0, 10.0), Colour::Rgb(1.0, 0.0, 0.0), 0.5);
        let pdf = document("Jobcard Ü", &[page, Page::default()]);
        // From the xref table on, the file is ASCII (the deflated streams come before it).
        let end = std::str::from_utf8(&pdf[pdf.len() - 40..]).unwrap();
        let xref: usize = end.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        let table = std::str::from_utf8(&pdf[xref..]).unwrap();
        assert!(table.starts_with("xref\n0 11\n0000000000 65535 f \n"), "{table}");
        for (i, entry) in table.lines().skip(3).take(10).enumerate() {
            let offset: usize = entry[..10].parse().unwrap();
            assert!(pdf[offset..].starts_with(format!("{} 0 obj\n", i + 1).as_bytes()), "object {}", i + 1);
        }
        assert!(String::from_utf8_lossy(&pdf).contains("/Title<FEFF004A006F00620063006100720064002000DC>"));
    }
}
