package org.rlsf.ppo;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** method.md §6.3's vectors, and the properties the PPO loop relies on. */
class PpoMathTest {
    @Test
    void gaeVector() {
        PpoMath.Gae g = PpoMath.gae(new double[]{0, 0, 1}, new double[]{0.5, 0.6, 0.7}, 0, 0.98, 0.95);
        assertArrayEquals(new double[]{0.428094, 0.3653, 0.3}, g.advantages(), 1e-6);
        assertArrayEquals(new double[]{0.928094, 0.9653, 1.0}, g.returns(), 1e-6);
    }

    @Test
    void gaeWithLambdaOneAndGammaOneIsTheMonteCarloAdvantage() {
        PpoMath.Gae g = PpoMath.gae(new double[]{0.1, -0.2, 1}, new double[]{0.3, 0.2, 0.4}, 0, 1, 1);
        assertArrayEquals(new double[]{0.9 - 0.3, 0.8 - 0.2, 1 - 0.4}, g.advantages(), 1e-12);
        assertArrayEquals(new double[]{0.9, 0.8, 1}, g.returns(), 1e-12);
        // an unfinished response bootstraps from the value after its last token
        assertEquals(1 + 0.5 - 0.4, PpoMath.gae(new double[]{1}, new double[]{0.4}, 0.5, 1, 1).advantages()[0], 1e-12);
    }

    @Test
    void clippedSurrogateVectors() {
        assertEquals(-2.4, PpoMath.clippedSurrogate(1.5, 2, 0.2), 1e-12);
        assertEquals(0.8, PpoMath.clippedSurrogate(0.5, -1, 0.2), 1e-12);
        assertEquals(-1.1, PpoMath.clippedSurrogate(1.1, 1, 0.2), 1e-12);
        assertTrue(PpoMath.isClipped(1.5, 2, 0.2));
        assertTrue(PpoMath.isClipped(0.5, -1, 0.2));
        assertFalse(PpoMath.isClipped(1.1, 1, 0.2));
        assertFalse(PpoMath.isClipped(0.5, 1, 0.2), "a ratio below 1 - eps with a positive advantage still gets a gradient");
    }

    @Test
    void klRewardVector() {
        assertArrayEquals(new double[]{-0.01, 0.805},
                PpoMath.klRewards(new double[]{-1.0, -0.5}, new double[]{-1.2, -0.4}, 0.8, 0.05), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> PpoMath.klRewards(new double[]{-1}, new double[0], 1, 0.05));
    }

    @Test
    void clippedValueLossVector() {
        assertEquals(0.045, PpoMath.clippedValueLoss(0.9, 0.5, 1.0, 0.2), 1e-12);
        assertEquals(0.5 * 0.01, PpoMath.clippedValueLoss(0.6, 0.5, 0.7, 0.2), 1e-12, "inside the clip range: plain MSE/2");
    }

    @Test
    void whiteningCentresAndScales() {
        double[] a = {1, 2, 3, 4};
        PpoMath.whiten(a);
        assertEquals(0, a[0] + a[1] + a[2] + a[3], 1e-12);
        double var = 0;
        for (double v : a) {
            var += v * v;
        }
        assertEquals(1, var / 3, 1e-6, "unbiased variance 1");
        double[] one = {5};
        PpoMath.whiten(one);
        assertEquals(0, one[0], 0);
    }
}
