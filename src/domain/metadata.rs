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

fn read_u16_be(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn read_u32_be(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn read_u32_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn read_u64_be(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(
        b.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}
