//! Commands about the menu, tables and what screens draw: stock and 86ing,
//! calling a waiter, table status, and the three snapshots.

use restohub_protocol::api::menu::{MenuItemPatch, MAX_STOCK};
use restohub_protocol::api::tables::TableStatus;
use restohub_protocol::ws::{AckResult, Room, TableView, Ticket};
use restohub_protocol::{ErrorCode, Role};
use serde_json::json;

use super::session::Connection;
use crate::error::{ApiError, ApiResult};
use crate::orders::events::draft;

impl Connection {
    fn kitchen_staff(&self) -> ApiResult<()> {
        self.caller.require(matches!(
            self.caller.role,
            Role::Owner | Role::Manager | Role::Chef
        ))
    }

    /// A guest's own table, or the table a staff member names.
    fn which_table(&self, table_id: Option<i64>) -> ApiResult<Option<i64>> {
        if self.caller.role != Role::Guest {
            return Ok(table_id);
        }
        match table_id {
            None => Ok(self.caller.table_id),
            Some(t) if Some(t) == self.caller.table_id => Ok(Some(t)),
            Some(_) => Err(ApiError::new(
                ErrorCode::Forbidden,
                "a guest may only act for its own table",
            )),
        }
    }

    pub(super) async fn set_stock(&self, item: i64, stock: Option<i64>) -> ApiResult<AckResult> {
        self.kitchen_staff()?;
        if stock.is_some_and(|s| !(0..=MAX_STOCK).contains(&s)) {
            return Err(ApiError::invalid_field(
                "stock",
                "range",
                &format!("must be between 0 and {MAX_STOCK}"),
            ));
        }
        let patch = MenuItemPatch {
            stock: Some(stock),
            ..Default::default()
        };
        let item = crate::menu::change(&self.state, &self.caller, item, patch).await?;
        Ok(AckResult::MenuSetStock { item })
    }

    pub(super) async fn set_available(&self, item: i64, available: bool) -> ApiResult<AckResult> {
        self.kitchen_staff()?;
        let patch = MenuItemPatch {
            available: Some(available),
            ..Default::default()
        };
        let item = crate::menu::change(&self.state, &self.caller, item, patch).await?;
        Ok(AckResult::MenuSetAvailable { item })
    }

    /// `table.waiter_called` to the waiters and the table.
    pub(super) async fn call_waiter(&self, table_id: Option<i64>) -> ApiResult<AckResult> {
        let Some(table_id) = self.which_table(table_id)? else {
            return Err(ApiError::invalid_field(
                "table_id",
                "required",
                "which table?",
            ));
        };
        let r = self.caller.restaurant_id;
        let table = self
            .state
            .store
            .table(r, table_id)
            .await?
            .ok_or_else(|| ApiError::not_found("table"))?;
        let data = json!({ "table_id": table.id, "label": table.label, "by": self.caller.role });
        let call = draft(
            "table.waiter_called",
            vec![Room::Role(r, Role::Waiter), Room::Table(r, table.id)],
            data,
        );
        let events = self
            .state
            .store
            .append_events(r, vec![call], self.state.clock.now_ms())
            .await?;
        self.state.publish(events).await;
        Ok(AckResult::TableCallWaiter { table_id })
    }

    pub(super) async fn set_table_status(
        &self,
        table_id: i64,
        status: TableStatus,
    ) -> ApiResult<AckResult> {
        self.caller.require_staff()?;
        let r = self.caller.restaurant_id;
        let changed = self
            .state
            .store
            .set_table_status(
                r,
                table_id,
                status,
                self.state.clock.now_ms(),
                |from, table| {
                    let data =
                        json!({ "table_id": table.id, "from": from, "status": table.status });
                    vec![draft(
                        "table.status_changed",
                        vec![Room::Restaurant(r), Room::Table(r, table.id)],
                        data,
                    )]
                },
            )
            .await?;
        let (mut table, events) = changed.ok_or_else(|| ApiError::not_found("table"))?;
        self.state.publish(events).await;
        if !self.caller.role.is_manager() {
            table.guest_code = None;
        }
        Ok(AckResult::TableSetStatus { table })
    }

    /// Open tickets with their age; for one station, only its lines.
    pub(super) async fn kitchen_snapshot(&self, station: Option<i64>) -> ApiResult<AckResult> {
        self.caller.require(matches!(
            self.caller.role,
            Role::Owner | Role::Manager | Role::Chef | Role::Waiter
        ))?;
        let r = self.caller.restaurant_id;
        if let Some(s) = station {
            self.state
                .store
                .station(r, s)
                .await?
                .ok_or_else(|| ApiError::not_found("station"))?;
        }
        let (seq, orders) = self.state.store.kitchen_snapshot(r).await?;
        let now = self.state.clock.now_ms();
        let tickets = orders
            .into_iter()
            .filter_map(|mut order| {
                if let Some(s) = station {
                    order.lines.retain(|l| l.station_id == Some(s));
                    if order.lines.is_empty() {
                        return None;
                    }
                }
                let age_ms = now - order.created_at.millis();
                Some(Ticket { order, age_ms })
            })
            .collect();
        Ok(AckResult::KitchenSnapshot {
            seq,
            station_id: station,
            tickets,
        })
    }

    /// Tables and their open orders; a guest sees only its own.
    pub(super) async fn table_snapshot(&self, table_id: Option<i64>) -> ApiResult<AckResult> {
        let table_id = self.which_table(table_id)?;
        let (seq, tables, orders) = self
            .state
            .store
            .table_snapshot(self.caller.restaurant_id, table_id)
            .await?;
        if table_id.is_some() && tables.is_empty() {
            return Err(ApiError::not_found("table"));
        }
        let managers = self.caller.role.is_manager();
        let tables = tables
            .into_iter()
            .map(|mut table| {
                if !managers {
                    table.guest_code = None;
                }
                let orders = orders
                    .iter()
                    .filter(|o| o.table_id == Some(table.id))
                    .cloned()
                    .collect();
                TableView { table, orders }
            })
            .collect();
        Ok(AckResult::TableSnapshot { seq, tables })
    }

    pub(super) async fn menu_snapshot(&self) -> ApiResult<AckResult> {
        let (seq, categories, items) = self
            .state
            .store
            .menu_snapshot(self.caller.restaurant_id)
            .await?;
        Ok(AckResult::MenuSnapshot {
            seq,
            categories,
            items,
        })
    }
}
