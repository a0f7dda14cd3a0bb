//! `tlsflow logs` (issue 19): the fixtures built from public log samples
//! (`tests/data/logs/public/`, docs/evidence.md#logs), the round trip of every shipped scenario
//! through `simulate --tracking-log --protocol-log`, redaction, and hostile files.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::support::repo;

const PUBLIC: &str = "tests/data/logs/public";
const TOPOLOGY: &str = "tests/data/logs/contoso-topology.yaml";
const GUID: &str = "7366001e-f754-4330-9211-1bb412b6b159";

fn tlsflow(args: &[&str]) -> (Option<i32>, String, String) {
    let out = crate::support::tlsflow().args(args).output().expect("runs");
    (
        out.status.code(),
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
    )
}

fn json_of(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let (status, out, err) = tlsflow(&all);
    assert!(matches!(status, Some(0 | 1)), "{args:?}: {err}");
    serde_json::from_str(&out).expect("json")
}

/// `(code, message id, recipient)` of every finding.
fn findings(report: &Value) -> BTreeSet<(String, String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().expect("code").to_owned(),
                f["message_id"].as_str().expect("id").to_owned(),
                f["recipient"].as_str().expect("recipient").to_owned(),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

#[test]
fn the_public_fixtures_name_every_message_that_left_in_clear_text() {
    let r = json_of(&[
        "logs",
        PUBLIC,
        "--topology",
        TOPOLOGY,
        "--at",
        "2025-10-19T00:00:00Z",
    ]);
    assert_eq!(
        findings(&r),
        set(&[
            ("OBS001", "<a1@contoso.com>", "bob@fabrikam.com"),
            ("OBS001", "<e5@contoso.com>", "hank@fabrikam.com"),
            ("OBS002", "<c3@contoso.com>", "frank@tailspintoys.com"),
            ("OBS003", "<d4@contoso.com>", "gus@fabrikam.com"),
            // The model says HQ-MBX1's own mail keeps its requirement: the logs say otherwise.
            ("OBS004", "<e5@contoso.com>", "hank@fabrikam.com"),
        ])
    );
    // The clear-text finding quotes the rule's AGENTINFO (on BR-MBX1), the SEND that left (on
    // HQ-MBX1) and the protocol-log lines of the session, by file and line.
    let a1 = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == "OBS001" && f["message_id"] == "<a1@contoso.com>")
        .expect("a1");
    let places: Vec<String> = a1["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .map(|e| format!("{}:{}", e["file"].as_str().expect("file"), e["line"]))
        .collect();
    for place in [
        "tests/data/logs/public/BR-MBX1/MessageTracking/MSGTRK2025101908-1.LOG:7",
        "tests/data/logs/public/HQ-MBX1/MessageTracking/MSGTRK2025101908-1.LOG:7",
        // `sending message with RecordId 7001 …`, `RCPT TO:<bob@fabrikam.com>`, `DATA`.
        "tests/data/logs/public/HQ-MBX1/SmtpSend/SEND20251019-1.LOG:15",
        "tests/data/logs/public/HQ-MBX1/SmtpSend/SEND20251019-1.LOG:27",
        "tests/data/logs/public/HQ-MBX1/SmtpSend/SEND20251019-1.LOG:29",
    ] {
        assert!(places.contains(&place.to_owned()), "{place} in {places:?}");
    }
    // b2 left over TLS 1.2 with the requirement in force; the audit-mode rule's f6 is not
    // followed; d4's SEND came from a Get-MessageTrackingLog export.
    let followed = r["followed"].as_array().expect("followed");
    let b2 = followed
        .iter()
        .find(|f| f["message_id"] == "<b2@contoso.com>")
        .expect("b2");
    assert_eq!(b2["verdict"], "tls");
    assert_eq!(b2["protocol"], "TLS1_2");
    assert_eq!(b2["enforced"], true);
    assert!(
        followed
            .iter()
            .all(|f| f["message_id"] != "<f6@contoso.com>")
    );
    let d4 = followed
        .iter()
        .find(|f| f["message_id"] == "<d4@contoso.com>")
        .expect("d4");
    assert!(
        d4["missing"]
            .as_str()
            .expect("missing")
            .contains("SmtpSend protocol log of HQ-MBX1"),
        "{d4}"
    );
    assert_eq!(r["counts"]["required_messages"], 5);
    assert_eq!(r["comparison"]["confirmed"], 2);
    assert_eq!(r["comparison"]["unpredicted"], 1);
    // The conclusion says what is proven, and that the model is wrong somewhere.
    let conclusion = r["conclusion"].as_str().expect("conclusion");
    assert!(conclusion.contains("2 required recipient(s) left the organisation in clear text"));
    assert!(conclusion.contains("THE MODEL IS WRONG SOMEWHERE"));
}

#[test]
fn the_text_report_of_the_public_fixtures() {
    let (status, text, _) = tlsflow(&[
        "logs",
        PUBLIC,
        "--topology",
        TOPOLOGY,
        "--at",
        "2025-10-19T00:00:00Z",
    ]);
    assert_eq!(status, Some(1), "OBS001 is an error: exit 1");
    insta::assert_snapshot!(text);
}

#[test]
fn a_rule_logged_by_guid_only_is_followed_when_named() {
    // c3's ETR entry logs no action (Exchange may abbreviate it): without the topology or
    // --rule, only the rules that log `action=RouteMessageOutboundRequireTls` are followed.
    let ids = |r: &Value| -> BTreeSet<String> {
        r["followed"]
            .as_array()
            .expect("followed")
            .iter()
            .map(|f| f["message_id"].as_str().expect("id").to_owned())
            .collect()
    };
    let without = json_of(&["logs", PUBLIC]);
    assert!(!ids(&without).contains("<c3@contoso.com>"));
    assert!(ids(&without).contains("<a1@contoso.com>"));
    let named = json_of(&["logs", PUBLIC, "--rule", GUID]);
    assert!(ids(&named).contains("<c3@contoso.com>"));
    assert!(named["comparison"].is_null(), "no topology, no comparison");
}

#[test]
fn redaction_hashes_addresses_and_drops_subjects_everywhere() {
    let (_, out, _) = tlsflow(&["logs", PUBLIC, "--redact", "--format", "json"]);
    for secret in ["alice@", "bob@", "carol@", "Top secret", "merger"] {
        assert!(!out.contains(secret), "{secret} in the redacted report");
    }
    let r: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(r["redacted"], true);
    assert_eq!(r["counts"]["left_in_clear_text"], 2, "the same verdicts");
    assert!(out.contains("@fabrikam.com"), "domains stay");
    let (_, md, _) = tlsflow(&["logs", PUBLIC, "--redact", "--format", "markdown"]);
    assert!(!md.contains("alice@") && !md.contains("merger"));
}

#[test]
fn every_format_renders_the_findings() {
    let base = [
        "logs",
        PUBLIC,
        "--topology",
        TOPOLOGY,
        "--at",
        "2025-10-19T00:00:00Z",
    ];
    let run = |format: &str| {
        let mut args = base.to_vec();
        args.extend(["--format", format]);
        tlsflow(&args).1
    };
    let md = run("markdown");
    assert!(md.contains("OBS001") && md.contains("The log lines that prove it"));
    assert!(md.contains("SEND20251019-1.LOG:29"));
    let html = run("html");
    assert!(html.contains("OBS004") && html.contains("class=\"evidence\""));
    let sarif: Value = serde_json::from_str(&run("sarif")).expect("sarif");
    let errors: Vec<String> = crate::reports::sarif_schema()
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 5);
    assert!(results.iter().all(|r| {
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .is_some_and(|l| l > 0)
    }));
    let junit = run("junit");
    assert!(junit.contains("<failure") && junit.contains("OBS001"));
}

