package org.rlsf.io;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rlsf.TestSpark;
import org.rlsf.evaluate.ProblemResult;
import org.rlsf.pairs.Candidate;
import org.rlsf.pairs.PairBuilder;
import org.rlsf.pairs.PreferenceExample;
import org.rlsf.score.TraceRecord;

import java.io.File;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every table's record → row → Parquet → row → record is the identity, read by column name. */
class TablesRoundTripTest {
    private static SparkSession spark() {
        return SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate();
    }

    /** Writes the rows as Parquet with the schema, reads them back with the columns in another order. */
    private static List<Row> throughParquet(List<Row> rows, org.apache.spark.sql.types.StructType schema, File dir) {
        String path = new File(dir, "t").getAbsolutePath();
        spark().createDataFrame(rows, schema).write().mode(SaveMode.Overwrite).parquet(path);
        Dataset<Row> back = spark().read().parquet(path);
        String[] reversed = back.columns();
        java.util.Collections.reverse(java.util.Arrays.asList(reversed));
        return back.selectExpr(reversed).collectAsList();   // by name, whatever the column order
    }

    @Test
    void aTraceRoundTrips(@TempDir File dir) {
        TraceRecord t = new TraceRecord("arith-7", "arith", 3, "Q: x\nA:", new int[]{1, 5, 6}, " Let us count. 7+3=10.",
                new int[]{9, 10, 11}, new float[]{-0.5f, -0.25f, -1.75f}, "10", 1, 2, 0.82, 0.9, -0.3, new int[]{12, 13}, 0.41,
                "eos", null);
        TraceRecord err = TraceRecord.error("arith-8", "arith", "Q: y\nA:", "tokenizer: character '€'");
        TracesTable.RunInfo run = new TracesTable.RunInfo("r1", "file:/m", "abc", 5, "cfg", 1_700_000_000_123_456L);
        List<Row> back = throughParquet(List.of(TracesTable.toRow(run, 2, t), TracesTable.toRow(run, 2, err)),
                TracesTable.SCHEMA, dir);
        assertTraceEquals(t, TracesTable.fromRow(back.get(0)));
        assertTraceEquals(err, TracesTable.fromRow(back.get(1)));
        assertEquals("r1", back.get(0).getString(back.get(0).fieldIndex("run_id")));
        assertEquals(2, back.get(0).getInt(back.get(0).fieldIndex("shard")));
    }

    private static void assertTraceEquals(TraceRecord a, TraceRecord b) {
        assertEquals(a.promptId(), b.promptId());
        assertEquals(a.task(), b.task());
        assertEquals(a.branch(), b.branch());
        assertEquals(a.prompt(), b.prompt());
        assertArrayEquals(a.promptTokens(), b.promptTokens());
        assertEquals(a.traceText(), b.traceText());
        assertArrayEquals(a.traceTokens(), b.traceTokens());
        assertArrayEquals(a.tokenLogProbs(), b.tokenLogProbs());
        assertEquals(a.answer(), b.answer());
        assertEquals(a.spanStart(), b.spanStart());
        assertEquals(a.spanEnd(), b.spanEnd());
        assertEquals(a.confidence(), b.confidence());
        assertEquals(a.confidenceMeanProb(), b.confidenceMeanProb());
        assertEquals(a.confidenceNegEntropy(), b.confidenceNegEntropy());
        assertArrayEquals(a.elicitedTokens(), b.elicitedTokens());
        assertEquals(a.firstTokenProb(), b.firstTokenProb());
        assertEquals(a.finishReason(), b.finishReason());
        assertEquals(a.error(), b.error());
    }

