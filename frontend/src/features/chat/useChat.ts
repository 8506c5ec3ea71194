// Chat state: the conversation (remembered in localStorage), the answer being
// streamed in, and the last failure, which can be retried with the same message
// and history. The stream itself (stop, abort, retry) is useAnswerStream's; this
// hook keeps each answer in the conversation, and an analysis brought into the
// chat (conversation.ts). Talks to the server only through api/client.
import { useEffect, useEffectEvent, useRef, useState } from 'react'
import { type ApiError, chatStream, chatVoiceStream } from '../../api/client'
import type { HistoryItem, Language, Waiting } from '../../api/types'
import { type AnswerState, useAnswerStream } from '../../hooks/useAnswerStream'
import { translator } from '../../i18n/translate'
import { newId } from '../../lib/id'
import { type ChatMessage, historyFor, loadConversation, onAnalysisAttached, saveConversation } from './conversation'

/** A typed question, or a spoken one (its recording, and the id of its message, which gets the transcript). */
type ChatRequestDraft =
  | { message: string; history: HistoryItem[] }
  | { audio: { mimeType: string; data: string }; history: HistoryItem[]; messageId: string }

export type ChatStatus =
  /** Nothing in flight. */
  | { kind: 'idle' }
  /** Waiting for the answer (`text` is '' until the first piece) or receiving it. */
  | { kind: 'sending'; request: ChatRequestDraft; text: string }
  /** Failed; what arrived before is kept in the conversation, marked as incomplete. */
  | { kind: 'failed'; request: ChatRequestDraft; error: ApiError }

export interface Chat {
  messages: ChatMessage[]
  status: ChatStatus
  /** The question's place in the server's line while it waits for Gemini's quota; null otherwise. */
  queue: Waiting | null
  /** Sends a question; false (and nothing sent) when it is empty or a request is in flight. */
  send: (text: string) => boolean
  /**
   * Sends a spoken question (`data`: base64); false when a request is in flight.
   * Its message shows `placeholder` until the transcript arrives.
   */
  sendVoice: (audio: { mimeType: string; data: string }, placeholder: string) => boolean
  /** Resends the question that failed, with the history it had, replacing a partial answer. */
  retry: () => void
  /** Stops the answer being received; what arrived is kept, marked as stopped. */
  stop: () => void
  /** Forgets the conversation and drops any request in flight. */
  clear: () => void
}

export function useChat(language: Language): Chat {
  const [messages, setMessages] = useState<ChatMessage[]>(loadConversation)
  /** The incomplete answer kept in the conversation after the last failure, if any text arrived. */
  const partialId = useRef<string | undefined>(undefined)
  const stream = useAnswerStream<ChatRequestDraft>(
    (request, handlers, options) => {
      if (!('audio' in request)) return chatStream({ ...request, language }, handlers, options)
      const { audio, history, messageId } = request
      const name = (text: string) =>
        setMessages((current) => current.map((message) => (message.id === messageId ? { ...message, text } : message)))
      let heard = false
      const onTranscript = (transcript: string) => {
        if (transcript.trim() === '') return
        heard = true
        name(transcript.trim())
      }
      return chatVoiceStream({ audio, history, language }, { ...handlers, onTranscript }, options).then((done) => {
        // Gemini answered without saying what it heard: the question stays "by voice", no longer pending.
        if (!heard) name(translator(language)('voice.unheard'))
        return done
      })
    },
    (end) => {
      // The answer joins the conversation; an incomplete one only when some text arrived.
      if (end.kind !== 'done' && end.text === '') {
        if (end.kind === 'failed') partialId.current = undefined
        return
      }
      const id = newId()
      const incomplete = end.kind === 'done' ? {} : { incomplete: end.kind }
      const answer: ChatMessage = { id, role: 'model', text: end.text, ...incomplete }
      setMessages((current) => [...current, answer])
      if (end.kind === 'failed') partialId.current = id
    },
  )

  useEffect(() => {
    saveConversation(messages)
  }, [messages])

  // An analysis the user wants to ask about joins the conversation; an answer in
  // flight (about something else) is dropped.
  const onAttach = useEffectEvent((message: ChatMessage) => {
    stream.cancel()
    partialId.current = undefined
    setMessages((current) => [...current, message])
  })
  useEffect(() => onAnalysisAttached((message) => onAttach(message)), [])

  function send(text: string): boolean {
    const message = text.trim()
    if (message === '' || stream.busy) return false
    const t = translator(language)
    const history = historyFor(messages, { intro: t('chat.contextIntro'), ack: t('chat.contextAck') })
    setMessages((current) => [...current, { id: newId(), role: 'user', text: message }])
    stream.start({ message, history })
    return true
  }

  function sendVoice(audio: { mimeType: string; data: string }, placeholder: string): boolean {
    if (stream.busy) return false
    const t = translator(language)
    const history = historyFor(messages, { intro: t('chat.contextIntro'), ack: t('chat.contextAck') })
    const messageId = newId()
    setMessages((current) => [...current, { id: messageId, role: 'user', text: placeholder, voice: true }])
    stream.start({ audio, history, messageId })
    return true
  }

  function retry() {
    if (stream.state.kind !== 'failed') return
    const partial = partialId.current
    partialId.current = undefined
    if (partial !== undefined) setMessages((current) => current.filter((message) => message.id !== partial))
    stream.retry()
  }

  function clear() {
    stream.cancel()
    partialId.current = undefined
    setMessages([])
  }

  return {
    messages,
    status: chatStatus(stream.state),
    queue: stream.queue,
    send,
    sendVoice,
    retry,
    stop: stream.stop,
    clear,
  }
}

/** The chat's view of the stream: a finished or stopped answer is already in the conversation. */
function chatStatus(state: AnswerState<ChatRequestDraft>): ChatStatus {
  switch (state.kind) {
    case 'waiting':
      return { kind: 'sending', request: state.request, text: '' }
    case 'streaming':
      return { kind: 'sending', request: state.request, text: state.text }
    case 'failed':
      return { kind: 'failed', request: state.request, error: state.error }
    default:
      return { kind: 'idle' }
  }
}
