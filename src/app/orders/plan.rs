//! A placement decided once, in Rust, from the facts storage read: which
//! items may be ordered (and the field error when one may not), the lines,
//! the total, the stock to take per item in item-id order, whether the
//! table becomes occupied, what the order adds to the statistics, and the
//! events that record it. Pure: no I/O, no clock, no database. Storage runs
//! the resulting [`Plan`] in each backend's way and calls
//! [`PlacementPlan::placed`] with what its conditional statements found.

use std::collections::BTreeMap;

use restohub_protocol::api::orders::{LineStatus, Order, OrderLine, OrderSource, OrderStatus};
use restohub_protocol::api::tables::TableStatus;
use restohub_protocol::{Role, Timestamp};

use super::{choices, events};
use crate::app::timers::StationTargets;
use crate::clock::Clock;
use crate::storage::{
    EventDraft, ItemFacts, NewLine, NewOrder, Placed, PlacementAsk, PlacementFacts, PlacementPlan,
    PlacementWrite, StockChange, StockTake, TableChange, Written,
};

/// One line to place (identical lines already merged).
#[derive(Debug, Clone, PartialEq)]
pub struct LineRequest {
    pub menu_item_id: i64,
    pub qty: i64,
    pub note: String,
    pub modifiers: Vec<String>,
    pub seat: Option<i64>,
    /// `None`: its item's category's course.
    pub course: Option<i64>,
    /// Option ids, distinct and sorted (identical lines compare equal).
    pub choices: Vec<i64>,
    /// Its (first) index in the request, for field paths.
    pub index: usize,
}

/// A placement as asked, validated and merged.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub restaurant_id: i64,
    pub table_id: Option<i64>,
    pub source: OrderSource,
    pub note: &'a str,
    pub lines: &'a [LineRequest],
    pub placed_by_user: Option<i64>,
    pub placed_by_role: Role,
    pub idempotency_key: &'a str,
    /// Fingerprint of the request, to tell a retry from a different order
    /// reusing the key.
    pub request_hash: &'a str,
    /// When the hub took the order: its `created_at` and business hour.
    pub now: i64,
}

impl<'a> Request<'a> {
    /// The items it wants, in item-id order, each once.
    pub fn item_ids(&self) -> Vec<i64> {
        wanted(self.lines).into_keys().collect()
    }

    /// What storage reads for it (`item_ids` from [`Request::item_ids`]);
    /// `clock` stamps its events as they are appended.
    pub fn ask(&self, item_ids: &'a [i64], clock: &'a dyn Clock) -> PlacementAsk<'a> {
        PlacementAsk {
            restaurant_id: self.restaurant_id,
            idempotency_key: self.idempotency_key,
            table_id: self.table_id,
            item_ids,
            line_count: self.lines.len(),
            clock,
        }
    }
}

