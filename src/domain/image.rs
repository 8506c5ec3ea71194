//! What a weld photo may be: the allowed image types, recognised by their magic
//! numbers (a claimed type is never trusted alone), and the decoding of base64
//! input, and the entry to metadata removal (`super::metadata`). Knows nothing
//! of HTTP; the API maps these errors to statuses.

use base64::Engine;

use super::metadata;
pub use super::metadata::Stripped;

/// An image type Gemini accepts inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    /// `image/png`
    Png,
    /// `image/jpeg`
    Jpeg,
    /// `image/webp`
    Webp,
    /// `image/heic`
    Heic,
    /// `image/heif`
    Heif,
}

/// Why an image was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// The claimed type is not one of the allowed ones.
    #[error("image type `{0}` is not allowed; send PNG, JPEG, WebP, HEIC or HEIF")]
    TypeNotAllowed(String),
    /// The bytes are not an image of the claimed type.
    #[error("the image bytes are not {claimed} (they look like {actual})")]
    Mismatch {
        /// The claimed MIME type.
        claimed: &'static str,
        /// What the bytes look like.
        actual: &'static str,
    },
    /// The base64 text is not valid.
    #[error("{field} is not valid base64")]
    BadBase64 {
        /// The request field.
        field: &'static str,
    },
    /// The image is empty.
    #[error("{field} is empty")]
    Empty {
        /// The request field.
        field: &'static str,
    },
    /// The file's structure could not be walked, so its metadata could not be
    /// removed; it is refused rather than sent on with it.
    #[error(
        "the image is not a well-formed {mime} file: its structure could not be read, so its \
metadata (such as the GPS position) could not be removed; re-save or re-export the photo and try again"
    )]
    Unstrippable {
        /// The type.
        mime: &'static str,
    },
    /// The decoded image is over the limit.
    #[error("the image is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
}

impl ImageType {
    /// Every allowed type.
    #[cfg(test)]
    const ALL: [ImageType; 5] = [
        ImageType::Png,
        ImageType::Jpeg,
        ImageType::Webp,
        ImageType::Heic,
        ImageType::Heif,
    ];

    /// The MIME type sent upstream.
    pub fn mime(self) -> &'static str {
        match self {
            ImageType::Png => "image/png",
            ImageType::Jpeg => "image/jpeg",
            ImageType::Webp => "image/webp",
            ImageType::Heic => "image/heic",
            ImageType::Heif => "image/heif",
        }
    }

    /// Parses a claimed MIME type (parameters and case ignored; `image/jpg` is
    /// taken as JPEG, a common slip).
    pub fn from_mime(mime: &str) -> Result<ImageType, ImageError> {
        let essence = mime.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "image/png" => Ok(ImageType::Png),
            "image/jpeg" | "image/jpg" | "image/pjpeg" => Ok(ImageType::Jpeg),
            "image/webp" => Ok(ImageType::Webp),
            "image/heic" | "image/heic-sequence" => Ok(ImageType::Heic),
            "image/heif" | "image/heif-sequence" => Ok(ImageType::Heif),
            _ => Err(ImageError::TypeNotAllowed(truncate(&essence, 64))),
        }
    }

    /// Recognises an allowed image by its first bytes.
    pub fn sniff(bytes: &[u8]) -> Option<ImageType> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageType::Png)
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageType::Jpeg)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageType::Webp)
        } else {
            sniff_heif(bytes)
        }
    }

    /// Checks that the bytes are an image of this (claimed) type. HEIC and HEIF
    /// share one container, so either claim accepts either brand.
    pub fn verify(self, bytes: &[u8]) -> Result<(), ImageError> {
        let actual = ImageType::sniff(bytes);
        let same = match (self, actual) {
            (ImageType::Heic | ImageType::Heif, Some(ImageType::Heic | ImageType::Heif)) => true,
            (claimed, Some(actual)) => claimed == actual,
            (_, None) => false,
        };
        if same {
            Ok(())
        } else {
            Err(ImageError::Mismatch {
                claimed: self.mime(),
                actual: actual.map_or_else(|| describe_unknown(bytes), ImageType::mime),
            })
        }
    }
}

/// HEIF family: an ISO BMFF `ftyp` box whose major or compatible brands are HEIF's.
fn sniff_heif(bytes: &[u8]) -> Option<ImageType> {
    if bytes.len() < 16 || &bytes[4..8] != b"ftyp" {
        return None;
    }
    let box_len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let end = box_len.clamp(16, 256).min(bytes.len());
    let major = &bytes[8..12];
    let compatible = bytes[16..end].chunks_exact(4);
    let brands = std::iter::once(major).chain(compatible);
    let mut found = None;
    for brand in brands {
        match brand {
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"hevm" | b"hevs" => {
                return Some(ImageType::Heic);
            }
            b"mif1" | b"msf1" => found = Some(ImageType::Heif),
            _ => {}
        }
    }
    // An AVIF file is also `mif1`-compatible; Gemini does not take AVIF.
    if bytes[8..end]
        .chunks_exact(4)
        .any(|b| b == b"avif" || b == b"avis")
    {
        return None;
    }
    found
}

