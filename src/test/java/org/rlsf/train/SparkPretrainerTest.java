package org.rlsf.train;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rlsf.TestSpark;
import org.rlsf.config.ModelConfig;
import org.rlsf.config.PretrainConfig;
import org.rlsf.corpus.Document;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.WordTokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pretraining through dl4j-spark parameter averaging on a real local[2] Spark context. */
class SparkPretrainerTest {
    private static final int SEQ = 24;

    private static List<Document> repetitiveCorpus(int n) {
        Random rng = new Random(1);
        List<Document> docs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int a = rng.nextInt(5), b = rng.nextInt(5);
            docs.add(new Document("Q: " + a + " plus " + b + "\nA: " + a + "+" + b + "=" + (a + b) + ".", "mem", i + 1));
        }
        return docs;
    }

    private final List<Document> docs = repetitiveCorpus(160);
    private final WordTokenizer tok = WordTokenizer.train(docs.stream().map(Document::text).toList(), 64);
    private final List<int[]> seqs = LmExamples.encode(docs, tok, SEQ);
    private final ModelConfig model = new ModelConfig(tok.vocabSize(), 32, 2, 2, 64, 32, 1e-5, 0.02, 5);

    private static PretrainConfig cfg(int epochs, int batch, int freq, int workers) {
        return new PretrainConfig(SEQ, epochs, batch, freq, workers, 1e-2, 4, 0.1, 0.01, 1.0, 0.1, 64, 1, 9, 0.5, 1.0);
    }

    private ComputationGraph fresh(PretrainConfig c, int workers) {
        int total = SparkPretrainer.totalSteps(seqs.size(), c, workers);
        return TransformerLm.create(model, SEQ, new TransformerLm.Optimiser(c.learningRate(), c.warmupSteps(), total,
                c.minLrFraction(), c.weightDecay(), c.gradClip()), DataType.FLOAT);
    }

    @Test
    void heldoutLossFallsWellBelowUniform() {
        PretrainConfig c = cfg(10, 8, 2, 2);
        List<int[]> train = seqs.subList(0, 140);
        List<int[]> held = seqs.subList(140, 160);
        double before = HeldoutLoss.of(fresh(c, 2), held, SEQ, tok.padId(), 8);
        List<SparkPretrainer.RoundMetrics> rounds = new ArrayList<>();
        int[] epochsSeen = {0};
        ComputationGraph a = SparkPretrainer.train(TestSpark.context(), fresh(c, 2), train, held, c, tok.padId(), 2,
                rounds::add, (g, epoch, m) -> epochsSeen[0] = epoch);
        double after = HeldoutLoss.of(a, held, SEQ, tok.padId(), 8);
        double uniform = Math.log(tok.vocabSize());
        assertTrue(Math.abs(before - uniform) < 0.3, "an untrained model is near uniform: " + before + " vs " + uniform);
        assertTrue(after < 0.35 * uniform, "held-out loss " + after + " should be well below ln V = " + uniform);
        assertEquals(10, epochsSeen[0]);
        assertEquals(rounds.get(rounds.size() - 1).heldoutLoss(), after, 1e-9);
        assertTrue(rounds.get(rounds.size() - 1).step() > rounds.get(0).step());
    }

    @Test
    void sameSeedGivesSameParametersOnTwoWorkers() {
        PretrainConfig c = cfg(1, 8, 2, 2);
        List<int[]> train = seqs.subList(0, 64);
        ComputationGraph a = SparkPretrainer.train(TestSpark.context(), fresh(c, 2), train, List.of(), c, tok.padId(), 2,
                m -> { }, (g, e, m) -> { });
        ComputationGraph b = SparkPretrainer.train(TestSpark.context(), fresh(c, 2), train, List.of(), c, tok.padId(), 2,
                m -> { }, (g, e, m) -> { });
        assertEquals(a.params(), b.params(), "same seed, same data, same parameters");
        assertTrue(a.params().sub(fresh(c, 2).params()).amaxNumber().doubleValue() > 1e-3, "training moved the parameters");
    }

    @Test
    void oneWorkerWithAveragingEqualsSingleMachineFit() {
        PretrainConfig c = cfg(1, 8, 3, 1);
        List<int[]> train = seqs.subList(0, 48);               // 6 minibatches = 2 averaging rounds
        ComputationGraph viaSpark = SparkPretrainer.train(TestSpark.context(), fresh(c, 1), train, List.of(), c,
                tok.padId(), 1, m -> { }, (g, e, m) -> { });

        ComputationGraph local = fresh(c, 1);
        for (TokenBatch batch : SparkPretrainer.batches(train, 8, c.seed() + 1, SEQ, tok.padId())) {
            local.fit(batch.toDataSet());
        }
        INDArray diff = viaSpark.params().sub(local.params());
        double maxAbs = diff.amaxNumber().doubleValue();
        assertTrue(maxAbs < 1e-6, "one worker with averaging must equal a single-machine fit; max |Δ| = " + maxAbs);
        assertTrue(local.params().sub(fresh(c, 1).params()).amaxNumber().doubleValue() > 1e-3, "training moved the parameters");
    }
}
