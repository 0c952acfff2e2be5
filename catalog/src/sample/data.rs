//! The fixed content of the sample lake: the rows of every table, as plain Rust data, and the
//! Arrow record batches built from them. Derived tables (daily revenue, customer 360, pipeline
//! runs) are computed from the raw rows so the lake stays internally consistent.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};

/// Seconds since the Unix epoch of `2026-01-<day> <h>:<m>:<s>` UTC.
pub(crate) fn jan(day: u32, h: u32, m: u32, s: u32) -> i64 {
    chrono::NaiveDate::from_ymd_opt(2026, 1, day)
        .and_then(|d| d.and_hms_opt(h, m, s))
        .expect("a valid time in January 2026")
        .and_utc()
        .timestamp()
}

fn micros(secs: i64) -> i64 {
    secs * 1_000_000
}

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn round_cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

// ---------------------------------------------------------------------------------------------
// sanitized.public.countries
// ---------------------------------------------------------------------------------------------

/// (code, name, region). "Korea, Republic of" exercises CSV quoting; MX and ZA have no customers.
pub(crate) const COUNTRIES: [(&str, &str, &str); 15] = [
    ("AU", "Australia", "APAC"),
    ("BR", "Brazil", "AMER"),
    ("CA", "Canada", "AMER"),
    ("DE", "Germany", "EMEA"),
    ("ES", "Spain", "EMEA"),
    ("FR", "France", "EMEA"),
    ("GB", "United Kingdom", "EMEA"),
    ("IN", "India", "APAC"),
    ("JP", "Japan", "APAC"),
    ("KR", "Korea, Republic of", "APAC"),
    ("MX", "Mexico", "AMER"),
    ("NL", "Netherlands", "EMEA"),
    ("SE", "Sweden", "EMEA"),
    ("US", "United States", "AMER"),
    ("ZA", "South Africa", "EMEA"),
];

pub(crate) fn countries_batch() -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("code", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("region", DataType::Utf8, false),
    ]);
    let col = |f: fn(&(&'static str, &'static str, &'static str)) -> &'static str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(COUNTRIES.iter().map(f)))
    };
    RecordBatch::try_new(
        Arc::new(schema),
        vec![col(|c| c.0), col(|c| c.1), col(|c| c.2)],
    )
    .expect("countries batch")
}

// ---------------------------------------------------------------------------------------------
// raw.crm.customers (Debezium-like CDC)
// ---------------------------------------------------------------------------------------------

/// One CDC row of `raw.crm.customers`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CustomerRow {
    pub id: i64,
    pub name: &'static str,
    pub email: &'static str,
    pub status: &'static str,
    pub country: &'static str,
    pub op: &'static str,
    /// `_ingested_at`, seconds since the epoch.
    pub at: i64,
    /// Only present in the last file (schema evolution).
    pub segment: Option<&'static str>,
}

/// One Spark-written CDC file: its job uuid (file names are not in time order on purpose), the
/// file's modification time, and whether it carries the `segment` column.
pub(crate) struct CustomerFile {
    pub uuid: &'static str,
    pub mtime: i64,
    pub with_segment: bool,
    pub rows: Vec<CustomerRow>,
}

/// The day-1 customers: (id, name, email, status, country).
const INITIAL_CUSTOMERS: [(i64, &str, &str, &str, &str); 12] = [
    (1, "Ada Lovelace", "ada@example.com", "active", "GB"),
    (2, "Bruno Costa", "bruno@example.com", "active", "BR"),
    (3, "Chen Wei", "chen.wei@example.com", "active", "US"),
    (4, "Dana Fischer", "dana@example.com", "active", "DE"),
    (5, "Emeka Obi", "emeka@example.com", "active", "NL"),
    (6, "Fatima Khan", "fatima@example.com", "active", "IN"),
    (7, "Gustav Berg", "gustav@example.com", "active", "SE"),
    (8, "Hana Sato", "hana@example.com", "active", "JP"),
    (9, "Ivan Petrov", "ivan@example.com", "active", "DE"),
    (10, "Julia Martin", "julia@example.com", "active", "FR"),
    (11, "Kim Min-jun", "minjun@example.com", "trial", "KR"),
    (12, "Lucia Garcia", "lucia@example.com", "trial", "ES"),
];

