package org.rlsf.io;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.rlsf.pairs.Candidate;
import org.rlsf.pairs.PairBuilder;
import org.rlsf.pairs.PreferenceExample;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * The preference-pairs table (Parquet, schema version 1, zstd, partitioned by {@code run_id}, a
 * {@code _MANIFEST.json} per partition): one row per chosen/rejected pair with both responses'
 * tokens, answers, confidences and the frozen model's summed log-probs (DPO's reference, taken from
 * the traces table: no second model pass).
 */
public final class PairsTable {
    public static final int SCHEMA_VERSION = 1;

    public static final StructType SCHEMA = new StructType(new StructField[]{
            field("schema_version", DataTypes.IntegerType, false),
            field("pair_id", DataTypes.StringType, false),
            field("run_id", DataTypes.StringType, false),
            field("prompt_id", DataTypes.StringType, false),
            field("task", DataTypes.StringType, false),
            field("prompt", DataTypes.StringType, false),
            field("prompt_tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false),
            field("chosen_trace_id", DataTypes.StringType, false),
            field("rejected_trace_id", DataTypes.StringType, false),
            field("chosen_branch", DataTypes.IntegerType, false),
            field("rejected_branch", DataTypes.IntegerType, false),
            field("chosen_text", DataTypes.StringType, false),
            field("rejected_text", DataTypes.StringType, false),
            field("chosen_tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false),
            field("rejected_tokens", DataTypes.createArrayType(DataTypes.IntegerType, false), false),
            field("chosen_answer", DataTypes.StringType, true),
            field("rejected_answer", DataTypes.StringType, true),
            field("chosen_confidence", DataTypes.DoubleType, false),
            field("rejected_confidence", DataTypes.DoubleType, false),
            field("margin", DataTypes.DoubleType, false),
            field("chosen_ref_logprob", DataTypes.DoubleType, false),
            field("rejected_ref_logprob", DataTypes.DoubleType, false),
            field("policy", DataTypes.StringType, false),
            field("threshold", DataTypes.DoubleType, false),
            field("model_id", DataTypes.StringType, false),
            field("weights_sha256", DataTypes.StringType, false),
    });

    /** The traces-table columns the pairs stage reads, with their types. */
    public static final StructType TRACES_INPUT = new StructType(Arrays.stream(TracesTable.SCHEMA.fields())
            .filter(f -> List.of("schema_version", "run_id", "prompt_id", "task", "branch", "prompt", "prompt_tokens",
                    "trace_text", "trace_tokens", "token_logprobs", "answer", "confidence", "model_id", "weights_sha256",
                    "error").contains(f.name()))
            .toArray(StructField[]::new));

    /** The prompt-level columns of one group of traces (serialisable: shipped to executors). */
    public record PromptInfo(String runId, String promptId, String task, String prompt, int[] promptTokens,
                             String modelId, String weightsSha256) implements java.io.Serializable {
    }

    private PairsTable() {
    }

    private static StructField field(String name, DataType type, boolean nullable) {
        return DataTypes.createStructField(name, type, nullable);
    }

    /**
     * Checks that a traces table has every column the pairs stage reads, with the right type.
     *
     * @throws IllegalArgumentException naming the table and each missing or mismatched column
     */
    public static void requireTracesSchema(StructType actual, String where) {
        List<String> problems = new ArrayList<>();
        for (StructField f : TRACES_INPUT.fields()) {
            if (!Arrays.asList(actual.fieldNames()).contains(f.name())) {
                problems.add("missing column " + f.name() + " (" + f.dataType().simpleString() + ")");
            } else {
                DataType a = actual.apply(f.name()).dataType();
                if (!a.sameType(f.dataType())) {   // sameType ignores nullability
                    problems.add("column " + f.name() + " is " + a.simpleString() + ", expected " + f.dataType().simpleString());
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(where + " is not a traces table of schema version "
                    + TracesTable.SCHEMA_VERSION + ": " + String.join("; ", problems));
        }
    }

    /** @throws IllegalArgumentException when rows carry a schema version this code does not read */
    public static void requireTracesVersions(List<Integer> versions, String where) {
        List<Integer> other = versions.stream().filter(v -> v != TracesTable.SCHEMA_VERSION).sorted().toList();
        if (!other.isEmpty()) {
            throw new IllegalArgumentException(where + " has traces of schema version " + other
                    + (other.get(other.size() - 1) > TracesTable.SCHEMA_VERSION ? " (newer than this rlsf)" : "")
                    + "; this rlsf reads schema version " + TracesTable.SCHEMA_VERSION + " (column schema_version)");
        }
    }

    /** Deterministic id of a pair: the same run, prompt, branches and policy give the same id. */
    public static String pairId(String runId, String promptId, int chosenBranch, int rejectedBranch, String policy) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] h = md.digest((runId + "\n" + promptId + "\n" + chosenBranch + "\n" + rejectedBranch + "\n" + policy)
                    .getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(h, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String traceId(String runId, String promptId, int branch) {
        return runId + "/" + promptId + "/" + branch;
    }

    public static Row toRow(PromptInfo p, PairBuilder.Pair pair, String policy, double threshold) {
        var c = pair.chosen();
        var r = pair.rejected();
        return RowFactory.create(SCHEMA_VERSION, pairId(p.runId(), p.promptId(), c.branch(), r.branch(), policy),
                p.runId(), p.promptId(), p.task(), p.prompt(), Columns.seq(p.promptTokens()),
                traceId(p.runId(), p.promptId(), c.branch()), traceId(p.runId(), p.promptId(), r.branch()),
                c.branch(), r.branch(), c.text(), r.text(), Columns.seq(c.tokens()), Columns.seq(r.tokens()), c.answer(), r.answer(),
                c.confidence(), r.confidence(), pair.margin(), c.refLogProb(), r.refLogProb(), policy, threshold,
                p.modelId(), p.weightsSha256());
    }

    /** The prompt-level columns of a traces row (a row of {@link #TRACES_INPUT}), read by name. */
    public static PromptInfo promptInfo(Row traces) {
        return new PromptInfo(traces.getString(traces.fieldIndex("run_id")), traces.getString(traces.fieldIndex("prompt_id")),
                traces.getString(traces.fieldIndex("task")), traces.getString(traces.fieldIndex("prompt")),
                Columns.ints(traces, "prompt_tokens"), traces.getString(traces.fieldIndex("model_id")),
                traces.getString(traces.fieldIndex("weights_sha256")));
    }

    /** A traces row as a ranking candidate; its reference log-prob is the sum of the trace's token log-probs. */
    public static Candidate candidate(Row traces) {
        double ref = 0;
        for (float x : Columns.floats(traces, "token_logprobs")) {
            ref += x;
        }
        return new Candidate(traces.getInt(traces.fieldIndex("branch")), traces.getString(traces.fieldIndex("trace_text")),
                Columns.ints(traces, "trace_tokens"), traces.getString(traces.fieldIndex("answer")),
                traces.getDouble(traces.fieldIndex("confidence")), ref);
    }

    /** The columns training reads. */
    static final List<String> EXAMPLE_COLUMNS = List.of("pair_id", "run_id", "prompt_id", "prompt_tokens", "chosen_tokens",
            "rejected_tokens", "chosen_ref_logprob", "rejected_ref_logprob", "weights_sha256", "chosen_branch",
            "rejected_branch", "chosen_confidence", "rejected_confidence");

    /**
     * The pairs of {@code runId} (every run when null) as training examples, in an order that does not depend on the
     * run id (pair ids hash it in): (prompt, chosen branch, rejected branch), so the same pairs under another run id
     * train in the same order, to the same weights.
     *
     * @throws IllegalArgumentException when the table is missing, is not a pairs table, has no pairs, or holds a pair
     *                                  made by other weights than {@code baseWeights} (its reference log-probs would
     *                                  belong to another model)
     */
    public static List<PreferenceExample> readExamples(SparkSession spark, FileStore store, Path table, String runId,
                                                       String baseWeights) {
        if (!store.exists(table)) {
            throw new IllegalArgumentException("pairs table " + table + " does not exist");
        }
        Dataset<Row> df;
        try {
            df = spark.read().parquet(table.toString());
        } catch (Exception e) {   // Spark's AnalysisException is checked but undeclared
            if (e instanceof org.apache.spark.sql.AnalysisException a) {
                throw new IllegalArgumentException(table + " has no pair rows (" + a.getSimpleMessage()
                        + "): nothing to train on. Were any traces at or above pairs.threshold?", e);
            }
            throw e;
        }
        List<String> missing = EXAMPLE_COLUMNS.stream().filter(c -> !List.of(df.schema().fieldNames()).contains(c)).toList();
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(table + " is not a pairs table: missing columns " + missing);
        }
        Dataset<Row> sel = runId == null ? df : df.filter(functions.col("run_id").equalTo(runId));
        List<Row> rows = new ArrayList<>(sel.select(EXAMPLE_COLUMNS.stream().map(functions::col).toArray(Column[]::new))
                .collectAsList());
        rows.sort(Columns.ascending("prompt_id", "chosen_branch", "rejected_branch", "pair_id"));
        if (rows.isEmpty()) {
            throw new IllegalArgumentException(table + " has no pairs" + (runId == null ? "" : " for run " + runId)
                    + ": nothing to train on (were any traces at or above pairs.threshold?)");
        }
        List<PreferenceExample> out = new ArrayList<>(rows.size());
        for (Row r : rows) {
            String pairId = r.getString(r.fieldIndex("pair_id"));
            String weights = r.getString(r.fieldIndex("weights_sha256"));
            if (!baseWeights.equals(weights)) {
                throw new IllegalArgumentException("pair " + pairId + " in " + table + " was generated by model weights "
                        + weights + ", not by the base " + baseWeights + ": its reference log-probs do not belong to this base");
            }
            out.add(new PreferenceExample(pairId, r.getString(r.fieldIndex("prompt_id")), Columns.ints(r, "prompt_tokens"),
                    Columns.ints(r, "chosen_tokens"), Columns.ints(r, "rejected_tokens"),
                    r.getDouble(r.fieldIndex("chosen_ref_logprob")), r.getDouble(r.fieldIndex("rejected_ref_logprob")),
                    r.getDouble(r.fieldIndex("chosen_confidence")) - r.getDouble(r.fieldIndex("rejected_confidence"))));
        }
        return out;
    }

    /** Written by the driver after the run's partition committed. */
    public static void writeManifest(FileStore store, Path table, Manifests.PairsRun manifest) {
        Manifests.write(store, RunLayout.manifest(RunLayout.runPartition(table, manifest.runId())), manifest);
    }
}
