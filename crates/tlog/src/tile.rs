//! C2SP `tlog-tiles`: tile coordinates and paths, tile contents, entry bundles.
//!
//! A tile at level `L` holds up to 256 consecutive hashes at tree level `8·L`; a full tile is
//! exactly 256 hashes (8,192 bytes), the rightmost tiles of a tree are partial. The eight tree
//! levels *inside* a tile are determined by its hashes; [`TileHashes`] keeps them alongside, so
//! a store can answer for any complete subtree without rehashing.

use std::fmt;

use crate::hash::{HASH_BYTES, Hash};
use crate::tree::NodeId;

/// Tree levels per tile.
pub const TILE_HEIGHT: u8 = 8;
/// Hashes in a full tile.
pub const TILE_WIDTH: u16 = 256;
/// Tile levels the spec allows (0 to 63).
pub const TILE_LEVEL_MAX: u8 = 63;
/// An entry bundle prefixes each entry with a big-endian u16 length.
pub const ENTRY_BYTES_MAX: usize = u16::MAX as usize;

/// Why a tile path, tile or entry bundle is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error("invalid tile path `{path}`: {reason}")]
    Path { path: String, reason: String },
    #[error("tile width {0} is outside 1..=256")]
    Width(u32),
    #[error("tile level {0} is outside 0..=63")]
    Level(u32),
    #[error("stored tile {tile} is {got} bytes, expected {expected} for width {width}")]
    StoredLength {
        tile: String,
        width: u16,
        got: usize,
        expected: usize,
    },
    #[error("tile {tile}: hash at level {sublevel} position {position} arrived out of order")]
    OutOfOrder {
        tile: String,
        sublevel: u8,
        position: u64,
    },
    #[error("entry {index} is {len} bytes; an entry bundle holds entries of at most 65535 bytes")]
    EntryTooLarge { index: usize, len: usize },
    #[error("entry bundle is truncated in entry {index}")]
    TruncatedBundle { index: usize },
}

/// A tile: its level, index within the level, and width (256 for a full tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub level: u8,
    pub index: u64,
    pub width: u16,
}

/// The three-digit path groups of a tile index: 1234067 → `x001/x234/067`.
pub fn encode_index(index: u64) -> String {
    let mut groups = vec![format!("{:03}", index % 1000)];
    let mut rest = index / 1000;
    while rest > 0 {
        groups.push(format!("x{:03}", rest % 1000));
        rest /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

fn width_suffix(width: u16) -> String {
    if width == TILE_WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    }
}

impl TileId {
    pub fn new(level: u8, index: u64, width: u16) -> Result<TileId, TileError> {
        if level > TILE_LEVEL_MAX {
            return Err(TileError::Level(u32::from(level)));
        }
        if width == 0 || width > TILE_WIDTH {
            return Err(TileError::Width(u32::from(width)));
        }
        Ok(TileId {
            level,
            index,
            width,
        })
    }

    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// `tile/<L>/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!(
            "tile/{}/{}{}",
            self.level,
            encode_index(self.index),
            width_suffix(self.width)
        )
    }

    /// `tile/entries/<N>[.p/<W>]`: the entry bundle under a level-0 tile.
    pub fn entries_path(&self) -> String {
        format!(
            "tile/entries/{}{}",
            encode_index(self.index),
            width_suffix(self.width)
        )
    }

    /// The first tree-level-`8·L` node this tile holds.
    pub fn first_node(&self) -> u64 {
        self.index * u64::from(TILE_WIDTH)
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// What a tile path names: a hash tile or an entry bundle (whose `level` is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    Hashes(TileId),
    Entries(TileId),
}

