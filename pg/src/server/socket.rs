//! One TCP connection from accept to close: TLS negotiation, CancelRequest (answered before the
//! connection cap is consulted: a cancel is not a session), then each message cut out and checked
//! by [`frames`](super::frames) and handed to pgwire's dispatcher one at a time.
//!
//! This replaces `pgwire::tokio::process_socket`, whose decoder reads from the whole buffer and
//! can be made to panic, swallow the next message or allocate what a length field claims.
use super::exec::panic_text;
use super::frames::{Frame, FrameReader, Limits, Violation};
use super::Shared;
use bytes::BytesMut;
use futures::{FutureExt, SinkExt};
use pgwire::api::{ClientInfo, DefaultClient, PgWireConnectionState, PgWireServerHandlers};
use pgwire::error::{ErrorInfo, PgWireError};
use pgwire::messages::{DecodeContext, PgWireBackendMessage, PgWireFrontendMessage};
use pgwire::tokio::server::{process_error, process_message, MaybeTls, PgWireMessageServerCodec};
use std::io;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::TcpStream;

const SSL_REQUEST: i32 = 80877103;
const GSSENC_REQUEST: i32 = 80877104;
const CANCEL_REQUEST: i32 = 80877102;

/// A connection past TLS negotiation, holding its startup packet.
pub struct Opened {
    stream: MaybeTls,
    reader_buf: BytesMut,
    startup: Frame,
    secure: bool,
    peer: SocketAddr,
    limits: Limits,
}

/// Reads the opening packets: SSLRequest and GSSENCRequest are answered, a CancelRequest is
/// carried out, and the startup packet is returned. None when the connection is done (a cancel,
/// a client gone, or a bad packet already answered).
pub async fn open(
    tcp: TcpStream,
    shared: &Shared,
    tls: Option<pgwire::tokio::TlsAcceptor>,
    limits: Limits,
) -> Option<Opened> {
    let peer = tcp.peer_addr().ok()?;
    let _ = tcp.set_nodelay(true);
    // A TLS ClientHello first (PostgreSQL 17's sslnegotiation=direct).
    let mut first = [0u8; 1];
    let direct = matches!(tcp.peek(&mut first).await, Ok(1) if first[0] == 0x16);
    let mut secure = false;
    let mut reader = if direct {
        let tls = tls.as_ref()?;
        let stream = tls.accept(tcp).await.ok()?;
        if stream.get_ref().1.alpn_protocol() != Some(b"postgresql") {
            return None;
        }
        secure = true;
        FrameReader::new(MaybeTls::Tls(Box::new(stream)), limits)
    } else {
        FrameReader::new(MaybeTls::Plain(tcp), limits)
    };
    let mut asked_ssl = false;
    loop {
        let frame = match reader.next(true).await {
            Ok(Some(Ok(f))) => f,
            Ok(Some(Err(v))) => {
                let _ = reader.get_mut().write_all(&error_packet(&v)).await;
                return None;
            }
            Ok(None) | Err(_) => return None,
        };
        let code = i32::from_be_bytes(frame.bytes[4..8].try_into().expect("checked length"));
        match code {
            SSL_REQUEST if !asked_ssl && !secure => {
                asked_ssl = true;
                let Some(tls) = tls.as_ref() else {
                    reader.get_mut().write_all(b"N").await.ok()?;
                    continue;
                };
                reader.get_mut().write_all(b"S").await.ok()?;
                if reader.buffered() > 0 {
                    let v = protocol_violation("received unencrypted data after SSL request");
                    let _ = reader.get_mut().write_all(&error_packet(&v)).await;
                    return None;
                }
                let MaybeTls::Plain(tcp) = reader.into_parts().0 else {
                    return None;
                };
                let stream = tls.accept(tcp).await.ok()?;
                secure = true;
                reader = FrameReader::new(MaybeTls::Tls(Box::new(stream)), limits);
            }
            GSSENC_REQUEST if !secure => {
                reader.get_mut().write_all(b"N").await.ok()?;
            }
            CANCEL_REQUEST => {
                let pid = i32::from_be_bytes(frame.bytes[8..12].try_into().expect("checked"));
                shared.cancel(pid, &frame.bytes[12..]);
                return None;
            }
            SSL_REQUEST | GSSENC_REQUEST => {
                let v = protocol_violation("unexpected repeated SSL or GSSAPI request");
                let _ = reader.get_mut().write_all(&error_packet(&v)).await;
                return None;
            }
            _ => {
                let (stream, reader_buf) = reader.into_parts();
                return Some(Opened {
                    stream,
                    reader_buf,
                    startup: frame,
                    secure,
                    peer,
                    limits,
                });
            }
        }
    }
}

impl Opened {
    /// Past the connection cap: says why (53300, as PostgreSQL does) and closes.
    pub async fn refuse(mut self, open: usize) {
        let v = Violation {
            code: crate::sqlstate::TOO_MANY_CONNECTIONS,
            message: format!("sorry, too many clients already ({open} connected)"),
            fatal: true,
            kind: None,
        };
        let _ = self.stream.write_all(&error_packet(&v)).await;
        let _ = self.stream.shutdown().await;
    }
}

