//! Models for evaluation: one that records what it was asked (and can store
//! the answers), one that replays stored answers, one that answers a
//! question set's scripted SQL.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::QuestionSet;
use crate::chat::{fill_for_question, Chat};
use crate::error::Error;
use crate::llm::{
    estimate_tokens, LanguageModel, ModelError, ModelRequest, ModelResponse, Role, Usage,
};
use crate::rules::Policy;
use crate::tokens::{MasterKey, Tokens};

/// The SHA-256 (hex) of everything a request sends: system prompt, each
/// message with its role, stop sequences, token cap and temperature.
///
/// # Example
/// ```
/// use sqlveil::llm::{Message, ModelRequest};
/// let r = ModelRequest { system: "s".into(), messages: vec![Message::user("q")],
///                        stop: vec![], max_tokens: 10, temperature: 0.0 };
/// assert_eq!(sqlveil::eval::request_hash(&r).len(), 64);
/// ```
pub fn request_hash(request: &ModelRequest) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut part = |s: &[u8]| {
        ctx.update(&(s.len() as u64).to_le_bytes());
        ctx.update(s);
    };
    part(b"sqlveil request v1");
    part(request.system.as_bytes());
    for m in &request.messages {
        part(m.role.as_str().as_bytes());
        part(m.content.as_bytes());
    }
    for s in &request.stop {
        part(s.as_bytes());
    }
    part(&request.max_tokens.to_le_bytes());
    part(&request.temperature.to_bits().to_le_bytes());
    data_encoding::HEXLOWER.encode(ctx.finish().as_ref())
}

/// A stored response.
#[derive(Serialize, Deserialize)]
struct Stored {
    /// The name of the model that gave the response: a replay under
    /// another name is refused, and one folder holds one model's answers.
    model: String,
    text: String,
    prompt_tokens: u64,
    completion_tokens: u64,
}

/// A model wrapper that keeps every request it passes on (for the privacy
/// check) and, with [`record_to`](Self::record_to), stores every response
/// in a folder as `<request hash>.json`.
pub struct RecordingModel {
    inner: Arc<dyn LanguageModel>,
    dir: Option<PathBuf>,
    requests: Mutex<Vec<ModelRequest>>,
    usage: Mutex<Usage>,
}

impl std::fmt::Debug for RecordingModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingModel")
            .field("model", &self.inner.name())
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl RecordingModel {
    /// Wraps a model.
    pub fn new(inner: Arc<dyn LanguageModel>) -> RecordingModel {
        RecordingModel {
            inner,
            dir: None,
            requests: Mutex::new(Vec::new()),
            usage: Mutex::new(Usage::default()),
        }
    }

    /// Stores every response in `dir` (created if missing).
    ///
    /// # Errors
    /// The folder cannot be created.
    pub fn record_to(mut self, dir: impl AsRef<Path>) -> Result<RecordingModel, Error> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| io(dir, source))?;
        self.dir = Some(dir.to_path_buf());
        Ok(self)
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<ModelRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Tokens of every answered request so far.
    pub fn usage(&self) -> Usage {
        self.usage.lock().map(|u| *u).unwrap_or_default()
    }

    /// How many requests so far.
    pub fn request_count(&self) -> usize {
        self.requests.lock().map(|r| r.len()).unwrap_or(0)
    }

    /// The wrapped model's name.
    pub fn name_of_inner(&self) -> &str {
        self.inner.name()
    }
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::new(crate::ErrorKind::Io {
        path: path.to_path_buf(),
        source,
    })
}

impl LanguageModel for RecordingModel {
    fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, ModelError> {
        if let Ok(mut r) = self.requests.lock() {
            r.push(request.clone());
        }
        let response = self.inner.complete(request)?;
        if let Ok(mut u) = self.usage.lock() {
            *u += response.usage;
        }
        if let Some(dir) = &self.dir {
            let path = dir.join(format!("{}.json", request_hash(request)));
            // One folder, one model: the same request recorded for another
            // model would overwrite its answer.
            if let Ok(old) = std::fs::read_to_string(&path) {
                if let Ok(old) = serde_json::from_str::<Stored>(&old) {
                    if old.model != self.inner.name() {
                        return Err(ModelError::Transport(format!(
                            "{} holds a response of model `{}`; record `{}` into a folder of its own",
                            path.display(),
                            old.model,
                            self.inner.name()
                        )));
                    }
                }
            }
            let stored = Stored {
                model: self.inner.name().to_string(),
                text: response.text.clone(),
                prompt_tokens: response.usage.prompt_tokens,
                completion_tokens: response.usage.completion_tokens,
            };
            let json = serde_json::to_string_pretty(&stored)
                .map_err(|e| ModelError::Transport(format!("cannot store a response: {e}")))?;
            std::fs::write(&path, json + "\n").map_err(|e| {
                ModelError::Transport(format!(
                    "cannot store a response in {}: {e}",
                    path.display()
                ))
            })?;
        }
        Ok(response)
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

/// A model that answers from responses a [`RecordingModel`] stored; a
/// request it has no response for fails with [`ModelError::BadResponse`]
/// naming the request's hash.
#[derive(Debug, Clone)]
pub struct ReplayModel {
    dir: PathBuf,
    name: String,
}

impl ReplayModel {
    /// Answers from the responses in `dir`, under the recorded model's name.
    ///
    /// # Errors
    /// `dir` is not a folder.
    pub fn open(dir: impl AsRef<Path>, name: impl Into<String>) -> Result<ReplayModel, Error> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(Error::usage(format!(
                "{} is not a folder of recorded responses",
                dir.display()
            )));
        }
        Ok(ReplayModel {
            dir: dir.to_path_buf(),
            name: name.into(),
        })
    }
}

