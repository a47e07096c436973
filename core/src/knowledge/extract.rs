//! Text out of uploaded documents, told apart by their content (magic bytes and, for the
//! Office formats, the parts inside the zip), not by their names.
//!
//! Each document becomes [`Section`]s that keep where their text came from (a page, a slide,
//! a sheet, a heading) so answers can cite it. Zip-based formats are opened only after their
//! entries were counted and actually decompressed within limits (a zip bomb is refused, not
//! expanded). Text is cleaned for Postgres: no NUL bytes, valid UTF-8, Unix line ends.

use std::io::{Cursor, Read};

use quick_xml::{Reader, events::Event};

/// At most this many entries in a zip-based document.
pub const MAX_ZIP_ENTRIES: usize = 10_000;
/// At most this many bytes once a zip-based document is decompressed...
pub const MAX_EXPANDED_BYTES: u64 = 256 * 1024 * 1024;
/// ...and once any one of its parts is (a part is read whole into memory).
pub const MAX_ZIP_ENTRY_BYTES: u64 = 128 * 1024 * 1024;
/// At most this many bytes once one stream of a PDF is decompressed...
pub const MAX_PDF_STREAM_BYTES: u64 = 128 * 1024 * 1024;
/// ...and once all of them are.
pub const MAX_PDF_EXPANDED_BYTES: u64 = 512 * 1024 * 1024;
/// CSV rows and spreadsheet rows read per file (the rest is reported as left out).
pub const MAX_ROWS: usize = 200_000;

/// The formats we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pdf,
    Docx,
    Pptx,
    Xlsx,
    Csv,
    Html,
    Markdown,
    Text,
    Json,
    /// A picture of text (a photographed page, a screenshot): read with OCR only.
    Image,
}

impl Kind {
    /// A stable short name, as stored with an item.
    pub fn id(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Docx => "docx",
            Self::Pptx => "pptx",
            Self::Xlsx => "xlsx",
            Self::Csv => "csv",
            Self::Html => "html",
            Self::Markdown => "markdown",
            Self::Text => "text",
            Self::Json => "json",
            Self::Image => "image",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pdf => "PDF",
            Self::Docx => "Word document",
            Self::Pptx => "PowerPoint presentation",
            Self::Xlsx => "Excel workbook",
            Self::Csv => "CSV",
            Self::Html => "web page",
            Self::Markdown => "Markdown",
            Self::Text => "text",
            Self::Json => "JSON",
            Self::Image => "image",
        }
    }

    /// What the bytes are. Binary formats by their magic bytes; text by its extension (or an
    /// HTML start), once it is known to be text.
    pub fn detect(bytes: &[u8], file_name: &str) -> Result<Self, ExtractError> {
        if infer::archive::is_pdf(bytes) {
            return Ok(Self::Pdf);
        }
        if bytes.starts_with(b"PK\x03\x04") {
            // Office documents are zips: the parts inside say which.
            if let Ok(zip) = zip::ZipArchive::new(Cursor::new(bytes)) {
                let has = |part: &str| zip.index_for_name(part).is_some();
                if has("word/document.xml") {
                    return Ok(Self::Docx);
                }
                if has("ppt/presentation.xml") {
                    return Ok(Self::Pptx);
                }
                if has("xl/workbook.xml") {
                    return Ok(Self::Xlsx);
                }
            }
        }
        let extension = file_name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase())
            .unwrap_or_default();
        if let Some(kind) =
            infer::get(bytes).filter(|k| k.matcher_type() != infer::MatcherType::Text)
        {
            // A picture named as one: its text is for OCR. Named as something else, it is
            // not what it claims to be.
            if IMAGE_TYPES.contains(&kind.extension())
                && IMAGE_EXTENSIONS.contains(&extension.as_str())
            {
                return Ok(Self::Image);
            }
            return Err(ExtractError::Unsupported(format!(
                "{file_name} is in fact a .{} file, which cannot be read as a document",
                kind.extension()
            )));
        }
        if !looks_like_text(bytes) {
            return Err(ExtractError::Unsupported(format!(
                "{file_name} is not a document we can read (PDF, Word, PowerPoint, Excel, CSV, HTML, Markdown, text or JSON)"
            )));
        }
        let start = decode_text(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
        let start = start.trim_start_matches('\u{feff}').trim_start();
        Ok(match extension.as_str() {
            "csv" => Self::Csv,
            "html" | "htm" | "xhtml" => Self::Html,
            "md" | "markdown" => Self::Markdown,
            "json" => Self::Json,
            _ if start.starts_with("<!doctype html") || start.starts_with("<html") => Self::Html,
            _ => Self::Text,
        })
    }
}

