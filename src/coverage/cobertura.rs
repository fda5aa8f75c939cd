//! Cobertura XML (coverage.py `coverage xml`, gcovr, cargo-llvm-cov --cobertura, istanbul, …):
//! `<class filename>` with its `<lines>`, as the producer counts its `line-rate`; the lines under
//! `<methods>` are not counted (istanbul lists function declarations there that are not among
//! the class's lines). `<source>` elements give the roots relative file names start from.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{atoi, Report};

pub(super) fn attr(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    for a in e.attributes() {
        let a = a.map_err(|err| err.to_string())?;
        if a.key.as_ref() == name {
            return a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| Some(v.into_owned()))
                .map_err(|err| err.to_string());
        }
    }
    Ok(None)
}

pub(super) fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let n = name
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| name.strip_prefix('#').map(str::parse))?;
            n.ok().and_then(char::from_u32)
        }
    }
}

pub fn parse(bytes: &[u8]) -> Result<Report, (Option<usize>, String)> {
    let mut reader = Reader::from_reader(bytes);
    let mut report = Report::default();
    let mut root_seen = false;
    let mut file: Option<String> = None;
    let mut lines: Vec<(u32, u64)> = Vec::new();
    let mut in_source = false;
    // Inside `<methods>`: its `<line>`s are not the class's lines.
    let mut in_methods = false;
    let mut source = String::new();
    let at =
        |r: &Reader<&[u8]>| Some(super::line_of(bytes, usize::try_from(r.buffer_position()).unwrap_or(usize::MAX)));
    loop {
        let event = reader.read_event().map_err(|e| (at(&reader), e.to_string()))?;
        let opens = matches!(event, Event::Start(_));
        match event {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                "coverage" => root_seen = true,
                "source" => {
                    in_source = true;
                    source.clear();
                }
                "class" => {
                    if let Some(done) = file.take() {
                        report.add_lines(&done, &mut lines);
                    }
                    let name = attr(&e, "filename").map_err(|m| (at(&reader), m))?;
                    let name = name.ok_or_else(|| (at(&reader), "<class> without filename".to_string()))?;
                    report.files.entry(name.clone()).or_default();
                    file = Some(name);
                }
                "methods" if opens => in_methods = true,
                "line" => {
                    if file.is_none() || in_methods {
                        continue;
                    }
                    // One pass over the attributes, numbers read straight from their bytes.
                    let (mut number, mut hits) = (None, None);
                    for a in e.attributes() {
                        let a = a.map_err(|err| (at(&reader), err.to_string()))?;
                        match a.key.as_ref() {
                            "number" => number = atoi(a.value.as_bytes()),
                            "hits" => {
                                hits = atoi(a.value.as_bytes())
                                    .or_else(|| a.value.trim().parse::<f64>().ok().map(super::hits_from_f64));
                            }
                            _ => {}
                        }
                    }
                    let number = number.ok_or_else(|| (at(&reader), "<line> needs a numeric `number`".to_string()))?;
                    let number = super::line_number(number).map_err(|m| (at(&reader), format!("<line>: {m}")))?;
                    let hits = hits.ok_or_else(|| (at(&reader), "<line> needs a numeric `hits`".to_string()))?;
                    lines.push((number, hits));
                }
                _ => {}
            },
            Event::Text(t) if in_source => source.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_source => {
                if let Some(c) = entity(r.as_ref()) {
                    source.push(c);
                }
            }
            Event::End(e) => match e.name().as_ref() {
                "methods" => in_methods = false,
                "source" => {
                    in_source = false;
                    report.sources.push(source.trim().to_string());
                }
                "class" => {
                    if let Some(done) = file.take() {
                        report.add_lines(&done, &mut lines);
                    }
                }
                _ => {}
            },
            Event::Eof => {
                if let Some(done) = file.take() {
                    report.add_lines(&done, &mut lines);
                }
                break;
            }
            _ => {}
        }
    }
    if !root_seen {
        return Err((None, "no <coverage> element: this is not a Cobertura report".into()));
    }
    Ok(report)
}
