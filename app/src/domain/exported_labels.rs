//! The labels a tracker's series carries where Upcount speaks Prometheus (the scrape
//! endpoint, the PromQL query API): `tracker`, `label`, `kind`, `key` and `metric`, then a
//! pushed series' own labels. A pushed label named like one of those five is exported as
//! `exported_<name>`, as Prometheus renames a scraped label that clashes with a target's.

use std::collections::BTreeMap;

/// The labels Upcount itself gives every series.
pub const OWN: [&str; 5] = ["tracker", "label", "kind", "key", "metric"];

/// A series' labels, in this order: Upcount's five, then the pushed ones by name.
/// `metric` is the metric's name without its label set (a pushed `signups{plan="pro"}`
/// is `metric="signups"` with `plan="pro"`).
pub fn exported_labels(
    tracker: &str,
    label: &str,
    kind: &str,
    key: &str,
    metric: &str,
    pushed: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let mut labels: Vec<(String, String)> = OWN
        .iter()
        .zip([tracker, label, kind, key, metric])
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    for (name, value) in pushed {
        let name = if OWN.contains(&name.as_str()) {
            format!("exported_{name}")
        } else {
            name.clone()
        };
        labels.push((name, value.clone()));
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_labels_follow_upcounts_and_clashes_are_renamed() {
        let pushed = BTreeMap::from([
            ("plan".to_string(), "pro".to_string()),
            ("key".to_string(), "k1".to_string()),
        ]);
        assert_eq!(
            exported_labels("t1", "Sales", "push", "t1", "signups", &pushed),
            vec![
                ("tracker".to_string(), "t1".to_string()),
                ("label".to_string(), "Sales".to_string()),
                ("kind".to_string(), "push".to_string()),
                ("key".to_string(), "t1".to_string()),
                ("metric".to_string(), "signups".to_string()),
                ("exported_key".to_string(), "k1".to_string()),
                ("plan".to_string(), "pro".to_string()),
            ]
        );
        assert_eq!(
            exported_labels("t", "l", "github.repo", "a/b", "stars", &BTreeMap::new()).len(),
            5
        );
    }
}
