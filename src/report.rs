//! Output of `check`: the JSON contract of `CASE_FORMAT.md`, and a
//! human-readable form (severity in words and symbols; colour only on a
//! terminal without `NO_COLOR`).

use crate::clinical::calc::HepaticGrade;
use crate::clinical::Severity;
use crate::note::Note;
use crate::pipeline::Assessment;
use crate::vocab::flag::{NO_PROPOSED_FLAGS, REGIMEN_FLAGS};
use crate::vocab::text::visible_line;
use serde_json::{json, Map, Value};

/// `check --json` output. `note` is the pharmacist's note (extension);
/// `trace` adds the trace lines (extension).
pub fn to_json(a: &Assessment, note: &Note, trace: bool) -> Value {
    let d = &a.derived;
    let mut derived = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            derived.insert(k.to_string(), v);
        }
    };
    put("crcl_ml_min", d.crcl_ml_min.map(Value::from));
    put(
        "crcl_weight",
        d.crcl_weight.and_then(|w| serde_json::to_value(w).ok()),
    );
    put("egfr_ml_min_1_73m2", d.egfr_ml_min_1_73m2.map(Value::from));
    put("bmi", d.bmi.map(Value::from));
    put("ibw_kg", d.ibw_kg.map(Value::from));
    put("adjbw_kg", d.adjbw_kg.map(Value::from));
    put(
        "egfr_source",
        d.egfr_source.and_then(|s| serde_json::to_value(s).ok()),
    );
    put(
        "child_pugh",
        d.child_pugh
            .as_ref()
            .and_then(|c| serde_json::to_value(c).ok()),
    );
    if d.hepatic != HepaticGrade::None {
        put("hepatic_impairment", serde_json::to_value(d.hepatic).ok());
    }
    let mut out = json!({
        "case": a.case.id,
        "derived": derived,
        "flags": a.flags,
        "passages": a.passages.iter().map(|p| json!({"id": p.id, "score": p.score, "title": p.title, "cited": p.cited})).collect::<Vec<_>>(),
        "not_checked": a.not_checked,
        "drugs": a.drugs,
        "conditions": a.conditions,
        "note": note,
    });
    if a.case.review {
        out["review"] = Value::Bool(true);
    }
    if trace {
        out["trace"] = Value::from(a.trace.lines().collect::<Vec<_>>());
    }
    out
}

struct Paint {
    on: bool,
}

impl Paint {
    fn sev(&self, s: Severity, text: &str) -> String {
        if !self.on {
            return text.to_string();
        }
        let code = match s {
            Severity::Contraindicated => "1;97;41",
            Severity::Major => "1;31",
            Severity::Moderate => "1;33",
            Severity::Minor => "36",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn dim(&self, text: &str) -> String {
        if self.on {
            format!("\x1b[2m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn bold(&self, text: &str) -> String {
        if self.on {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Plain-text report. `color` should be true only for a terminal with
/// `NO_COLOR` unset.
pub fn to_text(a: &Assessment, note: &Note, color: bool, trace: bool) -> String {
    let p = Paint { on: color };
    // Every text that came from a case file, a form, FHIR or the kb is
    // shown with its control and bidirectional characters visible: a drug
    // name cannot erase or reorder the flags printed after it.
    let t = |x: &str| visible_line(x).into_owned();
    let mut s = String::new();
    let title = a.case.title.as_deref().unwrap_or("");
    s.push_str(&p.bold(&format!("{}  {}\n", t(&a.case.id), t(title))));
    s.push_str(&format!("Patient: {}\n", t(&a.case.patient_summary())));
    let d = &a.derived;
    let mut derived = Vec::new();
    if let Some(c) = d.crcl_ml_min {
        let w = d
            .crcl_weight
            .map(|w| format!("{w:?}").to_lowercase())
            .unwrap_or_default();
        derived.push(format!("CrCl {c} mL/min ({w} weight)"));
    }
    if let Some(e) = d.egfr_ml_min_1_73m2 {
        derived.push(format!("eGFR {e} mL/min/1.73m2"));
    }
    if let Some(b) = d.bmi {
        derived.push(format!("BMI {b}"));
    }
    if let Some(i) = d.ibw_kg {
        derived.push(format!("IBW {i} kg"));
    }
    if d.hepatic != HepaticGrade::None {
        derived.push(format!("hepatic impairment: {:?}", d.hepatic).to_lowercase());
    }
    s.push_str(&format!(
        "Derived: {}\n\n",
        if derived.is_empty() {
            "none (no creatinine, weight or height given)".to_string()
        } else {
            derived.join(", ")
        }
    ));
    let lines = note.lines();
    if !lines.is_empty() {
        s.push_str(&p.bold(&format!("{}\n", crate::note::HEADING)));
        for l in lines {
            s.push_str(&format!("  {}\n", t(&l)));
        }
        s.push('\n');
    }
    if a.flags.is_empty() {
        s.push_str("Flags: none of the knowledge base's rules fired.\n");
    } else {
        s.push_str(&p.bold(&format!("Flags ({}), most serious first:\n", a.flags.len())));
    }
    let mut flags: Vec<&crate::clinical::Flag> = a.flags.iter().collect();
    flags.sort_by_key(|f| f.concerns);
    let regimen_from = flags
        .iter()
        .position(|f| f.concerns == crate::clinical::Concerns::Current);
    for (i, f) in flags.into_iter().enumerate() {
        if regimen_from == Some(i) {
            if i == 0 && !a.case.proposed.is_empty() {
                s.push_str(&format!("  {NO_PROPOSED_FLAGS}\n"));
            }
            s.push_str(&p.bold(&format!("  {REGIMEN_FLAGS}\n")));
        }
        let label = format!(
            "{} {}",
            f.severity.symbol(),
            f.severity.as_str().to_uppercase()
        );
        s.push_str(&format!(
            "  {}  {}  {}{}\n",
            p.sev(f.severity, &label),
            f.kind,
            t(&f.drugs.join(" + ")),
            f.evidence
                .map_or(String::new(), |e| p.dim(&format!("  (evidence: {e})")))
        ));
        s.push_str(&format!("      {}\n", t(&f.summary)));
        for inc in &f.includes {
            s.push_str(&format!(
                "        + {} {}: {}\n",
                inc.severity.as_str(),
                t(&inc.drugs.join(" + ")),
                t(&inc.summary)
            ));
        }
        if !f.suggestion.is_empty() {
            s.push_str(&format!("      Do: {}\n", t(&f.suggestion)));
        }
        s.push_str(&p.dim(&format!("      Sources: {}\n", t(&f.sources.join(", ")))));
    }
    if !a.not_checked.is_empty() {
        s.push_str(&p.bold("\nNot checked (missing or unrecognised input):\n"));
        for n in &a.not_checked {
            s.push_str(&format!(
                "  - {} {}: {}\n",
                t(&n.drug),
                t(&n.what),
                t(&n.reason)
            ));
        }
    }
    if !a.passages.is_empty() {
        s.push_str(&p.bold("\nPassages:\n"));
        for h in &a.passages {
            s.push_str(&format!(
                "  {:>6.2}  {}  {}\n",
                h.score,
                t(&h.id),
                p.dim(&t(&h.title))
            ));
        }
    }
    if trace {
        s.push_str(&p.bold("\nTrace:\n"));
        for l in a.trace.lines() {
            s.push_str(&format!("  {}\n", t(&l)));
        }
    }
    s
}
