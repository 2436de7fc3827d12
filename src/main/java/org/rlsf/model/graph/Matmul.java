package org.rlsf.model.graph;

import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Matrix products of the hand-written kernels, through libnd4j's {@code Mmul} op into a fresh row-major result.
 *
 * <p>Why not {@link INDArray#mmul}: at the kernels' shapes it measured 2–20× slower than the same BLAS call
 * (one thread, AMD EPYC: [2048, 128]·[128, 512] 9 GFLOP/s against 97 through {@code Mmul} or OpenBLAS's
 * {@code cblas_sgemm}; with a transposed right operand 24 against 96), while the {@code Mmul} op stays within a
 * few percent of the direct call.
 */
public final class Matmul {
    private Matmul() {
    }

    /** a·b for a [m, k] and b [k, n]: a new row-major [m, n]. */
    public static INDArray times(INDArray a, INDArray b) {
        return product(a, b, false);
    }

    /** a·bᵀ for a [m, k] and b [n, k]: a new row-major [m, n]. */
    public static INDArray timesTransposed(INDArray a, INDArray b) {
        return product(a, b, true);
    }

    private static INDArray product(INDArray a, INDArray b, boolean transposeB) {
        if (a.rank() != 2 || b.rank() != 2) {
            throw new IllegalArgumentException("matrices expected, got ranks " + a.rank() + " and " + b.rank());
        }
        long n = transposeB ? b.size(0) : b.size(1);
        INDArray out = Nd4j.createUninitialized(a.dataType(), a.size(0), n);
        Nd4j.exec(new Mmul(a, b, out, MMulTranspose.builder().transposeB(transposeB).build()));
        return out;
    }
}
