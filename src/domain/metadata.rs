//! Removal of personal metadata (GPS position, camera, owner, edit history) from
//! a photo before it leaves for Google, without re-encoding its pixels. Each
//! format is walked by a small parser of its container, and everything that is
//! not needed to decode the picture is dropped:
//!
//! - JPEG: every APPn segment except APP0 `JFIF`, APP2 `ICC_PROFILE` and APP14
//!   `Adobe` (so EXIF, standard and extended XMP, MPF, IPTC/Photoshop and vendor
//!   blocks go, wherever they stand, also between the scans of a progressive file),
//!   every comment (`COM`), and every byte after the primary image's end marker
//!   (MPF secondary images and their own EXIF).
//! - PNG: every ancillary chunk except the ones that change how pixels look
//!   (`PLTE`, `tRNS`, `gAMA`, `cHRM`, `sRGB`, `iCCP`, `cICP`, `sBIT`, `bKGD`,
//!   `pHYs`, the APNG chunks, …): `eXIf`, `tEXt`, `zTXt`, `iTXt` (ImageMagick's
//!   `Raw profile type exif`, XMP), `tIME` and vendor chunks go; bytes after `IEND` too.
//! - WebP: every chunk except `VP8 `, `VP8L`, `VP8X`, `ALPH`, `ANIM`, `ANMF` and
//!   `ICCP`; the `VP8X` EXIF/XMP flags are cleared and the RIFF size fixed.
//! - HEIC/HEIF: the payload of every `Exif`, `mime` (XMP) and `uri ` item of a
//!   `meta` box, located through `iloc`, is overwritten with zeros, as is an XMP
//!   `uuid` box, so the file keeps its structure and decoders still open it.
//!
//! A file whose container cannot be walked is refused, never forwarded as it is.
//! The EXIF orientation of a JPEG, PNG or WebP is read before it is dropped and
//! returned, so the prompt can tell the model how to turn the photo. This module
//! knows nothing of HTTP or of the prompt's wording.

/// Why a file could not be walked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unparseable;

/// A photo without its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stripped {
    /// The file, metadata removed.
    pub bytes: Vec<u8>,
    /// The EXIF orientation (2–8) the dropped metadata carried, when it was not
    /// the upright 1. Never set for HEIC/HEIF, whose rotation lives in the kept
    /// `irot`/`imir` properties that decoders apply.
    pub orientation: Option<u8>,
}

/// JPEG: see the module documentation.
pub fn strip_jpeg(b: &[u8]) -> Result<Stripped, Unparseable> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return Err(Unparseable);
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&[0xFF, 0xD8]);
    let mut orientation = None;
    let mut pos = 2;
    loop {
        if pos >= b.len() {
            // Ends without EOI (a truncated upload): what was kept is still clean.
            break;
        }
        if b[pos] != 0xFF {
            return Err(Unparseable);
        }
        while pos < b.len() && b[pos] == 0xFF {
            pos += 1;
        }
        let Some(&marker) = b.get(pos) else {
            return Err(Unparseable);
        };
        pos += 1;
        match marker {
            0xD9 => {
                // The primary image ends; anything after it (MPF images) is dropped.
                out.extend_from_slice(&[0xFF, 0xD9]);
                break;
            }
            0x00 | 0xD8 => return Err(Unparseable),
            0x01 | 0xD0..=0xD7 => out.extend_from_slice(&[0xFF, marker]),
            _ => {
                let len = read_u16_be(b, pos).ok_or(Unparseable)? as usize;
                if len < 2 || pos + len > b.len() {
                    return Err(Unparseable);
                }
                let contents = &b[pos + 2..pos + len];
                let segment = &b[pos - 2..pos + len];
                pos += len;
                if marker == 0xE1 && orientation.is_none() {
                    if let Some(tiff) = contents.strip_prefix(b"Exif\0\0") {
                        orientation = tiff_orientation(tiff);
                    }
                }
                if keep_jpeg_segment(marker, contents) {
                    out.extend_from_slice(segment);
                }
                if marker == 0xDA {
                    let end = entropy_end(b, pos);
                    out.extend_from_slice(&b[pos..end]);
                    pos = end;
                }
            }
        }
    }
    Ok(Stripped {
        bytes: out,
        orientation: orientation.filter(|o| (2..=8).contains(o)),
    })
}

fn keep_jpeg_segment(marker: u8, contents: &[u8]) -> bool {
    match marker {
        0xE0 => contents.starts_with(b"JFIF\0"),
        0xE2 => contents.starts_with(b"ICC_PROFILE\0"),
        0xEE => contents.starts_with(b"Adobe"),
        0xE1 | 0xE3..=0xED | 0xEF | 0xFE => false,
        _ => true,
    }
}

