//! A connection's start: TLS policy, authentication (trust without users; SCRAM-SHA-256 with
//! them; md5 only for users whose verifier is an md5 hash), the database name as default zone,
//! `options=-c name=value`, and the ParameterStatus set drivers check.
use super::conn::Conn;
use super::scram::{Exchange, Verifier, MECHANISM};
use super::{fatal, Shared};
use crate::{display_name, PgSessionOptions};
use async_trait::async_trait;
use futures::{Sink, SinkExt};
use pgwire::api::auth::{
    finish_authentication, protocol_negotiation, save_startup_parameters_to_metadata,
    ServerParameterProvider, StartupHandler,
};
use pgwire::api::{ClientInfo, PgWireConnectionState, METADATA_DATABASE, METADATA_USER};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::startup::{Authentication, SecretKey};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;

/// Where a connection is in its authentication.
pub(crate) enum AuthStage {
    None,
    /// Sent AuthenticationSASL; waiting for the client's first message. `verifier` is None for
    /// an unknown user, who goes through the same exchange and fails at the end, so a client
    /// cannot probe which users exist.
    ScramStart {
        user: String,
        verifier: Option<Verifier>,
    },
    ScramFinal {
        user: String,
        known: bool,
        exchange: Exchange,
    },
    Md5 {
        user: String,
        salt: [u8; 4],
    },
}

/// A user's configured password: a SCRAM verifier, or (legacy clients) an md5 hash.
enum Secret {
    Scram(Verifier),
    Md5(String),
}

fn secret_of(shared: &Shared, user: &str) -> Option<Secret> {
    let text = shared.users.get(user)?.password.clone();
    if let Some(v) = Verifier::parse(&text) {
        return Some(Secret::Scram(v));
    }
    (text.starts_with("md5") && text.len() == 35).then_some(Secret::Md5(text))
}

#[async_trait]
impl StartupHandler for Conn {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        match message {
            PgWireFrontendMessage::Startup(startup) => {
                protocol_negotiation(client, &startup).await?;
                save_startup_parameters_to_metadata(client, &startup);
                if self.shared.require_tls && !client.is_secure() {
                    return Err(fatal(
                        crate::sqlstate::INVALID_AUTHORIZATION,
                        "this server requires TLS: connect with sslmode=require",
                    ));
                }
                let Some(user) = client.metadata().get(METADATA_USER).cloned() else {
                    return Err(fatal(
                        crate::sqlstate::INVALID_AUTHORIZATION,
                        "no user name given in the startup packet",
                    ));
                };
                if self.shared.users.is_empty() {
                    return self.finish(client, &user).await;
                }
                let stage = match secret_of(&self.shared, &user) {
                    Some(Secret::Md5(_)) => {
                        let salt: [u8; 4] = rand::random();
                        client
                            .send(PgWireBackendMessage::Authentication(
                                Authentication::MD5Password(salt.to_vec()),
                            ))
                            .await?;
                        AuthStage::Md5 { user, salt }
                    }
                    secret => {
                        client
                            .send(PgWireBackendMessage::Authentication(Authentication::SASL(
                                vec![MECHANISM.to_string()],
                            )))
                            .await?;
                        let verifier = match secret {
                            Some(Secret::Scram(v)) => Some(v),
                            _ => None,
                        };
                        AuthStage::ScramStart { user, verifier }
                    }
                };
                *self.auth.lock().expect("auth lock") = stage;
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                Ok(())
            }
            PgWireFrontendMessage::PasswordMessageFamily(msg) => {
                let stage =
                    std::mem::replace(&mut *self.auth.lock().expect("auth lock"), AuthStage::None);
                match stage {
                    AuthStage::ScramStart { user, verifier } => {
                        let init = msg.into_sasl_initial_response()?;
                        if init.auth_method != MECHANISM {
                            return Err(fatal(
                                crate::sqlstate::INVALID_AUTHORIZATION,
                                &format!(
                                    "authentication method {} is not supported; use {MECHANISM}",
                                    init.auth_method
                                ),
                            ));
                        }
                        let known = verifier.is_some();
                        // An unknown user gets a throwaway verifier nobody's password matches.
                        let verifier = verifier.unwrap_or_else(|| {
                            Verifier::from_password(
                                &rand::random::<u64>().to_string(),
                                &rand::random::<[u8; 16]>(),
                                4096,
                            )
                        });
                        let data = init.data.unwrap_or_default();
                        let (exchange, server_first) =
                            Exchange::start(verifier, &data).map_err(|e| {
                                fatal(crate::sqlstate::PROTOCOL_VIOLATION, &e.to_string())
                            })?;
                        client
                            .send(PgWireBackendMessage::Authentication(
                                Authentication::SASLContinue(server_first.into_bytes().into()),
                            ))
                            .await?;
                        *self.auth.lock().expect("auth lock") = AuthStage::ScramFinal {
                            user,
                            known,
                            exchange,
                        };
                        Ok(())
                    }
                    AuthStage::ScramFinal {
                        user,
                        known,
                        exchange,
                    } => {
                        let resp = msg.into_sasl_response()?;
                        match exchange.finish(&resp.data) {
                            Ok(server_final) if known => {
                                client
                                    .feed(PgWireBackendMessage::Authentication(
                                        Authentication::SASLFinal(server_final.into_bytes().into()),
                                    ))
                                    .await?;
                                self.finish(client, &user).await
                            }
                            _ => {
                                tracing::warn!(user = %user, peer = %self.peer, "authentication failed");
                                Err(password_failed(&user))
                            }
                        }
                    }
                    AuthStage::Md5 { user, salt } => {
                        let given = msg.into_password()?.password;
                        let Some(Secret::Md5(stored)) = secret_of(&self.shared, &user) else {
                            return Err(password_failed(&user));
                        };
                        let mut input = stored[3..].as_bytes().to_vec();
                        input.extend_from_slice(&salt);
                        let expected = format!("md5{:x}", md5::compute(input));
                        if super::scram::ct_eq(expected.as_bytes(), given.as_bytes()) {
                            self.finish(client, &user).await
                        } else {
                            tracing::warn!(user = %user, peer = %self.peer, "authentication failed");
                            Err(password_failed(&user))
                        }
                    }
                    AuthStage::None => Err(fatal(
                        crate::sqlstate::PROTOCOL_VIOLATION,
                        "unexpected password message",
                    )),
                }
            }
            _ => Ok(()),
        }
    }
}

