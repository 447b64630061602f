//! The one whole-word matcher, used by the rules (condition terms), the
//! answer check (recommend/acknowledge words, drug names) and the eval;
//! and the one text folding every matched input goes through first.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Characters that show nothing (or reorder what is shown) but change a
/// match or what a terminal draws: Unicode's format characters (zero-width
/// space and joiners, soft hyphen, byte-order mark, word joiner, the
/// bidirectional embeddings, overrides and isolates, invisible operators,
/// tag characters) and the C0/C1 controls other than tab and newline.
pub fn hidden(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    ) || (c.is_control() && c != '\t' && c != '\n')
}

/// Text for a terminal or a document, with every [`hidden`] character
/// shown as `<U+XXXX>`: an escape sequence in a drug name cannot recolour
/// or erase what follows, a right-to-left override cannot reverse it, and a
/// zero-width space is seen for what it is. Newlines and tabs stay; see
/// [`visible_line`] for one-line contexts.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    escape(text, hidden)
}

/// [`visible`] for text that must stay on one line (a report line, an
/// error message, a card summary): newline, carriage return and tab are
/// shown as `<U+000A>` and so on too, so a value cannot start a line of
/// its own.
pub fn visible_line(text: &str) -> std::borrow::Cow<'_, str> {
    escape(text, |c| hidden(c) || matches!(c, '\n' | '\r' | '\t'))
}

/// Text for Markdown (a CDS Hooks card's `detail`, the exported note):
/// one line, control and bidirectional characters shown
/// ([`visible_line`]), and every character Markdown would act on escaped,
/// so a reaction typed as "[click here](http://…)" is shown as typed,
/// never rendered as a link, emphasis or HTML.
pub fn markdown(text: &str) -> String {
    let shown = visible_line(text);
    let mut out = String::with_capacity(shown.len() + 8);
    for c in shown.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '<' | '>' | '#' | '|' | '~' | '!'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn escape(text: &str, show: impl Fn(char) -> bool) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(&show) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if show(c) {
            out.push_str(&format!("<U+{:04X}>", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Text as matching sees it: Unicode compatibility-composed (NFKC:
/// fullwidth "ｗａｒｆａｒｉｎ" is "warfarin", "ﬁ" is "fi"), hidden
/// characters removed, accents folded ("warfarín" is "warfarin"), lower
/// case. Every name, condition and allergy text is folded before it is
/// matched, whichever path it came in by (case file, intake form, FHIR,
/// CDS Hooks, kb import).
pub fn fold(text: &str) -> String {
    text.nfkc()
        .filter(|&c| !hidden(c))
        .collect::<String>()
        .to_lowercase()
        .nfkd()
        .filter(|&c| !is_combining_mark(c))
        .nfc()
        .collect()
}

/// Whether `term` occurs in `haystack` (already lower case) as whole words:
/// case-insensitive in `term`, bounded on both sides by the text's ends or
/// by characters that are not letters or digits. A trailing `*` in `term`
/// allows any word ending (`contraindicat*`).
pub fn contains_term(haystack: &str, term: &str) -> bool {
    let term = term.to_lowercase();
    let (term, any_ending) = match term.strip_suffix('*') {
        Some(t) => (t, true),
        None => (term.as_str(), false),
    };
    if term.is_empty() {
        return false;
    }
    let is_word = |c: char| c.is_alphanumeric();
    let mut from = 0;
    while let Some(off) = haystack[from..].find(term) {
        let at = from + off;
        let end = at + term.len();
        let before_ok = haystack[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !is_word(c));
        let after_ok = any_ending || haystack[end..].chars().next().is_none_or(|c| !is_word(c));
        if before_ok && after_ok {
            return true;
        }
        from = at + term.chars().next().map_or(1, char::len_utf8);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{contains_term, fold, hidden, visible, visible_line};
    use proptest::prelude::*;

    #[test]
    fn folding_removes_what_does_not_show_and_what_decorates() {
        for typed in [
            "warfarin",
            "WARFARIN",
            "war\u{200B}farin",
            "war\u{00AD}farin",
            "\u{FEFF}warfarin",
            "ｗａｒｆａｒｉｎ",
            "warfarín",
            "wárfárin",
            "warfarin\u{202E}",
            "war\u{0007}farin",
        ] {
            assert_eq!(fold(typed), "warfarin", "{typed:?}");
        }
        assert_eq!(fold("a\u{200B}sthma"), "asthma");
        assert_eq!(fold("Sjögren"), "sjogren");
        assert_eq!(fold("line one\nline two"), "line one\nline two");
    }

    #[test]
    fn hidden_characters_are_shown_not_obeyed() {
        assert_eq!(visible("warfarin"), "warfarin");
        assert_eq!(
            visible("ibu\u{1b}[2Kprofen\u{202E}x"),
            "ibu<U+001B>[2Kprofen<U+202E>x"
        );
        assert_eq!(visible("a\nb"), "a\nb");
        assert_eq!(visible_line("a\nb\rc\td"), "a<U+000A>b<U+000D>c<U+0009>d");
        assert_eq!(visible_line("war\u{200B}farin"), "war<U+200B>farin");
    }

    #[test]
    fn whole_words_only() {
        assert!(contains_term("heart failure (hfref)", "heart failure"));
        assert!(contains_term("asthma", "ASTHMA"));
        assert!(!contains_term("asthmatic bronchitis", "asthma"));
        assert!(!contains_term("preasthma", "asthma"));
        assert!(contains_term("copd, asthma", "asthma"));
        assert!(!contains_term("anything", ""));
    }

    #[test]
    fn trailing_star_allows_any_ending() {
        assert!(contains_term("this is contraindicated", "contraindicat*"));
        assert!(!contains_term("noncontraindicated", "contraindicat*"));
    }

    #[test]
    fn letters_outside_ascii_are_word_characters() {
        assert!(!contains_term("éasthma", "asthma"));
        assert!(contains_term("– asthma –", "asthma"));
    }

    proptest! {
        #[test]
        fn a_term_between_spaces_is_found(pre in "[a-z ]{0,12}", term in "[a-z]{1,8}", post in "[a-z ]{0,12}") {
            let hay = format!("{pre} {term} {post}");
            prop_assert!(contains_term(&hay, &term));
        }

        #[test]
        fn never_panics_on_any_text(hay in "\\PC{0,40}", term in "\\PC{0,8}") {
            let _ = contains_term(&hay.to_lowercase(), &term);
        }

        /// Nothing a terminal obeys survives `visible_line`.
        #[test]
        fn visible_lines_hold_no_control_character(text in "\\PC{0,30}|[\\x00-\\x1f\\u{202a}-\\u{202e}a-z]{0,30}") {
            let shown = visible_line(&text);
            prop_assert!(!shown.chars().any(|c| hidden(c) || c == '\n' || c == '\r'), "{:?}", shown);
        }

        /// Folding is idempotent, and hidden characters anywhere in a
        /// folded text change nothing.
        #[test]
        fn folding_is_stable(text in "\\PC{0,30}", at in 0usize..30, hidden in 0usize..6) {
            let once = fold(&text);
            prop_assert_eq!(fold(&once), once.clone());
            let mut chars: Vec<char> = once.chars().collect();
            let h = ['\u{200B}', '\u{00AD}', '\u{FEFF}', '\u{2060}', '\u{202E}', '\u{200D}'][hidden];
            chars.insert(at.min(chars.len()), h);
            prop_assert_eq!(fold(&chars.into_iter().collect::<String>()), once);
        }
    }
}
