// A finished analysis as the analyzer shows and prints it: title, date, note,
// photo thumbnails, the Markdown report, and what can be done with it (copy,
// download, print, ask the chat about it). Also the list of analyses kept on
// this device, each openable and deletable (named by date, verdict and note, shown
// without Markdown syntax).
import { MessageCircleQuestion, Printer, Trash2 } from 'lucide-react'
import { useEffect, useId, useRef } from 'react'
import type { Language } from '../../api/types'
import { ReportActions } from '../../components/ReportActions'
import { RichText } from '../../components/RichText'
import { useI18n } from '../../hooks/useI18n'
import { formatDateTime, type Translate } from '../../i18n/translate'
import { analysisFileName, analysisMarkdown, findVerdict, reportSummary } from '../../lib/report'
import { MAX_SAVED_ANALYSES, type SavedAnalysis } from './saved'

/** The analysis as one Markdown document, in the UI language. */
export function analysisDocument(analysis: SavedAnalysis, t: Translate, language: Language): string {
  return analysisMarkdown({
    title: t('report.title'),
    when: formatDateTime(language, analysis.date),
    photos: t('report.photos', { n: analysis.photoCount }),
    ...(analysis.note ? { note: t('report.note', { note: analysis.note }) } : {}),
    report: analysis.report,
  })
}

/**
 * "Ask about this analysis": the app shell brings the analysis into the chat and
 * opens the chat (the analysis feature knows nothing of the chat).
 */
export type AskAbout = (analysis: SavedAnalysis) => void

export function VerdictBadge({ report }: { report: string }) {
  const { t } = useI18n()
  const verdict = findVerdict(report)
  if (!verdict?.kind) return null
  return <span className={`verdict verdict-${verdict.kind}`}>{t(`verdict.${verdict.kind}`)}</span>
}

export function Thumbnails({ urls, className = '' }: { urls: readonly string[]; className?: string }) {
  const { t } = useI18n()
  if (urls.length === 0) return null
  return (
    <ul className={`result-photos ${className}`.trim()}>
      {urls.map((url, index) => (
        <li key={index}>
          <img src={url} alt={`${t('saved.thumbAlt')} ${index + 1}`} />
        </li>
      ))}
    </ul>
  )
}

/** Copy, download, print and "ask about this analysis" for a finished analysis. */
export function AnalysisActions({ analysis, onAsk }: { analysis: SavedAnalysis; onAsk: AskAbout }) {
  const { t, language } = useI18n()
  return (
    <ReportActions
      label={t('report.actionsLabel')}
      markdown={() => analysisDocument(analysis, t, language)}
      filename={() => analysisFileName(new Date(analysis.date), analysis.report)}
    >
      <button type="button" className="button button-ghost" onClick={() => window.print()}>
        <Printer aria-hidden="true" size={18} />
        {t('report.print')}
      </button>
      <button type="button" className="button button-primary ask-button" onClick={() => onAsk(analysis)}>
        <MessageCircleQuestion aria-hidden="true" size={18} />
        {t('report.ask')}
      </button>
    </ReportActions>
  )
}

interface OpenedAnalysisProps {
  analysis: SavedAnalysis
  onAsk: AskAbout
  onClose: () => void
}

/** A saved analysis, opened from the list: its heading takes focus and is scrolled into view. */
export function OpenedAnalysis({ analysis, onAsk, onClose }: OpenedAnalysisProps) {
  const { t, language } = useI18n()
  const titleId = useId()
  const heading = useRef<HTMLHeadingElement>(null)

  useEffect(() => {
    heading.current?.focus({ preventScroll: true })
    heading.current?.scrollIntoView({ block: 'start' })
  }, [analysis.id])

  return (
    <section className="result" aria-labelledby={titleId}>
      <h3 id={titleId} ref={heading} tabIndex={-1}>
        {t('saved.openedTitle', { date: formatDateTime(language, analysis.date) })}
      </h3>
      <VerdictBadge report={analysis.report} />
      {analysis.note && <p className="result-note">{analysis.note}</p>}
      <Thumbnails urls={analysis.thumbnails} />
      <RichText text={analysis.report} headingLevel={4} />
      <AnalysisActions analysis={analysis} onAsk={onAsk} />
      <button type="button" className="button button-secondary close-opened" onClick={onClose}>
        {t('saved.close')}
      </button>
    </section>
  )
}

interface SavedListProps {
  list: readonly SavedAnalysis[]
  openedId: string | null
  onOpen: (analysis: SavedAnalysis) => void
  onDelete: (id: string) => void
}

/** The analyses kept on this device, newest first. */
export function SavedList({ list, openedId, onOpen, onDelete }: SavedListProps) {
  const { t, language } = useI18n()
  const titleId = useId()
  if (list.length === 0) return null
  return (
    <section className="saved-analyses" aria-labelledby={titleId}>
      <h3 id={titleId} tabIndex={-1}>
        {t('saved.title')}
      </h3>
      <p className="muted small">{t('saved.hint', { max: MAX_SAVED_ANALYSES })}</p>
      <ul>
        {list.map((analysis) => {
          const date = formatDateTime(language, analysis.date)
          const verdict = findVerdict(analysis.report)
          return (
            <li key={analysis.id} className={analysis.id === openedId ? 'is-open' : undefined}>
              {/* Named by what it shows (date, verdict, note or summary), after a hidden "Open the analysis of". */}
              <button type="button" className="saved-open" data-saved-id={analysis.id} onClick={() => onOpen(analysis)}>
                {analysis.thumbnails[0] ? (
                  <img src={analysis.thumbnails[0]} alt="" />
                ) : (
                  <span className="saved-no-photo" aria-hidden="true" />
                )}
                <span className="saved-text">
                  <span className="visually-hidden">{t('saved.open')}</span>{' '}
                  <span className="saved-date">{date}</span>
                  <span className="visually-hidden">.</span>{' '}
                  <span className="saved-line">
                    {verdict?.kind ? (
                      <span className={`verdict verdict-${verdict.kind}`}>{t(`verdict.${verdict.kind}`)}</span>
                    ) : null}
                    {verdict?.kind ? (
                      <>
                        <span className="visually-hidden">.</span>{' '}
                      </>
                    ) : null}
                    {analysis.note || verdict?.line || reportSummary(analysis.report)}
                  </span>
                </span>
              </button>
              <button
                type="button"
                className="button button-ghost saved-delete"
                aria-label={t('saved.delete', { date })}
                title={t('saved.delete', { date })}
                onClick={() => onDelete(analysis.id)}
              >
                <Trash2 aria-hidden="true" size={18} />
              </button>
            </li>
          )
        })}
      </ul>
    </section>
  )
}