pub(crate) fn customer_files() -> Vec<CustomerFile> {
    let initial = |id: i64| {
        let c = INITIAL_CUSTOMERS[(id - 1) as usize];
        CustomerRow {
            id,
            name: c.1,
            email: c.2,
            status: c.3,
            country: c.4,
            op: "c",
            at: jan(10, 9, id as u32, 0),
            segment: None,
        }
    };
    // Day 1: every customer is created, one a minute from 09:01.
    let day1: Vec<CustomerRow> = (1..=12).map(initial).collect();
    let upd = |id: i64, at: i64, f: &dyn Fn(&mut CustomerRow)| {
        let mut r = initial(id);
        r.op = "u";
        r.at = at;
        f(&mut r);
        r
    };
    // Day 2: two churn, one email change, a trial converts, and a tie for customer 9.
    let day2 = vec![
        upd(3, jan(15, 10, 0, 0), &|r| r.status = "churned"),
        upd(7, jan(15, 10, 5, 0), &|r| r.status = "churned"),
        upd(5, jan(15, 10, 10, 0), &|r| {
            r.email = "emeka.obi@example.org"
        }),
        upd(11, jan(15, 10, 15, 0), &|r| r.status = "active"),
        // Tie: two rows of key 9 at the same `_ingested_at`, differing only in `email`.
        upd(9, jan(15, 10, 20, 0), &|r| {
            r.email = "ivan.petrov@example.com"
        }),
        upd(9, jan(15, 10, 20, 0), &|r| r.email = "ivan@petrov.dev"),
    ];
    // Day 3: two deletes (carrying the last values), and the other trial converts.
    let day3 = vec![
        upd(4, jan(20, 11, 0, 0), &|r| r.op = "d"),
        upd(7, jan(20, 11, 5, 0), &|r| {
            r.op = "d";
            r.status = "churned";
        }),
        upd(12, jan(20, 11, 10, 0), &|r| r.status = "active"),
    ];
    // Day 4: a new column `segment`; customer 4 comes back, two new customers.
    let seg = |r: CustomerRow, s: &'static str| CustomerRow {
        segment: Some(s),
        ..r
    };
    let new = |id, name, email, status, country, at| CustomerRow {
        id,
        name,
        email,
        status,
        country,
        op: "c",
        at,
        segment: None,
    };
    let day4 = vec![
        seg(
            new(
                4,
                "Dana Fischer",
                "dana.fischer@example.com",
                "active",
                "DE",
                jan(25, 8, 0, 0),
            ),
            "smb",
        ),
        seg(upd(1, jan(25, 8, 5, 0), &|_| {}), "enterprise"),
        seg(
            new(
                13,
                "Noah Tremblay",
                "noah@example.com",
                "active",
                "CA",
                jan(25, 8, 10, 0),
            ),
            "mid-market",
        ),
        seg(
            new(
                14,
                "Olivia Brown",
                "olivia@example.com",
                "trial",
                "AU",
                jan(25, 8, 15, 0),
            ),
            "smb",
        ),
    ];
    vec![
        CustomerFile {
            uuid: "c3a17e52-9b04-4d6e-8f21-5a0d7c9e1b38",
            mtime: jan(10, 9, 30, 0),
            with_segment: false,
            rows: day1,
        },
        CustomerFile {
            uuid: "1f9e4b7a-2c83-4a51-b6d0-8e3f5a9c2d17",
            mtime: jan(15, 10, 30, 0),
            with_segment: false,
            rows: day2,
        },
        CustomerFile {
            uuid: "8b27d0c4-6e19-4f3a-a5c8-2d71e9b0f463",
            mtime: jan(20, 11, 30, 0),
            with_segment: false,
            rows: day3,
        },
        CustomerFile {
            uuid: "4d0c9a31-7f52-4b8e-9d16-c2e8a5f03b79",
            mtime: jan(25, 8, 30, 0),
            with_segment: true,
            rows: day4,
        },
    ]
}

