import { describe, expect, it } from 'vitest'
import {
  CHAT_STORAGE_KEY,
  historyFor,
  type ChatMessage,
  loadConversation,
  saveConversation,
  trimHistory,
} from './conversation'

function turns(count: number, size = 10): ChatMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    id: String(i),
    role: i % 2 === 0 ? 'user' : 'model',
    text: `${String(i).padStart(3, '0')}${'x'.repeat(Math.max(0, size - 3))}`,
  }))
}

describe('trimHistory', () => {
  it('sends only role and text, oldest first', () => {
    expect(trimHistory(turns(2))).toEqual([
      { role: 'user', text: '000xxxxxxx' },
      { role: 'model', text: '001xxxxxxx' },
    ])
  })

  it('keeps the newest turns up to the turn limit', () => {
    const history = trimHistory(turns(32), { maxTurns: 20, maxChars: 1_000_000 })

    expect(history).toHaveLength(20)
    expect(history[0]?.text.startsWith('012')).toBe(true)
    expect(history.at(-1)?.text.startsWith('031')).toBe(true)
  })

  it('keeps the newest turns that fit the character budget', () => {
    const history = trimHistory(turns(10, 1000), { maxTurns: 20, maxChars: 4500 })

    expect(history.map((item) => item.text.slice(0, 3))).toEqual(['006', '007', '008', '009'])
    expect(history.reduce((sum, item) => sum + item.text.length, 0)).toBeLessThanOrEqual(4500)
  })

  it('drops leading model turns so the history starts with a question', () => {
    const history = trimHistory(turns(30), { maxTurns: 5, maxChars: 1_000_000 })

    expect(history[0]?.role).toBe('user')
    expect(history).toHaveLength(4)
  })

  it('skips empty turns', () => {
    const messages: ChatMessage[] = [
      { id: 'a', role: 'user', text: 'Вопрос' },
      { id: 'b', role: 'model', text: '   ' },
    ]
    expect(trimHistory(messages)).toEqual([{ role: 'user', text: 'Вопрос' }])
  })
})

describe('conversation storage', () => {
  it('round-trips messages through localStorage', () => {
    const messages = turns(3)
    saveConversation(messages)
    expect(loadConversation()).toEqual(messages)
  })

  it('removes the entry when the conversation is empty', () => {
    saveConversation(turns(2))
    saveConversation([])
    expect(localStorage.getItem(CHAT_STORAGE_KEY)).toBeNull()
  })

  it('ignores malformed stored data', () => {
    localStorage.setItem(CHAT_STORAGE_KEY, '{not json')
    expect(loadConversation()).toEqual([])

    localStorage.setItem(
      CHAT_STORAGE_KEY,
      JSON.stringify({ messages: [{ id: '1', role: 'user', text: 'ok' }, { id: '2', role: 'system', text: 'no' }, 5] }),
    )
    expect(loadConversation()).toEqual([{ id: '1', role: 'user', text: 'ok' }])
  })
})

describe('historyFor', () => {
  const turns = { intro: 'Analysis of my weld:', ack: 'Got it.' }
  const card: ChatMessage = {
    id: 'c',
    role: 'user',
    text: 'REPORT',
    analysis: { date: '2026-12-01T10:00:00.000Z', note: '', thumbnail: null, photoCount: 1 },
  }

  it('starts with the report of the latest analysis and an acknowledgement, then the turns after it', () => {
    const messages: ChatMessage[] = [
      { id: '1', role: 'user', text: 'earlier question' },
      { id: '2', role: 'model', text: 'earlier answer' },
      card,
      { id: '3', role: 'user', text: 'why pores?' },
      { id: '4', role: 'model', text: 'gas flow' },
    ]
    expect(historyFor(messages, turns)).toEqual([
      { role: 'user', text: 'Analysis of my weld:\n\nREPORT' },
      { role: 'model', text: 'Got it.' },
      { role: 'user', text: 'why pores?' },
      { role: 'model', text: 'gas flow' },
    ])
  })

  it('keeps the report when the conversation after it outgrows the limits', () => {
    const many: ChatMessage[] = Array.from({ length: 30 }, (_, i) => ({
      id: String(i),
      role: i % 2 === 0 ? 'user' : 'model',
      text: `turn ${i}`,
    }))
    const history = historyFor([card, ...many], turns, { maxTurns: 6, maxChars: 10_000 })
    expect(history).toHaveLength(6)
    expect(history[0]?.text).toContain('REPORT')
    expect(history.at(-1)?.text).toBe('turn 29')
    expect(history[2]?.role).toBe('user')
  })

  it('is trimHistory without an analysis', () => {
    const messages: ChatMessage[] = [
      { id: '1', role: 'model', text: 'hello' },
      { id: '2', role: 'user', text: 'q' },
    ]
    expect(historyFor(messages, turns)).toEqual(trimHistory(messages))
  })
})
