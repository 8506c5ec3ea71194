//! The embedded web app (rust-embed over `frontend/dist`) and our own small SPA
//! endpoint: poem's `EmbeddedFilesEndpoint` has no fallback and no cache policy.
//!
//! - `Content-Type` from mime_guess; `ETag` from the file's hash, `304` on a match;
//! - hashed `/assets/*`: `Cache-Control: public, max-age=31536000, immutable`;
//!   everything else `no-cache` (revalidated with the ETag on every use): `index.html`,
//!   the service worker `/sw.js` (its URL never changes, and a new build must reach
//!   the browser's update check), the web manifests and the icons (not hashed);
//! - `*.webmanifest` is `application/manifest+json`;
//! - the `.br`/`.gz` twins written at build time are served by `Accept-Encoding`,
//!   with `Vary: Accept-Encoding`;
//! - any other GET outside `/api` gets `index.html` (SPA routes such as `/analyze`),
//!   but a missing file (`/assets/x.js`, `/favicon.ico`) is a 404, never HTML;
//! - HEAD works like GET without a body;
//! - the entry page's responses carry the `EntryPage` extension, by which the
//!   guard's `EntrySession` around this endpoint issues a session with it.
//!
//! It must not serve anything under `/api`; the route tree never sends it there.

use poem::{
    Body, Endpoint, Request, Response, Result,
    http::{
        Method, StatusCode,
        header::{self, HeaderValue},
    },
};
use rust_embed::{EmbeddedFile, RustEmbed};

use crate::paths;

#[derive(RustEmbed)]
#[folder = "frontend/dist/"]
#[allow_missing = true]
struct Dist;

/// Shown when the binary was built without the web app.
const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Weld Assistant</title></head><body><h1>Weld Assistant</h1>\
<p>The API is running (see <a href=\"/docs\">/docs</a>), but this binary was built without the web app.</p>\
<p>Build it with Node 20+ and npm: run <code>cargo build --release</code> without \
<code>WELD_SKIP_FRONTEND_BUILD</code>, or <code>cd frontend &amp;&amp; npm ci &amp;&amp; npm run build</code> \
and rebuild.</p></body></html>";

/// The SPA endpoint. It marks the entry page's responses with [`EntryPage`]; it
/// knows nothing of sessions.
#[derive(Clone, Copy, Debug, Default)]
pub struct SpaEndpoint;

/// Marks a response that serves the entry page (a response extension): the
/// guard's `EntrySession` around this endpoint may issue a session with it.
#[derive(Clone, Copy, Debug)]
pub struct EntryPage;

fn looks_like_file(path: &str) -> bool {
    paths::is_asset_file(path) || path.rsplit('/').next().is_some_and(|last| last.contains('.'))
}

fn resolve(path: &str) -> Option<EmbeddedFile> {
    if path.is_empty() || path.ends_with(".br") || path.ends_with(".gz") {
        return None;
    }
    Dist::get(path)
}

impl Endpoint for SpaEndpoint {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Self::Output> {
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return Ok(Response::builder()
                .status(StatusCode::METHOD_NOT_ALLOWED)
                .header(header::ALLOW, "GET, HEAD")
                .finish());
        }
        let path = req.uri().path().trim_start_matches('/').to_owned();
        let (name, file) = match resolve(&path) {
            Some(file) if path != "index.html" => (path, file),
            _ if looks_like_file(&path) && path != "index.html" => {
                return Ok(Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .content_type("text/plain; charset=utf-8")
                    .header(header::CACHE_CONTROL, "no-cache")
                    .body("Not found"));
            }
            _ => match Dist::get("index.html") {
                Some(index) => ("index.html".to_owned(), index),
                None => {
                    let mut response = Response::builder()
                        .content_type("text/html; charset=utf-8")
                        .header(header::CACHE_CONTROL, "no-cache")
                        .body(NOT_BUILT);
                    response.extensions_mut().insert(EntryPage);
                    return Ok(response);
                }
            },
        };
        let mut response = serve(&req, &name, file);
        if name == "index.html" {
            response.extensions_mut().insert(EntryPage);
        }
        Ok(response)
    }
}

/// What is sent for one embedded file, worked out once: the variants (brotli,
/// gzip, identity) with their bytes and `ETag`s, and the constant headers.
struct Prepared {
    content_type: HeaderValue,
    cache: HeaderValue,
    /// `br`, `gzip`, then the identity, each when the build wrote it.
    variants: Vec<Variant>,
}

struct Variant {
    coding: Option<&'static str>,
    etag: HeaderValue,
    /// The ETag's text, for `If-None-Match`.
    tag: String,
    length: HeaderValue,
    bytes: bytes::Bytes,
}

fn prepare(name: &str, file: &EmbeddedFile) -> Prepared {
    let hash = hex(&file.metadata.sha256_hash()[..12]);
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    let content_type = match mime.type_() {
        mime_guess::mime::TEXT | mime_guess::mime::APPLICATION if mime.get_param("charset").is_none() => {
            format!("{}; charset=utf-8", mime.essence_str())
        }
        _ => mime.essence_str().to_owned(),
    };
    let variant = |coding: Option<&'static str>, data: std::borrow::Cow<'static, [u8]>| {
        let tag = match coding {
            Some(coding) => format!("\"{hash}-{coding}\""),
            None => format!("\"{hash}\""),
        };
        // Embedded files are static in a release build: served without a copy.
        let bytes = match data {
            std::borrow::Cow::Borrowed(data) => bytes::Bytes::from_static(data),
            std::borrow::Cow::Owned(data) => bytes::Bytes::from(data),
        };
        Variant {
            coding,
            etag: HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("\"\"")),
            tag,
            length: HeaderValue::from(bytes.len()),
            bytes,
        }
    };
    let mut variants: Vec<Variant> = [("br", "br"), ("gzip", "gz")]
        .into_iter()
        .filter_map(|(coding, ext)| {
            Dist::get(&format!("{name}.{ext}")).map(|f| variant(Some(coding), f.data))
        })
        .collect();
    variants.push(variant(None, file.data.clone()));
    Prepared {
        content_type: HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        cache: HeaderValue::from_static(cache_policy(name)),
        variants,
    }
}

