//! The `none` backend: no model, no answer. The flags and sources stand on
//! their own; the UI shows [`NO_MODEL_MESSAGE`](super::NO_MODEL_MESSAGE).

use std::time::Instant;

use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{
    finish, ms, FinishReason, GenEvent, GenRequest, GenStats, Generator, LlmError, NO_MODEL_MESSAGE,
};

/// Produces no answer: one `Done` with [`FinishReason::NoModel`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoneGenerator;

impl Generator for NoneGenerator {
    fn name(&self) -> &str {
        "none"
    }

    fn model(&self) -> String {
        "none".to_string()
    }

    fn health_check(&self) -> BoxFuture<'_, Result<String, LlmError>> {
        async { Ok(NO_MODEL_MESSAGE.to_string()) }.boxed()
    }

    fn list_models(&self) -> BoxFuture<'_, Result<Vec<String>, LlmError>> {
        async { Ok(Vec::new()) }.boxed()
    }

    fn generate(
        &self,
        _request: GenRequest,
        tx: mpsc::Sender<GenEvent>,
        _cancel: CancellationToken,
    ) -> BoxFuture<'_, Result<GenStats, LlmError>> {
        async move {
            let start = Instant::now();
            let mut stats = GenStats::empty("none", "none", FinishReason::NoModel);
            stats.total_ms = ms(start.elapsed());
            finish(&tx, Ok(stats)).await
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{collect, ChatMessage, Role};

    #[tokio::test]
    async fn none_answers_nothing_and_says_so() {
        let g = NoneGenerator;
        let out = collect(
            &g,
            GenRequest::new(vec![ChatMessage::new(Role::User, "q")]),
            CancellationToken::new(),
            |_| {},
        )
        .await
        .expect("none never fails");
        assert_eq!(out.text, "");
        assert_eq!(out.stats.finish, FinishReason::NoModel);
        assert_eq!(out.stats.finish.to_string(), NO_MODEL_MESSAGE);
        assert_eq!(
            g.health_check().await.expect("healthy"),
            "no model: flags and sources only"
        );
    }
}
