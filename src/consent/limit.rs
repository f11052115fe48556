//! The rate limit on decisions: each one writes a receipt kept for the whole proof retention,
//! so cookie-less POSTs in a loop would otherwise fill the store. Counted per anonymised
//! address in the store (shared by every gate on one Redis), answered `rate_limited` (429)
//! with the window as Retry-After.

use super::{ConsentService, RecordError};
use crate::http::{Code, EdgeError};
use crate::privacy::Visitor;

impl ConsentService {
    /// Count a decision of `visitor`; `rate_limited` past `consent.rate_limit.max` in the
    /// window, `store_unavailable` when the count cannot be kept.
    pub async fn admit_decision(&self, visitor: &Visitor) -> Result<(), EdgeError> {
        let limit = self.rate_limit;
        if limit.max == 0 {
            return Ok(());
        }
        let key = format!("consent:{}", visitor.anonymized_ip);
        let hits = self
            .store
            .hit_rate_limit(&key, limit.window)
            .await
            .map_err(|e| EdgeError::from(RecordError::Store(e)))?;
        if hits > limit.max {
            return Err(
                EdgeError::new(Code::RateLimited).retry_after(limit.window.as_secs().max(1))
            );
        }
        Ok(())
    }
}