impl LanguageModel for ReplayModel {
    fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, ModelError> {
        let hash = request_hash(request);
        let path = self.dir.join(format!("{hash}.json"));
        let text = std::fs::read_to_string(&path).map_err(|_| {
            ModelError::BadResponse(format!("no recorded response for request {hash}"))
        })?;
        let s: Stored = serde_json::from_str(&text).map_err(|e| {
            ModelError::BadResponse(format!("the recorded response {hash} is malformed: {e}"))
        })?;
        if s.model != self.name {
            return Err(ModelError::BadResponse(format!(
                "the recorded response {hash} is model `{}`'s, not `{}`'s",
                s.model, self.name
            )));
        }
        Ok(ModelResponse {
            text: s.text,
            usage: Usage {
                prompt_tokens: s.prompt_tokens,
                completion_tokens: s.completion_tokens,
            },
        })
    }

    fn name(&self) -> &str {
        &self.name
    }
}

/// A scripted model for a question set: for each question (found by its
/// scrubbed text in the request) it answers the question's `scripted` SQL,
/// attempt by attempt (default: the gold SQL), slots filled from the
/// question's tokens; the answer-writing call gets a fixed sentence.
///
/// Call [`prepare`](Self::prepare) with the chat once it is built: it
/// scrubs the set's questions as the chat will.
pub struct ScriptedEval {
    tokens: Tokens,
    by_question: Mutex<HashMap<String, (crate::chat::Example, Vec<String>)>>,
}

impl std::fmt::Debug for ScriptedEval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedEval").finish_non_exhaustive()
    }
}

/// What the scripted model writes for the answer.
pub(crate) const SCRIPTED_ANSWER: &str = "Here is what the rows show.";

impl ScriptedEval {
    /// A scripted model for the rules' token format.
    ///
    /// # Errors
    /// Tokens cannot be set up for the rules.
    pub fn new(policy: &Policy, key: &MasterKey) -> Result<ScriptedEval, Error> {
        Ok(ScriptedEval {
            tokens: Tokens::new(
                policy,
                key.clone(),
                Some(Arc::new(crate::tokens::MemoryVault::new())),
            )?,
            by_question: Mutex::new(HashMap::new()),
        })
    }

    /// Learns the set's questions as the chat scrubs them.
    ///
    /// # Errors
    /// A question cannot be scrubbed (the vault), a bad parameter kind.
    pub fn prepare(&self, chat: &Chat, set: &QuestionSet) -> Result<(), Error> {
        let mut map = HashMap::new();
        for q in &set.questions {
            let scrubbed = chat.scrub(&q.question)?;
            let answers = if q.scripted.is_empty() {
                q.gold.iter().cloned().collect()
            } else {
                q.scripted.clone()
            };
            let example = q.as_example("")?;
            map.insert(scrubbed, (example, answers));
        }
        if let Ok(mut m) = self.by_question.lock() {
            *m = map;
        }
        Ok(())
    }
}

impl LanguageModel for ScriptedEval {
    fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, ModelError> {
        let text = if request.system.starts_with("You answer") {
            SCRIPTED_ANSWER.to_string()
        } else {
            let question = request
                .messages
                .first()
                .and_then(|m| m.content.strip_prefix("Question: "))
                .unwrap_or("");
            let attempt = request
                .messages
                .iter()
                .filter(|m| m.role == Role::Assistant)
                .count();
            let map = self
                .by_question
                .lock()
                .map_err(|_| ModelError::Transport("the script is poisoned".into()))?;
            let (example, answers) = map.get(question).ok_or_else(|| {
                ModelError::BadResponse("the script has no answer for this question".into())
            })?;
            let sql = answers
                .get(attempt.min(answers.len().saturating_sub(1)))
                .ok_or_else(|| {
                    ModelError::BadResponse("the script has no SQL for this question".into())
                })?;
            let filled = fill_for_question(&example.clone().with_sql(sql), &self.tokens, question)
                .unwrap_or_else(|| sql.clone());
            format!("```sql\n{filled}\n```")
        };
        let prompt = request.texts().map(estimate_tokens).sum();
        Ok(ModelResponse {
            usage: Usage {
                prompt_tokens: prompt,
                completion_tokens: estimate_tokens(&text),
            },
            text,
        })
    }

    fn name(&self) -> &str {
        "scripted-eval"
    }
}
