//! The offline demo: questions about the bundled sample data, answered
//! through the whole pipeline by a scripted model.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! For each question it prints what the user asked, what the model was sent,
//! the SQL it wrote (and any repair), the rows the model saw and what the
//! user sees. The scripted model stands in for an LLM: it answers from a
//! small table of SQL written for these questions, reading tokens from the
//! scrubbed question as a real model would.
//!
//! With an OpenAI-compatible endpoint in the environment the same questions
//! then go to that model:
//!
//! ```text
//! SQLVEIL_MODEL_URL=http://127.0.0.1:8080/v1 SQLVEIL_MODEL=qwen2.5-coder \
//!     cargo run --example quickstart
//! ```

use polars::prelude::DataFrame;
use sqlveil::error::ModelError;
use sqlveil::llm::{ModelRequest, OpenAiModel, ScriptedModel};
use sqlveil::{Chat, Context, Engine, LanguageModel, MasterKey, PolarsEngine, Policy};

const QUESTIONS: &[(&str, &str)] = &[
    ("How many customers are in each segment?", "analyst"),
    ("What is the average income per city?", "analyst"),
    (
        "Which orders did liam.johnson@hotmail.com place, and what is their name?",
        "support",
    ),
    (
        "When did Charles Garcia last order, and how much?",
        "analyst",
    ),
    ("Show me the SSNs of our customers in Austin.", "support"),
];

/// The scripted model: the SQL a model would write for each question, and a
/// plain answer writer that reads the result rows from its request.
fn scripted() -> ScriptedModel {
    ScriptedModel::from_fn(|req: &ModelRequest| {
        let last = req
            .messages
            .last()
            .map(|m| m.content.as_str())
            .unwrap_or("");
        if req.system.starts_with("You answer") {
            return Ok(write_answer(last));
        }
        let question = req
            .messages
            .first()
            .map(|m| m.content.as_str())
            .unwrap_or("");
        let repair = req.messages.len() > 1;
        let sql = if question.contains("segment") {
            "SELECT segment, COUNT(*) AS customers FROM customers GROUP BY segment ORDER BY segment"
                .to_string()
        } else if question.contains("income") {
            "SELECT city, AVG(income) AS avg_income FROM customers GROUP BY city ORDER BY city"
                .to_string()
        } else if question.contains("last order") {
            // The name is the data's own value: it reached the model as the
            // same token the customer's rows carry.
            let token = token_in(question, "<person_");
            format!(
                "SELECT c.full_name AS customer, o.order_date, o.amount \
                 FROM customers c JOIN orders o ON o.customer_id = c.customer_id \
                 WHERE c.full_name = '{token}' ORDER BY o.order_date DESC LIMIT 1"
            )
        } else if question.contains("orders did") {
            // The email reached the model as a token; the guard turns it
            // back into the value inside the WHERE clause.
            let token = token_in(question, "<email_");
            format!(
                "SELECT c.full_name AS customer, o.order_id, o.order_date, o.amount \
                 FROM customers c JOIN orders o ON o.customer_id = c.customer_id \
                 WHERE c.email = '{token}' ORDER BY o.order_id"
            )
        } else if question.contains("SSN") && !repair {
            // Refused: ssn is `deny`. The refusal goes back to the model.
            "SELECT full_name, ssn FROM customers WHERE city = 'Austin'".to_string()
        } else if question.contains("SSN") {
            "SELECT full_name AS customer, city FROM customers WHERE city = 'Austin' LIMIT 3"
                .to_string()
        } else {
            return Err(ModelError::Refused(
                "the scripted model has no SQL for this question".into(),
            ));
        };
        Ok(format!("```sql\n{sql}\n```"))
    })
}

/// The first token of a class in a text, as a model would copy it.
fn token_in<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.split_whitespace()
        .find(|w| w.starts_with(prefix))
        .map(|w| w.trim_end_matches(|c| c != '>'))
        .unwrap_or("<unknown>")
}

/// Writes a one-line answer from the result table in the request.
fn write_answer(request: &str) -> String {
    let Some(result) = request.split("\nResult: ").nth(1) else {
        return "I could not read the result.".into();
    };
    let mut lines = result.lines();
    let count = lines.next().unwrap_or("");
    let header: Vec<&str> = lines.next().unwrap_or("").split(" | ").collect();
    let first: Vec<&str> = lines.next().unwrap_or("").split(" | ").collect();
    let pairs: Vec<String> = header
        .iter()
        .zip(&first)
        .map(|(h, v)| format!("{h} {v}"))
        .collect();
    format!("{count}; the first has {}.", pairs.join(", "))
}

fn show(title: &str, df: &DataFrame) {
    println!("  {title} ({} rows):", df.height());
    let head = df.head(Some(3));
    for line in format!("{head}").lines() {
        println!("    {line}");
    }
}

fn run(
    model: impl LanguageModel + 'static,
    key: &MasterKey,
) -> Result<(), Box<dyn std::error::Error>> {
    let policy = Policy::from_path("rules/sample.toml")?;
    let engine = PolarsEngine::open("examples/data", &policy)?;
    println!(
        "{} tables, engine dialect {}\n",
        engine.catalog().tables().len(),
        engine.dialect().name()
    );
    // `hash` tokens live in memory for this run (no `.vault(..)`).
    let chat = Chat::new(policy, engine, model, key.clone())?;
    for (question, role) in QUESTIONS {
        println!("Q ({role}): {question}");
        match chat.ask(question, Context::new("quickstart").role(*role)) {
            Ok(a) => {
                println!("  model saw the question: {}", a.question_sent);
                for t in &a.attempts {
                    if let (Some(sql), Some(e)) = (&t.sql, &t.error) {
                        println!("  refused SQL: {sql}");
                        println!("    sent back: {}", e.feedback);
                    }
                }
                println!("  SQL: {}", a.sql);
                show("model saw", &a.model_rows);
                show("user sees", &a.rows);
                println!(
                    "  model wrote: {}",
                    a.model_answer.as_deref().unwrap_or("-")
                );
                println!("  user reads:  {}", a.answer.as_deref().unwrap_or("-"));
                println!(
                    "  {} model calls, pipeline overhead {:.2} ms\n",
                    a.model_calls,
                    a.timings.overhead().as_secs_f64() * 1000.0
                );
            }
            Err(e) => println!("  not answered: {e}\n"),
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A demo key. Real deployments set SQLVEIL_KEY (32 random bytes) and keep
    // it secret: it is what makes tokens unguessable.
    let key = match MasterKey::from_env() {
        Ok(k) => k,
        Err(_) => MasterKey::from_bytes(&[42; 32]),
    };
    println!("== sqlveil quickstart: scripted model, sample data ==\n");
    run(scripted(), &key)?;

    if let Some(model) = OpenAiModel::from_env()? {
        println!("== the same questions with {} ==\n", model.name());
        run(model, &key)?;
    } else {
        println!(
            "(Set SQLVEIL_MODEL_URL and SQLVEIL_MODEL to run these questions on a real model.)"
        );
    }
    Ok(())
}
