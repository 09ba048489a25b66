//! Features × profiles table.

use std::fmt;

use serde::Serialize;

use crate::feature::{Category, Feature};
use crate::profile::Profile;

/// Which profile supports which feature, plus the main settings, as a table. `Display` gives
/// aligned text for a terminal; [`to_markdown`](FeatureMatrix::to_markdown) a Markdown table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeatureMatrix {
    /// Column headings: profile names.
    pub profiles: Vec<String>,
    /// Setting rows: name and one value per profile.
    pub settings: Vec<(String, Vec<String>)>,
    /// Feature rows: the feature and whether each profile supports it.
    pub features: Vec<(Feature, Vec<bool>)>,
}

const YES: &str = "✓";
const NO: &str = "–";

impl FeatureMatrix {
    pub(crate) fn new<'a>(profiles: impl Iterator<Item = &'a Profile>) -> FeatureMatrix {
        let profiles: Vec<&Profile> = profiles.collect();
        let row =
            |f: &dyn Fn(&Profile) -> String| profiles.iter().map(|p| f(p)).collect::<Vec<_>>();
        let settings = vec![
            ("release".to_owned(), row(&|p| p.release().to_string())),
            ("build".to_owned(), row(&|p| p.build().to_string())),
            ("platform".to_owned(), row(&|p| p.platform().to_string())),
            (
                "platforms".to_owned(),
                row(&|p| {
                    p.platforms()
                        .iter()
                        .map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                }),
            ),
            (
                "xsi.baseline".to_owned(),
                row(&|p| p.xsi().baseline.to_string()),
            ),
        ];
        let mut features = Vec::new();
        for category in Category::ALL {
            for feature in Feature::ALL.iter().filter(|f| f.category() == *category) {
                features.push((
                    *feature,
                    profiles.iter().map(|p| p.supports(*feature)).collect(),
                ));
            }
        }
        FeatureMatrix {
            profiles: profiles.iter().map(|p| p.name().to_owned()).collect(),
            settings,
            features,
        }
    }

    /// A Markdown table: one row per setting, then one per feature grouped by category.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        out.push_str("| | ");
        out.push_str(&self.profiles.join(" | "));
        out.push_str(" |\n|---|");
        out.push_str(&"---|".repeat(self.profiles.len()));
        out.push('\n');
        for (name, values) in &self.settings {
            out.push_str(&format!("| `{name}` | {} |\n", values.join(" | ")));
        }
        let mut category = None;
        for (feature, support) in &self.features {
            if category != Some(feature.category()) {
                category = Some(feature.category());
                out.push_str(&format!(
                    "| **{}** |{}\n",
                    feature.category(),
                    " |".repeat(self.profiles.len())
                ));
            }
            let cells: Vec<&str> = support.iter().map(|s| if *s { YES } else { NO }).collect();
            out.push_str(&format!("| `{feature}` | {} |\n", cells.join(" | ")));
        }
        out
    }
}

impl fmt::Display for FeatureMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label_width = self
            .features
            .iter()
            .map(|(f, _)| f.as_str().chars().count())
            .chain(self.settings.iter().map(|(s, _)| s.chars().count()))
            .max()
            .unwrap_or(0);
        let widths: Vec<usize> = self
            .profiles
            .iter()
            .enumerate()
            .map(|(i, p)| {
                self.settings
                    .iter()
                    .map(|(_, v)| v[i].chars().count())
                    .chain([p.chars().count()])
                    .max()
                    .unwrap_or(1)
            })
            .collect();
        let line = |label: &str, cells: &[&str]| {
            let mut s = format!("{label:<label_width$}");
            for (cell, width) in cells.iter().zip(&widths) {
                s.push_str(&format!("  {cell:<width$}"));
            }
            s.trim_end().to_owned()
        };
        let names: Vec<&str> = self.profiles.iter().map(String::as_str).collect();
        writeln!(f, "{}", line("", &names))?;
        for (name, values) in &self.settings {
            let cells: Vec<&str> = values.iter().map(String::as_str).collect();
            writeln!(f, "{}", line(name, &cells))?;
        }
        let mut category = None;
        for (feature, support) in &self.features {
            if category != Some(feature.category()) {
                category = Some(feature.category());
                writeln!(f, "\n{}", feature.category())?;
            }
            let cells: Vec<&str> = support.iter().map(|s| if *s { YES } else { NO }).collect();
            writeln!(f, "{}", line(feature.as_str(), &cells))?;
        }
        Ok(())
    }
}
