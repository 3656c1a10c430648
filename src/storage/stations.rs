//! Kitchen stations, with their ticket thresholds.

use restohub_protocol::api::stations::{Station, StationPatch, Target, Targets};

use super::{PageQuery, Store};

const STATION_COLS: &str = "id, name, caution_dine_in_s, late_dine_in_s, caution_takeaway_s, \
    late_takeaway_s, caution_qr_s, late_qr_s";

#[derive(sqlx::FromRow)]
struct StationRow {
    id: i64,
    name: String,
    caution_dine_in_s: i64,
    late_dine_in_s: i64,
    caution_takeaway_s: i64,
    late_takeaway_s: i64,
    caution_qr_s: i64,
    late_qr_s: i64,
}

/// Every station's id and thresholds in restaurant `$1`, the thresholds in
/// [`targets_from`]'s order (both backends; a placement reads them with its
/// facts).
pub(super) const TARGETS: &str = "SELECT id, caution_dine_in_s, late_dine_in_s, \
    caution_takeaway_s, late_takeaway_s, caution_qr_s, late_qr_s FROM stations \
    WHERE restaurant_id = $1 ORDER BY id";

/// Thresholds from their stored columns: caution then late, for dine-in,
/// takeaway and QR.
pub(super) fn targets_from(t: [i64; 6]) -> Targets {
    let target = |caution_seconds, late_seconds| Target {
        caution_seconds,
        late_seconds,
    };
    Targets {
        dine_in: target(t[0], t[1]),
        takeaway: target(t[2], t[3]),
        qr: target(t[4], t[5]),
    }
}

impl From<StationRow> for Station {
    fn from(r: StationRow) -> Station {
        Station {
            id: r.id,
            name: r.name,
            targets: targets_from([
                r.caution_dine_in_s,
                r.late_dine_in_s,
                r.caution_takeaway_s,
                r.late_takeaway_s,
                r.caution_qr_s,
                r.late_qr_s,
            ]),
        }
    }
}

impl Store {
    pub async fn create_station(
        &self,
        restaurant: i64,
        name: &str,
        targets: &Targets,
    ) -> sqlx::Result<Station> {
        let row: StationRow = on_writer!(self, |pool| sqlx::query_as(&format!(
            "INSERT INTO stations (restaurant_id, name, caution_dine_in_s, late_dine_in_s, \
             caution_takeaway_s, late_takeaway_s, caution_qr_s, late_qr_s) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {STATION_COLS}"
        ))
        .bind(restaurant)
        .bind(name)
        .bind(targets.dine_in.caution_seconds)
        .bind(targets.dine_in.late_seconds)
        .bind(targets.takeaway.caution_seconds)
        .bind(targets.takeaway.late_seconds)
        .bind(targets.qr.caution_seconds)
        .bind(targets.qr.late_seconds)
        .fetch_one(pool)
        .await)?;
        Ok(row.into())
    }

    pub async fn station(&self, restaurant: i64, id: i64) -> sqlx::Result<Option<Station>> {
        let row: Option<StationRow> = on_db!(self, |pool| sqlx::query_as(&format!(
            "SELECT {STATION_COLS} FROM stations WHERE restaurant_id = $1 AND id = $2"
        ))
        .bind(restaurant)
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(Into::into))
    }

    pub async fn stations(&self, restaurant: i64, page: PageQuery) -> sqlx::Result<Vec<Station>> {
        let rows: Vec<StationRow> = on_db!(self, |pool| sqlx::query_as(&format!(
            "SELECT {STATION_COLS} FROM stations WHERE restaurant_id = $1 \
             AND id > $2 ORDER BY id LIMIT $3"
        ))
        .bind(restaurant)
        .bind(page.after)
        .bind(page.limit)
        .fetch_all(pool)
        .await)?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Every station's thresholds in restaurant `r`, by station id: what a
    /// ticket's due time is computed from.
    pub async fn station_targets(&self, r: i64) -> sqlx::Result<Vec<(i64, Targets)>> {
        let rows: Vec<StationRow> = on_db!(self, |pool| sqlx::query_as(&format!(
            "SELECT {STATION_COLS} FROM stations WHERE restaurant_id = $1 ORDER BY id"
        ))
        .bind(r)
        .fetch_all(pool)
        .await)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let station = Station::from(row);
                (station.id, station.targets)
            })
            .collect())
    }

    /// Changes what the patch gives; a source's pair is replaced whole.
    pub async fn update_station(
        &self,
        restaurant: i64,
        id: i64,
        patch: &StationPatch,
    ) -> sqlx::Result<Option<Station>> {
        let t = &patch.targets;
        let caution = |t: Option<Target>| t.map(|t| t.caution_seconds);
        let late = |t: Option<Target>| t.map(|t| t.late_seconds);
        let row: Option<StationRow> = on_writer!(self, |pool| sqlx::query_as(&format!(
            "UPDATE stations SET name = COALESCE($3, name), \
             caution_dine_in_s = COALESCE($4, caution_dine_in_s), \
             late_dine_in_s = COALESCE($5, late_dine_in_s), \
             caution_takeaway_s = COALESCE($6, caution_takeaway_s), \
             late_takeaway_s = COALESCE($7, late_takeaway_s), \
             caution_qr_s = COALESCE($8, caution_qr_s), \
             late_qr_s = COALESCE($9, late_qr_s) \
             WHERE restaurant_id = $1 AND id = $2 RETURNING {STATION_COLS}"
        ))
        .bind(restaurant)
        .bind(id)
        .bind(&patch.name)
        .bind(caution(t.dine_in))
        .bind(late(t.dine_in))
        .bind(caution(t.takeaway))
        .bind(late(t.takeaway))
        .bind(caution(t.qr))
        .bind(late(t.qr))
        .fetch_optional(pool)
        .await)?;
        Ok(row.map(Into::into))
    }

    /// Fails with a foreign-key violation while menu items still use it.
    pub async fn delete_station(&self, restaurant: i64, id: i64) -> sqlx::Result<bool> {
        on_writer!(self, |pool| sqlx::query(
            "DELETE FROM stations WHERE restaurant_id = $1 AND id = $2"
        )
        .bind(restaurant)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected() > 0))
    }
}
