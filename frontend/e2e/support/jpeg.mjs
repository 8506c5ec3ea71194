// Hand-built JPEG bits for the analyzer test: an EXIF APP1 segment carrying a
// GPS IFD, splicing it after SOI, and reading a JPEG's segments back.

const EXIF_HEADER = Buffer.from('Exif\0\0', 'latin1')

/**
 * An APP1 segment (FF E1, length, "Exif\0\0", big-endian TIFF) whose IFD0
 * holds Make = "E2E-CANARY-CAM" and a GPSInfo pointer to a GPS IFD with
 * version, latitude 53°54' N and longitude 27°33' E.
 */
export function exifGpsSegment() {
  const tiff = Buffer.alloc(180)
  let p = 0
  const u16 = (v) => {
    tiff.writeUInt16BE(v, p)
    p += 2
  }
  const u32 = (v) => {
    tiff.writeUInt32BE(v, p)
    p += 4
  }
  const entry = (tag, type, count, value) => {
    u16(tag)
    u16(type)
    u32(count)
    if (Buffer.isBuffer(value)) {
      value.copy(tiff, p, 0, 4)
      p += 4
    } else {
      u32(value)
    }
  }
  // TIFF header: "MM", 42, offset of IFD0 = 8.
  tiff.write('MM', 0, 'latin1')
  p = 2
  u16(42)
  u32(8)
  // IFD0 at 8: 2 entries → 2 + 24 + 4 = 30 bytes, so it ends at 38.
  const makeOffset = 38 // "E2E-CANARY-CAM\0" = 15 bytes → 38..53
  const gpsIfdOffset = 54
  u16(2)
  entry(0x010f, 2, 15, makeOffset) // Make, ASCII
  entry(0x8825, 4, 1, gpsIfdOffset) // GPSInfo IFD pointer, LONG
  u32(0) // no IFD1
  tiff.write('E2E-CANARY-CAM\0', makeOffset, 'latin1')
  // GPS IFD at 54: 5 entries → 2 + 60 + 4 = 66 bytes, ends at 120.
  const latOffset = 120
  const lonOffset = 144
  p = gpsIfdOffset
  u16(5)
  entry(0x0000, 1, 4, Buffer.from([2, 3, 0, 0])) // GPSVersionID
  entry(0x0001, 2, 2, Buffer.from('N\0\0\0', 'latin1')) // GPSLatitudeRef
  entry(0x0002, 5, 3, latOffset) // GPSLatitude, 3 RATIONALs
  entry(0x0003, 2, 2, Buffer.from('E\0\0\0', 'latin1')) // GPSLongitudeRef
  entry(0x0004, 5, 3, lonOffset) // GPSLongitude
  u32(0)
  p = latOffset
  for (const [num, den] of [
    [53, 1],
    [54, 1],
    [1234, 100],
  ]) {
    u32(num)
    u32(den)
  }
  p = lonOffset
  for (const [num, den] of [
    [27, 1],
    [33, 1],
    [5678, 100],
  ]) {
    u32(num)
    u32(den)
  }
  const tiffBytes = tiff.subarray(0, p)
  const length = 2 + EXIF_HEADER.length + tiffBytes.length
  const head = Buffer.from([0xff, 0xe1, length >> 8, length & 0xff])
  return Buffer.concat([head, EXIF_HEADER, tiffBytes])
}

/** `jpeg` with `segment` inserted right after SOI. */
export function spliceAfterSoi(jpeg, segment) {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG (no SOI)')
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)])
}

/**
 * The marker segments of a JPEG up to the first SOS:
 * [{ marker, offset, length, data }] (data excludes the length bytes).
 */
export function jpegSegments(jpeg) {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) throw new Error('not a JPEG (no SOI)')
  const segments = []
  let i = 2
  while (i + 4 <= jpeg.length) {
    if (jpeg[i] !== 0xff) throw new Error(`no marker at offset ${i}`)
    let marker = jpeg[i + 1]
    while (marker === 0xff) {
      i += 1
      marker = jpeg[i + 1]
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2
      continue
    }
    const length = jpeg.readUInt16BE(i + 2)
    segments.push({ marker, offset: i, length, data: jpeg.subarray(i + 4, i + 2 + length) })
    if (marker === 0xda) break // SOS: entropy-coded data follows
    i += 2 + length
  }
  return segments
}

/** { width, height, marker } from the first SOFn segment, or null. */
export function jpegFrameSize(jpeg) {
  for (const segment of jpegSegments(jpeg)) {
    const m = segment.marker
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return { marker: m, height: segment.data.readUInt16BE(1), width: segment.data.readUInt16BE(3) }
    }
  }
  return null
}

/** Whether the JPEG has an APP1 segment starting "Exif\0\0". */
export function hasExifApp1(jpeg) {
  return jpegSegments(jpeg).some(
    (segment) => segment.marker === 0xe1 && segment.data.subarray(0, 6).equals(EXIF_HEADER),
  )
}

/** Whether "Exif\0\0" occurs anywhere in the bytes. */
export function containsExifHeader(bytes) {
  return bytes.indexOf(EXIF_HEADER) !== -1
}
