//! PostgreSQL TLS options reach the connection: the local server has TLS on
//! (Debian's default, a self-signed certificate for `localhost`).

use dbridge_engine::{ConnectOptions, Database, ErrorKind, SslMode, Value};
use dbridge_testkit::pg_url;

async fn uses_tls(db: &Database) -> bool {
    let row = db
        .fetch_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    row.get("ssl").unwrap() == &Value::Bool(true)
}

async fn server_cert() -> String {
    let db = Database::connect(&pg_url()).await.unwrap();
    let row = db
        .fetch_one("SELECT current_setting('ssl_cert_file') AS f", &[])
        .await
        .unwrap();
    row.get("f").unwrap().as_str().unwrap().to_owned()
}

#[tokio::test]
async fn sslmode_require_and_disable() {
    let tls = Database::connect_with(&pg_url(), ConnectOptions::new().ssl_mode(SslMode::Require))
        .await
        .unwrap();
    assert!(uses_tls(&tls).await);
    let plain = Database::connect_with(&pg_url(), ConnectOptions::new().ssl_mode(SslMode::Disable))
        .await
        .unwrap();
    assert!(!uses_tls(&plain).await);
    let from_url = Database::connect(&format!("{}?sslmode=require", pg_url()))
        .await
        .unwrap();
    assert!(uses_tls(&from_url).await);
}

#[tokio::test]
async fn verify_full_checks_the_certificate() {
    // Without the server's certificate among the trusted roots, verification fails clearly.
    let err = Database::connect_with(
        &pg_url(),
        ConnectOptions::new().ssl_mode(SslMode::VerifyFull),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");

    // With it, verify-ca passes, and verify-full too when the host is the
    // certificate's name (`localhost`); the same server reached by its address
    // (127.0.0.1, which verify-ca just reached, so something listens there) is
    // refused by the host-name check.
    let cert = server_cert().await;
    let ca = ConnectOptions::new()
        .ssl_mode(SslMode::VerifyCa)
        .ssl_root_cert(&cert);
    let db = Database::connect_with(&pg_url(), ca).await.unwrap();
    assert!(uses_tls(&db).await);
    let full = || {
        ConnectOptions::new()
            .ssl_mode(SslMode::VerifyFull)
            .ssl_root_cert(&cert)
    };
    let db = Database::connect_with(&pg_url().replace("127.0.0.1", "localhost"), full())
        .await
        .unwrap();
    assert!(uses_tls(&db).await);
    assert!(
        pg_url().contains("127.0.0.1"),
        "the test URL names the address"
    );
    let err = Database::connect_with(&pg_url(), full()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connection, "{err}");
    let text = format!("{err:?}");
    assert!(
        text.contains("not valid for name"),
        "not a host-name failure: {text}"
    );
}
