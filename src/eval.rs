//! `design-coach eval`: checks rubric items against human-labelled answers, so a rubric
//! change is measured (precision and recall per item) instead of guessed.

use crate::grading::Grader;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Read;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read the CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("row {row}: expected 5 columns question,step,item,expected,response, found {found}")]
    Columns { row: usize, found: usize },
    #[error("row {row}: {message}")]
    Row { row: usize, message: String },
    #[error("the CSV has no labelled rows")]
    Empty,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ItemStats {
    pub question: String,
    pub item: String,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    pub true_negatives: usize,
}

impl ItemStats {
    pub fn precision(&self) -> Option<f64> {
        let predicted = self.true_positives + self.false_positives;
        (predicted > 0).then(|| self.true_positives as f64 / predicted as f64)
    }

    pub fn recall(&self) -> Option<f64> {
        let actual = self.true_positives + self.false_negatives;
        (actual > 0).then(|| self.true_positives as f64 / actual as f64)
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Misclassified {
    pub row: usize,
    pub question: String,
    pub item: String,
    pub expected: bool,
    pub response: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EvalReport {
    pub rows: usize,
    pub correct: usize,
    pub items: Vec<ItemStats>,
    pub misclassified: Vec<Misclassified>,
}

impl EvalReport {
    pub fn accuracy(&self) -> f64 {
        if self.rows == 0 { 0.0 } else { self.correct as f64 / self.rows as f64 }
    }

    fn totals(&self) -> ItemStats {
        let mut total = ItemStats::default();
        for stats in &self.items {
            total.true_positives += stats.true_positives;
            total.false_positives += stats.false_positives;
            total.false_negatives += stats.false_negatives;
            total.true_negatives += stats.true_negatives;
        }
        total
    }

    pub fn precision(&self) -> Option<f64> {
        self.totals().precision()
    }

    pub fn recall(&self) -> Option<f64> {
        self.totals().recall()
    }
}

/// Reads `question,step,item,expected,response` rows (a header row is allowed) and checks
/// each response against the item.
pub fn evaluate(grader: &Grader, input: impl Read) -> Result<EvalReport, EvalError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(input);
    let mut stats: BTreeMap<(String, String), ItemStats> = BTreeMap::new();
    let mut misclassified = Vec::new();
    let (mut rows, mut correct) = (0, 0);
    for (index, record) in reader.records().enumerate() {
        let record = record?;
        let row = index + 1;
        if record.len() != 5 {
            return Err(EvalError::Columns { row, found: record.len() });
        }
        let (question_id, step, item_id, expected, response) =
            (record[0].trim(), record[1].trim(), record[2].trim(), record[3].trim(), &record[4]);
        if row == 1 && question_id == "question" {
            continue;
        }
        let expected = match expected {
            "1" => true,
            "0" => false,
            other => return Err(EvalError::Row { row, message: format!("expected must be 1 or 0, not {other:?}") }),
        };
        let question =
            grader.question(question_id).map_err(|error| EvalError::Row { row, message: error.to_string() })?;
        let Some(item) = question.items.iter().find(|item| &*item.id == item_id) else {
            let suggestion = crate::content::closest(item_id, question.items.iter().map(|item| &*item.id))
                .map(|id| format!("; did you mean `{id}`?"))
                .unwrap_or_default();
            return Err(EvalError::Row {
                row,
                message: format!("question `{question_id}` has no item `{item_id}`{suggestion}"),
            });
        };
        if !step.is_empty() && &*item.step != step {
            return Err(EvalError::Row {
                row,
                message: format!("item `{item_id}` belongs to step `{}`, not `{step}`", item.step),
            });
        }
        let credited = grader.credits(question, item_id, response).unwrap_or(false);
        let entry = stats.entry((question_id.to_string(), item_id.to_string())).or_insert_with(|| ItemStats {
            question: question_id.to_string(),
            item: item_id.to_string(),
            ..ItemStats::default()
        });
        match (expected, credited) {
            (true, true) => entry.true_positives += 1,
            (false, true) => entry.false_positives += 1,
            (true, false) => entry.false_negatives += 1,
            (false, false) => entry.true_negatives += 1,
        }
        rows += 1;
        if expected == credited {
            correct += 1;
        } else {
            misclassified.push(Misclassified {
                row,
                question: question_id.to_string(),
                item: item_id.to_string(),
                expected,
                response: response.to_string(),
            });
        }
    }
    if rows == 0 {
        return Err(EvalError::Empty);
    }
    Ok(EvalReport { rows, correct, items: stats.into_values().collect(), misclassified })
}

fn percent(value: Option<f64>) -> String {
    value.map(|v| format!("{:.0}%", v * 100.0)).unwrap_or_else(|| "-".into())
}

/// The report `design-coach eval` prints.
pub fn render(report: &EvalReport) -> String {
    let mut out = String::new();
    out.push_str(&format!("{:<40} {:>5} {:>10} {:>7}\n", "question/item", "rows", "precision", "recall"));
    for stats in &report.items {
        let rows = stats.true_positives + stats.false_positives + stats.false_negatives + stats.true_negatives;
        out.push_str(&format!(
            "{:<40} {:>5} {:>10} {:>7}\n",
            format!("{}/{}", stats.question, stats.item),
            rows,
            percent(stats.precision()),
            percent(stats.recall())
        ));
    }
    out.push_str(&format!(
        "\n{} rows: accuracy {:.1}%, precision {}, recall {}\n",
        report.rows,
        report.accuracy() * 100.0,
        percent(report.precision()),
        percent(report.recall())
    ));
    if !report.misclassified.is_empty() {
        out.push_str(&format!("\nMisclassified ({}):\n", report.misclassified.len()));
        for miss in &report.misclassified {
            let what = if miss.expected { "missed" } else { "wrongly credited" };
            out.push_str(&format!("  row {} {}/{} {what}: {:?}\n", miss.row, miss.question, miss.item, miss.response));
        }
    }
    out
}
