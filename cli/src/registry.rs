//! What `shifter list` and `shifter history` share: the table to read (`--table`/`SHIFTER_TABLE`), the
//! refusal when there is none, errors, and the text table both print.

use std::io::Write;

use shifter::aws::AwsPorts;
use shifter::registry::RolloutRecord;
use shifter::Error;

use crate::render::{error_line, hint};

/// Exit code when the registry could not be read (an AWS error).
pub const EXIT_AWS: i32 = 1;

pub const NO_TABLE: &str = "error: no rollout registry to read: give --table NAME (or set SHIFTER_TABLE); nothing was read\nhint: the registry is the DynamoDB table the shifter stack records rollouts in; `shifter deploy --local` records there only when given the table too";

/// The table named by `--table` or `SHIFTER_TABLE`, if any (blank counts as none).
pub fn table(arg: Option<&str>) -> Option<String> {
    arg.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

/// The AWS clients over `table`, or none without a table (then no client is built and nothing is called).
/// Without an AWS region or credentials, says which is missing and that `done` (nothing was read, or
/// changed) on stderr, and gives the exit code.
pub async fn ports(table_arg: Option<&str>, done: &str) -> Result<Option<AwsPorts>, i32> {
    let Some(t) = table(table_arg) else {
        return Ok(None);
    };
    match crate::aws_env::load().await {
        Ok(config) => Ok(Some(AwsPorts::new(&config).with_table(Some(t)))),
        Err(missing) => {
            eprintln!("{}", missing.message(done));
            Err(crate::aws_env::EXIT_NO_AWS)
        }
    }
}

/// Reports a failed read; returns its exit code.
pub fn failed(error: &Error, err: &mut dyn Write) -> i32 {
    let hint = match error {
        // A missing table, another account or region, or a role without read access to the table.
        Error::AwsRejected { .. } => "hint: nothing was read; check the table's name (--table or SHIFTER_TABLE), the account and region in use (AWS_PROFILE, AWS_REGION), and that the credentials may query the table",
        other => hint(other),
    };
    let _ = writeln!(err, "{}", error_line(error));
    let _ = writeln!(err, "{hint}");
    EXIT_AWS
}

/// The records as one JSON array.
pub fn json(records: &[RolloutRecord]) -> String {
    serde_json::to_string(records).expect("rollout records always serialize")
}

/// `from → to`, as `status` shows versions.
pub fn versions(r: &RolloutRecord) -> String {
    format!("{} → {}", r.current_version, r.target_version)
}

/// Text from the registry on one line: control characters (newlines, tabs, escapes) become spaces.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Left-aligned columns two spaces apart, a header first; the last column is not padded.
pub fn columns(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(&format!("{cell:<w$}"));
        }
        text.trim_end().to_string()
    };
    let mut lines = vec![line(header.to_vec())];
    lines.extend(
        rows.iter()
            .map(|r| line(r.iter().map(String::as_str).collect())),
    );
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploy_list_and_history_take_the_table() {
        use crate::args::{Cli, Command};
        use clap::Parser;
        let parse = |argv: &[&str]| Cli::try_parse_from(argv).expect("parses").command;
        let table = match parse(&["shifter", "deploy", "--local", "--table", "t1"]) {
            Command::Deploy(a) => a.table,
            other => panic!("{other:?}"),
        };
        assert_eq!(table.as_deref(), Some("t1"));
        match parse(&["shifter", "list", "--table", "t2"]) {
            Command::List(a) => assert_eq!(a.table.as_deref(), Some("t2")),
            other => panic!("{other:?}"),
        }
        match parse(&["shifter", "history", "orders:live", "--table", "t3"]) {
            Command::History(a) => {
                assert_eq!((a.table.as_deref(), a.limit), (Some("t3"), 10));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_blank_table_is_no_table() {
        assert_eq!(table(None), None);
        assert_eq!(table(Some("  ")), None);
        assert_eq!(table(Some(" rollouts ")), Some("rollouts".into()));
    }

    #[test]
    fn columns_align_by_characters_and_trim_the_end() {
        let rows = vec![
            vec!["orders:live".into(), "1 → 2".into(), "".into()],
            vec!["a:b".into(), "10 → 11".into(), "x".into()],
        ];
        assert_eq!(
            columns(&["alias", "versions", "by"], &rows),
            "alias        versions  by\norders:live  1 → 2\na:b          10 → 11   x"
        );
    }

    #[test]
    fn one_line_flattens_control_characters() {
        assert_eq!(one_line("alarm\nfired\t\x1b[31m "), "alarm fired  [31m");
    }
}
