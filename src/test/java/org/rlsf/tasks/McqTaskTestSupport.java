package org.rlsf.tasks;

/** Independent evaluation of "a+b" / "a-b" option texts for tests. */
final class McqTaskTestSupport {
    private McqTaskTestSupport() {
    }

    static int eval(String expr) {
        String[] plus = expr.split("\\+");
        if (plus.length == 2) {
            return Integer.parseInt(plus[0]) + Integer.parseInt(plus[1]);
        }
        String[] minus = expr.split("-");
        return Integer.parseInt(minus[0]) - Integer.parseInt(minus[1]);
    }
}
