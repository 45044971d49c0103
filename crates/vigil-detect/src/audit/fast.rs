//! A fast path for parsing an event line into the typed view, for the shape nearly every
//! line of a real log has: one JSON object, plain keys, the parts rules read as strings.
//!
//! Parsing was the largest cost of a scan, most of it serde's machinery (a visitor per
//! field, an `Option` per value, keys decoded and then matched) rather than reading the
//! bytes. This reads the bytes once, matches keys in place and borrows every value.
//!
//! It never decides that a line is bad: anything outside what it handles — invalid
//! JSON, a duplicate field, a key with escapes, a part of the wrong type, an `EventList`,
//! deep nesting — makes it give up (`None`), and the caller parses the line with
//! serde_json as before, which then accepts it or says why not. So when it does return
//! an event, it is the one serde_json would have returned, and everything it accepts
//! serde_json accepts too: strings are checked as serde_json checks them (no control
//! characters, only JSON's escapes, four hex digits after `\u`, no lone surrogates in
//! decoded text), numbers follow JSON's grammar, and nothing may follow the object.

use super::{Annotations, ObjectRef, Raw, Status, Text, User, Wire};
use std::borrow::Cow;

/// Deepest nesting handled; serde_json stops at 128, so anything this accepts is within
/// its limit too.
const MAX_DEPTH: usize = 100;

/// The typed view of `text`, or `None` to let serde_json decide.
pub(crate) fn wire(text: &str) -> Option<Wire<'_>> {
    let mut c = Cursor { text, pos: 0 };
    c.ws();
    let wire = c.wire()?;
    c.ws();
    c.at_end().then_some(wire)
}

/// The strings of a JSON array of strings, or `None` to let serde_json decide.
pub(crate) fn strings(text: &str) -> Option<Vec<Text<'_>>> {
    let mut c = Cursor { text, pos: 0 };
    c.ws();
    let mut out = Vec::new();
    c.eat(b'[')?;
    c.ws();
    if c.eat(b']').is_none() {
        loop {
            c.ws();
            out.push(c.text()?);
            c.ws();
            if c.eat(b']').is_some() {
                break;
            }
            c.eat(b',')?;
        }
    }
    c.ws();
    c.at_end().then_some(out)
}

/// Reads JSON text from a position.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

/// Which of a struct's fields have been read, to give up on a duplicate as serde's
/// derive fails on one.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    /// Stores field `bit`'s value in `slot`; `None` when the field was read before.
    fn set<T>(&mut self, bit: u32, slot: &mut Option<T>, value: Option<T>) -> Option<()> {
        let mask = 1u32 << bit;
        if self.0 & mask != 0 {
            return None;
        }
        self.0 |= mask;
        *slot = value;
        Some(())
    }
}

/// True for a byte a JSON string cannot hold as it is: the closing quote, the start of
/// an escape, or a control character. Eight bytes at a time: strings are mostly plain,
/// and their ends are what the parser spends its time finding.
fn special_in(word: u64) -> u32 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = zero(word ^ (ONES * u64::from(b'"')));
    let backslash = zero(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    // Borrows can mark bytes after the first real match, never before it: the lowest
    // mark is exact.
    (quote | backslash | control).trailing_zeros() / 8
}

