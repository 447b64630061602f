//! The one rule for reading a typed number: digit grouping and the
//! decimal mark, as people write them in English ("1,200.5") and in much
//! of Europe ("1.200,5", "1,5").
//!
//! Every number typed as text goes through [`parse`]: the intake form's
//! fields and the dose strings. Case files and FHIR carry numbers as TOML
//! or JSON numbers and need no such reading.
//!
//! The readings, with the reason for each:
//!
//! | typed | read as | why |
//! |---|---|---|
//! | `1200`, `1200.5` | 1200, 1200.5 | plain |
//! | `1,5`, `0,25`, `12,50` | 1.5, 0.25, 12.5 | a comma before 1, 2 or 4+ digits is a decimal comma |
//! | `1,200`, `12,000` | 1200, 12000 | a comma before exactly three digits is the English thousands separator; the decimal-comma reading ("1,200" = 1.2) would carry trailing zeros, which is not how values are written |
//! | `1,234,567`, `1.234.567` | 1234567 | several separators: groups of three |
//! | `1,234.5`, `1.234,5` | 1234.5 | both marks: the last is the decimal mark |
//! | `1.200`, `2.500` | ambiguous: 1.2 or 1200 | the English decimal and the European thousands reading are both ordinary |
//! | `0.125`, `.5` | 0.125, 0.5 | a zero (or nothing) before the point cannot be a thousands group |
//!
//! An ambiguous reading is never settled here: a field with a range picks
//! the one reading inside it ([`Reading::within`]) and says so, and with
//! no range or both readings inside, the value is refused with a message
//! naming both. Exponents, signs other than a leading minus, and anything
//! that is not a digit or a separator are not numbers.

/// What a typed number can mean.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    Value(f64),
    /// "1.200": `decimal` (1.2) in English, `grouped` (1200) in European
    /// writing.
    Ambiguous {
        decimal: f64,
        grouped: f64,
    },
}

/// Why a text is not a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotANumber(pub String);

impl std::fmt::Display for NotANumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The longest number text accepted (digits and separators); longer is
/// not a clinical value and is refused before any work.
const MAX_LEN: usize = 24;

