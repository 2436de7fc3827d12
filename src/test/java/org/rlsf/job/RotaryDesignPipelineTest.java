package org.rlsf.job;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.rlsf.TestSpark;
import org.rlsf.config.Architecture;
import org.rlsf.config.ModelConfig;
import org.rlsf.corpus.TaskCorpus;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.FileStore;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.TransformerLm;
import org.rlsf.tasks.ArithTask;

import java.io.File;
import java.nio.file.Files;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * generate → pairs → train and reward-model on a Llama-family design (RMSNorm, rotary positions, SwiGLU, grouped-query
 * attention, no position layer): the trainers once read the learning rate and the graph length from the position
 * layer, which rotary designs do not have.
 */
class RotaryDesignPipelineTest {
    private static final FileStore STORE = FileStore.local();

    @Test
    void dpoAndTheRewardModelTrainOnARotaryDesign(@TempDir File dir) throws Exception {
        Checkpoint words = org.rlsf.generate.ShardGeneratorTestSupport.taskModel(96);
        ModelConfig m = new ModelConfig(words.tokenizer().vocabSize(), 16, 2, 2, 32, 96, 1e-5, 0.3, 11,
                Architecture.llama(1, 10000, null, false, false, false));
        File ckpt = new File(dir, "llama-ckpt");
        Checkpoint.save(STORE, new Path(ckpt.getAbsolutePath()), TransformerLm.create(m, 8,
                TransformerLm.Optimiser.inferenceOnly(), DataType.FLOAT), words.tokenizer(), m, Map.of());
        File corpus = new File(dir, "corpus");
        CorpusTable.write(SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate(), STORE,
                new Path(corpus.getAbsolutePath()), TaskCorpus.generate(new ArithTask(), 8, 3, TaskCorpus.TRAIN),
                TaskCorpus.TRAIN, "test", Map.of());
        File traces = new File(dir, "traces"), pairs = new File(dir, "pairs");
        assertEquals(0, Main.execute("generate", "--model", ckpt.getAbsolutePath(), "--corpus", corpus.getAbsolutePath(),
                "--out", traces.getAbsolutePath(), "--set", "generate.k=3", "--set", "generate.max-new-tokens=8",
                "--set", "generate.max-answer-tokens=4", "--set", "generate.shards=1"));
        assertEquals(0, Main.execute("pairs", "--traces", traces.getAbsolutePath(), "--out", pairs.getAbsolutePath(),
                "--set", "pairs.threshold=0.0"));
        String[] small = {"--set", "train.pairs-per-batch=2", "--set", "train.heldout-fraction=0.25", "--set", "train.warmup-steps=0"};
        File dpo = new File(dir, "dpo");
        assertEquals(0, Main.execute(concat(new String[]{"train", "--model", ckpt.getAbsolutePath(), "--pairs",
                pairs.getAbsolutePath(), "--out", dpo.getAbsolutePath(), "--set", "train.epochs=1"}, small)));
        JsonNode start = new ObjectMapper().readTree(Files.readAllLines(new File(dpo, "metrics.jsonl").toPath()).get(0));
        assertEquals(Math.log(2), start.get("loss").asDouble(), 1e-4, "decoder and rotary training graph agree: " + start);
        assertTrue(Checkpoint.load(STORE, new Path(dpo.getAbsolutePath())).model().arch().positions()
                == Architecture.Positions.ROPE);
        File rm = new File(dir, "rm");
        assertEquals(0, Main.execute(concat(new String[]{"reward-model", "--model", ckpt.getAbsolutePath(), "--pairs",
                pairs.getAbsolutePath(), "--out", rm.getAbsolutePath(), "--set", "reward.epochs=1"}, small)));
        assertEquals(8, TransformerLm.seqLen(Checkpoint.load(STORE, new Path(rm.getAbsolutePath())).graph()), "the base's length");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
