//! The one way a middleware is written here: a type with its settings that
//! implements [`Around`] — what it does around the rest of the chain — and is
//! put in the route tree as `.with(Layer(it))`. [`Layer`] and [`Wrapped`] are
//! poem's `Middleware` and `Endpoint` for every such type.
//!
//! The request reaches `around` boxed. An `async fn` keeps its arguments for its
//! whole life, and a request is ~500 bytes that every layer's future would
//! otherwise hold again; boxed, each holds a pointer.

use std::future::Future;

use poem::{Endpoint, Middleware, Request, Response, Result};

/// A middleware's own logic: what it does with a request around `next`.
pub trait Around: Clone + Send + Sync + 'static {
    /// Answers `req`, calling `next` (or not).
    fn around<E: Endpoint>(
        &self,
        next: &E,
        req: Box<Request>,
    ) -> impl Future<Output = Result<Response>> + Send;
}

/// An [`Around`] as poem's `Middleware`: `.with(Layer(CorsPolicy::new(…)))`.
#[derive(Debug, Clone)]
pub struct Layer<M>(pub M);

impl<M: Around, E: Endpoint> Middleware<E> for Layer<M> {
    type Output = Wrapped<M, E>;

    fn transform(&self, next: E) -> Self::Output {
        Wrapped {
            around: self.0.clone(),
            next,
        }
    }
}

/// An endpoint with an [`Around`] in front of it.
pub struct Wrapped<M, E> {
    around: M,
    next: E,
}

impl<M: Around, E: Endpoint> Endpoint for Wrapped<M, E> {
    type Output = Response;

    fn call(&self, req: Request) -> impl Future<Output = Result<Self::Output>> + Send {
        self.around.around(&self.next, Box::new(req))
    }
}
