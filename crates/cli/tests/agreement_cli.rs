//! `plumbline agreement` end to end: the JSON contract on a published dataset, and a bad file.

use std::path::PathBuf;
use std::process::Command;

/// A CSV in a fresh temporary directory, removed when dropped.
struct TempCsv {
    dir: PathBuf,
    path: PathBuf,
}

impl TempCsv {
    fn new(name: &str, contents: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("plumbline-agreement-cli-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(format!("{name}.csv"));
        std::fs::write(&path, contents).expect("write csv");
        TempCsv { dir, path }
    }
}

impl Drop for TempCsv {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Krippendorff (2011) worked example: 4 observers x 12 units, missing data.
const KRIPPENDORFF_2011: &str = "\
unit,A,B,C,D
1,1,1,,1
2,2,2,3,2
3,3,3,3,3
4,3,3,3,3
5,2,2,2,2
6,1,2,3,4
7,4,4,4,4
8,1,1,2,1
9,2,2,2,2
10,,5,5,5
11,,,1,1
12,,3,,
";

fn plumbline(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_plumbline")).args(args).output().expect("run plumbline")
}

fn statistic<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["statistics"]
        .as_array()
        .expect("statistics array")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[test]
fn json_output_follows_the_contract_and_reproduces_krippendorff() -> Result<(), Box<dyn std::error::Error>> {
    let csv = TempCsv::new("k2011", KRIPPENDORFF_2011);
    let output = plumbline(&["agreement", csv.path.to_str().unwrap(), "--format", "json"]);
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;

    assert_eq!(report["units"], 12);
    assert_eq!(report["raters"], 4);
    assert_eq!(report["level"], "ordinal");
    let alpha = statistic(&report, "krippendorff_alpha");
    assert!((alpha["value"].as_f64().unwrap() - 108577.0 / 133160.0).abs() < 1e-12);
    let ci = alpha["ci95"].as_array().expect("[low, high]");
    assert_eq!(ci.len(), 2);
    assert!(ci[0].as_f64().unwrap() <= ci[1].as_f64().unwrap());
    assert!(alpha["note"].as_str().unwrap().contains("seed"));
    let fleiss = statistic(&report, "fleiss_kappa");
    assert!((fleiss["value"].as_f64().unwrap() - 7343.0 / 9647.0).abs() < 1e-12);
    for name in ["percent_agreement", "gwet_ac1", "brennan_prediger", "gwet_ac2"] {
        let s = statistic(&report, name);
        assert!(s["value"].is_number() && s["ci95"].is_array() && s["note"].is_string(), "{s}");
    }
    // Four raters and missing data: no Cohen, no ICC.
    let names: Vec<&str> =
        report["statistics"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(!names.iter().any(|n| *n == "cohen_kappa" || n.starts_with("icc")), "{names:?}");

    let nominal = plumbline(&["agreement", csv.path.to_str().unwrap(), "--format", "json", "--level", "nominal"]);
    let report: serde_json::Value = serde_json::from_slice(&nominal.stdout)?;
    assert!((statistic(&report, "krippendorff_alpha")["value"].as_f64().unwrap() - 113.0 / 152.0).abs() < 1e-12);
    Ok(())
}

#[test]
fn two_complete_raters_get_cohen_and_icc_and_small_samples_say_not_enough_data()
-> Result<(), Box<dyn std::error::Error>> {
    let csv = TempCsv::new("pair", "unit,ann,bob\nc1,1,1\nc2,2,2\nc3,3,2\nc4,4,4\nc5,5,5\nc6,2,3\n");
    let output = plumbline(&["agreement", csv.path.to_str().unwrap(), "--format", "json", "--categories", "1,2,3,4,5"]);
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    assert!(statistic(&report, "cohen_kappa")["value"].is_number());
    assert!(statistic(&report, "icc_2_1")["value"].is_number());

    let tiny = TempCsv::new("tiny", "unit,ann,bob\n1,1,1\n2,0,1\n3,1,1\n");
    let output = plumbline(&["agreement", tiny.path.to_str().unwrap(), "--format", "json"]);
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let alpha = statistic(&report, "krippendorff_alpha");
    assert!(alpha["value"].is_null() && alpha["ci95"].is_null());
    assert!(alpha["note"].as_str().unwrap().starts_with("not enough data"), "{alpha}");

    let text = plumbline(&["agreement", tiny.path.to_str().unwrap()]);
    assert!(String::from_utf8(text.stdout)?.contains("NOT ENOUGH DATA"));
    Ok(())
}

#[test]
fn a_bad_file_names_line_and_column_and_exits_2() {
    let csv = TempCsv::new("bad", "unit,ann,bob,cy\n1,1,2,2\n2,3,three,1\n");
    let output = plumbline(&["agreement", csv.path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 3, column 3"), "{stderr}");
    assert!(stderr.contains("\"three\" is not a number"), "{stderr}");
    assert!(output.stdout.is_empty());

    let ragged = TempCsv::new("ragged", "unit,ann,bob\n1,1,2\n2,3\n");
    let output = plumbline(&["agreement", ragged.path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 3, column 3"));

    let outside = TempCsv::new("outside", "unit,ann,bob\n1,1,2\n2,7,1\n");
    let output = plumbline(&["agreement", outside.path.to_str().unwrap(), "--categories", "0,1,2,3,4"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("line 3, column 2"));

    let output = plumbline(&["agreement", "/nonexistent/ratings.csv"]);
    assert_eq!(output.status.code(), Some(2));
}
