//! Frontend messages framed and checked before anything else reads them: every length is
//! bounded before a byte is allocated for it, and every message's layout is checked against
//! the protocol (docs/server.md, "Protocol limits"), so the decoder behind it only ever sees
//! one whole, well-formed message.
//!
//! pgwire's decoders read from the connection's whole buffer rather than from one message, so a
//! Parse without its closing NUL swallowed the Sync after it, and a lying length panicked them.
//! Here each message is cut out first and its fields are walked with bounds checks, the way
//! PostgreSQL's `pq_getmsg*` functions do.
use bytes::{Buf, BytesMut};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};

/// PostgreSQL's limit for a startup packet (`MAX_STARTUP_PACKET_LENGTH`).
pub const MAX_STARTUP_PACKET: usize = 10_000;
/// PostgreSQL's limit for messages that carry no data (`PQ_SMALL_MESSAGE_LIMIT`).
const SMALL_MESSAGE: usize = 10_000;
/// PostgreSQL's hard limit for any message (`PQ_LARGE_MESSAGE_LIMIT`, 1 GB - 1). An oversized
/// query up to this length is read and dropped with an error; a longer length is a lie.
const LARGEST_MESSAGE: usize = (1 << 30) - 1;

/// How large a client's messages may be (settings of `strata serve`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest SQL text in a Query or Parse; longer ones get 54000 and the connection goes on.
    pub max_query_size: usize,
    /// Longest message of any other kind (Bind with its values, CopyData, …); beyond it the
    /// connection is closed with 08P01, as PostgreSQL does for an invalid message length.
    pub max_message_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_query_size: 16 << 20,
            max_message_size: 64 << 20,
        }
    }
}

/// One whole message as it came: a startup packet (no type byte) or a typed message, length
/// word included, ready for pgwire's decoder.
#[derive(Debug)]
pub struct Frame {
    pub kind: Option<u8>,
    pub bytes: BytesMut,
}

/// What is wrong with a message, and whether the connection can go on after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub code: &'static str,
    pub message: String,
    /// The stream can no longer be trusted (a bad length or an unknown type): FATAL, close.
    /// Otherwise the message was cut out whole and only its content is bad: ERROR, go on.
    pub fatal: bool,
    /// The type byte of the message it was found in (None for startup packets).
    pub kind: Option<u8>,
}

impl Violation {
    fn fatal(code: &'static str, message: impl Into<String>, kind: Option<u8>) -> Self {
        Violation {
            code,
            message: message.into(),
            fatal: true,
            kind,
        }
    }

    fn error(code: &'static str, message: impl Into<String>, kind: u8) -> Self {
        Violation {
            code,
            message: message.into(),
            fatal: false,
            kind: Some(kind),
        }
    }
}

/// Reads frames from one connection.
pub struct FrameReader<R> {
    io: R,
    buf: BytesMut,
    limits: Limits,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub fn new(io: R, limits: Limits) -> Self {
        FrameReader {
            io,
            buf: BytesMut::with_capacity(8 * 1024),
            limits,
        }
    }

    /// A reader over `io` that starts with bytes already read from it.
    pub fn from_parts(io: R, buf: BytesMut, limits: Limits) -> Self {
        FrameReader { io, buf, limits }
    }

