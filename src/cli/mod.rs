//! Headless commands behind the `rxguide` binary. `main.rs` holds only the
//! argument definitions and dispatch; each command lives in its own file.

pub mod ask;
pub mod check;
pub mod eval;
pub mod export;
pub mod kb;
pub mod serve;

use crate::kb::store::{data_dir, open_kb, OpenInfo};
use crate::kb::{Kb, Sources};
use std::path::{Path, PathBuf};

/// Prints an error as `error: ...` on stderr with its control and
/// bidirectional characters shown, not obeyed (an escape sequence in a
/// case file's drug name cannot rewrite the terminal through an error
/// message).
pub fn print_error(e: &dyn std::fmt::Display) {
    eprintln!("error: {}", crate::vocab::text::visible(&e.to_string()));
}

/// Options every command shares.
#[derive(Debug, Clone, Default)]
pub struct Global {
    pub data_dir: Option<PathBuf>,
    pub kb_dir: Option<PathBuf>,
}

impl Global {
    pub fn data_dir(&self) -> PathBuf {
        data_dir(self.data_dir.as_deref())
    }

    pub fn sources(&self) -> anyhow::Result<Sources> {
        Ok(match &self.kb_dir {
            Some(dir) => Sources::from_dir(dir)?,
            None => Sources::bundled(),
        })
    }

    /// Opens the knowledge base, rebuilding the store if the sources changed.
    pub fn open_kb(&self) -> anyhow::Result<(Kb, OpenInfo)> {
        let sources = self.sources()?;
        Ok(open_kb(&self.data_dir(), &sources)?)
    }
}

/// Exit status for bad input (case files, arguments).
pub const EXIT_BAD_INPUT: i32 = 2;

/// True when colour may be used on stdout.
pub fn stdout_color() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn display(p: &Path) -> String {
    p.display().to_string()
}

/// Which model answers: shared by `ask`, `eval` and the other front ends.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BackendArgs {
    /// local (mistral.rs GGUF), openai (OpenAI-compatible server) or none.
    #[arg(long, default_value = "local", value_parser = parse_backend)]
    pub backend: crate::llm::BackendKind,
    /// GGUF file for the local backend (default: the fetched SmolLM2).
    #[arg(long, env = "RXGUIDE_MODEL")]
    pub model: Option<PathBuf>,
    /// Base URL of an OpenAI-compatible server (openai backend).
    #[arg(long)]
    pub base_url: Option<String>,
    /// Model name to request from the server (openai backend).
    #[arg(long)]
    pub model_name: Option<String>,
}

fn parse_backend(s: &str) -> Result<crate::llm::BackendKind, String> {
    s.parse()
}

impl BackendArgs {
    pub fn config(&self) -> crate::llm::BackendConfig {
        crate::llm::BackendConfig {
            kind: self.backend,
            model_path: self.model.clone(),
            base_url: self.base_url.clone(),
            model_name: self.model_name.clone(),
            ..Default::default()
        }
    }

    pub fn generator(
        &self,
    ) -> Result<std::sync::Arc<dyn crate::llm::Generator>, crate::llm::LlmError> {
        crate::llm::make_generator(&self.config())
    }
}
