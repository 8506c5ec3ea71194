//! What the assistant asks the model: the `Prompt` of a chat turn (typed or
//! spoken) or of a weld analysis (instruction, conversation, photos or the
//! recording, and the `Sampling` of each task),
//! and the instructions that make Gemini a welding expert and a weld inspector.
//! The instructions are written in English (models follow English instructions
//! most reliably) with an explicit answer-language line.
//!
//! Must not know Gemini's wire format: `gemini` turns a `Prompt` into a request.

use bytes::Bytes;

use super::{
    audio::Recording,
    history::{Role, Turn},
    language::Language,
    photo::Photo,
    transcript::VOICE,
};

/// A file sent inline with the prompt: a photo or a recording.
#[derive(Debug, Clone)]
pub struct InlineMedia {
    /// Its MIME type, as Gemini names it.
    pub mime: &'static str,
    /// Its bytes (a photo's metadata already removed); the Gemini client encodes
    /// them to base64 for the wire.
    pub bytes: Bytes,
}

/// How the model samples an answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// Sampling temperature.
    pub temperature: f32,
    /// Output token cap (thinking tokens count against it).
    pub max_output_tokens: u32,
}

impl Sampling {
    /// The chat: an expert's answer, with some freedom of wording.
    pub const CHAT: Sampling = Sampling {
        temperature: 0.4,
        max_output_tokens: 8192,
    };

    /// The weld analysis: a sober inspection report.
    pub const ANALYSIS: Sampling = Sampling {
        temperature: 0.2,
        max_output_tokens: 8192,
    };
}

/// One generation request, independent of Gemini's wire format.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// The system instruction.
    pub system: String,
    /// The conversation, starting with the user and ending with the user.
    pub turns: Vec<Turn>,
    /// Photos or a recording placed, in this order, before the text of the last
    /// user turn.
    pub media: Vec<InlineMedia>,
    /// How the answer is sampled.
    pub sampling: Sampling,
}

impl Prompt {
    /// A chat turn: the expert instruction over `turns`, the conversation already
    /// normalised (`history::normalise`) and ending with the user's message.
    pub fn chat(language: Language, turns: Vec<Turn>) -> Self {
        Self {
            system: chat_instruction(language),
            turns,
            media: Vec::new(),
            sampling: Sampling::CHAT,
        }
    }

    /// A spoken chat turn: the expert instruction plus the transcript rule
    /// (`transcript::VOICE`) over `turns` (normalised, ending with the user turn
    /// `transcript::VOICE_TURN`), the recording placed before that turn's text.
    pub fn voice(language: Language, turns: Vec<Turn>, recording: Recording) -> Self {
        Self {
            system: format!("{CHAT}\n\n{VOICE}\n\n{}", answer_in(language)),
            turns,
            media: vec![InlineMedia {
                mime: recording.kind.mime(),
                bytes: recording.bytes.into(),
            }],
            sampling: Sampling::CHAT,
        }
    }

    /// A weld analysis: the inspector instruction for this many photos, one user
    /// turn with the ask, the welder's note and the orientation notes, and the
    /// photos in order.
    pub fn analysis(language: Language, note: Option<&str>, photos: Vec<Photo>) -> Self {
        let orientations: Vec<Option<u8>> = photos.iter().map(Photo::orientation).collect();
        let request = analyze_request(language, note, &orientations);
        Self {
            system: analyze_instruction(language, photos.len()),
            turns: vec![Turn::new(Role::User, request)],
            media: photos
                .into_iter()
                .map(|photo| InlineMedia {
                    mime: photo.kind().mime(),
                    bytes: photo.into_bytes().into(),
                })
                .collect(),
            sampling: Sampling::ANALYSIS,
        }
    }
}

const CHAT: &str = "You are Weld Assistant, an experienced welding engineer and instructor who \
helps professional welders and welding students. You know manual metal arc welding (MMA/SMAW, \
stick), MIG/MAG (GMAW) and flux-cored welding, TIG (GTAW), gas welding and cutting, plasma \
cutting, submerged arc welding and spot welding; shielding gases and their mixes; electrodes, \
filler wires and rods and their designations (GOST, ISO, AWS), for example UONI-13/55, MR-3, \
ANO-21, E7018, ER70S-6, ER308LSi; welding currents, voltages, wire feed speeds and travel \
speeds for given thicknesses and positions; joint preparation, preheating and post-weld heat \
treatment; weldability of steels (for example 09G2S, St3, 12Kh18N10T), stainless steels, \
aluminium, copper and cast iron; weld defects (porosity, cracks, undercut, lack of fusion and \
penetration, slag inclusions, spatter, distortion), their causes and remedies; inspection and \
testing; welding equipment and its settings; and safety (arc radiation and eye protection, \
fumes and ventilation, electric shock, fire, gas cylinders, confined spaces). Cite the relevant \
GOST or ISO standard when it helps (for example GOST 5264, GOST 14771, GOST 9467, ISO 2553, \
ISO 4063, ISO 5817, ISO 6520). Give concrete, practical numbers as typical ranges and say that \
the consumable maker's datasheet and the approved welding procedure (WPS) take precedence. \
Always add a short safety note where a task carries a real hazard. If a question is not about \
welding, metalworking or related safety, answer briefly and steer back to welding. Do not \
invent standards, brands or figures; say when you are not sure. Format answers in Markdown \
(short paragraphs, lists, tables for settings) and keep them focused.";

