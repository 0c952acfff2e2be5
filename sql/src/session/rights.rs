//! Write rights (docs/server.md#users-and-zones): which zones a session may write. The REPL,
//! `-c`, the library and the trusted loopback server write every zone; a server user writes
//! only the zones of its `write` list. Every write path asks [`Session::check_write`] before it
//! writes anything, so a refused write changes nothing.
use super::Session;
use crate::{Result, SqlError};
use strata_catalog::TableName;

impl Session {
    /// Which zones this session may write: None = every zone (the default), `Some(list)` = only
    /// those (a server user's `write`).
    pub fn set_write_zones(&mut self, zones: Option<Vec<String>>) {
        self.write_zones = zones;
    }

    /// Names who runs the session, for the commits it makes (`strata.batches`' `user`).
    pub fn set_user(&mut self, user: Option<String>) {
        self.user = user;
    }

    /// The zones this session may write; None when it may write every zone.
    pub fn write_zones(&self) -> Option<&[String]> {
        self.write_zones.as_deref()
    }

    /// Refuses (42501 over the server) a write into `table`'s zone unless this session may
    /// write it; the error names the zone and what the session may write instead.
    pub fn check_write(&self, table: &TableName) -> Result<()> {
        let Some(zones) = &self.write_zones else {
            return Ok(());
        };
        if zones.iter().any(|z| z == &table.zone) {
            return Ok(());
        }
        let may = if zones.is_empty() {
            "none".to_string()
        } else {
            zones.join(", ")
        };
        Err(SqlError::Denied(format!(
            "may not write zone \"{}\" (this user may write: {may})",
            table.zone
        )))
    }
}

#[cfg(test)]
mod tests {
    use crate::{ErrorKind, Session, SessionOptions};
    use strata_catalog::{Lake, TableName};

    async fn session() -> Session {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).await.unwrap();
        Session::new(lake, SessionOptions::default()).await.unwrap()
    }

    #[tokio::test]
    async fn every_zone_is_writable_unless_restricted() {
        let s = session().await;
        assert_eq!(s.write_zones(), None);
        for zone in strata_catalog::ZONES {
            s.check_write(&TableName::new(zone, "s", "t")).unwrap();
        }
    }

    #[tokio::test]
    async fn a_restricted_session_writes_only_its_zones() {
        let mut s = session().await;
        s.set_write_zones(Some(vec!["raw".into(), "sanitized".into()]));
        s.check_write(&TableName::new("raw", "crm", "orders"))
            .unwrap();
        let e = s
            .check_write(&TableName::new("enhanced", "crm", "orders"))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Permission);
        assert_eq!(
            e.to_string(),
            "permission denied: may not write zone \"enhanced\" (this user may write: raw, \
             sanitized)"
        );
    }

    #[tokio::test]
    async fn an_empty_write_list_writes_nothing() {
        let mut s = session().await;
        s.set_write_zones(Some(vec![]));
        let e = s.check_write(&TableName::new("raw", "x", "y")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Permission);
        assert_eq!(
            e.to_string(),
            "permission denied: may not write zone \"raw\" (this user may write: none)"
        );
        s.set_write_zones(None);
        s.check_write(&TableName::new("raw", "x", "y")).unwrap();
    }
}
