//! Dose strings ("500 mg", "1 g", "250 mcg") and frequencies ("bid", "q6h",
//! "twice daily", "weekly", "prn").

use serde::{Deserialize, Serialize};

/// A dose as typed, with its amount in mg when the unit is a mass.
///
/// Read by one grammar: an amount (through [`crate::vocab::number`], so
/// "1,000 mg" is 1000 mg and "1,5 g" 1.5 g), a unit, then optionally a
/// count per administration ("x 2", "2 tablets"), a number of doses per
/// day ("x 6/day", "6 times a day", "bid"), a duration ("for 5 days") and
/// route or form words. A count may also come first ("2 x 500 mg"). Text
/// with a number the grammar cannot place is not guessed at: `mg` stays
/// empty and `unread` says why, and the dose rules report "not checked".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dose {
    pub text: String,
    /// The amount per administration in mg (the count included); None
    /// when the unit is not a mass (mL, units, puffs) or the text could not
    /// be read.
    pub mg: Option<f64>,
    /// Units taken per administration when the text gives a count
    /// ("500 mg x 2", "650 mg 2 tablets"); `mg` already includes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<f64>,
    /// Administrations per day when the dose text itself says so
    /// ("1 g x 6/day", "500 mg bid").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_day: Option<f64>,
    /// Why a dose with a number could not be read ("could be 1 or 1000").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unread: Option<String>,
}

/// The largest amount read as a dose: 1 kg. Anything above is a typing
/// error, not a dose, and is reported rather than checked.
const MAX_DOSE_MG: f64 = 1_000_000.0;

impl Dose {
    pub fn parse(text: &str) -> Dose {
        let text = text.trim().to_string();
        let mut dose = Dose {
            text,
            mg: None,
            count: None,
            per_day: None,
            unread: None,
        };
        match read(&dose.text) {
            Ok(Some(r)) => {
                dose.mg = Some(r.mg);
                dose.count = r.count;
                dose.per_day = r.per_day;
            }
            Ok(None) => {}
            Err(why) => dose.unread = Some(why),
        }
        dose
    }

    /// The amount per unit before the count ("500" of "500 mg x 2").
    pub fn each_mg(&self) -> Option<f64> {
        Some(self.mg? / self.count.unwrap_or(1.0))
    }
}

struct Read {
    mg: f64,
    count: Option<f64>,
    per_day: Option<f64>,
}

/// Mass units and their factor to mg.
fn mass_factor(unit: &str) -> Option<f64> {
    Some(match unit {
        "mg" | "mgs" | "milligram" | "milligrams" => 1.0,
        "g" | "gm" | "gram" | "grams" => 1000.0,
        "mcg" | "µg" | "μg" | "ug" | "microgram" | "micrograms" => 0.001,
        _ => return None,
    })
}

/// Units that are not a mass: the dose is understood, just not in mg.
fn other_unit(unit: &str) -> bool {
    unit_word(unit)
        || matches!(
            unit,
            "ml" | "l"
                | "unit"
                | "units"
                | "u"
                | "iu"
                | "puff"
                | "puffs"
                | "drop"
                | "drops"
                | "gtt"
                | "mmol"
                | "meq"
                | "%"
                | "patch"
                | "patches"
                | "spray"
                | "sprays"
                | "sachet"
                | "sachets"
                | "application"
                | "applications"
                | "actuation"
                | "actuations"
                | "suppository"
                | "ampoule"
                | "vial"
                | "teaspoon"
                | "tsp"
                | "tablespoon"
                | "tbsp"
        )
}

/// Words naming what is taken: "2 tablets".
fn unit_word(w: &str) -> bool {
    matches!(
        w,
        "tablet"
            | "tablets"
            | "tab"
            | "tabs"
            | "capsule"
            | "capsules"
            | "cap"
            | "caps"
            | "pill"
            | "pills"
            | "caplet"
            | "caplets"
            | "softgel"
            | "softgels"
    )
}

