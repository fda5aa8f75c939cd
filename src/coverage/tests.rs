//! Each format: a small report with a real-world quirk, and malformed input that must give an
//! error with its place, never a panic.

use super::{parse, Format, Report};
use std::collections::BTreeMap;

fn lines(r: &Report, file: &str) -> Vec<(u32, u64)> {
    r.files[file].iter().map(|(l, h)| (*l, *h)).collect()
}

#[test]
fn lcov_with_coverage_py_checksums_and_lcov2_records() {
    // coverage.py writes a checksum after the hits; lcov 2.x adds VER and FNL records.
    let text = "VER:2.0\nTN:\nSF:src/a.py\nFNL:0,1,3\nFNA:0,1,f\nDA:1,1,abcdef==\nDA:2,0\nDA:3,-1\nBRDA:2,0,0,-\nLF:3\nLH:1\nend_of_record\nSF:src/b.py\nDA:5,7\n";
    let r = parse(Format::Lcov, text.as_bytes()).unwrap();
    assert_eq!(lines(&r, "src/a.py"), vec![(1, 1), (2, 0), (3, 0)]);
    assert_eq!(lines(&r, "src/b.py"), vec![(5, 7)], "a missing end_of_record at the end is accepted");
    assert_eq!(Format::detect(text.as_bytes()), Some(Format::Lcov));
}

#[test]
fn lcov_errors_name_the_line() {
    let err = parse(Format::Lcov, b"SF:a\nDA:x,1\n").unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(err.message.contains("line number is not a number"), "{err}");
    let err = parse(Format::Lcov, b"TN:\nDA:1,1\n").unwrap_err();
    assert_eq!((err.line, err.message.as_str()), (Some(2), "a DA record before any SF record"));
    let err = parse(Format::Lcov, b"TN:\n").unwrap_err();
    assert_eq!(err.message, "the report measures no file");
}

#[test]
fn cobertura_with_sources_methods_and_entities() {
    let xml = r#"<?xml version="1.0" ?>
<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">
<coverage line-rate="0.99" version="7.4">
  <sources><source>/ci/build/R&amp;D</source></sources>
  <packages><package name="pkg"><classes>
    <class name="a.py" filename="pkg/a.py" line-rate="1">
      <methods><method name="f"><lines><line number="2" hits="3"/></lines></method></methods>
      <lines><line number="1" hits="1"/><line number="2" hits="3"/><line number="4" hits="0" branch="true"/></lines>
    </class>
  </classes></package></packages>
</coverage>"#;
    let r = parse(Format::Cobertura, xml.as_bytes()).unwrap();
    assert_eq!(lines(&r, "pkg/a.py"), vec![(1, 1), (2, 3), (4, 0)], "the summary line-rate is ignored");
    assert_eq!(r.sources, vec!["/ci/build/R&D"]);
    assert_eq!(Format::detect(xml.as_bytes()), Some(Format::Cobertura));
    let err =
        parse(Format::Cobertura, b"<coverage>\n<class filename=\"a\">\n<line number=\"x\" hits=\"1\"/>").unwrap_err();
    assert_eq!(err.line, Some(3), "{err}");
    let err = parse(Format::Cobertura, b"<coverage><class filename=\"a\"></wrong></coverage>").unwrap_err();
    assert!(err.message.contains("wrong") || err.message.contains("mismatch"), "{err}");
    assert!(parse(Format::Cobertura, b"<report/>").unwrap_err().message.contains("not a Cobertura report"));
}

#[test]
fn jacoco_with_doctype_and_lines_without_instructions() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd"><report name="demo"><sessioninfo id="x" start="1" dump="2"/><package name="com/acme"><class name="com/acme/A" sourcefilename="A.java"/><sourcefile name="A.java"><line nr="3" mi="0" ci="2" mb="0" cb="0"/><line nr="4" mi="3" ci="0" mb="0" cb="0"/><line nr="5" mi="0" ci="0" mb="0" cb="0"/><counter type="LINE" missed="1" covered="1"/></sourcefile></package></report>"#;
    let r = parse(Format::Jacoco, xml.as_bytes()).unwrap();
    assert_eq!(lines(&r, "com/acme/A.java"), vec![(3, 2), (4, 0)]);
    assert_eq!(Format::detect(xml.as_bytes()), Some(Format::Jacoco));
    let err = parse(Format::Jacoco, b"<report><package name=\"p\"><sourcefile name=\"A\"><line nr=\"1\" ci=\"1\"/>")
        .unwrap_err();
    assert!(err.message.contains("nr, mi and ci"), "{err}");
}

