//! Stored hashes as a [`tlog::NodeSource`]: any complete subtree's hash, read from its tile.

use std::cell::RefCell;
use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension as _};
use tlog::tile::{TileHashes, locate};
use tlog::{Hash, NodeId, NodeSource};

use crate::StoreError;
use crate::schema::{from_sql_u64, to_sql_u64};

/// Tiles kept in memory per reader (each at most 511 hashes, 16 KiB).
const CACHED_TILES_MAX: usize = 2048;

/// Tile cache: a complete node never changes, so any tile that holds it may answer for it;
/// only a partial tile may need reloading for nodes completed since it was read.
#[derive(Debug, Default)]
pub(crate) struct TileCache {
    tiles: HashMap<(u8, u64), TileHashes>,
}

impl TileCache {
    fn node(&mut self, conn: &Connection, node: NodeId) -> Result<Hash, StoreError> {
        let location = locate(node);
        let key = (location.tile_level, location.tile_index);
        if let Some(hash) = self
            .tiles
            .get(&key)
            .and_then(|tile| tile.get(location.sublevel, location.position))
        {
            return Ok(hash);
        }
        let tile = read_tile(conn, location.tile_level, location.tile_index)?.ok_or_else(|| {
            StoreError::Corrupt(format!(
                "tile/{}/{} holding node {}/{} is missing",
                location.tile_level,
                tlog::tile::encode_index(location.tile_index),
                node.level,
                node.index
            ))
        })?;
        let hash = tile
            .get(location.sublevel, location.position)
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "tile/{}/{} does not hold node {}/{} yet",
                    location.tile_level,
                    tlog::tile::encode_index(location.tile_index),
                    node.level,
                    node.index
                ))
            })?;
        if self.tiles.len() >= CACHED_TILES_MAX {
            self.tiles.clear();
        }
        self.tiles.insert(key, tile);
        Ok(hash)
    }

    pub(crate) fn clear(&mut self) {
        self.tiles.clear();
    }
}

pub(crate) fn read_tile(
    conn: &Connection,
    level: u8,
    index: u64,
) -> Result<Option<TileHashes>, StoreError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT width, hashes FROM tiles WHERE level = ?1 AND idx = ?2")?
        .query_row([i64::from(level), to_sql_u64(index)?], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    let Some((width, bytes)) = row else {
        return Ok(None);
    };
    let width = u16::try_from(from_sql_u64(width)?)
        .map_err(|_| StoreError::Corrupt(format!("tile width {width} is out of range")))?;
    TileHashes::from_stored(level, index, width, &bytes)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A connection and a tile cache, seen as a node source.
pub(crate) struct SqlNodes<'a> {
    pub(crate) conn: &'a Connection,
    pub(crate) cache: &'a RefCell<TileCache>,
}

impl NodeSource for SqlNodes<'_> {
    type Error = StoreError;

    fn node(&self, node: NodeId) -> Result<Hash, StoreError> {
        self.cache.borrow_mut().node(self.conn, node)
    }
}
