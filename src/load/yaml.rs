//! The only file that knows the YAML crate (serde-saphyr). Everything else sees [`Spanned`],
//! [`parse`] and positions as (line, column, byte offset).
//!
//! Budgets bound what a hostile file can cost: nesting depth, node and event counts, alias
//! expansion (YAML bombs); YAML 1.1 booleans such as `yes`/`no`/`on` are refused (strict
//! booleans) because `no` meaning false has changed security answers before; duplicate keys are
//! errors.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_saphyr::{Budget, DuplicateKeyPolicy, Location, Options};

/// A value and where it came from: `referenced` is where it is used (an alias, a merge key),
/// `defined` where it was written (equal to `referenced` for plain values).
///
/// Our own type rather than serde-saphyr's so that the raw structs need nothing from the YAML
/// crate and can implement foreign traits (`JsonSchema`): it deserializes through
/// `serde_saphyr::Spanned`, which is what asks the YAML deserializer for positions, and its
/// JSON Schema is that of `T` (positions are not part of the file format).
#[derive(Clone, Debug)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) referenced: Location,
    pub(crate) defined: Location,
}

impl<T> Spanned<T> {
    pub(crate) const fn new(value: T, referenced: Location, defined: Location) -> Self {
        Spanned {
            value,
            referenced,
            defined,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<T>::deserialize(d)?;
        Ok(Spanned::new(s.value, s.referenced, s.defined))
    }
}

/// Transparent: the schema of a spanned value is the schema of the value.
impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A position in the source text. Lines and columns are 1-based; `0` means unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) line: u64,
    pub(crate) column: u64,
    pub(crate) byte: Option<usize>,
}

/// The position where a spanned value is used.
pub(crate) fn pos<T>(s: &Spanned<T>) -> Pos {
    location_pos(s.referenced)
}

fn location_pos(l: Location) -> Pos {
    Pos {
        line: l.line(),
        column: l.column(),
        byte: l.span().byte_offset().and_then(|b| usize::try_from(b).ok()),
    }
}

fn options() -> Options {
    let mut budget = Budget::default();
    budget.max_depth = 32;
    // An imported organisation of 100,000 mailboxes (the export script's maximum, issue 14) is
    // ~500,000 nodes; the 8 MiB input cap bounds what a hostile file can reach anyway (every
    // node takes at least two bytes), so these budgets only stop pathological shapes early.
    budget.max_nodes = 2_000_000;
    budget.max_events = 5_000_000;
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_documents = 1;
    let mut options = Options::default();
    options.budget = Some(budget);
    // A topology has no reason to replay an anchor more than a few hundred times; a YAML bomb
    // must fail fast, not after expanding millions of nodes.
    options.alias_limits.max_total_replayed_events = 20_000;
    options.alias_limits.max_replay_stack_depth = 16;
    options.strict_booleans = true;
    options.duplicate_keys = DuplicateKeyPolicy::Error;
    options
}

/// A parse failure: what the YAML layer said, and where.
#[derive(Debug)]
pub(crate) struct YamlError {
    pub(crate) message: String,
    pub(crate) pos: Pos,
}

/// Parses `text` into `T` with the hardened options.
pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    serde_saphyr::from_str_with_options(text, options()).map_err(|e| {
        let pos = e.location().map(location_pos).unwrap_or_default();
        YamlError {
            message: clean_message(&e.without_snippet().to_string()),
            pos,
        }
    })
}

/// The YAML layer's message, one line, without its own position suffix (we print positions).
fn clean_message(raw: &str) -> String {
    let first = raw
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(raw)
        .trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match first.rfind(" at line ") {
        Some(i) => first[..i].trim_end().to_owned(),
        None => first.to_owned(),
    }
}

struct Key(String);

