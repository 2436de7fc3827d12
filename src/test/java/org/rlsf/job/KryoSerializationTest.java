package org.rlsf.job;

import org.apache.spark.SparkConf;
import org.apache.spark.serializer.KryoSerializer;
import org.apache.spark.serializer.SerializerInstance;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.dataset.DataSet;
import org.rlsf.corpus.TaskCorpus;
import org.rlsf.evaluate.EvalMetrics;
import org.rlsf.evaluate.ProblemResult;
import org.rlsf.generate.Shards;
import org.rlsf.pairs.PreferenceExample;
import org.rlsf.tasks.Problem;
import org.rlsf.tasks.TaskFamily;
import org.rlsf.train.PreferenceBatch;
import org.rlsf.train.TokenBatch;
import scala.reflect.ClassTag$;

import java.io.FileReader;
import java.util.List;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The RDD elements of every stage survive Spark's Kryo serializer configured as deploy/common/spark-defaults.conf
 * configures it (the tests' local[2] uses Java serialization, which hides Kryo failures; ClusterIT found one:
 * Kryo 4 cannot build a FieldSerializer for Java records).
 */
class KryoSerializationTest {

    private static SerializerInstance kryo() throws Exception {
        Properties p = new Properties();
        try (FileReader in = new FileReader("deploy/common/spark-defaults.conf")) {
            p.load(in);
        }
        SparkConf conf = new SparkConf(false);
        for (String k : new String[]{"spark.serializer", "spark.kryo.registrator", "spark.kryoserializer.buffer.max"}) {
            conf.set(k, p.getProperty(k));
        }
        return new KryoSerializer(conf).newInstance();
    }

    @SuppressWarnings("unchecked")
    private static <T> T roundTrip(SerializerInstance s, T value) {
        var tag = ClassTag$.MODULE$.<T>apply(value.getClass());
        return (T) s.deserialize(s.serialize(value, tag), tag);
    }

    @Test
    void everyRddElementRoundTripsThroughKryo() throws Exception {
        SerializerInstance s = kryo();
        List<Problem> problems = TaskCorpus.generate(TaskFamily.of("mcq"), 3, 1, TaskCorpus.TRAIN);
        Shards.Shard work = new Shards.Shard(2, problems);
        assertEquals(work, roundTrip(s, work));

        TokenBatch tokens = new TokenBatch(new int[][]{{1, 5, 6, 7}, {1, 8, 9, 2}}, 3, 0);
        TokenBatch back = roundTrip(s, tokens);
        assertArrayEquals(tokens.sequences()[1], back.sequences()[1]);

        PreferenceBatch pairs = new PreferenceBatch(List.of(new PreferenceExample("p", "q", new int[]{5, 6},
                new int[]{7, 2}, new int[]{8, 2}, -1.5, -2.5)), 8, 1, 0);
        assertEquals(pairs.pairs().get(0).refChosen(), roundTrip(s, pairs).pairs().get(0).refChosen());

        DataSet ds = tokens.toDataSet();   // INDArrays: ND4J's registrator
        assertEquals(ds.getFeatures(), roundTrip(s, ds).getFeatures());

        // a filled accumulator (an empty one would round-trip even if Kryo dropped every field)
        EvalMetrics metrics = new EvalMetrics()
                .add(new ProblemResult("a", "arith", "7", "7", true, 0.9, true, 12, 0, new String[]{"7", "6"},
                        new double[]{0.9, 0.2}, new boolean[]{true, false}, new boolean[]{true, true}, null))
                .add(new ProblemResult("b", "arith", "3", "5", false, 0.4, false, 5, 1, new String[]{"4", "5"},
                        new double[]{0.1, 0.4}, new boolean[]{false, false}, new boolean[]{false, false}, null));
        EvalMetrics metricsBack = roundTrip(s, metrics);
        assertEquals(2, metricsBack.problems());
        assertEquals(0.5, metricsBack.accuracy(), 1e-12);
        assertEquals(metrics.summary().toString(), metricsBack.summary().toString());
    }
}
