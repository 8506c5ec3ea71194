//! The HTTP edge: everything between the socket and the operations — the
//! listener's head deadline, the `/api` boundary (body limits, the JSON error
//! envelope), the panic catcher, CORS, security headers and the embedded web app. Nothing here
//! knows Gemini or the guard's rules.

/// The `Endpoint` of a middleware that does its work in
/// `async fn handle(&self, req: Box<Request>) -> Result<Response>`. The request
/// is boxed for the wait: an `async fn` keeps its arguments for its whole life,
/// and a request is ~500 bytes that every layer would otherwise hold again.
macro_rules! endpoint_over_boxed_request {
    ($endpoint:ident) => {
        impl<E: poem::Endpoint> poem::Endpoint for $endpoint<E> {
            type Output = poem::Response;

            fn call(
                &self,
                req: poem::Request,
            ) -> impl std::future::Future<Output = poem::Result<Self::Output>> + Send {
                self.handle(Box::new(req))
            }
        }
    };
}
pub(crate) use endpoint_over_boxed_request;

pub(crate) mod assets;
pub(crate) mod body;
pub(crate) mod boundary;
pub(crate) mod catch_panic;
pub(crate) mod cors;
pub(crate) mod listener;
pub(crate) mod schema_check;
pub(crate) mod security;
