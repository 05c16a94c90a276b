//! `sqlveil eval`: a question set through the pipeline, scored; and
//! `sqlveil eval compare A.json B.json`.

use std::path::Path;
use std::sync::Arc;

use sqlveil::chat::ExampleSet;
use sqlveil::eval::{
    self, EvalOptions, QuestionSet, RecordingModel, ReplayModel, Report, ScriptedEval,
};
use sqlveil::llm::OpenAiModel;
use sqlveil::tokens::MemoryVault;
use sqlveil::{Chat, Error, ErrorKind, LanguageModel, MasterKey, Policy};

use crate::args::{EvalCommand, EvalRun, Keys, Source};

pub(crate) fn command(run: &EvalRun, command: Option<&EvalCommand>) -> Result<u8, Error> {
    match command {
        Some(EvalCommand::Compare { a, b, json }) => compare(a, b, *json),
        None => evaluate(run),
    }
}

fn read_report(path: &Path) -> Result<Report, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read the report {}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| usage(format!("{} is not an eval report: {e}", path.display())))
}

fn compare(a: &Path, b: &Path, json: bool) -> Result<u8, Error> {
    let c = eval::compare(&read_report(a)?, &read_report(b)?);
    if json {
        crate::print(&serde_json::to_value(&c).unwrap_or_default());
    } else {
        print!("{}", c.table());
    }
    Ok(0)
}

fn evaluate(run: &EvalRun) -> Result<u8, Error> {
    let (Some(questions), Some(rules)) = (&run.questions, &run.rules) else {
        return Err(usage(
            "eval needs --questions FILE, --rules FILE and the data (--data, --pg or --spark), or `eval compare A.json B.json`",
        ));
    };
    let set = QuestionSet::from_path(questions)?;
    let source = Source {
        data: run.data.clone(),
        pg: run.pg.clone(),
        spark: run.spark.clone(),
        rules: rules.clone(),
    };
    let (policy, engine) = crate::open(&source)?;
    let key = crate::master_key(&Keys {
        key_file: run.key_file.clone(),
        vault: None,
    })?;
    let RunModel { model, script } = model(run, &policy, &key)?;
    let mut seen = RecordingModel::new(model);
    if let Some(dir) = &run.record {
        seen = seen.record_to(dir)?;
    }
    let seen = Arc::new(seen);
    let detector = Arc::new(crate::known_detector(
        &policy,
        engine.as_ref(),
        &key,
        crate::data_dir(&source),
    )?);
    let mut chat = Chat::builder(policy, engine, seen.clone(), key.clone())
        .detector(detector)
        .vault(Arc::new(MemoryVault::new()))
        .max_repairs(run.max_repairs)
        .order_key(eval::order_key(&key)?);
    if let Some(path) = &run.examples {
        chat = chat.examples(ExampleSet::from_path(path)?);
    }
    if let Some(t) = run.direct_threshold {
        chat = chat.direct_threshold(t);
    }
    let chat = chat.build()?;
    if let Some(s) = &script {
        s.prepare(&chat, &set)?;
    }
    let report = eval::run(&chat, &set, &seen, &EvalOptions::default())?;
    report_outcome(&report, run)
}

/// The model a run asks, and the scripted model again when it is one (it
/// is prepared with the chat).
struct RunModel {
    model: Arc<dyn LanguageModel>,
    script: Option<Arc<ScriptedEval>>,
}

/// The model a run asks: recorded answers (`--replay`), the scripted
/// model (`--scripted`), or a server.
fn model(run: &EvalRun, policy: &Policy, key: &MasterKey) -> Result<RunModel, Error> {
    if let Some(dir) = &run.replay {
        let name = crate::env_or(&run.model, "SQLVEIL_MODEL").unwrap_or_else(|| "replay".into());
        return Ok(RunModel {
            model: Arc::new(ReplayModel::open(dir, name)?),
            script: None,
        });
    }
    if run.scripted {
        let s = Arc::new(ScriptedEval::new(policy, key)?);
        return Ok(RunModel {
            model: s.clone(),
            script: Some(s),
        });
    }
    let Some(url) = crate::env_or(&run.model_url, "SQLVEIL_MODEL_URL") else {
        return Err(usage(
            "no model is given: pass --model-url URL and --model NAME, --replay DIR or --scripted",
        ));
    };
    let Some(name) = crate::env_or(&run.model, "SQLVEIL_MODEL") else {
        return Err(usage(
            "no model name is given: pass --model NAME or set SQLVEIL_MODEL",
        ));
    };
    let model = OpenAiModel::builder(url, name)
        .timeout(std::time::Duration::from_secs(run.timeout.max(1)))
        .api_key_from_env()
        .build()?;
    Ok(RunModel {
        model: Arc::new(model),
        script: None,
    })
}

/// Prints the report's table, writes its JSON (`--json`), and fails the run
/// when a protected value reached the model.
fn report_outcome(report: &Report, run: &EvalRun) -> Result<u8, Error> {
    print!("{}", report.table());
    if let Some(path) = &run.json {
        let text = serde_json::to_string_pretty(report)
            .map_err(|e| usage(format!("cannot write the report: {e}")))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))?;
    }
    // Any protected value in a model request fails the run, unless the
    // question set marks it reviewed.
    let found = report.privacy.unreviewed();
    if found > 0 {
        eprintln!(
            "sqlveil: eval failed: {found} protected value(s) of the data reached the model (privacy check); see the list above"
        );
        return Ok(1);
    }
    Ok(0)
}

fn usage(message: impl Into<String>) -> Error {
    Error::from(ErrorKind::Usage(message.into()))
}
