//! The embedded web app: content types, cache policy, ETag/304, SPA fallback,
//! precompressed bodies, HEAD, and security headers on every response.

use crate::helpers::spawn_app;

/// The hashed JS the entry page loads, e.g. `/assets/index-AbC123.js`.
fn entry_script(html: &str) -> String {
    html.split('"')
        .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
        .expect("index.html loads a hashed script from /assets/")
        .to_owned()
}

fn client_without_decompression() -> reqwest::Client {
    // The test client sends Accept-Encoding itself and reads the raw bytes.
    reqwest::Client::builder().no_proxy().build().unwrap()
}

#[tokio::test]
async fn the_entry_page_and_spa_routes_are_index_html_with_no_cache() {
    let app = spawn_app().await;
    let root = app.get("/").await;
    assert_eq!(root.status(), 200);
    assert_eq!(root.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(root.headers()["cache-control"], "no-cache");
    let html = root.text().await.unwrap();
    assert!(html.contains("<div id=\"root\">"), "{html}");
    for deep in ["/chat", "/analyze", "/analyze/anything?x=1"] {
        let response = app.get(deep).await;
        assert_eq!(response.status(), 200, "{deep}");
        assert_eq!(response.text().await.unwrap(), html, "{deep} is the SPA entry");
    }
}

#[tokio::test]
async fn hashed_assets_are_immutable_and_missing_files_are_404_not_html() {
    let app = spawn_app().await;
    let html = app.get("/").await.text().await.unwrap();
    let script = entry_script(&html);
    let response = app.get(&script).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    for missing in ["/assets/nope.js", "/favicon.ico", "/robots.txt"] {
        let response = app.get(missing).await;
        assert_eq!(response.status(), 404, "{missing}");
        assert!(
            !response.text().await.unwrap().contains("<html"),
            "{missing} is not HTML"
        );
    }
}

#[tokio::test]
async fn etag_revalidation_answers_304_without_a_body() {
    let app = spawn_app().await;
    let html = app.get("/").await.text().await.unwrap();
    let script = entry_script(&html);
    let first = app.get(&script).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'));
    let again = app
        .client
        .get(format!("{}{script}", app.url))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    assert!(again.bytes().await.unwrap().is_empty());
    let other = app
        .client
        .get(format!("{}{script}", app.url))
        .header("If-None-Match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn weak_and_listed_and_star_validators_also_answer_304() {
    let app = spawn_app().await;
    let html = app.get("/").await.text().await.unwrap();
    let script = entry_script(&html);
    let etag = app.get(&script).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let weak = format!("W/{etag}");
    let listed = format!("\"other\", W/\"x\",{weak}");
    for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
        for (validator, status) in [
            (weak.as_str(), 304),
            (listed.as_str(), 304),
            ("*", 304),
            ("W/\"other\", \"another\"", 200),
            (etag.trim_matches('"'), 200),
        ] {
            let response = app
                .client
                .request(method.clone(), format!("{}{script}", app.url))
                .header("If-None-Match", validator)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), status, "{method} {validator}");
            if status == 304 {
                assert_eq!(response.headers()["etag"], etag.as_str());
                assert!(response.bytes().await.unwrap().is_empty());
            }
        }
    }
    // The entry page revalidates the same way.
    let index_etag = app.get("/").await.headers()["etag"].to_str().unwrap().to_owned();
    let response = app
        .client
        .get(format!("{}/", app.url))
        .header("If-None-Match", format!("W/{index_etag}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304);
}

/// The `script-src` directive of a policy.
fn script_src(csp: &str) -> &str {
    csp.split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap_or("")
}

/// The text of each inline `<script>` (no `src`) of a page.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut scripts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let tag_end = start + rest[start..].find('>').unwrap();
        let close = tag_end + rest[tag_end..].find("</script>").unwrap();
        if !rest[start..tag_end].contains(" src=") {
            scripts.push(&rest[tag_end + 1..close]);
        }
        rest = &rest[close + "</script>".len()..];
    }
    scripts
}