/// Every shipped scenario, simulated with its tracking and protocol logs: `tlsflow logs` finds
/// exactly the TLS001 findings of the simulation as OBS001, its TLS003 as OBS002, and nothing is
/// undetermined (every log is there).
#[test]
fn simulated_incidents_round_trip_through_the_logs() {
    let mut seen_tls001 = 0;
    for entry in std::fs::read_dir(repo("scenarios")).expect("scenarios") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let dir = tempfile::tempdir().expect("temp");
        let tracking = dir.path().join("logs/tracking/MSGTRK20260601-1.LOG");
        std::fs::create_dir_all(tracking.parent().expect("parent")).expect("mkdir");
        let protocol = dir.path().join("logs/protocol");
        let scenario = path.to_str().expect("utf-8");
        let simulated = json_of(&[
            "simulate",
            scenario,
            "--tracking-log",
            tracking.to_str().expect("utf-8"),
            "--protocol-log",
            protocol.to_str().expect("utf-8"),
        ]);
        let mut expected = BTreeSet::new();
        for f in simulated["runs"][0]["findings"]
            .as_array()
            .expect("findings")
        {
            let code = match f["code"].as_str() {
                Some("TLS001") => "OBS001",
                Some("TLS003") => "OBS002",
                _ => continue,
            };
            expected.insert((
                code.to_owned(),
                f["message_id"].as_str().expect("id").to_owned(),
                f["recipient"].as_str().expect("rcpt").to_lowercase(),
            ));
        }
        seen_tls001 += expected.iter().filter(|f| f.0 == "OBS001").count();
        let logs_dir = dir.path().join("logs");
        let observed = json_of(&["logs", logs_dir.to_str().expect("utf-8")]);
        let got: BTreeSet<_> = findings(&observed)
            .into_iter()
            .filter(|f| f.0 != "OBS003")
            .collect();
        assert_eq!(got, expected, "{name}");
        assert_eq!(observed["counts"]["undetermined"], 0, "{name}");
    }
    assert!(seen_tls001 >= 2, "the demo's two TLS001 at least");
}

