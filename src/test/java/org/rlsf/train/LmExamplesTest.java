package org.rlsf.train;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;
import org.rlsf.corpus.Document;
import org.rlsf.model.WordTokenizer;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LmExamplesTest {
    private final WordTokenizer tok = WordTokenizer.train(List.of("a b c d"), 32);

    @Test
    void sequencesAreBosTextEos() {
        List<int[]> seqs = LmExamples.encode(List.of(new Document("a b", "f.jsonl", 1)), tok, 8);
        int[] ids = tok.encode("a b");
        assertArrayEquals(new int[]{1, ids[0], ids[1], 2}, seqs.get(0));
    }

    @Test
    void aDocumentLongerThanTheSequenceLengthNamesFileAndLine() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LmExamples.encode(List.of(new Document("a", "f.jsonl", 1), new Document("a b c d a b c", "f.jsonl", 7)), tok, 6));
        assertTrue(e.getMessage().startsWith("f.jsonl, line 7: document has 8 tokens"), e.getMessage());
    }

    @Test
    void anUnknownCharacterNamesFileLineAndOffset() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LmExamples.encode(List.of(new Document("a z", "f.txt", 3)), tok, 8));
        assertTrue(e.getMessage().startsWith("f.txt, line 3: character 'z'"), e.getMessage());
    }

    @Test
    void batchesShiftLabelsAndMaskPadding() {
        DataSet ds = new TokenBatch(new int[][]{{1, 5, 6, 2}, {1, 7, 2}}, 4, 0).toDataSet();
        assertArrayEquals(new long[]{2, 4}, ds.getFeatures().shape());
        assertArrayEquals(new long[]{2, 1, 4}, ds.getLabels().shape());
        assertArrayEquals(new float[]{1, 5, 6, 0}, ds.getFeatures().getRow(0).toFloatVector());
        assertArrayEquals(new float[]{5, 6, 2, 0}, ds.getLabels().get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                org.nd4j.linalg.indexing.NDArrayIndex.point(0), org.nd4j.linalg.indexing.NDArrayIndex.all()).toFloatVector());
        assertArrayEquals(new float[]{1, 1, 1, 0}, ds.getLabelsMaskArray().getRow(0).toFloatVector());
        assertArrayEquals(new float[]{1, 1, 0, 0}, ds.getLabelsMaskArray().getRow(1).toFloatVector());
        assertEquals(5, new TokenBatch(new int[][]{{1, 5, 6, 2}, {1, 7, 2}}, 4, 0).predictedTokens());
    }

    @Test
    void anUnscoredTokenIsFedButMaskedOutOfTheLoss() {
        List<int[]> seqs = LmExamples.encode(List.of(new Document("a b c", "f.jsonl", 1, 3)), tok, 8);
        int[] ids = tok.encode("a b c");
        assertArrayEquals(new int[]{1, ids[0], ids[1], LmExamples.unscored(ids[2]), 2}, seqs.get(0));
        DataSet ds = new TokenBatch(seqs.toArray(new int[0][]), 5, 0).toDataSet();
        assertArrayEquals(new float[]{1, ids[0], ids[1], ids[2], 0}, ds.getFeatures().getRow(0).toFloatVector());
        assertArrayEquals(new float[]{ids[0], ids[1], ids[2], 2, 0}, ds.getLabels().get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                org.nd4j.linalg.indexing.NDArrayIndex.point(0), org.nd4j.linalg.indexing.NDArrayIndex.all()).toFloatVector());
        // the prediction of c (label position 2) is masked; the token after it is still trained
        assertArrayEquals(new float[]{1, 1, 0, 1, 0}, ds.getLabelsMaskArray().getRow(0).toFloatVector());
    }

    @Test
    void anUnscoredOffsetInsideATokenIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LmExamples.encode(List.of(new Document("ab c", "f.jsonl", 4, 1)), WordTokenizer.train(List.of("ab c"), 32), 8));
        assertTrue(e.getMessage().startsWith("f.jsonl, line 4: the unscored offset 1"), e.getMessage());
    }
}
