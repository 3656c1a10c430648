//! The JWT signing secret: from the environment, or in development generated
//! once and kept in the data directory. There is no built-in fallback.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::config::{Config, MIN_SECRET_BYTES};

const SECRET_FILE: &str = "jwt-secret";

pub fn jwt_secret(config: &Config) -> anyhow::Result<SecretString> {
    if let Some(secret) = &config.jwt_secret {
        if secret.expose_secret().len() < MIN_SECRET_BYTES {
            tracing::warn!(
                "RESTOHUB_JWT_SECRET is shorter than {MIN_SECRET_BYTES} bytes; production would refuse it"
            );
        }
        return Ok(secret.clone());
    }
    load_or_create(&config.data_dir.join(SECRET_FILE))
}

fn load_or_create(path: &Path) -> anyhow::Result<SecretString> {
    match std::fs::read_to_string(path) {
        Ok(s) if s.trim().len() >= MIN_SECRET_BYTES => {
            return Ok(SecretString::from(s.trim().to_owned()))
        }
        Ok(_) => anyhow::bail!(
            "{} is too short; delete it to generate a new one",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            tracing::info!(path = %path.display(), "generated a development JWT secret");
            Ok(SecretString::from(secret))
        }
        // Another instance sharing the data directory won the race.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(path),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}
