//! Reading untrusted WebAuthn JSON with the field path in every error.
//!
//! Responses come from the platform, but the platform passes through whatever the passkey provider
//! produced, so every field is checked. Unknown fields are ignored (providers add their own), and a
//! JSON `null` counts as absent, as browsers and Credential Manager treat optional members.

use std::ops::Deref;

use serde_json::Value;
use zeroize::Zeroize;

use crate::{Error, Result};

/// Largest JSON document accepted: real requests and responses are a few KiB.
pub const MAX_JSON_LEN: usize = 64 * 1024;

/// A parsed JSON document whose strings are wiped when it is dropped: a response carries the
/// PRF output as base64url text (`clientExtensionResults.prf.results.first`).
pub(crate) struct Document(Value);

impl Deref for Document {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.0
    }
}

impl Drop for Document {
    fn drop(&mut self) {
        wipe_strings(&mut self.0);
    }
}

/// Zeroizes every string value in `value` (object keys are names, not secrets).
fn wipe_strings(value: &mut Value) {
    match value {
        Value::String(text) => text.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(wipe_strings),
        Value::Object(members) => members.values_mut().for_each(wipe_strings),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Parses `text` as JSON after the size check; `what` names the document in errors.
pub(crate) fn parse_document(text: &str, what: &str) -> Result<Document> {
    if text.len() > MAX_JSON_LEN {
        return Err(malformed(
            what,
            format!(
                "input is {} bytes, at most {MAX_JSON_LEN} accepted",
                text.len()
            ),
        ));
    }
    serde_json::from_str(text)
        .map(Document)
        .map_err(|err| malformed(what, format!("not valid JSON: {err}")))
}

/// A `MalformedWebAuthn` error at `path`.
pub(crate) fn malformed(path: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::MalformedWebAuthn {
        path: path.into(),
        reason: reason.into(),
    }
}

/// One value inside a JSON document, with its path from the root (`response.clientDataJSON`).
pub(crate) struct Field<'a> {
    value: &'a Value,
    path: String,
}

impl<'a> Field<'a> {
    /// A document root; `path` is the prefix its members' paths start with (may be empty).
    pub(crate) fn root(value: &'a Value, path: &str) -> Self {
        Field {
            value,
            path: path.to_owned(),
        }
    }

    /// This field's path, as shown in errors (`$` for the root of a top-level document).
    pub(crate) fn path(&self) -> &str {
        if self.path.is_empty() {
            "$"
        } else {
            &self.path
        }
    }

    /// An error about this field.
    pub(crate) fn error(&self, reason: impl Into<String>) -> Error {
        malformed(self.path(), reason)
    }

    fn child_path(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    /// The member `name` of this object, or `None` when absent or `null`.
    pub(crate) fn member(&self, name: &str) -> Result<Option<Field<'a>>> {
        let object = self
            .value
            .as_object()
            .ok_or_else(|| self.wrong_type("an object"))?;
        Ok(match object.get(name) {
            None | Some(Value::Null) => None,
            Some(value) => Some(Field {
                value,
                path: self.child_path(name),
            }),
        })
    }

    /// The member `name` of this object, which must be present.
    pub(crate) fn required(&self, name: &str) -> Result<Field<'a>> {
        self.member(name)?
            .ok_or_else(|| malformed(self.child_path(name), "required field is missing"))
    }

    /// This field as a string.
    pub(crate) fn as_str(&self) -> Result<&'a str> {
        self.value
            .as_str()
            .ok_or_else(|| self.wrong_type("a string"))
    }

    /// This field as a boolean.
    pub(crate) fn as_bool(&self) -> Result<bool> {
        self.value
            .as_bool()
            .ok_or_else(|| self.wrong_type("a boolean"))
    }

    /// This field as base64url bytes (padding accepted).
    pub(crate) fn as_base64url(&self) -> Result<Vec<u8>> {
        super::b64::decode(self.as_str()?).map_err(|reason| self.error(reason))
    }

    /// This field as an integer.
    #[cfg(feature = "soft-authenticator")]
    pub(crate) fn as_i64(&self) -> Result<i64> {
        self.value
            .as_i64()
            .ok_or_else(|| self.wrong_type("an integer"))
    }

    /// The members of this object, each with its own path.
    #[cfg(feature = "soft-authenticator")]
    pub(crate) fn entries(&self) -> Result<Vec<(&'a str, Field<'a>)>> {
        let object = self
            .value
            .as_object()
            .ok_or_else(|| self.wrong_type("an object"))?;
        Ok(object
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str(),
                    Field {
                        value,
                        path: self.child_path(name),
                    },
                )
            })
            .collect())
    }

    /// The elements of this array, each with its own path (`transports[2]`).
    pub(crate) fn elements(&self) -> Result<Vec<Field<'a>>> {
        let array = self
            .value
            .as_array()
            .ok_or_else(|| self.wrong_type("an array"))?;
        Ok(array
            .iter()
            .enumerate()
            .map(|(index, value)| Field {
                value,
                path: format!("{}[{index}]", self.path()),
            })
            .collect())
    }

    fn wrong_type(&self, expected: &str) -> Error {
        let found = match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        };
        self.error(format!("expected {expected}, found {found}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_string_of_a_document_is_wiped() {
        let mut value: Value = serde_json::from_str(
            r#"{"id":"abc","clientExtensionResults":{"prf":{"results":{"first":"c2VjcmV0"}}},
                "list":["x",{"y":"z"}],"n":1,"b":true,"none":null}"#,
        )
        .unwrap();
        wipe_strings(&mut value);
        let text = value.to_string();
        for secret in ["abc", "c2VjcmV0", "\"x\"", "\"z\""] {
            assert!(!text.contains(secret), "{secret} survived: {text}");
        }
        assert!(text.contains(r#""first":"""#), "{text}");
        assert!(text.contains(r#""n":1"#), "{text}");
    }
}
