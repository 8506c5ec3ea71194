//! A weld photo ready to leave for Gemini: its type proven by its bytes and its
//! metadata removed. `Photo::check` is the one gate every photo passes, whatever
//! encoding it arrived in (base64 JSON or a multipart file); a `Photo` cannot be
//! made any other way.

use super::image::{self, ImageError, ImageType};

/// A checked photo, its metadata removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    kind: ImageType,
    bytes: Vec<u8>,
    /// The EXIF orientation removed with the metadata (2–8), if any.
    orientation: Option<u8>,
}

impl Photo {
    /// Checks that `bytes` are an image of the claimed `kind` (a claim is never
    /// trusted alone) and removes their metadata.
    pub fn check(kind: ImageType, bytes: Vec<u8>) -> Result<Photo, ImageError> {
        kind.verify(&bytes)?;
        let stripped = image::strip_metadata(kind, bytes)?;
        Ok(Photo {
            kind,
            bytes: stripped.bytes,
            orientation: stripped.orientation,
        })
    }

    /// Its type.
    pub fn kind(&self) -> ImageType {
        self.kind
    }

    /// The EXIF orientation (2–8) its removed metadata carried, when it was not upright.
    pub fn orientation(&self) -> Option<u8> {
        self.orientation
    }

    /// Its bytes, metadata removed.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}