/// The prepared files, by name, filled on first use of each (a debug build
/// reads the files from disk each time, so a rebuilt web app is seen at once).
fn prepared(name: &str, file: EmbeddedFile) -> std::sync::Arc<Prepared> {
    if cfg!(debug_assertions) {
        return std::sync::Arc::new(prepare(name, &file));
    }
    static PREPARED: std::sync::OnceLock<
        std::sync::RwLock<std::collections::HashMap<String, std::sync::Arc<Prepared>>>,
    > = std::sync::OnceLock::new();
    let table = PREPARED.get_or_init(Default::default);
    if let Some(found) = table.read().ok().and_then(|t| t.get(name).cloned()) {
        return found;
    }
    let made = std::sync::Arc::new(prepare(name, &file));
    if let Ok(mut table) = table.write() {
        table.insert(name.to_owned(), made.clone());
    }
    made
}

fn serve(req: &Request, name: &str, file: EmbeddedFile) -> Response {
    let accepted = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let prepared = prepared(name, file);
    let Some(variant) = prepared
        .variants
        .iter()
        .find(|v| v.coding.is_none_or(|coding| accepts(accepted, coding)))
    else {
        return Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .finish();
    };
    let not_modified = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| none_match_hits(v, &variant.tag));
    let mut response = Response::default();
    let headers = response.headers_mut();
    headers.insert(header::ETAG, variant.etag.clone());
    headers.insert(header::CACHE_CONTROL, prepared.cache.clone());
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if not_modified {
        response.set_status(StatusCode::NOT_MODIFIED);
        return response;
    }
    headers.insert(header::CONTENT_TYPE, prepared.content_type.clone());
    if let Some(coding) = variant.coding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    if req.method() == Method::HEAD {
        headers.insert(header::CONTENT_LENGTH, variant.length.clone());
        return response;
    }
    response.set_body(Body::from_bytes(variant.bytes.clone()));
    response
}

/// `Cache-Control` for an embedded file: only the hashed `/assets/*` may be kept
/// without asking; the entry page, `sw.js`, the manifests and the icons keep their
/// URL across builds, so the browser revalidates them every time.
fn cache_policy(name: &str) -> &'static str {
    if paths::is_asset_file(name) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    }
}

/// Whether an `If-None-Match` value matches our strong `etag` by RFC 9110's weak
/// comparison (§8.8.3.2): `*`, or any listed entity-tag whose opaque part equals
/// ours, with or without `W/`. A malformed list matches nothing.
fn none_match_hits(header: &str, etag: &str) -> bool {
    if header.trim() == "*" {
        return true;
    }
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        if rest.is_empty() {
            return false;
        }
        let tag = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(inner) = tag.strip_prefix('"') else {
            return false;
        };
        let Some(end) = inner.find('"') else { return false };
        if etag.len() == end + 2 && etag[1..=end] == inner[..end] {
            return true;
        }
        rest = &inner[end + 1..];
    }
}

/// Whether `Accept-Encoding` accepts a coding (q=0 refuses it).
fn accepts(header: &str, coding: &str) -> bool {
    header.split(',').any(|item| {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        (name.eq_ignore_ascii_case(coding) || name == "*") && q > 0.0
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_uses_weak_comparison() {
        let etag = "\"abc123\"";
        for hit in [
            "\"abc123\"",
            "W/\"abc123\"",
            "*",
            " * ",
            "\"zzz\", W/\"abc123\"",
            "W/\"x\",\"abc123\"",
            "  W/\"abc123\"  ,",
        ] {
            assert!(none_match_hits(hit, etag), "{hit}");
        }
        for miss in [
            "",
            "abc123",
            "\"abc12\"",
            "\"abc1234\"",
            "W/\"abc123",
            "w/\"abc123\"",
            "\"x\", *",
            "\"abc123-br\"",
        ] {
            assert!(!none_match_hits(miss, etag), "{miss}");
        }
    }

    #[test]
    fn only_hashed_assets_are_cached_without_revalidation() {
        assert_eq!(
            cache_policy("assets/index-AbC123.js"),
            "public, max-age=31536000, immutable"
        );
        for name in [
            "index.html",
            "sw.js",
            "manifest.webmanifest",
            "manifest.en.webmanifest",
            "icons/icon-512.png",
        ] {
            assert_eq!(cache_policy(name), "no-cache", "{name}");
        }
    }

    #[test]
    fn the_manifest_and_the_worker_have_their_content_types() {
        assert_eq!(
            mime_guess::from_path("manifest.webmanifest")
                .first_or_octet_stream()
                .essence_str(),
            "application/manifest+json"
        );
        assert_eq!(
            mime_guess::from_path("sw.js")
                .first_or_octet_stream()
                .essence_str(),
            "text/javascript"
        );
    }

    #[test]
    fn accept_encoding_honours_q_zero_and_wildcards() {
        assert!(accepts("gzip, deflate, br", "br"));
        assert!(accepts("br;q=1.0, gzip;q=0.8", "gzip"));
        assert!(!accepts("br;q=0, gzip", "br"));
        assert!(accepts("*", "gzip"));
        assert!(!accepts("identity", "gzip"));
        assert!(!accepts("", "br"));
    }
}
