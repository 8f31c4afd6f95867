#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test
//! Fuzzing of `Config::load`: TOML-ish text of any shape is loaded without a panic, every
//! refusal names the file, and no refusal repeats a value of an `*_secrets` line.
//!
//! Cases per property: 256, or `PROPTEST_CASES` (see `docs/security.md`, "Fuzzing").

use std::path::Path;

use hero_supervisor::{Config, ConfigError};
use proptest::prelude::*;

/// 256 cases, or `PROPTEST_CASES`; a failure prints its shrunk input, to be kept as a plain
/// test, instead of writing a regressions file into the source tree.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Writes `text` to a fresh file and loads it; the directory lives as long as the result.
fn load(
    text: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    Result<Config, ConfigError>,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("supervisor.toml");
    std::fs::write(&path, text).unwrap();
    let loaded = Config::load(&path);
    (dir, path, loaded)
}

/// The message and every source below it, as `main` prints them.
fn full_message(error: &ConfigError) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

fn check_names_the_file(error: &ConfigError, path: &Path) -> Result<(), TestCaseError> {
    let message = full_message(error);
    prop_assert!(
        message.contains(&path.display().to_string()),
        "the error does not name the file: {message}"
    );
    Ok(())
}

/// `value` as a TOML basic string.
fn quoted(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const TOP_KEYS: &[&str] = &[
    "redis_url",
    "namespace",
    "bind_address",
    "port",
    "admin_secrets",
    "user_secrets",
    "register_secrets",
    "admin_secrets_file",
    "data_dir",
    "require_secret_for_reads",
    "tmux_socket",
    "limits",
    "actors",
];

const TABLE_KEYS: &[&str] = &[
    "max_request_bytes",
    "max_response_bytes",
    "max_connections",
    "reserved_connections",
    "max_batch_len",
    "max_payload_bytes",
    "id",
    "name",
    "binary_path",
    "db_path",
    "process_manager",
];

/// A TOML value, well-formed or not.
fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        Just("70000".to_owned()),
        Just("1e400".to_owned()),
        any::<f64>().prop_map(|n| n.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<String>().prop_map(|s| quoted(&s)),
        "[a-z:/_.-]{0,12}".prop_map(|s| format!("'{s}'")),
        Just("\"/bin/sh\"".to_owned()),
        Just("\"simple\"".to_owned()),
        Just("\"tmux:s-1\"".to_owned()),
        Just("1979-05-27T07:32:00Z".to_owned()),
        Just("\"\"\"multi\nline\"\"\"".to_owned()),
        "\\PC{0,10}",
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec((prop::sample::select(TABLE_KEYS), inner), 0..3).prop_map(|v| {
                let fields: Vec<String> = v.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", fields.join(", "))
            }),
        ]
    })
}

/// One line of a TOML-ish file.
fn toml_line() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        3 => prop::sample::select(TOP_KEYS).prop_map(str::to_owned),
        2 => prop::sample::select(TABLE_KEYS).prop_map(str::to_owned),
        1 => "[a-z_\"' .]{1,10}",
    ];
    prop_oneof![
        6 => (key, toml_value()).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => prop::sample::select(&["[limits]", "[[actors]]", "[actors]", "[limits.x]", "[[limits]]"][..])
            .prop_map(str::to_owned),
        1 => "\\[\\PC{0,8}\\]",
        1 => "#\\PC{0,10}",
        1 => any::<String>(),
    ]
}

fn toml_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(toml_line(), 0..10).prop_map(|lines| lines.join("\n")),
        1 => any::<String>(),
        1 => prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
    ]
}

/// Secrets that stand out: six random letters or digits (looked for on their own too, to
/// catch a secret repeated in part), then any printable text.
fn secret() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{6}[ -~é€😀\t]{2,24}"
}

/// An `*_secrets` line: the secrets well laid out, or in a shape of the wrong type.
fn secrets_line(key: &'static str) -> impl Strategy<Value = (String, Vec<String>)> {
    (prop::collection::vec(secret(), 1..4), 0..7u8).prop_map(move |(secrets, layout)| {
        let items: Vec<String> = secrets.iter().map(|s| quoted(s)).collect();
        let line = match layout {
            0 => format!("{key} = [{}]", items.join(", ")),
            1 => format!("{key} = [\n  {},\n]", items.join(",\n  ")),
            2 => format!("{key} = [\n  {}, 42,\n]", items.join(", ")),
            3 => format!("{key} = {}", items[0]),
            4 => format!("{key} = [[{}]]", items.join(", ")),
            5 => format!("{key} = {{ first = {} }}", items[0]),
            _ => format!("{key} = [{}, true]", items.join(", ")),
        };
        (line, secrets)
    })
}

/// A line (or table) whose value has the wrong type or is out of range.
const TYPE_ERRORS: &[&str] = &[
    "port = \"high\"",
    "port = 70000",
    "port = -1",
    "port = 1.5",
    "namespace = 5",
    "require_secret_for_reads = \"yes\"",
    "redis_url = []",
    "bind_address = {}",
    "data_dir = 1",
    "tmux_socket = true",
    "actors = 5",
    "limits = \"big\"",
    "prot = 3030",
    "[limits]\nmax_batch_len = \"many\"",
    "[limits]\nmax_request_bytes = -5",
    "[[actors]]\nid = 5",
    "[[actors]]\nid = \"a\"\nname = \"a\"\nbinary_path = \"/bin/sh\"\nprocess_manager = \"docker\"",
];