#[test]
fn coverage_py_json() {
    let json = r#"{"meta": {"version": "7.4.0", "format": 2}, "files": {"src/a.py": {"executed_lines": [1, 2], "missing_lines": [5], "excluded_lines": [9], "summary": {"percent_covered": 100.0}}}, "totals": {"percent_covered": 100.0}}"#;
    let r = parse(Format::CoveragePy, json.as_bytes()).unwrap();
    assert_eq!(
        lines(&r, "src/a.py"),
        vec![(1, 1), (2, 1), (5, 0)],
        "excluded lines do not count; the summary is ignored"
    );
    assert_eq!(Format::detect(json.as_bytes()), Some(Format::CoveragePy));
    let err = parse(Format::CoveragePy, b"{\"files\": {\n\"a\": {\"executed_lines\": [1,]}}}").unwrap_err();
    assert_eq!(err.line, Some(2), "{err}");
}

#[test]
fn llvm_cov_segments_become_lines() {
    // fn main() { (line 1, count 1) … if false { (line 3, count 0) } gap … (line 5 back at 1)
    let json = r#"{"type":"llvm.coverage.json.export","version":"2.0.1","data":[{"files":[{"filename":"/src/main.rs","segments":[[1,11,1,true,true,false],[3,14,0,true,true,false],[4,6,0,false,true,true],[4,6,1,true,false,false],[6,2,0,false,false,false]],"summary":{"lines":{"percent":100}}}],"totals":{}}]}"#;
    let r = parse(Format::LlvmCov, json.as_bytes()).unwrap();
    // Line 4 starts a skipped region (no count): llvm-cov leaves it out, and so do we.
    assert_eq!(lines(&r, "/src/main.rs"), vec![(1, 1), (2, 1), (3, 1), (5, 1), (6, 1)]);
    assert_eq!(Format::detect(json.as_bytes()), Some(Format::LlvmCov));
    let err = parse(
        Format::LlvmCov,
        br#"{"type":"llvm.coverage.json.export","data":[{"files":[{"filename":"a","segments":[[1]]}]}]}"#,
    )
    .unwrap_err();
    assert!(err.message.contains("a segment is not"), "{err}");
}

#[test]
fn llvm_cov_uncovered_region_on_its_own_line() {
    let json = r#"{"type":"llvm.coverage.json.export","data":[{"files":[{"filename":"a.rs","segments":[[1,1,5,true,true,false],[2,1,0,true,true,false],[3,1,5,true,false,false],[4,1,0,false,false,false]]}]}]}"#;
    let r = parse(Format::LlvmCov, json.as_bytes()).unwrap();
    // As llvm-cov's LineCoverageStats: a line takes the count of the region wrapping into it
    // (line 2 is entered with count 5; line 3 is entered inside the count-0 region).
    assert_eq!(lines(&r, "a.rs"), vec![(1, 5), (2, 5), (3, 0), (4, 5)]);
}

#[test]
fn go_coverprofile_overlapping_blocks() {
    let text = "mode: set\nexample.com/m/pkg/a.go:3.13,5.2 2 1\nexample.com/m/pkg/a.go:5.2,7.3 1 0\nexample.com/m/pkg/a.go:9.1,9.20 1 0\n";
    let r = parse(Format::GoCover, text.as_bytes()).unwrap();
    assert_eq!(lines(&r, "example.com/m/pkg/a.go"), vec![(3, 1), (4, 1), (5, 1), (6, 0), (7, 0), (9, 0)]);
    assert_eq!(Format::detect(text.as_bytes()), Some(Format::GoCover));
    let err = parse(Format::GoCover, b"mode: set\na.go:3.1,2.1 1 1\n").unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(parse(Format::GoCover, b"a.go:1.1,1.2 1 1\n").unwrap_err().message.contains("starts with `mode:"));
}