#[tokio::test]
async fn the_docs_allow_exactly_their_inline_scripts_by_hash() {
    use base64::Engine as _;
    use sha2::Digest as _;
    let app = spawn_app().await;
    for path in ["/docs", "/docs/oauth-receiver.html"] {
        // Twice: the first answer computes the hashes, the second uses the cached ones.
        for round in 0..2 {
            let response = app.get(path).await;
            assert_eq!(response.status(), 200, "{path}");
            let csp = response.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_owned();
            let html = response.text().await.unwrap();
            let scripts = script_src(&csp);
            assert!(!scripts.contains("unsafe-inline"), "{path}: {csp}");
            assert!(!scripts.contains("unsafe-eval"), "{path}: {csp}");
            let inline = inline_scripts(&html);
            assert!(!inline.is_empty(), "{path} has inline scripts");
            for text in inline {
                let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(text));
                assert!(
                    scripts.contains(&format!("'sha256-{hash}'")),
                    "{path} round {round}: a script's hash is not allowed: {scripts}"
                );
            }
        }
    }
    // A docs response that is not a page allows no inline script at all.
    let missing = app.get("/docs/nope").await;
    let csp = missing.headers()["content-security-policy"].to_str().unwrap();
    assert_eq!(script_src(csp), "script-src 'self'", "{csp}");
}

#[tokio::test]
async fn brotli_and_gzip_follow_accept_encoding() {
    let app = spawn_app().await;
    let html = app.get("/").await.text().await.unwrap();
    let script = entry_script(&html);
    let client = client_without_decompression();
    let plain = client.get(format!("{}{script}", app.url)).send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain_len = plain.bytes().await.unwrap().len();
    for (accept, expected) in [
        ("gzip, deflate, br", "br"),
        ("gzip", "gzip"),
        ("br;q=0, gzip", "gzip"),
    ] {
        let response = client
            .get(format!("{}{script}", app.url))
            .header("Accept-Encoding", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["content-encoding"], expected, "{accept}");
        assert_eq!(response.headers()["vary"], "Accept-Encoding");
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        assert!(etag.contains(expected), "{etag}");
        let len = response.bytes().await.unwrap().len();
        assert!(len < plain_len, "{expected}: {len} < {plain_len}");
    }
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let app = spawn_app().await;
    let get = app.get("/").await;
    let length = get.text().await.unwrap().len();
    let head = app.client.head(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], length.to_string().as_str());
    assert!(head.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    for path in [
        "/",
        "/analyze",
        "/assets/nope.js",
        "/api/health",
        "/api/nope",
        "/openapi.json",
        "/docs",
    ] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(
            csp.contains("object-src 'none'") && csp.contains("base-uri 'none'"),
            "{path}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        if path == "/docs" {
            assert!(
                !script_src(csp).contains("unsafe-inline"),
                "{path}: scripts by hash only: {csp}"
            );
        } else {
            assert!(
                !csp.contains("unsafe-inline"),
                "{path}: no inline scripts for the app"
            );
            assert!(csp.contains("default-src 'self'") && csp.contains("img-src 'self' data: blob:"));
            assert!(csp.contains("connect-src 'self'"));
        }
    }
}

#[tokio::test]
async fn the_api_is_never_shadowed_by_the_spa() {
    let app = spawn_app().await;
    let response = app.get("/api/unknown").await;
    assert_eq!(response.status(), 404);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let post = app
        .client
        .post(format!("{}/analyze", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 405);
}

/// Width and height from a PNG's IHDR chunk (right after the 8-byte signature).
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG: {:?}",
        &bytes[..bytes.len().min(8)]
    );
    assert_eq!(&bytes[12..16], b"IHDR", "the first chunk is IHDR");
    let word = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (word(16), word(20))
}

