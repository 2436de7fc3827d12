package org.rlsf.generate;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.rlsf.TestModels;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.Generation;
import org.rlsf.model.KvCacheDecoder;
import org.rlsf.model.TokenChooser;
import org.rlsf.model.TransformerWeights;

import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CotDecoderTest {
    private static final int V = 17;
    private final ModelConfig model = TestModels.small(V);
    private final ComputationGraph graph = TestModels.graph(model, 8, DataType.FLOAT);
    private final KvCacheDecoder kv = new KvCacheDecoder(model, TransformerWeights.of(graph, model));
    // no EOS (-1): every branch runs to the budget, so branch 0 can be compared with plain greedy decoding
    private final CotDecoder cot = new CotDecoder(kv, 1, -1, Set.of(0, 1));
    private final List<int[]> prompts = List.of(new int[]{5, 6, 7}, new int[]{9}, new int[]{3, 4, 10, 11, 12});

    @Test
    void kDistinctFirstTokensPerPromptAndBranchZeroIsGreedy() {
        List<List<CotDecoder.Branch>> out = cot.decode(prompts, new CotDecoder.Settings(5, 6, 0, 64));
        List<Generation> greedy = kv.generate(prompts, 6, 1, -1, TokenChooser.greedy(), 0, KvCacheDecoder.StepObserver.NONE);
        for (int p = 0; p < prompts.size(); p++) {
            List<CotDecoder.Branch> bs = out.get(p);
            assertEquals(5, bs.size());
            assertEquals(5, bs.stream().mapToInt(CotDecoder.Branch::firstToken).distinct().count());
            bs.forEach(b -> assertTrue(b.firstToken() > 1, "pad and BOS never open a branch"));
            assertArrayEquals(greedy.get(p).tokens(), bs.get(0).tokens(), "branch 0 is the greedy path");
            for (int t = 0; t < bs.get(0).tokens().length; t++) {
                assertEquals(greedy.get(p).tokenLogProbs()[t], bs.get(0).scores().logProb()[t], 1e-5);
            }
            for (int r = 1; r < bs.size(); r++) {
                assertTrue(bs.get(r).scores().chosenProb()[0] <= bs.get(r - 1).scores().chosenProb()[0], "ranked by first-token probability");
                assertTrue(bs.get(r).scores().chosenProb()[0] <= bs.get(r).scores().bestOtherProb()[0], "a forced non-top-1 token");
            }
        }
    }

    @Test
    void batchedEqualsUnbatched() {
        CotDecoder.Settings batched = new CotDecoder.Settings(4, 6, 0, 64);
        CotDecoder.Settings oneByOne = new CotDecoder.Settings(4, 6, 0, 1);
        List<List<CotDecoder.Branch>> a = cot.decode(prompts, batched);
        List<List<CotDecoder.Branch>> b = cot.decode(prompts, oneByOne);
        for (int p = 0; p < prompts.size(); p++) {
            for (int r = 0; r < 4; r++) {
                assertArrayEquals(b.get(p).get(r).tokens(), a.get(p).get(r).tokens());
                assertArrayEquals(b.get(p).get(r).scores().logProb(), a.get(p).get(r).scores().logProb(), 1e-5f);
            }
        }
    }

    @Test
    void theFirstTokenFloorDropsUnlikelyBranchesButKeepsTheTopOne() {
        List<List<CotDecoder.Branch>> out = cot.decode(prompts, new CotDecoder.Settings(10, 3, 0.999, 64));
        out.forEach(bs -> assertEquals(1, bs.size()));
        assertEquals(3, cot.decode(prompts, new CotDecoder.Settings(10, 3, 0.0, 64)).stream()
                .filter(bs -> bs.size() == 10).count());
    }

    @Test
    void tokenBudgetIsRespected() {
        for (List<CotDecoder.Branch> bs : cot.decode(prompts, new CotDecoder.Settings(3, 4, 0, 64))) {
            for (CotDecoder.Branch b : bs) {
                assertTrue(b.tokens().length <= 4);
                assertEquals(b.tokens().length, b.scores().length());
            }
        }
    }
}
