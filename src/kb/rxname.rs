//! Medication names as EHRs write them.
//!
//! Real records name a product, not a drug: RxNorm's clinical and branded
//! drug names ("24 HR Metformin hydrochloride 500 MG Extended Release Oral
//! Tablet", "Acetaminophen 300 MG / HYDROcodone Bitartrate 5 MG [Vicodin]",
//! "10 ML Furosemide 10 MG/ML Injection", "Jolivette 28 Day Pack"), SNOMED
//! product names ("Amoxicillin (product)") and free text in between
//! ("Acetaminophen/Hydrocodone", "Lasix 40mg"). [`parse`] takes such a name
//! apart into ingredient phrases, strengths, dose form, route, release and
//! brand, without knowing any drug: the knowledge base then looks the
//! phrases up (`Kb::resolve`).
//!
//! The grammar follows RxNorm's naming conventions (RxNorm Technical
//! Documentation, section 5 "Normalized names": SCD = ingredient strength
//! dose-form, SBD = SCD + "[brand]", ingredients joined by " / ", quantity
//! factors such as "10 ML" and "24 HR" in front, packs as "... Pack").

use super::names::normalise;

/// A name taken apart. Every field is what the name said; nothing is
/// inferred from a drug list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedName {
    /// One phrase per ingredient, normalised ("metformin hydrochloride"),
    /// in the order written. Words after a comma are kept as written
    /// ("insulin human isophane"); [`ParsedName::phrase_variants`] gives the
    /// orders worth trying.
    pub ingredients: Vec<Ingredient>,
    /// The brand in square brackets, if any ("vicodin").
    pub brand: Option<String>,
    /// Dose form words ("oral tablet", "prefilled syringe", "pack").
    pub form: Option<String>,
    pub route: Option<Route>,
    /// "extended release", "delayed release", with a duration ("24 hr") if given.
    pub release: Option<String>,
    /// Words dropped as not part of any name: SNOMED semantic tags
    /// ("product"), application numbers ("nda020800"), quantities.
    pub dropped: Vec<String>,
    /// What parentheses held, other than a tag: "Tylenol (acetaminophen)"
    /// gives "acetaminophen", tried when the ingredients do not resolve.
    pub alternates: Vec<String>,
}

/// One ingredient phrase with the strength written after it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ingredient {
    /// Normalised words, comma parts joined with a space.
    pub phrase: String,
    /// The part before a comma, when there was one ("insulin human" of
    /// "insulin human, isophane"), and the part after it.
    pub comma_parts: Option<(String, String)>,
    pub strength: Option<Strength>,
}

/// "500 MG", "10 MG/ML", "0.044 MG/ACTUAT".
#[derive(Debug, Clone, PartialEq)]
pub struct Strength {
    pub value: f64,
    /// Lower case: "mg", "mcg", "unt", "meq", ...
    pub unit: String,
    /// The denominator: "ml", "actuat", "hr".
    pub per: Option<String>,
}

/// Where the medicine goes. Dose limits differ by route (oral vs
/// injection maxima), so the route is kept when the name gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Route {
    Oral,
    Injection,
    Topical,
    Transdermal,
    Inhaled,
    Nasal,
    Ophthalmic,
    Otic,
    Rectal,
    Vaginal,
    Intrauterine,
    Implant,
    Mucosal,
    Sublingual,
}

impl Route {
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Oral => "oral",
            Route::Injection => "injection",
            Route::Topical => "topical",
            Route::Transdermal => "transdermal",
            Route::Inhaled => "inhaled",
            Route::Nasal => "nasal",
            Route::Ophthalmic => "ophthalmic",
            Route::Otic => "otic",
            Route::Rectal => "rectal",
            Route::Vaginal => "vaginal",
            Route::Intrauterine => "intrauterine",
            Route::Implant => "implant",
            Route::Mucosal => "mucosal",
            Route::Sublingual => "sublingual",
        }
    }
}

/// Units a strength or quantity may carry (lower case, after normalising).
const UNITS: &[&str] = &[
    "mg", "mcg", "ug", "µg", "g", "gm", "kg", "ng", "ml", "l", "unt", "unit", "units", "iu", "meq",
    "mmol", "actuat", "hr", "hrs", "h", "day", "days", "%", "cm2", "sqcm",
];

