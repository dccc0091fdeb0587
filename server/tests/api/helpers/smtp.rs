//! A small SMTP server for the tests: it listens on 127.0.0.1 over TCP, speaks enough SMTP
//! for lettre (EHLO/HELO, MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT) and keeps every
//! message it accepts. It can refuse a recipient for good (550) or for now (451, a given
//! number of times), and [`Delivered`] reads a message's subject, parts and links.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::Engine as _;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

use super::eventually;

/// A message the sink accepted.
#[derive(Clone, Debug)]
pub struct Delivered {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after `DATA`, dot-stuffing undone.
    pub raw: String,
}

#[derive(Default)]
struct State {
    delivered: Vec<Delivered>,
    /// Recipients answered 550.
    refused: Vec<String>,
    /// Recipients answered 451, this many more times.
    deferred: HashMap<String, usize>,
    /// Every RCPT TO the sink was sent, in order.
    attempts: Vec<String>,
}

/// The running sink; it stops with the test's runtime.
#[derive(Clone)]
pub struct SmtpSink {
    pub address: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink");
        let address = listener.local_addr().expect("the sink's address");
        let state = Arc::new(Mutex::new(State::default()));
        tokio::spawn({
            let state = state.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(stream, state.clone()));
                }
            }
        });
        Self { address, state }
    }

    /// `UPCOUNT_SMTP_URL` for this sink (plain SMTP, no TLS).
    pub fn url(&self) -> String {
        format!("smtp://{}", self.address)
    }

    /// Answers 550 to `recipient` from now on.
    pub fn refuse(&self, recipient: &str) {
        self.lock().refused.push(recipient.to_lowercase());
    }

    /// Answers 451 to `recipient` the next `times` times.
    pub fn defer(&self, recipient: &str, times: usize) {
        self.lock().deferred.insert(recipient.to_lowercase(), times);
    }

    /// How many times a message for `recipient` was offered (accepted or not).
    pub fn attempts_for(&self, recipient: &str) -> usize {
        let recipient = recipient.to_lowercase();
        self.lock()
            .attempts
            .iter()
            .filter(|to| **to == recipient)
            .count()
    }

    /// The messages accepted for `recipient`.
    pub fn messages_to(&self, recipient: &str) -> Vec<Delivered> {
        let recipient = recipient.to_lowercase();
        self.lock()
            .delivered
            .iter()
            .filter(|message| message.to.contains(&recipient))
            .cloned()
            .collect()
    }

    /// Waits (up to 30 s) until `count` messages were accepted for `recipient`.
    pub async fn wait_for(&self, recipient: &str, count: usize) -> Vec<Delivered> {
        eventually(
            Duration::from_secs(30),
            &format!("{count} message(s) for {recipient}"),
            || async {
                let messages = self.messages_to(recipient);
                (messages.len() >= count).then_some(messages)
            },
        )
        .await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("the sink's state")
    }
}

/// One SMTP conversation.
async fn serve(stream: TcpStream, state: Arc<Mutex<State>>) {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let reply = async |writer: &mut tokio::net::tcp::OwnedWriteHalf, text: &str| {
        writer.write_all(text.as_bytes()).await.is_ok()
    };
    if !reply(&mut writer, "220 sink.test ESMTP test sink\r\n").await {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::<String>::new());
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_string();
        let upper = command.to_ascii_uppercase();
        let answer = if upper.starts_with("EHLO") {
            "250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".to_string()
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            "250 OK\r\n".to_string()
        } else if upper.starts_with("RSET") {
            (from, to) = (String::new(), Vec::new());
            "250 OK\r\n".to_string()
        } else if upper.starts_with("MAIL FROM:") {
            from = address_in(&command);
            to.clear();
            "250 OK\r\n".to_string()
        } else if upper.starts_with("RCPT TO:") {
            let recipient = address_in(&command).to_lowercase();
            let mut state = state.lock().expect("the sink's state");
            state.attempts.push(recipient.clone());
            if state.refused.contains(&recipient) {
                "550 5.1.1 No such mailbox here\r\n".to_string()
            } else if let Some(left) = state.deferred.get_mut(&recipient)
                && *left > 0
            {
                *left -= 1;
                "451 4.3.0 Try again later\r\n".to_string()
            } else {
                to.push(recipient);
                "250 OK\r\n".to_string()
            }
        } else if upper == "DATA" {
            if to.is_empty() {
                "554 No valid recipients\r\n".to_string()
            } else {
                if !reply(&mut writer, "354 End data with <CR><LF>.<CR><LF>\r\n").await {
                    return;
                }
                let mut raw = String::new();
                loop {
                    line.clear();
                    match reader.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    let data = line.trim_end_matches(['\r', '\n']);
                    if data == "." {
                        break;
                    }
                    raw.push_str(data.strip_prefix('.').unwrap_or(data));
                    raw.push('\n');
                }
                state
                    .lock()
                    .expect("the sink's state")
                    .delivered
                    .push(Delivered {
                        from: from.clone(),
                        to: std::mem::take(&mut to),
                        raw,
                    });
                "250 OK queued\r\n".to_string()
            }
        } else if upper.starts_with("QUIT") {
            let _ = reply(&mut writer, "221 Bye\r\n").await;
            return;
        } else {
            "502 Command not implemented\r\n".to_string()
        };
        if !reply(&mut writer, &answer).await {
            return;
        }
    }
}

