//! Opens a lake (the built-in sample lake unless a path or URI is given), runs a latest-view
//! query and a time-travel query, and prints the Arrow batches.
//!
//! `cargo run --example query_lake [LAKE]`
use strata::arrow::util::pretty::print_batches;
use strata::{sample, Lake, Session, SessionOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = match std::env::args().nth(1) {
        Some(uri) => uri,
        None => sample::ensure_sample_lake()?.display().to_string(),
    };
    let lake = Lake::open(&uri).await?;
    let session = Session::new(lake, SessionOptions::default()).await?;

    let now = session
        .sql("SELECT customer_id, name, status FROM raw.crm.customers ORDER BY customer_id")
        .await?;
    print_batches(&now.collect().await?)?;

    let then = session
        .sql("SELECT count(*) AS customers FROM raw.crm.customers FOR SYSTEM_TIME AS OF TIMESTAMP '2026-01-12 00:00:00'")
        .await?;
    print_batches(&then.collect().await?)?;
    Ok(())
}
