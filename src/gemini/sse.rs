//! Gemini's Server-Sent Events, byte level (Gemini's REST streaming format): `data: <json>\r\n\r\n`
//! events (CRLF, LF or CR line ends; an event may span reads and a read may hold
//! several), and — after some events — a bare, possibly pretty-printed JSON error
//! object that is not a `data:` line at all. The usual SSE parsers drop such
//! lines as unknown fields, which would hide the error; this one keeps them.

/// One thing the stream said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseItem {
    /// The data of one event.
    Data(String),
    /// Text outside any `data:` line (a bare JSON error object).
    Raw(String),
}

/// An incremental parser: feed bytes, take items.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    data: Option<String>,
    raw: String,
    after_cr: bool,
}

/// The most a single line or event may hold; more is garbage.
const MAX_EVENT: usize = 4 * 1024 * 1024;

impl SseParser {
    /// Feeds bytes; returns the items they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<SseItem>, SseOverflow> {
        let mut items = Vec::new();
        for &byte in bytes {
            if self.after_cr {
                self.after_cr = false;
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(&mut items);
                }
                b'\n' => self.end_line(&mut items),
                _ => {
                    if self.line.len() >= MAX_EVENT {
                        return Err(SseOverflow);
                    }
                    self.line.push(byte);
                }
            }
        }
        if self.data.as_ref().is_some_and(|d| d.len() > MAX_EVENT) || self.raw.len() > MAX_EVENT {
            return Err(SseOverflow);
        }
        Ok(items)
    }

    /// The end of the stream: whatever is pending.
    pub fn finish(&mut self) -> Vec<SseItem> {
        let mut items = Vec::new();
        if !self.line.is_empty() {
            self.end_line(&mut items);
        }
        if let Some(data) = self.data.take() {
            items.push(SseItem::Data(data));
        }
        if !self.raw.trim().is_empty() {
            items.push(SseItem::Raw(std::mem::take(&mut self.raw)));
        }
        items
    }

    fn end_line(&mut self, items: &mut Vec<SseItem>) {
        let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                items.push(SseItem::Data(data));
            }
            return;
        }
        if let Some(value) = line.strip_prefix("data:") {
            let value = value.strip_prefix(' ').unwrap_or(value);
            match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            }
            return;
        }
        if line.starts_with(':') || ["event:", "id:", "retry:"].iter().any(|f| line.starts_with(f)) {
            return;
        }
        self.raw.push_str(&line);
        self.raw.push('\n');
        if balanced(&self.raw) {
            items.push(SseItem::Raw(std::mem::take(&mut self.raw)));
        }
    }
}

/// The stream sent more than a sane event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SseOverflow;

/// Whether text is a complete JSON value by brace counting (strings respected).
fn balanced(text: &str) -> bool {
    let mut depth = 0i64;
    let mut in_string = false;
    let mut escaped = false;
    let mut seen = false;
    for c in text.chars() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => {
                depth += 1;
                seen = true;
            }
            '}' | ']' => depth -= 1,
            _ => {}
        }
    }
    seen && depth <= 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/fixtures/gemini/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn parse_in_pieces(bytes: &[u8], piece: usize) -> Vec<SseItem> {
        let mut parser = SseParser::default();
        let mut items = Vec::new();
        for chunk in bytes.chunks(piece.max(1)) {
            items.extend(parser.feed(chunk).unwrap());
        }
        items.extend(parser.finish());
        items
    }

    #[test]
    fn crlf_framed_events_parse_whatever_the_read_sizes() {
        let bytes = fixture("stream_ok.sse");
        let whole = parse_in_pieces(&bytes, bytes.len());
        assert_eq!(whole.len(), 3, "{whole:?}");
        assert!(
            whole
                .iter()
                .all(|i| matches!(i, SseItem::Data(d) if d.starts_with("{\"candidates\"")))
        );
        for piece in [1, 2, 3, 7, 64] {
            assert_eq!(parse_in_pieces(&bytes, piece), whole, "piece {piece}");
        }
    }

    #[test]
    fn a_bare_json_error_after_events_is_kept() {
        let items = parse_in_pieces(&fixture("stream_midstream_error.sse"), 5);
        assert_eq!(items.len(), 3, "{items:?}");
        let SseItem::Raw(raw) = &items[2] else {
            panic!("{items:?}")
        };
        let json: serde_json::Value = serde_json::from_str(raw).unwrap();
        assert_eq!(json["error"]["status"], "INTERNAL");
    }

    #[test]
    fn lf_and_cr_line_ends_multi_line_data_and_comments_work() {
        let items = parse_in_pieces(b": keepalive\n\ndata: a\ndata: b\n\nevent: x\rdata: c\r\r", 3);
        assert_eq!(
            items,
            vec![SseItem::Data("a\nb".into()), SseItem::Data("c".into())]
        );
        assert_eq!(
            parse_in_pieces(b"data: tail-without-blank-line", 4),
            vec![SseItem::Data("tail-without-blank-line".into())]
        );
    }

    #[test]
    fn braces_inside_strings_do_not_end_a_raw_object_early() {
        let items = parse_in_pieces(b"{\"error\": {\"message\": \"a } b {\"\n}}\n", 2);
        assert_eq!(items.len(), 1);
        assert!(matches!(&items[0], SseItem::Raw(r) if r.contains("a } b {")));
    }

    #[test]
    fn an_endless_line_is_an_overflow_not_unbounded_memory() {
        let mut parser = SseParser::default();
        let chunk = vec![b'x'; 1024 * 1024];
        let mut result = Ok(vec![]);
        for _ in 0..6 {
            result = parser.feed(&chunk);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(SseOverflow));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_bytes_in_any_pieces_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000), piece in 1usize..64) {
                let mut parser = SseParser::default();
                for chunk in bytes.chunks(piece) {
                    let _ = parser.feed(chunk);
                }
                let _ = parser.finish();
            }

            #[test]
            fn events_survive_any_split(
                datas in prop::collection::vec("[a-zA-Z0-9 {}\":,]{1,40}", 1..8),
                crlf in any::<bool>(),
                piece in 1usize..32,
            ) {
                let end = if crlf { "\r\n" } else { "\n" };
                let text: String = datas.iter().map(|d| format!("data: {d}{end}{end}")).collect();
                let items = parse_in_pieces(text.as_bytes(), piece);
                let expected: Vec<SseItem> = datas.iter().map(|d| SseItem::Data(d.clone())).collect();
                prop_assert_eq!(items, expected);
            }
        }
    }
}
