//! SCRAM-SHA-256 (RFC 5802/7677) against PostgreSQL-format verifiers
//! (`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`), and `strata password`.
//!
//! pgwire's own SCRAM needs the salted password, which a verifier does not contain; with only
//! StoredKey and ServerKey the server can check a proof and sign its answer, which is the point
//! of storing verifiers: a leaked strata.toml does not let anyone log in.
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ring::{digest, hmac, pbkdf2};
use std::num::NonZeroU32;

pub const MECHANISM: &str = "SCRAM-SHA-256";
const DEFAULT_ITERATIONS: u32 = 4096;

/// A parsed verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    pub iterations: u32,
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

impl Verifier {
    pub fn parse(text: &str) -> Option<Verifier> {
        let rest = text.strip_prefix("SCRAM-SHA-256$")?;
        let (params, keys) = rest.split_once('$')?;
        let (iterations, salt) = params.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        Some(Verifier {
            iterations: iterations.parse().ok().filter(|i| *i > 0)?,
            salt: B64.decode(salt).ok()?,
            stored_key: B64.decode(stored).ok().filter(|k| k.len() == 32)?,
            server_key: B64.decode(server).ok().filter(|k| k.len() == 32)?,
        })
    }

    /// The verifier for `password`, as PostgreSQL stores it.
    pub fn from_password(password: &str, salt: &[u8], iterations: u32) -> Verifier {
        let mut salted = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(iterations).expect("iterations > 0"),
            salt,
            password.as_bytes(),
            &mut salted,
        );
        let client_key = hmac_sign(&salted, b"Client Key");
        Verifier {
            iterations,
            salt: salt.to_vec(),
            stored_key: digest::digest(&digest::SHA256, &client_key)
                .as_ref()
                .to_vec(),
            server_key: hmac_sign(&salted, b"Server Key"),
        }
    }

    pub fn to_text(&self) -> String {
        format!(
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(&self.stored_key),
            B64.encode(&self.server_key)
        )
    }
}

fn hmac_sign(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, data).as_ref().to_vec()
}

/// Compares secrets in time that does not depend on where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `strata password`: a new random salt and the verifier for `password`.
pub fn make_verifier(password: &str) -> String {
    let salt: [u8; 16] = rand::random();
    Verifier::from_password(password, &salt, DEFAULT_ITERATIONS).to_text()
}

/// The server's side of one exchange, between the client's first and final messages.
pub struct Exchange {
    verifier: Verifier,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

/// Why an exchange failed; the client is only ever told that authentication failed.
#[derive(Debug)]
pub enum ScramError {
    Malformed(&'static str),
    WrongPassword,
}

impl std::fmt::Display for ScramError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScramError::Malformed(what) => write!(f, "malformed SCRAM message ({what})"),
            ScramError::WrongPassword => f.write_str("wrong password"),
        }
    }
}