#[test]
fn hostile_files_are_skipped_with_a_reason_and_never_stop_the_run() {
    let dir = tempfile::tempdir().expect("temp");
    let write =
        |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).expect("write");
    write("empty.LOG", b"");
    write(
        "binary.LOG",
        &(0..=255u8).cycle().take(4096).collect::<Vec<u8>>(),
    );
    write("utf16.csv", b"\xFF\xFE#\0T\0Y\0P\0E\0");
    write(
        "broken.json",
        b"[{\"EventId\": \"AGENTINFO\", \"Recipients\": [\"a@b\"",
    );
    write("deep.json", &vec![b'['; 100_000]);
    let mut long = b"#Log-type: Message Tracking Log\n#Fields: date-time,event-id\n".to_vec();
    long.extend(std::iter::repeat_n(b'x', 2 << 20));
    write("long.LOG", &long);
    write(
        "receive.LOG",
        b"#Log-type: SMTP Receive Protocol Log\n#Fields: date-time\n2025-01-01T00:00:00Z\n",
    );
    let d = dir.path().to_str().expect("utf-8");
    let (status, out, err) = tlsflow(&["logs", d, PUBLIC, "--format", "json"]);
    assert_eq!(status, Some(1), "{err}");
    let r: Value = serde_json::from_str(&out).expect("json");
    let note = |file: &str| -> String {
        r["files"]
            .as_array()
            .expect("files")
            .iter()
            .find(|f| f["file"].as_str().is_some_and(|n| n.ends_with(file)))
            .map_or_else(
                || panic!("{file} listed"),
                |f| f["note"].as_str().unwrap_or("").to_owned(),
            )
    };
    assert!(note("empty.LOG").contains("not an Exchange log"));
    assert!(note("binary.LOG").contains("not an Exchange log"));
    // Decoded from UTF-16: a `#TYPE` line and nothing else is not a log.
    assert!(note("utf16.csv").contains("not an Exchange log"));
    assert!(note("long.LOG").contains("longer than"));
    assert!(note("receive.LOG").contains("SMTP Receive Protocol Log"));
    assert_eq!(
        r["counts"]["left_in_clear_text"], 2,
        "the good files still count"
    );
    // A missing input is a usage error, not a panic.
    let (status, _, err) = tlsflow(&["logs", "no/such/folder"]);
    assert_eq!(status, Some(2));
    assert!(err.contains("no/such/folder"), "{err}");
}

