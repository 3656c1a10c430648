//! Kitchen stations (grill, bar, ...) and the open tickets a station's
//! screen draws before live events.

use restohub_protocol::api::stations::{NewStation, Station, StationPatch};
use restohub_protocol::ws::{AckResult, Ticket};

use restohub_protocol::Timestamp;

use super::access::Operation;
use super::timers;
use crate::auth::Caller;
use crate::error::{on_constraint, ApiError, ApiResult};
use crate::state::AppState;
use crate::storage::PageQuery;

const DUPLICATE: &str = "a station with this name already exists";
const IN_USE: &str = "station is still used by menu items";

pub async fn stations(
    state: &AppState,
    caller: &Caller,
    page: PageQuery,
) -> ApiResult<Vec<Station>> {
    caller.may(Operation::ReadFloor)?;
    Ok(state.store.stations(caller.restaurant_id, page).await?)
}

pub async fn station(state: &AppState, caller: &Caller, id: i64) -> ApiResult<Station> {
    caller.may(Operation::ReadFloor)?;
    state
        .store
        .station(caller.restaurant_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("station"))
}

pub async fn create(state: &AppState, caller: &Caller, new: NewStation) -> ApiResult<Station> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    let targets = timers::targets_for_new(&new.targets)?;
    let station = state
        .store
        .create_station(caller.restaurant_id, new.name.trim(), &targets)
        .await
        .map_err(on_constraint(DUPLICATE, IN_USE))?;
    Ok(station)
}

pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: i64,
    mut patch: StationPatch,
) -> ApiResult<Station> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    timers::check(&patch.targets)?;
    patch.name = patch.name.map(|n| n.trim().to_owned());
    state
        .store
        .update_station(caller.restaurant_id, id, &patch)
        .await
        .map_err(on_constraint(DUPLICATE, IN_USE))?
        .ok_or_else(|| ApiError::not_found("station"))
}

pub async fn delete(state: &AppState, caller: &Caller, id: i64) -> ApiResult<()> {
    caller.may(Operation::ConfigureMenuAndFloor)?;
    let deleted = state
        .store
        .delete_station(caller.restaurant_id, id)
        .await
        .map_err(on_constraint(DUPLICATE, IN_USE))?;
    if deleted {
        Ok(())
    } else {
        Err(ApiError::not_found("station"))
    }
}

/// Open tickets with their age and clocks, and the all-day counts; for
/// one station, only its lines and counts.
pub async fn kitchen_snapshot(
    state: &AppState,
    caller: &Caller,
    station: Option<i64>,
) -> ApiResult<AckResult> {
    caller.may(Operation::WatchKitchen)?;
    let r = caller.restaurant_id;
    if let Some(s) = station {
        state
            .store
            .station(r, s)
            .await?
            .ok_or_else(|| ApiError::not_found("station"))?;
    }
    let targets = timers::station_targets(state, r).await?;
    let snapshot = state.store.kitchen_snapshot(r).await?;
    let now = state.clock.now_ms();
    let mut tickets: Vec<Ticket> = snapshot
        .orders
        .into_iter()
        .filter_map(|mut order| {
            let holding = crate::app::courses::holding(&order);
            let also_at = restohub_protocol::events::also_at(&order, station);
            if let Some(s) = station {
                order.lines.retain(|l| l.station_id == Some(s));
                if order.lines.is_empty() {
                    return None;
                }
            }
            let age_ms = now - order.created_at.millis();
            let timers = timers::timers(&order, &targets);
            Some(Ticket {
                order,
                age_ms,
                timers,
                holding,
                also_at,
            })
        })
        .collect();
    // Rushed tickets first, each group oldest first (a stable sort).
    tickets.sort_by_key(|t| !t.order.rush);
    let mut all_day = snapshot.all_day;
    all_day.retain(|c| station.is_none_or(|s| c.station_id == s));
    Ok(AckResult::KitchenSnapshot {
        seq: snapshot.seq,
        station_id: station,
        tickets,
        hub_time: Timestamp(now),
        all_day,
    })
}
