//! Which zones a session may write (docs/server.md#users): every zone unless a server user's
//! `write` list says otherwise. Checked before a write reads or writes anything.
use super::Session;
use crate::{Result, SqlError};
use strata_catalog::TableName;

impl Session {
    /// Limits the zones this session may write; None allows every zone.
    pub fn set_write_zones(&mut self, zones: Option<Vec<String>>) {
        self.write_zones = zones;
    }

    /// Names who runs the session, for the commits it makes.
    pub fn set_user(&mut self, user: Option<String>) {
        self.user = user;
    }

    /// Refuses a write into `table` when its zone is not one the session may write.
    pub fn check_write(&self, table: &TableName) -> Result<()> {
        let Some(zones) = &self.write_zones else {
            return Ok(());
        };
        if zones.iter().any(|z| *z == table.zone) {
            return Ok(());
        }
        let may = match zones.is_empty() {
            true => "none".to_string(),
            false => zones.join(", "),
        };
        Err(SqlError::Denied(format!(
            "may not write zone \"{}\" (table {table}); zones this user may write: {may}",
            table.zone
        )))
    }
}
