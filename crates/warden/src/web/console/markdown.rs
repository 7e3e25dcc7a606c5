//! Policy texts for people: Markdown to HTML with any raw HTML in the source shown as text, and
//! line diffs between two versions.

use pulldown_cmark::{Event, Options, Parser, html};
use similar::{ChangeTag, TextDiff};

/// Renders Markdown to HTML. Raw HTML in the text is escaped, never passed through, so a policy
/// text cannot inject markup into the console.
pub fn to_html(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|e| match e {
        Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut out, parser);
    out
}

/// One line of a diff between two texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    /// `added`, `removed` or `same`.
    pub change: &'static str,
    pub text: String,
}

/// The lines of `new` compared with `old`.
pub fn diff(old: &str, new: &str) -> Vec<DiffLine> {
    TextDiff::from_lines(old, new)
        .iter_all_changes()
        .map(|c| DiffLine {
            change: match c.tag() {
                ChangeTag::Insert => "added",
                ChangeTag::Delete => "removed",
                ChangeTag::Equal => "same",
            },
            text: c.value().trim_end_matches('\n').to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders_and_raw_html_is_escaped() {
        let html = to_html(
            "# Hate speech\n\n**No** attacks.\n\n<script>alert(1)</script>\n\nText <b>x</b>",
        );
        assert!(html.contains("<h1>Hate speech</h1>"), "{html}");
        assert!(html.contains("<strong>No</strong>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }

    #[test]
    fn a_diff_marks_added_and_removed_lines() {
        let d = diff("a\nb\nc\n", "a\nc\nd\n");
        let marks: Vec<(&str, &str)> = d.iter().map(|l| (l.change, l.text.as_str())).collect();
        assert_eq!(
            marks,
            [
                ("same", "a"),
                ("removed", "b"),
                ("same", "c"),
                ("added", "d")
            ]
        );
    }
}
