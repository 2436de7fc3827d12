package org.rlsf.io;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.rlsf.evaluate.ProblemResult;

import java.util.ArrayList;
import java.util.List;

/**
 * The per-problem evaluation table (Parquet, schema version 1): one row per labelled problem with
 * prediction, correctness, answer-span confidence, decoding cost and every branch's answer,
 * confidence and correctness. Written by {@code rlsf evaluate}; the summary is aggregated from it.
 */
public final class EvalTable {
    public static final int SCHEMA_VERSION = 2;

    public static final StructType SCHEMA = new StructType(new StructField[]{
            field("schema_version", DataTypes.IntegerType, false),
            field("eval_name", DataTypes.StringType, false),
            field("decoding", DataTypes.StringType, false),
            field("problem_id", DataTypes.StringType, false),
            field("task", DataTypes.StringType, false),
            field("gold", DataTypes.StringType, false),
            field("prediction", DataTypes.StringType, true),
            field("correct", DataTypes.BooleanType, false),
            field("confidence", DataTypes.DoubleType, false),
            field("cot_style", DataTypes.BooleanType, true),
            field("generated_tokens", DataTypes.IntegerType, false),
            field("chosen_branch", DataTypes.IntegerType, false),
            field("branch_answers", DataTypes.createArrayType(DataTypes.StringType, true), false),
            field("branch_confidences", DataTypes.createArrayType(DataTypes.DoubleType, false), false),
            field("branch_correct", DataTypes.createArrayType(DataTypes.BooleanType, false), false),
            field("branch_cot_style", DataTypes.createArrayType(DataTypes.BooleanType, false), false),
            field("model_id", DataTypes.StringType, false),
            field("weights_sha256", DataTypes.StringType, false),
            field("config_hash", DataTypes.StringType, false),
            field("error", DataTypes.StringType, true),
            // since schema 2: a reward model's score per branch, null when none scored the evaluation
            field("branch_rewards", DataTypes.createArrayType(DataTypes.DoubleType, false), true),
    });

    /** Columns shared by every row of one evaluation (serialisable: shipped to executors). */
    public record EvalInfo(String name, String decoding, String modelId, String weightsSha256, String configHash)
            implements java.io.Serializable {
    }

    private EvalTable() {
    }

    private static StructField field(String name, org.apache.spark.sql.types.DataType type, boolean nullable) {
        return DataTypes.createStructField(name, type, nullable);
    }

    public static Row toRow(EvalInfo info, ProblemResult r) {
        List<Double> conf = new ArrayList<>();
        List<Boolean> ok = new ArrayList<>();
        List<Boolean> cot = new ArrayList<>();
        for (int i = 0; i < r.branchConfidences().length; i++) {
            conf.add(r.branchConfidences()[i]);
            ok.add(r.branchCorrect()[i]);
            cot.add(r.branchCotStyle()[i]);
        }
        return RowFactory.create(SCHEMA_VERSION, info.name(), info.decoding(), r.problemId(), r.task(), r.gold(),
                r.prediction(), r.correct(), r.confidence(), r.cotStyle(), r.generatedTokens(), r.chosenBranch(),
                Columns.seq(java.util.Arrays.asList(r.branchAnswers())), Columns.seq(conf), Columns.seq(ok), Columns.seq(cot), info.modelId(), info.weightsSha256(),
                info.configHash(), r.error(), r.branchRewards().length == 0 ? null
                        : Columns.seq(java.util.Arrays.stream(r.branchRewards()).boxed().toList()));
    }

    /** Reads a row back (the metrics are aggregated from the written table). */
    public static ProblemResult fromRow(Row row) {
        List<String> answers = row.getList(row.fieldIndex("branch_answers"));
        List<Double> conf = row.getList(row.fieldIndex("branch_confidences"));
        List<Boolean> ok = row.getList(row.fieldIndex("branch_correct"));
        List<Boolean> cot = row.getList(row.fieldIndex("branch_cot_style"));
        double[] c = new double[conf.size()];
        boolean[] k = new boolean[ok.size()];
        boolean[] s = new boolean[cot.size()];
        for (int i = 0; i < c.length; i++) {
            c[i] = conf.get(i);
            k[i] = ok.get(i);
            s[i] = cot.get(i);
        }
        int cs = row.fieldIndex("cot_style");
        double[] rewards = new double[0];
        if (java.util.Arrays.asList(row.schema().fieldNames()).contains("branch_rewards")   // schema 1 tables lack it
                && !row.isNullAt(row.fieldIndex("branch_rewards"))) {
            rewards = row.<Double>getList(row.fieldIndex("branch_rewards")).stream().mapToDouble(Double::doubleValue).toArray();
        }
        return new ProblemResult(row.getString(row.fieldIndex("problem_id")), row.getString(row.fieldIndex("task")),
                row.getString(row.fieldIndex("gold")), row.getString(row.fieldIndex("prediction")),
                row.getBoolean(row.fieldIndex("correct")), row.getDouble(row.fieldIndex("confidence")),
                row.isNullAt(cs) ? null : row.getBoolean(cs), row.getInt(row.fieldIndex("generated_tokens")),
                row.getInt(row.fieldIndex("chosen_branch")), answers.toArray(new String[0]), c, k, s,
                row.getString(row.fieldIndex("error")), rewards);
    }
}
