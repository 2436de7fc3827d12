package org.rlsf.model;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.distribution.NormalDistribution;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInitDistribution;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.deeplearning4j.nn.conf.graph.GraphVertex;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.samediff.AbstractSameDiffLayer;
import org.rlsf.config.Architecture;
import org.rlsf.config.LoraConfig;
import org.rlsf.model.graph.Frozen;
import org.rlsf.config.ModelConfig;
import org.rlsf.model.graph.DpoOutputLayer;
import org.rlsf.model.graph.FinalLayerNorm;
import org.rlsf.model.graph.HostAdam;
import org.rlsf.model.graph.LmHead;
import org.rlsf.model.graph.PositionEmbedding;
import org.rlsf.model.graph.PpoOutputLayer;
import org.rlsf.model.graph.RewardHead;
import org.rlsf.model.graph.TransformerBlock;
import org.rlsf.model.graph.ValueHead;
import org.rlsf.model.graph.WarmupLinearDecay;

import java.util.Map;

/**
 * Builds the decoder-only transformer as a DL4J {@link ComputationGraph} (so that
 * {@code SparkComputationGraph} + {@code ParameterAveragingTrainingMaster} can train it):
 * <pre>
 *   tokens [mb, T] → embed (EmbeddingSequenceLayer, [V, d]) → pos (+ wpe[0:T]) → block0 … block{L-1}
 *     → ln_f → lm_head (LmHead: an RnnOutputLayer, softmax, sparse cross-entropy) → [mb, V, T]
 * </pre>
 * T (the graph's sequence length) may be shorter than the context length: parameters are the same
 * for every T, so a trained graph's parameters fit a graph planned for another length.
 * Labels are next-token ids [mb, 1, T] with a [mb, T] label mask (padding excluded from the loss).
 */
public final class TransformerLm {
    public static final String INPUT = "tokens";
    public static final String EMBED = "embed";
    public static final String POS = "pos";
    public static final String FINAL_NORM = "ln_f";
    public static final String HEAD = "lm_head";
    /** The reward model's scalar head ({@link RewardHead}), in place of {@link #HEAD}. */
    public static final String REWARD_HEAD = "reward_head";

    private TransformerLm() {
    }

    public static String block(int i) {
        return "block" + i;
    }

    /**
     * Optimiser settings baked into the graph configuration: Adam with warm-up + linear decay,
     * decoupled weight decay, per-layer L2 gradient clipping. {@code learningRate} 0 means no updates
     * and {@code gradClip} 0 no clipping (inference, gradient checks). {@code sameDiffKernels} runs the blocks
     * through DL4J's SameDiff execution (the reference; see {@link org.rlsf.model.graph.CorrectedSameDiffLayer#isSameDiffKernels}) instead
     * of the eager kernels.
     */
    public record Optimiser(double learningRate, int warmupSteps, int totalSteps, double minLrFraction,
                            double weightDecay, double gradClip, boolean sameDiffKernels) {
        public Optimiser(double learningRate, int warmupSteps, int totalSteps, double minLrFraction,
                         double weightDecay, double gradClip) {
            this(learningRate, warmupSteps, totalSteps, minLrFraction, weightDecay, gradClip, false);
        }

        public Optimiser withSameDiffKernels(boolean sameDiff) {
            return new Optimiser(learningRate, warmupSteps, totalSteps, minLrFraction, weightDecay, gradClip, sameDiff);
        }

        public static Optimiser inferenceOnly() {
            return new Optimiser(0, 0, 1, 1.0, 0.0, 0);
        }

        IUpdater updater() {
            return learningRate == 0 ? new NoOp()
                    : new HostAdam(new WarmupLinearDecay(learningRate, warmupSteps, totalSteps, minLrFraction));
        }
    }

    public static ComputationGraphConfiguration configuration(ModelConfig m, int seqLen, Optimiser opt,
                                                              DataType dataType) {
        Layer head = LmHead.of(m.dModel(), m.vocabSize(), m.arch().headBias(), !opt.sameDiffKernels());
        return configuration(m, seqLen, opt, dataType, head);
    }

