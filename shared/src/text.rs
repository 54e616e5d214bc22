//! Text that comes from outside shifter: capped before it is kept, and JSON checked for keys given twice.
//!
//! Why a cap: a hook's reply may be up to 6 MB (Lambda's synchronous response limit) and an AWS error message
//! has no documented bound, but a Step Functions state holds at most 256 KB. Past that, Step Functions raises
//! `States.DataLimitExceeded`, which `States.ALL` does not catch: the execution dies with no rollback and no
//! notification. SNS refuses messages over 256 KB too. So every outside string is cut to [`MAX_OUTSIDE_TEXT`]
//! before it reaches the state, a notification or the output.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// How much of one outside string (a hook's reason, an AWS error message, a Cause) is kept, in bytes.
/// With every field at its longest, a state then stays far below Step Functions' 256 KB.
pub const MAX_OUTSIDE_TEXT: usize = 1024;

/// `s` cut to at most `max_bytes` bytes, on a UTF-8 character boundary, ending in `… (N bytes cut)` when
/// anything was cut (the marker counts towards `max_bytes`). Below the marker's own length, the bare prefix.
pub fn cap(s: &str, max_bytes: usize) -> String {
    if s.len() <= max_bytes {
        return s.to_string();
    }
    // The marker is sized for the most that could be cut (all of `s`), so it still fits once the cut is known.
    let longest_marker = marker(s.len()).len();
    if longest_marker > max_bytes {
        return s[..s.floor_char_boundary(max_bytes)].to_string();
    }
    let kept = s.floor_char_boundary(max_bytes - longest_marker);
    let mut out = String::with_capacity(max_bytes);
    out.push_str(&s[..kept]);
    out.push_str(&marker(s.len() - kept));
    out
}

fn marker(cut: usize) -> String {
    format!("… ({cut} bytes cut)")
}

/// A key given twice in one JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// Where the second one sits, as the request's errors name fields: `targetVersion`, `strategy.percent`,
    /// `strategy.steps[1].percent`.
    pub path: String,
    pub key: String,
}

/// The first key given twice in one object of the JSON `text`, if any. serde_json (and so `Value`) keeps
/// the last of duplicate keys without a word, so only the raw text can tell. Text that is not JSON gives
/// `None`: the parser that reads it next reports that, naming the field.
pub fn find_duplicate_key(text: &str) -> Option<DuplicateKey> {
    let mut de = serde_json::Deserializer::from_str(text);
    Walk {
        path: String::new(),
    }
    .deserialize(&mut de)
    .ok()
    .flatten()
}

/// Visits any JSON value, remembering where it is; yields the first duplicate key found below it.
struct Walk {
    path: String,
}

