//! A small builder for queries whose WHERE clause depends on filters, with `$n` placeholders
//! (they work on both databases), and helpers to read `Any` rows.

use crate::{Result, StoreError};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use std::str::FromStr;

/// `INSERT INTO table (columns) VALUES (...), (...)` for `rows` rows. SQLite (`positional`) gets
/// anonymous `?` placeholders: sqlx looks up the name of every numbered one, and SQLite finds a
/// name by scanning its list of names, which makes a statement of n `$k` placeholders cost O(n²)
/// to bind (seconds for a statement of 30,000 values). PostgreSQL gets `$k`.
pub(crate) fn insert_values(positional: bool, table: &str, columns: &[&str], rows: usize) -> String {
    let width = columns.len();
    let mut sql = String::with_capacity(64 + rows * width * 8);
    sql.push_str(&format!("INSERT INTO {table} ({}) VALUES ", columns.join(", ")));
    let mut n = 0;
    for r in 0..rows {
        sql.push_str(if r > 0 { ", (" } else { "(" });
        for c in 0..width {
            n += 1;
            if c > 0 {
                sql.push_str(", ");
            }
            if positional {
                sql.push('?');
            } else {
                sql.push('$');
                sql.push_str(&n.to_string());
            }
        }
        sql.push(')');
    }
    sql
}

/// Whether `conn` binds parameters best by position (SQLite; see [`insert_values`]).
pub(crate) fn positional(conn: &sqlx::AnyConnection) -> bool {
    conn.backend_name().eq_ignore_ascii_case("sqlite")
}

#[derive(Clone, Debug)]
pub(crate) enum Value {
    Text(String),
    Int(i64),
    Float(f64),
}

impl Value {
    pub fn bind_to<'q>(
        self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        match self {
            Value::Text(s) => query.bind(s),
            Value::Int(i) => query.bind(i),
            Value::Float(f) => query.bind(f),
        }
    }
}

/// A SELECT with conditions added one by one; values are always bound, never spliced.
pub(crate) struct Select {
    sql: String,
    conditions: Vec<String>,
    values: Vec<Value>,
}

impl Select {
    pub fn new(base: &str) -> Self {
        Self { sql: base.to_string(), conditions: Vec::new(), values: Vec::new() }
    }

    /// Adds `column op $n`.
    pub fn and(&mut self, column: &str, op: &str, value: Value) -> &mut Self {
        self.values.push(value);
        self.conditions.push(format!("{column} {op} ${}", self.values.len()));
        self
    }

    pub fn and_text(&mut self, column: &str, value: impl ToString) -> &mut Self {
        self.and(column, "=", Value::Text(value.to_string()))
    }

    pub fn and_opt_text(&mut self, column: &str, value: Option<impl ToString>) -> &mut Self {
        if let Some(v) = value {
            self.and_text(column, v);
        }
        self
    }

    /// Adds a condition written with `?` where each value goes, in order.
    pub fn and_expr(&mut self, template: &str, values: Vec<Value>) -> &mut Self {
        let mut condition = String::new();
        let mut values = values.into_iter();
        for (i, part) in template.split('?').enumerate() {
            if i > 0 {
                self.values.push(values.next().expect("one value per `?`"));
                condition.push_str(&format!("${}", self.values.len()));
            }
            condition.push_str(part);
        }
        self.conditions.push(condition);
        self
    }

    /// Adds a raw condition without values (a constant expression).
    pub fn and_raw(&mut self, condition: &str) -> &mut Self {
        self.conditions.push(condition.to_string());
        self
    }

    pub fn finish(&self, tail: &str) -> (String, Vec<Value>) {
        let mut sql = self.sql.clone();
        if !self.conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.conditions.join(" AND "));
        }
        sql.push(' ');
        sql.push_str(tail);
        (sql, self.values.clone())
    }

    pub async fn fetch_all(&self, pool: &sqlx::AnyPool, tail: &str) -> Result<Vec<AnyRow>> {
        let (sql, values) = self.finish(tail);
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for v in values {
            query = v.bind_to(query);
        }
        Ok(query.fetch_all(pool).await?)
    }
}

pub(crate) fn text(row: &AnyRow, column: &str) -> Result<String> {
    Ok(row.try_get::<String, _>(column)?)
}

pub(crate) fn opt_text(row: &AnyRow, column: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(column)?)
}

pub(crate) fn int(row: &AnyRow, column: &str) -> Result<i64> {
    Ok(row.try_get::<i64, _>(column)?)
}

pub(crate) fn opt_int(row: &AnyRow, column: &str) -> Result<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(column)?)
}

pub(crate) fn opt_float(row: &AnyRow, column: &str) -> Result<Option<f64>> {
    Ok(row.try_get::<Option<f64>, _>(column)?)
}

pub(crate) fn id<T: FromStr>(row: &AnyRow, column: &str) -> Result<T> {
    let s = text(row, column)?;
    s.parse().map_err(|_| StoreError::Database(format!("column {column} holds a malformed id {s:?}")))
}

pub(crate) fn opt_id<T: FromStr>(row: &AnyRow, column: &str) -> Result<Option<T>> {
    match opt_text(row, column)? {
        None => Ok(None),
        Some(s) => {
            s.parse().map(Some).map_err(|_| StoreError::Database(format!("column {column} holds a malformed id {s:?}")))
        }
    }
}

pub(crate) fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T> {
    let s = text(row, column)?;
    serde_json::from_str(&s).map_err(|e| StoreError::Database(format!("column {column} holds malformed JSON: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain values serialise")
}

pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool> {
    Ok(int(row, column)? != 0)
}