/// A line or the table that cannot be ordered: (field path, code, message).
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid(pub String, pub &'static str, pub String);

/// Quantities wanted per item, in item-id order (the order stock is taken in).
pub fn wanted(lines: &[LineRequest]) -> BTreeMap<i64, i64> {
    let mut wanted = BTreeMap::new();
    for line in lines {
        *wanted.entry(line.menu_item_id).or_default() += line.qty;
    }
    wanted
}

/// The placement decided from `facts`, or why it cannot be placed.
pub fn decide(req: &Request<'_>, facts: &PlacementFacts) -> Result<Plan, Invalid> {
    if req.table_id.is_some() && facts.table.is_none() {
        return Err(Invalid(
            "table_id".into(),
            "not_found",
            "no such table".into(),
        ));
    }
    let wanted = wanted(req.lines);
    let mut items = BTreeMap::new();
    for &id in wanted.keys() {
        items.insert(id, admit(req, id, facts.items.get(&id))?.clone());
    }
    let mut lines: Vec<NewLine> = req
        .lines
        .iter()
        .map(|line| {
            let item = &items[&line.menu_item_id];
            let chosen = choices::choose(item, &line.choices).map_err(|refused| {
                Invalid(
                    format!("lines[{}].choices", line.index),
                    refused.0,
                    refused.1,
                )
            })?;
            Ok(NewLine {
                menu_item_id: line.menu_item_id,
                station_id: item.station_id,
                name: item.name.clone(),
                unit_price_cents: item.price_cents + chosen.delta_cents,
                qty: line.qty,
                note: line.note.clone(),
                modifiers: line.modifiers.clone(),
                status: LineStatus::Queued,
                seat: line.seat,
                course: line.course.unwrap_or(item.course),
                prep_seconds: item.prep_seconds,
                fired_at: None,
                start_at: None,
                choices: chosen.options,
                allergens: chosen.allergens,
            })
        })
        .collect::<Result<_, Invalid>>()?;
    fire_first_course(&mut lines, req.now);
    let take = wanted
        .iter()
        .filter(|(id, _)| items[*id].stock.is_some())
        .map(|(&menu_item_id, &qty)| StockTake { menu_item_id, qty })
        .collect();
    // A first order turns a free table occupied.
    let table = req
        .table_id
        .filter(|_| facts.table == Some(TableStatus::Free))
        .map(|table_id| TableChange {
            table_id,
            from: TableStatus::Free,
            to: TableStatus::Occupied,
        });
    let (business_day, hour_start) =
        crate::stats::business_hour(crate::stats::zone(&facts.timezone), req.now);
    let order = NewOrder {
        restaurant_id: req.restaurant_id,
        table_id: req.table_id,
        source: req.source,
        status: OrderStatus::Placed,
        note: req.note.to_owned(),
        total_cents: lines.iter().map(|l| l.unit_price_cents * l.qty).sum(),
        placed_by_user: req.placed_by_user,
        placed_by_role: req.placed_by_role,
        idempotency_key: req.idempotency_key.to_owned(),
        request_hash: req.request_hash.to_owned(),
        created_at: req.now,
        updated_at: req.now,
        business_day,
        hour_start,
        ready_at: None,
    };
    let mut plan = Plan {
        write: PlacementWrite {
            order,
            lines,
            take,
            table,
            stats: Default::default(),
        },
        items,
        targets: facts.stations.iter().cloned().collect(),
    };
    // What the order adds does not depend on the ids it will get.
    plan.write.stats = crate::stats::delta(None, &plan.order(0, &[]));
    Ok(plan)
}

/// The order's lowest course fires as it is placed (each line with its
/// start time, see [`crate::app::courses::start_offsets`]); the others are
/// held.
fn fire_first_course(lines: &mut [NewLine], now: i64) {
    let Some(first) = lines.iter().map(|l| l.course).min() else {
        return;
    };
    let preps: Vec<i64> = lines
        .iter()
        .filter(|l| l.course == first)
        .map(|l| l.prep_seconds)
        .collect();
    let offsets = crate::app::courses::start_offsets(&preps);
    for (line, offset) in lines.iter_mut().filter(|l| l.course == first).zip(offsets) {
        line.fired_at = Some(now);
        line.start_at = Some(now + offset);
    }
}

/// The item if it can be ordered.
fn admit<'f>(
    req: &Request<'_>,
    id: i64,
    item: Option<&'f ItemFacts>,
) -> Result<&'f ItemFacts, Invalid> {
    // The field path is built only for a refusal, not for every line placed.
    let field = || {
        let index = req
            .lines
            .iter()
            .position(|l| l.menu_item_id == id)
            .unwrap_or(0);
        format!("lines[{index}].menu_item_id")
    };
    match item {
        None => Err(Invalid(field(), "not_found", "no such menu item".into())),
        // Sold out (stock 0) is OUT_OF_STOCK; only an item 86'd by hand is
        // "unavailable".
        Some(item) if !item.available && item.stock != Some(0) => Err(Invalid(
            field(),
            "unavailable",
            format!("{} is not available", item.name),
        )),
        Some(item) => Ok(item),
    }
}

