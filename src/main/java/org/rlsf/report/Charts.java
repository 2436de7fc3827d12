package org.rlsf.report;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The report's PNG charts, drawn with XChart (headless): reliability diagrams with bin counts and the diagonal, and
 * metric curves with labelled axes, ticks and a legend outside the plot.
 */
final class Charts {
    private static final int W = 640, H = 440;
    private static final Color[] COLORS = {new Color(0x4C72B0), new Color(0xDD8452), new Color(0x55A868),
            new Color(0xC44E52), new Color(0x8172B3)};

    private Charts() {
    }

    /** One reliability bar: bin (lower, upper], its count, mean confidence and accuracy (NaN when empty). */
    record Bar(double lower, double upper, long count, double confidence, double accuracy) {
    }

    /** A named curve. */
    record Series(String name, double[] values) {
    }

    /**
     * A reliability diagram: per confidence bin, the accuracy (bars) against the bin's mean confidence (points) and
     * perfect calibration (the dashed diagonal through the bin centres); each bin's label carries its problem count.
     */
    static byte[] reliability(String title, List<Bar> bars) {
        List<String> bins = new ArrayList<>();
        List<Double> accuracy = new ArrayList<>(), confidence = new ArrayList<>(), diagonal = new ArrayList<>();
        for (Bar b : bars) {
            bins.add(String.format("%.1f-%.1f (n=%d)", b.lower(), b.upper(), b.count()));
            accuracy.add(b.count() == 0 || Double.isNaN(b.accuracy()) ? null : b.accuracy());
            confidence.add(b.count() == 0 || Double.isNaN(b.confidence()) ? null : b.confidence());
            diagonal.add((b.lower() + b.upper()) / 2);
        }
        CategoryChart chart = new CategoryChartBuilder().width(W).height(H).title(title)
                .xAxisTitle("confidence bin (problems)").yAxisTitle("accuracy").build();
        var s = style(chart.getStyler());
        chart.getStyler().setXAxisLabelRotation(45);
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(1.0);
        chart.getStyler().setOverlapped(true);
        chart.getStyler().setAvailableSpaceFill(0.9);
        s.setSeriesColors(new Color[]{COLORS[0], COLORS[1], Color.GRAY});
        chart.addSeries("accuracy", bins, accuracy);
        CategorySeries conf = chart.addSeries("mean confidence", bins, confidence);
        conf.setChartCategorySeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Scatter);
        conf.setMarker(SeriesMarkers.DIAMOND);
        CategorySeries perfect = chart.addSeries("perfect calibration", bins, diagonal);
        perfect.setChartCategorySeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Line);
        perfect.setMarker(SeriesMarkers.NONE);
        perfect.setLineStyle(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[]{6f, 4f}, 0f));
        return png(chart);
    }

    /** Curves over a shared x axis; NaN values are gaps. */
    static byte[] lines(String title, String xLabel, String yLabel, double[] xs, List<Series> series) {
        XYChart chart = xy(title, xLabel, yLabel);
        for (int k = 0; k < series.size(); k++) {
            add(chart, series.get(k), xs, k, 0);
        }
        return png(chart);
    }

    /**
     * Curves on two y axes over a shared x axis: {@code left} against the left axis, {@code right} (shares, drawn on
     * [0, 1]) against the right one, so quantities of different scales stay readable.
     */
    static byte[] lines(String title, String xLabel, double[] xs, String leftLabel, List<Series> left, String rightLabel,
                        List<Series> right) {
        XYChart chart = xy(title, xLabel, leftLabel);
        chart.setYAxisGroupTitle(0, leftLabel);
        chart.setYAxisGroupTitle(1, rightLabel);
        chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
        chart.getStyler().setYAxisMin(1, 0.0);
        chart.getStyler().setYAxisMax(1, 1.0);
        int k = 0;
        for (Series s : left) {
            add(chart, s, xs, k++, 0);
        }
        for (Series s : right) {
            add(chart, s, xs, k++, 1);
        }
        return png(chart);
    }

    private static XYChart xy(String title, String xLabel, String yLabel) {
        XYChart chart = new XYChartBuilder().width(W).height(H).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        style(chart.getStyler());
        chart.getStyler().setDefaultSeriesRenderStyle(org.knowm.xchart.XYSeries.XYSeriesRenderStyle.Line);
        chart.getStyler().setSeriesColors(COLORS);
        return chart;
    }

    private static void add(XYChart chart, Series s, double[] xs, int index, int axis) {
        if (xs.length == 0) {   // XChart needs at least one point; an empty curve is drawn as a gap
            xs = new double[]{0};
        }
        double[] ys = s.values().length == 0 ? new double[]{Double.NaN} : s.values();
        XYSeries series = chart.addSeries(s.name(), Arrays.copyOf(xs, ys.length), ys);
        series.setYAxisGroup(axis);
        series.setMarker(xs.length <= 40 ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        series.setLineColor(COLORS[index % COLORS.length]);
        series.setMarkerColor(COLORS[index % COLORS.length]);
    }

    private static <S extends org.knowm.xchart.style.AxesChartStyler> S style(S s) {
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setPlotGridLinesColor(new Color(0xE5E5E5));
        s.setPlotBorderVisible(false);
        s.setLegendPosition(Styler.LegendPosition.OutsideS);
        s.setLegendLayout(Styler.LegendLayout.Horizontal);
        s.setLegendBorderColor(Color.WHITE);
        s.setAntiAlias(true);
        s.setDecimalPattern("#0.###");
        return s;
    }

    private static byte[] png(Chart<?, ?> chart) {
        try {
            return BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot draw the chart '" + chart.getTitle() + "'", e);
        }
    }
}
