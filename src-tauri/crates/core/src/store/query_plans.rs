//! Every index on `appointments` and `activity` earns its place: each query the list,
//! the search, the week view, sync and the activity log run is planned by SQLite
//! (`EXPLAIN QUERY PLAN`, with the very SQL those paths run) and must not read the whole
//! table; and every index of those tables must be used by at least one of them, since
//! an index no query uses only costs each imported row.

use std::collections::BTreeSet;

use rusqlite::Connection;

use super::appointments::{list_statements, BY_SOURCE_EVENT, COLUMNS, OVERRIDES_OF_SERIES};
use super::occurrences::{WINDOW_EXCEPTIONS, WINDOW_SERIES, WINDOW_SINGLES};
use super::Store;
use crate::model::{ListQuery, Origin, Period, Status};

/// One statement under test, with the name it is reported by.
struct Query {
    name: String,
    sql: String,
    /// A whole-table read is what this statement needs (it counts every row of a
    /// search too short for the trigram index); it is still checked to run.
    may_scan: bool,
}

/// The plan's lines, as SQLite words them ("SEARCH appointments USING INDEX …").
fn plan(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.parameter_count();
    let params: Vec<rusqlite::types::Value> =
        (0..n).map(|_| rusqlite::types::Value::Integer(1)).collect();
    stmt.query_map(rusqlite::params_from_iter(params), |r| {
        r.get::<_, String>(3)
    })
    .and_then(|rows| rows.collect())
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A line that reads a whole table of ours row by row: `SCAN t` (or `SCAN t AS x`)
/// with no index. Scanning an FTS table is its index at work; `USING INDEX`, `USING
/// COVERING INDEX` and `SEARCH` lines are index walks or lookups.
fn full_scan(line: &str) -> bool {
    line.starts_with("SCAN ") && !line.contains(" USING ") && !line.contains("VIRTUAL TABLE")
}

/// The index names a plan uses.
fn indices_used(lines: &[String]) -> impl Iterator<Item = String> + '_ {
    lines.iter().filter_map(|line| {
        let (_, rest) = line.split_once(" INDEX ")?;
        let name = rest.split_whitespace().next()?;
        Some(name.to_owned())
    })
}

fn queries() -> Vec<Query> {
    let mut out = Vec::new();
    let mut add = |name: String, sql: String, may_scan: bool| {
        out.push(Query {
            name,
            sql,
            may_scan,
        });
    };
    // The list (window and CLI): every period, with and without each filter and a
    // search long enough for the trigram index or not.
    for period in [Period::Upcoming, Period::Past, Period::All] {
        for status in [None, Some(Status::Booked)] {
            for origin in [None, Some(Origin::Google)] {
                for search in [None, Some("ab"), Some("smith")] {
                    let query = ListQuery {
                        search: search.map(str::to_owned),
                        status,
                        origin,
                        period,
                        offset: 0,
                        limit: 50,
                    };
                    let (count, page, _) = list_statements(&query, 0);
                    let name = format!("list {period:?} {status:?} {origin:?} {search:?}");
                    // Fewer than 3 characters cannot use the trigram index: counting
                    // every match of such a search with no other filter reads the table.
                    let short_search_alone = search == Some("ab")
                        && period == Period::All
                        && status.is_none()
                        && origin.is_none();
                    add(format!("{name} count"), count, short_search_alone);
                    add(format!("{name} page"), page, false);
                }
            }
        }
    }
    // The week view.
    add(
        "week singles".into(),
        format!("SELECT {COLUMNS} FROM appointments {WINDOW_SINGLES}"),
        false,
    );
    add(
        "week series".into(),
        format!("SELECT {COLUMNS} FROM appointments {WINDOW_SERIES}"),
        false,
    );
    add("week exceptions".into(), WINDOW_EXCEPTIONS.into(), false);
    // One appointment, a series' exceptions, a remembered event on reconnect.
    add(
        "by id".into(),
        format!("SELECT {COLUMNS} FROM appointments WHERE id = ?1"),
        false,
    );
    add("overrides".into(), OVERRIDES_OF_SERIES.into(), false);
    add("by source event".into(), BY_SOURCE_EVENT.into(), false);
    // Sync activity: a page, pruning, a transfer's entry and its items.
    add(
        "activity page".into(),
        crate::sync::activity::LIST_SQL.into(),
        false,
    );
    // Pruning walks the log newest first past the entries it keeps: counting them is
    // the work, and the rowid order is the walk (no index could skip it).
    add(
        "activity prune".into(),
        crate::sync::activity::PRUNE_SQL.into(),
        true,
    );
    add(
        "transfer entry".into(),
        crate::sync::backfill::FORGET_TRANSFER_ENTRY_SQL.into(),
        false,
    );
    add(
        "transfer items".into(),
        crate::sync::backfill::TRANSFER_ITEMS_SQL.into(),
        false,
    );
    out
}

#[test]
fn every_query_uses_an_index_and_every_index_is_used() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("plans.sqlite3")).expect("open");
    store
        .read(|conn| {
            let mut used = BTreeSet::new();
            let mut scans = Vec::new();
            for q in queries() {
                let lines = plan(conn, &q.sql);
                if !q.may_scan {
                    scans.extend(
                        lines
                            .iter()
                            .filter(|l| full_scan(l))
                            .map(|l| format!("{}: {l}", q.name)),
                    );
                }
                used.extend(indices_used(&lines));
            }
            assert!(
                scans.is_empty(),
                "queries that read a whole table:\n{}",
                scans.join("\n")
            );
            let indices: Vec<String> = conn
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'index' \
                     AND tbl_name IN ('appointments', 'activity') ORDER BY name",
                )
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .expect("list the indices");
            assert!(indices.len() >= 8, "the schema's indices: {indices:?}");
            let unused: Vec<&String> = indices.iter().filter(|i| !used.contains(*i)).collect();
            assert!(
                unused.is_empty(),
                "indices no query uses (drop them in a migration): {unused:?}; used: {used:?}"
            );
            Ok(())
        })
        .expect("plans");
}

#[test]
fn a_plan_without_an_index_is_caught() {
    // The checks themselves: a whole-table read is seen, an index walk is not one.
    assert!(full_scan("SCAN appointments"));
    assert!(full_scan("SCAN a"));
    assert!(!full_scan(
        "SCAN appointments USING INDEX appointments_by_start"
    ));
    assert!(!full_scan(
        "SCAN appointment_search VIRTUAL TABLE INDEX 0:M4"
    ));
    assert!(!full_scan(
        "SEARCH appointments USING INTEGER PRIMARY KEY (rowid=?)"
    ));
    let lines = vec![
        "SEARCH s USING INDEX appointments_recurring (start_ms<?)".to_owned(),
        "SEARCH e USING COVERING INDEX appointments_by_series (series_id=?)".to_owned(),
        "SEARCH appointments USING INTEGER PRIMARY KEY (rowid=?)".to_owned(),
    ];
    assert_eq!(
        indices_used(&lines).collect::<Vec<_>>(),
        vec!["appointments_recurring", "appointments_by_series"]
    );
}
