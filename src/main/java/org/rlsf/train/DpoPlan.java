package org.rlsf.train;

import org.rlsf.config.TrainConfig;
import org.rlsf.pairs.PreferenceExample;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;

/**
 * What a DPO run will do, decided before any training (no I/O, no Spark): which pairs train and which are held out
 * (by prompt, seeded), the training length, the workers, how many averaging rounds an epoch has, and each epoch's
 * seeded rounds of minibatches.
 *
 * @param train          training pairs
 * @param heldout        held-out pairs (whole prompts, at most {@code train.heldout-max-pairs})
 * @param seqLen         the training graph's length: the longest pair, rounded up to the length multiple
 * @param workers        parallel workers
 * @param roundsPerEpoch averaging rounds per epoch
 * @param totalSteps     optimiser steps of the whole run (the learning-rate schedule's length)
 */
public record DpoPlan(List<PreferenceExample> train, List<PreferenceExample> heldout, int seqLen, int workers,
                      int roundsPerEpoch, int totalSteps, int bosId, int padId) {

    /**
     * @param lengthMultiple the training length's multiple (≥ 1)
     * @throws IllegalArgumentException when every pair is held out, or the longest pair exceeds {@code contextLength}
     */
    public static DpoPlan of(List<PreferenceExample> all, TrainConfig cfg, int workers, int contextLength, int lengthMultiple,
                             int bosId, int padId) {
        List<PreferenceExample> train = new ArrayList<>(), heldout = new ArrayList<>();
        for (PreferenceExample e : all) {
            (isHeldout(e, cfg) ? heldout : train).add(e);
        }
        if (heldout.size() > cfg.heldoutMaxPairs()) {
            heldout = new ArrayList<>(heldout.subList(0, cfg.heldoutMaxPairs()));
        }
        if (train.isEmpty()) {
            throw new IllegalArgumentException("no training pairs (" + all.size() + " pairs, all held out); lower "
                    + "train.heldout-fraction or make more pairs");
        }
        int longest = all.stream().mapToInt(PreferenceExample::length).max().orElseThrow();
        if (longest > contextLength) {
            throw new IllegalArgumentException("the longest pair needs " + longest + " positions, more than the model's context "
                    + contextLength);
        }
        int batchesPerEpoch = (train.size() + cfg.pairsPerBatch() - 1) / cfg.pairsPerBatch();
        int roundSize = workers * cfg.averagingFrequency();
        int roundsPerEpoch = (batchesPerEpoch + roundSize - 1) / roundSize;
        int totalSteps = cfg.epochs() * roundsPerEpoch * cfg.averagingFrequency();
        return new DpoPlan(List.copyOf(train), List.copyOf(heldout), trainingLength(longest, contextLength, lengthMultiple),
                workers, roundsPerEpoch, totalSteps, bosId, padId);
    }

    /** The held-out pairs in minibatches of {@code train.pairs-per-batch}, in order, at the training length. */
    public List<PreferenceBatch> heldoutBatches(TrainConfig cfg) {
        return batches(heldout, cfg.pairsPerBatch(), -1, seqLen, bosId, padId);
    }

    /** Epoch {@code epoch}'s averaging rounds (seeded by {@code train.seed + epoch}). */
    public List<Round> epoch(TrainConfig cfg, int epoch) {
        return rounds(train, cfg, workers, cfg.seed() + epoch, seqLen, bosId, padId);
    }

    /** Whether a pair's prompt is held out: a seeded hash of the prompt id, so all of a prompt's pairs go together. */
    static boolean isHeldout(PreferenceExample e, TrainConfig cfg) {
        if (cfg.heldoutFraction() == 0) {
            return false;
        }
        CRC32 crc = new CRC32();
        crc.update((cfg.seed() + "/" + e.promptId()).getBytes(StandardCharsets.UTF_8));
        return (crc.getValue() % 10_000) < cfg.heldoutFraction() * 10_000;
    }

    /** Minibatches of {@code pairsPerBatch} pairs, shuffled with {@code seed} first unless it is negative. */
    static List<PreferenceBatch> batches(List<PreferenceExample> examples, int pairsPerBatch, long seed, int seqLen,
                                         int bosId, int padId) {
        List<PreferenceExample> order = new ArrayList<>(examples);
        if (seed >= 0) {
            Collections.shuffle(order, new Random(seed));
        }
        List<PreferenceBatch> out = new ArrayList<>();
        for (int i = 0; i < order.size(); i += pairsPerBatch) {
            out.add(new PreferenceBatch(new ArrayList<>(order.subList(i, Math.min(order.size(), i + pairsPerBatch))),
                    seqLen, bosId, padId));
        }
        return out;
    }

    /** The longest pair's positions rounded up to a multiple, within the model's context. */
    static int trainingLength(int longest, int context, int multiple) {
        return Math.min(context, (longest + multiple - 1) / multiple * multiple);
    }

    /** One averaging round: its minibatches, all padded to the round's length. */
    public record Round(List<PreferenceBatch> batches, int seqLen) {
    }

    /**
     * An epoch's averaging rounds: the pairs shuffled with {@code seed}, cut into rounds of workers ×
     * averaging-frequency minibatches. With {@code train.length-bucket} n > 0, each window of 4 rounds' worth of
     * pairs is first sorted by length (so a round holds pairs of similar length, padded to its longest rounded up
     * to a multiple of n, at most {@code maxLen}), and the rounds are then shuffled; only the last window can be
     * short, so the number of rounds is the same as without grouping. With n = 0, every batch is {@code maxLen} long.
     */
    static List<Round> rounds(List<PreferenceExample> examples, TrainConfig cfg, int workers, long seed, int maxLen,
                              int bosId, int padId) {
        List<PreferenceExample> order = new ArrayList<>(examples);
        Collections.shuffle(order, new Random(seed));
        int bucket = cfg.lengthBucket();
        int pairsPerRound = workers * cfg.averagingFrequency() * cfg.pairsPerBatch();
        int window = bucket > 0 ? 4 * pairsPerRound : Math.max(1, order.size());
        List<List<PreferenceExample>> groups = new ArrayList<>();
        for (int w = 0; w < order.size(); w += window) {
            List<PreferenceExample> win = new ArrayList<>(order.subList(w, Math.min(order.size(), w + window)));
            if (bucket > 0) {
                win.sort(Comparator.comparingInt(PreferenceExample::length));
            }
            for (int i = 0; i < win.size(); i += pairsPerRound) {
                groups.add(win.subList(i, Math.min(win.size(), i + pairsPerRound)));
            }
        }
        if (bucket > 0) {
            Collections.shuffle(groups, new Random(seed ^ 0x5DEECE66DL));
        }
        List<Round> out = new ArrayList<>(groups.size());
        for (List<PreferenceExample> g : groups) {
            int len = maxLen;
            if (bucket > 0) {
                int longest = g.stream().mapToInt(PreferenceExample::length).max().orElseThrow();
                len = Math.min(maxLen, (longest + bucket - 1) / bucket * bucket);
            }
            out.add(new Round(batches(g, cfg.pairsPerBatch(), -1, len, bosId, padId), len));
        }
        return out;
    }
}
