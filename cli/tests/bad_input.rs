//! The bad-input catalogue (`events/requests/invalid/README.md`): every request file directly there goes through
//! `shifter deploy --local --request FILE` as a user would run it, with AWS out of reach (a closed port), and is
//! refused before any AWS call: exit 2, `error: FIELD: ...` naming the field of its file name, the fix its row
//! gives, and a hint. The files under `aws/` need AWS, those under `state-machine/` the stack's settings:
//! `tests/e2e/test_bad_input.py` runs those (and these) on the offline AWS stack.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Case {
    file: String,
    field: String,
    fix: String,
}

fn catalogue_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/requests/invalid")
}

/// The README's table rows: | `file` | what is wrong | `field` | fix |
fn cases() -> Vec<Case> {
    let readme = std::fs::read_to_string(catalogue_dir().join("README.md")).unwrap();
    readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 4, "{line}");
            Case {
                file: cells[0].trim_matches('`').to_string(),
                field: cells[2].trim_matches('`').to_string(),
                fix: cells[3].to_string(),
            }
        })
        .collect()
}

fn files_in(dir: &Path, prefix: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().unwrap() != "README.md")
        .map(|p| format!("{prefix}{}", p.file_name().unwrap().to_str().unwrap()))
        .collect();
    files.sort();
    files
}

#[test]
fn the_table_lists_every_file_once_and_names_the_field_of_its_file_name() {
    let dir = catalogue_dir();
    let mut on_disk = files_in(&dir, "");
    on_disk.extend(files_in(&dir.join("aws"), "aws/"));
    on_disk.extend(files_in(&dir.join("state-machine"), "state-machine/"));
    on_disk.sort();
    let mut listed: Vec<String> = cases().iter().map(|c| c.file.clone()).collect();
    listed.sort();
    assert_eq!(listed, on_disk);
    assert!(listed.len() >= 40, "only {} cases", listed.len());
    for case in cases() {
        let name = case.file.rsplit('/').next().unwrap();
        assert_eq!(
            name.split("--").next().unwrap(),
            case.field,
            "{}",
            case.file
        );
    }
}

#[test]
fn deploy_refuses_every_case_that_needs_no_aws_naming_the_field_and_the_fix() {
    let dir = catalogue_dir();
    let mut checked = 0;
    for case in cases().iter().filter(|c| !c.file.contains('/')) {
        let out = Command::new(env!("CARGO_BIN_EXE_shifter"))
            .args(["deploy", "--local", "--request"])
            .arg(dir.join(&case.file))
            // Nothing answers here: a case that reached AWS would fail otherwise, and slowly.
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("SHIFTER_TABLE")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", case.file);
        assert!(
            stderr.starts_with(&format!("error: {}: ", case.field)),
            "{}: {stderr}",
            case.file
        );
        assert!(
            stderr.contains(&case.fix),
            "{}: no {:?} in {stderr}",
            case.file,
            case.fix
        );
        assert!(
            stderr.contains("\nhint: nothing was changed"),
            "{}: {stderr}",
            case.file
        );
        assert!(out.stdout.is_empty(), "{}", case.file);
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} cases");
}
