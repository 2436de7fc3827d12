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
 * Decoding on ND4J's CPU backend in float32 with the cache in Java arrays ({@link HeapKvCache}), outside ND4J's op
 * layer: the residual stream, norms, biases, activations and attention in Java loops ({@link HostKernels},
 * {@link HeapKvCache}), the projections as direct OpenBLAS calls ({@link HostMatrix}). The prompt chunk runs the same
 * code over all its positions (causal attention within the chunk) and the head at each row's last position only;
 * through ND4J ops it had cost a prefill a workspace that grew, and was zeroed again, with each larger prompt batch.
 */
final class HeapSteps implements DecodeSteps {
    private final DecoderWeights dw;
    private final int batch;
    private final HeapKvCache heap;
    private final float[][] vectors;  // gains and biases read at start, VECTORS per layer, then lnf g/b, head b

    HeapSteps(DecoderWeights dw, int batch, int capacity, int[] padLeft) {
        this.dw = dw;
        this.batch = batch;
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
        this.dw = parent.dw;
        this.batch = rows.length;
        heap = new HeapKvCache(parent.heap, rows);
        vectors = parent.vectors;
    }

    @Override
    public float[][] forward(int[][] chunk, int length, int[] padLeft) {
        int s = chunk[0].length;
        if (s > 1 && length != 0) {
            throw new IllegalStateException("heap attention takes one multi-token chunk, first");
        }
        ChunkRows rows = ChunkRows.of(chunk, length, padLeft);
        if (s == 1) {
            return run(rows.ids(), rows.positions(), 1, length, stepBuffers(dw.model, batch));
        }
        try (StepBuffers prompt = new StepBuffers(dw.model, batch * s, batch)) {   // once per session: not kept
            return run(rows.ids(), rows.positions(), s, length, prompt);
        }
    }

    @Override
    public DecodeSteps fork(int[] rows, int[] padLeft) {
        return new HeapSteps(this, rows);
    }

    /** Per layer, the gains and biases a heap step reads from Java: ln1 g/b, ln2 g/b, qkv, o, ff1 and ff2 biases. */
    static final int VECTORS = 8;

