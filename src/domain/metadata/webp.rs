//! The WebP walker: the RIFF chunks, keeping the ones that decode or animate
//! the picture, clearing the `VP8X` EXIF/XMP flags and fixing the RIFF size
//! (see `super`).

use super::{Stripped, Unparseable, read_u32_le, tiff_orientation};

/// WebP chunks needed to decode (and animate) the picture.
const WEBP_KEPT: [&[u8; 4]; 7] = [b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"];

/// WebP: see the `metadata` module documentation.
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
    Ok(Stripped::turned(out, orientation))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::metadata::testing::*;

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

    proptest! {
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
    }
}
