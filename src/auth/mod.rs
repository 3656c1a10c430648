//! Who is calling: passwords, tokens, lockout, and the `Caller` extractor.
//!
//! This module decides identity and role; it never reads or writes a
//! restaurant's configuration.

pub mod caller;
pub mod lockout;
pub mod passwords;
pub mod sessions;
pub mod tokens;

pub use caller::Caller;
pub use passwords::Passwords;
pub use tokens::TokenKeys;
