//! The routes of the admin listener (loopback by default): liveness and readiness now, the
//! operators' dashboard in a later issue.

use actix_web::web;

/// Every admin route. Mount after registering [`Worker::data`](super::state::Worker::data).
pub fn configure(cfg: &mut web::ServiceConfig) {
    super::health::admin(cfg);
}