/// Where the first byte that [`special_in`] marks is in `bytes`, if anywhere.
fn find_special(bytes: &[u8]) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let at = special_in(u64::from_le_bytes(chunk.try_into().ok()?));
        if at < 8 {
            return Some(base + at as usize);
        }
        base += 8;
    }
    // The last few bytes, padded with spaces (never special).
    let rest = chunks.remainder();
    let mut tail = [b' '; 8];
    tail.get_mut(..rest.len())?.copy_from_slice(rest);
    let at = special_in(u64::from_le_bytes(tail)) as usize;
    (at < rest.len()).then_some(base + at)
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos == self.text.len()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.pos += 1)
    }

    /// After a member: `Some(true)` at a comma, `Some(false)` at the closing `close`.
    fn next_member(&mut self, close: u8) -> Option<bool> {
        self.ws();
        match self.peek()? {
            b',' => {
                self.pos += 1;
                self.ws();
                Some(true)
            }
            b if b == close => {
                self.pos += 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// Past a string (the cursor on its opening quote): the text between the quotes and
    /// whether it has escapes, each checked.
    fn string(&mut self) -> Option<(&'a str, bool)> {
        self.eat(b'"')?;
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let mut escaped = false;
        let mut i = start;
        loop {
            i += find_special(bytes.get(i..)?)?;
            let b = *bytes.get(i)?;
            match b {
                b'"' => {
                    let s = self.text.get(start..i)?;
                    self.pos = i + 1;
                    return Some((s, escaped));
                }
                b'\\' => {
                    escaped = true;
                    i += 1;
                    match *bytes.get(i)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 1,
                        b'u' => {
                            hex4(bytes.get(i + 1..i + 5)?)?;
                            i += 5;
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    /// A string value as text: borrowed, or decoded when it has escapes.
    fn text(&mut self) -> Option<Text<'a>> {
        let (s, escaped) = self.string()?;
        Some(Text(if escaped {
            Cow::Owned(unescape(s)?)
        } else {
            Cow::Borrowed(s)
        }))
    }

    /// A key without escapes (a key with them gives up: serde would match it decoded),
    /// and the colon after it.
    fn key(&mut self) -> Option<&'a str> {
        let (key, escaped) = self.string()?;
        if escaped {
            return None;
        }
        self.ws();
        self.eat(b':')?;
        self.ws();
        Some(key)
    }

    /// True (and past it) when the value here is `null`: an absent part, as serde reads
    /// an `Option`.
    fn null(&mut self) -> bool {
        let null = self.text.as_bytes().get(self.pos..self.pos + 4) == Some(b"null");
        if null {
            self.pos += 4;
        }
        null
    }

    fn opt_text(&mut self) -> Option<Option<Text<'a>>> {
        if self.null() {
            return Some(None);
        }
        self.text().map(Some)
    }

    fn opt_raw(&mut self) -> Option<Option<Raw<'a>>> {
        if self.null() {
            return Some(None);
        }
        let start = self.pos;
        self.skip(1)?;
        Some(Some(Raw(self.text.get(start..self.pos)?)))
    }

    /// An object whose members `member` reads (`None` from it gives up), or `null`.
    fn object<T: Default>(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a str, &mut T) -> Option<()>,
    ) -> Option<Option<T>> {
        if self.null() {
            return Some(None);
        }
        self.eat(b'{')?;
        self.ws();
        let mut out = T::default();
        if self.eat(b'}').is_some() {
            return Some(Some(out));
        }
        loop {
            let key = self.key()?;
            member(self, key, &mut out)?;
            if !self.next_member(b'}')? {
                return Some(Some(out));
            }
        }
    }

    fn wire(&mut self) -> Option<Wire<'a>> {
        let mut seen = Seen::default();
        self.object(|c, key, w: &mut Wire<'a>| {
            match key {
                "kind" => seen.set(0, &mut w.kind, c.opt_text()?)?,
                "apiVersion" => seen.set(1, &mut w.api_version, c.opt_text()?)?,
                "auditID" => seen.set(2, &mut w.audit_id, c.opt_text()?)?,
                "stage" => seen.set(3, &mut w.stage, c.opt_text()?)?,
                "requestURI" => seen.set(4, &mut w.request_uri, c.opt_text()?)?,
                "verb" => seen.set(5, &mut w.verb, c.opt_text()?)?,
                "user" => seen.set(6, &mut w.user, c.user()?)?,
                "impersonatedUser" => seen.set(7, &mut w.impersonated_user, c.user()?)?,
                "sourceIPs" => seen.set(8, &mut w.source_ips, c.opt_raw()?)?,
                "userAgent" => seen.set(9, &mut w.user_agent, c.opt_text()?)?,
                "objectRef" => seen.set(10, &mut w.object_ref, c.object_ref()?)?,
                "responseStatus" => seen.set(11, &mut w.response_status, c.status()?)?,
                "requestObject" => seen.set(12, &mut w.request_object, c.opt_raw()?)?,
                "responseObject" => seen.set(13, &mut w.response_object, c.opt_raw()?)?,
                "requestReceivedTimestamp" => {
                    seen.set(14, &mut w.request_received_timestamp, c.opt_text()?)?
                }
                "stageTimestamp" => seen.set(15, &mut w.stage_timestamp, c.opt_text()?)?,
                "annotations" => seen.set(16, &mut w.annotations, c.annotations()?)?,
                // The events of a list: serde_json reads lists.
                "items" => return None,
                _ => c.skip(1)?,
            };
            Some(())
        })?
    }

    fn user(&mut self) -> Option<Option<User<'a>>> {
        let mut seen = Seen::default();
        self.object(|c, key, u: &mut User<'a>| {
            match key {
                "username" => seen.set(0, &mut u.username, c.opt_text()?)?,
                "groups" => seen.set(1, &mut u.groups, c.opt_raw()?)?,
                _ => c.skip(2)?,
            };
            Some(())
        })
    }

    fn object_ref(&mut self) -> Option<Option<ObjectRef<'a>>> {
        let mut seen = Seen::default();
        self.object(|c, key, o: &mut ObjectRef<'a>| {
            match key {
                "resource" => seen.set(0, &mut o.resource, c.opt_text()?)?,
                "subresource" => seen.set(1, &mut o.subresource, c.opt_text()?)?,
                "namespace" => seen.set(2, &mut o.namespace, c.opt_text()?)?,
                "name" => seen.set(3, &mut o.name, c.opt_text()?)?,
                _ => c.skip(2)?,
            };
            Some(())
        })
    }

    fn status(&mut self) -> Option<Option<Status<'a>>> {
        let mut seen = Seen::default();
        self.object(|c, key, s: &mut Status<'a>| {
            match key {
                "code" => seen.set(0, &mut s.code, c.opt_raw()?)?,
                "reason" => seen.set(1, &mut s.reason, c.opt_text()?)?,
                _ => c.skip(2)?,
            };
            Some(())
        })
    }

    fn annotations(&mut self) -> Option<Option<Annotations<'a>>> {
        let mut seen = Seen::default();
        self.object(|c, key, a: &mut Annotations<'a>| {
            match key {
                "authorization.k8s.io/decision" => seen.set(0, &mut a.decision, c.opt_text()?)?,
                "authorization.k8s.io/reason" => seen.set(1, &mut a.reason, c.opt_raw()?)?,
                _ => c.skip(2)?,
            };
            Some(())
        })
    }

    /// Past any JSON value, checked, `depth` levels in.
    fn skip(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' if depth >= MAX_DEPTH => None,
            b'{' => {
                self.pos += 1;
                self.ws();
                if self.eat(b'}').is_some() {
                    return Some(());
                }
                loop {
                    self.string()?;
                    self.ws();
                    self.eat(b':')?;
                    self.ws();
                    self.skip(depth + 1)?;
                    if !self.next_member(b'}')? {
                        return Some(());
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                self.ws();
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.skip(depth + 1)?;
                    if !self.next_member(b']')? {
                        return Some(());
                    }
                }
            }
            b't' => self.word(b"true"),
            b'f' => self.word(b"false"),
            b'n' => self.word(b"null"),
            _ => self.number(),
        }
    }

    fn word(&mut self, w: &[u8]) -> Option<()> {
        let end = self.pos + w.len();
        (self.text.as_bytes().get(self.pos..end)? == w).then(|| self.pos = end)
    }

    /// Past a number, by JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => self.digits()?,
            _ => return None,
        }
        if self.eat(b'.').is_some() {
            self.digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.digits()?;
        }
        // `01`, `1x`: whatever follows must end the value (the caller checks which).
        match self.peek() {
            None | Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\t' | b'\r') => Some(()),
            Some(_) => None,
        }
    }

    /// One or more digits.
    fn digits(&mut self) -> Option<()> {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        (self.pos > start).then_some(())
    }
}