pub(crate) fn customers_batch(file: &CustomerFile) -> RecordBatch {
    let rows = &file.rows;
    let strings = |f: fn(&CustomerRow) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
    };
    let mut fields = vec![
        Field::new("customer_id", DataType::Int64, true),
        Field::new("name", DataType::Utf8, true),
        Field::new("email", DataType::Utf8, true),
        Field::new("status", DataType::Utf8, true),
        Field::new("country", DataType::Utf8, true),
        Field::new("op", DataType::Utf8, true),
        Field::new("_ingested_at", utc_micros(), true),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.id))),
        strings(|r| r.name),
        strings(|r| r.email),
        strings(|r| r.status),
        strings(|r| r.country),
        strings(|r| r.op),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| micros(r.at)))
                .with_timezone("UTC"),
        ),
    ];
    if file.with_segment {
        // Appended at the end, as Spark's schema evolution does.
        fields.push(Field::new("segment", DataType::Utf8, true));
        columns.push(Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.segment),
        )));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("customers batch")
}

/// The newest CDC row of every customer as of `at` (seconds), deleted ones included; a tie
/// keeps the later row in file order. Used to derive `customer_360`.
fn latest_customers(at: i64) -> BTreeMap<i64, CustomerRow> {
    let mut latest = BTreeMap::new();
    for file in customer_files() {
        for row in file.rows {
            if row.at <= at {
                let keep = latest
                    .get(&row.id)
                    .is_none_or(|l: &CustomerRow| row.at >= l.at);
                if keep {
                    latest.insert(row.id, row);
                }
            }
        }
    }
    latest
}

// ---------------------------------------------------------------------------------------------
// raw.shop.orders (Kafka Connect S3 sink)
// ---------------------------------------------------------------------------------------------

/// One order event: (order_id, customer_id, status, amount).
pub(crate) type OrderEvent = (i64, i64, &'static str, f64);

/// One Kafka Connect file: partition folder (day, hour), start offset, file mtime, events.
pub(crate) struct OrderFile {
    pub day: u32,
    pub hour: u32,
    pub offset: u64,
    pub mtime: i64,
    pub events: Vec<OrderEvent>,
}

pub(crate) fn order_files() -> Vec<OrderFile> {
    // Amounts are never whole numbers so JSON inference sees floats in every file.
    let placed: [(i64, i64, f64); 14] = [
        (1001, 1, 120.5),
        (1002, 2, 35.9),
        (1003, 3, 89.99),
        (1004, 5, 240.25),
        (1005, 7, 15.75),
        (1006, 8, 64.3),
        (1007, 6, 42.1),
        (1008, 9, 310.4),
        (1009, 10, 57.6),
        (1010, 11, 18.45),
        (1011, 12, 99.95),
        (1012, 2, 27.8),
        (1013, 1, 150.75),
        (1014, 1, 73.2),
    ];
    let ev = |order_id: i64, status: &'static str| -> OrderEvent {
        let (_, customer, amount) = placed[(order_id - 1001) as usize];
        (order_id, customer, status, amount)
    };
    let folders: [(u32, u32, Vec<OrderEvent>); 6] = [
        (
            10,
            14,
            (1001..=1006).map(|o| ev(o, "placed")).collect::<Vec<_>>(),
        ),
        (
            12,
            9,
            vec![
                ev(1001, "paid"),
                ev(1002, "paid"),
                ev(1005, "cancelled"),
                ev(1006, "paid"),
                ev(1007, "placed"),
                ev(1008, "placed"),
            ],
        ),
        (
            15,
            16,
            vec![
                ev(1001, "shipped"),
                ev(1002, "shipped"),
                ev(1003, "paid"),
                ev(1004, "paid"),
                ev(1006, "shipped"),
                ev(1007, "paid"),
                ev(1009, "placed"),
                ev(1010, "placed"),
            ],
        ),
        (
            18,
            11,
            vec![
                ev(1003, "cancelled"),
                ev(1004, "shipped"),
                ev(1007, "shipped"),
                ev(1008, "paid"),
                ev(1009, "paid"),
                ev(1010, "paid"),
                ev(1011, "placed"),
            ],
        ),
        (
            21,
            8,
            vec![
                ev(1008, "shipped"),
                ev(1009, "shipped"),
                ev(1010, "cancelled"),
                ev(1011, "paid"),
                ev(1012, "placed"),
            ],
        ),
        (
            24,
            20,
            vec![
                ev(1011, "shipped"),
                ev(1012, "paid"),
                ev(1013, "placed"),
                ev(1014, "placed"),
            ],
        ),
    ];
    let mut offset = 0u64;
    folders
        .into_iter()
        .map(|(day, hour, events)| {
            let file = OrderFile {
                day,
                hour,
                offset,
                // The sink uploads a quarter of an hour into the hour it is writing.
                mtime: jan(day, hour, 15, 0),
                events,
            };
            offset += file.events.len() as u64;
            file
        })
        .collect()
}

