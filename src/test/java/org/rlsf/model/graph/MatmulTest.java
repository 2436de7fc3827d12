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
    void batchedOverLeadingDimensionsIncludingViewsOfAStack() {
        INDArray stack = rand(3, 2, 4, 9, 5);                                         // [3, mb, H, T, dh]
        INDArray q = stack.get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
        INDArray k = stack.get(NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
        INDArray scores = Nd4j.create(DataType.FLOAT, 2, 4, 9, 9);
        Matmul.batched(q, false, k, true, scores, 0.25, 0.0);
        INDArray out = Nd4j.create(DataType.FLOAT, 3, 2, 4, 9, 5);
        INDArray dk = out.get(NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all());
        Matmul.batched(scores, true, q, false, dk, 1.0, 0.0);
        for (int b = 0; b < 2; b++) {
            for (int h = 0; h < 4; h++) {
                INDArray qi = q.get(NDArrayIndex.point(b), NDArrayIndex.point(h), NDArrayIndex.all(), NDArrayIndex.all()).dup();
                INDArray ki = k.get(NDArrayIndex.point(b), NDArrayIndex.point(h), NDArrayIndex.all(), NDArrayIndex.all()).dup();
                INDArray si = reference(qi, false, ki, true).muli(0.25);
                assertClose(si, scores.get(NDArrayIndex.point(b), NDArrayIndex.point(h), NDArrayIndex.all(), NDArrayIndex.all()).dup());
                assertClose(reference(si, true, qi, false),
                        dk.get(NDArrayIndex.point(b), NDArrayIndex.point(h), NDArrayIndex.all(), NDArrayIndex.all()).dup());
            }
        }
        assertEquals(0.0, out.get(NDArrayIndex.point(0)).amaxNumber().doubleValue(), "other slices of the stack untouched");
    }
}
