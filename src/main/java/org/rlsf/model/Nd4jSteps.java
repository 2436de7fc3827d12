package org.rlsf.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.shape.Gather;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rlsf.model.graph.TransformerBlock;

import java.util.Arrays;

/**
 * Decoding steps in ND4J operations over ND4J caches ([B, KV, capacity, dh] keys and values per layer), on any
 * backend, CUDA included: the prompt chunk and every one-token step go through {@link Nd4jForward}.
 */
final class Nd4jSteps extends Nd4jForward {
    private final int capacity;
    private final INDArray[] keys;
    private final INDArray[] values;
    private final INDArray padBias;   // [B, 1, 1, capacity], −1e9 on each row's left padding

    Nd4jSteps(DecoderWeights dw, int batch, int capacity, int[] padLeft) {
        super(dw, batch);
        this.capacity = capacity;
        int layers = dw.model.nLayers(), h = dw.model.kvHeads(), dh = dw.model.headDim();
        DataType type = dw.w.wte().dataType();
        keys = new INDArray[layers];
        values = new INDArray[layers];
        for (int l = 0; l < layers; l++) {
            keys[l] = Nd4j.zeros(type, batch, h, capacity, dh);
            values[l] = Nd4j.zeros(type, batch, h, capacity, dh);
        }
        padBias = padBias(padLeft, capacity, type);
    }

    private Nd4jSteps(Nd4jSteps parent, int[] rows, int[] padLeft) {
        super(parent.dw, rows.length);
        this.capacity = parent.capacity;
        keys = new INDArray[parent.keys.length];
        values = new INDArray[parent.values.length];
        for (int l = 0; l < keys.length; l++) {
            keys[l] = gatherRows(parent.keys[l], rows);
            values[l] = gatherRows(parent.values[l], rows);
        }
        padBias = padBias(padLeft, capacity, dw.w.wte().dataType());
    }

    @Override
    public float[][] forward(int[][] chunk, int length, int[] padLeft) {
        return forwardNd4j(chunk, length, padLeft);
    }

    @Override
    public DecodeSteps fork(int[] rows, int[] padLeft) {
        return new Nd4jSteps(this, rows, padLeft);
    }

    @Override
    INDArray[] cacheChunk(int l, INDArray k, INDArray v, int s, int length, int total) {
        keys[l].get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(length, total), NDArrayIndex.all()).assign(k);
        values[l].get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(length, total), NDArrayIndex.all()).assign(v);
        return new INDArray[]{
                keys[l].get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, total), NDArrayIndex.all()),
                values[l].get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, total), NDArrayIndex.all())};
    }

    @Override
    INDArray stepBias(int total) {
        return padBias.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, total));
    }

    private static INDArray gatherRows(INDArray a, int[] rows) {
        long[] shape = a.shape();
        shape[0] = rows.length;   // gather drops the axis for a single index
        return Nd4j.exec(new Gather(a, rows, 0))[0].reshape('c', shape);
    }

    private static INDArray padBias(int[] padLeft, int capacity, DataType type) {
        float[] bias = new float[padLeft.length * capacity];
        for (int b = 0; b < padLeft.length; b++) {
            Arrays.fill(bias, b * capacity, b * capacity + padLeft[b], (float) TransformerBlock.MASKED);
        }
        return Nd4j.create(bias, new long[]{padLeft.length, 1, 1, capacity}, 'c').castTo(type);
    }
}
