//! Language models: the one place text leaves for a model.
//!
//! [`LanguageModel`] is the trait the chat pipeline calls: a [`ModelRequest`]
//! (system prompt, messages, stop sequences, token cap, temperature) in, a
//! [`ModelResponse`] (text and token usage) out, or a typed [`ModelError`].
//! It is object safe, so a backend can hold an `Arc<dyn LanguageModel>`.
//!
//! Two implementations come with the crate:
//!
//! - [`ScriptedModel`] replays given answers and records every request it
//!   received — for tests, benchmarks and the offline demo;
//! - `OpenAiModel` (feature `openai`) speaks the OpenAI chat-completions
//!   protocol, which OpenAI, vLLM, llama.cpp's server and Ollama all serve.
//!
//! The pipeline only ever puts into a request what the policy lets a model
//! see; an implementation of this trait needs no privacy logic of its own.

pub(crate) mod model;
#[cfg(feature = "openai")]
mod openai;
mod scripted;

pub(crate) use self::model::LanguageModel;
// `crate::llm::ModelError` inside the crate; its public path is `sqlveil::error::ModelError`.
#[cfg(feature = "openai")]
pub use self::openai::{OpenAiModel, OpenAiModelBuilder};
pub use self::scripted::ScriptedModel;
pub(crate) use crate::error::ModelError;

/// Who wrote a message of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The application, on behalf of the end user.
    User,
    /// The model, in an earlier turn.
    Assistant,
}

impl Role {
    /// The role's name in the OpenAI protocol.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text.
    pub content: String,
}

impl Message {
    /// A message from the application.
    pub fn user(content: impl Into<String>) -> Message {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }

    /// A message the model wrote earlier.
    pub fn assistant(content: impl Into<String>) -> Message {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// What is sent to a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelRequest {
    /// The system prompt.
    pub system: String,
    /// The conversation, oldest first.
    pub messages: Vec<Message>,
    /// Sequences at which the model stops writing.
    pub stop: Vec<String>,
    /// The most tokens the model may write.
    pub max_tokens: u32,
    /// Sampling temperature; the pipeline uses 0 so that the same question
    /// gives the same SQL.
    pub temperature: f32,
}

impl ModelRequest {
    /// Every text of the request (system prompt and messages), for tests and
    /// audits that check what a model received.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.system.as_str())
            .chain(self.messages.iter().map(|m| m.content.as_str()))
    }
}

/// Token counts of one model call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens the model wrote.
    pub completion_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        // Counts come from the server: saturate, never overflow.
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
    }
}

/// What a model answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelResponse {
    /// The text the model wrote.
    pub text: String,
    /// Token counts, as the model reported them (estimated when it did not).
    pub usage: Usage,
}

/// An estimate of a text's token count (4 bytes a token), for budgets and for
/// models that do not report usage.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}
