//! Every operation of the REST API, in one list. The hub's tests hold the
//! router to it both ways: each documented method and path is routed, and
//! each routed path is documented (tests/api/openapi.rs).

use super::operation::{Access, Operation};
use super::queries::{CheckListQuery, PageQuery, ReceiptQuery};
use crate::api::{
    analytics, audit, auth, checks, health, menu, modifiers, orders, restaurant, staff, stations,
    tables,
};
use crate::ErrorCode::*;
use crate::Page;

const TEXT_OR_HTML: &[&str] = &["text/plain; charset=utf-8", "text/html; charset=utf-8"];

pub fn all() -> Vec<Operation> {
    let mut all = Vec::new();
    all.extend(health());
    all.extend(auth());
    all.extend(restaurant());
    all.extend(stations());
    all.extend(menu());
    all.extend(modifiers());
    all.extend(tables());
    all.extend(staff());
    all.extend(orders());
    all.extend(checks());
    all.extend(reports());
    all
}

fn health() -> Vec<Operation> {
    vec![
        Operation::get("/health/live", "healthLive")
            .tag("health")
            .summary("The process is up (for a liveness probe)")
            .access(Access::Public)
            .reply::<health::Health>(200, "up"),
        Operation::get("/health/ready", "healthReady")
            .tag("health")
            .summary("The database (and Redis, when used) answer (for a load balancer)")
            .access(Access::Public)
            .reply::<health::Health>(200, "ready")
            .reply::<health::Health>(503, "a dependency is down: which one, in the body"),
    ]
}

fn auth() -> Vec<Operation> {
    let credential = |op: Operation| {
        op.tag("auth")
            .access(Access::Public)
            .errors(&[RateLimited, Unauthorized])
    };
    vec![
        credential(Operation::post("/api/v1/auth/login", "login"))
            .summary("Sign in with a restaurant, email and password (and an MFA code)")
            .body::<auth::LoginRequest>()
            .reply::<auth::Tokens>(200, "signed in")
            .errors(&[AccountLocked, MfaRequired]),
        credential(Operation::post("/api/v1/auth/refresh", "refresh"))
            .summary("Trade a refresh token for new tokens (single use)")
            .body::<auth::RefreshRequest>()
            .reply::<auth::Tokens>(200, "new tokens"),
        Operation::post("/api/v1/auth/logout", "logout")
            .tag("auth")
            .access(Access::Public)
            .summary("End the session a refresh token belongs to")
            .body::<auth::RefreshRequest>()
            .no_content("signed out (also when the token was unknown)")
            .unlimited(),
        Operation::get("/api/v1/auth/me", "whoAmI")
            .tag("auth")
            .access(Access::StaffOrGuest)
            .summary("Who the token names")
            .reply::<auth::WhoAmI>(200, "the caller"),
        credential(Operation::post("/api/v1/guest-sessions", "guestSession"))
            .summary("A guest token for the table a QR code names")
            .body::<auth::GuestSessionRequest>()
            .reply::<auth::GuestSession>(201, "a guest session"),
        Operation::post("/api/v1/auth/mfa/enrol", "mfaEnrol")
            .tag("auth")
            .summary("Start enrolling an authenticator app")
            .errors(&[Conflict])
            .reply::<auth::MfaEnrolment>(200, "the secret to scan"),
        Operation::post("/api/v1/auth/mfa/confirm", "mfaConfirm")
            .tag("auth")
            .summary("Confirm enrolment with a first code; returns recovery codes once")
            .body::<auth::MfaCode>()
            .errors(&[Conflict, MfaRequired])
            .reply::<auth::MfaRecoveryCodes>(200, "MFA is on"),
        Operation::post("/api/v1/auth/mfa/disable", "mfaDisable")
            .tag("auth")
            .summary("Turn one's own MFA off with a current code")
            .body::<auth::MfaCode>()
            .errors(&[Conflict, MfaRequired])
            .no_content("MFA is off"),
        Operation::put("/api/v1/auth/pin", "setPin")
            .tag("auth")
            .summary("Set one's approval PIN (managers)")
            .body::<checks::SetPin>()
            .no_content("set"),
    ]
}