    /** The LM graph with LoRA adapters in every block (tests, and LM fine-tuning with adapters). */
    public static ComputationGraphConfiguration configuration(ModelConfig m, int seqLen, Optimiser opt,
                                                              DataType dataType, LoraConfig lora) {
        Layer head = LmHead.of(m.dModel(), m.vocabSize(), m.arch().headBias(), !opt.sameDiffKernels());
        return configuration(m, seqLen, opt, dataType, head, HEAD, lora);
    }

    /**
     * The same network with the preference head ({@link DpoOutputLayer}): minibatch rows 2i / 2i+1 are
     * pair i's chosen / rejected sequence. Parameters match the LM graph's by layer and name.
     */
    public static ComputationGraphConfiguration preferenceConfiguration(ModelConfig m, int seqLen, Optimiser opt,
                                                                        DataType dataType, double beta,
                                                                        double labelSmoothing, String lossType) {
        return preferenceConfiguration(m, seqLen, opt, dataType, beta, labelSmoothing, lossType, LoraConfig.NONE);
    }

    /**
     * The preference graph with LoRA adapters in every block ({@link TransformerBlock#withLora}); with adapters every
     * parameter but their B matrices is frozen ({@link Frozen} updater, no regularisation).
     */
    public static ComputationGraphConfiguration preferenceConfiguration(ModelConfig m, int seqLen, Optimiser opt,
                                                                        DataType dataType, double beta,
                                                                        double labelSmoothing, String lossType,
                                                                        LoraConfig lora) {
        DpoOutputLayer head = new DpoOutputLayer(m.dModel(), m.vocabSize(), seqLen, beta, labelSmoothing, lossType)
                .withSameDiffKernels(opt.sameDiffKernels());
        return configuration(m, seqLen, opt, dataType, m.arch().headBias() ? head : head.withoutBias(), HEAD, lora);
    }

    /** Whether {@code graph} has LoRA adapters (its blocks' B matrices are then its only trainable parameters). */
    public static boolean hasLora(ComputationGraph graph) {
        return graph.getLayer(block(0)).conf().getLayer() instanceof TransformerBlock b && b.getLoraRank() > 0;
    }

    /** The learning rate after {@code step} steps (every trainable parameter shares the schedule). */
    public static double learningRate(ComputationGraph graph, int step, int epoch) {
        String layer = hasLora(graph) ? block(0) : EMBED;
        String param = hasLora(graph) ? LoraTargets.paramB(0) : "W";
        return graph.getLayer(layer).conf().getLayer().getUpdaterByParam(param).getLearningRate(step, epoch);
    }

    /**
     * The same trunk with the reward model's scalar head ({@link RewardHead}, layer {@link #REWARD_HEAD}): minibatch rows
     * 2i / 2i+1 are pair i's chosen / rejected sequence, laid out in full.
     */
    public static ComputationGraphConfiguration rewardConfiguration(ModelConfig m, int seqLen, Optimiser opt,
                                                                    DataType dataType) {
        return configuration(m, seqLen, opt, dataType, new RewardHead(m.dModel(), seqLen), REWARD_HEAD);
    }

    /**
     * The policy with PPO's clipped-surrogate head ({@link PpoOutputLayer}, layer {@link #HEAD}: the LM head's
     * parameters), LM layout.
     */
    public static ComputationGraphConfiguration ppoConfiguration(ModelConfig m, int seqLen, Optimiser opt,
                                                                 DataType dataType, double clipEpsilon) {
        PpoOutputLayer head = new PpoOutputLayer(m.dModel(), m.vocabSize(), seqLen, clipEpsilon);
        return configuration(m, seqLen, opt, dataType, m.arch().headBias() ? head : head.withoutBias());
    }

    /**
     * The value model: the reward model's trunk and head parameters (layer {@link #REWARD_HEAD}, so a reward model
     * copies in by name) under PPO's clipped value loss ({@link ValueHead}), LM layout.
     */
    public static ComputationGraphConfiguration valueConfiguration(ModelConfig m, int seqLen, Optimiser opt,
                                                                   DataType dataType, double valueClip) {
        return configuration(m, seqLen, opt, dataType, new ValueHead(m.dModel(), seqLen, valueClip), REWARD_HEAD);
    }

