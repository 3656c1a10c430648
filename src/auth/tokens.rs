//! Access tokens (HS256 JWTs) and opaque refresh tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use restohub_protocol::Role;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// `user:<id>` for staff, `guest:<uuid>` for a guest session.
    pub sub: String,
    /// Restaurant id.
    pub rid: i64,
    pub role: Role,
    /// The one table a guest may act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tbl: Option<i64>,
    /// Issued at / expires, seconds since the epoch.
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// A staff token's login session (its refresh-token family), which a
    /// logout ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The account's session version (staff) or the table's visit (guest)
    /// the token was issued for; a revocation ends the lower ones.
    #[serde(default)]
    pub ver: i64,
    /// The account must enrol in MFA first: the token allows nothing else.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mfa_setup: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Invalid,
    Expired,
}

/// The signing keys, derived from the configured secret.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys([redacted])")
    }
}

impl TokenKeys {
    pub fn new(secret: &SecretString) -> TokenKeys {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the hub's clock (which tests can move),
        // not the library's wall clock.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        TokenKeys {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
        }
    }

    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &self.encoding,
        )?)
    }

    /// Verifies signature and algorithm, then expiry against `now_ms`.
    pub fn verify(&self, token: &str, now_ms: i64) -> Result<Claims, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| TokenError::Invalid)?;
        if data.claims.exp * 1000 <= now_ms {
            return Err(TokenError::Expired);
        }
        Ok(data.claims)
    }
}

/// 256 random bits, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A table's guest code (what its QR card carries): 10 characters from 31
/// unambiguous symbols, about 50 bits, unguessable at any rate the hub will
/// answer.
pub fn guest_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// SHA-256 as lower-case hex: what the database keeps instead of a refresh
/// token, and an order request's fingerprint.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_is_the_lower_case_hex_already_stored() {
        // Databases hold refresh tokens and order fingerprints in this form.
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    fn keys(secret: &str) -> TokenKeys {
        TokenKeys::new(&SecretString::from(secret.to_owned()))
    }

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: "user:1".into(),
            rid: 7,
            role: Role::Chef,
            tbl: None,
            iat: 0,
            exp,
            jti: "j".into(),
            sid: None,
            ver: 0,
            mfa_setup: false,
        }
    }

    #[test]
    fn verifies_own_tokens_and_rejects_others() {
        let a = keys("a-secret-that-is-long-enough-32-bytes!");
        let b = keys("another-secret-that-is-long-enough-32!");
        let token = a.sign(&claims(100)).unwrap();
        assert_eq!(a.verify(&token, 99_000).unwrap().rid, 7);
        assert_eq!(a.verify(&token, 100_000).unwrap_err(), TokenError::Expired);
        assert_eq!(b.verify(&token, 0).unwrap_err(), TokenError::Invalid);
        assert_eq!(a.verify("not.a.jwt", 0).unwrap_err(), TokenError::Invalid);
    }
}
