//! A throwaway PostgreSQL cluster for tests, so that `cargo xtask ci` needs nothing started
//! beforehand: the machine's own `initdb` and `pg_ctl` (PostgreSQL 15 under
//! `/usr/lib/postgresql`, or the directory `CONCORDAT_PG_BIN` names), a free port on the
//! loopback, a temporary directory that goes with the cluster. `initdb` refuses to run as
//! root, so as root (as CI runs) the cluster runs as the `postgres` user through `runuser`.
//!
//! ```no_run
//! let cluster = pgcluster::Cluster::start().unwrap();
//! let url = cluster.database("ledger").unwrap(); // postgres://concordat@127.0.0.1:PORT/ledger
//! cluster.restart().unwrap(); // connections see errors, then it serves again
//! ```

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The database a test of the store or the ledger runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default, in a temporary directory.
    Sqlite,
    /// A throwaway [`Cluster`].
    Postgres,
}

/// Runs each named test — a function of a [`Backend`] — once on each database, as
/// `NAME::sqlite` and `NAME::postgres`, so one suite tells the same story on both.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name($crate::Backend::Sqlite);
                }
                #[test]
                fn postgres() {
                    super::$name($crate::Backend::Postgres);
                }
            }
        )*
    };
}

/// A certificate authority and a server certificate it signed for 127.0.0.1 and localhost, as
/// PEM files in `dir`: `ca.pem`, `cert.pem`, `key.pem` (for TLS tests of servers and clients).
pub fn test_certificates(dir: &Path) -> Result<(), Error> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let failed = |e: rcgen::Error| Error(format!("cannot make test certificates: {e}"));
    let ca_key = KeyPair::generate().map_err(failed)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Concordat test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::CrlSign,
    ];
    let ca_cert = ca.self_signed(&ca_key).map_err(failed)?;
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().map_err(failed)?;
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .map_err(failed)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    let cert = leaf.signed_by(&key, &issuer).map_err(failed)?;
    for (name, text) in [
        ("ca.pem", ca_cert.pem()),
        ("cert.pem", cert.pem()),
        ("key.pem", key.serialize_pem()),
    ] {
        std::fs::write(dir.join(name), text)
            .map_err(|e| error(format!("cannot write {name}"), e))?;
    }
    Ok(())
}

/// The role the cluster is created with; it trusts connections from the loopback.
pub const USER: &str = "concordat";

/// A running PostgreSQL cluster, stopped and deleted when dropped.
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    /// The user the server runs as when this process is root.
    run_as: Option<String>,
}

/// Why a cluster could not be started or driven, with what its tools said.
#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn error(context: impl std::fmt::Display, e: impl std::fmt::Display) -> Error {
    Error(format!("{context}: {e}"))
}

/// Debian's PostgreSQL 15 server, installed when the machine lacks one.
const PACKAGE: &str = "postgresql-15=15.18-0+deb12u1";

/// The directory of the server's programs: `CONCORDAT_PG_BIN`, or the newest version under
/// `/usr/lib/postgresql` — installed from Debian's packages (as root) when there is none.
fn bin_dir() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("CONCORDAT_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    if let Ok(bin) = installed() {
        return Ok(bin);
    }
    // Tests run in parallel processes: one installs while the others wait.
    let lock = std::fs::File::create(std::env::temp_dir().join("concordat-pg-install.lock"))
        .map_err(|e| error("cannot make the install lock", e))?;
    lock.lock()
        .map_err(|e| error("cannot take the install lock", e))?;
    if let Ok(bin) = installed() {
        return Ok(bin);
    }
    debian_install(&[PACKAGE], &["postgresql-15"]).map_err(|e| {
        Error(format!(
            "no PostgreSQL server under /usr/lib/postgresql: {e} (run as root, or set CONCORDAT_PG_BIN)"
        ))
    })?;
    installed()
}

/// Installs Debian packages for a test: `pinned` (`name=version`), or `current` (the same
/// names, unpinned) once the mirror no longer carries those versions. One `apt-get` runs at a
/// time across the test processes, each also waiting for dpkg's lock.
pub fn debian_install(pinned: &[&str], current: &[&str]) -> Result<(), Error> {
    let apt = |args: &[&str]| {
        let shared = std::fs::File::create(std::env::temp_dir().join("concordat-apt.lock"));
        let _held = shared.as_ref().map(|f| f.lock());
        Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=600"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !apt(&["update", "-qq"]) {
        return Err(Error("apt-get update failed".to_owned()));
    }
    let quiet = ["install", "-y", "-qq", "--no-install-recommends"];
    if apt(&[&quiet[..], pinned].concat()) || apt(&[&quiet[..], current].concat()) {
        Ok(())
    } else {
        Err(Error(format!(
            "apt-get could not install {}",
            pinned.join(" ")
        )))
    }
}

/// The newest server installed under `/usr/lib/postgresql`.
fn installed() -> Result<PathBuf, Error> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| {
            error(
                "no PostgreSQL server under /usr/lib/postgresql (install Debian's postgresql, or set CONCORDAT_PG_BIN)",
                e,
            )
        })?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| Error("no initdb under /usr/lib/postgresql/*/bin".to_owned()))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// The uid and gid of `user`, from `id`.
fn ids_of(user: &str) -> Result<(u32, u32), Error> {
    let id = |flag: &str| -> Result<u32, Error> {
        let output = Command::new("id")
            .args([flag, user])
            .output()
            .map_err(|e| error("cannot run id", e))?;
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .map_err(|_| {
                Error(format!(
                    "there is no user `{user}` to run PostgreSQL as (initdb refuses root)"
                ))
            })
    };
    Ok((id("-u")?, id("-g")?))
}

fn free_port() -> Result<u16, Error> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| error("no free port on 127.0.0.1", e))
}