/// Sends through pgwire's codec; never read from (messages come from the [`FrameReader`]).
pub struct SendOnly(WriteHalf<MaybeTls>);

impl AsyncRead for SendOnly {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for SendOnly {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

type Socket<S> = tokio_util::codec::Framed<SendOnly, PgWireMessageServerCodec<S>>;

/// Serves the connection's messages until it ends. Errors a handler returns go to the client
/// as pgwire would send them, with PostgreSQL's wording; a broken message closes the connection
/// with 08P01 or, where the message was whole, is answered with an error and skipped.
pub async fn serve<H>(opened: Opened, handlers: H, startup_timeout: Duration) -> io::Result<()>
where
    H: PgWireServerHandlers,
{
    let (read, write) = tokio::io::split(opened.stream);
    let mut reader = FrameReader::from_parts(read, opened.reader_buf, opened.limits);
    let codec = PgWireMessageServerCodec::new(DefaultClient::new(opened.peer, opened.secure));
    let mut socket: Socket<_> = tokio_util::codec::Framed::new(SendOnly(write), codec);
    socket.set_state(PgWireConnectionState::AwaitingStartup);

    let startup = handlers.startup_handler();
    let simple = handlers.simple_query_handler();
    let extended = handlers.extended_query_handler();
    let copy = handlers.copy_handler();
    let cancel = handlers.cancel_handler();

    let deadline = tokio::time::sleep(startup_timeout);
    tokio::pin!(deadline);
    let mut next = Some(Ok(opened.startup));
    loop {
        let frame = match next.take() {
            Some(f) => f,
            None => match read_next(&mut reader, &socket, &mut deadline).await? {
                Some(f) => f,
                None => return Ok(()),
            },
        };
        let frame = frame.and_then(|f| expected_now(&socket, f));
        let message = frame.and_then(|f| decode(&socket, f));
        let message = match message {
            Ok(m) => m,
            Err(v) if v.fatal => {
                let info = ErrorInfo::new("FATAL".into(), v.code.into(), v.message);
                let _ = socket
                    .send(PgWireBackendMessage::ErrorResponse(info.into()))
                    .await;
                return Ok(());
            }
            Err(v) => {
                let extended = v.kind.is_some_and(|k| b"PBDECHS".contains(&k));
                let info = ErrorInfo::new("ERROR".into(), v.code.into(), v.message);
                process_error(
                    &mut socket,
                    PgWireError::UserError(Box::new(info)),
                    extended,
                )
                .await?;
                continue;
            }
        };
        if matches!(message, PgWireFrontendMessage::Terminate(_)) {
            return Ok(());
        }
        let extended_query = match socket.state() {
            PgWireConnectionState::CopyInProgress(e) => e,
            _ => message.is_extended_query(),
        };
        let handled = AssertUnwindSafe(process_message(
            message,
            &mut socket,
            startup.clone(),
            simple.clone(),
            extended.clone(),
            copy.clone(),
            cancel.clone(),
        ))
        .catch_unwind()
        .await;
        let error = match handled {
            Ok(Ok(())) => continue,
            Ok(Err(PgWireError::IoError(e))) => return Err(e),
            Ok(Err(e)) => client_error(e),
            Err(panic) => {
                tracing::error!(peer = %opened.peer, panic = %panic_text(&*panic), "message handler panicked");
                internal("internal error while handling the message")
            }
        };
        process_error(&mut socket, error, extended_query).await?;
    }
}

/// The next frame; during startup and authentication no longer than the startup timeout.
async fn read_next<S>(
    reader: &mut FrameReader<ReadHalf<MaybeTls>>,
    socket: &Socket<S>,
    deadline: &mut Pin<&mut tokio::time::Sleep>,
) -> io::Result<Option<Result<Frame, Violation>>> {
    if starting(socket) {
        tokio::select! {
            _ = deadline.as_mut() => Ok(None),
            f = reader.next(false) => f,
        }
    } else {
        reader.next(false).await
    }
}

fn starting<S>(socket: &Socket<S>) -> bool {
    matches!(
        socket.state(),
        PgWireConnectionState::AwaitingStartup | PgWireConnectionState::AuthenticationInProgress
    )
}

/// Password messages only while authenticating, and nothing but them (PostgreSQL: "expected
/// password response"); pgwire would hand anything else to the startup handler, which ignores
/// it, and the client would wait forever.
fn expected_now<S>(socket: &Socket<S>, f: Frame) -> Result<Frame, Violation> {
    let authenticating = matches!(
        socket.state(),
        PgWireConnectionState::AuthenticationInProgress
    );
    match f.kind {
        Some(b'p') if !authenticating => Err(protocol_violation_in(
            "unexpected password message: authentication is over",
            b'p',
        )),
        Some(k) if authenticating && k != b'p' && k != b'X' => Err(Violation {
            fatal: true,
            ..protocol_violation_in(
                &format!("expected password response, got message type {k}"),
                k,
            )
        }),
        _ => Ok(f),
    }
}

/// pgwire's decoder on exactly one checked message: it must take the whole frame.
fn decode<S>(socket: &Socket<S>, frame: Frame) -> Result<PgWireFrontendMessage, Violation> {
    let kind = frame.kind;
    let mut ctx = DecodeContext::new(socket.protocol_version());
    ctx.awaiting_frontend_ssl = false;
    ctx.awaiting_frontend_startup = kind.is_none();
    let mut bytes = frame.bytes;
    let decoded = std::panic::catch_unwind(AssertUnwindSafe(|| {
        PgWireFrontendMessage::decode(&mut bytes, &ctx)
    }));
    match decoded {
        Ok(Ok(Some(message))) if bytes.is_empty() => Ok(message),
        Ok(Err(PgWireError::UnsupportedProtocolVersion(major, minor))) => Err(Violation {
            code: crate::sqlstate::FEATURE_NOT_SUPPORTED,
            message: format!("unsupported frontend protocol {major}.{minor}"),
            fatal: true,
            kind,
        }),
        _ => Err(Violation {
            fatal: kind.is_none(),
            ..protocol_violation_in("invalid message format", kind.unwrap_or(0))
        }),
    }
}

fn protocol_violation(message: &str) -> Violation {
    Violation {
        code: crate::sqlstate::PROTOCOL_VIOLATION,
        message: message.into(),
        fatal: true,
        kind: None,
    }
}

fn protocol_violation_in(message: &str, kind: u8) -> Violation {
    Violation {
        code: crate::sqlstate::PROTOCOL_VIOLATION,
        message: message.into(),
        fatal: false,
        kind: Some(kind),
    }
}

fn internal(message: &str) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        crate::sqlstate::INTERNAL_ERROR.into(),
        message.into(),
    )))
}

