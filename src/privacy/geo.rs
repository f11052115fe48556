//! Country look-up in a local MaxMind DB (GeoIP2/GeoLite2 Country or City format), memory-mapped.
//! Only the ISO country code leaves this module.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::{geoip2, Mmap, Reader};

#[derive(Debug, thiserror::Error)]
#[error("privacy.geo_database: cannot use {path}: {reason}")]
pub struct GeoError {
    pub path: PathBuf,
    pub reason: String,
}

/// An open country database.
pub struct Geo {
    reader: Reader<Mmap>,
}

impl Geo {
    /// Open and check the database; a missing or corrupt file is an error here, at start.
    pub fn open(path: &Path) -> Result<Self, GeoError> {
        let fail = |reason: String| GeoError {
            path: path.to_owned(),
            reason,
        };
        if !path.is_file() {
            return Err(fail("file not found".into()));
        }
        // SAFETY: the mapping is read-only and lives as long as the reader. It would be undefined
        // behaviour only if the file were truncated or rewritten in place while mapped; database
        // updates are installed by writing a new file and renaming it over the old one (as
        // geoipupdate does), which leaves this mapping on the old inode. The README says so.
        #[allow(unsafe_code)]
        let reader = unsafe { Reader::open_mmap(path) }.map_err(|e| fail(e.to_string()))?;
        let kind = &reader.metadata().database_type;
        if !(kind.contains("Country") || kind.contains("City")) {
            return Err(fail(format!(
                "database type is {kind:?}; expected a GeoIP2/GeoLite2 Country or City database"
            )));
        }
        Ok(Self { reader })
    }

    /// When the database was built, unix seconds (the health page shows how old it is).
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }

    /// The ISO 3166-1 alpha-2 code of the address's country; `None` for private, reserved and
    /// unknown addresses (not an error: most such visitors are on a LAN or a VPN).
    pub fn country(&self, ip: IpAddr) -> Option<String> {
        let found = self.reader.lookup(ip.to_canonical()).ok()?;
        let record: geoip2::Country = found.decode().ok()??;
        record
            .country
            .iso_code
            .filter(|code| code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()))
            .map(str::to_owned)
    }
}
