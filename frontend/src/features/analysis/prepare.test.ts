import { describe, expect, it, vi } from 'vitest'
import {
  browserCodec,
  type DecodedImage,
  fitWithin,
  type ImageCodec,
  jpegFilename,
  makeThumbnail,
  prepareImage,
} from './prepare'

function photo(bytes = 4000, name = 'IMG_0042.HEIC', type = 'image/heic') {
  return new File([new Uint8Array(bytes)], name, { type })
}

function decoded(width: number, height: number) {
  const close = vi.fn()
  const image: DecodedImage = { width, height, source: {} as CanvasImageSource, close }
  return { image, close }
}

describe('fitWithin', () => {
  it('scales the long side down to the limit, keeping the aspect ratio', () => {
    expect(fitWithin(4032, 3024, 2048)).toEqual({ width: 2048, height: 1536 })
    expect(fitWithin(3000, 6000, 2048)).toEqual({ width: 1024, height: 2048 })
  })

  it('never scales up', () => {
    expect(fitWithin(800, 600, 2048)).toEqual({ width: 800, height: 600 })
  })
})

describe('jpegFilename', () => {
  it('replaces the extension, or names a nameless paste', () => {
    expect(jpegFilename('IMG_0042.HEIC')).toBe('IMG_0042.jpg')
    expect(jpegFilename('шов.v2.png')).toBe('шов.v2.jpg')
    expect(jpegFilename('')).toBe('photo.jpg')
  })
})

describe('prepareImage', () => {
  it('re-encodes a decodable photo as a downsized JPEG and records both sizes', async () => {
    const { image, close } = decoded(4032, 3024)
    const jpeg = new Blob([new Uint8Array(300)], { type: 'image/jpeg' })
    const codec: ImageCodec = {
      decode: vi.fn(() => Promise.resolve(image)),
      encodeJpeg: vi.fn(() => Promise.resolve(jpeg)),
    }

    const prepared = await prepareImage(photo(4000), codec)

    expect(codec.encodeJpeg).toHaveBeenCalledWith(image, 2048, 1536, 0.85)
    expect(prepared).toEqual({
      blob: jpeg,
      filename: 'IMG_0042.jpg',
      originalBytes: 4000,
      preparedBytes: 300,
      reencoded: true,
    })
    expect(close).toHaveBeenCalledOnce()
  })

  it('sends the original file when the browser cannot decode it', async () => {
    const file = photo(5000)
    const codec: ImageCodec = { decode: () => Promise.resolve(null), encodeJpeg: vi.fn() }

    const prepared = await prepareImage(file, codec)

    expect(prepared).toEqual({
      blob: file,
      filename: 'IMG_0042.HEIC',
      originalBytes: 5000,
      preparedBytes: 5000,
      reencoded: false,
    })
    expect(codec.encodeJpeg).not.toHaveBeenCalled()
  })

  it('sends the original file when encoding fails or yields no JPEG', async () => {
    const file = photo()
    for (const encodeJpeg of [
      () => Promise.reject(new Error('canvas too large')),
      () => Promise.resolve(null),
      () => Promise.resolve(new Blob(['png'], { type: 'image/png' })),
    ]) {
      const { image, close } = decoded(100, 100)
      const prepared = await prepareImage(file, { decode: () => Promise.resolve(image), encodeJpeg })
      expect(prepared.blob).toBe(file)
      expect(prepared.reencoded).toBe(false)
      expect(close).toHaveBeenCalledOnce()
    }
  })

  it('sends the original file when decoding throws', async () => {
    const file = photo()
    const prepared = await prepareImage(file, {
      decode: () => Promise.reject(new Error('corrupt')),
      encodeJpeg: vi.fn(),
    })
    expect(prepared.blob).toBe(file)
  })

  it('falls back to the original in a browser without image decoding (jsdom)', async () => {
    const file = photo(123, 'weld.jpg', 'image/jpeg')
    const prepared = await prepareImage(file, browserCodec)
    expect(prepared).toMatchObject({ blob: file, filename: 'weld.jpg', reencoded: false })
  })
})

describe('makeThumbnail', () => {
  it('makes a JPEG data URL whose long side is at most 160 px', async () => {
    const { image, close } = decoded(2048, 1365)
    const codec: ImageCodec = {
      decode: vi.fn(() => Promise.resolve(image)),
      encodeJpeg: vi.fn(() => Promise.resolve(new Blob([new Uint8Array([0xff, 0xd8, 0xff])], { type: 'image/jpeg' }))),
    }

    const url = await makeThumbnail(new Blob(['x'], { type: 'image/jpeg' }), codec)

    expect(codec.encodeJpeg).toHaveBeenCalledWith(image, 160, 107, 0.7)
    expect(url).toBe('data:image/jpeg;base64,/9j/')
    expect(close).toHaveBeenCalledOnce()
  })

  it('gives null for a photo this browser cannot decode', async () => {
    const codec: ImageCodec = { decode: () => Promise.resolve(null), encodeJpeg: vi.fn() }

    expect(await makeThumbnail(new Blob(['x']), codec)).toBeNull()
    expect(codec.encodeJpeg).not.toHaveBeenCalled()
  })
})
