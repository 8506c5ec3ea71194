// Default msw handlers shaped like the Rust API (see docs/api.md), and
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

/** One Server-Sent Event as the server writes it. */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}

export const DONE = { finishReason: 'STOP', model: MODEL, usage: { promptTokens: 10, responseTokens: 20, totalTokens: 30 } }

/** A `200 text/event-stream` answer whose body is the given chunks, sent as they are. */
export function sseResponse(chunks: Iterable<string> | AsyncIterable<string>) {
  const encoder = new TextEncoder()
  const iterator: AsyncIterator<string> | Iterator<string> =
    Symbol.asyncIterator in chunks ? chunks[Symbol.asyncIterator]() : chunks[Symbol.iterator]()
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await iterator.next()
      if (next.done) controller.close()
      else controller.enqueue(encoder.encode(next.value))
    },
    async cancel() {
      await iterator.return?.()
    },
  })
  return new HttpResponse(body, {
    status: 200,
    headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' },
  })
}

/** A streamed answer: one `delta` per piece, then `done`. */
export function streamReply(...pieces: string[]) {
  return sseResponse([...pieces.map((text) => sseEvent('delta', { text })), sseEvent('done', DONE)])
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
  http.post('/api/chat/stream', () => streamReply('Ответ ', '**помощника**.')),
  http.post('/api/analyze/stream', () => streamReply('## Отчёт\n\n', '- Дефектов не видно.')),
]

/**
 * A `200 text/event-stream` answer the test writes piece by piece: `send` a
 * chunk (any text, split anywhere), `close` it, or `fail` it like a dropped
 * connection. (msw hands the client a copy of the body, so an abort shows on
 * the handler's `request.signal`, not here.)
 */
export function controlledStream() {
  const encoder = new TextEncoder()
  let controller: ReadableStreamDefaultController<Uint8Array> | null = null
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c
    },
  })
  const live = () => {
    if (!controller) throw new Error('the stream has not started')
    return controller
  }
  return {
    response: () =>
      new HttpResponse(body, { status: 200, headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' } }),
    send: (chunk: string) => {
      live().enqueue(encoder.encode(chunk))
    },
    delta: (text: string) => {
      live().enqueue(encoder.encode(sseEvent('delta', { text })))
    },
    done: () => {
      live().enqueue(encoder.encode(sseEvent('done', DONE)))
      live().close()
    },
    close: () => {
      live().close()
    },
    fail: () => {
      live().error(new TypeError('network connection lost'))
    },
  }
}
