package org.rlsf.config;

import java.util.regex.Pattern;

/**
 * The one rule for run ids, wherever one enters (the CLI's {@code --run-id}, run directories, table partitions, the
 * Airflow DAGs' {@code rlsf_pipeline.run_id}): letters, digits, {@code -}, {@code _} and {@code .}, not starting with
 * {@code .}, at most 128 characters. An id is a directory name ({@code runs/ID}) and a partition value
 * ({@code run_id=ID}) as written, so nothing may need escaping: {@code ../x} would leave {@code runs/}, {@code a#b} is
 * escaped by Spark but not by our manifests, and a quote would break out of the Kubernetes DAG's JSON.
 */
public final class RunIds {
    public static final String RULE = "letters, digits, '-', '_' and '.', not starting with '.', at most 128 characters";
    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}");

    private RunIds() {
    }

    /**
     * @return {@code id}
     * @throws IllegalArgumentException naming the id and the rule
     */
    public static String check(String id) {
        if (id == null || !VALID.matcher(id).matches()) {
            throw new IllegalArgumentException("invalid run id " + (id == null ? "(none)" : "'" + id + "'") + ": use " + RULE);
        }
        return id;
    }
}
