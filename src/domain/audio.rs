//! What a spoken question may be: the audio formats Gemini accepts inline (WAV,
//! MP3, AIFF, AAC, OGG Vorbis, FLAC — its audio-understanding list), recognised
//! by their bytes (a claimed type is never trusted alone), and the recording's
//! length read from the file itself where the format says it: the header (WAV,
//! AIFF, FLAC, the last Ogg page) or a walk over the frames (MP3, AAC ADTS).
//! Knows nothing of HTTP; the API maps these errors to statuses.

/// An audio type Gemini accepts inline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioType {
    /// `audio/wav`
    Wav,
    /// `audio/mp3`
    Mp3,
    /// `audio/aiff`
    Aiff,
    /// `audio/aac` (ADTS frames)
    Aac,
    /// `audio/ogg` (Vorbis)
    Ogg,
    /// `audio/flac`
    Flac,
}

/// Why a recording was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AudioError {
    /// The claimed type is not one Gemini accepts.
    #[error("audio type `{0}` is not allowed; send WAV, MP3, AIFF, AAC, OGG Vorbis or FLAC")]
    TypeNotAllowed(String),
    /// The bytes are not audio of the claimed type.
    #[error("the audio bytes are not {claimed} (they look like {actual})")]
    Mismatch {
        /// The claimed MIME type.
        claimed: &'static str,
        /// What the bytes look like.
        actual: &'static str,
    },
    /// The recording is longer than the limit.
    #[error("the recording is {seconds:.1} s long; the limit is {limit} s")]
    TooLong {
        /// Its length in seconds.
        seconds: f64,
        /// The limit in seconds.
        limit: u64,
    },
}

impl AudioType {
    /// The canonical MIME type, as Gemini lists it (and as it is sent upstream).
    pub const fn mime(self) -> &'static str {
        match self {
            AudioType::Wav => "audio/wav",
            AudioType::Mp3 => "audio/mp3",
            AudioType::Aiff => "audio/aiff",
            AudioType::Aac => "audio/aac",
            AudioType::Ogg => "audio/ogg",
            AudioType::Flac => "audio/flac",
        }
    }

    /// The type of a claimed MIME type: Gemini's names and their common aliases
    /// (`audio/x-wav`, `audio/mpeg`, …), parameters (`;codecs=…`) ignored.
    pub fn from_mime(claimed: &str) -> Result<Self, AudioError> {
        let base = claimed
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        Ok(match base.as_str() {
            "audio/wav" | "audio/wave" | "audio/x-wav" | "audio/vnd.wave" => AudioType::Wav,
            "audio/mp3" | "audio/mpeg" | "audio/mpeg3" | "audio/x-mp3" => AudioType::Mp3,
            "audio/aiff" | "audio/x-aiff" | "audio/aif" => AudioType::Aiff,
            "audio/aac" | "audio/x-aac" | "audio/aacp" => AudioType::Aac,
            "audio/ogg" | "audio/vorbis" => AudioType::Ogg,
            "audio/flac" | "audio/x-flac" => AudioType::Flac,
            _ => return Err(AudioError::TypeNotAllowed(truncate(claimed.trim(), 60))),
        })
    }
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// A checked recording: its type, bytes, and length when the format tells it.
#[derive(Debug, Clone)]
pub struct Recording {
    /// Its type, from its bytes.
    pub kind: AudioType,
    /// Its bytes, as sent.
    pub bytes: Vec<u8>,
    /// Its length in seconds, when the file says it.
    pub seconds: Option<f64>,
}

impl Recording {
    /// The one check every recording passes: the bytes are of the claimed type
    /// and no longer than `max_seconds` (when their length can be read).
    pub fn check(claimed: AudioType, bytes: Vec<u8>, max_seconds: u64) -> Result<Self, AudioError> {
        let actual = sniff(&bytes);
        if actual != Some(claimed) {
            return Err(AudioError::Mismatch {
                claimed: claimed.mime(),
                actual: describe(&bytes),
            });
        }
        let seconds = duration(claimed, &bytes);
        if let Some(seconds) = seconds {
            // A rounding hair over the limit (a recorder stopping at it) passes.
            if seconds > max_seconds as f64 + 0.5 {
                return Err(AudioError::TooLong {
                    seconds,
                    limit: max_seconds,
                });
            }
        }
        Ok(Self {
            kind: claimed,
            bytes,
            seconds,
        })
    }
}

