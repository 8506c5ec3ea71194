// Chat state: the conversation (remembered in localStorage), the request in
// flight and the last failure, which can be retried with the same message and
// history. Talks to the server only through api/client.
import { useEffect, useRef, useState } from 'react'
import { type ApiError, asApiError, chat } from '../api/client'
import type { HistoryItem, Language } from '../api/types'
import {
  type ChatMessage,
  loadConversation,
  newMessageId,
  saveConversation,
  trimHistory,
} from '../chat/conversation'
import { useWithSession } from './useSession'

interface ChatRequestDraft {
  message: string
  history: HistoryItem[]
}

export type ChatStatus =
  | { kind: 'idle' }
  | { kind: 'sending'; request: ChatRequestDraft }
  | { kind: 'failed'; request: ChatRequestDraft; error: ApiError }

export interface Chat {
  messages: ChatMessage[]
  status: ChatStatus
  /** Sends a question; false (and nothing sent) when it is empty or a request is in flight. */
  send: (text: string) => boolean
  /** Resends the question that failed, with the history it had. */
  retry: () => void
  /** Forgets the conversation and drops any request in flight. */
  clear: () => void
}

export function useChat(language: Language): Chat {
  const [messages, setMessages] = useState<ChatMessage[]>(loadConversation)
  const [status, setStatus] = useState<ChatStatus>({ kind: 'idle' })
  const inFlight = useRef<AbortController | null>(null)
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
    setStatus({ kind: 'sending', request })
    try {
      const reply = await withSession(() => chat({ ...request, language }, { signal: controller.signal }))
      if (controller.signal.aborted) return
      setMessages((current) => [...current, { id: newMessageId(), role: 'model', text: reply.text }])
      setStatus({ kind: 'idle' })
    } catch (error) {
      if (controller.signal.aborted) return
      setStatus({ kind: 'failed', request, error: asApiError(error) })
    } finally {
      if (inFlight.current === controller) inFlight.current = null
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
    if (status.kind === 'failed') void run(status.request)
  }

  function clear() {
    inFlight.current?.abort()
    inFlight.current = null
    setMessages([])
    setStatus({ kind: 'idle' })
  }

  return { messages, status, send, retry, clear }
}
