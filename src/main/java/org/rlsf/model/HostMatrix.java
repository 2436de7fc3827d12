package org.rlsf.model;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.rlsf.model.graph.Matmul;

/**
 * A float32 weight matrix [K, N] of the CPU backend, multiplied by calling OpenBLAS (the library ND4J's CPU
 * backend runs on) directly: ~2 µs for a one-row product where an ND4J op (libnd4j's xw_plus_b or mmul) costs
 * 20–40 µs of fixed overhead. Reads the array's memory in place (a view of the graph's parameters sees their
 * updates), row- or column-major as DL4J laid it out.
 */
final class HostMatrix {
    private final FloatPointer data;
    private final int rows;
    private final int cols;
    private final boolean columnMajor;
    private final int ld;

    private HostMatrix(FloatPointer data, int rows, int cols, boolean columnMajor, int ld) {
        this.data = data;
        this.rows = rows;
        this.cols = cols;
        this.columnMajor = columnMajor;
        this.ld = ld;
    }

    /** @throws IllegalArgumentException unless {@code w} is a float32 matrix with unit stride along one dimension */
    static HostMatrix of(INDArray w) {
        if (w.rank() != 2 || w.dataType() != DataType.FLOAT) {
            throw new IllegalArgumentException("a float32 matrix, got " + w.dataType() + " " + java.util.Arrays.toString(w.shape()));
        }
        int rows = (int) w.size(0), cols = (int) w.size(1);
        FloatPointer p = new FloatPointer(w.data().addressPointer());   // the view's first element
        Matmul.Layout layout = Matmul.Layout.of(w);
        if (layout == null) {
            throw new IllegalArgumentException("no unit stride: " + java.util.Arrays.toString(w.stride()));
        }
        return new HostMatrix(p, rows, cols, layout.columnMajor(), layout.ld());
    }

    int cols() {
        return cols;
    }

    /** c[m, N] = a[m, K] · this, all row-major and contiguous. */
    void multiply(FloatPointer a, int m, FloatPointer c) {
        if (m == 1) {   // a vector: OpenBLAS's gemv, not a one-row gemm
            if (columnMajor) {
                openblas.cblas_sgemv(openblas.CblasRowMajor, openblas.CblasNoTrans, cols, rows, 1f, data, ld, a, 1, 0f, c, 1);
            } else {
                openblas.cblas_sgemv(openblas.CblasRowMajor, openblas.CblasTrans, rows, cols, 1f, data, ld, a, 1, 0f, c, 1);
            }
            return;
        }
        openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans,
                columnMajor ? openblas.CblasTrans : openblas.CblasNoTrans, m, cols, rows,
                1f, a, rows, data, ld, 0f, c, cols);
    }

    /** Rows {@code ids} of this matrix (row-major only) into {@code out}, one after another. */
    void gatherRows(int[] ids, float[] out) {
        if (columnMajor) {
            throw new IllegalStateException("row gather from a column-major matrix");
        }
        FloatPointer p = new FloatPointer(data);
        for (int i = 0; i < ids.length; i++) {
            p.position((long) ids[i] * ld).get(out, i * cols, cols);
        }
    }

    boolean rowMajor() {
        return !columnMajor;
    }
}
