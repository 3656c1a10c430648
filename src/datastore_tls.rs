//! TLS to the data stores: what is checked once at start, and the one place
//! the Redis client is built.
//!
//! PostgreSQL takes its TLS settings from `DATABASE_URL` as libpq does
//! (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`; sqlx reads them); Redis
//! from a `rediss://` URL plus the CA and client certificate files named by
//! `--redis-ca-file`, `--redis-client-cert-file`, `--redis-client-key-file`.
//! Files are read and parsed here, at start, so a missing or unreadable one
//! is one clear line and not a failure at the first connection. Production
//! refuses plain text to a data store on another machine. This module never
//! opens a connection.

use std::path::Path;
use std::str::FromStr;

use anyhow::{bail, Context};
use redis::{ClientTlsConfig, ConnectionAddr, IntoConnectionInfo, TlsCertificates};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use sqlx::postgres::{PgConnectOptions, PgSslMode};

/// The certificates for `rediss://`, read and checked at start.
#[derive(Clone, Default)]
pub struct RedisTls {
    /// PEM CA certificates that alone are trusted for the server; `None`:
    /// the system's CA store.
    ca: Option<Vec<u8>>,
    /// PEM client certificate chain and private key, for servers that
    /// require clients to authenticate (`tls-auth-clients yes`).
    client: Option<(Vec<u8>, SecretSlice<u8>)>,
}

impl std::fmt::Debug for RedisTls {
    // The private key must never reach logs; whether one is set is enough.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTls")
            .field("ca", &self.ca.is_some())
            .field("client_certificate", &self.client.is_some())
            .finish()
    }
}

impl RedisTls {
    /// Reads the files the operator named. Each must be readable and hold
    /// what its name says; certificate and key come together.
    pub fn read(
        ca: Option<&Path>,
        client_cert: Option<&Path>,
        client_key: Option<&Path>,
    ) -> anyhow::Result<RedisTls> {
        let ca = ca
            .map(|path| read_certificates("--redis-ca-file", path))
            .transpose()?;
        let client = match (client_cert, client_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some((
                read_certificates("--redis-client-cert-file", cert)?,
                read_private_key("--redis-client-key-file", key)?,
            )),
            _ => {
                bail!("--redis-client-cert-file and --redis-client-key-file must be given together")
            }
        };
        Ok(RedisTls { ca, client })
    }

    fn is_set(&self) -> bool {
        self.ca.is_some() || self.client.is_some()
    }
}

/// Builds the Redis client every part of the hub uses (the broker, the
/// readiness check): `redis://` as is, `rediss://` with the configured CA
/// and client certificate. Refuses `#insecure` (no certificate check),
/// which this build does not support, and TLS files with a plain URL.
pub fn redis_client(url: &SecretString, tls: &RedisTls) -> anyhow::Result<redis::Client> {
    install_crypto_provider();
    // The URL may hold a password: errors name the setting, never the value.
    let info = url
        .expose_secret()
        .into_connection_info()
        .map_err(|e| anyhow::anyhow!("REDIS_URL is not a valid redis:// or rediss:// URL: {e}"))?;
    match &info.addr {
        ConnectionAddr::TcpTls { insecure: true, .. } => bail!(
            "REDIS_URL ends in #insecure (no certificate check), which restohub refuses; \
             give the server's CA with --redis-ca-file instead"
        ),
        ConnectionAddr::TcpTls { .. } if tls.is_set() => {
            let certificates = TlsCertificates {
                client_tls: tls.client.as_ref().map(|(cert, key)| ClientTlsConfig {
                    client_cert: cert.clone(),
                    client_key: key.expose_secret().to_vec(),
                }),
                root_cert: tls.ca.clone(),
            };
            redis::Client::build_with_tls(info, certificates)
                .map_err(|e| anyhow::anyhow!("cannot set up TLS to Redis: {e}"))
        }
        ConnectionAddr::TcpTls { .. } => Ok(redis::Client::open(info)?),
        _ if tls.is_set() => bail!(
            "--redis-ca-file or a client certificate is set but REDIS_URL is not rediss://; \
             use rediss:// for TLS"
        ),
        _ => Ok(redis::Client::open(info)?),
    }
}

