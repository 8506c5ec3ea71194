// The only module that talks HTTP. Same-origin fetch with the session cookie;
// every failure becomes an ApiError with a machine-readable `code` that the UI
// turns into a localized message. Knows nothing of React.
import { readSse } from './sse'
import type {
  AnalyzeForm,
  AnalyzeReply,
  ChatReply,
  ChatRequest,
  Language,
  SessionInfo,
  SessionRequest,
  VoiceRequest,
  Waiting,
} from './types'

/**
 * The codes the web app gives failures it detects itself, beside the server's
 * ErrorCode: no answer or a broken stream (`network_error`), a chosen file that is
 * not an image (`not_an_image`). A reply without a JSON error body gets `http_<status>`.
 */
export type ClientErrorCode = 'network_error' | 'not_an_image'

export interface ApiErrorInit {
  status: number
  code: string
  message: string
  retryAfterSeconds?: number
  /** The server's own human-readable `error` text, when it sent one. */
  serverMessage?: string
}

/**
 * A failed API call: `status` 0 means no HTTP answer at all (`network_error`), or a
 * streamed answer that broke off after it had started (`event: error` with its own
 * code, or `network_error` for a dropped connection).
 */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly retryAfterSeconds?: number
  /** The server's `error` text, shown for a code this app has no message of its own for. */
  readonly serverMessage?: string

  constructor({ status, code, message, retryAfterSeconds, serverMessage }: ApiErrorInit) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    if (retryAfterSeconds !== undefined) this.retryAfterSeconds = retryAfterSeconds
    if (serverMessage !== undefined) this.serverMessage = serverMessage
  }
}

export interface CallOptions {
  signal?: AbortSignal
}

/** True for the rejection of a fetch whose AbortSignal fired. */
export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError'
}

/** Any rejection as an ApiError; what is not one already counts as a network failure. */
export function asApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  return new ApiError({
    status: 0,
    code: 'network_error',
    message: error instanceof Error ? error.message : String(error),
  })
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function retryAfter(body: Record<string, unknown>, headers: Headers): number | undefined {
  const fromBody = body.retryAfterSeconds
  if (typeof fromBody === 'number' && Number.isFinite(fromBody) && fromBody >= 0) {
    return Math.ceil(fromBody)
  }
  const header = headers.get('Retry-After')
  if (header !== null && /^\d+$/.test(header.trim())) return Number(header.trim())
  return undefined
}

/** The server's `error` text of an error body or event, when it is a non-empty string. */
function serverMessageOf(body: Record<string, unknown>): { serverMessage?: string } {
  return typeof body.error === 'string' && body.error.trim() !== '' ? { serverMessage: body.error } : {}
}

function errorFromResponse(response: Response, body: unknown): ApiError {
  const fallback = `HTTP ${response.status}`
  if (isRecord(body) && typeof body.code === 'string' && body.code !== '') {
    const seconds = retryAfter(body, response.headers)
    return new ApiError({
      status: response.status,
      code: body.code,
      message: typeof body.error === 'string' ? body.error : fallback,
      ...(seconds !== undefined ? { retryAfterSeconds: seconds } : {}),
      ...serverMessageOf(body),
    })
  }
  return new ApiError({ status: response.status, code: `http_${response.status}`, message: fallback })
}

function isGenerateReply(value: unknown): value is ChatReply {
  return (
    isRecord(value) &&
    typeof value.text === 'string' &&
    typeof value.finishReason === 'string' &&
    typeof value.model === 'string'
  )
}

function isSessionInfo(value: unknown): value is SessionInfo {
  return (
    isRecord(value) &&
    typeof value.active === 'boolean' &&
    typeof value.accessCodeRequired === 'boolean' &&
    (value.expiresAt === undefined || value.expiresAt === null || typeof value.expiresAt === 'string')
  )
}

/** For answers without a body (204): any successful status will do. */
function isNoContent(value: unknown): value is undefined {
  return value === undefined
}

async function call<T>(path: string, init: RequestInit, isReply: (body: unknown) => body is T): Promise<T> {
  const headers = new Headers(init.headers)
  headers.set('Accept', 'application/json')
  let response: Response
  let raw: string
  try {
    response = await fetch(path, { ...init, headers, credentials: 'same-origin' })
    raw = await response.text()
  } catch (cause) {
    if (isAbortError(cause)) throw cause
    throw new ApiError({
      status: 0,
      code: 'network_error',
      message: cause instanceof Error ? cause.message : 'Network error',
    })
  }

  let body: unknown
  let isJson = true
  if (raw === '' && response.ok) {
    body = undefined
  } else {
    try {
      body = JSON.parse(raw)
    } catch {
      isJson = false
    }
  }

  if (!response.ok) throw errorFromResponse(response, isJson ? body : undefined)
  if (!isJson || !isReply(body)) {
    throw new ApiError({
      status: response.status,
      code: `http_${response.status}`,
      message: `Unexpected reply from ${path}`,
    })
  }
  return body
}

