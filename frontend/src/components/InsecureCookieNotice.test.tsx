// @vitest-environment-options {"url": "http://192.168.1.20:8080/"}
// The page as a phone on the LAN opens it: plain HTTP at the server's LAN address,
// where browsers drop the `Secure` session cookie.
import { screen } from '@testing-library/react'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../api/client'
import { renderWithI18n } from '../test/render'
import { ErrorNotice } from './ErrorNotice'
import { cookieDroppedOverHttp } from './InsecureCookieNotice'

const sessionRequired = new ApiError({ status: 401, code: 'session_required', message: 'A session is required.' })

describe('a session that cannot start over plain HTTP', () => {
  it('is explained with the fix instead of "reload the page"', () => {
    expect(window.location.hostname).toBe('192.168.1.20')
    renderWithI18n(<ErrorNotice error={sessionRequired} />)
    const alert = screen.getByRole('alert')
    expect(alert).toHaveTextContent('Браузер не сохраняет cookie сессии по незащищённому HTTP')
    expect(alert).toHaveTextContent('HTTPS')
    expect(alert).toHaveTextContent('WELD_COOKIE_SECURE=false')
    expect(alert).not.toHaveTextContent('Обновите страницу')
  })

  it('leaves other errors as they are', () => {
    const limited = new ApiError({ status: 429, code: 'rate_limited', message: 'Slow down.' })
    renderWithI18n(<ErrorNotice error={limited} />)
    expect(screen.getByRole('alert')).not.toHaveTextContent('WELD_COOKIE_SECURE')
  })

  it('is diagnosed only for plain HTTP at another machine', () => {
    const at = (protocol: string, hostname: string) => cookieDroppedOverHttp({ protocol, hostname })
    expect(at('http:', '192.168.1.20')).toBe(true)
    expect(at('http:', 'weld.example')).toBe(true)
    expect(at('http:', '[fe80::1]')).toBe(true)
    expect(at('https:', '192.168.1.20')).toBe(false)
    for (const local of ['localhost', 'LOCALHOST', 'app.localhost', '127.0.0.1', '127.3.2.1', '[::1]']) {
      expect(at('http:', local), local).toBe(false)
    }
  })
})
