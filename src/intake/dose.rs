//! Dose strings ("500 mg", "1 g", "250 mcg") and frequencies ("bid", "q6h",
//! "twice daily", "weekly", "prn").

use serde::{Deserialize, Serialize};

/// A dose as typed, with its amount in mg when the unit is a mass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dose {
    pub text: String,
    /// None when the unit is not a mass (mL, units, puffs) or unreadable.
    pub mg: Option<f64>,
}

impl Dose {
    pub fn parse(text: &str) -> Dose {
        Dose {
            text: text.trim().to_string(),
            mg: parse_mg(text),
        }
    }
}

fn parse_mg(text: &str) -> Option<f64> {
    let t = text.trim().to_lowercase().replace(',', "");
    let split = t
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(t.len(), |(i, _)| i);
    let (num, rest) = t.split_at(split);
    let value: f64 = num.parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    let unit = rest.trim();
    let unit = unit.split_whitespace().next().unwrap_or("");
    let factor = match unit {
        "mg" | "milligram" | "milligrams" => 1.0,
        "g" | "gm" | "gram" | "grams" => 1000.0,
        "mcg" | "µg" | "μg" | "ug" | "microgram" | "micrograms" => 0.001,
        _ => return None,
    };
    Some(value * factor)
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
        let t = t.trim_end_matches('.').replace(['.', '_'], "");
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

    #[test]
    fn frequencies() {
        let per_day = |s: &str| Frequency::parse(s).and_then(|f| f.per_day);
        assert_eq!(per_day("daily"), Some(1.0));
        assert_eq!(per_day("BID"), Some(2.0));
        assert_eq!(per_day("t.i.d."), Some(3.0));
        assert_eq!(per_day("qid"), Some(4.0));
        assert_eq!(per_day("q4h"), Some(6.0));
        assert_eq!(per_day("q4-6h"), Some(6.0));
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
    }
}
