//! `JaCoCo` XML: `<package name>` / `<sourcefile name>` / `<line nr mi ci>`; a line is instrumented
//! when it has instructions (missed + covered > 0) and its hits are the covered instructions.
//! The DOCTYPE `JaCoCo` writes is never fetched.

use quick_xml::events::Event;
use quick_xml::Reader;

use super::cobertura::attr;
use super::Report;

pub fn parse(bytes: &[u8]) -> Result<Report, (Option<usize>, String)> {
    let mut reader = Reader::from_reader(bytes);
    let mut report = Report::default();
    let mut root_seen = false;
    let mut package = String::new();
    let mut file: Option<String> = None;
    let at =
        |r: &Reader<&[u8]>| Some(super::line_of(bytes, usize::try_from(r.buffer_position()).unwrap_or(usize::MAX)));
    let num = |v: Option<String>| v.and_then(|s| s.parse::<u64>().ok());
    loop {
        let event = reader.read_event().map_err(|e| (at(&reader), e.to_string()))?;
        match event {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                "report" => root_seen = true,
                "package" => package = attr(&e, "name").map_err(|m| (at(&reader), m))?.unwrap_or_default(),
                "sourcefile" => {
                    let name = attr(&e, "name").map_err(|m| (at(&reader), m))?;
                    let name = name.ok_or_else(|| (at(&reader), "<sourcefile> without name".to_string()))?;
                    let path = if package.is_empty() { name } else { format!("{package}/{name}") };
                    report.files.entry(path.clone()).or_default();
                    file = Some(path);
                }
                "line" => {
                    let Some(current) = file.as_deref() else { continue };
                    let nr = num(attr(&e, "nr").map_err(|m| (at(&reader), m))?);
                    let mi = num(attr(&e, "mi").map_err(|m| (at(&reader), m))?);
                    let ci = num(attr(&e, "ci").map_err(|m| (at(&reader), m))?);
                    let (Some(nr), Some(mi), Some(ci)) = (nr, mi, ci) else {
                        return Err((at(&reader), "<line> needs numeric nr, mi and ci".into()));
                    };
                    let nr = super::line_number(nr).map_err(|m| (at(&reader), format!("<line nr=\"{nr}\">: {m}")))?;
                    // Counts near u64::MAX must not wrap around to 0 (or panic).
                    if mi.saturating_add(ci) > 0 {
                        report.hit(current, nr, ci);
                    }
                }
                _ => {}
            },
            Event::End(e) => match e.name().as_ref() {
                "sourcefile" => file = None,
                "package" => package.clear(),
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if !root_seen {
        return Err((None, "no <report> element: this is not a JaCoCo report".into()));
    }
    Ok(report)
}
