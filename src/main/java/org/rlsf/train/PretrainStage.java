package org.rlsf.train;

import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.rlsf.config.CodeVersion;
import org.rlsf.config.ModelConfig;
import org.rlsf.config.PretrainConfig;
import org.rlsf.config.RlsfConfig;
import org.rlsf.corpus.Document;
import org.rlsf.corpus.TextCorpus;
import org.rlsf.io.CorpusTable;
import org.rlsf.io.FileStore;
import org.rlsf.io.Json;
import org.rlsf.io.Lineage;
import org.rlsf.io.TextSources;
import org.rlsf.model.Checkpoint;
import org.rlsf.model.TransformerLm;
import org.rlsf.model.WordTokenizer;
import org.rlsf.report.Durations;
import org.rlsf.tasks.PretrainingTexts;
import org.rlsf.tasks.Problem;
import org.rlsf.tasks.Prompts;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * The pretraining stage: corpus → tokenizer → sequences → Spark parameter-averaging training →
 * checkpoint. Output directory layout:
 * <pre>
 *   OUT/config.conf      resolved configuration
 *   OUT/metrics.jsonl    one line per averaging round
 *   OUT/checkpoint/      the latest checkpoint (replaced atomically after every epoch)
 * </pre>
 */
public final class PretrainStage {
    private static final Logger LOG = LoggerFactory.getLogger(PretrainStage.class);

    private PretrainStage() {
    }

    /** What the stage produced. */
    public record Result(Path checkpoint, String weightsSha256, int trainDocuments, int heldoutDocuments,
                         int vocabSize, long parameters, double finalHeldoutLoss, double uniformLoss,
                         double seconds) {
    }

    /**
     * @param spark supplies the Spark context once the corpus has been read and validated, so bad
     *              input fails fast, before Spark starts
     */
    public static Result run(Supplier<SparkSession> spark, FileStore store, RlsfConfig config, List<String> corpusSpecs,
                             Path out) {
        String corpusSpec = String.join(",", corpusSpecs);
        long t0 = System.nanoTime();
        PretrainConfig cfg = config.pretrain();
        store.mkdirs(out);
        store.writeText(new Path(out, "config.conf"), config.render());

        // 1) read the corpora (text/JSONL documents, or Parquet task corpora rendered with the CoT/direct mix)
        List<Document> docs = new ArrayList<>();
        for (String spec : corpusSpecs) {
            docs.addAll(documents(spark, store, spec, config));
        }
        List<String> vocabularyTexts = new ArrayList<>(docs.stream().map(Document::text).toList());
        vocabularyTexts.addAll(Prompts.vocabularyExtras());   // elicitation suffixes must always encode
        WordTokenizer tokenizer = WordTokenizer.train(vocabularyTexts, config.tokenizer().maxVocab());
        ModelConfig model = config.model(tokenizer.vocabSize());
        if (cfg.seqLen() > model.contextLength()) {
            throw new IllegalArgumentException("pretrain.seq-len " + cfg.seqLen() + " exceeds model.context-length "
                    + model.contextLength());
        }
        List<int[]> sequences = LmExamples.encode(docs, tokenizer, cfg.seqLen());

        // 2) seeded held-out split
        List<int[]> shuffled = new ArrayList<>(sequences);
        Collections.shuffle(shuffled, new Random(cfg.seed()));
        int nHeld = (int) Math.min(cfg.heldoutMaxExamples(), Math.floor(shuffled.size() * cfg.heldoutFraction()));
        List<int[]> heldout = shuffled.subList(0, nHeld);
        List<int[]> train = shuffled.subList(nHeld, shuffled.size());
        if (train.isEmpty()) {
            throw new IllegalArgumentException("corpus " + corpusSpec + " leaves no training documents after holding out " + nHeld);
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.get().sparkContext());
        int workers = cfg.workers() > 0 ? cfg.workers() : jsc.defaultParallelism();
        int totalSteps = SparkPretrainer.totalSteps(train.size(), cfg, workers);
        LOG.info("corpus {}: {} documents ({} train, {} held out), vocabulary {}, model {} parameters, "
                        + "{} workers, {} steps per worker",
                corpusSpec, docs.size(), train.size(), heldout.size(), tokenizer.vocabSize(),
                model.parameterCount(), workers, totalSteps);

        // 3) train with parameter averaging; checkpoint after every epoch
        TransformerLm.Optimiser opt = new TransformerLm.Optimiser(cfg.learningRate(), cfg.warmupSteps(), totalSteps,
                cfg.minLrFraction(), cfg.weightDecay(), cfg.gradClip()).withSameDiffKernels(config.compute().sameDiffKernels());
        ComputationGraph graph = TransformerLm.create(model, cfg.seqLen(), opt, DataType.FLOAT);
        Path metrics = new Path(out, "metrics.jsonl");
        if (store.exists(metrics)) {
            store.delete(metrics);
        }
        Path ckpt = new Path(out, "checkpoint");
        String[] hash = new String[1];
        double[] lastLoss = {Double.NaN};
        Map<String, Object> lineage = Lineage.asMap(Lineage.Pretrain.of(corpusSpecs.stream()
                        .map(c -> c.startsWith(TextSources.BUILTIN) ? c : store.qualify(new Path(c))).toList(),
                cfg.cotFraction(), cfg.cotOpenerLossFraction(), docs.size(), cfg.seed(), model.seed(), cfg.seqLen(), workers,
                config.hash(), CodeVersion.get()));
        SparkPretrainer.train(jsc, graph, train, heldout, cfg, tokenizer.padId(), workers,
                m -> {
                    LOG.info(String.format("epoch %d/%d  round %d/%d  step %d/%d  heldout_loss %s  lr %.2e  tokens/s %,.0f  eta %s",
                            m.epoch(), cfg.epochs(), m.round(), m.totalRounds(), m.step(), m.totalSteps(),
                            Double.isNaN(m.heldoutLoss()) ? "-" : String.format("%.4f", m.heldoutLoss()),
                            m.learningRate(), m.tokensPerSecond(), Durations.format(m.etaSeconds())));
                    if (!Double.isNaN(m.heldoutLoss())) {
                        lastLoss[0] = m.heldoutLoss();
                    }
                    store.appendLine(metrics, toJson(m));
                },
                (g, epoch, m) -> {
                    lineage.put("epochs_completed", epoch);
                    lineage.put("steps", g.getConfiguration().getIterationCount());
                    lineage.put("heldout_loss", m == null ? null : m.heldoutLoss());
                    lineage.put("created_at", Instant.now().toString());
                    hash[0] = Checkpoint.save(store, ckpt, g, tokenizer, model, lineage);
                    LOG.info("checkpoint after epoch {} written to {} (weights sha256 {})", epoch, ckpt, hash[0].substring(0, 12));
                });
        return new Result(ckpt, hash[0], train.size(), heldout.size(), tokenizer.vocabSize(), model.parameterCount(),
                lastLoss[0], Math.log(tokenizer.vocabSize()), (System.nanoTime() - t0) / 1e9);
    }