/// The end of entropy-coded data: the first marker that is not a stuffed zero,
/// a restart marker or fill (or the end of the file).
fn entropy_end(b: &[u8], mut pos: usize) -> usize {
    while pos + 1 < b.len() {
        if b[pos] == 0xFF {
            match b[pos + 1] {
                0x00 | 0xD0..=0xD7 => pos += 2,
                _ => return pos,
            }
        } else {
            pos += 1;
        }
    }
    b.len()
}

/// PNG ancillary chunks that affect how the pixels look, or animate them.
const PNG_KEPT_ANCILLARY: [&[u8; 4]; 14] = [
    b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP", b"mDCV", b"cLLI", b"sBIT", b"bKGD", b"pHYs",
    b"acTL", b"fcTL", b"fdAT",
];

/// PNG: see the module documentation.
pub fn strip_png(b: &[u8]) -> Result<Stripped, Unparseable> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if !b.starts_with(SIGNATURE) {
        return Err(Unparseable);
    }
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(SIGNATURE);
    let mut orientation = None;
    let mut pos = SIGNATURE.len();
    let mut first = true;
    loop {
        let len = read_u32_be(b, pos).ok_or(Unparseable)? as usize;
        let kind: [u8; 4] = b
            .get(pos + 4..pos + 8)
            .and_then(|k| k.try_into().ok())
            .ok_or(Unparseable)?;
        if !kind.iter().all(u8::is_ascii_alphabetic) || (first && &kind != b"IHDR") {
            return Err(Unparseable);
        }
        first = false;
        let end = (pos + 12).checked_add(len).ok_or(Unparseable)?;
        if end > b.len() {
            return Err(Unparseable);
        }
        let data = &b[pos + 8..pos + 8 + len];
        if &kind == b"eXIf" && orientation.is_none() {
            orientation = tiff_orientation(data);
        }
        let critical = kind[0].is_ascii_uppercase();
        if critical || PNG_KEPT_ANCILLARY.contains(&&kind) {
            out.extend_from_slice(&b[pos..end]);
        }
        pos = end;
        if &kind == b"IEND" {
            break;
        }
    }
    Ok(Stripped {
        bytes: out,
        orientation: orientation.filter(|o| (2..=8).contains(o)),
    })
}

/// WebP chunks needed to decode (and animate) the picture.
const WEBP_KEPT: [&[u8; 4]; 7] = [b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"];

/// WebP: see the module documentation.
pub fn strip_webp(b: &[u8]) -> Result<Stripped, Unparseable> {
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WEBP" {
        return Err(Unparseable);
    }
    let riff_end = (read_u32_le(b, 4).ok_or(Unparseable)? as usize)
        .checked_add(8)
        .ok_or(Unparseable)?;
    if riff_end > b.len() || riff_end < 12 {
        return Err(Unparseable);
    }
    let b = &b[..riff_end];
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let mut orientation = None;
    let mut pos = 12;
    let mut vp8x_at = None;
    while pos < b.len() {
        let kind: [u8; 4] = b
            .get(pos..pos + 4)
            .and_then(|k| k.try_into().ok())
            .ok_or(Unparseable)?;
        let len = read_u32_le(b, pos + 4).ok_or(Unparseable)? as usize;
        let data_end = (pos + 8).checked_add(len).ok_or(Unparseable)?;
        if data_end > b.len() {
            return Err(Unparseable);
        }
        let end = (data_end + (len & 1)).min(b.len());
        let data = &b[pos + 8..data_end];
        if &kind == b"EXIF" && orientation.is_none() {
            orientation = tiff_orientation(data.strip_prefix(b"Exif\0\0").unwrap_or(data));
        }
        if WEBP_KEPT.contains(&&kind) {
            if &kind == b"VP8X" && vp8x_at.is_none() && !data.is_empty() {
                vp8x_at = Some(out.len() + 8);
            }
            out.extend_from_slice(&b[pos..end]);
            if end == data_end && len & 1 == 1 {
                out.push(0);
            }
        }
        pos = end;
    }
    if let Some(flags) = vp8x_at {
        // libwebp: EXIF_FLAG 0x08, XMP_FLAG 0x04.
        out[flags] &= !0x0C;
    }
    let size = u32::try_from(out.len() - 8).map_err(|_| Unparseable)?;
    out[4..8].copy_from_slice(&size.to_le_bytes());
    Ok(Stripped {
        bytes: out,
        orientation: orientation.filter(|o| (2..=8).contains(o)),
    })
}

/// The UUID of an XMP `uuid` box.
const XMP_UUID: [u8; 16] = [
    0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC,
];

/// HEIC/HEIF: see the module documentation.
pub fn strip_heif(b: &[u8]) -> Result<Stripped, Unparseable> {
    let mut zero = Vec::new();
    walk_boxes(b, 0, b.len(), 0, &mut zero)?;
    let mut out = b.to_vec();
    for (start, end) in zero {
        out[start..end].fill(0);
    }
    Ok(Stripped {
        bytes: out,
        orientation: None,
    })
}

