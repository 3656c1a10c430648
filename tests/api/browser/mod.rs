//! The browser apps in a real browser: headless Chromium driven through
//! chromedriver (WebDriver) by fantoccini, against a real hub on a real
//! socket, with the demo restaurant (on SQLite; the whole order flow and
//! the dashboard's totals against analytics on PostgreSQL too, where the
//! queries differ). Each test starts its own chromedriver
//! on a free port and its own browser profile.
//!
//! Pages reach the hub through [`Proxy`], a TCP relay the test can cut (to
//! show a screen losing its connection and coming back) or point at another
//! instance (a move to another hub).
//!
//! Every test saves screenshots of what it checked under
//! `target/screens/`; with `UPDATE_SCREENS=1` it writes them to
//! `docs/screens/` instead (the README shows those).

mod dashboard;
mod docs;
mod flow;
mod kitchen;
mod session;
mod signin;
mod table;
mod waiter;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::support::{token_of, TestApp};

/// How long a page gets to show what a test waits for.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// The demo restaurant's logins.
pub const PASSWORD: &str = "restohub-demo";
pub fn email(role: &str) -> String {
    format!("{role}@demo.restohub")
}

/// A hub with the demo restaurant on SQLite; returns the restaurant's id.
pub async fn demo_hub() -> (TestApp, i64) {
    demo_hub_on(crate::support::Backend::Sqlite).await
}

/// A hub with the demo restaurant on `backend`.
pub async fn demo_hub_on(backend: crate::support::Backend) -> (TestApp, i64) {
    let app = TestApp::spawn(backend).await;
    let restaurant = restohub::demo::seed(
        &app.store,
        &app.passwords,
        restohub::clock::Clock::now_ms(&*app.clock),
    )
    .await
    .expect("demo seeded");
    (app, restaurant)
}

/// An access token of a demo login.
pub async fn demo_token(app: &TestApp, role: &str) -> String {
    let reply = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"restaurant": "demo", "email": email(role), "password": PASSWORD}),
        )
        .await;
    assert_eq!(reply.0, 200, "{} logs in: {}", role, reply.1);
    token_of(&reply.1)
}

/// A table's current guest code (the QR code's).
pub async fn guest_code(app: &TestApp, manager: &str, table_id: i64) -> String {
    let (status, table) = app
        .get(&format!("/api/v1/tables/{table_id}"), manager)
        .await;
    assert_eq!(status, 200, "{table}");
    table["guest_code"]
        .as_str()
        .expect("guest code")
        .to_string()
}

/// The items of a list endpoint (its first 200).
pub async fn items_of(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let (status, page) = app.get(&format!("{path}?limit=200"), token).await;
    assert_eq!(status, 200, "{path}: {page}");
    page["items"].as_array().expect("a list").clone()
}

/// The menu item called `name`.
pub async fn menu_item(app: &TestApp, token: &str, name: &str) -> Value {
    let items = items_of(app, token, "/api/v1/menu/items").await;
    items
        .into_iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no {name} on the menu"))
}

/// The id of the table labelled `label`.
pub async fn table_id(app: &TestApp, token: &str, label: &str) -> i64 {
    let tables = items_of(app, token, "/api/v1/tables").await;
    tables
        .iter()
        .find(|t| t["label"] == label)
        .unwrap_or_else(|| panic!("no table {label}"))["id"]
        .as_i64()
        .unwrap()
}

/// The id of the option `name` among an item's modifier groups.
pub fn option_id(item: &Value, name: &str) -> i64 {
    item["modifier_groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["options"].as_array().unwrap())
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("no option {name}: {item}"))["id"]
        .as_i64()
        .unwrap()
}

/// Places a dine-in order over REST as `token`; returns it.
pub async fn place(app: &TestApp, token: &str, table: i64, key: &str, lines: Value) -> Value {
    let (status, placed) = app
        .post(
            "/api/v1/orders",
            Some(token),
            json!({"idempotency_key": key, "table_id": table, "source": "dine_in", "lines": lines}),
        )
        .await;
    assert_eq!(status, 201, "{placed}");
    placed["order"].clone()
}