/// Checks the TLS settings of a PostgreSQL URL: the `sslmode` is known and
/// the certificate and key files it names (or `PGSSLROOTCERT`, `PGSSLCERT`,
/// `PGSSLKEY`) can be read and parsed.
pub fn check_postgres(url: &SecretString) -> anyhow::Result<()> {
    PgConnectOptions::from_str(url.expose_secret())
        .map_err(|e| anyhow::anyhow!("DATABASE_URL is not a valid postgres:// URL: {e}"))?;
    let parsed = url::Url::parse(url.expose_secret())
        .map_err(|e| anyhow::anyhow!("DATABASE_URL is not a valid postgres:// URL: {e}"))?;
    let named = |keys: &[&str], env: &str| {
        parsed
            .query_pairs()
            .find(|(k, _)| keys.contains(&k.as_ref()))
            .map(|(_, v)| v.into_owned())
            .or_else(|| std::env::var(env).ok())
            // sqlx also takes the PEM text itself in place of a path.
            .filter(|v| !v.trim_start().starts_with("-----BEGIN"))
    };
    if let Some(ca) = named(&["sslrootcert", "ssl-root-cert", "ssl-ca"], "PGSSLROOTCERT") {
        read_certificates("DATABASE_URL's sslrootcert", Path::new(&ca))?;
    }
    if let Some(cert) = named(&["sslcert", "ssl-cert"], "PGSSLCERT") {
        read_certificates("DATABASE_URL's sslcert", Path::new(&cert))?;
    }
    if let Some(key) = named(&["sslkey", "ssl-key"], "PGSSLKEY") {
        read_private_key("DATABASE_URL's sslkey", Path::new(&key))?;
    }
    Ok(())
}

/// Production's rule: a data store on another machine is reached over TLS
/// that cannot silently fall back to plain text. For PostgreSQL that is
/// `sslmode=require`, `verify-ca` or `verify-full` (libpq's default,
/// `prefer`, falls back); for Redis, `rediss://`. Loopback and Unix
/// sockets never leave the machine.
pub fn refuse_plain_text(
    database: Option<&SecretString>,
    redis: Option<&SecretString>,
) -> anyhow::Result<()> {
    const HOW: &str = "refusing to start in production \
                       (--allow-plaintext-datastores if the network is private)";
    if let Some(url) = database {
        let options = PgConnectOptions::from_str(url.expose_secret())
            .context("DATABASE_URL is not a valid postgres:// URL")?;
        let local = on_this_machine(&options);
        let encrypted = matches!(
            options.get_ssl_mode(),
            PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull
        );
        if !local && !encrypted {
            bail!(
                "DATABASE_URL reaches another machine without sslmode=verify-full \
                 (or require); {HOW}"
            );
        }
    }
    if let Some(url) = redis {
        let info = url
            .expose_secret()
            .into_connection_info()
            .map_err(|e| anyhow::anyhow!("REDIS_URL is not a valid redis:// URL: {e}"))?;
        if let ConnectionAddr::Tcp(host, _) = &info.addr {
            if !is_local_host(host) {
                bail!("REDIS_URL reaches another machine without TLS (use rediss://); {HOW}");
            }
        }
    }
    Ok(())
}

/// A warning for a PostgreSQL URL that encrypts without checking whom it
/// talks to: anyone on the path can present a certificate of their own.
pub fn postgres_warning(url: &SecretString) -> Option<&'static str> {
    let options = PgConnectOptions::from_str(url.expose_secret()).ok()?;
    let local = on_this_machine(&options);
    match options.get_ssl_mode() {
        PgSslMode::Require if !local => Some(
            "DATABASE_URL has sslmode=require: encrypted, but the server's certificate is \
             not checked; use sslmode=verify-full with sslrootcert",
        ),
        _ => None,
    }
}

