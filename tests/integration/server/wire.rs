//! A raw protocol client for the tests that send what no driver would: messages built byte by
//! byte, replies read back as (type, body) with the ErrorResponse fields picked out.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A typed frontend message: type byte, length, body.
pub fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// A startup packet for protocol 3.0 (user `t`, database `enhanced`).
pub fn startup() -> Vec<u8> {
    startup_for("enhanced")
}

/// A startup packet for protocol 3.0 (user `t`, the given database).
pub fn startup_for(database: &str) -> Vec<u8> {
    let mut body = 196608u32.to_be_bytes().to_vec();
    body.extend_from_slice(format!("user\0t\0database\0{database}\0\0").as_bytes());
    let mut packet = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    packet.extend(body);
    packet
}

pub fn query(sql: &str) -> Vec<u8> {
    let mut body = sql.as_bytes().to_vec();
    body.push(0);
    msg(b'Q', &body)
}

/// Parse of an unnamed statement without declared types.
pub fn parse(sql: &str) -> Vec<u8> {
    let mut body = vec![0];
    body.extend_from_slice(sql.as_bytes());
    body.extend_from_slice(&[0, 0, 0]);
    msg(b'P', &body)
}

pub fn sync() -> Vec<u8> {
    msg(b'S', b"")
}

/// One backend message.
#[derive(Debug, Clone)]
pub struct Reply {
    pub kind: u8,
    pub body: Vec<u8>,
}

impl Reply {
    /// A field of an ErrorResponse (`b'C'` code, `b'M'` message, `b'S'` severity).
    pub fn field(&self, field: u8) -> Option<String> {
        let mut rest = &self.body[..];
        while let Some((&f, tail)) = rest.split_first() {
            if f == 0 {
                break;
            }
            let end = tail.iter().position(|&b| b == 0)?;
            if f == field {
                return Some(String::from_utf8_lossy(&tail[..end]).into_owned());
            }
            rest = &tail[end + 1..];
        }
        None
    }
}

/// A raw connection.
pub struct Raw {
    pub stream: TcpStream,
    pending: Vec<u8>,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        Raw {
            stream,
            pending: vec![],
        }
    }

    /// Connected and past startup (trust authentication): ReadyForQuery read.
    pub fn ready(port: u16) -> Raw {
        Raw::ready_on(port, "enhanced")
    }

    /// As [`Raw::ready`], connected to `database`.
    pub fn ready_on(port: u16, database: &str) -> Raw {
        let mut raw = Raw::connect(port);
        raw.send(&startup_for(database));
        let replies = raw.until_ready();
        assert!(
            replies.last().is_some_and(|r| r.kind == b'Z'),
            "no ReadyForQuery after startup: {replies:?}"
        );
        raw
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    pub fn set_timeout(&mut self, t: Duration) {
        self.stream.set_read_timeout(Some(t)).unwrap();
    }

    /// The next backend message; None when the server closed the connection or went quiet
    /// for the read timeout.
    pub fn next(&mut self) -> Option<Reply> {
        loop {
            if self.pending.len() >= 5 {
                let len = u32::from_be_bytes(self.pending[1..5].try_into().unwrap()) as usize;
                if self.pending.len() > len {
                    let kind = self.pending[0];
                    let body = self.pending[5..1 + len].to_vec();
                    self.pending.drain(..1 + len);
                    return Some(Reply { kind, body });
                }
            }
            let mut buf = [0u8; 64 * 1024];
            match self.stream.read(&mut buf) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// Messages up to and including ReadyForQuery (or until the connection ends).
    pub fn until_ready(&mut self) -> Vec<Reply> {
        let mut out = vec![];
        while let Some(r) = self.next() {
            let done = r.kind == b'Z';
            out.push(r);
            if done {
                break;
            }
        }
        out
    }
}

/// The (SQLSTATE, message) of the first ErrorResponse among `replies`.
pub fn error_of(replies: &[Reply]) -> Option<(String, String)> {
    replies.iter().find(|r| r.kind == b'E').map(|r| {
        (
            r.field(b'C').unwrap_or_default(),
            r.field(b'M').unwrap_or_default(),
        )
    })
}
