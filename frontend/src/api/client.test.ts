import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { controlledStream, DONE, errorReply, generateReply, MODEL, SESSION_EXPIRES_AT, sseEvent, sseResponse } from '../test/handlers'
import { server } from '../test/server'
import {
  analyze,
  analyzeStream,
  ApiError,
  chat,
  chatStream,
  createSession,
  deleteSession,
  getSession,
  isAbortError,
  parseWaiting,
  type StreamDone,
} from './client'

async function chatError(): Promise<ApiError> {
  try {
    await chat({ message: 'Вопрос', history: [], language: 'ru' })
  } catch (error) {
    if (error instanceof ApiError) return error
    throw error
  }
  throw new Error('chat() resolved, an ApiError was expected')
}

describe('api client', () => {
  it('posts the chat request as JSON and returns the reply', async () => {
    let seen: { body: unknown; contentType: string | null; accept: string | null } | undefined
    server.use(
      http.post('/api/chat', async ({ request }) => {
        seen = {
          body: await request.json(),
          contentType: request.headers.get('content-type'),
          accept: request.headers.get('accept'),
        }
        return generateReply('Да.')
      }),
    )

    const reply = await chat({
      message: 'Какой газ?',
      history: [{ role: 'user', text: 'Привет' }, { role: 'model', text: 'Здравствуйте' }],
      language: 'en',
    })

    expect(reply).toMatchObject({ text: 'Да.', finishReason: 'STOP', model: MODEL })
    expect(seen).toEqual({
      body: {
        message: 'Какой газ?',
        history: [{ role: 'user', text: 'Привет' }, { role: 'model', text: 'Здравствуйте' }],
        language: 'en',
      },
      contentType: 'application/json',
      accept: 'application/json',
    })
  })

  it('parses the flat JSON error body into an ApiError', async () => {
    server.use(http.post('/api/chat', () => errorReply(429, 'rate_limited', 'Too many requests', 42)))

    const error = await chatError()

    expect(error).toBeInstanceOf(ApiError)
    expect(error.status).toBe(429)
    expect(error.code).toBe('rate_limited')
    expect(error.message).toBe('Too many requests')
    expect(error.serverMessage).toBe('Too many requests')
    expect(error.retryAfterSeconds).toBe(42)
  })

  it('takes the wait from the Retry-After header when the body has none', async () => {
    server.use(
      http.post('/api/chat', () =>
        HttpResponse.json(
          { error: 'Daily budget used', code: 'budget_exhausted' },
          { status: 429, headers: { 'Retry-After': '3600' } },
        ),
      ),
    )

    const error = await chatError()

    expect(error.code).toBe('budget_exhausted')
    expect(error.retryAfterSeconds).toBe(3600)
  })

  it('leaves retryAfterSeconds unset when the server gives no wait', async () => {
    server.use(http.post('/api/chat', () => errorReply(502, 'upstream_region', 'Region not supported')))

    const error = await chatError()

    expect(error).toMatchObject({ status: 502, code: 'upstream_region' })
    expect(error.retryAfterSeconds).toBeUndefined()
  })

  it('turns a non-JSON error body into http_<status>', async () => {
    server.use(
      http.post('/api/chat', () =>
        HttpResponse.text('<html><body>502 Bad Gateway</body></html>', {
          status: 502,
          headers: { 'Content-Type': 'text/html' },
        }),
      ),
    )

    const error = await chatError()

    expect(error).toMatchObject({ status: 502, code: 'http_502' })
    expect(error.serverMessage).toBeUndefined()
  })

  it('turns a JSON error without a code into http_<status>', async () => {
    server.use(http.post('/api/chat', () => HttpResponse.json({ message: 'oops' }, { status: 500 })))

    const error = await chatError()

    expect(error).toMatchObject({ status: 500, code: 'http_500' })
  })

  it('rejects a 200 answer that is not the reply JSON', async () => {
    server.use(http.post('/api/chat', () => HttpResponse.text('<!doctype html><title>SPA</title>')))

    const error = await chatError()

    expect(error).toMatchObject({ status: 200, code: 'http_200' })
  })

  it('turns a network failure into network_error with status 0', async () => {
    server.use(http.post('/api/chat', () => HttpResponse.error()))

    const error = await chatError()

    expect(error).toMatchObject({ status: 0, code: 'network_error' })
  })

  it('lets an aborted request reject as an abort, not as an ApiError', async () => {
    server.use(
      http.post('/api/chat', async () => {
        await new Promise((resolve) => setTimeout(resolve, 1000))
        return generateReply('late')
      }),
    )
    const controller = new AbortController()

    const pending = chat({ message: 'Вопрос', language: 'ru' }, { signal: controller.signal })
    controller.abort()

    const error: unknown = await pending.catch((caught: unknown) => caught)
    expect(isAbortError(error)).toBe(true)
    expect(error).not.toBeInstanceOf(ApiError)
  })

  it('posts analyze as multipart with the image file, the note and the language', async () => {
    let form: FormData | undefined
    server.use(
      http.post('/api/analyze', async ({ request }) => {
        form = await request.formData()
        return generateReply('## Отчёт')
      }),
    )
    const image = new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xe0])], { type: 'image/jpeg' })

    const reply = await analyze({ images: [{ image, filename: 'weld.jpg' }], note: '  MIG, 4 мм  ', language: 'ru' })

    expect(reply.text).toBe('## Отчёт')
    const part = form?.get('image')
    expect(part).toBeInstanceOf(File)
    expect((part as File).name).toBe('weld.jpg')
    expect((part as File).type).toBe('image/jpeg')
    expect(new Uint8Array(await (part as File).arrayBuffer())).toEqual(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))
    expect(form?.getAll('image')).toHaveLength(1)
    expect(form?.get('note')).toBe('MIG, 4 мм')
    expect(form?.get('language')).toBe('ru')
  })

  it('posts several photos of one weld as parts named image, in order', async () => {
    let form: FormData | undefined
    server.use(
      http.post('/api/analyze', async ({ request }) => {
        form = await request.formData()
        return generateReply('## Отчёт')
      }),
    )
    const photo = (byte: number) => new Blob([new Uint8Array([0xff, 0xd8, byte])], { type: 'image/jpeg' })

    await analyze({
      images: [
        { image: photo(1), filename: 'face.jpg' },
        { image: photo(2), filename: 'root.jpg' },
        { image: photo(3), filename: 'side.jpg' },
      ],
      language: 'ru',
    })

    const parts = (form?.getAll('image') ?? []) as File[]
    expect(parts.map((part) => part.name)).toEqual(['face.jpg', 'root.jpg', 'side.jpg'])
    const lastBytes = await Promise.all(parts.map(async (part) => new Uint8Array(await part.arrayBuffer())[2]))
    expect(lastBytes).toEqual([1, 2, 3])
  })

  it('leaves out an empty note', async () => {
    let form: FormData | undefined
    server.use(
      http.post('/api/analyze', async ({ request }) => {
        form = await request.formData()
        return generateReply('ok')
      }),
    )

    await analyze({ images: [{ image: new Blob(['x'], { type: 'image/png' }), filename: 'a.png' }], note: '   ', language: 'en' })

    expect(form?.has('note')).toBe(false)
    expect(form?.get('language')).toBe('en')
  })

  describe('sessions', () => {
    it('reads the session state', async () => {
      server.use(http.get('/api/session', () => HttpResponse.json({ active: false, accessCodeRequired: true })))

      expect(await getSession()).toEqual({ active: false, accessCodeRequired: true })
    })

    it('posts the access code as JSON, with the cookie policy of the site, and returns the session', async () => {
      let seen: { body: unknown; credentials: string } | undefined
      server.use(
        http.post('/api/session', async ({ request }) => {
          seen = { body: await request.json(), credentials: request.credentials }
          return HttpResponse.json({ active: true, accessCodeRequired: true, expiresAt: SESSION_EXPIRES_AT })
        }),
      )

      const info = await createSession('svarka')

      expect(info).toEqual({ active: true, accessCodeRequired: true, expiresAt: SESSION_EXPIRES_AT })
      expect(seen).toEqual({ body: { accessCode: 'svarka' }, credentials: 'same-origin' })
    })

    it('posts an empty object without a code', async () => {
      let body: unknown
      server.use(
        http.post('/api/session', async ({ request }) => {
          body = await request.json()
          return HttpResponse.json({ active: true, accessCodeRequired: false, expiresAt: SESSION_EXPIRES_AT })
        }),
      )

      await createSession()

      expect(body).toEqual({})
    })

    it('turns a wrong code and too many attempts into ApiErrors', async () => {
      server.use(http.post('/api/session', () => errorReply(401, 'access_code_invalid', 'Wrong code.')))
      await expect(createSession('x')).rejects.toMatchObject({ status: 401, code: 'access_code_invalid' })

      server.use(http.post('/api/session', () => errorReply(429, 'rate_limited', 'Slow down.', 17)))
      await expect(createSession('x')).rejects.toMatchObject({ status: 429, code: 'rate_limited', retryAfterSeconds: 17 })
    })

    it('ends the session with DELETE and accepts the empty 204', async () => {
      let method: string | undefined
      server.use(
        http.delete('/api/session', ({ request }) => {
          method = request.method
          return new HttpResponse(null, { status: 204 })
        }),
      )

      await expect(deleteSession()).resolves.toBeUndefined()
      expect(method).toBe('DELETE')
    })
  })
})

