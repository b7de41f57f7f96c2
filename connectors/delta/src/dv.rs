//! Deletion vectors: how a Delta table deletes rows from a data file without
//! rewriting it. A vector is a set of row positions in one file, stored as a portable
//! 64-bit roaring bitmap inside a `deletion_vector_<uuid>.bin` file beside the data;
//! the file's `add` action names it. [`crate::patch`] writes them for small merges;
//! [`crate::maintain::verify`] reads every one back.
//!
//! The byte layout (Delta protocol, "Deletion Vector Format"): a version byte `1`
//! opens the file; each vector then takes its size (big-endian u32, counting the
//! magic and the bitmap), the magic number (little-endian), the bitmap, and a CRC-32
//! of magic and bitmap (big-endian). A descriptor's `offset` points at the size.

use std::sync::Arc;

use bytes::Bytes;
use deltalake_core::kernel::{DeletionVectorDescriptor, LogicalFileView, StorageType};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use roaring::RoaringTreemap;
use url::Url;

/// Marks a portable roaring bitmap array, the one format Delta defines.
const MAGIC: u32 = 1_681_511_377;

/// The four bytes at `at`, when there are four.
fn word(bytes: &[u8], at: usize) -> Option<[u8; 4]> {
    bytes.get(at..at + 4)?.try_into().ok()
}

fn crc32(magic_and_bitmap: &[&[u8]]) -> u32 {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut digest = crc.digest();
    for part in magic_and_bitmap {
        digest.update(part);
    }
    digest.finalize()
}

/// The object (relative to the table's root) holding a stored vector; `None` for an
/// inline one.
///
/// # Errors
/// The descriptor names no valid path, or one outside the table.
pub fn location(
    dv: &DeletionVectorDescriptor,
    table_url: &Url,
) -> Result<Option<StorePath>, String> {
    let kernel =
        delta_kernel::actions::deletion_vector::DeletionVectorDescriptor::try_from(dv.clone())
            .map_err(|e| format!("deletion vector {}: {e}", dv.path_or_inline_dv))?;
    let Some(url) = kernel
        .absolute_path(table_url)
        .map_err(|e| format!("deletion vector {}: {e}", dv.path_or_inline_dv))?
    else {
        return Ok(None);
    };
    match table_url.make_relative(&url) {
        Some(rel) if !rel.starts_with("../") => StorePath::from_url_path(&rel)
            .map(Some)
            .map_err(|e| format!("deletion vector {url}: {e}")),
        _ => Err(format!("deletion vector {url} lies outside the table")),
    }
}

/// Reads the rows `dv` deletes, checking its size, magic number, checksum and
/// cardinality. `objects` is rooted at the table (`table_url`).
///
/// # Errors
/// A message naming the vector's file: missing, short, or damaged.
pub async fn read(
    objects: &dyn ObjectStore,
    table_url: &Url,
    dv: &DeletionVectorDescriptor,
) -> Result<RoaringTreemap, String> {
    let size = usize::try_from(dv.size_in_bytes)
        .map_err(|_| format!("deletion vector {}: negative size", dv.path_or_inline_dv))?;
    let (what, bitmap) = match location(dv, table_url)? {
        None => {
            // Inline: Z85 text of the magic and the bitmap, without size or checksum.
            let bytes = z85::decode(&dv.path_or_inline_dv)
                .map_err(|e| format!("inline deletion vector: {e}"))?;
            let bytes = bytes
                .get(..size)
                .ok_or_else(|| "inline deletion vector: shorter than its size".to_owned())?;
            (
                "inline deletion vector".to_owned(),
                Bytes::copy_from_slice(bytes),
            )
        }
        Some(path) => {
            let start = u64::try_from(dv.offset.unwrap_or(1))
                .map_err(|_| format!("{path}: negative deletion vector offset"))?;
            let end = start + 4 + size as u64 + 4;
            let bytes = objects
                .get_range(&path, start..end)
                .await
                .map_err(|e| match e {
                    object_store::Error::NotFound { .. } => format!("{path}: missing"),
                    e => format!("{path}: cannot be read: {e}"),
                })?;
            let what = format!("{path} at byte {start}");
            let (Some(stored), Some(sum)) = (word(&bytes, 0), word(&bytes, 4 + size)) else {
                return Err(format!("{what}: shorter than the log records"));
            };
            let stored = u32::from_be_bytes(stored) as usize;
            if stored != size {
                return Err(format!("{what}: {stored} bytes, the log records {size}"));
            }
            let body = bytes.slice(4..4 + size);
            if u32::from_be_bytes(sum) != crc32(&[&body]) {
                return Err(format!("{what}: checksum mismatch"));
            }
            (what, body)
        }
    };
    if word(&bitmap, 0).map(u32::from_le_bytes) != Some(MAGIC) {
        return Err(format!("{what}: not a roaring bitmap array"));
    }
    let rows = RoaringTreemap::deserialize_from(&bitmap[4..])
        .map_err(|e| format!("{what}: does not decode: {e}"))?;
    if rows.len() as i64 != dv.cardinality {
        return Err(format!(
            "{what}: deletes {} rows, the log records {}",
            rows.len(),
            dv.cardinality
        ));
    }
    Ok(rows)
}

