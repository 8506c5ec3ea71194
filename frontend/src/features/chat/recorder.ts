// Records a spoken question in a format Gemini takes inline (WAV, MP3, AIFF, AAC,
// OGG Vorbis, FLAC). Browsers' MediaRecorder makes WebM/Opus (Chrome), OGG/Opus
// (Firefox) or MP4/AAC (Safari) — none of them on that list — so unless the
// recorder offers one that is, the microphone's PCM is taken through Web Audio,
// downsampled to 16 kHz mono (plenty for speech: Gemini itself works at 16 kbps)
// and written as a 16-bit WAV (32 KB a second). Knows nothing of React or the API.

/** The sample rate of the WAV sent. */
export const VOICE_SAMPLE_RATE = 16_000
/** The longest question recorded: the server's default `WELD_VOICE_MAX_SECONDS`. */
export const VOICE_MAX_SECONDS = 60

/** A finished recording. */
export interface Recording {
  /** The type Gemini knows it by: `audio/wav`, … */
  mimeType: string
  data: Blob
  seconds: number
}

/** Why recording could not start. */
export type RecorderProblem = 'insecure' | 'unsupported' | 'denied' | 'no_device' | 'busy' | 'failed'

export class RecorderError extends Error {
  readonly problem: RecorderProblem
  constructor(problem: RecorderProblem, message: string) {
    super(message)
    this.name = 'RecorderError'
    this.problem = problem
  }
}

/** A recording in progress. */
export interface Recorder {
  /** Stops and returns what was recorded. */
  stop: () => Promise<Recording>
  /** Stops and throws the recording away. */
  cancel: () => void
}

/** MediaRecorder types Gemini accepts, with the name Gemini knows each by. */
const RECORDER_TYPES: readonly (readonly [string, string])[] = [
  ['audio/ogg;codecs=vorbis', 'audio/ogg'],
  ['audio/flac', 'audio/flac'],
  ['audio/mpeg', 'audio/mp3'],
  ['audio/wav', 'audio/wav'],
  ['audio/aac', 'audio/aac'],
]

/** The MediaRecorder type to use, when this browser records one Gemini accepts. */
export function recorderType(): readonly [string, string] | null {
  if (typeof MediaRecorder === 'undefined' || typeof MediaRecorder.isTypeSupported !== 'function') return null
  return RECORDER_TYPES.find(([type]) => MediaRecorder.isTypeSupported(type)) ?? null
}

function problemOf(error: unknown): RecorderError {
  const name = error instanceof Error || error instanceof DOMException ? error.name : ''
  const message = error instanceof Error ? error.message : String(error)
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return new RecorderError('denied', message)
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new RecorderError('no_device', message)
    case 'NotReadableError':
    case 'AbortError':
      return new RecorderError('busy', message)
    default:
      return new RecorderError('failed', message)
  }
}

/**
 * Asks for the microphone and starts recording. `onLimit` is called once
 * `maxSeconds` have been recorded (the caller then stops and sends). Must be
 * called from a user gesture (a press of the button), which lets audio start.
 */
export async function startRecording(maxSeconds: number, onLimit: () => void): Promise<Recorder> {
  if (!window.isSecureContext) {
    throw new RecorderError('insecure', 'Microphone access needs HTTPS')
  }
  if (!('mediaDevices' in navigator) || !('getUserMedia' in navigator.mediaDevices)) {
    throw new RecorderError('unsupported', 'No getUserMedia')
  }
  const type = recorderType()
  // Created within the gesture, before the permission prompt, so it may start.
  let context: AudioContext | null = null
  if (!type) {
    if (typeof AudioContext === 'undefined') throw new RecorderError('unsupported', 'No Web Audio')
    context = new AudioContext()
  }
  let stream: MediaStream
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    })
  } catch (error) {
    void context?.close()
    throw problemOf(error)
  }
  const stopTracks = () => {
    for (const track of stream.getTracks()) track.stop()
  }
  const timer = window.setTimeout(onLimit, maxSeconds * 1000)
  try {
    if (type) return withMediaRecorder(stream, type, timer, stopTracks)
    if (!context) throw new RecorderError('unsupported', 'No Web Audio')
    return withWebAudio(stream, context, timer, stopTracks)
  } catch (error) {
    window.clearTimeout(timer)
    stopTracks()
    void context?.close()
    throw problemOf(error)
  }
}

