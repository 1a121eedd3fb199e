//! Reports for a terminal: the evaluation table and sparklines.

use vektor::eval::HeadReport;

/// The report as aligned text: summary, per-class table, confusion matrix.
pub fn head_table(report: &HeadReport) -> String {
    let mut s = format!(
        "head {}: accuracy {:.3}  macro-F1 {:.3}  weighted-F1 {:.3}  ({} rows",
        report.head, report.accuracy, report.macro_f1, report.weighted_f1, report.rows
    );
    if report.unknown_gold > 0 {
        s += &format!(
            ", {} with a gold label the model does not know, not scored",
            report.unknown_gold
        );
    }
    if report.uncertain > 0 {
        s += &format!(
            ", {} labelled uncertain, counted as misses",
            report.uncertain
        );
    }
    s += ")\n";
    if let (Some(coverage), Some(acc)) = (report.coverage, report.selective_accuracy) {
        s += &format!("  with abstention: coverage {coverage:.3}, accuracy on labelled {acc:.3}\n");
    }
    let width = report
        .classes
        .iter()
        .map(|c| c.len())
        .max()
        .unwrap_or(5)
        .max(9);
    s += &format!(
        "  {:<width$} {:>9} {:>9} {:>9} {:>8}\n",
        "class", "precision", "recall", "f1", "support"
    );
    for r in &report.per_class {
        s += &format!(
            "  {:<width$} {:>9.3} {:>9.3} {:>9.3} {:>8}\n",
            r.class, r.precision, r.recall, r.f1, r.support
        );
    }
    s += &format!(
        "  confusion (rows = gold, columns = predicted)\n  {:<width$}",
        ""
    );
    let cell = report
        .classes
        .iter()
        .map(|c| c.len().min(6))
        .max()
        .unwrap_or(4)
        .max(5);
    for c in &report.classes {
        let short: String = c.chars().take(cell).collect();
        s += &format!(" {short:>cell$}");
    }
    s.push('\n');
    for (c, row) in report.classes.iter().zip(&report.confusion) {
        s += &format!("  {c:<width$}");
        for n in row {
            s += &format!(" {n:>cell$}");
        }
        s.push('\n');
    }
    s
}

/// A Unicode sparkline of `values` scaled between their min and max.
pub fn sparkline(values: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    values
        .iter()
        .map(|v| {
            if max - min < 1e-12 {
                BARS[3]
            } else {
                BARS[(((v - min) / (max - min)) * 7.0).round() as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_scales_between_min_and_max() {
        assert_eq!(sparkline(&[0.1, 0.5, 0.9]), "▁▅█");
        assert_eq!(
            sparkline(&[0.4, 0.4]),
            "▄▄",
            "a flat series sits mid-height"
        );
    }

    #[test]
    fn the_table_shows_every_figure_and_the_confusion() {
        let report = HeadReport::from_pairs(
            "stance",
            &["aligned", "aligned", "neutral", "neutral"],
            &["aligned", "neutral", "neutral", "neutral"],
            &["aligned".to_string(), "neutral".to_string()],
        );
        let table = head_table(&report);
        assert!(
            table.starts_with("head stance: accuracy 0.750  macro-F1 0.733"),
            "{table}"
        );
        assert!(
            table.contains("  aligned       1.000     0.500     0.667        2\n"),
            "{table}"
        );
        assert!(table.contains("  aligned        1      1\n"), "{table}");
        assert!(table.contains("  neutral        0      2\n"), "{table}");
    }
}
