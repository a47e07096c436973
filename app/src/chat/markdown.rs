//! Markdown from models and users as safe HTML.
//!
//! pulldown-cmark parses GitHub-flavoured markdown (tables, task lists, strikethrough, math
//! spans) and escapes all text. What it would pass through untouched is made harmless here:
//! raw HTML is shown as text, links keep only `http(s)`, `mailto` and in-page or relative
//! targets, and images become links (a reply cannot make the browser fetch anything).
//!
//! [`to_html`] is what the browser uses while a reply streams. Finished replies are rendered
//! once more on the server with [`to_rich_html`]: code blocks highlighted (CSS classes, see
//! [`highlight_css`]) and TeX typeset as MathML, which browsers lay out and screen readers
//! read with no script or web font.

use pulldown_cmark::{
    Alignment, CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html,
};

/// Put before every code block: a head with its language and copy button (the page has one
/// listener for all).
fn code_block_start(kind: &CodeBlockKind<'_>) -> String {
    // The name was checked: letters, digits and `+#-_.` only.
    let language = language(kind).unwrap_or_else(|| "code".to_owned());
    format!(
        "<div class=\"code-block\"><div class=\"code-head\"><span class=\"code-language\">{language}</span>\
         <button type=\"button\" class=\"copy-code\">Copy</button></div>"
    )
}

const TABLE_START: &str =
    "<div class=\"md-table\" tabindex=\"0\" role=\"region\" aria-label=\"Table\">";

/// A table cell's start tag: pulldown-cmark would align the column with an inline style,
/// which the page's content policy refuses, so a class does it.
fn cell_start(head: bool, alignment: Option<&Alignment>) -> &'static str {
    match (head, alignment) {
        (true, Some(Alignment::Left)) => "<th class=\"align-left\">",
        (true, Some(Alignment::Center)) => "<th class=\"align-center\">",
        (true, Some(Alignment::Right)) => "<th class=\"align-right\">",
        (true, _) => "<th>",
        (false, Some(Alignment::Left)) => "<td class=\"align-left\">",
        (false, Some(Alignment::Center)) => "<td class=\"align-center\">",
        (false, Some(Alignment::Right)) => "<td class=\"align-right\">",
        (false, _) => "<td>",
    }
}

/// The HTML of `text` as markdown.
pub fn to_html(text: &str) -> String {
    render(text, false, None)
}

/// The HTML of `text` as markdown, with highlighted code and typeset math.
#[cfg(feature = "ssr")]
pub fn to_rich_html(text: &str) -> String {
    render(text, true, None)
}

/// A finished reply: as [`to_rich_html`], with its citation markers (`[1]`, one of `sources`)
/// linked to the reply's sources list (`#source-{reply}-{n}`, see `Sources`).
#[cfg(feature = "ssr")]
pub fn to_rich_html_citing(text: &str, reply: &str, sources: &[i32]) -> String {
    render(text, true, Some((reply, sources)))
}

/// The id of source `number` of `reply` in the page.
pub fn source_anchor(reply: &str, number: i32) -> String {
    format!("source-{reply}-{number}")
}

fn render(text: &str, rich: bool, cite: Option<(&str, &[i32])>) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_MATH
        | Options::ENABLE_GFM;
    let mut in_image = false;
    // The table being written: its columns' alignment, whether in its head, the column.
    let mut alignments = Vec::new();
    let mut in_head = false;
    let mut column = 0;
    let events = Parser::new_ext(text, options).flat_map(move |event| {
        let safe = match event {
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => Event::Start(Tag::Link {
                link_type,
                dest_url: safe_url(dest_url),
                title,
                id,
            }),
            Event::Start(Tag::Image {
                dest_url,
                title,
                id,
                ..
            }) => {
                in_image = true;
                Event::Start(Tag::Link {
                    link_type: LinkType::Inline,
                    dest_url: safe_url(dest_url),
                    title,
                    id,
                })
            }
            Event::End(TagEnd::Image) if in_image => {
                in_image = false;
                Event::End(TagEnd::Link)
            }
            other => other,
        };
        // Only markup made here is passed as HTML: model and user HTML became text above.
        match safe {
            Event::Start(Tag::CodeBlock(ref kind)) => {
                vec![Event::Html(CowStr::from(code_block_start(kind))), safe]
            }
            Event::End(TagEnd::CodeBlock) => vec![safe, Event::Html(CowStr::Borrowed("</div>"))],
            // A wide table scrolls sideways in its own box, which a keyboard can reach.
            Event::Start(Tag::Table(ref columns)) => {
                alignments.clone_from(columns);
                vec![Event::Html(CowStr::Borrowed(TABLE_START)), safe]
            }
            Event::End(TagEnd::Table) => vec![safe, Event::Html(CowStr::Borrowed("</div>"))],
            Event::Start(Tag::TableHead) => {
                (in_head, column) = (true, 0);
                vec![safe]
            }
            Event::End(TagEnd::TableHead) => {
                in_head = false;
                vec![safe]
            }
            Event::Start(Tag::TableRow) => {
                column = 0;
                vec![safe]
            }
            Event::Start(Tag::TableCell) => vec![Event::Html(CowStr::Borrowed(cell_start(
                in_head,
                alignments.get(column),
            )))],
            Event::End(TagEnd::TableCell) => {
                column += 1;
                let end = if in_head { "</th>" } else { "</td>" };
                vec![Event::Html(CowStr::Borrowed(end))]
            }
            other => vec![other],
        }
    });
    let mut out = String::with_capacity(text.len() * 3 / 2);
    #[cfg(feature = "ssr")]
    if rich {
        let events = pulldown_cmark::TextMergeStream::new(events);
        html::push_html(&mut out, rich::Enrich::new(events, cite));
        return out;
    }
    let _ = (rich, cite);
    html::push_html(&mut out, events);
    out
}

