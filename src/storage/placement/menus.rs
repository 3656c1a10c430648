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
/// another (which then reads its facts whole on its next order). A kept
/// item is a few hundred bytes, and only items ordered are kept: 1,024
/// restaurants that each order a hundred items keep about 25 MB.
const RESTAURANTS_KEPT: usize = 1024;

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
        Some(Kept {
            tables: stock_event_tables(&items, || menu.tables.clone()),
            items,
            stations: menu.stations.clone(),
        })
    }

    /// Keeps what a whole read of `r`'s facts found at `version`: added to
    /// the menu kept at that version, or replacing one kept at another (a
    /// read that raced a newer one may keep the older facts: the next
    /// order's version tells, and that order reads them whole again).
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

/// The tables a placement's stock events reach: every one of the
/// restaurant's `tables` when a wanted item is tracked, none otherwise.
pub(super) fn stock_event_tables(
    items: &BTreeMap<i64, ItemFacts>,
    tables: impl FnOnce() -> Vec<i64>,
) -> Vec<i64> {
    if items.values().any(|i| i.stock.is_some()) {
        tables()
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use restohub_protocol::api::modifiers::AllergenSet;

    fn item(name: &str, stock: Option<i64>) -> ItemFacts {
        ItemFacts {
            name: name.into(),
            price_cents: 100,
            station_id: None,
            stock,
            low_stock_threshold: 0,
            available: true,
            course: 1,
            prep_seconds: 0,
            allergens: AllergenSet::default(),
            groups: Vec::new(),
        }
    }

    fn read(items: &[(i64, ItemFacts)]) -> PlacementFacts {
        PlacementFacts {
            timezone: "UTC".into(),
            table: None,
            items: items.iter().cloned().collect(),
            stations: Vec::new(),
        }
    }

    fn live(id: i64, stock: Option<i64>, available: bool) -> LiveItem {
        LiveItem {
            id,
            stock,
            available,
        }
    }

    #[test]
    fn kept_facts_serve_only_their_version_and_items() {
        let menus = Menus::default();
        assert_eq!(menus.version_with(1, &[10]), None);
        menus.keep(1, 5, &read(&[(10, item("Soup", None))]), &[7, 8]);
        assert_eq!(menus.version_with(1, &[10]), Some(5));
        assert_eq!(menus.version_with(1, &[10, 11]), None);
        assert_eq!(menus.version_with(2, &[10]), None);
        // Another read at the same version adds its items.
        menus.keep(1, 5, &read(&[(11, item("Tea", Some(4)))]), &[7, 8]);
        assert_eq!(menus.version_with(1, &[10, 11]), Some(5));

        // The live values replace the kept ones; tables only when tracked.
        let kept = menus
            .facts(1, 5, &[10], &[live(10, None, false)])
            .expect("kept");
        assert!(!kept.items[&10].available);
        assert!(kept.tables.is_empty());
        let kept = menus
            .facts(
                1,
                5,
                &[10, 11],
                &[live(10, None, true), live(11, Some(2), true)],
            )
            .expect("kept");
        assert_eq!(kept.items[&11].stock, Some(2));
        assert_eq!(kept.items[&11].name, "Tea");
        assert_eq!(kept.tables, [7, 8]);

        // Another version, or a wanted item not found, is not served.
        assert!(menus.facts(1, 6, &[10], &[live(10, None, true)]).is_none());
        assert!(menus
            .facts(1, 5, &[10, 11], &[live(10, None, true)])
            .is_none());

        // A read at another version replaces the menu, items and all.
        menus.keep(1, 6, &read(&[(11, item("Green tea", None))]), &[7]);
        assert_eq!(menus.version_with(1, &[10]), None);
        assert_eq!(menus.version_with(1, &[11]), Some(6));
        let kept = menus
            .facts(1, 6, &[11], &[live(11, Some(1), true)])
            .expect("kept");
        assert_eq!(kept.items[&11].name, "Green tea");
        assert_eq!(kept.tables, [7]);
    }

    #[test]
    fn at_most_so_many_restaurants_are_kept() {
        let menus = Menus::default();
        let facts = read(&[(1, item("Soup", None))]);
        for r in 0..RESTAURANTS_KEPT as i64 + 10 {
            menus.keep(r, 1, &facts, &[]);
        }
        assert_eq!(menus.0.len(), RESTAURANTS_KEPT);
        // The last kept is among them.
        assert_eq!(
            menus.version_with(RESTAURANTS_KEPT as i64 + 9, &[1]),
            Some(1)
        );
    }
}