/// Picture formats OCR reads (as `infer` names them), and the file name endings they go by.
const IMAGE_TYPES: &[&str] = &["png", "jpg", "tif", "bmp", "gif", "webp"];
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif", "webp"];

/// A quick look at the start of an upload (its first few KB) to refuse what is plainly not a
/// document before it is queued: images, programs, archives other than Office files, binary
/// data under a text name. What passes is read in full by [`extract`] later.
pub fn precheck(head: &[u8], file_name: &str) -> Result<(), ExtractError> {
    if head.is_empty() {
        return Err(ExtractError::Unsupported(format!("{file_name} is empty")));
    }
    if infer::archive::is_pdf(head) || head.starts_with(b"PK\x03\x04") {
        return Ok(());
    }
    // Text cut at an arbitrary byte may end inside a character: judge whole lines only.
    let cut = head
        .iter()
        .rposition(|b| *b == b'\n')
        .filter(|at| *at > head.len() / 2)
        .map_or(head, |at| &head[..at]);
    Kind::detect(cut, file_name).map(|_| ())
}

/// Bytes of text as a string: UTF-8 when they hold UTF-8 (a few bad bytes replaced), else
/// Windows-1252 (older Windows and Latin-1 files: "caf\xe9" is "café").
pub fn decode_text(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut invalid = false;
    let mut multibyte = false;
    for chunk in bytes.utf8_chunks() {
        multibyte |= !chunk.valid().is_ascii();
        invalid |= !chunk.invalid().is_empty();
    }
    if invalid && !multibyte {
        encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
    } else {
        String::from_utf8_lossy(bytes)
    }
}

/// Text has at most one character in twenty of its first 8 KB invalid or a control
/// character (stray NUL bytes are dropped later).
fn looks_like_text(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8192)];
    let text = decode_text(head);
    let total = text.chars().count().max(1);
    let odd = text
        .chars()
        .filter(|c| *c == '\u{fffd}' || (c.is_control() && !matches!(c, '\n' | '\r' | '\t')))
        .count();
    // One odd character is forgiven in a short file.
    odd <= total / 20 + 1
}

/// A piece of a document with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub text: String,
    /// "page 3", "slide 2", "sheet Budget", or the heading the text sits under.
    pub location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub kind: Kind,
    pub sections: Vec<Section>,
    /// PDF pages (1-based) with no text layer: scanned, they need OCR.
    pub pages_without_text: Vec<u32>,
    /// Rows left out past [`MAX_ROWS`].
    pub rows_left_out: usize,
}

impl Extracted {
    /// All the text, sections apart by a blank line.
    pub fn text(&self) -> String {
        self.sections
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("the file is damaged or not what it claims to be: {0}")]
    Corrupt(String),
    /// A PDF whose pages have no text layer at all, or an image.
    #[error("needs OCR: it has no text layer")]
    NeedsOcr { pages: u32 },
}

fn corrupt(err: impl std::fmt::Display) -> ExtractError {
    ExtractError::Corrupt(err.to_string())
}

