// A stand-in for the server's sessions: it remembers whether "the cookie" is set,
// checks the access code, and makes /api/chat and /api/analyze answer 401
// `session_required` without a session, as the Rust server does. Records every
// call in order, e.g. ['GET /api/session', 'POST /api/session wrong', 'POST /api/chat'].
import { http, HttpResponse } from 'msw'
import { errorReply, generateReply, sessionReply, streamReply } from './handlers'
import { server } from './server'

export interface SessionServerOptions {
  /** The configured access code; none means no code is required. */
  accessCode?: string
  /** Whether the browser starts with a valid session. */
  active?: boolean
  /** Answers for a chat request (plain or streamed) made with a session (default: a fixed text). */
  chatReply?: () => Response
  /** 429 every `POST /api/session` with this wait. */
  rateLimitSeconds?: number
}

export function sessionServer({ accessCode, active = false, chatReply, rateLimitSeconds }: SessionServerOptions = {}) {
  const state = { active, calls: [] as string[] }
  const required = accessCode !== undefined
  const needsSession = (name: string, reply: () => Response) => () => {
    state.calls.push(`POST ${name}`)
    return state.active ? reply() : errorReply(401, 'session_required', 'A session is required.')
  }
  server.use(
    http.get('/api/session', () => {
      state.calls.push('GET /api/session')
      return sessionReply(state.active, required)
    }),
    http.post('/api/session', async ({ request }) => {
      const body = (await request.json()) as { accessCode?: string }
      state.calls.push(`POST /api/session${body.accessCode === undefined ? '' : ` ${body.accessCode}`}`)
      if (rateLimitSeconds !== undefined) {
        return errorReply(429, 'rate_limited', 'Too many attempts.', rateLimitSeconds)
      }
      if (required && body.accessCode !== accessCode) {
        return errorReply(401, 'access_code_invalid', 'The access code is missing or wrong.')
      }
      state.active = true
      return sessionReply(true, required)
    }),
    http.delete('/api/session', () => {
      state.calls.push('DELETE /api/session')
      state.active = false
      return new HttpResponse(null, { status: 204 })
    }),
    http.post('/api/chat', needsSession('/api/chat', chatReply ?? (() => generateReply('Ответ после входа.')))),
    http.post('/api/analyze', needsSession('/api/analyze', () => generateReply('## Отчёт'))),
    http.post('/api/chat/stream', needsSession('/api/chat/stream', chatReply ?? (() => streamReply('Ответ ', 'после входа.')))),
    http.post('/api/analyze/stream', needsSession('/api/analyze/stream', () => streamReply('## Отчёт'))),
  )
  return state
}
