//! Integration tests of rampart-update.
mod repo;