pub(crate) fn orders_batch(events: &[OrderEvent]) -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("order_id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("amount", DataType::Float64, false),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(Int64Array::from_iter_values(events.iter().map(|e| e.0))),
            Arc::new(Int64Array::from_iter_values(events.iter().map(|e| e.1))),
            Arc::new(StringArray::from_iter_values(events.iter().map(|e| e.2))),
            Arc::new(Float64Array::from_iter_values(events.iter().map(|e| e.3))),
        ],
    )
    .expect("orders batch")
}

// ---------------------------------------------------------------------------------------------
// raw.events.clicks (Kinesis Firehose)
// ---------------------------------------------------------------------------------------------

/// One Firehose object: folder hour (day, hour), the uuid in its name, and its clicks as
/// (user_id, page, minute, second) within that hour.
pub(crate) struct ClickFile {
    pub day: u32,
    pub hour: u32,
    pub uuid: &'static str,
    pub mtime: i64,
    pub clicks: Vec<(i64, &'static str, u32, u32)>,
}

pub(crate) fn click_files() -> Vec<ClickFile> {
    let file = |day, hour, uuid, clicks| ClickFile {
        day,
        hour,
        uuid,
        // Firehose flushes its 5-minute buffer: the object appears at HH:05.
        mtime: jan(day, hour, 5, 0),
        clicks,
    };
    vec![
        file(
            15,
            12,
            "6f1b3c2a-8d4e-4f7a-9b2c-1e5d7a9c3b80",
            vec![
                (1, "/", 0, 7),
                (1, "/pricing", 0, 42),
                (6, "/", 1, 3),
                (6, "/docs", 1, 30),
                (9, "/", 2, 11),
                (9, "/cart", 2, 58),
                (9, "/checkout", 3, 20),
                (11, "/pricing", 4, 45),
            ],
        ),
        file(
            16,
            9,
            "a2e90d5b-3c71-4e28-8f4a-b6d13c7e0592",
            vec![
                (2, "/", 0, 15),
                (2, "/account", 0, 50),
                (10, "/", 1, 9),
                (10, "/docs", 1, 44),
                (12, "/pricing", 2, 5),
                (12, "/signup", 2, 31),
                (5, "/account", 3, 12),
                (5, "/", 4, 2),
            ],
        ),
        file(
            21,
            18,
            "0d4f7b19-e6a2-4c53-9b8e-71c5f2a0d4e6",
            vec![
                (1, "/", 0, 4),
                (1, "/cart", 0, 39),
                (1, "/checkout", 1, 17),
                (8, "/docs", 1, 55),
                (12, "/account", 2, 28),
                (3, "/pricing", 3, 1),
                (2, "/cart", 3, 47),
                (2, "/checkout", 4, 33),
            ],
        ),
    ]
}

pub(crate) fn clicks_batch(file: &ClickFile) -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("user_id", DataType::Int64, false),
        Field::new("page", DataType::Utf8, false),
        Field::new("ts", DataType::Utf8, false),
    ]);
    let ts = file.clicks.iter().map(|&(_, _, m, s)| {
        format!(
            "2026-01-{:02}T{:02}:{:02}:{:02}Z",
            file.day, file.hour, m, s
        )
    });
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(Int64Array::from_iter_values(
                file.clicks.iter().map(|c| c.0),
            )),
            Arc::new(StringArray::from_iter_values(
                file.clicks.iter().map(|c| c.1),
            )),
            Arc::new(StringArray::from_iter_values(ts)),
        ],
    )
    .expect("clicks batch")
}

