package org.rlsf.io;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import org.apache.spark.serializer.KryoRegistrator;

/**
 * Kryo registrator for rlsf's own RDD elements (shard work, problems, batches, metric accumulators): most are
 * Java records, whose final fields Kryo 4's FieldSerializer cannot set on Java 17 ("Unable to create
 * serializer FieldSerializer"), so every record goes through Java serialization (they are all Serializable).
 * Use it next to ND4J's: {@code spark.kryo.registrator=org.nd4j.kryo.Nd4jRegistrator,org.rlsf.io.KryoRecords}
 * (deploy/common/spark-defaults.conf). Found by ClusterIT, which submits with those settings.
 */
public final class KryoRecords implements KryoRegistrator {
    @Override
    public void registerClasses(Kryo kryo) {
        kryo.addDefaultSerializer(Record.class, new JavaSerializer());
    }
}
