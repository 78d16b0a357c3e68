//! Tile paths, widths at the edges, the stored interior layout and entry bundles.

use tlog::tile::{
    self, TileHashes, TileId, TilePath, decode_bundle, encode_bundle, encode_index, full_tiles,
    locate, parse_path, partial_tiles, width_at,
};
use tlog::{NodeId, NodeSource};

use crate::support::MemoryTree;

#[test]
fn index_encoding() {
    let cases = [
        (0, "000"),
        (1, "001"),
        (999, "999"),
        (1000, "x001/000"),
        (1_234_067, "x001/x234/067"),
        (1_000_000, "x001/x000/000"),
    ];
    for (index, expected) in cases {
        assert_eq!(encode_index(index), expected);
        let path = format!("tile/0/{expected}");
        assert_eq!(
            parse_path(&path).unwrap(),
            TilePath::Hashes(TileId::new(0, index, 256).unwrap())
        );
    }
}

#[test]
fn paths_round_trip_and_refuse_bad_forms() {
    let partial = TileId::new(2, 1_234_067, 17).unwrap();
    assert_eq!(partial.path(), "tile/2/x001/x234/067.p/17");
    assert_eq!(partial.entries_path(), "tile/entries/x001/x234/067.p/17");
    assert_eq!(
        parse_path(&partial.path()).unwrap(),
        TilePath::Hashes(partial)
    );
    assert_eq!(
        parse_path("tile/entries/x001/x234/067.p/17").unwrap(),
        TilePath::Entries(TileId::new(0, 1_234_067, 17).unwrap())
    );
    for bad in [
        "tile/0/1",
        "tile/0/0001",
        "tile/00/000",
        "tile/64/000",
        "tile/0/x000/001",
        "tile/0/001/002",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/07",
        "tiles/0/000",
        "tile/0/x01/000",
    ] {
        assert!(parse_path(bad).is_err(), "{bad} accepted");
    }
    assert!(TileId::new(0, 0, 0).is_err());
    assert!(TileId::new(64, 0, 1).is_err());
}

fn paths(size: u64) -> Vec<String> {
    partial_tiles(size).iter().map(TileId::path).collect()
}

#[test]
fn partial_tiles_at_the_edges() {
    assert!(paths(0).is_empty());
    assert_eq!(paths(1), ["tile/0/000.p/1"]);
    assert_eq!(paths(255), ["tile/0/000.p/255"]);
    assert_eq!(paths(256), ["tile/1/000.p/1"]);
    assert_eq!(paths(257), ["tile/0/001.p/1", "tile/1/000.p/1"]);
    assert_eq!(paths(65_535), ["tile/0/255.p/255", "tile/1/000.p/255"]);
    assert_eq!(paths(65_536), ["tile/2/000.p/1"]);
    assert_eq!(paths(65_537), ["tile/0/256.p/1", "tile/2/000.p/1"]);
    // The example of the spec: 273 full level-0 tiles, a partial one of 112, one full level-1
    // tile, a partial one of 17, and a partial level-2 tile of 1.
    assert_eq!(
        paths(70_000),
        ["tile/0/273.p/112", "tile/1/001.p/17", "tile/2/000.p/1"]
    );
    assert_eq!(
        (
            full_tiles(0, 70_000),
            full_tiles(1, 70_000),
            full_tiles(2, 70_000)
        ),
        (273, 1, 0)
    );
    assert_eq!(paths(1 << 40).len(), 1);
    assert_eq!(paths(u64::MAX).len(), 8);

    assert_eq!(width_at(0, 0, 0), 0);
    assert_eq!(width_at(0, 0, 1), 1);
    assert_eq!(width_at(0, 0, 256), 256);
    assert_eq!(width_at(0, 1, 256), 0);
    assert_eq!(width_at(1, 0, 256), 1);
    assert_eq!(width_at(1, 0, 65_536), 256);
    assert_eq!(width_at(0, 272, 70_000), 256);
    assert_eq!(width_at(0, 273, 70_000), 112);
}

#[test]
fn node_locations() {
    let at = |level, index| {
        let l = locate(NodeId::new(level, index));
        (l.tile_level, l.tile_index, l.sublevel, l.position)
    };
    assert_eq!(at(0, 0), (0, 0, 0, 0));
    assert_eq!(at(0, 257), (0, 1, 0, 1));
    assert_eq!(at(3, 33), (0, 1, 3, 1));
    assert_eq!(at(7, 5), (0, 2, 7, 1));
    assert_eq!(at(8, 0), (1, 0, 0, 0));
    assert_eq!(at(8, 300), (1, 1, 0, 44));
    assert_eq!(at(17, 3), (2, 0, 1, 3));
}

/// Tiles built from a tree's completed nodes hold exactly the hashes the spec defines, and
/// store and reload without loss.
#[test]
fn tiles_hold_the_tree_hashes() {
    let entries: Vec<Vec<u8>> = (0..70_000u32).map(|i| i.to_be_bytes().to_vec()).collect();
    let tree = MemoryTree::with_entries(entries.iter().map(Vec::as_slice));
    let mut tiles = std::collections::BTreeMap::<(u8, u64), TileHashes>::new();
    let mut ids: Vec<NodeId> = tree.nodes.keys().copied().collect();
    ids.sort_by_key(|id| (id.level, id.index));
    for id in ids {
        let l = locate(id);
        tiles
            .entry((l.tile_level, l.tile_index))
            .or_insert_with(|| TileHashes::new(l.tile_level, l.tile_index))
            .push(l.sublevel, l.position, tree.node(id).unwrap())
            .unwrap();
    }
    let partial: Vec<String> = tiles
        .values()
        .filter(|t| !t.is_full())
        .map(|t| t.id().unwrap().path())
        .collect();
    assert_eq!(partial, paths(70_000));

    let tile = &tiles[&(1, 1)];
    assert_eq!(tile.width(), 17);
    // Hash 3 of tile/1/001 is the root of the level-0 tile 256 + 3.
    assert_eq!(
        tile.get(0, 3),
        Some(tree.node(NodeId::new(8, 259)).unwrap())
    );
    let stored = tile.to_stored();
    assert_eq!(stored.len(), tile::stored_hashes(17) * 32);
    let reloaded = TileHashes::from_stored(1, 1, 17, &stored).unwrap();
    assert_eq!(&reloaded, tile);
    assert_eq!(reloaded.tile_bytes().len(), 17 * 32);
    assert!(TileHashes::from_stored(1, 1, 16, &stored).is_err());

    // Out-of-order hashes are refused.
    let mut fresh = TileHashes::new(0, 0);
    assert!(fresh.push(0, 1, tlog::Hash::default()).is_err());
    assert!(fresh.push(8, 0, tlog::Hash::default()).is_err());
}

#[test]
fn entry_bundles() {
    let entries: Vec<&[u8]> = vec![b"", b"a", &[7u8; 300]];
    let bundle = encode_bundle(entries.iter().copied()).unwrap();
    assert_eq!(&bundle[..5], &[0, 0, 0, 1, b'a']);
    assert_eq!(decode_bundle(&bundle).unwrap(), entries);
    assert!(decode_bundle(&bundle[..bundle.len() - 1]).is_err());
    assert!(decode_bundle(&[0]).is_err());

    let largest = vec![0u8; 65_535];
    assert!(encode_bundle([largest.as_slice()]).is_ok());
    let too_large = vec![0u8; 65_536];
    let error = encode_bundle([b"ok".as_slice(), too_large.as_slice()]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "entry 1 is 65536 bytes; an entry bundle holds entries of at most 65535 bytes"
    );
}
