package org.rlsf.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FloatMathTest {
    @Test
    void expIsWithinAboutOneFloatUlpOverItsRange() {
        double worst = 0;
        float at = 0;
        for (float x = -87f; x <= 88.5f; x += 0.00037f) {
            double exact = Math.exp(x), rel = Math.abs(FloatMath.exp(x) - exact) / exact;
            if (rel > worst) {
                worst = rel;
                at = x;
            }
        }
        assertTrue(worst < 1.5e-7, "relative error " + worst + " at " + at);
        assertEquals(1f, FloatMath.exp(0f));
        assertEquals((float) Math.E, FloatMath.exp(1f), Math.ulp((float) Math.E));
    }

    @Test
    void expOutsideItsRangeStaysFiniteAndOrdered() {
        float tiny = FloatMath.exp(-1000f), huge = FloatMath.exp(1000f);
        assertTrue(tiny >= 0 && tiny < 1e-37f, "below the range: " + tiny);
        assertTrue(Float.isFinite(huge) && huge > 3e38f, "above the range: " + huge);
        assertEquals(FloatMath.exp(-87f), tiny);
        assertTrue(FloatMath.exp(Float.NEGATIVE_INFINITY) >= 0);
    }
}
