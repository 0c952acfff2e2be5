//! Behaviour tests of the renderer with exact answers, and the line-width guarantee over many
//! widths.

use super::fixtures::*;
use super::text::width;
use super::{RenderOptions, TableCollector};
use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::Schema;
use std::sync::Arc;

#[test]
fn every_line_fits_every_width() {
    let fixtures = [
        wide(),
        long_values(),
        nulls(),
        numbers(),
        unicode(),
        empty(),
        tall(),
        many(),
    ];
    for f in &fixtures {
        for unicode in [true, false] {
            for w in 0..=250 {
                let options = RenderOptions {
                    max_width: Some(w),
                    unicode,
                    ..RenderOptions::default()
                };
                let c = collect(f, options);
                for out in [c.render(), c.render_expanded()] {
                    for line in out.lines() {
                        assert!(
                            width(line) <= w,
                            "width {w}: {line:?} is {} wide",
                            width(line)
                        );
                    }
                }
                // The layout itself fits, without the final cut: from 4 columns (a box around
                // one empty column) for tables, from 30 (the widest rule label here) for the
                // expanded form.
                let shown = c.shown();
                let (body, _footer) = super::table::draw(&c, &shown);
                if w >= 4 {
                    for line in &body {
                        assert!(
                            width(line) <= w,
                            "width {w}: {line:?} is {} wide",
                            width(line)
                        );
                    }
                }
                if w >= 30 {
                    for line in super::expanded::draw(&c, &shown) {
                        assert!(
                            width(&line) <= w,
                            "width {w}: {line:?} is {} wide",
                            width(&line)
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn aligns_numbers_right_text_left_headers_centred() {
    let f = Fixture {
        batches: vec![batch(vec![
            ("id", ints(&[Some(1), Some(1000)])),
            ("name", texts(&[Some("a"), None])),
        ])],
        types: vec!["bigint", "text"],
    };
    let out = collect(&f, RenderOptions::default()).render();
    assert_eq!(
        out,
        "┌────────┬──────┐\n\
         │   id   │ name │\n\
         │ bigint │ text │\n\
         ├────────┼──────┤\n\
         │      1 │ a    │\n\
         │   1000 │ NULL │\n\
         └────────┴──────┘\n\
         (2 rows)\n"
    );
    let one = Fixture {
        batches: vec![batch(vec![("x", ints(&[Some(7)]))])],
        types: vec![],
    };
    let out = collect(
        &one,
        RenderOptions {
            null: "∅".into(),
            ..RenderOptions::default()
        },
    )
    .render();
    assert_eq!(out, "┌───┐\n│ x │\n├───┤\n│ 7 │\n└───┘\n(1 row)\n");
}

#[test]
fn empty_result_shows_header_and_zero_rows() {
    let out = collect(&empty(), at(80)).render();
    assert_eq!(
        out,
        "┌────────┬──────┐\n│   id   │ name │\n│ bigint │ text │\n└────────┴──────┘\n(0 rows)\n"
    );
    assert_eq!(collect(&empty(), at(80)).render_expanded(), "(0 rows)\n");
}

#[test]
fn tall_results_show_both_ends() {
    let c = collect(&tall(), at(80));
    assert_eq!(c.rows(), 100);
    let out = c.render();
    let lines: Vec<&str> = out.lines().collect();
    // top rule, names, types, rule, 20 rows, 3 dot rows, 20 rows, bottom rule, footer
    assert_eq!(lines.len(), 4 + 20 + 3 + 20 + 2);
    assert!(lines[4].contains("row 0 "), "{}", lines[4]);
    assert!(lines[23].contains("row 19 "));
    assert!(lines[24].contains('·') && lines[26].contains('·'));
    assert!(lines[27].contains("row 80 "));
    assert!(lines[46].contains("row 99 "));
    assert_eq!(
        lines[48].split_whitespace().collect::<Vec<_>>(),
        ["100", "rows", "(40", "shown)", "3", "columns"]
    );
    // Three rows over the limit cost no more than the marker: all shown.
    for (rows, shown_all) in [(43, true), (44, false)] {
        let f = Fixture {
            batches: vec![batch(vec![(
                "i",
                ints(&(0..rows).map(Some).collect::<Vec<_>>()),
            )])],
            types: vec![],
        };
        let out = collect(&f, at(80)).render();
        assert_eq!(
            out.ends_with(&format!("({rows} rows)\n")),
            shown_all,
            "{out}"
        );
        assert_eq!(out.contains('·'), !shown_all);
    }
}

#[test]
fn streaming_keeps_memory_bounded_and_order() {
    let rows = 100_000i64;
    let mut c = TableCollector::new(tall().batches[0].schema(), vec![], at(80));
    let one = |lo: i64, hi: i64| {
        batch(vec![
            ("i", ints(&(lo..hi).map(Some).collect::<Vec<_>>())),
            (
                "square",
                ints(&(lo..hi).map(|i| Some(i * i)).collect::<Vec<_>>()),
            ),
            (
                "label",
                Arc::new(StringArray::from(
                    (lo..hi).map(|i| format!("row {i}")).collect::<Vec<_>>(),
                )) as ArrayRef,
            ),
        ])
    };
    for lo in (0..rows).step_by(999) {
        c.push(&one(lo, (lo + 999).min(rows))).unwrap();
        assert!(c.head.len() + c.tail.len() <= 43);
    }
    assert_eq!(c.rows(), rows as usize);
    let out = c.render();
    assert!(
        out.contains("row 99999 ") && out.contains("row 99980 ") && !out.contains("row 99979 ")
    );
    assert!(out.contains("row 19 ") && !out.contains("row 20 "));
    assert!(out.contains("100000 rows (40 shown)"), "{out}");
    // The same rows in one batch draw the same table.
    let mut whole = TableCollector::new(tall().batches[0].schema(), vec![], at(80));
    whole.push(&one(0, rows)).unwrap();
    assert_eq!(whole.render(), out);
}

#[test]
fn max_rows_edges() {
    let f = tall();
    let all = collect(
        &f,
        RenderOptions {
            max_rows: None,
            ..at(80)
        },
    )
    .render();
    assert_eq!(all.lines().count(), 4 + 100 + 2);
    assert!(all.ends_with("(100 rows)\n"));
    let none = collect(
        &f,
        RenderOptions {
            max_rows: Some(0),
            ..at(80)
        },
    )
    .render();
    assert_eq!(none.lines().count(), 3 + 2);
    assert!(none.contains("100 rows (0 shown)"));
    let one = collect(
        &f,
        RenderOptions {
            max_rows: Some(1),
            ..at(80)
        },
    )
    .render();
    assert!(one.contains("row 0 ") && one.contains("100 rows (1 shown)") && one.contains('·'));
}

#[test]
fn wide_tables_elide_middle_columns() {
    let c = collect(&wide(), at(80));
    assert!(!c.fits());
    let out = c.render();
    let header = out.lines().nth(1).unwrap();
    assert!(
        header.contains(" zone ") && header.contains(" error ") && header.contains(" … "),
        "{header}"
    );
    assert!(!header.contains("oldest"));
    let footer = out.lines().last().unwrap();
    assert!(
        footer.starts_with("  6 rows") && footer.contains("16 columns ("),
        "{footer}"
    );
    assert!(out.lines().all(|l| width(l) <= 80));
    // Unlimited: every column in full.
    let c = collect(&wide(), RenderOptions::default());
    assert!(c.fits());
    assert!(c
        .render()
        .contains("corrupt file part-00017.json.gz: unexpected end of stream at byte 1048576"));
}

#[test]
fn fits_is_the_natural_width() {
    let c = collect(&tall(), at(80));
    assert!(c.fits());
    let natural = c.render().lines().next().map(width).unwrap();
    assert!(collect(&tall(), at(natural)).fits());
    assert!(!collect(&tall(), at(natural - 1)).fits());
}

#[test]
fn no_control_characters_reach_the_terminal() {
    for f in [long_values(), wide()] {
        for unicode in [true, false] {
            let c = collect(
                &f,
                RenderOptions {
                    unicode,
                    ..RenderOptions::default()
                },
            );
            for out in [c.render(), c.render_expanded()] {
                assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out}");
            }
        }
    }
    let out = collect(&long_values(), RenderOptions::default()).render();
    assert!(out.contains("tab\\there, cr\\rthere, \\e[31mred\\e[0m, bell\\a"));
    assert!(out.contains(" first line… ") && out.contains(" windows… "));
}

#[test]
fn ascii_mode_is_ascii() {
    let out = collect(
        &wide(),
        RenderOptions {
            unicode: false,
            ..at(80)
        },
    )
    .render();
    assert!(out.is_ascii(), "{out}");
    assert!(out.contains("| ... |"));
    let out = collect(
        &tall(),
        RenderOptions {
            unicode: false,
            ..at(80)
        },
    )
    .render();
    assert!(
        out.is_ascii() && out.contains("\n|      . |     .  |   .    |\n"),
        "{out}"
    );
}

#[test]
fn expanded_form() {
    let f = Fixture {
        batches: vec![batch(vec![
            ("id", ints(&[Some(1), Some(22)])),
            ("name", texts(&[Some("ann"), None])),
        ])],
        types: vec![],
    };
    let out = collect(
        &f,
        RenderOptions {
            unicode: false,
            ..RenderOptions::default()
        },
    )
    .render_expanded();
    assert_eq!(
        out,
        "-[ RECORD 1 ]\nid   | 1\nname | ann\n-[ RECORD 2 ]\nid   | 22\nname | NULL\n"
    );
    let long = Fixture {
        batches: vec![batch(vec![(
            "a_long_column_name",
            texts(&[Some(&"v".repeat(40))]),
        )])],
        types: vec![],
    };
    let out = collect(
        &long,
        RenderOptions {
            unicode: false,
            ..at(40)
        },
    )
    .render_expanded();
    assert_eq!(
        out,
        format!(
            "-[ RECORD 1 ]------+--------------------\na_long_column_name | {}...\n",
            "v".repeat(16)
        )
    );
    let out = collect(&tall(), at(80)).render_expanded();
    assert!(
        out.contains("─[ 60 records not shown ]") && out.contains("─[ RECORD 81 ]"),
        "{out}"
    );
    assert!(out.ends_with("100 rows (40 shown)\n"));
}

#[test]
fn bad_input_does_not_panic() {
    let mut c = TableCollector::new(tall().batches[0].schema(), vec!["only one".into()], at(0));
    assert!(c.push(&batch(vec![("x", ints(&[Some(1)]))])).is_err());
    c.push(&tall().batches[0]).unwrap();
    assert!(c.render().lines().all(str::is_empty));
    let none = TableCollector::new(Arc::new(Schema::empty()), vec![], at(10));
    assert_eq!(none.render(), "(0 rows)\n");
    let huge = RenderOptions {
        max_width: Some(usize::MAX),
        max_rows: Some(usize::MAX),
        ..RenderOptions::default()
    };
    let c = collect(&tall(), huge);
    assert!(c.fits() && c.render().ends_with("(100 rows)\n"));
    assert_eq!(c.render_expanded().lines().count(), 400);
    let zero_cap = RenderOptions {
        max_col_width: 0,
        min_col_width: 0,
        ..at(30)
    };
    let out = collect(&wide(), zero_cap).render();
    assert!(out.lines().all(|l| width(l) <= 30), "{out}");
}
