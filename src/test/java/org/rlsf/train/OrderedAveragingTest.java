package org.rlsf.train;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.multilayer.SparkDl4jMultiLayer;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingResult;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.TestSpark;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Parameter averaging over three workers whose float sum depends on its order: 1e8, 1 and −1e8 (float32) sum to 0 in
 * partition order ((1e8 + 1) − 1e8: the 1 is below 1e8's spacing) but to 1 when the third worker finishes before the
 * second. dl4j-spark's master sums in completion order; ours in partition order, whatever the timing.
 */
class OrderedAveragingTest {
    private static final float[] VALUES = {1e8f, 1f, -1e8f};

    /** The library's master with its processResults reachable from here. */
    private static final class Plain extends ParameterAveragingTrainingMaster {
        Plain(Builder b) {
            super(b);
        }

        void average(SparkComputationGraph g, JavaRDD<ParameterAveragingTrainingResult> r) {
            processResults(null, g, r, 1, 1);
        }
    }

    private static ComputationGraph graph() {
        ComputationGraph g = new ComputationGraph(new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).graphBuilder()
                .addInputs("in").addLayer("d", new DenseLayer.Builder().nIn(1).nOut(1).hasBias(true).build(), "in")
                .setOutputs("d").build());
        g.init();
        return g;
    }

    /** Three workers' results, partition p finishing after {@code delays[p]} ms. */
    private static JavaRDD<ParameterAveragingTrainingResult> results(JavaSparkContext jsc, long[] delays) {
        return jsc.parallelize(List.of(0, 1, 2), 3).map(p -> {
            Thread.sleep(delays[p]);
            return new ParameterAveragingTrainingResult(Nd4j.valueArrayOf(new long[]{1, 2}, VALUES[p], DataType.FLOAT), null,
                    p, new java.util.ArrayList<>(), new java.util.ArrayList<>(), new java.util.ArrayList<>());
        });
    }

    @Test
    void theAverageIsThePartitionOrderSumWhateverOrderTheWorkersFinishIn() {
        JavaSparkContext jsc = TestSpark.context();
        long[][] patterns = {{0, 0, 0}, {0, 600, 200}, {600, 200, 0}};   // finishing 0,1,2 / 0,2,1 / 2,1,0 on 2 task slots
        for (long[] delays : patterns) {
            OrderedAveraging tm = new OrderedAveraging(new ParameterAveragingTrainingMaster.Builder(3, 1));
            SparkComputationGraph g = new SparkComputationGraph(jsc, graph(), tm);
            tm.processResults((SparkDl4jMultiLayer) null, g, results(jsc, delays), 1, 1);
            assertEquals(0f, g.getNetwork().params().getFloat(0), 0f, "delays " + java.util.Arrays.toString(delays));
            assertEquals(0f, g.getNetwork().params().getFloat(1), 0f);
            assertEquals(1.0, g.getScore(), 1e-12, "mean score (0 + 1 + 2) / 3");
        }
        // the control: the library's own master, when worker 2 finishes before worker 1, sums (1e8 − 1e8) + 1
        Plain plain = new Plain(new ParameterAveragingTrainingMaster.Builder(3, 1));
        SparkComputationGraph g = new SparkComputationGraph(jsc, graph(), plain);
        plain.average(g, results(jsc, new long[]{0, 600, 200}));
        assertEquals(1f / 3, g.getNetwork().params().getFloat(0), 1e-7f, "completion order 0, 2, 1");
    }
}