    /// Bytes read but not yet framed: after an SSLRequest there must be none (PostgreSQL
    /// refuses plaintext sent ahead of the TLS handshake, CVE-2021-23214).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.io
    }

    /// The stream and what was read from it but not yet framed.
    pub fn into_parts(self) -> (R, BytesMut) {
        (self.io, self.buf)
    }

    /// Fills the buffer to `n` bytes; false at end of stream.
    async fn fill(&mut self, n: usize) -> io::Result<bool> {
        while self.buf.len() < n {
            self.buf.reserve(n - self.buf.len());
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads and drops `n` bytes without keeping them.
    async fn skip(&mut self, mut n: usize) -> io::Result<bool> {
        let have = n.min(self.buf.len());
        self.buf.advance(have);
        n -= have;
        let mut sink = vec![0u8; 64 * 1024];
        while n > 0 {
            let want = n.min(sink.len());
            let got = self.io.read(&mut sink[..want]).await?;
            if got == 0 {
                return Ok(false);
            }
            n -= got;
        }
        Ok(true)
    }

    /// The next message: a startup packet when `startup`, else a typed one. `Ok(None)` at the
    /// end of the stream (also in the middle of a message: the client is gone).
    pub async fn next(&mut self, startup: bool) -> io::Result<Option<Result<Frame, Violation>>> {
        let header = if startup { 4 } else { 5 };
        if !self.fill(header).await? {
            return Ok(None);
        }
        let kind = (!startup).then(|| self.buf[0]);
        let at = header - 4;
        let len = u32::from_be_bytes(self.buf[at..header].try_into().expect("4 bytes")) as usize;
        if let Err(v) = self.check_length(kind, len) {
            if v.fatal {
                return Ok(Some(Err(v)));
            }
            // A whole message we will not read: drop its bytes and report it.
            return Ok(self.skip(at + len).await?.then_some(Err(v)));
        }
        if !self.fill(at + len).await? {
            return Ok(None);
        }
        let bytes = self.buf.split_to(at + len);
        let checked = match kind {
            None => check_startup(&bytes[4..]),
            Some(k) => check_layout(k, &bytes[5..]),
        };
        Ok(Some(checked.map(|()| Frame { kind, bytes })))
    }

    fn check_length(&self, kind: Option<u8>, len: usize) -> Result<(), Violation> {
        let Some(kind) = kind else {
            return if (8..=MAX_STARTUP_PACKET).contains(&len) {
                Ok(())
            } else {
                Err(Violation::fatal(
                    crate::sqlstate::PROTOCOL_VIOLATION,
                    "invalid length of startup packet",
                    None,
                ))
            };
        };
        if !KNOWN.contains(&kind) {
            return Err(Violation::fatal(
                crate::sqlstate::PROTOCOL_VIOLATION,
                format!("invalid frontend message type {kind}"),
                Some(kind),
            ));
        }
        let limit = match kind {
            b'Q' | b'P' => LARGEST_MESSAGE,
            b'B' | b'd' | b'p' | b'F' => self.limits.max_message_size,
            _ => SMALL_MESSAGE,
        };
        if len < 4 || len > limit {
            return Err(Violation::fatal(
                crate::sqlstate::PROTOCOL_VIOLATION,
                format!(
                    "invalid message length {len} for message type '{}'",
                    kind as char
                ),
                Some(kind),
            ));
        }
        if matches!(kind, b'Q' | b'P') && len - 4 > self.limits.max_query_size {
            return Err(Violation::error(
                crate::sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!(
                    "query text is too long: {} bytes, more than max_query_size ({} bytes)",
                    len - 4,
                    self.limits.max_query_size
                ),
                kind,
            ));
        }
        Ok(())
    }
}

/// The message types a frontend may send (protocol 3.0–3.2).
const KNOWN: &[u8] = b"BCdcfDEFHPpQSX";

/// Walks a message body with bounds checks; every read fails instead of running off the end.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("insufficient data left in message");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.bytes(1)?[0])
    }
    fn i16(&mut self) -> Result<i16, &'static str> {
        Ok(i16::from_be_bytes(
            self.bytes(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn i32(&mut self) -> Result<i32, &'static str> {
        Ok(i32::from_be_bytes(
            self.bytes(4)?.try_into().expect("4 bytes"),
        ))
    }
    /// A NUL-terminated string, valid UTF-8 (the server encoding is UTF8).
    fn cstr(&mut self) -> Result<&'a str, &'static str> {
        let end = self
            .0
            .iter()
            .position(|&b| b == 0)
            .ok_or("invalid string in message")?;
        let s = std::str::from_utf8(&self.0[..end])
            .map_err(|_| "invalid byte sequence for encoding \"UTF8\"")?;
        self.0 = &self.0[end + 1..];
        Ok(s)
    }
    fn count(&mut self) -> Result<usize, &'static str> {
        usize::try_from(self.i16()?).map_err(|_| "invalid message format: negative count")
    }
    fn end(&self) -> Result<(), &'static str> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err("invalid message format")
        }
    }
}

