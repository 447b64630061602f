//! A small model's commonest failure is saying the same sentence again
//! until the token limit ("The prescriber should not start metformin"
//! nine times). The answer job stops the generation at the first sentence
//! that repeats an earlier one and cuts it off; the terminal app cuts its
//! streamed copy the same way, with the same function.

/// Sentences shorter than this (in words) are not compared: "Yes." twice
/// is not a loop.
const MIN_WORDS: usize = 3;

/// Byte offset where the first complete sentence that repeats an earlier
/// one begins, if any. Sentences end at `.`, `!` or `?` followed by
/// whitespace (or the end of the text, once more text has followed);
/// they are compared by their words, case and punctuation aside.
pub fn first_repeat(text: &str) -> Option<usize> {
    let mut seen: Vec<String> = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let next = bytes.get(i + 1).copied();
        // A sentence is complete once whitespace follows its stop.
        if !next.is_some_and(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let sentence = &text[start..=i];
        let key = words(sentence);
        if key.split(' ').count() >= MIN_WORDS {
            if seen.contains(&key) {
                // Point at the sentence's first non-space character.
                let lead = sentence.len() - sentence.trim_start().len();
                return Some(start + lead);
            }
            seen.push(key);
        }
        start = i + 1;
    }
    None
}

/// `text` without its first repeated sentence and anything after it. A
/// finished answer's last sentence counts once a space is appended.
pub fn cut_repeat(text: &str) -> &str {
    match first_repeat(text) {
        Some(at) => text[..at].trim_end(),
        None => text,
    }
}

fn words(sentence: &str) -> String {
    sentence
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_measured_loop_is_cut_after_its_first_sentence() {
        // Issue 17: SmolLM2's answer for metformin-ckd4.
        let looped = "The prescriber should not start metformin for this patient. ".repeat(9);
        let at = first_repeat(&looped).expect("a repeat");
        assert_eq!(
            cut_repeat(&looped),
            "The prescriber should not start metformin for this patient."
        );
        assert_eq!(
            at,
            "The prescriber should not start metformin for this patient. ".len()
        );
    }

    #[test]
    fn case_punctuation_and_citations_aside_a_repeat_is_a_repeat() {
        let t = "Avoid metformin [metformin-label-renal]. Use linagliptin instead. AVOID METFORMIN (metformin-label-renal)! More text";
        assert_eq!(
            cut_repeat(t),
            "Avoid metformin [metformin-label-renal]. Use linagliptin instead."
        );
    }

    #[test]
    fn short_sentences_and_an_unfinished_one_are_not_repeats() {
        assert_eq!(first_repeat("Yes. Yes. Yes. "), None);
        // The second copy has not ended yet: the model may still go on.
        assert_eq!(
            first_repeat("Do not start metformin now. Do not start metformin now"),
            None
        );
        // Decimals do not end sentences.
        assert_eq!(
            first_repeat("Give 2.5 mg twice daily. Give 2.5 mg once daily. "),
            None
        );
    }

    proptest! {
        #[test]
        fn distinct_sentences_are_never_cut(n in 1usize..12) {
            let text: String = (0..n).map(|i| format!("Sentence number {i} is here. ")).collect();
            prop_assert_eq!(first_repeat(&text), None);
            prop_assert_eq!(cut_repeat(&text), text.as_str());
        }

        #[test]
        fn any_text_repeated_twice_is_cut_to_one_copy(words in proptest::collection::vec("[a-z]{2,8}", 3..8)) {
            let s = format!("{}.", words.join(" "));
            let text = format!("{s} {s} ");
            prop_assert_eq!(cut_repeat(&text), s.as_str());
        }
    }
}
