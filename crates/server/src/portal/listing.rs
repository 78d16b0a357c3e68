//! Listings: one table model rendered as an HTML table (stacked rows on a phone), CSV or JSON,
//! so every listing the portal shows can be downloaded as it is shown.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::render::escape;

/// One cell: what a page shows, and the plain text a download carries.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    html: String,
    text: String,
}

impl Cell {
    pub fn text(text: impl Into<String>) -> Cell {
        let text = text.into();
        Cell {
            html: escape(&text),
            text,
        }
    }

    /// Text whose backticked spans are code.
    pub fn inline(text: &str) -> Cell {
        Cell {
            html: crate::render::inline(text),
            text: text.replace('`', ""),
        }
    }

    pub fn html(html: impl Into<String>, text: impl Into<String>) -> Cell {
        Cell {
            html: html.into(),
            text: text.into(),
        }
    }
}

/// A listing: a caption, its columns and its rows.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    pub caption: String,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// `?format=csv|json`: a listing downloaded instead of shown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    #[default]
    Html,
    Csv,
    Json,
}

impl Listing {
    pub fn new(caption: impl Into<String>, columns: &[&'static str]) -> Listing {
        Listing {
            caption: caption.into(),
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table; on a narrow screen each row stacks, each cell under its column's name.
    pub fn table(&self) -> String {
        let mut html = format!(
            "<table class=\"stack\"><caption>{}</caption><thead><tr>",
            escape(&self.caption)
        );
        for column in &self.columns {
            html.push_str(&format!("<th scope=\"col\">{}</th>", escape(column)));
        }
        html.push_str("</tr></thead><tbody>\n");
        for row in &self.rows {
            html.push_str("<tr>");
            for (column, cell) in self.columns.iter().zip(row) {
                html.push_str(&format!(
                    "<td data-label=\"{}\">{}</td>",
                    escape(column),
                    cell.html
                ));
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</tbody></table>\n");
        html
    }

    /// RFC 4180 CSV with a header row. A cell a spreadsheet would run as a formula (`=`, `+`,
    /// `-`, `@`) is prefixed with `'`.
    pub fn csv(&self) -> String {
        fn field(text: &str) -> String {
            let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{text}")
            } else {
                text.to_owned()
            };
            if text.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| field(c)).collect();
        out.push_str(&header.join(","));
        out.push_str("\r\n");
        for row in &self.rows {
            let cells: Vec<String> = row.iter().map(|c| field(&c.text)).collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// An array of objects, one a row, keyed by column.
    pub fn json(&self) -> serde_json::Value {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|row| {
                let object: serde_json::Map<String, serde_json::Value> = self
                    .columns
                    .iter()
                    .zip(row)
                    .map(|(column, cell)| ((*column).to_owned(), cell.text.clone().into()))
                    .collect();
                serde_json::Value::Object(object)
            })
            .collect();
        serde_json::Value::Array(rows)
    }

    /// The listing as a download named `name.csv` or `name.json`.
    pub fn download(&self, format: Format, name: &str) -> Option<Response> {
        let (body, kind, extension) = match format {
            Format::Html => return None,
            Format::Csv => (self.csv(), "text/csv; charset=utf-8", "csv"),
            Format::Json => (format!("{:#}\n", self.json()), "application/json", "json"),
        };
        Some(
            (
                [
                    (header::CONTENT_TYPE, kind.to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}.{extension}\""),
                    ),
                ],
                body,
            )
                .into_response(),
        )
    }
}

/// Links that download the listing at `path` (its query, if any, kept).
pub(crate) fn downloads(path: &str, query: &str, what: &str) -> String {
    let join = |format: &str| {
        let query = if query.is_empty() {
            format!("format={format}")
        } else {
            format!("{query}&format={format}")
        };
        escape(&format!("{path}?{query}"))
    };
    format!(
        "<p>Download {what}: <a href=\"{}\">CSV</a> · <a href=\"{}\">JSON</a></p>\n",
        join("csv"),
        join("json")
    )
}

#[cfg(test)]
mod tests {
    use super::{Cell, Listing};

    #[test]
    fn csv_quotes_what_needs_it_and_never_hands_a_spreadsheet_a_formula() {
        let mut listing = Listing::new("caption", &["A", "B"]);
        listing.row(vec![Cell::text("plain"), Cell::text("a, \"quoted\"\nline")]);
        listing.row(vec![Cell::text("=HYPERLINK(\"x\")"), Cell::text("-1")]);
        assert_eq!(
            listing.csv(),
            "A,B\r\nplain,\"a, \"\"quoted\"\"\nline\"\r\n\"'=HYPERLINK(\"\"x\"\")\",'-1\r\n"
        );
        assert_eq!(listing.json()[1]["A"], "=HYPERLINK(\"x\")");
    }
}
