//! The trait a language model implements.

use super::{ModelError, ModelRequest, ModelResponse};

/// A language model: a request in, text out.
///
/// Implementations must be `Send + Sync`; the chat pipeline calls them from
/// many threads at once. Calls are blocking: an async server runs the pipeline
/// on a blocking thread (`tokio::task::spawn_blocking`), as
/// `examples/chatbot_backend.rs` shows.
///
/// # Example
/// ```
/// use sqlveil::LanguageModel;
/// use sqlveil::llm::{Message, ModelRequest, ScriptedModel};
/// use std::sync::Arc;
///
/// let model: Arc<dyn LanguageModel> = Arc::new(ScriptedModel::new(["SELECT 1 AS one"]));
/// let answer = model.complete(&ModelRequest {
///     system: "Write SQL.".into(),
///     messages: vec![Message::user("One?")],
///     stop: vec![],
///     max_tokens: 100,
///     temperature: 0.0,
/// })?;
/// assert_eq!(answer.text, "SELECT 1 AS one");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait LanguageModel: Send + Sync {
    /// Sends a request and waits for the answer.
    ///
    /// # Errors
    /// A [`ModelError`] saying why no answer came.
    fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, ModelError>;

    /// A name for the model (its model id), for logs and cache keys.
    fn name(&self) -> &str {
        "model"
    }
}

/// A model behind a reference or a smart pointer is a model, so that
/// [`Chat::builder`](crate::Chat::builder) takes a `ScriptedModel`, an
/// `OpenAiModel` or a model the caller shares (`Arc<M>`, `Arc<dyn
/// LanguageModel>`) alike.
macro_rules! forward_model {
    ($($ty:ty),*) => {$(
        impl<M: LanguageModel + ?Sized> LanguageModel for $ty {
            fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, ModelError> {
                (**self).complete(request)
            }
            fn name(&self) -> &str {
                (**self).name()
            }
        }
    )*};
}
forward_model!(&M, Box<M>, std::sync::Arc<M>);
