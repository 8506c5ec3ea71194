// The weld-analysis view: choose a photo (button, camera, drag-and-drop or
// paste), see it with its before/after size, add a note, get a Markdown report
// that grows as it streams in (with Stop, and Retry when it breaks off).
// Loaded lazily: the first paint of the chat does not need it.
import { Camera, ImagePlus, RotateCcw, ScanSearch, Square } from 'lucide-react'
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
import { useAnalyzer } from '../hooks/useAnalyzer'
import { useI18n } from '../hooks/useI18n'
import { formatBytes } from '../i18n/translate'
import { ErrorNotice } from './ErrorNotice'
import { RichText } from './RichText'
import { Thinking } from './Thinking'

const NOTE_MAX_LENGTH = 1000

function hasFiles(event: DragEvent): boolean {
  return Array.from(event.dataTransfer.types).includes('Files')
}

export default function WeldAnalyzer({ active }: { active: boolean }) {
  const { t, language } = useI18n()
  const { photo, preparing, fileError, note, phase, selectFile, setNote, submit, stop, reset } = useAnalyzer(language)
  const fileInput = useRef<HTMLInputElement>(null)
  const cameraInput = useRef<HTMLInputElement>(null)
  const chooseButton = useRef<HTMLButtonElement>(null)
  const focusChooserAfterReset = useRef(false)
  const [dragging, setDragging] = useState(false)
  const [brokenPreview, setBrokenPreview] = useState<string | null>(null)
  const noteId = useId()
  const resultTitleId = useId()
  const analyzing = phase.kind === 'analyzing'
  const done = phase.kind === 'done'
  /** The report so far: streaming, finished, stopped or broken off. */
  const report = phase.kind === 'idle' ? '' : phase.text
  const incomplete =
    phase.kind === 'failed' ? 'answer.incomplete' : phase.kind === 'done' && phase.stopped ? 'answer.stopped' : null

  const onPaste = useEffectEvent((event: ClipboardEvent) => {
    const image = Array.from(event.clipboardData?.files ?? []).find((file) => file.type.startsWith('image/'))
    if (!image || analyzing) return
    event.preventDefault()
    selectFile(image)
  })

  // A photo dropped anywhere else on the page: take it instead of letting the
  // browser navigate away to the image file.
  const onStrayDrop = useEffectEvent((event: globalThis.DragEvent) => {
    if (event.defaultPrevented || !event.dataTransfer?.types.includes('Files')) return
    event.preventDefault()
    const file = event.dataTransfer.files[0]
    if (event.type === 'drop' && file && !analyzing) selectFile(file)
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
    if (focusChooserAfterReset.current && !photo) {
      focusChooserAfterReset.current = false
      chooseButton.current?.focus()
    }
  })

  function onInputChange(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0]
    // Cleared so that picking the same file again still fires `change`.
    event.target.value = ''
    if (file) selectFile(file)
  }

  function onDragOver(event: DragEvent) {
    if (!hasFiles(event) || analyzing) return
    event.preventDefault()
    event.dataTransfer.dropEffect = 'copy'
    setDragging(true)
  }

  function onDrop(event: DragEvent) {
    setDragging(false)
    const file = event.dataTransfer.files[0]
    if (!file || analyzing) return
    event.preventDefault()
    selectFile(file)
  }

  function onSubmit(event: SubmitEvent<HTMLFormElement>) {
    event.preventDefault()
    submit()
  }

  function onReset() {
    reset()
    focusChooserAfterReset.current = true
  }

  const previewUrl = photo?.previewUrl ?? null
  const sizes = photo
    ? photo.prepared.reencoded
      ? t('analyze.sizes', {
          before: formatBytes(t, language, photo.prepared.originalBytes),
          after: formatBytes(t, language, photo.prepared.preparedBytes),
        })
      : t('analyze.sentAsIs', { size: formatBytes(t, language, photo.prepared.originalBytes) })
    : ''

  return (
    <div
      className={`analyzer${dragging ? ' is-dragging' : ''}`}
      onDragOver={onDragOver}
      onDragLeave={(event) => {
        if (!(event.relatedTarget instanceof Node && event.currentTarget.contains(event.relatedTarget))) {
          setDragging(false)
        }
      }}
      onDrop={onDrop}
    >
      <h2 className="view-title">{t('analyze.title')}</h2>
      <p className="muted">{t('analyze.intro')}</p>

      <input
        ref={fileInput}
        type="file"
        accept="image/*"
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

      {!photo && !preparing && (
        <div className="dropzone">
          <div className="pick-buttons">
            <button
              ref={chooseButton}
              type="button"
              className="button button-primary"
              onClick={() => fileInput.current?.click()}
            >
              <ImagePlus aria-hidden="true" size={20} />
              {t('analyze.choose')}
            </button>
            <button
              type="button"
              className="button button-secondary camera-button"
              onClick={() => cameraInput.current?.click()}
            >
              <Camera aria-hidden="true" size={20} />
              {t('analyze.camera')}
            </button>
          </div>
          <p className="muted drop-hint">{dragging ? t('analyze.dropActive') : t('analyze.dropHint')}</p>
        </div>
      )}

      {fileError && <ErrorNotice error={fileError} />}

      {photo && (
        <figure className="preview">
          {previewUrl && previewUrl !== brokenPreview && (
            <img src={previewUrl} alt={t('analyze.previewAlt')} onError={() => setBrokenPreview(previewUrl)} />
          )}
          <figcaption className="muted small">
            <span className="file-name">{photo.prepared.filename}</span> · {sizes}
          </figcaption>
        </figure>
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
            onChange={(event) => setNote(event.target.value)}
          />
          <div className="form-actions">
            {analyzing ? (
              <button type="button" className="button button-secondary" onClick={stop}>
                <Square aria-hidden="true" size={18} fill="currentColor" />
                {t('common.stop')}
              </button>
            ) : (
              <button type="submit" className="button button-primary" disabled={!photo}>
                <ScanSearch aria-hidden="true" size={20} />
                {t('analyze.submit')}
              </button>
            )}
            {photo && !analyzing && (
              <button type="button" className="button button-secondary" onClick={() => fileInput.current?.click()}>
                <ImagePlus aria-hidden="true" size={20} />
                {t('analyze.replace')}
              </button>
            )}
          </div>
        </form>
      )}

      <Thinking
        active={preparing || (analyzing && report === '')}
        label={preparing ? t('analyze.preparing') : t('analyze.thinking')}
      />

      <div aria-live="polite" aria-busy={analyzing || undefined}>
        {(done || report !== '') && (
          <section className={`result${analyzing ? ' streaming' : ''}`} aria-labelledby={resultTitleId}>
            <h3 id={resultTitleId}>{t('analyze.resultTitle')}</h3>
            <RichText text={report} />
            {incomplete && <p className="incomplete-note">{t(incomplete)}</p>}
          </section>
        )}
      </div>
      {phase.kind === 'failed' && <ErrorNotice error={phase.error} onRetry={submit} />}

      {(photo || done) && (
        <button type="button" className="button button-secondary" onClick={onReset}>
          <RotateCcw aria-hidden="true" size={20} />
          {t('analyze.another')}
        </button>
      )}
    </div>
  )
}
