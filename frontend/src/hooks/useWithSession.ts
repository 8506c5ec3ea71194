// How the hooks that call the API run a request: through the app's session
// (app/useSession.ts), which on 401 `session_required` gets a new session and runs
// the call once more. The app shell provides it through WithSessionContext; here,
// in the shared layer, so that the features need nothing from the app shell.
import { createContext, use } from 'react'

/** Runs an API call; on 401 `session_required` gets a new session and runs it once more. */
export type WithSession = <T>(call: () => Promise<T>) => Promise<T>

export const WithSessionContext = createContext<WithSession | null>(null)

const direct: WithSession = (call) => call()

/** `withSession` of the app's session, or a plain call where there is none (a view rendered alone). */
export function useWithSession(): WithSession {
  return use(WithSessionContext) ?? direct
}
