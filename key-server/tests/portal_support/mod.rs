//! A browser-like client for the portal: one cookie (the session), no
//! redirects followed (each test checks where it is sent), forms posted
//! from the portal's own origin as a browser does.

#![allow(dead_code)]

use crate::common::Server;

pub struct Portal {
    pub base: String,
    /// The session cookie, `name=value`, as the server last set it.
    pub cookie: Option<String>,
    client: reqwest::Client,
}

pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookie: Option<String>,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Portal {
    pub fn new(server: &Server) -> Portal {
        Portal::at(&server.base)
    }

    /// A client of the portal at `base` (a server this test did not start).
    pub fn at(base: &str) -> Portal {
        Portal {
            base: base.to_string(),
            cookie: None,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    async fn answer(&mut self, response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        let location = header(reqwest::header::LOCATION);
        let set_cookie = header(reqwest::header::SET_COOKIE);
        if let Some(set) = &set_cookie {
            let pair = set.split(';').next().unwrap().to_string();
            self.cookie = (!pair.ends_with('=')).then_some(pair);
        }
        let bytes = response.bytes().await.unwrap().to_vec();
        Answer {
            status,
            location,
            set_cookie,
            // The templates escape `/` in attributes, as a browser reads them back.
            body: String::from_utf8_lossy(&bytes).replace("&#x2f;", "/"),
            bytes,
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("Cookie", cookie);
        }
        let response = request.send().await.unwrap();
        self.answer(response).await
    }

    /// A form post from the portal's own pages (`Sec-Fetch-Site: same-origin`).
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.post_with(path, form, &[("Sec-Fetch-Site", "same-origin")])
            .await
    }

    pub async fn post_with(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.client.post(format!("{}{path}", self.base)).form(form);
        if let Some(cookie) = &self.cookie {
            request = request.header("Cookie", cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        self.answer(response).await
    }

    /// A multipart form post from the portal's own pages (the compose form).
    pub async fn post_multipart(&mut self, path: &str, form: reqwest::multipart::Form) -> Answer {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Sec-Fetch-Site", "same-origin")
            .multipart(form);
        if let Some(cookie) = &self.cookie {
            request = request.header("Cookie", cookie);
        }
        let response = request.send().await.unwrap();
        self.answer(response).await
    }

    /// Both login steps; the answer to the password step.
    pub async fn log_in(&mut self, email: &str, password: &str, next: &str) -> Answer {
        let step = self
            .post("/portal/login", &[("email", email), ("next", next)])
            .await;
        assert_eq!(step.status, 200, "{}", step.body);
        assert!(step.body.contains("name=\"password\""), "{}", step.body);
        self.post(
            "/portal/login/password",
            &[("email", email), ("password", password), ("next", next)],
        )
        .await
    }

    /// The CSRF token of the last page's forms.
    pub fn csrf(page: &str) -> String {
        let at = page
            .find("name=\"csrf\" value=\"")
            .expect("a form with a csrf token");
        page[at + 19..].split('"').next().unwrap().to_string()
    }
}
