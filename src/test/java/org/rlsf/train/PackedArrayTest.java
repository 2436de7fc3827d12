package org.rlsf.train;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.spark.api.worker.NetBroadcastTuple;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parameter averaging's arrays through Java serialisation, packed: same type, shape and values, bit for bit. */
class PackedArrayTest {

    @SuppressWarnings("unchecked")
    private static <T> T roundTrip(Object o) throws IOException, ClassNotFoundException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(o);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (T) in.readObject();
        }
    }

    private static void assertSameArray(INDArray expected, INDArray actual) {
        assertEquals(expected.dataType(), actual.dataType());
        assertArrayEquals(expected.shape(), actual.shape());
        if (expected.dataType() == DataType.DOUBLE) {
            assertArrayEquals(expected.dup('c').data().asDouble(), actual.dup('c').data().asDouble(), 0.0);
        } else {
            assertArrayEquals(expected.dup('c').data().asFloat(), actual.dup('c').data().asFloat(), 0f);
        }
    }

    @Test
    void floatsDoublesViewsAndOtherTypesComeBackExactly() throws Exception {
        INDArray floats = Nd4j.rand(DataType.FLOAT, 3, 5).subi(0.5).muli(1e-3);
        floats.putScalar(0, 0, Float.MIN_VALUE);
        floats.putScalar(1, 1, -0.0f);
        INDArray doubles = Nd4j.rand(DataType.DOUBLE, 1, 7);
        INDArray fOrder = Nd4j.rand(DataType.FLOAT, new long[]{4, 3}).dup('f');
        INDArray view = Nd4j.rand(DataType.FLOAT, 6, 4).get(NDArrayIndex.interval(1, 4), NDArrayIndex.interval(1, 3));
        INDArray ints = Nd4j.createFromArray(3, -1, 7).reshape(1, 3);
        for (INDArray a : new INDArray[]{floats, doubles, fOrder, view, ints}) {
            PackedArray back = roundTrip(new PackedArray(a));
            assertNotSame(a, back.get());
            assertSameArray(a, back.get());
        }
        assertNull(((PackedArray) roundTrip(new PackedArray(null))).get());
    }

    @Test
    void aFloatTravelsInFourBytes() throws Exception {
        INDArray a = Nd4j.rand(DataType.FLOAT, 1, 100_000);
        ByteArrayOutputStream packed = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(packed)) {
            out.writeObject(new PackedArray(a));
        }
        assertTrue(packed.size() < 404_000 + 1_000, "bytes " + packed.size() + " (4 a float, 5 per 1 KB of block headers)");
    }

    @Test
    void valuesWrittenInTheOtherByteOrderAreSwapped() throws Exception {
        float[] values = {1.5f, -2.25f, 3e-7f, 65504f, 0.1f, -0.0f};
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {   // as a big-endian machine writes them
            out.writeByte(PackedArray.RAW_FLOATS);
            out.writeObject(new long[]{2, 3});
            out.writeBoolean(true);
            java.nio.ByteBuffer big = java.nio.ByteBuffer.allocate(4 * values.length).order(java.nio.ByteOrder.BIG_ENDIAN);
            big.asFloatBuffer().put(values);
            out.write(big.array());
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            INDArray a = PackedArray.read(in);
            assertArrayEquals(new long[]{2, 3}, a.shape());
            assertArrayEquals(values, a.data().asFloat(), 0f);
        }
    }

    @Test
    void aRoundsBroadcastArrivesAsTheLibrarysTupleWithTheSameValues() throws Exception {
        ComputationGraphConfiguration conf = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).graphBuilder()
                .addInputs("in").addLayer("d", new DenseLayer.Builder().nIn(2).nOut(3).build(), "in")
                .setOutputs("d").build();
        INDArray params = Nd4j.rand(DataType.FLOAT, 1, 9);
        INDArray state = Nd4j.rand(DataType.FLOAT, 1, 18);
        NetBroadcastTuple back = roundTrip(new OrderedAveraging.PackedTuple(conf, params, state));
        assertSame(NetBroadcastTuple.class, back.getClass());
        assertEquals(conf.toJson(), back.getGraphConfiguration().toJson());
        assertSameArray(params, back.getParameters());
        assertSameArray(state, back.getUpdaterState());
        assertEquals(0, back.getCounter().get());
        NetBroadcastTuple noState = roundTrip(new OrderedAveraging.PackedTuple(conf, params, null));
        assertNull(noState.getUpdaterState());
    }

    @Test
    void aWorkersPartKeepsItsScoreAndArrays() throws Exception {
        INDArray params = Nd4j.rand(DataType.FLOAT, 1, 11);
        OrderedAveraging.Part back = roundTrip(new OrderedAveraging.Part(params, null, 0.25));
        assertSameArray(params, back.parameters());
        assertNull(back.updaterState());
        assertEquals(0.25, back.score(), 0.0);
    }
}
