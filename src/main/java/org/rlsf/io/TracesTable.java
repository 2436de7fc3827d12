package org.rlsf.io;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.rlsf.score.TraceRecord;

import java.sql.Timestamp;

/**
 * The traces table (schema v1): one row per CoT-decoded branch, partitioned by {@code run_id} and
 * {@code shard}; each partition gets a {@code _MANIFEST.json} after the data commits, and a shard
 * with a manifest is finished (a rerun of the run id skips it).
 */
public final class TracesTable {
    public static final int SCHEMA_VERSION = 1;

    public static final StructType SCHEMA = new StructType(new StructField[]{
            field("schema_version", DataTypes.IntegerType, false),
            field("run_id", DataTypes.StringType, false),
            field("shard", DataTypes.IntegerType, false),
            field("prompt_id", DataTypes.StringType, false),
            field("task", DataTypes.StringType, false),
            field("branch", DataTypes.IntegerType, false),
            field("prompt", DataTypes.StringType, false),
            field("prompt_tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false),
            field("trace_text", DataTypes.StringType, false),
            field("trace_tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false),
            field("token_logprobs", DataTypes.createArrayType(DataTypes.FloatType, false), false),
            field("answer", DataTypes.StringType, true),
            field("span_start", DataTypes.IntegerType, false),
            field("span_end", DataTypes.IntegerType, false),
            field("confidence", DataTypes.DoubleType, false),
            field("confidence_mean_prob", DataTypes.DoubleType, false),
            field("confidence_neg_entropy", DataTypes.DoubleType, false),
            field("elicited_tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false),
            field("first_token_prob", DataTypes.DoubleType, false),
            field("num_prompt_tokens", DataTypes.IntegerType, false),
            field("num_trace_tokens", DataTypes.IntegerType, false),
            field("finish_reason", DataTypes.StringType, false),
            field("model_id", DataTypes.StringType, false),
            field("weights_sha256", DataTypes.StringType, false),
            field("seed", DataTypes.LongType, false),
            field("config_hash", DataTypes.StringType, false),
            field("generated_at", DataTypes.TimestampType, false),
            field("error", DataTypes.StringType, true),
    });

    private TracesTable() {
    }

    private static StructField field(String name, org.apache.spark.sql.types.DataType type, boolean nullable) {
        return DataTypes.createStructField(name, type, nullable);
    }

    /** Run-level columns shared by every row of a run (serialisable: shipped to executors). */
    public record RunInfo(String runId, String modelId, String weightsSha256, long seed, String configHash,
                          long generatedAtMicros) implements java.io.Serializable {
    }

    public static Row toRow(RunInfo run, int shard, TraceRecord t) {
        Timestamp ts = new Timestamp(run.generatedAtMicros() / 1000);
        ts.setNanos((int) (run.generatedAtMicros() % 1_000_000) * 1000);
        return RowFactory.create(SCHEMA_VERSION, run.runId(), shard, t.promptId(), t.task(), t.branch(), t.prompt(),
                Columns.seq(t.promptTokens()), t.traceText(), Columns.seq(t.traceTokens()), Columns.seq(t.tokenLogProbs()), t.answer(),
                t.spanStart(), t.spanEnd(), t.confidence(), t.confidenceMeanProb(), t.confidenceNegEntropy(),
                Columns.seq(t.elicitedTokens()), t.firstTokenProb(), t.promptTokens().length, t.traceTokens().length,
                t.finishReason(), run.modelId(), run.weightsSha256(), run.seed(), run.configHash(), ts, t.error());
    }

    /** Reads a row back by column name (an error row has branch −1 and empty arrays). */
    public static TraceRecord fromRow(Row r) {
        return new TraceRecord(r.getString(r.fieldIndex("prompt_id")), r.getString(r.fieldIndex("task")),
                r.getInt(r.fieldIndex("branch")), r.getString(r.fieldIndex("prompt")), Columns.ints(r, "prompt_tokens"),
                r.getString(r.fieldIndex("trace_text")), Columns.ints(r, "trace_tokens"), Columns.floats(r, "token_logprobs"),
                r.getString(r.fieldIndex("answer")), r.getInt(r.fieldIndex("span_start")), r.getInt(r.fieldIndex("span_end")),
                r.getDouble(r.fieldIndex("confidence")), r.getDouble(r.fieldIndex("confidence_mean_prob")),
                r.getDouble(r.fieldIndex("confidence_neg_entropy")), Columns.ints(r, "elicited_tokens"),
                r.getDouble(r.fieldIndex("first_token_prob")), r.getString(r.fieldIndex("finish_reason")),
                r.getString(r.fieldIndex("error")));
    }

    public static boolean isCommitted(FileStore store, Path table, String runId, int shard) {
        return RunLayout.isComplete(store, RunLayout.shardPartition(table, runId, shard));
    }

    /** Written by the driver after the partition's data committed. */
    public static void writeManifest(FileStore store, Path table, Manifests.TracesShard manifest) {
        Manifests.write(store, RunLayout.manifest(RunLayout.shardPartition(table, manifest.runId(), manifest.shard())), manifest);
    }

}
