//! Certificates over ACME (instant-acme; our own loop): the account and the
//! certificate live in the cache directory; an order answers TLS-ALPN-01 on the
//! HTTPS port itself (so port 80 is not needed); a certificate is renewed once two
//! thirds of its lifetime have passed. A failed attempt is retried with doubling
//! waits (a rate limit waits at least an hour), and the log says why in words an
//! operator can act on: DNS, the port, the rate limit, the ACME server.

use std::{
    future::Future,
    net::SocketAddr,
    path::Path,
    pin::Pin,
    sync::Arc,
    time::{Duration, SystemTime},
};

use http_body_util::BodyExt as _;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, BodyWrapper, BytesResponse, ChallengeType,
    Error as AcmeError, HttpClient, Identifier, NewAccount, NewOrder, Order, OrderStatus, RetryPolicy,
};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use super::{CertStore, Problem, TlsStatus, cache::Cache, cert};
use crate::{config::Config, metrics::Metrics};

/// The first wait after a failed attempt; each further failure doubles it.
const FIRST_RETRY: Duration = Duration::from_secs(120);
/// The longest wait between attempts.
const MAX_RETRY: Duration = Duration::from_secs(6 * 3600);
/// The shortest wait after the CA's rate limit.
const RATE_LIMIT_RETRY: Duration = Duration::from_secs(3600);
/// How long the CA may take to validate and to issue.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest sleep before the renewal time is looked at again (the clock may jump).
const RECHECK: Duration = Duration::from_secs(12 * 3600);
/// Prefix of RFC 8555 problem types.
const ACME_ERROR: &str = "urn:ietf:params:acme:error:";

/// What ordering needs, checked at start-up.
pub(super) struct Settings {
    domains: Vec<String>,
    directory: String,
    email: Option<String>,
    http: reqwest::Client,
    cache: Cache,
    https_listen: SocketAddr,
}

impl Settings {
    /// Opens the cache directory and builds the HTTP client (with the extra roots
    /// of `WELD_ACME_CA_FILE`). The error says what to fix.
    pub(super) fn new(config: &Config, domains: Vec<String>) -> Result<Self, String> {
        let dir = config
            .tls_cache_dir
            .as_deref()
            .ok_or_else(|| "WELD_DOMAIN needs WELD_TLS_CACHE_DIR".to_owned())?;
        let directory = config.acme_directory_url.as_str().to_owned();
        let cache = Cache::open(Path::new(dir), &directory, &domains)?;
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("weld-assistant/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .no_proxy();
        if let Some(path) = &config.acme_ca_file {
            let pem =
                std::fs::read(path).map_err(|e| format!("WELD_ACME_CA_FILE `{path}` cannot be read: {e}"))?;
            let roots = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|_| format!("WELD_ACME_CA_FILE `{path}` holds no PEM certificate"))?;
            for root in roots {
                builder = builder.add_root_certificate(root);
            }
        }
        let http = builder
            .build()
            .map_err(|e| format!("the ACME HTTP client cannot be built: {e}"))?;
        Ok(Self {
            domains,
            directory,
            email: config.acme_email.clone(),
            http,
            cache,
            https_listen: config.https_listen,
        })
    }

    /// The cached certificate for these domains and this directory, unless expired.
    pub(super) fn cached(&self) -> Option<cert::Served> {
        let pem = self.cache.certificate()?;
        let served = cert::from_pem(&pem, &pem).ok()?;
        (served.not_after > SystemTime::now()).then_some(served)
    }

    fn builder(&self) -> instant_acme::AccountBuilder {
        Account::builder_with_http(Box::new(Http(self.http.clone())))
    }

