//! Security headers on every response poem answers: a strict CSP for the app (no
//! inline scripts), one for Swagger UI on `/docs` that allows exactly its inline
//! scripts by their SHA-256 hashes, `X-Content-Type-Options`, `Referrer-Policy`,
//! framing refused; `Strict-Transport-Security` on responses sent over HTTPS
//! (the server's own TLS; browsers ignore it over plain HTTP). Also the request-head limits that poem can still answer with
//! these headers (414, 431) before hyper's own, header-less limits apply.
//!
//! What this cannot reach: hyper answers some malformed requests itself, before
//! poem or any middleware runs — 400 for a request line or header it cannot parse,
//! 414 for a request target over 65,534 bytes, 431 for a head over hyper's read
//! buffer (about 400 KiB) or with more than 100 headers. poem 3.1 builds hyper-util's
//! connection builder inside `Server` and exposes only HTTP/2 settings: neither
//! hyper's HTTP/1 limits (`max_buf_size`, `max_headers`) nor a hook on those
//! automatic responses (hyper's `Role::on_error` writes a bare status line with
//! `connection: close`, `content-length: 0` and `date`). Those have an empty body, so
//! there is nothing in them for a CSP or `nosniff` to protect.
//!
//! It must not change a response's status or body (except the `/docs` page's
//! body, which it reads once to hash and puts back unchanged).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use poem::{
    Endpoint, IntoResponse, Request, Response, Result,
    http::{HeaderMap, HeaderValue, StatusCode, header},
};
use sha2::{Digest, Sha256};

use crate::{error::from_poem, http::around::Around, paths};

/// The app's Content-Security-Policy. `worker-src` and `manifest-src` allow the
/// installable app's service worker (`/sw.js`) and web manifest, from this origin only.
pub const APP_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
connect-src 'self'; font-src 'self'; worker-src 'self'; manifest-src 'self'; form-action 'self'; \
frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// Swagger UI's policy around its script sources (`{scripts}`): its inline
/// `<script>` elements are allowed by hash, never by `'unsafe-inline'`. Styles keep
/// `'unsafe-inline'`: Swagger UI inlines its stylesheet and React sets `style`
/// attributes, which hashes cannot allow (a hash would also switch
/// `'unsafe-inline'` off for those attributes).
const DOCS_CSP_TEMPLATE: &str = "default-src 'self'; script-src 'self'{scripts}; style-src 'self' 'unsafe-inline'; \
img-src 'self' data:; connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
base-uri 'none'; object-src 'none'";

/// HSTS over HTTPS: a year, this host only (no `includeSubDomains`, no preload:
/// other hosts of the operator's domain are not ours to decide for).
pub const HSTS: &str = "max-age=31536000";

/// The longest request target (path and query) we accept; nginx's default line
/// buffer. Longer ones get 414 here, with the security headers, up to hyper's own
/// limit (65,534 bytes).
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// The most header bytes (names and values) we accept; nginx's default total.
/// More get 431 here, with the security headers, up to hyper's own limits.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Adds the security headers, and answers over-long request heads.
#[derive(Clone, Default)]
pub struct SecurityHeaders {
    /// `/docs` pages' policies by path, computed from the first body served.
    docs: Arc<Mutex<HashMap<String, HeaderValue>>>,
}

impl Around for SecurityHeaders {
    async fn around<E: Endpoint>(&self, next: &E, req: Box<Request>) -> Result<Response> {
        let path = req.uri().path().to_owned();
        let docs = paths::is_docs(&path);
        let https = req.scheme() == &poem::http::uri::Scheme::HTTPS;
        let mut response = match head_too_large(&req) {
            Some(status) if paths::is_api(&path) => {
                // `invalid_request` in the JSON envelope, with the real status.
                let mut response = from_poem(&poem::Error::from_status(status)).response_for(req.headers());
                response.set_status(status);
                response
            }
            Some(status) => Response::builder()
                .status(status)
                .content_type("text/plain; charset=utf-8")
                .body(status.canonical_reason().unwrap_or("Request head too large")),
            None => match next.call(*req).await {
                Ok(r) => r.into_response(),
                Err(e) => e.into_response(),
            },
        };
        let csp = if docs {
            self.docs_policy(&path, &mut response).await
        } else {
            HeaderValue::from_static(APP_CSP)
        };
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
        headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
        headers.insert(
            "cross-origin-opener-policy",
            HeaderValue::from_static("same-origin"),
        );
        if https {
            headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
        }
        Ok(response)
    }
}

