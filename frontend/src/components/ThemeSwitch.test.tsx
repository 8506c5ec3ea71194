import { screen } from '@testing-library/react'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { THEME_STORAGE_KEY } from '../lib/theme'
import { renderWithI18n } from '../test/render'
import { ThemeSwitch } from './ThemeSwitch'

/** A stand-in for the system's colour preference (jsdom has no matchMedia). */
function systemPrefers(light: boolean) {
  const listeners = new Set<() => void>()
  const query = {
    matches: light,
    addEventListener: (_: string, listener: () => void) => listeners.add(listener),
    removeEventListener: (_: string, listener: () => void) => listeners.delete(listener),
  }
  vi.stubGlobal('matchMedia', () => query)
  return {
    change(next: boolean) {
      query.matches = next
      listeners.forEach((listener) => listener())
    },
  }
}

afterEach(() => {
  vi.unstubAllGlobals()
  delete document.documentElement.dataset.theme
})

describe('ThemeSwitch', () => {
  it('follows the system until a choice is made, then keeps the choice on the device', async () => {
    const system = systemPrefers(true)
    const { user, unmount } = renderWithI18n(<ThemeSwitch />)
    const button = screen.getByRole('button', { name: 'Светлая тема' })
    expect(button).toHaveAttribute('aria-pressed', 'true')
    expect(document.documentElement.dataset.theme).toBe('light')

    // No choice yet: the theme changes with the system.
    await vi.waitFor(() => {
      system.change(false)
      expect(document.documentElement.dataset.theme).toBe('dark')
    })
    expect(button).toHaveAttribute('aria-pressed', 'false')

    await user.click(button)
    expect(document.documentElement.dataset.theme).toBe('light')
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBe('light')
    unmount()

    // The choice wins over the system from now on.
    renderWithI18n(<ThemeSwitch />)
    expect(screen.getByRole('button', { name: 'Светлая тема' })).toHaveAttribute('aria-pressed', 'true')
    system.change(false)
    expect(document.documentElement.dataset.theme).toBe('light')
  })

  it('is dark where the system says nothing', () => {
    renderWithI18n(<ThemeSwitch />)
    expect(screen.getByRole('button', { name: 'Светлая тема' })).toHaveAttribute('aria-pressed', 'false')
    expect(document.documentElement.dataset.theme).toBe('dark')
  })
})
