package org.rlsf.model;

/**
 * One decoding session's key/value cache and how a chunk of tokens runs through the layers over it. Two
 * implementations: {@link Nd4jSteps} (ND4J caches and ops, any backend) and {@link HeapSteps} (Java caches and loops
 * with direct OpenBLAS projections, CPU backend in float32). The decode loop ({@link KvCacheDecoder}) sees only this.
 */
interface DecodeSteps {
    /**
     * Runs {@code chunk} (s tokens per row; s > 1 only for the prompt, on an empty cache) at positions
     * {@code length}.. of each row (a row's positions count from its first real token, after {@code padLeft[b]} pads),
     * writing the chunk's keys and values into the cache.
     *
     * @return the next-token log-probabilities after each row's last position, [B][V] (a prompt's earlier positions
     *         need no head: the vocabulary product and log-softmax would be most of a prefill at a real vocabulary)
     */
    float[][] forward(int[][] chunk, int length, int[] padLeft);

    /** Steps over a copy of these rows' caches (rows may repeat, in any order). */
    DecodeSteps fork(int[] rows, int[] padLeft);

    /**
     * A chunk flattened to rows ordered (row, position): each row's token ids and positions (counted from the row's
     * first real token, 0 on its left padding), as both implementations feed the embeddings and rotary tables.
     */
    record ChunkRows(int[] ids, int[] positions) {
        static ChunkRows of(int[][] chunk, int length, int[] padLeft) {
            int batch = chunk.length, s = chunk[0].length;
            int[] ids = new int[batch * s];
            int[] pos = new int[batch * s];
            for (int b = 0; b < batch; b++) {
                for (int i = 0; i < s; i++) {
                    ids[b * s + i] = chunk[b][i];
                    pos[b * s + i] = Math.max(0, length + i - padLeft[b]);
                }
            }
            return new ChunkRows(ids, pos);
        }
    }
}