fn describe_unknown(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"GIF8") {
        "image/gif"
    } else if bytes.starts_with(b"%PDF") {
        "a PDF"
    } else if bytes.starts_with(b"BM") {
        "image/bmp"
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        "another ISO media file"
    } else {
        "no allowed image type"
    }
}

/// Decodes a base64 image: standard alphabet, padding optional, ASCII white space
/// (line breaks of `base64` tools) ignored, a `data:<mime>;base64,` prefix allowed.
/// Refuses early, without decoding, when the text alone proves the image too large.
pub fn decode_base64(field: &'static str, text: &str, limit: usize) -> Result<Vec<u8>, ImageError> {
    let payload = match text.strip_prefix("data:") {
        Some(rest) => rest.split_once(',').map(|(_, data)| data).unwrap_or(""),
        None => text,
    };
    // Copy only when there is white space to drop (photos are megabytes).
    let compact: std::borrow::Cow<'_, str> = if payload.bytes().any(|b| b.is_ascii_whitespace()) {
        payload
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect::<String>()
            .into()
    } else {
        payload.into()
    };
    let stripped = compact.trim_end_matches('=');
    if stripped.is_empty() {
        return Err(ImageError::Empty { field });
    }
    if stripped.len() / 4 * 3 > limit {
        return Err(ImageError::TooLarge { limit });
    }
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(stripped)
        .map_err(|_| ImageError::BadBase64 { field })?;
    if bytes.len() > limit {
        return Err(ImageError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Removes the metadata (EXIF with GPS, XMP, comments, MPF secondary images, …)
/// without re-encoding, as `super::metadata` describes per format, and returns
/// the clean bytes with the EXIF orientation they carried. Bytes whose container
/// cannot be walked are refused rather than forwarded with their metadata.
pub fn strip_metadata(kind: ImageType, bytes: Vec<u8>) -> Result<Stripped, ImageError> {
    let stripped = match kind {
        ImageType::Jpeg => metadata::strip_jpeg(&bytes),
        ImageType::Png => metadata::strip_png(&bytes),
        ImageType::Webp => metadata::strip_webp(&bytes),
        ImageType::Heic | ImageType::Heif => metadata::strip_heif(&bytes),
    };
    stripped.map_err(|_| ImageError::Unstrippable { mime: kind.mime() })
}

/// Standard base64 of bytes (the tests' inverse of `decode_base64`; the Gemini
/// client encodes photos itself).
#[cfg(test)]
pub fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The MIME type named by a `data:` URL prefix, if the text has one.
#[cfg(test)]
fn data_url_mime(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("data:")?;
    let (meta, _) = rest.split_once(',')?;
    meta.split(';').next().filter(|m| !m.is_empty())
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const PNG_1X1: &str =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";

    fn heif(major: &[u8; 4], compat: &[&[u8; 4]]) -> Vec<u8> {
        let len = 16 + 4 * compat.len();
        let mut b = (len as u32).to_be_bytes().to_vec();
        b.extend_from_slice(b"ftyp");
        b.extend_from_slice(major);
        b.extend_from_slice(&[0, 0, 0, 0]);
        for c in compat {
            b.extend_from_slice(*c);
        }
        b.extend_from_slice(&[0u8; 16]);
        b
    }

    #[test]
    fn magic_numbers_identify_every_allowed_type() {
        let png = decode_base64("base64Image", PNG_1X1, 1 << 20).unwrap();
        assert_eq!(ImageType::sniff(&png), Some(ImageType::Png));
        assert_eq!(
            ImageType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Some(ImageType::Jpeg)
        );
        assert_eq!(ImageType::sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some(ImageType::Webp));
        assert_eq!(
            ImageType::sniff(&heif(b"heic", &[b"mif1", b"heic"])),
            Some(ImageType::Heic)
        );
        assert_eq!(
            ImageType::sniff(&heif(b"mif1", &[b"mif1"])),
            Some(ImageType::Heif)
        );
        assert_eq!(ImageType::sniff(&heif(b"avif", &[b"mif1", b"avif"])), None);
        assert_eq!(ImageType::sniff(b"GIF89a......"), None);
        assert_eq!(ImageType::sniff(b""), None);
        assert_eq!(ImageType::sniff(b"RIFF"), None);
    }

    #[test]
    fn a_claimed_type_must_match_the_bytes() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0];
        assert!(ImageType::Jpeg.verify(&jpeg).is_ok());
        let err = ImageType::Png.verify(&jpeg).unwrap_err();
        assert_eq!(
            err,
            ImageError::Mismatch {
                claimed: "image/png",
                actual: "image/jpeg"
            }
        );
        assert!(ImageType::Heif.verify(&heif(b"heic", &[])).is_ok());
        assert!(matches!(
            ImageType::Jpeg.verify(b"%PDF-1.7"),
            Err(ImageError::Mismatch { actual: "a PDF", .. })
        ));
    }

    #[test]
    fn mime_types_outside_the_list_are_not_allowed() {
        assert_eq!(ImageType::from_mime("IMAGE/JPEG; q=1").unwrap(), ImageType::Jpeg);
        assert_eq!(ImageType::from_mime("image/jpg").unwrap(), ImageType::Jpeg);
        assert!(
            matches!(ImageType::from_mime("image/gif"), Err(ImageError::TypeNotAllowed(t)) if t == "image/gif")
        );
        assert!(ImageType::from_mime("text/plain").is_err());
        assert!(ImageType::from_mime("").is_err());
    }

    #[test]
    fn base64_accepts_data_urls_line_breaks_and_missing_padding() {
        let plain = decode_base64("f", PNG_1X1, 1 << 20).unwrap();
        let url = format!("data:image/png;base64,{PNG_1X1}");
        assert_eq!(decode_base64("f", &url, 1 << 20).unwrap(), plain);
        assert_eq!(data_url_mime(&url), Some("image/png"));
        let wrapped: String = PNG_1X1
            .as_bytes()
            .chunks(20)
            .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
            .collect();
        assert_eq!(decode_base64("f", &wrapped, 1 << 20).unwrap(), plain);
        assert_eq!(
            decode_base64("f", PNG_1X1.trim_end_matches('='), 1 << 20).unwrap(),
            plain
        );
        assert_eq!(encode_base64(&plain), PNG_1X1);
    }

    #[test]
    fn every_type_goes_through_its_stripper_and_unparseable_files_are_refused() {
        let png = decode_base64("f", PNG_1X1, 1 << 20).unwrap();
        let stripped = strip_metadata(ImageType::Png, png.clone()).unwrap();
        assert_eq!(stripped.bytes, png);
        assert_eq!(stripped.orientation, None);
        for kind in ImageType::ALL {
            let err = strip_metadata(kind, b"\x89PNG\r\n\x1a\ngarbage".to_vec()).unwrap_err();
            assert_eq!(err, ImageError::Unstrippable { mime: kind.mime() });
            assert!(err.to_string().contains("metadata"), "{err}");
        }
    }

    #[test]
    fn bad_base64_empty_input_and_oversize_are_distinct_errors() {
        assert_eq!(
            decode_base64("base64Image", "not base64!!", 100).unwrap_err(),
            ImageError::BadBase64 { field: "base64Image" }
        );
        assert_eq!(
            decode_base64("x", "  ", 100).unwrap_err(),
            ImageError::Empty { field: "x" }
        );
        assert_eq!(
            decode_base64("x", "data:image/png;base64,", 100).unwrap_err(),
            ImageError::Empty { field: "x" }
        );
        let big = encode_base64(&[7u8; 300]);
        assert_eq!(
            decode_base64("x", &big, 299).unwrap_err(),
            ImageError::TooLarge { limit: 299 }
        );
        assert_eq!(decode_base64("x", &big, 300).unwrap().len(), 300);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn sniffing_and_stripping_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
                let kind = ImageType::sniff(&bytes);
                for claimed in ImageType::ALL {
                    let verified = claimed.verify(&bytes);
                    if verified.is_ok() {
                        prop_assert!(kind.is_some());
                        let _ = strip_metadata(claimed, bytes.clone());
                    }
                }
            }

            #[test]
            fn base64_round_trips_and_garbage_is_an_error(
                bytes in prop::collection::vec(any::<u8>(), 1..300),
                garbage in "[^A-Za-z0-9+/=\\s]{1,20}",
            ) {
                let text = encode_base64(&bytes);
                prop_assert_eq!(decode_base64("f", &text, 1 << 20).unwrap(), bytes.clone());
                let broken = format!("{}{}", &text[..text.len() / 2], garbage);
                prop_assert!(decode_base64("f", &broken, 1 << 20).is_err());
                let too_large = matches!(decode_base64("f", &text, bytes.len() - 1), Err(ImageError::TooLarge { .. }));
                prop_assert!(too_large);
            }

            #[test]
            fn base64_decoding_never_panics(text in ".{0,200}") {
                let _ = decode_base64("f", &text, 1000);
                let _ = data_url_mime(&text);
                let _ = ImageType::from_mime(&text);
            }
        }
    }
}