// ---------------------------------------------------------------------------------------------
// sanitized.crm.scores (weekly full snapshots)
// ---------------------------------------------------------------------------------------------

/// One weekly batch: snapshot day, model, and the customers scored.
pub(crate) struct ScoreSnapshot {
    pub day: u32,
    pub model: &'static str,
    pub customers: Vec<i64>,
}

pub(crate) fn score_snapshots() -> Vec<ScoreSnapshot> {
    vec![
        ScoreSnapshot {
            day: 10,
            model: "churn-v1",
            customers: (1..=12).collect(),
        },
        // Churned customers 3 and 7 are no longer scored.
        ScoreSnapshot {
            day: 17,
            model: "churn-v1",
            customers: vec![1, 2, 4, 5, 6, 8, 9, 10, 11, 12],
        },
        // Customer 4 was deleted on the 20th; a new model version.
        ScoreSnapshot {
            day: 24,
            model: "churn-v2",
            customers: vec![1, 2, 5, 6, 8, 9, 10, 11, 12],
        },
    ]
}

/// A deterministic churn score in [0.05, 0.93] that changes from week to week.
pub(crate) fn score(customer: i64, day: u32) -> f64 {
    let k = (customer * 7919 + i64::from(day) * 104_729) % 89;
    (5 + k) as f64 / 100.0
}

pub(crate) fn scores_batch(snapshot: &ScoreSnapshot) -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("score", DataType::Float64, false),
        Field::new("model", DataType::Utf8, false),
    ]);
    let ids = &snapshot.customers;
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(Int64Array::from_iter_values(ids.iter().copied())),
            Arc::new(Float64Array::from_iter_values(
                ids.iter().map(|&c| score(c, snapshot.day)),
            )),
            Arc::new(StringArray::from_iter_values(
                ids.iter().map(|_| snapshot.model),
            )),
        ],
    )
    .expect("scores batch")
}

// ---------------------------------------------------------------------------------------------
// enhanced.sales.daily_revenue and enhanced.sales.customer_360 (derived from the raw zone)
// ---------------------------------------------------------------------------------------------

fn country_of(customer: i64) -> &'static str {
    customer_files()
        .into_iter()
        .flat_map(|f| f.rows)
        .find(|r| r.id == customer)
        .map(|r| r.country)
        .expect("every order's customer exists")
}

/// Per order-folder day: country -> (orders placed that day, their amount). Gross revenue:
/// later cancellations are not subtracted.
/// Country code -> (orders placed, revenue) for one day.
pub(crate) type RevenueByCountry = BTreeMap<&'static str, (i64, f64)>;

pub(crate) fn daily_revenue() -> Vec<(u32, RevenueByCountry)> {
    order_files()
        .into_iter()
        .map(|f| {
            let mut by_country: BTreeMap<&str, (i64, f64)> = BTreeMap::new();
            for &(_, customer, status, amount) in &f.events {
                if status == "placed" {
                    let e = by_country.entry(country_of(customer)).or_default();
                    e.0 += 1;
                    e.1 = round_cents(e.1 + amount);
                }
            }
            (f.day, by_country)
        })
        .collect()
}

pub(crate) fn daily_revenue_batch(by_country: &RevenueByCountry) -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("country", DataType::Utf8, false),
        Field::new("orders", DataType::Int64, false),
        Field::new("revenue", DataType::Float64, false),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(StringArray::from_iter_values(by_country.keys().copied())),
            Arc::new(Int64Array::from_iter_values(
                by_country.values().map(|v| v.0),
            )),
            Arc::new(Float64Array::from_iter_values(
                by_country.values().map(|v| v.1),
            )),
        ],
    )
    .expect("daily revenue batch")
}

/// When `customer_360` was built: its file's modification time.
pub(crate) fn customer_360_built_at() -> i64 {
    jan(26, 0, 0, 0)
}

