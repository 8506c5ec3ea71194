//! `CatchPanic`: a panic anywhere below it becomes the JSON 500 `internal_error`
//! (in the request's `Accept-Language`) and one error log line, never a dropped
//! connection. The panic's text goes to the log only, never to the client. A
//! panic inside a response body that is already streaming cannot be answered
//! this way; it ends that body.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use poem::{Endpoint, IntoResponse, Request, Response, Result, http::header::ACCEPT_LANGUAGE};

use crate::{error::ApiError, http::around::Around};

/// The middleware (see the module documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct CatchPanic;

impl Around for CatchPanic {
    async fn around<E: Endpoint>(&self, next: &E, req: Box<Request>) -> Result<Response> {
        let accept_language = req
            .headers()
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        match AssertUnwindSafe(next.call(*req)).catch_unwind().await {
            Ok(result) => result.map(IntoResponse::into_response),
            Err(payload) => {
                let cause = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let cause: String = cause.chars().take(300).collect();
                tracing::error!(%method, path = %path, cause = %cause, "a request handler panicked");
                Ok(ApiError::internal().response(accept_language.as_deref()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use poem::{EndpointExt, Route, handler, test::TestClient};

    use super::*;
    use crate::http::around::Layer;

    #[handler]
    fn explode() -> &'static str {
        panic!("SECRET-PANIC-TEXT must stay in the log");
    }

    #[handler]
    fn fine() -> &'static str {
        "ok"
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_json_500_in_the_callers_language() {
        let app = Route::new()
            .at("/boom", explode)
            .at("/fine", fine)
            .with(Layer(CatchPanic));
        let client = TestClient::new(app);
        for (accept, expected) in [
            (None, "Внутренняя ошибка сервера. Попробуйте ещё раз."),
            (Some("en-GB,en;q=0.9"), "Internal server error. Please try again."),
        ] {
            let mut request = client.get("/boom");
            if let Some(accept) = accept {
                request = request.header("accept-language", accept);
            }
            let response = request.send().await;
            response.assert_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR);
            response.assert_content_type("application/json; charset=utf-8");
            let body = response.0.into_body().into_string().await.unwrap();
            assert!(!body.contains("SECRET-PANIC-TEXT"), "{body}");
            let json: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(
                json,
                serde_json::json!({"error": expected, "code": "internal_error"})
            );
        }
        let response = client.get("/fine").send().await;
        response.assert_status_is_ok();
        response.assert_text("ok").await;
    }

    #[tokio::test]
    async fn over_a_real_socket_the_connection_gets_its_answer_and_stays_usable() {
        use poem::listener::{Acceptor, Listener, TcpListener};
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let address = acceptor.local_addr()[0].as_socket_addr().copied().unwrap();
        let app = Route::new()
            .at("/boom", explode)
            .at("/fine", fine)
            .with(Layer(CatchPanic));
        let server = tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(app));
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let response = client
            .get(format!("http://{address}/boom"))
            .header("accept-language", "en")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], "internal_error");
        let again = client.get(format!("http://{address}/fine")).send().await.unwrap();
        assert_eq!(again.text().await.unwrap(), "ok");
        server.abort();
    }
}