/// The document's text. CPU-bound: run it off the async threads.
pub fn extract(bytes: &[u8], file_name: &str) -> Result<Extracted, ExtractError> {
    let kind = Kind::detect(bytes, file_name)?;
    let mut extracted = Extracted {
        kind,
        sections: Vec::new(),
        pages_without_text: Vec::new(),
        rows_left_out: 0,
    };
    match kind {
        Kind::Pdf => pdf(bytes, &mut extracted)?,
        Kind::Docx => {
            let mut zip = open_zip(bytes)?;
            extracted.sections = docx(&read_entry(&mut zip, "word/document.xml")?)?;
        }
        Kind::Pptx => extracted.sections = pptx(&mut open_zip(bytes)?)?,
        Kind::Xlsx => {
            open_zip(bytes)?;
            xlsx(bytes, &mut extracted)?;
        }
        Kind::Csv => csv_rows(bytes, &mut extracted)?,
        Kind::Html => {
            let text = html2text::from_read(bytes, 100_000).map_err(corrupt)?;
            extracted.sections = one_section(&text);
        }
        Kind::Json => {
            let value: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|err| corrupt(format!("not valid JSON ({err})")))?;
            let pretty = serde_json::to_string_pretty(&value).map_err(corrupt)?;
            extracted.sections = one_section(&pretty);
        }
        Kind::Markdown | Kind::Text => {
            extracted.sections = one_section(&decode_text(bytes));
        }
        Kind::Image => return Err(ExtractError::NeedsOcr { pages: 1 }),
    }
    for section in &mut extracted.sections {
        section.text = clean(&section.text);
    }
    extracted.sections.retain(|s| !s.text.is_empty());
    Ok(extracted)
}

fn one_section(text: &str) -> Vec<Section> {
    vec![Section {
        text: text.to_owned(),
        location: None,
    }]
}

/// No NUL bytes (Postgres refuses them), `\n` line ends, no trailing spaces, at most one blank
/// line in a row.
pub fn clean(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace(['\r'], "\n");
    let mut out = String::with_capacity(text.len());
    let mut blank_lines = 0;
    for line in text.trim_start_matches('\u{feff}').split('\n') {
        let line: String = line
            .trim_end()
            .chars()
            .filter(|c| *c != '\0' && (!c.is_control() || *c == '\t'))
            .collect();
        if line.trim().is_empty() {
            blank_lines += 1;
            if blank_lines > 1 {
                continue;
            }
        } else {
            blank_lines = 0;
        }
        out.push_str(&line);
        out.push('\n');
    }
    out.trim().to_owned()
}

fn pdf(bytes: &[u8], extracted: &mut Extracted) -> Result<(), ExtractError> {
    // The parser inflates streams whole and without limit: every stream is measured first.
    check_pdf_expansion(bytes, MAX_PDF_STREAM_BYTES, MAX_PDF_EXPANDED_BYTES)?;
    // The PDF parser panics on some damaged files: a damaged file, not a crashed worker.
    let pages = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem_by_pages(bytes))
        .map_err(|_| corrupt("the PDF could not be parsed"))?
        .map_err(corrupt)?;
    for (index, text) in pages.iter().enumerate() {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        if text.trim().is_empty() {
            extracted.pages_without_text.push(number);
        } else {
            extracted.sections.push(Section {
                text: text.clone(),
                location: Some(format!("page {number}")),
            });
        }
    }
    if extracted.sections.is_empty() {
        return Err(ExtractError::NeedsOcr {
            pages: u32::try_from(pages.len()).unwrap_or(u32::MAX),
        });
    }
    Ok(())
}

/// Decompresses every stream of a PDF into nothing, within `per_stream` and `total` bytes,
/// before the parser sees the file; refuses it with "expands to more than N MB" past either.
/// Streams are found in the raw bytes (`stream` ... `endstream`), so compressed object
/// streams and damaged cross-reference tables are covered too. What a stream's dictionary
/// says about its filters is not trusted (names can be escaped, chains hidden): every decoder
/// that expands is tried on it, layer on layer (see [`decoded_size`]).
pub fn check_pdf_expansion(bytes: &[u8], per_stream: u64, total: u64) -> Result<(), ExtractError> {
    let too_large = |limit: u64, what: &str| {
        ExtractError::TooLarge(format!(
            "this document expands to more than {} MB{what} once decompressed",
            limit / (1024 * 1024)
        ))
    };
    let mut expanded: u64 = 0;
    let mut at = 0;
    while let Some(found) = find(&bytes[at..], b"stream") {
        let keyword = at + found;
        at = keyword + b"stream".len();
        if keyword >= 3 && &bytes[keyword - 3..keyword] == b"end" {
            continue;
        }
        let data_start = match bytes.get(at..at + 2) {
            Some([b'\r', b'\n']) => at + 2,
            Some([b'\n', _]) | Some([b'\r', _]) => at + 1,
            _ => continue,
        };
        let data_end =
            find(&bytes[data_start..], b"endstream").map_or(bytes.len(), |e| data_start + e);
        let budget = per_stream.min(total - expanded) + 1;
        let size = decoded_size(&bytes[data_start..data_end], budget);
        if size > per_stream {
            return Err(too_large(per_stream, " in one part"));
        }
        expanded += size;
        if expanded > total {
            return Err(too_large(total, ""));
        }
        at = data_end;
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The decoders a PDF parser applies that can expand their input.
#[derive(Debug, Clone, Copy)]
enum Decoder {
    Zlib,
    Deflate,
    Lzw,
}

impl Decoder {
    const ALL: [Self; 3] = [Self::Zlib, Self::Deflate, Self::Lzw];

    fn wrap<'a>(self, input: Box<dyn Read + 'a>) -> Box<dyn Read + 'a> {
        match self {
            Self::Zlib => Box::new(flate2::read::ZlibDecoder::new(input)),
            Self::Deflate => Box::new(flate2::read::DeflateDecoder::new(input)),
            Self::Lzw => Box::new(LzwReader::new(input)),
        }
    }
}