#[test]
fn the_protocol_log_of_a_simulation_has_exchanges_forms() {
    let dir = tempfile::tempdir().expect("temp");
    let protocol = dir.path().join("p");
    let (status, _, err) = tlsflow(&[
        "simulate",
        "scenarios/seed-cross-site-tls-loss.yaml",
        "--protocol-log",
        protocol.to_str().expect("utf-8"),
    ]);
    assert_eq!(status, Some(1), "{err}");
    let file = protocol.join("HQ-MBX1/SmtpSend/SEND20260601-1.LOG");
    let text = std::fs::read_to_string(&file).expect("the server's SEND log");
    assert!(text.starts_with(
        "#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: SMTP Send Protocol Log\r\n"
    ));
    assert!(
        text.contains(
            ",*,,sending message with RecordId 1 and InternetMessageId <1@contoso.com>\r\n"
        )
    );
    assert!(text.contains(",>,RCPT TO:<bob@fabrikam.com>,\r\n"));
    // The deferred attempts (the requirement in force on HQ-MBX1) stop before the message.
    assert!(text.contains(",*,,451 5.7.3 STARTTLS is required to send mail\r\n"));
    // A second run into the same folder is refused: nothing is overwritten or mixed.
    let (status, _, err) = tlsflow(&[
        "simulate",
        "scenarios/seed-cross-site-tls-loss.yaml",
        "--protocol-log",
        protocol.to_str().expect("utf-8"),
    ]);
    assert_eq!(status, Some(2));
    assert!(err.contains("not empty"), "{err}");
    assert!(Path::new(&file).exists());
}

/// `Get-MessageTrackingLog | ConvertTo-Json` (arrays, EventData as `{Key, Value}` pairs, a
/// PowerShell 5.1 date) and a UTF-16 `Export-Csv` are read like the raw files; their lines are
/// quoted (the JSON object on one line).
#[test]
fn json_and_utf16_exports_are_read() {
    let dir = tempfile::tempdir().expect("temp");
    let json = r#"[
    {
        "PSComputerName":  "BR-MBX1.contoso.com",
        "Timestamp":  "\/Date(1760866801200)\/",
        "ClientHostname":  "BR-MBX1",
        "ServerHostname":  "",
        "SourceContext":  "CatContentConversion",
        "Source":  "AGENT",
        "EventId":  "AGENTINFO",
        "InternalMessageId":  5009,
        "MessageId":  "<g7@contoso.com>",
        "Recipients":  [
                           "ivy@fabrikam.com"
                       ],
        "RecipientStatus":  [],
        "MessageSubject":  "Top secret: json",
        "Sender":  "alice@contoso.com",
        "EventData":  [
                          {
                              "Key":  "TRA",
                              "Value":  "ETR|ruleId=7366001e-f754-4330-9211-1bb412b6b159|st=2025-02-07T14:54:33.0000000Z|action=RouteMessageOutboundRequireTls|sev=1|mode=Enforce"
                          }
                      ]
    },
    {
        "PSComputerName":  "HQ-MBX1.contoso.com",
        "Timestamp":  "\/Date(1760866803000)\/",
        "ClientHostname":  "HQ-MBX1",
        "ServerHostname":  "mx1.fabrikam.com",
        "ConnectorId":  "Internet",
        "Source":  "SMTP",
        "EventId":  "SEND",
        "InternalMessageId":  7009,
        "MessageId":  "<g7@contoso.com>",
        "Recipients":  [ "ivy@fabrikam.com" ],
        "MessageSubject":  "Top secret: json",
        "Sender":  "alice@contoso.com",
        "EventData":  [ { "Key": "Microsoft.Exchange.Transport.MailRecipient.RequiredTlsAuthLevel", "Value": "EncryptionOnly" } ]
    }
]
"#;
    std::fs::write(dir.path().join("tracking.json"), json).expect("write");
    let csv = std::fs::read_to_string(repo(
        "tests/data/logs/public/export/HQ-MBX1-Get-MessageTrackingLog.csv",
    ))
    .expect("the export")
    .replace("<d4@contoso.com>", "<h8@contoso.com>");
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in csv.encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    std::fs::write(dir.path().join("export-utf16.csv"), utf16).expect("write");
    // h8's rule ran on HQ-MBX1: its AGENTINFO, in a raw file.
    let agentinfo = std::fs::read_to_string(repo(
        "tests/data/logs/public/HQ-MBX1/MessageTracking/MSGTRK2025101908-1.LOG",
    ))
    .expect("the tracking log")
    .lines()
    .filter(|l| l.starts_with('#') || (l.contains("AGENTINFO") && l.contains("<d4@")))
    .map(|l| l.replace("<d4@contoso.com>", "<h8@contoso.com>") + "\r\n")
    .collect::<String>();
    std::fs::write(dir.path().join("MSGTRK-h8.LOG"), agentinfo).expect("write");
    let r = json_of(&["logs", dir.path().to_str().expect("utf-8")]);
    let kinds: BTreeSet<String> = r["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["kind"].as_str().expect("kind").to_owned())
        .collect();
    assert!(
        kinds.contains("tracking_json") && kinds.contains("tracking_export"),
        "{kinds:?}"
    );
    let followed = r["followed"].as_array().expect("followed");
    let g7 = followed
        .iter()
        .find(|f| f["message_id"] == "<g7@contoso.com>")
        .expect("g7 followed from the JSON export");
    assert_eq!(
        g7["verdict"], "tls",
        "EncryptionOnly in force on the SEND: {g7}"
    );
    assert_eq!(g7["rule_server"], "BR-MBX1.contoso.com");
    let h8 = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["message_id"] == "<h8@contoso.com>")
        .expect("h8 decided from the UTF-16 export");
    assert_eq!(h8["code"], "OBS003");
    let quoted = h8["evidence"][1]["text"].as_str().expect("text");
    assert!(
        quoted.starts_with("\"HQ-MBX1.contoso.com\"") && quoted.contains("<h8@contoso.com>"),
        "the UTF-16 line, decoded: {quoted}"
    );
}