/// The rows of a data file its deletion vector leaves, by the log (statistics and
/// vector cardinality; 0 without statistics).
pub fn live_rows(file: &LogicalFileView) -> u64 {
    let rows = file.num_records().unwrap_or(0) as u64;
    let gone = file
        .deletion_vector_descriptor()
        .map_or(0, |d| d.cardinality.max(0) as u64);
    rows.saturating_sub(gone)
}

/// Rows to delete from one file, as the kernel's writer takes them.
struct Marks(RoaringTreemap);

impl delta_kernel::actions::deletion_vector_writer::DeletionVector for Marks {
    type IndexIterator = roaring::treemap::IntoIter;

    fn into_iter(self) -> Self::IndexIterator {
        self.0.into_iter()
    }

    fn cardinality(&self) -> u64 {
        self.0.len()
    }

    fn serialize(self) -> delta_kernel::DeltaResult<Bytes> {
        let mut out = Vec::with_capacity(self.0.serialized_size());
        self.0
            .serialize_into(&mut out)
            .map_err(|e| delta_kernel::Error::generic(e.to_string()))?;
        Ok(Bytes::from(out))
    }
}

/// Writes `vectors` into one new file at the table's root; their descriptors, in
/// order. The file is written whole (object stores put atomically), and is invisible
/// until a commit names it.
///
/// # Errors
/// The bitmaps do not serialize, or the file cannot be written.
pub async fn write(
    objects: &Arc<dyn ObjectStore>,
    vectors: Vec<RoaringTreemap>,
) -> Result<Vec<DeletionVectorDescriptor>, String> {
    use delta_kernel::actions::deletion_vector_writer::StreamingDeletionVectorWriter;
    let id = uuid::Uuid::new_v4();
    let path = StorePath::from(format!("deletion_vector_{id}.bin"));
    let mut buffer = Vec::new();
    let mut writer = StreamingDeletionVectorWriter::new(&mut buffer);
    let mut written = Vec::with_capacity(vectors.len());
    for rows in vectors {
        written.push(
            writer
                .write_deletion_vector(Marks(rows))
                .map_err(|e| format!("{path}: {e}"))?,
        );
    }
    writer.finalize().map_err(|e| format!("{path}: {e}"))?;
    objects
        .put(&path, buffer.into())
        .await
        .map_err(|e| format!("{path}: cannot be written: {e}"))?;
    let encoded = z85::encode(id.as_bytes());
    Ok(written
        .into_iter()
        .map(|w| DeletionVectorDescriptor {
            storage_type: StorageType::UuidRelativePath,
            path_or_inline_dv: encoded.clone(),
            offset: Some(w.offset),
            size_in_bytes: w.size_in_bytes,
            cardinality: w.cardinality,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    fn url() -> Url {
        Url::parse("memory:///t/").unwrap()
    }

    #[tokio::test]
    async fn vectors_read_back_as_written() {
        let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let a: RoaringTreemap = [0u64, 7, 8, 1 << 33].into_iter().collect();
        let b: RoaringTreemap = (100u64..5000).step_by(3).collect();
        let dvs = write(&objects, vec![a.clone(), b.clone()]).await.unwrap();
        assert_eq!(dvs.len(), 2);
        assert_eq!(
            dvs[0].offset,
            Some(1),
            "the first vector follows the version byte"
        );
        assert_eq!(
            dvs[0].path_or_inline_dv, dvs[1].path_or_inline_dv,
            "one file"
        );
        assert_eq!(read(&*objects, &url(), &dvs[0]).await.unwrap(), a);
        assert_eq!(read(&*objects, &url(), &dvs[1]).await.unwrap(), b);
    }

    #[tokio::test]
    async fn damage_is_named_not_decoded() {
        let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let rows: RoaringTreemap = [1u64, 2, 3].into_iter().collect();
        let dv = write(&objects, vec![rows]).await.unwrap().remove(0);
        let path = location(&dv, &url()).unwrap().unwrap();
        assert!(path.as_ref().starts_with("deletion_vector_"), "{path}");

        let mut wrong_count = dv.clone();
        wrong_count.cardinality = 4;
        let e = read(&*objects, &url(), &wrong_count).await.unwrap_err();
        assert!(e.contains("deletes 3 rows, the log records 4"), "{e}");

        let mut bytes = objects
            .get(&path)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec();
        let last = bytes.len() - 6;
        bytes[last] ^= 0xff;
        objects.put(&path, bytes.into()).await.unwrap();
        let e = read(&*objects, &url(), &dv).await.unwrap_err();
        assert!(
            e.contains("checksum mismatch") && e.contains(path.as_ref()),
            "{e}"
        );

        objects.delete(&path).await.unwrap();
        let e = read(&*objects, &url(), &dv).await.unwrap_err();
        assert!(e.ends_with("missing"), "{e}");
    }

    #[tokio::test]
    async fn inline_vectors_decode() {
        let rows: RoaringTreemap = [4u64, 9].into_iter().collect();
        let mut bitmap = MAGIC.to_le_bytes().to_vec();
        rows.serialize_into(&mut bitmap).unwrap();
        let size = bitmap.len();
        // Z85 encodes whole groups of four bytes.
        bitmap.resize(size.div_ceil(4) * 4, 0);
        let dv = DeletionVectorDescriptor {
            storage_type: StorageType::Inline,
            path_or_inline_dv: z85::encode(&bitmap),
            offset: None,
            size_in_bytes: size as i32,
            cardinality: 2,
        };
        let objects = InMemory::new();
        assert_eq!(read(&objects, &url(), &dv).await.unwrap(), rows);
    }
}