/// Parses `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]` (without a leading slash).
pub fn parse_path(path: &str) -> Result<TilePath, TileError> {
    let fail = |reason: &str| TileError::Path {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = path
        .strip_prefix("tile/")
        .ok_or_else(|| fail("a tile path starts with `tile/`"))?;
    let (level_text, rest) = rest
        .split_once('/')
        .ok_or_else(|| fail("expected `tile/<L>/<N>`"))?;
    let (index_text, width) = match rest.split_once(".p/") {
        Some((index, width_text)) => {
            let width = parse_small(width_text)
                .filter(|w| (1..u32::from(TILE_WIDTH)).contains(w))
                .ok_or_else(|| fail("a partial width is a decimal from 1 to 255"))?;
            (index, u16::try_from(width).unwrap_or(TILE_WIDTH))
        }
        None => (rest, TILE_WIDTH),
    };
    let index = parse_index(index_text).ok_or_else(|| {
        fail("the index is 3-digit groups, all but the last prefixed with `x` (e.g. `x001/234`)")
    })?;
    if level_text == "entries" {
        return Ok(TilePath::Entries(TileId::new(0, index, width)?));
    }
    let level = parse_small(level_text)
        .filter(|l| *l <= u32::from(TILE_LEVEL_MAX))
        .ok_or_else(|| fail("the level is a decimal from 0 to 63"))?;
    let level = u8::try_from(level).map_err(|_| fail("the level is a decimal from 0 to 63"))?;
    Ok(TilePath::Hashes(TileId::new(level, index, width)?))
}

fn parse_small(text: &str) -> Option<u32> {
    crate::checkpoint::parse_decimal(text).and_then(|n| u32::try_from(n).ok())
}

fn parse_index(text: &str) -> Option<u64> {
    let groups: Vec<&str> = text.split('/').collect();
    let (last, init) = groups.split_last()?;
    let mut index: u64 = 0;
    for (position, group) in init.iter().enumerate() {
        let digits = group.strip_prefix('x')?;
        let value = parse_group(digits)?;
        // Leading groups of zero would give one index two paths.
        if position == 0 && value == 0 {
            return None;
        }
        index = index.checked_mul(1000)?.checked_add(value)?;
    }
    index.checked_mul(1000)?.checked_add(parse_group(last)?)
}

fn parse_group(digits: &str) -> Option<u64> {
    if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// How many hashes the tile `index` at `level` holds in a tree of `size` leaves (0 if it does
/// not exist yet).
pub fn width_at(level: u8, index: u64, size: u64) -> u16 {
    let nodes = level_nodes(level, size);
    let start = index.saturating_mul(u64::from(TILE_WIDTH));
    let width = nodes.saturating_sub(start).min(u64::from(TILE_WIDTH));
    u16::try_from(width).unwrap_or(TILE_WIDTH)
}

/// How many complete nodes tree level `8·level` has in a tree of `size` leaves.
fn level_nodes(level: u8, size: u64) -> u64 {
    size.checked_shr(u32::from(level) * u32::from(TILE_HEIGHT))
        .unwrap_or(0)
}

/// The partial tiles of a tree of `size` leaves, lowest level first: the tiles a log must serve
/// for that size beside its full tiles.
pub fn partial_tiles(size: u64) -> Vec<TileId> {
    (0..=TILE_LEVEL_MAX)
        .map_while(|level| {
            let nodes = level_nodes(level, size);
            (nodes > 0).then_some((level, nodes))
        })
        .filter_map(|(level, nodes)| {
            let width = u16::try_from(nodes % u64::from(TILE_WIDTH)).ok()?;
            TileId::new(level, nodes / u64::from(TILE_WIDTH), width).ok()
        })
        .collect()
}

/// How many full tiles `level` has in a tree of `size` leaves.
pub fn full_tiles(level: u8, size: u64) -> u64 {
    level_nodes(level, size) / u64::from(TILE_WIDTH)
}

/// Where a node's hash lives: the tile (level, index), the level inside the tile (0..8) and the
/// position in that row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLocation {
    pub tile_level: u8,
    pub tile_index: u64,
    pub sublevel: u8,
    pub position: u64,
}

pub fn locate(node: NodeId) -> NodeLocation {
    let tile_level = node.level / TILE_HEIGHT;
    let sublevel = node.level % TILE_HEIGHT;
    let row_width_log = u32::from(TILE_HEIGHT - sublevel);
    NodeLocation {
        tile_level,
        tile_index: node.index >> row_width_log,
        sublevel,
        position: node.index & ((1u64 << row_width_log) - 1),
    }
}

/// The number of hashes [`TileHashes`] stores for a tile of `width`: row `s` holds `width >> s`.
pub fn stored_hashes(width: u16) -> usize {
    (0..TILE_HEIGHT).map(|s| usize::from(width >> s)).sum()
}

/// Where the hash at row `sublevel`, `position` sits in the stored layout of a tile of `width`
/// (counted in hashes), if such a tile holds it.
pub fn stored_position(width: u16, sublevel: u8, position: u64) -> Option<usize> {
    if sublevel >= TILE_HEIGHT {
        return None;
    }
    let row_width = usize::from(width >> sublevel);
    let position = usize::try_from(position).ok()?;
    if position >= row_width {
        return None;
    }
    let row_start: usize = (0..sublevel).map(|s| usize::from(width >> s)).sum();
    Some(row_start + position)
}

/// A tile with the complete interior nodes of its eight levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileHashes {
    level: u8,
    index: u64,
    rows: [Vec<Hash>; TILE_HEIGHT as usize],
}