    /// The cached account, or a new one (stored at once).
    async fn account(&self) -> Result<Account, Failure> {
        if let Some(json) = self.cache.account() {
            match serde_json::from_slice::<AccountCredentials>(&json) {
                Ok(credentials) => {
                    return self
                        .builder()
                        .from_credentials(credentials)
                        .await
                        .map_err(|e| Failure::acme(self, e, None));
                }
                Err(_) => tracing::warn!("the cached ACME account cannot be read: creating a new one"),
            }
        }
        let contact = self.email.as_ref().map(|e| format!("mailto:{e}"));
        let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
        let new = NewAccount {
            contact: &contacts,
            terms_of_service_agreed: true,
            only_return_existing: false,
        };
        let (account, credentials) = self
            .builder()
            .create(&new, self.directory.clone(), None)
            .await
            .map_err(|e| Failure::acme(self, e, None))?;
        let json = serde_json::to_vec(&credentials).unwrap_or_default();
        self.cache.store_account(&json).map_err(|e| Failure {
            problem: Problem::Cache,
            message: format!("the ACME account cannot be stored in WELD_TLS_CACHE_DIR: {e}"),
        })?;
        Ok(account)
    }
}

/// Runs the order-and-renew loop for the life of the process.
pub(super) fn spawn(settings: Settings, store: Arc<CertStore>, status: TlsStatus, metrics: Arc<Metrics>) {
    tokio::spawn(async move {
        let mut served = settings.cached();
        let mut account: Option<Account> = None;
        let mut backoff = FIRST_RETRY;
        loop {
            if let Some(current) = &served {
                let now = SystemTime::now();
                let renew_at = current.renew_at();
                if now < renew_at {
                    let wait = renew_at.duration_since(now).unwrap_or_default().min(RECHECK);
                    tokio::time::sleep(wait).await;
                    continue;
                }
                tracing::info!(
                    expires_at = %humantime::format_rfc3339_seconds(current.not_after),
                    "renewing the certificate"
                );
            } else {
                tracing::info!(
                    domains = %settings.domains.join(","),
                    directory = %settings.directory,
                    "ordering a certificate (TLS-ALPN-01 on the HTTPS port)"
                );
            }
            match obtain(&settings, &store, &mut account).await {
                Ok(new) => {
                    metrics.acme_order("issued");
                    store.install(&new, &status, &metrics);
                    tracing::info!(
                        domains = %settings.domains.join(","),
                        expires_at = %humantime::format_rfc3339_seconds(new.not_after),
                        "certificate obtained"
                    );
                    served = Some(new);
                    backoff = FIRST_RETRY;
                }
                Err(failure) => {
                    metrics.acme_order("failed");
                    // A failure may be the account's (deleted on the CA's side): start afresh.
                    account = None;
                    let wait = if failure.problem == Problem::RateLimited {
                        backoff.max(RATE_LIMIT_RETRY)
                    } else {
                        backoff
                    };
                    status.failed(failure.problem);
                    let what = if served.is_some() {
                        "the certificate was not renewed (the current one is still served)"
                    } else {
                        "no certificate yet"
                    };
                    tracing::error!(
                        problem = failure.problem.as_str(),
                        retry_in = %humantime::format_duration(wait),
                        "{what}: {}",
                        failure.message
                    );
                    tokio::time::sleep(wait).await;
                    backoff = (backoff * 2).min(MAX_RETRY);
                }
            }
        }
    });
}

/// Why an attempt failed, in words to act on.
#[derive(Debug)]
struct Failure {
    problem: Problem,
    message: String,
}

impl Failure {
    fn other(problem: Problem, message: impl Into<String>) -> Self {
        Self {
            problem,
            message: message.into(),
        }
    }

    /// An instant-acme error: a problem document from the CA, or the CA unreachable.
    fn acme(settings: &Settings, error: AcmeError, domain: Option<&str>) -> Self {
        match error {
            AcmeError::Api(problem) => Self::problem(settings, &problem, domain),
            AcmeError::Timeout(_) => Self::other(
                Problem::Refused,
                "the ACME server did not finish the order in time; it is tried again",
            ),
            AcmeError::Json(_) => Self::other(
                Problem::AcmeUnreachable,
                format!(
                    "{} does not answer like an ACME directory (check WELD_ACME_DIRECTORY_URL)",
                    settings.directory
                ),
            ),
            other => Self::other(
                Problem::AcmeUnreachable,
                format!(
                    "cannot reach the ACME server {}: {} (check this host's DNS and outbound HTTPS)",
                    settings.directory,
                    chain(&other)
                ),
            ),
        }
    }