/// pgwire's errors in PostgreSQL's words and codes, so no internal name reaches a client.
fn client_error(e: PgWireError) -> PgWireError {
    let (code, message) = match e {
        PgWireError::UserError(_) => return e,
        PgWireError::StatementNotFound(name) => (
            crate::sqlstate::INVALID_SQL_STATEMENT_NAME,
            if name.is_empty() || name == pgwire::api::DEFAULT_NAME {
                "unnamed prepared statement does not exist".to_string()
            } else {
                format!("prepared statement \"{name}\" does not exist")
            },
        ),
        PgWireError::PortalNotFound(name) => (
            crate::sqlstate::INVALID_CURSOR_NAME,
            if name.is_empty() || name == pgwire::api::DEFAULT_NAME {
                "unnamed portal does not exist".to_string()
            } else {
                format!("portal \"{name}\" does not exist")
            },
        ),
        PgWireError::InvalidRustTypeForParameter(t) => (
            crate::sqlstate::FEATURE_NOT_SUPPORTED,
            format!("parameters of type {t} are not supported; send the value as text"),
        ),
        PgWireError::FailedToParseParameter(e) => (
            crate::sqlstate::INVALID_TEXT_REPRESENTATION,
            format!("invalid value for a bind parameter: {e}"),
        ),
        PgWireError::ParameterIndexOutOfBound(i) => (
            crate::sqlstate::PROTOCOL_VIOLATION,
            format!("bind message supplies no value for parameter ${}", i + 1),
        ),
        PgWireError::InvalidElementCount(..) | PgWireError::MessageTooLarge(..) => (
            crate::sqlstate::PROTOCOL_VIOLATION,
            "invalid message format".to_string(),
        ),
        PgWireError::NotReadyForQuery | PgWireError::PortalNotStarted => (
            crate::sqlstate::PROTOCOL_VIOLATION,
            "unexpected message for the connection's state".to_string(),
        ),
        PgWireError::InvalidScramMessage(m) => (
            crate::sqlstate::PROTOCOL_VIOLATION,
            format!("malformed SCRAM message: {m}"),
        ),
        PgWireError::FailedToCoercePasswordMessage | PgWireError::InvalidSASLState => (
            crate::sqlstate::PROTOCOL_VIOLATION,
            "malformed authentication message".to_string(),
        ),
        PgWireError::QueryCanceled => (
            crate::sqlstate::QUERY_CANCELED,
            "canceling statement due to user request".into(),
        ),
        other => {
            let info: ErrorInfo = other.into();
            return PgWireError::UserError(Box::new(info));
        }
    };
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".into(),
        code.into(),
        message,
    )))
}

/// An ErrorResponse as raw bytes, for before pgwire's codec exists.
fn error_packet(v: &Violation) -> Vec<u8> {
    let severity = if v.fatal { "FATAL" } else { "ERROR" };
    let mut body = Vec::new();
    for (field, value) in [
        (b'S', severity),
        (b'V', severity),
        (b'C', v.code),
        (b'M', &v.message),
    ] {
        body.push(field);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut packet = vec![b'E'];
    packet.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    packet.extend_from_slice(&body);
    packet
}
