//! `bar(x, min, max[, width])`: DuckDB's inline bar chart as a SQL function — `x` between
//! `min` and `max` drawn as Unicode blocks `width` cells wide (default 80), in eighths of a
//! cell, so any result can carry a bar column (docs/repl.md, "Charts").
use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::Arc;

/// DuckDB's default width, in cells.
const DEFAULT_WIDTH: i64 = 80;

/// DuckDB's bounds on the width: a bar wider than a thousand cells is a mistake.
const MAX_WIDTH: i64 = 1000;

/// The partial blocks, from one eighth to seven eighths of a cell.
const EIGHTHS: [char; 7] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/// The bar for `x` in `[min, max]`, `width` cells, padded with spaces to `width`: full blocks
/// and one partial block. `x <= min` (or NaN) is empty, `x >= max` full, as in DuckDB.
pub fn bar_text(x: f64, min: f64, max: f64, width: usize) -> String {
    let share = if x.is_nan() || x <= min || max <= min {
        0.0
    } else if x >= max {
        1.0
    } else {
        (x - min) / (max - min)
    };
    let eighths = (share * width as f64 * 8.0).round() as usize;
    let mut s: String = "█".repeat(eighths / 8);
    if eighths % 8 > 0 {
        s.push(EIGHTHS[eighths % 8 - 1]);
    }
    let drawn = eighths / 8 + usize::from(eighths % 8 > 0);
    s.extend(std::iter::repeat_n(' ', width.saturating_sub(drawn)));
    s
}

/// The function to register with a session.
pub fn bar_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(Bar {
        signature: Signature::variadic_any(Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Bar {
    signature: Signature,
}

impl ScalarUDFImpl for Bar {
    fn name(&self) -> &str {
        "bar"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        if !(3..=4).contains(&args.len()) {
            return plan_err!(
                "bar(x, min, max[, width]) takes 3 or 4 arguments, not {}",
                args.len()
            );
        }
        for (i, t) in args.iter().enumerate() {
            if !(t.is_numeric() || t == &DataType::Null) {
                let name = ["x", "min", "max", "width"][i];
                return plan_err!("bar(x, min, max[, width]): {name} must be a number, not {t}");
            }
        }
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let floats = |a: &ArrayRef| cast(a, &DataType::Float64);
        let (x, min, max) = (
            floats(&arrays[0])?,
            floats(&arrays[1])?,
            floats(&arrays[2])?,
        );
        let (x, min, max) = (
            x.as_primitive::<Float64Type>(),
            min.as_primitive::<Float64Type>(),
            max.as_primitive::<Float64Type>(),
        );
        let width = match arrays.get(3) {
            Some(w) => Some(cast(w, &DataType::Int64)?),
            None => None,
        };
        let width = width.as_ref().map(|w| w.as_primitive::<Int64Type>());
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        for i in 0..rows {
            let w = match width {
                Some(w) if w.is_null(i) => {
                    out.append_null();
                    continue;
                }
                Some(w) => w.value(i),
                None => DEFAULT_WIDTH,
            };
            if !(1..=MAX_WIDTH).contains(&w) {
                return exec_err!("bar: width must be between 1 and {MAX_WIDTH}, not {w}");
            }
            if x.is_null(i) || min.is_null(i) || max.is_null(i) {
                out.append_null();
                continue;
            }
            out.append_value(bar_text(x.value(i), min.value(i), max.value(i), w as usize));
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::bar_text;

    #[test]
    fn bars_in_eighths_padded_to_the_width() {
        assert_eq!(bar_text(5.0, 0.0, 10.0, 4), "██  ");
        assert_eq!(bar_text(10.0, 0.0, 10.0, 4), "████");
        assert_eq!(bar_text(20.0, 0.0, 10.0, 4), "████");
        assert_eq!(bar_text(-1.0, 0.0, 10.0, 4), "    ");
        assert_eq!(bar_text(f64::NAN, 0.0, 10.0, 4), "    ");
        // 1/32 of 4 cells is one eighth of a cell.
        assert_eq!(bar_text(1.0, 0.0, 32.0, 4), "▏   ");
        assert_eq!(bar_text(7.0, 0.0, 8.0, 1), "▉");
        // An empty range draws nothing rather than dividing by zero.
        assert_eq!(bar_text(3.0, 3.0, 3.0, 2), "  ");
    }
}
