//! The photos and the note of an analysis, read from either encoding: the
//! request's fields checked (which are there, how many photos, the note's
//! length), each photo decoded within the limit and its type claimed, then
//! passed through the domain's one photo check (`Photo::check`). One bad photo
//! fails the whole request, and its error names the photo.

use super::request::{AnalyzeForm, AnalyzeJsonRequest};
use crate::{
    api::{json_string::JsonString, upload::MemoryUpload},
    domain::{
        image::{self, ImageError, ImageType},
        language::Language,
        photo::Photo,
    },
    error::{ApiError, Invalid, Media},
};

/// The longest note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;

/// The checked photos of one request, in order, and the welder's note.
pub struct Photos {
    /// The photos, metadata removed.
    pub photos: Vec<Photo>,
    /// The welder's note.
    pub note: Option<String>,
}

/// How many photos one analysis takes, and how large each may be.
#[derive(Debug, Clone, Copy)]
pub struct PhotoLimits {
    /// The decoded limit per photo, in bytes.
    pub max_image_bytes: usize,
    /// Photos per analysis.
    pub max_images: usize,
}

impl PhotoLimits {
    /// The photos of a JSON request: `images`, or the single `base64Image`.
    pub fn read_json(self, request: AnalyzeJsonRequest) -> Result<Photos, ApiError> {
        let note = check_note(request.note.map(JsonString::into_inner))?;
        let photos = match (request.images, request.base64_image) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(Invalid::NotWith {
                    field: "base64Image".to_owned(),
                    other: "images".to_owned(),
                }));
            }
            (None, None) => {
                return Err(ApiError::invalid(Invalid::ExactlyOne {
                    fields: vec!["images".to_owned(), "base64Image".to_owned()],
                }));
            }
            (Some(images), None) => {
                if request.mime_type.is_some() {
                    return Err(ApiError::invalid(Invalid::NotWith {
                        field: "mimeType".to_owned(),
                        other: "images".to_owned(),
                    }));
                }
                self.check_count(images.len(), "images")?;
                // Each base64 text is dropped as soon as its photo is decoded.
                let mut photos = Vec::with_capacity(images.len());
                for (index, image) in images.into_iter().enumerate() {
                    let photo = self
                        .photo_from_base64(image.base64_image, Some(image.mime_type))
                        .map_err(|e| e.for_photo("images", index))?;
                    photos.push(photo);
                }
                photos
            }
            (None, Some(base64_image)) => vec![self.photo_from_base64(base64_image, request.mime_type)?],
        };
        Ok(Photos { photos, note })
    }

    /// The photos of a multipart request: its `image` parts.
    pub fn read_form(self, form: AnalyzeForm) -> Result<Photos, ApiError> {
        let note = check_note(form.note)?;
        if form.image.is_empty() {
            return Err(ApiError::invalid(Invalid::Required {
                field: "image".to_owned(),
            }));
        }
        self.check_count(form.image.len(), "image")?;
        let several = form.image.len() > 1;
        let mut photos = Vec::with_capacity(form.image.len());
        for (index, upload) in form.image.into_iter().enumerate() {
            let photo = self.photo_from_upload(upload).map_err(|e| {
                // A single part keeps the single-photo messages of the original form.
                if several { e.for_photo("image", index) } else { e }
            })?;
            photos.push(photo);
        }
        Ok(Photos { photos, note })
    }

    /// `count` photos are 1 to `max_images`; more → 400 naming `images`.
    fn check_count(self, count: usize, field: &str) -> Result<(), ApiError> {
        if count == 0 {
            return Err(ApiError::invalid(Invalid::Empty {
                field: field.to_owned(),
            }));
        }
        if count > self.max_images {
            return Err(ApiError::invalid(Invalid::TooManyPhotos {
                field: "images".to_owned(),
                max: self.max_images,
            }));
        }
        Ok(())
    }

    /// One base64 photo: type claimed, bytes decoded within the limit, then checked.
    fn photo_from_base64(
        self,
        base64_image: JsonString,
        mime_type: Option<JsonString>,
    ) -> Result<Photo, ApiError> {
        let mime_type = mime_type.ok_or_else(|| {
            ApiError::invalid(Invalid::Required {
                field: "mimeType".to_owned(),
            })
        })?;
        if mime_type.as_str().trim().is_empty() {
            return Err(ApiError::invalid(Invalid::Empty {
                field: "mimeType".to_owned(),
            }));
        }
        let kind = ImageType::from_mime(mime_type.as_str())?;
        let bytes = image::decode_base64("base64Image", base64_image.as_str(), self.max_image_bytes)?;
        drop(base64_image);
        Ok(Photo::check(kind, bytes)?)
    }

    /// One multipart photo: type from the part's type, else its file name, else
    /// its bytes; then checked.
    fn photo_from_upload(self, upload: MemoryUpload) -> Result<Photo, ApiError> {
        let (bytes, claimed) = upload.into_claimed();
        if bytes.is_empty() {
            return Err(ApiError::invalid(Invalid::Empty {
                field: "image".to_owned(),
            }));
        }
        if bytes.len() > self.max_image_bytes {
            return Err(ImageError::TooLarge {
                limit: self.max_image_bytes,
            }
            .into());
        }
        let kind = match claimed {
            Some(mime) => ImageType::from_mime(&mime)?,
            None => {
                ImageType::sniff(&bytes).ok_or_else(|| ApiError::unsupported_media_type(Media::NotAPhoto))?
            }
        };
        Ok(Photo::check(kind, bytes)?)
    }
}

/// The multipart `language` part: `ru`, `en`, or absent.
pub fn form_language(value: Option<&str>) -> Result<Option<Language>, ApiError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some("ru") => Ok(Some(Language::Ru)),
        Some("en") => Ok(Some(Language::En)),
        Some(_) => Err(ApiError::invalid(Invalid::OneOf {
            field: "language".to_owned(),
            allowed: vec!["ru".to_owned(), "en".to_owned()],
        })),
    }
}

fn check_note(note: Option<String>) -> Result<Option<String>, ApiError> {
    match note {
        Some(n) if n.chars().count() > MAX_NOTE_CHARS => Err(ApiError::invalid(Invalid::TooLong {
            field: "note".to_owned(),
            max: MAX_NOTE_CHARS as u64,
        })),
        other => Ok(other),
    }
}