    /**
     * The final norm's output ([mb, d, T]) for {@code features}, in inference mode: the graph's forward pass up to that
     * layer, without the head. (DL4J's {@code feedForward(inputs, n, train)} takes a position in {@code getLayers()},
     * not a vertex index: given the norm's vertex index it ran the head too, the whole softmax over the vocabulary.)
     */
    public static INDArray finalNormOutput(ComputationGraph graph, INDArray features) {
        org.deeplearning4j.nn.api.Layer norm = graph.getLayer(FINAL_NORM);
        int position = java.util.Arrays.asList(graph.getLayers()).indexOf(norm);
        return graph.feedForward(new INDArray[]{features}, position, false).get(FINAL_NORM);
    }

    /** The sequence length a graph was built for (every design has the embedding layer; rotary ones no position layer). */
    public static int seqLen(ComputationGraph graph) {
        return (int) ((EmbeddingSequenceLayer) graph.getLayer(EMBED).conf().getLayer()).getInputLength();
    }

    /** Copies every parameter of {@code from} into the same-named parameter of {@code to} (shapes must match). */
    public static void copyParams(ComputationGraph from, ComputationGraph to) {
        copyParams(from, to, true);
    }

    /** Copies the trunk (everything below the output layer) of {@code from} into {@code to}: an LM into a reward model. */
    public static void copyTrunk(ComputationGraph from, ComputationGraph to) {
        copyParams(from, to, false);
    }

    private static void copyParams(ComputationGraph from, ComputationGraph to, boolean withHead) {
        for (org.deeplearning4j.nn.api.Layer layer : from.getLayers()) {
            String name = layer.conf().getLayer().getLayerName();
            if (!withHead && (HEAD.equals(name) || REWARD_HEAD.equals(name))) {
                continue;
            }
            org.deeplearning4j.nn.api.Layer target = to.getLayer(name);
            if (target == null) {
                throw new IllegalArgumentException("no layer '" + name + "' in the target graph");
            }
            boolean merge = layer.conf().getLayer() instanceof TransformerBlock b && b.getLoraRank() > 0
                    && target.getParam(LoraTargets.paramA(0)) == null;
            for (Map.Entry<String, INDArray> e : layer.paramTable().entrySet()) {
                if (merge && e.getKey().startsWith("lora")) {
                    continue;   // merged below
                }
                INDArray dst = target.getParam(e.getKey());
                if (dst == null || dst.length() != e.getValue().length()
                        || dst.size(dst.rank() - 1) != e.getValue().size(e.getValue().rank() - 1)) {
                    throw new IllegalArgumentException("parameter " + name + "/" + e.getKey() + " does not match the target graph");
                }
                dst.assign(e.getValue().reshape(dst.shape()));   // a bias may be [V] on one side, [1, V] on the other
            }
            if (merge) {
                mergeLora((TransformerBlock) layer.conf().getLayer(), layer, target);
            }
        }
    }

