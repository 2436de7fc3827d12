package org.rlsf.io;

import org.apache.spark.sql.Row;

import java.util.List;

/** Array columns of a row, read by name into Java arrays. */
final class Columns {
    private Columns() {
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