#[test]
fn istanbul_counts_statements_on_their_first_line() {
    let json = r#"{"/repo/src/a.js":{"path":"/repo/src/a.js","statementMap":{"0":{"start":{"line":1,"column":0},"end":{"line":3,"column":1}},"1":{"start":{"line":2,"column":2},"end":{"line":2,"column":9}},"2":{"start":{"line":2,"column":10},"end":{"line":2,"column":20}}},"fnMap":{},"branchMap":{},"s":{"0":1,"1":0,"2":4},"f":{},"b":{}}}"#;
    let r = parse(Format::Istanbul, json.as_bytes()).unwrap();
    assert_eq!(lines(&r, "/repo/src/a.js"), vec![(1, 1), (2, 4)]);
    assert_eq!(Format::detect(json.as_bytes()), Some(Format::Istanbul));
    let err = parse(Format::Istanbul, br#"{"a.js":{"statementMap":{"0":{"start":{"line":1}}},"s":{}}}"#).unwrap_err();
    assert!(err.message.contains("statement 0 has no count"), "{err}");
}

#[test]
fn garbage_never_panics() {
    let inputs: [&[u8]; 6] = [b"", b"\xff\xfe", b"{", b"<", b"mode: set\n:::", b"SF:\nDA:99999999999999999999,1"];
    for format in [
        Format::Lcov,
        Format::Cobertura,
        Format::Jacoco,
        Format::CoveragePy,
        Format::LlvmCov,
        Format::GoCover,
        Format::Istanbul,
    ] {
        for input in inputs {
            let _ = parse(format, input);
        }
    }
    let _: BTreeMap<u32, u64> = BTreeMap::new();
}

/// Hostile line numbers and counts: an error naming the place, or a bounded result — never a
/// hang expanding a range up to line 4294967295, never an overflow.
mod hostile {
    use std::fmt::Write as _;

    use super::{lines, parse, Format};

    fn err(format: Format, text: &str) -> super::super::ParseError {
        parse(format, text.as_bytes()).expect_err("refused")
    }

    #[test]
    fn go_block_up_to_line_u32_max_is_refused_not_expanded() {
        let e = err(Format::GoCover, "mode: set\na.go:1.1,4294967295.1 1 1\n");
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.message.contains("line 4294967295 is past the highest line a report may name (10000000)"), "{e}");
        let e = err(Format::GoCover, "mode: set\na.go:1.1,2.1 1 1\na.go:99999999999.1,1.1 1 1\n");
        assert_eq!(e.line, Some(3), "{e}");
    }

    #[test]
    fn go_blocks_covering_too_many_lines_in_all_are_refused_before_expanding() {
        let text = "mode: set\na.go:1.1,9000000.1 1 1\nb.go:1.1,9000000.1 1 1\nc.go:1.1,9000000.1 1 1\n";
        let e = err(Format::GoCover, text);
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("more than 20000000 lines"), "{e}");
    }

    #[test]
    fn repeated_go_blocks_are_swept_once_per_line() {
        // A merged profile repeats blocks; 2 000 copies of a 100 000-line block would be 200
        // million map updates expanded one by one.
        let mut text = String::from("mode: count\n");
        for i in 0..2000 {
            let _ = writeln!(text, "big.go:1.1,100000.1 1 {i}");
        }
        text.push_str("a.go:1.1,5.1 1 2\na.go:3.1,8.1 1 7\na.go:10.1,10.5 1 0\na.go:4.1,4.9 1 1\n");
        let r = parse(Format::GoCover, text.as_bytes()).unwrap();
        assert_eq!(r.files["big.go"].len(), 100_000);
        assert!(r.files["big.go"].values().all(|h| *h == 1999));
        let want = vec![(1, 2), (2, 2), (3, 7), (4, 7), (5, 7), (6, 7), (7, 7), (8, 7), (10, 0)];
        assert_eq!(lines(&r, "a.go"), want);
    }

    fn llvm(files: &str) -> String {
        format!(r#"{{"type":"llvm.coverage.json.export","version":"2.0.1","data":[{{"files":[{files}]}}]}}"#)
    }

    #[test]
    fn llvm_segments_at_line_u32_max_are_refused() {
        let e = err(
            Format::LlvmCov,
            &llvm(r#"{"filename":"a.rs","segments":[[1,1,1,true,true,false],[4294967295,1,0,false,false,false]]}"#),
        );
        assert!(e.message.contains("a.rs: line 4294967295 is past the highest line"), "{e}");
    }

    #[test]
    fn llvm_segments_spanning_too_many_lines_or_going_back_are_refused() {
        let file = |name: &str| {
            format!(r#"{{"filename":"{name}","segments":[[1,1,1,true,true,false],[9000000,1,0,false,false,false]]}}"#)
        };
        let e = err(Format::LlvmCov, &llvm(&[file("a.rs"), file("b.rs"), file("c.rs")].join(",")));
        assert!(e.message.contains("c.rs: the segments span more than 20000000 lines"), "{e}");
        let e = err(
            Format::LlvmCov,
            &llvm(r#"{"filename":"a.rs","segments":[[9,1,1,true,true,false],[2,1,0,false,false,false]]}"#),
        );
        assert!(e.message.contains("a.rs: segments go back from line 9 to line 2"), "{e}");
    }

    #[test]
    fn llvm_lines_between_segments_without_a_count_are_skipped_not_walked() {
        let r = parse(
            Format::LlvmCov,
            llvm(r#"{"filename":"a.rs","segments":[[1,1,3,true,true,false],[2,1,0,false,false,false],[9000000,1,5,true,true,false],[9000000,9,0,false,false,false]]}"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(lines(&r, "a.rs"), vec![(1, 3), (2, 3), (9_000_000, 5)]);
    }

    #[test]
    fn jacoco_counts_near_u64_max_do_not_overflow_and_huge_lines_are_refused() {
        let xml = |line: &str| {
            format!(
                r#"<?xml version="1.0"?><report name="r"><package name="p"><sourcefile name="A.java">{line}</sourcefile></package></report>"#
            )
        };
        let r = parse(Format::Jacoco, xml(r#"<line nr="3" mi="18446744073709551615" ci="1"/>"#).as_bytes()).unwrap();
        assert_eq!(lines(&r, "p/A.java"), vec![(3, 1)]);
        let r = parse(
            Format::Jacoco,
            xml(r#"<line nr="4" mi="18446744073709551615" ci="18446744073709551615"/>"#).as_bytes(),
        )
        .unwrap();
        assert_eq!(lines(&r, "p/A.java"), vec![(4, u64::MAX)]);
        let e = err(Format::Jacoco, &xml(r#"<line nr="4294967295" mi="0" ci="1"/>"#));
        assert!(e.line.is_some() && e.message.contains("<line nr=\"4294967295\">: line 4294967295 is past"), "{e}");
    }

    #[test]
    fn cobertura_huge_line_numbers_are_refused_and_huge_counts_saturate() {
        let xml = |line: &str| {
            format!(
                r#"<coverage><packages><package><classes><class filename="a.py"><lines>{line}</lines></class></classes></package></packages></coverage>"#
            )
        };
        let e = err(Format::Cobertura, &xml(r#"<line number="4294967295" hits="1"/>"#));
        assert!(e.line.is_some() && e.message.contains("line 4294967295 is past"), "{e}");
        let r =
            parse(Format::Cobertura, xml(r#"<line number="2" hits="99999999999999999999999"/>"#).as_bytes()).unwrap();
        assert_eq!(lines(&r, "a.py"), vec![(2, u64::MAX)]);
    }

    #[test]
    fn lcov_coverage_py_and_istanbul_refuse_huge_line_numbers() {
        let e = err(Format::Lcov, "SF:a\nDA:4294967295,1\n");
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("line 4294967295 is past"), "{e}");
        let e = err(Format::CoveragePy, r#"{"files":{"a.py":{"executed_lines":[1,4294967295],"missing_lines":[]}}}"#);
        assert!(e.message.contains("a.py: line 4294967295 is past"), "{e}");
        let e = err(
            Format::Istanbul,
            r#"{"a.js":{"path":"a.js","statementMap":{"0":{"start":{"line":4294967295,"column":0},"end":{"line":1,"column":1}}},"s":{"0":1}}}"#,
        );
        assert!(e.message.contains("a.js: statement 0: line 4294967295 is past"), "{e}");
    }
}

#[test]
fn istanbul_cobertura_counts_the_class_lines_not_the_methods() {
    // As jest 29 writes it: the function declarations (lines 1 and 4) are listed under
    // <methods> only; the report's own rate is 2/5.
    let xml = r#"<?xml version="1.0" ?>
<coverage lines-valid="5" lines-covered="2" line-rate="0.4" branches-valid="2" branches-covered="0" branch-rate="0" timestamp="1796167972371" complexity="0" version="0.1">
  <sources><source>/tmp/vt</source></sources>
  <packages><package name="main" line-rate="0.4" branch-rate="0"><classes>
    <class name="m.js" filename="src/m.js" line-rate="0.4" branch-rate="0">
      <methods>
        <method name="add" hits="1" signature="()V"><lines><line number="1" hits="1"/></lines></method>
        <method name="unused" hits="0" signature="()V"><lines><line number="4" hits="0"/></lines></method>
      </methods>
      <lines>
        <line number="2" hits="1" branch="false"/><line number="5" hits="0" branch="true" condition-coverage="0% (0/2)"/>
        <line number="6" hits="0" branch="false"/><line number="8" hits="0" branch="false"/><line number="10" hits="1" branch="false"/>
      </lines>
    </class>
  </classes></package></packages>
</coverage>"#;
    let r = parse(Format::Cobertura, xml.as_bytes()).unwrap();
    assert_eq!(lines(&r, "src/m.js"), vec![(2, 1), (5, 0), (6, 0), (8, 0), (10, 1)]);
    assert_eq!(r.tally(r.files.keys()), (2, 5));
}

#[test]
fn lcov_and_llvm_cov_totals_are_the_producer_s_own() {
    // llvm-cov's lcov export: LF/LH come from its own summary, which can differ from the DA
    // lines (instantiations of generic code); the producer's figure is the one it prints.
    let text = "SF:src/a.rs\nDA:1,1\nDA:2,0\nDA:3,1\nLF:4\nLH:3\nend_of_record\nSF:src/b.rs\nDA:1,1\nLF:1\nLH:1\nend_of_record\n";
    let r = parse(Format::Lcov, text.as_bytes()).unwrap();
    assert_eq!(r.tally(r.files.keys()), (4, 5));
    // A file in two records has no single figure: its lines are merged and counted.
    let twice = "SF:a\nDA:1,1\nDA:2,0\nLF:2\nLH:1\nend_of_record\nSF:a\nDA:1,0\nDA:2,1\nLF:2\nLH:1\nend_of_record\n";
    let r = parse(Format::Lcov, twice.as_bytes()).unwrap();
    assert_eq!(r.tally(r.files.keys()), (2, 2));
    // llvm-cov export writes its `type` marker after the data: detected all the same.
    let segments = "[[1,1,1,true,true,false],[2,1,0,true,true,false],[3,2,0,false,false,false]]";
    let json = format!(
        r#"{{"data":[{{"files":[{{"filename":"src/a.rs","segments":{segments},"summary":{{"lines":{{"count":7,"covered":5,"percent":71.42857142857143}}}}}}],"totals":{{"lines":{{"count":7,"covered":5}}}}}}],"type":"llvm.coverage.json.export","version":"2.0.1"}}"#
    );
    let filler = format!("{{\"data\":[{{\"files\":[{}", " ".repeat(5000));
    assert_eq!(
        Format::detect(format!("{filler}{}", &json[json.find("{\"filename").unwrap()..]).as_bytes()),
        Some(Format::LlvmCov)
    );
    let r = parse(Format::LlvmCov, json.as_bytes()).unwrap();
    assert_eq!(r.tally(r.files.keys()), (5, 7));
}

#[test]
fn coverage_py_json_counts_as_coverage_py_does_with_branches() {
    let json = r#"{"meta": {"branch_coverage": true}, "files": {"a.py": {"executed_lines": [1, 2, 4], "missing_lines": [3],
      "summary": {"covered_lines": 3, "num_statements": 4, "percent_covered": 66.66666666666667, "missing_lines": 1, "excluded_lines": 0, "num_branches": 2, "num_partial_branches": 1, "covered_branches": 1, "missing_branches": 1}}},
      "totals": {"covered_lines": 3, "num_statements": 4, "percent_covered": 66.66666666666667, "num_branches": 2, "covered_branches": 1}}"#;
    let r = parse(Format::CoveragePy, json.as_bytes()).unwrap();
    assert_eq!(r.tally(r.files.keys()), (4, 6));
}
