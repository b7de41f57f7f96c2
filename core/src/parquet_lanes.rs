//! A Parquet file writer that encodes a row group's columns on several threads.
//!
//! Encoding (dictionary building, page compression) is most of the CPU a stream costs
//! once its rows are decoded, and a single [`ArrowWriter`] does it on one thread: a
//! source that parses on one core and a sink that encodes on another leaves the wide
//! tables of a dump or a database waiting on the encoder. A row group's column chunks
//! are independent, so [`LaneWriter`] hands the leaf columns of each batch to a few
//! long-lived encoder threads ("lanes", each owning a fixed share of the columns) and
//! returns at once; at a row group's end it collects the chunks and appends them in
//! column order. Row groups cut by a row limit give the file an `ArrowWriter` with
//! the same properties would write, byte for byte, whatever the number of lanes.
//!
//! Memory stays bounded: each lane's queue holds at most [`QUEUE_DEPTH`] batches, and
//! a row group closes at the properties' row or byte limit, as `ArrowWriter` does. The
//! bytes are the lanes' estimate of their encoded size, which lags the batches still
//! queued, so a byte limit may close a group a batch or two later than `ArrowWriter`.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use arrow::array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory,
    compute_leaves,
};
use parquet::errors::{ParquetError, Result};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

/// Batches queued per lane before [`LaneWriter::write`] waits for the encoders.
pub const QUEUE_DEPTH: usize = 2;

/// Default row-group row limit when the properties set none (as `ArrowWriter`).
const DEFAULT_GROUP_ROWS: usize = 1024 * 1024;

enum Job {
    /// Encode this lane's leaves of one batch.
    Write(Arc<Vec<ArrowLeafColumn>>),
    /// Close the row group: send back the chunks, then take the next group's writers.
    Close(SyncSender<Result<Vec<(usize, ArrowColumnChunk)>>>),
    /// The writers of the next row group.
    Start(Vec<(usize, ArrowColumnWriter)>),
}

struct Lane {
    jobs: SyncSender<Job>,
    /// The lane's estimate of its encoded bytes in the current row group.
    bytes: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

fn lane_loop(jobs: Receiver<Job>, bytes: Arc<AtomicUsize>) {
    let mut writers: Vec<(usize, ArrowColumnWriter)> = Vec::new();
    let mut failed: Option<ParquetError> = None;
    for job in jobs {
        match job {
            Job::Start(next) => writers = next,
            Job::Write(leaves) => {
                if failed.is_some() {
                    continue;
                }
                for (index, writer) in &mut writers {
                    if let Err(e) = writer.write(&leaves[*index]) {
                        failed = Some(e);
                        break;
                    }
                }
                let estimate = writers
                    .iter()
                    .map(|(_, w)| w.get_estimated_total_bytes())
                    .sum();
                bytes.store(estimate, Ordering::Relaxed);
            }
            Job::Close(reply) => {
                let result = match failed.take() {
                    Some(e) => Err(e),
                    None => std::mem::take(&mut writers)
                        .into_iter()
                        .map(|(index, w)| w.close().map(|chunk| (index, chunk)))
                        .collect(),
                };
                bytes.store(0, Ordering::Relaxed);
                let _ = reply.send(result);
            }
        }
    }
}

/// A Parquet writer whose column encoding runs on `lanes` threads. See the module docs.
pub struct LaneWriter<W: Write + Send> {
    file: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    lanes: Vec<Lane>,
    /// The column writers when encoding in the caller's thread (no lanes).
    inline: Vec<ArrowColumnWriter>,
    /// Leaf column → lane.
    lane_of: Vec<usize>,
    group_open: bool,
    group_rows: usize,
    max_group_rows: usize,
    max_group_bytes: Option<usize>,
}

/// Environment variable setting the encoder threads of each Parquet file written
/// (0: encode in the writing thread, the least memory).
pub const THREADS_ENV: &str = "FERRY_ENCODER_THREADS";

/// How many encoder threads a writer should use on this machine: [`THREADS_ENV`]
/// if set, else one per core, at most four; never more than the columns to share out.
pub fn default_lanes(leaf_columns: usize) -> usize {
    let wanted = std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .clamp(1, 4)
        });
    wanted.min(leaf_columns.max(1))
}