/** `POST /api/chat`: one question plus the earlier turns. */
export function chat(request: ChatRequest, options: CallOptions = {}): Promise<ChatReply> {
  return call(
    '/api/chat',
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request),
      signal: options.signal ?? null,
    },
    isGenerateReply,
  )
}

/** One photo of an analysis, as it is uploaded. */
export interface AnalyzeImage {
  image: Blob
  filename: string
}

/** Photos of one weld (face, root, side…), in the order they are sent. */
export interface AnalyzeInput {
  images: readonly AnalyzeImage[]
  note?: string
  language: Language
}

/**
 * The multipart form: one part `image` per photo, in order (docs/api.md: 1 to
 * `WELD_MAX_IMAGES` parts named `image`). One photo is exactly the form servers
 * without several-photo support accept.
 */
function analyzeForm(input: AnalyzeInput): FormData {
  const form = new FormData()
  const part = (name: keyof AnalyzeForm) => name
  for (const { image, filename } of input.images) form.append(part('image'), image, filename)
  const note = input.note?.trim()
  if (note) form.append(part('note'), note)
  form.append(part('language'), input.language)
  return form
}

/** `POST /api/analyze` as multipart/form-data: parts `image` (one per photo), optional `note` and `language`. */
export function analyze(input: AnalyzeInput, options: CallOptions = {}): Promise<AnalyzeReply> {
  // No Content-Type header: fetch writes the multipart boundary itself.
  return call('/api/analyze', { method: 'POST', body: analyzeForm(input), signal: options.signal ?? null }, isGenerateReply)
}

/** `GET /api/session`: whether this browser has a session, and whether starting one needs a code. */
export function getSession(options: CallOptions = {}): Promise<SessionInfo> {
  return call('/api/session', { method: 'GET', signal: options.signal ?? null }, isSessionInfo)
}

/**
 * `POST /api/session`: starts a session; the server sets the HttpOnly cookie. Fails with
 * `access_code_invalid` (401) when a code is required and missing or wrong, `rate_limited` (429).
 */
export function createSession(accessCode?: string, options: CallOptions = {}): Promise<SessionInfo> {
  const request: SessionRequest = accessCode === undefined ? {} : { accessCode }
  return call(
    '/api/session',
    {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(request),
      signal: options.signal ?? null,
    },
    isSessionInfo,
  )
}

/** `DELETE /api/session`: ends the session; the server clears the cookie (204). */
export async function deleteSession(options: CallOptions = {}): Promise<void> {
  await call('/api/session', { method: 'DELETE', signal: options.signal ?? null }, isNoContent)
}

// ---------------------------------------------------------------------------
// Streaming: `POST /api/chat/stream` and `POST /api/analyze/stream`.
//
// Anything that fails before the first text is a normal JSON error (status +
// code), so it rejects exactly like the calls above, before any callback — which
// keeps the 401 → new session → one retry of `withSession` working. After that
// the answer arrives as `delta` events and ends with `done`, or with `error`
// (or a dropped connection), which rejects with an ApiError after some text.
// A question that must wait for Gemini's quota gets `waiting` events (its place
// in the server's line) before the first `delta`.

/** How a streamed answer ended: `done`'s data. */
export type StreamDone = Omit<ChatReply, 'text'>

/** How much of a request body has gone out: `sent` of `total` bytes. */
export interface UploadProgress {
  sent: number
  total: number
}

export interface StreamHandlers {
  /**
   * How the upload of the request body goes (the photos of an analysis). Given this,
   * a body of UPLOAD_PROGRESS_MIN_BYTES or more is sent with XMLHttpRequest, the one
   * browser API that reports it; a smaller one is gone before progress could show.
   */
  onUploadProgress?: (progress: UploadProgress) => void
  /** The server accepted the request and the answer starts (before any delta). */
  onOpen?: () => void
  /** The next piece of the answer, in order. */
  onDelta: (text: string) => void
  /** The question waits in the server's line (`event: waiting`, before any delta); again on every change. */
  onWaiting?: (waiting: Waiting) => void
  /** What Gemini heard of a spoken question (`event: transcript`, before any delta). */
  onTranscript?: (transcript: string) => void
}

