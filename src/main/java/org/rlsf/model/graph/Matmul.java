package org.rlsf.model.graph;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Matrix products of the hand-written kernels: on ND4J's CPU backend in float32, OpenBLAS's {@code cblas_sgemm}
 * called directly on the arrays' memory (the library ND4J itself links, so the same kernels and threads); elsewhere
 * (CUDA, float64, a layout without a unit stride) libnd4j's {@code Mmul} op.
 *
 * <p>Why: at the kernels' shapes ND4J's paths measured far below the BLAS call they wrap (one thread, AMD EPYC with
 * OpenBLAS's SkylakeX kernels): {@link INDArray#mmul} 9–45 GFLOP/s where {@code cblas_sgemm} ran 170–200, and the
 * {@code Mmul} op 85 on a square [1024, 1024]·[1024, 1024] against 178 direct.
 */
public final class Matmul {
    /** Whether ND4J runs on its CPU backend (host memory, OpenBLAS). */
    static final boolean CPU = Nd4j.getBackend().getClass().getName().contains("Cpu");

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
        gemm(a, false, b, transposeB, out, 1.0, 0.0);
        return out;
    }

    /**
     * c = alpha·op(a)·op(b) + beta·c for matrices, op a transpose where asked; c may be a view (a gradient's).
     *
     * @throws IllegalArgumentException when the shapes do not chain
     */
    public static void gemm(INDArray a, boolean transposeA, INDArray b, boolean transposeB, INDArray c, double alpha,
                            double beta) {
        long m = transposeA ? a.size(1) : a.size(0), k = transposeA ? a.size(0) : a.size(1);
        long kb = transposeB ? b.size(1) : b.size(0), n = transposeB ? b.size(0) : b.size(1);
        if (a.rank() != 2 || b.rank() != 2 || c.rank() != 2 || k != kb || c.size(0) != m || c.size(1) != n) {
            throw new IllegalArgumentException("gemm shapes do not chain: " + java.util.Arrays.toString(a.shape())
                    + (transposeA ? "ᵀ" : "") + " · " + java.util.Arrays.toString(b.shape()) + (transposeB ? "ᵀ" : "")
                    + " -> " + java.util.Arrays.toString(c.shape()));
        }
        Layout la = Layout.of(a), lb = Layout.of(b), lc = Layout.of(c);
        if (!direct(a, b, c) || la == null || lb == null || lc == null) {
            Nd4j.exec(new Mmul(a, b, c, alpha, beta, MMulTranspose.builder().transposeA(transposeA).transposeB(transposeB).build()));
            return;
        }
        sgemm(pointer(a), la, transposeA, pointer(b), lb, transposeB, pointer(c), lc, (int) m, (int) n, (int) k,
                (float) alpha, (float) beta);
    }

    /**
     * c[i] = alpha·op(a[i])·op(b[i]) + beta·c[i] over the leading dimensions of arrays of equal rank ≥ 3 whose last two
     * dimensions are the matrices (as the attention's [mb, H, T, dh] products).
     */
    public static void batched(INDArray a, boolean transposeA, INDArray b, boolean transposeB, INDArray c, double alpha,
                               double beta) {
        int r = a.rank();
        long count = 1;
        for (int i = 0; i < r - 2; i++) {
            count *= a.size(i);
        }
        long[] sa = matrixSteps(a), sb = matrixSteps(b), sc = matrixSteps(c);
        if (!direct(a, b, c) || sa == null || sb == null || sc == null || b.rank() != r || c.rank() != r
                || c.length() / (c.size(r - 2) * c.size(r - 1)) != count || b.length() / (b.size(r - 2) * b.size(r - 1)) != count) {
            Nd4j.exec(new Mmul(a, b, c, alpha, beta, MMulTranspose.builder().transposeA(transposeA).transposeB(transposeB).build()));
            return;
        }
        long m = transposeA ? a.size(r - 1) : a.size(r - 2), k = transposeA ? a.size(r - 2) : a.size(r - 1);
        long n = transposeB ? b.size(r - 2) : b.size(r - 1);
        Layout la = new Layout(false, (int) sa[1]), lb = new Layout(false, (int) sb[1]), lc = new Layout(false, (int) sc[1]);
        FloatPointer pa = pointer(a), pb = pointer(b), pc = pointer(c);
        long a0 = pa.position(), b0 = pb.position(), c0 = pc.position();
        for (long i = 0; i < count; i++) {
            pa.position(a0 + i * sa[0]);
            pb.position(b0 + i * sb[0]);
            pc.position(c0 + i * sc[0]);
            sgemm(pa, la, transposeA, pb, lb, transposeB, pc, lc, (int) m, (int) n, (int) k, (float) alpha, (float) beta);
        }
    }

    /** {step between matrices, row stride} of a row-major array whose leading dimensions step evenly, or null. */
    private static long[] matrixSteps(INDArray x) {
        int r = x.rank();
        if (r < 3) {
            return null;
        }
        long[] st = x.stride();
        long rows = x.size(r - 2), cols = x.size(r - 1);
        if (st[r - 1] != 1 || st[r - 2] < cols) {
            return null;
        }
        long step = st[r - 3];
        if (step < rows * st[r - 2]) {
            return null;
        }
        for (int i = 0; i < r - 3; i++) {
            if (st[i] != step * x.size(i + 1) && x.size(i) > 1) {
                return null;
            }
            step = st[i];
        }
        return new long[]{st[r - 3], st[r - 2]};
    }

    private static boolean direct(INDArray a, INDArray b, INDArray c) {
        return CPU && a.dataType() == DataType.FLOAT && b.dataType() == DataType.FLOAT && c.dataType() == DataType.FLOAT
                && !a.isEmpty() && !b.isEmpty() && !c.isEmpty();
    }

    /** A matrix's memory as BLAS sees it: row- or column-major, and its leading dimension. */
    public record Layout(boolean columnMajor, int ld) {
        /** The layout of a 2-D array with a unit stride along one dimension, or null when it has none. */
        public static Layout of(INDArray x) {
            long[] st = x.stride();
            long rows = x.size(0), cols = x.size(1);
            if (st[1] == 1 || cols == 1) {
                return new Layout(false, (int) Math.max(Math.max(st[0], cols), 1));
            }
            if (st[0] == 1 || rows == 1) {
                return new Layout(true, (int) Math.max(Math.max(st[1], rows), 1));
            }
            return null;
        }
    }

    private static FloatPointer pointer(INDArray x) {
        return new FloatPointer(x.data().addressPointer());   // the view's first element
    }

    /** Row-major sgemm of logical op(A)[m, k]·op(B)[k, n] into C[m, n], each stored as its layout says. */
    private static void sgemm(FloatPointer a, Layout la, boolean ta, FloatPointer b, Layout lb, boolean tb, FloatPointer c,
                              Layout lc, int m, int n, int k, float alpha, float beta) {
        if (lc.columnMajor()) {   // Cᵀ = op(B)ᵀ·op(A)ᵀ, row-major
            sgemm(b, lb, !tb, a, la, !ta, c, new Layout(false, lc.ld()), n, m, k, alpha, beta);
            return;
        }
        int transA = ta ^ la.columnMajor() ? openblas.CblasTrans : openblas.CblasNoTrans;
        int transB = tb ^ lb.columnMajor() ? openblas.CblasTrans : openblas.CblasNoTrans;
        openblas.cblas_sgemm(openblas.CblasRowMajor, transA, transB, m, n, k, alpha, a, la.ld(), b, lb.ld(), beta, c, lc.ld());
    }
}
