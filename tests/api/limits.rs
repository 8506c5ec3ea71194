//! The limits in people's terms (issue 11): a class behind one address, one person
//! over their limit, slow uploads that must not hold the analysis up, token
//! guessing, sessions that follow the access code, addresses through a dual-stack
//! listener and IPv6 /64s, and two replicas sharing a real Redis (then losing it).

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weld_assistant::Config;

use crate::{
    helpers::{
        Answer, CANARY_CODE, HANG_LIMIT, PNG_1X1_BASE64, TestApp, bounded, browser, read_response,
        spawn_app_with,
    },
    redis_server::RedisServer,
};

fn question() -> serde_json::Value {
    json!({"message": "Какой газ для MAG?"})
}

/// A client with no cookies at all.
fn stranger() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// The default limits, whatever the test configuration says.
fn default_limits(c: &mut Config) {
    let defaults = Config::defaults();
    c.rate_limit_per_minute = defaults.rate_limit_per_minute;
    c.rate_limit_burst = defaults.rate_limit_burst;
    c.rate_limit_per_ip_per_minute = defaults.rate_limit_per_ip_per_minute;
    c.rate_limit_per_ip_burst = defaults.rate_limit_per_ip_burst;
}

async fn ask(client: &reqwest::Client, app: &TestApp, headers: &[(&str, &str)]) -> Answer {
    let mut request = client.post(format!("{}/api/chat", app.url)).json(&question());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Answer::read(request.send().await.unwrap()).await
}

/// A person opening the site: `GET /` with their own cookie jar; the page must
/// hand them a session cookie.
async fn open_site(app: &TestApp) -> reqwest::Client {
    let client = browser();
    let response = client.get(format!("{}/", app.url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        session_cookie(&response).is_some(),
        "the entry page issued no session cookie"
    );
    client
}

/// The `weld_session` value a response sets.
fn session_cookie(response: &reqwest::Response) -> Option<String> {
    let header = crate::helpers::session_set_cookie(response)?;
    let value = header.strip_prefix("weld_session=")?;
    Some(value.split(';').next().unwrap_or("").to_owned())
}

/// A fresh session cookie value from the entry page.
async fn fresh_cookie(app: &TestApp) -> String {
    let response = stranger().get(format!("{}/", app.url)).send().await.unwrap();
    session_cookie(&response).expect("the entry page issues a cookie")
}

/// Asserts a 429 with its `Retry-After` and `retryAfterSeconds` agreeing.
fn assert_limited(answer: &Answer, code: &str) {
    let json = answer.assert_error(429, code);
    let retry: u64 = answer.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1, "{retry}");
    assert_eq!(json["retryAfterSeconds"], retry);
}

// ------------------------------------------------------------------ a class

#[tokio::test]
async fn a_class_of_30_behind_one_address_each_asking_2_questions_at_once_is_answered() {
    let app = spawn_app_with(default_limits).await;
    let class = join_all((0..30).map(|_| open_site(&app))).await;
    let questions = class
        .iter()
        .flat_map(|student| [ask(student, &app, &[]), ask(student, &app, &[])]);
    let answers = bounded("60 questions", HANG_LIMIT * 2, join_all(questions)).await;
    let refused: Vec<_> = answers
        .iter()
        .filter(|a| a.status != 200)
        .map(|a| format!("{} {}", a.status, a.text))
        .collect();
    assert!(refused.is_empty(), "{} of 60 refused: {refused:?}", refused.len());
    assert_eq!(app.fake.received().len(), 60);
}

#[tokio::test]
async fn one_person_over_their_limit_is_refused_while_a_classmate_is_not() {
    let app = spawn_app_with(default_limits).await;
    let (eager, classmate) = (open_site(&app).await, open_site(&app).await);
    let burst = Config::defaults().rate_limit_burst as usize;
    for _ in 0..burst {
        assert_eq!(ask(&eager, &app, &[]).await.status, 200);
    }
    assert_limited(&ask(&eager, &app, &[]).await, "rate_limited");
    let answer = ask(&classmate, &app, &[]).await;
    assert_eq!(
        answer.status, 200,
        "the classmate on the same address: {}",
        answer.text
    );
    assert_eq!(app.fake.received().len(), burst + 1);
}

