package org.rlsf.model;

import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.factory.Nd4j;

import java.util.HashMap;
import java.util.Map;

/**
 * Runs custom ops through one reused native op context per op and thread. {@code Nd4j.exec(op)} builds a fresh
 * context for every call and leaves it to ND4J's deallocator thread, which frees it only after a garbage collection:
 * between collections, decoding left tens of thousands of them pending.
 * An op's outputs must be given; every call of one op must pass the same numbers of inputs and arguments.
 */
final class NativeContexts {
    private static final ThreadLocal<Map<String, OpContext>> CONTEXTS = ThreadLocal.withInitial(HashMap::new);

    private NativeContexts() {
    }

    static void exec(DynamicCustomOp op) {
        OpContext ctx = CONTEXTS.get().computeIfAbsent(op.opName(), n -> Nd4j.getExecutioner().buildContext());
        ctx.setInputArrays(op.inputArguments());
        ctx.setOutputArrays(op.outputArguments());
        ctx.setIArguments(op.iArgs());
        ctx.setTArguments(op.tArgs());
        ctx.setBArguments(op.bArgs());
        ctx.setDArguments(op.dArgs());
        Nd4j.getExecutioner().exec(op, ctx);
    }
}
