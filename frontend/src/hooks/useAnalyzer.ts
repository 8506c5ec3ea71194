// Weld-analyzer state: the chosen photo (prepared for upload, with a preview
// URL), the note, and the analysis request with its report streaming in, its
// result or failure (the stream's lifecycle is useAnswerStream's).
import { useEffect, useRef, useState } from 'react'
import { type AnalyzeInput, analyzeStream, ApiError } from '../api/client'
import type { Language } from '../api/types'
import { type PreparedImage, prepareImage } from '../image/prepare'
import { type AnswerState, useAnswerStream } from './useAnswerStream'

export interface Photo {
  prepared: PreparedImage
  /** An object URL for the preview, or null where the browser has none. */
  previewUrl: string | null
}

export type AnalysisPhase =
  | { kind: 'idle' }
  /** Waiting for the report (`text` is '' until its first piece) or receiving it. */
  | { kind: 'analyzing'; text: string }
  /** The report; `stopped` when the user stopped it part-way. */
  | { kind: 'done'; text: string; stopped?: boolean }
  /** Failed; `text` is what arrived before the stream broke off ('' when nothing did). */
  | { kind: 'failed'; error: ApiError; text: string }

export interface Analyzer {
  photo: Photo | null
  preparing: boolean
  /** A problem with the chosen file itself (not an image); nothing to retry. */
  fileError: ApiError | null
  note: string
  phase: AnalysisPhase
  selectFile: (file: File) => void
  setNote: (note: string) => void
  /** Sends the photo (again, after a failure). */
  submit: () => void
  /** Stops the report being received; what arrived is kept. */
  stop: () => void
  /** Back to an empty form for another photo. */
  reset: () => void
}

function previewUrlFor(blob: Blob): string | null {
  return typeof URL.createObjectURL === 'function' ? URL.createObjectURL(blob) : null
}

export function useAnalyzer(language: Language): Analyzer {
  const [photo, setPhoto] = useState<Photo | null>(null)
  const [preparing, setPreparing] = useState(false)
  const [fileError, setFileError] = useState<ApiError | null>(null)
  const [note, setNote] = useState('')
  // Bumped on every new selection and reset, so a slow preparation of an older
  // photo cannot overwrite a newer choice.
  const selection = useRef(0)
  const stream = useAnswerStream<AnalyzeInput>(analyzeStream)

  useEffect(() => {
    const url = photo?.previewUrl
    return () => {
      if (url) URL.revokeObjectURL(url)
    }
  }, [photo])

  async function selectFileAsync(file: File) {
    if (file.type !== '' && !file.type.startsWith('image/')) {
      setFileError(new ApiError({ status: 0, code: 'not_an_image', message: file.type }))
      return
    }
    stream.cancel()
    const current = ++selection.current
    setFileError(null)
    setPhoto(null)
    setPreparing(true)
    const prepared = await prepareImage(file)
    if (current !== selection.current) return
    setPhoto({ prepared, previewUrl: previewUrlFor(prepared.blob) })
    setPreparing(false)
  }

  function selectFile(file: File) {
    if (stream.busy) return
    void selectFileAsync(file)
  }

  function submit() {
    if (!photo || stream.busy) return
    stream.start({ image: photo.prepared.blob, filename: photo.prepared.filename, note, language })
  }

  function reset() {
    stream.cancel()
    selection.current += 1
    setPhoto(null)
    setPreparing(false)
    setFileError(null)
    setNote('')
  }

  return {
    photo,
    preparing,
    fileError,
    note,
    phase: analysisPhase(stream.state),
    selectFile,
    setNote,
    submit,
    stop: stream.stop,
    reset,
  }
}

/** The analyzer's view of the stream: a report stopped before any text leaves the form as it was. */
function analysisPhase(state: AnswerState<AnalyzeInput>): AnalysisPhase {
  switch (state.kind) {
    case 'idle':
      return { kind: 'idle' }
    case 'waiting':
      return { kind: 'analyzing', text: '' }
    case 'streaming':
      return { kind: 'analyzing', text: state.text }
    case 'done':
      return { kind: 'done', text: state.text }
    case 'stopped':
      return state.text === '' ? { kind: 'idle' } : { kind: 'done', text: state.text, stopped: true }
    case 'failed':
      return { kind: 'failed', error: state.error, text: state.text }
  }
}
