package org.rlsf.generate;

import org.rlsf.model.Generation;
import org.rlsf.model.KvCacheDecoder;
import org.rlsf.model.Tokenizer;
import org.rlsf.model.TokenChooser;
import org.rlsf.score.TokenScores;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * CoT-decoding (Wang &amp; Zhou 2024; method.md §1.1): for every prompt take the K most probable first
 * tokens (optionally only those with probability ≥ a floor; the top-1 is always kept), then continue
 * each branch greedily with the KV cache until EOS or the token budget. Prompts are prefilled once, in
 * batches of {@code batchRows}; their branches start from copies of that cache and decode together in
 * batches of {@code batchRows}, finished rows leaving the batch as it empties. Every generated token's
 * {@link TokenScores} are recorded, the forced first token's from the prompt's own next-token distribution.
 */
public final class CotDecoder {
    private final KvCacheDecoder decoder;
    private final int bosId;
    private final int eosId;
    private final Set<Integer> neverFirst;

    /** @param neverFirst token ids that may not open a branch (pad, BOS, EOS) */
    public CotDecoder(KvCacheDecoder decoder, int bosId, int eosId, Set<Integer> neverFirst) {
        this.decoder = decoder;
        this.bosId = bosId;
        this.eosId = eosId;
        this.neverFirst = Set.copyOf(neverFirst);
    }

    /**
     * @param k              branches per prompt at most
     * @param maxNewTokens   generated tokens per branch at most, the forced first token included
     * @param firstTokenFloor minimum first-token probability of branches after the first (0 = none)
     * @param batchRows      branch rows decoded together
     */
    public record Settings(int k, int maxNewTokens, double firstTokenFloor, int batchRows) {
        public Settings {
            if (k < 1 || maxNewTokens < 1 || batchRows < 1 || firstTokenFloor < 0 || firstTokenFloor >= 1) {
                throw new IllegalArgumentException("bad CoT-decoding settings: k=" + k + ", max_new_tokens=" + maxNewTokens
                        + ", first_token_floor=" + firstTokenFloor + ", batch_rows=" + batchRows);
            }
        }
    }

    /**
     * One branch of one prompt.
     *
     * @param branch         0-based rank of the first token (0 = the greedy path)
     * @param tokens         generated tokens, the forced first token at 0, EOS included when reached
     * @param scores         per-token statistics, aligned with {@code tokens}
     * @param finish         EOS or MAX_TOKENS
     */
    public record Branch(int branch, int[] tokens, TokenScores scores, Generation.FinishReason finish) {
        public int firstToken() {
            return tokens[0];
        }
    }

    /** Branches per prompt, in prompt order, each list ordered by first-token rank. */
    public List<List<Branch>> decode(List<int[]> prompts, Settings s) {
        List<List<Branch>> out = new ArrayList<>();
        prompts.forEach(x -> out.add(new ArrayList<>()));
        for (int batchStart = 0; batchStart < prompts.size(); batchStart += s.batchRows()) {
            int start = batchStart;
            // every cache of this prompt batch (prompts, branches, compactions) lives in the decoder's reused workspace
            decoder.withCacheScope(() -> {
                // 1) prefill a batch of prompts once: their first-token distributions and the cache every branch starts from
                List<int[]> part = prompts.subList(start, Math.min(prompts.size(), start + s.batchRows()));
                int[][] rows = part.stream().map(p -> Tokenizer.withBos(bosId, p)).toArray(int[][]::new);
                KvCacheDecoder.Session promptCache = decoder.start(rows, s.maxNewTokens());
                float[][] first = promptCache.prefill();
                // 2) branch rows: (prompt, forced first token)
                List<int[]> rowMeta = new ArrayList<>();            // {prompt index, branch rank, first token, row in part}
                List<float[]> rowFirstScores = new ArrayList<>();
                for (int p = 0; p < part.size(); p++) {
                    int[] top = topK(first[p], s.k(), s.firstTokenFloor());
                    for (int r = 0; r < top.length; r++) {
                        rowMeta.add(new int[]{start + p, r, top[r], p});
                        rowFirstScores.add(TokenScores.of(first[p], top[r]));
                    }
                }
                // 3) greedy continuation of the branch rows, in batches forked from the prompts' cache
                for (int from = 0; from < rowMeta.size(); from += s.batchRows()) {
                    int to = Math.min(rowMeta.size(), from + s.batchRows());
                    List<int[]> meta = rowMeta.subList(from, to);
                    List<Branch> branches = continueGreedily(promptCache, meta, rowFirstScores.subList(from, to), s.maxNewTokens());
                    for (int i = 0; i < branches.size(); i++) {
                        out.get(meta.get(i)[0]).add(branches.get(i));
                    }
                }
                return null;
            });
        }
        return out;
    }

    private List<Branch> continueGreedily(KvCacheDecoder.Session promptCache, List<int[]> meta, List<float[]> firstScores,
                                          int maxNewTokens) {
        int n = meta.size();
        List<List<float[]>> stats = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            stats.add(new ArrayList<>(List.of(firstScores.get(i))));
        }
        List<Generation> gens;
        if (maxNewTokens == 1) {
            gens = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                gens.add(new Generation(new int[0], new float[0], Generation.FinishReason.MAX_TOKENS));
            }
        } else {
            KvCacheDecoder.Session branches = promptCache.fork(meta.stream().mapToInt(m -> m[3]).toArray());
            gens = decoder.continueFrom(branches, meta.stream().mapToInt(m -> m[2]).toArray(), maxNewTokens - 1, eosId,
                    TokenChooser.greedy(), 0, (step, logProbs, chosen, active) -> {
                        for (int b = 0; b < n; b++) {
                            if (active[b]) {
                                stats.get(b).add(TokenScores.of(logProbs[b], chosen[b]));
                            }
                        }
                    });
        }
        List<Branch> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int[] cont = gens.get(i).tokens();
            int[] tokens = new int[cont.length + 1];
            tokens[0] = meta.get(i)[2];
            System.arraycopy(cont, 0, tokens, 1, cont.length);
            List<float[]> st = stats.get(i).subList(0, tokens.length);
            float[] chosen = new float[tokens.length], other = new float[tokens.length], lp = new float[tokens.length],
                    ent = new float[tokens.length];
            for (int t = 0; t < tokens.length; t++) {
                chosen[t] = st.get(t)[0];
                other[t] = st.get(t)[1];
                lp[t] = st.get(t)[2];
                ent[t] = st.get(t)[3];
            }
            boolean eos = tokens[tokens.length - 1] == eosId;
            out.add(new Branch(meta.get(i)[1], tokens, new TokenScores(chosen, other, lp, ent),
                    eos ? Generation.FinishReason.EOS : Generation.FinishReason.MAX_TOKENS));
        }
        return out;
    }

    /** Indices of the k largest log-probs (ties → lower id), excluding forbidden tokens; floor after the first. */
    int[] topK(float[] logProbs, int k, double floor) {
        Integer[] ids = new Integer[logProbs.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i;
        }
        Arrays.sort(ids, (a, b) -> logProbs[a] != logProbs[b] ? Float.compare(logProbs[b], logProbs[a]) : Integer.compare(a, b));
        int[] out = new int[k];
        int n = 0;
        for (int id : ids) {
            if (n == k) {
                break;
            }
            if (neverFirst.contains(id)) {
                continue;
            }
            if (n > 0 && Math.exp(logProbs[id]) < floor) {
                break;
            }
            out[n++] = id;
        }
        return Arrays.copyOf(out, n);
    }

}
