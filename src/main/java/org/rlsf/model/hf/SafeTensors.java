package org.rlsf.model.hf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One safetensors file, read as the format defines it: an 8-byte little-endian header length N, N bytes of JSON
 * ({@code {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}}), then the tensors'
 * little-endian bytes. Only the header is read on open; each tensor is memory-mapped when asked for and converted
 * to float32 ({@code F32}, {@code F16}, {@code BF16}), so a model loads without a second full copy of its weights.
 * Every malformed header is an error naming the file and, where there is one, the tensor.
 */
public final class SafeTensors implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The dtypes rlsf reads (and writes); computation is float32. */
    public static final java.util.List<String> DTYPES = java.util.List.of("F32", "F16", "BF16");

    /** A tensor's header entry: dtype, shape, byte range relative to the data section. */
    public record Entry(String name, String dtype, long[] shape, long begin, long end) {
        public long elements() {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            return n;
        }

        int bytesPerElement() {
            return "F32".equals(dtype) ? 4 : 2;
        }
    }

    private final String file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensors(String file, FileChannel channel, long dataStart, Map<String, Entry> entries,
                        Map<String, String> metadata) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
        this.metadata = metadata;
    }

    /** Opens {@code path} and reads its header. */
    public static SafeTensors open(Path path) {
        String file = path.toString();
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot open safetensors file " + file + ": " + e.getMessage(), e);
        }
        try {
            long size = ch.size();
            if (size < 8) {
                throw new IllegalArgumentException(file + " is not a safetensors file: " + size + " bytes, shorter than its 8-byte header length");
            }
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0);
            long n = len.flip().getLong();
            if (n <= 0 || n > size - 8) {
                throw new IllegalArgumentException(file + ": safetensors header length " + n + " is longer than the file ("
                        + size + " bytes)");
            }
            if (n > 100_000_000) {
                throw new IllegalArgumentException(file + ": safetensors header length " + n + " exceeds 100 MB");
            }
            ByteBuffer header = ByteBuffer.allocate((int) n);
            readFully(ch, header, 8);
            JsonNode root;
            try {
                root = JSON.readTree(header.array());
            } catch (IOException e) {
                throw new IllegalArgumentException(file + ": safetensors header is not JSON: " + e.getMessage(), e);
            }
            long dataLength = size - 8 - n;
            Map<String, Entry> entries = new LinkedHashMap<>();
            Map<String, String> metadata = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                if ("__metadata__".equals(f.getKey())) {
                    f.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                    continue;
                }
                entries.put(f.getKey(), entry(file, f.getKey(), f.getValue(), dataLength));
            }
            return new SafeTensors(file, ch, 8 + n, entries, metadata);
        } catch (IOException e) {
            closeQuietly(ch);
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(ch);
            throw e;
        }
    }

    private static Entry entry(String file, String name, JsonNode e, long dataLength) {
        String dtype = e.path("dtype").asText("");
        if (!DTYPES.contains(dtype)) {
            throw new IllegalArgumentException(file + ": tensor " + name + " has dtype '" + dtype + "'; rlsf reads "
                    + String.join(", ", DTYPES));
        }
        JsonNode shapeNode = e.path("shape"), offsets = e.path("data_offsets");
        if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
            throw new IllegalArgumentException(file + ": tensor " + name + " lacks a shape or data_offsets [begin, end]");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeNode.get(i).asLong();
        }
        Entry entry = new Entry(name, dtype, shape, offsets.get(0).asLong(), offsets.get(1).asLong());
        if (entry.begin() < 0 || entry.end() > dataLength || entry.end() - entry.begin() != entry.elements() * entry.bytesPerElement()) {
            throw new IllegalArgumentException(file + ": tensor " + name + " data_offsets [" + entry.begin() + ", "
                    + entry.end() + "] do not fit its shape " + Arrays.toString(shape) + " (" + dtype + ") within the "
                    + dataLength + " data bytes");
        }
        return entry;
    }

    public String file() {
        return file;
    }

    public Map<String, Entry> entries() {
        return entries;
    }

    public Map<String, String> metadata() {
        return metadata;
    }

    /** The tensor as float32 values in row-major order (one memory-mapped read of its bytes). */
    public float[] floats(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new IllegalArgumentException(file + " has no tensor " + name);
        }
        long bytes = e.end() - e.begin();
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(file + ": tensor " + name + " has " + bytes + " bytes; one tensor above 2 GiB is not supported");
        }
        float[] out = new float[(int) e.elements()];
        try {
            MappedByteBuffer buf = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + e.begin(), bytes);
            buf.order(ByteOrder.LITTLE_ENDIAN);
            switch (e.dtype()) {
                case "F32" -> buf.asFloatBuffer().get(out);
                case "BF16" -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = Float.intBitsToFloat((buf.getShort(2 * i) & 0xFFFF) << 16);
                    }
                }
                case "F16" -> {
                    for (int i = 0; i < out.length; i++) {
                        out[i] = halfToFloat(buf.getShort(2 * i));
                    }
                }
                default -> throw new IllegalStateException(e.dtype());
            }
        } catch (IOException ex) {
            throw new UncheckedIOException("cannot read tensor " + name + " from " + file + ": " + ex.getMessage(), ex);
        }
        return out;
    }

    /** IEEE 754 binary16 → float32, exact (subnormals, infinities and NaN included). */
    public static float halfToFloat(short h) {
        int bits = h & 0xFFFF, sign = (bits & 0x8000) << 16, exp = (bits >>> 10) & 0x1F, mant = bits & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            if (mant == 0) {
                return Float.intBitsToFloat(sign);
            }
            float v = mant / 1024f * (float) Math.pow(2, -14);   // subnormal: exact in float32
            return sign == 0 ? v : -v;
        }
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    /** float32 → IEEE binary16, rounding to nearest even (overflow to infinity, NaN kept NaN). */
    public static short floatToHalf(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = (bits >>> 16) & 0x8000, exp = (bits >>> 23) & 0xFF, mant = bits & 0x7FFFFF;
        if (exp == 0xFF) {
            return (short) (sign | 0x7C00 | (mant != 0 ? 0x200 : 0));
        }
        int e = exp - 127 + 15;
        if (e >= 0x1F) {
            return (short) (sign | 0x7C00);
        }
        if (e <= 0) {   // a binary16 subnormal (or zero): (1.mant) · 2^(e − 14) in units of 2^−24
            if (e < -10) {
                return (short) sign;
            }
            int m = mant | 0x800000, shift = 14 - e, half = m >> shift, rem = m & ((1 << shift) - 1), mid = 1 << (shift - 1);
            if (rem > mid || (rem == mid && (half & 1) == 1)) {
                half++;
            }
            return (short) (sign | half);
        }
        int half = (e << 10) | (mant >> 13), rem = mant & 0x1FFF;
        if (rem > 0x1000 || (rem == 0x1000 && (half & 1) == 1)) {
            half++;   // a carry into the exponent is right, up to infinity
        }
        return (short) (sign | half);
    }

    /** float32 → bfloat16, rounding to nearest even (not truncation); NaN stays a quiet NaN. */
    public static short floatToBf16(float f) {
        int b = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((b >>> 16) | 0x0040);
        }
        return (short) ((b + 0x7FFF + ((b >>> 16) & 1)) >>> 16);
    }

    /** A tensor to write: its shape and, when asked for, its float32 values in row-major order. */
    public record Source(long[] shape, java.util.function.Supplier<float[]> values) {
    }

    /**
     * Writes {@code tensors} (in order) to a safetensors file in {@code dtype} (F32, F16 or BF16) with
     * {@code metadata} (Hugging Face requires {@code {"format": "pt"}}); one tensor's values in memory at a time.
     *
     * @return the bytes written
     */
    public static long write(Path path, Map<String, Source> tensors, String dtype, Map<String, String> metadata) {
        if (!DTYPES.contains(dtype)) {
            throw new IllegalArgumentException("dtype must be one of " + DTYPES + ", was " + dtype);
        }
        int size = "F32".equals(dtype) ? 4 : 2;
        var header = JSON.createObjectNode();
        long offset = 0;
        for (Map.Entry<String, Source> t : tensors.entrySet()) {
            long n = 1;
            for (long d : t.getValue().shape()) {
                n *= d;
            }
            var e = header.putObject(t.getKey());
            e.put("dtype", dtype);
            var shape = e.putArray("shape");
            for (long d : t.getValue().shape()) {
                shape.add(d);
            }
            e.putArray("data_offsets").add(offset).add(offset + n * size);
            offset += n * size;
        }
        var meta = header.putObject("__metadata__");
        metadata.forEach(meta::put);
        try (var out = new java.io.BufferedOutputStream(java.nio.file.Files.newOutputStream(path), 1 << 20)) {
            byte[] text = JSON.writeValueAsBytes(header);
            int padded = (text.length + 7) / 8 * 8;
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(len.array());
            out.write(text);
            for (int i = text.length; i < padded; i++) {
                out.write(' ');
            }
            for (Source src : tensors.values()) {
                float[] v = src.values().get();
                ByteBuffer buf = ByteBuffer.allocate(v.length * size).order(ByteOrder.LITTLE_ENDIAN);
                switch (dtype) {
                    case "F32" -> buf.asFloatBuffer().put(v);
                    case "BF16" -> {
                        for (float x : v) {
                            buf.putShort(floatToBf16(x));
                        }
                    }
                    default -> {
                        for (float x : v) {
                            buf.putShort(floatToHalf(x));
                        }
                    }
                }
                out.write(buf.array());
            }
            return 8 + padded + offset;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long p = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, p);
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
            p += n;
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing a read-only channel
        }
    }
}
