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

export const handlers = [
  http.post('/api/chat', () => generateReply('Ответ **помощника**.')),
  http.post('/api/analyze', () => generateReply('## Отчёт\n\n- Дефектов не видно.')),
]