impl Exchange {
    /// Handles client-first-message; returns the exchange and server-first-message.
    pub fn start(
        verifier: Verifier,
        client_first: &[u8],
    ) -> Result<(Exchange, String), ScramError> {
        let text = std::str::from_utf8(client_first).map_err(|_| ScramError::Malformed("utf8"))?;
        // gs2 header: "n,," or "y,," (no channel binding); "p=" asks for binding we don't offer.
        let bare = if let Some(b) = text
            .strip_prefix("n,,")
            .or_else(|| text.strip_prefix("y,,"))
        {
            b
        } else if text.starts_with("p=") {
            return Err(ScramError::Malformed("channel binding is not supported"));
        } else {
            // Authzid forms such as "n,a=user," are allowed.
            let mut parts = text.splitn(3, ',');
            let (Some(_), Some(_), Some(b)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(ScramError::Malformed("gs2 header"));
            };
            b
        };
        let client_nonce = bare
            .split(',')
            .find_map(|a| a.strip_prefix("r="))
            .ok_or(ScramError::Malformed("client nonce"))?;
        let server_nonce: [u8; 18] = rand::random();
        let nonce = format!("{client_nonce}{}", B64.encode(server_nonce));
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&verifier.salt),
            verifier.iterations
        );
        Ok((
            Exchange {
                verifier,
                client_first_bare: bare.to_string(),
                server_first: server_first.clone(),
                nonce,
            },
            server_first,
        ))
    }

    /// Handles client-final-message; returns server-final-message when the proof is right.
    pub fn finish(&self, client_final: &[u8]) -> Result<String, ScramError> {
        let text = std::str::from_utf8(client_final).map_err(|_| ScramError::Malformed("utf8"))?;
        let (without_proof, proof) = text
            .rsplit_once(",p=")
            .ok_or(ScramError::Malformed("proof"))?;
        let nonce = without_proof
            .split(',')
            .find_map(|a| a.strip_prefix("r="))
            .ok_or(ScramError::Malformed("nonce"))?;
        if nonce != self.nonce {
            return Err(ScramError::Malformed("nonce mismatch"));
        }
        let proof = B64
            .decode(proof)
            .map_err(|_| ScramError::Malformed("proof encoding"))?;
        if proof.len() != 32 {
            return Err(ScramError::Malformed("proof length"));
        }
        let auth_message = format!(
            "{},{},{}",
            self.client_first_bare, self.server_first, without_proof
        );
        let signature = hmac_sign(&self.verifier.stored_key, auth_message.as_bytes());
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        let stored = digest::digest(&digest::SHA256, &client_key);
        // Constant-time comparison: the keys are secrets.
        if !ct_eq(stored.as_ref(), &self.verifier.stored_key) {
            return Err(ScramError::WrongPassword);
        }
        let server_signature = hmac_sign(&self.verifier.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text form is PostgreSQL's (`pg_authid.rolpassword`): iterations, base64 salt,
    /// base64 StoredKey and ServerKey.
    #[test]
    fn verifiers_match_postgres_format() {
        let v = Verifier::from_password("secret", b"0123456789abcdef", 4096);
        let text = v.to_text();
        assert!(text.starts_with("SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$"));
        assert_eq!(Verifier::parse(&text), Some(v));
        assert_eq!(Verifier::parse("md5abc"), None);
    }

    /// Plays the client side of RFC 5802 to check the server accepts the right password and
    /// refuses a wrong one.
    #[test]
    fn exchange_accepts_right_password_only() {
        let verifier = Verifier::from_password("pencil", b"saltsaltsalt", 4096);
        for (password, ok) in [("pencil", true), ("pen", false)] {
            let client_first = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL";
            let (ex, server_first) =
                Exchange::start(verifier.clone(), client_first.as_bytes()).unwrap();
            let nonce = server_first
                .split(',')
                .next()
                .unwrap()
                .strip_prefix("r=")
                .unwrap();
            let without_proof = format!("c=biws,r={nonce}");
            let auth = format!("n=user,r=fyko+d2lbbFgONRv9qkxdawL,{server_first},{without_proof}");
            let client_side = Verifier::from_password(password, b"saltsaltsalt", 4096);
            let mut salted = [0u8; 32];
            pbkdf2::derive(
                pbkdf2::PBKDF2_HMAC_SHA256,
                NonZeroU32::new(4096).unwrap(),
                b"saltsaltsalt",
                password.as_bytes(),
                &mut salted,
            );
            let client_key = hmac_sign(&salted, b"Client Key");
            let signature = hmac_sign(&client_side.stored_key, auth.as_bytes());
            let proof: Vec<u8> = client_key
                .iter()
                .zip(&signature)
                .map(|(a, b)| a ^ b)
                .collect();
            let result = ex.finish(format!("{without_proof},p={}", B64.encode(proof)).as_bytes());
            assert_eq!(result.is_ok(), ok, "password {password}");
        }
    }
}
