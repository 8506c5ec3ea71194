//! The waiting line in front of Gemini's quota, against a fake that enforces
//! Google's quota (a sliding minute per model, 429 with `QuotaFailure` and
//! `RetryInfo`; a per-day mode). Several of these wait for a real minute to
//! pass: Google's window is a minute, and so is the server's.

use std::time::{Duration, Instant, SystemTime};

use serde_json::json;

use crate::{
    fake_gemini::{FakeGemini, Quota},
    helpers::{Answer, EventStream, TestApp, assert_no_leak, bounded, browser, spawn_app_with},
    redis_server::RedisServer,
};

/// A new person: a browser of its own with a session from `app`.
async fn person(app: &TestApp) -> reqwest::Client {
    let client = browser();
    let response = client
        .post(format!("{}/api/session", app.url))
        .json(&json!({"accessCode": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    client
}

async fn chat(client: &reqwest::Client, app: &TestApp, message: &str) -> Answer {
    Answer::read(
        client
            .post(format!("{}/api/chat", app.url))
            .json(&json!({"message": message}))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Asks in a task of its own (so that it waits while the test goes on).
fn spawn_chat(client: &reqwest::Client, app: &TestApp, message: String) -> tokio::task::JoinHandle<Answer> {
    let (client, url) = (client.clone(), app.url.clone());
    tokio::spawn(async move {
        Answer::read(
            client
                .post(format!("{url}/api/chat"))
                .json(&json!({"message": message}))
                .send()
                .await
                .unwrap(),
        )
        .await
    })
}

async fn open_stream(client: &reqwest::Client, app: &TestApp, message: &str) -> EventStream {
    EventStream::new(
        client
            .post(format!("{}/api/chat/stream", app.url))
            .json(&json!({"message": message}))
            .send()
            .await
            .unwrap(),
    )
}

async fn health(app: &TestApp) -> serde_json::Value {
    Answer::read(app.get("/api/health").await).await.json()
}

/// Waits until `app`'s line holds `n` questions.
async fn line_holds(app: &TestApp, n: u64) {
    bounded("the line to fill", Duration::from_secs(20), async {
        loop {
            if health(app).await["quota"]["waiting"] == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    })
    .await;
}

/// The `message` of each generation call the fake received, in order.
fn messages(fake: &FakeGemini) -> Vec<String> {
    fake.received()
        .iter()
        .map(|r| {
            r.json()["contents"].as_array().unwrap().last().unwrap()["parts"][0]["text"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_class_of_thirty_on_ten_and_ten_a_minute_is_all_answered() {
    // The default configuration (main model + one fallback, no rates set): what a
    // teacher gets on a free key. The fake allows 10 a minute per model.
    let app = spawn_app_with(|_| {}).await;
    app.fake.enforce_quota(Quota::per_minute(10));
    let mut students = Vec::new();
    for _ in 0..30 {
        students.push(person(&app).await);
    }
    let started = Instant::now();
    let answers = bounded(
        "a class of 30",
        Duration::from_secs(100),
        futures_util::future::join_all(students.iter().enumerate().map(|(i, s)| {
            let app = &app;
            async move {
                let answer = chat(s, app, &format!("Вопрос студента {i}")).await;
                (answer, started.elapsed())
            }
        })),
    )
    .await;
    let longest = answers.iter().map(|(_, at)| *at).max().unwrap();
    for (answer, _) in &answers {
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert!(!answer.json()["text"].as_str().unwrap().is_empty());
    }
    assert!(
        longest <= Duration::from_secs(90),
        "the last answer came after {longest:?}"
    );
    assert!(
        longest >= Duration::from_secs(55),
        "the quota cannot free before its minute: {longest:?}"
    );
    let accepted = app.fake.accepted();
    assert_eq!(accepted.len(), 30);
    println!(
        "class of 30 on 10+10/min: {} answered, longest wait {:.1} s, {} quota 429s from the fake",
        answers.len(),
        longest.as_secs_f64(),
        app.fake.refused().len()
    );
}

#[tokio::test]
async fn everyone_s_first_question_goes_before_a_greedy_person_s_second() {
    let app = spawn_app_with(|c| {
        c.gemini_fallback_models = vec![];
        c.gemini_rpm = Some(10);
        c.queue_per_person = 5;
        c.queue_max_wait_seconds = 300;
    })
    .await;
    app.fake.enforce_quota(Quota::per_minute(10));
    // The minute's ten calls are spent.
    let early = person(&app).await;
    let warmup: Vec<_> = (0..10)
        .map(|i| spawn_chat(&early, &app, format!("warm {i}")))
        .collect();
    for answer in warmup {
        assert_eq!(answer.await.unwrap().status, 200);
    }
    let greedy = person(&app).await;
    let mut tasks = Vec::new();
    for i in 0..5 {
        tasks.push(spawn_chat(&greedy, &app, format!("greedy {i}")));
    }
    // The greedy person's five reach the line first, then nine others ask once each.
    line_holds(&app, 5).await;
    for i in 0..9 {
        let other = person(&app).await;
        tasks.push(spawn_chat(&other, &app, format!("other {i}")));
        line_holds(&app, 6 + i).await;
    }
    // Once the minute frees, the next ten calls go: count the greedy person's.
    bounded("the first ten after the minute", Duration::from_secs(90), async {
        while messages(&app.fake).len() < 20 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    for task in tasks {
        task.abort();
    }
    let next_ten: Vec<String> = messages(&app.fake)[10..20].to_vec();
    let greedy_calls = next_ten.iter().filter(|m| m.starts_with("greedy")).count();
    assert!(
        greedy_calls <= 2,
        "the greedy person got {greedy_calls} of the first ten: {next_ten:?}"
    );
    assert_eq!(
        next_ten.iter().filter(|m| m.starts_with("other")).count(),
        10 - greedy_calls
    );
    assert!(
        app.fake.refused().is_empty(),
        "pacing by the configured rate provokes no 429"
    );
}

#[tokio::test]
async fn a_waiting_stream_starts_at_once_says_its_place_and_then_answers() {
    let app = spawn_app_with(|c| {
        c.gemini_fallback_models = vec![];
        c.gemini_rpm = Some(1);
    })
    .await;
    let client = person(&app).await;
    assert_eq!(chat(&client, &app, "first").await.status, 200);
    let started = Instant::now();
    let mut stream = open_stream(&client, &app, "second").await;
    assert_eq!(stream.status, 200);
    let waiting = stream.next_event().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the waiting event took {:?}",
        started.elapsed()
    );
    assert_eq!(waiting.name, "waiting");
    assert_eq!(waiting.data["place"], 1);
    let estimate = waiting.data["estimateSeconds"].as_u64().unwrap();
    assert!((50..=61).contains(&estimate), "estimate {estimate}");
    assert_eq!(health(&app).await["quota"]["state"], "waiting");
    let rest = stream.finish().await;
    assert_eq!(rest.names().last(), Some(&"done"), "{}", rest.body);
    assert!(!rest.text().is_empty());
    assert!(
        started.elapsed() >= Duration::from_secs(50),
        "sent before the minute freed"
    );
    assert_eq!(app.fake.received().len(), 2);
}

#[tokio::test]
async fn a_question_whose_client_leaves_never_reaches_gemini() {
    let app = spawn_app_with(|c| {
        c.gemini_fallback_models = vec![];
        c.gemini_rpm = Some(1);
        c.queue_max_wait_seconds = 300;
    })
    .await;
    let client = person(&app).await;
    assert_eq!(chat(&client, &app, "first").await.status, 200);
    // Two streams that leave while they wait (the web app's Stop, a closed
    // tab): each leaves the line at once.
    let mut first = open_stream(&client, &app, "streamed, then stopped").await;
    assert_eq!(first.next_event().await.unwrap().name, "waiting");
    let other = person(&app).await;
    let mut second = open_stream(&other, &app, "streamed, then the tab closed").await;
    let waiting = second.next_event().await.unwrap();
    assert_eq!(
        (waiting.name.as_str(), waiting.data["place"].as_u64()),
        ("waiting", Some(2))
    );
    line_holds(&app, 2).await;
    drop(first);
    line_holds(&app, 1).await;
    // The one behind moved up.
    let moved = second.next_event().await.unwrap();
    assert_eq!(
        (moved.name.as_str(), moved.data["place"].as_u64()),
        ("waiting", Some(1)),
        "{:?}",
        moved.data
    );
    drop(second);
    line_holds(&app, 0).await;
    // Past the minute, nothing more reached the fake.
    tokio::time::sleep(Duration::from_secs(62)).await;
    assert_eq!(messages(&app.fake), vec!["first".to_owned()]);
}

#[tokio::test]
async fn the_day_s_quota_is_refused_at_once_until_midnight_pacific() {
    let app = spawn_app_with(|c| c.gemini_fallback_models = vec![]).await;
    app.fake.enforce_quota(Quota::per_minute(100).per_day(1));
    let client = person(&app).await;
    assert_eq!(chat(&client, &app, "first").await.status, 200);
    for (message, reaches) in [("second", true), ("third", false)] {
        let started = Instant::now();
        let answer = Answer::read(
            client
                .post(format!("{}/api/chat", app.url))
                .header("accept-language", "ru")
                .json(&json!({"message": message}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let body = answer.assert_error(503, "upstream_quota");
        let retry_after: u64 = answer.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert_eq!(body["retryAfterSeconds"], retry_after);
        let health = health(&app).await;
        assert_eq!(health["quota"]["state"], "day", "{health}");
        let reset = humantime::parse_rfc3339(health["quota"]["resetsAt"].as_str().unwrap()).unwrap();
        let to_reset = reset.duration_since(SystemTime::now()).unwrap().as_secs();
        assert!(
            retry_after + 5 >= to_reset && retry_after <= to_reset + 5,
            "Retry-After {retry_after}, reset in {to_reset}"
        );
        // Midnight Pacific is 07:00 or 08:00 UTC: 10:00 or 11:00 in Moscow.
        let utc = humantime::format_rfc3339_seconds(reset).to_string();
        assert!(
            utc.ends_with("T07:00:00Z") || utc.ends_with("T08:00:00Z"),
            "{utc}"
        );
        let moscow = if utc.ends_with("T07:00:00Z") {
            "10:00"
        } else {
            "11:00"
        };
        let text = body["error"].as_str().unwrap();
        assert!(text.contains(moscow) && text.contains("московскому"), "{text}");
        // The second reached Google (which refused it); the third did not.
        assert_eq!(app.fake.received().len(), 2, "{message} (reaches: {reaches})");
    }
}

#[tokio::test]
async fn two_replicas_on_one_redis_do_not_exceed_the_rate_together() {
    let redis = RedisServer::start();
    let google = FakeGemini::start().await;
    google.enforce_quota(Quota::per_minute(3));
    let replica = |c: &mut weld_assistant::Config| {
        c.redis_url = Some(redis.url().into());
        c.gemini_base_url = google.url.parse().unwrap();
        c.gemini_fallback_models = vec![];
        c.gemini_rpm = Some(3);
    };
    let a = spawn_app_with(replica).await;
    let b = spawn_app_with(replica).await;
    let mut people = Vec::new();
    for app in [&a, &b, &a, &b] {
        people.push((person(app).await, app));
    }
    let mut streams = Vec::new();
    for (i, (client, app)) in people.iter().enumerate() {
        streams.push(open_stream(client, app, &format!("replica question {i}")).await);
    }
    // Three went through on the two replicas together; the fourth waits.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(google.accepted().len(), 3, "{:?}", google.received().len());
    assert!(google.refused().is_empty(), "the replicas provoked a 429");
    let waiting = health(&a).await["quota"]["waiting"].as_u64().unwrap()
        + health(&b).await["quota"]["waiting"].as_u64().unwrap();
    assert_eq!(waiting, 1);
    drop(streams);
}

#[tokio::test]
async fn the_line_s_bounds_give_a_clear_503_with_retry_after() {
    let app = spawn_app_with(|c| {
        c.gemini_fallback_models = vec![];
        c.gemini_rpm = Some(1);
        c.queue_per_person = 2;
        c.queue_max = 3;
        c.queue_max_wait_seconds = 200;
    })
    .await;
    let a = person(&app).await;
    assert_eq!(chat(&a, &app, "first").await.status, 200);
    let mut held = vec![
        open_stream(&a, &app, "a1").await,
        open_stream(&a, &app, "a2").await,
    ];
    for stream in &mut held {
        assert_eq!(stream.next_event().await.unwrap().name, "waiting");
    }
    let english = |client: &reqwest::Client, path: &str| {
        client
            .post(format!("{}{path}", app.url))
            .header("accept-language", "en")
            .json(&json!({"message": "one more"}))
            .send()
    };
    let third = Answer::read(english(&a, "/api/chat/stream").await.unwrap()).await;
    let body = third.assert_error(503, "upstream_quota");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("You already have 2 questions waiting"),
        "{body}"
    );
    assert!(third.headers.contains_key("retry-after"));
    assert_no_leak(&third.headers, &third.text);
    let b = person(&app).await;
    held.push(open_stream(&b, &app, "b1").await);
    let c = person(&app).await;
    let full = Answer::read(english(&c, "/api/chat").await.unwrap()).await;
    let body = full.assert_error(503, "upstream_quota");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("line for Gemini is full"),
        "{body}"
    );
    assert!(body["retryAfterSeconds"].as_u64().unwrap() >= 60);
    // A wait past the bound is refused at once, not after waiting.
    let short = spawn_app_with(|c| {
        c.gemini_fallback_models = vec![];
        c.gemini_rpm = Some(1);
        c.queue_max_wait_seconds = 30;
    })
    .await;
    let d = person(&short).await;
    assert_eq!(chat(&d, &short, "first").await.status, 200);
    let started = Instant::now();
    let refused = Answer::read(
        d.post(format!("{}/api/chat/stream", short.url))
            .json(&json!({"message": "second"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let body = refused.assert_error(503, "upstream_quota");
    assert!(body["error"].as_str().unwrap().contains("30 с"), "{body}");
    assert_eq!(short.fake.received().len(), 1);
}

#[tokio::test]
async fn shutting_down_tells_the_waiting_questions_instead_of_cutting_them() {
    let mut app = spawn_app_with(|c| {
        c.gemini_fallback_models = vec![];
        c.gemini_rpm = Some(1);
        c.queue_max_wait_seconds = 300;
        c.metrics = true;
    })
    .await;
    let client = person(&app).await;
    assert_eq!(chat(&client, &app, "first").await.status, 200);
    let mut stream = open_stream(&client, &app, "streamed").await;
    assert_eq!(stream.next_event().await.unwrap().name, "waiting");
    let plain = spawn_chat(&client, &app, "plain".to_owned());
    line_holds(&app, 2).await;
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("weld_quota_line_length 2"), "{metrics}");
    app.shut_down();
    let rest = bounded("the stream's end", Duration::from_secs(10), stream.finish()).await;
    let error = rest.event("error");
    assert_eq!(error.data["code"], "upstream_unavailable", "{}", rest.body);
    let plain = bounded("the plain answer", Duration::from_secs(10), plain)
        .await
        .unwrap();
    plain.assert_error(503, "upstream_unavailable");
    assert_eq!(app.fake.received().len(), 1);
}

#[tokio::test]
async fn without_redis_each_replica_goes_by_its_own_knowledge() {
    let mut redis = RedisServer::start();
    let app = spawn_app_with(|c| {
        c.redis_url = Some(redis.url().into());
        c.gemini_fallback_models = vec![];
        c.gemini_rpm = Some(1);
    })
    .await;
    redis.kill();
    let client = person(&app).await;
    let first = bounded(
        "a chat without Redis",
        Duration::from_secs(10),
        chat(&client, &app, "first"),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.text);
    // The minute's one call is spent, as this replica knows itself: the next waits.
    let mut stream = open_stream(&client, &app, "second").await;
    assert_eq!(stream.status, 200);
    let waiting = bounded("the waiting event", Duration::from_secs(10), stream.next_event())
        .await
        .unwrap();
    assert_eq!(waiting.name, "waiting", "{:?}", waiting.data);
    assert_eq!(health(&app).await["limits"]["ok"], false);
    assert_eq!(app.fake.received().len(), 1);
}
