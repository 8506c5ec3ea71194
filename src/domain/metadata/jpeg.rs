//! The JPEG walker: segment by segment up to the primary image's end marker,
//! keeping what decodes the picture (what is kept and dropped: see `super`).

use super::{Stripped, Unparseable, read_u16_be, tiff_orientation};

/// JPEG: see the `metadata` module documentation.
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
    Ok(Stripped::turned(out, orientation))
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::metadata::testing::*;

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

    /// A JPEG piece: (kind, payload).
    fn jpeg_piece() -> impl Strategy<Value = (u8, Vec<u8>)> {
        (0u8..9, prop::collection::vec(any::<u8>(), 0..40))
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
    }
}