impl SecurityHeaders {
    /// The policy of a `/docs` response: an HTML page's own script hashes
    /// (computed on its first request, then cached by path — the pages are fixed
    /// for the life of the process), else no inline script at all.
    async fn docs_policy(&self, path: &str, response: &mut Response) -> HeaderValue {
        let html = response.status() == StatusCode::OK
            && response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/html"));
        if !html {
            return docs_csp(&[]);
        }
        if let Some(known) = self.cached(path) {
            return known;
        }
        let body = match response.take_body().into_bytes().await {
            Ok(body) => body,
            Err(error) => {
                tracing::warn!(%error, path, "could not read the docs page to hash its scripts");
                return docs_csp(&[]);
            }
        };
        let policy = docs_csp(&inline_script_hashes(&String::from_utf8_lossy(&body)));
        response.set_body(body);
        if let Ok(mut cache) = self.docs.lock() {
            cache.insert(path.to_owned(), policy.clone());
        }
        policy
    }

    fn cached(&self, path: &str) -> Option<HeaderValue> {
        self.docs.lock().ok()?.get(path).cloned()
    }
}

/// 414 or 431 when the request target or the headers exceed our limits.
fn head_too_large(req: &Request) -> Option<StatusCode> {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return Some(StatusCode::URI_TOO_LONG);
    }
    (header_bytes(req.headers()) > MAX_HEADER_BYTES).then_some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
}

/// The size of the header lines as sent (`name: value\r\n`).
fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum()
}

/// The `/docs` policy allowing these script hashes (`sha256-…` sources).
fn docs_csp(hashes: &[String]) -> HeaderValue {
    let scripts: String = hashes.iter().map(|h| format!(" '{h}'")).collect();
    let policy = DOCS_CSP_TEMPLATE.replace("{scripts}", &scripts);
    HeaderValue::from_str(&policy).unwrap_or_else(|_| HeaderValue::from_static(APP_CSP))
}

/// The CSP hash sources (`sha256-<base64>`) of the inline `<script>` elements of
/// an HTML page, in order; scripts with a `src` are not inline and are skipped.
/// The text is hashed as the browser sees it: line breaks normalised to `\n`.
pub fn inline_script_hashes(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut hashes = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<script").map(|i| at + i) {
        let Some(tag_end) = lower[start..].find('>').map(|i| start + i) else {
            break;
        };
        let Some(close) = lower[tag_end..].find("</script").map(|i| tag_end + i) else {
            break;
        };
        let tag = &lower[start + "<script".len()..tag_end];
        let has_src = tag
            .split(|c: char| c.is_ascii_whitespace() || c == '/')
            .any(|attr| attr == "src" || attr.starts_with("src="));
        // `<scripts>` or `<scripting>` would not be a script element.
        let is_script = tag.is_empty() || tag.starts_with(|c: char| c.is_ascii_whitespace() || c == '/');
        if is_script && !has_src {
            let text = html[tag_end + 1..close].replace("\r\n", "\n").replace('\r', "\n");
            hashes.push(format!(
                "sha256-{}",
                STANDARD.encode(Sha256::digest(text.as_bytes()))
            ));
        }
        at = close + "</script".len();
    }
    hashes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(text: &str) -> String {
        format!("sha256-{}", STANDARD.encode(Sha256::digest(text.as_bytes())))
    }

    #[test]
    fn inline_scripts_are_hashed_and_external_ones_skipped() {
        let html = "<html><head><script charset=\"UTF-8\">var a = '<script>';</script>\
            <script src=\"/x.js\"></script><SCRIPT>\r\nb()\r\n</SCRIPT></head>\
            <body><scripts>no</scripts><script type=\"module\" >c()</script></body></html>";
        assert_eq!(
            inline_script_hashes(html),
            vec![hash("var a = '<script>';"), hash("\nb()\n"), hash("c()")]
        );
        assert!(inline_script_hashes("<p>no scripts</p>").is_empty());
        assert!(inline_script_hashes("<script>unclosed").is_empty());
    }

    #[test]
    fn the_docs_policy_lists_hashes_and_never_unsafe_inline_for_scripts() {
        let policy = docs_csp(&[hash("a"), hash("b")]);
        let policy = policy.to_str().unwrap();
        let scripts = policy
            .split(';')
            .find(|d| d.trim().starts_with("script-src"))
            .unwrap();
        assert!(!scripts.contains("unsafe-inline"), "{policy}");
        assert!(scripts.contains(&format!("'{}'", hash("a"))), "{policy}");
        assert!(scripts.contains(&format!("'{}'", hash("b"))), "{policy}");
    }

    #[test]
    fn header_bytes_count_names_values_and_separators() {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", HeaderValue::from_static("12345"));
        assert_eq!(header_bytes(&headers), 3 + 5 + 4);
    }
}