/// Words that may follow a dose without changing the amount: routes,
/// forms and timing that the frequency field carries.
fn filler(w: &str) -> bool {
    unit_word(w)
        || matches!(
            w,
            "po" | "oral"
                | "orally"
                | "by"
                | "mouth"
                | "iv"
                | "im"
                | "sc"
                | "sq"
                | "subcut"
                | "sl"
                | "pr"
                | "pv"
                | "top"
                | "topical"
                | "inh"
                | "neb"
                | "each"
                | "per"
                | "dose"
                | "doses"
                | "with"
                | "food"
                | "meals"
                | "after"
                | "before"
                | "a"
                | "an"
                | "the"
                | "of"
                | "and"
                | "take"
                | "give"
                | "then"
                | "er"
                | "xr"
                | "sr"
                | "ir"
                | "dr"
                | "ec"
                | "extended"
                | "release"
                | "immediate"
                | "delayed"
                | "slow"
                | "infusion"
                | "bolus"
                | "push"
                | "over"
                | "minutes"
                | "min"
                | "mins"
        )
}

/// Count words a reader would multiply by: refused rather than guessed.
fn count_word(w: &str) -> bool {
    matches!(
        w,
        "one"
            | "two"
            | "three"
            | "four"
            | "five"
            | "six"
            | "half"
            | "double"
            | "twice"
            | "thrice"
            | "triple"
    )
}

fn day_word(w: &str) -> bool {
    matches!(w, "day" | "days" | "d" | "daily" | "24h" | "24hr" | "24hrs")
}

fn duration_word(w: &str) -> bool {
    matches!(
        w,
        "day" | "days" | "week" | "weeks" | "wk" | "wks" | "month" | "months"
    )
}

/// Lower case, `×` as `x`, punctuation that separates words as spaces,
/// and a number split from the letters after it ("500mg" -> "500 mg",
/// "x2" -> "x 2", "6/day" -> "6 / day"); "q6h" and "q0.5h" stay whole.
fn words(text: &str) -> Vec<String> {
    let t = text.to_lowercase().replace('×', "x");
    let mut spaced = String::with_capacity(t.len() + 8);
    let mut prev: Option<char> = None;
    for c in t.chars() {
        match c {
            '/' => spaced.push_str(" / "),
            ';' | '(' | ')' | '[' | ']' | ':' | '=' | '@' => spaced.push(' '),
            // a comma inside a number stays; between words it separates
            ',' if !prev.is_some_and(|p| p.is_ascii_digit()) => spaced.push(' '),
            c => spaced.push(c),
        }
        prev = Some(c);
    }
    let mut out = Vec::new();
    for token in spaced.split_whitespace() {
        let token = token.trim_end_matches([',', '.']);
        let numeric = |c: char| c.is_ascii_digit() || c == '.' || c == ',';
        if token.starts_with(|c: char| c.is_ascii_digit()) {
            let cut = token.find(|c: char| !numeric(c)).unwrap_or(token.len());
            let (n, rest) = token.split_at(cut);
            out.push(n.trim_end_matches([',', '.']).to_string());
            if !rest.is_empty() {
                out.push(rest.to_string());
            }
        } else if let Some(n) = token
            .strip_prefix('x')
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        {
            out.push("x".to_string());
            out.push(n.to_string());
        } else if !token.is_empty() {
            out.push(token.to_string());
        }
    }
    out
}

fn number(w: &str) -> Result<Option<f64>, String> {
    if !w.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return Ok(None);
    }
    match crate::vocab::number::parse(w) {
        Ok(crate::vocab::number::Reading::Value(v)) => Ok(Some(v)),
        Ok(r) => Err(r.ambiguity(w).0),
        Err(e) => Err(e.0),
    }
}

