//! Who may spend the key: the guard in front of `POST /api/chat*` and
//! `POST /api/analyze*`. A request passes with a valid `X-Proxy-Token`, or with a
//! valid session cookie from a same-site page; then the rate limits apply.
//! 401 `session_required`, 403 `cross_site_request`, 429 `rate_limited`.
//! Also resolves the client IP for every `/api` request.
//!
//! The guard's pieces live here together: the session cookie (`session`), the
//! session that comes with the web app's entry page (`entry_session`), the key
//! a client's address is counted under (`client_ip`; who the client is, behind
//! trusted proxies, is `http::client_ip`'s), the rate limits (`rate_limit`) and
//! the daily budget (`budget`). It builds on `http` (its middleware is an
//! `http::around::Around`); `http` must never import it.
//!
//! It also notices the one set-up mistake that locks every browser out: a
//! `Secure` cookie on a site opened over plain HTTP from another machine (a
//! phone on the LAN). The browser drops the cookie, so it logs a warning naming
//! the fix, once per process.

pub(crate) mod budget;
pub(crate) mod client_ip;
pub(crate) mod entry_session;
pub(crate) mod gcra;
pub(crate) mod rate_limit;
pub mod session;
pub(crate) mod shared;

use std::{
    net::IpAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use ipnet::IpNet;
use poem::{
    Endpoint, IntoResponse, Request, Response, Result,
    http::{HeaderMap, HeaderValue, StatusCode},
};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{
    error::{ApiError, ErrorCode},
    guard::client_ip::address_key,
    guard::gcra::Decision,
    guard::rate_limit::RateLimits,
    guard::session::{Session, Sessions},
    http::{around::Around, client_ip::client_ip},
    metrics::Metrics,
    paths,
};

/// How a guarded request was let in (a request extension).
#[derive(Debug, Clone)]
pub enum Caller {
    /// A browser with a valid session cookie.
    Session(Session),
    /// A script with a valid `X-Proxy-Token` (the token's place in the list).
    Token(usize),
}

impl Caller {
    /// The person a request counts against: one session, or one token.
    pub fn person_key(&self) -> String {
        match self {
            Caller::Session(session) => format!("s:{}", session.id),
            Caller::Token(index) => format!("t:{index}"),
        }
    }
}

/// The client's address, resolved through trusted proxies (a request extension).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// Secrets compared in constant time: the SHA-256 of each is kept, so neither
/// the length nor the content of a guess leaks through timing.
#[derive(Clone, Default)]
pub struct SecretSet {
    digests: Vec<[u8; 32]>,
}

impl SecretSet {
    /// The set of these secrets.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a SecretString>) -> Self {
        Self {
            digests: secrets.into_iter().map(|s| digest(s.expose_secret())).collect(),
        }
    }

    /// Whether `candidate` is one of them.
    pub fn contains(&self, candidate: &str) -> bool {
        self.position(candidate).is_some()
    }

    /// Which of them `candidate` is (every one is compared, in constant time).
    pub fn position(&self, candidate: &str) -> Option<usize> {
        let d = digest(candidate);
        self.digests
            .iter()
            .enumerate()
            .fold(None, |found, (index, known)| {
                if bool::from(known.ct_eq(&d)) {
                    Some(index)
                } else {
                    found
                }
            })
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The guard's shared state.
#[derive(Clone)]
pub struct Guard {
    inner: Arc<GuardInner>,
}

struct GuardInner {
    metrics: Option<Arc<Metrics>>,
    sessions: Sessions,
    tokens: SecretSet,
    site_origin: Option<url::Origin>,
    trusted_proxies: Vec<IpNet>,
    limits: RateLimits,
}

impl Guard {
    /// A guard over these sessions, tokens, site address, proxies and limits.
    pub fn new(
        sessions: Sessions,
        tokens: SecretSet,
        public_url: Option<&url::Url>,
        trusted_proxies: Vec<IpNet>,
        limits: RateLimits,
    ) -> Self {
        let site_origin = public_url.map(url::Url::origin).filter(url::Origin::is_tuple);
        Self {
            inner: Arc::new(GuardInner {
                metrics: None,
                sessions,
                tokens,
                site_origin,
                trusted_proxies,
                limits,
            }),
        }
    }

    /// The same guard, counting refusals into `metrics` (call before sharing it).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.metrics = Some(metrics);
        }
        self
    }

    /// Counts a request refused by a rate limit.
    pub fn count_rate_limited(&self) {
        if let Some(metrics) = &self.inner.metrics {
            metrics.observe_rate_limited();
        }
    }

    /// The session issuer.
    pub fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }

    /// The rate limits.
    pub fn limits(&self) -> &RateLimits {
        &self.inner.limits
    }

    /// The client IP of a request.
    pub fn client_ip(&self, req: &Request) -> IpAddr {
        let peer = req
            .remote_addr()
            .as_socket_addr()
            .map(|a| a.ip())
            .unwrap_or(IpAddr::from([127, 0, 0, 1]));
        client_ip(peer, req.headers(), &self.inner.trusted_proxies)
    }

    /// Whether the browser will drop the `Secure` session cookie of this request:
    /// the cookie is `Secure`, the request came over plain HTTP (our listener, or
    /// a trusted proxy saying `proto=http`), and the host is not this machine
    /// (browsers keep `Secure` cookies on `http://localhost`).
    pub fn cookie_dropped_over_http(&self, req: &Request) -> bool {
        let peer = req.remote_addr().as_socket_addr().map(|a| a.ip());
        let https = *req.scheme() == poem::http::uri::Scheme::HTTPS;
        self.dropped_over_http(peer, https, req.headers())
    }

    fn dropped_over_http(&self, peer: Option<IpAddr>, https: bool, headers: &HeaderMap) -> bool {
        if !self.inner.sessions.secure() {
            return false;
        }
        let peer_trusted =
            peer.is_some_and(|ip| self.inner.trusted_proxies.iter().any(|net| net.contains(&ip)));
        let plain = if peer_trusted {
            // Without a `proto` the proxy's scheme is unknown: no warning.
            forwarded_proto(headers).is_some_and(|p| p.eq_ignore_ascii_case("http"))
        } else {
            !https
        };
        let host = headers.get("host").and_then(|v| v.to_str().ok());
        plain && host.is_some_and(|h| !is_local_host(h))
    }

    /// Logs, once per process, that browsers drop the `Secure` cookie because the
    /// site is served over plain HTTP, and how to fix it.
    fn warn_cookie_dropped(&self, req: &Request) {
        static WARNED: AtomicBool = AtomicBool::new(false);
        if WARNED.load(Ordering::Relaxed) || !self.cookie_dropped_over_http(req) {
            return;
        }
        if self.inner.sessions.from_headers(req.headers()).is_some() || WARNED.swap(true, Ordering::Relaxed) {
            return;
        }
        let host = req
            .headers()
            .get("host")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        tracing::warn!(
            host,
            "the site is open over plain HTTP from another machine, so browsers drop the Secure session cookie \
             and every chat and analysis fails with session_required: serve it over HTTPS (a TLS proxy listed \
             in WELD_TRUSTED_PROXIES that sends X-Forwarded-Proto), or set WELD_COOKIE_SECURE=false for LAN use"
        );
    }

    /// Whether a request comes from another site (docs/api.md → Authentication).
    pub fn is_cross_site(&self, headers: &HeaderMap) -> bool {
        let fetch_site = headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if fetch_site.eq_ignore_ascii_case("cross-site") || fetch_site.eq_ignore_ascii_case("same-site") {
            return true;
        }
        let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Ok(origin) = url::Url::parse(origin) else {
            // `Origin: null` (sandboxed or privacy-sensitive contexts) or garbage.
            return true;
        };
        if let Some(site) = &self.inner.site_origin {
            // With `WELD_PUBLIC_URL`, scheme, host and port must all match.
            return origin.origin() != *site;
        }
        let host = headers
            .get("host")
            .and_then(|v| v.to_str().ok())
            .map(|h| h.trim().to_ascii_lowercase());
        match (authority_of_url(&origin), host) {
            (Some(origin), Some(host)) => origin != host,
            _ => true,
        }
    }

    /// Lets a request in, or says why not. A token that is wrong counts as a
    /// guess of its address; while the address has guessed too often, tokens are
    /// refused before they are compared.
    async fn admit(&self, req: &Request, address: &str) -> std::result::Result<Caller, ApiError> {
        let token = req.headers().get("x-proxy-token").and_then(|v| v.to_str().ok());
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            if let Decision::Limited { retry_after } = self.inner.limits.may_guess(address).await {
                return Err(ApiError::rate_limited(retry_after));
            }
            if let Some(index) = self.inner.tokens.position(token) {
                return Ok(Caller::Token(index));
            }
            if let Decision::Limited { retry_after } = self.inner.limits.count_failed_guess(address).await {
                return Err(ApiError::rate_limited(retry_after));
            }
        }
        let Some(session) = self.inner.sessions.from_headers(req.headers()) else {
            return Err(ApiError::session_required());
        };
        if self.is_cross_site(req.headers()) {
            return Err(ApiError::cross_site());
        }
        Ok(Caller::Session(session))
    }
}