/// Dose-form words: (words, route they imply). Longest first where one is a
/// prefix of another, since the first match wins.
const FORMS: &[(&str, Option<Route>)] = &[
    ("metered dose inhaler", Some(Route::Inhaled)),
    ("dry powder inhaler", Some(Route::Inhaled)),
    ("inhalation powder", Some(Route::Inhaled)),
    ("inhalation solution", Some(Route::Inhaled)),
    ("inhalation suspension", Some(Route::Inhaled)),
    ("inhalant solution", Some(Route::Inhaled)),
    ("inhaler", Some(Route::Inhaled)),
    ("nasal spray", Some(Route::Nasal)),
    ("mucosal spray", Some(Route::Mucosal)),
    ("sublingual tablet", Some(Route::Sublingual)),
    ("buccal tablet", Some(Route::Mucosal)),
    ("oral disintegrating tablet", Some(Route::Oral)),
    ("disintegrating oral tablet", Some(Route::Oral)),
    ("chewable tablet", Some(Route::Oral)),
    ("effervescent oral tablet", Some(Route::Oral)),
    ("oral tablet", Some(Route::Oral)),
    ("oral capsule", Some(Route::Oral)),
    ("oral solution", Some(Route::Oral)),
    ("oral suspension", Some(Route::Oral)),
    ("oral powder", Some(Route::Oral)),
    ("oral granules", Some(Route::Oral)),
    ("oral film", Some(Route::Oral)),
    ("oral gel", Some(Route::Oral)),
    ("oral spray", Some(Route::Oral)),
    ("oral lozenge", Some(Route::Oral)),
    ("oral liquid", Some(Route::Oral)),
    ("syrup", Some(Route::Oral)),
    ("elixir", Some(Route::Oral)),
    ("tablet", Some(Route::Oral)),
    ("tablets", Some(Route::Oral)),
    ("capsule", Some(Route::Oral)),
    ("capsules", Some(Route::Oral)),
    ("injectable solution", Some(Route::Injection)),
    ("injectable suspension", Some(Route::Injection)),
    ("injectable emulsion", Some(Route::Injection)),
    ("injectable foam", Some(Route::Injection)),
    ("prefilled syringe", Some(Route::Injection)),
    ("cartridge", Some(Route::Injection)),
    ("auto injector", Some(Route::Injection)),
    ("pen injector", Some(Route::Injection)),
    ("injection", Some(Route::Injection)),
    ("for injection", Some(Route::Injection)),
    ("transdermal system", Some(Route::Transdermal)),
    ("transdermal patch", Some(Route::Transdermal)),
    ("patch", Some(Route::Transdermal)),
    ("topical cream", Some(Route::Topical)),
    ("topical ointment", Some(Route::Topical)),
    ("topical gel", Some(Route::Topical)),
    ("topical lotion", Some(Route::Topical)),
    ("topical solution", Some(Route::Topical)),
    ("topical spray", Some(Route::Topical)),
    ("topical foam", Some(Route::Topical)),
    ("cream", Some(Route::Topical)),
    ("ointment", Some(Route::Topical)),
    ("lotion", Some(Route::Topical)),
    ("ophthalmic solution", Some(Route::Ophthalmic)),
    ("ophthalmic suspension", Some(Route::Ophthalmic)),
    ("ophthalmic ointment", Some(Route::Ophthalmic)),
    ("eye drops", Some(Route::Ophthalmic)),
    ("otic solution", Some(Route::Otic)),
    ("otic suspension", Some(Route::Otic)),
    ("rectal suppository", Some(Route::Rectal)),
    ("rectal cream", Some(Route::Rectal)),
    ("enema", Some(Route::Rectal)),
    ("vaginal ring", Some(Route::Vaginal)),
    ("vaginal cream", Some(Route::Vaginal)),
    ("vaginal tablet", Some(Route::Vaginal)),
    ("vaginal insert", Some(Route::Vaginal)),
    ("intrauterine system", Some(Route::Intrauterine)),
    ("intrauterine device", Some(Route::Intrauterine)),
    ("drug implant", Some(Route::Implant)),
    ("implant", Some(Route::Implant)),
    ("day pack", None),
    ("pack", None),
    ("kit", None),
];

