//! The client's address, worked out once per request: the peer of the TCP
//! connection, or behind a trusted proxy the address the proxy names. The
//! credential rate limit keys on it, and callers carry it into the audit
//! trail (WebSocket sessions too: it is resolved on the upgrade request).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

/// Where a request came from; `None` when neither the connection nor a
/// trusted header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

/// How to find the client of a request.
#[derive(Debug, Clone)]
pub struct ClientAddresses {
    /// Behind a trusted proxy: the header naming the client.
    header: Option<String>,
    /// The proxies' own addresses, skipped in that header.
    trusted_proxies: Arc<Vec<IpAddr>>,
}

impl ClientAddresses {
    pub fn new(header: Option<String>, trusted_proxies: Vec<IpAddr>) -> ClientAddresses {
        ClientAddresses {
            header: header.map(|h| h.to_ascii_lowercase()),
            trusted_proxies: Arc::new(trusted_proxies),
        }
    }

    fn of(&self, req: &Request) -> Option<IpAddr> {
        if let Some(header) = &self.header {
            let forwarded = req
                .headers()
                .get(header.as_str())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| client_in(v, &self.trusted_proxies));
            if forwarded.is_some() {
                return forwarded;
            }
        }
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    }
}

/// The client in a proxy's list of addresses (`a, b, c`): each proxy
/// appends the address it received from, so the rightmost address that is
/// not one of our own proxies is the client; everything to its left the
/// client wrote itself and may have forged. An entry that is not an address
/// ends the search (nothing left of it can be trusted).
fn client_in(header: &str, trusted: &[IpAddr]) -> Option<IpAddr> {
    for entry in header.rsplit(',') {
        let ip: IpAddr = entry.trim().parse().ok()?;
        if !trusted.contains(&ip) {
            return Some(ip);
        }
    }
    None
}

/// Middleware: puts the request's [`ClientAddress`] in its extensions.
pub async fn resolve(
    State(addresses): State<ClientAddresses>,
    mut req: Request,
    next: Next,
) -> Response {
    let client = ClientAddress(addresses.of(&req));
    req.extensions_mut().insert(client);
    next.run(req).await
}

impl ClientAddress {
    /// The address [`resolve`] found for the request `parts` belong to.
    pub fn of(parts: &Parts) -> ClientAddress {
        parts
            .extensions
            .get::<ClientAddress>()
            .copied()
            .unwrap_or(ClientAddress(None))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress::of(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::client_in;

    #[test]
    fn the_client_is_the_rightmost_untrusted_address() {
        let proxy = "10.0.0.2".parse().unwrap();
        let ip = |s: &str| Some(s.parse().unwrap());
        assert_eq!(client_in("1.1.1.1", &[]), ip("1.1.1.1"));
        // The client wrote the first entry; the proxy appended the real one.
        assert_eq!(client_in("6.6.6.6, 2.2.2.2", &[]), ip("2.2.2.2"));
        assert_eq!(
            client_in("6.6.6.6, 2.2.2.2, 10.0.0.2", &[proxy]),
            ip("2.2.2.2")
        );
        assert_eq!(client_in("10.0.0.2", &[proxy]), None);
        assert_eq!(client_in("6.6.6.6, nonsense, 2.2.2.2", &[]), ip("2.2.2.2"));
        assert_eq!(client_in("6.6.6.6, nonsense", &[]), None);
    }
}
