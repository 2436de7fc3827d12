package org.rlsf.train;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.rlsf.model.graph.Frozen;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a graph's trainable parameters lie in its flattened parameter vector: the parameters whose updater is not
 * {@link Frozen} (with LoRA, the adapters' B matrices), as [offset, length) ranges in vector order, adjacent ranges
 * joined. Parameter averaging ships and averages only these ({@link OrderedAveraging}).
 */
public record TrainableSlices(long[] offsets, long[] lengths, long total) implements Serializable {

    /** The trainable ranges of {@code graph}'s parameters. */
    public static TrainableSlices of(ComputationGraph graph) {
        INDArray flat = graph.params();
        List<long[]> ranges = new ArrayList<>();
        for (Layer layer : graph.getLayers()) {
            for (var e : layer.paramTable().entrySet()) {
                if (layer.conf().getLayer().getUpdaterByParam(e.getKey()) instanceof Frozen) {
                    continue;
                }
                INDArray view = e.getValue();
                if (view.data().originalDataBuffer() != flat.data().originalDataBuffer()) {
                    throw new IllegalStateException("parameter " + layer.conf().getLayer().getLayerName() + "/"
                            + e.getKey() + " is not a view of the graph's parameter vector");
                }
                ranges.add(new long[]{view.offset() - flat.offset(), view.length()});
            }
        }
        ranges.sort((a, b) -> Long.compare(a[0], b[0]));
        List<long[]> joined = new ArrayList<>();
        for (long[] r : ranges) {
            long[] last = joined.isEmpty() ? null : joined.get(joined.size() - 1);
            if (last != null && last[0] + last[1] == r[0]) {
                last[1] += r[1];
            } else {
                joined.add(r.clone());
            }
        }
        long[] offsets = new long[joined.size()], lengths = new long[joined.size()];
        long total = 0;
        for (int i = 0; i < joined.size(); i++) {
            offsets[i] = joined.get(i)[0];
            lengths[i] = joined.get(i)[1];
            total += lengths[i];
        }
        return new TrainableSlices(offsets, lengths, total);
    }

    /** The trainable entries of a parameter vector, in order: a new vector of {@link #total} values. */
    public INDArray gather(INDArray params) {
        INDArray flat = params.reshape(params.length());
        INDArray out = Nd4j.create(params.dataType(), total);
        long at = 0;
        for (int i = 0; i < offsets.length; i++) {
            out.get(NDArrayIndex.interval(at, at + lengths[i])).assign(flat.get(NDArrayIndex.interval(offsets[i], offsets[i] + lengths[i])));
            at += lengths[i];
        }
        return out;
    }

    /** Writes {@code trainable} ({@link #gather}'s layout) into the trainable entries of {@code params}, in place. */
    public void scatter(INDArray trainable, INDArray params) {
        if (trainable.length() != total) {
            throw new IllegalArgumentException("expected " + total + " trainable values, got " + trainable.length());
        }
        INDArray flat = params.reshape(params.length());
        INDArray src = trainable.reshape(trainable.length());
        long at = 0;
        for (int i = 0; i < offsets.length; i++) {
            flat.get(NDArrayIndex.interval(offsets[i], offsets[i] + lengths[i])).assign(src.get(NDArrayIndex.interval(at, at + lengths[i])));
            at += lengths[i];
        }
    }
}
