//! Placeholders in an assistant's prompts: `{{name}}` or `${name}` stand for an input field's
//! value or another prompt's output. A backslash before either (`\{{name}}`, `\${name}`)
//! keeps it as written, without the backslash. Braces that hold no name (`{{}}`, `{ "a": 1 }`,
//! `{{ two words }}`) are plain text, so prompts may show code and JSON.

use std::{collections::HashMap, ops::Range};

/// The longest field name or prompt key.
pub const MAX_NAME_CHARS: usize = 40;

/// Whether `name` can be a field's name or a prompt's key: a lowercase letter, then lowercase
/// letters, digits, `_` or `-`, at most [`MAX_NAME_CHARS`].
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= MAX_NAME_CHARS
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// A piece of a prompt's text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Variable(&'a str),
}

/// Splits `content` into text and placeholders, escapes resolved.
fn pieces(content: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    let mut plain_from = 0;
    let mut at = 0;
    let bytes = content.as_bytes();
    // Only ASCII bytes are looked at, so every slice starts on a character.
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => {
                if let Some(open) = opener(&content[at + 1..]) {
                    // The backslash goes; the placeholder after it stays text.
                    pieces.push(Piece::Text(&content[plain_from..at]));
                    plain_from = at + 1;
                    at += 1 + open.len();
                    continue;
                }
            }
            b'{' | b'$' => {
                if let Some((range, name)) = placeholder(content, at) {
                    pieces.push(Piece::Text(&content[plain_from..at]));
                    pieces.push(Piece::Variable(name));
                    at = range.end;
                    plain_from = at;
                    continue;
                }
            }
            _ => {}
        }
        at += 1;
    }
    pieces.push(Piece::Text(&content[plain_from..]));
    pieces.retain(|p| !matches!(p, Piece::Text("")));
    pieces
}

/// `{{` or `${` at the start of `rest`.
fn opener(rest: &str) -> Option<&'static str> {
    if rest.starts_with("{{") {
        Some("{{")
    } else if rest.starts_with("${") {
        Some("${")
    } else {
        None
    }
}

/// The placeholder starting at byte `at` of `content`: its whole range and its name.
fn placeholder(content: &str, at: usize) -> Option<(Range<usize>, &str)> {
    let rest = &content[at..];
    let (open, close) = match opener(rest)? {
        "{{" => ("{{", "}}"),
        _ => ("${", "}"),
    };
    let inner_start = at + open.len();
    let end = content[inner_start..].find(close)? + inner_start;
    let raw = &content[inner_start..end];
    // `{{ name }}` may pad the name; `${name}` is written tight, as in the shell.
    let name = if open == "{{" { raw.trim() } else { raw };
    let is_reference = !name.is_empty()
        && name.len() <= MAX_NAME_CHARS * 2
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    is_reference.then_some((at..end + close.len(), name))
}

/// The names `content`'s placeholders refer to, each once, in order of first use, and how
/// many placeholders it has in all.
pub fn references(content: &str) -> (Vec<&str>, usize) {
    let mut names: Vec<&str> = Vec::new();
    let mut count = 0;
    for piece in pieces(content) {
        if let Piece::Variable(name) = piece {
            count += 1;
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    (names, count)
}

/// `content` with each placeholder replaced by its value in `values` (a name with no value
/// keeps its placeholder; saving refuses those) and escapes resolved.
pub fn render(content: &str, values: &HashMap<&str, &str>) -> String {
    let mut out = String::with_capacity(content.len());
    for piece in pieces(content) {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Variable(name) => match values.get(name) {
                Some(value) => out.push_str(value),
                None => {
                    out.push_str("{{");
                    out.push_str(name);
                    out.push_str("}}");
                }
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'a>(pairs: &[(&'a str, &'a str)]) -> HashMap<&'a str, &'a str> {
        pairs.iter().copied().collect()
    }

    #[test]
    fn both_syntaxes_name_the_same_values() {
        let content = "Write to {{ parent }} about ${topic} and {{topic}}.";
        assert_eq!(references(content), (vec!["parent", "topic"], 3));
        assert_eq!(
            render(
                content,
                &values(&[("parent", "Mrs Khan"), ("topic", "the trip")])
            ),
            "Write to Mrs Khan about the trip and the trip."
        );
    }

    #[test]
    fn a_backslash_keeps_a_placeholder_as_written() {
        let content = r"Templates look like \{{name}} or \${name}; this one is {{name}}.";
        assert_eq!(references(content), (vec!["name"], 1));
        assert_eq!(
            render(content, &values(&[("name", "Ada")])),
            "Templates look like {{name}} or ${name}; this one is Ada."
        );
        // A backslash before anything else stays.
        assert_eq!(
            render(r"C:\temp \n {{x}}", &values(&[("x", "1")])),
            r"C:\temp \n 1"
        );
    }

    #[test]
    fn braces_that_hold_no_name_are_text() {
        for content in [
            r#"Answer as JSON: { "grade": 1 }"#,
            "{{}} and ${} and {{ two words }} and ${ spaced }",
            "unclosed {{name and ${name",
            "a lone } and {",
        ] {
            assert_eq!(references(content), (vec![], 0), "{content}");
            assert_eq!(render(content, &HashMap::new()), content);
        }
    }

    #[test]
    fn values_are_not_read_again_for_placeholders() {
        // A value that looks like a placeholder is text: inputs cannot reach other values.
        let rendered = render("{{a}} {{b}}", &values(&[("a", "{{b}}"), ("b", "secret")]));
        assert_eq!(rendered, "{{b}} secret");
    }

    #[test]
    fn a_name_is_lowercase_words_joined_by_underscores_or_hyphens() {
        for good in ["topic", "year_group", "summary-1", "a"] {
            assert!(is_name(good), "{good}");
        }
        for bad in ["", "Topic", "1st", "_x", "two words", "é", &"x".repeat(41)] {
            assert!(!is_name(bad), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_renders_and_text_without_placeholders_is_kept(content in "\\PC{0,80}") {
            let (names, count) = references(&content);
            proptest::prop_assert!(names.len() <= count);
            let rendered = render(&content, &HashMap::new());
            if count == 0 && !content.contains('\\') {
                proptest::prop_assert_eq!(rendered, content);
            }
        }

        #[test]
        fn braces_dollars_and_backslashes_never_break_it(content in "[{}$\\\\ aé_-]{0,40}") {
            let (_, count) = references(&content);
            let values: HashMap<&str, &str> = [("a", "A"), ("a_", "B")].into_iter().collect();
            let rendered = render(&content, &values);
            // With no placeholder, at most the escapes' backslashes go.
            if count == 0 {
                proptest::prop_assert!(rendered.len() <= content.len());
                proptest::prop_assert_eq!(rendered.replace('\\', ""), content.replace('\\', ""));
            }
        }
    }

    #[test]
    fn text_around_multibyte_characters_survives() {
        let content = "Grüße an {{name}} – bis ${day}!";
        assert_eq!(
            render(content, &values(&[("name", "Zoë"), ("day", "Montag")])),
            "Grüße an Zoë – bis Montag!"
        );
    }
}
