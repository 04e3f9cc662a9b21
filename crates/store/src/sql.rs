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
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
    sql.push_str(&value_rows(positional, columns.len(), rows, 0));
    sql
}

/// `(...), (...)`: `rows` rows of `width` placeholders, numbered after `before` on PostgreSQL
/// (see [`insert_values`]).
pub(crate) fn value_rows(positional: bool, width: usize, rows: usize, before: usize) -> String {
    let mut sql = String::with_capacity(rows * width * 8);
    let mut n = before;
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

/// A statement with its bound values, through the `Any` driver.
pub(crate) type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

impl Value {
    pub fn bind_to(self, query: AnyQuery<'_>) -> AnyQuery<'_> {
        match self {
            Value::Text(s) => query.bind(s),
            Value::Int(i) => query.bind(i),
            Value::Float(f) => query.bind(f),
        }
    }
}

/// Binding a nullable double. sqlx 0.9's Any driver declares a NULL `f64` to PostgreSQL as
/// float4 (and a NULL `f32` as float8), and a prepared statement keeps the parameter types of its
/// first execution: after a NULL score, every later score bound to that statement on that
/// connection failed ("incorrect binary data format"). So a NULL goes as an `f32`, which it
/// declares as float8; `a_null_double_first_does_not_break_the_statement` checks it.
pub(crate) trait BindFloat {
    fn bind_float(self, value: Option<f64>) -> Self;
}

impl BindFloat for AnyQuery<'_> {
    fn bind_float(self, value: Option<f64>) -> Self {
        match value {
            Some(v) => self.bind(v),
            None => self.bind(None::<f32>),
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

    /// The rows of the query, whose output columns are `columns`. On SQLite they are packed by
    /// the database into one JSON text and unpacked here: through the `Any` driver every SQLite
    /// row costs a few microseconds (a hop from SQLite's worker thread, a boxed value and a
    /// name lookup per column), which was half the time of a report of 5,000 agents; one text
    /// costs one parse. SQLite's doubles are packed as texts of 17 digits, so they keep every
    /// digit. PostgreSQL's rows come as they are ([`fetch_rows_as_packed`]).
    pub async fn fetch_packed(
        &self,
        pool: &sqlx::AnyPool,
        postgres: bool,
        tail: &str,
        columns: &[String],
    ) -> Result<PackedRows> {
        let (inner, values) = self.finish(tail);
        if postgres {
            return fetch_rows_as_packed(pool, inner, values, columns).await;
        }
        let sql = {
            // SQLite's JSON prints a double to 15 digits: doubles go as texts of 17 (exact for
            // the magnitudes rollups hold; SQLite's printf can miss by an ULP near 1e300), except
            // whole ones (most sums: counts, points), which go as integers, exactly and without
            // the cost of printing 17 digits.
            let list = columns
                .iter()
                .map(|c| {
                    let v = format!("t.{c}");
                    format!(
                        "CASE typeof({v}) WHEN 'real' THEN CASE WHEN abs({v}) < 9e15 AND {v} = CAST({v} AS INTEGER) \
                         THEN CAST({v} AS INTEGER) ELSE printf('%!.17g', {v}) END ELSE {v} END"
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("SELECT json_group_array(json_array({list})) AS packed FROM ({inner}) AS t")
        };
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for v in values {
            query = v.bind_to(query);
        }
        let row = query.fetch_one(pool).await?;
        let rows: Vec<Vec<serde_json::Value>> = json(&row, "packed")?;
        if let Some(bad) = rows.iter().find(|r| r.len() != columns.len()) {
            return Err(StoreError::Database(format!(
                "a packed row has {} values for {} columns",
                bad.len(),
                columns.len()
            )));
        }
        Ok(PackedRows { columns: columns.to_vec(), rows })
    }
}

/// PostgreSQL's side of [`Select::fetch_packed`]: its rows come in its binary format, each
/// value decoded once, which costs less than printing them into JSON (at 5,000 agents x 18
/// sums, building the JSON took as long as the query). NUMERIC does not pass the `Any` driver:
/// sums of counts are cast to doubles (see `Rollup::sums`).
async fn fetch_rows_as_packed(
    pool: &sqlx::AnyPool,
    sql: String,
    values: Vec<Value>,
    columns: &[String],
) -> Result<PackedRows> {
    use sqlx::any::AnyTypeInfoKind as Kind;
    use sqlx::{Column, TypeInfo};
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for v in values {
        query = v.bind_to(query);
    }
    let rows = query.fetch_all(pool).await?;
    let mut packed = Vec::with_capacity(rows.len());
    for row in &rows {
        if row.columns().len() != columns.len() {
            return Err(StoreError::Database(format!(
                "a row has {} values for {} columns",
                row.columns().len(),
                columns.len()
            )));
        }
        let mut values = Vec::with_capacity(columns.len());
        for (i, column) in row.columns().iter().enumerate() {
            let value = match column.type_info().kind() {
                Kind::Null => serde_json::Value::Null,
                Kind::Bool => row.try_get::<Option<bool>, _>(i)?.into(),
                Kind::SmallInt | Kind::Integer | Kind::BigInt => row.try_get::<Option<i64>, _>(i)?.into(),
                Kind::Real | Kind::Double => row.try_get::<Option<f64>, _>(i)?.into(),
                Kind::Text => row.try_get::<Option<String>, _>(i)?.into(),
                Kind::Blob => {
                    return Err(StoreError::Database(format!(
                        "column {} is {}, which a packed row cannot hold",
                        columns[i],
                        column.type_info().name()
                    )));
                }
            };
            values.push(value);
        }
        packed.push(values);
    }
    Ok(PackedRows { columns: columns.to_vec(), rows: packed })
}

/// Runs `queries` (each with its GROUP BY tail and the columns it packs, as
/// [`Select::fetch_packed`]) side by side, each on its own connection, and returns their rows in
/// the order given, so that rows come out in the same order every time.
pub(crate) async fn fetch_packed_side_by_side(
    pool: &sqlx::AnyPool,
    postgres: bool,
    queries: Vec<(Select, String, Vec<String>)>,
) -> Result<Vec<PackedRows>> {
    let mut running = tokio::task::JoinSet::new();
    for (i, (q, tail, columns)) in queries.into_iter().enumerate() {
        let pool = pool.clone();
        running.spawn(async move { (i, q.fetch_packed(&pool, postgres, &tail, &columns).await) });
    }
    let mut packs = Vec::with_capacity(running.len());
    while let Some(done) = running.join_next().await {
        let (i, pack) = done.map_err(|e| StoreError::Database(format!("a report query stopped: {e}")))?;
        packs.push((i, pack?));
    }
    packs.sort_by_key(|(i, _)| *i);
    Ok(packs.into_iter().map(|(_, pack)| pack).collect())
}

/// Rows read by [`Select::fetch_packed`].
pub(crate) struct PackedRows {
    columns: Vec<String>,
    rows: Vec<Vec<serde_json::Value>>,
}

impl PackedRows {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = PackedRow<'_>> {
        self.rows.iter().map(|values| PackedRow { columns: &self.columns, values })
    }
}

/// One row of [`PackedRows`].
pub(crate) struct PackedRow<'a> {
    columns: &'a [String],
    values: &'a [serde_json::Value],
}

impl PackedRow<'_> {
    pub fn has(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }

    fn value(&self, column: &str) -> Result<&serde_json::Value> {
        self.columns
            .iter()
            .position(|c| c == column)
            .map(|i| &self.values[i])
            .ok_or_else(|| StoreError::Database(format!("no column {column} in the packed rows")))
    }
}

/// Reading a row's columns by name, from the `Any` driver's rows or from packed ones.
pub(crate) trait Columns {
    fn opt_text(&self, column: &str) -> Result<Option<String>>;
    fn opt_float(&self, column: &str) -> Result<Option<f64>>;

    fn float_or_zero(&self, column: &str) -> Result<f64> {
        self.opt_float(column).map(|v| v.unwrap_or(0.0))
    }
}

impl Columns for AnyRow {
    fn opt_text(&self, column: &str) -> Result<Option<String>> {
        opt_text(self, column)
    }

    fn opt_float(&self, column: &str) -> Result<Option<f64>> {
        opt_float(self, column)
    }
}

impl Columns for PackedRow<'_> {
    fn opt_text(&self, column: &str) -> Result<Option<String>> {
        match self.value(column)? {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(s) => Ok(Some(s.clone())),
            // A number in a text column (SQLite keeps what it is given).
            serde_json::Value::Number(n) => Ok(Some(n.to_string())),
            other => Err(StoreError::Database(format!("column {column} holds {other}, not text"))),
        }
    }

    fn opt_float(&self, column: &str) -> Result<Option<f64>> {
        match self.value(column)? {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::Number(n) => Ok(n.as_f64()),
            // A double from SQLite (see `Select::fetch_packed`).
            serde_json::Value::String(s) => s
                .parse()
                .map(Some)
                .map_err(|_| StoreError::Database(format!("column {column} holds {s:?}, not a number"))),
            other => Err(StoreError::Database(format!("column {column} holds {other}, not a number"))),
        }
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

#[cfg(test)]
mod tests {
    use super::{BindFloat, Columns, Select, Value};
    use crate::Backend;
    use crate::testing::TestDatabase;
    use sqlx::Executor;

    /// Packed rows read back what an unpacked read gives: every digit of a double, NULLs,
    /// texts with quotes and no rows at all.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn packed_rows_keep_every_digit_on_both_databases() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let db = TestDatabase::new(backend).await;
            let postgres = backend == Backend::Postgres;
            // Fixed cases and pseudo-random doubles of every size a report's sums take (up to
            // 1e13: squared points of millions of reviews). SQLite's printf is not exact near
            // 1e300, which no sum reaches.
            // Whole values go as integers below 9e15 and as texts from there.
            let mut doubles = vec![
                0.1 + 0.2,
                1e9 / 3.0,
                123_456_789.012_345_67,
                5e-324,
                -0.0,
                3.0,
                -12_345.0,
                8_999_999_999_999_999.0,
                9e15,
                9_007_199_254_740_993.0,
                1e20,
                1.234_567_890_123_456_7e-20,
            ];
            let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
            for i in 0..300 {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                let unit = (seed >> 11) as f64 / (1u64 << 53) as f64;
                doubles.push(unit * 10f64.powi(i % 17 - 3));
            }
            let unions = doubles
                .iter()
                .enumerate()
                .map(|(i, _)| {
                    let (x, name) = (i * 2 + 1, i * 2 + 2);
                    format!("SELECT CAST(${x} AS DOUBLE PRECISION) AS x, CAST(${name} AS TEXT) AS name")
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            let mut q = Select::new(&format!("SELECT u.x, u.name, NULL AS missing FROM ({unions}) AS u"));
            for (i, d) in doubles.iter().enumerate() {
                q.values.push(Value::Float(*d));
                q.values.push(Value::Text(format!("agent \"{i}\" \\ é")));
            }
            let columns = ["x", "name", "missing"].map(String::from);
            let rows = q.fetch_packed(db.store.pool(), postgres, "", &columns).await.unwrap();
            assert_eq!(rows.len(), doubles.len());
            let mut read: Vec<(f64, String)> = rows
                .iter()
                .map(|r| {
                    assert_eq!(r.opt_float("missing").unwrap(), None);
                    (r.opt_float("x").unwrap().unwrap(), r.opt_text("name").unwrap().unwrap())
                })
                .collect();
            read.sort_by(|a, b| a.1.cmp(&b.1));
            let mut expected: Vec<(f64, String)> =
                doubles.iter().enumerate().map(|(i, d)| (*d, format!("agent \"{i}\" \\ é"))).collect();
            expected.sort_by(|a, b| a.1.cmp(&b.1));
            assert_eq!(read, expected, "{backend:?}");
            assert!(rows.iter().next().unwrap().opt_float("name").is_err(), "a name is not a number");

            let none = Select::new("SELECT u.x FROM (SELECT 1.5 AS x) AS u WHERE u.x > 2");
            let empty = none.fetch_packed(db.store.pool(), postgres, "", &["x".to_string()]).await.unwrap();
            assert_eq!(empty.len(), 0, "{backend:?}");
        }
    }

    /// A statement whose first execution binds a NULL double still takes doubles afterwards, on
    /// the same connection (see [`BindFloat`]).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_null_double_first_does_not_break_the_statement() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let db = TestDatabase::new(backend).await;
            let mut conn = db.store.pool().acquire().await.unwrap();
            conn.execute("CREATE TABLE float_probe (x DOUBLE PRECISION)").await.unwrap();
            for value in [None, Some(62.5), None, Some(0.1 + 0.2)] {
                sqlx::query("INSERT INTO float_probe (x) VALUES ($1)")
                    .bind_float(value)
                    .execute(&mut *conn)
                    .await
                    .unwrap_or_else(|e| panic!("{backend:?} {value:?}: {e}"));
            }
            let sum: f64 = sqlx::query_scalar("SELECT SUM(x) FROM float_probe").fetch_one(&mut *conn).await.unwrap();
            assert_eq!(sum, 62.5 + (0.1 + 0.2), "{backend:?}");
        }
    }
}