/// A Mailbox server's relay to an Edge-sourced connector's Edge is a hop inside the
/// organisation, even over TLS: with the topology, only the Edge's own logs can say how the
/// message left, and without them the recipient is undetermined (never "over TLS").
#[test]
fn a_relay_to_the_edge_is_not_the_hand_over_outside() {
    let dir = tempfile::tempdir().expect("temp");
    let tracking = dir.path().join("AMS-MBX1/MessageTracking");
    let smtp = dir.path().join("AMS-MBX1/SmtpSend");
    std::fs::create_dir_all(&tracking).expect("mkdir");
    std::fs::create_dir_all(&smtp).expect("mkdir");
    let fields = "date-time,client-ip,client-hostname,server-ip,server-hostname,source-context,connector-id,source,event-id,internal-message-id,message-id,network-message-id,recipient-address,recipient-status,total-bytes,recipient-count,related-recipient-address,reference,message-subject,sender-address,return-path,message-info,directionality,tenant-id,original-client-ip,original-server-ip,custom-data,transport-traffic-type,log-id,schema-version";
    std::fs::write(
        tracking.join("MSGTRK2026060108-1.LOG"),
        format!(
            "#Software: Microsoft Exchange Server\r\n#Version: 15.01.2375.007\r\n#Log-type: Message Tracking Log\r\n#Date: 2026-06-01T08:00:00.000Z\r\n#Fields: {fields}\r\n\
2026-06-01T08:00:00.200Z,,AMS-MBX1,,,CatContentConversion,,AGENT,AGENTINFO,11,<x1@contoso.com>,,bob@fabrikam.com,,1000,1,,,Top secret,alice@contoso.com,alice@contoso.com,,Originating,,,,S:TRA=ETR|ruleId={GUID}|st=2026-01-01T00:00:00.0000000Z|action=RouteMessageOutboundRequireTls|sev=1|mode=Enforce,Email,,15.01.2375.007\r\n\
2026-06-01T08:00:01.000Z,10.0.0.11,AMS-MBX1,10.0.0.50,EDGE1.contoso.com,08DE00000000AA01,EdgeSync - Amsterdam to Internet,SMTP,SEND,11,<x1@contoso.com>,,bob@fabrikam.com,250 2.6.0 Queued mail for delivery,1000,1,,,Top secret,alice@contoso.com,alice@contoso.com,,Originating,,,,S:Microsoft.Exchange.Transport.MailRecipient.RequiredTlsAuthLevel=EncryptionOnly,Email,,15.01.2375.007\r\n"
        ),
    )
    .expect("write");
    let tls = "\"TLS protocol SP_PROT_TLS1_2_CLIENT negotiation succeeded using bulk encryption algorithm CALG_AES_256 with strength 256 bits, MAC hash algorithm CALG_SHA_384 with strength 0 bits and key exchange algorithm CALG_ECDH_EPHEM with strength 384 bits\"";
    let line = |seq: u32, event: &str, data: &str, context: &str| {
        format!(
            "2026-06-01T08:00:00.500Z,EdgeSync - Amsterdam to Internet,08DE00000000AA01,{seq},10.0.0.11:20001,10.0.0.50:25,{event},{data},{context}\r\n"
        )
    };
    let session = [
        line(0, "+", "", ""),
        line(1, "<", "250 EDGE1.contoso.com Hello SIZE STARTTLS", ""),
        line(2, ">", "STARTTLS", ""),
        line(3, "*", "", tls),
        line(
            4,
            "*",
            "",
            "sending message with RecordId 11 and InternetMessageId <x1@contoso.com>",
        ),
        line(5, ">", "RCPT TO:<bob@fabrikam.com>", ""),
        line(6, ">", "BDAT 1000 LAST", ""),
        line(7, "-", "", "Local"),
    ]
    .concat();
    std::fs::write(
        smtp.join("SEND20260601-1.LOG"),
        format!("#Software: Microsoft Exchange Server\r\n#Version: 15.0.0.0\r\n#Log-type: SMTP Send Protocol Log\r\n#Date: 2026-06-01T08:00:00.000Z\r\n#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context\r\n{session}"),
    )
    .expect("write");
    let d = dir.path().to_str().expect("utf-8");
    let with = json_of(&[
        "logs",
        d,
        "--topology",
        "scenarios/topologies/edge-subscribed.yaml",
        "--at",
        "2026-06-01T00:00:00Z",
    ]);
    let x1 = &with["followed"][0];
    assert_eq!(x1["verdict"], "undetermined", "{x1}");
    assert!(
        x1["missing"]
            .as_str()
            .expect("missing")
            .contains("Edge Transport server EDGE1"),
        "{x1}"
    );
    // The requirement in force on the relay to the Edge (EncryptionOnly) says nothing of the
    // Edge's own hand-over: still undetermined. Without the topology nothing says EDGE1 is
    // inside: the session is taken for the hand-over (README: give the topology).
    let without = json_of(&["logs", d]);
    assert_eq!(without["followed"][0]["verdict"], "tls");
}