/// A decided placement: what to write, and the items it orders (for the
/// events it builds once the write has run).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    write: PlacementWrite,
    items: BTreeMap<i64, ItemFacts>,
    targets: StationTargets,
}

impl Plan {
    /// The order as placed, with its ids (`placed_seq` is storage's to set).
    fn order(&self, id: i64, line_ids: &[i64]) -> Order {
        let o = &self.write.order;
        let ids = line_ids.iter().copied().chain(std::iter::repeat(0));
        Order {
            id,
            table_id: o.table_id,
            source: o.source,
            status: o.status,
            note: o.note.clone(),
            total_cents: o.total_cents,
            lines: self
                .write
                .lines
                .iter()
                .zip(ids)
                .map(|(l, id)| OrderLine {
                    id,
                    menu_item_id: l.menu_item_id,
                    station_id: l.station_id,
                    name: l.name.clone(),
                    unit_price_cents: l.unit_price_cents,
                    qty: l.qty,
                    note: l.note.clone(),
                    modifiers: l.modifiers.clone(),
                    status: l.status,
                    seat: l.seat,
                    course: l.course,
                    prep_seconds: l.prep_seconds,
                    fired_at: l.fired_at.map(Timestamp),
                    start_at: l.start_at.map(Timestamp),
                    started_at: None,
                    ready_at: None,
                    served_at: None,
                    void_reason: None,
                    choices: l.choices.clone(),
                    allergens: l.allergens,
                })
                .collect(),
            created_at: Timestamp(o.created_at),
            placed_seq: 0,
            ready_at: o.ready_at.map(Timestamp),
            rush: false,
        }
    }

    /// Each take's stock change, from the stock left after it.
    fn stock_changes(&self, after: &[i64]) -> Vec<StockChange> {
        self.write
            .take
            .iter()
            .zip(after)
            .map(|(take, &after)| {
                let item = &self.items[&take.menu_item_id];
                StockChange {
                    menu_item_id: take.menu_item_id,
                    name: item.name.clone(),
                    before: after + take.qty,
                    after,
                    low_stock_threshold: item.low_stock_threshold,
                    became_available: false,
                }
            })
            .collect()
    }
}

impl PlacementPlan for Plan {
    fn write(&self) -> &PlacementWrite {
        &self.write
    }

    fn placed(&self, written: &Written<'_>) -> Placed {
        let order = self.order(written.order_id, written.line_ids);
        let stock = self.stock_changes(written.stock_after);
        let table = self.write.table.clone().filter(|_| written.table_changed);
        let events = placement_events(
            self.write.order.restaurant_id,
            &order,
            &self.targets,
            &stock,
            table.as_ref(),
            written.tables,
        );
        Placed {
            order,
            events,
            order_event: 0,
        }
    }
}