/// The fence's language if it is a plain name (`rust`, `c++`, `c#`, `objective-c`).
fn language(kind: &CodeBlockKind<'_>) -> Option<String> {
    let CodeBlockKind::Fenced(info) = kind else {
        return None;
    };
    let name = info.split([' ', ',', '{']).next()?.trim();
    (!name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '#' | '-' | '_' | '.')))
    .then(|| name.to_owned())
}

/// The stylesheet for highlighted code, light and dark.
#[cfg(feature = "ssr")]
pub fn highlight_css() -> &'static str {
    rich::css()
}

/// The URL if its scheme is allowed, else an empty one (the link text stays, inert).
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    // Browsers ignore ASCII whitespace and control characters inside a scheme. A scheme may
    // be of any length, so the whole URL is read up to where a scheme would have to end.
    let squeezed: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .take_while(|c| !matches!(c, '/' | '?' | '#'))
        .collect::<String>()
        .to_ascii_lowercase();
    // No colon before the path: relative.
    let allowed = !squeezed.contains(':')
        || ["http:", "https:", "mailto:"]
            .iter()
            .any(|scheme| squeezed.starts_with(scheme));
    if allowed { url } else { CowStr::Borrowed("") }
}

/// Server-side rendering of code and math.
#[cfg(feature = "ssr")]
mod rich {
    use std::{collections::VecDeque, sync::OnceLock};

    use pulldown_cmark::{CowStr, Event, Tag, TagEnd};
    use pulldown_latex::{
        Parser as TexParser, ParserError, RenderConfig, Storage, config::DisplayMode, push_mathml,
    };
    use syntect::{
        html::{ClassStyle, ClassedHTMLGenerator, css_for_theme_with_class_style},
        parsing::SyntaxSet,
        util::LinesWithEndings,
    };
    use two_face::theme::EmbeddedThemeName;

