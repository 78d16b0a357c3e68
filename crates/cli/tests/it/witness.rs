//! `concordat witness`: a C2SP tlog-witness over HTTP for a real log — cosignatures that
//! verify with the witness's key, each refusal the spec gives, a split view kept and served as
//! evidence, racing clients that cannot roll the log back, and Go's note package verifying
//! what the witness cosigned.

use std::path::{Path, PathBuf};
use std::process::Command;

use tlog::Note;
use tlog::note::VerifierKey;

use crate::server::Served;
use crate::support::{ORIGIN, Workspace};

/// Serves the workspace's witness (in `witness/`), as `serve` serves an instance.
fn serve(workspace: &Workspace) -> Served {
    start_witness(workspace.dir.path(), "witness")
}

/// `concordat witness serve` for the witness in `tmp/dir`, on a free port, its log in
/// `tmp/dir-logs`.
fn start_witness(tmp: &Path, dir: &str) -> Served {
    let logs = tmp.join(format!("{dir}-logs"));
    std::fs::create_dir_all(&logs).unwrap();
    let path = tmp.join(dir);
    Served::start(
        &logs,
        path.clone(),
        &[
            "witness",
            "serve",
            "--dir",
            path.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
    )
}

/// A witness of the workspace's log in `witness/`; its verifier key.
fn witness_of(workspace: &Workspace) -> String {
    witness_in(workspace, "witness", "witness.test.example/w1")
}

/// A witness named `name` in `tmp/dir` of the logs `(origin, verifier key)`; its verifier key.
fn init_witness(tmp: &Path, dir: &str, name: &str, logs: &[(&str, &str)]) -> String {
    let run = |args: &[&str]| crate::support::concordat(args, None, tmp);
    let key = run(&["witness", "init", "--dir", dir, "--name", name])
        .ok()
        .stdout
        .trim()
        .to_owned();
    for (origin, log_key) in logs {
        run(&[
            "witness", "add-log", "--dir", dir, "--origin", origin, "--key", log_key,
        ])
        .ok();
    }
    key
}

/// POSTs an add-checkpoint body: (status, content type, body).
fn add(url: &str, body: &str) -> (u16, String, String) {
    let response = match ureq::post(&format!("{url}/add-checkpoint")).send_string(body) {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("{error}"),
    };
    (
        response.status(),
        response.content_type().to_owned(),
        response.into_string().unwrap(),
    )
}

fn append(workspace: &Workspace, entries: usize) -> String {
    let input: String = (0..entries).map(|i| format!("entry {i}\n")).collect();
    workspace
        .run_with_input(&["log", "append", "--dir", "ledger"], input.as_bytes())
        .ok();
    workspace
        .run(&["log", "checkpoint", "--dir", "ledger"])
        .ok()
        .stdout
}

fn proof(workspace: &Workspace, old: u64, new: u64) -> String {
    workspace
        .run(&[
            "log",
            "consistency",
            "--dir",
            "ledger",
            "--old",
            &old.to_string(),
            "--new",
            &new.to_string(),
        ])
        .ok()
        .stdout
}

#[test]
fn a_witness_cosigns_a_real_log_and_answers_as_the_spec_says() {
    let workspace = Workspace::new();
    let witness_key = witness_of(&workspace);
    let witness = VerifierKey::parse(&witness_key).unwrap();
    let served = serve(&workspace);

    // First contact: old 0, no proof. The answer is a cosignature line that verifies over
    // the checkpoint with the witness's key.
    let at_5 = append(&workspace, 5);
    let (status, _, lines) = add(&served.url, &format!("old 0\n\n{at_5}"));
    assert_eq!(status, 200, "{lines}");
    assert!(lines.starts_with("— witness.test.example/w1 "), "{lines}");
    let cosigned = Note::parse(format!("{at_5}{lines}").as_bytes()).unwrap();
    let verified = cosigned.verify(std::slice::from_ref(&witness)).unwrap();
    assert!(verified[0].timestamp.is_some());

    // Onwards, with the consistency proof the log gives.
    let at_12 = append(&workspace, 7);
    let (status, _, body) = add(
        &served.url,
        &format!("old 5\n{}\n{at_12}", proof(&workspace, 5, 12)),
    );
    assert_eq!(status, 200, "{body}");

    // 409 with the size held, for a client that is behind.
    let (status, content_type, body) = add(
        &served.url,
        &format!("old 5\n{}\n{at_12}", proof(&workspace, 5, 12)),
    );
    assert_eq!(
        (status, content_type.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "12\n")
    );
    // 400: not a request.
    assert_eq!(add(&served.url, "hello").0, 400);
    // 404: a log the witness does not know.
    let other = Workspace::new();
    let theirs = other
        .run(&["log", "checkpoint", "--dir", "ledger"])
        .ok()
        .stdout;
    let renamed = theirs.replacen(ORIGIN, "other.test.example/log", 1);
    assert_eq!(add(&served.url, &format!("old 0\n\n{renamed}")).0, 404);
    // 403: the right origin, signed by another key.
    assert_eq!(add(&served.url, &format!("old 12\n\n{theirs}")).0, 403);
    // 422: a proof that does not verify.
    let at_20 = append(&workspace, 8);
    let bad = proof(&workspace, 12, 20).replacen('A', "B", 1);
    let (status, _, body) = add(&served.url, &format!("old 12\n{bad}\n{at_20}"));
    assert_eq!(status, 422, "{body}");

    // The latest cosigned is served; the bad proof is kept as evidence, beside what it
    // contradicts.
    let latest = ureq::get(&format!("{}/checkpoint?origin={ORIGIN}", served.url))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert_eq!(latest, at_12);
    let evidence: serde_json::Value = ureq::get(&format!("{}/evidence", served.url))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(evidence.as_array().unwrap().len(), 1, "{evidence}");
    assert_eq!(evidence[0]["contradicts"], at_12);
    assert!(evidence[0]["request"].as_str().unwrap().ends_with(&at_20));
    drop(served);
    let kept = workspace
        .run(&[
            "witness", "evidence", "--dir", "witness", "--format", "json",
        ])
        .ok()
        .stdout;
    assert!(kept.contains("does not verify"), "{kept}");

    // Racing clients, each moving the log from the size it last saw: the witness's sizes form
    // one chain and never go back.
    let served = serve(&workspace);
    let checkpoints: Vec<(u64, String)> = (21..=30)
        .map(|size| (size, append(&workspace, 1)))
        .collect();
    let proofs: Vec<String> = checkpoints
        .iter()
        .map(|(size, _)| proof(&workspace, 12, *size))
        .collect();
    let url = served.url.clone();
    let accepted: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = checkpoints
            .iter()
            .zip(&proofs)
            .map(|((size, note), proof)| {
                let url = url.clone();
                scope.spawn(move || {
                    let (status, _, _) = add(&url, &format!("old 12\n{proof}\n{note}"));
                    (status == 200).then_some(*size)
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(
        accepted.len(),
        1,
        "only one request from size 12 is cosigned: {accepted:?}"
    );
    let latest = ureq::get(&format!("{}/checkpoint?origin={ORIGIN}", served.url))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(latest.contains(&format!("\n{}\n", accepted[0])), "{latest}");
}

/// Debian's Go and its golang.org/x/mod (pinned), installed when missing.
fn go() -> PathBuf {
    let lock =
        std::fs::File::create(Path::new(env!("CARGO_TARGET_TMPDIR")).join("go.lock")).unwrap();
    lock.lock().unwrap();
    let note = Path::new("/usr/share/gocode/src/golang.org/x/mod/sumdb/note/note.go");
    let go = Path::new("/usr/bin/go");
    if !(go.exists() && note.exists()) {
        pgcluster::debian_install(
            &["golang-go=2:1.19~1", "golang-golang-x-mod-dev=0.7.0-1"],
            &["golang-go", "golang-golang-x-mod-dev"],
        )
        .unwrap_or_else(|e| panic!("the Go interop test installs Debian's Go (run as root): {e}"));
    }
    go.to_owned()
}

/// Go's note package opens the checkpoint cosigned by the witness, with the log's key and the
/// witness's; a changed checkpoint or a missing cosignature does not open.
#[test]
fn go_verifies_a_checkpoint_the_witness_cosigned() {
    let go = go();
    let workspace = Workspace::new();
    let witness_key = witness_of(&workspace);
    let served = serve(&workspace);
    let checkpoint = append(&workspace, 3);
    let (status, _, lines) = add(&served.url, &format!("old 0\n\n{checkpoint}"));
    assert_eq!(status, 200, "{lines}");
    let verify = |note: &str, keys: &[&str]| {
        std::fs::write(workspace.path("cosigned.note"), note).unwrap();
        Command::new(&go)
            .arg("run")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/interop/go/verify_note.go"
            ))
            .arg(workspace.path("cosigned.note"))
            .args(keys)
            .env("GO111MODULE", "off")
            .env("GOPATH", "/usr/share/gocode")
            .env(
                "GOCACHE",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-cache"),
            )
            .env("HOME", env!("CARGO_TARGET_TMPDIR"))
            .output()
            .unwrap()
    };
    let cosigned = format!("{checkpoint}{lines}");
    let opened = verify(&cosigned, &[&workspace.verifier_key, &witness_key]);
    assert!(
        opened.status.success(),
        "{}",
        String::from_utf8_lossy(&opened.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&opened.stdout),
        format!("{ORIGIN}\nwitness.test.example/w1\n")
    );
    // The size changed under both signatures.
    let changed = cosigned.replacen("\n3\n", "\n4\n", 1);
    assert_eq!(
        verify(&changed, &[&workspace.verifier_key, &witness_key])
            .status
            .code(),
        Some(1)
    );
    // Signed by the log alone: the witness's key finds no cosignature.
    let alone = verify(&checkpoint, &[&workspace.verifier_key, &witness_key]);
    assert_eq!(alone.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&alone.stderr).contains("not signed by witness.test.example/w1")
    );
}

/// `proof verify --witness-policy` (a C2SP tlog-policy file) refuses a proof whose checkpoint
/// lacks the quorum's cosignatures, and accepts it once the witness's lines are added.
#[test]
fn proof_verify_holds_a_checkpoint_to_the_witness_policy() {
    let workspace = Workspace::new();
    let witness_key = witness_of(&workspace);
    let served = serve(&workspace);
    let checkpoint = append(&workspace, 4);
    workspace.write("entry.txt", b"entry 2");
    let proof = workspace
        .run(&["log", "prove", "--dir", "ledger", "--index", "2"])
        .ok()
        .stdout;
    assert!(
        proof.ends_with(&checkpoint),
        "the proof ends with its checkpoint"
    );
    workspace.write("bare.tlog-proof", proof.as_bytes());
    let (status, _, lines) = add(&served.url, &format!("old 0\n\n{checkpoint}"));
    assert_eq!(status, 200);
    workspace.write("cosigned.tlog-proof", format!("{proof}{lines}").as_bytes());
    workspace.write(
        "quorum.policy",
        format!(
            "# our log, cosigned by our witness\nlog {}\nwitness ours {witness_key}\nquorum ours\n",
            workspace.verifier_key
        )
        .as_bytes(),
    );
    workspace.write(
        "none.policy",
        format!("log {}\nquorum none\n", workspace.verifier_key).as_bytes(),
    );
    let verify = |policy: &str, proof: &str| {
        workspace.run(&[
            "proof",
            "verify",
            "--witness-policy",
            policy,
            "--entry",
            "entry.txt",
            proof,
        ])
    };
    verify("quorum.policy", "bare.tlog-proof").fails(1, "does not meet the witness policy");
    let met = verify("quorum.policy", "cosigned.tlog-proof").ok().stdout;
    assert!(
        met.contains("cosigned by ours as the witness policy requires"),
        "{met}"
    );
    verify("none.policy", "bare.tlog-proof").ok();
    // A policy that names another log refuses ours.
    let other = Workspace::new();
    workspace.write(
        "other.policy",
        format!("log {}\nquorum none\n", other.verifier_key).as_bytes(),
    );
    verify("other.policy", "cosigned.tlog-proof").fails(1, "not signed by a log of the policy");
    // A malformed policy names its line.
    workspace.write("bad.policy", b"quorum nobody\n");
    verify("bad.policy", "cosigned.tlog-proof").fails(2, "policy line 1");
}

/// The log signs two trees of one size (a fork kept with the same key): the witness cosigns
/// the first, keeps the second beside it as proof and serves both, and a client that asks the
/// witness refuses the log — whichever branch it was shown.
#[test]
fn a_split_view_is_kept_served_and_refused_by_clients() {
    let workspace = Workspace::new();
    witness_of(&workspace);
    let served = serve(&workspace);
    // Before any misbehaviour, asking the witness passes.
    let honest = append(&workspace, 3);
    let clean = workspace
        .run(&["log", "verify", "--dir", "ledger", "--witness", &served.url])
        .ok()
        .stdout;
    assert!(
        clean.contains("holds no evidence against the log"),
        "{clean}"
    );
    // The fork: the same key and origin, other entries.
    workspace
        .run(&[
            "log", "init", "--dir", "fork", "--origin", ORIGIN, "--key", "log.key",
        ])
        .ok();
    workspace
        .run_with_input(&["log", "append", "--dir", "fork"], b"x\ny\nz\n")
        .ok();
    let forked = workspace
        .run(&["log", "checkpoint", "--dir", "fork"])
        .ok()
        .stdout;
    assert_ne!(honest, forked);
    assert_eq!(add(&served.url, &format!("old 0\n\n{honest}")).0, 200);
    let (status, _, body) = add(&served.url, &format!("old 3\n\n{forked}"));
    assert_eq!(status, 409, "{body}");
    // Whichever branch a client is shown — the fork by a client that never saw the other
    // (its own state directory, so its memory of checkpoints does not catch it first).
    workspace
        .run(&["log", "verify", "--dir", "ledger", "--witness", &served.url])
        .fails(1, "showed two histories");
    let newcomer = tempfile::tempdir().unwrap();
    let fork = workspace.path("fork");
    crate::support::concordat(
        &[
            "log",
            "verify",
            "--dir",
            fork.to_str().unwrap(),
            "--witness",
            &served.url,
        ],
        None,
        newcomer.path(),
    )
    .fails(1, "showed two histories");
    let kept = workspace
        .run(&["witness", "evidence", "--dir", "witness"])
        .ok()
        .stdout;
    assert!(kept.contains("another root"), "{kept}");
}

/// A witness in `dir` of the workspace's log, named `name`; its verifier key.
fn witness_in(workspace: &Workspace, dir: &str, name: &str) -> String {
    init_witness(
        workspace.dir.path(),
        dir,
        name,
        &[(ORIGIN, &workspace.verifier_key)],
    )
}

/// The log's side: its witnesses asked at once, each within a time limit, each with a proof
/// from the size it last cosigned (learnt from its 409 when the log does not know it); the
/// cosignatures that verify kept, the quorum the policy's to decide, a silent witness named.
#[test]
fn the_log_asks_its_witnesses_at_once_and_counts_its_quorum() {
    use service::cosign::Witnessing;
    let workspace = Workspace::new();
    let keys = [
        witness_in(&workspace, "w1", "witness.test.example/w1"),
        witness_in(&workspace, "w2", "witness.test.example/w2"),
        witness_in(&workspace, "w3", "witness.test.example/w3"),
    ];
    let served = [
        start_witness(workspace.dir.path(), "w1"),
        start_witness(workspace.dir.path(), "w2"),
    ];
    // The third accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let held = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        scope.spawn(|| {
            if let Ok((stream, _)) = silent.accept() {
                held.lock().unwrap().push(stream);
            }
        });
        let policy = |quorum: &str| {
            format!(
                "log {}\nwitness w1 {} {}\nwitness w2 {} {}\nwitness w3 {} {silent_url}\n{quorum}\n",
                workspace.verifier_key, keys[0], served[0].url, keys[1], served[1].url, keys[2]
            )
        };
        let two_of_three =
            Witnessing::from_policy(policy("group two 2 w1 w2 w3\nquorum two").as_bytes()).unwrap();
        let reader = std::sync::Mutex::new(store::Reader::open(&workspace.path("ledger")).unwrap());
        let prove = |old: u64, new: u64| -> service::Result<Vec<tlog::Hash>> {
            Ok(reader.lock().unwrap().consistency_proof(old, new)?)
        };
        let note = append(&workspace, 5);
        let started = std::time::Instant::now();
        let cosigning = two_of_three.cosign(&note, 5, &prove, std::time::Duration::from_secs(2));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(4),
            "the witnesses were asked one after another"
        );
        assert!(cosigning.meets_quorum, "{cosigning:?}");
        assert_eq!(cosigning.cosigned_by, ["w1", "w2"]);
        assert!(cosigning.failed.contains_key("w3"), "{cosigning:?}");
        two_of_three
            .policy()
            .verify(cosigning.note.as_bytes())
            .unwrap();

        // The log grew: each witness gets a proof from the size it cosigned.
        let grown = append(&workspace, 3);
        let cosigning = two_of_three.cosign(&grown, 8, &prove, std::time::Duration::from_secs(2));
        assert_eq!(cosigning.cosigned_by, ["w1", "w2"], "{cosigning:?}");
        // A log that forgot what its witnesses hold learns it from their 409s.
        let all =
            Witnessing::from_policy(policy("group three all w1 w2 w3\nquorum three").as_bytes())
                .unwrap();
        let cosigning = all.cosign(&grown, 8, &prove, std::time::Duration::from_secs(1));
        assert_eq!(cosigning.cosigned_by, ["w1", "w2"], "{cosigning:?}");
        assert!(!cosigning.meets_quorum, "all three are needed");
        // Without its URL a witness cannot be asked; nor over plain HTTP elsewhere.
        let no_url = format!(
            "log {}\nwitness w1 {}\nquorum w1\n",
            workspace.verifier_key, keys[0]
        );
        let error = Witnessing::from_policy(no_url.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(error.contains("has no URL"), "{error}");
        let plain = format!(
            "log {}\nwitness w1 {} http://witness.example\nquorum w1\n",
            workspace.verifier_key, keys[0]
        );
        let error = Witnessing::from_policy(plain.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(error.contains("over https://"), "{error}");
        drop(held.lock().unwrap().drain(..));
    });
}