/// A config with secrets on all three `*_secrets` lines and one type error somewhere, lines
/// in any order; returns the text and the secrets in it.
fn config_with_secrets() -> impl Strategy<Value = (String, Vec<String>)> {
    let filler = prop::sample::subsequence(
        &[
            "namespace = \"hero\"",
            "port = 3030",
            "bind_address = \"127.0.0.1\"",
            "require_secret_for_reads = true",
        ][..],
        0..=4,
    );
    (
        secrets_line("admin_secrets"),
        secrets_line("user_secrets"),
        secrets_line("register_secrets"),
        prop::sample::select(TYPE_ERRORS),
        filler,
    )
        .prop_flat_map(|(admin, user, register, error, filler)| {
            let mut secrets = admin.1;
            secrets.extend(user.1);
            secrets.extend(register.1);
            let (top, table) = match error.strip_prefix('[') {
                Some(_) => (None, Some(error)),
                None => (Some(error), None),
            };
            let mut lines: Vec<String> = [admin.0, user.0, register.0].into();
            lines.extend(filler.into_iter().map(str::to_owned));
            lines.extend(top.map(str::to_owned));
            (Just(lines).prop_shuffle(), Just(table), Just(secrets))
        })
        .prop_map(|(mut lines, table, secrets)| {
            // Tables come last: a top-level key after one would belong to it.
            lines.extend(table.map(str::to_owned));
            (lines.join("\n") + "\n", secrets)
        })
}

/// The text damaged where a parser is least sure: a byte inserted, removed, or the rest cut.
fn damaged((text, secrets): (String, Vec<String>)) -> impl Strategy<Value = (String, Vec<String>)> {
    let chars: Vec<char> = text.chars().collect();
    let len = chars.len();
    (
        0..3u8,
        0..=len,
        prop::sample::select(&['"', '\'', '[', ']', ',', '=', '\n', '#', '{', '\\'][..]),
    )
        .prop_map(move |(how, at, c)| {
            let mut chars = chars.clone();
            match how {
                0 => chars.insert(at, c),
                1 if at < chars.len() => {
                    chars.remove(at);
                }
                _ => chars.truncate(at),
            }
            (chars.into_iter().collect(), secrets.clone())
        })
}

fn check_no_secret(message: &str, secrets: &[String]) -> Result<(), TestCaseError> {
    for secret in secrets {
        let quoted = quoted(secret);
        let escaped = &quoted[1..quoted.len() - 1];
        prop_assert!(
            !message.contains(secret.as_str()) && !message.contains(escaped),
            "the error repeats the secret {secret:?}: {message}"
        );
        prop_assert!(
            !message.contains(&secret[..6]),
            "the error repeats part of the secret {secret:?}: {message}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_toml_ish_text_loads_or_is_refused_naming_the_file(text in toml_text()) {
        let (_dir, path, loaded) = load(&text);
        if let Err(e) = loaded {
            check_names_the_file(&e, &path)?;
        }
    }

    #[test]
    fn a_type_error_never_shows_a_secret((text, secrets) in config_with_secrets()) {
        let (_dir, path, loaded) = load(&text);
        let error = match loaded {
            Ok(_) => return Err(TestCaseError::fail(format!("loaded despite a type error:\n{text}"))),
            Err(e) => e,
        };
        check_names_the_file(&error, &path)?;
        check_no_secret(&full_message(&error), &secrets)?;
        check_no_secret(&format!("{error:?}"), &secrets)?;
    }

    #[test]
    fn broken_syntax_near_secrets_never_shows_a_secret(
        (text, secrets) in config_with_secrets().prop_flat_map(damaged),
    ) {
        let (_dir, path, loaded) = load(&text);
        if let Err(error) = loaded {
            check_names_the_file(&error, &path)?;
            check_no_secret(&full_message(&error), &secrets)?;
            check_no_secret(&format!("{error:?}"), &secrets)?;
        }
    }
}

#[test]
fn a_secret_on_the_line_of_an_error_is_never_quoted_as_its_key() {
    for text in [
        // `line 2, key `"hunter2", 42, "x`: invalid type: integer, expected a string`
        "admin_secrets = [\n  \"hunter2\", 42, \"x=y\",\n]\n",
        // `line 2, key `"hunter2`: …`
        "user_secrets = [\n  \"hunter2=b\", 42,\n]\n",
        // a stray `=` after a secret: `line 2, key `"hunter2"`: …`
        "admin_secrets = [\n  \"hunter2\"=,\n]\n",
    ] {
        let (_dir, _path, loaded) = load(text);
        let message = full_message(&loaded.unwrap_err());
        assert!(!message.contains("hunter2"), "{text:?}: {message}");
    }
}

#[test]
fn invalid_values_name_the_file() {
    for text in [
        "namespace = \"\"\n",
        "[[actors]]\nid = \"a b\"\nname = \"a\"\nbinary_path = \"/bin/sh\"\n",
        "[[actors]]\nid = \"a\"\nname = \"a\"\nbinary_path = \"/no/such/runner\"\n",
    ] {
        let (_dir, path, loaded) = load(text);
        let message = full_message(&loaded.unwrap_err());
        assert!(
            message.contains(&path.display().to_string()),
            "{text:?}: the error does not name the file: {message}"
        );
    }
}