    /** Adds each adapter's s·A·B to its module's columns of {@code target}'s weights (a block without adapters). */
    private static void mergeLora(TransformerBlock conf, org.deeplearning4j.nn.api.Layer source,
                                  org.deeplearning4j.nn.api.Layer target) {
        java.util.List<LoraTargets.Target> targets = conf.loraTargets();
        for (int i = 0; i < targets.size(); i++) {
            LoraTargets.Target t = targets.get(i);
            INDArray delta = source.getParam(LoraTargets.paramA(i)).mmul(source.getParam(LoraTargets.paramB(i)))
                    .muli(conf.getLoraScale());
            INDArray w = target.getParam(t.param());
            w.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(t.colOffset(), t.colOffset() + t.out())).addi(delta);
        }
    }

    private static ComputationGraphConfiguration configuration(ModelConfig m, int seqLen, Optimiser opt,
                                                               DataType dataType, Layer head) {
        return configuration(m, seqLen, opt, dataType, head, HEAD);
    }

    private static ComputationGraphConfiguration configuration(ModelConfig m, int seqLen, Optimiser opt,
                                                               DataType dataType, Layer head, String headName) {
        return configuration(m, seqLen, opt, dataType, head, headName, LoraConfig.NONE);
    }

    private static ComputationGraphConfiguration configuration(ModelConfig m, int seqLen, Optimiser opt,
                                                               DataType dataType, Layer head, String headName,
                                                               LoraConfig lora) {
        if (seqLen > m.contextLength()) {
            throw new IllegalArgumentException("sequence length " + seqLen + " exceeds the context length " + m.contextLength());
        }
        NeuralNetConfiguration.Builder base = new NeuralNetConfiguration.Builder()
                .seed(m.seed())
                .dataType(dataType)
                .updater(opt.updater())
                .weightInit(new WeightInitDistribution(new NormalDistribution(0, m.initStd())));
        if (opt.gradClip() > 0) {
            base.gradientNormalization(GradientNormalization.ClipL2PerLayer).gradientNormalizationThreshold(opt.gradClip());
        }
        if (opt.weightDecay() > 0) {
            base.weightDecay(opt.weightDecay(), true);
        }
        ComputationGraphConfiguration.GraphBuilder g = base.graphBuilder()
                .addInputs(INPUT)
                .addLayer(EMBED, new EmbeddingSequenceLayer.Builder()
                        .nIn(m.vocabSize()).nOut(m.dModel()).inputLength(seqLen).hasBias(false).build(), INPUT);
        String prev = EMBED;
        if (m.arch().positions() == Architecture.Positions.LEARNED) {   // rotary positions live in the blocks
            g.addLayer(POS, new PositionEmbedding(m.dModel(), m.contextLength(), seqLen, m.initStd())
                    .withSameDiffKernels(opt.sameDiffKernels()), EMBED);
            prev = POS;
        }
        for (int i = 0; i < m.nLayers(); i++) {
            g.addLayer(block(i), new TransformerBlock(m, seqLen).withLora(lora).withSameDiffKernels(opt.sameDiffKernels()),
                    prev);
            prev = block(i);
        }
        g.addLayer(FINAL_NORM, new FinalLayerNorm(m.dModel(), seqLen, m.layerNormEps())
                        .withRms(m.arch().norm() == Architecture.Norm.RMS).withSameDiffKernels(opt.sameDiffKernels()), prev)
                .addLayer(headName, head, FINAL_NORM)
                .setOutputs(headName);
        ComputationGraphConfiguration conf = g.build();
        if (lora.enabled()) {
            freezeAllButBlocks(conf);
        }
        return conf;
    }

    /** Every layer but the blocks (which freeze their own parameters but the adapters') gets {@link Frozen}. */
    private static void freezeAllButBlocks(ComputationGraphConfiguration conf) {
        for (GraphVertex v : conf.getVertices().values()) {
            if (v instanceof LayerVertex lv && !(lv.getLayerConf().getLayer() instanceof TransformerBlock)) {
                Layer layer = lv.getLayerConf().getLayer();
                if (layer instanceof BaseLayer b) {
                    b.setIUpdater(new Frozen());
                    b.setBiasUpdater(new Frozen());
                    b.setRegularization(new java.util.ArrayList<>());
                    b.setRegularizationBias(new java.util.ArrayList<>());
                } else if (layer instanceof AbstractSameDiffLayer b) {
                    b.setUpdater(new Frozen());
                    b.setBiasUpdater(new Frozen());
                    b.setRegularization(new java.util.ArrayList<>());
                    b.setRegularizationBias(new java.util.ArrayList<>());
                } else {
                    throw new IllegalStateException("cannot freeze layer " + layer.getLayerName() + " ("
                            + layer.getClass().getSimpleName() + ")");
                }
            }
        }
    }

    /** A freshly initialised graph; the same config (incl. seed) gives the same parameters. */
    public static ComputationGraph create(ModelConfig m, int seqLen, Optimiser opt, DataType dataType) {
        return create(configuration(m, seqLen, opt, dataType), m);
    }

    public static ComputationGraph create(ComputationGraphConfiguration conf, ModelConfig m) {
        ComputationGraph graph = new ComputationGraph(conf);
        Nd4j.getRandom().setSeed(m.seed());
        graph.init();
        return graph;
    }

}
