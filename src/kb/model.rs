//! Knowledge-base records as written in `kb/` (see `kb/README.md`).
//!
//! These are plain serde types; [`super::Kb`] links them (resolves drug and
//! class references) for the rule engine.

use crate::intake::Sex;
use crate::vocab::HepaticGrade;
use crate::vocab::{Kind, Severity};
use serde::{Deserialize, Serialize};

/// Where a record was written, for error messages (`file:line`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drug {
    pub name: String,
    #[serde(default)]
    pub synonyms: Vec<String>,
    #[serde(default)]
    pub brands: Vec<String>,
    #[serde(default)]
    pub classes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atc: Option<String>,
    #[serde(default)]
    pub ingredients: Vec<String>,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(skip)]
    pub origin: Origin,
}

/// A condition of the vocabulary (`kb/conditions/`): the names that mean
/// it, wordings that imply it, and its codes. Rules keep writing their own
/// terms; a patient's condition read as this concept also matches the
/// rule terms its name and synonyms contain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionConcept {
    /// The preferred name, shown as "read as ...".
    pub name: String,
    /// Names and abbreviations that mean exactly this condition.
    #[serde(default)]
    pub synonyms: Vec<String>,
    /// Narrower or related wordings that recognise the condition in a
    /// longer text ("sprain" for injuries) but do not stand for it: a
    /// rule's term is never matched through them.
    #[serde(default)]
    pub includes: Vec<String>,
    /// Preferred names of the wider concepts this is a kind of
    /// ("dementia" for Alzheimer's disease): their names match too, so a
    /// rule written for the wider condition applies.
    #[serde(default)]
    pub broader: Vec<String>,
    /// SNOMED CT concept ids.
    #[serde(default)]
    pub snomed: Vec<String>,
    /// ICD-10-CM codes or code prefixes ("I48.0", "E11").
    #[serde(default)]
    pub icd10: Vec<String>,
    /// Where the codes were checked.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(skip)]
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Class {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub synonyms: Vec<String>,
    #[serde(default)]
    pub parents: Vec<String>,
    #[serde(default)]
    pub members: Vec<String>,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(skip)]
    pub origin: Origin,
}

/// Text shared by every rule record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleText {
    pub summary: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub suggestion: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interaction {
    pub id: String,
    pub a: Vec<String>,
    pub b: Vec<String>,
    pub severity: Severity,
    pub summary: String,
    #[serde(default)]
    pub mechanism: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default, alias = "management")]
    pub suggestion: String,
    pub sources: Vec<String>,
    #[serde(skip)]
    pub origin: Origin,
}

/// Hepatic impairment a rule asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HepaticRequirement {
    Any,
    Moderate,
    Severe,
}

impl HepaticRequirement {
    pub fn minimum(self) -> HepaticGrade {
        match self {
            HepaticRequirement::Any => HepaticGrade::Mild,
            HepaticRequirement::Moderate => HepaticGrade::Moderate,
            HepaticRequirement::Severe => HepaticGrade::Severe,
        }
    }
}

/// Patient-state conditions; all given ones must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egfr_below: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egfr_at_least: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crcl_below: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crcl_at_least: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_at_least: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_below: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pregnant: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trimesters: Vec<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breastfeeding: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions_any: Vec<String>,
    /// Does not match when a patient condition contains one of these
    /// terms ("heart failure" but not "heart failure with preserved
    /// ejection fraction").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions_none: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hepatic_impairment: Option<HepaticRequirement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    /// With `lab`: the value is at least this ("serum creatinine >= 1.5").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<f64>,
    /// Body weight in kg.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_below: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_at_most: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_at_least: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with_any: Vec<String>,
    /// A pharmacogenomic gene (as in `vocab::pgx::GENES`) whose recorded
    /// phenotype must be one of `phenotypes`; unknown status is said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gene: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phenotypes: Vec<String>,
    /// "At least n of these": each entry is a `when` of its own; the rule
    /// holds when `n` of them do (apixaban's two-of-three dose criteria).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least_of: Option<AtLeastOf>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtLeastOf {
    pub n: u32,
    pub of: Vec<When>,
}

impl When {
    /// This `when` and the criteria of its `at_least_of`: every table whose
    /// conditions can make the rule fire.
    pub fn parts(&self) -> impl Iterator<Item = &When> {
        std::iter::once(self).chain(self.at_least_of.iter().flat_map(|n| n.of.iter()))
    }

    pub fn is_empty(&self) -> bool {
        self == &When::default()
    }

    /// Whether the `when` names an age band of its own.
    pub fn has_age_band(&self) -> bool {
        self.age_below.is_some() || self.age_at_least.is_some()
    }

    /// Whether `age` (years) lies in this `when`'s age band.
    pub fn age_band_holds(&self, age: f64) -> bool {
        self.age_below.is_none_or(|b| age < b) && self.age_at_least.is_none_or(|a| age >= a)
    }
}