describe('api client, streaming', () => {
  /** Runs chatStream and returns what happened, in order. */
  async function streamChat(signal?: AbortSignal) {
    const log: string[] = []
    let result: StreamDone | undefined
    let failure: unknown
    try {
      result = await chatStream(
        { message: 'Вопрос', history: [], language: 'ru' },
        {
          onOpen: () => log.push('open'),
          onDelta: (text) => log.push(`delta ${text}`),
          onWaiting: ({ place, estimateSeconds }) => log.push(`waiting ${place} ${estimateSeconds}`),
        },
        signal ? { signal } : {},
      )
    } catch (error) {
      failure = error
    }
    return { log, result, failure }
  }

  it('posts JSON to /api/chat/stream, hands over the deltas in order and resolves with done', async () => {
    let seen: { body: unknown; accept: string | null; contentType: string | null } | undefined
    server.use(
      http.post('/api/chat/stream', async ({ request }) => {
        seen = {
          body: await request.json(),
          accept: request.headers.get('accept'),
          contentType: request.headers.get('content-type'),
        }
        return sseResponse([
          ': keepalive\n\n',
          sseEvent('delta', { text: 'Элек' }),
          sseEvent('delta', { text: 'трод' }) + 'event: done\r\n',
          `data: ${JSON.stringify(DONE)}\r\n\r\n`,
        ])
      }),
    )

    const { log, result, failure } = await streamChat()

    expect(failure).toBeUndefined()
    expect(log).toEqual(['open', 'delta Элек', 'delta трод'])
    expect(result).toEqual(DONE)
    expect(seen).toEqual({
      body: { message: 'Вопрос', history: [], language: 'ru' },
      accept: expect.stringContaining('text/event-stream') as unknown,
      contentType: 'application/json',
    })
  })

  it('hands over waiting events (place in the line) before the deltas, skipping malformed ones', async () => {
    server.use(
      http.post('/api/chat/stream', () =>
        sseResponse([
          sseEvent('waiting', { place: 3, estimateSeconds: 40 }),
          sseEvent('waiting', { place: 0, estimateSeconds: 5 }),
          sseEvent('waiting', { place: 2, estimateSeconds: -1 }),
          'event: waiting\ndata: not json\n\n',
          sseEvent('waiting', { place: 2, estimateSeconds: 20 }),
          sseEvent('waiting', { place: 1, estimateSeconds: 0 }),
          sseEvent('delta', { text: 'Ответ' }),
          sseEvent('done', DONE),
        ]),
      ),
    )

    const { log, result, failure } = await streamChat()

    expect(failure).toBeUndefined()
    expect(log).toEqual(['open', 'waiting 3 40', 'waiting 2 20', 'waiting 1 0', 'delta Ответ'])
    expect(result).toEqual(DONE)
  })

  it('ends a wait in the line that runs out with the error event, as an ApiError', async () => {
    server.use(
      http.post('/api/chat/stream', () =>
        sseResponse([
          sseEvent('waiting', { place: 1, estimateSeconds: 30 }),
          sseEvent('error', { error: 'Gemini quota', code: 'upstream_quota', retryAfterSeconds: 60 }),
        ]),
      ),
    )

    const { log, failure } = await streamChat()

    expect(log).toEqual(['open', 'waiting 1 30'])
    expect(failure).toBeInstanceOf(ApiError)
    expect(failure).toMatchObject({ status: 0, code: 'upstream_quota', retryAfterSeconds: 60 })
  })

  it('parses the waiting data strictly: a 1-based place and a whole number of seconds', () => {
    expect(parseWaiting({ place: 3, estimateSeconds: 40 })).toEqual({ place: 3, estimateSeconds: 40 })
    expect(parseWaiting({ place: 1, estimateSeconds: 0 })).toEqual({ place: 1, estimateSeconds: 0 })
    expect(parseWaiting({ place: 2, estimateSeconds: 12.2 })).toEqual({ place: 2, estimateSeconds: 13 })
    expect(parseWaiting({ place: 0, estimateSeconds: 1 })).toBeNull()
    expect(parseWaiting({ place: '3', estimateSeconds: 1 })).toBeNull()
    expect(parseWaiting({ place: 3 })).toBeNull()
    expect(parseWaiting(null)).toBeNull()
    expect(parseWaiting([3, 40])).toBeNull()
  })

  it('rejects a JSON error before the stream like a plain call, without any callback', async () => {
    server.use(http.post('/api/chat/stream', () => errorReply(429, 'rate_limited', 'Too many requests', 42)))

    const { log, failure } = await streamChat()

    expect(log).toEqual([])
    expect(failure).toBeInstanceOf(ApiError)
    expect(failure).toMatchObject({ status: 429, code: 'rate_limited', retryAfterSeconds: 42 })
  })

  it('rejects with the code of an error event, after the text that came before it', async () => {
    server.use(
      http.post('/api/chat/stream', () =>
        sseResponse([
          sseEvent('delta', { text: 'Начало' }),
          sseEvent('error', { error: 'Gemini went away', code: 'upstream_unavailable' }),
          sseEvent('delta', { text: 'never' }),
        ]),
      ),
    )

    const { log, failure } = await streamChat()

    expect(log).toEqual(['open', 'delta Начало'])
    expect(failure).toBeInstanceOf(ApiError)
    expect(failure).toMatchObject({
      code: 'upstream_unavailable',
      message: 'Gemini went away',
      serverMessage: 'Gemini went away',
    })
  })

  it('treats a stream that ends without done as a network error', async () => {
    server.use(http.post('/api/chat/stream', () => sseResponse([sseEvent('delta', { text: 'Обры' })])))

    const { log, failure } = await streamChat()

    expect(log).toEqual(['open', 'delta Обры'])
    expect(failure).toMatchObject({ code: 'network_error' })
  })

  it('treats a connection dropped mid-stream as a network error', async () => {
    const stream = controlledStream()
    server.use(http.post('/api/chat/stream', () => stream.response()))
    const log: string[] = []

    const pending = chatStream({ message: 'Вопрос', language: 'ru' }, { onDelta: (text) => log.push(text) })
    stream.delta('часть')
    await expect.poll(() => log).toEqual(['часть'])
    stream.fail()

    await expect(pending).rejects.toMatchObject({ code: 'network_error', status: 0 })
  })

  it('rejects as an abort, not an ApiError, when aborted mid-stream', async () => {
    const stream = controlledStream()
    server.use(http.post('/api/chat/stream', () => stream.response()))
    const controller = new AbortController()
    const log: string[] = []

    const pending = chatStream(
      { message: 'Вопрос', language: 'ru' },
      { onDelta: (text) => log.push(text) },
      { signal: controller.signal },
    ).catch((caught: unknown) => caught)
    stream.delta('часть')
    await expect.poll(() => log).toEqual(['часть'])
    controller.abort()
    stream.delta('ещё')

    const error = await pending
    expect(isAbortError(error)).toBe(true)
    expect(error).not.toBeInstanceOf(ApiError)
    expect(log).toEqual(['часть'])
  })

  it('takes a whole JSON answer from a server that does not stream as one delta', async () => {
    server.use(http.post('/api/chat/stream', () => generateReply('Целиком.')))

    const { log, result } = await streamChat()

    expect(log).toEqual(['open', 'delta Целиком.'])
    expect(result).toMatchObject({ finishReason: 'STOP', model: MODEL })
  })

  it('posts the photo as multipart to /api/analyze/stream', async () => {
    let seen: { image: unknown; note: unknown; language: unknown; contentType: string | null } | undefined
    server.use(
      http.post('/api/analyze/stream', async ({ request }) => {
        const form = await request.formData()
        const image = form.get('image')
        seen = {
          image: image instanceof File ? image.name : image,
          note: form.get('note'),
          language: form.get('language'),
          contentType: request.headers.get('content-type'),
        }
        return sseResponse([sseEvent('delta', { text: '## Отчёт' }), sseEvent('done', DONE)])
      }),
    )
    const pieces: string[] = []

    const done = await analyzeStream(
      { images: [{ image: new Blob([new Uint8Array([0xff, 0xd8])], { type: 'image/jpeg' }), filename: 'weld.jpg' }], note: ' MIG ', language: 'en' },
      { onDelta: (text) => pieces.push(text) },
    )

    expect(pieces).toEqual(['## Отчёт'])
    expect(done.model).toBe(MODEL)
    expect(seen).toMatchObject({ image: 'weld.jpg', note: 'MIG', language: 'en' })
    expect(seen?.contentType).toMatch(/^multipart\/form-data; boundary=/)
  })
})

