//! Limits that keep a hostile image from exhausting memory, disk or time.

/// Bounds applied while reading an image. Every one is configurable from the CLI.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most bytes an analyzer may read from one file; larger files are skipped with a
    /// warning naming them.
    pub max_file_bytes: u64,
    /// Most decompressed bytes read from all layers together; past it the scan fails.
    pub max_total_bytes: u64,
    /// Most entries in one layer.
    pub max_entries_per_layer: u64,
    /// Most symbolic links followed while resolving one path.
    pub max_symlink_hops: u32,
    /// Most bytes of a manifest, index, config or archive index file.
    pub max_metadata_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 256 << 20,
            max_total_bytes: 64 << 30,
            max_entries_per_layer: 2_000_000,
            max_symlink_hops: 40,
            max_metadata_bytes: 8 << 20,
        }
    }
}
