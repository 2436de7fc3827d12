package org.rlsf.model.graph;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

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
    public static final boolean CPU = Nd4j.getBackend().getClass().getName().contains("Cpu");

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
     * Attention's products per sequence and head: c[s, i] = alpha·op(a[s, i])·op(b[s, i]) + beta·c[s, i] over rank-4
     * [mb, heads, rows, cols] arrays whose matrices may be views with any steps between sequences and heads (the
     * heads' columns of a [mb·T, heads·dh] projection, as the layers pass them). The operands may have fewer heads
     * than H, the most any has (grouped-query attention's key/value heads): query head i reads head i / (H / X) of an
     * operand with X heads, and where c has fewer heads the products of the H / X query heads it serves add up in it
     * (the first with {@code beta}, the rest with 1).
     *
     * @throws IllegalArgumentException when the arrays are not rank 4, their sequences differ, a head count does not
     *                                  divide H or the matrices do not chain
     */
    public static void perHead(INDArray a, boolean transposeA, INDArray b, boolean transposeB, INDArray c, double alpha,
                               double beta) {
        if (a.rank() != 4 || b.rank() != 4 || c.rank() != 4 || a.size(0) != b.size(0) || a.size(0) != c.size(0)) {
            throw new IllegalArgumentException("per-head products take [mb, heads, rows, cols] arrays of equal mb, got "
                    + java.util.Arrays.toString(a.shape()) + ", " + java.util.Arrays.toString(b.shape()) + ", "
                    + java.util.Arrays.toString(c.shape()));
        }
        long mb = a.size(0), h = Math.max(a.size(1), Math.max(b.size(1), c.size(1)));
        long ga = group(a, h), gb = group(b, h), gc = group(c, h);
        long m = transposeA ? a.size(3) : a.size(2), k = transposeA ? a.size(2) : a.size(3);
        long kb = transposeB ? b.size(3) : b.size(2), n = transposeB ? b.size(2) : b.size(3);
        if (k != kb || c.size(2) != m || c.size(3) != n) {
            throw new IllegalArgumentException("per-head shapes do not chain: " + java.util.Arrays.toString(a.shape())
                    + (transposeA ? "ᵀ" : "") + " · " + java.util.Arrays.toString(b.shape()) + (transposeB ? "ᵀ" : "")
                    + " -> " + java.util.Arrays.toString(c.shape()));
        }
        Layout la = rowMajor(a), lb = rowMajor(b), lc = rowMajor(c);
        if (direct(a, b, c) && la != null && lb != null && lc != null) {
            FloatPointer pa = pointer(a), pb = pointer(b), pc = pointer(c);
            long a0 = pa.position(), b0 = pb.position(), c0 = pc.position();
            long[] sa = a.stride(), sb = b.stride(), sc = c.stride();
            for (long s = 0; s < mb; s++) {
                for (long i = 0; i < h; i++) {
                    pa.position(a0 + s * sa[0] + i / ga * sa[1]);
                    pb.position(b0 + s * sb[0] + i / gb * sb[1]);
                    pc.position(c0 + s * sc[0] + i / gc * sc[1]);
                    sgemm(pa, la, transposeA, pb, lb, transposeB, pc, lc, (int) m, (int) n, (int) k, (float) alpha,
                            (float) groupBeta(i, gc, beta));
                }
            }
            return;
        }
        // elsewhere libnd4j's products on row-major copies (its get of a matrix from a strided 4-D view returns an
        // empty array): one batched op where every operand has H heads, else one per matrix; the result copied into c
        INDArray ca = a.dup('c'), cb = b.dup('c'), cc = beta == 0 ? Nd4j.create(c.dataType(), c.shape()) : c.dup('c');
        if (ga == 1 && gb == 1 && gc == 1) {
            Nd4j.exec(new Mmul(ca, cb, cc, alpha, beta, MMulTranspose.builder().transposeA(transposeA).transposeB(transposeB).build()));
        } else {
            for (long s = 0; s < mb; s++) {
                for (long i = 0; i < h; i++) {
                    gemm(matrix(ca, s, i / ga), transposeA, matrix(cb, s, i / gb), transposeB, matrix(cc, s, i / gc),
                            alpha, groupBeta(i, gc, beta));
                }
            }
        }
        c.assign(cc);
    }

    /** Query head i's beta where c's heads each serve gc query heads: later heads of a group add to the first's. */
    private static double groupBeta(long i, long gc, double beta) {
        return i % gc == 0 ? beta : 1.0;
    }

    /** How many of the H query heads share each of x's heads. */
    private static long group(INDArray x, long h) {
        if (h % x.size(1) != 0) {
            throw new IllegalArgumentException("a per-head operand's " + x.size(1) + " heads do not divide " + h);
        }
        return h / x.size(1);
    }

    /** The layout of the row-major matrices of a rank-4 array (unit column step), or null. */
    private static Layout rowMajor(INDArray x) {
        long[] st = x.stride();
        long cols = x.size(3);
        if ((st[3] != 1 && cols > 1) || (st[2] < cols && x.size(2) > 1)) {
            return null;
        }
        return new Layout(false, (int) Math.max(Math.max(st[2], cols), 1));
    }

    private static INDArray matrix(INDArray x, long s, long i) {
        return x.get(NDArrayIndex.point(s), NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all());
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
