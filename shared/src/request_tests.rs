use super::*;

#[test]
fn scratch() {
    for t in [
        r#"{"functionName":"f","alias":"a","strategy":"AllAtOnce","colour":1}"#,
        r#"{"functionName":"f","alias":"a","strategy":"AllAtOnce","hooks":{"preTrafic":"x"}}"#,
        r#"{"alias":"a","strategy":"AllAtOnce"}"#,
        r#"{"functionName":"f","alias":"a","strategy":"AllAtOnce","targetVersion":7}"#,
        r#"{"functionName":"f","alias":"a","strategy":"AllAtOnce","insufficientData":"maybe"}"#,
        r#"{"functionName":"f","alias":"a","strategy":"AllAtOnce","alarms":["a",3]}"#,
        r#"{"functionName":"f","alias":"a","strategy":"AllAtOnce""#,
        r#"[]"#,
    ] {
        println!("{:?}", RolloutRequest::from_json_str(t));
    }
}
