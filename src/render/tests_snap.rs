//! Snapshot tests: the rendered tables at fixed terminal widths, to be read by a person.

use super::fixtures::{
    at, collect, empty, long_values, many, nulls, numbers, tall, unicode, wide, Fixture,
};
use super::RenderOptions;

fn snap(name: &str, out: String) {
    insta::with_settings!({prepend_module_to_snapshot => false, snapshot_path => "snapshots"}, {
        insta::assert_snapshot!(name.to_string(), out);
    });
}

fn at_widths(name: &str, fixture: fn() -> Fixture) {
    for w in [20, 40, 80, 200] {
        snap(
            &format!("table_w{w}_{name}"),
            collect(&fixture(), at(w)).render(),
        );
    }
}

#[test]
fn wide_table() {
    at_widths("wide", wide);
}

#[test]
fn long_value_table() {
    at_widths("long", long_values);
}

#[test]
fn null_table() {
    at_widths("nulls", nulls);
}

#[test]
fn number_table() {
    at_widths("numbers", numbers);
}

#[test]
fn unicode_table() {
    at_widths("unicode", unicode);
}

#[test]
fn empty_table() {
    at_widths("empty", empty);
}

#[test]
fn tall_table() {
    at_widths("tall", tall);
}

#[test]
fn many_narrow_columns() {
    snap("table_w80_many", collect(&many(), at(80)).render());
    snap("table_w40_many", collect(&many(), at(40)).render());
}

#[test]
fn ascii_tables() {
    let ascii = |w| RenderOptions {
        unicode: false,
        ..at(w)
    };
    snap("ascii_w80_wide", collect(&wide(), ascii(80)).render());
    snap("ascii_w40_numbers", collect(&numbers(), ascii(40)).render());
    snap("ascii_w80_tall", collect(&tall(), ascii(80)).render());
}

#[test]
fn expanded() {
    for w in [20, 40, 80] {
        snap(
            &format!("expanded_w{w}_wide"),
            collect(&wide(), at(w)).render_expanded(),
        );
    }
    snap(
        "expanded_w80_unicode",
        collect(&unicode(), at(80)).render_expanded(),
    );
    snap(
        "expanded_w80_tall",
        collect(&tall(), at(80)).render_expanded(),
    );
}
