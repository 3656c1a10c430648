//! PostgreSQL: the menu facts placements were decided from, kept per
//! restaurant with the menu version they were read at (migration 0015: every
//! change to those facts adds one to `restaurants.menu_version` in its own
//! transaction). A placement whose wanted items are all kept reads only the
//! version and what changes with every order (stock, availability, the
//! table's status) and decides from the kept facts when the version is the
//! one they were read at; otherwise it reads the facts whole and keeps them.
//! The facts a placement decides from are therefore always those of one
//! committed menu, as when every placement read them whole: the version is
//! read in the same statement as the live values, and facts kept at a
//! version are the facts of every snapshot with that version.
//!
//! Each instance keeps its own; the version is read from the database for
//! every order, so a change made through another instance (or behind the
//! hub's back) reaches the next order here too.

use std::collections::{BTreeMap, HashMap};

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;

use super::{ItemFacts, PlacementFacts};
use restohub_protocol::api::stations::Targets;

/// At most this many restaurants' menus are kept; keeping one more forgets
/// another (which then reads its facts whole on its next order).
const RESTAURANTS_KEPT: usize = 4096;

/// One restaurant's facts, as read at one menu version.
struct Menu {
    version: i64,
    stations: Vec<(i64, Targets)>,
    /// The restaurant's table ids, in id order.
    tables: Vec<i64>,
    /// The items read so far at this version (their stock and availability
    /// are replaced by the live values of each order's read).
    items: HashMap<i64, ItemFacts>,
}

/// The kept menus, by restaurant.
#[derive(Default)]
pub(crate) struct Menus(DashMap<i64, Menu>);

/// What a placement's short read found live, for one wanted item.
pub(super) struct LiveItem {
    pub(super) id: i64,
    pub(super) stock: Option<i64>,
    pub(super) available: bool,
}

/// The facts a placement decides from, made from a kept menu.
pub(super) struct Kept {
    pub(super) items: BTreeMap<i64, ItemFacts>,
    pub(super) stations: Vec<(i64, Targets)>,
    /// The restaurant's table ids when a wanted item is tracked, else empty.
    pub(super) tables: Vec<i64>,
}

impl Menus {
    /// The version of `r`'s kept menu if every one of `items` is kept in it.
    pub(super) fn version_with(&self, r: i64, items: &[i64]) -> Option<i64> {
        let menu = self.0.get(&r)?;
        items
            .iter()
            .all(|id| menu.items.contains_key(id))
            .then_some(menu.version)
    }

    /// The facts for `wanted` from `r`'s menu kept at `version`, with the
    /// live values `found` (one per wanted item that exists); `None` unless
    /// the menu is still kept at that version and every wanted item was
    /// found and is kept.
    pub(super) fn facts(
        &self,
        r: i64,
        version: i64,
        wanted: &[i64],
        found: &[LiveItem],
    ) -> Option<Kept> {
        let menu = self.0.get(&r)?;
        if menu.version != version || found.len() != wanted.len() {
            return None;
        }
        let mut items = BTreeMap::new();
        for live in found {
            let mut item = menu.items.get(&live.id)?.clone();
            item.stock = live.stock;
            item.available = live.available;
            items.insert(live.id, item);
        }
        let tracked = items.values().any(|i| i.stock.is_some());
        Some(Kept {
            items,
            stations: menu.stations.clone(),
            tables: if tracked {
                menu.tables.clone()
            } else {
                Vec::new()
            },
        })
    }

    /// Keeps what a whole read of `r`'s facts found at `version`: added to
    /// the menu kept at that version, or replacing one kept at an older
    /// version (a read that raced a newer one leaves the newer kept).
    pub(super) fn keep(&self, r: i64, version: i64, facts: &PlacementFacts, tables: &[i64]) {
        if !self.0.contains_key(&r) && self.0.len() >= RESTAURANTS_KEPT {
            let other = self.0.iter().next().map(|e| *e.key());
            if let Some(other) = other {
                self.0.remove(&other);
            }
        }
        let items = facts.items.iter().map(|(id, i)| (*id, i.clone()));
        match self.0.entry(r) {
            Entry::Occupied(mut kept) if kept.get().version == version => {
                kept.get_mut().items.extend(items);
            }
            Entry::Occupied(kept) if kept.get().version > version => {}
            entry => {
                entry.insert(Menu {
                    version,
                    stations: facts.stations.clone(),
                    tables: tables.to_vec(),
                    items: items.collect(),
                });
            }
        }
    }
}
