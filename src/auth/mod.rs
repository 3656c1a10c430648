//! Who is calling: passwords, tokens, lockout, and the verified `Caller`.
//!
//! The building blocks of identity; the use cases that log in, rotate
//! tokens and open guest sessions are in `app::sessions`. This module never
//! reads or writes storage.

pub mod caller;
pub mod lockout;
pub mod passwords;
pub mod revocation;
pub mod tokens;

pub use caller::Caller;
pub use passwords::Passwords;
pub use revocation::RevocationIndex;
pub use tokens::TokenKeys;
