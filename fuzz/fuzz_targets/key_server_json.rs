//! The key server's JSON request bodies, through the real router: the same
//! extractors, validation and error mapping a client meets, on a SQLite
//! store in a temporary directory with a cheap Argon2id (8 KiB) so a body
//! that parses does not spend the fuzzer's time hashing.
//!
//! The first byte picks the endpoint; the rest is the body. No input may
//! make the server panic or answer 500: bad input is the client's fault.

#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt;

struct Server {
    runtime: tokio::runtime::Runtime,
    app: Router,
    token: String,
    _data: tempfile::TempDir,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let data = tempfile::tempdir().unwrap();
        let config = key_server::Config {
            data_dir: data.path().to_path_buf(),
            password_m_kib: 8,
            password_t: 1,
            password_p: 1,
            ..key_server::Config::default()
        };
        let (app, token) = runtime.block_on(async {
            let store = key_server::Store::connect(&config.database_url())
                .await
                .unwrap();
            let token = store.create_sender("fuzz").await.unwrap();
            let master_key =
                key_server::MasterKey::load_or_create(&config.master_key_file()).unwrap();
            let state = key_server::AppState::new(&config, store, master_key).unwrap();
            (key_server::app(state), token)
        });
        Server {
            runtime,
            app,
            token,
            _data: data,
        }
    })
}

const ENDPOINTS: &[&str] = &[
    "/api/v1/keys/release",
    "/api/v1/keys/status",
    "/api/v1/messages",
    "/api/v1/password/check",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let server = server();
    let path = ENDPOINTS[usize::from(selector) % ENDPOINTS.len()];
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, "null")
        .header(header::AUTHORIZATION, format!("Bearer {}", server.token))
        .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [192, 0, 2, selector],
            40_000,
        ))))
        .body(Body::from(body.to_vec()))
        .unwrap();
    let response = server
        .runtime
        .block_on(server.app.clone().oneshot(request))
        .unwrap();
    assert_ne!(
        response.status().as_u16(),
        500,
        "{path} answered 500 to {:?}",
        String::from_utf8_lossy(body)
    );
});