/// Layers of decoding followed, at most: a filter chain of three expanding filters.
const MAX_LAYERS: usize = 3;

/// The most a stream's bytes can decode to, counting at most `limit`: its size as it is, or
/// after ASCIIHex or ASCII85 when it reads as such, then through every chain of up to three
/// expanding decoders (Flate as zlib or raw deflate, LZW) that yields anything. Streamed:
/// nothing decoded is held.
fn decoded_size(data: &[u8], limit: u64) -> u64 {
    let mut best = data.len() as u64;
    let mut sources: Vec<Vec<u8>> = Vec::new();
    sources.extend(ascii_hex(data));
    sources.extend(ascii85(data));
    let mut chain = Vec::new();
    best = best.max(deepest(data, &mut chain, limit));
    for source in &sources {
        best = best.max(source.len() as u64);
        best = best.max(deepest(source, &mut chain, limit));
    }
    best.min(limit)
}

/// The largest size any chain of decoders extending `chain` gives `data`.
fn deepest(data: &[u8], chain: &mut Vec<Decoder>, limit: u64) -> u64 {
    if chain.len() == MAX_LAYERS {
        return 0;
    }
    let mut best = 0;
    for decoder in Decoder::ALL {
        chain.push(decoder);
        let size = decode_count(data, chain, limit);
        if size > 0 {
            best = best.max(size);
            if size < limit {
                best = best.max(deepest(data, chain, limit));
            }
        }
        chain.pop();
        if best >= limit {
            break;
        }
    }
    best
}

/// Bytes `data` decodes to through `chain`, counting at most `limit`. Output before an error
/// still counts: a bomb may end in garbage.
fn decode_count(data: &[u8], chain: &[Decoder], limit: u64) -> u64 {
    let mut reader: Box<dyn Read + '_> = Box::new(data);
    for decoder in chain {
        reader = decoder.wrap(reader);
    }
    let mut limited = reader.take(limit);
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    while let Ok(read) = limited.read(&mut buffer) {
        if read == 0 {
            break;
        }
        total += read as u64;
    }
    total
}

/// ASCIIHex-decoded bytes, when `data` is hex digits and white space up to `>`.
fn ascii_hex(data: &[u8]) -> Option<Vec<u8>> {
    let text = data.split(|b| *b == b'>').next()?;
    let digits: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if digits.len() < 2 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let value = |d: u8| (d as char).to_digit(16).unwrap_or(0) as u8;
    Some(
        digits
            .chunks(2)
            .map(|pair| (value(pair[0]) << 4) | pair.get(1).map_or(0, |d| value(*d)))
            .collect(),
    )
}

/// ASCII85-decoded bytes, when `data` is base-85 text (with `z` for four zeros) up to `~>`.
fn ascii85(data: &[u8]) -> Option<Vec<u8>> {
    let text: Vec<u8> = data
        .split(|b| *b == b'~')
        .next()?
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let text = text.strip_prefix(b"<~").unwrap_or(&text);
    if text.len() < 5 || !text.iter().all(|b| (b'!'..=b'u').contains(b) || *b == b'z') {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 4 / 5);
    let mut group = Vec::with_capacity(5);
    for &b in text {
        if b == b'z' && group.is_empty() {
            out.extend_from_slice(&[0; 4]);
            continue;
        }
        group.push(b);
        if group.len() == 5 {
            let value = group
                .iter()
                .fold(0u64, |acc, c| acc * 85 + u64::from(c.saturating_sub(b'!')));
            out.extend_from_slice(&(value as u32).to_be_bytes());
            group.clear();
        }
    }
    Some(out)
}

