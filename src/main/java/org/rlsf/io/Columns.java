package org.rlsf.io;

import org.apache.spark.sql.Row;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Array columns both ways: read from a row by name into Java arrays, and written as the Scala sequences Spark's row
 * encoder takes from an RDD of rows.
 */
final class Columns {
    private Columns() {
    }

    static scala.collection.Seq<Integer> seq(int[] a) {
        return seq(Arrays.stream(a).boxed().toList());
    }

    static scala.collection.Seq<Float> seq(float[] a) {
        List<Float> boxed = new ArrayList<>(a.length);
        for (float x : a) {
            boxed.add(x);
        }
        return seq(boxed);
    }

    static <T> scala.collection.Seq<T> seq(List<T> list) {
        return scala.collection.JavaConverters.asScalaBuffer(new ArrayList<>(list)).toSeq();
    }

    static int[] ints(Row r, String column) {
        List<Integer> xs = r.getList(r.fieldIndex(column));
        int[] a = new int[xs.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = xs.get(i);
        }
        return a;
    }

    static float[] floats(Row r, String column) {
        List<Float> xs = r.getList(r.fieldIndex(column));
        float[] a = new float[xs.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = xs.get(i);
        }
        return a;
    }
}
