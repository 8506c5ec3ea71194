import { describe, expect, it } from 'vitest'
import {
  CHAT_STORAGE_KEY,
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