impl TileHashes {
    pub fn new(level: u8, index: u64) -> TileHashes {
        TileHashes {
            level,
            index,
            rows: Default::default(),
        }
    }

    /// Reads the stored layout: rows 0 to 7 concatenated, row `s` holding `width >> s` hashes.
    pub fn from_stored(
        level: u8,
        index: u64,
        width: u16,
        bytes: &[u8],
    ) -> Result<TileHashes, TileError> {
        let id = TileId::new(level, index, width)?;
        let expected = stored_hashes(width) * HASH_BYTES;
        if bytes.len() != expected {
            return Err(TileError::StoredLength {
                tile: id.path(),
                width,
                got: bytes.len(),
                expected,
            });
        }
        let mut hashes = bytes
            .chunks_exact(HASH_BYTES)
            .filter_map(|chunk| Hash::from_slice(chunk).ok());
        let mut tile = TileHashes::new(level, index);
        for (sublevel, row) in tile.rows.iter_mut().enumerate() {
            let count = usize::from(width >> sublevel);
            row.extend(hashes.by_ref().take(count));
        }
        Ok(tile)
    }

    pub fn level(&self) -> u8 {
        self.level
    }

    pub fn index(&self) -> u64 {
        self.index
    }

    /// The number of hashes in the tile proper (row 0).
    pub fn width(&self) -> u16 {
        u16::try_from(self.rows[0].len()).unwrap_or(TILE_WIDTH)
    }

    pub fn is_full(&self) -> bool {
        self.width() == TILE_WIDTH
    }

    pub fn id(&self) -> Option<TileId> {
        TileId::new(self.level, self.index, self.width()).ok()
    }

    /// Adds the next hash of row `sublevel`; hashes arrive left to right.
    pub fn push(&mut self, sublevel: u8, position: u64, hash: Hash) -> Result<(), TileError> {
        let out_of_order = || TileError::OutOfOrder {
            tile: format!("tile/{}/{}", self.level, encode_index(self.index)),
            sublevel,
            position,
        };
        let row = self
            .rows
            .get_mut(usize::from(sublevel))
            .ok_or_else(out_of_order)?;
        let limit = usize::from(TILE_WIDTH >> sublevel);
        if usize::try_from(position).ok() != Some(row.len()) || row.len() >= limit {
            return Err(out_of_order());
        }
        row.push(hash);
        Ok(())
    }

    /// The hash at row `sublevel`, `position`, if the tile holds it.
    pub fn get(&self, sublevel: u8, position: u64) -> Option<Hash> {
        let row = self.rows.get(usize::from(sublevel))?;
        row.get(usize::try_from(position).ok()?).copied()
    }

    /// The stored layout (see [`TileHashes::from_stored`]).
    pub fn to_stored(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(stored_hashes(self.width()) * HASH_BYTES);
        for row in &self.rows {
            for hash in row {
                out.extend_from_slice(&hash.0);
            }
        }
        out
    }

    /// The tile as served: its row-0 hashes, concatenated.
    pub fn tile_bytes(&self) -> Vec<u8> {
        self.rows[0].iter().flat_map(|hash| hash.0).collect()
    }
}

/// Encodes entries as an entry bundle: each entry behind its big-endian u16 length.
pub fn encode_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let len = u16::try_from(entry.len()).map_err(|_| TileError::EntryTooLarge {
            index,
            len: entry.len(),
        })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// Splits an entry bundle into its entries.
pub fn decode_bundle(mut bytes: &[u8]) -> Result<Vec<&[u8]>, TileError> {
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let index = entries.len();
        let (len, rest) = bytes
            .split_first_chunk::<2>()
            .ok_or(TileError::TruncatedBundle { index })?;
        let len = usize::from(u16::from_be_bytes(*len));
        let (entry, rest) = rest
            .split_at_checked(len)
            .ok_or(TileError::TruncatedBundle { index })?;
        entries.push(entry);
        bytes = rest;
    }
    Ok(entries)
}
