import { act, screen } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { renderWithI18n } from '../test/render'
import { OfflineBanner } from './OfflineBanner'

function goOffline(offline: boolean) {
  vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(!offline)
  act(() => {
    window.dispatchEvent(new Event(offline ? 'offline' : 'online'))
  })
}

describe('the offline banner', () => {
  it('appears when the browser goes offline and leaves when it is back', () => {
    renderWithI18n(<OfflineBanner />)
    expect(screen.queryByRole('status')).not.toBeInTheDocument()
    goOffline(true)
    const banner = screen.getByRole('status')
    expect(banner).toHaveTextContent('Нет соединения')
    expect(banner).toHaveTextContent('сохранённые чаты и анализы доступны, отправка снова заработает, когда связь вернётся')
    goOffline(false)
    expect(screen.queryByRole('status')).not.toBeInTheDocument()
  })

  it('is shown from the start when the page opens offline, in English too', () => {
    vi.spyOn(navigator, 'onLine', 'get').mockReturnValue(false)
    localStorage.setItem('weld-assistant.language', 'en')
    try {
      renderWithI18n(<OfflineBanner />)
      expect(screen.getByRole('status')).toHaveTextContent(
        'No connection — saved chats and analyses are here; sending works again once the connection is back.',
      )
    } finally {
      localStorage.removeItem('weld-assistant.language')
    }
  })
})