/// The value of four hex digits.
fn hex4(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &d| {
        let v = char::from(d).to_digit(16)?;
        Some(n * 16 + v)
    })
}

/// The text of a string (between its quotes) with its escapes decoded; `None` for a lone
/// surrogate, which serde_json refuses in text.
fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('\\') {
        out.push_str(rest.get(..i)?);
        let bytes = rest.as_bytes();
        let (c, used) = match *bytes.get(i + 1)? {
            b'"' => ('"', 2),
            b'\\' => ('\\', 2),
            b'/' => ('/', 2),
            b'b' => ('\u{8}', 2),
            b'f' => ('\u{c}', 2),
            b'n' => ('\n', 2),
            b'r' => ('\r', 2),
            b't' => ('\t', 2),
            b'u' => {
                let first = hex4(bytes.get(i + 2..i + 6)?)?;
                match first {
                    0xD800..=0xDBFF => {
                        if bytes.get(i + 6..i + 8)? != b"\\u" {
                            return None;
                        }
                        let second = hex4(bytes.get(i + 8..i + 12)?)?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return None;
                        }
                        let c = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                        (char::from_u32(c)?, 12)
                    }
                    _ => (char::from_u32(first)?, 6),
                }
            }
            _ => return None,
        };
        out.push(c);
        rest = rest.get(i + used..)?;
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What serde_json makes of `text`, as the fast path would show it.
    fn by_serde(text: &str) -> Option<String> {
        serde_json::from_str::<Wire<'_>>(text)
            .ok()
            .map(|w| format!("{w:?}"))
    }

    const EVENT: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"0001-a","stage":"ResponseComplete","requestURI":"/api/v1/pods?limit=500\u0026watch=true","verb":"list","user":{"username":"al\"ice","groups":["a","b\u00e9"],"extra":{"k":[1,-2.5e3,true,false,null]}},"sourceIPs":["10.0.0.1"],"userAgent":"kubectl/v1 \ud83d\ude00","objectRef":{"resource":"pods","namespace":"shop","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestObject":{"spec":{"containers":[{"image":"x"}]}},"requestReceivedTimestamp":"2026-11-29T12:00:00.000001Z","stageTimestamp":"2026-11-29T12:00:00.000002Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: \"x\""}}"#;

    #[test]
    fn reads_an_event_as_serde_json_does() {
        let fast = wire(EVENT).map(|w| format!("{w:?}"));
        assert!(fast.is_some());
        assert_eq!(fast, by_serde(EVENT));
        let spaced = format!(
            " \n{}\t\r\n",
            EVENT.replace(',', " ,\n ").replace(':', " : ")
        );
        assert_eq!(wire(&spaced).map(|w| format!("{w:?}")), by_serde(&spaced));
        assert!(wire(&spaced).is_some());
    }

    #[test]
    fn gives_up_where_serde_json_decides() {
        for text in [
            // Invalid JSON.
            r#"{"verb":"get""#,
            r#"{"verb":"get",}"#,
            r#"{"verb":"get"} x"#,
            r#"{"verb":"g	t"}"#,
            r#"{"verb":"\x"}"#,
            r#"{"verb":"\u12"}"#,
            r#"{"level":01}"#,
            r#"{"level":1.}"#,
            r#"{"level":-}"#,
            r#"{"level":tru}"#,
            r#"{"level":[1,]}"#,
            // Valid, but for serde_json to judge or read.
            r#"{"verb":"get","verb":"list"}"#,
            r#"{"verb":null,"verb":"list"}"#,
            r#"{"ver\u0062":"get"}"#,
            r#"{"verb":1}"#,
            r#"{"user":"alice"}"#,
            r#"{"user":["alice"]}"#,
            r#"{"verb":"\ud800"}"#,
            r#"{"verb":"\udc00\ud800"}"#,
            r#"{"kind":"EventList","items":[]}"#,
            r#"[{"verb":"get"}]"#,
            r#"null"#,
        ] {
            assert!(wire(text).is_none(), "{text}");
        }
        let deep = format!(r#"{{"level":{}{}}}"#, "[".repeat(150), "]".repeat(150));
        assert!(wire(&deep).is_none());
    }

    #[test]
    fn nulls_and_empty_parts() {
        for text in [
            r#"{}"#,
            r#"{"verb":null,"user":null,"sourceIPs":null,"objectRef":{},"responseStatus":{"code":null}}"#,
            r#"{"user":{"groups":[]},"annotations":{"authorization.k8s.io/reason":"\\"}}"#,
            r#"{"level":"\/\b\f\n\r\t\u0000","verb":"\ud83d\ude00"}"#,
        ] {
            let fast = wire(text).map(|w| format!("{w:?}"));
            assert!(fast.is_some(), "{text}");
            assert_eq!(fast, by_serde(text), "{text}");
        }
    }

    #[test]
    fn string_lists() {
        let got = strings(r#" ["a", "b\"c" ,"\u00e9"] "#).unwrap();
        let got: Vec<&str> = got.iter().map(|t| &**t).collect();
        assert_eq!(got, ["a", "b\"c", "é"]);
        assert!(strings("[]").unwrap().is_empty());
        for bad in ["[1]", "[\"a\",]", "[\"a\"", "{}", "[\"a\"] x"] {
            assert!(strings(bad).is_none(), "{bad}");
        }
    }

    /// Edits of a real-shaped event, byte by byte, with the characters JSON turns on:
    /// whatever the fast path reads, serde_json reads the same.
    #[test]
    fn never_disagrees_with_serde_json_on_edited_events() {
        let pieces: [&[u8]; 14] = [
            b"\"", b"\\", b"{", b"}", b"[", b"]", b",", b":", b"null", b"0", b"-", b"\\u", b"\x01",
            b" ",
        ];
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut accepted = 0;
        for _ in 0..20_000 {
            let mut bytes = EVENT.as_bytes().to_vec();
            for _ in 0..1 + next() % 3 {
                let at = (next() % bytes.len() as u64) as usize;
                let piece = pieces[(next() % pieces.len() as u64) as usize];
                match next() % 3 {
                    0 => {
                        bytes.splice(at..at, piece.iter().copied());
                    }
                    1 => {
                        bytes.remove(at);
                    }
                    _ => {
                        let end = (at + piece.len()).min(bytes.len());
                        bytes.splice(at..end, piece.iter().copied());
                    }
                }
            }
            let Ok(text) = std::str::from_utf8(&bytes) else {
                continue;
            };
            if let Some(w) = wire(text) {
                accepted += 1;
                assert_eq!(Some(format!("{w:?}")), by_serde(text), "{text}");
            }
        }
        assert!(accepted > 1000, "{accepted}");
    }
}