    /// A problem document, classified by its type (the first subproblem's, when
    /// the problem is compound).
    fn problem(settings: &Settings, problem: &instant_acme::Problem, domain: Option<&str>) -> Self {
        let sub = problem.subproblems.first();
        let kind = problem
            .r#type
            .as_deref()
            .filter(|t| !t.ends_with("compound"))
            .or_else(|| sub.and_then(|s| s.r#type.as_deref()))
            .unwrap_or("")
            .trim_start_matches(ACME_ERROR);
        let detail = sub
            .and_then(|s| s.detail.as_deref())
            .or(problem.detail.as_deref())
            .unwrap_or("no detail given");
        let domain = domain.unwrap_or("the domain").to_owned();
        let port = settings.https_listen.port();
        // Not every CA types a refused or timed-out connection `connection`
        // (pebble says `tls`); the detail tells.
        let lower = detail.to_ascii_lowercase();
        let unreachable = [
            "failed to connect",
            "connection refused",
            "timeout during connect",
            "no route to host",
        ]
        .iter()
        .any(|phrase| lower.contains(phrase));
        let kind = if unreachable { "connection" } else { kind };
        let (problem, message) = match kind {
            "dns" => (
                Problem::Dns,
                format!(
                    "the CA cannot resolve {domain} (DNS): create an A record for {domain} with this server's public address and wait for it to be seen ({detail})"
                ),
            ),
            "connection" => (
                Problem::Connection,
                format!(
                    "the CA cannot connect to {domain} on port 443: map the public port 443 to WELD_HTTPS_LISTEN (port {port}; `docker run -p 443:{port}`) and open it in the firewall ({detail})"
                ),
            ),
            "tls" | "unauthorized" | "incorrectResponse" => (
                Problem::Challenge,
                format!(
                    "the CA reached {domain} on port 443 but not this server's answer: check that the A record is this server's address and that nothing else holds port 443 ({detail})"
                ),
            ),
            "rateLimited" => (
                Problem::RateLimited,
                format!("the CA's rate limit was reached: {detail}"),
            ),
            _ => (Problem::Refused, format!("the CA refused the order: {detail}")),
        };
        Self { problem, message }
    }
}

/// An error with its causes, one after the other.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// One order, from the account to the stored certificate.
async fn obtain(
    settings: &Settings,
    store: &CertStore,
    account_slot: &mut Option<Account>,
) -> Result<cert::Served, Failure> {
    let account = match account_slot {
        Some(account) => account.clone(),
        None => {
            let account = settings.account().await?;
            *account_slot = Some(account.clone());
            account
        }
    };
    let identifiers: Vec<Identifier> = settings
        .domains
        .iter()
        .map(|d| Identifier::Dns(d.clone()))
        .collect();
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .map_err(|e| Failure::acme(settings, e, None))?;
    let mut answering = Vec::new();
    let outcome = validate_and_finish(settings, store, &mut order, &mut answering).await;
    for domain in &answering {
        store.set_challenge(domain, None);
    }
    outcome
}

async fn validate_and_finish(
    settings: &Settings,
    store: &CertStore,
    order: &mut Order,
    answering: &mut Vec<String>,
) -> Result<cert::Served, Failure> {
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization = authorization.map_err(|e| Failure::acme(settings, e, None))?;
        match authorization.status {
            AuthorizationStatus::Valid => continue,
            AuthorizationStatus::Pending => {}
            other => {
                return Err(Failure::other(
                    Problem::Refused,
                    format!("the CA's authorization is {other:?}; a new order is made next time"),
                ));
            }
        }
        let domain = authorization.identifier().to_string();
        let mut challenge = authorization.challenge(ChallengeType::TlsAlpn01).ok_or_else(|| {
            Failure::other(
                Problem::Refused,
                format!("the ACME server offers no tls-alpn-01 challenge for {domain}"),
            )
        })?;
        let answer = challenge_key(&domain, challenge.key_authorization().digest().as_ref())?;
        store.set_challenge(&domain, Some(answer));
        answering.push(domain.clone());
        challenge
            .set_ready()
            .await
            .map_err(|e| Failure::acme(settings, e, Some(&domain)))?;
    }
    let retries = RetryPolicy::new()
        .initial_delay(Duration::from_millis(500))
        .backoff(1.5)
        .timeout(VALIDATION_TIMEOUT);
    let status = match order.poll_ready(&retries).await {
        Ok(status) => status,
        Err(AcmeError::Api(_)) => OrderStatus::Invalid,
        Err(e) => return Err(Failure::acme(settings, e, None)),
    };
    if status != OrderStatus::Ready {
        return Err(why_invalid(settings, order).await);
    }
    let key =
        rcgen::KeyPair::generate().map_err(|e| Failure::other(Problem::Refused, format!("key: {e}")))?;
    let mut params = rcgen::CertificateParams::new(settings.domains.clone())
        .map_err(|e| Failure::other(Problem::Refused, format!("request: {e}")))?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = params
        .serialize_request(&key)
        .map_err(|e| Failure::other(Problem::Refused, format!("request: {e}")))?;
    order
        .finalize_csr(csr.der())
        .await
        .map_err(|e| Failure::acme(settings, e, None))?;
    let chain_pem = order
        .poll_certificate(&retries)
        .await
        .map_err(|e| Failure::acme(settings, e, None))?;
    let key_pem = key.serialize_pem();
    let served = cert::from_pem(chain_pem.as_bytes(), key_pem.as_bytes()).map_err(|e| {
        Failure::other(
            Problem::Refused,
            format!("the CA's certificate cannot be used: {e}"),
        )
    })?;
    if let Err(e) = settings.cache.store_certificate(&key_pem, &chain_pem) {
        // Served anyway; the next start orders again.
        tracing::error!(
            "the certificate cannot be stored in WELD_TLS_CACHE_DIR (it is served, but not kept): {e}"
        );
    }
    Ok(served)
}

/// The first challenge error of an invalid order, in words to act on.
async fn why_invalid(settings: &Settings, order: &mut Order) -> Failure {
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authorization)) = authorizations.next().await {
        let domain = authorization.identifier().to_string();
        let Ok(state) = authorization.refresh().await else {
            continue;
        };
        if let Some(problem) = state.challenges.iter().find_map(|c| c.error.as_ref()) {
            return Failure::problem(settings, problem, Some(&domain));
        }
    }
    Failure::other(
        Problem::Refused,
        "the CA marked the order invalid without saying why",
    )
}

