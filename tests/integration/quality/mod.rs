//! Quality gates (docs/quality.md): expectations judged on every write before it commits,
//! refusals that change nothing, quarantine that loses no row, promotion between zones; the
//! anomaly watch over table metadata; `strata check` over current rows.
mod anomalies;
mod check;
mod gate;
