// Weld-analyzer state: the chosen photo (prepared for upload, with a preview
// URL), the note, and the analysis request with its report streaming in, its
// result or failure.
import { useEffect, useRef, useState } from 'react'
import { analyzeStream, ApiError, asApiError } from '../api/client'
import type { Language } from '../api/types'
import { type PreparedImage, prepareImage } from '../image/prepare'
import { frameScheduler } from './frame'
import { useWithSession } from './useSession'

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
  const [phase, setPhase] = useState<AnalysisPhase>({ kind: 'idle' })
  // Bumped on every new selection and reset, so a slow preparation of an older
  // photo cannot overwrite a newer choice.
  const selection = useRef(0)
  const inFlight = useRef<AbortController | null>(null)
  /** The request the user stopped (as opposed to one dropped by a new photo or reset). */
  const stopping = useRef<AbortController | null>(null)
  const withSession = useWithSession()

  useEffect(() => {
    const url = photo?.previewUrl
    return () => {
      if (url) URL.revokeObjectURL(url)
    }
  }, [photo])

  useEffect(() => {
    return () => inFlight.current?.abort()
  }, [])

  async function selectFileAsync(file: File) {
    if (file.type !== '' && !file.type.startsWith('image/')) {
      setFileError(new ApiError({ status: 0, code: 'not_an_image', message: file.type }))
      return
    }
    inFlight.current?.abort()
    const current = ++selection.current
    setFileError(null)
    setPhase({ kind: 'idle' })
    setPhoto(null)
    setPreparing(true)
    const prepared = await prepareImage(file)
    if (current !== selection.current) return
    setPhoto({ prepared, previewUrl: previewUrlFor(prepared.blob) })
    setPreparing(false)
  }

  async function submitAsync(chosen: Photo) {
    inFlight.current?.abort()
    const controller = new AbortController()
    inFlight.current = controller
    let text = ''
    const render = frameScheduler(() => {
      if (!controller.signal.aborted) setPhase({ kind: 'analyzing', text })
    })
    setPhase({ kind: 'analyzing', text })
    try {
      await withSession(() =>
        analyzeStream(
          { image: chosen.prepared.blob, filename: chosen.prepared.filename, note, language },
          {
            onOpen: () => {
              text = ''
            },
            onDelta: (piece) => {
              text += piece
              render.schedule()
            },
          },
          { signal: controller.signal },
        ),
      )
      render.cancel()
      if (controller.signal.aborted) return
      setPhase({ kind: 'done', text })
    } catch (error) {
      render.cancel()
      if (controller.signal.aborted) {
        if (stopping.current === controller) setPhase(text === '' ? { kind: 'idle' } : { kind: 'done', text, stopped: true })
        return
      }
      setPhase({ kind: 'failed', error: asApiError(error), text })
    } finally {
      if (inFlight.current === controller) inFlight.current = null
      if (stopping.current === controller) stopping.current = null
    }
  }

  function selectFile(file: File) {
    if (phase.kind === 'analyzing') return
    void selectFileAsync(file)
  }

  function submit() {
    if (photo && phase.kind !== 'analyzing') void submitAsync(photo)
  }

  function stop() {
    const controller = inFlight.current
    if (!controller) return
    stopping.current = controller
    controller.abort()
  }

  function reset() {
    inFlight.current?.abort()
    inFlight.current = null
    selection.current += 1
    setPhoto(null)
    setPreparing(false)
    setFileError(null)
    setNote('')
    setPhase({ kind: 'idle' })
  }

  return { photo, preparing, fileError, note, phase, selectFile, setNote, submit, stop, reset }
}