#[tokio::test]
async fn the_web_manifests_list_icons_that_are_pngs_of_their_stated_size() {
    let app = spawn_app().await;
    let html = app.get("/").await.text().await.unwrap();
    assert!(
        html.contains("<link rel=\"manifest\" href=\"/manifest.webmanifest\""),
        "the entry page links the manifest: {html}"
    );
    for (path, lang) in [
        ("/manifest.webmanifest", "ru"),
        ("/manifest.en.webmanifest", "en"),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/manifest+json; charset=utf-8",
            "{path}"
        );
        assert_eq!(response.headers()["cache-control"], "no-cache", "{path}");
        let manifest: serde_json::Value = response.json().await.unwrap();
        assert_eq!(manifest["lang"], lang, "{path}");
        assert_eq!(manifest["start_url"], "/");
        assert_eq!(manifest["scope"], "/");
        assert_eq!(manifest["display"], "standalone");
        assert_eq!(manifest["theme_color"], "#0f172a");
        assert_eq!(manifest["background_color"], "#0f172a");
        let name = manifest["name"].as_str().unwrap();
        assert!(name.contains("Weld Assistant"), "{path}: {name}");
        let local = if lang == "ru" {
            "сварочный помощник"
        } else {
            "welding helper"
        };
        assert!(name.contains(local), "{path}: {name}");
        let icons = manifest["icons"].as_array().unwrap();
        let mut seen = Vec::new();
        for icon in icons {
            let src = icon["src"].as_str().unwrap();
            let sizes = icon["sizes"].as_str().unwrap();
            let purpose = icon["purpose"].as_str().unwrap();
            assert_eq!(icon["type"], "image/png", "{src}");
            let response = app.get(src).await;
            assert_eq!(response.status(), 200, "{src}");
            assert_eq!(response.headers()["content-type"], "image/png", "{src}");
            let (width, height) = png_size(&response.bytes().await.unwrap());
            assert_eq!(format!("{width}x{height}"), sizes, "{src}");
            seen.push((sizes.to_owned(), purpose.to_owned()));
        }
        for wanted in [("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")] {
            assert!(
                seen.iter().any(|(s, p)| s == wanted.0 && p == wanted.1),
                "{path} lacks a {wanted:?} icon: {seen:?}"
            );
        }
    }
    let apple = app.get("/icons/apple-touch-icon.png").await;
    assert_eq!(apple.status(), 200);
    assert_eq!(png_size(&apple.bytes().await.unwrap()), (180, 180));
}

#[tokio::test]
async fn the_service_worker_has_a_stable_url_no_cache_and_precaches_this_build() {
    let app = spawn_app().await;
    let html = app.get("/").await.text().await.unwrap();
    let response = app.get("/sw.js").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript"),
        "{:?}",
        response.headers()["content-type"]
    );
    let worker = response.text().await.unwrap();
    assert!(
        !worker.contains("__WELD_"),
        "the build filled in the placeholders"
    );
    assert!(
        worker.contains(&format!("\\\"{}\\\"", entry_script(&html))),
        "precaches the entry script"
    );
    assert!(worker.contains("\\\"/\\\""), "precaches the entry page");
    assert!(!worker.contains("\\\"/api"), "precaches nothing under /api");
}

#[tokio::test]
async fn the_app_policy_allows_its_worker_and_manifest_from_this_origin_only() {
    let app = spawn_app().await;
    for path in ["/", "/sw.js", "/manifest.webmanifest"] {
        let response = app.get(path).await;
        let csp = response.headers()["content-security-policy"].to_str().unwrap();
        let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
        assert!(directives.contains(&"worker-src 'self'"), "{path}: {csp}");
        assert!(directives.contains(&"manifest-src 'self'"), "{path}: {csp}");
        assert!(
            !csp.contains("http:") && !csp.contains("https:") && !csp.contains('*'),
            "{path}: no other host: {csp}"
        );
    }
}
