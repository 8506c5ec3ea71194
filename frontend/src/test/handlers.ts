// Default msw handlers shaped like the Rust API (see shared/DESIGN.md), and
// helpers that tests use to answer differently or to record what was sent.
import { http, HttpResponse } from 'msw'

export const MODEL = 'gemini-flash-latest'

export function generateReply(text: string) {
  return HttpResponse.json({
    text,
    finishReason: 'STOP',
    model: MODEL,
    usage: { promptTokens: 10, responseTokens: 20, totalTokens: 30 },
  })
}

/** The server's flat error body, with Retry-After when a wait is given. */
export function errorReply(status: number, code: string, error: string, retryAfterSeconds?: number) {
  return HttpResponse.json(
    { error, code, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) },
    { status, headers: retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) } },
  )
}

/** When the sessions of the default handlers end (any fixed time will do). */
export const SESSION_EXPIRES_AT = '2030-01-08T12:00:00Z'

/** A `GET`/`POST /api/session` answer. */
export function sessionReply(active: boolean, accessCodeRequired: boolean) {
  return HttpResponse.json({ active, accessCodeRequired, ...(active ? { expiresAt: SESSION_EXPIRES_AT } : {}) })
}

/** By default the browser already has a session and no access code is configured. */
export const handlers = [
  http.get('/api/session', () => sessionReply(true, false)),
  http.post('/api/session', () => sessionReply(true, false)),
  http.delete('/api/session', () => new HttpResponse(null, { status: 204 })),
  http.post('/api/chat', () => generateReply('Ответ **помощника**.')),
  http.post('/api/analyze', () => generateReply('## Отчёт\n\n- Дефектов не видно.')),
]
