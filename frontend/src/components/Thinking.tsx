// The "waiting for the model" indicator. The live region always exists, so
// screen readers announce the text when it appears.
import { LoaderCircle } from 'lucide-react'

export function Thinking({ active, label }: { active: boolean; label: string }) {
  return (
    <div className="thinking-region" role="status" aria-live="polite">
      {active && (
        <span className="thinking">
          <LoaderCircle className="spin" aria-hidden="true" size={20} />
          {label}
        </span>
      )}
    </div>
  )
}