    @Test
    void aPairRoundTripsIntoTheExampleTrainingReads(@TempDir File dir) {
        Candidate chosen = new Candidate(0, " Let us count. 3+4=7.", new int[]{20, 21, 2}, "7", 0.95, -1.25);
        Candidate rejected = new Candidate(4, " So the answer is 6.", new int[]{30, 31, 32, 2}, "6", 0.40, -3.5);
        PairsTable.PromptInfo info = new PairsTable.PromptInfo("r1", "arith-1", "arith", "Q: 3+4\nA:", new int[]{5, 6, 7},
                "file:/m", "w123");
        Row row = PairsTable.toRow(info, new PairBuilder.Pair(chosen, rejected, Math.exp(0.55)), "best-vs-worst", 0.9);
        String table = new File(dir, "pairs").getAbsolutePath();
        spark().createDataFrame(List.of(row), PairsTable.SCHEMA).write().partitionBy("run_id").parquet(table);

        List<PreferenceExample> back = PairsTable.readExamples(spark(), FileStore.local(), new Path(table), "r1", "w123");
        assertEquals(1, back.size());
        PreferenceExample e = back.get(0);
        assertEquals(PairsTable.pairId("r1", "arith-1", 0, 4, "best-vs-worst"), e.pairId());
        assertEquals("arith-1", e.promptId());
        assertArrayEquals(new int[]{5, 6, 7}, e.prompt());
        assertArrayEquals(chosen.tokens(), e.chosen());
        assertArrayEquals(rejected.tokens(), e.rejected());
        assertEquals(-1.25, e.refChosen());
        assertEquals(-3.5, e.refRejected());

        IllegalArgumentException other = assertThrows(IllegalArgumentException.class,
                () -> PairsTable.readExamples(spark(), FileStore.local(), new Path(table), "r1", "another"));
        assertTrue(other.getMessage().contains("was generated by model weights w123"), other.getMessage());
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                () -> PairsTable.readExamples(spark(), FileStore.local(), new Path(table), "r2", "w123"));
        assertTrue(none.getMessage().contains("has no pairs for run r2"), none.getMessage());
    }

    @Test
    void aTracesRowIsACandidateWithItsSummedLogProbs(@TempDir File dir) {
        TraceRecord t = new TraceRecord("mcq-1", "mcq", 1, "Q\nA:", new int[]{1}, " x", new int[]{4, 5},
                new float[]{-0.5f, -0.25f}, "B", 0, 1, 0.7, 0.8, -0.2, new int[0], 0.3, "eos", null);
        Row row = throughParquet(List.of(TracesTable.toRow(new TracesTable.RunInfo("r", "m", "w", 0, "c", 0), 0, t)),
                TracesTable.SCHEMA, dir).get(0);
        Candidate c = PairsTable.candidate(row);
        assertEquals(new Candidate(1, " x", c.tokens(), "B", 0.7, -0.75), c);
        assertArrayEquals(new int[]{4, 5}, c.tokens());
        PairsTable.PromptInfo info = PairsTable.promptInfo(row);
        assertEquals("mcq-1", info.promptId());
        assertArrayEquals(new int[]{1}, info.promptTokens());
    }

    @Test
    void anEvaluationRowRoundTrips(@TempDir File dir) {
        ProblemResult r = new ProblemResult("p1", "mcq", "B", "C", false, 0.35, true, 40, 2, new String[]{"B", null, "C"},
                new double[]{0.2, 0.0, 0.35}, new boolean[]{true, false, false}, new boolean[]{true, false, true}, null);
        EvalTable.EvalInfo info = new EvalTable.EvalInfo("base-cot", "cot-decoding", "m", "w", "c");
        ProblemResult back = EvalTable.fromRow(throughParquet(List.of(EvalTable.toRow(info, r)), EvalTable.SCHEMA, dir).get(0));
        assertEquals(r.problemId(), back.problemId());
        assertEquals(r.prediction(), back.prediction());
        assertEquals(r.correct(), back.correct());
        assertEquals(r.confidence(), back.confidence());
        assertEquals(r.cotStyle(), back.cotStyle());
        assertEquals(r.generatedTokens(), back.generatedTokens());
        assertEquals(r.chosenBranch(), back.chosenBranch());
        assertArrayEquals(r.branchAnswers(), back.branchAnswers());
        assertArrayEquals(r.branchConfidences(), back.branchConfidences());
        assertArrayEquals(r.branchCorrect(), back.branchCorrect());
        assertArrayEquals(r.branchCotStyle(), back.branchCotStyle());
        assertNull(back.error());
        assertEquals(0, back.branchRewards().length, "no reward model scored it");

        ProblemResult scored = r.withBranchRewards(new double[]{0.5, -1.25, 2.0});
        ProblemResult scoredBack = EvalTable.fromRow(throughParquet(List.of(EvalTable.toRow(info, scored)), EvalTable.SCHEMA,
                new File(dir, "scored")).get(0));
        assertArrayEquals(scored.branchRewards(), scoredBack.branchRewards());
    }

    @Test
    void aSchemaOneEvaluationRowWithoutBranchRewardsStillReads(@TempDir File dir) {
        ProblemResult r = new ProblemResult("p1", "arith", "4", "4", true, 0.9, true, 12, 0, new String[]{"4"},
                new double[]{0.9}, new boolean[]{true}, new boolean[]{true}, null);
        org.apache.spark.sql.types.StructType v1 = new org.apache.spark.sql.types.StructType(java.util.Arrays.stream(EvalTable.SCHEMA.fields())
                .filter(f -> !f.name().equals("branch_rewards")).toArray(org.apache.spark.sql.types.StructField[]::new));
        Row full = EvalTable.toRow(new EvalTable.EvalInfo("g", "greedy", "m", "w", "c"), r);
        Object[] values = new Object[v1.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = full.get(i);
        }
        ProblemResult back = EvalTable.fromRow(throughParquet(List.of(org.apache.spark.sql.RowFactory.create(values)), v1, dir).get(0));
        assertEquals(0, back.branchRewards().length);
        assertEquals(r.confidence(), back.confidence());
    }
}
