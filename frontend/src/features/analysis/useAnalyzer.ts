// Weld-analyzer state: the chosen photos of one weld (1 to MAX_PHOTOS, each
// prepared for upload, with a preview URL and a small thumbnail), the note, and
// the analysis request with its report streaming in, its result or failure (the
// stream's lifecycle is useAnswerStream's). A finished report becomes a
// SavedAnalysis, handed to `onReport` to be kept on the device. While the photos
// upload, how much has gone and how long the rest should take; on a slow or
// metered connection the photos are prepared smaller (lightUpload.ts).
import { useEffect, useRef, useState } from 'react'
import { type AnalyzeInput, analyzeStream, ApiError, type UploadProgress } from '../../api/client'
import type { Language, Waiting } from '../../api/types'
import { type AnswerState, useAnswerStream } from '../../hooks/useAnswerStream'
import { newId } from '../../lib/id'
import { connectionIsSlow, LIGHT_MAX_SIDE, storedLightUpload, storeLightUpload } from './lightUpload'
import { makeThumbnail, MAX_SIDE, type PreparedImage, prepareImage } from './prepare'
import type { SavedAnalysis } from './saved'

/** Photos per analysis: the server's default `WELD_MAX_IMAGES`. */
export const MAX_PHOTOS = 4

export interface Photo {
  id: string
  /** The file as chosen, kept to prepare it again when the upload size changes. */
  file: File
  prepared: PreparedImage
  /** An object URL for the preview, or null where the browser has none. */
  previewUrl: string | null
  /** A small JPEG data: URL kept with the saved analysis; null when it could not be made. */
  thumbnail: string | null
}

export type AnalysisPhase =
  | { kind: 'idle' }
  /** Waiting for the report (`text` is '' until its first piece) or receiving it. */
  | { kind: 'analyzing'; text: string }
  /** The report; `stopped` when the user stopped it part-way. */
  | { kind: 'done'; text: string; stopped?: boolean }
  /** Failed; `text` is what arrived before the stream broke off ('' when nothing did). */
  | { kind: 'failed'; error: ApiError; text: string }

/** The upload of the photos: bytes sent of the total, and the seconds left (null until known). */
export interface Upload extends UploadProgress {
  secondsLeft: number | null
}

export interface Analyzer {
  photos: Photo[]
  /** How many chosen files are still being prepared (or prepared again at another size). */
  preparing: number
  /** A problem with a chosen file itself (not an image); nothing to retry. */
  fileError: ApiError | null
  /** Set when more photos were offered than there was room for (some were left out). */
  overLimit: boolean
  note: string
  phase: AnalysisPhase
  /** The analysis's place in the server's line while it waits for Gemini's quota; null otherwise. */
  queue: Waiting | null
  /** The finished analysis (complete report), as it was saved. */
  result: SavedAnalysis | null
  /** The photos' upload while it is under way; null before and after. */
  upload: Upload | null
  /** Photos are prepared smaller (LIGHT_MAX_SIDE) for a slow or metered connection. */
  light: boolean
  /** True when `light` was turned on by the connection, not by the user. */
  lightAuto: boolean
  setLight: (on: boolean) => void
  /** Adds photos, up to MAX_PHOTOS in all; files that are not images are refused. */
  addFiles: (files: readonly File[]) => void
  removePhoto: (id: string) => void
  setNote: (note: string) => void
  /** Sends the photos (again, after a failure). */
  submit: () => void
  /** Stops the report being received; what arrived is kept. */
  stop: () => void
  /** Back to an empty form for another weld. */
  reset: () => void
}

interface AnalysisRequest extends AnalyzeInput {
  /** Kept with the saved analysis; not sent. */
  thumbnails: string[]
  noteText: string
}

function previewUrlFor(blob: Blob): string | null {
  return typeof URL.createObjectURL === 'function' ? URL.createObjectURL(blob) : null
}

function revoke(photo: Photo) {
  if (photo.previewUrl) URL.revokeObjectURL(photo.previewUrl)
}

function isImageFile(file: File): boolean {
  return file.type === '' || file.type.startsWith('image/')
}