/** The data of an `event: waiting`, or null when it is not one (a malformed event is skipped). */
export function parseWaiting(data: unknown): Waiting | null {
  if (!isRecord(data)) return null
  const { place, estimateSeconds } = data
  if (typeof place !== 'number' || !Number.isFinite(place) || place < 1) return null
  if (typeof estimateSeconds !== 'number' || !Number.isFinite(estimateSeconds) || estimateSeconds < 0) return null
  return { place: Math.round(place), estimateSeconds: Math.ceil(estimateSeconds) }
}

/** The answer of a stream that ended too early, or that was not a stream at all. */
function streamBroken(message: string): ApiError {
  return new ApiError({ status: 0, code: 'network_error', message })
}

/** An `event: error`: the server's error object, after some text arrived. */
function streamError(data: unknown): ApiError {
  if (!isRecord(data) || typeof data.code !== 'string' || data.code === '') return streamBroken('Malformed error event')
  const seconds = data.retryAfterSeconds
  return new ApiError({
    status: 0,
    code: data.code,
    message: typeof data.error === 'string' ? data.error : data.code,
    ...(typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0
      ? { retryAfterSeconds: Math.ceil(seconds) }
      : {}),
    ...serverMessageOf(data),
  })
}

function isStreamDone(value: unknown): value is StreamDone {
  return isRecord(value) && typeof value.finishReason === 'string' && typeof value.model === 'string'
}

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data)
  } catch {
    return undefined
  }
}

/** The smallest request body whose upload progress is reported. */
export const UPLOAD_PROGRESS_MIN_BYTES = 64 * 1024

/** The bytes of a form's files and fields (without the multipart framing). */
function formBytes(form: FormData): number {
  let bytes = 0
  form.forEach((value) => {
    bytes += typeof value === 'string' ? value.length : value.size
  })
  return bytes
}

function abortError(): DOMException {
  return new DOMException('The operation was aborted.', 'AbortError')
}

function parseHeaders(raw: string): Headers {
  const headers = new Headers()
  for (const line of raw.trim().split(/[\r\n]+/)) {
    const colon = line.indexOf(':')
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim())
  }
  return headers
}

/**
 * A POST made with XMLHttpRequest (fetch cannot report upload progress), given back
 * as a fetch Response whose body streams as the answer arrives, so the rest of the
 * client reads it like any other. Rejects like fetch: a TypeError when the network
 * fails, an AbortError when `signal` fires.
 */
function postWithUploadProgress(
  path: string,
  body: XMLHttpRequestBodyInit,
  headers: Headers,
  onUploadProgress: (progress: UploadProgress) => void,
  signal?: AbortSignal,
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    const encoder = new TextEncoder()
    let stream: ReadableStreamDefaultController<Uint8Array> | null = null
    let read = 0
    let settled = false
    const responseBody = new ReadableStream<Uint8Array>({
      start(controller) {
        stream = controller
      },
      cancel() {
        xhr.abort()
      },
    })
    const pushText = () => {
      const text = xhr.responseText
      if (text.length > read) {
        stream?.enqueue(encoder.encode(text.slice(read)))
        read = text.length
      }
    }
    const respond = () => {
      if (settled) return
      settled = true
      const nullBody = xhr.status === 204 || xhr.status === 205 || xhr.status === 304
      resolve(
        new Response(nullBody ? null : responseBody, {
          status: xhr.status,
          statusText: xhr.statusText,
          headers: parseHeaders(xhr.getAllResponseHeaders()),
        }),
      )
    }
    const fail = (error: Error) => {
      try {
        stream?.error(error)
      } catch {
        // Already closed.
      }
      if (!settled) {
        settled = true
        reject(error)
      }
    }
    const onAbort = () => xhr.abort()
    xhr.open('POST', path)
    headers.forEach((value, name) => xhr.setRequestHeader(name, value))
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onUploadProgress({ sent: event.loaded, total: event.total })
    }
    xhr.onreadystatechange = () => {
      if (xhr.readyState >= XMLHttpRequest.HEADERS_RECEIVED && xhr.status !== 0) respond()
    }
    xhr.onprogress = pushText
    xhr.onload = () => {
      signal?.removeEventListener('abort', onAbort)
      respond()
      pushText()
      try {
        stream?.close()
      } catch {
        // Cancelled by the reader.
      }
    }
    xhr.onerror = () => fail(new TypeError('Network error'))
    xhr.ontimeout = () => fail(new TypeError('Network timeout'))
    xhr.onabort = () => fail(abortError())
    if (signal?.aborted) {
      reject(abortError())
      return
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    xhr.send(body)
  })
}