/// The events of a placement, in this order: `order.placed`, the tickets,
/// the stock, availability and table events (see [`events`]).
fn placement_events(
    r: i64,
    order: &Order,
    targets: &StationTargets,
    stock: &[StockChange],
    table: Option<&TableChange>,
    tables: &[i64],
) -> Vec<EventDraft> {
    let mut out = events::placed(r, order, targets);
    out.extend(events::stock(r, stock, tables));
    out.extend(events::table(r, table));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, price_cents: i64, stock: Option<i64>, available: bool) -> ItemFacts {
        ItemFacts {
            name: name.into(),
            price_cents,
            station_id: Some(1),
            stock,
            low_stock_threshold: 2,
            available,
            course: 1,
            prep_seconds: 0,
            allergens: Default::default(),
            groups: vec![],
        }
    }

    fn line(menu_item_id: i64, qty: i64, note: &str) -> LineRequest {
        LineRequest {
            menu_item_id,
            qty,
            note: note.into(),
            modifiers: vec![],
            seat: None,
            course: None,
            choices: vec![],
            index: 0,
        }
    }

    fn request(lines: &[LineRequest]) -> Request<'_> {
        Request {
            restaurant_id: 1,
            table_id: Some(7),
            source: OrderSource::DineIn,
            note: "",
            lines,
            placed_by_user: None,
            placed_by_role: Role::Waiter,
            idempotency_key: "k",
            request_hash: "h",
            now: 1_800_000_000_000,
        }
    }

    fn facts(table: Option<TableStatus>) -> PlacementFacts {
        PlacementFacts {
            timezone: "Europe/Paris".into(),
            table,
            items: BTreeMap::from([
                (3, item("Soup", 400, Some(5), true)),
                (2, item("Tea", 250, None, true)),
                (9, item("Pie", 600, Some(3), false)),
                (8, item("Gone", 600, Some(0), false)),
            ]),
            stations: Vec::new(),
        }
    }

    #[test]
    fn a_placement_is_decided_from_the_facts() {
        let lines = [line(3, 2, "a"), line(2, 1, ""), line(3, 1, "b")];
        let plan = decide(&request(&lines), &facts(Some(TableStatus::Free))).unwrap();
        let w = plan.write();
        assert_eq!(w.order.total_cents, 3 * 400 + 250);
        assert_eq!(
            w.lines
                .iter()
                .map(|l| (l.menu_item_id, l.qty))
                .collect::<Vec<_>>(),
            [(3, 2), (2, 1), (3, 1)]
        );
        // Only tracked items, merged, in item-id order.
        assert_eq!(
            w.take,
            [StockTake {
                menu_item_id: 3,
                qty: 3
            }]
        );
        assert_eq!(
            w.table.as_ref().map(|t| (t.table_id, t.from, t.to)),
            Some((7, TableStatus::Free, TableStatus::Occupied))
        );
        assert_eq!(
            (w.stats.counters.orders, w.stats.counters.booked_cents),
            (1, 1450)
        );
        assert_eq!(w.order.business_day, "2027-01-15");

        // What the write found: the table was taken first by another order.
        let placed = plan.placed(&Written {
            order_id: 40,
            line_ids: &[41, 42, 43],
            stock_after: &[2],
            table_changed: false,
            tables: &[7, 8],
        });
        assert_eq!(placed.order.id, 40);
        assert_eq!(
            placed.order.lines.iter().map(|l| l.id).collect::<Vec<_>>(),
            [41, 42, 43]
        );
        let kinds: Vec<_> = placed.events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "order.placed",
                "ticket.placed",
                "menu.stock_changed",
                "menu.stock_low"
            ]
        );
        assert_eq!(placed.events[placed.order_event].kind, "order.placed");
        // Had it been free still, the table's event follows.
        let placed = plan.placed(&Written {
            order_id: 40,
            line_ids: &[41, 42, 43],
            stock_after: &[2],
            table_changed: true,
            tables: &[7, 8],
        });
        assert_eq!(placed.events.last().unwrap().kind, "table.status_changed");
    }

    #[test]
    fn refusals_name_the_field() {
        let refused = |lines: &[LineRequest], table| decide(&request(lines), &facts(table)).err();
        let free = Some(TableStatus::Free);
        assert_eq!(
            refused(&[line(3, 1, "")], None),
            Some(Invalid(
                "table_id".into(),
                "not_found",
                "no such table".into()
            ))
        );
        let unknown = refused(&[line(3, 1, ""), line(99, 1, "")], free).unwrap();
        assert_eq!(
            (unknown.0.as_str(), unknown.1),
            ("lines[1].menu_item_id", "not_found")
        );
        let off = refused(&[line(9, 1, "")], free).unwrap();
        assert_eq!(
            (off.0.as_str(), off.1),
            ("lines[0].menu_item_id", "unavailable")
        );
        // Sold out is not refused here: the stock statement finds it short.
        assert!(refused(&[line(8, 1, "")], free).is_none());
        // An occupied table stays as it is.
        let plan = decide(
            &request(&[line(2, 1, "")]),
            &facts(Some(TableStatus::Occupied)),
        );
        assert!(plan.unwrap().write().table.is_none());
    }
}