impl<'de> serde::Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a scalar key")
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_owned()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E>(self) -> Result<Key, E> {
                Ok(Key("null".to_owned()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The YAML path (`send_connectors[2].source_servers[0]`) of the innermost key or value that
/// starts at or before `at`, or `None` when the text is not even generic YAML.
pub(crate) fn path_at(text: &str, at: Pos) -> Option<String> {
    json_tree(text)?
        .marks
        .into_iter()
        .filter(|(p, _)| (p.line, p.column) <= (at.line, at.column))
        .max_by_key(|(p, path)| (p.line, p.column, path.len()))
        .map(|(_, path)| path)
}

/// The position of the node at a YAML path (`servers[0]`; the empty path is the document).
pub(crate) fn position_of(text: &str, path: &str) -> Option<Pos> {
    if path.is_empty() {
        return Some(Pos {
            line: 1,
            column: 1,
            byte: None,
        });
    }
    // The value's mark follows the key's for mappings; a sequence item has only its own.
    json_tree(text)?
        .marks
        .into_iter()
        .filter(|(_, p)| p == path)
        .map(|(pos, _)| pos)
        .next_back()
}

/// A file as generic JSON, with the position of every key and value by JSON pointer: what
/// schema validation needs to report each shape error where it is (issue 16). `None` when the
/// text is not even generic YAML.
pub(crate) struct JsonTree {
    pub(crate) value: serde_json::Value,
    /// Where each mapping key is written, by the pointer of its value (`/sites/0/hubb`).
    pub(crate) keys: std::collections::HashMap<String, Pos>,
    /// Where each value starts, by its pointer (`` for the document).
    pub(crate) values: std::collections::HashMap<String, Pos>,
    /// Every key and value below the document with its YAML path
    /// (`send_connectors[2].source_servers[0]`), in document order, a mapping's key before its
    /// value: what names the place of a position, and the position of a place.
    pub(crate) marks: Vec<(Pos, String)>,
}

/// A spanned generic YAML value with its scalars kept.
enum Json {
    Map(Vec<(Spanned<Key>, Spanned<Json>)>),
    Seq(Vec<Spanned<Json>>),
    Value(serde_json::Value),
}

impl<'de> serde::Deserialize<'de> for Json {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Json;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any YAML value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
                Ok(Json::Value(v.into()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
                Ok(Json::Value(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
                Ok(Json::Value(v.into()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Json, E> {
                Ok(Json::Value(v.to_string().into()))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Json, E> {
                Ok(Json::Value(v.to_string().into()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
                Ok(Json::Value(
                    serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into),
                ))
            }
            fn visit_str<E>(self, v: &str) -> Result<Json, E> {
                Ok(Json::Value(v.into()))
            }
            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Value(serde_json::Value::Null))
            }
            fn visit_none<E>(self) -> Result<Json, E> {
                Ok(Json::Value(serde_json::Value::Null))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = a.next_element::<Spanned<Json>>()? {
                    items.push(item);
                }
                Ok(Json::Seq(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = a.next_key::<Spanned<Key>>()? {
                    let value = a.next_value::<Spanned<Json>>()?;
                    entries.push((key, value));
                }
                Ok(Json::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

pub(crate) fn json_tree(text: &str) -> Option<JsonTree> {
    let mut options = options();
    options.duplicate_keys = DuplicateKeyPolicy::LastWins;
    let root: Spanned<Json> = serde_saphyr::from_str_with_options(text, options).ok()?;
    let mut tree = JsonTree {
        value: serde_json::Value::Null,
        keys: std::collections::HashMap::new(),
        values: std::collections::HashMap::new(),
        marks: Vec::new(),
    };
    tree.value = to_json(&root, "", "", &mut tree);
    Some(tree)
}

/// `node` as JSON, recording the positions of it and everything below it in `tree`; `pointer`
/// and `path` name it (both empty for the document).
fn to_json(
    node: &Spanned<Json>,
    pointer: &str,
    path: &str,
    tree: &mut JsonTree,
) -> serde_json::Value {
    tree.values.insert(pointer.to_owned(), pos(node));
    if !pointer.is_empty() {
        tree.marks.push((pos(node), path.to_owned()));
    }
    match &node.value {
        Json::Value(v) => v.clone(),
        Json::Seq(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                to_json(
                    item,
                    &format!("{pointer}/{i}"),
                    &format!("{path}[{i}]"),
                    tree,
                )
            })
            .collect(),
        Json::Map(entries) => {
            let mut map = serde_json::Map::new();
            for (key, value) in entries {
                let escaped = key.value.0.replace('~', "~0").replace('/', "~1");
                let child = format!("{pointer}/{escaped}");
                let child_path = if path.is_empty() {
                    key.value.0.clone()
                } else {
                    format!("{path}.{}", key.value.0)
                };
                tree.keys.insert(child.clone(), pos(key));
                tree.marks.push((pos(key), child_path.clone()));
                map.insert(
                    key.value.0.clone(),
                    to_json(value, &child, &child_path, tree),
                );
            }
            serde_json::Value::Object(map)
        }
    }
}
