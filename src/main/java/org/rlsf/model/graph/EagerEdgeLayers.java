package org.rlsf.model.graph;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Eager runtime layers for the two small SameDiff layers around the blocks, for the same reason as
 * {@link EagerBlockLayer}: DL4J's SameDiff layer runs its forward twice per training step and composes the
 * LayerNorm gradient from broadcast ops. Same functions and parameters as their SameDiff graphs (the reference,
 * {@code compute.kernels = "samediff"}); {@code EagerBlockTest} compares whole graphs.
 */
final class EagerEdgeLayers {
    private EagerEdgeLayers() {
    }

    /** {@link PositionEmbedding}: out = x + wpe[0:T] (broadcast over the batch). */
    static final class Position extends org.deeplearning4j.nn.layers.samediff.SameDiffLayer {
        Position(NeuralNetConfiguration conf, DataType dataType) {
            super(conf, dataType);
        }

        @Override
        public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
            assertInputSet(false);
            long mb = input.size(0), d = input.size(1), t = input.size(2);
            // [mb, T·d] rows + wpe's first T rows flattened: one broadcast add
            INDArray out = input.permute(0, 2, 1).dup('c').reshape('c', mb, t * d);
            out.addiRowVector(rows(paramTable.get(PositionEmbedding.WPE), t).reshape('c', 1, t * d));
            return workspaceMgr.leverageTo(ArrayType.ACTIVATIONS, out).reshape('c', mb, t, d).permute(0, 2, 1);
        }

        @Override
        public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
            assertInputSet(true);
            long t = epsilon.size(2);
            INDArray grad = gradTable.get(PositionEmbedding.WPE);
            grad.assign(0);                                                             // positions ≥ T get none
            rows(grad, t).assign(epsilon.sum(0).transpose());                           // Σ over the batch, [T, d]
            Gradient g = new DefaultGradient();
            g.gradientForVariable().put(PositionEmbedding.WPE, grad);
            return new Pair<>(g, workspaceMgr.leverageTo(ArrayType.ACTIVATION_GRAD, epsilon));
        }

        /** The first {@code t} rows of a [context, d] matrix. */
        private static INDArray rows(INDArray m, long t) {
            return m.get(NDArrayIndex.interval(0, t), NDArrayIndex.all());
        }
    }

    /** {@link FinalLayerNorm}: LayerNorm or RMSNorm over d at every position. */
    static final class FinalNorm extends org.deeplearning4j.nn.layers.samediff.SameDiffLayer {
        private INDArray cachedInput, xhat, rstd;

        FinalNorm(NeuralNetConfiguration conf, DataType dataType) {
            super(conf, dataType);
        }

        private FinalLayerNorm norm() {
            return (FinalLayerNorm) layerConf();
        }

        @Override
        public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
            assertInputSet(false);
            cachedInput = null;
            long mb = input.size(0), t = input.size(2);
            if (!training) {
                return EagerBlockLayer.asActivation(workspaceMgr.leverageTo(ArrayType.ACTIVATIONS, forward()), mb, t);
            }
            try (MemoryWorkspace ws = EagerBlockLayer.trainingScope(workspaceMgr)) {
                INDArray out = forward();
                cachedInput = input;
                return EagerBlockLayer.asActivation(out, mb, t);
            }
        }

        private INDArray forward() {
            INDArray[] ln = EagerBlockLayer.norm(EagerBlockLayer.asRows(input), norm().isRms(), norm().getEps(),
                    paramTable.get(FinalLayerNorm.GAIN), paramTable.get(FinalLayerNorm.BIAS));
            xhat = ln[0];
            rstd = ln[1];
            return ln[2];
        }

        @Override
        public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
            assertInputSet(true);
            if (cachedInput != input) {
                forward();
            }
            cachedInput = null;
            INDArray dx = EagerBlockLayer.normBackward(EagerBlockLayer.asRows(epsilon), xhat, rstd, norm().isRms(),
                    paramTable.get(FinalLayerNorm.GAIN), gradTable.get(FinalLayerNorm.GAIN), gradTable.get(FinalLayerNorm.BIAS), null);
            xhat = null;
            rstd = null;
            Gradient g = new DefaultGradient();
            for (String name : paramTable.keySet()) {
                g.gradientForVariable().put(name, gradTable.get(name));
            }
            return new Pair<>(g, EagerBlockLayer.asActivation(workspaceMgr.dup(ArrayType.ACTIVATION_GRAD, dx),
                    epsilon.size(0), epsilon.size(2)));
        }

        @Override
        public void clear() {
            super.clear();
            cachedInput = null;
            xhat = null;
            rstd = null;
        }
    }
}
