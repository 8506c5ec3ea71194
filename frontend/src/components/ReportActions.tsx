// Copy as Markdown and download as `.md`, under a chat answer or an analysis,
// plus any view-specific buttons (print, ask about it) passed as children.
// Hidden when printing.
import { Check, Copy, Download } from 'lucide-react'
import { type ReactNode, useEffect, useState } from 'react'
import { useI18n } from '../hooks/useI18n'
import { copyText, downloadMarkdown } from '../lib/share'

interface ReportActionsProps {
  /** The Markdown to copy or download, made when it is needed. */
  markdown: () => string
  /** The name of the downloaded file. */
  filename: () => string
  label: string
  children?: ReactNode
}

/** How long "Copied" stays on the button. */
const COPIED_FOR_MS = 2000

export function ReportActions({ markdown, filename, label, children }: ReportActionsProps) {
  const { t } = useI18n()
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null)

  useEffect(() => {
    if (copied === null) return
    const timer = window.setTimeout(() => setCopied(null), COPIED_FOR_MS)
    return () => window.clearTimeout(timer)
  }, [copied])

  async function onCopy() {
    setCopied((await copyText(markdown())) ? 'yes' : 'failed')
  }

  return (
    <div className="report-actions" role="group" aria-label={label}>
      <button type="button" className="button button-ghost" onClick={() => void onCopy()}>
        {copied === 'yes' ? <Check aria-hidden="true" size={18} /> : <Copy aria-hidden="true" size={18} />}
        <span aria-live="polite">
          {copied === 'yes' ? t('report.copied') : copied === 'failed' ? t('report.copyFailed') : t('report.copy')}
        </span>
      </button>
      <button type="button" className="button button-ghost" onClick={() => downloadMarkdown(filename(), markdown())}>
        <Download aria-hidden="true" size={18} />
        {t('report.download')}
      </button>
      {children}
    </div>
  )
}
