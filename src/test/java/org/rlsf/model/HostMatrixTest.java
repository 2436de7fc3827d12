package org.rlsf.model;

import org.bytedeco.javacpp.FloatPointer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link HostMatrix}'s direct OpenBLAS products against ND4J's mmul, for the layouts DL4J gives parameters. */
class HostMatrixTest {
    private static float[] product(HostMatrix w, INDArray a) {
        int m = (int) a.size(0);
        FloatPointer in = new FloatPointer(a.dup('c').data().asFloat());
        FloatPointer out = new FloatPointer((long) m * w.cols());
        w.multiply(in, m, out);
        float[] c = new float[m * w.cols()];
        out.get(c);
        return c;
    }

    @Test
    void rowAndColumnMajorViewsMultiplyLikeNd4j() {
        Nd4j.getRandom().setSeed(3);
        INDArray params = Nd4j.rand(DataType.FLOAT, 1, 400);
        INDArray rowMajor = params.get(NDArrayIndex.point(0), NDArrayIndex.interval(7, 7 + 6 * 5)).reshape('c', 6, 5);
        INDArray colMajor = params.get(NDArrayIndex.point(0), NDArrayIndex.interval(100, 100 + 6 * 5)).reshape('f', 6, 5);
        for (INDArray w : new INDArray[]{rowMajor, colMajor}) {
            for (int m : new int[]{1, 3}) {
                INDArray a = Nd4j.rand(DataType.FLOAT, m, 6);
                float[] expected = a.mmul(w).dup('c').data().asFloat();
                assertArrayEquals(expected, product(HostMatrix.of(w), a), 1e-5f, w.ordering() + " m=" + m);
            }
        }
    }

    @Test
    void rowsComeStraightFromARowMajorTable() {
        INDArray table = Nd4j.linspace(DataType.FLOAT, 0, 20, 1).reshape('c', 5, 4);
        float[] out = new float[8];
        HostMatrix.of(table).gatherRows(new int[]{3, 1}, out);
        assertArrayEquals(new float[]{12, 13, 14, 15, 4, 5, 6, 7}, out);
    }

    @Test
    void onlyFloatMatricesWithAUnitStride() {
        assertThrows(IllegalArgumentException.class, () -> HostMatrix.of(Nd4j.rand(DataType.DOUBLE, 3, 3)));
        INDArray strided = Nd4j.rand(DataType.FLOAT, 6, 6).get(NDArrayIndex.interval(0, 2, 6), NDArrayIndex.interval(0, 2, 6));
        assertThrows(IllegalArgumentException.class, () -> HostMatrix.of(strided));
    }
}
