//! JSON Schema for every wire type, generated from the Rust types. The files
//! under `protocol/schema/` are these, checked in; a test fails when they
//! are stale (regenerate with `UPDATE_SCHEMAS=1 cargo test -p restohub-protocol`).

use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Value};

use crate::api::{
    analytics, audit, auth, checks, health, menu, modifiers, orders, restaurant, staff, stations,
    tables,
};
use crate::ws::{ClientMessage, ServerMessage};
use crate::{ErrorEnvelope, EventData, Page};

/// (file name, schema) for each checked-in schema file.
pub fn all() -> Vec<(&'static str, Value)> {
    vec![
        ("client_message.json", root::<ClientMessage>()),
        ("server_message.json", root::<ServerMessage>()),
        ("events.json", root::<EventData>()),
        ("error.json", root::<ErrorEnvelope>()),
        ("rest.json", rest()),
    ]
}

fn root<T: JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null)
}

/// Every REST request and response type, as `$defs` of one document.
fn rest() -> Value {
    let mut generator = SchemaGenerator::default();
    macro_rules! add {
        ($($t:ty),* $(,)?) => { $( generator.subschema_for::<$t>(); )* };
    }
    add!(
        auth::LoginRequest,
        auth::RefreshRequest,
        auth::Tokens,
        auth::GuestSessionRequest,
        auth::GuestSession,
        auth::WhoAmI,
        health::Health,
        restaurant::Restaurant,
        restaurant::RestaurantPatch,
        stations::Station,
        stations::NewStation,
        stations::StationPatch,
        Page<stations::Station>,
        menu::Category,
        menu::NewCategory,
        menu::CategoryPatch,
        Page<menu::Category>,
        menu::MenuItem,
        menu::NewMenuItem,
        menu::MenuItemPatch,
        Page<menu::MenuItem>,
        modifiers::ModifierGroup,
        modifiers::NewModifierGroup,
        modifiers::ModifierGroupPatch,
        modifiers::NewModifierOption,
        modifiers::ModifierOptionPatch,
        tables::Table,
        tables::NewTable,
        tables::TablePatch,
        Page<tables::Table>,
        staff::StaffUser,
        staff::NewStaffUser,
        staff::StaffUserPatch,
        Page<staff::StaffUser>,
        orders::PlaceOrder,
        orders::Placed,
        orders::Order,
        orders::ShortItem,
        orders::SetLineStatus,
        orders::SetOrderStatus,
        analytics::AnalyticsQuery,
        analytics::Analytics,
        analytics::DashboardStats,
        audit::AuditEntry,
        audit::AuditQuery,
        Page<audit::AuditEntry>,
        checks::Check,
        checks::OpenCheck,
        checks::AddDiscount,
        checks::SplitCheck,
        checks::SetCovers,
        checks::RecordPayment,
        checks::PaymentRecorded,
        checks::Refund,
        checks::Reason,
        checks::CreateIntent,
        checks::PaymentIntent,
        checks::WebhookEvent,
        checks::WebhookReceived,
        checks::TaxRate,
        checks::NewTaxRate,
        checks::AssignTaxRate,
        checks::CheckSettings,
        checks::SetPin,
        checks::WebhookSecret,
        ErrorEnvelope,
    );
    let defs: serde_json::Map<String, Value> =
        generator.take_definitions(true).into_iter().collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "restohub REST API types",
        "$defs": defs,
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    #[test]
    fn checked_in_schemas_are_current() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema");
        let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
        let mut stale = Vec::new();
        for (name, schema) in super::all() {
            let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
            let path = dir.join(name);
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &text).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(name);
            }
        }
        assert!(
            stale.is_empty(),
            "stale schemas {stale:?}: run UPDATE_SCHEMAS=1 cargo test -p restohub-protocol and commit protocol/schema"
        );
    }
}