    const CLASSES: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };
    /// Bigger blocks, or blocks with longer lines (minified code, data), stay plain: the
    /// grammars' regular expressions backtrack.
    const MAX_CODE_BYTES: usize = 64 * 1024;
    const MAX_LINE_BYTES: usize = 2_000;
    /// TeX longer than this stays as source.
    const MAX_TEX_BYTES: usize = 4_000;
    /// Macro definitions can expand without end (`\def\a{\a\a}`): TeX using them stays as
    /// source.
    const MACRO_DEFINITIONS: [&str; 12] = [
        "def",
        "gdef",
        "edef",
        "xdef",
        "let",
        "futurelet",
        "newcommand",
        "renewcommand",
        "providecommand",
        "DeclareMathOperator",
        "expandafter",
        "csname",
    ];

    fn syntaxes() -> &'static SyntaxSet {
        static SET: OnceLock<SyntaxSet> = OnceLock::new();
        SET.get_or_init(two_face::syntax::extra_newlines)
    }

    /// Coldark's light and dark themes (made to meet WCAG AA contrast), following the page's
    /// theme: `data-theme` on `<html>`, or the system's when it is `system`.
    pub fn css() -> &'static str {
        static CSS: OnceLock<String> = OnceLock::new();
        CSS.get_or_init(|| {
            let themes = two_face::theme::extra();
            let css = |name| {
                css_for_theme_with_class_style(themes.get(name), CLASSES).unwrap_or_default()
            };
            let light = css(EmbeddedThemeName::ColdarkCold);
            let dark = css(EmbeddedThemeName::ColdarkDark);
            format!(
                ":root {{\n{light}}}\n:root[data-theme=\"dark\"] {{\n{dark}}}\n\
                 @media (prefers-color-scheme: dark) {{\n:root:not([data-theme=\"light\"]) {{\n{dark}}}\n}}\n"
            )
        })
    }

    /// The block as highlighted HTML, or `None` to leave it plain.
    fn highlight(code: &str, language: &str) -> Option<String> {
        if code.len() > MAX_CODE_BYTES || code.lines().any(|l| l.len() > MAX_LINE_BYTES) {
            return None;
        }
        let set = syntaxes();
        let syntax = set.find_syntax_by_token(language)?;
        let mut html = ClassedHTMLGenerator::new_with_class_style(syntax, set, CLASSES);
        for line in LinesWithEndings::from(code) {
            html.parse_html_for_line_which_includes_newline(line).ok()?;
        }
        // The language name was checked above: letters, digits and `+#-_.` only.
        Some(format!(
            "<pre class=\"hl-code\"><code class=\"language-{language}\">{}</code></pre>\n",
            html.finalize()
        ))
    }

    fn defines_macros(tex: &str) -> bool {
        tex.split('\\').skip(1).any(|after| {
            let name: String = after
                .chars()
                .take_while(char::is_ascii_alphabetic)
                .collect();
            MACRO_DEFINITIONS.contains(&name.as_str())
        })
    }

    /// The TeX as MathML (with the source as its annotation), or `None` to leave it as source.
    pub fn math(tex: &str, display: bool) -> Option<String> {
        if tex.len() > MAX_TEX_BYTES || defines_macros(tex) {
            return None;
        }
        let storage = Storage::new();
        let events = TexParser::new(tex, &storage)
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        let mut out = String::new();
        // The annotation is written as given: escape it here.
        let source = escape(tex);
        let config = RenderConfig {
            display_mode: if display {
                DisplayMode::Block
            } else {
                DisplayMode::Inline
            },
            annotation: Some(&source),
            ..RenderConfig::default()
        };
        push_mathml(
            &mut out,
            events.into_iter().map(Ok::<_, ParserError>),
            config,
        )
        .ok()?;
        Some(tidy(&out))
    }

    /// MathML Core's elements and the presentation attributes they take.
    const MATH_TAGS: [&str; 32] = [
        "math",
        "semantics",
        "annotation",
        "merror",
        "mfrac",
        "mi",
        "mmultiscripts",
        "mn",
        "mo",
        "mover",
        "mpadded",
        "mphantom",
        "mprescripts",
        "mroot",
        "mrow",
        "ms",
        "mspace",
        "msqrt",
        "mstyle",
        "msub",
        "msubsup",
        "msup",
        "mtable",
        "mtd",
        "mtext",
        "mtr",
        "munder",
        "munderover",
        "none",
        "menclose",
        "maction",
        "mlabeledtr",
    ];
    const MATH_ATTRIBUTES: [&str; 33] = [
        "display",
        "displaystyle",
        "scriptlevel",
        "mathvariant",
        "mathcolor",
        "mathbackground",
        "mathsize",
        "dir",
        "class",
        "stretchy",
        "symmetric",
        "largeop",
        "movablelimits",
        "accent",
        "accentunder",
        "form",
        "fence",
        "separator",
        "lspace",
        "rspace",
        "minsize",
        "maxsize",
        "linethickness",
        "width",
        "height",
        "depth",
        "voffset",
        "encoding",
        "columnalign",
        "rowalign",
        "columnspan",
        "rowspan",
        "notation",
    ];

    /// The typesetter's MathML with only MathML Core elements and presentation attributes:
    /// any other `<` or `>` becomes text, other attributes (`style`, `xmlns`) are dropped. Its
    /// output is not trusted to escape everything (an operator `<` comes out raw).
    pub(super) fn tidy(mathml: &str) -> String {
        let mut out = String::with_capacity(mathml.len());
        let mut rest = mathml;
        while let Some(at) = rest.find(['<', '>']) {
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            if let Some(after) = rest.strip_prefix('>') {
                out.push_str("&gt;");
                rest = after;
            } else if let Some((tag, length)) = allowed_tag(rest) {
                out.push_str(&tag);
                rest = &rest[length..];
            } else {
                out.push_str("&lt;");
                rest = &rest[1..];
            }
        }
        out.push_str(rest);
        out
    }

    /// The allowed tag `s` starts with, rebuilt with its allowed attributes, and the length
    /// it had.
    fn allowed_tag(s: &str) -> Option<(String, usize)> {
        let end = s.find('>')?;
        let inner = &s[1..end];
        let (closing, inner) = match inner.strip_prefix('/') {
            Some(inner) => (true, inner),
            None => (false, inner),
        };
        let (inner, self_closing) = match inner.strip_suffix('/') {
            Some(inner) => (inner, true),
            None => (inner, false),
        };
        let name_end = inner
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(inner.len());
        let name = &inner[..name_end];
        if !MATH_TAGS.contains(&name) {
            return None;
        }
        let mut tag = format!("<{}{name}", if closing { "/" } else { "" });
        let mut attributes = &inner[name_end..];
        loop {
            let trimmed = attributes.trim_start();
            if trimmed.is_empty() {
                break;
            }
            // Attributes are separated by space; a closing tag has none.
            if closing || trimmed.len() == attributes.len() {
                return None;
            }
            let (key, after) = trimmed.split_once("=\"")?;
            let (value, after) = after.split_once('"')?;
            if MATH_ATTRIBUTES.contains(&key) {
                tag.push_str(&format!(" {key}=\"{value}\""));
            }
            attributes = after;
        }
        tag.push_str(if self_closing { "/>" } else { ">" });
        Some((tag, end + 1))
    }

    fn escape(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                other => out.push(other),
            }
        }
        out
    }

    /// Markdown events with code blocks and math replaced by their rendered HTML, and citation
    /// markers by links when the reply has sources.
    pub struct Enrich<'a, 'c, I> {
        events: I,
        pending: VecDeque<Event<'a>>,
        /// The reply's id and the numbers of its sources.
        cite: Option<(&'c str, &'c [i32])>,
    }

    impl<'a, 'c, I: Iterator<Item = Event<'a>>> Enrich<'a, 'c, I> {
        pub fn new(events: I, cite: Option<(&'c str, &'c [i32])>) -> Self {
            Self {
                events,
                pending: VecDeque::new(),
                cite,
            }
        }

        /// `text` with each marker of a known source as a link to it.
        fn cited(&mut self, text: CowStr<'a>) -> Event<'a> {
            let Some((reply, sources)) = self.cite else {
                return Event::Text(text);
            };
            let mut pieces = Vec::new();
            let mut shown = 0;
            let markers = studio_core::knowledge::retrieval::citation_markers(&text)
                .filter(|(_, n)| sources.contains(n));
            for (at, n) in markers {
                if at.start > shown {
                    pieces.push(Event::Text(CowStr::from(text[shown..at.start].to_owned())));
                }
                let anchor = super::source_anchor(reply, n);
                pieces.push(Event::InlineHtml(CowStr::from(format!(
                    "<a class=\"cite\" href=\"#{anchor}\">[{n}]</a>"
                ))));
                shown = at.end;
            }
            if pieces.is_empty() {
                return Event::Text(text);
            }
            if shown < text.len() {
                pieces.push(Event::Text(CowStr::from(text[shown..].to_owned())));
            }
            let first = pieces.remove(0);
            self.pending.extend(pieces);
            first
        }

        fn code_block(&mut self, kind: pulldown_cmark::CodeBlockKind<'a>) -> Event<'a> {
            let mut code = String::new();
            for event in self.events.by_ref() {
                match event {
                    Event::Text(text) => code.push_str(&text),
                    Event::End(TagEnd::CodeBlock) => break,
                    _ => {}
                }
            }
            if let Some(html) = super::language(&kind).and_then(|l| highlight(&code, &l)) {
                return Event::Html(html.into());
            }
            self.pending.push_back(Event::Text(code.into()));
            self.pending.push_back(Event::End(TagEnd::CodeBlock));
            Event::Start(Tag::CodeBlock(kind))
        }
    }

    impl<'a, I: Iterator<Item = Event<'a>>> Iterator for Enrich<'a, '_, I> {
        type Item = Event<'a>;

        fn next(&mut self) -> Option<Event<'a>> {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            Some(match self.events.next()? {
                Event::Start(Tag::CodeBlock(kind)) => self.code_block(kind),
                Event::Text(text) => self.cited(text),
                Event::InlineMath(tex) => match math(&tex, false) {
                    Some(html) => Event::InlineHtml(CowStr::from(html)),
                    None => Event::InlineMath(tex),
                },
                Event::DisplayMath(tex) => match math(&tex, true) {
                    Some(html) => Event::InlineHtml(CowStr::from(html)),
                    None => Event::DisplayMath(tex),
                },
                other => other,
            })
        }
    }
}

