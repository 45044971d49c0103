//! One module per subcommand.

pub mod db;
pub mod demo;
pub mod sbom;
