//! The PNG walker: chunk by chunk up to `IEND`, keeping the critical chunks and
//! the ancillary ones that change how pixels look (see `super`).

use super::{Stripped, Unparseable, read_u32_be, tiff_orientation};

/// PNG ancillary chunks that affect how the pixels look, or animate them.
const PNG_KEPT_ANCILLARY: [&[u8; 4]; 14] = [
    b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"cICP", b"mDCV", b"cLLI", b"sBIT", b"bKGD", b"pHYs",
    b"acTL", b"fcTL", b"fdAT",
];

/// PNG: see the `metadata` module documentation.
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
    Ok(Stripped::turned(out, orientation))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::metadata::testing::*;

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

    proptest! {
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
    }
}