/// One row per live customer at build time: orders not cancelled, their total, and the time
/// the newest of them was placed.
pub(crate) fn customer_360_batch() -> RecordBatch {
    let built = customer_360_built_at();
    let live: Vec<CustomerRow> = latest_customers(built)
        .into_values()
        .filter(|r| r.op != "d")
        .collect();
    // order_id -> (customer, amount, placed at, latest status)
    let mut orders: BTreeMap<i64, (i64, f64, i64, &str)> = BTreeMap::new();
    for f in order_files() {
        let at = jan(f.day, f.hour, 0, 0);
        for &(id, customer, status, amount) in &f.events {
            let e = orders.entry(id).or_insert((customer, amount, at, status));
            e.3 = status;
        }
    }
    let mut n_orders = Vec::new();
    let mut value = Vec::new();
    let mut last = Vec::new();
    for c in &live {
        let mine: Vec<_> = orders
            .values()
            .filter(|o| o.0 == c.id && o.3 != "cancelled")
            .collect();
        n_orders.push(mine.len() as i64);
        value.push(round_cents(mine.iter().map(|o| o.1).sum()));
        last.push(mine.iter().map(|o| micros(o.2)).max());
    }
    let schema = Schema::new(vec![
        Field::new("customer_id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("country", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("segment", DataType::Utf8, true),
        Field::new("orders", DataType::Int64, false),
        Field::new("lifetime_value", DataType::Float64, false),
        Field::new("last_order_at", utc_micros(), true),
    ]);
    let strings = |f: fn(&CustomerRow) -> &str| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(live.iter().map(f)))
    };
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(Int64Array::from_iter_values(live.iter().map(|c| c.id))),
            strings(|c| c.name),
            strings(|c| c.country),
            strings(|c| c.status),
            Arc::new(StringArray::from_iter(live.iter().map(|c| c.segment))),
            Arc::new(Int64Array::from(n_orders)),
            Arc::new(Float64Array::from(value)),
            Arc::new(TimestampMicrosecondArray::from(last).with_timezone("UTC")),
        ],
    )
    .expect("customer 360 batch")
}

// ---------------------------------------------------------------------------------------------
// enhanced.ops.pipeline_runs (Arrow IPC)
// ---------------------------------------------------------------------------------------------

/// (job, started_at seconds, status, rows written).
pub(crate) fn pipeline_runs() -> Vec<(&'static str, i64, &'static str, i64)> {
    let mut runs = Vec::new();
    for s in score_snapshots() {
        runs.push((
            "crm.scores",
            jan(s.day, 2, 0, 0),
            "succeeded",
            s.customers.len() as i64,
        ));
    }
    for (day, rows) in daily_revenue() {
        if day == 18 {
            // The nightly run for the 18th failed once and was retried half an hour later.
            runs.push(("sales.daily_revenue", jan(day + 1, 1, 0, 0), "failed", 0));
            runs.push((
                "sales.daily_revenue",
                jan(day + 1, 1, 30, 0),
                "succeeded",
                rows.len() as i64,
            ));
        } else {
            runs.push((
                "sales.daily_revenue",
                jan(day + 1, 1, 0, 0),
                "succeeded",
                rows.len() as i64,
            ));
        }
    }
    runs.push((
        "sales.customer_360",
        jan(25, 23, 50, 0),
        "succeeded",
        customer_360_batch().num_rows() as i64,
    ));
    runs.sort_by_key(|r| (r.1, r.0));
    runs
}

/// The modification time of a daily revenue file: when its (last) nightly run finished.
pub(crate) fn daily_revenue_mtime(day: u32) -> i64 {
    if day == 18 {
        jan(day + 1, 1, 35, 0)
    } else {
        jan(day + 1, 1, 5, 0)
    }
}

pub(crate) fn pipeline_runs_batch() -> RecordBatch {
    let runs = pipeline_runs();
    let schema = Schema::new(vec![
        Field::new("job", DataType::Utf8, false),
        Field::new("started_at", utc_micros(), false),
        Field::new("status", DataType::Utf8, false),
        Field::new("rows", DataType::Int64, false),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(StringArray::from_iter_values(runs.iter().map(|r| r.0))),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(runs.iter().map(|r| micros(r.1)))
                    .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from_iter_values(runs.iter().map(|r| r.2))),
            Arc::new(Int64Array::from_iter_values(runs.iter().map(|r| r.3))),
        ],
    )
    .expect("pipeline runs batch")
}
