// Weld-analyzer state: the chosen photo (prepared for upload, with a preview
// URL), the note, and the analysis request with its result or failure.
import { useEffect, useRef, useState } from 'react'
import { analyze, ApiError, asApiError } from '../api/client'
import type { AnalyzeReply, Language } from '../api/types'
import { type PreparedImage, prepareImage } from '../image/prepare'
import { useWithSession } from './useSession'

export interface Photo {
  prepared: PreparedImage
  /** An object URL for the preview, or null where the browser has none. */
  previewUrl: string | null
}

export type AnalysisPhase =
  | { kind: 'idle' }
  | { kind: 'analyzing' }
  | { kind: 'done'; reply: AnalyzeReply }
  | { kind: 'failed'; error: ApiError }

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
    setPhase({ kind: 'analyzing' })
    try {
      const reply = await withSession(() =>
        analyze(
          { image: chosen.prepared.blob, filename: chosen.prepared.filename, note, language },
          { signal: controller.signal },
        ),
      )
      if (controller.signal.aborted) return
      setPhase({ kind: 'done', reply })
    } catch (error) {
      if (controller.signal.aborted) return
      setPhase({ kind: 'failed', error: asApiError(error) })
    } finally {
      if (inFlight.current === controller) inFlight.current = null
    }
  }

  function selectFile(file: File) {
    if (phase.kind === 'analyzing') return
    void selectFileAsync(file)
  }

  function submit() {
    if (photo && phase.kind !== 'analyzing') void submitAsync(photo)
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

  return { photo, preparing, fileError, note, phase, selectFile, setNote, submit, reset }
}