/// A startup packet's body: protocol version 3.x and `name\0value\0` pairs ending in `\0`, or
/// one of the special request codes.
fn check_startup(body: &[u8]) -> Result<(), Violation> {
    let bad = |m: &str| Violation::fatal(crate::sqlstate::PROTOCOL_VIOLATION, m, None);
    let mut f = Fields(body);
    let code = f.i32().map_err(bad)?;
    match code {
        // CancelRequest: pid and a secret key of 4 to 256 bytes (3.2 made it variable).
        80877102 => {
            f.i32().map_err(bad)?;
            return if (4..=256).contains(&f.0.len()) {
                Ok(())
            } else {
                Err(bad("invalid length of cancel request packet"))
            };
        }
        80877103 | 80877104 => {
            return if f.0.is_empty() {
                Ok(())
            } else {
                Err(bad("invalid length of SSL or GSSAPI request packet"))
            }
        }
        _ => {}
    }
    let (major, minor) = ((code >> 16) as u16, (code & 0xffff) as u16);
    if major != 3 {
        return Err(Violation::fatal(
            crate::sqlstate::FEATURE_NOT_SUPPORTED,
            format!("unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.2"),
            None,
        ));
    }
    loop {
        let name = f.cstr().map_err(bad)?;
        if name.is_empty() {
            break;
        }
        f.cstr().map_err(bad)?;
    }
    f.end()
        .map_err(|_| bad("invalid startup packet layout: expected terminator as last byte"))
}

/// The layout of each typed message (PostgreSQL's "Message Formats" for the frontend).
fn check_layout(kind: u8, body: &[u8]) -> Result<(), Violation> {
    let mut f = Fields(body);
    let result: Result<(), String> = (|| {
        match kind {
            b'Q' | b'f' => {
                f.cstr()?;
            }
            b'P' => {
                f.cstr()?;
                f.cstr()?;
                let n = f.count()?;
                f.bytes(n.checked_mul(4).ok_or("invalid message format")?)?;
            }
            b'B' => return check_bind(&mut f),
            b'D' | b'C' => {
                let target = f.u8()?;
                if target != b'S' && target != b'P' {
                    let what = if kind == b'D' { "DESCRIBE" } else { "CLOSE" };
                    return Err(format!("invalid {what} message subtype {target}"));
                }
                f.cstr()?;
            }
            b'E' => {
                f.cstr()?;
                f.i32()?;
            }
            // Data whose layout depends on the state (password, SASL, COPY, function call):
            // bounded by length here and read with checks by whoever takes it.
            b'd' | b'p' | b'F' => {
                f.0 = &[];
            }
            // Sync, Flush, Terminate, CopyDone carry nothing.
            _ => {}
        }
        f.end().map_err(String::from)
    })();
    result.map_err(|m| Violation::error(crate::sqlstate::PROTOCOL_VIOLATION, m, kind))
}

/// Bind: portal, statement, parameter formats, parameter values, result formats.
fn check_bind(f: &mut Fields) -> Result<(), String> {
    f.cstr()?;
    f.cstr()?;
    let formats = f.count()?;
    for _ in 0..formats {
        format_code(f.i16()?)?;
    }
    let params = f.count()?;
    if formats > 1 && formats != params {
        return Err(format!(
            "bind message has {formats} parameter formats but {params} parameters"
        ));
    }
    for _ in 0..params {
        let len = f.i32()?;
        if len < -1 {
            return Err(format!("invalid parameter length {len} in bind message"));
        }
        if len > 0 {
            f.bytes(len as usize)?;
        }
    }
    let results = f.count()?;
    for _ in 0..results {
        format_code(f.i16()?)?;
    }
    f.end().map_err(String::from)
}