impl Cluster {
    /// Creates a cluster in a new temporary directory and starts it on a free port.
    pub fn start() -> Result<Cluster, Error> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("concordat-pg-")
            .tempdir()
            .map_err(|e| error("cannot make a temporary directory", e))?;
        let run_as = is_root().then(|| "postgres".to_owned());
        if let Some(user) = &run_as {
            let (uid, gid) = ids_of(user)?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .map_err(|e| error(format!("cannot give {} to {user}", dir.path().display()), e))?;
        }
        let mut cluster = Cluster {
            bin,
            dir,
            port: 0,
            run_as,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                // The cluster lives as long as a test: its files need not survive a crash of
                // the machine, only of the server (which fsync off would not change).
                "--no-sync",
            ],
        )?;
        // A port another process takes between our check and the server's bind makes the
        // start fail; try a few.
        let mut last = None;
        for _ in 0..5 {
            cluster.port = free_port()?;
            match cluster.pg_ctl_start() {
                Ok(()) => return Ok(cluster),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error("the server did not start".to_owned())))
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// Runs one of the server's programs, as the server's user.
    fn run(&self, program: &str, args: &[&str]) -> Result<Output, Error> {
        let path = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        let output = command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .map_err(|e| error(format!("cannot run {}", path.display()), e))?;
        if !output.status.success() {
            return Err(Error(format!(
                "{program} {} failed: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(output)
    }

    fn pg_ctl_start(&self) -> Result<(), Error> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.log().display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-l",
                &log,
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        .map(|_| ())
        .map_err(|e| Error(format!("{e}\nserver log:\n{}", self.server_log())))
    }

    /// What the server wrote to its log.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.log()).unwrap_or_default()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `name`, created if it does not exist yet.
    pub fn database(&self, name: &str) -> Result<String, Error> {
        let port = self.port.to_string();
        let created = self.run(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", USER, name],
        );
        match created {
            Ok(_) => {}
            Err(e) if e.0.contains("already exists") => {}
            Err(e) => return Err(e),
        }
        Ok(self.url(name))
    }

    /// The URL of database `name`.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port)
    }

    /// Stops the server at once, as a crash would (no shutdown checkpoint): clients see their
    /// connections end.
    pub fn kill(&self) -> Result<(), Error> {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
        .map(|_| ())
    }

    /// Starts the server again on the same port, after [`Cluster::kill`].
    pub fn start_again(&self) -> Result<(), Error> {
        self.pg_ctl_start()
    }

    /// Kills and restarts the server; waits until it accepts connections.
    pub fn restart(&self) -> Result<(), Error> {
        self.kill()?;
        self.start_again()?;
        self.wait_ready(Duration::from_secs(30))
    }

    /// Waits until the server accepts connections.
    pub fn wait_ready(&self, within: Duration) -> Result<(), Error> {
        let port = self.port.to_string();
        let until = Instant::now() + within;
        loop {
            if self
                .run("pg_isready", &["-h", "127.0.0.1", "-p", &port, "-U", USER])
                .is_ok()
            {
                return Ok(());
            }
            if Instant::now() > until {
                return Err(Error(format!(
                    "the server was not ready within {within:?}\nserver log:\n{}",
                    self.server_log()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Serves TLS from now on, with `cert_pem` (the chain, leaf first) and `key_pem`; restarts
    /// the server. Plain connections are still accepted (as `sslmode=prefer` expects).
    pub fn enable_tls(&self, cert_pem: &str, key_pem: &str) -> Result<(), Error> {
        let data = self.dir.path().join("data");
        let write = |name: &str, text: &str, mode: u32| -> Result<(), Error> {
            use std::os::unix::fs::PermissionsExt as _;
            let path = data.join(name);
            std::fs::write(&path, text)
                .and_then(|()| {
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                })
                .map_err(|e| error(format!("cannot write {}", path.display()), e))?;
            if let Some(user) = &self.run_as {
                let (uid, gid) = ids_of(user)?;
                std::os::unix::fs::chown(&path, Some(uid), Some(gid))
                    .map_err(|e| error(format!("cannot give {} to {user}", path.display()), e))?;
            }
            Ok(())
        };
        write("server.crt", cert_pem, 0o644)?;
        write("server.key", key_pem, 0o600)?;
        let conf = data.join("postgresql.conf");
        let mut settings = std::fs::read_to_string(&conf)
            .map_err(|e| error(format!("cannot read {}", conf.display()), e))?;
        settings.push_str("\nssl = on\n");
        std::fs::write(&conf, settings)
            .map_err(|e| error(format!("cannot write {}", conf.display()), e))?;
        self.restart()
    }

    /// The cluster's directory (data, log, socket).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Whatever state it is in: a stopped server makes this fail, which is fine.
        let _ = self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select_one(cluster: &Cluster, url: &str) -> Result<String, Error> {
        cluster
            .run("psql", &["-X", "-A", "-t", "-c", "SELECT 1 + 1", url])
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    }

    #[test]
    fn a_cluster_starts_serves_survives_a_crash_and_goes() {
        let cluster = Cluster::start().unwrap();
        let url = cluster.database("ledger").unwrap();
        assert_eq!(cluster.database("ledger").unwrap(), url, "created once");
        assert_eq!(select_one(&cluster, &url).unwrap(), "2");
        cluster.kill().unwrap();
        assert!(
            select_one(&cluster, &url).is_err(),
            "a killed server refuses"
        );
        cluster.start_again().unwrap();
        cluster.wait_ready(Duration::from_secs(30)).unwrap();
        assert_eq!(select_one(&cluster, &url).unwrap(), "2");
        let dir = cluster.dir().to_owned();
        drop(cluster);
        assert!(!dir.exists(), "the cluster's directory goes with it");
    }
}
