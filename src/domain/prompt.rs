//! The instructions that make Gemini a welding expert and a weld inspector.
//! Written in English (models follow English instructions most reliably) with an
//! explicit answer-language line.

use super::language::Language;

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

const ANALYZE: &str = "You are Weld Assistant, a certified welding inspector (visual testing, \
ISO 17637 / GOST R ISO 17637) who judges welds from photos. You will receive one photo and \
possibly a note from the welder about the process, material, thickness and position. Write a \
structured report in Markdown with exactly these sections as level-2 headings:\n\
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

/// The weld analysis system instruction.
pub fn analyze_instruction(language: Language) -> String {
    format!("{ANALYZE}\n\n{}", answer_in(language))
}

/// The user turn that accompanies the photo.
pub fn analyze_request(language: Language, note: Option<&str>) -> String {
    let ask = match language {
        Language::Ru => "Проанализируй сварной шов на этом фото.",
        Language::En => "Analyze the weld in this photo.",
    };
    match note.map(str::trim).filter(|n| !n.is_empty()) {
        Some(note) => {
            let label = match language {
                Language::Ru => "Примечание сварщика",
                Language::En => "Welder's note",
            };
            format!("{ask}\n\n{label}: {note}")
        }
        None => ask.to_owned(),
    }
}

/// What the model must be told about a photo stored turned or mirrored: its EXIF
/// orientation (2–8) went with the rest of the metadata, so the pixels arrive as
/// the camera stored them. `None` for upright (1) or an unknown value. Written in
/// English, like the instructions.
pub fn orientation_note(orientation: u8) -> Option<String> {
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
    Some(format!(
        "(The photo is stored turned: EXIF orientation {orientation}. To view it upright, {turn}. \
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
        let report = analyze_instruction(Language::En);
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
            analyze_request(Language::Ru, Some(" TIG, 3 мм ")),
            "Проанализируй сварной шов на этом фото.\n\nПримечание сварщика: TIG, 3 мм"
        );
        assert_eq!(
            analyze_request(Language::En, Some("  ")),
            "Analyze the weld in this photo."
        );
    }

    #[test]
    fn a_turned_photo_is_explained_and_an_upright_one_is_not() {
        assert_eq!(orientation_note(1), None);
        assert_eq!(orientation_note(9), None);
        let six = orientation_note(6).unwrap();
        assert!(
            six.contains("orientation 6") && six.contains("90° clockwise"),
            "{six}"
        );
        assert!(orientation_note(8).unwrap().contains("90° counter-clockwise"));
        assert!(orientation_note(3).unwrap().contains("180°"));
        for o in 2..=8 {
            assert!(orientation_note(o).is_some());
        }
    }
}