/// The audio type of some bytes, from their magic numbers.
pub fn sniff(bytes: &[u8]) -> Option<AudioType> {
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE" {
        return Some(AudioType::Wav);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"FORM" && (&bytes[8..12] == b"AIFF" || &bytes[8..12] == b"AIFC")
    {
        return Some(AudioType::Aiff);
    }
    if bytes.starts_with(b"fLaC") {
        return Some(AudioType::Flac);
    }
    if bytes.starts_with(b"OggS") {
        // The first page carries the codec's identification header.
        let head = &bytes[..bytes.len().min(512)];
        return contains(head, b"\x01vorbis").then_some(AudioType::Ogg);
    }
    if bytes.starts_with(b"ID3") {
        return Some(AudioType::Mp3);
    }
    if bytes.len() >= 4 && bytes[0] == 0xFF {
        let layer = (bytes[1] >> 1) & 0x03;
        if bytes[1] & 0xF6 == 0xF0 {
            return Some(AudioType::Aac);
        }
        if bytes[1] & 0xE0 == 0xE0 && layer == 1 {
            return Some(AudioType::Mp3);
        }
    }
    None
}

/// What some bytes look like, for an error message.
fn describe(bytes: &[u8]) -> &'static str {
    if let Some(kind) = sniff(bytes) {
        return kind.mime();
    }
    if bytes.starts_with(b"OggS") && contains(&bytes[..bytes.len().min(512)], b"OpusHead") {
        return "OGG Opus";
    }
    if bytes.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return "WebM";
    }
    if bytes.len() >= 8 && &bytes[4..8] == b"ftyp" {
        return "MP4";
    }
    if bytes.starts_with(&[0x89, b'P', b'N', b'G']) || bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return "an image";
    }
    "no known audio format"
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u32_be(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The length in seconds that the file states, when its format states one.
pub fn duration(kind: AudioType, bytes: &[u8]) -> Option<f64> {
    match kind {
        AudioType::Wav => wav_seconds(bytes),
        AudioType::Aiff => aiff_seconds(bytes),
        AudioType::Flac => flac_seconds(bytes),
        AudioType::Ogg => ogg_seconds(bytes),
        AudioType::Mp3 => mp3_seconds(bytes),
        AudioType::Aac => aac_seconds(bytes),
    }
}

/// WAV: the `data` chunk's size over the `fmt ` chunk's byte rate. A streamed
/// WAV whose `data` size is unknown (0 or past the end) counts to the end.
fn wav_seconds(b: &[u8]) -> Option<f64> {
    let mut at = 12;
    let mut byte_rate = None;
    while at + 8 <= b.len() {
        let id = &b[at..at + 4];
        let size = u32_le(b, at + 4)? as usize;
        let body = at + 8;
        if id == b"fmt " {
            byte_rate = u32_le(b, body + 8).filter(|r| *r > 0);
        } else if id == b"data" {
            let left = b.len() - body;
            let size = if size == 0 || size > left { left } else { size };
            return Some(size as f64 / f64::from(byte_rate?));
        }
        at = body.checked_add(size)?.checked_add(size & 1)?;
    }
    None
}

/// AIFF: `COMM`'s sample frames over its sample rate (an 80-bit float).
fn aiff_seconds(b: &[u8]) -> Option<f64> {
    let mut at = 12;
    while at + 8 <= b.len() {
        let size = u32_be(b, at + 4)? as usize;
        let body = at + 8;
        if &b[at..at + 4] == b"COMM" {
            let frames = u32_be(b, body + 2)?;
            let rate = extended(b.get(body + 8..body + 18)?)?;
            return (rate > 0.0).then(|| f64::from(frames) / rate);
        }
        at = body.checked_add(size)?.checked_add(size & 1)?;
    }
    None
}

/// An IEEE 754 80-bit extended float (AIFF's sample rate).
fn extended(b: &[u8]) -> Option<f64> {
    let exponent = i32::from(u16::from_be_bytes([b[0] & 0x7F, b[1]]));
    let mantissa = u64::from_be_bytes(b[2..10].try_into().ok()?);
    if exponent == 0 && mantissa == 0 {
        return Some(0.0);
    }
    Some(mantissa as f64 * 2f64.powi(exponent - 16383 - 63))
}

/// FLAC: STREAMINFO's total samples over its sample rate (0 samples: unknown).
fn flac_seconds(b: &[u8]) -> Option<f64> {
    // "fLaC", then the STREAMINFO block header (4 bytes), then its 34 bytes.
    let info = b.get(8..8 + 18)?;
    let rate = (u32::from(info[10]) << 12) | (u32::from(info[11]) << 4) | (u32::from(info[12]) >> 4);
    let total = (u64::from(info[13] & 0x0F) << 32) | u64::from(u32_be(info, 14)?);
    (rate > 0 && total > 0).then(|| total as f64 / f64::from(rate))
}

/// OGG Vorbis: the last page's granule position (samples) over the sample rate
/// of the identification header.
fn ogg_seconds(b: &[u8]) -> Option<f64> {
    let id = b.windows(7).position(|w| w == b"\x01vorbis")?;
    let rate = u32_le(b, id + 12).filter(|r| *r > 0)?;
    let tail = b.len().saturating_sub(65_536);
    let last = b[tail..].windows(4).rposition(|w| w == b"OggS")? + tail;
    let granule = i64::from_le_bytes(b.get(last + 6..last + 14)?.try_into().ok()?);
    (granule > 0).then(|| granule as f64 / f64::from(rate))
}

/// MP3: the frames walked one by one (an ID3v2 tag skipped), each giving its
/// samples and sample rate.
fn mp3_seconds(b: &[u8]) -> Option<f64> {
    let mut at = 0;
    if b.starts_with(b"ID3") && b.len() >= 10 {
        let size = b[6..10]
            .iter()
            .fold(0usize, |acc, byte| (acc << 7) | usize::from(byte & 0x7F));
        at = 10 + size;
    }
    let mut seconds = 0.0;
    let mut frames = 0;
    while at + 4 <= b.len() {
        let h = &b[at..at + 4];
        if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 || (h[1] >> 1) & 0x03 != 1 {
            break;
        }
        let version = (h[1] >> 3) & 0x03; // 3 = MPEG 1, 2 = MPEG 2, 0 = MPEG 2.5
        let bitrate_index = usize::from(h[2] >> 4);
        let rate_index = usize::from((h[2] >> 2) & 0x03);
        let padding = usize::from((h[2] >> 1) & 0x01);
        const V1: [u32; 16] = [
            0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0,
        ];
        const V2: [u32; 16] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0];
        let (kbps, base_rate, samples, factor) = match version {
            3 => (
                V1[bitrate_index],
                [44_100, 48_000, 32_000, 0][rate_index],
                1152.0,
                144,
            ),
            2 => (
                V2[bitrate_index],
                [22_050, 24_000, 16_000, 0][rate_index],
                576.0,
                72,
            ),
            0 => (
                V2[bitrate_index],
                [11_025, 12_000, 8_000, 0][rate_index],
                576.0,
                72,
            ),
            _ => break,
        };
        if kbps == 0 || base_rate == 0 {
            break;
        }
        let length = (factor * kbps as usize * 1000) / base_rate as usize + padding;
        seconds += samples / f64::from(base_rate);
        frames += 1;
        at += length.max(1);
    }
    (frames > 0).then_some(seconds)
}