function withMediaRecorder(
  stream: MediaStream,
  [type, mimeType]: readonly [string, string],
  timer: number,
  stopTracks: () => void,
): Recorder {
  const recorder = new MediaRecorder(stream, { mimeType: type })
  const chunks: Blob[] = []
  const started = performance.now()
  recorder.ondataavailable = (event) => {
    if (event.data.size > 0) chunks.push(event.data)
  }
  recorder.start()
  const end = () => {
    window.clearTimeout(timer)
    stopTracks()
  }
  return {
    stop: () =>
      new Promise<Recording>((resolve) => {
        recorder.onstop = () => {
          end()
          resolve({ mimeType, data: new Blob(chunks, { type: mimeType }), seconds: (performance.now() - started) / 1000 })
        }
        recorder.stop()
      }),
    cancel: () => {
      recorder.onstop = null
      if (recorder.state !== 'inactive') recorder.stop()
      end()
    },
  }
}

function withWebAudio(stream: MediaStream, context: AudioContext, timer: number, stopTracks: () => void): Recorder {
  void context.resume()
  const source = context.createMediaStreamSource(stream)
  // ScriptProcessor is deprecated but works in every browser and needs no
  // separate worklet module to load and precache.
  /* eslint-disable @typescript-eslint/no-deprecated */
  const processor = context.createScriptProcessor(4096, 1, 1)
  const chunks: Float32Array[] = []
  processor.onaudioprocess = (event) => {
    chunks.push(new Float32Array(event.inputBuffer.getChannelData(0)))
  }
  /* eslint-enable @typescript-eslint/no-deprecated */
  source.connect(processor)
  // Chrome runs a processor only when it leads somewhere; its output is silence.
  processor.connect(context.destination)
  const rate = context.sampleRate
  const end = () => {
    window.clearTimeout(timer)
    // eslint-disable-next-line @typescript-eslint/no-deprecated
    processor.onaudioprocess = null
    source.disconnect()
    processor.disconnect()
    stopTracks()
    void context.close()
  }
  return {
    stop: () => {
      end()
      const samples = downsample(concat(chunks), rate, VOICE_SAMPLE_RATE)
      return Promise.resolve({
        mimeType: 'audio/wav',
        data: new Blob([encodeWav(samples, VOICE_SAMPLE_RATE)], { type: 'audio/wav' }),
        seconds: samples.length / VOICE_SAMPLE_RATE,
      })
    },
    cancel: end,
  }
}

function concat(chunks: readonly Float32Array[]): Float32Array {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0)
  const out = new Float32Array(total)
  let at = 0
  for (const chunk of chunks) {
    out.set(chunk, at)
    at += chunk.length
  }
  return out
}

/** Downsamples by averaging each output sample's span of input (a box filter against aliasing). */
export function downsample(input: Float32Array, from: number, to: number): Float32Array {
  if (to >= from) return input
  const ratio = from / to
  const out = new Float32Array(Math.floor(input.length / ratio))
  for (let i = 0; i < out.length; i++) {
    const start = Math.floor(i * ratio)
    const end = Math.min(input.length, Math.floor((i + 1) * ratio))
    let sum = 0
    for (let j = start; j < end; j++) sum += input[j] ?? 0
    out[i] = end > start ? sum / (end - start) : 0
  }
  return out
}

/** A mono 16-bit PCM WAV of samples in [-1, 1]. */
export function encodeWav(samples: Float32Array, rate: number): ArrayBuffer {
  const buffer = new ArrayBuffer(44 + samples.length * 2)
  const view = new DataView(buffer)
  const text = (at: number, value: string) => {
    for (let i = 0; i < value.length; i++) view.setUint8(at + i, value.charCodeAt(i))
  }
  text(0, 'RIFF')
  view.setUint32(4, 36 + samples.length * 2, true)
  text(8, 'WAVE')
  text(12, 'fmt ')
  view.setUint32(16, 16, true)
  view.setUint16(20, 1, true) // PCM
  view.setUint16(22, 1, true) // mono
  view.setUint32(24, rate, true)
  view.setUint32(28, rate * 2, true)
  view.setUint16(32, 2, true)
  view.setUint16(34, 16, true)
  text(36, 'data')
  view.setUint32(40, samples.length * 2, true)
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i] ?? 0))
    view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true)
  }
  return buffer
}

/** A blob as standard base64 (no `data:` prefix). */
export async function blobToBase64(blob: Blob): Promise<string> {
  const bytes = new Uint8Array(await blob.arrayBuffer())
  const CHUNK = 0x8000
  let binary = ''
  for (let i = 0; i < bytes.length; i += CHUNK) binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK))
  return btoa(binary)
}
