package org.rlsf.model;

import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.config.Architecture;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.graph.TransformerBlock;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Decoding steps on ND4J's CPU backend in float32 with the cache in Java arrays ({@link HeapKvCache}): the prompt
 * chunk goes through {@link Nd4jForward} (its keys and values copied into the heap cache), and each one-token step
 * runs outside ND4J's op layer: the residual stream, LayerNorms, biases, residual adds and attention in Java loops
 * ({@link HostKernels}, {@link HeapKvCache}), the projections as direct OpenBLAS calls ({@link HostMatrix}).
 */
final class HeapSteps extends Nd4jForward {
    private final HeapKvCache heap;
    private final float[][] vectors;  // gains and biases read at start, VECTORS per layer, then lnf g/b, head b

    HeapSteps(DecoderWeights dw, int batch, int capacity, int[] padLeft) {
        super(dw, batch);
        ModelConfig model = dw.model;
        heap = new HeapKvCache(model.nLayers(), batch, model.nHeads(), model.kvHeads(), model.headDim(), capacity,
                padLeft, (float) TransformerBlock.MASKED);
        int nl = model.nLayers();
        vectors = new float[VECTORS * nl + 3][];
        for (int l = 0; l < nl; l++) {
            DecoderWeights.Block blk = dw.blocks.get(l);
            INDArray[] v = {blk.ln1g(), blk.ln1b(), blk.ln2g(), blk.ln2b(), blk.bQkv(), blk.bO(), blk.b1(), blk.b2()};
            for (int i = 0; i < VECTORS; i++) {
                vectors[VECTORS * l + i] = v[i] == null ? null : v[i].toFloatVector();   // null: not in this design
            }
        }
        vectors[VECTORS * nl] = dw.lnfGain.toFloatVector();
        vectors[VECTORS * nl + 1] = dw.lnfBias == null ? null : dw.lnfBias.toFloatVector();
        vectors[VECTORS * nl + 2] = dw.bHead == null ? null : dw.bHead.toFloatVector();
    }

    private HeapSteps(HeapSteps parent, int[] rows) {
        super(parent.dw, rows.length);
        heap = new HeapKvCache(parent.heap, rows);
        vectors = parent.vectors;
    }

    @Override
    public float[][] forward(int[][] chunk, int length, int[] padLeft) {
        return chunk[0].length == 1 ? heapStep(chunk, length, padLeft) : forwardNd4j(chunk, length, padLeft);
    }

    @Override
    public DecodeSteps fork(int[] rows, int[] padLeft) {
        return new HeapSteps(this, rows);
    }

    /** The prompt chunk (the cache is empty): attend over the chunk itself, keep its keys and values for the steps. */
    @Override
    INDArray[] cacheChunk(int l, INDArray k, INDArray v, int s, int length, int total) {
        if (s == 1 || length != 0) {
            throw new IllegalStateException("heap attention takes one multi-token chunk, first");
        }
        heap.putChunk(l, HostKernels.heapCopy(k), 0, HostKernels.heapCopy(v), 0, 0, s);
        return new INDArray[]{k, v};
    }

    @Override
    INDArray stepBias(int total) {
        throw new IllegalStateException("heap steps decode one token in Java, not through ND4J attention");
    }

    /** Per layer, the gains and biases a heap step reads from Java: ln1 g/b, ln2 g/b, qkv, o, ff1 and ff2 biases. */
    static final int VECTORS = 8;