/// The self-signed answer to a TLS-ALPN-01 challenge (RFC 8737): the domain as
/// its only name, the key authorization's digest in the `acmeIdentifier` extension.
fn challenge_key(domain: &str, digest: &[u8]) -> Result<Arc<CertifiedKey>, Failure> {
    let fail = |e: rcgen::Error| Failure::other(Problem::Refused, format!("the challenge answer: {e}"));
    let mut params = rcgen::CertificateParams::new(vec![domain.to_owned()]).map_err(fail)?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let key = rcgen::KeyPair::generate().map_err(fail)?;
    let cert = params.self_signed(&key).map_err(fail)?;
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    // Not `CertifiedKey::from_der`: its consistency check parses the certificate
    // with webpki, which refuses the critical `acmeIdentifier` extension.
    let signer = rustls::crypto::ring::default_provider()
        .key_provider
        .load_private_key(private)
        .map_err(|e| Failure::other(Problem::Refused, format!("the challenge answer: {e}")))?;
    Ok(Arc::new(CertifiedKey::new(vec![cert.der().clone()], signer)))
}

/// instant-acme's HTTP over reqwest: rustls with the Mozilla roots plus
/// `WELD_ACME_CA_FILE`, no system proxy, bounded time.
struct Http(reqwest::Client);