/// The address between `<` and `>` of `MAIL FROM:<…>` or `RCPT TO:<…>`.
fn address_in(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(address, _)| address.to_string())
        .unwrap_or_default()
}

impl Delivered {
    /// The value of header `name` (unfolded) in the message's head.
    pub fn header(&self, name: &str) -> Option<String> {
        header_in(head_of(&self.raw), name)
    }

    pub fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }

    /// The decoded body of the part of type `mime` (`text/plain`, `text/html`) of the
    /// `multipart/alternative` message.
    pub fn part(&self, mime: &str) -> String {
        let content_type = self.header("Content-Type").unwrap_or_default();
        assert!(
            content_type.starts_with("multipart/alternative"),
            "a multipart/alternative message: {}",
            self.raw
        );
        let boundary = content_type
            .split("boundary=")
            .nth(1)
            .map(|boundary| boundary.trim_matches('"').to_string())
            .expect("a boundary");
        let body = body_of(&self.raw);
        let delimiter = format!("--{boundary}");
        for part in body.split(&delimiter).skip(1) {
            let part = part.trim_start_matches('\n');
            let head = head_of(part);
            let part_type = header_in(head, "Content-Type").unwrap_or_default();
            if part_type.starts_with(mime) {
                let encoding = header_in(head, "Content-Transfer-Encoding")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                return decode(body_of(part).trim_end_matches('\n'), &encoding);
            }
        }
        panic!("no {mime} part in {}", self.raw)
    }

    pub fn text(&self) -> String {
        self.part("text/plain")
    }

    pub fn html(&self) -> String {
        self.part("text/html")
    }

    /// The links of the plain-text part (`http://…` up to the next space).
    pub fn links(&self) -> Vec<String> {
        self.text()
            .split_whitespace()
            .filter(|word| word.starts_with("http://") || word.starts_with("https://"))
            .map(str::to_string)
            .collect()
    }

    /// The first link of the plain-text part containing `needle`, as a path and query.
    pub fn link_path(&self, needle: &str) -> String {
        let link = self
            .links()
            .into_iter()
            .find(|link| link.contains(needle))
            .unwrap_or_else(|| panic!("a link with {needle} in {}", self.text()));
        let url = url::Url::parse(&link).expect("a URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        }
    }
}

fn head_of(message: &str) -> &str {
    message.split_once("\n\n").map_or(message, |(head, _)| head)
}

fn body_of(message: &str) -> &str {
    message.split_once("\n\n").map_or("", |(_, body)| body)
}

fn header_in(head: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    for line in head.lines() {
        if let Some(current) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                current.push(' ');
                current.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((key, rest)) = line.split_once(':')
            && key.eq_ignore_ascii_case(name)
        {
            value = Some(rest.trim().to_string());
        }
    }
    value
}

fn decode(body: &str, encoding: &str) -> String {
    match encoding {
        "base64" => {
            let joined: String = body.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(joined)
                .expect("base64");
            String::from_utf8(bytes).expect("UTF-8")
        }
        "quoted-printable" => {
            let mut bytes = Vec::new();
            for line in body.split('\n') {
                let (line, soft) = match line.strip_suffix('=') {
                    Some(line) => (line, true),
                    None => (line, false),
                };
                let raw = line.as_bytes();
                let mut i = 0;
                while i < raw.len() {
                    if raw[i] == b'=' && i + 2 < raw.len() {
                        let hex = std::str::from_utf8(&raw[i + 1..i + 3]).expect("hex");
                        bytes.push(u8::from_str_radix(hex, 16).expect("a hex byte"));
                        i += 3;
                    } else {
                        bytes.push(raw[i]);
                        i += 1;
                    }
                }
                if !soft {
                    bytes.push(b'\n');
                }
            }
            String::from_utf8(bytes)
                .expect("UTF-8")
                .trim_end_matches('\n')
                .to_string()
        }
        _ => body.to_string(),
    }
}