fn format_code(code: i16) -> Result<(), String> {
    match code {
        0 | 1 => Ok(()),
        other => Err(format!("unsupported format code: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(kind: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
        m.extend_from_slice(body);
        m
    }

    async fn read(bytes: Vec<u8>, startup: bool) -> Option<Result<Frame, Violation>> {
        let mut r = FrameReader::new(&bytes[..], Limits::default());
        r.next(startup).await.expect("in-memory reads do not fail")
    }

    #[tokio::test]
    async fn parse_without_its_closing_nul_is_an_error_and_leaves_the_sync_alone() {
        let mut bytes = typed(b'P', b"\0SELECT 1");
        bytes.extend(typed(b'S', b""));
        let mut r = FrameReader::new(&bytes[..], Limits::default());
        let v = r.next(false).await.unwrap().unwrap().unwrap_err();
        assert_eq!((v.code, v.fatal), ("08P01", false));
        let sync = r.next(false).await.unwrap().unwrap().unwrap();
        assert_eq!(sync.kind, Some(b'S'));
    }

    #[tokio::test]
    async fn lying_lengths_are_fatal_before_anything_is_allocated() {
        for len in [0u32, 3, u32::MAX] {
            let mut m = vec![b'S'];
            m.extend_from_slice(&len.to_be_bytes());
            let v = read(m, false).await.unwrap().unwrap_err();
            assert_eq!((v.code, v.fatal), ("08P01", true), "length {len}");
        }
        let mut startup = (2_000_000_000u32).to_be_bytes().to_vec();
        startup.extend_from_slice(&196608u32.to_be_bytes());
        let v = read(startup, true).await.unwrap().unwrap_err();
        assert_eq!(v.message, "invalid length of startup packet");
    }

    #[tokio::test]
    async fn an_unknown_message_type_is_fatal() {
        let v = read(typed(b'Z', b""), false).await.unwrap().unwrap_err();
        assert_eq!(v.message, "invalid frontend message type 90");
        assert!(v.fatal);
    }

    #[tokio::test]
    async fn a_query_over_the_limit_is_dropped_and_the_next_message_read() {
        let mut bytes = typed(b'Q', &[b'x'; 100]);
        bytes.extend(typed(b'Q', b"select 1\0"));
        let limits = Limits {
            max_query_size: 50,
            ..Limits::default()
        };
        let mut r = FrameReader::new(&bytes[..], limits);
        let v = r.next(false).await.unwrap().unwrap().unwrap_err();
        assert_eq!((v.code, v.fatal), ("54000", false));
        let q = r.next(false).await.unwrap().unwrap().unwrap();
        assert_eq!(&q.bytes[5..], b"select 1\0");
    }

    #[tokio::test]
    async fn bind_counts_and_lengths_must_fit_the_message() {
        // Claims 5 parameters, carries one.
        let mut body = b"\0\0".to_vec();
        body.extend(0i16.to_be_bytes());
        body.extend(5i16.to_be_bytes());
        body.extend(1i32.to_be_bytes());
        body.push(b'1');
        let v = read(typed(b'B', &body), false).await.unwrap().unwrap_err();
        assert_eq!(v.message, "insufficient data left in message");
        // A negative count.
        let mut body = b"\0\0".to_vec();
        body.extend((-1i16).to_be_bytes());
        let v = read(typed(b'B', &body), false).await.unwrap().unwrap_err();
        assert!(v.message.contains("negative count"), "{}", v.message);
        // Two formats for one parameter.
        let mut body = b"\0\0".to_vec();
        body.extend(2i16.to_be_bytes());
        body.extend([0, 0, 0, 1]);
        body.extend(1i16.to_be_bytes());
        body.extend((-1i32).to_be_bytes());
        body.extend(0i16.to_be_bytes());
        let v = read(typed(b'B', &body), false).await.unwrap().unwrap_err();
        assert_eq!(
            v.message,
            "bind message has 2 parameter formats but 1 parameters"
        );
    }

    #[tokio::test]
    async fn describe_with_an_unknown_target_says_so() {
        let v = read(typed(b'D', b"\0\0"), false)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(v.message, "invalid DESCRIBE message subtype 0");
        assert!(!v.fatal);
    }

    #[tokio::test]
    async fn startup_packets_need_protocol_3_and_terminated_pairs() {
        let packet = |body: &[u8]| {
            let mut p = ((body.len() + 4) as u32).to_be_bytes().to_vec();
            p.extend_from_slice(body);
            p
        };
        let mut ok = 196608u32.to_be_bytes().to_vec();
        ok.extend_from_slice(b"user\0me\0\0");
        assert!(read(packet(&ok), true).await.unwrap().is_ok());
        let mut v2 = 131072u32.to_be_bytes().to_vec();
        v2.extend_from_slice(b"user\0me\0\0");
        let v = read(packet(&v2), true).await.unwrap().unwrap_err();
        assert_eq!(v.code, "0A000");
        let mut open = 196608u32.to_be_bytes().to_vec();
        open.extend_from_slice(b"user\0me");
        let v = read(packet(&open), true).await.unwrap().unwrap_err();
        assert_eq!(v.code, "08P01");
    }

    #[tokio::test]
    async fn a_stream_cut_mid_message_is_the_end_not_an_error() {
        let mut bytes = typed(b'Q', b"select 1\0");
        bytes.truncate(7);
        assert!(read(bytes, false).await.is_none());
    }
}
