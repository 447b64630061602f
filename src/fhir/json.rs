//! FHIR JSON read strictly: a duplicated key in any object is an error
//! naming its path, never "the last one wins" (serde_json's default, which
//! let an Observation with two `value` keys silently keep the second). A
//! leading byte-order mark is accepted. Every reader of FHIR or CDS Hooks
//! JSON (file import, `serve`) parses through [`parse`].

use super::FhirError;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// A JSON value whose objects have no duplicated key.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Strict, E> {
        Ok(Strict(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Strict, E> {
        Ok(Strict(Value::from(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Strict, E> {
        Ok(Strict(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Strict, E> {
        Ok(Strict(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Strict, E> {
        Ok(Strict(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Strict(Value::Array(out)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "duplicate key \"{key}\" (a FHIR element may appear once)"
                )));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Strict(Value::Object(out)))
    }
}

/// Parses JSON text, refusing duplicated keys with the path of the object
/// that repeats one (`entry[2].resource`).
pub fn parse(text: &str) -> Result<Value, FhirError> {
    let text = text.trim_start_matches('\u{feff}');
    let mut de = serde_json::Deserializer::from_str(text);
    let json_error = |e: serde_json::Error, message: String| FhirError::Json {
        line: e.line(),
        column: e.column(),
        message,
    };
    let parsed: Result<Strict, _> = serde_path_to_error::deserialize(&mut de);
    match parsed {
        Ok(Strict(v)) => {
            de.end().map_err(|e| {
                let m = e.to_string();
                json_error(e, m)
            })?;
            Ok(v)
        }
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let message = if path.is_empty() || path == "." {
                inner.to_string()
            } else {
                format!("at `{path}`: {inner}")
            };
            Err(json_error(inner, message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Issue 19, finding 3: an Observation with a duplicated `value` key.
    #[test]
    fn a_duplicated_key_is_refused_with_its_path() {
        let text = r#"{"resourceType": "Bundle", "entry": [
            {"resource": {"resourceType": "Patient", "id": "p"}},
            {"resource": {"resourceType": "Observation",
              "valueQuantity": {"value": 5.9, "value": 4.1, "unit": "mmol/L"}}}]}"#;
        let err = parse(text).expect_err("duplicate");
        let msg = err.to_string();
        assert!(msg.contains("duplicate key \"value\""), "{msg}");
        assert!(msg.contains("entry[1].resource.valueQuantity"), "{msg}");
    }

    #[test]
    fn ordinary_json_reads_as_serde_json_reads_it() {
        let text = "\u{feff}{\"a\": [1, 2.5, \"x\", null, true, {\"b\": {}}], \"c\": -3}";
        let want: Value =
            serde_json::from_str(text.trim_start_matches('\u{feff}')).unwrap_or_default();
        assert_eq!(parse(text).ok(), Some(want));
        assert!(parse("{\"a\": 1} trailing").is_err());
        assert!(parse("").is_err());
    }

    proptest! {
        /// Whatever serde_json reads without duplicated keys, this reads
        /// the same; it never panics on any text.
        #[test]
        fn agrees_with_serde_json(keys in proptest::collection::btree_set("[a-z]{1,4}", 0..6), n in 0i64..1000) {
            let obj: Map<String, Value> = keys.iter().map(|k| (k.clone(), Value::from(n))).collect();
            let text = Value::Object(obj.clone()).to_string();
            prop_assert_eq!(parse(&text).ok(), Some(Value::Object(obj)));
        }

        #[test]
        fn never_panics(text in "\\PC{0,60}") {
            let _ = parse(&text);
        }
    }
}
