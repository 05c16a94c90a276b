//! A model that replays given answers.

use std::sync::Mutex;

use super::{estimate_tokens, LanguageModel, ModelError, ModelRequest, ModelResponse, Usage};

/// A [`LanguageModel`] that replays given answers in order and records every
/// request it received.
///
/// For tests (inspect [`ScriptedModel::requests`] to prove what a model was
/// sent), benchmarks and the offline demo. When its answers run out it fails
/// with [`ModelError::BadResponse`], unless built with
/// [`ScriptedModel::cycle`], which starts again from the first.
///
/// # Example
/// ```
/// use sqlveil::LanguageModel;
/// use sqlveil::llm::{Message, ModelRequest, ScriptedModel};
///
/// let model = ScriptedModel::new(["first", "second"]);
/// let req = ModelRequest {
///     system: String::new(),
///     messages: vec![Message::user("hi")],
///     stop: vec![],
///     max_tokens: 10,
///     temperature: 0.0,
/// };
/// assert_eq!(model.complete(&req)?.text, "first");
/// assert_eq!(model.complete(&req)?.text, "second");
/// assert!(model.complete(&req).is_err());
/// assert_eq!(model.requests().len(), 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Default)]
pub struct ScriptedModel {
    answers: Vec<Result<String, ModelError>>,
    cycle: bool,
    responder: Option<Box<Responder>>,
    state: Mutex<State>,
}

type Responder = dyn Fn(&ModelRequest) -> Result<String, ModelError> + Send + Sync;

impl std::fmt::Debug for ScriptedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedModel")
            .field("answers", &self.answers.len())
            .field("cycle", &self.cycle)
            .field("responder", &self.responder.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
struct State {
    next: usize,
    requests: Vec<ModelRequest>,
}

impl ScriptedModel {
    /// A model that gives these answers, one per call, then fails.
    pub fn new<I, S>(answers: I) -> ScriptedModel
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ScriptedModel {
            answers: answers.into_iter().map(|a| Ok(a.into())).collect(),
            ..ScriptedModel::default()
        }
    }

    /// A model that gives these answers in a loop, forever.
    pub fn cycle<I, S>(answers: I) -> ScriptedModel
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ScriptedModel {
            cycle: true,
            ..ScriptedModel::new(answers)
        }
    }

    /// A model whose answers may be failures, one per call.
    pub fn with_results<I>(answers: I) -> ScriptedModel
    where
        I: IntoIterator<Item = Result<String, ModelError>>,
    {
        ScriptedModel {
            answers: answers.into_iter().collect(),
            ..ScriptedModel::default()
        }
    }

    /// A model whose answer is computed from the request (to script a
    /// conversation that depends on what the pipeline sent, such as a token
    /// in the scrubbed question).
    pub fn from_fn<F>(f: F) -> ScriptedModel
    where
        F: Fn(&ModelRequest) -> Result<String, ModelError> + Send + Sync + 'static,
    {
        ScriptedModel {
            responder: Some(Box::new(f)),
            ..ScriptedModel::default()
        }
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<ModelRequest> {
        self.state
            .lock()
            .map(|s| s.requests.clone())
            .unwrap_or_default()
    }

    /// Forgets the recorded requests (the answers' position is kept).
    pub fn clear_requests(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.requests.clear();
        }
    }
}

impl LanguageModel for ScriptedModel {
    fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, ModelError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| ModelError::Transport("the scripted model's state is poisoned".into()))?;
        state.requests.push(request.clone());
        let at = state.next;
        let answer = match (self.answers.get(at), &self.responder) {
            (_, Some(f)) => f(request),
            (Some(a), None) => a.clone(),
            (None, None) if self.cycle && !self.answers.is_empty() => {
                self.answers[at % self.answers.len()].clone()
            }
            (None, None) => Err(ModelError::BadResponse(format!(
                "the scripted model has no answer left (it had {})",
                self.answers.len()
            ))),
        };
        state.next += 1;
        let text = answer?;
        let prompt: u64 = request.texts().map(estimate_tokens).sum();
        Ok(ModelResponse {
            usage: Usage {
                prompt_tokens: prompt,
                completion_tokens: estimate_tokens(&text),
            },
            text,
        })
    }

    fn name(&self) -> &str {
        "scripted"
    }
}
