package org.rlsf.tasks;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class GraderTest {
    @Test
    void gradesEachTaskWithOurRules() {
        assertEquals(new Grader.Grade("72", true), Grader.grade("gsm8k", "24+48\n#### 72", "… so 72.0 in total", List.of()));
        assertEquals(new Grader.Grade("70", false), Grader.grade("gsm8k", "#### 72", "The answer is 70.", List.of()));
        assertEquals(new Grader.Grade(null, false), Grader.grade("arith", "5", "no idea", List.of()));
        assertEquals(new Grader.Grade("C", true), Grader.grade("mcq", "C", " So the correct option is C.", List.of("A", "B", "C")));
        assertThrows(IllegalArgumentException.class, () -> Grader.grade("mcq", "7", "x", List.of()));
        assertThrows(IllegalArgumentException.class, () -> Grader.grade("gsm8k", "#### seven", "7", List.of()));
    }
}