/// One ISO-BMFF box: its type and the range of its body.
struct BoxRef {
    kind: [u8; 4],
    body: usize,
    end: usize,
}

/// The boxes in `b[start..end]`, in order.
fn boxes(b: &[u8], start: usize, end: usize) -> Result<Vec<BoxRef>, Unparseable> {
    let mut found = Vec::new();
    let mut pos = start;
    while pos < end {
        let size = read_u32_be(b, pos).ok_or(Unparseable)? as u64;
        let kind: [u8; 4] = b
            .get(pos + 4..pos + 8)
            .and_then(|k| k.try_into().ok())
            .ok_or(Unparseable)?;
        let (body, box_end) = match size {
            0 => (pos + 8, end),
            1 => {
                let large = read_u64_be(b, pos + 8).ok_or(Unparseable)?;
                let large = usize::try_from(large).map_err(|_| Unparseable)?;
                (pos + 16, pos.checked_add(large).ok_or(Unparseable)?)
            }
            n => (pos + 8, pos + n as usize),
        };
        if box_end < body || box_end > end {
            return Err(Unparseable);
        }
        found.push(BoxRef {
            kind,
            body,
            end: box_end,
        });
        pos = box_end;
    }
    Ok(found)
}

/// Finds `meta` boxes (at the top and in movie/track/user-data boxes) and the
/// XMP `uuid` boxes, collecting the byte ranges to overwrite.
fn walk_boxes(
    b: &[u8],
    start: usize,
    end: usize,
    depth: u8,
    zero: &mut Vec<(usize, usize)>,
) -> Result<(), Unparseable> {
    if depth > 8 {
        return Err(Unparseable);
    }
    for found in boxes(b, start, end)? {
        match &found.kind {
            b"meta" => strip_meta(b, &found, zero)?,
            b"moov" | b"trak" | b"udta" | b"mdia" | b"minf" => {
                walk_boxes(b, found.body, found.end, depth + 1, zero)?;
            }
            b"uuid" if b.get(found.body..found.body + 16) == Some(&XMP_UUID[..]) => {
                zero.push((found.body + 16, found.end));
            }
            _ => {}
        }
    }
    Ok(())
}

/// One `iloc` entry: where an item's bytes are.
struct Location {
    item: u32,
    method: u8,
    data_reference: u16,
    extents: Vec<(u64, u64)>,
}

fn strip_meta(b: &[u8], meta: &BoxRef, zero: &mut Vec<(usize, usize)>) -> Result<(), Unparseable> {
    // `meta` is a full box: version and flags before its children.
    let children = boxes(b, meta.body + 4, meta.end)?;
    let mut metadata_items = Vec::new();
    let mut locations = Vec::new();
    let mut idat = None;
    for child in &children {
        match &child.kind {
            b"iinf" => metadata_items = metadata_item_ids(b, child)?,
            b"iloc" => locations = parse_iloc(b, child)?,
            b"idat" => idat = Some((child.body, child.end)),
            _ => {}
        }
    }
    // A metadata item with no known place could be anywhere: refuse the file.
    if metadata_items
        .iter()
        .any(|id| !locations.iter().any(|l| l.item == *id))
    {
        return Err(Unparseable);
    }
    for location in locations.iter().filter(|l| metadata_items.contains(&l.item)) {
        if location.data_reference != 0 {
            continue; // in another file: nothing of it is here
        }
        let (origin, limit) = match location.method {
            0 => (0, b.len()),
            1 => idat.ok_or(Unparseable)?,
            _ => return Err(Unparseable),
        };
        for &(offset, length) in &location.extents {
            let start = usize::try_from(offset)
                .ok()
                .and_then(|o| origin.checked_add(o))
                .ok_or(Unparseable)?;
            let end = usize::try_from(length)
                .ok()
                .and_then(|l| start.checked_add(l))
                .ok_or(Unparseable)?;
            if length == 0 || end > limit {
                return Err(Unparseable);
            }
            zero.push((start, end));
        }
    }
    Ok(())
}

