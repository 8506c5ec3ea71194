//! The HEIC/HEIF walker: the ISO-BMFF boxes down to each `meta` box, whose
//! `iinf` names the metadata items and whose `iloc` says where their bytes are;
//! those bytes, and an XMP `uuid` box, are overwritten with zeros (see `super`).

use super::{Stripped, Unparseable, read_u16_be, read_u32_be, read_u64_be};

/// The UUID of an XMP `uuid` box.
const XMP_UUID: [u8; 16] = [
    0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC,
];

/// HEIC/HEIF: see the `metadata` module documentation.
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

/// A big-endian unsigned number of 0, 2, 4 or 8 bytes, moving the cursor.
fn read_uint(b: &[u8], pos: &mut usize, size: u8) -> Result<u64, Unparseable> {
    let value = match size {
        0 => 0,
        2 => u64::from(read_u16_be(b, *pos).ok_or(Unparseable)?),
        4 => u64::from(read_u32_be(b, *pos).ok_or(Unparseable)?),
        8 => read_u64_be(b, *pos).ok_or(Unparseable)?,
        _ => return Err(Unparseable),
    };
    *pos += usize::from(size);
    Ok(value)
}

/// An `iloc` offset, length, base offset or index: 0, 4 or 8 bytes, as the box
/// declares; any other size is refused.
fn read_sized(b: &[u8], pos: &mut usize, size: u8) -> Result<u64, Unparseable> {
    match size {
        0 | 4 | 8 => read_uint(b, pos, size),
        _ => Err(Unparseable),
    }
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
    // Item ids and the item count are 16-bit before version 2, 32-bit from it.
    let id_size = if version < 2 { 2 } else { 4 };
    let mut pos = 6;
    let count = read_uint(body, &mut pos, id_size)?;
    let mut locations = Vec::new();
    for _ in 0..count {
        let item = read_uint(body, &mut pos, id_size)? as u32;
        let method = if version > 0 {
            (read_uint(body, &mut pos, 2)? & 0x0F) as u8
        } else {
            0
        };
        let data_reference = read_uint(body, &mut pos, 2)? as u16;
        let base = read_sized(body, &mut pos, base_offset_size)?;
        let extent_count = read_uint(body, &mut pos, 2)?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::metadata::testing::*;

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

    proptest! {
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
    }
}