/// Release words, with "24 hr" style durations handled separately.
const RELEASE: &[&str] = &[
    "extended release",
    "delayed release",
    "sustained release",
    "controlled release",
    "modified release",
    "immediate release",
    "prolonged release",
    "gastro resistant",
    "enteric coated",
    "abuse deterrent",
];

/// SNOMED CT semantic tags and similar trailers in parentheses.
const TAGS: &[&str] = &[
    "product",
    "substance",
    "medicinal product",
    "clinical drug",
    "medication",
    "real clinical drug",
    "medicinal product form",
];

/// Takes an EHR medication name apart. Never fails: what it cannot place
/// stays in an ingredient phrase, for the lookup to accept or reject.
pub fn parse(name: &str) -> ParsedName {
    let mut out = ParsedName::default();
    let mut text: String = super::names::fold_name(name);

    // "[Vicodin]": the brand. "(product)": a semantic tag, dropped; other
    // parentheses ("Tylenol (acetaminophen)") are kept as words.
    while let Some((start, end)) = bracketed(&text, '[', ']') {
        let inner = normalise(&text[start + 1..end]);
        if !inner.is_empty() && out.brand.is_none() {
            out.brand = Some(inner);
        }
        text.replace_range(start..=end, " ");
    }
    while let Some((start, end)) = bracketed(&text, '(', ')') {
        let inner = normalise(&text[start + 1..end]);
        if TAGS.contains(&inner.as_str()) {
            out.dropped.push(inner);
        } else if !inner.is_empty() {
            out.alternates.push(inner);
        }
        text.replace_range(start..=end, " ");
    }

    let tokens = tokenize(&text);
    // Slashes and pluses left after tokenizing separate ingredients (those
    // joining numbers, "0.12/0.015", or units, "MG/ML", are gone).
    let mut segments: Vec<Vec<Token>> = vec![Vec::new()];
    for t in tokens {
        match t {
            Token::Slash | Token::Plus => {
                if !segments.last().is_some_and(|s| s.is_empty()) {
                    segments.push(Vec::new());
                }
            }
            t => segments.last_mut().expect("never empty").push(t),
        }
    }

    for seg in segments {
        if let Some(ing) = ingredient(seg, &mut out) {
            out.ingredients.push(ing);
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Number(f64),
    /// A strength or quantity: number, unit and optional denominator, as one
    /// token ("10 mg/ml", "24 hr", "40mg").
    Amount(Strength),
    Comma,
    Slash,
    Plus,
}

fn bracketed(text: &str, open: char, close: char) -> Option<(usize, usize)> {
    let start = text.find(open)?;
    let end = start + text[start..].find(close)?;
    Some((start, end))
}

fn is_unit(w: &str) -> bool {
    UNITS.contains(&w)
}

/// Splits on whitespace and punctuation, then joins "10 mg / ml" into one
/// amount so that the only slashes left separate ingredients.
fn tokenize(text: &str) -> Vec<Token> {
    let mut raw: Vec<String> = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, raw: &mut Vec<String>| {
        // A full stop ends a sentence ("... Oral Tablet."), never a word of
        // the name; a decimal point sits inside a word and stays.
        let word = cur.trim_end_matches('.');
        if !word.is_empty() {
            raw.push(word.to_string());
        }
        cur.clear();
    };
    for c in text.chars() {
        match c {
            '/' | ',' | '+' | ';' => {
                flush(&mut cur, &mut raw);
                raw.push(c.to_string());
            }
            '%' => {
                flush(&mut cur, &mut raw);
                raw.push("%".into());
            }
            c if c.is_whitespace() || matches!(c, '-' | '_' | '*' | '®' | '™' | ':') => {
                flush(&mut cur, &mut raw);
            }
            c => cur.push(c),
        }
    }
    flush(&mut cur, &mut raw);

    // "40mg", "24hr", "100MG": a number glued to its unit.
    let mut split: Vec<String> = Vec::new();
    for w in raw {
        let digits = w
            .char_indices()
            .take_while(|(_, c)| c.is_ascii_digit() || *c == '.')
            .last()
            .map(|(i, c)| i + c.len_utf8());
        match digits {
            Some(n) if n < w.len() && is_unit(&w[n..]) && w[..n].parse::<f64>().is_ok() => {
                split.push(w[..n].to_string());
                split.push(w[n..].to_string());
            }
            _ => split.push(w),
        }
    }

    let number = |w: &str| w.parse::<f64>().ok().filter(|v| v.is_finite());
    let mut out = Vec::new();
    let mut i = 0;
    while i < split.len() {
        let w = split[i].as_str();
        if let Some(value) = number(w) {
            // number unit [/ unit]
            if let Some(unit) = split.get(i + 1).filter(|u| is_unit(u)) {
                let mut s = Strength {
                    value,
                    unit: unit.clone(),
                    per: None,
                };
                i += 2;
                if split.get(i).is_some_and(|s| s == "/")
                    && split.get(i + 1).is_some_and(|u| is_unit(u))
                {
                    s.per = Some(split[i + 1].clone());
                    i += 2;
                } else if split.get(i).is_some_and(|s| s == "per")
                    && split.get(i + 1).is_some_and(|u| number(u).is_some())
                    && split.get(i + 2).is_some_and(|u| is_unit(u))
                {
                    // "per 24 hr"
                    s.per = Some(format!("{} {}", split[i + 1], split[i + 2]));
                    i += 3;
                }
                out.push(Token::Amount(s));
                continue;
            }
            // "0.12/0.015 MG per 24 HR", "1+50": a ratio of numbers stays
            // one number, with its unit if it has one.
            let mut j = i + 1;
            while split.get(j).is_some_and(|s| s == "/" || s == "+")
                && split.get(j + 1).and_then(|n| number(n)).is_some()
            {
                j += 2;
            }
            if j > i + 1 && split.get(j).is_some_and(|u| is_unit(u)) {
                j += 1;
                if split.get(j).is_some_and(|s| s == "per")
                    && split.get(j + 1).and_then(|n| number(n)).is_some()
                    && split.get(j + 2).is_some_and(|u| is_unit(u))
                {
                    j += 3;
                }
                out.push(Token::Number(value));
            } else {
                // A number without a unit may belong to the name ("Vitamin
                // B 12", the brand "Norinyl 1+50"): kept as words; the
                // lookup tries the name without trailing numbers too.
                out.extend(
                    split[i..j]
                        .iter()
                        .filter(|w| number(w).is_some())
                        .map(|w| Token::Word(w.clone())),
                );
            }
            i = j;
            continue;
        }
        out.push(match w {
            "/" => Token::Slash,
            "+" => Token::Plus,
            "," | ";" => Token::Comma,
            w => Token::Word(w.to_string()),
        });
        i += 1;
    }
    // "MG/ML" left over after an amount was already closed, or "per": fold
    // a slash followed by a unit into nothing (it belongs to the amount).
    let mut cleaned: Vec<Token> = Vec::new();
    let mut k = 0;
    while k < out.len() {
        if out[k] == Token::Slash {
            if let Some(Token::Word(u)) = out.get(k + 1) {
                if is_unit(u) {
                    k += 2;
                    continue;
                }
            }
        }
        cleaned.push(out[k].clone());
        k += 1;
    }
    cleaned
}

/// One " / "-separated segment to an ingredient phrase; form, route,
/// release, quantities and strengths go to `out`.
fn ingredient(seg: Vec<Token>, out: &mut ParsedName) -> Option<Ingredient> {
    let mut words: Vec<String> = Vec::new();
    let mut comma_at: Option<usize> = None;
    let mut strength: Option<Strength> = None;
    for t in seg {
        match t {
            Token::Word(w) => words.push(w),
            Token::Comma => {
                if comma_at.is_none() && !words.is_empty() {
                    comma_at = Some(words.len());
                }
            }
            Token::Amount(s) => {
                let quantity = s.unit == "hr" || s.unit == "h" || s.unit == "day";
                if quantity && s.per.is_none() {
                    // "24 HR" before the name: a release duration; "21 Day":
                    // a pack length.
                    if s.unit != "day" {
                        out.release
                            .get_or_insert_with(|| format!("{} hr", fmt(s.value)));
                    }
                    out.dropped.push(format!("{} {}", fmt(s.value), s.unit));
                } else if words.iter().all(|w| app_number(w))
                    && strength.is_none()
                    && out.ingredients.is_empty()
                {
                    // "10 ML Furosemide ...", "120 ACTUAT ...": the package
                    // quantity written first.
                    out.dropped.push(format!("{} {}", fmt(s.value), s.unit));
                } else if strength.is_none() {
                    strength = Some(s);
                }
            }
            Token::Number(n) => out.dropped.push(fmt(n)),
            Token::Slash | Token::Plus => {}
        }
    }

    // Strip form, route and release words wherever they are; application
    // numbers ("nda020800") go too.
    let mut joined = words.join(" ");
    for (form, route) in FORMS {
        if let Some(rest) = remove_phrase(&joined, form) {
            joined = rest;
            if out.form.is_none() {
                out.form = Some((*form).to_string());
            }
            if out.route.is_none() {
                out.route = *route;
            }
        }
    }
    for r in RELEASE {
        if let Some(rest) = remove_phrase(&joined, r) {
            joined = rest;
            if !r.starts_with("abuse") {
                let dur = out.release.take();
                out.release = Some(match dur {
                    Some(d) if d.ends_with(" hr") => format!("{d} {r}"),
                    _ => (*r).to_string(),
                });
            }
        }
    }
    for (word, route) in [
        ("oral", Route::Oral),
        ("topical", Route::Topical),
        ("transdermal", Route::Transdermal),
        ("vaginal", Route::Vaginal),
        ("rectal", Route::Rectal),
        ("ophthalmic", Route::Ophthalmic),
        ("nasal", Route::Nasal),
        ("intravenous", Route::Injection),
        ("injectable", Route::Injection),
        ("subcutaneous", Route::Injection),
        ("intramuscular", Route::Injection),
    ] {
        if let Some(rest) = remove_phrase(&joined, word) {
            joined = rest;
            out.route.get_or_insert(route);
        }
    }
    let kept: Vec<&str> = joined
        .split(' ')
        .filter(|w| {
            let drop = app_number(w) || STRAY_UNITS.contains(w);
            if drop {
                out.dropped.push((*w).to_string());
            }
            !w.is_empty() && !drop
        })
        .collect();
    // Stray punctuation (an unclosed "(") is not part of a name.
    let phrase = normalise(&kept.join(" "));
    if phrase.is_empty() {
        return None;
    }
    let comma_parts = comma_at.and_then(|at| {
        let before = words[..at.min(words.len())].join(" ");
        let before = normalise(&before);
        let after = phrase.strip_prefix(&before)?.trim().to_string();
        (!before.is_empty() && !after.is_empty()).then_some((before, after))
    });
    Some(Ingredient {
        phrase,
        comma_parts,
        strength,
    })
}

/// "NDA020800", "ANDA076543", "BLA125057": an FDA application number.
fn app_number(w: &str) -> bool {
    ["nda", "anda", "bla"].iter().any(|p| {
        w.strip_prefix(p)
            .is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_ascii_digit()))
    })
}