const ANALYZE_ROLE: &str = "You are Weld Assistant, a certified welding inspector (visual testing, \
ISO 17637 / GOST R ISO 17637) who judges welds from photos.";

const ANALYZE_ONE: &str = "You will receive one photo and possibly a note from the welder about the \
process, material, thickness and position.";

const ANALYZE_MANY: &str = "You will receive several photos of the same weld (for example its face, \
its root, a side view and a close-up of a defect), numbered Photo 1, Photo 2 and so on in the order \
they are attached, and possibly a note from the welder about the process, material, thickness and \
position. Judge them together and write one report for the weld, not one per photo; for every \
finding say which photo shows it (for example \"Photo 2\").";

const ANALYZE_REPORT: &str = "Write a structured report in Markdown with exactly these sections \
as level-2 headings:\n\
1. What is in the photo: the joint type, the likely process and position, and the photo quality.\n\
2. Defects found: a list; for each defect give its name (with the ISO 6520-1 reference number \
when you are confident), where it is, how severe it looks, and its most likely causes.\n\
3. How to fix and prevent: concrete corrective actions and parameter changes for each defect.\n\
4. Verdict: one of Acceptable / Needs rework / Reject, with the reason, and what further \
inspection (for example penetrant, magnetic particle, radiographic testing) is advisable.\n\
Be honest about the limits of a photo: you cannot see inside the weld. If the photo does not \
show a weld, or is too blurry, dark or distant to judge, say so clearly at the start, skip the \
defect list, and explain how to take a usable photo (close, sharp, even light, the whole bead, a \
scale reference). Never invent defects you cannot see.";

/// The chat's system instruction.
pub fn chat_instruction(language: Language) -> String {
    format!("{CHAT}\n\n{}", answer_in(language))
}

/// The weld analysis system instruction for `photos` photos of one weld (with
/// one, the single-photo instruction; with several, it asks which photo shows
/// each finding).
pub fn analyze_instruction(language: Language, photos: usize) -> String {
    let given = if photos > 1 { ANALYZE_MANY } else { ANALYZE_ONE };
    format!(
        "{ANALYZE_ROLE} {given} {ANALYZE_REPORT}\n\n{}",
        answer_in(language)
    )
}

/// The user turn that accompanies the photos: the ask, the welder's note, and —
/// for several photos — how they are numbered; then, for each photo stored turned,
/// its orientation note. `orientations` holds each photo's removed EXIF
/// orientation, in order. With one photo this is the single-photo request.
pub fn analyze_request(language: Language, note: Option<&str>, orientations: &[Option<u8>]) -> String {
    let count = orientations.len();
    let mut request = match (language, count > 1) {
        (Language::Ru, false) => "Проанализируй сварной шов на этом фото.".to_owned(),
        (Language::En, false) => "Analyze the weld in this photo.".to_owned(),
        (Language::Ru, true) => format!("Проанализируй сварной шов на этих фото ({count} шт.)."),
        (Language::En, true) => format!("Analyze the weld in these {count} photos."),
    };
    if let Some(note) = note.map(str::trim).filter(|n| !n.is_empty()) {
        let label = match language {
            Language::Ru => "Примечание сварщика",
            Language::En => "Welder's note",
        };
        request = format!("{request}\n\n{label}: {note}");
    }
    if count > 1 {
        request = format!(
            "{request}\n\n(The {count} photos show the same weld. They are numbered in the order they \
are attached: Photo 1 to Photo {count}. For each finding, say which photo shows it.)"
        );
    }
    for (index, orientation) in orientations.iter().enumerate() {
        let photo = (count > 1).then_some(index + 1);
        if let Some(note) = orientation.and_then(|o| orientation_note(o, photo)) {
            request = format!("{request}\n\n{note}");
        }
    }
    request
}

/// What the model must be told about a photo stored turned or mirrored: its EXIF
/// orientation (2–8) went with the rest of the metadata, so the pixels arrive as
/// the camera stored them. `None` for upright (1) or an unknown value. Written in
/// English, like the instructions. `photo` names the photo ("Photo 2") when
/// there are several.
pub fn orientation_note(orientation: u8, photo: Option<usize>) -> Option<String> {
    let turn = match orientation {
        2 => "mirror it horizontally",
        3 => "rotate it 180°",
        4 => "mirror it vertically",
        5 => "mirror it horizontally, then rotate it 90° counter-clockwise",
        6 => "rotate it 90° clockwise",
        7 => "mirror it horizontally, then rotate it 90° clockwise",
        8 => "rotate it 90° counter-clockwise",
        _ => return None,
    };
    let which = photo.map_or_else(|| "The photo".to_owned(), |n| format!("Photo {n}"));
    Some(format!(
        "({which} is stored turned: EXIF orientation {orientation}. To view it upright, {turn}. \
Judge the weld and its position as seen upright.)"
    ))
}

