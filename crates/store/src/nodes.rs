//! Stored hashes as a [`tlog::NodeSource`]: any complete subtree's hash, read from its tile.

use std::cell::RefCell;
use std::collections::HashMap;

use tlog::hash::HASH_BYTES;
use tlog::tile::{TileHashes, encode_index, locate, stored_hashes, stored_position};
use tlog::{Hash, NodeId, NodeSource};

use crate::StoreError;
use crate::backend::Rows;

/// Tiles a reader keeps in memory by default: each is at most 510 hashes (16 KiB), so 8,192
/// tiles (at most 128 MiB, filled only by a long-running reader) hold every level-0 tile of a
/// two-million-entry log.
pub const CACHED_TILES_DEFAULT: usize = 8192;

/// A stored tile's width and raw bytes (the layout of [`TileHashes::to_stored`]).
#[derive(Debug)]
struct RawTile {
    width: u16,
    bytes: Vec<u8>,
}

impl RawTile {
    fn get(&self, sublevel: u8, position: u64) -> Option<Hash> {
        let at = stored_position(self.width, sublevel, position)? * HASH_BYTES;
        Hash::from_slice(self.bytes.get(at..at + HASH_BYTES)?).ok()
    }
}

/// Tile cache: a complete node never changes, so any tile that holds it may answer for it;
/// only a partial tile may need reloading for nodes completed since it was read.
#[derive(Debug)]
pub(crate) struct TileCache {
    tiles: HashMap<(u8, u64), RawTile>,
    capacity: usize,
}

impl Default for TileCache {
    fn default() -> TileCache {
        TileCache::with_capacity(CACHED_TILES_DEFAULT)
    }
}

impl TileCache {
    pub(crate) fn with_capacity(capacity: usize) -> TileCache {
        TileCache {
            tiles: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    fn node(&mut self, rows: &mut dyn Rows, node: NodeId) -> Result<Hash, StoreError> {
        let location = locate(node);
        let key = (location.tile_level, location.tile_index);
        if let Some(hash) = self
            .tiles
            .get(&key)
            .and_then(|tile| tile.get(location.sublevel, location.position))
        {
            return Ok(hash);
        }
        let damaged = |what: &str| {
            StoreError::Corrupt(format!(
                "tile/{}/{} {what} node {}/{}",
                location.tile_level,
                encode_index(location.tile_index),
                node.level,
                node.index
            ))
        };
        let tile = read_raw_tile(rows, location.tile_level, location.tile_index)?
            .ok_or_else(|| damaged("is missing; it holds"))?;
        let hash = tile
            .get(location.sublevel, location.position)
            .ok_or_else(|| damaged("does not hold"))?;
        if self.tiles.len() >= self.capacity {
            // Upper-level tiles are few and on every proof's path: evict a level-0 tile, any
            // one (the map's order is arbitrary, which makes this random eviction).
            let victim = self.tiles.keys().find(|(level, _)| *level == 0).copied();
            match victim {
                Some(victim) => {
                    self.tiles.remove(&victim);
                }
                None => self.tiles.clear(),
            }
        }
        self.tiles.insert(key, tile);
        Ok(hash)
    }
}

fn read_raw_tile(
    rows: &mut dyn Rows,
    level: u8,
    index: u64,
) -> Result<Option<RawTile>, StoreError> {
    let Some((width, bytes)) = rows.tile(level, index)? else {
        return Ok(None);
    };
    let expected = stored_hashes(width) * HASH_BYTES;
    if bytes.len() != expected {
        return Err(StoreError::Corrupt(format!(
            "tile/{level}/{} is {} bytes, expected {expected} for width {width}",
            encode_index(index),
            bytes.len()
        )));
    }
    Ok(Some(RawTile { width, bytes }))
}

pub(crate) fn read_tile(
    rows: &mut dyn Rows,
    level: u8,
    index: u64,
) -> Result<Option<TileHashes>, StoreError> {
    let Some((width, bytes)) = rows.tile(level, index)? else {
        return Ok(None);
    };
    TileHashes::from_stored(level, index, width, &bytes)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Stored rows and a tile cache, seen as a node source.
pub(crate) struct Nodes<'a, R: Rows> {
    pub(crate) rows: &'a RefCell<R>,
    pub(crate) cache: &'a RefCell<TileCache>,
}

impl<R: Rows> NodeSource for Nodes<'_, R> {
    type Error = StoreError;

    fn node(&self, node: NodeId) -> Result<Hash, StoreError> {
        self.cache
            .borrow_mut()
            .node(&mut *self.rows.borrow_mut(), node)
    }
}