/// Reads `text` (trimmed) as a number. See the module table.
pub fn parse(text: &str) -> Result<Reading, NotANumber> {
    let t = text.trim();
    let bad = || NotANumber(format!("\"{t}\" is not a number"));
    if t.is_empty() || t.len() > MAX_LEN {
        return Err(bad());
    }
    let (negative, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
        || !body.chars().any(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let commas = body.matches(',').count();
    let dots = body.matches('.').count();
    let sign = if negative { -1.0 } else { 1.0 };
    let value = |digits: String| -> Result<f64, NotANumber> {
        digits
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(|v| sign * v)
            .ok_or_else(bad)
    };
    match (commas, dots) {
        (0, 0) => Ok(Reading::Value(value(body.to_string())?)),
        (0, 1) | (1, 0) => {
            let mark = if dots == 1 { '.' } else { ',' };
            let (int, frac) = body.split_once(mark).ok_or_else(bad)?;
            if frac.is_empty() {
                return Err(bad());
            }
            let decimal = value(format!("{}.{frac}", if int.is_empty() { "0" } else { int }))?;
            let could_group = frac.len() == 3
                && (1..=3).contains(&int.len())
                && !int.starts_with('0')
                && !int.is_empty();
            match (mark, could_group) {
                (_, false) => Ok(Reading::Value(decimal)),
                (',', true) => Ok(Reading::Value(value(format!("{int}{frac}"))?)),
                (_, true) => Ok(Reading::Ambiguous {
                    decimal,
                    grouped: value(format!("{int}{frac}"))?,
                }),
            }
        }
        _ => {
            // Several marks: either one kind only (all groups), or both
            // kinds with the last one the decimal mark.
            let last_comma = body.rfind(',');
            let last_dot = body.rfind('.');
            let (group_mark, decimal_mark) = match (commas, dots) {
                (_, 0) => (',', None),
                (0, _) => ('.', None),
                _ if last_dot > last_comma => (',', Some('.')),
                _ => ('.', Some(',')),
            };
            let (int, frac) = match decimal_mark {
                Some(m) => {
                    if body.matches(m).count() != 1 {
                        return Err(bad());
                    }
                    let (i, f) = body.split_once(m).ok_or_else(bad)?;
                    (i, Some(f))
                }
                None => (body, None),
            };
            let groups: Vec<&str> = int.split(group_mark).collect();
            let well_grouped = groups
                .first()
                .is_some_and(|g| (1..=3).contains(&g.len()) && !g.starts_with('0'))
                && groups[1..].iter().all(|g| g.len() == 3);
            if !well_grouped
                || frac.is_some_and(|f| f.is_empty() || !f.chars().all(|c| c.is_ascii_digit()))
            {
                return Err(bad());
            }
            let mut digits = groups.concat();
            if let Some(f) = frac {
                digits.push('.');
                digits.push_str(f);
            }
            Ok(Reading::Value(value(digits)?))
        }
    }
}

impl Reading {
    /// The value when there is only one reading.
    pub fn value(self) -> Option<f64> {
        match self {
            Reading::Value(v) => Some(v),
            Reading::Ambiguous { .. } => None,
        }
    }

    /// The one reading inside `lo..=hi`, and whether the choice was made
    /// by the range (so a caller can say so). `Err` names both readings
    /// when both or neither fit.
    pub fn within(self, typed: &str, (lo, hi): (f64, f64)) -> Result<(f64, bool), NotANumber> {
        match self {
            Reading::Value(v) => Ok((v, false)),
            Reading::Ambiguous { decimal, grouped } => {
                let fits = |v: f64| (lo..=hi).contains(&v);
                match (fits(decimal), fits(grouped)) {
                    (true, false) => Ok((decimal, true)),
                    (false, true) => Ok((grouped, true)),
                    _ => Err(self.ambiguity(typed)),
                }
            }
        }
    }

    /// The message for an ambiguous number.
    pub fn ambiguity(self, typed: &str) -> NotANumber {
        match self {
            Reading::Value(v) => NotANumber(format!("\"{}\" is {v}", typed.trim())),
            Reading::Ambiguous { decimal, grouped } => NotANumber(format!(
                "\"{}\" could be {decimal} or {grouped}: write it without a thousands separator \
                 ({grouped}) or with fewer decimals ({decimal})",
                typed.trim()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(s: &str) -> Option<f64> {
        parse(s).ok().and_then(Reading::value)
    }

    #[test]
    fn the_module_table() {
        assert_eq!(v("1200"), Some(1200.0));
        assert_eq!(v("1200.5"), Some(1200.5));
        assert_eq!(v("1,5"), Some(1.5));
        assert_eq!(v("0,25"), Some(0.25));
        assert_eq!(v("12,50"), Some(12.5));
        assert_eq!(v("1,2345"), Some(1.2345));
        assert_eq!(v("1,200"), Some(1200.0));
        assert_eq!(v("12,000"), Some(12000.0));
        assert_eq!(v("1,234,567"), Some(1_234_567.0));
        assert_eq!(v("1.234.567"), Some(1_234_567.0));
        assert_eq!(v("1,234.5"), Some(1234.5));
        assert_eq!(v("1.234,5"), Some(1234.5));
        assert_eq!(v("0.125"), Some(0.125));
        assert_eq!(v(".5"), Some(0.5));
        assert_eq!(v("-3.5"), Some(-3.5));
        assert_eq!(
            parse("1.200"),
            Ok(Reading::Ambiguous {
                decimal: 1.2,
                grouped: 1200.0
            })
        );
    }

    #[test]
    fn not_numbers() {
        for s in [
            "",
            "abc",
            "1e20",
            "1,2,3",
            "12,34,567",
            "1..2",
            "1,",
            "1.",
            ",",
            "+5",
            "1 2",
            "0,123,456",
            "1.2.3,4,5",
            "1,234.5.6",
            "inf",
            "NaN",
        ] {
            assert!(parse(s).is_err(), "{s:?} read as {:?}", parse(s));
        }
        assert!(parse(&"9".repeat(400)).is_err());
    }

    #[test]
    fn a_range_settles_an_ambiguity_only_when_one_reading_fits() {
        let r = parse("1.200").unwrap_or(Reading::Value(f64::NAN));
        // creatinine in mg/dL: only 1.2 fits
        assert_eq!(r.within("1.200", (0.1, 25.0)), Ok((1.2, true)));
        // a platelet count in 10^9/L: only 1200 fits
        assert_eq!(r.within("1.200", (5.0, 2000.0)).map(|x| x.0), Ok(1200.0));
        // ALT in U/L: both fit, refused with both named
        let err = r
            .within("1.200", (0.0, 20000.0))
            .expect_err("both readings fit");
        assert!(err.0.contains("1.2") && err.0.contains("1200"), "{err}");
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,30}") {
            let _ = parse(&s);
        }

        /// Written with English grouping, European grouping or none, a
        /// value with one or two decimals reads back as itself.
        #[test]
        fn formatted_values_read_back(int in 0u64..10_000_000, cents in 0u32..100, style in 0usize..3) {
            let grouped = |sep: char| {
                let s = int.to_string();
                let mut out = String::new();
                for (i, c) in s.chars().enumerate() {
                    if i > 0 && (s.len() - i) % 3 == 0 {
                        out.push(sep);
                    }
                    out.push(c);
                }
                out
            };
            let text = match style {
                0 => format!("{int}.{cents:02}"),
                1 => format!("{}.{cents:02}", grouped(',')),
                _ => format!("{},{cents:02}", grouped('.')),
            };
            let want = int as f64 + f64::from(cents) / 100.0;
            let got = v(&text);
            prop_assert!(got.is_some_and(|g| (g - want).abs() < 1e-6), "{text} -> {got:?}");
        }
    }
}