/// Whether the hub should first try `url` in plain text. libpq's default
/// mode, `prefer`, encrypts whenever the server can; to this machine
/// (loopback or a Unix socket) TLS guards nothing the operating system does
/// not, and costs CPU at both ends of every round trip (BENCHMARKS.md,
/// "Session 7 of issue 22"). So a URL to this machine that names no
/// `sslmode` (nor `PGSSLMODE`, `mode_in_env`) is tried in plain text first;
/// storage falls back to the default when the server refuses that. A mode
/// the operator names is kept as named.
pub fn plain_text_first(url: &str, mode_in_env: bool) -> bool {
    let Ok(options) = PgConnectOptions::from_str(url) else {
        return false;
    };
    let local = on_this_machine(&options);
    let named = url::Url::parse(url).is_ok_and(|u| {
        u.query_pairs()
            .any(|(k, _)| k == "sslmode" || k == "ssl-mode")
    });
    local && !named && !mode_in_env
}

/// Makes ring, the one crypto provider built in (sqlx's TLS uses it too),
/// the process default. redis builds its TLS settings from the default and
/// would panic at connect if it had to choose among several.
pub fn install_crypto_provider() {
    // rustls 0.23.48 deprecates ring for lacking post-quantum key exchange;
    // it is still the provider sqlx 0.8's TLS is built on, and the servers
    // we talk to (OpenSSL 3.0 in Debian 12) offer none either.
    // Err only means a provider is installed already, which is all we need.
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether PostgreSQL `options` reach this machine (a Unix socket, or a
/// host [`is_local_host`] accepts).
fn on_this_machine(options: &PgConnectOptions) -> bool {
    options.get_socket().is_some() || is_local_host(options.get_host())
}

/// This machine: `localhost`, a loopback address, or a Unix socket's
/// directory.
pub fn is_local_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host.starts_with('/')
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn read_certificates(setting: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    let pem = std::fs::read(path)
        .with_context(|| format!("{setting} {}: cannot read", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{setting} {}: not PEM: {e}", path.display()))?;
    if certs.is_empty() {
        bail!("{setting} {}: holds no PEM certificate", path.display());
    }
    Ok(pem)
}

fn read_private_key(setting: &str, path: &Path) -> anyhow::Result<SecretSlice<u8>> {
    let pem = SecretSlice::from(
        std::fs::read(path)
            .with_context(|| format!("{setting} {}: cannot read", path.display()))?,
    );
    // The parse error is generic on purpose: it says nothing of the key.
    PrivateKeyDer::from_pem_slice(pem.expose_secret())
        .map_err(|_| anyhow::anyhow!("{setting} {}: holds no PEM private key", path.display()))?;
    Ok(pem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn plain_text_is_tried_first_only_to_this_machine_with_no_mode_named() {
        for url in [
            "postgres://app@127.0.0.1:5432/app",
            "postgres://app@localhost/app",
            "postgres://app@[::1]:5432/app",
            "postgres://app@localhost/app?application_name=hub",
        ] {
            assert!(plain_text_first(url, false), "{url}");
            assert!(!plain_text_first(url, true), "PGSSLMODE set: {url}");
        }
        for url in [
            "postgres://app@127.0.0.1/app?sslmode=prefer",
            "postgres://app@127.0.0.1/app?sslmode=require",
            "postgres://app@localhost/app?ssl-mode=verify-full",
            "postgres://app@db.internal/app",
            "postgres://app@10.0.0.5/app",
            "not a url",
        ] {
            assert!(!plain_text_first(url, false), "{url}");
        }
    }

    #[test]
    fn production_refuses_plain_text_to_another_machine() {
        for (db, redis) in [
            ("postgres://app@db.internal/app", None),
            ("postgres://app@db.internal/app?sslmode=prefer", None),
            ("postgres://app@10.0.0.5/app?sslmode=disable", None),
            (
                "postgres://app@localhost/app",
                Some("redis://cache.internal:6379"),
            ),
        ] {
            let err = refuse_plain_text(Some(&secret(db)), redis.map(secret).as_ref())
                .expect_err(db)
                .to_string();
            assert!(err.contains("refusing to start in production"), "{err}");
        }
        for (db, redis) in [
            ("postgres://app@db.internal/app?sslmode=verify-full", None),
            ("postgres://app@db.internal/app?sslmode=require", None),
            (
                "postgres://app@127.0.0.1/app",
                Some("redis://127.0.0.1:6379"),
            ),
            ("postgres://app@[::1]:5432/app", Some("redis://localhost")),
            (
                "postgres:///app?host=/run/postgresql",
                Some("rediss://cache.internal"),
            ),
        ] {
            refuse_plain_text(Some(&secret(db)), redis.map(secret).as_ref())
                .unwrap_or_else(|e| panic!("{db} {redis:?}: {e}"));
        }
    }

    #[test]
    fn only_unverified_encryption_off_this_machine_is_warned_about() {
        let warned = |url: &str| postgres_warning(&secret(url)).is_some();
        assert!(warned("postgres://app@db.internal/app?sslmode=require"));
        assert!(!warned(
            "postgres://app@db.internal/app?sslmode=verify-full"
        ));
        assert!(!warned("postgres://app@127.0.0.1/app?sslmode=require"));
    }

    #[test]
    fn insecure_redis_and_tls_files_with_plain_urls_are_refused() {
        let none = RedisTls::default();
        let err = redis_client(&secret("rediss://cache.internal/#insecure"), &none).unwrap_err();
        assert!(err.to_string().contains("#insecure"), "{err}");
        let with_ca = RedisTls {
            ca: Some(b"pem".to_vec()),
            client: None,
        };
        let err = redis_client(&secret("redis://cache.internal"), &with_ca).unwrap_err();
        assert!(err.to_string().contains("not rediss://"), "{err}");
        redis_client(&secret("rediss://cache.internal"), &none).unwrap();
    }

    #[test]
    fn the_client_key_never_shows_in_debug_output() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["restohub".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let (cert_path, key_path) = (dir.path().join("c.pem"), dir.path().join("c.key"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        let tls = RedisTls::read(None, Some(&cert_path), Some(&key_path)).unwrap();
        let debug = format!("{tls:?}");
        assert!(!debug.contains("PRIVATE KEY"), "{debug}");
        assert_eq!(debug, "RedisTls { ca: false, client_certificate: true }");
    }

    #[test]
    fn unreadable_or_wrong_files_are_named_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let err = RedisTls::read(Some(&missing), None, None).unwrap_err();
        let line = format!("{err:#}");
        assert!(
            line.contains("--redis-ca-file") && line.contains("missing.pem"),
            "{line}"
        );
        let not_pem = dir.path().join("notes.txt");
        std::fs::write(&not_pem, "not a certificate").unwrap();
        let err = RedisTls::read(Some(&not_pem), None, None).unwrap_err();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
        let err = RedisTls::read(None, Some(&not_pem), None).unwrap_err();
        assert!(err.to_string().contains("together"), "{err}");
        let url = format!(
            "postgres://app@db/app?sslmode=verify-full&sslrootcert={}",
            missing.display()
        );
        let err = format!("{:#}", check_postgres(&secret(&url)).unwrap_err());
        assert!(
            err.contains("sslrootcert") && err.contains("missing.pem"),
            "{err}"
        );
        let err = check_postgres(&secret("postgres://app@db/app?sslmode=sometimes")).unwrap_err();
        assert!(err.to_string().contains("\"sometimes\""), "{err}");
    }
}