impl HttpClient for Http {
    fn request(
        &self,
        req: http::Request<BodyWrapper<bytes::Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, AcmeError>> + Send>> {
        let client = self.0.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let body = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(never) => match never {},
            };
            let req = reqwest::Request::try_from(http::Request::from_parts(parts, body))
                .map_err(|e| AcmeError::Other(Box::new(e)))?;
            let rsp = client
                .execute(req)
                .await
                .map_err(|e| AcmeError::Other(Box::new(e)))?;
            let mut head = http::Response::new(());
            *head.status_mut() = rsp.status();
            *head.headers_mut() = rsp.headers().clone();
            let body = rsp.bytes().await.map_err(|e| AcmeError::Other(Box::new(e)))?;
            let (parts, ()) = head.into_parts();
            Ok(BytesResponse {
                parts,
                body: Box::new(body),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        let mut config = Config::defaults();
        let dir = std::env::temp_dir().join(format!("weld-acme-unit-{}", std::process::id()));
        config.tls_cache_dir = Some(dir.display().to_string());
        config.https_listen = "0.0.0.0:8443".parse().unwrap();
        Settings::new(&config, vec!["weld.example.org".to_owned()]).unwrap()
    }

    fn classify(problem: serde_json::Value) -> Failure {
        let problem: instant_acme::Problem = serde_json::from_value(problem).unwrap();
        Failure::problem(&settings(), &problem, Some("weld.example.org"))
    }

    #[test]
    fn the_cas_problems_become_words_an_operator_can_act_on() {
        let dns = classify(serde_json::json!({
            "type": "urn:ietf:params:acme:error:dns",
            "detail": "DNS problem: NXDOMAIN looking up A for weld.example.org"
        }));
        assert_eq!(dns.problem, Problem::Dns);
        assert!(
            dns.message.contains("A record for weld.example.org"),
            "{}",
            dns.message
        );

        let port = classify(serde_json::json!({
            "type": "urn:ietf:params:acme:error:connection",
            "detail": "Timeout during connect (likely firewall problem)"
        }));
        assert_eq!(port.problem, Problem::Connection);
        assert!(
            port.message.contains("docker run -p 443:8443"),
            "{}",
            port.message
        );

        // Pebble types a refused connection `tls`; the detail tells.
        let refused = classify(serde_json::json!({
            "type": "urn:ietf:params:acme:error:tls",
            "detail": "Failed to connect to 127.0.0.1:5001 for the tls-alpn-01 challenge"
        }));
        assert_eq!(refused.problem, Problem::Connection);

        let other_server = classify(serde_json::json!({
            "type": "urn:ietf:params:acme:error:unauthorized",
            "detail": "Incorrect validation certificate for tls-alpn-01 challenge"
        }));
        assert_eq!(other_server.problem, Problem::Challenge);

        let limited = classify(serde_json::json!({
            "type": "urn:ietf:params:acme:error:rateLimited",
            "detail": "too many certificates already issued for this exact set of identifiers"
        }));
        assert_eq!(limited.problem, Problem::RateLimited);

        let compound = classify(serde_json::json!({
            "type": "urn:ietf:params:acme:error:compound",
            "detail": "several problems",
            "subproblems": [{"type": "urn:ietf:params:acme:error:dns", "detail": "SERVFAIL"}]
        }));
        assert_eq!(compound.problem, Problem::Dns);
        assert!(compound.message.contains("SERVFAIL"), "{}", compound.message);

        let unknown = classify(serde_json::json!({"detail": "no"}));
        assert_eq!(unknown.problem, Problem::Refused);
        let _ = std::fs::remove_dir_all(
            std::env::temp_dir().join(format!("weld-acme-unit-{}", std::process::id())),
        );
    }
}