fn password_failed(user: &str) -> PgWireError {
    fatal(
        crate::sqlstate::INVALID_PASSWORD,
        &format!("password authentication failed for user \"{user}\""),
    )
}

impl Conn {
    /// Authenticated: opens the session, applies `options`, and sends the parameters,
    /// BackendKeyData and ReadyForQuery.
    async fn finish<C>(&self, client: &mut C, user: &str) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let metadata = client.metadata().clone();
        // libpq sends the user name as database when none is given; that means the default zone.
        let database = metadata
            .get(METADATA_DATABASE)
            .filter(|d| {
                !d.is_empty() && !(d.as_str() == user && !strata_sql::ZONES.contains(&d.as_str()))
            })
            .cloned();
        // Without users the trusted loopback clients read and write every zone.
        let (zones, write_zones) = if self.shared.users.is_empty() {
            (None, None)
        } else {
            let user = self.shared.users.get(user);
            (
                user.map(|u| u.zones.clone()),
                Some(user.map(|u| u.write.clone()).unwrap_or_default()),
            )
        };
        let opts = PgSessionOptions {
            user: user.to_string(),
            database,
            zones,
            write_zones,
            memory_limit: self.shared.query_memory_limit,
            statement_timeout_ms: self.shared.statement_timeout_ms,
            remote: true,
        };
        let mut session = self
            .shared
            .pg
            .session(&opts)
            .map_err(|e| fatal(crate::sqlstate::of(&e), &crate::sqlstate::message(&e)))?;
        session.set_statement_limits(self.shared.statement_limits);
        let settings = session.settings().clone();
        for (k, v) in &metadata {
            match k.as_str() {
                "TimeZone" => {
                    // JDBC sends the JVM's zone; one Strata cannot use is not worth refusing
                    // the connection over, so the session stays in UTC.
                    if session.set_time_zone(v).is_ok() {
                        settings.set(k, v)
                    }
                }
                "application_name" | "DateStyle" | "client_encoding" | "extra_float_digits"
                | "IntervalStyle" => settings.set(k, v),
                _ => {}
            }
        }
        // Any other startup parameter is a setting, as in PostgreSQL (asyncpg's server_settings
        // sends strata.as_of this way); options=-c name=value is the libpq way.
        let mut assignments: Vec<(String, String)> = metadata
            .iter()
            .filter(|(k, _)| {
                !matches!(
                    k.as_str(),
                    "user"
                        | "database"
                        | "options"
                        | "replication"
                        | "TimeZone"
                        | "application_name"
                        | "DateStyle"
                        | "client_encoding"
                        | "extra_float_digits"
                        | "IntervalStyle"
                )
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(options) = metadata.get("options") {
            assignments.extend(
                parse_options(options)
                    .map_err(|m| fatal(crate::sqlstate::INVALID_PARAMETER_VALUE, &m))?,
            );
        }
        {
            for (name, value) in assignments {
                // The name goes into SQL text: a setting name is dotted identifiers, nothing else.
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                {
                    return Err(fatal(
                        crate::sqlstate::INVALID_PARAMETER_VALUE,
                        &format!("invalid setting name {name:?} in the startup packet"),
                    ));
                }
                let sql = format!("SET {name} = '{}'", value.replace('\'', "''"));
                let stmts = session.parse(&sql).map_err(|e| {
                    fatal(
                        crate::sqlstate::INVALID_PARAMETER_VALUE,
                        &format!("options: {e}"),
                    )
                })?;
                for s in &stmts {
                    session.execute(s).await.map_err(|e| {
                        fatal(crate::sqlstate::of(&e), &format!("options -c {name}: {e}"))
                    })?;
                }
            }
        }
        let params = StartupParams(
            [
                "server_version",
                "server_encoding",
                "client_encoding",
                "datestyle",
                "timezone",
                "integer_datetimes",
                "standard_conforming_strings",
                "intervalstyle",
                "is_superuser",
                "in_hot_standby",
                "default_transaction_read_only",
                "application_name",
            ]
            .iter()
            .map(|n| {
                (
                    display_name(n).to_string(),
                    session.show_setting(n).unwrap_or_default(),
                )
            })
            .chain([("session_authorization".to_string(), user.to_string())])
            .collect(),
        );
        let pid = self.shared.next_pid();
        let secret: i32 = rand::random();
        client.set_pid_and_secret_key(pid, SecretKey::I32(secret));
        self.register(pid, secret);
        *self.user.lock().expect("user lock") = user.to_string();
        self.session.set(Arc::new(session)).ok();
        finish_authentication(client, &params).await?;
        tracing::info!(user = %user, peer = %self.peer, pid, "connected");
        Ok(())
    }
}

struct StartupParams(HashMap<String, String>);

impl ServerParameterProvider for StartupParams {
    fn server_parameters<C>(&self, _client: &C) -> Option<HashMap<String, String>>
    where
        C: ClientInfo,
    {
        Some(self.0.clone())
    }
}

/// libpq's `options`: `-c name=value` or `--name=value`, separated by spaces; a backslash
/// escapes the next character (how a value holds a space).
pub fn parse_options(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut words = vec![];
    let mut cur = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => cur.extend(chars.next()),
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let mut out = vec![];
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        let setting = if w == "-c" {
            it.next().ok_or("options: -c needs name=value")?
        } else if let Some(s) = w.strip_prefix("--").or_else(|| w.strip_prefix("-c")) {
            s.to_string()
        } else {
            return Err(format!(
                "options: unsupported option {w:?}; use -c name=value"
            ));
        };
        let (name, value) = setting
            .split_once('=')
            .ok_or_else(|| format!("options: {setting:?} is not name=value"))?;
        out.push((name.replace('-', "_"), value.to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse_options;

    #[test]
    fn options_as_libpq_sends_them() {
        assert_eq!(
            parse_options("-c strata.as_of=2026-01-31\\ 12:00:00+00 -c statement_timeout=5s")
                .unwrap(),
            vec![
                ("strata.as_of".into(), "2026-01-31 12:00:00+00".into()),
                ("statement_timeout".into(), "5s".into())
            ]
        );
        assert_eq!(
            parse_options("--search-path=raw").unwrap(),
            vec![("search_path".into(), "raw".into())]
        );
        assert!(parse_options("-x").is_err());
    }
}
