// The chat conversation as the browser keeps it: its messages, how they are
// remembered in localStorage, and which of them are sent back as history. An
// analysis the user asks about joins the conversation as a message of its own
// (shown as a card); from there on, history starts with its report.
import type { HistoryItem } from '../../api/types'
import { newId } from '../../lib/id'

/** Why an answer is only partly there: the user stopped it, or the stream broke off. */
export type Incomplete = 'stopped' | 'failed'

export interface ChatMessage {
  id: string
  role: HistoryItem['role']
  text: string
  /** Set on a model answer that did not arrive in full (kept, and sent as history, as it is). */
  incomplete?: Incomplete
  /** Set on the (user) message that brings an analysis into the chat; `text` is its report. */
  analysis?: AnalysisContext
  /** Set on a question asked by voice; `text` is its transcript (a placeholder until it arrives). */
  voice?: boolean
}

/** What the chat keeps of an analysis it is about: enough for its card. */
export interface AnalysisContext {
  /** When the analysis finished, ISO 8601. */
  date: string
  note: string
  /** The first photo's small JPEG data: URL, if there is one. */
  thumbnail: string | null
  photoCount: number
}

/**
 * An analysis as the chat takes it in. The analyzer's saved analyses have this
 * shape; it is declared here so that the chat feature does not import the analysis
 * feature (the app shell hands one to the other, see app/App.tsx).
 */
export interface AnalysisToAttach {
  /** When the analysis finished, ISO 8601. */
  date: string
  report: string
  note: string
  /** Small JPEG `data:` URLs, one per photo, in order. */
  thumbnails: readonly string[]
  photoCount: number
}

/** The two turns that put an analysis in front of the conversation about it. */
export interface ContextTurns {
  /** Opens the user turn, before the report: "Analysis of my weld:". */
  intro: string
  /** The model's short acknowledgement after it. */
  ack: string
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

/**
 * The history to send: with an analysis in the conversation, a user turn with the
 * latest analysis's report and a model acknowledgement come first (the server drops
 * leading model turns, not this), then the newest turns after it that fit the rest
 * of the limits. Without one, the newest turns that fit, as `trimHistory`.
 */
export function historyFor(
  messages: readonly ChatMessage[],
  turns: ContextTurns,
  limits: HistoryLimits = HISTORY_LIMITS,
): HistoryItem[] {
  const at = messages.findLastIndex((message) => message.analysis !== undefined)
  const context = messages[at]
  if (at === -1 || !context) return trimHistory(messages, limits)
  const room = Math.max(0, limits.maxChars - turns.intro.length - turns.ack.length - 2)
  const report = context.text.slice(0, Math.floor(room / 2))
  const head: HistoryItem[] = [
    { role: 'user', text: `${turns.intro}\n\n${report}` },
    { role: 'model', text: turns.ack },
  ]
  const used = head.reduce((sum, item) => sum + item.text.length, 0)
  const rest = trimHistory(messages.slice(at + 1), {
    maxTurns: Math.max(0, limits.maxTurns - head.length),
    maxChars: Math.max(0, limits.maxChars - used),
  })
  return [...head, ...rest]
}

/** The message that brings `analysis` into the chat. */
export function analysisMessage(analysis: AnalysisToAttach): ChatMessage {
  return {
    id: newId(),
    role: 'user',
    text: analysis.report,
    analysis: {
      date: analysis.date,
      note: analysis.note,
      thumbnail: analysis.thumbnails[0] ?? null,
      photoCount: analysis.photoCount,
    },
  }
}

type AttachListener = (message: ChatMessage) => void
const attachListeners = new Set<AttachListener>()

/** Called with the message of every analysis attached while the chat is shown. */
export function onAnalysisAttached(listener: AttachListener): () => void {
  attachListeners.add(listener)
  return () => {
    attachListeners.delete(listener)
  }
}

/** Brings an analysis into the chat: to the chat on screen, or to the stored conversation. */
export function attachAnalysis(analysis: AnalysisToAttach, storage?: Storage): void {
  const message = analysisMessage(analysis)
  if (attachListeners.size === 0) {
    saveConversation([...loadConversation(storage), message], storage)
    return
  }
  for (const listener of attachListeners) listener(message)
}

export const CHAT_STORAGE_KEY = 'weld-assistant.chat.v1'
/** Older messages are forgotten so localStorage never fills up. */
const MAX_STORED_MESSAGES = 200

function isAnalysisContext(value: unknown): value is AnalysisContext {
  if (typeof value !== 'object' || value === null) return false
  const { date, note, thumbnail, photoCount } = value as Record<string, unknown>
  return (
    typeof date === 'string' &&
    typeof note === 'string' &&
    (thumbnail === null || (typeof thumbnail === 'string' && thumbnail.startsWith('data:image/'))) &&
    typeof photoCount === 'number'
  )
}

function isChatMessage(value: unknown): value is ChatMessage {
  if (typeof value !== 'object' || value === null) return false
  const { id, role, text, incomplete, analysis, voice } = value as Record<string, unknown>
  return (
    (voice === undefined || typeof voice === 'boolean') &&
    typeof id === 'string' &&
    (role === 'user' || role === 'model') &&
    typeof text === 'string' &&
    (incomplete === undefined || incomplete === 'stopped' || incomplete === 'failed') &&
    (analysis === undefined || isAnalysisContext(analysis))
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