async function callStream(path: string, init: RequestInit, handlers: StreamHandlers, signal?: AbortSignal): Promise<StreamDone> {
  const headers = new Headers(init.headers)
  headers.set('Accept', 'text/event-stream, application/json')
  let response: Response
  try {
    const { onUploadProgress } = handlers
    response =
      onUploadProgress && init.body instanceof FormData && formBytes(init.body) >= UPLOAD_PROGRESS_MIN_BYTES
        ? await postWithUploadProgress(path, init.body, headers, onUploadProgress, signal)
        : await fetch(path, { ...init, headers, credentials: 'same-origin', signal: signal ?? null })
  } catch (cause) {
    if (isAbortError(cause)) throw cause
    throw streamBroken(cause instanceof Error ? cause.message : 'Network error')
  }

  const contentType = response.headers.get('Content-Type') ?? ''
  if (!response.ok || !contentType.toLowerCase().startsWith('text/event-stream') || response.body === null) {
    // An error, or a server that answered in one piece: handled like a plain call.
    let raw: string
    try {
      raw = await response.text()
    } catch (cause) {
      if (isAbortError(cause)) throw cause
      throw streamBroken(cause instanceof Error ? cause.message : 'Network error')
    }
    const body = raw === '' ? undefined : parseJson(raw)
    if (!response.ok) throw errorFromResponse(response, body)
    if (!isGenerateReply(body)) {
      throw new ApiError({ status: response.status, code: `http_${response.status}`, message: `Unexpected reply from ${path}` })
    }
    handlers.onOpen?.()
    const transcript = (body as { transcript?: unknown }).transcript
    if (typeof transcript === 'string') handlers.onTranscript?.(transcript)
    if (body.text !== '') handlers.onDelta(body.text)
    return { finishReason: body.finishReason, model: body.model, ...(body.usage ? { usage: body.usage } : {}) }
  }

  handlers.onOpen?.()
  try {
    for await (const event of readSse(response.body, signal)) {
      const data = parseJson(event.data)
      switch (event.event) {
        case 'delta':
          if (isRecord(data) && typeof data.text === 'string') {
            if (data.text !== '') handlers.onDelta(data.text)
          }
          break
        case 'waiting': {
          const waiting = parseWaiting(data)
          if (waiting) handlers.onWaiting?.(waiting)
          break
        }
        case 'transcript':
          if (isRecord(data) && typeof data.transcript === 'string') handlers.onTranscript?.(data.transcript)
          break
        case 'done':
          if (!isStreamDone(data)) throw streamBroken('Malformed done event')
          return data
        case 'error':
          throw streamError(data)
        default:
          // Events this client does not know are skipped.
          break
      }
    }
  } catch (cause) {
    if (cause instanceof ApiError) throw cause
    if (signal?.aborted || isAbortError(cause)) throw cause
    throw streamBroken(cause instanceof Error ? cause.message : 'Network error')
  }
  throw streamBroken('The stream ended before the answer was complete')
}

/** `POST /api/chat/stream`: like `chat`, but the answer arrives in pieces through `onDelta`. */
export function chatStream(request: ChatRequest, handlers: StreamHandlers, options: CallOptions = {}): Promise<StreamDone> {
  return callStream(
    '/api/chat/stream',
    { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request) },
    handlers,
    options.signal,
  )
}

/**
 * `POST /api/chat/voice/stream`: a spoken question (the recording inline, base64)
 * with the earlier turns; `onTranscript` gets what Gemini heard, then the answer
 * arrives through `onDelta` like `chatStream`'s.
 */
export function chatVoiceStream(request: VoiceRequest, handlers: StreamHandlers, options: CallOptions = {}): Promise<StreamDone> {
  return callStream(
    '/api/chat/voice/stream',
    { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request) },
    handlers,
    options.signal,
  )
}

/** `POST /api/analyze/stream`: like `analyze`, but the report arrives in pieces through `onDelta`. */
export function analyzeStream(input: AnalyzeInput, handlers: StreamHandlers, options: CallOptions = {}): Promise<StreamDone> {
  return callStream('/api/analyze/stream', { method: 'POST', body: analyzeForm(input) }, handlers, options.signal)
}