/// The scheme the nearest proxy was reached by: the right-most
/// `X-Forwarded-Proto` value, else the last `proto=` of `Forwarded`.
fn forwarded_proto(headers: &HeaderMap) -> Option<String> {
    let values = |name: &'static str| {
        headers
            .get_all(name)
            .into_iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    if let Some(proto) = values("x-forwarded-proto").next_back() {
        return Some(proto.to_owned());
    }
    values("forwarded").rev().find_map(|element| {
        element.split(';').find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("proto")
                .then(|| v.trim().trim_matches('"').to_owned())
        })
    })
}

/// Whether a `Host` value names this machine: `localhost` (and `*.localhost`),
/// 127.0.0.0/8 or `[::1]`, with or without a port.
fn is_local_host(host: &str) -> bool {
    let host = host.trim();
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(name, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                name
            } else {
                host
            }
        }),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `host[:port]` of a URL, with the scheme's default port left out, lower-cased.
fn authority_of_url(url: &url::Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// The 429 of a refused rate-limit check (in the request's `Accept-Language`),
/// with tower-governor's headers.
pub fn rate_limited(retry_after: u64, request: &HeaderMap) -> Response {
    let mut response = ApiError::rate_limited(retry_after).response_for(request);
    if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
        response.headers_mut().insert("x-ratelimit-after", value);
    }
    response
}

