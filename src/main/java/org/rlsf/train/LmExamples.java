package org.rlsf.train;

import org.rlsf.corpus.Document;
import org.rlsf.model.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Documents → token sequences {@code [BOS] text [EOS]} for next-token training. A token that is fed
 * but not trained on (see {@link Document#unscoredChar()}) is stored as {@link #unscored(int)}: its
 * id, negated minus one; {@link TokenBatch} feeds it and masks its prediction out of the loss.
 */
public final class LmExamples {
    private LmExamples() {
    }

    /** Marks a token id as fed-but-not-predicted. */
    public static int unscored(int id) {
        return -id - 1;
    }

    /** The token id of a sequence entry, marked or not. */
    public static int id(int entry) {
        return entry < 0 ? -entry - 1 : entry;
    }

    /**
     * Encodes every document. A sequence of n tokens trains on n−1 predictions, so it must satisfy
     * n − 1 ≤ seqLen.
     *
     * @throws IllegalArgumentException naming the document's file and line for a character outside
     *                                  the vocabulary or a document longer than the sequence length
     */
    public static List<int[]> encode(List<Document> docs, Tokenizer tokenizer, int seqLen) {
        if (tokenizer.bosId() < 0) {
            throw new IllegalArgumentException("LM pretraining examples start with BOS; this tokenizer starts texts without one");
        }
        List<int[]> out = new ArrayList<>(docs.size());
        for (Document doc : docs) {
            int[] ids;
            try {
                ids = tokenizer.encode(doc.text());
            } catch (Tokenizer.UnknownCharacterException e) {
                throw new IllegalArgumentException(doc.where() + ": " + e.getMessage(), e);
            }
            int[] seq = new int[ids.length + 2];
            seq[0] = tokenizer.bosId();
            System.arraycopy(ids, 0, seq, 1, ids.length);
            seq[seq.length - 1] = tokenizer.eosId();
            if (seq.length - 1 > seqLen) {
                throw new IllegalArgumentException(doc.where() + ": document has " + ids.length
                        + " tokens (+ BOS/EOS), longer than the training sequence length " + seqLen
                        + "; raise pretrain.seq-len (at most model.context-length) or shorten the document");
            }
            if (doc.unscoredChar() >= 0) {
                int at = 1 + unscoredIndex(doc, ids, tokenizer);
                seq[at] = unscored(seq[at]);
            }
            out.add(seq);
        }
        return out;
    }

    /** Index in {@code ids} of the token starting at the document's unscored character offset. */
    private static int unscoredIndex(Document doc, int[] ids, Tokenizer tokenizer) {
        int[] before = tokenizer.encode(doc.text().substring(0, doc.unscoredChar()));
        for (int i = 0; i < before.length; i++) {
            if (i >= ids.length || ids[i] != before[i]) {
                throw new IllegalArgumentException(doc.where() + ": the unscored offset " + doc.unscoredChar()
                        + " does not fall on a token boundary");
            }
        }
        if (before.length >= ids.length) {
            throw new IllegalArgumentException(doc.where() + ": no token at the unscored offset " + doc.unscoredChar());
        }
        return before.length;
    }
}
