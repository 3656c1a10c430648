//! Who may do what: the one table of roles × operations. Every use case
//! asks it ([`Caller::may`]) before it reads or changes anything, and the
//! room rules of the WebSocket ask it too, so REST, WebSocket and rooms can
//! never disagree about a role.
//!
//! Scope is separate from role: every operation is already limited to the
//! caller's restaurant, and a guest to its own table; the use cases check
//! the table where an operation names one.

use restohub_protocol::Role;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};

/// Something a caller may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Read the restaurant's name, time zone and currency.
    ReadRestaurant,
    /// Change the restaurant's settings.
    ConfigureRestaurant,
    /// Create, change or delete stations, categories, menu items and tables.
    ConfigureMenuAndFloor,
    /// List stations and tables.
    ReadFloor,
    /// Read the menu and its live stock.
    ReadMenu,
    /// Count stock, 86 an item or bring it back.
    SetStock,
    /// Manage staff accounts (owners also manage managers).
    ManageStaff,
    /// Place an order (a guest for its own table).
    PlaceOrder,
    /// Read an order (a guest its own table's).
    ReadOrder,
    /// Move a line through the kitchen: queued, preparing, ready.
    PrepareLine,
    /// Serve lines and orders, void lines.
    ServeAndVoid,
    /// Fire a held course, rush an order (waiters and the expo).
    FireAndRush,
    /// Close a served order at the till.
    CloseOrder,
    /// Cancel an order nothing of which is being prepared (a guest its own).
    CancelOrder,
    /// Call a waiter to a table (a guest to its own).
    CallWaiter,
    /// Mark a table free, occupied, reserved or cleaning.
    SetTableStatus,
    /// Take a table's waiter call.
    AcceptCall,
    /// The open tickets, and the kitchen's rooms.
    WatchKitchen,
    /// Tables with their open orders (a guest its own).
    WatchTables,
    /// Staff-wide rooms: the restaurant's news.
    WatchRestaurant,
    /// The live dashboard and analytics.
    WatchDashboard,
    /// Read the audit trail.
    ReadAudit,
    /// Open or read a check (a guest its own table's).
    ReadCheck,
    /// List checks, split them, set their covers.
    ManageCheck,
    /// Give a discount or comp (above the limit with a manager's approval).
    Discount,
    /// Record a payment or close a paid check.
    TakePayment,
    /// Pay at the table through the payment provider (a guest its own).
    PayAtTable,
    /// Give money back on a payment.
    Refund,
    /// Void or reopen a check.
    VoidCheck,
}

const EVERYONE: &[Role] = &[
    Role::Owner,
    Role::Manager,
    Role::Waiter,
    Role::Chef,
    Role::Cashier,
    Role::Guest,
];
const STAFF: &[Role] = &Role::STAFF;
const MANAGERS: &[Role] = &[Role::Owner, Role::Manager];
const KITCHEN: &[Role] = &[Role::Owner, Role::Manager, Role::Chef];
const FLOOR: &[Role] = &[Role::Owner, Role::Manager, Role::Waiter];
const TILL: &[Role] = &[Role::Owner, Role::Manager, Role::Cashier];
/// Who serves and takes money: the floor and the till.
const SERVICE: &[Role] = &[Role::Owner, Role::Manager, Role::Waiter, Role::Cashier];
const SERVICE_AND_GUESTS: &[Role] = &[
    Role::Owner,
    Role::Manager,
    Role::Waiter,
    Role::Cashier,
    Role::Guest,
];
const PASS: &[Role] = &[Role::Owner, Role::Manager, Role::Chef, Role::Waiter];
const ORDER_TAKERS: &[Role] = &[
    Role::Owner,
    Role::Manager,
    Role::Waiter,
    Role::Cashier,
    Role::Guest,
];

/// The table: the roles that may perform `op`.
pub fn roles(op: Operation) -> &'static [Role] {
    use Operation::*;
    match op {
        ReadRestaurant | ReadMenu | ReadOrder | CallWaiter | WatchTables => EVERYONE,
        ConfigureRestaurant | ConfigureMenuAndFloor | ManageStaff | WatchDashboard | ReadAudit => {
            MANAGERS
        }
        ReadFloor | SetTableStatus | WatchRestaurant => STAFF,
        SetStock | PrepareLine => KITCHEN,
        ServeAndVoid | AcceptCall => FLOOR,
        CloseOrder => TILL,
        PlaceOrder | CancelOrder => ORDER_TAKERS,
        WatchKitchen | FireAndRush => PASS,
        ReadCheck | PayAtTable => SERVICE_AND_GUESTS,
        ManageCheck | Discount | TakePayment => SERVICE,
        Refund | VoidCheck => MANAGERS,
    }
}

pub fn may(role: Role, op: Operation) -> bool {
    roles(op).contains(&role)
}

/// What a token that only allows MFA enrolment gets for anything else.
pub fn mfa_setup_required() -> ApiError {
    ApiError::new(
        restohub_protocol::ErrorCode::MfaSetupRequired,
        "this restaurant requires MFA of owners and managers: enrol at /api/v1/auth/mfa/enrol, \
         then refresh",
    )
}

impl Caller {
    /// FORBIDDEN unless the caller's role may perform `op`.
    pub fn may(&self, op: Operation) -> ApiResult<()> {
        if self.mfa_setup {
            return Err(mfa_setup_required());
        }
        if may(self.role, op) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }

    /// The table a caller acts for: a guest's own (named or implied), or
    /// the one a staff member names.
    pub fn which_table(&self, table_id: Option<i64>) -> ApiResult<Option<i64>> {
        if self.role != Role::Guest {
            return Ok(table_id);
        }
        match table_id {
            None => Ok(self.table_id),
            Some(t) if Some(t) == self.table_id => Ok(Some(t)),
            Some(_) => Err(ApiError::new(
                restohub_protocol::ErrorCode::Forbidden,
                "a guest may only act for its own table",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guests_only_order_read_and_call() {
        use Operation::*;
        let allowed: Vec<Operation> = [
            ReadRestaurant,
            ConfigureRestaurant,
            ConfigureMenuAndFloor,
            ReadFloor,
            ReadMenu,
            SetStock,
            ManageStaff,
            PlaceOrder,
            ReadOrder,
            PrepareLine,
            ServeAndVoid,
            FireAndRush,
            CloseOrder,
            CancelOrder,
            CallWaiter,
            SetTableStatus,
            AcceptCall,
            WatchKitchen,
            WatchTables,
            WatchRestaurant,
            WatchDashboard,
            ReadAudit,
            ReadCheck,
            ManageCheck,
            Discount,
            TakePayment,
            PayAtTable,
            Refund,
            VoidCheck,
        ]
        .into_iter()
        .filter(|op| may(Role::Guest, *op))
        .collect();
        assert_eq!(
            allowed,
            [
                ReadRestaurant,
                ReadMenu,
                PlaceOrder,
                ReadOrder,
                CancelOrder,
                CallWaiter,
                WatchTables,
                ReadCheck,
                PayAtTable
            ]
        );
    }
}
