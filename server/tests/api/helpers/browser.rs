//! A browser-like client: the site's pages and forms, signed in or not.

use std::{sync::Arc, time::Duration};

use reqwest::{Method, RequestBuilder, Response};

use super::{TestApp, TestUser, send};

impl TestApp {
    /// A browser-like client: keeps cookies, sends this site's `Origin` on forms.
    pub fn browser(&self) -> Browser {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            // Tests look at the encoding the server chose: never decompress on the way in.
            .no_gzip()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_provider(jar.clone())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("an HTTP client");
        Browser {
            client,
            jar,
            base: self.address.clone(),
        }
    }

    /// A browser signed in as `user`.
    pub async fn signed_in(&self, user: &TestUser) -> Browser {
        let browser = self.browser();
        browser.sign_in(user).await;
        browser
    }
}

/// A client that behaves like a browser on this site: cookies, and `Origin` on posts.
pub struct Browser {
    pub client: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
    pub base: String,
}

impl Browser {
    /// A request of `method` for `path`, with the browser's cookies.
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// [`Browser::request`] as from one of the site's own pages: with its `Origin`.
    fn site_request(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path).header("origin", &self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        send(
            self.request(Method::GET, path)
                .header("accept", "text/html"),
        )
        .await
    }

    /// Posts a form as the site's own page would.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.post_form_from(path, fields, Some(&self.base)).await
    }

    /// Posts a form with the given `Origin` (or none).
    pub async fn post_form_from(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Response {
        let mut request = self.request(Method::POST, path).form(fields);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        send(request).await
    }

    /// Signs in and checks that it worked.
    pub async fn sign_in(&self, user: &TestUser) {
        let response = self
            .submit_sign_in(&user.email, &user.password, Some("/dashboard"))
            .await;
        assert_eq!(response.status(), 303, "sign in {}", user.email);
        assert_eq!(location(&response), "/dashboard", "sign in {}", user.email);
    }

    /// Posts the sign-in form, with `next` when given; whatever the answer.
    pub async fn submit_sign_in(
        &self,
        email: &str,
        password: &str,
        next: Option<&str>,
    ) -> Response {
        let mut fields = vec![("email", email), ("password", password)];
        fields.extend(next.map(|next| ("next", next)));
        self.post_form("/sign-in", &fields).await
    }

    /// Posts the sign-up form, on to the dashboard.
    pub async fn sign_up(&self, email: &str, password: &str) -> Response {
        self.post_form(
            "/sign-up",
            &[
                ("email", email),
                ("password", password),
                ("next", "/dashboard"),
            ],
        )
        .await
    }

    /// Posts the account page's form for a new API token.
    pub async fn submit_token(&self, name: &str, scope: &str) -> Response {
        self.post_form("/account/tokens", &[("name", name), ("scope", scope)])
            .await
    }

    /// Creates a token through the account page: the token, shown this once.
    pub async fn create_token(&self, name: &str, scope: &str) -> String {
        let response = self.submit_token(name, scope).await;
        // The token comes in this response (never through the session), not to be cached.
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let html = response.text().await.expect("body");
        let marker = html
            .find("data-testid=\"new-token\"")
            .expect("the new token is shown");
        let start = marker + html[marker..].find('>').expect("the tag's end") + 1;
        let end = start + html[start..].find('<').expect("the end of the token");
        let token = html[start..end].to_string();
        assert!(token.starts_with("upc_"), "{token}");
        assert_eq!(token.len(), 47, "{token}");
        token
    }

    /// Posts the account page's form that deletes the account.
    pub async fn delete_account(&self, password: &str) -> Response {
        self.post_form("/account/delete", &[("password", password)])
            .await
    }

    /// Presses a button: a form of no fields posted to `path`.
    pub async fn press(&self, path: &str) -> Response {
        self.post_form(path, &[]).await
    }

    /// Presses a button on page `page`: a post to `path` with the page as its `Referer`.
    pub async fn press_on(&self, page: &str, path: &str) -> Response {
        let referer = format!("{}{page}", self.base);
        send(
            self.site_request(Method::POST, path)
                .header("referer", referer),
        )
        .await
    }

    /// The text of the page at `path`, whatever its status.
    pub async fn html(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("a page")
    }

    /// `GET path` as a script of the page sends it: cookies, no `Accept: text/html`.
    pub async fn fetch(&self, path: &str) -> Response {
        send(self.request(Method::GET, path)).await
    }

    /// Sends a request of `method` as the site's own page would: its `Origin`, and a form
    /// body of nothing.
    pub async fn send_empty_form(&self, method: Method, path: &str) -> Response {
        let request = self.site_request(method, path);
        send(
            request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(""),
        )
        .await
    }

    /// The value of the session cookie, if there is one.
    pub fn session_cookie(&self) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = self.base.parse().expect("a URL");
        let cookies = self.jar.cookies(&url)?;
        cookies
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|pair| pair.strip_prefix("upcount_session=").map(str::to_string))
    }

    /// Replaces the session cookie (to try forged or stolen ones).
    pub fn set_session_cookie(&self, value: &str) {
        let url = self.base.parse().expect("a URL");
        self.jar
            .add_cookie_str(&format!("upcount_session={value}; Path=/"), &url);
    }

    /// Follows a redirect and returns the page's HTML.
    pub async fn follow(&self, response: reqwest::Response) -> String {
        assert_eq!(response.status(), 303, "expected a redirect");
        self.get(&location(&response))
            .await
            .text()
            .await
            .expect("body")
    }
}

/// The value of header `name`, which the response must have.
pub fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("a {name} header"))
        .to_str()
        .expect("an ASCII header")
        .to_string()
}

/// The `Location` of a redirect.
pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string()
}
