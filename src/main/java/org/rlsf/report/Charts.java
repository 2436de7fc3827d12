package org.rlsf.report;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/** Small PNG charts drawn with java.awt (headless): reliability diagrams and metric curves. */
final class Charts {
    private static final int W = 420, H = 360, L = 56, R = 16, T = 36, B = 48;

    private Charts() {
    }

    /** One reliability bar: bin [lower, upper], its count, mean confidence and accuracy (NaN when empty). */
    record Bar(double lower, double upper, long count, double confidence, double accuracy) {
    }

    static byte[] reliability(String title, List<Bar> bars) {
        BufferedImage img = canvas();
        Graphics2D g = graphics(img);
        axes(g, title, "confidence", "accuracy", 0, 1);
        g.setColor(new Color(0xBBBBBB));
        g.setStroke(new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[]{4f, 4f}, 0f));
        g.drawLine(x(0), y(0, 0, 1), x(1), y(1, 0, 1));
        g.setStroke(new BasicStroke(1f));
        long total = bars.stream().mapToLong(Bar::count).sum();
        for (Bar b : bars) {
            if (b.count() == 0) {
                continue;
            }
            int x0 = x(b.lower()) + 1, x1 = x(b.upper()) - 1;
            int top = y(b.accuracy(), 0, 1);
            g.setColor(new Color(0x4C72B0));
            g.fillRect(x0, top, x1 - x0, y(0, 0, 1) - top);
            g.setColor(new Color(0xDD8452));
            int gapTop = y(Math.max(b.accuracy(), b.confidence()), 0, 1), gapBottom = y(Math.min(b.accuracy(), b.confidence()), 0, 1);
            g.drawRect(x0, gapTop, x1 - x0, Math.max(1, gapBottom - gapTop));
            g.setColor(Color.DARK_GRAY);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 9));
            g.drawString(String.valueOf(b.count()), x0 + 2, Math.min(top, y(0, 0, 1) - 2) - 2);
        }
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        g.drawString("bars: accuracy per bin (n above); outline: gap to mean confidence; n=" + total, L, H - 8);
        return png(img);
    }

    /** Lines over x (one series per name), each scaled to the common y range. */
    static byte[] lines(String title, String xLabel, double[] xs, List<String> names, List<double[]> series) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double[] s : series) {
            for (double v : s) {
                if (Double.isFinite(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        if (!Double.isFinite(lo)) {
            lo = 0;
            hi = 1;
        }
        if (hi - lo < 1e-9) {
            hi = lo + 1;
        }
        double xMax = xs.length == 0 ? 1 : Math.max(xs[xs.length - 1], 1e-9);
        BufferedImage img = canvas();
        Graphics2D g = graphics(img);
        axes(g, title, xLabel, "", lo, hi);
        Color[] colors = {new Color(0x4C72B0), new Color(0xDD8452), new Color(0x55A868), new Color(0xC44E52)};
        for (int k = 0; k < series.size(); k++) {
            double[] s = series.get(k);
            g.setColor(colors[k % colors.length]);
            g.setStroke(new BasicStroke(2f));
            for (int i = 1; i < s.length; i++) {
                if (Double.isFinite(s[i - 1]) && Double.isFinite(s[i])) {
                    g.drawLine(x(xs[i - 1] / xMax), y(s[i - 1], lo, hi), x(xs[i] / xMax), y(s[i], lo, hi));
                }
            }
            g.drawString(names.get(k), L + 8 + 110 * k, T - 6 + 14);
        }
        g.setColor(Color.DARK_GRAY);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        g.drawString(String.format("x: 0 .. %.0f", xMax), W - R - 80, H - 8);
        return png(img);
    }

    private static BufferedImage canvas() {
        System.setProperty("java.awt.headless", "true");
        return new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
    }

    private static Graphics2D graphics(BufferedImage img) {
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        return g;
    }

    private static void axes(Graphics2D g, String title, String xLabel, String yLabel, double lo, double hi) {
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 12));
        g.drawString(title, L, 18);
        g.drawLine(L, H - B, W - R, H - B);
        g.drawLine(L, T, L, H - B);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        for (int i = 0; i <= 4; i++) {
            double v = lo + (hi - lo) * i / 4;
            int yy = y(v, lo, hi);
            g.drawLine(L - 3, yy, L, yy);
            g.drawString(String.format(Math.abs(hi - lo) < 10 ? "%.2f" : "%.0f", v), 4, yy + 4);
            int xx = x(i / 4.0);
            g.drawLine(xx, H - B, xx, H - B + 3);
        }
        g.drawString(xLabel, (W - L) / 2, H - B + 18);
        g.drawString(yLabel, 4, T - 8);
    }

    private static int x(double frac) {
        return L + (int) Math.round(frac * (W - L - R));
    }

    private static int y(double v, double lo, double hi) {
        return H - B - (int) Math.round((v - lo) / (hi - lo) * (H - B - T));
    }

    private static byte[] png(BufferedImage img) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ImageIO.write(img, "png", out);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
