//! Markdown from models and users as safe HTML, the same on the server and in the browser.
//!
//! pulldown-cmark parses GitHub-flavoured markdown (tables, task lists, strikethrough, math
//! spans) and escapes all text. What it would pass through untouched is made harmless here:
//! raw HTML is shown as text, links keep only `http(s)`, `mailto` and in-page or relative
//! targets, and images become links (a reply cannot make the browser fetch anything).

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html};

/// The HTML of `text` as markdown.
pub fn to_html(text: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_MATH
        | Options::ENABLE_GFM;
    let mut in_image = false;
    let events = Parser::new_ext(text, options).map(move |event| match event {
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
    });
    let mut out = String::with_capacity(text.len() * 3 / 2);
    html::push_html(&mut out, events);
    // Each code block gets a copy button; text is escaped, so `<pre>` only comes from blocks.
    out.replace(
        "<pre>",
        "<div class=\"code-block\"><button type=\"button\" class=\"copy-code\">Copy</button><pre>",
    )
    .replace("</pre>", "</pre></div>")
}

/// The URL if its scheme is allowed, else an empty one (the link text stays, inert).
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    // Browsers ignore ASCII whitespace and control characters inside a scheme.
    let squeezed: String = url
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    let scheme_end = squeezed.find(':');
    let before_path = squeezed.find(['/', '?', '#']).unwrap_or(usize::MAX);
    let allowed = match scheme_end {
        // No scheme, or a colon after the path started: relative.
        None => true,
        Some(end) if end > before_path => true,
        Some(_) => ["http:", "https:", "mailto:"]
            .iter()
            .any(|scheme| squeezed.starts_with(scheme)),
    };
    if allowed { url } else { CowStr::Borrowed("") }
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
        assert!(html.contains("&lt;hi&gt;"));
    }

    #[test]
    fn math_is_marked_for_display_not_executed() {
        let html = to_html("Euler: $e^{i\\pi} + 1 = 0$");
        assert!(html.contains("class=\"math math-inline\""), "{html}");
    }

    /// Vectors from the usual XSS cheat sheets: none may leave an element, an attribute or a
    /// URL the browser would run.
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
        ];
        for attack in attacks {
            let html = to_html(attack);
            assert_only_safe_markup(&html, attack);
        }
    }

    /// Every tag is one markdown makes, with only its harmless attributes, and every link
    /// target is empty, http(s), mailto or relative.
    fn assert_only_safe_markup(html: &str, source: &str) {
        const TAGS: [&str; 9] = [
            "p", "a", "code", "pre", "div", "button", "em", "strong", "ul",
        ];
        for tag in html.split('<').skip(1) {
            let tag = tag.split('>').next().unwrap_or_default();
            let tag = tag.strip_prefix('/').unwrap_or(tag);
            let mut words = tag.split_whitespace();
            let name = words.next().unwrap_or_default();
            assert!(TAGS.contains(&name), "{source:?} made a <{name}>: {html}");
            for attribute in words {
                let (key, value) = attribute.split_once('=').unwrap_or((attribute, ""));
                assert!(
                    ["href", "class", "type"].contains(&key),
                    "{source:?} made {key}: {html}"
                );
                if key == "href" {
                    let url = value.trim_matches('"').to_ascii_lowercase();
                    assert!(
                        url.is_empty()
                            || url.starts_with("https:")
                            || url.starts_with("http:")
                            || !url.contains(':'),
                        "{source:?} linked to {url}: {html}"
                    );
                }
            }
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