fn restaurant() -> Vec<Operation> {
    vec![
        Operation::get("/api/v1/restaurant", "restaurant")
            .tag("restaurant")
            .summary("The restaurant's name, time zone, currency and settings")
            .reply::<restaurant::Restaurant>(200, "the restaurant"),
        Operation::patch("/api/v1/restaurant", "updateRestaurant")
            .tag("restaurant")
            .summary("Change the restaurant's settings")
            .body::<restaurant::RestaurantPatch>()
            .reply::<restaurant::Restaurant>(200, "changed"),
        Operation::get("/api/v1/restaurant/checks", "checkSettings")
            .tag("restaurant")
            .summary("How checks are computed: service charge, discount limits")
            .reply::<checks::CheckSettings>(200, "the settings"),
        Operation::put("/api/v1/restaurant/checks", "setCheckSettings")
            .tag("restaurant")
            .summary("Change how checks are computed")
            .body::<checks::CheckSettings>()
            .reply::<checks::CheckSettings>(200, "changed"),
        Operation::post(
            "/api/v1/restaurant/payment-webhook-secret",
            "rotateWebhookSecret",
        )
        .tag("restaurant")
        .summary("A new secret for the payment provider's webhook signatures")
        .reply::<checks::WebhookSecret>(200, "the new secret, shown once"),
    ]
}

