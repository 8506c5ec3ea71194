// The API types the client speaks, taken from the types that openapi-typescript
// generates from openapi/openapi.json (`npm run gen:api`; `npm run check:api`
// fails when they are stale). Named once here, so the rest of the app does not
// depend on how the schemas happen to be named.
import type { components, paths } from './schema.gen'

type Schemas = components['schemas']
/** The body of a request or response with one content type, whatever its exact media-type string. */
type ContentOf<T> = T extends { content: infer C } ? C[keyof C] : never

type ChatOperation = paths['/api/chat']['post']
type AnalyzeOperation = paths['/api/analyze']['post']
type VoiceOperation = paths['/api/chat/voice']['post']

export type ChatRequest = ContentOf<ChatOperation['requestBody']>
export type ChatReply = ContentOf<ChatOperation['responses'][200]>
/** `POST /api/chat/voice*` body: the recording `{mimeType, data}` (base64), `history?`, `language?`. */
export type VoiceRequest = ContentOf<VoiceOperation['requestBody']>
export type VoiceReply = ContentOf<VoiceOperation['responses'][200]>
export type AnalyzeReply = ContentOf<AnalyzeOperation['responses'][200]>
/** The parts of the multipart form of `POST /api/analyze`. */
export type AnalyzeForm = AnalyzeOperation['requestBody']['content']['multipart/form-data']
export type HistoryItem = Schemas['HistoryItem'] & { text: string }
export type ErrorBody = Schemas['ErrorBody']
export type Language = Schemas['AnswerLanguage']

type SessionPath = paths['/api/session']
/** `GET /api/session` and `POST /api/session` 200 body. `expiresAt` is RFC 3339 UTC. */
export type SessionInfo = ContentOf<SessionPath['get']['responses'][200]>
/** `POST /api/session` request body; `accessCode` only where the server requires one. */
export type SessionRequest = ContentOf<NonNullable<SessionPath['post']['requestBody']>>

/**
 * Every error `code` the server sends (docs/api.md → Errors; the `ErrorCode` enum of openapi/openapi.json). The web app maps each one
 * to its own message (i18n/ru.ts, i18n/en.ts), so a code added here without a
 * translation is a type error. A code outside this list (an older or newer server)
 * is still shown, with the server's own `error` text.
 */
export type ErrorCode = Schemas['ErrorCode']

/**
 * `event: waiting` of a streamed answer (before any `delta`): the question waits in
 * the server's line in front of Gemini's quota. `place` is 1-based (1 = sent next),
 * `estimateSeconds` an integer ≥ 0. Sent again whenever either changes.
 */
export interface Waiting {
  place: number
  estimateSeconds: number
}