fn lane_gone() -> ParquetError {
    ParquetError::General("a Parquet encoder thread stopped unexpectedly".into())
}

impl<W: Write + Send> LaneWriter<W> {
    /// A writer of `schema` into `out` with `props`, encoding on `lanes` threads
    /// (`None`: [`default_lanes`]; 0: in the thread that calls [`Self::write`]).
    ///
    /// # Errors
    /// The schema has no Parquet equivalent, or a thread cannot start.
    pub fn try_new(
        out: W,
        schema: SchemaRef,
        props: Option<WriterProperties>,
        lanes: Option<usize>,
    ) -> Result<Self> {
        let props = props.unwrap_or_default();
        let max_group_rows = props
            .max_row_group_row_count()
            .unwrap_or(DEFAULT_GROUP_ROWS)
            .max(1);
        let max_group_bytes = props.max_row_group_bytes();
        // ArrowWriter builds the Parquet schema and embeds the Arrow one in the footer.
        let (file, factory) =
            ArrowWriter::try_new(out, schema.clone(), Some(props))?.into_serialized_writer()?;
        let leaf_count = file.schema_descr().num_columns();
        let lane_count = lanes.unwrap_or_else(|| default_lanes(leaf_count));
        let lane_of = (0..leaf_count).map(|i| i % lane_count.max(1)).collect();
        let mut spawned = Vec::with_capacity(lane_count);
        for i in 0..lane_count {
            let (jobs, receive) = sync_channel(QUEUE_DEPTH);
            let bytes = Arc::new(AtomicUsize::new(0));
            let counter = bytes.clone();
            let thread = std::thread::Builder::new()
                .name(format!("parquet-lane-{i}"))
                .spawn(move || lane_loop(receive, counter))
                .map_err(|e| ParquetError::External(Box::new(e)))?;
            spawned.push(Lane {
                jobs,
                bytes,
                thread: Some(thread),
            });
        }
        Ok(LaneWriter {
            file,
            factory,
            schema,
            lanes: spawned,
            inline: Vec::new(),
            lane_of,
            group_open: false,
            group_rows: 0,
            max_group_rows,
            max_group_bytes,
        })
    }

    fn start_group(&mut self) -> Result<()> {
        let index = self.file.flushed_row_groups().len();
        let writers = self.factory.create_column_writers(index)?;
        self.group_open = true;
        self.group_rows = 0;
        if self.lanes.is_empty() {
            self.inline = writers;
            return Ok(());
        }
        let mut shares: Vec<Vec<(usize, ArrowColumnWriter)>> =
            (0..self.lanes.len()).map(|_| Vec::new()).collect();
        for (leaf, writer) in writers.into_iter().enumerate() {
            shares[self.lane_of[leaf]].push((leaf, writer));
        }
        for (lane, share) in self.lanes.iter().zip(shares) {
            lane.jobs.send(Job::Start(share)).map_err(|_| lane_gone())?;
        }
        Ok(())
    }

