//! A local HTTP server that plays an OpenAI-compatible endpoint: canned
//! replies, recorded request bodies. Used by the tests and by
//! `benches/pipeline.rs`.

#![allow(dead_code)]

/// One canned HTTP answer: status, extra headers, body, and a delay before
/// answering.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: std::time::Duration,
}

impl Reply {
    pub fn ok(body: impl Into<String>) -> Reply {
        Reply {
            status: 200,
            headers: vec![],
            body: body.into(),
            delay: std::time::Duration::ZERO,
        }
    }

    pub fn status(status: u16, body: impl Into<String>) -> Reply {
        Reply {
            status,
            ..Reply::ok(body)
        }
    }

    /// A chat-completions answer with this content.
    pub fn completion(content: &str) -> Reply {
        Reply::ok(
            serde_json::json!({
                "id": "x",
                "object": "chat.completion",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
            })
            .to_string(),
        )
    }
}

/// A local HTTP server on 127.0.0.1 that answers with canned replies in
/// order (the last one repeated) and records every request body.
pub struct MockServer {
    pub url: String,
    pub bodies: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl MockServer {
    pub fn start(replies: Vec<Reply>) -> MockServer {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        let url = format!(
            "http://{}/v1",
            listener.local_addr().expect("local address")
        );
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = bodies.clone();
        std::thread::spawn(move || {
            let mut n = 0usize;
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
                let mut len = 0usize;
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    let l = line.trim_end();
                    if l.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = l.split_once(':') {
                        if k.eq_ignore_ascii_case("content-length") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                    }
                }
                let mut body = vec![0u8; len];
                let _ = reader.read_exact(&mut body);
                {
                    let mut seen = seen.lock().expect("bodies");
                    // Benchmarks send many requests: keep the latest only.
                    if seen.len() >= 10_000 {
                        seen.drain(..5_000);
                    }
                    seen.push(String::from_utf8_lossy(&body).to_string());
                }
                let reply = replies
                    .get(n)
                    .or(replies.last())
                    .cloned()
                    .expect("at least one reply");
                n += 1;
                std::thread::sleep(reply.delay);
                let mut head = format!(
                    "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                    reply.status,
                    reply.body.len()
                );
                for (k, v) in &reply.headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(reply.body.as_bytes());
                let _ = stream.flush();
            }
        });
        MockServer { url, bodies }
    }

    pub fn bodies(&self) -> Vec<String> {
        self.bodies.lock().expect("bodies").clone()
    }
}
