package org.rlsf.model.graph;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The eager block's Java causal softmax and its backward against ND4J's masked softmax in float64. */
class CausalSoftmaxTest {
    private static final int T = 9;

    private static double maxDiff(INDArray a, INDArray b) {
        return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
    }

    @Test
    void forwardAndBackwardMatchTheMaskedSoftmax() {
        Nd4j.getRandom().setSeed(7);
        INDArray scores = Nd4j.randn(DataType.FLOAT, 2, 3, T, T).muli(3);
        INDArray ref = scores.castTo(DataType.DOUBLE).addi(TransformerBlock.causalBias(T, DataType.DOUBLE).reshape(1, 1, T, T));
        Nd4j.exec(new SoftMax(ref, ref, 3));
        INDArray probs = scores.dup();
        assertTrue(EagerBlockLayer.causalSoftmaxInPlace(probs), "the Java path runs on float32 row-major memory");
        assertTrue(maxDiff(ref, probs) < 1e-6, "softmax differs by " + maxDiff(ref, probs));
        assertEquals(0.0, probs.getDouble(1, 2, 3, 4), "above the diagonal: 0");
        assertEquals(1.0, probs.getDouble(0, 0, 0, 0), 1e-7, "the first row sees itself only");

        INDArray dP = Nd4j.randn(DataType.FLOAT, 2, 3, T, T);
        INDArray dPd = dP.castTo(DataType.DOUBLE).reshape(6L * T, T), pd = ref.reshape(6L * T, T);
        INDArray expected = dPd.subColumnVector(dPd.mul(pd).sum(true, 1)).muli(pd).reshape(2, 3, T, T);
        INDArray dS = EagerBlockLayer.causalSoftmaxBackward(dP.dup(), probs);
        assertTrue(maxDiff(expected, dS) < 1e-5, "softmax backward differs by " + maxDiff(expected, dS));
        // float64 takes ND4J's ops: the same function
        INDArray dSd = EagerBlockLayer.causalSoftmaxBackward(dP.castTo(DataType.DOUBLE), ref);
        assertTrue(maxDiff(expected, dSd) < 1e-12);
        assertFalse(EagerBlockLayer.causalSoftmaxInPlace(scores.castTo(DataType.DOUBLE)));
    }

    @Test
    void rowsPastTheFirstBlockOfMemoryKeepTheirPositions() {
        // 4·60·9 = 2,160 rows of 9: the loops move 1,820 rows at a time, a block that ends inside a matrix
        Nd4j.getRandom().setSeed(11);
        INDArray scores = Nd4j.randn(DataType.FLOAT, 4, 60, T, T);
        INDArray ref = scores.castTo(DataType.DOUBLE).addi(TransformerBlock.causalBias(T, DataType.DOUBLE).reshape(1, 1, T, T));
        Nd4j.exec(new SoftMax(ref, ref, 3));
        INDArray probs = scores.dup();
        assertTrue(EagerBlockLayer.causalSoftmaxInPlace(probs));
        assertTrue(maxDiff(ref, probs) < 1e-6, "softmax differs by " + maxDiff(ref, probs));
        INDArray dP = Nd4j.randn(DataType.FLOAT, 4, 60, T, T);
        INDArray expected = EagerBlockLayer.causalSoftmaxBackward(dP.castTo(DataType.DOUBLE), ref);   // ND4J's ops
        assertTrue(maxDiff(expected, EagerBlockLayer.causalSoftmaxBackward(dP.dup(), probs)) < 1e-5);
    }
}
