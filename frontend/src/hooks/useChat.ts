// Chat state: the conversation (remembered in localStorage), the answer being
// streamed in, and the last failure, which can be retried with the same message
// and history. Talks to the server only through api/client.
import { useEffect, useRef, useState } from 'react'
import { type ApiError, asApiError, chatStream } from '../api/client'
import type { HistoryItem, Language } from '../api/types'
import {
  type ChatMessage,
  loadConversation,
  newMessageId,
  saveConversation,
  trimHistory,
} from '../chat/conversation'
import { frameScheduler } from './frame'
import { useWithSession } from './useSession'

interface ChatRequestDraft {
  message: string
  history: HistoryItem[]
}

export type ChatStatus =
  /** Nothing in flight. */
  | { kind: 'idle' }
  /** Waiting for the answer (`text` is '' until the first piece) or receiving it. */
  | { kind: 'sending'; request: ChatRequestDraft; text: string }
  /** Failed; `partialId` names the incomplete answer kept in the conversation, if any text arrived. */
  | { kind: 'failed'; request: ChatRequestDraft; error: ApiError; partialId?: string }

export interface Chat {
  messages: ChatMessage[]
  status: ChatStatus
  /** Sends a question; false (and nothing sent) when it is empty or a request is in flight. */
  send: (text: string) => boolean
  /** Resends the question that failed, with the history it had, replacing a partial answer. */
  retry: () => void
  /** Stops the answer being received; what arrived is kept, marked as stopped. */
  stop: () => void
  /** Forgets the conversation and drops any request in flight. */
  clear: () => void
}

export function useChat(language: Language): Chat {
  const [messages, setMessages] = useState<ChatMessage[]>(loadConversation)
  const [status, setStatus] = useState<ChatStatus>({ kind: 'idle' })
  const inFlight = useRef<AbortController | null>(null)
  /** The request the user stopped (as opposed to one dropped by clear or unmount). */
  const stopping = useRef<AbortController | null>(null)
  const withSession = useWithSession()

  useEffect(() => {
    saveConversation(messages)
  }, [messages])

  useEffect(() => {
    return () => inFlight.current?.abort()
  }, [])

  async function run(request: ChatRequestDraft) {
    inFlight.current?.abort()
    const controller = new AbortController()
    inFlight.current = controller
    let text = ''
    const render = frameScheduler(() => {
      if (!controller.signal.aborted) setStatus({ kind: 'sending', request, text })
    })
    setStatus({ kind: 'sending', request, text })
    const keep = (incomplete?: ChatMessage['incomplete']): string | undefined => {
      if (incomplete !== undefined && text === '') return undefined
      const id = newMessageId()
      const answer: ChatMessage = { id, role: 'model', text, ...(incomplete ? { incomplete } : {}) }
      setMessages((current) => [...current, answer])
      return id
    }
    try {
      await withSession(() =>
        chatStream(
          { ...request, language },
          {
            onOpen: () => {
              text = ''
            },
            onDelta: (piece) => {
              text += piece
              render.schedule()
            },
          },
          { signal: controller.signal },
        ),
      )
      render.cancel()
      if (controller.signal.aborted) return
      keep()
      setStatus({ kind: 'idle' })
    } catch (error) {
      render.cancel()
      if (controller.signal.aborted) {
        if (stopping.current === controller) {
          keep('stopped')
          setStatus({ kind: 'idle' })
        }
        return
      }
      const partialId = keep('failed')
      setStatus({ kind: 'failed', request, error: asApiError(error), ...(partialId ? { partialId } : {}) })
    } finally {
      if (inFlight.current === controller) inFlight.current = null
      if (stopping.current === controller) stopping.current = null
    }
  }

  function send(text: string): boolean {
    const message = text.trim()
    if (message === '' || status.kind === 'sending') return false
    const history = trimHistory(messages)
    setMessages((current) => [...current, { id: newMessageId(), role: 'user', text: message }])
    void run({ message, history })
    return true
  }

  function retry() {
    if (status.kind !== 'failed') return
    const { partialId } = status
    if (partialId !== undefined) setMessages((current) => current.filter((message) => message.id !== partialId))
    void run(status.request)
  }

  function stop() {
    const controller = inFlight.current
    if (!controller) return
    stopping.current = controller
    controller.abort()
  }

  function clear() {
    inFlight.current?.abort()
    inFlight.current = null
    setMessages([])
    setStatus({ kind: 'idle' })
  }

  return { messages, status, send, retry, stop, clear }
}
