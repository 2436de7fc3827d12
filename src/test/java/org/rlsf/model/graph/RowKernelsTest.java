package org.rlsf.model.graph;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The eager layers' float32 Java loops against the ND4J ops they replace, run in float64 (the reference path every
 * float64 test takes): norms forward and backward, GELU and SwiGLU forward and backward.
 */
class RowKernelsTest {
    private static final int N = 7, D = 12;

    private static void close(INDArray expected, INDArray actual, double tol, String what) {
        double diff = expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        double scale = Math.max(1, expected.amaxNumber().doubleValue());
        assertTrue(diff <= tol * scale, what + " differs by " + diff);
    }

    private static INDArray randn(long... shape) {
        return Nd4j.randn(DataType.DOUBLE, shape);
    }

    @ParameterizedTest(name = "rms={0}")
    @ValueSource(booleans = {false, true})
    void normsMatchTheNd4jOps(boolean rms) {
        Nd4j.getRandom().setSeed(rms ? 3 : 4);
        INDArray x = randn(N, D).muli(2).addi(0.5), gain = randn(1, D), bias = rms ? null : randn(1, D);
        INDArray[] ref = EagerBlockLayer.norm(x, rms, 1e-5, gain, bias);                 // float64: ND4J's ops
        INDArray[] fast = RowKernels.norm(x.castTo(DataType.FLOAT), rms, 1e-5, gain.castTo(DataType.FLOAT),
                bias == null ? null : bias.castTo(DataType.FLOAT));
        assertNotNull(fast, "the Java loops run on float32 row-major memory");
        for (int i = 0; i < 3; i++) {
            close(ref[i], fast[i], 1e-6, new String[]{"xhat", "rstd", "scaled"}[i]);
        }

        INDArray dOut = randn(N, D), residual = randn(N, D);
        INDArray dGainRef = Nd4j.zeros(DataType.DOUBLE, 1, D), dBiasRef = Nd4j.zeros(DataType.DOUBLE, 1, D);
        INDArray dxRef = EagerBlockLayer.normBackward(dOut, ref[0], ref[1], rms, gain, dGainRef, dBiasRef, residual);
        INDArray dGain = Nd4j.zeros(DataType.FLOAT, 1, D), dBias = Nd4j.zeros(DataType.FLOAT, 1, D);
        INDArray dx = RowKernels.normBackward(dOut.castTo(DataType.FLOAT), fast[0], fast[1], rms, gain.castTo(DataType.FLOAT),
                dGain, dBias, residual.castTo(DataType.FLOAT));
        assertNotNull(dx);
        close(dxRef, dx, 1e-5, "dL/dx");
        close(dGainRef, dGain, 1e-5, "dL/dgain");
        close(dBiasRef, dBias, 1e-5, "dL/dbias");
        assertNull(RowKernels.norm(x, rms, 1e-5, gain, bias), "float64 takes ND4J's ops");
    }

    @ParameterizedTest(name = "swiglu={0}")
    @ValueSource(booleans = {false, true})
    void activationsMatchTheNd4jOps(boolean swiglu) {
        Nd4j.getRandom().setSeed(swiglu ? 5 : 6);
        int f = 10;
        INDArray u = randn(N, swiglu ? 2L * f : f).muli(3), dHid = randn(N, f);
        INDArray gate = swiglu ? u.get(NDArrayIndex.all(), NDArrayIndex.interval(0, f)) : u;
        INDArray up = swiglu ? u.get(NDArrayIndex.all(), NDArrayIndex.interval(f, 2 * f)) : null;
        // the reference in float64 with Math.exp: GELU u·σ(u·(C1 + C2·u²)), SwiGLU gate·σ(gate)·up, and their derivatives
        INDArray sigRef = Nd4j.create(DataType.DOUBLE, N, f), hidRef = Nd4j.create(DataType.DOUBLE, N, f);
        INDArray dURef = Nd4j.create(DataType.DOUBLE, N, u.size(1));
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < f; j++) {
                double x = gate.getDouble(i, j), g = dHid.getDouble(i, j);
                double z = swiglu ? x : x * (RowKernels.C1 + RowKernels.C2 * x * x), s = 1 / (1 + Math.exp(-z));
                sigRef.putScalar(i, j, s);
                if (swiglu) {
                    double upv = up.getDouble(i, j);
                    hidRef.putScalar(i, j, x * s * upv);
                    dURef.putScalar(i, j, g * upv * s * (1 + x * (1 - s)));
                    dURef.putScalar(i, f + j, g * x * s);
                } else {
                    hidRef.putScalar(i, j, x * s);
                    dURef.putScalar(i, j, g * (s + x * (RowKernels.C1 + 3 * RowKernels.C2 * x * x) * s * (1 - s)));
                }
            }
        }
        INDArray[] act = RowKernels.activation(u.castTo(DataType.FLOAT), swiglu);
        assertNotNull(act);
        close(sigRef, act[0], 1e-6, "sigma");
        close(hidRef, act[1], 1e-5, "hidden");
        INDArray dU = RowKernels.activationBackward(dHid.castTo(DataType.FLOAT), u.castTo(DataType.FLOAT), act[0], swiglu);
        assertNotNull(dU);
        close(dURef, dU, 1e-5, "dL/du");
    }
}