/// list, create, show, update, delete of one resource.
fn crud<Row, New, Patch>(
    tag: &'static str,
    list: &'static str,
    one: &'static str,
    ids: [&'static str; 5],
    (what, noun): (&'static str, &'static str),
) -> Vec<Operation>
where
    Row: schemars::JsonSchema,
    New: schemars::JsonSchema,
    Patch: schemars::JsonSchema,
{
    let [list_id, create_id, show_id, update_id, delete_id] = ids;
    vec![
        Operation::get(list, list_id)
            .tag(tag)
            .summary(what)
            .query::<PageQuery>()
            .reply::<Page<Row>>(200, "one page, by id"),
        Operation::post(list, create_id)
            .tag(tag)
            .summary(format!("Create a {noun}"))
            .body::<New>()
            .errors(&[Conflict])
            .reply::<Row>(201, "created"),
        Operation::get(one, show_id)
            .tag(tag)
            .summary(format!("Read a {noun}"))
            .reply::<Row>(200, "found"),
        Operation::patch(one, update_id)
            .tag(tag)
            .summary(format!("Change some fields of a {noun}"))
            .body::<Patch>()
            .errors(&[Conflict])
            .reply::<Row>(200, "changed"),
        Operation::delete(one, delete_id)
            .tag(tag)
            .summary(format!("Delete a {noun} (refused while it is referenced)"))
            .errors(&[Conflict])
            .no_content("deleted"),
    ]
}

fn stations() -> Vec<Operation> {
    let mut ops = crud::<stations::Station, stations::NewStation, stations::StationPatch>(
        "stations",
        "/api/v1/stations",
        "/api/v1/stations/{id}",
        [
            "listStations",
            "createStation",
            "station",
            "updateStation",
            "deleteStation",
        ],
        ("The kitchen's stations", "station"),
    );
    ops.push(
        Operation::get("/api/v1/stations/{id}/screens", "stationScreens")
            .tag("stations")
            .summary("The station's screens: what each last acknowledged, and when")
            .reply::<Vec<stations::StationScreen>>(200, "the screens"),
    );
    ops
}

fn menu() -> Vec<Operation> {
    let mut ops = crud::<menu::Category, menu::NewCategory, menu::CategoryPatch>(
        "menu",
        "/api/v1/menu/categories",
        "/api/v1/menu/categories/{id}",
        [
            "listCategories",
            "createCategory",
            "category",
            "updateCategory",
            "deleteCategory",
        ],
        ("The menu's categories", "category"),
    );
    ops.extend(
        crud::<menu::MenuItem, menu::NewMenuItem, menu::MenuItemPatch>(
            "menu",
            "/api/v1/menu/items",
            "/api/v1/menu/items/{id}",
            [
                "listMenuItems",
                "createMenuItem",
                "menuItem",
                "updateMenuItem",
                "deleteMenuItem",
            ],
            (
                "The menu's items with live stock and modifiers",
                "menu item",
            ),
        ),
    );
    // Guests read the menu of their table's restaurant.
    for op in &mut ops {
        if op.id == "listMenuItems" || op.id == "menuItem" || op.id == "listCategories" {
            op.access = Access::StaffOrGuest;
        }
    }
    ops
}

fn modifiers() -> Vec<Operation> {
    let group = "A menu item's modifier groups and options";
    vec![
        Operation::post(
            "/api/v1/menu/items/{id}/modifier-groups",
            "createModifierGroup",
        )
        .tag("menu")
        .summary(group)
        .body::<modifiers::NewModifierGroup>()
        .errors(&[Conflict])
        .reply::<modifiers::ModifierGroup>(201, "created"),
        Operation::patch("/api/v1/menu/modifier-groups/{id}", "updateModifierGroup")
            .tag("menu")
            .summary("Change a modifier group")
            .body::<modifiers::ModifierGroupPatch>()
            .errors(&[Conflict])
            .reply::<modifiers::ModifierGroup>(200, "changed"),
        Operation::delete("/api/v1/menu/modifier-groups/{id}", "deleteModifierGroup")
            .tag("menu")
            .summary("Delete a modifier group")
            .errors(&[Conflict])
            .no_content("deleted"),
        Operation::post(
            "/api/v1/menu/modifier-groups/{id}/options",
            "createModifierOption",
        )
        .tag("menu")
        .summary("Add an option to a modifier group")
        .body::<modifiers::NewModifierOption>()
        .errors(&[Conflict])
        .reply::<modifiers::ModifierGroup>(201, "the group with the option"),
        Operation::patch("/api/v1/menu/modifier-options/{id}", "updateModifierOption")
            .tag("menu")
            .summary("Change a modifier option")
            .body::<modifiers::ModifierOptionPatch>()
            .errors(&[Conflict])
            .reply::<modifiers::ModifierGroup>(200, "the group with the option"),
        Operation::delete("/api/v1/menu/modifier-options/{id}", "deleteModifierOption")
            .tag("menu")
            .summary("Delete a modifier option")
            .errors(&[Conflict])
            .no_content("deleted"),
        Operation::put(
            "/api/v1/menu/categories/{id}/tax-rate",
            "setCategoryTaxRate",
        )
        .tag("menu")
        .summary("The tax rate of a category's items")
        .body::<checks::AssignTaxRate>()
        .no_content("set"),
        Operation::put("/api/v1/menu/items/{id}/tax-rate", "setMenuItemTaxRate")
            .tag("menu")
            .summary("The tax rate of one item (over its category's)")
            .body::<checks::AssignTaxRate>()
            .no_content("set"),
    ]
}

fn tables() -> Vec<Operation> {
    let mut ops = crud::<tables::Table, tables::NewTable, tables::TablePatch>(
        "tables",
        "/api/v1/tables",
        "/api/v1/tables/{id}",
        [
            "listTables",
            "createTable",
            "table",
            "updateTable",
            "deleteTable",
        ],
        ("The floor's tables", "table"),
    );
    ops.extend([
        Operation::post("/api/v1/tables/{id}/guest-code", "rotateGuestCode")
            .tag("tables")
            .summary("A new QR code for the table (ends its guests' sessions)")
            .reply::<tables::Table>(200, "the table with its new code"),
        Operation::post("/api/v1/tables/{id}/call-waiter", "callWaiter")
            .tag("tables")
            .access(Access::StaffOrGuest)
            .summary("Call a waiter to the table (as `table.call_waiter`)")
            .no_content("the waiters are told (or the call was already open)"),
        Operation::post("/api/v1/tables/{id}/accept-call", "acceptCall")
            .tag("tables")
            .summary("Take the table's waiter call (as `table.accept_call`)")
            .errors(&[InvalidTransition, Conflict])
            .no_content("the other waiters are told"),
    ]);
    ops
}

fn staff() -> Vec<Operation> {
    let mut ops = crud::<staff::StaffUser, staff::NewStaffUser, staff::StaffUserPatch>(
        "staff",
        "/api/v1/users",
        "/api/v1/users/{id}",
        [
            "listUsers",
            "createUser",
            "user",
            "updateUser",
            "deleteUser",
        ],
        ("The restaurant's staff accounts", "staff account"),
    );
    ops.extend([
        Operation::post("/api/v1/users/{id}/unlock", "unlockUser")
            .tag("staff")
            .summary("Lift a login lockout")
            .reply::<staff::StaffUser>(200, "unlocked"),
        Operation::delete("/api/v1/users/{id}/mfa", "resetUserMfa")
            .tag("staff")
            .summary("Turn another account's MFA off (a lost phone)")
            .no_content("MFA is off"),
    ]);
    ops
}

fn orders() -> Vec<Operation> {
    let order = |op: Operation, summary: &'static str| {
        op.tag("orders")
            .summary(summary)
            .errors(&[InvalidTransition, Conflict])
            .reply::<orders::Order>(200, "the order now")
    };
    vec![
        Operation::post("/api/v1/orders", "placeOrder")
            .tag("orders")
            .access(Access::StaffOrGuest)
            .summary("Place an order: one transaction that takes stock (as `order.place`)")
            .body::<orders::PlaceOrder>()
            .errors(&[OutOfStock, Conflict, InvalidTransition])
            .reply::<orders::Placed>(201, "placed")
            .reply::<orders::Placed>(200, "a retry with the same idempotency key: the original"),
        Operation::get("/api/v1/orders/{id}", "order")
            .tag("orders")
            .access(Access::StaffOrGuest)
            .summary("Read an order with its lines")
            .reply::<orders::Order>(200, "the order"),
        order(
            Operation::post("/api/v1/orders/{id}/status", "setOrderStatus"),
            "Serve or close an order (as `order.set_status`)",
        )
        .body::<orders::SetOrderStatus>()
        .errors(&[ApprovalRequired]),
        order(
            Operation::post("/api/v1/orders/{id}/cancel", "cancelOrder"),
            "Cancel an order nothing of which is being prepared (as `order.cancel`)",
        )
        .access(Access::StaffOrGuest)
        .body::<orders::CancelOrder>(),
        order(
            Operation::post("/api/v1/orders/{id}/fire", "fireCourse"),
            "Fire a held course (as `order.fire_course`)",
        )
        .body::<orders::FireCourse>(),
        order(
            Operation::post("/api/v1/orders/{id}/rush", "rushOrder"),
            "Rush an order, or take the rush back (as `order.rush`)",
        )
        .body::<orders::RushOrder>(),
        order(
            Operation::post(
                "/api/v1/orders/{id}/lines/{line_id}/status",
                "setLineStatus",
            ),
            "Move a line through the kitchen (as `item.set_status`)",
        )
        .body::<orders::SetLineStatus>(),
        order(
            Operation::post("/api/v1/orders/{id}/lines/{line_id}/void", "voidLine"),
            "Void a line, with a reason (as `item.void`)",
        )
        .body::<orders::VoidLine>()
        .errors(&[ApprovalRequired]),
    ]
}

