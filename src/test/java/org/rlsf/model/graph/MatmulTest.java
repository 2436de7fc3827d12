package org.rlsf.model.graph;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The direct BLAS path gives the float64 product for every layout, view and transpose the kernels pass it. */
class MatmulTest {
    private static INDArray rand(long... shape) {
        Nd4j.getRandom().setSeed(shape.length * 31L + shape[0]);
        return Nd4j.randn(DataType.FLOAT, shape);
    }

    /** op(a)·op(b) in float64 (ND4J's double path), as float32 for comparison. */
    private static INDArray reference(INDArray a, boolean ta, INDArray b, boolean tb) {
        INDArray ad = a.castTo(DataType.DOUBLE), bd = b.castTo(DataType.DOUBLE);
        return (ta ? ad.transpose() : ad).mmul(tb ? bd.transpose() : bd).castTo(DataType.FLOAT);
    }

    private static void assertClose(INDArray expected, INDArray actual) {
        assertEquals(java.util.Arrays.toString(expected.shape()), java.util.Arrays.toString(actual.shape()));
        double err = expected.sub(actual).amaxNumber().doubleValue();
        assertTrue(err < 1e-4, "max error " + err);
    }

    @Test
    void everyLayoutAndTransposeGivesTheProduct() {
        INDArray a = rand(7, 5), b = rand(5, 6);
        for (boolean ta : new boolean[]{false, true}) {
            for (boolean tb : new boolean[]{false, true}) {
                INDArray sa = ta ? a.transpose().dup('c') : a, sb = tb ? b.transpose().dup('c') : b;
                for (char oa : new char[]{'c', 'f'}) {
                    for (char ob : new char[]{'c', 'f'}) {
                        for (char oc : new char[]{'c', 'f'}) {
                            INDArray c = Nd4j.create(DataType.FLOAT, new long[]{7, 6}, oc);
                            Matmul.gemm(sa.dup(oa), ta, sb.dup(ob), tb, c, 1.0, 0.0);
                            assertClose(reference(sa, ta, sb, tb), c);
                        }
                    }
                }
            }
        }
        assertClose(a.castTo(DataType.DOUBLE).mmul(b.castTo(DataType.DOUBLE)).castTo(DataType.FLOAT), Matmul.times(a, b));
        assertClose(reference(a, false, b.transpose().dup('c'), true), Matmul.timesTransposed(a, b.transpose().dup('c')));
    }

    @Test
    void viewsScaleAndAccumulate() {
        INDArray wide = rand(8, 12), a = rand(8, 4);
        INDArray cols = wide.get(NDArrayIndex.all(), NDArrayIndex.interval(3, 9));   // stride [12, 1], offset 3
        INDArray grad = Nd4j.zeros(DataType.FLOAT, 20, 10);
        INDArray view = grad.get(NDArrayIndex.interval(2, 6), NDArrayIndex.interval(1, 7));  // [4, 6] inside a larger array
        view.assign(1.0);
        Matmul.gemm(a, true, cols, false, view, 0.5, 1.0);                          // view = 1 + 0.5·aᵀ·cols
        assertClose(reference(a, true, cols.dup(), false).muli(0.5).addi(1.0), view);
        assertEquals(0.0, grad.get(NDArrayIndex.interval(6, 20), NDArrayIndex.all()).amaxNumber().doubleValue(),
                "nothing outside the view is written");
        assertThrows(IllegalArgumentException.class, () -> Matmul.gemm(a, false, cols, false, view, 1, 0));
    }

    @Test
    void perHeadOverViewsOfAProjectionWithGroupedHeads() {
        // a [mb·T, (H + 2·KV)·dh] projection, H = 4 query heads on KV = 2 key/value heads: its heads as views
        int mb = 2, t = 9, h = 4, kv = 2, dh = 5;
        for (DataType type : new DataType[]{DataType.FLOAT, DataType.DOUBLE}) {   // the direct path and libnd4j's
            INDArray qkv = rand(mb * t, (h + 2 * kv) * dh).castTo(type);
            INDArray q = EagerBlockLayer.heads(qkv, 0, mb, t, h, dh), k = EagerBlockLayer.heads(qkv, h * dh, mb, t, kv, dh);
            INDArray qc = q.dup('c'), kc = k.dup('c');   // the reference reads row-major copies
            INDArray scores = Nd4j.create(type, mb, h, t, t);
            Matmul.perHead(q, false, k, true, scores, 0.25, 0.0);
            INDArray grads = Nd4j.zeros(type, mb * t, (h + 2 * kv) * dh);
            INDArray dk = EagerBlockLayer.heads(grads, h * dh, mb, t, kv, dh);
            Matmul.perHead(scores, true, q, false, dk, 1.0, 0.0);      // each key head sums its two query heads
            for (int b = 0; b < mb; b++) {
                for (int j = 0; j < kv; j++) {
                    INDArray kj = kc.get(NDArrayIndex.point(b), NDArrayIndex.point(j), NDArrayIndex.all(), NDArrayIndex.all()).dup().castTo(DataType.FLOAT);
                    INDArray dkj = Nd4j.zeros(DataType.FLOAT, t, dh);
                    for (int r = 0; r < h / kv; r++) {
                        int i = j * (h / kv) + r;
                        INDArray qi = qc.get(NDArrayIndex.point(b), NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all()).dup().castTo(DataType.FLOAT);
                        INDArray si = reference(qi, false, kj, true).muli(0.25);
                        assertClose(si, scores.get(NDArrayIndex.point(b), NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all()).dup().castTo(DataType.FLOAT));
                        dkj.addi(reference(si, true, qi, false));
                    }
                    // the gradient landed in the key columns of the rows of sequence b
                    INDArray landed = grads.get(NDArrayIndex.interval(b * t, (b + 1) * t),
                            NDArrayIndex.interval((h + j) * dh, (h + j + 1) * dh)).dup().castTo(DataType.FLOAT);
                    assertClose(dkj, landed);
                }
            }
            assertEquals(0.0, grads.get(NDArrayIndex.all(), NDArrayIndex.interval(0, h * dh)).amaxNumber().doubleValue(),
                    "the query columns untouched");
            assertEquals(0.0, grads.get(NDArrayIndex.all(), NDArrayIndex.interval((h + kv) * dh, (h + 2 * kv) * dh))
                    .amaxNumber().doubleValue(), "the value columns untouched");
        }
        assertThrows(IllegalArgumentException.class, () -> Matmul.perHead(rand(2, 3, 4, 5), false, rand(2, 2, 5, 4), false,
                rand(2, 3, 4, 4), 1, 0), "2 heads do not divide 3");
    }
}
