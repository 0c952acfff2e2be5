//! Reading and merging file schemas: each file's header or footer (cached by location, size
//! and modification time), and the union by column name that is the table's schema
//! (docs/lake.md#schemas).
use super::*;

/// What Strata learnt from reading one file's header or footer; cached across refreshes by
/// location, size and modification time.
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub kind: Kind,
    pub compression: FileCompressionType,
    pub schema: SchemaRef,
}

pub type FileInfoCache = Mutex<HashMap<(String, u64, i64), FileInfo>>;

pub(crate) async fn file_info(
    state: &datafusion::execution::SessionState,
    store: &Arc<dyn ObjectStore>,
    url: &ObjectStoreUrl,
    cache: &FileInfoCache,
    table: &TableName,
    file: &LakeFile,
    configured: Option<Kind>,
) -> Result<FileInfo> {
    let path = || full_path(url, &file.meta.location);
    let key = (
        file.meta.location.to_string(),
        file.meta.size,
        file.meta.last_modified.timestamp_micros(),
    );
    if let Some(hit) = cache.lock().expect("file cache lock").get(&key) {
        return Ok(hit.clone());
    }
    let file_name = file.rel.rsplit('/').next().unwrap_or(&file.rel);
    let (kind, compression) = match (format::detect(file_name), configured) {
        (Detected::Known(_, c), Some(k)) | (Detected::Unknown(c), Some(k)) => (k, c),
        (Detected::Known(k, c), None) => (k, c),
        (Detected::Unknown(c), None) => {
            let end = file.meta.size.min(64);
            let head = store
                .get_range(&file.meta.location, 0..end)
                .await
                .map_err(|e| {
                    let e = datafusion::error::DataFusionError::ObjectStore(Box::new(e));
                    CatalogError::file(table, path(), FileErrorKind::of(&e), read_failure(&e))
                })?;
            (format::sniff(&head), c)
        }
    };
    let footer_schema = match kind {
        Kind::Arrow => arrow_footer_schema(store, &file.meta).await,
        _ => None,
    };
    let format = format::file_format(state, kind, compression, false);
    let inferred = match footer_schema {
        Some(schema) => Ok(schema),
        None => {
            format
                .infer_schema(state, store, std::slice::from_ref(&file.meta))
                .await
        }
    };
    let schema = inferred.map_err(|e| {
        let message = format!("{} (read as {})", read_failure(&e), kind.name());
        CatalogError::file(table, path(), FileErrorKind::of(&e), message)
    })?;
    let info = FileInfo {
        kind,
        compression,
        schema,
    };
    cache
        .lock()
        .expect("file cache lock")
        .insert(key, info.clone());
    Ok(info)
}

/// The schema of an Arrow IPC file from its footer, read with two ranged requests. DataFusion
/// reads IPC schemas from the start of remote files and fails on the 64-byte-aligned header
/// arrow-rs writes by default (arrow-rs#6311); the footer is the same for every writer. None for
/// IPC streams (no footer) and anything unreadable, which then takes DataFusion's way.
pub(crate) async fn arrow_footer_schema(
    store: &Arc<dyn ObjectStore>,
    meta: &ObjectMeta,
) -> Option<SchemaRef> {
    use datafusion::arrow::ipc;
    let size = meta.size;
    if size < 16 {
        return None;
    }
    let tail = store
        .get_range(&meta.location, size - 10..size)
        .await
        .ok()?;
    let len = ipc::reader::read_footer_length(tail.as_ref().try_into().ok()?).ok()? as u64;
    if len + 10 > size {
        return None;
    }
    let footer = store
        .get_range(&meta.location, size - 10 - len..size - 10)
        .await
        .ok()?;
    let footer = ipc::root_as_footer(&footer).ok()?;
    Some(Arc::new(ipc::convert::fb_to_schema(footer.schema()?)))
}

/// Union by column name, in order of first appearance; compatible types widen, others are an
/// error naming both files and the column.
pub(crate) fn merge_schemas(
    table: &TableName,
    url: &ObjectStoreUrl,
    files: &[LakeFile],
    infos: &[FileInfo],
) -> Result<SchemaRef> {
    let mut fields: Vec<Field> = vec![];
    let mut first_seen: Vec<usize> = vec![];
    for (i, info) in infos.iter().enumerate() {
        for f in info.schema.fields() {
            match fields.iter().position(|e| e.name() == f.name()) {
                None => {
                    fields.push(f.as_ref().clone().with_nullable(true));
                    first_seen.push(i);
                }
                Some(j) => {
                    let merged =
                        merge_type(fields[j].data_type(), f.data_type()).ok_or_else(|| {
                            CatalogError::file(
                                table,
                                full_path(url, &files[i].meta.location),
                                FileErrorKind::Schema,
                                format!(
                                    "incompatible schema: column '{}' is {} here but {} in '{}'",
                                    f.name(),
                                    f.data_type(),
                                    fields[j].data_type(),
                                    full_path(url, &files[first_seen[j]].meta.location),
                                ),
                            )
                        })?;
                    fields[j] = Field::new(f.name(), merged, true);
                }
            }
        }
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// The type two files' versions of a column are read as, or None when they conflict.
pub fn merge_type(a: &DataType, b: &DataType) -> Option<DataType> {
    use DataType::*;
    if a == b {
        return Some(a.clone());
    }
    let int_rank = |t: &DataType| match t {
        Int8 => Some(1),
        Int16 => Some(2),
        Int32 => Some(3),
        Int64 => Some(4),
        _ => None,
    };
    let is_float = |t: &DataType| matches!(t, Float16 | Float32 | Float64);
    let is_str = |t: &DataType| matches!(t, Utf8 | LargeUtf8 | Utf8View);
    Some(match (a, b) {
        (Null, t) | (t, Null) => t.clone(),
        _ if int_rank(a).is_some() && int_rank(b).is_some() => {
            if int_rank(a) > int_rank(b) {
                a.clone()
            } else {
                b.clone()
            }
        }
        _ if (is_float(a) || int_rank(a).is_some()) && (is_float(b) || int_rank(b).is_some()) => {
            Float64
        }
        _ if is_str(a) && is_str(b) => a.clone(),
        (Timestamp(u1, tz1), Timestamp(u2, tz2)) if tz1.is_some() == tz2.is_some() => {
            let finer = if matches!(u1, TimeUnit::Nanosecond) || matches!(u2, TimeUnit::Nanosecond)
            {
                TimeUnit::Nanosecond
            } else {
                TimeUnit::Microsecond
            };
            Timestamp(finer, tz1.clone())
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_merging() {
        use DataType::*;
        assert_eq!(merge_type(&Int32, &Int64), Some(Int64));
        assert_eq!(merge_type(&Int64, &Float32), Some(Float64));
        assert_eq!(merge_type(&Null, &Utf8), Some(Utf8));
        assert_eq!(merge_type(&Int64, &Utf8), None);
        assert_eq!(merge_type(&Date32, &Boolean), None);
    }
}