/// The XSS checks the renderers' tests share: every tag allowed, no event handler, script
/// URL or embedding attribute, and only the attributes allowed when a list is given.
#[cfg(test)]
mod checks {
    /// Tags and attributes of HTML made here: `(name, [(attribute, value)])`.
    pub fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
        let mut found = Vec::new();
        let mut rest = html;
        while let Some(start) = rest.find('<') {
            rest = &rest[start + 1..];
            let end = rest.find('>').unwrap_or(rest.len());
            let inside = rest[..end].trim_start_matches('/').trim_end_matches('/');
            rest = &rest[end..];
            let (name, mut attrs) = inside
                .split_once(char::is_whitespace)
                .unwrap_or((inside, ""));
            let mut attributes = Vec::new();
            loop {
                attrs = attrs.trim_start();
                if attrs.is_empty() {
                    break;
                }
                let key_end = attrs.find(['=', ' ']).unwrap_or(attrs.len());
                let key = attrs[..key_end].to_owned();
                attrs = &attrs[key_end..];
                let mut value = String::new();
                if let Some(quoted) = attrs.strip_prefix("=\"") {
                    let close = quoted.find('"').expect("attribute values are quoted");
                    value = quoted[..close].to_owned();
                    attrs = &quoted[close + 1..];
                }
                attributes.push((key, value));
            }
            found.push((name.to_owned(), attributes));
        }
        found
    }

    pub fn assert_safe(
        html: &str,
        source: &str,
        allowed_tags: &[&str],
        allowed_attributes: Option<&[&str]>,
    ) {
        for (name, attributes) in tags(html) {
            assert!(
                allowed_tags.contains(&name.as_str()),
                "{source:?} made a <{name}>: {html}"
            );
            for (key, value) in attributes {
                let key = key.to_ascii_lowercase();
                assert!(
                    allowed_attributes.is_none_or(|allowed| allowed.contains(&key.as_str())),
                    "{source:?} made {key}: {html}"
                );
                assert!(
                    !key.starts_with("on")
                        && !["src", "style", "srcdoc", "action", "formaction"]
                            .contains(&key.as_str())
                        && !key.contains(':'),
                    "{source:?} made {key}: {html}"
                );
                if key == "href" {
                    let url = value.to_ascii_lowercase();
                    assert!(
                        url.is_empty() || url.starts_with("http") || !url.contains(':'),
                        "{source:?} linked to {url}"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn renders_gfm() {
        let html = to_html(
            "# Title\n\n**bold** ~~gone~~\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n",
        );
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<strong>bold</strong>"));
        assert!(html.contains("<del>gone</del>"));
        assert!(html.contains("<table>"));
        assert!(html.contains("checkbox"));
    }

    #[test]
    fn code_blocks_get_a_copy_button_and_keep_their_language() {
        let html = to_html("```rust\nfn main() { println!(\"<hi>\"); }\n```\n");
        assert!(
            html.contains("<button type=\"button\" class=\"copy-code\">Copy</button>"),
            "{html}"
        );
        assert!(html.contains("class=\"language-rust\""));
        assert!(
            html.contains("<span class=\"code-language\">rust</span>"),
            "{html}"
        );
        assert!(html.contains("&lt;hi&gt;"));
        let plain = to_html("```\nplain\n```\n\n```<b onclick=x>\nodd\n```\n");
        assert_eq!(
            plain
                .matches("<span class=\"code-language\">code</span>")
                .count(),
            2
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn citation_markers_of_known_sources_link_to_them() {
        let html = super::to_rich_html_citing(
            "Pumice floats [1], basalt sinks [2][3]. See [9] and [x].\n\n`[1]` and\n\n```\n[1]\n```\n",
            "r1",
            &[1, 2],
        );
        assert!(
            html.contains("floats <a class=\"cite\" href=\"#source-r1-1\">[1]</a>, basalt"),
            "{html}"
        );
        assert!(
            html.contains("<a class=\"cite\" href=\"#source-r1-2\">[2]</a>[3]."),
            "{html}"
        );
        assert!(html.contains("See [9] and [x]."), "{html}");
        assert!(html.contains("<code>[1]</code>"), "{html}");
        assert_eq!(html.matches("class=\"cite\"").count(), 2, "{html}");
        // Without sources nothing changes.
        assert!(!super::to_rich_html("floats [1]").contains("<a"));
    }

    #[test]
    fn table_columns_are_aligned_by_class_not_inline_style() {
        let table = "| a | b | c | d |\n|:--|:-:|--:|---|\n| 1 | 2 | 3 | 4 |\n| 5 |\n";
        #[cfg(feature = "ssr")]
        let rich = Some(super::to_rich_html(table));
        #[cfg(not(feature = "ssr"))]
        let rich = None;
        for html in std::iter::once(to_html(table)).chain(rich) {
            assert!(!html.contains("style"), "{html}");
            assert!(
                html.contains("<div class=\"md-table\" tabindex=\"0\""),
                "{html}"
            );
            assert!(html.contains("</table>\n</div>"), "{html}");
            assert!(
                html.contains("<thead><tr><th class=\"align-left\">a</th>"),
                "{html}"
            );
            assert!(html.contains("<th>d</th></tr></thead>"), "{html}");
            assert!(html.contains("<td class=\"align-center\">2</td>"), "{html}");
            assert!(
                html.contains("<td class=\"align-right\">3</td><td>4</td></tr>"),
                "{html}"
            );
            assert!(
                html.contains("<tr><td class=\"align-left\">5</td>"),
                "{html}"
            );
        }
        // Text that looks like the style stays as written.
        let text = to_html("a style=\"text-align: left\" b");
        assert!(text.contains("style=\"text-align: left\""), "{text}");
    }

    #[test]
    fn math_is_marked_for_display_not_executed() {
        let html = to_html("Euler: $e^{i\\pi} + 1 = 0$");
        assert!(html.contains("class=\"math math-inline\""), "{html}");
    }

    /// Vectors from the usual XSS cheat sheets: none may leave an element, an attribute or a
    /// URL the browser would run.
    /// The tags the streaming renderer makes.
    const STREAMED_TAGS: [&str; 9] = [
        "p", "a", "code", "pre", "div", "button", "em", "strong", "ul",
    ];

    #[test]
    fn html_and_script_urls_never_survive() {
        let attacks = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<svg/onload=alert(1)>",
            "<a href=\"javascript:alert(1)\">x</a>",
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](java\tscript:alert(1))",
            "[x]( javascript:alert(1))",
            "[x](<javascript:alert(1)>)",
            "[x](vbscript:msgbox(1))",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "![x](javascript:alert(1))",
            "[x][ref]\n\n[ref]: javascript:alert(1)",
            "<javascript:alert(1)>",
            "<details open ontoggle=alert(1)>",
            "<iframe src=\"https://example.org\"></iframe>",
            "`<script>`<b onmouseover=alert(1)>x</b>",
            "[x](&#106;avascript:alert(1))",
            "[x](javascript&colon;alert(1))",
            // Schemes longer than any dangerous one are still only what they are: refused.
            "[x](averyveryverylongscheme:k)",
            "<rpG3arJaVaScRiPt:k>",
        ];
        for attack in attacks {
            let html = to_html(attack);
            super::checks::assert_safe(
                &html,
                attack,
                &STREAMED_TAGS,
                Some(&["href", "class", "type", "tabindex", "role", "aria-label"]),
            );
        }
    }

    #[test]
    fn safe_links_stay_and_images_become_links() {
        let html = to_html(
            "[site](https://example.org/a?b=c) [mail](mailto:a@b.org) [here](#top) [doc](docs/a:b)",
        );
        assert!(
            html.contains("href=\"https://example.org/a?b=c\""),
            "{html}"
        );
        assert!(html.contains("href=\"mailto:a@b.org\""));
        assert!(html.contains("href=\"#top\""));
        assert!(html.contains("href=\"docs/a:b\""));
        let html = to_html("![a cat](https://example.org/cat.png)");
        assert!(
            html.contains("<a href=\"https://example.org/cat.png\">a cat</a>"),
            "{html}"
        );
        assert!(!html.contains("<img"));
    }
}

/// What the server renders: highlighted code and MathML, with the same guarantees.
#[cfg(all(test, feature = "ssr"))]
mod rich_tests {
    use std::time::{Duration, Instant};

    use super::{highlight_css, to_html, to_rich_html};

    const MATHML: [&str; 24] = [
        "math",
        "semantics",
        "annotation",
        "mrow",
        "mi",
        "mn",
        "mo",
        "ms",
        "mtext",
        "mspace",
        "msub",
        "msup",
        "msubsup",
        "mfrac",
        "msqrt",
        "mroot",
        "mover",
        "munder",
        "munderover",
        "mtable",
        "mtr",
        "mtd",
        "mstyle",
        "mpadded",
    ];
    const HTML: [&str; 15] = [
        "p", "a", "code", "pre", "div", "button", "em", "strong", "span", "ul", "ol", "li", "h1",
        "h2", "br",
    ];

    fn assert_rich_safe(html: &str, source: &str) {
        let allowed: Vec<&str> = HTML.iter().chain(MATHML.iter()).copied().collect();
        super::checks::assert_safe(html, source, &allowed, None);
    }

    #[test]
    fn known_languages_are_highlighted_with_classes_and_escaped() {
        let source = "```rust\nfn main() {\n    let s = \"<hi>\"; // done\n}\n```\n";
        let html = to_rich_html(source);
        assert!(
            html.contains("<pre class=\"hl-code\"><code class=\"language-rust\">"),
            "{html}"
        );
        assert!(html.contains("<span class=\"hl-"), "{html}");
        assert!(html.contains("&lt;hi&gt;"), "{html}");
        assert!(html.contains("class=\"copy-code\""), "{html}");
        assert_rich_safe(&html, source);
        // The streaming renderer shows the same block plain.
        assert!(!to_html(source).contains("hl-"));
        // Bat's extra grammars are there too.
        assert!(to_rich_html("```typescript\nconst a: number = 1;\n```").contains("hl-"));
    }

    #[test]
    fn unknown_or_hostile_languages_stay_plain() {
        let html = to_rich_html("```nosuchlang\n<b>x</b>\n```");
        assert!(
            html.contains("<pre><code class=\"language-nosuchlang\">&lt;b&gt;x&lt;/b&gt;"),
            "{html}"
        );
        for source in [
            "```\"><script>alert(1)</script>\nx\n```",
            "```rust\" onmouseover=\"alert(1)\nx\n```",
            "```js<img/src=x/onerror=alert(1)>\nx\n```",
        ] {
            let html = to_rich_html(source);
            assert_rich_safe(&html, source);
        }
        // Minified one-liners are not fed to the grammars.
        let long = format!("```js\n{}\n```", "a+".repeat(5_000));
        assert!(!to_rich_html(&long).contains("hl-"));
    }

    #[test]
    fn tex_becomes_mathml_with_its_source() {
        let html =
            to_rich_html("Euler: $e^{i\\pi} + 1 = 0$ and\n\n$$\\int_0^1 x\\,dx = \\frac{1}{2}$$");
        assert!(html.contains("<math"), "{html}");
        assert!(html.contains("<msup>"), "{html}");
        assert!(html.contains("<mfrac>"), "{html}");
        assert!(html.contains("display=\"block\""), "{html}");
        assert!(
            html.contains(
                "<annotation encoding=\"application/x-tex\">e^{i\\pi} + 1 = 0</annotation>"
            ),
            "{html}"
        );
        assert_rich_safe(&html, "math");
    }

    #[test]
    fn tex_that_is_broken_or_defines_macros_stays_source() {
        for broken in ["$\\frac{1}$", "$\\nosuchcommand{x}$", "$x^$"] {
            let html = to_rich_html(broken);
            assert!(
                html.contains("class=\"math math-inline\""),
                "{broken}: {html}"
            );
        }
        // Each definition doubles the last: expanded, it would never end.
        let bomb = format!(
            "$$\\def\\a{{xx}}{}\\z$$",
            ('b'..='z')
                .zip('a'..='y')
                .map(|(name, prev)| format!("\\def\\{name}{{\\{prev}\\{prev}}}"))
                .collect::<String>()
        );
        let started = Instant::now();
        let html = to_rich_html(&bomb);
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(html.contains("class=\"math math-display\""), "{html}");
        assert!(!html.contains("<math"));
    }

    #[test]
    fn tex_cannot_smuggle_markup() {
        let attacks = [
            "$\\text{<script>alert(1)</script>}$",
            "$\\href{javascript:alert(1)}{x}$",
            "$\\url{javascript:alert(1)}$",
            "$\\color{red\" onmouseover=\"alert(1)}{x}$",
            "$x\" onload=\"alert(1)$",
            "$$\\begin{array}{c}<img src=x onerror=alert(1)>\\end{array}$$",
            "$\\mathrm{<svg onload=alert(1)>}$",
            "$\\operatorname{</math><script>alert(1)</script>}$",
            "$a < b \\& c > d$",
        ];
        for attack in attacks {
            let html = to_rich_html(attack);
            assert_rich_safe(&html, attack);
            assert!(!html.contains("<script"), "{attack:?}: {html}");
        }
    }

    #[test]
    fn the_mathml_tidier_keeps_only_mathml_core() {
        assert_eq!(
            super::rich::tidy(
                "<mi onclick=\"x()\" mathvariant=\"normal\">a</mi><mo><</mo><img src=x>\
                 <mspace width=\"1em\" style=\"x\"/></mi foo=\"1\"><mi\"x\">"
            ),
            "<mi mathvariant=\"normal\">a</mi><mo>&lt;</mo>&lt;img src=x&gt;\
             <mspace width=\"1em\"/>&lt;/mi foo=\"1\"&gt;&lt;mi\"x\"&gt;"
        );
    }

    #[test]
    fn the_stylesheet_has_light_and_dark_colours() {
        let css = highlight_css();
        assert!(css.contains(".hl-comment"), "{css}");
        assert!(css.contains(":root[data-theme=\"dark\"]"));
        assert!(css.contains("prefers-color-scheme: dark"));
    }
}

/// Random and hostile input for both renderers: whatever the model or a user writes, the
/// output holds only allowed tags and attributes and no script URL.
#[cfg(all(test, feature = "ssr"))]
mod fuzz {
    use proptest::prelude::*;

    use super::{to_html, to_rich_html};

    /// Pieces that drive the parsers into their corners, mixed with random text.
    fn hostile() -> impl Strategy<Value = String> {
        let pieces = prop::sample::select(vec![
            "<script>",
            "</script>",
            "<img src=x onerror=",
            "javascript:",
            "JaVaScRiPt:",
            "[x](",
            ")",
            "![y](",
            "<a href=\"",
            "\">",
            "`",
            "```",
            "```rust\n",
            "\n",
            "$",
            "$$",
            "\\(",
            "\\)",
            "\\begin{matrix}",
            "\\def\\x{",
            "<math>",
            "<svg/onload=",
            "&#106;",
            "&colon;",
            "| a | b |\n|---|---|\n",
            "> ",
            "- ",
            "1. ",
            "**",
            "_",
            "<",
            ">",
            "\"",
            "'",
            "data:text/html,",
            "<details ontoggle=",
            "\u{0}",
            "\t",
            "{",
            "}",
        ]);
        prop::collection::vec(
            prop_oneof![pieces.prop_map(str::to_owned), "[ -~]{0,12}", "\\PC{0,6}"],
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    /// What the renderers may make: Markdown's HTML and MathML Core's presentation elements.
    const TAGS: &[&str] = &[
        "p",
        "a",
        "code",
        "pre",
        "div",
        "button",
        "em",
        "strong",
        "span",
        "ul",
        "ol",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "br",
        "hr",
        "blockquote",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "del",
        "sup",
        "input",
        "math",
        "semantics",
        "annotation",
        "mrow",
        "mi",
        "mn",
        "mo",
        "ms",
        "mtext",
        "mspace",
        "msub",
        "msup",
        "msubsup",
        "mfrac",
        "msqrt",
        "mroot",
        "mover",
        "munder",
        "munderover",
        "mtable",
        "mtr",
        "mtd",
        "mstyle",
        "mpadded",
    ];

    fn allowed(name: &str) -> bool {
        TAGS.contains(&name)
    }

    fn check(html: &str, source: &str) {
        for (name, attributes) in super::checks::tags(html) {
            assert!(allowed(&name), "{source:?} made <{name}>: {html}");
            for (key, value) in attributes {
                let key = key.to_ascii_lowercase();
                assert!(
                    !key.starts_with("on")
                        && !["src", "style", "srcdoc", "action", "formaction"]
                            .contains(&key.as_str()),
                    "{source:?} made {key}: {html}"
                );
                if key == "href" {
                    let scheme = scheme_of(&value);
                    assert!(
                        scheme
                            .as_deref()
                            .is_none_or(|s| ["http", "https", "mailto"].contains(&s)),
                        "{source:?} linked to {value} (scheme {scheme:?})"
                    );
                }
            }
        }
    }

    /// The scheme a browser would find in an `href` attribute as written: entities decoded,
    /// tabs and line breaks dropped, leading controls and spaces trimmed, then the letters
    /// before the first `:` if they form a scheme. `None`: a relative address.
    fn scheme_of(attribute: &str) -> Option<String> {
        let mut decoded = String::new();
        let mut rest = attribute;
        while let Some(at) = rest.find('&') {
            decoded.push_str(&rest[..at]);
            rest = &rest[at..];
            let end = rest.find(';').unwrap_or(0);
            let entity = &rest[1..end.max(1)];
            let character = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "colon" => Some(':'),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            };
            match character {
                Some(c) if end > 0 => {
                    decoded.push(c);
                    rest = &rest[end + 1..];
                }
                _ => {
                    decoded.push('&');
                    rest = &rest[1..];
                }
            }
        }
        decoded.push_str(rest);
        let cleaned: String = decoded
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        let cleaned = cleaned.trim_start_matches(|c: char| c <= ' ');
        let (scheme, _) = cleaned.split_once(':')?;
        let mut chars = scheme.chars();
        let is_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        is_scheme.then(|| scheme.to_ascii_lowercase())
    }

    #[test]
    fn schemes_are_found_as_a_browser_finds_them() {
        assert_eq!(scheme_of("https://a.org").as_deref(), Some("https"));
        assert_eq!(
            scheme_of("&#106;avascript:x").as_deref(),
            Some("javascript")
        );
        assert_eq!(scheme_of(" java\tscript:x").as_deref(), Some("javascript"));
        assert_eq!(
            scheme_of("javascript&colon;x").as_deref(),
            Some("javascript")
        );
        assert_eq!(scheme_of("i%7b4fn%22javascript:x"), None);
        assert_eq!(scheme_of("docs/a:b"), None);
        assert_eq!(scheme_of("#top"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn the_streaming_renderer_makes_only_safe_markup(source in hostile()) {
            check(&to_html(&source), &source);
        }

        #[test]
        fn the_rich_renderer_makes_only_safe_markup(source in hostile()) {
            check(&to_rich_html(&source), &source);
        }
    }
}
