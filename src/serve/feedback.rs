//! CDS Hooks 2.0 feedback: what the clinician did with each card
//! (`accepted`, or `overridden` with an `overrideReason`), posted to
//! `POST /cds-services/{id}/feedback`, stored durably beside the card it
//! is about, and exported with `rxguide serve --export-feedback FILE`.
//!
//! Every card the service sends is remembered (its uuid, summary,
//! indicator and the rules behind it), so a feedback entry, which names the
//! card only by uuid, can be read later as "overridden the warfarin +
//! ibuprofen interaction card, reason: benefit outweighs risk".

use super::ApiError;
use crate::store::{Store, StoreError};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// One record of the feedback store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Record {
    /// A card as sent.
    Card {
        uuid: String,
        summary: String,
        indicator: String,
        sent: String,
    },
    /// One feedback entry as received, with the card it names when known.
    Feedback {
        card: String,
        outcome: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        override_reason: Option<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accepted_suggestions: Option<Value>,
        outcome_timestamp: String,
        received: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        card_summary: Option<String>,
    },
}

/// The durable store of sent cards and their feedback.
#[derive(Debug)]
pub struct FeedbackStore {
    store: Store<Record>,
}

const CARD: &str = "card/";
const FEEDBACK: &str = "feedback/";

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl FeedbackStore {
    /// Opens (creating) the store under `data_dir`.
    pub fn open(data_dir: &Path) -> Result<FeedbackStore, StoreError> {
        Ok(FeedbackStore {
            store: Store::open(data_dir, "cds-feedback", "CDS Hooks feedback")?,
        })
    }

    /// Remembers the cards of one answer.
    pub fn sent(&self, cards: &[Value]) -> Result<(), StoreError> {
        let sent = now();
        for c in cards {
            let Some(uuid) = c.get("uuid").and_then(Value::as_str) else {
                continue;
            };
            let text = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            self.store.put(
                format!("{CARD}{uuid}").as_bytes(),
                &Record::Card {
                    uuid: uuid.to_string(),
                    summary: text("summary"),
                    indicator: text("indicator"),
                    sent: sent.clone(),
                },
            )?;
        }
        Ok(())
    }

    /// Validates and stores a feedback request body; the number stored.
    pub fn receive(&self, body: &Value) -> Result<usize, ApiError> {
        let Some(items) = body.get("feedback").and_then(Value::as_array) else {
            return Err(ApiError::bad(
                "feedback",
                "required: an array of { card, outcome, outcomeTimestamp } entries",
            ));
        };
        let mut records = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let field = |name: &str| format!("feedback[{i}].{name}");
            let text = |name: &str| item.get(name).and_then(Value::as_str).map(str::trim);
            let card = text("card")
                .filter(|c| !c.is_empty())
                .ok_or_else(|| ApiError::bad(field("card"), "required: the uuid of the card"))?;
            let outcome = match text("outcome") {
                Some(o @ ("accepted" | "overridden")) => o.to_string(),
                Some(o) => {
                    return Err(ApiError::bad(
                        field("outcome"),
                        format!("\"{o}\" is not accepted; accepted: accepted, overridden"),
                    ))
                }
                None => {
                    return Err(ApiError::bad(
                        field("outcome"),
                        "required: accepted or overridden",
                    ))
                }
            };
            let outcome_timestamp = text("outcomeTimestamp")
                .filter(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
                .ok_or_else(|| {
                    ApiError::bad(
                        field("outcomeTimestamp"),
                        "required: an ISO 8601 instant such as 2026-12-04T10:00:00Z",
                    )
                })?
                .to_string();
            let card_summary = match self.store.get(format!("{CARD}{card}").as_bytes()) {
                Ok(Some(Record::Card { summary, .. })) => Some(summary),
                _ => None,
            };
            records.push(Record::Feedback {
                card: card.to_string(),
                outcome,
                override_reason: item.get("overrideReason").cloned(),
                accepted_suggestions: item.get("acceptedSuggestions").cloned(),
                outcome_timestamp,
                received: now(),
                card_summary,
            });
        }
        let n = records.len();
        for (i, r) in records.iter().enumerate() {
            let Record::Feedback { card, received, .. } = r else {
                continue;
            };
            self.store
                .put(format!("{FEEDBACK}{received}/{i}/{card}").as_bytes(), r)
                .map_err(|e| ApiError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    field: "feedback".into(),
                    error: format!("feedback not stored: {e}"),
                })?;
        }
        Ok(n)
    }

    /// Every feedback entry, oldest first.
    pub fn feedback(&self) -> Vec<Record> {
        self.store
            .scan(FEEDBACK.as_bytes())
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn feedback_is_stored_beside_the_card_it_names_and_survives_reopening() {
        let dir = tempfile::tempdir().expect("dir");
        {
            let s = FeedbackStore::open(dir.path()).expect("opens");
            s.sent(&[json!({ "uuid": "c-1", "summary": "MAJOR interaction: ibuprofen + warfarin", "indicator": "critical" })])
                .expect("sent");
            let n = s
                .receive(&json!({ "feedback": [{
                    "card": "c-1", "outcome": "overridden",
                    "overrideReason": { "reason": { "code": "benefit-outweighs-risk" }, "userComment": "short course" },
                    "outcomeTimestamp": "2026-12-04T10:00:00Z"
                }] }))
                .expect("stored");
            assert_eq!(n, 1);
        }
        let s = FeedbackStore::open(dir.path()).expect("reopens");
        let all = s.feedback();
        assert_eq!(all.len(), 1);
        let Record::Feedback {
            outcome,
            card_summary,
            override_reason,
            ..
        } = &all[0]
        else {
            panic!("a feedback record: {all:?}");
        };
        assert_eq!(outcome, "overridden");
        assert_eq!(
            card_summary.as_deref(),
            Some("MAJOR interaction: ibuprofen + warfarin")
        );
        assert_eq!(
            override_reason.as_ref().map(|r| &r["userComment"]),
            Some(&json!("short course"))
        );
    }

    #[test]
    fn bad_feedback_names_the_field_and_stores_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let s = FeedbackStore::open(dir.path()).expect("opens");
        for (body, field) in [
            (json!({}), "feedback"),
            (
                json!({ "feedback": [{ "outcome": "accepted", "outcomeTimestamp": "2026-12-04T10:00:00Z" }] }),
                "feedback[0].card",
            ),
            (
                json!({ "feedback": [{ "card": "x", "outcome": "ignored", "outcomeTimestamp": "2026-12-04T10:00:00Z" }] }),
                "feedback[0].outcome",
            ),
            (
                json!({ "feedback": [{ "card": "x", "outcome": "accepted", "outcomeTimestamp": "yesterday" }] }),
                "feedback[0].outcomeTimestamp",
            ),
        ] {
            let e = s.receive(&body).expect_err("refused");
            assert_eq!(e.field, field);
        }
        assert!(s.feedback().is_empty());
    }
}