    /**
     * One decoding step with the cache in Java ({@link HeapKvCache}). The residual stream, LayerNorms, biases,
     * residual adds and attention run on Java arrays and the projections call OpenBLAS directly
     * ({@link HostMatrix}) on arrays allocated once per batch size and thread ({@link StepBuffers}); GELU is
     * a Java loop at every batch size (on the vector API ~0.5 ns a value; six ND4J ops cost 5–10 µs each whatever the
     * size, and at batch 16 they were a fifth of a step at the tiny shape). A step thus
     * creates no native buffers: ND4J frees each op's buffers (workspace ones included) only after a garbage
     * collection, and ~100 per step left tens of thousands pending between collections. At these sizes an ND4J
     * op costs 5–40 µs whatever its arithmetic (libnd4j's layer_norm ~30 µs for one row, xw_plus_b ~35 µs).
     */
    private float[][] heapStep(int[][] chunk, int length, int[] padLeft) {
        ModelConfig model = dw.model;
        StepBuffers buf = stepBuffers(model, batch);
        int d = model.dModel(), nl = model.nLayers();
        int[] ids = new int[batch];
        int[] pos = new int[batch];
        for (int b = 0; b < batch; b++) {
            ids[b] = chunk[b][0];
            pos[b] = Math.max(0, length - padLeft[b]);
        }
        embeddings(ids, pos, buf);
        float scale = (float) (1.0 / Math.sqrt(model.headDim()));
        for (int l = 0; l < nl; l++) {
            DecoderWeights.HostBlock blk = dw.hostBlocks.get(l);
            int v = VECTORS * l;
            norm(buf.x, vectors[v], vectors[v + 1], buf.aHeap);
            buf.aPtr.put(buf.aHeap);
            blk.wQkv().multiply(buf.aPtr, batch, buf.qkvPtr);
            buf.qkvPtr.get(buf.qkvHeap);
            HostKernels.addRowVector(buf.qkvHeap, vectors[v + 4]);
            if (dw.hostRopeCos != null) {
                HostKernels.ropeRows(buf.qkvHeap, pos, dw.hostRopeCos, dw.hostRopeSin, model.nHeads() + model.kvHeads(),
                        model.headDim(), model.qkvWidth());
            }
            heap.step(l, buf.qkvHeap, length, scale, buf.aHeap);
            buf.aPtr.put(buf.aHeap);
            blk.wO().multiply(buf.aPtr, batch, buf.outPtr);
            buf.outPtr.get(buf.outHeap);
            HostKernels.addResidual(buf.x, buf.outHeap, vectors[v + 5]);
            norm(buf.x, vectors[v + 2], vectors[v + 3], buf.aHeap);
            buf.aPtr.put(buf.aHeap);
            if (dw.swiglu()) {   // gate|up into the wide buffer, silu(gate)·up in Java into the hidden one
                blk.w1().multiply(buf.aPtr, batch, buf.gateUpPtr);
                buf.gateUpPtr.get(buf.gateUpHeap);
                HostKernels.addRowVector(buf.gateUpHeap, vectors[v + 6]);
                HostKernels.swiglu(buf.gateUpHeap, model.dFf(), buf.hiddenHeap);
                buf.hiddenPtr.put(buf.hiddenHeap);
            } else {
                blk.w1().multiply(buf.aPtr, batch, buf.hiddenPtr);
                buf.hiddenPtr.get(buf.hiddenHeap);
                HostKernels.addRowVector(buf.hiddenHeap, vectors[v + 6]);
                HostKernels.geluInPlace(buf.hiddenHeap);
                buf.hiddenPtr.put(buf.hiddenHeap);
            }
            blk.w2().multiply(buf.hiddenPtr, batch, buf.outPtr);
            buf.outPtr.get(buf.outHeap);
            HostKernels.addResidual(buf.x, buf.outHeap, vectors[v + 7]);
        }
        norm(buf.x, vectors[VECTORS * nl], vectors[VECTORS * nl + 1], buf.aHeap);
        buf.aPtr.put(buf.aHeap);
        dw.hostHead.multiply(buf.aPtr, batch, buf.logitsPtr);
        buf.logitsPtr.get(buf.logitsHeap);
        int vocab = model.vocabSize();
        float[] headBias = vectors[VECTORS * nl + 2];
        float[][] out = new float[batch][];
        for (int b = 0; b < batch; b++) {
            out[b] = Arrays.copyOfRange(buf.logitsHeap, b * vocab, (b + 1) * vocab);
            if (headBias != null) {
                for (int i = 0; i < vocab; i++) {
                    out[b][i] += headBias[i];
                }
            }
        }
        return HostKernels.logSoftmaxRows(out);
    }

