package org.rlsf.generate;

import org.rlsf.tasks.Problem;

import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.zip.CRC32;

/**
 * How prompts are cut into work shards (the unit Spark schedules and the generate stage resumes by): a prompt's shard
 * is a function of its id alone, so a rerun puts every prompt in the same shard.
 */
public final class Shards {
    private Shards() {
    }

    /** One shard of prompts, as shipped to an executor. */
    public record Shard(int shard, List<Problem> problems) implements Serializable {
    }

    /** Stable shard of a prompt id in [0, shards): CRC32 of its UTF-8 bytes, independent of JVM and locale. */
    public static int of(String problemId, int shards) {
        if (shards < 1) {
            throw new IllegalArgumentException("shards must be >= 1, was " + shards);
        }
        CRC32 crc = new CRC32();
        crc.update(problemId.getBytes(StandardCharsets.UTF_8));
        return (int) (crc.getValue() % shards);
    }

    /** The non-empty shards of {@code problems}, in shard order; each keeps its prompts in input order. */
    public static List<Shard> split(List<Problem> problems, int shards) {
        TreeMap<Integer, List<Problem>> byShard = new TreeMap<>();
        for (Problem p : problems) {
            byShard.computeIfAbsent(of(p.problemId(), shards), k -> new ArrayList<>()).add(p);
        }
        List<Shard> out = new ArrayList<>(byShard.size());
        byShard.forEach((s, ps) -> out.add(new Shard(s, List.copyOf(ps))));
        return out;
    }
}
