package org.rlsf.io;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.rlsf.config.CodeVersion;
import org.rlsf.tasks.Problem;
import org.rlsf.tasks.Prompts;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The corpus table: one Parquet row per problem, explicit versioned schema, zstd, plus a
 * {@code _MANIFEST.json} written after the data commits (row count, schema version, code version,
 * how it was made). Reading checks the manifest and the columns.
 *
 * <pre>
 * schema_version int, ordinal long, problem_id string, task string, split string, question string,
 * prompt string, answer string (null when unknown), options array&lt;string&gt;, content_sha256 string, source string
 * </pre>
 */
public final class CorpusTable {
    public static final int SCHEMA_VERSION = 1;
    public static final String MANIFEST = RunLayout.MANIFEST;
    public static final StructType SCHEMA = new StructType(new StructField[]{
            DataTypes.createStructField("schema_version", DataTypes.IntegerType, false),
            DataTypes.createStructField("ordinal", DataTypes.LongType, false),
            DataTypes.createStructField("problem_id", DataTypes.StringType, false),
            DataTypes.createStructField("task", DataTypes.StringType, false),
            DataTypes.createStructField("split", DataTypes.StringType, false),
            DataTypes.createStructField("question", DataTypes.StringType, false),
            DataTypes.createStructField("prompt", DataTypes.StringType, false),
            DataTypes.createStructField("answer", DataTypes.StringType, true),
            DataTypes.createStructField("options", DataTypes.createArrayType(DataTypes.StringType, false), false),
            DataTypes.createStructField("content_sha256", DataTypes.StringType, false),
            DataTypes.createStructField("source", DataTypes.StringType, false),
    });

    private CorpusTable() {
    }

    /**
     * Writes (replacing) the table at {@code dir}; {@code provenance} goes into the manifest. {@code dir} must be absent,
     * empty, or a corpus table (finished or half-written): anything else is refused, naming what is there.
     */
    public static void write(SparkSession spark, FileStore store, Path dir, List<Problem> problems, String split,
                             String source, Map<String, Object> provenance) {
        write(spark, store, dir, problems, split, source, provenance, false);
    }

    /** As above; {@code overwrite} replaces whatever {@code dir} holds (its {@code _logs/} excepted). */
    public static void write(SparkSession spark, FileStore store, Path dir, List<Problem> problems, String split,
                             String source, Map<String, Object> provenance, boolean overwrite) {
        if (!overwrite) {
            requireReplaceable(store, dir);
        }
        List<Row> rows = new ArrayList<>(problems.size());
        for (int i = 0; i < problems.size(); i++) {
            Problem p = problems.get(i);
            rows.add(RowFactory.create(SCHEMA_VERSION, (long) i, p.problemId(), p.task(), split, p.question(),
                    Prompts.qa(p), p.answer(), p.options(), p.contentSha256(), source));
        }
        // Replace a previous table but keep the command's own _logs/ (SaveMode.Overwrite would delete it);
        // the manifest goes first, so a reader never takes a half-replaced table for a finished one.
        if (store.exists(dir)) {
            store.delete(new Path(dir, MANIFEST));
            for (Path child : store.list(dir)) {
                if (!child.getName().equals("_logs")) {
                    store.delete(child);
                }
            }
        }
        Dataset<Row> df = spark.createDataFrame(rows, SCHEMA).coalesce(1);
        df.write().mode(SaveMode.Append).option("compression", "zstd").parquet(dir.toString());
        Manifests.write(store, RunLayout.manifest(dir), Manifests.Corpus.of(SCHEMA_VERSION, problems.size(), split, source,
                CodeVersion.get(), Instant.now().toString(), provenance));
    }

    /**
     * Refuses a {@code dir} that holds anything a corpus table does not (its manifest, Spark's part files, success
     * marker and checksums, the corpus command's {@code _logs/}, {@code _config.conf}, {@code _bad_rows.jsonl} and
     * stage stamp):
     * replacing a table deletes its directory's children.
     *
     * @throws IllegalArgumentException naming the directory and the first foreign child
     */
    public static void requireReplaceable(FileStore store, Path dir) {
        if (!store.exists(dir)) {
            return;
        }
        for (Path child : store.list(dir)) {
            String n = child.getName();
            boolean ours = n.equals(MANIFEST) || n.equals("_logs") || n.equals("_SUCCESS") || n.equals("_config.conf")
                    || n.equals("_bad_rows.jsonl") || n.startsWith(StageStamp.PREFIX) || n.startsWith("part-") || (n.startsWith(".") && (n.endsWith(".crc") || n.contains(".tmp-")));
            if (!ours) {
                throw new IllegalArgumentException(dir + " is not empty and not a corpus table (it holds " + n
                        + "): refusing to replace it; choose another --out, or pass --overwrite to replace its contents");
            }
        }
    }

    public static boolean isCorpusTable(FileStore store, Path dir) {
        return store.exists(new Path(dir, MANIFEST));
    }

    /** Reads the problems with their gold answers, in written order; checks the manifest and schema. */
    public static List<Problem> read(SparkSession spark, FileStore store, Path dir) {
        return read(spark, store, dir, true);
    }

    /**
     * Reads the problems without gold answers (the answer column is never selected): what every stage
     * before evaluation may see.
     */
    public static List<Problem> readPrompts(SparkSession spark, FileStore store, Path dir) {
        return read(spark, store, dir, false);
    }

    private static List<Problem> read(SparkSession spark, FileStore store, Path dir, boolean withAnswers) {
        Path manifestPath = new Path(dir, MANIFEST);
        if (!store.exists(manifestPath)) {
            throw new IllegalArgumentException("not a corpus table: " + dir + " has no " + MANIFEST
                    + " (unfinished write, or not written by `rlsf corpus`)");
        }
        Map<?, ?> manifest = Json.read(store.readText(manifestPath), Map.class, manifestPath);
        Object version = manifest.get("schema_version");
        if (!(version instanceof Integer v) || v > SCHEMA_VERSION) {
            throw new IllegalArgumentException("corpus " + dir + " has schema_version " + version
                    + "; this build reads up to " + SCHEMA_VERSION);
        }
        Dataset<Row> df = spark.read().parquet(dir.toString());
        List<String> problems = new ArrayList<>();
        for (StructField f : SCHEMA.fields()) {
            int idx = List.of(df.schema().fieldNames()).indexOf(f.name());
            if (idx < 0) {
                problems.add("missing column " + f.name());
            } else if (!df.schema().fields()[idx].dataType().sameType(f.dataType())) {
                problems.add("column " + f.name() + " is " + df.schema().fields()[idx].dataType().simpleString()
                        + ", expected " + f.dataType().simpleString());
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("corpus " + dir + " does not match schema v" + SCHEMA_VERSION + ": "
                    + String.join("; ", problems));
        }
        List<Problem> out = new ArrayList<>();
        String answer = withAnswers ? "answer" : "CAST(NULL AS STRING) AS answer";
        List<Row> rows = new ArrayList<>(df.selectExpr("ordinal", "problem_id", "task", "question", answer, "options").collectAsList());
        rows.sort(Columns.ascending("ordinal"));
        for (Row r : rows) {
            int answerColumn = r.fieldIndex("answer");
            out.add(new Problem(r.getString(r.fieldIndex("problem_id")), r.getString(r.fieldIndex("task")),
                    r.getString(r.fieldIndex("question")), r.isNullAt(answerColumn) ? null : r.getString(answerColumn),
                    r.getList(r.fieldIndex("options"))));
        }
        return out;
    }
}
