// The "waiting for the model" indicator. The live region always exists, so
// screen readers announce the text when it appears. While the question waits in
// the server's line (`queue`), it shows the place and the expected wait instead;
// the live region then announces that text only when the place changes, not on
// every new estimate. When an answer has arrived, the same region says so once
// (`finished`), so a screen reader hears one short status instead of the whole answer.
import { LoaderCircle } from 'lucide-react'
import { useState } from 'react'
import type { Waiting } from '../api/types'
import { useI18n } from '../hooks/useI18n'
import { formatWaiting } from '../i18n/translate'

interface ThinkingProps {
  active: boolean
  label: string
  /** The place in the server's line, while the request waits there. */
  queue?: Waiting | null
  /** Said once when an answer has arrived: `key` names the answer, so each new one is said again. */
  finished?: { key: string; text: string } | null
}

/** The text of the wait as it was when the place (or the language) last changed. */
function useAnnouncement(text: string | null, key: string | null): string | null {
  const [announced, setAnnounced] = useState({ key, text })
  if (announced.key !== key) {
    // Adjusting state while rendering (react.dev: "storing information from previous renders").
    setAnnounced({ key, text })
    return text
  }
  return announced.text
}

export function Thinking({ active, label, queue = null, finished = null }: ThinkingProps) {
  const { language } = useI18n()
  const waiting = active && queue !== null
  const text = waiting ? formatWaiting(language, queue) : label
  const announcement = useAnnouncement(waiting ? text : null, waiting ? `${language}:${queue.place}` : null)
  return (
    <div className="thinking-region" role="status" aria-live="polite">
      {active && (
        <span className={waiting ? 'thinking thinking-queue' : 'thinking'} aria-hidden={waiting || undefined}>
          <LoaderCircle className="spin" aria-hidden="true" size={20} />
          {text}
        </span>
      )}
      {waiting && <span className="visually-hidden">{announcement}</span>}
      {!active && finished && (
        <span key={finished.key} className="visually-hidden">
          {finished.text}
        </span>
      )}
    </div>
  )
}