fn is_guarded(req: &Request) -> bool {
    paths::is_ai(req.method(), req.uri().path())
}

impl Around for Guard {
    async fn around<E: Endpoint>(&self, next: &E, mut req: Box<Request>) -> Result<Response> {
        let ip = self.client_ip(&req);
        req.extensions_mut().insert(ClientIp(ip));
        self.warn_cookie_dropped(&req);
        if !is_guarded(&req) {
            return next.call(*req).await.map(IntoResponse::into_response);
        }
        let address = address_key(ip);
        let caller = match self.admit(&req, &address).await {
            Ok(caller) => caller,
            Err(error) => {
                if error.code == ErrorCode::RateLimited {
                    self.count_rate_limited();
                    tracing::info!(client_ip = %ip, "token guesses limited");
                }
                return Ok(error.response_for(req.headers()));
            }
        };
        let (limit, remaining) = match self.inner.limits.check_ai(&caller.person_key(), &address).await {
            Decision::Allowed { limit, remaining } => (limit, remaining),
            Decision::Limited { retry_after } => {
                self.count_rate_limited();
                tracing::info!(client_ip = %ip, retry_after, "rate limited");
                return Ok(rate_limited(retry_after, req.headers()));
            }
        };
        req.extensions_mut().insert(caller);
        // Errors go on to the boundary, which writes them as JSON.
        let mut response = next.call(*req).await?.into_response();
        if response.status() != StatusCode::TOO_MANY_REQUESTS {
            let headers = response.headers_mut();
            headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
            headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
        }
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(public_url: Option<&str>) -> Guard {
        let url = public_url.map(|u| url::Url::parse(u).unwrap());
        Guard::new(
            Sessions::new(vec![1; 32], std::time::Duration::from_secs(60), false),
            SecretSet::default(),
            url.as_ref(),
            vec![],
            RateLimits::new(
                crate::guard::rate_limit::LimitSettings::new(10, 10, 10, 10),
                None,
                None,
            ),
        )
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                poem::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn cross_site_follows_sec_fetch_site_and_origin() {
        let g = guard(None);
        assert!(!g.is_cross_site(&headers(&[
            ("host", "weld.example"),
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(!g.is_cross_site(&headers(&[("host", "weld.example")])));
        assert!(g.is_cross_site(&headers(&[
            ("host", "weld.example"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(g.is_cross_site(&headers(&[
            ("host", "weld.example"),
            ("sec-fetch-site", "same-site")
        ])));
        assert!(!g.is_cross_site(&headers(&[
            ("host", "weld.example"),
            ("origin", "https://weld.example")
        ])));
        assert!(g.is_cross_site(&headers(&[
            ("host", "weld.example"),
            ("origin", "https://evil.example")
        ])));
        assert!(g.is_cross_site(&headers(&[
            ("host", "weld.example:8080"),
            ("origin", "http://weld.example")
        ])));
        assert!(g.is_cross_site(&headers(&[("host", "weld.example"), ("origin", "null")])));
    }

    #[test]
    fn the_public_url_is_the_site_when_set() {
        let g = guard(Some("https://weld.example.org"));
        assert!(!g.is_cross_site(&headers(&[
            ("host", "10.0.0.5:8080"),
            ("origin", "https://weld.example.org")
        ])));
        assert!(g.is_cross_site(&headers(&[
            ("host", "10.0.0.5:8080"),
            ("origin", "http://10.0.0.5:8080")
        ])));
        // Scheme and port count: plain HTTP on the same host is another site.
        assert!(g.is_cross_site(&headers(&[
            ("host", "weld.example.org"),
            ("origin", "http://weld.example.org")
        ])));
        assert!(g.is_cross_site(&headers(&[
            ("host", "weld.example.org"),
            ("origin", "https://weld.example.org:8443")
        ])));
        assert!(!g.is_cross_site(&headers(&[
            ("host", "weld.example.org"),
            ("origin", "https://weld.example.org:443")
        ])));
    }

    #[test]
    fn local_hosts_are_this_machine() {
        for local in [
            "localhost",
            "localhost:8080",
            "LOCALHOST.",
            "app.localhost:3000",
            "127.0.0.1",
            "127.1.2.3:8080",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(is_local_host(local), "{local}");
        }
        for remote in [
            "192.168.1.20:8080",
            "10.0.0.5",
            "weld.example",
            "localhost.example:80",
            "[fe80::1]:8080",
            "",
        ] {
            assert!(!is_local_host(remote), "{remote}");
        }
    }

    fn dropped(g: &Guard, peer: &str, pairs: &[(&str, &str)]) -> bool {
        let peer: IpAddr = peer.parse().unwrap();
        g.dropped_over_http(Some(peer), false, &headers(pairs))
    }

    fn secure_guard(proxies: Vec<IpNet>) -> Guard {
        Guard::new(
            Sessions::new(vec![1; 32], std::time::Duration::from_secs(60), true),
            SecretSet::default(),
            None,
            proxies,
            RateLimits::new(
                crate::guard::rate_limit::LimitSettings::new(10, 10, 10, 10),
                None,
                None,
            ),
        )
    }

    #[test]
    fn a_secure_cookie_over_plain_http_from_the_lan_is_noticed() {
        let g = secure_guard(vec!["10.0.0.1/32".parse().unwrap()]);
        let lan = [("host", "192.168.1.20:8080")];
        assert!(dropped(&g, "192.168.1.30", &lan));
        assert!(!dropped(&g, "127.0.0.1", &[("host", "localhost:8080")]));
        assert!(!g.dropped_over_http(Some("192.168.1.30".parse().unwrap()), true, &headers(&lan)));
        // Behind a trusted proxy, its `proto` decides; none means unknown.
        let proxied = |proto: &[(&str, &str)]| {
            let mut pairs = vec![("host", "weld.example")];
            pairs.extend_from_slice(proto);
            dropped(&g, "10.0.0.1", &pairs)
        };
        assert!(proxied(&[("x-forwarded-proto", "http")]));
        assert!(proxied(&[("forwarded", "for=1.2.3.4;proto=http")]));
        assert!(!proxied(&[("x-forwarded-proto", "https")]));
        assert!(!proxied(&[]));
        // An untrusted peer cannot claim HTTPS with a header.
        assert!(dropped(
            &g,
            "192.168.1.30",
            &[("host", "10.1.1.1"), ("x-forwarded-proto", "https")]
        ));
        // A cookie without `Secure` is kept anyway.
        assert!(!dropped(&guard(None), "192.168.1.30", &lan));
    }

    #[test]
    fn secrets_compare_by_digest() {
        let a: SecretString = "token-a".into();
        let b: SecretString = "token-b".into();
        let set = SecretSet::new([&a, &b]);
        assert!(set.contains("token-a") && set.contains("token-b"));
        assert!(!set.contains("token-") && !set.contains("") && !set.contains("token-ab"));
        assert!(SecretSet::default().is_empty());
    }
}
