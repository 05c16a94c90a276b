//! Pure value transforms: a mask of one text value, a generalization of one
//! column. They hold no policy logic: the protection stage (rows) and the
//! detectors (known `mask` values found in free text) decide where they
//! apply, and both import this module, which imports only the rules, the
//! keys and the errors.

pub(crate) mod generalize;
pub(crate) mod mask;

use ring::hmac;

use crate::error::Error;
use crate::rules::{Mask, MaskKind};
use crate::tokens::MasterKey;

/// Masks one text value, as the protection stage does for a column with
/// this mask (a `hash` mask under the column's or link's own key).
///
/// # Errors
/// The mask key cannot be derived.
///
/// # Example
/// ```
/// use sqlveil::MasterKey;
/// use sqlveil::rules::{Mask, MaskKind};
/// use sqlveil::transform::mask_value;
/// let key = MasterKey::from_bytes(&[7; 32]);
/// let last4 = Mask::new(MaskKind::Last4).fixed_length(true);
/// assert_eq!(mask_value(&last4, "+1 (678) 555-0132", &key)?, "****0132");
/// let a = Mask::new(MaskKind::Hash).hash_key("column:customers.email");
/// let b = Mask::new(MaskKind::Hash).hash_key("column:orders.email");
/// assert_ne!(mask_value(&a, "x@example.com", &key)?, mask_value(&b, "x@example.com", &key)?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn mask_value(m: &Mask, value: &str, key: &MasterKey) -> Result<String, Error> {
    let k = mask_key(key, m)?;
    let mut out = String::new();
    mask::mask(m, value, &k, &mut out);
    Ok(out)
}

/// The key of a `hash` mask: the column's own or its link's (see
/// [`Mask::hash_key`]); other masks have none, and get the shared one.
pub(crate) fn mask_key(key: &MasterKey, m: &Mask) -> Result<hmac::Key, Error> {
    match (&m.kind, &m.hash_key) {
        (MaskKind::Hash, Some(scope)) => key.hmac_key("mask-hash", scope),
        _ => key.hmac_key("mask-hash", ""),
    }
}
