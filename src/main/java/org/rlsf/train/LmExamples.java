package org.rlsf.train;

import org.rlsf.corpus.Document;
import org.rlsf.model.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/** Documents → token sequences {@code [BOS] text [EOS]} for next-token training. */
public final class LmExamples {
    private LmExamples() {
    }

    /**
     * Encodes every document. A sequence of n tokens trains on n−1 predictions, so it must satisfy
     * n − 1 ≤ seqLen.
     *
     * @throws IllegalArgumentException naming the document's file and line for a character outside
     *                                  the vocabulary or a document longer than the sequence length
     */
    public static List<int[]> encode(List<Document> docs, Tokenizer tokenizer, int seqLen) {
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
            out.add(seq);
        }
        return out;
    }
}
