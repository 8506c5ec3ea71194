//! The transcript of a spoken question. Gemini hears the recording and answers
//! it in one call; the instruction (`VOICE`) asks it to begin with one line
//! `Transcript: <what the person said>` and a blank line. `Splitter` takes that
//! line off the answer — whole or streamed in pieces cut anywhere — so the web
//! app shows the transcript as the person's message and the rest as the answer.
//!
//! Robust when Gemini ignores the format: the marker is matched leniently
//! (case, Markdown emphasis, a heading or quote sign, `Транскрипт`), and when
//! the answer does not start with it, the answer passes through whole and
//! there is no transcript. A line is only waited for up to `MAX_WAIT` bytes.

/// The instruction added to the chat's when the question is a recording.
pub const VOICE: &str = "The user's newest message is a voice recording (the attached audio). \
First write exactly one line that starts with `Transcript: ` followed by a faithful transcription \
of what the user said, in the language they spoke (no commentary, no quotes). Then write an empty \
line, then answer the spoken question as you would a typed one. If the recording has no \
intelligible speech, write `Transcript: …` and say briefly that you could not make out a question.";

/// The text of the user turn that carries the recording.
pub const VOICE_TURN: &str = "(Voice question: the attached recording.)";

/// How many bytes of an answer are held back while looking for the transcript
/// line; a first line longer than this is taken as no transcript.
const MAX_WAIT: usize = 4096;

/// The longest transcript kept, in characters.
const MAX_CHARS: usize = 2000;

/// Splits the transcript line off an answer that arrives in pieces.
#[derive(Debug, Default)]
pub struct Splitter {
    held: String,
    decided: bool,
    /// The blank line after the transcript has not been passed yet.
    trim: bool,
}

/// What the splitter lets through for one piece.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// The transcript, once found (at most once).
    pub transcript: Option<String>,
    /// Answer text to pass on (may be empty).
    pub text: String,
}

impl Splitter {
    /// A splitter that has seen nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next piece of the answer.
    pub fn push(&mut self, piece: &str) -> Split {
        if self.decided {
            let text = if self.trim {
                let text = piece.trim_start_matches(['\r', '\n']);
                self.trim = text.is_empty();
                text
            } else {
                piece
            };
            return Split {
                transcript: None,
                text: text.to_owned(),
            };
        }
        self.held.push_str(piece);
        let start = self.held.trim_start();
        // Decide as soon as the start cannot be the marker, or the line is whole.
        if !start.is_empty() && !could_be_marker(start) {
            return self.release(None);
        }
        if let Some(end) = start.find('\n') {
            let line = start[..end].to_owned();
            let rest_at = self.held.len() - start.len() + end + 1;
            return match parse_line(&line) {
                Some(transcript) => {
                    let rest = self.held[rest_at..].trim_start_matches(['\r', '\n']).to_owned();
                    self.decided = true;
                    self.trim = rest.is_empty();
                    self.held.clear();
                    Split {
                        transcript: Some(transcript),
                        text: rest,
                    }
                }
                None => self.release(None),
            };
        }
        if self.held.len() > MAX_WAIT {
            return self.release(None);
        }
        Split::default()
    }

    /// The end of the answer: whatever is still held.
    pub fn finish(&mut self) -> Split {
        if self.decided {
            return Split::default();
        }
        let held = std::mem::take(&mut self.held);
        self.decided = true;
        match parse_line(held.trim()) {
            Some(transcript) => Split {
                transcript: Some(transcript),
                text: String::new(),
            },
            None => Split {
                transcript: None,
                text: held,
            },
        }
    }

    fn release(&mut self, transcript: Option<String>) -> Split {
        self.decided = true;
        Split {
            transcript,
            text: std::mem::take(&mut self.held),
        }
    }
}

/// Splits a whole answer: `(transcript, answer)`.
pub fn split(answer: &str) -> (Option<String>, String) {
    let mut splitter = Splitter::new();
    let first = splitter.push(answer);
    let last = splitter.finish();
    (first.transcript.or(last.transcript), first.text + &last.text)
}

/// Characters Gemini may decorate the marker with: Markdown emphasis, a heading
/// or quote sign, a list dash, spaces.
fn decoration(c: char) -> bool {
    matches!(c, '*' | '_' | '#' | '>' | '-' | ' ' | '\t' | '`')
}

