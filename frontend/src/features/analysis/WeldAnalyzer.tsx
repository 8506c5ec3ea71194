// The weld-analysis view: choose 1 to 4 photos of one weld (file picker, camera,
// drag-and-drop or paste), see them as thumbnails with their before/after size,
// remove or add more, add a note, get a Markdown report that grows as it streams
// in (with Stop, and Retry when it breaks off). A finished report can be copied,
// downloaded, printed or asked about in the chat, and is kept on the device with
// the last 20, listed below. Loaded lazily: the first paint of the chat does not need it.
// While the photos upload it shows how much has gone and the time left; a lighter
// upload (smaller photos) can be chosen, and is chosen by itself on a slow link.
// When a control that had focus goes away, focus goes where the work continues
// (Stop, the report's heading, the next photo or saved analysis, the photo picker).
import { Camera, Check, ImagePlus, RotateCcw, ScanSearch, Square, X } from 'lucide-react'
import {
  type ChangeEvent,
  type DragEvent,
  type SubmitEvent,
  useEffect,
  useEffectEvent,
  useId,
  useRef,
  useState,
} from 'react'
import { ErrorNotice } from '../../components/ErrorNotice'
import { RichText } from '../../components/RichText'
import { Thinking } from '../../components/Thinking'
import { useI18n } from '../../hooks/useI18n'
import { formatBytes, formatDateTime, formatDuration } from '../../i18n/translate'
import { findVerdict } from '../../lib/report'
import { AnalysisActions, type AskAbout, OpenedAnalysis, SavedList, Thumbnails } from './AnalysisReport'
import { LIGHT_MAX_SIDE } from './lightUpload'
import type { SavedAnalysis } from './saved'
import { MAX_PHOTOS, type Photo, useAnalyzer } from './useAnalyzer'
import { useSavedAnalyses } from './useSavedAnalyses'

const NOTE_MAX_LENGTH = 1000

function hasFiles(event: DragEvent): boolean {
  return Array.from(event.dataTransfer.types).includes('Files')
}

function PhotoTile({ photo, index, onRemove }: { photo: Photo; index: number; onRemove?: () => void }) {
  const { t, language } = useI18n()
  const [broken, setBroken] = useState(false)
  const { prepared } = photo
  const size = prepared.reencoded
    ? t('analyze.sizes', {
        before: formatBytes(t, language, prepared.originalBytes),
        after: formatBytes(t, language, prepared.preparedBytes),
      })
    : t('analyze.sentAsIs', { size: formatBytes(t, language, prepared.originalBytes) })
  return (
    <li className="photo-tile">
      <figure className="preview">
        {photo.previewUrl && !broken ? (
          <img src={photo.previewUrl} alt={t('analyze.photoAlt', { n: index + 1 })} onError={() => setBroken(true)} />
        ) : (
          <span className="photo-missing" role="img" aria-label={t('analyze.photoAlt', { n: index + 1 })} />
        )}
        <figcaption className="muted small">
          <span className="file-name">{prepared.filename}</span> · {size}
        </figcaption>
      </figure>
      {onRemove && (
        <button
          type="button"
          className="photo-remove"
          aria-label={t('analyze.removePhoto', { n: index + 1 })}
          title={t('analyze.removePhoto', { n: index + 1 })}
          onClick={onRemove}
        >
          <X aria-hidden="true" size={18} />
        </button>
      )}
    </li>
  )
}

interface WeldAnalyzerProps {
  /** Whether the view is the one on screen (pasted or stray-dropped photos go to it only then). */
  active: boolean
  /** "Ask about this analysis"; the app shell brings it into the chat. */
  onAsk: AskAbout
}

