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
//!
//! One walker per format (`jpeg`, `png`, `webp`, `heif`); this file holds what
//! they share: the result, the EXIF orientation reader and the byte readers.

mod heif;
mod jpeg;
mod png;
#[cfg(test)]
mod testing;
mod webp;

pub use heif::strip_heif;
pub use jpeg::strip_jpeg;
pub use png::strip_png;
pub use webp::strip_webp;

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

impl Stripped {
    /// The walked file and the EXIF orientation it carried, kept only when it
    /// turns the picture (2–8).
    fn turned(bytes: Vec<u8>, orientation: Option<u8>) -> Self {
        Self {
            bytes,
            orientation: orientation.filter(|o| (2..=8).contains(o)),
        }
    }
}

/// The Orientation tag (0x0112) of IFD0 of a TIFF-structured EXIF block.
fn tiff_orientation(tiff: &[u8]) -> Option<u8> {
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
    use proptest::prelude::*;

    use super::*;
    use testing::*;

    #[test]
    fn orientation_is_read_from_either_byte_order() {
        assert_eq!(tiff_orientation(&tiff(6)), Some(6));
        let little = b"II\x2A\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x08\0\0\0\0\0\0\0";
        assert_eq!(tiff_orientation(little), Some(8));
        assert_eq!(tiff_orientation(b"MM\0\x2A\xFF\xFF\xFF\xFF"), None);
        assert_eq!(tiff_orientation(b""), None);
    }

    proptest! {
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
}
