//! `round_significant(x, digits)`: a number rounded to so many significant digits. SUMMARIZE
//! shows its means and standard deviations to 12: a parallel sum adds in a different order
//! from run to run, so the last of Float64's 17 digits would change between runs of the same
//! query (docs/repl.md, "Exploring a table").
use datafusion::arrow::array::{Array, AsArray, Float64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type};
use datafusion::common::{plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::Arc;

/// The digits SUMMARIZE keeps: far beyond what a summary is read for, far above Float64's noise.
pub(crate) const SUMMARY_DIGITS: i64 = 12;

/// `x` to `digits` significant digits (1 to 17); zero, NaN and infinities as they are.
pub fn round_significant(x: f64, digits: i32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let places = digits - 1 - x.abs().log10().floor() as i32;
    // 10^places is exact up to 10^22, so the division gives the double nearest the decimal.
    match places {
        p if p > 22 || p < -22 => x,
        p if p >= 0 => (x * 10f64.powi(p)).round() / 10f64.powi(p),
        p => (x / 10f64.powi(-p)).round() * 10f64.powi(-p),
    }
}

pub fn round_significant_udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(RoundSignificant {
        signature: Signature::any(2, Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct RoundSignificant {
    signature: Signature,
}

impl ScalarUDFImpl for RoundSignificant {
    fn name(&self) -> &str {
        "round_significant"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        match args {
            [x, d] if (x.is_numeric() || x.is_null()) && (d.is_integer() || d.is_null()) => {
                Ok(DataType::Float64)
            }
            _ => plan_err!("round_significant(x, digits) takes a number and an integer"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let x = cast(&arrays[0], &DataType::Float64)?;
        let digits = cast(&arrays[1], &DataType::Int64)?;
        let (x, digits) = (
            x.as_primitive::<Float64Type>(),
            digits.as_primitive::<Int64Type>(),
        );
        let out: Float64Array = (0..x.len())
            .map(|i| match x.is_null(i) || digits.is_null(i) {
                true => None,
                false => Some(round_significant(
                    x.value(i),
                    digits.value(i).clamp(1, 17) as i32,
                )),
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::round_significant;

    #[test]
    fn keeps_so_many_digits() {
        assert_eq!(round_significant(7.538461538461538, 12), 7.53846153846);
        assert_eq!(round_significant(4.351539662682328, 12), 4.35153966268);
        assert_eq!(round_significant(310.4, 12), 310.4);
        assert_eq!(round_significant(-0.000123456, 2), -0.00012);
        assert_eq!(
            round_significant(9.223372036854776e18, 12),
            9.22337203685e18
        );
        assert_eq!(round_significant(0.0, 12), 0.0);
        assert!(round_significant(f64::NAN, 12).is_nan());
        // Noise in the last digits of a sum gives the same text.
        let a = 0.1 + 0.2 + 0.3;
        let b = 0.3 + 0.2 + 0.1;
        assert_ne!(a, b);
        assert_eq!(round_significant(a, 12), round_significant(b, 12));
    }
}
