//! The Redis backend (standalone and Cluster). See the key layout in `layout.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{FormEntryRecord, FormPage, StoreError};
use crate::config::StoreConfig;

pub struct RedisStore {}

const TODO: &str = "redis backend not implemented yet";

#[allow(unused_variables)]
impl RedisStore {
    pub(super) fn open(cfg: &StoreConfig) -> Result<Self, StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub fn backend_name(&self) -> &'static str {
        "redis"
    }
    pub async fn ping(&self) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn put_receipt(
        &self,
        id: &str,
        receipt: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn get_receipt(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn receipt_history(&self, id: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn delete_receipt(&self, id: &str) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn put_form_entry(
        &self,
        form: &str,
        entry: &FormEntryRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn get_form_entry(
        &self,
        form: &str,
        id: &str,
    ) -> Result<Option<FormEntryRecord>, StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn list_form_entries(
        &self,
        form: &str,
        offset: usize,
        limit: usize,
    ) -> Result<FormPage, StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn delete_form_entry(&self, form: &str, id: &str) -> Result<bool, StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn find_form_entries_by_email(
        &self,
        email_hash: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn sweep_form_index(&self, form: &str) -> Result<usize, StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn incr_counters(
        &self,
        name: &str,
        day: &str,
        fields: &[(&str, i64)],
    ) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn read_counters(
        &self,
        name: &str,
        days: &[String],
    ) -> Result<Vec<BTreeMap<String, i64>>, StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn add_unique(&self, name: &str, day: &str, member: &[u8]) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn count_unique(&self, name: &str, day: &str) -> Result<u64, StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn put_session(
        &self,
        id: &str,
        data: &[u8],
        idle: Duration,
    ) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn get_session(
        &self,
        id: &str,
        idle: Duration,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn append_audit(&self, entry: &[u8]) -> Result<String, StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn read_audit(&self, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
    pub async fn hit_rate_limit(&self, key: &str, window: Duration) -> Result<u64, StoreError> {
        Err(StoreError::Unavailable(TODO.into()))
    }
}
