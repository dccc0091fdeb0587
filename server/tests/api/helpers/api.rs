//! The REST API as a client calls it, with typed calls for what the tests do most.

use app::domain::{Role, TokenScope};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::{TestApp, TestUser};

/// A status and the JSON body (`Null` when empty) of an API call.
pub type Answer = (StatusCode, Value);

impl TestApp {
    /// An API token of `scope` for the workspace of `user`.
    pub async fn token(&self, user: &TestUser, scope: TokenScope) -> String {
        let current = app::server::db::users::find_current(&self.pool, user.id)
            .await
            .expect("find the user")
            .expect("the user exists");
        let token = app::server::tokens::generate();
        app::server::db::tokens::create(
            &self.pool,
            current.workspace_id,
            user.id,
            &app::domain::TokenName::parse("tests").expect("a name"),
            scope,
            &token,
        )
        .await
        .expect("create a token");
        token.token
    }

    /// A new member (see [`TestApp::create_user`]) and a token of `scope` for their
    /// workspace.
    pub async fn member_with_token(&self, scope: TokenScope) -> (TestUser, String) {
        let user = self.create_user(Role::Member).await;
        let token = self.token(&user, scope).await;
        (user, token)
    }

    /// `method path` with `Authorization: Bearer token` and a JSON body.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.request(method, path).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = super::send(request).await;
        let status = response.status();
        let text = response.text().await.expect("a body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON from {path}: {text}"))
        };
        (status, json)
    }

    /// `GET path` with `Authorization: Bearer token`: the response as it comes, for
    /// answers that are not JSON.
    pub async fn get_with_token(&self, path: &str, token: &str) -> reqwest::Response {
        super::send(self.request(Method::GET, path).bearer_auth(token)).await
    }

    /// `GET` of the REST API with `token`.
    pub async fn api_get(&self, path: &str, token: &str) -> Answer {
        self.api(Method::GET, path, token, None).await
    }

    /// `DELETE` of the REST API with `token`.
    pub async fn api_delete(&self, path: &str, token: &str) -> Answer {
        self.api(Method::DELETE, path, token, None).await
    }

    /// `POST` of `body` to the REST API with `token`.
    pub async fn api_post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.api(Method::POST, path, token, Some(body)).await
    }

    /// `PATCH` of `body` to the REST API with `token`.
    pub async fn api_patch(&self, path: &str, token: &str, body: Value) -> Answer {
        self.api(Method::PATCH, path, token, Some(body)).await
    }

    /// `POST /api/v1/trackers` of `body`, whatever the answer.
    pub async fn post_tracker(&self, token: &str, body: Value) -> Answer {
        self.api_post("/api/v1/trackers", token, body).await
    }

    /// Adds a tracker through the API (`body` as for `POST /api/v1/trackers`) and returns
    /// its id; the request must succeed.
    pub async fn add_tracker(&self, token: &str, body: Value) -> String {
        let (status, answer) = self.post_tracker(token, body).await;
        assert!(status.is_success(), "add a tracker: {status} {answer}");
        answer["tracker"]["id"]
            .as_str()
            .expect("the tracker's id")
            .to_string()
    }

    /// Adds a tracker of `url` (see [`TestApp::add_tracker`]): its id.
    pub async fn track(&self, token: &str, url: &str) -> String {
        self.add_tracker(token, serde_json::json!({ "url": url }))
            .await
    }

    /// `POST /api/v1/trackers/preview` of `body`.
    pub async fn preview(&self, token: &str, body: Value) -> Answer {
        self.api_post("/api/v1/trackers/preview", token, body).await
    }

    /// `GET /api/v1/trackers/{id}`.
    pub async fn tracker(&self, token: &str, id: &str) -> Answer {
        self.api_get(&format!("/api/v1/trackers/{id}"), token).await
    }

    /// `PATCH /api/v1/trackers/{id}` with `body`.
    pub async fn patch_tracker(&self, token: &str, id: &str, body: Value) -> Answer {
        self.api(
            Method::PATCH,
            &format!("/api/v1/trackers/{id}"),
            token,
            Some(body),
        )
        .await
    }

    /// Deletes tracker `id`: the status.
    pub async fn delete_tracker(&self, token: &str, id: &str) -> StatusCode {
        self.api_delete(&format!("/api/v1/trackers/{id}"), token)
            .await
            .0
    }

    /// `GET /api/v1/trackers/{id}/series?{query}`.
    pub async fn series(&self, token: &str, id: &str, query: &str) -> Answer {
        self.api_get(&format!("/api/v1/trackers/{id}/series?{query}"), token)
            .await
    }

    /// `POST /api/v1/trackers/{id}/share`.
    pub async fn share(&self, token: &str, id: &str) -> Answer {
        self.api(
            Method::POST,
            &format!("/api/v1/trackers/{id}/share"),
            token,
            None,
        )
        .await
    }

    /// Shares tracker `id`: the token of its public page and badge.
    pub async fn share_token(&self, token: &str, id: &str) -> String {
        let (status, shared) = self.share(token, id).await;
        assert_eq!(status, StatusCode::OK, "{shared}");
        shared["share"]["token"]
            .as_str()
            .expect("a share token")
            .to_string()
    }

    /// `DELETE /api/v1/trackers/{id}/share`: the status.
    pub async fn unshare(&self, token: &str, id: &str) -> StatusCode {
        self.api_delete(&format!("/api/v1/trackers/{id}/share"), token)
            .await
            .0
    }
}

/// The latest value of `metric` in a tracker as the API shows it.
pub fn latest(tracker: &Value, metric: &str) -> Option<f64> {
    tracker["metrics"]
        .as_array()?
        .iter()
        .find(|candidate| candidate["name"] == metric)?["latest"]
        .as_f64()
}

/// [`expect_error`] with 422 Unprocessable Entity, the answer to what cannot be done.
#[track_caller]
pub fn expect_unprocessable(answer: Answer, part: &str) -> Value {
    expect_error(answer, StatusCode::UNPROCESSABLE_ENTITY, part)
}

/// Checks that `answer` is `status` with an error message containing `part`: its body.
#[track_caller]
pub fn expect_error(answer: Answer, status: StatusCode, part: &str) -> Value {
    let (got, body) = answer;
    assert_eq!(got, status, "{body}");
    let message = body["error"].as_str().expect("an error message");
    assert!(message.contains(part), "{part:?} in {body}");
    body
}
