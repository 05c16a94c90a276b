//! Who is asking: the end user a request is answered for.

/// Who is asking: the end user on whose behalf the backend calls
/// [`Chat::ask`](crate::Chat::ask).
///
/// # Example
/// ```
/// use sqlveil::Context;
/// let ctx = Context::new("alice@support").role("support").request_id("req-42");
/// assert_eq!(ctx.role_name(), Some("support"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub(super) actor: String,
    pub(super) role: Option<String>,
    pub(super) request_id: Option<String>,
}

impl Context {
    /// A context for an actor (a user id, as the audit log should name it).
    /// Without a role, no token is revealed.
    pub fn new(actor: impl Into<String>) -> Context {
        Context {
            actor: actor.into(),
            ..Context::default()
        }
    }

    /// The role whose `reveal` classes the answer is revealed for.
    pub fn role(mut self, role: impl Into<String>) -> Context {
        self.role = Some(role.into());
        self
    }

    /// The request's id in the backend's logs (one is made up when absent).
    pub fn request_id(mut self, id: impl Into<String>) -> Context {
        self.request_id = Some(id.into());
        self
    }

    /// The role, if any.
    pub fn role_name(&self) -> Option<&str> {
        self.role.as_deref()
    }
}

/// An actor without a role: `chat.ask(question, "alice")` asks for `alice`
/// and reveals no token.
impl From<&str> for Context {
    fn from(actor: &str) -> Context {
        Context::new(actor)
    }
}

impl From<&Context> for Context {
    fn from(ctx: &Context) -> Context {
        ctx.clone()
    }
}