/// `Ok(None)`: no mass amount (another unit, or words only). `Err`: the
/// text has a number the grammar cannot place.
fn read(text: &str) -> Result<Option<Read>, String> {
    let w = words(text);
    let not_understood = |what: &str| format!("\"{}\" not understood ({what})", text.trim());
    let mut i = 0;
    let mut count: Option<f64> = None;
    // "2 x 500 mg": a count first
    if w.len() >= 4 && w[1] == "x" {
        if let (Ok(Some(n)), Ok(Some(_))) = (number(&w[0]), number(&w[2])) {
            count = Some(n);
            i = 2;
        }
    }
    let Some(first) = w.get(i) else {
        return Ok(None);
    };
    let Some(amount) = number(first)? else {
        return if w.iter().any(|x| x.chars().any(|c| c.is_ascii_digit())) {
            Err(not_understood("the amount must come first"))
        } else {
            Ok(None)
        };
    };
    if amount < 0.0 {
        return Err(not_understood("a negative amount"));
    }
    i += 1;
    let unit = w.get(i).map(String::as_str).unwrap_or("");
    let Some(factor) = mass_factor(unit) else {
        if other_unit(unit) {
            return Ok(None);
        }
        return Err(not_understood(if unit.is_empty() {
            "no unit"
        } else {
            "unit not known"
        }));
    };
    i += 1;
    if w.get(i).is_some_and(|x| x == "/") {
        return Err(not_understood(match w.get(i + 1).map(String::as_str) {
            Some("kg") => "a dose per kg: give the amount in mg",
            Some("day" | "d" | "24h") => {
                "a daily total: give the amount per dose and the frequency"
            }
            _ => "a concentration, not an amount",
        }));
    }
    let mut per_day: Option<f64> = None;
    let mut freq_words: Vec<&str> = Vec::new();
    while i < w.len() {
        let word = w[i].as_str();
        let next = w.get(i + 1).map(String::as_str);
        let after = w.get(i + 2).map(String::as_str);
        let set_count = |count: &mut Option<f64>, n: f64| -> Result<(), String> {
            if count.is_some() || !(n > 0.0 && n <= 20.0) {
                return Err(not_understood("a count per dose"));
            }
            *count = Some(n);
            Ok(())
        };
        if word == "x" {
            let Some(n) = next.map(number).transpose()?.flatten() else {
                return Err(not_understood("\"x\" without a number"));
            };
            match after {
                Some("/") if w.get(i + 3).is_some_and(|d| day_word(d)) => {
                    per_day = Some(n);
                    i += 4;
                }
                Some("daily") => {
                    per_day = Some(n);
                    i += 3;
                }
                Some(d) if duration_word(d) => i += 3,
                Some("times" | "per" | "a") => {
                    i += 2;
                    if !per_day_tail(&w, &mut i) {
                        return Err(not_understood("times per what"));
                    }
                    per_day = Some(n);
                }
                _ => {
                    set_count(&mut count, n)?;
                    i += 2;
                }
            }
            continue;
        }
        if let Some(n) = number(word)? {
            match next {
                Some(u) if unit_word(u) => {
                    set_count(&mut count, n)?;
                    i += 2;
                }
                Some("/") if after.is_some_and(day_word) => {
                    per_day = Some(n);
                    i += 3;
                }
                Some("x")
                    if w.get(i + 2).is_some_and(|x| x == "/")
                        && w.get(i + 3).is_some_and(|d| day_word(d)) =>
                {
                    per_day = Some(n);
                    i += 4;
                }
                Some("x" | "times") => {
                    i += 2;
                    if !per_day_tail(&w, &mut i) {
                        return Err(not_understood("times per what"));
                    }
                    per_day = Some(n);
                }
                Some(d) if duration_word(d) && i > 0 && w[i - 1] == "for" => i += 2,
                _ => return Err(not_understood("a number the dose grammar cannot place")),
            }
            continue;
        }
        if word == "for" || filler(word) {
            i += 1;
            continue;
        }
        freq_words.push(word);
        i += 1;
    }
    // The other words may hold a frequency ("bid", "twice daily", "q6h
    // prn"); the longest run of them that reads as one is taken. Words
    // left over change nothing ("with water"), unless they count.
    let mut rest = freq_words;
    'window: for len in (1..=rest.len().min(4)).rev() {
        for start in 0..=rest.len() - len {
            if let Some(f) = Frequency::parse(&rest[start..start + len].join(" ")) {
                if f.per_day.is_some() && per_day.is_some() && f.per_day != per_day {
                    return Err(not_understood("two different frequencies"));
                }
                per_day = per_day.or(f.per_day);
                rest.drain(start..start + len);
                break 'window;
            }
        }
    }
    if rest.iter().any(|fw| count_word(fw)) {
        return Err(not_understood("a count written as a word"));
    }
    if rest.iter().any(|fw| fw.chars().any(|c| c.is_ascii_digit())) {
        return Err(not_understood("a number the dose grammar cannot place"));
    }
    let mg = amount * factor * count.unwrap_or(1.0);
    if !mg.is_finite() || mg > MAX_DOSE_MG {
        return Err(not_understood("more than 1 kg: not a dose"));
    }
    Ok(Some(Read { mg, count, per_day }))
}