const MARKERS: [&str; 3] = ["transcript", "транскрипт", "транскрипция"];

/// Whether the start of an answer is (or may still become) the marker.
fn could_be_marker(start: &str) -> bool {
    let bare = start.trim_start_matches(decoration).to_lowercase();
    if bare.is_empty() {
        return true;
    }
    MARKERS
        .iter()
        .any(|m| m.starts_with(bare.as_str()) || bare.starts_with(m))
}

/// The transcript of a first line `Transcript: …`, if it is one.
fn parse_line(line: &str) -> Option<String> {
    let bare = line.trim().trim_start_matches(decoration);
    let lower = bare.to_lowercase();
    let marker = MARKERS
        .iter()
        .filter(|m| lower.starts_with(**m))
        .max_by_key(|m| m.len())?;
    // Lower-casing keeps these letters' lengths, so the index carries over.
    let rest = bare.get(marker.len()..)?;
    let rest = rest.trim_start_matches(decoration);
    let rest = rest.strip_prefix(':')?;
    let text = rest
        .trim()
        .trim_matches(|c: char| decoration(c) || matches!(c, '"' | '«' | '»' | '“' | '”'))
        .trim();
    if text.is_empty() {
        return Some(String::new());
    }
    Some(text.chars().take(MAX_CHARS).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_transcript_line_is_split_off_a_whole_answer() {
        let (transcript, answer) = split("Transcript: Какой электрод взять?\n\nУОНИ-13/55, 3 мм.");
        assert_eq!(transcript.as_deref(), Some("Какой электрод взять?"));
        assert_eq!(answer, "УОНИ-13/55, 3 мм.");
    }

    #[test]
    fn decorated_markers_are_understood() {
        for line in [
            "**Transcript:** Which current?",
            "*Transcript*: Which current?",
            "## Transcript: \"Which current?\"",
            "transcript:   Which current?  ",
            "> Транскрипт: Which current?",
        ] {
            let (transcript, answer) = split(&format!("{line}\n\nAbout 100 A."));
            assert_eq!(transcript.as_deref(), Some("Which current?"), "{line}");
            assert_eq!(answer, "About 100 A.", "{line}");
        }
    }

    #[test]
    fn an_answer_without_the_marker_passes_through_whole() {
        let text = "**Для 09Г2С** берите УОНИ-13/55.\n\nТок 90–110 А.";
        assert_eq!(split(text), (None, text.to_owned()));
        let text = "Transcription of welding is not a thing.\nYes.";
        assert_eq!(split(text), (None, text.to_owned()));
    }

    #[test]
    fn a_streamed_answer_is_held_only_until_the_line_is_whole() {
        let mut s = Splitter::new();
        assert_eq!(s.push("Tran"), Split::default());
        assert_eq!(s.push("script: Какой ток"), Split::default());
        let split = s.push(" нужен?\n");
        assert_eq!(split.transcript.as_deref(), Some("Какой ток нужен?"));
        assert_eq!(split.text, "");
        assert_eq!(s.push("\n").text, "");
        assert_eq!(s.push("\nОколо 100 А.").text, "Около 100 А.".to_owned());
        assert_eq!(s.push("\n\nТок.").text, "\n\nТок.".to_owned());
        assert_eq!(s.finish(), Split::default());
    }

    #[test]
    fn a_streamed_answer_without_the_marker_is_released_at_its_first_word() {
        let mut s = Splitter::new();
        let first = s.push("Для стали");
        assert_eq!(
            first,
            Split {
                transcript: None,
                text: "Для стали".into()
            }
        );
        assert_eq!(s.push(" 09Г2С").text, " 09Г2С");
    }

    #[test]
    fn a_transcript_alone_with_no_answer_is_still_a_transcript() {
        let mut s = Splitter::new();
        assert_eq!(s.push("Transcript: hello"), Split::default());
        let end = s.finish();
        assert_eq!(end.transcript.as_deref(), Some("hello"));
        assert_eq!(end.text, "");
    }

    #[test]
    fn an_endless_first_line_is_not_held_forever() {
        let mut s = Splitter::new();
        let mut released = String::new();
        for _ in 0..1000 {
            released += &s.push("Transcript ").text;
        }
        assert!(!released.is_empty());
    }
}
