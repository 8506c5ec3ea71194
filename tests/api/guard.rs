//! Who may spend the key: sessions, the access code, tokens, CORS, the cross-site
//! check, rate limits, the daily budget, and photo privacy.

use std::time::Duration;

use serde_json::json;

use crate::{
    fake_gemini::Reply,
    helpers::{Answer, CANARY_CODE, CANARY_SECRET, TestApp, browser, spawn_app, spawn_app_with},
};

fn chat() -> serde_json::Value {
    json!({"message": "Какой газ для MAG?"})
}

/// A client with no cookies at all.
fn stranger() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn post_chat(client: &reqwest::Client, app: &TestApp, headers: &[(&str, &str)]) -> Answer {
    let mut request = client.post(format!("{}/api/chat", app.url)).json(&chat());
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    Answer::read(request.send().await.unwrap()).await
}

use crate::helpers::session_set_cookie as session_cookie;

fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("weld_session=")
        .to_owned()
}

async fn new_session(app: &TestApp, body: serde_json::Value) -> (u16, Option<String>, String) {
    let response = stranger()
        .post(format!("{}/api/session", app.url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let cookie = session_cookie(&response);
    (status, cookie, response.text().await.unwrap())
}

#[tokio::test]
async fn ai_endpoints_need_a_session_or_a_token() {
    let app = spawn_app().await;
    Answer::read(
        stranger()
            .post(format!("{}/api/chat", app.url))
            .json(&chat())
            .send()
            .await
            .unwrap(),
    )
    .await
    .assert_error(401, "session_required");
    let image = json!({"base64Image": crate::helpers::PNG_1X1_BASE64, "mimeType": "image/png"});
    Answer::read(
        stranger()
            .post(format!("{}/api/analyze", app.url))
            .json(&image)
            .send()
            .await
            .unwrap(),
    )
    .await
    .assert_error(401, "session_required");
    assert!(app.fake.received().is_empty(), "nothing reached Gemini");
    // Health, the session API and the docs stay open.
    assert_eq!(
        stranger()
            .get(format!("{}/api/health", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        stranger()
            .get(format!("{}/api/session", app.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn the_session_cookie_is_strict_and_carries_its_expiry() {
    let app = spawn_app_with(|c| c.session_ttl_hours = 2).await;
    let (status, cookie, body) = new_session(&app, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let cookie = cookie.expect("Set-Cookie weld_session");
    for attribute in ["Path=/", "HttpOnly", "SameSite=Strict", "Max-Age=7200"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["active"], true);
    assert_eq!(body["accessCodeRequired"], false);
    let expires = body["expiresAt"].as_str().unwrap();
    assert!(expires.ends_with('Z'), "{expires}");
    let value = cookie_value(&cookie);
    let answer = post_chat(&stranger(), &app, &[("cookie", &format!("weld_session={value}"))]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn secure_is_set_unless_cookie_secure_is_false() {
    let app = spawn_app_with(|c| c.cookie_secure = true).await;
    let (_, cookie, _) = new_session(&app, json!({})).await;
    assert!(cookie.unwrap().contains("Secure"));
}

#[tokio::test]
async fn tampered_forged_expired_and_other_secret_cookies_are_refused() {
    let app = spawn_app().await;
    let (_, cookie, _) = new_session(&app, json!({})).await;
    let value = cookie_value(&cookie.unwrap());
    let (payload, tag) = value.rsplit_once('.').unwrap();
    let secs: u64 = payload.split('.').nth(1).unwrap().parse().unwrap();
    let extended = payload.replace(&secs.to_string(), &(secs + 86_400 * 365).to_string());
    let other = weld_assistant::guard::session::Sessions::new(
        b"another-secret-another-secret-12345".to_vec(),
        Duration::from_secs(3600),
        false,
    );
    let (_, other_value) = other.issue();
    let expired = weld_assistant::guard::session::Sessions::new(
        CANARY_SECRET.as_bytes().to_vec(),
        Duration::ZERO,
        false,
    );
    let (_, expired_value) = expired.issue();
    for bad in [
        format!("{extended}.{tag}"),
        format!("{payload}.{}", "A".repeat(43)),
        "v1.99999999999.forged.AAAA".to_owned(),
        other_value,
        expired_value,
        "".to_owned(),
    ] {
        post_chat(&stranger(), &app, &[("cookie", &format!("weld_session={bad}"))])
            .await
            .assert_error(401, "session_required");
    }
    assert!(app.fake.received().is_empty());
}

#[tokio::test]
async fn a_cookie_survives_a_restart_with_the_same_secret_only() {
    let first = spawn_app().await;
    let (_, cookie, _) = new_session(&first, json!({})).await;
    let value = cookie_value(&cookie.unwrap());
    drop(first);
    let restarted = spawn_app().await;
    let answer = post_chat(
        &stranger(),
        &restarted,
        &[("cookie", &format!("weld_session={value}"))],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let other =
        spawn_app_with(|c| c.session_secret = Some("a-different-secret-0123456789abcdefgh".into())).await;
    post_chat(
        &stranger(),
        &other,
        &[("cookie", &format!("weld_session={value}"))],
    )
    .await
    .assert_error(401, "session_required");
}

#[tokio::test]
async fn logout_clears_the_cookie_at_path_root() {
    let app = spawn_app().await;
    let response = app
        .client
        .delete(format!("{}/api/session", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let cleared = session_cookie(&response).expect("a clearing Set-Cookie");
    assert!(cleared.starts_with("weld_session=;"), "{cleared}");
    assert!(
        cleared.contains("Path=/") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    // The browser-like client dropped the cookie.
    post_chat(&app.client, &app, &[])
        .await
        .assert_error(401, "session_required");
    let state: serde_json::Value = app
        .client
        .get(format!("{}/api/session", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["active"], false);
}

#[tokio::test]
async fn the_entry_page_issues_a_session_so_the_original_client_just_works() {
    let app = spawn_app().await;
    let client = browser();
    let page = client.get(format!("{}/", app.url)).send().await.unwrap();
    assert!(session_cookie(&page).is_some(), "the entry page sets the cookie");
    // The original app's services/gemini.ts: no /api/session call, no token.
    let body =
        json!({"message": "Привет", "history": [{"role": "model", "parts": [{"text": "Здравствуйте!"}]}]});
    let answer = Answer::read(
        client
            .post(format!("{}/api/chat", app.url))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    // A page load with a valid session does not issue another.
    let again = client.get(format!("{}/analyze", app.url)).send().await.unwrap();
    assert!(session_cookie(&again).is_none());
    // Assets never set cookies.
    let html = again.text().await.unwrap();
    let script = html
        .split('"')
        .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
        .unwrap();
    assert!(
        session_cookie(
            &stranger()
                .get(format!("{}{script}", app.url))
                .send()
                .await
                .unwrap()
        )
        .is_none()
    );
}

#[tokio::test]
async fn with_an_access_code_sessions_need_the_code() {
    let app = spawn_app_with(|c| c.access_code = Some(CANARY_CODE.into())).await;
    let state: serde_json::Value = stranger()
        .get(format!("{}/api/session", app.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state, json!({"active": false, "accessCodeRequired": true}));
    let page = stranger().get(format!("{}/", app.url)).send().await.unwrap();
    assert!(session_cookie(&page).is_none(), "no free session with the page");
    for body in [
        json!({}),
        json!({"accessCode": ""}),
        json!({"accessCode": "wrong"}),
        json!({"accessCode": format!("{CANARY_CODE}x")}),
    ] {
        let (status, cookie, text) = new_session(&app, body).await;
        assert_eq!(status, 401, "{text}");
        assert!(cookie.is_none());
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["code"], "access_code_invalid");
        assert!(!text.contains(CANARY_CODE));
    }
    let (status, cookie, _) = new_session(&app, json!({"accessCode": CANARY_CODE})).await;
    assert_eq!(status, 200);
    let value = cookie_value(&cookie.unwrap());
    let answer = post_chat(&stranger(), &app, &[("cookie", &format!("weld_session={value}"))]).await;
    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn access_code_attempts_are_rate_limited_per_client() {
    let app = spawn_app_with(|c| c.access_code = Some(CANARY_CODE.into())).await;
    // Guesses until refused: the burst is ten (one went on the test's own login), and
    // one attempt comes back every 2 s, so a slow machine needs a few more guesses,
    // never fewer than nine.
    let mut statuses = Vec::new();
    while statuses.last() != Some(&429) {
        assert!(statuses.len() < 100, "guessing was never refused: {statuses:?}");
        let (status, _, _) = new_session(&app, json!({"accessCode": "guess"})).await;
        statuses.push(status);
    }
    assert!(
        statuses.len() >= 9 && statuses[..statuses.len() - 1].iter().all(|s| *s == 401),
        "{statuses:?}"
    );
    // Even the right code waits. An attempt may come back between two requests
    // (once every 2 s): a server that checks the code first lets it in every time,
    // so one refusal in three tries is the proof.
    let mut right_code = Vec::new();
    for _ in 0..3 {
        let response = stranger()
            .post(format!("{}/api/session", app.url))
            .json(&json!({"accessCode": CANARY_CODE}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        if status == 429 {
            assert!(response.headers().get("retry-after").is_some());
            break;
        }
        right_code.push(status);
        while new_session(&app, json!({"accessCode": "guess"})).await.0 != 429 {}
    }
    assert!(
        right_code.len() < 3,
        "the right code was never refused: {right_code:?}"
    );
}

#[tokio::test]
async fn tokens_let_scripts_in_from_anywhere() {
    let app = spawn_app_with(|c| c.api_tokens = vec!["script-token-1".into(), "script-token-2".into()]).await;
    let answer = post_chat(&stranger(), &app, &[("x-proxy-token", "script-token-2")]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let answer = post_chat(
        &stranger(),
        &app,
        &[
            ("x-proxy-token", "script-token-1"),
            ("origin", "https://other.example"),
            ("sec-fetch-site", "cross-site"),
        ],
    )
    .await;
    assert_eq!(
        answer.status, 200,
        "a token is not cookie-authenticated: {}",
        answer.text
    );
    post_chat(&stranger(), &app, &[("x-proxy-token", "wrong")])
        .await
        .assert_error(401, "session_required");
}

#[tokio::test]
async fn cross_site_cookie_requests_are_403() {
    let app = spawn_app().await;
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
    ] {
        post_chat(&app.client, &app, &headers)
            .await
            .assert_error(403, "cross_site_request");
    }
    let own = format!("http://{}", app.address);
    let answer = post_chat(
        &app.client,
        &app,
        &[("origin", own.as_str()), ("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(app.fake.received().len(), 1);
}

#[tokio::test]
async fn the_public_url_is_the_site_for_the_origin_check() {
    let app = spawn_app_with(|c| c.public_url = Some("https://weld.example.org".parse().unwrap())).await;
    let answer = post_chat(&app.client, &app, &[("origin", "https://weld.example.org")]).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let own = format!("http://{}", app.address);
    post_chat(&app.client, &app, &[("origin", own.as_str())])
        .await
        .assert_error(403, "cross_site_request");
}

#[tokio::test]
async fn cors_answers_only_listed_origins_and_never_with_credentials() {
    let app = spawn_app_with(|c| {
        c.allowed_origins = vec!["https://app.example.org".into()];
        c.api_tokens = vec!["cors-token".into()];
    })
    .await;
    let preflight = |origin: &'static str| {
        stranger()
            .request(reqwest::Method::OPTIONS, format!("{}/api/chat", app.url))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type, x-proxy-token")
            .send()
    };
    let allowed = preflight("https://app.example.org").await.unwrap();
    assert_eq!(allowed.status(), 204);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.org"
    );
    assert!(
        allowed.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("x-proxy-token")
    );
    assert!(
        allowed
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());
    assert!(
        refused
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );

    let answer = post_chat(
        &stranger(),
        &app,
        &[
            ("origin", "https://app.example.org"),
            ("x-proxy-token", "cors-token"),
        ],
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.headers["access-control-allow-origin"],
        "https://app.example.org"
    );
    let answer = post_chat(
        &stranger(),
        &app,
        &[
            ("origin", "https://evil.example"),
            ("x-proxy-token", "cors-token"),
        ],
    )
    .await;
    assert!(answer.headers.get("access-control-allow-origin").is_none());
    let same_origin = post_chat(&app.client, &app, &[]).await;
    assert!(same_origin.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn the_request_after_the_burst_is_429_with_retry_headers() {
    // One token a minute: no token comes back while the test runs, however slowly.
    let app = spawn_app_with(|c| {
        c.rate_limit_per_minute = 1;
        c.rate_limit_burst = 3;
        c.api_tokens = vec!["t".into()];
    })
    .await;
    for remaining in [2, 1, 0] {
        let answer = post_chat(&stranger(), &app, &[("x-proxy-token", "t")]).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers["x-ratelimit-limit"], "3");
        assert_eq!(
            answer.headers["x-ratelimit-remaining"],
            remaining.to_string().as_str()
        );
    }
    let answer = post_chat(&stranger(), &app, &[("x-proxy-token", "t")]).await;
    let json = answer.assert_error(429, "rate_limited");
    let retry: u64 = answer.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(json["retryAfterSeconds"], retry);
    assert_eq!(answer.headers["x-ratelimit-after"], retry.to_string().as_str());
    assert_eq!(app.fake.received().len(), 3);
}

#[tokio::test]
async fn one_browser_gets_exactly_its_own_limit() {
    // Two a minute per person, two at once: none comes back mid-test.
    let app = spawn_app_with(|c| {
        c.rate_limit_per_minute = 2;
        c.rate_limit_burst = 2;
    })
    .await;
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(post_chat(&app.client, &app, &[]).await.status);
        }
        v
    };
    assert_eq!(statuses, vec![200, 200, 429]);
    let second_browser = browser();
    second_browser
        .post(format!("{}/api/session", app.url))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        post_chat(&second_browser, &app, &[]).await.status,
        200,
        "another browser on the same IP"
    );
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    // One request per address; one token is one person with plenty.
    let limits = |c: &mut weld_assistant::Config| {
        c.rate_limit_per_ip_per_minute = 1;
        c.rate_limit_per_ip_burst = 1;
        c.api_tokens = vec!["t".into()];
    };
    let behind_proxy = spawn_app_with(|c| {
        limits(c);
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let first = post_chat(
        &stranger(),
        &behind_proxy,
        &[("x-proxy-token", "t"), ("x-forwarded-for", "198.51.100.1")],
    )
    .await;
    assert_eq!(first.status, 200);
    post_chat(
        &stranger(),
        &behind_proxy,
        &[("x-proxy-token", "t"), ("x-forwarded-for", "198.51.100.1")],
    )
    .await
    .assert_error(429, "rate_limited");
    let other = post_chat(
        &stranger(),
        &behind_proxy,
        &[
            ("x-proxy-token", "t"),
            ("x-forwarded-for", "6.6.6.6, 198.51.100.2"),
        ],
    )
    .await;
    assert_eq!(other.status, 200, "another client behind the proxy");

    let direct = spawn_app_with(limits).await;
    assert_eq!(
        post_chat(
            &stranger(),
            &direct,
            &[("x-proxy-token", "t"), ("x-forwarded-for", "198.51.100.1")]
        )
        .await
        .status,
        200
    );
    post_chat(
        &stranger(),
        &direct,
        &[("x-proxy-token", "t"), ("x-forwarded-for", "198.51.100.2")],
    )
    .await
    .assert_error(429, "rate_limited");
}

#[tokio::test]
async fn the_daily_budget_is_never_overshot_by_concurrent_requests() {
    let app = spawn_app_with(|c| {
        c.daily_request_budget = Some(10);
        c.api_tokens = vec!["t".into()];
    })
    .await;
    app.fake.always(Reply::ok().delayed(Duration::from_millis(200)));
    let client = stranger();
    let requests = (0..50).map(|_| post_chat(&client, &app, &[("x-proxy-token", "t")]));
    let answers = futures_util::future::join_all(requests).await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(ok, 10);
    for refused in answers.iter().filter(|a| a.status != 200) {
        let json = refused.assert_error(429, "budget_exhausted");
        let retry = json["retryAfterSeconds"].as_u64().unwrap();
        assert!((1..=86_400).contains(&retry));
        assert_eq!(refused.headers["retry-after"], retry.to_string().as_str());
    }
    assert_eq!(app.fake.received().len(), 10);
}

#[tokio::test]
async fn a_jpeg_with_gps_exif_reaches_gemini_without_it() {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let app = spawn_app().await;
    let jpeg = crate::helpers::jpeg_with_gps();
    assert!(jpeg.windows(6).any(|w| w == b"Exif\0\0"));
    for body in [json!({"base64Image": STANDARD.encode(&jpeg), "mimeType": "image/jpeg"})] {
        let answer = Answer::read(app.post_json("/api/analyze", &body).await).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let form = crate::helpers::image_form(jpeg.clone(), "gps.jpg", Some("image/jpeg"));
    assert_eq!(app.post_multipart("/api/analyze", form).await.status(), 200);
    for sent in app.fake.received() {
        let data = sent.json()["contents"][0]["parts"][0]["inlineData"]["data"]
            .as_str()
            .unwrap()
            .to_owned();
        let forwarded = STANDARD.decode(data).unwrap();
        assert!(forwarded.starts_with(&[0xFF, 0xD8]));
        assert!(
            !forwarded.windows(6).any(|w| w == b"Exif\0\0"),
            "EXIF reached Gemini"
        );
        assert!(
            !forwarded.windows(8).any(|w| w == b"GPSCANAR"),
            "GPS reached Gemini"
        );
        assert!(forwarded.len() < jpeg.len());
    }
}