/// AAC in ADTS frames: walked one by one, 1024 samples per raw block.
fn aac_seconds(b: &[u8]) -> Option<f64> {
    const RATES: [u32; 13] = [
        96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025, 8_000, 7_350,
    ];
    let mut at = 0;
    let mut seconds = 0.0;
    let mut frames = 0;
    while at + 7 <= b.len() {
        let h = &b[at..at + 7];
        if h[0] != 0xFF || h[1] & 0xF6 != 0xF0 {
            break;
        }
        let rate = *RATES.get(usize::from((h[2] >> 2) & 0x0F))?;
        let length = (usize::from(h[3] & 0x03) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
        let blocks = f64::from((h[6] & 0x03) + 1);
        if length < 7 {
            break;
        }
        seconds += blocks * 1024.0 / f64::from(rate);
        frames += 1;
        at += length;
    }
    (frames > 0).then_some(seconds)
}

/// A WAV of 16-bit mono PCM samples (tests, and what the web app records).
#[cfg(test)]
pub fn wav(samples: &[i16], rate: u32) -> Vec<u8> {
    let data = samples.len() * 2;
    let mut out = Vec::with_capacity(44 + data);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&((36 + data) as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data as u32).to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tone(seconds: f64, rate: u32) -> Vec<u8> {
        let n = (seconds * f64::from(rate)) as usize;
        let samples: Vec<i16> = (0..n)
            .map(|i| ((i as f64 * 440.0 * std::f64::consts::TAU / f64::from(rate)).sin() * 8000.0) as i16)
            .collect();
        wav(&samples, rate)
    }

    #[test]
    fn a_wav_is_recognised_and_its_length_read_from_the_header() {
        let bytes = tone(2.0, 16_000);
        assert_eq!(sniff(&bytes), Some(AudioType::Wav));
        let recording = Recording::check(AudioType::Wav, bytes, 60).unwrap();
        assert!((recording.seconds.unwrap() - 2.0).abs() < 0.01);
    }

    #[test]
    fn a_wav_over_the_length_limit_is_refused_with_its_length() {
        let error = Recording::check(AudioType::Wav, tone(3.0, 8_000), 2).unwrap_err();
        assert!(
            matches!(error, AudioError::TooLong { limit: 2, seconds } if (seconds - 3.0).abs() < 0.01),
            "{error:?}"
        );
    }

    #[test]
    fn a_streamed_wav_with_an_unknown_data_size_counts_to_the_end() {
        let mut bytes = tone(1.5, 16_000);
        bytes[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!((wav_seconds(&bytes).unwrap() - 1.5).abs() < 0.01);
    }

    #[test]
    fn claimed_types_and_their_aliases_map_to_geminis_names() {
        assert_eq!(AudioType::from_mime("audio/x-wav").unwrap(), AudioType::Wav);
        assert_eq!(AudioType::from_mime("Audio/MPEG").unwrap(), AudioType::Mp3);
        assert_eq!(
            AudioType::from_mime("audio/ogg; codecs=vorbis").unwrap(),
            AudioType::Ogg
        );
        assert_eq!(AudioType::Mp3.mime(), "audio/mp3");
        assert_eq!(
            AudioType::from_mime("audio/webm;codecs=opus").unwrap_err(),
            AudioError::TypeNotAllowed("audio/webm;codecs=opus".into())
        );
    }

    #[test]
    fn bytes_of_another_kind_are_a_mismatch_that_says_what_they_look_like() {
        let webm = [0x1A, 0x45, 0xDF, 0xA3, 0, 0, 0, 0];
        assert_eq!(
            Recording::check(AudioType::Wav, webm.to_vec(), 60).unwrap_err(),
            AudioError::Mismatch {
                claimed: "audio/wav",
                actual: "WebM"
            }
        );
        let mut opus = b"OggS\0\x02".to_vec();
        opus.extend_from_slice(&[0; 22]);
        opus.extend_from_slice(b"OpusHead");
        let error = Recording::check(AudioType::Ogg, opus, 60).unwrap_err();
        assert!(
            matches!(
                error,
                AudioError::Mismatch {
                    actual: "OGG Opus",
                    ..
                }
            ),
            "{error:?}"
        );
        let error = Recording::check(AudioType::Mp3, tone(0.1, 8000), 60).unwrap_err();
        assert!(matches!(
            error,
            AudioError::Mismatch {
                actual: "audio/wav",
                ..
            }
        ));
    }

    #[test]
    fn mp3_frames_are_walked_for_the_length() {
        // MPEG 1 Layer III, 128 kbit/s, 44.1 kHz, no padding: 417-byte frames of 1152 samples.
        let mut frame = vec![0xFF, 0xFB, 0x90, 0x00];
        frame.resize(417, 0);
        let mut bytes = b"ID3\x04\0\0\0\0\0\x05hello".to_vec();
        for _ in 0..100 {
            bytes.extend_from_slice(&frame);
        }
        assert_eq!(sniff(&bytes), Some(AudioType::Mp3));
        let seconds = mp3_seconds(&bytes).unwrap();
        assert!((seconds - 100.0 * 1152.0 / 44_100.0).abs() < 0.001, "{seconds}");
    }

    #[test]
    fn adts_aac_frames_are_walked_for_the_length() {
        // 16 kHz (index 8), one raw block per 20-byte frame.
        let length = 20usize;
        let header = [
            0xFF,
            0xF1,
            (1 << 6) | (8 << 2),
            (length >> 11) as u8 & 0x03,
            (length >> 3) as u8,
            ((length & 0x07) << 5) as u8 | 0x1F,
            0xFC,
        ];
        let mut bytes = Vec::new();
        for _ in 0..50 {
            bytes.extend_from_slice(&header);
            bytes.extend_from_slice(&[0; 13]);
        }
        assert_eq!(sniff(&bytes), Some(AudioType::Aac));
        assert!((aac_seconds(&bytes).unwrap() - 50.0 * 1024.0 / 16_000.0).abs() < 0.001);
    }

    #[test]
    fn flac_and_aiff_lengths_come_from_their_headers() {
        // STREAMINFO: 16 kHz, 48,000 samples.
        let mut flac = b"fLaC\0\0\0\x22".to_vec();
        let mut info = [0u8; 34];
        let rate = 16_000u32;
        info[10] = (rate >> 12) as u8;
        info[11] = (rate >> 4) as u8;
        info[12] = ((rate & 0x0F) << 4) as u8;
        info[14..18].copy_from_slice(&48_000u32.to_be_bytes());
        flac.extend_from_slice(&info);
        assert_eq!(sniff(&flac), Some(AudioType::Flac));
        assert!((flac_seconds(&flac).unwrap() - 3.0).abs() < 0.001);

        // COMM: 1 channel, 22,050 frames, 16 bits, 22,050 Hz as an 80-bit float.
        let mut aiff = b"FORM\0\0\0\x2eAIFFCOMM\0\0\0\x12".to_vec();
        aiff.extend_from_slice(&1u16.to_be_bytes());
        aiff.extend_from_slice(&22_050u32.to_be_bytes());
        aiff.extend_from_slice(&16u16.to_be_bytes());
        aiff.extend_from_slice(&[0x40, 0x0D, 0xAC, 0x44, 0, 0, 0, 0, 0, 0]);
        assert_eq!(sniff(&aiff), Some(AudioType::Aiff));
        assert!((aiff_seconds(&aiff).unwrap() - 1.0).abs() < 0.001);
    }

    #[test]
    fn an_ogg_vorbis_length_is_its_last_granule_over_its_rate() {
        let mut ogg = b"OggS\0\x02".to_vec();
        ogg.extend_from_slice(&[0; 22]);
        ogg.extend_from_slice(b"\x01vorbis\0\0\0\0\x01");
        ogg.extend_from_slice(&16_000u32.to_le_bytes());
        ogg.extend_from_slice(&[0; 20]);
        ogg.extend_from_slice(b"OggS\0\x04");
        ogg.extend_from_slice(&80_000i64.to_le_bytes());
        ogg.extend_from_slice(&[0; 20]);
        assert_eq!(sniff(&ogg), Some(AudioType::Ogg));
        assert!((ogg_seconds(&ogg).unwrap() - 5.0).abs() < 0.001);
    }

    #[test]
    fn garbage_has_no_type_and_no_length() {
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"hello world, not audio"), None);
        assert_eq!(wav_seconds(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(flac_seconds(b"fLaC"), None);
    }
}