/// Unit words that are never part of a drug name, dropped when a number
/// did not come before them ("MG per"). Single letters ("g" of penicillin
/// G) are not among them.
const STRAY_UNITS: &[&str] = &["mg", "mcg", "ml", "unt", "meq", "mmol", "actuat", "per"];

/// `text` without the whole-word phrase `p`, or None when it is absent.
fn remove_phrase(text: &str, p: &str) -> Option<String> {
    let padded = format!(" {text} ");
    let needle = format!(" {p} ");
    let at = padded.find(&needle)?;
    let rest = format!("{} {}", &padded[..at], &padded[at + needle.len()..]);
    Some(rest.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

impl Ingredient {
    /// Phrases worth looking up for this ingredient, most literal first:
    /// "insulin human, isophane" -> "insulin human isophane", "isophane
    /// insulin human".
    pub fn phrase_variants(&self) -> Vec<String> {
        let mut v = vec![self.phrase.clone()];
        if let Some((before, after)) = &self.comma_parts {
            v.push(format!("{after} {before}"));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn phrases(name: &str) -> Vec<String> {
        parse(name)
            .ingredients
            .into_iter()
            .map(|i| i.phrase)
            .collect()
    }

    #[test]
    fn clinical_drug_names() {
        let p = parse("24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet");
        assert_eq!(
            phrases("24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"),
            ["metformin hydrochloride"]
        );
        assert_eq!(p.route, Some(Route::Oral));
        assert_eq!(p.form.as_deref(), Some("oral tablet"));
        assert_eq!(p.release.as_deref(), Some("24 hr extended release"));
        assert_eq!(
            p.ingredients[0].strength,
            Some(Strength {
                value: 500.0,
                unit: "mg".into(),
                per: None
            })
        );

        let p = parse("10 ML Furosemide 10 MG/ML Injection");
        assert_eq!(p.ingredients[0].phrase, "furosemide");
        assert_eq!(p.route, Some(Route::Injection));
        assert_eq!(
            p.ingredients[0].strength,
            Some(Strength {
                value: 10.0,
                unit: "mg".into(),
                per: Some("ml".into())
            })
        );

        assert_eq!(
            phrases("Nitroglycerin 0.4 MG/ACTUAT Mucosal Spray"),
            ["nitroglycerin"]
        );
        assert_eq!(
            parse("Nitroglycerin 0.4 MG/ACTUAT Mucosal Spray").route,
            Some(Route::Mucosal)
        );
        assert_eq!(
            phrases("120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler"),
            ["fluticasone propionate"]
        );
        assert_eq!(
            phrases(
                "Abuse-Deterrent 12 HR Oxycodone Hydrochloride 15 MG Extended Release Oral Tablet"
            ),
            ["oxycodone hydrochloride"]
        );
        assert_eq!(
            phrases("NDA020800 0.3 ML Epinephrine 1 MG/ML Auto-Injector"),
            ["epinephrine"]
        );
        assert_eq!(phrases("Lasix 40mg"), ["lasix"]);
        assert_eq!(phrases("Sertraline 100MG"), ["sertraline"]);
        // Pasted with a zero-width space inside the strength.
        assert_eq!(
            phrases("Warfarin\u{200B} Sodium 5\u{200B} MG Oral Tablet"),
            ["warfarin sodium"]
        );
        // A sentence's full stop is not part of the name; a decimal point
        // is part of the strength.
        assert_eq!(phrases("Aspirin 81 MG Oral Tablet."), ["aspirin"]);
        assert_eq!(phrases("Warfarin."), ["warfarin"]);
        assert_eq!(phrases("Colchicine 0.6 MG Oral Tablet"), ["colchicine"]);
    }

    #[test]
    fn several_ingredients() {
        assert_eq!(
            phrases("Acetaminophen 21.7 MG/ML / Dextromethorphan Hydrobromide 1 MG/ML / doxylamine succinate 0.417 MG/ML Oral Solution"),
            ["acetaminophen", "dextromethorphan hydrobromide", "doxylamine succinate"]
        );
        assert_eq!(
            phrases("Acetaminophen/Hydrocodone"),
            ["acetaminophen", "hydrocodone"]
        );
        assert_eq!(
            phrases("Mestranol / Norethynodrel [Enovid]"),
            ["mestranol", "norethynodrel"]
        );
        assert_eq!(
            phrases("168 HR Ethinyl Estradiol 0.00146 MG/HR / norelgestromin 0.00625 MG/HR Transdermal System"),
            ["ethinyl estradiol", "norelgestromin"]
        );
        assert_eq!(
            phrases("amoxicillin + clavulanate"),
            ["amoxicillin", "clavulanate"]
        );
    }

    #[test]
    fn brands_tags_and_packs() {
        let p = parse("Acetaminophen 300 MG / HYDROcodone Bitartrate 5 MG [Vicodin]");
        assert_eq!(p.brand.as_deref(), Some("vicodin"));
        assert_eq!(
            phrases("Acetaminophen 300 MG / HYDROcodone Bitartrate 5 MG [Vicodin]"),
            ["acetaminophen", "hydrocodone bitartrate"]
        );
        assert_eq!(phrases("Carbamazepine[Tegretol]"), ["carbamazepine"]);
        assert_eq!(
            parse("Carbamazepine[Tegretol]").brand.as_deref(),
            Some("tegretol")
        );
        assert_eq!(phrases("Amoxicillin (product)"), ["amoxicillin"]);
        assert_eq!(phrases("Jolivette 28 Day Pack"), ["jolivette"]);
        assert_eq!(phrases("Levora 0.15/30 28 Day Pack"), ["levora 0.15 30"]);
        assert_eq!(phrases("Norinyl 1+50 28 Day Pack"), ["norinyl 1 50"]);
        assert_eq!(
            phrases("Vitamin B 12 5 MG/ML Injectable Solution"),
            ["vitamin b 12"]
        );
        let ring = parse("NuvaRing 0.12/0.015 MG per 24HR 21 Day Vaginal Ring");
        assert_eq!(ring.ingredients.len(), 1);
        assert_eq!(ring.ingredients[0].phrase, "nuvaring");
        assert_eq!(ring.route, Some(Route::Vaginal));
        let p = parse("Tylenol (acetaminophen)");
        assert_eq!(phrases("Tylenol (acetaminophen)"), ["tylenol"]);
        assert_eq!(p.alternates, ["acetaminophen"]);
    }

    #[test]
    fn comma_inverted_names() {
        let p = parse("insulin human, isophane 70 UNT/ML / Regular Insulin, Human 30 UNT/ML Injectable Suspension [Humulin]");
        assert_eq!(p.ingredients.len(), 2);
        assert_eq!(
            p.ingredients[0].phrase_variants(),
            ["insulin human isophane", "isophane insulin human"]
        );
        assert_eq!(
            p.ingredients[1].phrase_variants()[1],
            "human regular insulin"
        );
        assert_eq!(p.route, Some(Route::Injection));
        assert_eq!(
            parse("NITROFURANTOIN, MACROCRYSTALS 50 MG Oral Capsule").ingredients[0].phrase,
            "nitrofurantoin macrocrystals"
        );
    }

    #[test]
    fn plain_typed_names_pass_through() {
        assert_eq!(phrases("warfarin"), ["warfarin"]);
        assert_eq!(
            phrases("  Amoxicillin-Clavulanate "),
            ["amoxicillin clavulanate"]
        );
        assert_eq!(phrases("metformin 500 mg"), ["metformin"]);
        assert!(phrases("").is_empty());
        assert!(phrases("500 mg").is_empty());
    }

    proptest! {
        #[test]
        fn never_panics_and_phrases_are_normalised(s in "\\PC{0,60}") {
            for i in parse(&s).ingredients {
                prop_assert!(!i.phrase.is_empty());
                prop_assert_eq!(normalise(&i.phrase), i.phrase.clone());
            }
        }

        #[test]
        fn strengths_and_forms_never_reach_the_phrase(
            name in "[a-z]{4,12}",
            value in 1u32..2000,
            unit in prop::sample::select(vec!["MG", "MCG", "MG/ML", "UNT/ML"]),
            form in prop::sample::select(vec!["Oral Tablet", "Injection", "Oral Capsule", "Prefilled Syringe", ""]),
        ) {
            prop_assume!(!FORMS.iter().any(|(f, _)| f.split(' ').any(|w| w == name)));
            prop_assume!(!UNITS.contains(&name.as_str()));
            let p = parse(&format!("{name} {value} {unit} {form}"));
            prop_assert_eq!(p.ingredients.len(), 1);
            prop_assert_eq!(&p.ingredients[0].phrase, &name);
            prop_assert_eq!(p.ingredients[0].strength.as_ref().map(|s| s.value), Some(value as f64));
        }
    }
}
