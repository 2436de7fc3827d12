package org.rlsf.job;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.hadoop.fs.Path;
import org.rlsf.config.RlsfConfig;
import org.rlsf.corpus.ProblemImport;
import org.rlsf.corpus.TaskCorpus;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.FileStore;
import org.rlsf.io.SparkSessions;
import org.rlsf.tasks.Problem;
import org.rlsf.tasks.TaskFamily;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "corpus", mixinStandardHelpOptions = true,
        description = "Write a prompt corpus as Parquet: generate a built-in task (arith, mcq) or import GSM8K, multiple-choice or prompt JSONL.")
final class CorpusCommand implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(CorpusCommand.class);

    @Spec
    CommandSpec spec;

    @Mixin
    ConfigOptions options;

    @Option(names = "--task", required = true, paramLabel = "TASK",
            description = "arith | mcq (generated; comma-separate several, --n each, as `rlsf run` does) "
                    + "or gsm8k | mc-jsonl | prompts (imported from --input).")
    String task;

    @Option(names = "--n", paramLabel = "N", description = "Number of problems to generate.")
    Integer n;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Generator seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--split", paramLabel = "SPLIT", defaultValue = "train",
            description = "train | heldout, disjoint by content hash (default ${DEFAULT-VALUE}).")
    String split;

    @Option(names = "--input", paramLabel = "FILE", description = "JSONL input for gsm8k, mc-jsonl, prompts.")
    String input;

    @Option(names = "--skip-bad-rows", description = "Write malformed rows with their reasons to <out>/_bad_rows.jsonl instead of failing.")
    boolean skipBadRows;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output Parquet directory: absent, empty, or a corpus table (replaced).")
    String out;

    @Option(names = "--overwrite", description = "Replace --out whatever it holds (its _logs/ excepted).")
    boolean overwrite;

    @Override
    public Integer call() throws IOException {
        RlsfConfig config = options.load();
        FileStore store = FileStore.local();
        Path outDir = FileStore.path(out);
        Stamps stamp = Stamps.of(store, spec, config.hash(), outDir, null, input == null ? null : FileStore.path(input));
        if (stamp.done()) {
            return 0;
        }
        if (!overwrite) {
            CorpusTable.requireReplaceable(store, outDir);   // before anything, the log included, is written there
        }
        Console.logTo(Outputs.logFileFor(store, outDir, "corpus"));
        Map<String, Object> provenance = new LinkedHashMap<>();
        provenance.put("task", task);
        List<Problem> problems;
        String splitName;
        String source;
        List<ProblemImport.BadRow> bad = List.of();
        List<String> generated = List.of(task.split(","));
        if (TaskFamily.names().containsAll(generated)) {
            if (n == null) {
                throw new IllegalArgumentException("--n is required to generate a built-in task");
            }
            problems = TaskCorpus.generate(generated, n, seed, split);
            splitName = split;
            source = "generated:" + String.join("+", generated);
            provenance.put("seed", seed);
            provenance.put("n", n);
        } else {
            if (generated.size() > 1) {
                throw new IllegalArgumentException("--task " + task + ": only built-in tasks " + TaskFamily.names()
                        + " can be combined");
            }
            if (input == null) {
                throw new IllegalArgumentException("--input FILE is required for --task " + task);
            }
            try (BufferedReader in = store.openText(FileStore.path(input))) {
                ProblemImport.Result r = ProblemImport.read(task, in, input, skipBadRows);
                problems = r.problems();
                bad = r.badRows();
            }
            splitName = "import";
            source = store.qualify(FileStore.path(input));
        }
        store.mkdirs(outDir);
        CorpusTable.write(SparkSessions.getOrCreate(config.spark()), store, outDir, problems,
                splitName, source, provenance, overwrite);
        store.writeText(new Path(outDir, "_config.conf"), config.render());
        if (!bad.isEmpty()) {
            writeBadRows(store, new Path(outDir, "_bad_rows.jsonl"), bad);
            LOG.warn("{} malformed rows skipped; reasons in {}", bad.size(), new Path(outDir, "_bad_rows.jsonl"));
        }
        LOG.info("wrote {} rows to {}", problems.size(), outDir);
        stamp.mark();
        return 0;
    }

    private static void writeBadRows(FileStore store, Path path, List<ProblemImport.BadRow> bad) throws IOException {
        ObjectMapper json = new ObjectMapper();
        StringBuilder sb = new StringBuilder();
        for (ProblemImport.BadRow b : bad) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("line", b.line());
            row.put("field", b.field());
            row.put("reason", b.reason());
            row.put("raw", b.raw());
            sb.append(json.writeValueAsString(row)).append('\n');
        }
        try {
            store.writeText(path, sb.toString());
        } catch (UncheckedIOException e) {
            throw new IOException(e);
        }
    }
}
