// Renders UI the way main.tsx does (inside the I18nProvider) with a user-event session.
import { render } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import type { ReactElement } from 'react'
import { I18nProvider } from '../i18n/I18nProvider'

export function renderWithI18n(ui: ReactElement) {
  const user = userEvent.setup()
  const result = render(<I18nProvider>{ui}</I18nProvider>)
  return { user, ...result }
}

/** A promise with its resolve function, to hold a mocked response until the test says so. */
export function deferred() {
  let resolve: () => void = () => undefined
  const promise = new Promise<void>((done) => {
    resolve = done
  })
  return { promise, resolve }
}

/**
 * How long to wait for text rendered as Markdown: the renderer is a lazy chunk, and
 * its first import can take seconds on a busy machine.
 */
export const MARKDOWN_WAIT = { timeout: 8000 }