fn answer_in(language: Language) -> &'static str {
    match language {
        Language::Ru => {
            "Answer in Russian (the user's language), whatever language the question or note is in, \
unless the user explicitly asks for another language. Use Russian welding terminology and GOST designations."
        }
        Language::En => {
            "Answer in English (the user's language), unless the user explicitly asks for another language."
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_cover_the_welding_topics_and_name_the_answer_language() {
        let ru = chat_instruction(Language::Ru);
        for topic in [
            "MIG/MAG",
            "TIG",
            "MMA",
            "gas",
            "electrode",
            "current",
            "defect",
            "safety",
            "GOST",
            "ISO",
            "Markdown",
        ] {
            assert!(ru.contains(topic), "missing {topic}");
        }
        assert!(ru.contains("Answer in Russian"));
        assert!(chat_instruction(Language::En).contains("Answer in English"));
        let report = analyze_instruction(Language::En, 1);
        for part in [
            "Defects found",
            "How to fix",
            "Verdict",
            "does not show a weld",
            "too blurry",
        ] {
            assert!(report.contains(part), "missing {part}");
        }
    }

    #[test]
    fn the_photo_request_carries_the_note_in_the_users_language() {
        assert_eq!(
            analyze_request(Language::Ru, Some(" TIG, 3 мм "), &[None]),
            "Проанализируй сварной шов на этом фото.\n\nПримечание сварщика: TIG, 3 мм"
        );
        assert_eq!(
            analyze_request(Language::En, Some("  "), &[None]),
            "Analyze the weld in this photo."
        );
    }

    #[test]
    fn one_turned_photo_gets_the_single_photo_note() {
        let request = analyze_request(Language::En, None, &[Some(6)]);
        assert_eq!(
            request,
            format!(
                "Analyze the weld in this photo.\n\n{}",
                orientation_note(6, None).unwrap()
            )
        );
        assert!(!request.contains("Photo 1"));
    }

    #[test]
    fn one_photo_keeps_the_single_photo_instruction() {
        let one = analyze_instruction(Language::Ru, 1);
        assert!(one.contains("You will receive one photo and possibly a note"));
        assert!(!one.contains("Photo 1") && !one.contains("same weld"));
        assert_eq!(one, analyze_instruction(Language::Ru, 0));
    }

    #[test]
    fn several_photos_are_numbered_as_one_weld_and_findings_name_their_photo() {
        let system = analyze_instruction(Language::En, 3);
        assert!(
            system.contains("several photos of the same weld") && system.contains("say which photo shows it"),
            "{system}"
        );
        assert!(system.contains("Verdict") && system.contains("Answer in English"));

        let request = analyze_request(Language::Ru, Some("MMA, 09G2S"), &[None, Some(6), None]);
        assert!(
            request.starts_with(
                "Проанализируй сварной шов на этих фото (3 шт.).\n\nПримечание сварщика: MMA, 09G2S"
            ),
            "{request}"
        );
        assert!(request.contains("The 3 photos show the same weld"), "{request}");
        assert!(request.contains("Photo 1 to Photo 3"), "{request}");
        assert!(request.contains("say which photo shows it"), "{request}");
        // Only the turned photo gets a note, and it names that photo.
        assert!(
            request.contains(
                "(Photo 2 is stored turned: EXIF orientation 6. To view it upright, rotate it 90° clockwise."
            ),
            "{request}"
        );
        assert_eq!(request.matches("stored turned").count(), 1, "{request}");
        assert!(!request.contains("The photo is stored turned"));

        let english = analyze_request(Language::En, None, &[None, None]);
        assert!(
            english.starts_with("Analyze the weld in these 2 photos."),
            "{english}"
        );
        assert!(english.contains("Photo 1 to Photo 2"));
    }

    #[test]
    fn a_turned_photo_is_explained_and_an_upright_one_is_not() {
        assert_eq!(orientation_note(1, None), None);
        assert_eq!(orientation_note(9, None), None);
        let six = orientation_note(6, None).unwrap();
        assert!(
            six.contains("orientation 6") && six.contains("90° clockwise"),
            "{six}"
        );
        assert!(
            orientation_note(8, None)
                .unwrap()
                .contains("90° counter-clockwise")
        );
        assert!(orientation_note(3, None).unwrap().contains("180°"));
        for o in 2..=8 {
            assert!(orientation_note(o, None).is_some());
        }
    }
}
