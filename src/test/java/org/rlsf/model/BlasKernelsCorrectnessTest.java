package org.rlsf.model;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.rlsf.config.BlasKernels;
import org.rlsf.model.graph.Matmul;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The products rlsf computes stay correct under every OpenBLAS kernel set this CPU can run: a JVM per set
 * ({@code OPENBLAS_CORETYPE}, fixed at load) computes products of the shapes and transposes the kernels use, and each
 * must match a float64 reference computed here to float32 rounding.
 */
class BlasKernelsCorrectnessTest {
    /** [m, k, n] of the probed products: a one-row product (gemv), small and model-sized ones. */
    private static final int[][] SHAPES = {{1, 128, 384}, {7, 33, 65}, {256, 128, 512}, {128, 512, 128}};

    /** Child JVM: prints each product's output for the shapes above, one line per product. */
    public static void main(String[] args) {
        for (int[] s : SHAPES) {
            INDArray a = Nd4j.createFromArray(values(s[0] * s[1], 1)).reshape(s[0], s[1]);
            INDArray b = Nd4j.createFromArray(values(s[1] * s[2], 2)).reshape(s[1], s[2]);
            print(Matmul.times(a, b));
            print(Matmul.timesTransposed(a, b.transpose().dup('c')));
        }
    }

    private static void print(INDArray c) {
        float[] v = c.data().asFloat();
        StringBuilder sb = new StringBuilder();
        for (float f : v) {
            sb.append(f).append(' ');
        }
        System.out.println("product " + sb.toString().trim());
    }

    static float[] values(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }

    @Test
    void everyKernelSetThisCpuRunsComputesTheSameProducts() throws Exception {
        BlasKernels.Cpu cpu = BlasKernels.cpu();
        List<String> sets = new ArrayList<>(List.of("Prescott"));
        BlasKernels.best(cpu).ifPresent(best -> {
            sets.add("Haswell");
            if (!best.equals("Haswell")) {
                sets.add(best);
            }
        });
        Assumptions.assumeTrue(Nd4j.getBackend().getClass().getSimpleName().contains("Cpu"), "the CPU backend");
        List<double[]> reference = new ArrayList<>();
        for (int[] s : SHAPES) {
            double[] ref = reference(values(s[0] * s[1], 1), values(s[1] * s[2], 2), s[0], s[1], s[2]);
            reference.add(ref);
            reference.add(ref);
        }
        for (String set : sets) {
            List<String> out = run(set);
            assertEquals(reference.size(), out.size(), set + ": one line per product");
            for (int p = 0; p < out.size(); p++) {
                String[] parts = out.get(p).split(" ");
                double[] ref = reference.get(p);
                assertEquals(ref.length, parts.length, set + " product " + p);
                double maxErr = 0, scale = 0;
                for (int i = 0; i < ref.length; i++) {
                    maxErr = Math.max(maxErr, Math.abs(Double.parseDouble(parts[i]) - ref[i]));
                    scale = Math.max(scale, Math.abs(ref[i]));
                }
                assertTrue(maxErr <= 1e-5 * Math.max(1, scale) * Math.sqrt(SHAPES[p / 2][1]),
                        set + " product " + p + ": max error " + maxErr + " at scale " + scale);
            }
        }
    }

    private static double[] reference(float[] a, float[] b, int m, int k, int n) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int x = 0; x < k; x++) {
                    s += (double) a[i * k + x] * b[x * n + j];
                }
                c[i * n + j] = s;
            }
        }
        return c;
    }

    private static List<String> run(String coretype) throws Exception {
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        ProcessBuilder pb = new ProcessBuilder(java, "-Dorg.bytedeco.javacpp.maxphysicalbytes=0", "-cp",
                System.getProperty("java.class.path"), BlasKernelsCorrectnessTest.class.getName());
        pb.environment().put(BlasKernels.VARIABLE, coretype);
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().put("OPENBLAS_NUM_THREADS", "1");
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String all = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), coretype + ": the child finished");
        assertEquals(0, p.exitValue(), coretype + ": " + all);
        List<String> lines = new ArrayList<>();
        for (String line : all.split("\n")) {
            if (line.startsWith("product ")) {
                lines.add(line.substring("product ".length()));
            }
        }
        return lines;
    }
}
