// The chat conversation as the browser keeps it: its messages, how they are
// remembered in localStorage, and which of them are sent back as history.
import type { HistoryItem } from '../api/types'

/** Why an answer is only partly there: the user stopped it, or the stream broke off. */
export type Incomplete = 'stopped' | 'failed'

export interface ChatMessage {
  id: string
  role: HistoryItem['role']
  text: string
  /** Set on a model answer that did not arrive in full (kept, and sent as history, as it is). */
  incomplete?: Incomplete
}

export interface HistoryLimits {
  maxTurns: number
  maxChars: number
}

/** Well inside the server's limits, and small enough for a throttled uplink. */
export const HISTORY_LIMITS: HistoryLimits = { maxTurns: 20, maxChars: 24_000 }

/**
 * The newest turns that fit both limits, oldest first. Leading model turns are
 * dropped (the server drops them anyway), so history starts with a question.
 */
export function trimHistory(messages: readonly ChatMessage[], limits: HistoryLimits = HISTORY_LIMITS): HistoryItem[] {
  const kept: HistoryItem[] = []
  let chars = 0
  for (let i = messages.length - 1; i >= 0 && kept.length < limits.maxTurns; i--) {
    const message = messages[i]
    if (!message || message.text.trim() === '') continue
    if (chars + message.text.length > limits.maxChars) break
    chars += message.text.length
    kept.push({ role: message.role, text: message.text })
  }
  kept.reverse()
  while (kept[0]?.role === 'model') kept.shift()
  return kept
}

export const CHAT_STORAGE_KEY = 'weld-assistant.chat.v1'
/** Older messages are forgotten so localStorage never fills up. */
const MAX_STORED_MESSAGES = 200

function isChatMessage(value: unknown): value is ChatMessage {
  if (typeof value !== 'object' || value === null) return false
  const { id, role, text, incomplete } = value as Record<string, unknown>
  return (
    typeof id === 'string' &&
    (role === 'user' || role === 'model') &&
    typeof text === 'string' &&
    (incomplete === undefined || incomplete === 'stopped' || incomplete === 'failed')
  )
}

export function loadConversation(storage?: Storage): ChatMessage[] {
  try {
    // Reading `localStorage` itself throws where site data is blocked.
    const raw = (storage ?? localStorage).getItem(CHAT_STORAGE_KEY)
    if (!raw) return []
    const parsed: unknown = JSON.parse(raw)
    const messages = (parsed as { messages?: unknown } | null)?.messages
    return Array.isArray(messages) ? messages.filter(isChatMessage) : []
  } catch {
    return []
  }
}

export function saveConversation(messages: readonly ChatMessage[], storage?: Storage): void {
  try {
    const target = storage ?? localStorage
    if (messages.length === 0) {
      target.removeItem(CHAT_STORAGE_KEY)
      return
    }
    target.setItem(CHAT_STORAGE_KEY, JSON.stringify({ messages: messages.slice(-MAX_STORED_MESSAGES) }))
  } catch {
    // Private mode or a full storage: the chat just is not remembered.
  }
}

let counter = 0
/** Unique enough for React keys; crypto.randomUUID is missing on plain-HTTP pages. */
export function newMessageId(): string {
  counter += 1
  return `${Date.now().toString(36)}-${counter.toString(36)}`
}