    /** Documents of one corpus: a Parquet corpus table (rendered), or a text/JSONL file. */
    static List<Document> documents(Supplier<SparkSession> spark, FileStore store, String spec, RlsfConfig config) {
        if (!spec.startsWith(TextSources.BUILTIN) && CorpusTable.isCorpusTable(store, new Path(spec))) {
            PretrainConfig cfg = config.pretrain();
            List<Problem> problems = CorpusTable.read(spark.get(), store, new Path(spec));
            List<PretrainingTexts.Rendered> texts = PretrainingTexts.renderDocuments(problems, cfg.cotFraction(),
                    cfg.cotOpenerLossFraction(), cfg.seed());
            List<Document> docs = new ArrayList<>(texts.size());
            for (int i = 0; i < texts.size(); i++) {
                PretrainingTexts.Rendered r = texts.get(i);
                docs.add(new Document(r.text(), spec + " (problem " + problems.get(i).problemId() + ")", i + 1,
                        r.unscoredChar()));
            }
            return docs;
        }
        try (BufferedReader in = TextSources.open(store, spec)) {
            return TextCorpus.read(in, TextSources.displayName(spec));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read corpus " + spec + ": " + e.getMessage(), e);
        }
    }

    private static String toJson(SparkPretrainer.RoundMetrics m) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("epoch", m.epoch());
        row.put("round", m.round());
        row.put("step", m.step());
        row.put("heldout_loss", Double.isNaN(m.heldoutLoss()) ? null : m.heldoutLoss());
        row.put("learning_rate", m.learningRate());
        row.put("tokens_per_s", m.tokensPerSecond());
        row.put("tokens_trained", m.tokensTrained());
        row.put("elapsed_s", m.elapsedSeconds());
        return Json.line(row);
    }
}