    /** The design's norm of each row of {@code x} into {@code out}: LayerNorm, or RMSNorm ({@code bias} null). */
    private void norm(float[] x, float[] gain, float[] bias, float[] out) {
        if (dw.rms()) {
            HostKernels.rmsNormRows(x, gain, dw.model.layerNormEps(), dw.model.dModel(), out);
        } else {
            HostKernels.layerNormRows(x, gain, bias, dw.model.layerNormEps(), dw.model.dModel(), out);
        }
    }

    /** Token + position embedding rows into {@code buf.x}: straight from a table's memory when it is row-major. */
    private void embeddings(int[] ids, int[] pos, StepBuffers buf) {
        tableRows(dw.hostWte, dw.w.wte(), ids, buf, buf.x);
        if (dw.hostWpe != null) {
            tableRows(dw.hostWpe, dw.w.wpe(), pos, buf, buf.outHeap);
            HostKernels.addInPlace(buf.x, buf.outHeap);
        }
    }

    private void tableRows(HostMatrix host, INDArray table, int[] ids, StepBuffers buf, float[] out) {
        if (host.rowMajor()) {
            host.gatherRows(ids, out);
        } else {   // DL4J keeps the token embedding column-major
            Nd4j.pullRows(table, buf.a, 1, ids);
            buf.aPtr.get(out);
        }
    }

    /**
     * The buffers of a heap-attention decoding step at one batch size, allocated once per thread outside workspaces:
     * native memory for OpenBLAS's inputs and outputs (an ND4J array where ND4J's pullRows writes), Java arrays for the
     * residual stream and everything computed in Java.
     */
    private static final class StepBuffers {
        final INDArray a;                                      // an ND4J array where ND4J ops write it
        final FloatPointer aPtr, qkvPtr, outPtr, hiddenPtr, logitsPtr;
        final float[] x, aHeap, qkvHeap, outHeap, logitsHeap;
        final float[] hiddenHeap;
        final FloatPointer gateUpPtr;   // SwiGLU only: the fused gate|up projection, [batch, 2·dFf]
        final float[] gateUpHeap;

        StepBuffers(ModelConfig m, int batch) {
            int d = m.dModel();
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                a = Nd4j.create(DataType.FLOAT, batch, d);
            }
            aPtr = new FloatPointer(a.data().addressPointer());
            hiddenPtr = new FloatPointer((long) batch * m.dFf());
            qkvPtr = new FloatPointer((long) batch * m.qkvWidth());
            outPtr = new FloatPointer((long) batch * d);
            logitsPtr = new FloatPointer((long) batch * m.vocabSize());
            boolean swiglu = m.arch().mlp() == Architecture.Mlp.SWIGLU;
            hiddenHeap = new float[batch * m.dFf()];
            gateUpPtr = swiglu ? new FloatPointer((long) batch * m.mlpInWidth()) : null;
            gateUpHeap = swiglu ? new float[batch * m.mlpInWidth()] : null;
            x = new float[batch * d];
            aHeap = new float[batch * d];
            qkvHeap = new float[batch * m.qkvWidth()];
            outHeap = new float[batch * d];
            logitsHeap = new float[batch * m.vocabSize()];
        }
    }

    /** Step-buffer shapes a thread keeps (compaction visits many batch sizes; the rest are reallocated). */
    private static final int STEP_BUFFER_SHAPES = 16;

    /** The shape of a step's buffers: model widths and batch size. */
    private record StepShape(int dModel, int qkvWidth, int dFf, int mlpInWidth, int vocab, int batch) {
    }

    /** Per thread and shared by every decoder on it (Spark runs a new decoder per task on long-lived threads). */
    private static final ThreadLocal<Map<StepShape, StepBuffers>> STEP_BUFFERS = ThreadLocal.withInitial(() ->
            new LinkedHashMap<>(STEP_BUFFER_SHAPES, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<StepShape, StepBuffers> eldest) {
                    return size() > STEP_BUFFER_SHAPES;
                }
            });

    private static StepBuffers stepBuffers(ModelConfig model, int batch) {
        return STEP_BUFFERS.get().computeIfAbsent(new StepShape(model.dModel(), model.qkvWidth(), model.dFf(), model.mlpInWidth(), model.vocabSize(), batch),
                k -> new StepBuffers(model, batch));
    }
}
