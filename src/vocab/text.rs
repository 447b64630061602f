//! The one whole-word matcher, used by the rules (condition terms), the
//! answer check (recommend/acknowledge words, drug names) and the eval.

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
    use super::contains_term;
    use proptest::prelude::*;

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
    }
}