#[tokio::test]
async fn a_low_per_address_limit_refuses_the_class_as_a_whole() {
    let app = spawn_app_with(|c| {
        default_limits(c);
        c.rate_limit_per_ip_per_minute = 1;
        c.rate_limit_per_ip_burst = 3;
    })
    .await;
    let class = join_all((0..4).map(|_| open_site(&app))).await;
    let mut statuses = Vec::new();
    for student in &class {
        let answer = ask(student, &app, &[]).await;
        if answer.status != 200 {
            assert_limited(&answer, "rate_limited");
        }
        statuses.push(answer.status);
    }
    // Each student is far under their own limit; the fourth is over the address's.
    assert_eq!(statuses, [200, 200, 200, 429]);
    assert_eq!(app.fake.received().len(), 3);
}

// ------------------------------------------------------------------ slow uploads

/// Opens `POST /api/analyze` declaring 14 MB, sends the head and a few bytes of
/// the body, and leaves the connection open and silent.
async fn slow_upload(app: &TestApp, cookie: Option<&str>) -> tokio::net::TcpStream {
    let mut socket = tokio::net::TcpStream::connect(app.address).await.unwrap();
    let cookie = cookie
        .map(|c| format!("Cookie: weld_session={c}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST /api/analyze HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 14000000\r\n{cookie}\r\n{{\"base64Image\":\"iVBO",
        app.address
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket
}

/// Whether anything (or the close) has arrived on the socket by now.
async fn answered_yet(socket: &mut tokio::net::TcpStream) -> bool {
    let mut byte = [0u8; 1];
    tokio::time::timeout(Duration::from_millis(1), socket.peek(&mut byte))
        .await
        .is_ok()
}

#[tokio::test]
async fn slow_uploads_do_not_hold_the_analysis_up() {
    let app = spawn_app_with(default_limits).await;
    // Four anonymous slow uploads: refused from their headers, before any body.
    let mut anonymous = Vec::new();
    for _ in 0..4 {
        anonymous.push(slow_upload(&app, None).await);
    }
    for socket in &mut anonymous {
        let response = read_response(socket).await;
        assert!(response.starts_with("HTTP/1.1 401"), "{response}");
        assert!(response.contains("\"code\":\"session_required\""), "{response}");
    }
    // Four authenticated ones that stall (one per analysis slot there is), still
    // open while a normal analysis comes in.
    let cookie = fresh_cookie(&app).await;
    let mut stalled = Vec::new();
    for _ in 0..4 {
        stalled.push(slow_upload(&app, Some(&cookie)).await);
    }
    let image = json!({"base64Image": PNG_1X1_BASE64, "mimeType": "image/png"});
    let normal = bounded(
        "an analysis beside slow uploads",
        HANG_LIMIT,
        app.post_json("/api/analyze", &image),
    )
    .await;
    assert_eq!(normal.status(), 200);
    // Order: the normal analysis was answered before any stalled upload was cut
    // (they hold no slot; a slot taken before the body would have made it wait
    // for their 10 s stall bound).
    for socket in &mut stalled {
        assert!(!answered_yet(socket).await, "a stalled upload was answered first");
    }
    assert_eq!(
        app.fake.received().len(),
        1,
        "only the normal analysis reached Gemini"
    );
    // Then each stalled upload is cut with 408.
    for socket in &mut stalled {
        let response = read_response(socket).await;
        assert!(response.starts_with("HTTP/1.1 408"), "{response}");
        assert!(response.contains("\"code\":\"request_timeout\""), "{response}");
    }
    drop(anonymous);
    assert_eq!(app.fake.received().len(), 1);
}

#[tokio::test]
async fn a_stalled_authenticated_body_gets_408() {
    // The stall bound is the smaller of the request timeout and 10 s: 2 s here.
    let app = spawn_app_with(|c| c.request_timeout_seconds = 2).await;
    let cookie = fresh_cookie(&app).await;
    let mut socket = slow_upload(&app, Some(&cookie)).await;
    let response = read_response(&mut socket).await;
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains("\"code\":\"request_timeout\""), "{response}");
    assert!(!response.contains(CANARY_CODE) && !response.contains(&cookie));
    assert!(app.fake.received().is_empty());
}

// ------------------------------------------------------------------ token guessing

const TOKEN: &str = "the-right-token-0451";

#[tokio::test]
async fn token_guessing_is_throttled_per_address() {
    let app = spawn_app_with(|c| {
        c.api_tokens = vec![TOKEN.into()];
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let guesser = [("x-forwarded-for", "198.51.100.7")];
    let mut wrong = 0;
    let mut limited = None;
    for guess in 0..30 {
        let token = format!("the-right-token-{guess:04}");
        let answer = ask(&stranger(), &app, &[guesser[0], ("x-proxy-token", &token)]).await;
        if answer.status == 429 {
            limited = Some(answer);
            break;
        }
        answer.assert_error(401, "session_required");
        wrong += 1;
    }
    let limited = limited.expect("30 wrong tokens and no 429");
    assert_limited(&limited, "rate_limited");
    assert!((3..=12).contains(&wrong), "{wrong} wrong tokens before the 429");
    // Now even the right token is refused from that address…
    let right = ask(&stranger(), &app, &[guesser[0], ("x-proxy-token", TOKEN)]).await;
    assert_limited(&right, "rate_limited");
    assert!(!right.text.contains(TOKEN));
    // …while another address gets through with it.
    let other = ask(
        &stranger(),
        &app,
        &[("x-forwarded-for", "198.51.100.8"), ("x-proxy-token", TOKEN)],
    )
    .await;
    assert_eq!(other.status, 200, "{}", other.text);
    assert_eq!(app.fake.received().len(), 1);
}

// ------------------------------------------------------------------ access code

async fn ask_with_cookie(app: &TestApp, cookie: &str) -> Answer {
    ask(&stranger(), app, &[("cookie", &format!("weld_session={cookie}"))]).await
}

async fn log_in(app: &TestApp, code: &str) -> String {
    let response = stranger()
        .post(format!("{}/api/session", app.url))
        .json(&json!({"accessCode": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    session_cookie(&response).expect("a session cookie")
}

#[tokio::test]
async fn changing_the_access_code_ends_earlier_sessions() {
    // Issued on an open site (same secret throughout)…
    let open = spawn_app_with(|_| {}).await;
    let open_cookie = fresh_cookie(&open).await;
    assert_eq!(ask_with_cookie(&open, &open_cookie).await.status, 200);
    drop(open);
    // …refused once the server restarts with a code.
    let code_a = spawn_app_with(|c| c.access_code = Some(CANARY_CODE.into())).await;
    let refused = ask_with_cookie(&code_a, &open_cookie).await;
    refused.assert_error(401, "session_required");
    assert!(!refused.text.contains(CANARY_CODE));
    let under_a = log_in(&code_a, CANARY_CODE).await;
    assert_eq!(ask_with_cookie(&code_a, &under_a).await.status, 200);
    drop(code_a);
    // Under another code it is refused; under the same code it still works; and
    // with the code removed, it is refused too.
    let code_b = spawn_app_with(|c| c.access_code = Some("another-code-7777".into())).await;
    ask_with_cookie(&code_b, &under_a)
        .await
        .assert_error(401, "session_required");
    let same = spawn_app_with(|c| c.access_code = Some(CANARY_CODE.into())).await;
    assert_eq!(ask_with_cookie(&same, &under_a).await.status, 200);
    let removed = spawn_app_with(|_| {}).await;
    ask_with_cookie(&removed, &under_a)
        .await
        .assert_error(401, "session_required");
}

// ------------------------------------------------------------------ addresses

/// One request per address; one token is one person with plenty.
fn one_per_address(c: &mut Config) {
    c.rate_limit_per_ip_per_minute = 1;
    c.rate_limit_per_ip_burst = 1;
    c.api_tokens = vec![TOKEN.into()];
}

async fn ask_as(app: &TestApp, forwarded_for: &str) -> Answer {
    ask(
        &stranger(),
        app,
        &[("x-forwarded-for", forwarded_for), ("x-proxy-token", TOKEN)],
    )
    .await
}

#[tokio::test]
async fn a_dual_stack_listener_believes_an_ipv4_proxy() {
    // `[::]` takes IPv4 connections as `::ffff:127.0.0.1`, which must match
    // `127.0.0.1/32`. Machines without IPv6 cannot have such a listener.
    if std::net::TcpListener::bind("[::]:0").is_err() {
        eprintln!("SKIPPED a_dual_stack_listener_believes_an_ipv4_proxy: this machine has no IPv6 socket");
        return;
    }
    let app = spawn_app_with(|c| {
        one_per_address(c);
        c.listen = "[::]:0".parse().unwrap();
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let port = app.address.port();
    let mut app = app;
    // Reached over IPv4.
    app.url = format!("http://127.0.0.1:{port}");
    assert_eq!(ask_as(&app, "203.0.113.5").await.status, 200);
    assert_limited(&ask_as(&app, "203.0.113.5").await, "rate_limited");
    let other = ask_as(&app, "203.0.113.6").await;
    assert_eq!(
        other.status, 200,
        "another client behind the proxy: {}",
        other.text
    );
}

#[tokio::test]
async fn a_64_of_ipv6_addresses_shares_one_limit() {
    let app = spawn_app_with(|c| {
        one_per_address(c);
        c.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    assert_eq!(ask_as(&app, "2001:db8:1:2::1").await.status, 200);
    // Another address of the same /64 (and the IPv4-mapped spelling of an IPv4
    // client is that client).
    assert_limited(
        &ask_as(&app, "2001:db8:1:2:ffff:ffff:ffff:9").await,
        "rate_limited",
    );
    assert_eq!(ask_as(&app, "2001:db8:1:3::1").await.status, 200, "another /64");
    assert_eq!(ask_as(&app, "192.0.2.9").await.status, 200);
    assert_limited(&ask_as(&app, "::ffff:192.0.2.9").await, "rate_limited");
    assert_eq!(app.fake.received().len(), 3);
}

// ------------------------------------------------------------------ Redis

async fn health_limits(app: &TestApp) -> serde_json::Value {
    let health = Answer::read(app.get("/api/health").await).await;
    assert_eq!(health.status, 200);
    health.json()["limits"].clone()
}

#[tokio::test]
async fn two_replicas_share_one_person_limit_and_one_budget_through_redis() {
    let redis = RedisServer::start();
    let replica = |c: &mut Config| {
        c.redis_url = Some(redis.url().into());
        c.rate_limit_per_minute = 1;
        c.rate_limit_burst = 2;
        c.daily_request_budget = Some(3);
        c.api_tokens = vec![TOKEN.into()];
    };
    let a = spawn_app_with(replica).await;
    let b = spawn_app_with(replica).await;
    for app in [&a, &b] {
        assert_eq!(health_limits(app).await, json!({"store": "redis", "ok": true}));
    }
    // One person (a cookie from replica A; one secret) spends on both.
    let person = open_site(&a).await;
    assert_eq!(ask(&person, &a, &[]).await.status, 200);
    assert_eq!(ask(&person, &b, &[]).await.status, 200);
    assert_limited(&ask(&person, &b, &[]).await, "rate_limited");
    assert_limited(&ask(&person, &a, &[]).await, "rate_limited");
    // One budget of 3: the two answers above and one more, on either replica.
    let token = [("x-proxy-token", TOKEN)];
    assert_eq!(ask(&stranger(), &b, &token).await.status, 200);
    assert_limited(&ask(&stranger(), &a, &token).await, "budget_exhausted");
    // (That refusal spent the token's second request: its own limit is 2 at once.)
    assert_limited(&ask(&stranger(), &b, &token).await, "rate_limited");
    assert_eq!(a.fake.received().len() + b.fake.received().len(), 3);
}

#[tokio::test]
async fn losing_redis_fails_the_budget_closed_and_nothing_hangs() {
    let mut redis = RedisServer::start();
    let with_budget = spawn_app_with(|c| {
        c.redis_url = Some(redis.url().into());
        c.daily_request_budget = Some(100);
        c.metrics = true;
    })
    .await;
    let without_budget = spawn_app_with(|c| c.redis_url = Some(redis.url().into())).await;
    for app in [&with_budget, &without_budget] {
        assert_eq!(health_limits(app).await, json!({"store": "redis", "ok": true}));
        assert_eq!(ask(&app.client, app, &[]).await.status, 200);
    }
    redis.kill();

    for app in [&with_budget, &without_budget] {
        let limits = bounded("health without Redis", HANG_LIMIT, health_limits(app)).await;
        assert_eq!(limits, json!({"store": "redis", "ok": false}));
    }
    // A configured budget cannot be counted: AI calls are refused, never free.
    for _ in 0..3 {
        let refused = bounded(
            "a budgeted question without Redis",
            HANG_LIMIT,
            ask(&with_budget.client, &with_budget, &[]),
        )
        .await;
        refused.assert_error(503, "limits_unavailable");
    }
    assert_eq!(with_budget.fake.received().len(), 1);
    // Without a budget, chat goes on, limited by the process alone.
    for _ in 0..3 {
        let answer = bounded(
            "a question without Redis",
            HANG_LIMIT,
            ask(&without_budget.client, &without_budget, &[]),
        )
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let metrics = with_budget.get("/metrics").await.text().await.unwrap();
    let errors: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("weld_limit_store_errors_total "))
        .unwrap_or_else(|| panic!("no store error counter:\n{metrics}"))
        .trim()
        .parse()
        .unwrap();
    assert!(errors >= 1, "{errors}");
    // The process keeps answering the rest of the API meanwhile.
    let mut socket = tokio::net::TcpStream::connect(without_budget.address)
        .await
        .unwrap();
    socket
        .write_all(b"GET /api/session HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    bounded("the session API", HANG_LIMIT, socket.read_to_string(&mut text))
        .await
        .unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}