proptest::proptest! {
    #![proptest_config(crate::support::proptest_config("proptest-regressions/logs.txt"))]

    /// Any bytes after any of the headers tlsflow recognises (tracking, protocol, export, JSON)
    /// are read to the end without a panic, and every record's quoted line is within the file.
    #[test]
    fn any_bytes_are_read_without_a_panic(
        header in proptest::sample::select(vec![
            "#Log-type: Message Tracking Log\n#Fields: date-time,event-id,message-id,custom-data\n",
            "#Log-type: SMTP Send Protocol Log\n#Fields: date-time,connector-id,session-id,sequence-number,local-endpoint,remote-endpoint,event,data,context\n",
            "\"Timestamp\",\"EventId\",\"MessageId\",\"EventData\"\n",
            "[",
            "",
        ]),
        body in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::num::u8::ANY,
                proptest::sample::select(b",\"\n\r{}[]\\:*<>-+".to_vec()),
            ],
            0..2000,
        ),
    ) {
        let mut bytes = header.as_bytes().to_vec();
        bytes.extend_from_slice(&body);
        if let Ok(mut r) = tlsflow::logs::w3c::LogReader::new(&bytes[..]) {
            let mut sessions = tlsflow::logs::protocol::Sessions::new(0, None, false);
            while let Ok(true) = r.next_record() {
                // The mark points at the record's own bytes: what a report quotes is the line.
                let m = r.mark(0);
                let end = usize::try_from(m.offset + u64::from(m.len)).expect("small");
                proptest::prop_assert!(end <= bytes.len());
                let at = &bytes[usize::try_from(m.offset).expect("small")..end];
                let text = String::from_utf8_lossy(at);
                if !at.contains(&b'\r') {
                    let text = text.trim_end_matches('\n');
                    proptest::prop_assert_eq!(text, r.raw());
                }
                let _ = tlsflow::logs::tracking::etr_entries(&r.field(3));
                let _ = tlsflow::logs::tracking::redact_text(&r.raw());
                sessions.line(&r, &mut |_| {});
            }
            sessions.finish(&mut |_| {});
        }
    }
}