/// After "N times" / "x N": "a day", "per day", "daily", "/day".
fn per_day_tail(w: &[String], i: &mut usize) -> bool {
    let at = |k: usize| w.get(k).map(String::as_str);
    match (at(*i), at(*i + 1)) {
        (Some("a" | "per" | "/" | "each"), Some(d)) if day_word(d) => {
            *i += 2;
            true
        }
        (Some(d), _) if day_word(d) => {
            *i += 1;
            true
        }
        _ => false,
    }
}

/// How often a dose is taken, as doses per day when that is countable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frequency {
    pub text: String,
    /// None for "as needed" (prn), where no daily total can be computed.
    pub per_day: Option<f64>,
}

/// The frequencies a case file accepts, for error messages.
pub const ACCEPTED_FREQUENCIES: &str =
    "daily (od, qd, once daily, nightly, qhs), bid (twice daily), tid, qid, \
q<N>h (e.g. q6h, q4-6h), weekly, every other day, monthly, prn (as needed), stat/once";

impl Frequency {
    /// Parses a frequency; `None` when it is not one of the accepted forms.
    pub fn parse(text: &str) -> Option<Frequency> {
        let t = text.trim().to_lowercase();
        let t = t.trim_end_matches('.');
        // "t.i.d." -> "tid", but "q0.5h" keeps its decimal point
        let chars: Vec<char> = t.chars().collect();
        let t: String = chars
            .iter()
            .enumerate()
            .filter(|&(i, &c)| {
                let digit = |k: Option<&char>| k.is_some_and(char::is_ascii_digit);
                c != '_'
                    && (c != '.'
                        || digit(i.checked_sub(1).and_then(|k| chars.get(k)))
                            && digit(chars.get(i + 1)))
            })
            .map(|(_, &c)| c)
            .collect();
        let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
        let per_day = match t.as_str() {
            "daily" | "od" | "qd" | "once daily" | "once a day" | "every day" | "qam" | "qpm"
            | "qhs" | "hs" | "nightly" | "at night" | "at bedtime" | "every morning"
            | "every evening" | "once" | "stat" | "1x daily" | "q24h" | "mane" | "nocte" => {
                Some(1.0)
            }
            "bid" | "bd" | "twice daily" | "twice a day" | "2x daily" | "q12h" => Some(2.0),
            "tid" | "tds" | "three times daily" | "three times a day" | "3x daily" | "q8h" => {
                Some(3.0)
            }
            "qid" | "qds" | "four times daily" | "four times a day" | "4x daily" | "q6h" => {
                Some(4.0)
            }
            "weekly" | "once weekly" | "once a week" | "every week" | "qw" | "qwk" => {
                Some(1.0 / 7.0)
            }
            "twice weekly" | "twice a week" | "biw" => Some(2.0 / 7.0),
            "every other day" | "qod" | "alternate days" | "eod" | "q48h" => Some(0.5),
            "monthly" | "once monthly" | "once a month" | "every month" => Some(1.0 / 30.0),
            "prn" | "as needed" | "when required" | "as required" => None,
            other => {
                if let Some(n) = qnh_per_day(other) {
                    Some(n)
                } else if other.starts_with("prn") || other.ends_with("prn") {
                    None
                } else {
                    return None;
                }
            }
        };
        Some(Frequency {
            text: text.trim().to_string(),
            per_day,
        })
    }

