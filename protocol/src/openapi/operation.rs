//! One REST operation described as data: its method and path, who may call
//! it, the Rust types of its query, body and replies, and the error codes it
//! may answer with. [`super::document`] turns a list of these into OpenAPI.

use schemars::{JsonSchema, Schema, SchemaGenerator};

use crate::ErrorCode;

/// How to get the schema of one Rust type (its `$ref` once generated).
pub type SchemaOf = fn(&mut SchemaGenerator) -> Schema;

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    /// Lower case, as OpenAPI keys a path's operations.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
            Method::Put => "put",
            Method::Patch => "patch",
            Method::Delete => "delete",
        }
    }
}

/// Who may call an operation (the role checks inside are the hub's
/// permission table; this is which credential gets past the door).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credential (health checks, logging in).
    Public,
    /// A staff access token.
    Staff,
    /// A staff access token, or a guest token for the guest's own table.
    StaffOrGuest,
    /// The payment provider: a signature header instead of a token.
    Signed,
}

/// What a successful reply carries.
#[derive(Clone, Copy)]
pub enum Body {
    Json(SchemaOf),
    /// Text of these media types (a printable receipt).
    Text(&'static [&'static str]),
    Empty,
}

/// One operation of the REST API.
#[derive(Clone)]
pub struct Operation {
    pub method: Method,
    /// The full path as a client sends it, with `{name}` parameters.
    pub path: &'static str,
    pub id: &'static str,
    pub tag: &'static str,
    pub summary: String,
    pub access: Access,
    /// A type whose fields are the query parameters.
    pub query: Option<SchemaOf>,
    /// Required request headers: (name, description).
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: Option<SchemaOf>,
    /// Success statuses with what they carry.
    pub replies: Vec<(u16, &'static str, Body)>,
    /// Error codes this operation answers with besides the ones every
    /// operation of its kind can (see [`Operation::error_codes`]).
    pub errors: Vec<ErrorCode>,
    /// Whether a REST write limit applies (writes of authenticated callers).
    pub rate_limited: bool,
}

impl Operation {
    fn new(method: Method, path: &'static str, id: &'static str) -> Operation {
        Operation {
            method,
            path,
            id,
            tag: "",
            summary: String::new(),
            access: Access::Staff,
            query: None,
            headers: Vec::new(),
            body: None,
            replies: Vec::new(),
            errors: Vec::new(),
            rate_limited: method != Method::Get,
        }
    }

    pub fn get(path: &'static str, id: &'static str) -> Operation {
        Self::new(Method::Get, path, id)
    }
    pub fn post(path: &'static str, id: &'static str) -> Operation {
        Self::new(Method::Post, path, id)
    }
    pub fn put(path: &'static str, id: &'static str) -> Operation {
        Self::new(Method::Put, path, id)
    }
    pub fn patch(path: &'static str, id: &'static str) -> Operation {
        Self::new(Method::Patch, path, id)
    }
    pub fn delete(path: &'static str, id: &'static str) -> Operation {
        Self::new(Method::Delete, path, id)
    }

    pub fn tag(mut self, tag: &'static str) -> Self {
        self.tag = tag;
        self
    }
    pub fn summary(mut self, summary: impl Into<String>) -> Self {
        self.summary = summary.into();
        self
    }
    pub fn access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }
    pub fn query<T: JsonSchema>(mut self) -> Self {
        self.query = Some(schema_of::<T>);
        self
    }
    pub fn header(mut self, name: &'static str, description: &'static str) -> Self {
        self.headers.push((name, description));
        self
    }
    pub fn body<T: JsonSchema>(mut self) -> Self {
        self.body = Some(schema_of::<T>);
        self
    }
    pub fn reply<T: JsonSchema>(mut self, status: u16, description: &'static str) -> Self {
        self.replies
            .push((status, description, Body::Json(schema_of::<T>)));
        self
    }
    pub fn text(
        mut self,
        status: u16,
        description: &'static str,
        media: &'static [&'static str],
    ) -> Self {
        self.replies.push((status, description, Body::Text(media)));
        self
    }
    pub fn no_content(mut self, description: &'static str) -> Self {
        self.replies.push((204, description, Body::Empty));
        self
    }
    pub fn errors(mut self, codes: &[ErrorCode]) -> Self {
        self.errors.extend_from_slice(codes);
        self
    }
    pub fn unlimited(mut self) -> Self {
        self.rate_limited = false;
        self
    }

    /// The path's `{name}` parameters, in order.
    pub fn path_params(&self) -> Vec<&'static str> {
        self.path
            .split('/')
            .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
            .collect()
    }

    /// Every error code the operation may answer with: its own, and those
    /// that the edge gives any operation of its shape (a bad token, a bad
    /// body, an unknown id, a write limit, a database that is away).
    pub fn error_codes(&self) -> Vec<ErrorCode> {
        let mut codes = vec![ErrorCode::Unavailable];
        if matches!(self.access, Access::Staff | Access::StaffOrGuest) {
            codes.extend([
                ErrorCode::Unauthorized,
                ErrorCode::Forbidden,
                ErrorCode::MfaSetupRequired,
                // Ids in bodies and paths name rows of the caller's restaurant.
                ErrorCode::NotFound,
            ]);
        }
        if self.access == Access::Signed {
            codes.push(ErrorCode::SignatureInvalid);
        }
        if !self.path_params().is_empty() {
            codes.push(ErrorCode::NotFound);
        }
        if self.body.is_some() || self.access == Access::Signed {
            codes.extend([
                ErrorCode::MalformedJson,
                ErrorCode::UnsupportedMediaType,
                ErrorCode::PayloadTooLarge,
                ErrorCode::ValidationFailed,
            ]);
        }
        if self.query.is_some() {
            codes.push(ErrorCode::ValidationFailed);
        }
        if self.rate_limited {
            codes.push(ErrorCode::RateLimited);
        }
        codes.extend(self.errors.iter().copied());
        let mut unique = Vec::new();
        for code in codes {
            if !unique.contains(&code) {
                unique.push(code);
            }
        }
        unique
    }
}
