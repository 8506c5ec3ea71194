import { http, HttpResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { errorReply, generateReply, MODEL, SESSION_EXPIRES_AT } from '../test/handlers'
import { server } from '../test/server'
import { analyze, ApiError, chat, createSession, deleteSession, getSession, isAbortError } from './client'

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

    const reply = await analyze({ image, filename: 'weld.jpg', note: '  MIG, 4 мм  ', language: 'ru' })

    expect(reply.text).toBe('## Отчёт')
    const part = form?.get('image')
    expect(part).toBeInstanceOf(File)
    expect((part as File).name).toBe('weld.jpg')
    expect((part as File).type).toBe('image/jpeg')
    expect(new Uint8Array(await (part as File).arrayBuffer())).toEqual(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))
    expect(form?.get('note')).toBe('MIG, 4 мм')
    expect(form?.get('language')).toBe('ru')
  })

  it('leaves out an empty note', async () => {
    let form: FormData | undefined
    server.use(
      http.post('/api/analyze', async ({ request }) => {
        form = await request.formData()
        return generateReply('ok')
      }),
    )

    await analyze({ image: new Blob(['x'], { type: 'image/png' }), filename: 'a.png', note: '   ', language: 'en' })

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