    /**
     * The n = batch·s rows of a chunk (row b·s + i: row b's token at position {@code pos[b·s + i]}) through the blocks,
     * with attention over the cache ({@link HeapKvCache#step} for one token, {@link HeapKvCache#chunk} for the prompt);
     * returns the log-probabilities after each row's last token. The residual stream, norms, biases, residual adds,
     * activations and attention run on Java arrays and the projections call OpenBLAS directly ({@link HostMatrix}) on
     * {@code buf}. A step thus creates no native buffers: ND4J frees each op's buffers (workspace ones included) only
     * after a garbage collection, and ~100 per step left tens of thousands pending between collections. At these sizes
     * an ND4J op costs 5–40 µs whatever its arithmetic (libnd4j's layer_norm ~30 µs for one row, xw_plus_b ~35 µs), and
     * GELU's six ops were a fifth of a batch-16 step at the tiny shape (the Java loop: ~0.5 ns a value).
     */
    private float[][] run(int[] ids, int[] pos, int s, int length, StepBuffers buf) {
        ModelConfig model = dw.model;
        int n = ids.length, d = model.dModel(), nl = model.nLayers();
        embeddings(ids, pos, buf);
        float scale = (float) (1.0 / Math.sqrt(model.headDim()));
        for (int l = 0; l < nl; l++) {
            DecoderWeights.HostBlock blk = dw.hostBlocks.get(l);
            int v = VECTORS * l;
            norm(buf.x, vectors[v], vectors[v + 1], buf.aHeap);
            buf.aPtr.put(buf.aHeap);
            blk.wQkv().multiply(buf.aPtr, n, buf.qkvPtr);
            buf.qkvPtr.get(buf.qkvHeap);
            HostKernels.addRowVector(buf.qkvHeap, vectors[v + 4]);
            if (dw.hostRopeCos != null) {
                HostKernels.ropeRows(buf.qkvHeap, pos, dw.hostRopeCos, dw.hostRopeSin, model.nHeads() + model.kvHeads(),
                        model.headDim(), model.qkvWidth());
            }
            if (s == 1) {
                heap.step(l, buf.qkvHeap, length, scale, buf.aHeap);
            } else {
                heap.chunk(l, buf.qkvHeap, s, scale, buf.aHeap);
            }
            buf.aPtr.put(buf.aHeap);
            blk.wO().multiply(buf.aPtr, n, buf.outPtr);
            buf.outPtr.get(buf.outHeap);
            HostKernels.addResidual(buf.x, buf.outHeap, vectors[v + 5]);
            norm(buf.x, vectors[v + 2], vectors[v + 3], buf.aHeap);
            buf.aPtr.put(buf.aHeap);
            if (dw.swiglu()) {   // gate|up into the wide buffer, silu(gate)·up in Java into the hidden one
                blk.w1().multiply(buf.aPtr, n, buf.gateUpPtr);
                buf.gateUpPtr.get(buf.gateUpHeap);
                HostKernels.addRowVector(buf.gateUpHeap, vectors[v + 6]);
                HostKernels.swiglu(buf.gateUpHeap, model.dFf(), buf.hiddenHeap);
            } else {
                blk.w1().multiply(buf.aPtr, n, buf.hiddenPtr);
                buf.hiddenPtr.get(buf.hiddenHeap);
                HostKernels.addRowVector(buf.hiddenHeap, vectors[v + 6]);
                HostKernels.geluInPlace(buf.hiddenHeap);
            }
            buf.hiddenPtr.put(buf.hiddenHeap);
            blk.w2().multiply(buf.hiddenPtr, n, buf.outPtr);
            buf.outPtr.get(buf.outHeap);
            HostKernels.addResidual(buf.x, buf.outHeap, vectors[v + 7]);
        }
        float[] last = buf.x;
        if (s > 1) {   // the head at each row's last position only
            last = new float[batch * d];
            for (int b = 0; b < batch; b++) {
                System.arraycopy(buf.x, (b * s + s - 1) * d, last, b * d, d);
            }
        }
        norm(last, vectors[VECTORS * nl], vectors[VECTORS * nl + 1], buf.aHeap);
        buf.aPtr.put(buf.aHeap, 0, batch * d);
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
     * The buffers of a chunk of {@code rows} rows whose head runs on {@code outRows} of them: one per step batch size
     * and thread, kept (allocated outside workspaces), or one per prompt chunk, closed after it. Native memory for
     * OpenBLAS's inputs and outputs, Java arrays for the residual stream and everything computed in Java.
     */
    private static final class StepBuffers implements AutoCloseable {
        final INDArray a;                                      // an ND4J array where ND4J's pullRows writes
        final FloatPointer aPtr, qkvPtr, outPtr, hiddenPtr, logitsPtr;
        final float[] x, aHeap, qkvHeap, outHeap, logitsHeap;
        final float[] hiddenHeap;
        final FloatPointer gateUpPtr;   // SwiGLU only: the fused gate|up projection, [rows, 2·dFf]
        final float[] gateUpHeap;

        StepBuffers(ModelConfig m, int batch) {
            this(m, batch, batch);
        }

        StepBuffers(ModelConfig m, int rows, int outRows) {
            int d = m.dModel();
            try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                a = Nd4j.create(DataType.FLOAT, rows, d);
            }
            aPtr = new FloatPointer(a.data().addressPointer());
            hiddenPtr = new FloatPointer((long) rows * m.dFf());
            qkvPtr = new FloatPointer((long) rows * m.qkvWidth());
            outPtr = new FloatPointer((long) rows * d);
            logitsPtr = new FloatPointer((long) outRows * m.vocabSize());
            boolean swiglu = m.arch().mlp() == Architecture.Mlp.SWIGLU;
            hiddenHeap = new float[rows * m.dFf()];
            gateUpPtr = swiglu ? new FloatPointer((long) rows * m.mlpInWidth()) : null;
            gateUpHeap = swiglu ? new float[rows * m.mlpInWidth()] : null;
            x = new float[rows * d];
            aHeap = new float[rows * d];
            qkvHeap = new float[rows * m.qkvWidth()];
            outHeap = new float[rows * d];
            logitsHeap = new float[outRows * m.vocabSize()];
        }

        /** Frees the native buffers now (a prompt's are large; the garbage collector would free them late). */
        @Override
        public void close() {
            for (FloatPointer p : new FloatPointer[]{hiddenPtr, qkvPtr, outPtr, logitsPtr, gateUpPtr}) {
                if (p != null) {
                    p.close();
                }
            }
            a.close();
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