/// The ids of the `Exif`, `mime` and `uri ` items (and of old-style `infe` v0/v1
/// items, which are all MIME-typed) in an `iinf` box.
fn metadata_item_ids(b: &[u8], iinf: &BoxRef) -> Result<Vec<u32>, Unparseable> {
    let version = *b.get(iinf.body).ok_or(Unparseable)?;
    let entries = if version == 0 {
        iinf.body + 6
    } else {
        iinf.body + 8
    };
    if entries > iinf.end {
        return Err(Unparseable);
    }
    let mut ids = Vec::new();
    for infe in boxes(b, entries, iinf.end)? {
        if &infe.kind != b"infe" {
            continue;
        }
        let version = *b.get(infe.body).ok_or(Unparseable)?;
        let at = infe.body + 4;
        let (id, kind) = match version {
            0 | 1 => (read_u16_be(b, at).map(u32::from), Some(*b"mime")),
            2 => (
                read_u16_be(b, at).map(u32::from),
                b.get(at + 4..at + 8).and_then(|k| k.try_into().ok()),
            ),
            3 => (
                read_u32_be(b, at),
                b.get(at + 6..at + 10).and_then(|k| k.try_into().ok()),
            ),
            _ => return Err(Unparseable),
        };
        let needed = at + [2, 2, 8, 10][usize::from(version)];
        let (id, kind) = (id.ok_or(Unparseable)?, kind.ok_or(Unparseable)?);
        if needed > infe.end {
            return Err(Unparseable);
        }
        if matches!(&kind, b"Exif" | b"mime" | b"uri ") {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// A big-endian unsigned number of 0, 4 or 8 bytes, moving the cursor.
fn read_sized(b: &[u8], pos: &mut usize, size: u8) -> Result<u64, Unparseable> {
    let value = match size {
        0 => 0,
        4 => u64::from(read_u32_be(b, *pos).ok_or(Unparseable)?),
        8 => read_u64_be(b, *pos).ok_or(Unparseable)?,
        _ => return Err(Unparseable),
    };
    *pos += usize::from(size);
    Ok(value)
}

fn parse_iloc(b: &[u8], iloc: &BoxRef) -> Result<Vec<Location>, Unparseable> {
    let body = b.get(iloc.body..iloc.end).ok_or(Unparseable)?;
    let version = *body.first().ok_or(Unparseable)?;
    if version > 2 {
        return Err(Unparseable);
    }
    let sizes = body.get(4..6).ok_or(Unparseable)?;
    let (offset_size, length_size) = (sizes[0] >> 4, sizes[0] & 0x0F);
    let base_offset_size = sizes[1] >> 4;
    let index_size = if version > 0 { sizes[1] & 0x0F } else { 0 };
    let mut pos = 6;
    let count = if version < 2 {
        let n = read_u16_be(body, pos).ok_or(Unparseable)?;
        pos += 2;
        u32::from(n)
    } else {
        let n = read_u32_be(body, pos).ok_or(Unparseable)?;
        pos += 4;
        n
    };
    let mut locations = Vec::new();
    for _ in 0..count {
        let item = if version < 2 {
            let n = read_u16_be(body, pos).ok_or(Unparseable)?;
            pos += 2;
            u32::from(n)
        } else {
            let n = read_u32_be(body, pos).ok_or(Unparseable)?;
            pos += 4;
            n
        };
        let method = if version > 0 {
            let n = read_u16_be(body, pos).ok_or(Unparseable)?;
            pos += 2;
            (n & 0x0F) as u8
        } else {
            0
        };
        let data_reference = read_u16_be(body, pos).ok_or(Unparseable)?;
        pos += 2;
        let base = read_sized(body, &mut pos, base_offset_size)?;
        let extent_count = read_u16_be(body, pos).ok_or(Unparseable)?;
        pos += 2;
        let mut extents = Vec::new();
        for _ in 0..extent_count {
            read_sized(body, &mut pos, index_size)?;
            let offset = read_sized(body, &mut pos, offset_size)?;
            let length = read_sized(body, &mut pos, length_size)?;
            extents.push((base.checked_add(offset).ok_or(Unparseable)?, length));
        }
        locations.push(Location {
            item,
            method,
            data_reference,
            extents,
        });
    }
    Ok(locations)
}

/// The Orientation tag (0x0112) of IFD0 of a TIFF-structured EXIF block.
pub fn tiff_orientation(tiff: &[u8]) -> Option<u8> {
    let little = match tiff.get(0..2)? {
        b"II" => true,
        b"MM" => false,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let bytes: [u8; 2] = tiff.get(at..at + 2)?.try_into().ok()?;
        Some(if little {
            u16::from_le_bytes(bytes)
        } else {
            u16::from_be_bytes(bytes)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let bytes: [u8; 4] = tiff.get(at..at + 4)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(bytes)
        } else {
            u32::from_be_bytes(bytes)
        })
    };
    if u16_at(2)? != 42 {
        return None;
    }
    let ifd = u32_at(4)? as usize;
    let entries = u16_at(ifd)?;
    for i in 0..usize::from(entries) {
        let entry = ifd.checked_add(2 + 12 * i)?;
        if u16_at(entry)? == 0x0112 && u16_at(entry + 2)? == 3 {
            return u8::try_from(u16_at(entry + 8)?).ok();
        }
    }
    None
}

/// `N` bytes of `b` at `at`, if they are all there.
fn bytes_at<const N: usize>(b: &[u8], at: usize) -> Option<[u8; N]> {
    b.get(at..at.checked_add(N)?)?.try_into().ok()
}

fn read_u16_be(b: &[u8], at: usize) -> Option<u16> {
    bytes_at(b, at).map(u16::from_be_bytes)
}

fn read_u32_be(b: &[u8], at: usize) -> Option<u32> {
    bytes_at(b, at).map(u32::from_be_bytes)
}

fn read_u32_le(b: &[u8], at: usize) -> Option<u32> {
    bytes_at(b, at).map(u32::from_le_bytes)
}

fn read_u64_be(b: &[u8], at: usize) -> Option<u64> {
    bytes_at(b, at).map(u64::from_be_bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const MARK: &[u8] = b"GPSMARKER";

    fn has(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    fn segment(marker: u8, contents: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&((contents.len() + 2) as u16).to_be_bytes());
        s.extend_from_slice(contents);
        s
    }

    /// Big-endian TIFF with only IFD0 Orientation.
    fn tiff(orientation: u8) -> Vec<u8> {
        let mut t = b"MM\0\x2A\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0".to_vec();
        t.extend_from_slice(&[orientation, 0, 0, 0, 0, 0, 0]);
        t
    }

    #[test]
    fn orientation_is_read_from_either_byte_order() {
        assert_eq!(tiff_orientation(&tiff(6)), Some(6));
        let little = b"II\x2A\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x08\0\0\0\0\0\0\0";
        assert_eq!(tiff_orientation(little), Some(8));
        assert_eq!(tiff_orientation(b"MM\0\x2A\xFF\xFF\xFF\xFF"), None);
        assert_eq!(tiff_orientation(b""), None);
    }

    #[test]
    fn jpeg_keeps_decoding_segments_and_drops_metadata_anywhere() {
        let mut exif = b"Exif\0\0".to_vec();
        exif.extend(tiff(6));
        exif.extend_from_slice(MARK);
        let mut file = vec![0xFF, 0xD8];
        file.extend(segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        file.extend(segment(0xE1, &exif));
        file.extend(segment(0xE2, b"ICC_PROFILE\0\x01\x01icc"));
        file.extend(segment(0xE2, b"MPF\0GPSMARKER"));
        file.extend(segment(0xEE, b"Adobe\0\x64\0\0\0\0\x01"));
        file.extend(segment(0xDB, &[0; 65]));
        file.extend(segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
        file.extend_from_slice(&[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
        file.extend(segment(0xE1, b"http://ns.adobe.com/xmp/extension/\0GPSMARKER"));
        file.extend(segment(0xFE, b"GPSMARKER comment"));
        file.extend(segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
        file.extend_from_slice(&[0x78, 0xFF, 0xD9]);
        file.extend_from_slice(b"\xFF\xD8\xFF\xE1\0\x0BExif\0GPSMARKER\xFF\xD9");
        let out = strip_jpeg(&file).unwrap();
        assert_eq!(out.orientation, Some(6));
        assert!(
            !has(&out.bytes, MARK) && !has(&out.bytes, b"MPF"),
            "{:02x?}",
            out.bytes
        );
        for kept in [
            &b"JFIF"[..],
            b"ICC_PROFILE",
            b"Adobe",
            &[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56],
            &[0x78],
        ] {
            assert!(has(&out.bytes, kept), "{kept:02x?} lost");
        }
        assert!(out.bytes.ends_with(&[0x78, 0xFF, 0xD9]));
        // Malformed: a length past the end, a second SOI, a non-marker byte.
        for bad in [
            &b"\xFF\xD8\xFF\xE1\x01\x00Exif"[..],
            b"\xFF\xD8\xFF\xD8",
            b"\xFF\xD8\x00\x00",
            b"\xFF\xD8\xFF\xE1\x00\x01",
        ] {
            assert_eq!(strip_jpeg(bad), Err(Unparseable), "{bad:02x?}");
        }
    }

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        c.extend_from_slice(&[0; 4]);
        c
    }

    #[test]
    fn png_keeps_colour_chunks_and_drops_text_exif_and_trailing_bytes() {
        let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
        file.extend(png_chunk(b"IHDR", &[0; 13]));
        file.extend(png_chunk(b"iCCP", b"icc\0\0zz"));
        file.extend(png_chunk(b"tEXt", b"Raw profile type exif\0GPSMARKER"));
        file.extend(png_chunk(b"zTXt", b"Raw profile type xmp\0\0GPSMARKER"));
        file.extend(png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0GPSMARKER"));
        file.extend(png_chunk(b"eXIf", &[tiff(8), MARK.to_vec()].concat()));
        file.extend(png_chunk(b"IDAT", b"pixels"));
        file.extend(png_chunk(b"IEND", b""));
        file.extend_from_slice(b"GPSMARKER after the end");
        let out = strip_png(&file).unwrap();
        assert_eq!(out.orientation, Some(8));
        assert!(!has(&out.bytes, MARK));
        assert!(has(&out.bytes, b"iCCP") && has(&out.bytes, b"pixels"));
        assert!(out.bytes.ends_with(&png_chunk(b"IEND", b"")));
        assert_eq!(strip_png(&file[..file.len() - 40]), Err(Unparseable));
        assert_eq!(
            strip_png(b"\x89PNG\r\n\x1a\n\0\0\0\0IDAT\0\0\0\0"),
            Err(Unparseable)
        );
    }

    #[test]
    fn webp_drops_exif_and_xmp_and_clears_their_flags() {
        let mut body = b"WEBPVP8X\x0A\0\0\0\x2C\0\0\0\x1F\0\0\x1F\0\0".to_vec();
        body.extend_from_slice(b"VP8L\x05\0\0\0abcde\0");
        body.extend_from_slice(b"EXIF\x09\0\0\0GPSMARKER\0");
        body.extend_from_slice(b"XMP \x09\0\0\0GPSMARKER\0");
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&(body.len() as u32).to_le_bytes());
        file.extend(body);
        let out = strip_webp(&file).unwrap();
        assert!(!has(&out.bytes, MARK));
        assert_eq!(out.bytes[20], 0x20, "ICC flag kept, EXIF/XMP cleared");
        assert_eq!(
            u32::from_le_bytes(out.bytes[4..8].try_into().unwrap()) as usize,
            out.bytes.len() - 8
        );
        assert!(has(&out.bytes, b"VP8L\x05\0\0\0abcde\0"));
        let mut short = file.clone();
        short[4] = 0xFF;
        assert_eq!(strip_webp(&short), Err(Unparseable));
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// A JPEG piece: (kind, payload).
        fn jpeg_piece() -> impl Strategy<Value = (u8, Vec<u8>)> {
            (0u8..9, prop::collection::vec(any::<u8>(), 0..40))
        }

        fn no_marker(bytes: Vec<u8>) -> Vec<u8> {
            bytes
                .into_iter()
                .map(|b| if b == b'G' { b'g' } else { b })
                .collect()
        }

        proptest! {
            #[test]
            fn jpeg_layouts_never_let_a_marker_through(
                pieces in prop::collection::vec(jpeg_piece(), 0..14),
                end in any::<bool>(),
            ) {
                let mut file = vec![0xFF, 0xD8];
                let mut kept = 0;
                for (kind, payload) in pieces {
                    let payload = no_marker(payload);
                    let with_mark = |prefix: &[u8]| [prefix, MARK, &payload].concat();
                    match kind {
                        0 => file.extend(segment(0xE1, &with_mark(b"Exif\0\0"))),
                        1 => file.extend(segment(0xE1, &with_mark(b"http://ns.adobe.com/xap/1.0/\0"))),
                        2 => file.extend(segment(0xE1, &with_mark(b"http://ns.adobe.com/xmp/extension/\0"))),
                        3 => file.extend(segment(0xE3 + payload.len() as u8 % 12, &with_mark(b""))),
                        4 => file.extend(segment(0xFE, &with_mark(b""))),
                        5 => {
                            file.extend(segment(0xE0, &[b"JFIF\0", &payload[..]].concat()));
                            kept += 1;
                        }
                        6 => {
                            file.extend(segment(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
                            for b in payload {
                                file.push(b);
                                if b == 0xFF {
                                    file.push(0);
                                }
                            }
                            file.extend_from_slice(&[0xFF, 0xD3, 0x01]);
                        }
                        7 => file.extend(segment(0xDB, &payload)),
                        _ => file.extend(segment(0xE2, &with_mark(b"MPF\0"))),
                    }
                }
                if end {
                    file.extend_from_slice(&[0xFF, 0xD9]);
                    file.extend(segment(0xE1, &[&b"Exif\0\0"[..], MARK].concat()));
                }
                let out = strip_jpeg(&file).unwrap();
                prop_assert!(!has(&out.bytes, MARK));
                prop_assert_eq!(out.bytes.windows(5).filter(|w| w == b"JFIF\0").count(), kept);
            }

            #[test]
            fn png_layouts_never_let_a_marker_through(
                pieces in prop::collection::vec((0u8..8, prop::collection::vec(any::<u8>(), 0..40)), 0..12),
            ) {
                let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
                file.extend(png_chunk(b"IHDR", &[0; 13]));
                let mut kept = 0;
                for (kind, payload) in pieces {
                    let payload = no_marker(payload);
                    let marked = [MARK, &payload].concat();
                    let (name, data, keep) = match kind {
                        0 => (b"tEXt", marked, false),
                        1 => (b"zTXt", marked, false),
                        2 => (b"iTXt", marked, false),
                        3 => (b"eXIf", marked, false),
                        4 => (b"tIME", marked, false),
                        5 => (b"vpAg", marked, false),
                        6 => (b"iCCP", payload, true),
                        _ => (b"IDAT", payload, true),
                    };
                    file.extend(png_chunk(name, &data));
                    kept += usize::from(keep);
                }
                file.extend(png_chunk(b"IEND", b""));
                file.extend_from_slice(MARK);
                let out = strip_png(&file).unwrap();
                prop_assert!(!has(&out.bytes, MARK));
                let chunks = boxes_of_png(&out.bytes);
                prop_assert_eq!(chunks, kept + 2);
            }

            #[test]
            fn webp_layouts_never_let_a_marker_through(
                flags in any::<u8>(),
                pieces in prop::collection::vec((0u8..5, prop::collection::vec(any::<u8>(), 0..41)), 0..10),
            ) {
                let mut body = b"WEBPVP8X\x0A\0\0\0".to_vec();
                body.extend_from_slice(&[flags, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
                for (kind, payload) in pieces {
                    let payload = no_marker(payload);
                    let (name, data): (&[u8; 4], Vec<u8>) = match kind {
                        0 => (b"EXIF", [MARK, &payload].concat()),
                        1 => (b"XMP ", [MARK, &payload].concat()),
                        2 => (b"UNKN", [MARK, &payload].concat()),
                        3 => (b"ICCP", payload),
                        _ => (b"VP8L", payload),
                    };
                    body.extend_from_slice(name);
                    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
                    body.extend_from_slice(&data);
                    if data.len() % 2 == 1 {
                        body.push(0);
                    }
                }
                let mut file = b"RIFF".to_vec();
                file.extend_from_slice(&(body.len() as u32).to_le_bytes());
                file.extend(body);
                file.extend_from_slice(MARK);
                let out = strip_webp(&file).unwrap();
                prop_assert!(!has(&out.bytes, MARK));
                prop_assert_eq!(out.bytes[20] & 0x0C, 0);
                prop_assert_eq!(out.bytes[20] & !0x0C, flags & !0x0C);
                prop_assert_eq!(u32::from_le_bytes(out.bytes[4..8].try_into().unwrap()) as usize, out.bytes.len() - 8);
            }

            #[test]
            fn heif_layouts_never_let_a_marker_through(
                items in prop::collection::vec((0u8..4, any::<bool>(), 1usize..40), 0..6),
                iloc_version in 0u8..3,
                infe_version in 2u8..4,
                wide in any::<bool>(),
            ) {
                let file = heif(&items, iloc_version, infe_version, wide);
                let out = strip_heif(&file).unwrap();
                prop_assert!(!has(&out.bytes, MARK));
                prop_assert_eq!(out.bytes.len(), file.len());
                prop_assert!(has(&out.bytes, b"IMAGEDATA") == items.iter().any(|(k, _, _)| *k == 0));
                prop_assert_eq!(out.orientation, None);
            }

            #[test]
            fn mutated_files_never_panic(
                kind in 0u8..4,
                flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
                cut in any::<prop::sample::Index>(),
            ) {
                let mut file = match kind {
                    0 => heif(&[(0, false, 9), (1, true, 20), (2, false, 30)], 1, 2, false),
                    1 => [&b"\xFF\xD8"[..], &segment(0xE1, b"Exif\0\0MM\0\x2A\0\0\0\x08\0\x01\x01\x12"), b"\xFF\xDA\0\x02\x01\xFF\xD9"].concat(),
                    2 => [&b"\x89PNG\r\n\x1a\n"[..], &png_chunk(b"IHDR", &[0; 13]), &png_chunk(b"eXIf", &tiff(3))].concat(),
                    _ => b"RIFF\x1E\0\0\0WEBPVP8X\x0A\0\0\0\x0C\0\0\0\0\0\0\0\0\0EXIF\x02\0\0\0MM".to_vec(),
                };
                for (at, value) in flips {
                    let i = at.index(file.len());
                    file[i] = value;
                }
                file.truncate(cut.index(file.len() + 1));
                let _ = strip_jpeg(&file);
                let _ = strip_png(&file);
                let _ = strip_webp(&file);
                let _ = strip_heif(&file);
            }
        }

        /// The number of chunks of a PNG the stripper wrote.
        fn boxes_of_png(bytes: &[u8]) -> usize {
            let mut pos = 8;
            let mut n = 0;
            while pos < bytes.len() {
                pos += 12 + read_u32_be(bytes, pos).unwrap() as usize;
                n += 1;
            }
            n
        }
    }

    fn bmff(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        [&((body.len() + 8) as u32).to_be_bytes()[..], kind, body].concat()
    }

    fn full_box(kind: &[u8; 4], version: u8, body: &[u8]) -> Vec<u8> {
        bmff(kind, &[&[version, 0, 0, 0][..], body].concat())
    }

    /// A HEIF with `items` (kind 0 image, 1 Exif, 2 mime XMP, 3 uri; in `idat`
    /// or in `mdat`; payload length), laid out with the given box versions.
    fn heif(items: &[(u8, bool, usize)], iloc_version: u8, infe_version: u8, wide: bool) -> Vec<u8> {
        let payload = |kind: u8, len: usize| -> Vec<u8> {
            let fill = if kind == 0 { &b"IMAGEDATA"[..] } else { MARK };
            fill.iter().copied().cycle().take(len.max(fill.len())).collect()
        };
        let in_idat = |in_idat: bool| in_idat && iloc_version > 0;
        let idat: Vec<u8> = items
            .iter()
            .filter(|(_, i, _)| in_idat(*i))
            .flat_map(|(k, _, l)| payload(*k, *l))
            .collect();
        let mdat: Vec<u8> = items
            .iter()
            .filter(|(_, i, _)| !in_idat(*i))
            .flat_map(|(k, _, l)| payload(*k, *l))
            .collect();
        let build = |mdat_at: u64| -> Vec<u8> {
            let mut iinf = if infe_version == 2 {
                full_box(b"iinf", 0, &(items.len() as u16).to_be_bytes())
            } else {
                full_box(b"iinf", 1, &(items.len() as u32).to_be_bytes())
            };
            let mut entries = Vec::new();
            for (n, (kind, _, _)) in items.iter().enumerate() {
                let id = n as u32 + 1;
                let mut b = if infe_version == 2 {
                    (id as u16).to_be_bytes().to_vec()
                } else {
                    id.to_be_bytes().to_vec()
                };
                b.extend_from_slice(&[0, 0]);
                b.extend_from_slice([b"hvc1", b"Exif", b"mime", b"uri "][usize::from(*kind)]);
                b.extend_from_slice(b"\0application/rdf+xml\0");
                entries.extend(full_box(b"infe", infe_version, &b));
            }
            iinf = [&iinf[..8], &iinf[8..], &entries[..]].concat();
            let len = iinf.len() as u32;
            iinf[..4].copy_from_slice(&len.to_be_bytes());
            let size = if wide { 8u8 } else { 4 };
            let put = |b: &mut Vec<u8>, v: u64| {
                if wide {
                    b.extend_from_slice(&v.to_be_bytes());
                } else {
                    b.extend_from_slice(&(v as u32).to_be_bytes());
                }
            };
            let mut iloc = vec![(size << 4) | size, size << 4];
            if iloc_version < 2 {
                iloc.extend_from_slice(&(items.len() as u16).to_be_bytes());
            } else {
                iloc.extend_from_slice(&(items.len() as u32).to_be_bytes());
            }
            let (mut in_i, mut in_m) = (0u64, 0u64);
            for (n, (kind, i, l)) in items.iter().enumerate() {
                let id = n as u32 + 1;
                if iloc_version < 2 {
                    iloc.extend_from_slice(&(id as u16).to_be_bytes());
                } else {
                    iloc.extend_from_slice(&id.to_be_bytes());
                }
                let len = payload(*kind, *l).len() as u64;
                let idat_item = in_idat(*i);
                if iloc_version > 0 {
                    iloc.extend_from_slice(&u16::from(idat_item).to_be_bytes());
                }
                iloc.extend_from_slice(&[0, 0]);
                // base offset, then one extent split in two halves.
                let start = if idat_item { in_i } else { mdat_at + in_m };
                put(&mut iloc, start);
                iloc.extend_from_slice(&2u16.to_be_bytes());
                put(&mut iloc, 0);
                put(&mut iloc, len / 2);
                put(&mut iloc, len / 2);
                put(&mut iloc, len - len / 2);
                if idat_item {
                    in_i += len;
                } else {
                    in_m += len;
                }
            }
            let children = [
                full_box(b"hdlr", 0, b"\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0"),
                iinf,
                full_box(b"iloc", iloc_version, &iloc),
                bmff(b"idat", &idat),
            ]
            .concat();
            full_box(b"meta", 0, &children)
        };
        let ftyp = bmff(b"ftyp", b"heic\0\0\0\0mif1heic");
        let meta_len = build(0).len() as u64;
        let meta = build(ftyp.len() as u64 + meta_len + 8);
        [ftyp, meta, bmff(b"mdat", &mdat)].concat()
    }

    #[test]
    fn heif_metadata_items_are_zeroed_in_mdat_and_idat_and_bad_places_refused() {
        let file = heif(
            &[(0, false, 20), (1, false, 30), (2, true, 25), (3, false, 12)],
            1,
            2,
            false,
        );
        let out = strip_heif(&file).unwrap();
        assert!(!has(&out.bytes, MARK) && has(&out.bytes, b"IMAGEDATA"));
        assert_eq!(out.bytes.len(), file.len());
        // An XMP `uuid` box is emptied too.
        let uuid = bmff(b"uuid", &[&XMP_UUID[..], MARK].concat());
        let out = strip_heif(&[file.clone(), uuid].concat()).unwrap();
        assert!(!has(&out.bytes, MARK));
        // An extent past the end of the file, or a box longer than it: refused.
        let at = file.len() - 5;
        let mut cut = file.clone();
        cut.truncate(at);
        assert_eq!(strip_heif(&cut), Err(Unparseable));
        let mut long = file.clone();
        long[0..4].copy_from_slice(&0xFFFFu32.to_be_bytes());
        assert_eq!(strip_heif(&long), Err(Unparseable));
    }
}