fn checks() -> Vec<Operation> {
    let check = |op: Operation, summary: &'static str| {
        op.tag("checks")
            .summary(summary)
            .errors(&[InvalidTransition, Conflict])
            .reply::<checks::Check>(200, "the check now")
    };
    vec![
        Operation::post("/api/v1/checks", "openCheck")
            .tag("checks")
            .access(Access::StaffOrGuest)
            .summary("Open the check of a table or a takeaway order (as `check.open`)")
            .body::<checks::OpenCheck>()
            .errors(&[InvalidTransition, Conflict])
            .reply::<checks::Check>(201, "opened")
            .reply::<checks::Check>(200, "it was open already: that one"),
        Operation::get("/api/v1/checks", "listChecks")
            .tag("checks")
            .summary("Checks, by status or table")
            .query::<CheckListQuery>()
            .reply::<Page<checks::Check>>(200, "one page, by id"),
        Operation::get("/api/v1/checks/{id}", "check")
            .tag("checks")
            .access(Access::StaffOrGuest)
            .summary("Read a check")
            .reply::<checks::Check>(200, "the check"),
        check(
            Operation::post("/api/v1/checks/{id}/discounts", "discountCheck"),
            "Add a discount or comp (as `check.discount`)",
        )
        .body::<checks::AddDiscount>()
        .errors(&[ApprovalRequired]),
        check(
            Operation::put("/api/v1/checks/{id}/split", "splitCheck"),
            "Split a check evenly, by line, by seat or by amount (as `check.split`)",
        )
        .body::<checks::SplitCheck>(),
        check(
            Operation::put("/api/v1/checks/{id}/covers", "setCovers"),
            "Set the number of covers (as `check.set_covers`)",
        )
        .body::<checks::SetCovers>(),
        Operation::post("/api/v1/checks/{id}/payments", "recordPayment")
            .tag("checks")
            .summary("Record a payment: never more than is due (as `payment.record`)")
            .body::<checks::RecordPayment>()
            .errors(&[InvalidTransition, Conflict])
            .reply::<checks::PaymentRecorded>(201, "recorded")
            .reply::<checks::PaymentRecorded>(
                200,
                "a retry with the same idempotency key: the original",
            ),
        Operation::post("/api/v1/checks/{id}/intents", "createPaymentIntent")
            .tag("checks")
            .access(Access::StaffOrGuest)
            .summary("Pay at the table through the payment provider (as `payment.intent`)")
            .body::<checks::CreateIntent>()
            .errors(&[InvalidTransition, Conflict])
            .reply::<checks::PaymentIntent>(200, "the intent"),
        check(
            Operation::post("/api/v1/checks/{id}/close", "closeCheck"),
            "Close a paid check and its orders (as `check.close`)",
        ),
        check(
            Operation::post("/api/v1/checks/{id}/void", "voidCheck"),
            "Void a check, with a reason (managers; as `check.void`)",
        )
        .body::<checks::Reason>(),
        check(
            Operation::post("/api/v1/checks/{id}/reopen", "reopenCheck"),
            "Reopen a closed check, with a reason (managers; as `check.reopen`)",
        )
        .body::<checks::Reason>(),
        Operation::get("/api/v1/checks/{id}/receipt", "receipt")
            .tag("checks")
            .summary("The printable receipt of a paid check")
            .query::<ReceiptQuery>()
            .errors(&[InvalidTransition])
            .text(200, "the receipt", TEXT_OR_HTML),
        Operation::post("/api/v1/payments/refunds", "refund")
            .tag("checks")
            .summary("Refund a payment, or part of it (as `payment.refund`)")
            .body::<checks::Refund>()
            .errors(&[InvalidTransition, Conflict, ApprovalRequired])
            .reply::<checks::Check>(200, "the check now"),
        Operation::post("/api/v1/payments/webhook", "paymentWebhook")
            .tag("checks")
            .access(Access::Signed)
            .summary("The payment provider's notification, authenticated by its signature")
            .header(
                "restohub-signature",
                "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">` with the restaurant's webhook secret",
            )
            .body::<checks::WebhookEvent>()
            .errors(&[WebhookReplayed, RateLimited, InvalidTransition, Conflict])
            .reply::<checks::WebhookReceived>(200, "received"),
        Operation::get("/api/v1/tax-rates", "listTaxRates")
            .tag("checks")
            .summary("The restaurant's tax rates")
            .reply::<Vec<checks::TaxRate>>(200, "the rates"),
        Operation::post("/api/v1/tax-rates", "createTaxRate")
            .tag("checks")
            .summary("Add a tax rate")
            .body::<checks::NewTaxRate>()
            .errors(&[Conflict])
            .reply::<checks::TaxRate>(201, "created"),
        Operation::delete("/api/v1/tax-rates/{id}", "deleteTaxRate")
            .tag("checks")
            .summary("Delete a tax rate no item uses")
            .errors(&[Conflict])
            .no_content("deleted"),
    ]
}

fn reports() -> Vec<Operation> {
    vec![
        Operation::get("/api/v1/analytics", "analytics")
            .tag("reports")
            .summary("The dashboard's figures over a range of business days")
            .query::<analytics::AnalyticsQuery>()
            .reply::<analytics::Analytics>(200, "the figures by hour or day"),
        Operation::get("/api/v1/audit", "audit")
            .tag("reports")
            .summary("The tamper-evident audit trail, by seq")
            .query::<audit::AuditQuery>()
            .reply::<Page<audit::AuditEntry>>(200, "one page, by seq"),
    ]
}
