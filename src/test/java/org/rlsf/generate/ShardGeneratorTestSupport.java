package org.rlsf.generate;

import org.rlsf.model.Checkpoint;

/** Gives other test packages the task-vocabulary test model. */
public final class ShardGeneratorTestSupport {
    private ShardGeneratorTestSupport() {
    }

    public static Checkpoint taskModel(int context) {
        return ShardGeneratorTest.taskModel(context);
    }
}