/// LZW as PDF writes it (most significant bit first, the early code-size change), as a
/// reader, so chains of decoders stream.
struct LzwReader<'a> {
    inner: Box<dyn Read + 'a>,
    decoder: weezl::decode::Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    done: bool,
}

impl<'a> LzwReader<'a> {
    fn new(inner: Box<dyn Read + 'a>) -> Self {
        Self {
            inner,
            decoder: weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8),
            input: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            done: false,
        }
    }
}

impl Read for LzwReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while !self.done && !out.is_empty() {
            if self.start == self.end {
                self.start = 0;
                self.end = self.inner.read(&mut self.input)?;
                if self.end == 0 {
                    self.done = true;
                    break;
                }
            }
            let result = self
                .decoder
                .decode_bytes(&self.input[self.start..self.end], out);
            self.start += result.consumed_in;
            match result.status {
                Ok(weezl::LzwStatus::Ok) => {}
                Ok(_) | Err(_) => self.done = true,
            }
            if result.consumed_out > 0 {
                return Ok(result.consumed_out);
            }
            if result.consumed_in == 0 {
                self.done = true;
            }
        }
        Ok(0)
    }
}

type Zip<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

/// Opens a zip after counting its entries and decompressing every one of them (into nothing)
/// within [`MAX_EXPANDED_BYTES`]: declared sizes can lie, decompressed bytes cannot.
fn open_zip(bytes: &[u8]) -> Result<Zip<'_>, ExtractError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;
    if zip.len() > MAX_ZIP_ENTRIES {
        return Err(ExtractError::TooLarge(format!(
            "the document holds {} files; at most {MAX_ZIP_ENTRIES} are read",
            zip.len()
        )));
    }
    let mut expanded = 0u64;
    for index in 0..zip.len() {
        let entry = zip.by_index(index).map_err(corrupt)?;
        let budget = (MAX_EXPANDED_BYTES - expanded).min(MAX_ZIP_ENTRY_BYTES);
        let read =
            std::io::copy(&mut entry.take(budget + 1), &mut std::io::sink()).map_err(corrupt)?;
        if read > MAX_ZIP_ENTRY_BYTES {
            return Err(ExtractError::TooLarge(format!(
                "the document expands to more than {} MB in one part",
                MAX_ZIP_ENTRY_BYTES / 1024 / 1024
            )));
        }
        expanded += read;
        if expanded > MAX_EXPANDED_BYTES {
            return Err(ExtractError::TooLarge(format!(
                "the document expands to more than {} MB",
                MAX_EXPANDED_BYTES / 1024 / 1024
            )));
        }
    }
    Ok(zip)
}

fn read_entry(zip: &mut Zip<'_>, name: &str) -> Result<String, ExtractError> {
    let mut entry = zip
        .by_name(name)
        .map_err(|_| corrupt(format!("{name} is missing")))?;
    let mut xml = String::new();
    entry.read_to_string(&mut xml).map_err(corrupt)?;
    Ok(xml)
}

/// The text of a character or entity reference (`&#233;`, `&amp;`).
fn entity(reference: &quick_xml::events::BytesRef<'_>) -> Result<String, ExtractError> {
    if let Some(c) = reference.resolve_char_ref().map_err(corrupt)? {
        return Ok(c.to_string());
    }
    Ok(match reference.borrow().into_inner().as_ref() {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        _ => "",
    }
    .to_owned())
}

