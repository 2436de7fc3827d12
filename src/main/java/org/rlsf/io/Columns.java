package org.rlsf.io;

import org.apache.spark.sql.Row;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
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

    /**
     * The order of Spark's {@code orderBy(columns)} (ascending, nulls first) on collected rows of string and integral
     * columns: strings by their UTF-8 bytes, unsigned, as Spark compares them. Sorting a small table's rows here
     * instead of in Spark saves a shuffle stage and its planning (1.6 s of a main job's CPU for the 600-prompt corpus).
     */
    static Comparator<Row> ascending(String... columns) {
        Comparator<Row> order = (a, b) -> 0;
        for (String c : columns) {
            order = order.thenComparing((a, b) -> compare(a.get(a.fieldIndex(c)), b.get(b.fieldIndex(c))));
        }
        return order;
    }

    private static int compare(Object x, Object y) {
        if (x == null || y == null) {
            return x == null ? (y == null ? 0 : -1) : 1;
        }
        if (x instanceof String s && y instanceof String t) {
            return Arrays.compareUnsigned(s.getBytes(StandardCharsets.UTF_8), t.getBytes(StandardCharsets.UTF_8));
        }
        if ((x instanceof Integer || x instanceof Long) && (y instanceof Integer || y instanceof Long)) {
            return Long.compare(((Number) x).longValue(), ((Number) y).longValue());
        }
        throw new IllegalArgumentException("no Spark order for " + x.getClass().getSimpleName() + " and "
                + y.getClass().getSimpleName());
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