export function useAnalyzer(language: Language, onReport?: (analysis: SavedAnalysis) => void): Analyzer {
  const [photos, setPhotos] = useState<Photo[]>([])
  const [preparing, setPreparing] = useState(0)
  const [fileError, setFileError] = useState<ApiError | null>(null)
  const [overLimit, setOverLimit] = useState(false)
  const [note, setNote] = useState('')
  const [result, setResult] = useState<SavedAnalysis | null>(null)
  const [upload, setUpload] = useState<Upload | null>(null)
  const [lightChoice, setLightChoice] = useState<boolean | null>(storedLightUpload)
  const [slowConnection] = useState(() => connectionIsSlow())
  const light = lightChoice ?? slowConnection
  const uploadStarted = useRef(0)
  /** Bumped whenever the photos are prepared again at another size. */
  const resizing = useRef(0)
  /** Photos chosen or being prepared: what the limit counts. */
  const taken = useRef(0)
  // Bumped on every reset, so a slow preparation of an older photo cannot join a new analysis.
  const generation = useRef(0)
  const livePhotos = useRef<Photo[]>([])
  const stream = useAnswerStream<AnalysisRequest>(
    (request, handlers, options) => {
      uploadStarted.current = performance.now()
      setUpload(null)
      const onUploadProgress = ({ sent, total }: UploadProgress) => {
        if (sent >= total) {
          setUpload(null)
          return
        }
        const seconds = (performance.now() - uploadStarted.current) / 1000
        const secondsLeft = seconds >= 1 && sent > 0 ? ((total - sent) * seconds) / sent : null
        setUpload({ sent, total, secondsLeft })
      }
      return analyzeStream(request, { ...handlers, onUploadProgress }, options)
    },
    (end) => {
    setUpload(null)
    if (end.kind !== 'done') return
    const analysis: SavedAnalysis = {
      id: newId(),
      date: new Date().toISOString(),
      report: end.text,
      note: end.request.noteText,
      thumbnails: end.request.thumbnails,
      photoCount: end.request.images.length,
    }
    setResult(analysis)
    onReport?.(analysis)
  },
  )

  useEffect(() => {
    livePhotos.current = photos
  })

  useEffect(() => {
    const live = livePhotos
    return () => live.current.forEach(revoke)
  }, [])

  /** Leaves a finished or failed analysis: the photos can be changed again. */
  function backToEditing() {
    if (stream.state.kind !== 'idle') stream.cancel()
    setResult(null)
  }

  async function prepareAll(files: readonly File[], current: number, maxSide: number) {
    for (const file of files) {
      const prepared = await prepareImage(file, undefined, maxSide)
      const thumbnail = await makeThumbnail(prepared.blob)
      if (current !== generation.current) return
      const photo: Photo = { id: newId(), file, prepared, previewUrl: previewUrlFor(prepared.blob), thumbnail }
      setPhotos((list) => [...list, photo])
      setPreparing((count) => count - 1)
    }
  }

  function addFiles(files: readonly File[]) {
    if (stream.busy || files.length === 0) return
    const images = files.filter(isImageFile)
    if (images.length === 0) {
      setFileError(new ApiError({ status: 0, code: 'not_an_image', message: files[0]?.type ?? '' }))
      return
    }
    backToEditing()
    setFileError(null)
    const room = Math.max(0, MAX_PHOTOS - taken.current)
    const accepted = images.slice(0, room)
    setOverLimit(images.length > room)
    if (accepted.length === 0) return
    taken.current += accepted.length
    setPreparing((count) => count + accepted.length)
    void prepareAll(accepted, generation.current, light ? LIGHT_MAX_SIDE : MAX_SIDE)
  }

  /** The chosen photos prepared again at the new size, one after another. */
  async function resizeAll(list: readonly Photo[], maxSide: number) {
    const current = ++resizing.current
    const start = generation.current
    for (const [index, photo] of list.entries()) {
      const prepared = await prepareImage(photo.file, undefined, maxSide)
      if (start !== generation.current) return
      if (current !== resizing.current) {
        // Overtaken by another change of size: that pass counts its own photos.
        setPreparing((count) => count - (list.length - index))
        return
      }
      const previewUrl = previewUrlFor(prepared.blob)
      setPhotos((all) =>
        all.map((item) => {
          if (item.id !== photo.id) return item
          revoke(item)
          return { ...item, prepared, previewUrl }
        }),
      )
      setPreparing((count) => count - 1)
    }
  }

  function setLight(on: boolean) {
    if (stream.busy || on === light) return
    storeLightUpload(on)
    setLightChoice(on)
    if (photos.length === 0) return
    backToEditing()
    setPreparing((count) => count + photos.length)
    void resizeAll(photos, on ? LIGHT_MAX_SIDE : MAX_SIDE)
  }

  function removePhoto(id: string) {
    if (stream.busy) return
    const photo = photos.find((item) => item.id === id)
    if (!photo) return
    backToEditing()
    revoke(photo)
    taken.current -= 1
    setOverLimit(false)
    setPhotos((list) => list.filter((item) => item.id !== id))
  }

  function submit() {
    if (photos.length === 0 || preparing > 0 || stream.busy) return
    setResult(null)
    stream.start({
      images: photos.map((photo) => ({ image: photo.prepared.blob, filename: photo.prepared.filename })),
      note,
      noteText: note.trim(),
      language,
      thumbnails: photos.flatMap((photo) => (photo.thumbnail ? [photo.thumbnail] : [])),
    })
  }

  function reset() {
    stream.cancel()
    generation.current += 1
    taken.current = 0
    photos.forEach(revoke)
    setPhotos([])
    setPreparing(0)
    setFileError(null)
    setOverLimit(false)
    setNote('')
    setResult(null)
  }

  return {
    photos,
    preparing,
    fileError,
    overLimit,
    note,
    phase: analysisPhase(stream.state),
    queue: stream.queue,
    result,
    upload: stream.busy ? upload : null,
    light,
    lightAuto: lightChoice === null && slowConnection,
    setLight,
    addFiles,
    removePhoto,
    setNote,
    submit,
    stop: stream.stop,
    reset,
  }
}

/** The analyzer's view of the stream: a report stopped before any text leaves the form as it was. */
function analysisPhase(state: AnswerState<AnalysisRequest>): AnalysisPhase {
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