/// A Word document's paragraphs, in sections that start at each heading.
/// Office XML (Word and PowerPoint alike) paragraph by paragraph: the text of its `t`
/// elements, tabs and breaks, and whether its style is a heading, given to `paragraph` at
/// each paragraph's end.
fn paragraphs(xml: &str, mut paragraph: impl FnMut(String, bool)) -> Result<(), ExtractError> {
    let mut reader = Reader::from_str(xml);
    let mut text = String::new();
    let mut is_heading = false;
    let mut in_text = false;
    loop {
        match reader.read_event().map_err(corrupt)? {
            Event::Start(e) if e.local_name().as_ref() == "t" => in_text = true,
            Event::End(e) if e.local_name().as_ref() == "t" => in_text = false,
            Event::Text(t) if in_text => text.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_text => text.push_str(&entity(&r)?),
            Event::Empty(e) => match e.local_name().as_ref() {
                "tab" => text.push('\t'),
                "br" | "cr" => text.push('\n'),
                "pStyle" => {
                    is_heading = e.attributes().flatten().any(|a| {
                        a.key.local_name().as_ref() == "val"
                            && (a.value.starts_with("Heading") || a.value == "Title")
                    });
                }
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == "p" => {
                paragraph(std::mem::take(&mut text), is_heading);
                is_heading = false;
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

/// A Word document's text, a new section at each heading (which names it).
fn docx(xml: &str) -> Result<Vec<Section>, ExtractError> {
    let mut sections = vec![Section {
        text: String::new(),
        location: None,
    }];
    paragraphs(xml, |text, is_heading| {
        if is_heading && !text.trim().is_empty() {
            sections.push(Section {
                text: format!("{}\n", text.trim()),
                location: Some(text.trim().to_owned()),
            });
        } else if let Some(last) = sections.last_mut() {
            last.text.push_str(&text);
            last.text.push('\n');
        }
    })?;
    Ok(sections)
}

/// A presentation's slides in order, one section each.
fn pptx(zip: &mut Zip<'_>) -> Result<Vec<Section>, ExtractError> {
    let mut slides: Vec<(u32, String)> = zip
        .file_names()
        .filter_map(|name| {
            let name = name.ok()?;
            let number = name
                .strip_prefix("ppt/slides/slide")?
                .strip_suffix(".xml")?
                .parse()
                .ok()?;
            Some((number, name.into_owned()))
        })
        .collect();
    slides.sort();
    let mut sections = Vec::with_capacity(slides.len());
    for (number, name) in slides {
        let xml = read_entry(zip, &name)?;
        let mut text = String::new();
        paragraphs(&xml, |paragraph, _| {
            text.push_str(&paragraph);
            text.push('\n');
        })?;
        sections.push(Section {
            text,
            location: Some(format!("slide {number}")),
        });
    }
    Ok(sections)
}

/// Every sheet of a workbook, a row per line with its cells apart by tabs.
fn xlsx(bytes: &[u8], extracted: &mut Extracted) -> Result<(), ExtractError> {
    use calamine::Reader as _;
    let mut workbook = calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(corrupt)?;
    let mut rows_read = 0usize;
    for name in workbook.sheet_names() {
        let range = workbook.worksheet_range(&name).map_err(corrupt)?;
        let mut text = String::new();
        for row in range.rows() {
            if rows_read == MAX_ROWS {
                extracted.rows_left_out += 1;
                continue;
            }
            let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
            if cells.iter().all(String::is_empty) {
                continue;
            }
            rows_read += 1;
            text.push_str(cells.join("\t").trim_end());
            text.push('\n');
        }
        extracted.sections.push(Section {
            text,
            location: Some(format!("sheet {name}")),
        });
    }
    Ok(())
}

/// Rows as `header: value` pairs, so a row read alone still says what its values are.
fn csv_rows(bytes: &[u8], extracted: &mut Extracted) -> Result<(), ExtractError> {
    let text = decode_text(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(corrupt)?
        .iter()
        .map(str::to_owned)
        .collect();
    let mut text = String::new();
    for (index, record) in reader.records().enumerate() {
        if index >= MAX_ROWS {
            extracted.rows_left_out += 1;
            continue;
        }
        let record = record.map_err(corrupt)?;
        let fields: Vec<String> = record
            .iter()
            .enumerate()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(column, value)| match headers.get(column) {
                Some(header) if !header.is_empty() => format!("{header}: {value}"),
                _ => value.to_owned(),
            })
            .collect();
        text.push_str(&fields.join("; "));
        text.push('\n');
    }
    extracted.sections = one_section(&text);
    Ok(())
}