/// One headless Chromium, driven through its own chromedriver.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A browser with a window of `width` x `height` (a 1280x800 kitchen
    /// tablet, a 390x844 phone, ...).
    pub async fn open(width: u32, height: u32) -> Browser {
        let port = free_port();
        let mut driver = Command::new(chromedriver())
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts (apt-get install chromium chromium-driver)");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut caps = serde_json::Map::new();
        let mut options = json!({
                "binary": chromium(),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--disable-extensions",
                    "--autoplay-policy=no-user-gesture-required",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ],
        });
        // A window cannot be narrower than 500 px: a phone is emulated.
        if width < 500 {
            options["mobileEmulation"] = json!({
                "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0, "touch": true},
            });
        }
        caps.insert("goog:chromeOptions".into(), options);
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    if let Ok(Some(status)) = driver.try_wait() {
                        panic!("chromedriver exited: {status}");
                    }
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("no browser session from chromedriver: {e}"),
            }
        };
        Browser {
            client,
            driver,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("page opens");
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
    }

    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Taps `css` as a finger would: scrolled to the middle of the screen
    /// first (clear of sticky headers and bars), and again if the live page
    /// redrew it between finding and tapping.
    pub async fn tap(&self, css: &str) {
        for _ in 0..5 {
            let element = self.find(css).await;
            let scrolled = self
                .client
                .execute(
                    "arguments[0].scrollIntoView({block: 'center'});",
                    vec![serde_json::to_value(&element).unwrap()],
                )
                .await;
            if scrolled.is_err() {
                continue;
            }
            match element.click().await {
                Ok(_) => return,
                Err(e) if e.is_stale_element_reference() => continue,
                Err(e) => panic!("tap {css}: {e}"),
            }
        }
        panic!("{css} kept changing under the tap");
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Sets a `<select>` to the option with `value`.
    pub async fn select(&self, css: &str, value: &str) {
        self.find(css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("{css} has no option {value}: {e}"));
    }

    /// The text of the first element matching `css` ("" when there is none).
    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits until `check` holds for the text of `css`, and returns it.
    pub async fn wait_text(&self, css: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = self.text(css).await;
            if check(&text) {
                return text;
            }
            if Instant::now() > deadline {
                let page = self.text("body").await;
                panic!("{css} never showed {what}; it shows {text:?}; the page:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `css` contains `needle`.
    pub async fn wait_for(&self, css: &str, needle: &str) -> String {
        self.wait_text(css, needle, |t| t.contains(needle)).await
    }

    /// Waits until exactly `n` elements match `css`.
    pub async fn wait_count(&self, css: &str, n: usize) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let found = self.all(css).await.len();
            if found == n {
                return;
            }
            if Instant::now() > deadline {
                let page = self.text("body").await;
                panic!("expected {n} of {css}, found {found}; the page:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs a script in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .expect("script runs")
    }

    /// Signs in on the sign-in page at `base` as a demo role, for `page`.
    pub async fn sign_in(&self, base: &str, role: &str, page: &str) {
        self.goto(&format!("{base}/?next={page}")).await;
        self.type_into("#restaurant", "demo").await;
        self.type_into("#email", &email(role)).await;
        self.type_into("#password", PASSWORD).await;
        self.click("#sign-in").await;
        if !self.url_becomes(|url| url.path() != "/").await {
            panic!("sign-in stayed on /: {}", self.text("#error").await);
        }
    }

    /// Waits until the page's address satisfies `check`; `false` if it
    /// never did within [`PATIENCE`].
    pub async fn url_becomes(&self, check: impl Fn(&url::Url) -> bool) -> bool {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if check(&self.url().await) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The page's address now.
    pub async fn url(&self) -> url::Url {
        self.client.current_url().await.expect("url")
    }

    /// Saves a screenshot of the page as `name.png` (module doc).
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let dir = if std::env::var_os("UPDATE_SCREENS").is_some() {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screens")
        } else {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screens")
        };
        std::fs::create_dir_all(&dir).expect("screens dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot saved");
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn chromedriver() -> String {
    std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into())
}

fn chromium() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .unwrap()
        .port()
}

/// A TCP relay in front of a hub: pages connect to it, and the test cuts
/// every connection (and refuses new ones) or points it at another hub.
pub struct Proxy {
    pub base: String,
    target: Arc<Mutex<SocketAddr>>,
    /// (refusing new connections, generation): a relayed connection ends
    /// when the generation it started in is over.
    state: watch::Sender<(bool, u64)>,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let target = Arc::new(Mutex::new(target));
        let (state, _) = watch::channel((false, 0u64));
        let proxy = Proxy {
            base,
            target: target.clone(),
            state: state.clone(),
        };
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let (refusing, generation) = *state.borrow();
                if refusing {
                    drop(inbound);
                    continue;
                }
                let to = *target.lock().unwrap();
                let mut watching = state.subscribe();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(to).await else {
                        return;
                    };
                    let (mut a, mut b) = (inbound, outbound);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut a, &mut b) => {}
                        _ = watching.wait_for(|(_, g)| *g != generation) => {}
                    }
                });
            }
        });
        proxy
    }

    /// Drops every open connection and refuses new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.state.send_modify(|(refusing, generation)| {
            *refusing = true;
            *generation += 1;
        });
    }

    pub fn restore(&self) {
        self.state.send_modify(|(refusing, _)| *refusing = false);
    }

    /// New connections go to `target` from now on; open ones are dropped.
    pub fn point_at(&self, target: SocketAddr) {
        *self.target.lock().unwrap() = target;
        self.state.send_modify(|(_, generation)| *generation += 1);
    }
}
