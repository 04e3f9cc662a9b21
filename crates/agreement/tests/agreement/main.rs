//! One test binary (to keep link time low): published values, then properties.

mod properties;
mod published;
