//! argon2id password hashing, always off the async worker threads and with
//! a bounded number running at once (each one takes ~19 MiB and a core).

use std::sync::Arc;

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::Semaphore;

pub struct Passwords {
    /// Verified against when the account does not exist, so an unknown
    /// email costs the same time as a wrong password.
    dummy_hash: String,
    permits: Arc<Semaphore>,
}

impl Passwords {
    pub async fn new() -> anyhow::Result<Passwords> {
        let permits = Arc::new(Semaphore::new(
            std::thread::available_parallelism().map_or(2, |n| n.get() * 2),
        ));
        let mut passwords = Passwords {
            dummy_hash: String::new(),
            permits,
        };
        passwords.dummy_hash = passwords.hash("restohub-timing-equaliser".into()).await?;
        Ok(passwords)
    }

    /// A PHC-format argon2id hash with a fresh salt.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
        })
        .await
        .context("password hashing task failed")?
    }

    /// Checks `password` against `hash`, or against a dummy hash when there
    /// is no account (and then always returns false).
    pub async fn verify(&self, password: String, hash: Option<String>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        let exists = hash.is_some();
        let hash = hash.unwrap_or_else(|| self.dummy_hash.clone());
        let matches = tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&hash)
                .map_err(|e| anyhow::anyhow!("stored password hash is malformed: {e}"))?;
            Ok::<_, anyhow::Error>(
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok(),
            )
        })
        .await
        .context("password verification task failed")??;
        Ok(exists && matches)
    }
}
