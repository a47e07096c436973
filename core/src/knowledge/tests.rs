//! Extraction from small real files written here: PDFs with lopdf, Office documents as the
//! zip + XML parts their formats define.

use std::io::Write;

use lopdf::{
    Document, Object, Stream,
    content::{Content, Operation},
    dictionary,
};

use super::extract::{
    ExtractError, Kind, MAX_EXPANDED_BYTES, Section, check_pdf_expansion, clean, extract,
};

/// A PDF with one page per entry: its lines of text, or none for a scanned-looking page.
pub(super) fn pdf(pages: &[&[&str]]) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut kids = Vec::new();
    for lines in pages {
        let mut operations = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 14.into()]),
            Operation::new("Td", vec![72.into(), 760.into()]),
        ];
        for line in *lines {
            operations.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
            operations.push(Operation::new("Td", vec![0.into(), (-20).into()]));
        }
        operations.push(Operation::new("ET", vec![]));
        let content = Content { operations }.encode().unwrap();
        let contents = doc.add_object(Stream::new(dictionary! {}, content));
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => contents,
        });
        kids.push(page.into());
    }
    let count = i64::try_from(kids.len()).unwrap();
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

/// A zip of `(name, content)` parts, deflated.
fn zip(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in parts {
        writer.start_file(*name, options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

const CONTENT_TYPES: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#;

fn docx(body: &str) -> Vec<u8> {
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    zip(&[
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", b"<Relationships/>"),
        ("word/document.xml", document.as_bytes()),
    ])
}

fn paragraph(text: &str, style: Option<&str>) -> String {
    let style = style
        .map(|s| format!(r#"<w:pPr><w:pStyle w:val="{s}"/></w:pPr>"#))
        .unwrap_or_default();
    format!("<w:p>{style}<w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>")
}

fn pptx(slides: &[&str]) -> Vec<u8> {
    let xml: Vec<String> = slides
        .iter()
        .map(|text| {
            format!(
                r#"<?xml version="1.0"?><p:sld xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>{text}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>"#
            )
        })
        .collect();
    let names: Vec<String> = (1..=slides.len())
        .map(|n| format!("ppt/slides/slide{n}.xml"))
        .collect();
    let mut parts: Vec<(&str, &[u8])> = vec![
        ("[Content_Types].xml", CONTENT_TYPES),
        ("ppt/presentation.xml", b"<p:presentation/>"),
    ];
    // Out of order on purpose: slide 10 must come after slide 2.
    for (name, xml) in names.iter().zip(&xml).rev() {
        parts.push((name.as_str(), xml.as_bytes()));
    }
    zip(&parts)
}

/// A workbook with two sheets of inline strings and numbers.
fn xlsx() -> Vec<u8> {
    let workbook = br#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Budget" sheetId="1" r:id="rId1"/><sheet name="People" sheetId="2" r:id="rId2"/></sheets></workbook>"#;
    let rels = br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet2.xml"/></Relationships>"#;
    let sheet = |rows: &[(&str, &str)]| {
        let rows: String = rows
            .iter()
            .enumerate()
            .map(|(i, (a, b))| {
                let r = i + 1;
                let b = b.parse::<f64>().map_or_else(
                    |_| format!(r#"<c r="B{r}" t="inlineStr"><is><t>{b}</t></is></c>"#),
                    |n| format!(r#"<c r="B{r}"><v>{n}</v></c>"#),
                );
                format!(
                    r#"<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{a}</t></is></c>{b}</row>"#
                )
            })
            .collect();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>"#
        )
    };
    let budget = sheet(&[("Item", "Cost"), ("Microscopes", "1250")]);
    let people = sheet(&[("Name", "Room"), ("Ada Lovelace", "Lab 2")]);
    zip(&[
        (
            "[Content_Types].xml",
            br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            br#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", rels),
        ("xl/worksheets/sheet1.xml", budget.as_bytes()),
        ("xl/worksheets/sheet2.xml", people.as_bytes()),
    ])
}

fn located(sections: &[Section]) -> Vec<(Option<&str>, &str)> {
    sections
        .iter()
        .map(|s| (s.location.as_deref(), s.text.as_str()))
        .collect()
}

#[test]
fn pdf_text_comes_per_page_and_pages_without_text_are_listed() {
    let bytes = pdf(&[
        &[
            "Photosynthesis turns light into sugar.",
            "Chlorophyll is green.",
        ],
        &[],
        &["Mitochondria make energy."],
    ]);
    // Named like a text file: the content decides.
    let extracted = extract(&bytes, "notes.txt").unwrap();
    assert_eq!(extracted.kind, Kind::Pdf);
    let sections = located(&extracted.sections);
    assert_eq!(sections.len(), 2, "{sections:?}");
    assert_eq!(sections[0].0, Some("page 1"));
    assert!(
        sections[0]
            .1
            .contains("Photosynthesis turns light into sugar.")
    );
    assert!(sections[0].1.contains("Chlorophyll is green."));
    assert_eq!(sections[1].0, Some("page 3"));
    assert!(sections[1].1.contains("Mitochondria make energy."));
    assert_eq!(extracted.pages_without_text, [2]);

    assert_eq!(
        extract(&pdf(&[&[], &[]]), "scan.pdf").unwrap_err(),
        ExtractError::NeedsOcr { pages: 2 }
    );
    let mut damaged = bytes.clone();
    damaged.truncate(bytes.len() / 3);
    assert!(matches!(
        extract(&damaged, "cut.pdf"),
        Err(ExtractError::Corrupt(_))
    ));
}

#[test]
fn word_documents_keep_headings_as_locations() {
    let body = [
        paragraph("Field trip", Some("Title")),
        paragraph("We leave at 9 &amp; return at 3.", None),
        paragraph("Safety", Some("Heading1")),
        paragraph("Wear boots.", None),
        "<w:p><w:r><w:t>Bring</w:t><w:tab/><w:t>water</w:t><w:br/><w:t>and lunch.</w:t></w:r></w:p>"
            .to_owned(),
    ]
    .concat();
    let extracted = extract(&docx(&body), "trip.docx").unwrap();
    assert_eq!(extracted.kind, Kind::Docx);
    assert_eq!(
        located(&extracted.sections),
        [
            (
                Some("Field trip"),
                "Field trip\nWe leave at 9 & return at 3."
            ),
            (
                Some("Safety"),
                "Safety\nWear boots.\nBring\twater\nand lunch."
            ),
        ]
    );
}

#[test]
fn presentations_come_slide_by_slide_in_order() {
    let slides: Vec<String> = (1..=10)
        .map(|n| format!("Slide text {n} &lt;ok&gt;"))
        .collect();
    let refs: Vec<&str> = slides.iter().map(String::as_str).collect();
    let extracted = extract(&pptx(&refs), "deck.pptx").unwrap();
    assert_eq!(extracted.kind, Kind::Pptx);
    let sections = located(&extracted.sections);
    assert_eq!(sections.len(), 10);
    assert_eq!(sections[1], (Some("slide 2"), "Slide text 2 <ok>"));
    assert_eq!(sections[9], (Some("slide 10"), "Slide text 10 <ok>"));
}

#[test]
fn workbooks_give_every_sheet() {
    let extracted = extract(&xlsx(), "budget.xlsx").unwrap();
    assert_eq!(extracted.kind, Kind::Xlsx);
    assert_eq!(
        located(&extracted.sections),
        [
            (Some("sheet Budget"), "Item\tCost\nMicroscopes\t1250"),
            (Some("sheet People"), "Name\tRoom\nAda Lovelace\tLab 2"),
        ]
    );
}

#[test]
fn csv_rows_say_what_their_values_are() {
    let extracted = extract(
        b"name,room,notes\nAda,Lab 2,\"likes \"\"engines\"\"\"\nGrace,,\n",
        "people.csv",
    )
    .unwrap();
    assert_eq!(extracted.kind, Kind::Csv);
    assert_eq!(
        extracted.text(),
        "name: Ada; room: Lab 2; notes: likes \"engines\"\nname: Grace"
    );
}

#[test]
fn html_gives_its_readable_text_without_scripts() {
    let page = br#"<!DOCTYPE html><html><head><title>T</title><style>p { color: red }</style>
        <script>var secret = "do not index";</script></head>
        <body><h1>Volcanoes</h1><p>Magma rises &amp; cools.</p></body></html>"#;
    let extracted = extract(page, "page").unwrap();
    assert_eq!(extracted.kind, Kind::Html);
    let text = extracted.text();
    assert!(text.contains("Volcanoes"), "{text}");
    assert!(text.contains("Magma rises & cools."), "{text}");
    assert!(!text.contains("do not index"), "{text}");
    assert!(!text.contains("color: red"), "{text}");
}

#[test]
fn text_markdown_and_json_are_read_and_cleaned() {
    let extracted = extract(
        b"\xef\xbb\xbfLine one\r\n\r\n\r\n\r\nLine\0 two  \r\n",
        "a.txt",
    )
    .unwrap();
    assert_eq!(extracted.kind, Kind::Text);
    assert_eq!(extracted.text(), "Line one\n\nLine two");
    // Invalid UTF-8 is replaced, not refused.
    // Not UTF-8: read as Windows-1252. UTF-8 with a bad byte: that byte is replaced.
    let extracted = extract(b"caf\xe9 au lait \x80", "menu.txt").unwrap();
    assert_eq!(extracted.text(), "café au lait €");
    let mixed = ["naïve – ".as_bytes(), b"\xff ok"].concat();
    assert_eq!(
        extract(&mixed, "b.txt").unwrap().text(),
        "naïve – \u{fffd} ok"
    );
    assert_eq!(
        extract(b"# Title\n\nText", "read.md").unwrap().kind,
        Kind::Markdown
    );
    let extracted = extract(br#"{"b":[1,2],"a":"x"}"#, "data.json").unwrap();
    assert_eq!(extracted.kind, Kind::Json);
    assert!(extracted.text().contains("\"a\": \"x\""));
    assert!(matches!(
        extract(b"{not json", "data.json"),
        Err(ExtractError::Corrupt(m)) if m.contains("not valid JSON")
    ));
    assert_eq!(clean("a\u{7}b\tc"), "ab\tc");
}

#[test]
fn binary_files_are_refused_whatever_their_name() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    assert!(matches!(
        extract(png, "essay.docx"),
        Err(ExtractError::Unsupported(m)) if m.contains("png")
    ));
    let mut noise = vec![0u8; 4096];
    for (i, b) in noise.iter_mut().enumerate() {
        *b = u8::try_from(i * 7 % 251).unwrap();
    }
    assert!(matches!(
        extract(&noise, "notes.txt"),
        Err(ExtractError::Unsupported(_))
    ));
    // A zip that is no Office document.
    let plain = zip(&[("readme.txt", b"hello")]);
    assert!(matches!(
        extract(&plain, "archive.docx"),
        Err(ExtractError::Unsupported(m)) if m.contains("zip")
    ));
}

#[test]
fn zip_bombs_are_refused_before_they_expand() {
    // 300 MB of zeros deflates to a few hundred KB.
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    writer.start_file("word/document.xml", options).unwrap();
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..(MAX_EXPANDED_BYTES / zeros.len() as u64 + 44) {
        writer.write_all(&zeros).unwrap();
    }
    let bomb = writer.finish().unwrap().into_inner();
    assert!(bomb.len() < 2 * 1024 * 1024, "{}", bomb.len());
    assert!(matches!(
        extract(&bomb, "bomb.docx"),
        Err(ExtractError::TooLarge(m)) if m.contains("expands to more than 128 MB in one part")
    ));
    // Parts each under the part cap still add up past the document's.
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer.start_file("word/document.xml", options).unwrap();
    writer.write_all(b"<w:document/>").unwrap();
    for part in 0..3 {
        writer
            .start_file(format!("word/media/part{part}.bin"), options)
            .unwrap();
        for _ in 0..100 {
            writer.write_all(&zeros).unwrap();
        }
    }
    let bomb = writer.finish().unwrap().into_inner();
    assert!(matches!(
        extract(&bomb, "bomb.docx"),
        Err(ExtractError::TooLarge(m)) if m.ends_with("expands to more than 256 MB")
    ));

    let names: Vec<String> = (0..10_001).map(|n| format!("word/part{n}.xml")).collect();
    let mut parts: Vec<(&str, &[u8])> = vec![("word/document.xml", b"<w:document/>")];
    parts.extend(names.iter().map(|n| (n.as_str(), &b""[..])));
    assert!(matches!(
        extract(&zip(&parts), "many.docx"),
        Err(ExtractError::TooLarge(m)) if m.contains("10000")
    ));
}

/// A one-page PDF whose content stream is `inflated` bytes of spaces, compressed with Flate.
fn pdf_bomb(inflated: usize) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![b' '; 1024 * 1024];
    let mut left = inflated;
    while left > 0 {
        let take = left.min(block.len());
        encoder.write_all(&block[..take]).unwrap();
        left -= take;
    }
    let compressed = encoder.finish().unwrap();
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let contents = doc.add_object(Stream::new(
        dictionary! { "Filter" => "FlateDecode" },
        compressed,
    ));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id, "Contents" => contents,
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

#[test]
fn pdf_streams_that_expand_past_the_caps_are_refused_before_parsing() {
    // 1 MB on disk, 140 MB once inflated: past the one-stream cap.
    let bomb = pdf_bomb(140 * 1024 * 1024);
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    let refused = extract(&bomb, "bomb.pdf");
    assert!(
        matches!(&refused, Err(ExtractError::TooLarge(m)) if m.contains("expands to more than 128 MB in one part")),
        "{refused:?}"
    );

    // Many streams just under the cap add up past the document's.
    let small = pdf_bomb(600 * 1024);
    assert!(check_pdf_expansion(&small, 1024 * 1024, 4 * 1024 * 1024).is_ok());
    let stream = small.windows(6).position(|w| w == b"stream").unwrap();
    let end = small.windows(9).position(|w| w == b"endstream").unwrap() + 9;
    let mut many = small[..stream].to_vec();
    for _ in 0..8 {
        many.extend_from_slice(b"\n1 0 obj << /Filter /FlateDecode >> ");
        many.extend_from_slice(&small[stream..end]);
    }
    let refused = check_pdf_expansion(&many, 1024 * 1024, 4 * 1024 * 1024);
    assert!(
        matches!(&refused, Err(ExtractError::TooLarge(m)) if m.contains("more than 4 MB once")),
        "{refused:?}"
    );

    // LZW expands too, and is measured as such.
    let lzw = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
        .encode(&vec![b'a'; 3 * 1024 * 1024])
        .unwrap();
    let mut lzw_pdf = b"%PDF-1.5\n1 0 obj << /Filter /LZWDecode /Length 9 >> stream\n".to_vec();
    lzw_pdf.extend_from_slice(&lzw);
    lzw_pdf.extend_from_slice(b"\nendstream\nendobj\n");
    let refused = check_pdf_expansion(&lzw_pdf, 1024 * 1024, 8 * 1024 * 1024);
    assert!(
        matches!(refused, Err(ExtractError::TooLarge(_))),
        "{refused:?}"
    );

    // What the dictionary says is not trusted: a Flate bomb whose dictionary mentions LZW,
    // Flate inside Flate, and Flate wrapped in ASCIIHex are all measured for what they are.
    let zlib = |bytes: &[u8]| {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    };
    let spaces = vec![b' '; 3 * 1024 * 1024];
    let stream = |dictionary: &str, data: &[u8]| {
        let mut pdf = format!("%PDF-1.5\n1 0 obj << {dictionary} >> stream\n").into_bytes();
        pdf.extend_from_slice(data);
        pdf.extend_from_slice(b"\nendstream\nendobj\n");
        pdf
    };
    let cases = [
        ("/Filter /FlateDecode /Note /LZW", zlib(&spaces)),
        ("/Filter [/FlateDecode /FlateDecode]", zlib(&zlib(&spaces))),
        (
            "/Filter [/ASCIIHexDecode /FlateDecode]",
            zlib(&spaces)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into_bytes(),
        ),
        ("/Filter /#46lateDecode", zlib(&spaces)),
    ];
    for (dictionary, data) in cases {
        let refused = check_pdf_expansion(&stream(dictionary, &data), 1024 * 1024, 8 * 1024 * 1024);
        assert!(
            matches!(&refused, Err(ExtractError::TooLarge(m)) if m.contains("in one part")),
            "{dictionary}: {refused:?}"
        );
    }

    // An ordinary PDF passes untouched.
    assert!(extract(&pdf(&[&["Hello"]]), "fine.pdf").is_ok());
}

/// Random bytes, and real documents with random bytes changed, cut or inserted, through every
/// extractor: nothing panics, no NUL reaches the text, and the text stays within the caps.
mod fuzz {
    use proptest::prelude::*;

    use super::{docx, paragraph, pdf, pptx, xlsx};
    use crate::knowledge::extract::{MAX_PDF_EXPANDED_BYTES, extract};

    fn samples() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("a.pdf", pdf(&[&["Hello", "world"], &[]])),
            ("a.docx", docx(&paragraph("Heading", Some("Heading1")))),
            ("a.pptx", pptx(&["One", "Two"])),
            ("a.xlsx", xlsx()),
            ("a.csv", b"name,room\nAda,Lab 2\n".to_vec()),
            (
                "a.html",
                b"<html><body><h1>T</h1><script>x()</script><p>Hi</p></body></html>".to_vec(),
            ),
            ("a.json", br#"{"a":[1,2,{"b":"c"}]}"#.to_vec()),
            ("a.md", b"# Title\n\nSome *text*.\n".to_vec()),
            ("a.txt", b"plain text\n".to_vec()),
        ]
    }

    #[derive(Debug, Clone)]
    enum Mutation {
        Flip(usize, u8),
        Cut(usize),
        Insert(usize, Vec<u8>),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
            any::<usize>().prop_map(Mutation::Cut),
            (any::<usize>(), prop::collection::vec(any::<u8>(), 1..64))
                .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        ]
    }

    fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
        for m in mutations {
            if bytes.is_empty() {
                break;
            }
            match m {
                Mutation::Flip(at, b) => {
                    let at = at % bytes.len();
                    bytes[at] = *b;
                }
                Mutation::Cut(at) => bytes.truncate(at % bytes.len()),
                Mutation::Insert(at, more) => {
                    let at = at % bytes.len();
                    bytes.splice(at..at, more.iter().copied());
                }
            }
        }
        bytes
    }

    fn check(bytes: &[u8], name: &str) {
        if let Ok(extracted) = extract(bytes, name) {
            let total: usize = extracted.sections.iter().map(|s| s.text.len()).sum();
            assert!(
                total as u64 <= MAX_PDF_EXPANDED_BYTES,
                "{name}: {total} bytes of text"
            );
            for section in &extracted.sections {
                assert!(!section.text.contains('\0'), "{name}: a NUL in the text");
                assert!(!section.text.is_empty(), "{name}: an empty section");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn random_bytes_never_panic_whatever_the_name(
            bytes in prop::collection::vec(any::<u8>(), 0..4096),
            name in prop::sample::select(vec!["a.pdf", "a.docx", "a.pptx", "a.xlsx", "a.csv", "a.html", "a.json", "a.md", "a.txt", "a.png"]),
        ) {
            check(&bytes, name);
        }

        #[test]
        fn damaged_documents_never_panic(
            which in 0usize..9,
            mutations in prop::collection::vec(mutation(), 1..6),
        ) {
            let (name, bytes) = samples().swap_remove(which);
            check(&mutate(bytes, &mutations), name);
        }
    }
}

mod chunking {
    use super::super::{
        chunk::{ChunkOptions, chunk},
        embedding::{EmbedError, TokenCount},
        extract::{Extracted, Kind, Section},
    };

    /// Words as tokens: fast and easy to reason about.
    struct Words;

    impl TokenCount for Words {
        fn count(&self, text: &str) -> Result<usize, EmbedError> {
            Ok(text.split_whitespace().count())
        }
    }

    fn document(kind: Kind, sections: &[(Option<&str>, String)]) -> Extracted {
        Extracted {
            kind,
            sections: sections
                .iter()
                .map(|(location, text)| Section {
                    text: text.clone(),
                    location: location.map(str::to_owned),
                })
                .collect(),
            pages_without_text: Vec::new(),
            rows_left_out: 0,
        }
    }

    fn sentences(prefix: &str, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("{prefix} sentence number {i} says something short."))
            .collect()
    }

    #[test]
    fn chunks_fit_overlap_keep_every_sentence_and_their_section() {
        let first = sentences("Alpha", 120);
        let second = sentences("Beta", 30);
        let doc = document(
            Kind::Text,
            &[
                (Some("page 1"), first.join(" ")),
                (Some("page 2"), second.join("\n\n")),
            ],
        );
        let options = ChunkOptions {
            max_tokens: 100,
            overlap_tokens: 20,
        };
        let chunks = chunk(&doc, &Words, options).unwrap();
        assert!(chunks.len() > 8, "{}", chunks.len());
        for (i, c) in chunks.iter().enumerate() {
            assert_eq!(c.index as usize, i);
            let words = c.text.split_whitespace().count();
            assert!(words <= 100, "chunk {i} has {words} words");
            assert!(!c.text.starts_with(' ') && !c.text.ends_with(' '));
        }
        // Every sentence is whole in some chunk of its own section, never in the other's.
        for (sentences, location) in [(&first, "page 1"), (&second, "page 2")] {
            for sentence in sentences {
                assert!(
                    chunks
                        .iter()
                        .any(|c| c.location.as_deref() == Some(location)
                            && c.text.contains(sentence.as_str())),
                    "{sentence:?} was cut or lost"
                );
            }
        }
        assert!(
            chunks
                .iter()
                .all(|c| !(c.text.contains("Alpha") && c.text.contains("Beta")))
        );
        // Neighbours in a section share text.
        let page_one: Vec<_> = chunks
            .iter()
            .filter(|c| c.location.as_deref() == Some("page 1"))
            .collect();
        for pair in page_one.windows(2) {
            let tail: Vec<&str> = pair[0].text.split_whitespace().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            assert!(
                pair[1].text.contains(&tail.join(" ")),
                "no overlap between {:?} and {:?}",
                pair[0].text,
                pair[1].text
            );
        }
    }

    #[test]
    fn markdown_is_cut_at_its_headings() {
        let body = |topic: &str| sentences(topic, 12).join(" ");
        let text = format!(
            "# Plants\n\n{}\n\n# Animals\n\n{}\n",
            body("Plants"),
            body("Animals")
        );
        let chunks = chunk(
            &document(Kind::Markdown, &[(None, text)]),
            &Words,
            ChunkOptions {
                max_tokens: 110,
                overlap_tokens: 0,
            },
        )
        .unwrap();
        assert!(
            chunks.iter().any(|c| c.text.starts_with("# Animals")),
            "{chunks:#?}"
        );
        assert!(
            chunks
                .iter()
                .all(|c| !(c.text.contains("Plants sentence")
                    && c.text.contains("Animals sentence")))
        );
    }

    #[test]
    fn sizes_follow_the_model() {
        assert_eq!(
            ChunkOptions::for_model(256),
            ChunkOptions {
                max_tokens: 256,
                overlap_tokens: 64
            }
        );
        assert_eq!(ChunkOptions::for_model(8192).max_tokens, 512);
    }
}

/// The real embedding model (the files come from `scripts/setup.sh`).
mod embedding {
    use super::super::{
        chunk::{ChunkOptions, chunk},
        embed::{EmbedError, LocalEmbedder, MINILM_DIMENSIONS, MINILM_MAX_TOKENS},
        extract::{Extracted, Kind, Section},
    };

    /// The model run by candle.
    fn model() -> LocalEmbedder {
        LocalEmbedder::new(std::env::var_os("EMBEDDING_MODEL_DIR").map_or_else(
            || std::path::PathBuf::from("models/all-MiniLM-L6-v2"),
            std::path::PathBuf::from,
        ))
    }

    /// The model run by ONNX Runtime (`scripts/setup.sh` installs the library and the file).
    fn onnx_model() -> LocalEmbedder {
        let library = std::env::var_os("ONNXRUNTIME_LIB")
            .expect("ONNXRUNTIME_LIB names ONNX Runtime's library (scripts/env.sh sets it)");
        model().with_onnx_runtime(library)
    }

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn vectors_match_the_reference_and_rank_meaning() {
        let model = model();
        let texts = [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "A cheetah is running behind its prey.",
        ];
        let vectors = model.embed(&texts).unwrap();
        assert_eq!(vectors.len(), 3);
        assert_eq!(vectors[0].len(), MINILM_DIMENSIONS);
        // sentence-transformers' own output for the first sentence.
        let golden = [
            0.033_241_5,
            0.004_406_1,
            -0.006_277_0,
            0.048_378_6,
            -0.138_702_2,
        ];
        for (got, want) in vectors[0].iter().zip(golden) {
            assert!((got - want).abs() < 1e-4, "{:?}", &vectors[0][..5]);
        }
        assert!(
            (dot(&vectors[0], &vectors[0]) - 1.0).abs() < 1e-4,
            "unit length"
        );
        assert!(dot(&vectors[0], &vectors[1]) > dot(&vectors[0], &vectors[2]) + 0.3);
        // Alone or padded in a batch with longer texts: the same vector.
        let alone = model.embed(&texts[..1]).unwrap();
        assert!(dot(&alone[0], &vectors[0]) > 0.9999);
    }

    #[test]
    fn onnx_runtime_agrees_with_candle() {
        let fast = onnx_model();
        assert_eq!(fast.engine().unwrap(), "ONNX Runtime");
        assert_eq!(model().engine().unwrap(), "candle");
        let long = "The school library opens at eight and closes at six; ".repeat(40);
        let texts = [
            "A man is eating food.",
            long.as_str(),
            "Kurz: ein deutscher Satz über Photosynthese.",
            "",
        ];
        let onnx = fast.embed(&texts).unwrap();
        let candle = model().embed(&texts).unwrap();
        assert_eq!(onnx.len(), texts.len());
        for ((a, b), text) in onnx.iter().zip(&candle).zip(texts) {
            assert_eq!(a.len(), MINILM_DIMENSIONS);
            assert!((dot(a, a) - 1.0).abs() < 1e-4, "unit length");
            let cosine = dot(a, b);
            assert!(cosine > 0.99, "{cosine} for {text:.40}");
        }
        // Each text alone gives the same vector as in the batch (no padding leaks in).
        let alone = fast.embed(&texts[1..2]).unwrap();
        assert!(dot(&alone[0], &onnx[1]) > 0.9999);
    }

    #[test]
    fn without_the_onnx_file_candle_runs_the_model() {
        let folder = tempfile::tempdir().unwrap();
        let source = std::env::var_os("EMBEDDING_MODEL_DIR").unwrap();
        for file in ["config.json", "tokenizer.json", "model.safetensors"] {
            std::os::unix::fs::symlink(
                std::path::Path::new(&source).join(file),
                folder.path().join(file),
            )
            .unwrap();
        }
        let library = std::env::var_os("ONNXRUNTIME_LIB").unwrap();
        let model = LocalEmbedder::new(folder.path()).with_onnx_runtime(library);
        assert_eq!(model.engine().unwrap(), "candle");
        assert_eq!(model.embed(&["x"]).unwrap()[0].len(), MINILM_DIMENSIONS);
    }

    #[test]
    fn chunks_sized_in_model_tokens_fit_the_model() {
        let model = model();
        let text = "Photosynthesis converts light energy into chemical energy stored in glucose. "
            .repeat(60);
        let doc = Extracted {
            kind: Kind::Text,
            sections: vec![Section {
                text,
                location: Some("page 1".into()),
            }],
            pages_without_text: Vec::new(),
            rows_left_out: 0,
        };
        let chunks = chunk(&doc, &model, ChunkOptions::for_model(MINILM_MAX_TOKENS)).unwrap();
        assert!(chunks.len() >= 3, "{}", chunks.len());
        for c in &chunks {
            let tokens = model.count_tokens(&c.text).unwrap();
            assert!(tokens <= MINILM_MAX_TOKENS, "{tokens}");
        }
    }

    #[test]
    fn a_missing_model_says_where_it_was_looked_for() {
        let err = LocalEmbedder::new("/nowhere/minilm")
            .embed(&["x"])
            .unwrap_err();
        assert!(
            matches!(&err, EmbedError::Unavailable { path, .. } if path == "/nowhere/minilm"),
            "{err}"
        );
    }
}

#[test]
fn uploads_are_sniffed_from_their_first_bytes() {
    use super::extract::precheck;
    assert!(precheck(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a.pdf").is_ok());
    assert!(precheck(b"PK\x03\x04\x14\0\0\0\x08\0", "lesson.docx").is_ok());
    // Text cut inside a character (the "é" of "café" is two bytes) still reads as text.
    let mut text = "Menu\ncafé café café\n".repeat(50).into_bytes();
    text.truncate(text.len() - 3);
    assert!(precheck(&text, "menu.txt").is_ok());

    // A picture named as one is for OCR; named as a document, it is not what it claims.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";
    assert!(precheck(png, "whiteboard.PNG").is_ok());
    assert_eq!(Kind::detect(png, "whiteboard.png"), Ok(Kind::Image));
    assert!(matches!(
        extract(png, "whiteboard.png"),
        Err(ExtractError::NeedsOcr { pages: 1 })
    ));
    let err = precheck(png, "scan.pdf").unwrap_err();
    assert!(
        err.to_string().contains("scan.pdf is in fact a .png file"),
        "{err}"
    );
    let jpeg = b"\xff\xd8\xff\xe0\0\x10JFIF\0";
    assert!(precheck(jpeg, "photo.jpeg").is_ok());
    assert!(precheck(jpeg, "photo.txt").is_err());
    let mut elf = b"\x7fELF\x02\x01\x01\0".to_vec();
    elf.extend(std::iter::repeat_n(0u8, 100));
    assert!(precheck(&elf, "notes.txt").is_err());
    assert!(precheck(&[0u8; 64], "notes.txt").is_err());
    assert!(
        precheck(b"", "empty.txt")
            .unwrap_err()
            .to_string()
            .contains("empty")
    );
}

#[test]
fn a_reply_cites_the_sources_it_names_in_brackets() {
    use super::retrieval::cited_numbers;
    assert_eq!(
        cited_numbers("Pumice floats [2], basalt sinks [1][2]. See [x], [1234] and [].\n[3"),
        vec![1, 2]
    );
    assert_eq!(cited_numbers("No sources named."), Vec::<i32>::new());
}
