package org.rlsf.train;

import org.rlsf.config.GenerateConfig;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.Generation;
import org.rlsf.model.KvCacheDecoder;
import org.rlsf.model.TokenChooser;
import org.rlsf.model.Tokenizer;
import org.rlsf.generate.ShardGenerator;
import org.rlsf.ppo.Rollout;
import org.rlsf.tasks.Problem;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * A PPO round's rollouts for one shard of prompts, on an executor (method.md §6.2): sample one response per prompt from
 * the policy (seeded, at the round's temperature; the policy's log-probs of its tokens recorded), the frozen reference's
 * log-probs of the same tokens (teacher forcing through the KV cache), the frozen reward model's score of the whole
 * response (its head at the last response token), and the value model's value of the state before each response token.
 * Never reads gold answers. A prompt too long for the context is skipped (counted by the caller).
 */
public final class PpoRollouts {
    private PpoRollouts() {
    }

    /** What an executor needs besides the models; serialisable so Spark ships it. */
    public record Settings(double temperature, int maxNewTokens, GenerateConfig.PromptTemplate template,
                           KvCacheDecoder.Attention decoding, long seed) implements Serializable {
    }

    public static List<Rollout> run(Checkpoint policy, Checkpoint reference, Checkpoint rewardModel, Checkpoint valueModel,
                                    List<Problem> problems, Settings s) {
        Tokenizer tok = policy.tokenizer();
        int context = policy.model().contextLength(), offset = Tokenizer.promptOffset(tok.bosId());
        List<Problem> kept = new ArrayList<>();
        List<int[]> prompts = new ArrayList<>();
        for (Problem p : problems) {
            try {
                int[] ids = tok.encode(ShardGenerator.prompt(p, tok, s.template()));
                if (ids.length > 0 && offset + ids.length + s.maxNewTokens() <= context) {
                    kept.add(p);
                    prompts.add(ids);
                }
            } catch (Tokenizer.UnknownCharacterException e) {
                // skipped like a prompt that does not fit
            }
        }
        if (kept.isEmpty()) {
            return List.of();
        }
        List<Generation> gens = policy.decoder(s.decoding()).generate(prompts, s.maxNewTokens(), tok.bosId(), tok.eosId(),
                TokenChooser.sampling(s.temperature(), 0), s.seed(), KvCacheDecoder.StepObserver.NONE);
        List<int[]> responses = gens.stream().map(Generation::tokens).toList();
        List<float[]> ref = reference.decoder(s.decoding()).forcedLogProbs(prompts, responses, tok.bosId());
        double[] scores = RewardScorer.score(rewardModel, prompts, responses);
        List<float[]> values = RewardScorer.values(valueModel, prompts, responses);
        List<Rollout> out = new ArrayList<>(kept.size());
        for (int i = 0; i < kept.size(); i++) {
            if (responses.get(i).length == 0) {
                continue;
            }
            out.add(new Rollout(kept.get(i).problemId(), prompts.get(i), responses.get(i), gens.get(i).tokenLogProbs(),
                    ref.get(i), values.get(i), scores[i], gens.get(i).finish() == Generation.FinishReason.EOS));
        }
        return out;
    }
}