/// A connector with IgnoreSTARTTLS still uses STARTTLS for a recipient whose requirement is in
/// force (reference §3.6: the requirement overrides the connector's TLS settings): the simulated
/// protocol log shows the TLS it had, and `tlsflow logs` finds no clear text.
#[test]
fn ignore_starttls_is_overridden_by_a_requirement_in_force_in_the_protocol_log() {
    let dir = tempfile::tempdir().expect("temp");
    let topology = std::fs::read_to_string(repo("scenarios/topologies/contoso-cross-site.yaml"))
        .expect("topology")
        .replace(
            "    source_servers: [HQ-MBX1]    # HQ only: the root of the defect\n",
            "    source_servers: [HQ-MBX1]    # HQ only: the root of the defect\n    ignore_starttls: true\n",
        );
    assert!(topology.contains("ignore_starttls: true"));
    std::fs::write(dir.path().join("topology.yaml"), topology).expect("write");
    std::fs::write(
        dir.path().join("scenario.yaml"),
        "format: 1\nname: ignore\ntopology: topology.yaml\nseed: 1\nstart: 2026-06-01T08:00:00Z\nduration: 1h\nmessages:\n  - {at: 0s, from: dave@contoso.com, to: [erin@tailspintoys.com], subject: Top secret, size: 10KB}\n  - {at: 0s, from: alice@contoso.com, to: [frank@tailspintoys.com], subject: Top secret, size: 10KB}\n",
    )
    .expect("write");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(logs.join("tracking")).expect("mkdir");
    let simulated = json_of(&[
        "simulate",
        dir.path().join("scenario.yaml").to_str().expect("utf-8"),
        "--tracking-log",
        logs.join("tracking/MSGTRK.LOG").to_str().expect("utf-8"),
        "--protocol-log",
        logs.join("protocol").to_str().expect("utf-8"),
        "--recipients",
    ]);
    // Dave's message (rule in force on HQ-MBX1) is encrypted; Alice's (lost on the way) goes
    // out in clear text, IgnoreSTARTTLS applying: TLS001.
    let codes: Vec<&str> = simulated["runs"][0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes, ["TLS001"], "{simulated}");
    let r = json_of(&["logs", logs.to_str().expect("utf-8")]);
    let verdicts: BTreeSet<(String, String)> = r["followed"]
        .as_array()
        .expect("followed")
        .iter()
        .map(|f| {
            (
                f["recipient"].as_str().expect("rcpt").to_owned(),
                f["verdict"].as_str().expect("verdict").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            ("erin@tailspintoys.com".to_owned(), "tls".to_owned()),
            ("frank@tailspintoys.com".to_owned(), "clear_text".to_owned()),
        ]
        .into_iter()
        .collect()
    );
}

/// The conclusion never says more than the logs show: no tracking log, no required message,
/// nothing sent out, or only undetermined recipients each get their own words, never "over TLS".
#[test]
fn the_conclusion_claims_nothing_the_logs_do_not_show() {
    let dir = tempfile::tempdir().expect("temp");
    let d = dir.path().to_str().expect("utf-8");
    let conclusion = |args: &[&str]| -> String {
        json_of(args)["conclusion"]
            .as_str()
            .expect("conclusion")
            .to_owned()
    };
    assert!(conclusion(&["logs", d]).starts_with("No message tracking log"));
    // Only the AGENTINFO rows: required messages, none sent out.
    let agentinfo: String = std::fs::read_to_string(repo(
        "tests/data/logs/public/BR-MBX1/MessageTracking/MSGTRK2025101908-1.LOG",
    ))
    .expect("log")
    .lines()
    .filter(|l| l.starts_with('#') || l.contains("AGENTINFO"))
    .fold(String::new(), |mut out, l| {
        out.push_str(l);
        out.push_str("\r\n");
        out
    });
    std::fs::write(dir.path().join("MSGTRK.LOG"), &agentinfo).expect("write");
    let text = conclusion(&["logs", d]);
    assert!(text.contains("none of their recipients left"), "{text}");
    assert!(!text.contains("over TLS"), "{text}");
    // Sent out, but no protocol log: undetermined, "not a proof".
    let tracking = repo("tests/data/logs/public/HQ-MBX1/MessageTracking");
    let text = conclusion(&["logs", d, tracking.to_str().expect("utf-8")]);
    assert!(
        text.contains("cannot be decided") && text.contains("not a proof"),
        "{text}"
    );
    // No rule matched at all.
    let none = agentinfo
        .replace("RouteMessageOutboundRequireTls", "SetHeader")
        .replace(GUID, "0b9a3a2c-1f5e-4c1a-9f0e-5c8d6f0e2a11");
    std::fs::write(dir.path().join("MSGTRK.LOG"), none).expect("write");
    assert!(conclusion(&["logs", d]).starts_with("No message matched"));
}