    /// Closes the open row group, if any: waits for the lanes and appends the chunks.
    fn close_group(&mut self) -> Result<()> {
        if !self.group_open {
            return Ok(());
        }
        self.group_open = false;
        let chunks = if self.lanes.is_empty() {
            std::mem::take(&mut self.inline)
                .into_iter()
                .map(ArrowColumnWriter::close)
                .collect::<Result<Vec<_>>>()?
        } else {
            self.collect_chunks()?
        };
        let mut group = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut group)?;
        }
        group.close()?;
        Ok(())
    }

    /// The lanes' chunks of the row group, in column order.
    fn collect_chunks(&mut self) -> Result<Vec<ArrowColumnChunk>> {
        let mut replies = Vec::with_capacity(self.lanes.len());
        for lane in &self.lanes {
            let (reply, answer) = sync_channel(1);
            lane.jobs.send(Job::Close(reply)).map_err(|_| lane_gone())?;
            replies.push(answer);
        }
        let mut chunks: Vec<(usize, ArrowColumnChunk)> = Vec::new();
        let mut first_error = None;
        for answer in replies {
            match answer.recv().map_err(|_| lane_gone()).and_then(|r| r) {
                Ok(mine) => chunks.extend(mine),
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        chunks.sort_by_key(|(leaf, _)| *leaf);
        Ok(chunks.into_iter().map(|(_, chunk)| chunk).collect())
    }

    /// Queues `batch` for encoding; returns once the lanes have room for it.
    ///
    /// # Errors
    /// The batch does not match the schema, or an earlier batch failed to encode.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let matches = batch.num_columns() == self.schema.fields().len()
            && batch
                .columns()
                .iter()
                .zip(self.schema.fields())
                .all(|(c, f)| c.data_type() == f.data_type());
        if !matches {
            return Err(ParquetError::ArrowError(format!(
                "a batch of columns {:?} does not match the file's schema {:?}",
                batch.schema().fields(),
                self.schema.fields()
            )));
        }
        let mut offset = 0;
        while offset < batch.num_rows() {
            if !self.group_open {
                self.start_group()?;
            }
            let take = (batch.num_rows() - offset).min(self.max_group_rows - self.group_rows);
            let slice = batch.slice(offset, take);
            let mut leaves = Vec::with_capacity(self.lane_of.len());
            for (field, column) in self.schema.fields().iter().zip(slice.columns()) {
                leaves.extend(compute_leaves(field, column)?);
            }
            if self.lanes.is_empty() {
                for (writer, leaf) in self.inline.iter_mut().zip(&leaves) {
                    writer.write(leaf)?;
                }
            }
            let leaves = Arc::new(leaves);
            for lane in &self.lanes {
                lane.jobs
                    .send(Job::Write(leaves.clone()))
                    .map_err(|_| lane_gone())?;
            }
            self.group_rows += take;
            offset += take;
            let full_bytes = self
                .max_group_bytes
                .is_some_and(|max| self.in_progress_size() >= max);
            if self.group_rows >= self.max_group_rows || full_bytes {
                self.close_group()?;
            }
        }
        Ok(())
    }

    /// Bytes of finished row groups written to the output so far.
    pub fn bytes_written(&self) -> usize {
        self.file.bytes_written()
    }

    /// The lanes' estimate of the open row group's encoded size (lags the batches
    /// still queued).
    pub fn in_progress_size(&self) -> usize {
        if self.lanes.is_empty() {
            return self
                .inline
                .iter()
                .map(ArrowColumnWriter::get_estimated_total_bytes)
                .sum();
        }
        self.lanes
            .iter()
            .map(|l| l.bytes.load(Ordering::Relaxed))
            .sum()
    }

    /// Finishes the file (last row group, footer) and returns the output.
    ///
    /// # Errors
    /// Encoding or writing failed.
    pub fn into_inner(mut self) -> Result<W> {
        self.close_group()?;
        let LaneWriter { file, lanes, .. } = self;
        drop(lanes);
        file.into_inner()
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        // Replacing the sender closes the lane's queue, so its thread ends.
        let (closed, _) = sync_channel(0);
        self.jobs = closed;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        ArrayRef, Decimal128Array, Int64Array, ListBuilder, StringArray, StringBuilder,
        TimestampMicrosecondArray,
    };
    use arrow_schema::{DataType, Field, Schema, TimeUnit};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn batch(start: i64, rows: usize) -> RecordBatch {
        let ids: Vec<i64> = (start..start + rows as i64).collect();
        let mut tags = ListBuilder::new(StringBuilder::new());
        for i in &ids {
            if i % 7 == 0 {
                tags.append_null();
            } else {
                tags.values().append_value(format!("t{}", i % 5));
                tags.values().append_value("ünïcode\ttab");
                tags.append(true);
            }
        }
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("price", DataType::Decimal128(18, 4), true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new(
                "tags",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(StringArray::from_iter(
                ids.iter()
                    .map(|i| (i % 3 != 0).then(|| format!("name {}", i % 101))),
            )),
            Arc::new(
                Decimal128Array::from_iter(
                    ids.iter()
                        .map(|i| (i % 4 != 0).then_some(*i as i128 * 12345)),
                )
                .with_precision_and_scale(18, 4)
                .unwrap(),
            ),
            Arc::new(
                TimestampMicrosecondArray::from_iter(ids.iter().map(|i| Some(i * 1_000_000)))
                    .with_timezone("UTC"),
            ),
            Arc::new(tags.finish()),
        ];
        RecordBatch::try_new(schema, columns).unwrap()
    }

    fn props(group_rows: usize) -> WriterProperties {
        WriterProperties::builder()
            .set_max_row_group_row_count(Some(group_rows))
            .set_max_row_group_bytes(None)
            .build()
    }

    fn with_arrow_writer(batches: &[RecordBatch], group_rows: usize) -> Vec<u8> {
        let mut w =
            ArrowWriter::try_new(Vec::new(), batches[0].schema(), Some(props(group_rows))).unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.into_inner().unwrap()
    }

    fn with_lanes(batches: &[RecordBatch], group_rows: usize, lanes: usize) -> Vec<u8> {
        let mut w = LaneWriter::try_new(
            Vec::new(),
            batches[0].schema(),
            Some(props(group_rows)),
            Some(lanes),
        )
        .unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.into_inner().unwrap()
    }

    #[test]
    fn same_file_as_arrow_writer_for_any_lane_count() {
        // Batches that straddle row-group boundaries (1000-row groups, 700-row batches).
        let batches: Vec<RecordBatch> = (0..6).map(|i| batch(i * 700, 700)).collect();
        let expected = with_arrow_writer(&batches, 1000);
        for lanes in [0, 1, 2, 3, 8] {
            assert_eq!(with_lanes(&batches, 1000, lanes), expected, "{lanes} lanes");
        }
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(expected))
            .unwrap()
            .build()
            .unwrap();
        let back: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
        let back = arrow::compute::concat_batches(&batches[0].schema(), &back).unwrap();
        let sent = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        assert_eq!(back, sent);
    }

    #[test]
    fn row_groups_close_at_the_byte_limit() {
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(1 << 20))
            .set_max_row_group_bytes(Some(64 * 1024))
            .build();
        let schema = batch(0, 1).schema();
        let mut w = LaneWriter::try_new(Vec::new(), schema, Some(props), Some(2)).unwrap();
        for i in 0..40 {
            w.write(&batch(i * 5000, 5000)).unwrap();
        }
        let out = w.into_inner().unwrap();
        let meta = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(out))
            .unwrap()
            .metadata()
            .clone();
        assert!(
            meta.num_row_groups() > 1,
            "{} row groups",
            meta.num_row_groups()
        );
        let rows: i64 = meta.row_groups().iter().map(|g| g.num_rows()).sum();
        assert_eq!(rows, 200_000);
    }

    #[test]
    fn a_batch_of_another_schema_is_an_error() {
        let mut w = LaneWriter::try_new(Vec::new(), batch(0, 1).schema(), None, Some(2)).unwrap();
        let other =
            RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1])) as ArrayRef)])
                .unwrap();
        assert!(w.write(&other).is_err());
        // The writer is still usable and finishes a valid (empty) file.
        w.write(&batch(0, 10)).unwrap();
        assert!(!w.into_inner().unwrap().is_empty());
    }
}
