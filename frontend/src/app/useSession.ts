// The browser's session with the server. The cookie itself is HttpOnly, so all the
// app knows is what `GET /api/session` says and how chat/analyze answer:
//
// - on start: `GET /api/session`; no session and no code needed → `POST /api/session`
//   silently; a code needed → the access-code screen (phase `code`);
// - a request answered 401 `session_required` (the session expired, the server
//   restarted with a new secret): without a code a new session is started silently
//   and the request is sent once more; with a code the access-code screen is shown
//   and the request waits, and is sent again once the right code has been entered;
// - sign out (only offered when a code is required) ends the session and shows the
//   code screen again.
//
// The hooks that call the API get `withSession` through WithSessionContext (see
// hooks/useWithSession.ts), which the app shell provides.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import { ApiError, asApiError, createSession, deleteSession, getSession, isAbortError } from '../api/client'
import type { WithSession } from '../hooks/useWithSession'

/** `checking`: asking the server; `ready`: the app is usable; `code`: an access code must be entered. */
export type SessionPhase = 'checking' | 'ready' | 'code'

export interface Session {
  phase: SessionPhase
  /** Whether the server wants an access code (known after the first answer about the session). */
  accessCodeRequired: boolean
  /** Starts a session with this code; resolves to the failure, or null on success. */
  submitCode: (code: string) => Promise<ApiError | null>
  /** Ends the session (DELETE /api/session) and shows the code screen. */
  signOut: () => Promise<void>
  /** Runs an API call; on 401 `session_required` gets a new session and runs it once more. */
  withSession: WithSession
}

export const SESSION_REQUIRED = 'session_required'
const ACCESS_CODE_INVALID = 'access_code_invalid'

export function useSession(): Session {
  const [phase, setPhase] = useState<SessionPhase>('checking')
  const [accessCodeRequired, setAccessCodeRequiredState] = useState(false)
  // Mirrors of state for the async code paths, which must not wait for a render.
  const codeRequired = useRef(false)
  /** Requests waiting for a code to be entered. */
  const waiting = useRef<(() => void)[]>([])
  /** The recovery in progress, shared by every request that got a 401 meanwhile. */
  const recovering = useRef<Promise<void> | null>(null)

  const setCodeRequired = useCallback((required: boolean) => {
    codeRequired.current = required
    setAccessCodeRequiredState(required)
  }, [])

  useEffect(() => {
    const controller = new AbortController()
    const options = { signal: controller.signal }
    async function start() {
      try {
        const info = await getSession(options)
        setCodeRequired(info.accessCodeRequired)
        if (info.active) {
          setPhase('ready')
        } else if (info.accessCodeRequired) {
          setPhase('code')
        } else {
          await createSession(undefined, options)
          setPhase('ready')
        }
      } catch (error) {
        if (isAbortError(error)) return
        if (asApiError(error).code === ACCESS_CODE_INVALID) {
          setCodeRequired(true)
          setPhase('code')
          return
        }
        // The server could not tell (offline, or one without sessions): let the app
        // run; a request that needs a session gets one through withSession.
        setPhase('ready')
      }
    }
    void start()
    return () => controller.abort()
  }, [setCodeRequired])

  const recover = useCallback((): Promise<void> => {
    if (recovering.current) return recovering.current
    const recovery = (async () => {
      if (!codeRequired.current) {
        try {
          const info = await createSession()
          setCodeRequired(info.accessCodeRequired)
          return
        } catch (error) {
          if (asApiError(error).code !== ACCESS_CODE_INVALID) throw error
          setCodeRequired(true)
        }
      }
      await new Promise<void>((resolve) => {
        waiting.current.push(resolve)
        setPhase('code')
      })
    })().finally(() => {
      recovering.current = null
    })
    recovering.current = recovery
    return recovery
  }, [setCodeRequired])

  const withSession = useCallback(
    async <T>(call: () => Promise<T>): Promise<T> => {
      try {
        return await call()
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== SESSION_REQUIRED) throw error
        await recover()
        return call()
      }
    },
    [recover],
  )

  const submitCode = useCallback(
    async (code: string): Promise<ApiError | null> => {
      try {
        await createSession(code)
      } catch (error) {
        return asApiError(error)
      }
      setCodeRequired(true)
      setPhase('ready')
      const resume = waiting.current
      waiting.current = []
      for (const resolve of resume) resolve()
      return null
    },
    [setCodeRequired],
  )

  const signOut = useCallback(async () => {
    try {
      await deleteSession()
    } catch {
      // Shown the code screen all the same: that is what the user asked for, and a
      // session the server still knows ends by itself.
    }
    setPhase('code')
  }, [])

  return useMemo(
    () => ({ phase, accessCodeRequired, submitCode, signOut, withSession }),
    [phase, accessCodeRequired, submitCode, signOut, withSession],
  )
}
