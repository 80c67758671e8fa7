//! SCIM PATCH operations (RFC 7644 §3.5.2) on a resource: `add`, `replace`
//! and `remove`, at a path `attr`, `attr.sub` or `attr[sub eq "v"]` (with an
//! optional `.sub` after the filter), attribute names matched ignoring case.

use serde_json::{Map, Value, json};

use super::{ScimError, parse_filter};

/// A PATCH path: `attr`, `attr.sub`, or `attr[sub eq "v"]` (with an
/// optional `.sub` after the filter).
struct PatchPath {
    attribute: String,
    sub: Option<String>,
    filter: Option<(String, String)>,
}

fn parse_path(path: &str) -> Result<PatchPath, ScimError> {
    let invalid = || ScimError::bad("invalidPath", "the path is not supported");
    let path = path.trim();
    if let Some((attribute, rest)) = path.split_once('[') {
        let (filter, after) = rest.split_once(']').ok_or_else(invalid)?;
        let (name, value) = parse_filter(filter)?;
        let sub = match after {
            "" => None,
            s => Some(s.strip_prefix('.').ok_or_else(invalid)?.to_owned()),
        };
        return Ok(PatchPath {
            attribute: attribute.to_owned(),
            sub,
            filter: Some((name, value)),
        });
    }
    if path.is_empty() || path.contains(char::is_whitespace) {
        return Err(invalid());
    }
    let (attribute, sub) = match path.split_once('.') {
        Some((a, s)) => (a.to_owned(), Some(s.to_owned())),
        None => (path.to_owned(), None),
    };
    Ok(PatchPath {
        attribute,
        sub,
        filter: None,
    })
}

/// The key of `map` equal to `name` ignoring case (attribute names are
/// case-insensitive), or `name` itself.
fn key_of(map: &Map<String, Value>, name: &str) -> String {
    map.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

fn set_path(
    resource: &mut Map<String, Value>,
    path: &str,
    value: Value,
    add: bool,
) -> Result<(), ScimError> {
    let path = parse_path(path)?;
    let key = key_of(resource, &path.attribute);
    match (path.filter, path.sub) {
        (None, None) => match (add, resource.get_mut(&key), value) {
            (true, Some(Value::Array(list)), Value::Array(new)) => list.extend(new),
            (_, _, value) => {
                resource.insert(key, value);
            }
        },
        (None, Some(sub)) => {
            let entry = resource.entry(key).or_insert_with(|| json!({}));
            let Some(object) = entry.as_object_mut() else {
                return Err(ScimError::bad(
                    "invalidPath",
                    "the attribute is not complex",
                ));
            };
            let sub_key = key_of(object, &sub);
            object.insert(sub_key, value);
        }
        (Some((name, expected)), sub) => {
            let list = resource
                .get_mut(&key)
                .and_then(Value::as_array_mut)
                .ok_or_else(|| ScimError::bad("noTarget", "no value matches the path"))?;
            let mut matched = false;
            for element in list
                .iter_mut()
                .filter(|e| matches_value(e, &name, &expected))
            {
                matched = true;
                match (&sub, element.as_object_mut()) {
                    (Some(sub), Some(object)) => {
                        let sub_key = key_of(object, sub);
                        object.insert(sub_key, value.clone());
                    }
                    _ => *element = value.clone(),
                }
            }
            if !matched {
                return Err(ScimError::bad("noTarget", "no value matches the path"));
            }
        }
    }
    Ok(())
}

fn matches_value(element: &Value, name: &str, expected: &str) -> bool {
    element.as_object().is_some_and(|object| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .is_some_and(|(_, v)| match v {
                Value::String(s) => s == expected,
                Value::Bool(b) => b.to_string() == expected,
                _ => false,
            })
    })
}

fn remove_path(resource: &mut Map<String, Value>, path: &str) -> Result<(), ScimError> {
    let path = parse_path(path)?;
    let key = key_of(resource, &path.attribute);
    match (path.filter, path.sub) {
        (None, None) => {
            resource.remove(&key);
        }
        (None, Some(sub)) => {
            if let Some(object) = resource.get_mut(&key).and_then(Value::as_object_mut) {
                let sub_key = key_of(object, &sub);
                object.remove(&sub_key);
            }
        }
        (Some((name, expected)), sub) => {
            let Some(list) = resource.get_mut(&key).and_then(Value::as_array_mut) else {
                return Err(ScimError::bad("noTarget", "no value matches the path"));
            };
            match sub {
                None => list.retain(|e| !matches_value(e, &name, &expected)),
                Some(sub) => {
                    for element in list
                        .iter_mut()
                        .filter(|e| matches_value(e, &name, &expected))
                    {
                        if let Some(object) = element.as_object_mut() {
                            let sub_key = key_of(object, &sub);
                            object.remove(&sub_key);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

pub(super) fn apply_operation(
    resource: &mut Map<String, Value>,
    operation: &Value,
) -> Result<(), ScimError> {
    let op = operation
        .get("op")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase);
    let path = operation.get("path").and_then(Value::as_str);
    let value = operation.get("value").cloned();
    match (op.as_deref(), path, value) {
        (Some("remove"), Some(path), _) => remove_path(resource, path),
        (Some("remove"), None, _) => Err(ScimError::bad("noTarget", "remove needs a path")),
        (Some(op @ ("add" | "replace")), Some(path), Some(value)) => {
            set_path(resource, path, value, op == "add")
        }
        (Some(op @ ("add" | "replace")), None, Some(Value::Object(values))) => {
            for (name, value) in values {
                set_path(resource, &name, value, op == "add")?;
            }
            Ok(())
        }
        (Some("add" | "replace"), _, _) => Err(ScimError::bad(
            "invalidValue",
            "add and replace need a value",
        )),
        _ => Err(ScimError::bad(
            "invalidSyntax",
            "op must be add, replace or remove",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_operations_apply_as_rfc_7644_says() {
        let mut user = json!({
            "userName": "a@example.com",
            "active": true,
            "name": {"givenName": "A"},
            "emails": [{"type": "work", "value": "a@example.com"}],
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        for op in [
            json!({"op": "Replace", "value": {"active": false, "name.familyName": "B"}}),
            json!({"op": "replace", "path": "emails[type eq \"work\"].value", "value": "b@example.com"}),
            json!({"op": "remove", "path": "name.givenName"}),
        ] {
            assert!(apply_operation(&mut user, &op).is_ok(), "{op}");
        }
        assert_eq!(user["active"], false);
        assert_eq!(user["name"], json!({"familyName": "B"}));
        assert_eq!(user["emails"][0]["value"], "b@example.com");
        let missing =
            json!({"op": "replace", "path": "emails[type eq \"home\"].value", "value": "x"});
        assert_eq!(
            apply_operation(&mut user, &missing)
                .err()
                .map(|e| e.scim_type),
            Some(Some("noTarget"))
        );
        let bad = json!({"op": "move", "path": "active"});
        assert_eq!(
            apply_operation(&mut user, &bad).err().map(|e| e.scim_type),
            Some(Some("invalidSyntax"))
        );
    }
}
