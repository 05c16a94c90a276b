//! What the guard asks of the tokens: turn a token literal the model wrote
//! back into the value it stands for.

use std::fmt;

use crate::error::Error;
use crate::rules::TokenClass;

/// A token literal resolved to the value it stands for.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolvedToken {
    /// The token's class.
    pub class: TokenClass,
    /// The original value.
    pub value: String,
}

impl fmt::Debug for ResolvedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The value is personal data: never print it.
        f.debug_struct("ResolvedToken")
            .field("class", &self.class)
            .finish_non_exhaustive()
    }
}

/// Turns token literals that sqlveil issued back into values, so that a
/// query can filter a protected column by a token the model saw.
///
/// The protection stage supplies the real resolver; [`NoTokens`] resolves
/// nothing, so such queries are refused as unresolvable.
pub trait TokenResolver: Send + Sync {
    /// Resolves a literal that has the shape of a token.
    ///
    /// Returns `Ok(None)` for a token that was not issued (or was forged).
    ///
    /// # Errors
    /// A failure of the store behind the resolver (a vault that cannot be read).
    fn resolve(&self, token: &str) -> Result<Option<ResolvedToken>, Error>;
}

/// A resolver that knows no token.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTokens;

impl TokenResolver for NoTokens {
    fn resolve(&self, _token: &str) -> Result<Option<ResolvedToken>, Error> {
        Ok(None)
    }
}