/// A witness `witness.test.example/NAME` in `tmp/NAME` for the logs of `log_keys`, served:
/// its cosigning key (verifier text) and its server.
pub fn served_witness(tmp: &Path, name: &str, log_keys: &[&VerifierKey]) -> (String, Served) {
    let texts: Vec<String> = log_keys.iter().map(|k| k.to_text()).collect();
    let logs: Vec<(&str, &str)> = log_keys
        .iter()
        .zip(&texts)
        .map(|(k, text)| (k.name(), text.as_str()))
        .collect();
    let full = format!("witness.test.example/{name}");
    let key = init_witness(tmp, name, &full, &logs);
    (key, start_witness(tmp, name))
}

/// An instance that names its witnesses: `/checkpoint` serves the checkpoint they cosigned,
/// marked as meeting the quorum; a proof carries their cosignatures and passes `proof verify
/// --witness-policy`; with a witness down, a newer checkpoint is served marked provisional —
/// or, with `--witness-wait`, nothing newer than what met the quorum.
#[test]
fn an_instance_publishes_checkpoints_its_witnesses_cosigned() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    service::demo::seed(&dir).unwrap();
    let log_key = service::keys::read_signer(&dir.join("keys/log.key"))
        .unwrap()
        .verifier();
    let run = |args: &[&str]| crate::support::concordat(args, None, tmp.path());
    let mut witnesses = vec![
        served_witness(tmp.path(), "w1", &[&log_key]),
        served_witness(tmp.path(), "w2", &[&log_key]),
    ];
    let policy = format!(
        "log {}\nwitness w1 {} {}\nwitness w2 {} {}\ngroup both all w1 w2\nquorum both\n",
        log_key.to_text(),
        witnesses[0].0,
        witnesses[0].1.url,
        witnesses[1].0,
        witnesses[1].1.url
    );
    std::fs::write(tmp.path().join("coalition.policy"), &policy).unwrap();
    let serve = |extra: &[&str]| {
        let logs = tmp.path().join("instance-logs");
        std::fs::create_dir_all(&logs).unwrap();
        let mut args = vec![
            "serve",
            "--dir",
            dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--witness-policy",
            "coalition.policy",
        ];
        args.extend(extra);
        let absolute = tmp.path().join("coalition.policy");
        let args: Vec<String> = args
            .into_iter()
            .map(|a| {
                if a == "coalition.policy" {
                    absolute.to_str().unwrap().to_owned()
                } else {
                    a.to_owned()
                }
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Served::start(&logs, dir.clone(), &args)
    };
    let checkpoint = |url: &str| -> (u16, String, String) {
        let response = match ureq::get(&format!("{url}/checkpoint")).call() {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(error) => panic!("{error}"),
        };
        (
            response.status(),
            response
                .header("concordat-witnessed")
                .unwrap_or_default()
                .to_owned(),
            response.into_string().unwrap(),
        )
    };
    let until = |what: &str, done: &dyn Fn() -> bool| {
        let started = std::time::Instant::now();
        while !done() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "{what}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let policy_parsed = tlog::policy::Policy::parse(policy.as_bytes()).unwrap();
    {
        let served = serve(&[]);
        until("the quorum cosigned", &|| {
            checkpoint(&served.url).1 == "quorum"
        });
        let (_, _, note) = checkpoint(&served.url);
        let accepted = policy_parsed.verify(note.as_bytes()).unwrap();
        assert_eq!(accepted.cosigned_by, ["w1", "w2"]);
        // An entry's proof carries the cosignatures, and holds to the policy offline.
        let proof = ureq::get(&format!("{}/api/entries/3/proof", served.url))
            .call()
            .unwrap();
        assert_eq!(proof.header("concordat-witnessed"), Some("quorum"));
        std::fs::write(
            tmp.path().join("3.tlog-proof"),
            proof.into_string().unwrap(),
        )
        .unwrap();
        let envelope = ureq::get(&format!("{}/api/entries/3/envelope", served.url))
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        std::fs::write(tmp.path().join("3.json"), envelope).unwrap();
        run(&[
            "proof",
            "verify",
            "--witness-policy",
            "coalition.policy",
            "--entry",
            "3.json",
            "3.tlog-proof",
        ])
        .ok();
        // Mirrored to another member of a coalition, the proof is checked offline against
        // this log's witness policy; without its cosignatures, or from a log outside the
        // coalition, it is refused.
        std::fs::write(
            tmp.path().join("coalition.toml"),
            format!(
                "[[member]]\nname = \"demo\"\nlog = \"{}\"\nwitness_policy = \"coalition.policy\"\n",
                log_key.to_text()
            ),
        )
        .unwrap();
        let checked = run(&[
            "proof",
            "verify",
            "--coalition",
            "coalition.toml",
            "--entry",
            "3.json",
            "3.tlog-proof",
        ])
        .ok();
        assert!(
            checked.stdout.contains("coalition member `demo`")
                && checked.stdout.contains("cosigned by w1, w2"),
            "{checked:?}"
        );
        let proof_text = std::fs::read_to_string(tmp.path().join("3.tlog-proof")).unwrap();
        let uncosigned: String = proof_text
            .lines()
            .filter(|line| !line.starts_with("— witness.test.example"))
            .map(|line| format!("{line}\n"))
            .collect();
        std::fs::write(tmp.path().join("3.bare.tlog-proof"), uncosigned).unwrap();
        run(&[
            "proof",
            "verify",
            "--coalition",
            "coalition.toml",
            "--entry",
            "3.json",
            "3.bare.tlog-proof",
        ])
        .fails(1, "does not meet the witness policy");
        let other_key = run(&[
            "key",
            "generate",
            "--name",
            "elsewhere.example/log",
            "--out",
            "elsewhere.key",
        ])
        .ok()
        .stdout
        .trim()
        .to_owned();
        std::fs::write(
            tmp.path().join("other.toml"),
            format!(
                "[[member]]\nname = \"elsewhere\"\nlog = \"{other_key}\"\nwitness_policy = \"other.policy\"\n"
            ),
        )
        .unwrap();
        std::fs::write(
            tmp.path().join("other.policy"),
            format!("log {other_key}\nquorum none\n"),
        )
        .unwrap();
        run(&[
            "proof",
            "verify",
            "--coalition",
            "other.toml",
            "--entry",
            "3.json",
            "3.tlog-proof",
        ])
        .fails(1, "not the log of a member of the coalition");
        // A coalition whose member's policy does not accept the member's own log is refused.
        std::fs::write(
            tmp.path().join("bad.toml"),
            format!(
                "[[member]]\nname = \"elsewhere\"\nlog = \"{other_key}\"\nwitness_policy = \"coalition.policy\"\n"
            ),
        )
        .unwrap();
        run(&[
            "proof",
            "verify",
            "--coalition",
            "bad.toml",
            "--entry",
            "3.json",
            "3.tlog-proof",
        ])
        .fails(2, "does not list its log");
        // A witness goes down; the next checkpoint is served, but marked provisional.
        let (_, down) = witnesses.pop().unwrap();
        drop(down);
        let lab = run(&[
            "key",
            "generate",
            "--name",
            "late-lab",
            "--out",
            "late-lab.key",
        ])
        .ok()
        .stdout
        .trim()
        .to_owned();
        let operator = dir.join("keys/operator.key");
        run(&[
            "party",
            "register",
            "--server",
            &served.url,
            "--signer-key",
            operator.to_str().unwrap(),
            "--name",
            "Late Lab",
            "--role",
            "lab",
            "--key",
            &lab,
        ])
        .ok();
        let before = note.lines().nth(1).unwrap().to_owned();
        until("a newer, provisional checkpoint", &|| {
            let (_, how, note) = checkpoint(&served.url);
            how == "provisional" && note.lines().nth(1).unwrap() != before
        });
    }
    // Waiting instead: nothing newer than a checkpoint that met the quorum; none met it since
    // this server started, so none is served.
    let waiting = serve(&["--witness-wait"]);
    std::thread::sleep(std::time::Duration::from_secs(2));
    let (status, _, body) = checkpoint(&waiting.url);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("quorum"), "{body}");
}
