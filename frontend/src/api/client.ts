// The only module that talks HTTP. Same-origin fetch with the session cookie;
// every failure becomes an ApiError with a machine-readable `code` that the UI
// turns into a localized message. Knows nothing of React.
import type { AnalyzeForm, AnalyzeReply, ChatReply, ChatRequest, Language, SessionInfo, SessionRequest } from './types'

export interface ApiErrorInit {
  status: number
  code: string
  message: string
  retryAfterSeconds?: number
}

/** A failed API call: `status` 0 means no HTTP answer at all (`network_error`). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly retryAfterSeconds?: number

  constructor({ status, code, message, retryAfterSeconds }: ApiErrorInit) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    if (retryAfterSeconds !== undefined) this.retryAfterSeconds = retryAfterSeconds
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

function errorFromResponse(response: Response, body: unknown): ApiError {
  const fallback = `HTTP ${response.status}`
  if (isRecord(body) && typeof body.code === 'string' && body.code !== '') {
    const seconds = retryAfter(body, response.headers)
    return new ApiError({
      status: response.status,
      code: body.code,
      message: typeof body.error === 'string' ? body.error : fallback,
      ...(seconds !== undefined ? { retryAfterSeconds: seconds } : {}),
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

export interface AnalyzeInput {
  image: Blob
  filename: string
  note?: string
  language: Language
}

/** `POST /api/analyze` as multipart/form-data: part `image`, optional `note` and `language`. */
export function analyze(input: AnalyzeInput, options: CallOptions = {}): Promise<AnalyzeReply> {
  const form = new FormData()
  const part = (name: keyof AnalyzeForm) => name
  form.append(part('image'), input.image, input.filename)
  const note = input.note?.trim()
  if (note) form.append(part('note'), note)
  form.append(part('language'), input.language)
  // No Content-Type header: fetch writes the multipart boundary itself.
  return call('/api/analyze', { method: 'POST', body: form, signal: options.signal ?? null }, isGenerateReply)
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