impl Walk {
    fn key(&self, key: &str) -> Walk {
        let path = if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        };
        Walk { path }
    }

    fn index(&self, i: usize) -> Walk {
        Walk {
            path: format!("{}[{i}]", self.path),
        }
    }
}

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = Option<DuplicateKey>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = Option<DuplicateKey>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut i = 0;
        while let Some(found) = seq.next_element_seed(self.index(i))? {
            if let Some(dup) = found {
                // The deserializer insists on reading the value to its end.
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                return Ok(Some(dup));
            }
            i += 1;
        }
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let child = self.key(&key);
            let found = if seen.contains(&key) {
                map.next_value::<IgnoredAny>()?;
                Some(DuplicateKey {
                    path: child.path,
                    key,
                })
            } else {
                let found = map.next_value_seed(child)?;
                seen.insert(key);
                found
            };
            if found.is_some() {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                return Ok(found);
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The kept prefix and the number of bytes the marker says were cut, or None when there is no marker.
    fn split(out: &str) -> Option<(&str, usize)> {
        let rest = out.strip_suffix(" bytes cut)")?;
        let at = rest.rfind("… (")?;
        Some((&rest[..at], rest[at + "… (".len()..].parse().ok()?))
    }

    #[test]
    fn short_text_is_kept_as_it_is() {
        assert_eq!(cap("", 0), "");
        assert_eq!(cap("smoke test failed", 1024), "smoke test failed");
        let exact = "x".repeat(MAX_OUTSIDE_TEXT);
        assert_eq!(cap(&exact, MAX_OUTSIDE_TEXT), exact);
    }

    #[test]
    fn long_ascii_is_cut_with_a_marker_that_fits() {
        let one_over = "x".repeat(MAX_OUTSIDE_TEXT + 1);
        let out = cap(&one_over, MAX_OUTSIDE_TEXT);
        assert!(out.len() <= MAX_OUTSIDE_TEXT, "{}", out.len());
        let (kept, cut) = split(&out).expect("a marker");
        assert_eq!(kept.len() + cut, one_over.len());
        assert!(
            kept.len() > MAX_OUTSIDE_TEXT - 32,
            "keeps nearly all: {}",
            kept.len()
        );

        let six_mb = "y".repeat(6 * 1024 * 1024);
        let out = cap(&six_mb, MAX_OUTSIDE_TEXT);
        assert!(out.len() <= MAX_OUTSIDE_TEXT);
        let (kept, cut) = split(&out).expect("a marker");
        assert_eq!(kept.len() + cut, six_mb.len());
    }

    #[test]
    fn multi_byte_characters_are_never_split() {
        // 2-, 3- and 4-byte characters, each placed so the raw byte cut would fall inside one.
        for (unit, pad) in [
            ("é", ""),
            ("€", ""),
            ("€", "a"),
            ("🦀", ""),
            ("🦀", "ab"),
            ("🦀", "abc"),
        ] {
            let s = format!("{pad}{}", unit.repeat(600));
            for max in [0, 1, 2, 3, 5, 17, 18, 19, 20, 21, 22, 100, 1023, 1024] {
                let out = cap(&s, max);
                assert!(out.len() <= max, "{unit:?} {max}: {}", out.len());
                match split(&out) {
                    Some((kept, cut)) => {
                        assert!(s.starts_with(kept), "{unit:?} {max}");
                        assert_eq!(kept.len() + cut, s.len());
                    }
                    None => assert!(s.starts_with(&out), "{unit:?} {max}: {out:?}"),
                }
            }
        }
        assert_eq!(
            cap("héllo", 2),
            "h",
            "below the marker's length: the bare prefix"
        );
    }

    proptest! {
        #[test]
        fn cap_keeps_a_prefix_within_the_limit(s in any::<String>(), max in 0usize..80) {
            let out = cap(&s, max);
            prop_assert!(out.len() <= max);
            if s.len() <= max {
                prop_assert_eq!(&out, &s);
            } else {
                prop_assert!(out != s);
                match split(&out) {
                    Some((kept, cut)) => {
                        prop_assert!(s.starts_with(kept));
                        prop_assert_eq!(kept.len() + cut, s.len());
                    }
                    None => prop_assert!(s.starts_with(&out)),
                }
            }
            // A String is valid UTF-8 by construction; check the bytes anyway, as a consumer would.
            prop_assert!(std::str::from_utf8(out.as_bytes()).is_ok());
        }
    }

    #[test]
    fn duplicate_keys_are_found_with_their_path() {
        let cases = [
            (
                r#"{"targetVersion":"7","alias":"live","targetVersion":"8"}"#,
                "targetVersion",
            ),
            (
                r#"{"strategy":{"type":"canary","percent":10,"percent":20}}"#,
                "strategy.percent",
            ),
            (
                r#"{"hooks":{"preTraffic":"a","preTraffic":"b"}}"#,
                "hooks.preTraffic",
            ),
            (
                r#"{"strategy":{"type":"steps","steps":[{"percent":1},{"percent":2,"percent":3}]}}"#,
                "strategy.steps[1].percent",
            ),
            (r#"[{"a":1},{"b":[{"c":1,"c":2}]}]"#, "[1].b[0].c"),
            // The same key once spelt with an escape: serde_json would keep the last.
            (r#"{"alias":"a","\u0061lias":"b"}"#, "alias"),
            // A duplicate whose first value is an object.
            (r#"{"hooks":{"preTraffic":"a"},"hooks":{}}"#, "hooks"),
        ];
        for (text, path) in cases {
            let dup = find_duplicate_key(text).unwrap_or_else(|| panic!("{text}: none found"));
            assert_eq!(dup.path, path, "{text}");
            assert_eq!(
                Some(dup.key.as_str()),
                path.rsplit(['.', ']']).next(),
                "{text}"
            );
        }
    }

    #[test]
    fn the_same_key_in_sibling_objects_is_not_a_duplicate() {
        for text in [
            r#"{"strategy":{"type":"steps","steps":[{"percent":1,"bakeSeconds":60},{"percent":2,"bakeSeconds":60}]}}"#,
            r#"{"a":{"type":"x"},"b":{"type":"x"},"type":"x"}"#,
            r#"{"alarms":["a","a"]}"#,
            "[]",
            "\"text\"",
            "",
            "{not json",
            r#"{"a":1,"a"#,
        ] {
            assert_eq!(find_duplicate_key(text), None, "{text}");
        }
    }
}
