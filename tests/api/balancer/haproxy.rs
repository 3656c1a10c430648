//! haproxy running `deploy/haproxy.cfg` itself, on free loopback ports, with
//! a CA and a certificate made for the test: the clients trust that CA only.
//! Stopped when dropped.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_tungstenite::WebSocketStream;

/// The configuration operators deploy, as the test runs it.
const CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/haproxy.cfg");

pub(crate) struct Haproxy {
    child: Child,
    dir: tempfile::TempDir,
    pub(crate) https_port: u16,
    pub(crate) http_port: u16,
    ca_pem: String,
    tls: Arc<rustls::ClientConfig>,
}

/// One server's line of `show stat`.
#[derive(Debug, Clone)]
pub(crate) struct ServerStat {
    /// UP, DOWN, "UP 1/2" (going down), "DOWN 1/2" (coming up), MAINT...
    pub(crate) status: String,
    /// The last health check's result: L7OK, L4CON (refused), L7STS (bad status)...
    pub(crate) check: String,
    /// Sessions open now.
    pub(crate) current: u64,
}

/// Two free ports (both held until both are known, so they differ).
fn free_ports() -> (u16, u16) {
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let (a, b) = (bind(), bind());
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

impl Haproxy {
    /// Starts haproxy in front of the three hubs (`host:port` each) and
    /// waits until its first health checks found every one ready.
    pub(crate) async fn start(hubs: [&str; 3]) -> Haproxy {
        let dir = tempfile::tempdir().expect("temp dir");
        let (ca_pem, chain_pem) = certificates();
        let cert = dir.path().join("restohub.pem");
        std::fs::write(&cert, chain_pem).unwrap();
        let log = std::fs::File::create(dir.path().join("haproxy.log")).unwrap();
        let (https_port, http_port) = free_ports();
        let mut cmd = Command::new("haproxy");
        // -db: in the foreground, so the test owns the process.
        cmd.args(["-db", "-f", CONFIG])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RESTOHUB_HUB1", hubs[0])
            .env("RESTOHUB_HUB2", hubs[1])
            .env("RESTOHUB_HUB3", hubs[2])
            .env("RESTOHUB_HTTPS_BIND", format!("127.0.0.1:{https_port}"))
            .env("RESTOHUB_HTTP_BIND", format!("127.0.0.1:{http_port}"))
            .env("RESTOHUB_TLS_CERT", &cert)
            .env("RESTOHUB_LB_STATS", dir.path().join("admin.sock"))
            .env("RESTOHUB_LB_LOG", "stdout")
            // Within the file limit a test process has.
            .env("RESTOHUB_LB_MAXCONN", "2000")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            // Only root may chroot and change user, as Debian's service does.
            cmd.env("RESTOHUB_LB_UNPRIVILEGED", "1");
        }
        let child = cmd
            .spawn()
            .expect("haproxy must be installed for the balancer tests (apt-get install haproxy)");
        let mut roots = rustls::RootCertStore::empty();
        for ca in rustls_pki_types_from_pem(&ca_pem) {
            roots.add(ca).unwrap();
        }
        // ring, as reqwest's rustls here: one provider built, and no C
        // toolchain for aws-lc. Post-quantum key exchange (why rustls now
        // prefers aws-lc) is beside the point of a loopback test.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut lb = Haproxy {
            child,
            dir,
            https_port,
            http_port,
            ca_pem,
            tls: Arc::new(tls),
        };
        lb.wait_until_all_ready().await;
        lb
    }

    async fn wait_until_all_ready(&mut self) {
        for _ in 0..200 {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("haproxy exited ({status}):\n{}", self.log());
            }
            if let Ok(servers) = self.try_servers().await {
                if servers.len() == 3 && servers.values().all(|s| s.check == "L7OK") {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("haproxy never found every hub ready:\n{}", self.log());
    }

    /// What haproxy printed (its log goes to stdout here).
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("haproxy.log")).unwrap_or_default()
    }

    fn stats_socket(&self) -> PathBuf {
        self.dir.path().join("admin.sock")
    }

    /// The hubs of the `restohub` backend by name (hub1..3), as the stats
    /// socket reports them.
    pub(crate) async fn servers(&self) -> HashMap<String, ServerStat> {
        self.try_servers()
            .await
            .unwrap_or_else(|e| panic!("haproxy's stats socket: {e}\n{}", self.log()))
    }

    async fn try_servers(&self) -> std::io::Result<HashMap<String, ServerStat>> {
        let mut socket = tokio::net::UnixStream::connect(self.stats_socket()).await?;
        socket.write_all(b"show stat\n").await?;
        let mut csv = String::new();
        socket.read_to_string(&mut csv).await?;
        let mut lines = csv.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap_or_default()
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let column = |name: &str| header.iter().position(|c| *c == name);
        let (Some(px), Some(sv), Some(status), Some(check), Some(scur)) = (
            column("pxname"),
            column("svname"),
            column("status"),
            column("check_status"),
            column("scur"),
        ) else {
            return Err(std::io::Error::other(format!("unexpected stats: {csv}")));
        };
        let mut servers = HashMap::new();
        for line in lines {
            let row: Vec<&str> = line.split(',').collect();
            if row.len() < header.len() || row[px] != "restohub" || !row[sv].starts_with("hub") {
                continue;
            }
            servers.insert(
                row[sv].to_owned(),
                ServerStat {
                    status: row[status].to_owned(),
                    check: row[check].to_owned(),
                    current: row[scur].parse().unwrap_or(0),
                },
            );
        }
        Ok(servers)
    }

    /// Waits until haproxy reports `server` with `status`; how long it took.
    pub(crate) async fn wait_for_status(&self, server: &str, status: &str) -> Duration {
        let start = tokio::time::Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if self.servers().await[server].status == status {
                return start.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "haproxy never marked {server} {status}: {:?}",
            self.servers().await
        );
    }

    /// The public address, as clients reach it.
    pub(crate) fn https(&self) -> String {
        format!("https://127.0.0.1:{}", self.https_port)
    }

    /// An HTTP client that trusts the test's CA and nothing else.
    pub(crate) fn client(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap())
            .timeout(Duration::from_secs(10))
    }

    /// A WebSocket over TLS through the balancer (`wss://…/ws`), checked
    /// against the test's CA; Err when the connection or upgrade fails.
    pub(crate) async fn wss(&self) -> Result<WebSocketStream<TlsStream<TcpStream>>, String> {
        self.wss_from(None).await
    }

    /// Like `wss`, as a browser page of `origin` opens it (the Origin
    /// header); Err names a refused upgrade's HTTP status.
    pub(crate) async fn wss_from(
        &self,
        origin: Option<&str>,
    ) -> Result<WebSocketStream<TlsStream<TcpStream>>, String> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let tcp = TcpStream::connect(("127.0.0.1", self.https_port))
            .await
            .map_err(|e| e.to_string())?;
        let name = rustls::pki_types::ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        let mut request = format!("wss://127.0.0.1:{}/ws", self.https_port)
            .into_client_request()
            .unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().unwrap());
        }
        match tokio_tungstenite::client_async(request, tls).await {
            Ok((ws, _)) => Ok(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
                Err(format!("HTTP {}", res.status().as_u16()))
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA, and a certificate it signed for 127.0.0.1 and localhost: the CA's
/// PEM, and the PEM haproxy loads (the certificate, then its key).
fn certificates() -> (String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.distinguished_name
        .push(DnType::CommonName, "restohub test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    let cert = leaf.signed_by(&key, &*ca).unwrap();
    (ca.pem(), format!("{}{}", cert.pem(), key.serialize_pem()))
}

fn rustls_pki_types_from_pem(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .expect("the CA's PEM")
}
