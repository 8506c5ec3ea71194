// Photo preparation before upload: decode (honouring EXIF orientation),
// downsize to at most 2048 px on the long side and re-encode as JPEG through
// a canvas, which also drops EXIF/GPS metadata. A file the browser cannot
// decode (e.g. HEIC outside Safari) is sent as it is. Browser specifics sit
// behind `ImageCodec`, so the logic is testable without a real canvas. Also
// makes the small thumbnails (data: URLs) kept with saved analyses.

export const MAX_SIDE = 2048
export const JPEG_QUALITY = 0.85

export interface PreparedImage {
  /** What to upload: the re-encoded JPEG, or the original file. */
  blob: Blob
  filename: string
  originalBytes: number
  preparedBytes: number
  /** False when the original file is sent unchanged. */
  reencoded: boolean
}

export interface DecodedImage {
  width: number
  height: number
  source: CanvasImageSource
  close: () => void
}

export interface ImageCodec {
  /** The decoded image, upright; null when this browser cannot decode the file. */
  decode: (file: Blob) => Promise<DecodedImage | null>
  /** A JPEG of the image scaled to width × height; null when encoding is impossible. */
  encodeJpeg: (image: DecodedImage, width: number, height: number, quality: number) => Promise<Blob | null>
}

/** Scales width × height down (never up) so the longer side is at most maxSide. */
export function fitWithin(width: number, height: number, maxSide: number): { width: number; height: number } {
  const longSide = Math.max(width, height)
  if (longSide <= maxSide) return { width, height }
  const scale = maxSide / longSide
  return {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  }
}

/** "IMG_0042.HEIC" → "IMG_0042.jpg"; a nameless paste → "photo.jpg". */
export function jpegFilename(name: string): string {
  const base = name.replace(/\.[^./\\]*$/, '').trim()
  return `${base || 'photo'}.jpg`
}

export async function prepareImage(
  file: File,
  codec: ImageCodec = browserCodec,
  maxSide: number = MAX_SIDE,
  quality: number = JPEG_QUALITY,
): Promise<PreparedImage> {
  const original: PreparedImage = {
    blob: file,
    filename: file.name || 'photo',
    originalBytes: file.size,
    preparedBytes: file.size,
    reencoded: false,
  }

  let decoded: DecodedImage | null
  try {
    decoded = await codec.decode(file)
  } catch {
    decoded = null
  }
  if (!decoded) return original

  try {
    if (decoded.width < 1 || decoded.height < 1) return original
    const size = fitWithin(decoded.width, decoded.height, maxSide)
    const jpeg = await codec.encodeJpeg(decoded, size.width, size.height, quality)
    if (!jpeg || jpeg.size === 0 || jpeg.type !== 'image/jpeg') return original
    return {
      blob: jpeg,
      filename: jpegFilename(file.name),
      originalBytes: file.size,
      preparedBytes: jpeg.size,
      reencoded: true,
    }
  } catch {
    return original
  } finally {
    decoded.close()
  }
}

/** The long side of the small copies kept with saved analyses and printed reports. */
export const THUMBNAIL_SIDE = 160
export const THUMBNAIL_QUALITY = 0.7

/**
 * A small JPEG of the photo (long side at most `maxSide`) as a `data:` URL, to keep
 * on the device with a saved analysis; null when this browser cannot decode the file.
 */
export async function makeThumbnail(
  file: Blob,
  codec: ImageCodec = browserCodec,
  maxSide: number = THUMBNAIL_SIDE,
  quality: number = THUMBNAIL_QUALITY,
): Promise<string | null> {
  let decoded: DecodedImage | null
  try {
    decoded = await codec.decode(file)
  } catch {
    return null
  }
  if (!decoded) return null
  try {
    if (decoded.width < 1 || decoded.height < 1) return null
    const size = fitWithin(decoded.width, decoded.height, maxSide)
    const jpeg = await codec.encodeJpeg(decoded, size.width, size.height, quality)
    if (!jpeg || jpeg.size === 0 || jpeg.type !== 'image/jpeg') return null
    return await blobToDataUrl(jpeg)
  } catch {
    return null
  } finally {
    decoded.close()
  }
}

async function blobToDataUrl(blob: Blob): Promise<string> {
  const bytes = new Uint8Array(await blob.arrayBuffer())
  let binary = ''
  const CHUNK = 0x8000
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode(...bytes.subarray(i, i + CHUNK))
  }
  return `data:${blob.type};base64,${btoa(binary)}`
}

async function decodeWithBitmap(file: Blob): Promise<DecodedImage | null> {
  if (typeof createImageBitmap !== 'function') return null
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' })
    return { width: bitmap.width, height: bitmap.height, source: bitmap, close: () => bitmap.close() }
  } catch {
    return null
  }
}

async function decodeWithImg(file: Blob): Promise<DecodedImage | null> {
  if (typeof document === 'undefined' || typeof URL.createObjectURL !== 'function') return null
  const image = document.createElement('img')
  if (typeof image.decode !== 'function') return null
  const url = URL.createObjectURL(file)
  const close = () => URL.revokeObjectURL(url)
  try {
    image.src = url
    await image.decode()
    return { width: image.naturalWidth, height: image.naturalHeight, source: image, close }
  } catch {
    close()
    return null
  }
}

function draw(
  context: OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D,
  image: DecodedImage,
  width: number,
  height: number,
): void {
  // JPEG has no alpha: flatten transparent PNGs onto white, not black.
  context.fillStyle = '#ffffff'
  context.fillRect(0, 0, width, height)
  context.imageSmoothingEnabled = true
  context.imageSmoothingQuality = 'high'
  context.drawImage(image.source, 0, 0, width, height)
}

async function encodeJpeg(image: DecodedImage, width: number, height: number, quality: number): Promise<Blob | null> {
  if (typeof OffscreenCanvas === 'function') {
    try {
      const canvas = new OffscreenCanvas(width, height)
      const context = canvas.getContext('2d')
      if (context) {
        draw(context, image, width, height)
        return await canvas.convertToBlob({ type: 'image/jpeg', quality })
      }
    } catch {
      // Fall back to a DOM canvas (e.g. an <img> source in an older browser).
    }
  }
  if (typeof document === 'undefined') return null
  const canvas = document.createElement('canvas')
  canvas.width = width
  canvas.height = height
  const context = canvas.getContext('2d')
  if (!context) return null
  draw(context, image, width, height)
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality))
}

/** The real browser: createImageBitmap (else an <img>), OffscreenCanvas (else a <canvas>). */
export const browserCodec: ImageCodec = {
  decode: async (file) => (await decodeWithBitmap(file)) ?? (await decodeWithImg(file)),
  encodeJpeg,
}
