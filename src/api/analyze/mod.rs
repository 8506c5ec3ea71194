//! `POST /api/analyze`: photos of one weld in (1 to `WELD_MAX_IMAGES`: face, root,
//! side, a close-up of a defect), one Markdown defect report out. Accepts JSON with
//! base64 — the `images` array, or the single `base64Image` the original app
//! sends — or multipart with one `image` part per photo. Every photo is checked
//! and stripped before anything is sent; one bad photo fails the whole request,
//! and its message says which photo. All photos go to Gemini in one request, in
//! order.
//!
//! Files: `request` (the body's types), `photos` (reading and checking the
//! photos of either encoding); the photo check itself and the prompt are the
//! domain's.

mod photos;
mod request;

use poem_openapi::{OpenApi, param::Header, payload::Json};

use self::{
    photos::{PhotoLimits, Photos, form_language},
    request::AnalyzeRequest,
};
use super::{Ai, AnswerReply, ApiTags, Caller, SseAnswer, auth::AiAuth};
use crate::{
    domain::{language::Language, prompt::Prompt},
    error::ApiError,
};

/// Weld photo analysis.
pub struct AnalyzeApi {
    ai: Ai,
    limits: PhotoLimits,
}

impl AnalyzeApi {
    /// The API over the shared Gemini client and budget, with the decoded limit
    /// per photo and the number of photos per analysis.
    pub fn new(ai: Ai, max_image_bytes: usize, max_images: usize) -> Self {
        Self {
            ai,
            limits: PhotoLimits {
                max_image_bytes,
                max_images,
            },
        }
    }
}

#[OpenApi(tag = "ApiTags::Analyze")]
impl AnalyzeApi {
    /// Analyze photos of a weld
    ///
    /// Sends the photos (1 to `WELD_MAX_IMAGES`, 4 by default: face, root, side, a
    /// close-up of a defect — all of one weld) to Gemini in one request, in order,
    /// with a weld-inspector instruction, and returns one structured Markdown
    /// report: what is in the photos, the defects found with their likely causes
    /// (and, with several photos, which photo shows each), how to fix them, and a
    /// verdict — or a clear note when the photos do not show a weld or are too poor
    /// to judge. One bad photo fails the whole request; its message names it
    /// (`images[2]`). More photos than the limit: 400 naming `images`.
    #[oai(path = "/api/analyze", method = "post", operation_id = "analyze")]
    async fn analyze(
        &self,
        auth: AiAuth,
        req: &poem::Request,
        body: AnalyzeRequest,
        /// Used for the report's language when `language` is absent.
        #[oai(name = "Accept-Language")]
        accept_language: Header<Option<String>>,
    ) -> Result<Json<AnswerReply>, ApiError> {
        let (prompt, language) = self.prompt(body, accept_language.0.as_deref()).await?;
        let answer = self.ai.answer(prompt, language, &Caller::of(&auth, req)).await?;
        Ok(Json(answer.into()))
    }

    /// Analyze photos of a weld, streamed
    ///
    /// The same as `analyze`, but the report arrives as Server-Sent Events while
    /// Gemini writes it: `delta` events with `{text}`, then `done` with
    /// `{finishReason, model, usage?}` — or `error` with the error object if the
    /// stream fails after it started. Anything that fails before the first text is
    /// a normal JSON error. `: keepalive` comments keep idle proxies from closing
    /// a slow answer. Past Gemini's per-minute quota the question waits its turn
    /// in a fair line: the response is then `200` at once with `waiting` events
    /// `{place, estimateSeconds}` (place 1 is sent next; repeated as the line
    /// moves, with a `: waiting` comment every second) before the first `delta`,
    /// and a failure after that is an `error` event. Closing the stream takes the
    /// question out of the line.
    #[oai(path = "/api/analyze/stream", method = "post", operation_id = "analyzeStream")]
    async fn analyze_stream(
        &self,
        auth: AiAuth,
        req: &poem::Request,
        body: AnalyzeRequest,
        /// Used for the report's language when `language` is absent.
        #[oai(name = "Accept-Language")]
        accept_language: Header<Option<String>>,
    ) -> Result<SseAnswer, ApiError> {
        let (prompt, language) = self.prompt(body, accept_language.0.as_deref()).await?;
        self.ai.stream(prompt, language, &Caller::of(&auth, req)).await
    }
}

impl AnalyzeApi {
    /// The prompt and the language of the report (and of its errors).
    async fn prompt(
        &self,
        body: AnalyzeRequest,
        accept_language: Option<&str>,
    ) -> Result<(Prompt, Language), ApiError> {
        let (photos, language) = match body {
            AnalyzeRequest::Json(Json(request)) => {
                let language = Language::resolve(request.language.map(Into::into), accept_language);
                let photos = self
                    .limits
                    .read_json(request)
                    .map_err(|e| e.in_language(language))?;
                (photos, language)
            }
            AnalyzeRequest::Multipart(form) => {
                let explicit = form_language(form.language.as_deref())?;
                let language = Language::resolve(explicit, accept_language);
                let photos = self.limits.read_form(form).map_err(|e| e.in_language(language))?;
                (photos, language)
            }
        };
        let Photos { photos, note } = photos;
        Ok((Prompt::analysis(language, note.as_deref(), photos), language))
    }
}
