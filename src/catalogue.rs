//! The open-model catalogue (`rxguide models`, the `M` overlay of the
//! rehearsal and review screens): open healthcare and general models a user
//! might run with rxguide, from `catalogue/models.toml`, embedded at build
//! time. Each entry names its source (model card or paper DOI); what is not
//! known is written "unknown", never guessed.

use serde::{Deserialize, Serialize};

/// The versioned catalogue source.
pub const CATALOGUE_TOML: &str = include_str!("../catalogue/models.toml");

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("catalogue/models.toml: {0}")]
    Parse(String),
    #[error("catalogue/models.toml: model {name}: {message}")]
    Invalid { name: String, message: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub version: u32,
    #[serde(rename = "model")]
    pub models: Vec<ModelEntry>,
}

/// How rxguide can use a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Serve {
    /// A GGUF file through `--backend local --model PATH`.
    Local,
    /// Behind an OpenAI-compatible server (vLLM, mistral.rs, llama.cpp).
    Openai,
    /// Not a text-generation model rxguide can use.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    pub name: String,
    pub hf_id: String,
    #[serde(default)]
    pub default: bool,
    pub params: String,
    pub licence: String,
    pub weights: String,
    pub data: String,
    pub code: String,
    pub category: String,
    pub gguf: String,
    pub serve: Vec<Serve>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub source: String,
}

pub const CATEGORIES: [&str; 5] = [
    "clinical-qa",
    "biomedical-text",
    "imaging",
    "multimodal",
    "general",
];
const OPENNESS: [&str; 4] = ["yes", "partial", "no", "unknown"];
const GGUF: [&str; 4] = ["official", "community", "no", "unknown"];

impl ModelEntry {
    /// "weights, data, code" as released.
    pub fn open_summary(&self) -> String {
        format!(
            "weights {}, data {}, code {}",
            self.weights, self.data, self.code
        )
    }

    /// The commands that run this model with rxguide.
    pub fn commands(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.serve {
            match s {
                Serve::Local if self.default => {
                    out.push("scripts/fetch-model && rxguide tui --backend local".to_string())
                }
                Serve::Local => out.push(format!(
                    "rxguide tui --backend local --model PATH/TO/{}.gguf",
                    self.file_stem()
                )),
                Serve::Openai => {
                    out.push(format!(
                        "vllm serve {id}  # or: llama-server -m MODEL.gguf --port 8000 / mistralrs-server",
                        id = self.hf_id
                    ));
                    out.push(format!(
                        "rxguide tui --backend openai --base-url http://127.0.0.1:8000/v1 --model-name {}",
                        self.hf_id
                    ));
                }
                Serve::None => out
                    .push("not usable with rxguide (not a text-generation chat model)".to_string()),
            }
        }
        out
    }

    fn file_stem(&self) -> String {
        self.hf_id
            .rsplit('/')
            .next()
            .unwrap_or(&self.hf_id)
            .to_string()
    }

    fn validate(&self) -> Result<(), CatalogueError> {
        let bad = |message: String| CatalogueError::Invalid {
            name: self.name.clone(),
            message,
        };
        if !CATEGORIES.contains(&self.category.as_str()) {
            return Err(bad(format!(
                "category {:?}; accepted: {}",
                self.category,
                CATEGORIES.join(", ")
            )));
        }
        for (field, v) in [
            ("weights", &self.weights),
            ("data", &self.data),
            ("code", &self.code),
        ] {
            if !OPENNESS.contains(&v.as_str()) {
                return Err(bad(format!(
                    "{field} {v:?}; accepted: {}",
                    OPENNESS.join(", ")
                )));
            }
        }
        if !GGUF.contains(&self.gguf.as_str()) {
            return Err(bad(format!(
                "gguf {:?}; accepted: {}",
                self.gguf,
                GGUF.join(", ")
            )));
        }
        if !(self.source.starts_with("https://huggingface.co/")
            || self.source.starts_with("https://doi.org/"))
        {
            return Err(bad(format!(
                "source {:?}: a model card (https://huggingface.co/...) or a DOI (https://doi.org/...)",
                self.source
            )));
        }
        if self.serve.is_empty() {
            return Err(bad("serve is empty".into()));
        }
        Ok(())
    }
}

impl Catalogue {
    pub fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
        let c: Catalogue =
            toml::from_str(text).map_err(|e| CatalogueError::Parse(e.to_string()))?;
        for m in &c.models {
            m.validate()?;
        }
        let defaults = c.models.iter().filter(|m| m.default).count();
        if defaults != 1 {
            return Err(CatalogueError::Parse(format!(
                "exactly one model must be marked default (found {defaults})"
            )));
        }
        Ok(c)
    }

    /// The embedded catalogue.
    pub fn bundled() -> Result<Catalogue, CatalogueError> {
        Catalogue::parse(CATALOGUE_TOML)
    }

    /// A plain-text table for `rxguide models`.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{:<36} {:>6}  {:<28} {:<15} {:<9} open (weights/data/code)\n",
            "model", "params", "licence", "category", "gguf"
        );
        for m in &self.models {
            let name = if m.default {
                format!("* {}", m.name)
            } else {
                format!("  {}", m.name)
            };
            out.push_str(&format!(
                "{:<36} {:>6}  {:<28} {:<15} {:<9} {}/{}/{}\n",
                name, m.params, m.licence, m.category, m.gguf, m.weights, m.data, m.code
            ));
        }
        out.push_str(
            "\n* default model. Details, commands and sources: rxguide models --json, or M in rxguide rehearse.\n",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_catalogue_is_valid_with_one_default() {
        let c = Catalogue::bundled().expect("valid");
        assert!(c.models.len() >= 12);
        let d: Vec<_> = c.models.iter().filter(|m| m.default).collect();
        assert_eq!(d.len(), 1);
        assert!(d[0].name.contains("SmolLM2-135M"));
        assert_eq!(d[0].licence, "Apache-2.0");
        for cat in CATEGORIES {
            assert!(
                c.models.iter().any(|m| m.category == cat),
                "no model in {cat}"
            );
        }
        assert!(c.table().contains("* SmolLM2-135M"));
    }

    #[test]
    fn bad_category_names_the_field() {
        let text = CATALOGUE_TOML.replacen("category = \"general\"", "category = \"chat\"", 1);
        let e = Catalogue::parse(&text).expect_err("invalid").to_string();
        assert!(e.contains("category \"chat\""), "{e}");
    }

    #[test]
    fn commands_for_local_and_openai() {
        let c = Catalogue::bundled().expect("valid");
        let q = c
            .models
            .iter()
            .find(|m| m.hf_id == "Qwen/Qwen2.5-7B-Instruct")
            .expect("qwen");
        let cmds = q.commands().join("\n");
        assert!(cmds.contains("--model PATH/TO/Qwen2.5-7B-Instruct.gguf"));
        assert!(cmds.contains("--backend openai"));
    }
}