    pub fn is_weekly(&self) -> bool {
        self.per_day
            .is_some_and(|d| (d - 1.0 / 7.0).abs() < 1e-9 || (d - 2.0 / 7.0).abs() < 1e-9)
    }
}

/// "q6h", "q4-6h", "every 8 hours": doses per day at the most frequent
/// interval given (the worst case for a maximum-dose check).
fn qnh_per_day(t: &str) -> Option<f64> {
    let body = if let Some(rest) = t.strip_prefix("every ") {
        rest.strip_suffix(" hours")
            .or_else(|| rest.strip_suffix(" hrs"))
            .or_else(|| rest.strip_suffix(" h"))?
    } else {
        let rest = t.strip_prefix('q')?;
        rest.strip_suffix('h')
            .or_else(|| rest.strip_suffix("hr"))
            .or_else(|| rest.strip_suffix("hrly"))?
    };
    let first = body.split(['-', '–', ' ']).next()?;
    let hours: f64 = first.trim().parse().ok()?;
    if hours > 0.0 && hours <= 24.0 * 7.0 {
        Some(24.0 / hours)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn doses_in_mg() {
        assert_eq!(Dose::parse("500 mg").mg, Some(500.0));
        assert_eq!(Dose::parse("1 g").mg, Some(1000.0));
        assert_eq!(Dose::parse("1.5g").mg, Some(1500.0));
        assert_eq!(Dose::parse("250 mcg").mg, Some(0.25));
        assert_eq!(Dose::parse("1,000 mg").mg, Some(1000.0));
        assert_eq!(Dose::parse("10 units").mg, None);
        assert_eq!(Dose::parse("5 mL").mg, None);
        assert_eq!(Dose::parse("two tablets").mg, None);
    }

    /// The audit's dose strings (issue 19, finding 2): each is read as a
    /// pharmacist reads it, or refused with a reason; none is misread.
    #[test]
    fn dose_strings_as_people_write_them() {
        let d = Dose::parse;
        assert_eq!(d("500mg x2").mg, Some(1000.0));
        assert_eq!(d("500mg x2").count, Some(2.0));
        assert_eq!(d("650 mg 2 tablets").mg, Some(1300.0));
        assert_eq!(d("2 x 500 mg").mg, Some(1000.0));
        let six = d("1 g x 6/day");
        assert_eq!((six.mg, six.per_day), (Some(1000.0), Some(6.0)));
        assert_eq!(d("1 g 6 times a day").per_day, Some(6.0));
        assert_eq!(d("1 g 6x daily").per_day, Some(6.0));
        assert_eq!(d("1,5 g").mg, Some(1500.0));
        assert_eq!(d("1,000 mg").mg, Some(1000.0));
        assert_eq!(d("500 mg PO BID").per_day, Some(2.0));
        assert_eq!(d("500 mg with water twice daily").per_day, Some(2.0));
        assert_eq!(d("400 mg t.i.d.").per_day, Some(3.0));
        assert_eq!(d("10 mg daily for 5 days").mg, Some(10.0));
        assert_eq!(d("10 mg x 5 days").count, None);
        assert_eq!(d("500 mg x2 daily").per_day, Some(2.0));
        assert_eq!(d("250µg").mg, Some(0.25));
        assert_eq!(d("500 mg, bid").per_day, Some(2.0));
        for unread in [
            "1.000 mg",
            "2.500 mg",
            "1e20 mg",
            "100000000 g",
            "500 mg 2",
            "two 500 mg tablets",
            "500 mg two tablets",
            "5 mg/kg",
            "100 mg/5 mL",
            "40 mg/day",
            "500 mg bid q6h",
            "-5 mg",
            "500",
            "500 mgg",
        ] {
            let got = d(unread);
            assert_eq!(got.mg, None, "{unread:?} read as {:?}", got.mg);
            assert!(got.unread.is_some(), "{unread:?} has no reason");
        }
        // not a mass, understood as such: no mg and nothing to report
        for other in ["5 mL", "10 units", "2 puffs", "1 tablet", "two tablets"] {
            let got = d(other);
            assert_eq!((got.mg, got.unread.as_deref()), (None, None), "{other:?}");
        }
    }

    #[test]
    fn frequencies() {
        let per_day = |s: &str| Frequency::parse(s).and_then(|f| f.per_day);
        assert_eq!(per_day("daily"), Some(1.0));
        assert_eq!(per_day("BID"), Some(2.0));
        assert_eq!(per_day("t.i.d."), Some(3.0));
        assert_eq!(per_day("qid"), Some(4.0));
        assert_eq!(per_day("q4h"), Some(6.0));
        assert_eq!(per_day("q4-6h"), Some(6.0));
        assert_eq!(per_day("q0.5h"), Some(48.0));
        assert_eq!(per_day("every 8 hours"), Some(3.0));
        assert_eq!(per_day("weekly"), Some(1.0 / 7.0));
        assert!(Frequency::parse("prn").is_some_and(|f| f.per_day.is_none()));
        assert!(Frequency::parse("q6h prn").is_some_and(|f| f.per_day.is_none()));
        assert!(Frequency::parse("sometimes").is_none());
        assert!(Frequency::parse("weekly").is_some_and(|f| f.is_weekly()));
    }

    proptest! {
        #[test]
        fn dose_parser_never_panics(s in "\\PC*") {
            let _ = Dose::parse(&s);
            let _ = Frequency::parse(&s);
        }

        #[test]
        fn mg_amounts_round_trip(v in 0.001f64..100_000.0) {
            let text = format!("{v} mg");
            let mg = Dose::parse(&text).mg;
            prop_assert!(mg.is_some_and(|m| (m - v).abs() < 1e-9 * v.max(1.0)));
        }

        /// Format a dose as an order is written (amount, unit, count,
        /// frequency, route, spacing), parse it back: the same mg per
        /// administration and the same doses per day.
        #[test]
        fn formatted_doses_read_back(
            hundredths in 1u32..10_000_000,
            unit in 0usize..3,
            count in proptest::option::of(1u32..5),
            freq in proptest::option::of(0usize..4),
            route in proptest::bool::ANY,
            tight in proptest::bool::ANY,
        ) {
            let (unit_text, factor) = [("mg", 1.0), ("g", 1000.0), ("mcg", 0.001)][unit];
            // keep the total at or under the 1 kg a dose may be
            let most = (MAX_DOSE_MG / factor / f64::from(count.unwrap_or(1)) * 100.0).min(1e7) as u32;
            let amount = f64::from(1 + hundredths % most) / 100.0;
            let sp = if tight { "" } else { " " };
            let mut text = format!("{amount}{sp}{unit_text}");
            if let Some(c) = count {
                text.push_str(&format!(" x{sp}{c}"));
            }
            // "x 2 daily" reads as twice daily; a route word between keeps
            // a count a count
            if route || count.is_some() && freq.is_some() {
                text.push_str(" po");
            }
            let freqs = [("daily", 1.0), ("bid", 2.0), ("q6h", 4.0), ("3 times a day", 3.0)];
            if let Some(f) = freq {
                text.push(' ');
                text.push_str(freqs[f].0);
            }
            let want = amount * factor * f64::from(count.unwrap_or(1));
            let dose = Dose::parse(&text);
            // "1.250 mg"-style amounts are refused as ambiguous, never misread
            if let Some(why) = &dose.unread {
                prop_assert!(why.contains("could be"), "{text}: {why}");
            } else {
                let got = dose.mg.unwrap_or(f64::NAN);
                prop_assert!((got - want).abs() <= 1e-9 * want.max(1.0), "{text}: {got} != {want}");
                prop_assert_eq!(dose.per_day, freq.map(|f| freqs[f].1), "{}", text);
            }
        }
    }
}
