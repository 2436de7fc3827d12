package org.rlsf.io;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;
import org.rlsf.TestSpark;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Rows sorted on the driver come out in the order Spark's orderBy gives them. */
class ColumnsTest {
    @Test
    void ascendingIsSparksOrderBy() {
        SparkSession spark = SparkSession.builder().sparkContext(TestSpark.context().sc()).getOrCreate();
        StructType schema = new StructType().add("id", DataTypes.StringType, true).add("branch", DataTypes.IntegerType, true)
                .add("ordinal", DataTypes.LongType, true);
        // ASCII, upper before lower, a prefix, Latin-1, a CJK character, an emoji (UTF-16 surrogates sort below U+E000,
        // their UTF-8 bytes above it), U+FFFD, empty, null
        String[] ids = {"p10", "p2", "P2", "p", "é", "é2", "中", "\uD83D\uDE00", "\uFFFD", "\uE000", "", null};
        Random rnd = new Random(3);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 60; i++) {
            rows.add(RowFactory.create(ids[rnd.nextInt(ids.length)], rnd.nextInt(5) == 0 ? null : rnd.nextInt(7) - 3,
                    rnd.nextInt(9) == 0 ? null : rnd.nextLong() % 5));
        }
        Collections.shuffle(rows, rnd);
        Dataset<Row> df = spark.createDataFrame(rows, schema);
        List<Row> expected = df.orderBy("id", "branch", "ordinal").collectAsList();
        List<Row> sorted = new ArrayList<>(df.collectAsList());
        sorted.sort(Columns.ascending("id", "branch", "ordinal"));
        assertEquals(expected.toString(), sorted.toString());
    }
}