export default function WeldAnalyzer({ active, onAsk }: WeldAnalyzerProps) {
  const { t, language } = useI18n()
  const saved = useSavedAnalyses()
  const analyzer = useAnalyzer(language, saved.add)
  const { photos, preparing, fileError, overLimit, note, phase, result, upload } = analyzer
  const [opened, setOpened] = useState<SavedAnalysis | null>(null)
  const fileInput = useRef<HTMLInputElement>(null)
  const cameraInput = useRef<HTMLInputElement>(null)
  const chooseButton = useRef<HTMLButtonElement>(null)
  const focusChooserAfterReset = useRef(false)
  const rootRef = useRef<HTMLDivElement>(null)
  const titleRef = useRef<HTMLHeadingElement>(null)
  const stopRef = useRef<HTMLButtonElement>(null)
  const submitRef = useRef<HTMLButtonElement>(null)
  const resultHeading = useRef<HTMLHeadingElement>(null)
  /** The control that last had focus in this view. */
  const lastFocused = useRef<Element | null>(null)
  /** Where focus goes when the control that had it has gone, for an action that knows better. */
  const focusNext = useRef<(() => HTMLElement | null | undefined) | null>(null)
  const [dragging, setDragging] = useState(false)
  const noteId = useId()
  const lightHintId = useId()
  const uploadTextId = useId()
  const resultTitleId = useId()
  const analyzing = phase.kind === 'analyzing'
  const done = phase.kind === 'done'
  const editable = !analyzing && !done
  const room = MAX_PHOTOS - photos.length - preparing
  /** The report so far: streaming, finished, stopped or broken off. */
  const report = phase.kind === 'idle' ? '' : phase.text
  const incomplete =
    phase.kind === 'failed' ? 'answer.incomplete' : phase.kind === 'done' && phase.stopped ? 'answer.stopped' : null

  /** "Analysis ready: Needs rework." — said once when a report is complete. */
  function readyText(text: string): string {
    const kind = findVerdict(text)?.kind
    return kind ? t('analyze.readyVerdict', { verdict: t(`verdict.${kind}`) }) : t('analyze.ready')
  }

  function takeFiles(files: readonly File[]) {
    if (files.length === 0 || analyzing) return
    setOpened(null)
    analyzer.addFiles(files)
  }

  const onPaste = useEffectEvent((event: ClipboardEvent) => {
    const images = Array.from(event.clipboardData?.files ?? []).filter((file) => file.type.startsWith('image/'))
    if (images.length === 0 || analyzing) return
    event.preventDefault()
    takeFiles(images)
  })

  // Photos dropped anywhere else on the page: take them instead of letting the
  // browser navigate away to the image file.
  const onStrayDrop = useEffectEvent((event: globalThis.DragEvent) => {
    if (event.defaultPrevented || !event.dataTransfer?.types.includes('Files')) return
    event.preventDefault()
    if (event.type === 'drop') takeFiles(Array.from(event.dataTransfer.files))
  })

  useEffect(() => {
    if (!active) return
    const paste = (event: ClipboardEvent) => onPaste(event)
    const drop = (event: globalThis.DragEvent) => onStrayDrop(event)
    document.addEventListener('paste', paste)
    document.addEventListener('dragover', drop)
    document.addEventListener('drop', drop)
    return () => {
      document.removeEventListener('paste', paste)
      document.removeEventListener('dragover', drop)
      document.removeEventListener('drop', drop)
    }
  }, [active])

  useEffect(() => {
    if (focusChooserAfterReset.current && photos.length === 0) {
      focusChooserAfterReset.current = false
      chooseButton.current?.focus()
    }
  })

  // After every render: if the focused control has just gone (and focus fell back
  // to the page), focus the place where the work continues.
  useEffect(() => {
    const previous = lastFocused.current
    const wanted = focusNext.current
    if (!active || previous === null || previous.isConnected) return
    const current = document.activeElement
    if (current !== null && current !== document.body) return
    focusNext.current = null
    const target =
      wanted?.() ??
      (analyzing ? stopRef.current : null) ??
      resultHeading.current ??
      chooseButton.current ??
      submitRef.current ??
      titleRef.current
    target?.focus()
  })

  function onInputChange(event: ChangeEvent<HTMLInputElement>) {
    const files = Array.from(event.target.files ?? [])
    // Cleared so that picking the same file again still fires `change`.
    event.target.value = ''
    takeFiles(files)
  }

  function onDragOver(event: DragEvent) {
    if (!hasFiles(event) || analyzing) return
    event.preventDefault()
    event.dataTransfer.dropEffect = 'copy'
    setDragging(true)
  }

  function onDrop(event: DragEvent) {
    setDragging(false)
    const files = Array.from(event.dataTransfer.files)
    if (files.length === 0 || analyzing) return
    event.preventDefault()
    takeFiles(files)
  }

  function onSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault()
    analyzer.submit()
  }

  function removePhoto(index: number, id: string) {
    focusNext.current = () => {
      const buttons = rootRef.current?.querySelectorAll<HTMLElement>('.photo-remove')
      return buttons?.[Math.min(index, buttons.length - 1)]
    }
    analyzer.removePhoto(id)
  }

  function onClose() {
    const id = opened?.id
    focusNext.current = () => rootRef.current?.querySelector<HTMLElement>(`[data-saved-id="${id ?? ''}"]`)
    setOpened(null)
  }

  function onReset() {
    analyzer.reset()
    setOpened(null)
    focusChooserAfterReset.current = true
  }

  function onDelete(id: string) {
    const index = saved.list.findIndex((item) => item.id === id)
    focusNext.current = () => {
      const root = rootRef.current
      const buttons = root?.querySelectorAll<HTMLElement>('.saved-open')
      if (buttons && buttons.length > 0) return buttons[Math.min(index, buttons.length - 1)]
      return null
    }
    saved.remove(id)
    if (opened?.id === id) setOpened(null)
  }

  const pickButtons = (
    <>
      <button
        ref={chooseButton}
        type="button"
        className="button button-primary"
        onClick={() => fileInput.current?.click()}
      >
        <ImagePlus aria-hidden="true" size={20} />
        {photos.length === 0 ? t('analyze.choose') : t('analyze.addMore')}
      </button>
      <button
        type="button"
        className="button button-secondary camera-button"
        onClick={() => cameraInput.current?.click()}
      >
        <Camera aria-hidden="true" size={20} />
        {t('analyze.camera')}
      </button>
    </>
  )

  return (
    <div
      ref={rootRef}
      className={`analyzer${dragging ? ' is-dragging' : ''}${opened ? ' has-opened' : ''}`}
      onFocus={(event) => {
        lastFocused.current = event.target
      }}
      onDragOver={onDragOver}
      onDragLeave={(event) => {
        if (!(event.relatedTarget instanceof Node && event.currentTarget.contains(event.relatedTarget))) {
          setDragging(false)
        }
      }}
      onDrop={onDrop}
    >
      <h2 className="view-title" ref={titleRef} tabIndex={-1}>
        {t('analyze.title')}
      </h2>

      <input
        ref={fileInput}
        type="file"
        accept="image/*"
        multiple
        hidden
        aria-label={t('analyze.choose')}
        onChange={onInputChange}
      />
      <input
        ref={cameraInput}
        type="file"
        accept="image/*"
        capture="environment"
        hidden
        aria-label={t('analyze.camera')}
        onChange={onInputChange}
      />

      {opened ? (
        <OpenedAnalysis key={opened.id} analysis={opened} onAsk={onAsk} onClose={onClose} />
      ) : (
        <>
          <p className="muted analyzer-intro">{t('analyze.intro', { max: MAX_PHOTOS })}</p>

          {photos.length === 0 && preparing === 0 && (
            <div className="dropzone">
              <div className="pick-buttons">{pickButtons}</div>
              <p className="muted drop-hint">{dragging ? t('analyze.dropActive') : t('analyze.dropHint')}</p>
            </div>
          )}

          {fileError && <ErrorNotice error={fileError} />}

          {(photos.length > 0 || preparing > 0) && (
            <section className="photos" aria-label={t('analyze.photosLabel', { count: photos.length, max: MAX_PHOTOS })}>
              <p className="muted small photos-count">
                {t('analyze.photosLabel', { count: photos.length, max: MAX_PHOTOS })}
              </p>
              <ul className="photo-grid">
                {photos.map((photo, index) => (
                  <PhotoTile
                    key={photo.id}
                    photo={photo}
                    index={index}
                    {...(editable ? { onRemove: () => removePhoto(index, photo.id) } : {})}
                  />
                ))}
              </ul>
              {editable && room > 0 && photos.length > 0 && (
                <div className="pick-buttons pick-more">{pickButtons}</div>
              )}
            </section>
          )}
          {overLimit && (
            <p className="limit-note" role="status">
              {t('analyze.limit', { max: MAX_PHOTOS })}
            </p>
          )}

          {editable && (
            <div className="upload-choice">
              <button
                type="button"
                className="light-toggle"
                aria-pressed={analyzer.light}
                aria-describedby={lightHintId}
                onClick={() => analyzer.setLight(!analyzer.light)}
              >
                <span className="light-toggle-box" aria-hidden="true">
                  {analyzer.light && <Check size={16} />}
                </span>
                {t('analyze.light', { px: LIGHT_MAX_SIDE })}
              </button>
              <p id={lightHintId} className="muted small">
                {analyzer.light ? t('analyze.lightOn', { px: LIGHT_MAX_SIDE }) : t('analyze.lightOff')}
                {analyzer.lightAuto ? ` ${t('analyze.lightAuto')}` : ''}
              </p>
            </div>
          )}

          {!done && (
            <form className="analyze-form" onSubmit={onSubmit}>
              <label htmlFor={noteId}>{t('analyze.noteLabel')}</label>
              <textarea
                id={noteId}
                rows={2}
                maxLength={NOTE_MAX_LENGTH}
                value={note}
                placeholder={t('analyze.notePlaceholder')}
                onChange={(event) => analyzer.setNote(event.target.value)}
              />
              <div className="form-actions">
                {/* Keyed apart: were React to turn this one button from Stop into
                    Analyze inside Stop's click, the click would submit the form. */}
                {analyzing ? (
                  <button key="stop" ref={stopRef} type="button" className="button button-secondary" onClick={analyzer.stop}>
                    <Square aria-hidden="true" size={18} fill="currentColor" />
                    {t('common.stop')}
                  </button>
                ) : (
                  <button
                    key="submit"
                    ref={submitRef}
                    type="submit"
                    className="button button-primary"
                    disabled={photos.length === 0 || preparing > 0}
                  >
                    <ScanSearch aria-hidden="true" size={20} />
                    {t('analyze.submit')}
                  </button>
                )}
              </div>
            </form>
          )}

          {upload && (
            <div className="upload-progress">
              <progress max={upload.total} value={upload.sent} aria-labelledby={uploadTextId} />
              <p id={uploadTextId} className="small">
                {upload.secondsLeft === null
                  ? t('analyze.uploading', {
                      sent: formatBytes(t, language, upload.sent),
                      total: formatBytes(t, language, upload.total),
                    })
                  : t('analyze.uploadingLeft', {
                      sent: formatBytes(t, language, upload.sent),
                      total: formatBytes(t, language, upload.total),
                      duration: formatDuration(t, upload.secondsLeft),
                    })}
              </p>
            </div>
          )}

          <Thinking
            active={preparing > 0 || (analyzing && report === '' && !upload)}
            label={preparing > 0 ? t('analyze.preparing') : t('analyze.thinking')}
            queue={preparing > 0 ? null : analyzer.queue}
            finished={result ? { key: result.id, text: readyText(result.report) } : null}
          />

          <div aria-busy={analyzing || undefined}>
            {(done || report !== '') && (
              <section className={`result${analyzing ? ' streaming' : ''}`} aria-labelledby={resultTitleId}>
                <h3 id={resultTitleId} ref={resultHeading} tabIndex={-1}>
                  {t('analyze.resultTitle')}
                </h3>
                {result && (
                  <p className="muted small print-only">
                    {formatDateTime(language, result.date)}
                    {result.note ? ` · ${result.note}` : ''}
                  </p>
                )}
                {result && <Thumbnails urls={result.thumbnails} className="print-only" />}
                <RichText text={report} headingLevel={4} />
                {incomplete && <p className="incomplete-note">{t(incomplete)}</p>}
                {result && <AnalysisActions analysis={result} onAsk={onAsk} />}
              </section>
            )}
          </div>
          {phase.kind === 'failed' && <ErrorNotice error={phase.error} onRetry={analyzer.submit} />}

          {(photos.length > 0 || done) && (
            <button type="button" className="button button-secondary new-analysis" onClick={onReset}>
              <RotateCcw aria-hidden="true" size={20} />
              {t('analyze.another')}
            </button>
          )}
        </>
      )}

      <SavedList list={saved.list} openedId={opened?.id ?? null} onOpen={setOpened} onDelete={onDelete} />
    </div>
  )
}
