//! The base of the OpenAPI document. Each function contributes its paths through its
//! `routes()`; the `meta` function merges them and serves the whole at `/api/openapi.json`.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as OpenApiDoc, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Nexus CMMS API",
        description = "Maintenance management for field devices (ATMs, payment terminals, kiosks) at \
                       thousands of sites (TIDs): sign-in and users with four roles (admin, supervisor, \
                       technician, viewer); sites and assets; preventive and corrective tickets through \
                       their lifecycle, with SLA response and resolution clocks on business-hours \
                       calendars and recorded warnings and breaches; closure approvals; the audit log of \
                       every change; live maps as GeoJSON; and a PDF jobcard for each closed ticket. \
                       Lists page with a cursor; timestamps are RFC 3339 UTC; errors are RFC 9457 \
                       problem+json; Bearer tokens come from POST /api/auth/login. Text never holds \
                       U+0000 (NUL): a body string or key, or a query parameter, holding it is 422 \
                       naming the field.",
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth)
)]
pub struct BaseDoc;

/// Bearer JWT from `POST /api/auth/login`.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// Adds the problem+json error answers every operation can give, so handlers declare only
/// their own outcomes. Runs after the paths are merged (see [`document`]).
struct ProblemResponses;

impl Modify for ProblemResponses {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let has_id = path.contains('{');
            for op in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
            {
                add_problems(op, has_id);
            }
        }
    }
}

fn add_problems(op: &mut Operation, has_id: bool) {
    // Errors a handler declares with `body = Problem` are served as problem+json.
    let problem = RefOr::Ref(Ref::from_schema_name("Problem"));
    for response in op.responses.responses.values_mut() {
        if let RefOr::T(response) = response
            && let Some(RefOr::T(content)) = response.content.get("application/json")
            && content.schema.as_ref() == Some(&problem)
            && let Some(content) = response.content.shift_remove("application/json")
        {
            response.content.insert("application/problem+json".into(), content);
        }
    }
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut statuses = vec![("422", "Invalid input"), ("500", "Internal error"), ("503", "Database unavailable")];
    if op.request_body.is_some() {
        statuses.extend([("400", "Malformed JSON"), ("413", "Body too large"), ("415", "Body is not JSON")]);
    }
    if secured {
        statuses.extend([
            ("401", "Missing, invalid or revoked token"),
            (
                "403",
                "Role not allowed; or the password must be changed first (type /problems/password-change-required); \
                 or the role requires MFA and the caller has not enrolled (type /problems/mfa-enrollment-required)",
            ),
        ]);
    }
    if has_id {
        statuses.push(("404", "No such resource"));
    }
    for (status, description) in statuses {
        op.responses.responses.entry(status.to_string()).or_insert_with(|| {
            ResponseBuilder::new()
                .description(description)
                .content("application/problem+json", Content::new(Some(Ref::from_schema_name("Problem"))))
                .into()
        });
    }
}

/// An optional query parameter written by hand (utoipa's derive drops a parameter's description
/// and style when a function gives its schema); the caller adds style or example and builds it.
pub fn query_parameter(
    name: &str,
    description: &str,
    schema: impl Into<RefOr<utoipa::openapi::schema::Schema>>,
) -> utoipa::openapi::path::ParameterBuilder {
    utoipa::openapi::path::ParameterBuilder::new()
        .name(name)
        .parameter_in(utoipa::openapi::path::ParameterIn::Query)
        .required(utoipa::openapi::Required::False)
        .description(Some(description))
        .schema(Some(schema))
}

/// The whole document: the base plus every function's paths.
pub fn document(parts: impl IntoIterator<Item = OpenApiDoc>) -> OpenApiDoc {
    let mut doc = BaseDoc::openapi();
    for part in parts {
        doc.merge(part);
    }
    ProblemResponses.modify(&mut doc);
    doc
}