impl DoseRule {
    pub fn per_kg(&self) -> bool {
        self.max_single_mg_per_kg.is_some() || self.max_daily_mg_per_kg.is_some()
    }
}

/// Kinds a `[[rule]]` may have.
pub const STATE_RULE_KINDS: [Kind; 9] = [
    Kind::Renal,
    Kind::Hepatic,
    Kind::Pregnancy,
    Kind::Lactation,
    Kind::Beers,
    Kind::Lab,
    Kind::Condition,
    Kind::Pediatric,
    Kind::Pharmacogenomic,
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateRule {
    pub id: String,
    pub kind: Kind,
    pub drugs: Vec<String>,
    /// The rule is about starting the drug ("avoid as initial therapy"):
    /// it is not applied to a current medicine.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub starting_only: bool,
    pub severity: Severity,
    pub summary: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub suggestion: String,
    pub sources: Vec<String>,
    #[serde(default)]
    pub when: When,
    #[serde(skip)]
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllergyRule {
    pub id: String,
    pub allergen: Vec<String>,
    pub drugs: Vec<String>,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severe_severity: Option<Severity>,
    pub summary: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub suggestion: String,
    pub sources: Vec<String>,
    #[serde(skip)]
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DuplicateRule {
    pub id: String,
    pub class: String,
    pub severity: Severity,
    pub summary: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub suggestion: String,
    pub sources: Vec<String>,
    #[serde(skip)]
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoseRule {
    pub id: String,
    pub drugs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_daily_mg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_single_mg: Option<f64>,
    /// Weight-based limits (children): the limit is this times the
    /// patient's weight, capped by `max_single_mg` / `max_daily_mg`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_single_mg_per_kg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_daily_mg_per_kg: Option<f64>,
    #[serde(default)]
    pub weekly_only: bool,
    pub severity: Severity,
    pub summary: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub suggestion: String,
    pub sources: Vec<String>,
    #[serde(default)]
    pub when: When,
    #[serde(skip)]
    pub origin: Origin,
}

/// A rule on several drugs at once (`[[combination]]`, kind `combination`):
/// one distinct drug from each of `groups` (the "triple whammy": an NSAID,
/// an ACE inhibitor or ARB, and a diuretic), or at least `at_least` distinct
/// drugs among `members` (QT-prolonging drugs), optionally with a patient
/// condition in `when`. Pairwise interaction flags among the drugs it found
/// are grouped under its flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CombinationRule {
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<u32>,
    pub severity: Severity,
    pub summary: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub suggestion: String,
    pub sources: Vec<String>,
    #[serde(default)]
    pub when: When,
    #[serde(skip)]
    pub origin: Origin,
}

impl CombinationRule {
    /// Every ref the rule names.
    pub fn refs(&self) -> impl Iterator<Item = &String> {
        self.groups.iter().flatten().chain(&self.members)
    }
}

/// A prose passage with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Passage {
    pub id: String,
    #[serde(default)]
    pub drugs: Vec<String>,
    #[serde(default)]
    pub section: String,
    pub title: String,
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    pub license: String,
    /// The evidence level, when the source's kind does not say it
    /// ([`Evidence::read`] otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<crate::vocab::Evidence>,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub origin: Origin,
}

impl Passage {
    /// How this passage knows what it says.
    pub fn evidence(&self) -> crate::vocab::Evidence {
        self.evidence.unwrap_or_else(|| {
            crate::vocab::Evidence::read(&self.source, &self.license, &self.section)
        })
    }

    /// URL, or identifier (DOI, set id) when there is no URL.
    pub fn locator(&self) -> Option<&str> {
        self.url.as_deref().or(self.identifier.as_deref())
    }
}

/// Everything parsed from a `kb/` tree, before linking.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Records {
    pub drugs: Vec<Drug>,
    pub classes: Vec<Class>,
    pub interactions: Vec<Interaction>,
    pub rules: Vec<StateRule>,
    pub allergies: Vec<AllergyRule>,
    pub duplicates: Vec<DuplicateRule>,
    pub doses: Vec<DoseRule>,
    #[serde(default)]
    pub combinations: Vec<CombinationRule>,
    #[serde(default)]
    pub conditions: Vec<ConditionConcept>,
    pub passages: Vec<Passage>,
}

/// Records that remember where they were written. The store keeps the
/// origin beside the record (sources must not be able to set it).
pub trait HasOrigin {
    fn origin_mut(&mut self) -> &mut Origin;
    fn origin(&self) -> &Origin;
}

macro_rules! has_origin {
    ($($t:ty),*) => {$(
        impl HasOrigin for $t {
            fn origin_mut(&mut self) -> &mut Origin {
                &mut self.origin
            }
            fn origin(&self) -> &Origin {
                &self.origin
            }
        }
    )*};
}

has_origin!(
    ConditionConcept,
    Drug,
    Class,
    Interaction,
    StateRule,
    AllergyRule,
    DuplicateRule,
    DoseRule,
    CombinationRule,
    Passage
);
